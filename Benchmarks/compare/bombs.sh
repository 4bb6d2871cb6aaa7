#!/usr/bin/env bash
# Resource bombs (RELIABILITY.md, "Hostile input"): wall time and peak RSS of `cairn verify FILE` (pipeline files:
# `cairn run FILE` against an empty store) on each hostile file, beside Python reading the same file with
# `python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' FILE` (what genblaze reads with), in
# the same run; medians of RUNS runs, ratios Cairn / Python. Both are expected to refuse most of these files (Python
# raises, Cairn exits 2); the point is what refusing costs. Tests/CairnCLITests/ResourceBombTests.swift asserts the
# exit codes, messages and a memory bound on the same shapes.
# Usage: Benchmarks/compare/bombs.sh [RUNS=3]   (CAIRN_BIN: the cairn to measure; default a release build in
# .build-release)
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
RUNS=${1:-3}
PY=${PYTHON:-python3}
if [ -z "${CAIRN_BIN:-}" ]; then
    swift build -c release --scratch-path .build-release --product cairn >&2
    CAIRN_BIN=.build-release/release/cairn
fi
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-bombs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$PY" - "$WORK" <<'PY'
import sys
d = sys.argv[1]
def w(name, data):
    open(f"{d}/{name}", "wb").write(data if isinstance(data, bytes) else data.encode())
w("deep.json", "[" * 10_000 + "]" * 10_000)
w("bigint.json", '{"n": %d}' % 2**70)
w("hugeint.json", '{"n": ' + "9" * 100_000 + "}")
w("bigstring.json", '{"s": "' + "a" * (100 << 20) + '"}')
w("array.json", "[" + "0," * 999_999 + "0]")
w("keys.json", "{" + '"k": 0, ' * 199_999 + '"k": 1}')
w("nan.json", '{"x": NaN, "y": -Infinity}')
w("bom.json", b'\xef\xbb\xbf{"schema_version": "1.0"}')
w("surrogate.json", '{"\\ud800": 1}')
step = "    steps:\n      - {name: s-%s, model: text-v1, prompt: x, modality: text}\n"
w("cycle.yaml", "name: c\nstages:\n  - name: a\n    depends_on: [b]\n" + step % "a"
  + "  - name: b\n    depends_on: [a]\n" + step % "b")
laughs = "name: laughs\nmetadata:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n"
for level in range(1, 9):
    laughs += f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]\n"
w("aliases.yaml", laughs + "steps:\n  - {name: one, model: text-v1, prompt: x, modality: text}\n")
PY
"$CAIRN_BIN" init --store "$WORK/store" >/dev/null 2>&1

# measure CMD...: runs CMD once, prints "SECONDS KIB EXIT" (wall time, peak RSS from GNU time, exit code).
measure() {
    local start end status=0
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$WORK/rss" "$@" >/dev/null 2>"$WORK/err" || status=$?
    end=$(date +%s%N)
    echo "$(awk -v n=$((end - start)) 'BEGIN { printf "%.3f", n / 1e9 }') $(tail -1 "$WORK/rss") $status"
}

printf '%-15s %9s %10s %5s | %9s %10s %5s | %7s %7s\n' bomb cairn_s cairn_MiB exit python_s python_MiB exit \
    time_x rss_x
for file in deep.json bigint.json hugeint.json bigstring.json array.json keys.json nan.json bom.json surrogate.json \
    cycle.yaml aliases.yaml; do
    path=$WORK/$file
    case $file in
    *.yaml) ours=("$CAIRN_BIN" run --store "$WORK/store" "$path") ;;
    *) ours=("$CAIRN_BIN" verify "$path") ;;
    esac
    ot=() om=() tt=() tm=() oe=0 te=-
    for run in $(seq "$RUNS"); do
        read -r s k e < <(measure "${ours[@]}")
        ot+=("$s") om+=("$k") oe=$e
        if [[ $file == *.json ]]; then
            read -r s k e < <(measure "$PY" -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$path")
            tt+=("$s") tm+=("$k") te=$e
        fi
    done
    o_s=$(printf '%s\n' "${ot[@]}" | median)
    o_m=$(printf '%s\n' "${om[@]}" | median)
    if [ ${#tt[@]} -gt 0 ]; then
        t_s=$(printf '%s\n' "${tt[@]}" | median)
        t_m=$(printf '%s\n' "${tm[@]}" | median)
    else
        t_s=- t_m=-
    fi
    awk -v f="$file" -v os="$o_s" -v om="$o_m" -v oe="$oe" -v ts="$t_s" -v tm="$t_m" -v te="$te" 'BEGIN {
        if (ts == "-") { printf "%-15s %9s %10.1f %5s | %9s %10s %5s | %7s %7s\n", f, os, om / 1024, oe, "-", "-", "-", "-", "-" }
        else { printf "%-15s %9s %10.1f %5s | %9s %10.1f %5s | %7.2f %7.2f\n", f, os, om / 1024, oe, ts, tm / 1024, te, os / ts, om / tm }
    }'
done
