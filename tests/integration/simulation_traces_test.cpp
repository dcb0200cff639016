// SPDX-License-Identifier: Apache-2.0
/// \file
/// The two policies compared on whole traces (the shipped example traces and
/// random ones): the default policy has fewer idle instance-hours than classic
/// and no higher p95 wait. Each run simulates days of stages, so this is an
/// integration test (about a minute), not a unit test.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <autoscale/simulation.h>

namespace autoscale {
namespace {

/// A random day or two: a Poisson stream with a random rate, bursts, random durations.
std::vector<TraceStage> randomTrace(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> rate(20, 80); // Stages per hour.
    std::lognormal_distribution<double> duration(std::log(300.0), 0.7);
    const double perSecond = rate(rng) / 3600;
    std::exponential_distribution<double> gap(perSecond);
    const double span = std::uniform_real_distribution<double>(1, 2)(rng) * 86400;
    std::vector<TraceStage> out;
    for (double t = gap(rng); t < span; t += gap(rng))
        out.push_back({.t = t, .duration = std::min(duration(rng), 3000.0)});
    std::uniform_int_distribution<int> bursts(2, 8);
    for (int b = bursts(rng); b > 0; --b) {
        const double at = std::uniform_real_distribution<double>(0, span)(rng);
        for (int i = std::uniform_int_distribution<int>(5, 20)(rng); i > 0; --i)
            out.push_back({.t = at + i, .duration = std::min(duration(rng), 3000.0)});
    }
    return out;
}

/// The pool `make demo` and the README compare the policies on.
SimulationOptions demoPool() {
    SimulationOptions o;
    o.pool.min = 2;
    o.pool.max = 16;
    o.pool.concurrency = 2;
    return o;
}

void checkDefaultBeatsClassic(const std::vector<TraceStage>& trace, const SimulationOptions& o) {
    const auto d = runSimulation(trace, o).value();
    const auto c = runSimulation(trace, withClassicTimings(o)).value();
    CHECK(d.builds == static_cast<int>(trace.size()));
    CHECK(c.builds == static_cast<int>(trace.size()));
    CHECK(d.idleInstanceHours < c.idleInstanceHours);
    CHECK(d.waitP95 <= c.waitP95);
    MESSAGE("idle h default " << d.idleInstanceHours << " classic " << c.idleInstanceHours
                              << "; p95 " << d.waitP95 << " s vs " << c.waitP95 << " s");
}

TEST_CASE("shipped traces: default has fewer idle instance-hours than classic, no higher p95") {
    const char* dir = std::getenv("AUTOSCALE_EXAMPLES");
    REQUIRE(dir != nullptr);
    for (const char* name : {"weekday", "nightly", "trickle"}) {
        CAPTURE(name);
        const auto trace = readTraceFile(std::string(dir) + "/traces/" + name + ".jsonl");
        REQUIRE(trace);
        checkDefaultBeatsClassic(*trace, demoPool());
    }
}

TEST_CASE("random traces: default has fewer idle instance-hours than classic, no higher p95") {
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        CAPTURE(seed);
        checkDefaultBeatsClassic(randomTrace(seed), demoPool());
    }
}

TEST_CASE("random traces at the built-in pool (MIN 2, MAX 4): the same holds") {
    for (std::uint64_t seed = 21; seed <= 24; ++seed) {
        CAPTURE(seed);
        checkDefaultBeatsClassic(randomTrace(seed), SimulationOptions{});
    }
}

} // namespace
} // namespace autoscale
