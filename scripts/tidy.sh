#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs clang-tidy 14 with the repo's .clang-tidy over every .cpp under
# libautoscale/ and tools/ that BUILD_DIR's compile_commands.json lists,
# findings as errors, two files at a time (TIDY_JOBS overrides the 2).
# Prints each file's findings, then one line per file with its count, the
# total count (a finding in a header that several sources include counts
# once) and the elapsed time. Exits 0 only when nothing was found and every
# file was analysed; 1 on any finding or analysis failure; 2 on bad usage.
#
# Usage: scripts/tidy.sh BUILD_DIR
#
# The build dir needs only `meson setup` (nothing has to be compiled):
#   CXX="ccache clang++-14" meson setup --wrap-mode=nofallback build-clang
#   scripts/tidy.sh build-clang
# A GCC build dir works too: every flag meson gives GCC here (-Wall ... -Wextra-semi,
# -pthread, -MD/-MQ/-MF) is one clang accepts, and clang-tidy drops the ccache
# wrapper itself. A GCC-only warning flag added to meson.build later would show up
# as a clang-diagnostic-unknown-warning-option finding: use a clang build dir then.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/compile_commands.json" ]; then
    echo "usage: $0 BUILD_DIR  (a meson build dir with compile_commands.json)" >&2
    exit 2
fi
tidy="${CLANG_TIDY:-clang-tidy-14}"
if ! command -v "$tidy" >/dev/null; then
    echo "tidy: $tidy not found (Debian: apt-get install clang-tidy-14)" >&2
    exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "$1" && pwd)"
jobs="${TIDY_JOBS:-2}"
start="$(date +%s%N)"

# The sources to check: absolute paths, once each, in a stable order.
mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" <<'EOF'
import json, os, sys
db, root = sys.argv[1], sys.argv[2]
seen = set()
for entry in json.load(open(db)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path, root)
    if rel.endswith(".cpp") and rel.split(os.sep)[0] in ("libautoscale", "tools"):
        seen.add(path)
print("\n".join(sorted(seen)))
EOF
)
if [ "${#files[@]}" -eq 0 ]; then
    echo "tidy: no libautoscale/ or tools/ sources in $build/compile_commands.json" >&2
    exit 2
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# One clang-tidy per source; its output and exit status land in $out under
# the source's index, so the report below is in file order whatever the
# scheduling. -fno-color-diagnostics because meson passes
# -fdiagnostics-color=always.
runOne() {
    local index="$1" file="$2"
    "$tidy" -p "$build" --quiet --warnings-as-errors='*' \
        --extra-arg=-fno-color-diagnostics "$file" >"$out/$index.log" 2>&1
    echo $? >"$out/$index.rc"
}
export -f runOne
export tidy build out

# shellcheck disable=SC2016 # $1 and $2 are the inner bash's arguments, not ours.
for i in "${!files[@]}"; do
    printf '%s\0%s\0' "$i" "${files[$i]}"
done | xargs -0 -n 2 -P "$jobs" bash -c 'runOne "$1" "$2"' _

normalize='
import os, re, sys
ccdir, root = sys.argv[1], sys.argv[2]
diag = re.compile(r"^([^ :]+):([0-9]+:[0-9]+: (warning|error|note): )")
def tidyPath(m):
    path = os.path.normpath(os.path.join(ccdir, m.group(1)))
    rel = os.path.relpath(path, root)
    return (path if rel.startswith("..") else rel) + ":" + m.group(2)
for line in sys.stdin:
    sys.stdout.write(diag.sub(tidyPath, line, count=1))
'
# Relative paths in diagnostics are relative to the compile's directory (meson
# uses the build dir, even when the database was copied elsewhere).
ccdir="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["directory"])' \
    "$build/compile_commands.json")"
failed=0
for i in "${!files[@]}"; do
    rc="$(cat "$out/$i.rc" 2>/dev/null || echo 1)"
    # Keep the diagnostics and their notes, drop clang-tidy's chatter.
    # Paths become relative to the source root, however the database spells them.
    grep -vE '^([0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? (generated|treated as errors)\.|Suppressed [0-9]+ warnings|Use -header-filter|Error while processing)' \
        "$out/$i.log" | python3 -c "$normalize" "$ccdir" "$root" >"$out/$i.shown"
    if [ "$rc" -ne 0 ] || [ -s "$out/$i.shown" ]; then
        echo "== ${files[$i]#"$root/"} (clang-tidy exit $rc)"
        cat "$out/$i.shown"
        if [ "$rc" -ne 0 ] && ! grep -qE ': (warning|error): ' "$out/$i.shown"; then
            failed=$((failed + 1))  # failed without a finding to show for it
        fi
    fi
done

# A finding is "file:line:col: warning|error: message [check]", counted once.
cat "$out"/*.shown |
    grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): .*\[[^]]+\]$' |
    sort -u >"$out/findings"
count="$(wc -l <"$out/findings")"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))

echo "== findings per file"
cut -d: -f1 "$out/findings" | sort | uniq -c | sort -rn
echo "== findings per check"
sed -E 's/.*\[([^],]+)(,-warnings-as-errors)?\]$/\1/' "$out/findings" | sort | uniq -c | sort -rn
printf 'tidy: %d findings in %d files checked, %d files not analysed, %d.%03d s with %d jobs\n' \
    "$count" "${#files[@]}" "$failed" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$jobs"
[ "$count" -eq 0 ] && [ "$failed" -eq 0 ]
