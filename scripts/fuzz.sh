#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the libFuzzer targets of a -Dfuzz=enabled build, each for a bounded time,
# and fails on any crash, leak, timeout or sanitizer report.
#
#   scripts/fuzz.sh [--build DIR] [--seconds N] [--bench] [TARGET...]
#
# --build     the meson build directory (default: build-clang)
# --seconds   seconds per target (default: $FUZZ_SECONDS, else 20)
# --bench     seconds per target from $FUZZ_BENCH_SECONDS, else 600 (meson benchmark)
# TARGET      names as in tests/fuzz/meson.build (default: every fuzz_* executable)
#
# New inputs go to DIR/fuzz/<target>/corpus (the seeds in tests/fuzz/corpus/<target>
# are read, never written); a crash leaves its input in DIR/fuzz/<target>/ and the
# whole log in DIR/fuzz/<target>.log. One line per target gives executions, cov:
# and ft:.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build-clang"
seconds="${FUZZ_SECONDS:-20}"
targets=""
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --bench) seconds="${FUZZ_BENCH_SECONDS:-600}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets="$targets $1"; shift ;;
    esac
done

fuzzdir="$build/tests/fuzz"
if [ -z "$targets" ]; then
    for exe in "$fuzzdir"/fuzz_*; do
        [ -f "$exe" ] && [ -x "$exe" ] || continue
        targets="$targets ${exe##*/fuzz_}"
    done
fi
if [ -z "$targets" ]; then
    echo "fuzz.sh: no fuzz targets in $fuzzdir (configure with -Dfuzz=enabled and build)" >&2
    exit 2
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$here/tests/ubsan.supp}"

failed=0
for t in $targets; do
    exe="$fuzzdir/fuzz_$t"
    seeds="$here/tests/fuzz/corpus/$t"
    work="$build/fuzz/$t"
    log="$build/fuzz/$t.log"
    if [ ! -x "$exe" ]; then
        echo "fuzz.sh: $exe is missing" >&2
        failed=1
        continue
    fi
    mkdir -p "$work/corpus"
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corpus=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
    verdict=ok
    if [ "$status" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: |deadly signal|ALARM: working on the last Unit|out-of-memory' "$log"; then
        verdict=FAILED
        failed=1
    fi
    printf '%-14s %-6s execs: %-10s cov: %-6s ft: %-6s corp: %-12s %ss\n' \
        "$t" "$verdict" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$seconds"
    if [ "$verdict" = FAILED ]; then
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written|deadly signal|ALARM' "$log" | head -n 20 >&2
        echo "fuzz.sh: see $log" >&2
    fi
done
exit $failed
