#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates the example traces for `autoscaler-cli simulate` (SPEC §6).

    python3 examples/traces/generate.py [OUTDIR]

Writes three JSON-lines traces, one build stage per line
({"t": seconds since Monday 00:00 UTC, "duration": seconds, "os", "arch",
"labels"}), each covering one week, from a fixed seed so the files are
reproducible byte for byte:

weekday.jsonl  office hours (08:00-18:00, Monday to Friday) with a Poisson
               stream peaking before lunch and mid-afternoon, plus merge
               bursts (8-25 stages within a minute, four to six times a day);
               a handful of stages at night and at the weekend.
nightly.jsonl  a nightly batch: at 02:00 every night 300 stages arrive over
               ten minutes and run 5-25 minutes each; a thin stream by day.
trickle.jsonl  a steady trickle: one stage every 4 minutes on average,
               day and night, all week.
fleet.jsonl    two office days (Monday and Tuesday) for three pools
               (examples/pools-sim.yml): linux/amd64 stages without labels
               (about 30/hour at peak, with merge bursts), linux/arm64 ones
               (about 10/hour), longer linux/amd64 stages labelled gpu=yes
               (about 3/hour), and a few windows/amd64 stages no pool serves.

Durations are log-normal (median about 6 minutes for ordinary stages).
Only the Python standard library is used.
"""

import json
import math
import os
import random
import sys

DAY = 86400
WEEK = 7 * DAY


def stage(t, duration, os_="linux", arch="amd64", labels=None):
    return {"t": round(t, 1), "duration": round(duration, 1), "os": os_,
            "arch": arch, "labels": labels or {}}


def build_duration(rng, median=360.0, sigma=0.6, cap=3000.0):
    return min(cap, max(20.0, rng.lognormvariate(math.log(median), sigma)))


def poisson(rng, start, end, rate_at):
    """Arrivals in [start, end) of a Poisson process with rate_at(t) per
    second, by thinning against the largest rate."""
    peak = max(rate_at(start + i * 60) for i in range(int((end - start) / 60) + 1))
    if peak <= 0:
        return []
    out = []
    t = start
    while True:
        t += rng.expovariate(peak)
        if t >= end:
            return out
        if rng.random() * peak < rate_at(t):
            out.append(t)


def weekday(rng):
    stages = []

    def office_rate(t):
        day, sec = divmod(t, DAY)
        hour = sec / 3600.0
        if day >= 5 or hour < 8 or hour >= 18:
            return 0.25 / 3600.0  # a few stray builds
        # Two humps: late morning and mid-afternoon, about 60/hour at peak.
        morning = math.exp(-((hour - 11.0) ** 2) / 2.0)
        afternoon = math.exp(-((hour - 15.0) ** 2) / 2.5)
        return (16.0 + 44.0 * max(morning, afternoon)) / 3600.0

    for t in poisson(rng, 0, WEEK, office_rate):
        stages.append(stage(t, build_duration(rng)))
    # Merge bursts: a release branch merged, every pipeline of a monorepo at once.
    for day in range(5):
        for _ in range(rng.randint(4, 6)):
            start = day * DAY + rng.uniform(9.5, 17.5) * 3600.0
            for _ in range(rng.randint(8, 25)):
                stages.append(stage(start + rng.uniform(0, 60), build_duration(rng, 420.0)))
    return stages


def nightly(rng):
    stages = []
    for night in range(7):
        start = night * DAY + 2 * 3600.0
        for _ in range(300):
            stages.append(stage(start + rng.uniform(0, 600),
                                rng.uniform(300.0, 1500.0)))

    def day_rate(t):
        hour = (t % DAY) / 3600.0
        return 1.0 / 3600.0 if 9 <= hour < 17 else 0.0

    for t in poisson(rng, 0, WEEK, day_rate):
        stages.append(stage(t, build_duration(rng)))
    return stages


def trickle(rng):
    return [stage(t, build_duration(rng, 300.0, 0.5))
            for t in poisson(rng, 0, WEEK, lambda t: 1.0 / 240.0)]


def fleet(rng):
    stages = []

    def office(peak):
        def rate(t):
            hour = (t % DAY) / 3600.0
            if hour < 8 or hour >= 18:
                return 0.0
            return peak * (0.4 + 0.6 * math.exp(-((hour - 13.0) ** 2) / 6.0)) / 3600.0
        return rate

    span = 2 * DAY
    for t in poisson(rng, 0, span, office(30.0)):
        stages.append(stage(t, build_duration(rng)))
    for day in range(2):
        for _ in range(rng.randint(2, 3)):
            start = day * DAY + rng.uniform(9.5, 17.0) * 3600.0
            for _ in range(rng.randint(6, 12)):
                stages.append(stage(start + rng.uniform(0, 60), build_duration(rng, 420.0)))
    for t in poisson(rng, 0, span, office(10.0)):
        stages.append(stage(t, build_duration(rng, 480.0), arch="arm64"))
    for t in poisson(rng, 0, span, office(3.0)):
        stages.append(stage(t, build_duration(rng, 900.0, 0.5), labels={"gpu": "yes"}))
    for day in range(2):
        for _ in range(3):
            stages.append(stage(day * DAY + rng.uniform(9.0, 17.0) * 3600.0,
                                build_duration(rng), os_="windows"))
    return stages


def write(path, stages):
    stages.sort(key=lambda s: s["t"])
    with open(path, "w", encoding="utf-8") as f:
        for s in stages:
            f.write(json.dumps(s, separators=(",", ":")) + "\n")
    print(f"{path}: {len(stages)} stages")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, make, seed in (("weekday", weekday, 20260105), ("nightly", nightly, 20260106),
                             ("trickle", trickle, 20260107), ("fleet", fleet, 20260108)):
        write(os.path.join(outdir, name + ".jsonl"), make(random.Random(seed)))


if __name__ == "__main__":
    main()
