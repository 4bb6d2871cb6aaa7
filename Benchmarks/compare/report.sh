#!/usr/bin/env bash
# Same-run lineage report figures (release build, medians of RUNS runs): the time `cairn report ROOT -o FILE` takes
# for a 1,000-run lineage (read every manifest and receipt, verify each manifest, embed each run's image, lay out
# the graph with Graphviz, write the page), beside Graphviz alone (`dot -Tsvg`) on the same graph (`cairn lineage
# --format dot ROOT`), and the ratio. The store is made by `cairn run` of generated batch pipelines: a root run,
# FANOUT runs chained from it, and the rest spread over those as batches (synthetic provider, 32x32 images).
# Usage: Benchmarks/compare/report.sh [RUNS_IN_LINEAGE=1000] [FANOUT=9] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
TOTAL=${1:-1000}
FANOUT=${2:-9}
RUNS=${3:-5}
SCRATCH=${SCRATCH:-.build-release}
command -v dot >/dev/null || { echo "report.sh: Graphviz dot missing (apt-get install graphviz)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-report-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -n "${CAIRN_BIN:-}" ]; then
    CAIRN=$CAIRN_BIN
else
    swift build -c release --scratch-path "$SCRATCH" --product cairn >&2
    CAIRN="$SCRATCH/release/cairn"
fi
export CAIRN_HOME="$WORK/store"
"$CAIRN" init >/dev/null

# batch_file NAME COUNT: a pipeline of COUNT runs (one per prompt) with one small synthetic image step.
batch_file() {
    {
        echo "name: $1"
        echo "steps:"
        echo "  - {name: still, model: image-v1, prompt: \"{prompt}\", modality: image, params: {width: 32, height: 32}}"
        echo "batch:"
        echo "  concurrency: 2"
        echo "  prompts:"
        for i in $(seq "$2"); do echo "    - \"$1 prompt $i\""; done
    } > "$WORK/$1.yaml"
    echo "$WORK/$1.yaml"
}
run_ids() { python3 -c "import json,re,sys; print('\n'.join(dict.fromkeys(re.findall(r'\"run_id\": *\"([0-9a-f-]{36})\"', sys.stdin.read()))))"; }

echo "== building a $TOTAL-run lineage with cairn run" >&2
root=$("$CAIRN" run --json "$(batch_file root 1)" | run_ids | head -1)
mapfile -t middle < <("$CAIRN" run --json --parent "$root" "$(batch_file middle "$FANOUT")" | run_ids)
rest=$((TOTAL - 1 - FANOUT))
for i in "${!middle[@]}"; do
    n=$((rest / FANOUT + (i < rest % FANOUT ? 1 : 0)))
    [ "$n" -gt 0 ] && "$CAIRN" run --json --parent "${middle[$i]}" "$(batch_file "leaf$i" "$n")" >/dev/null
done
"$CAIRN" lineage --format dot "$root" > "$WORK/lineage.dot"
nodes=$(grep -c '\[label=' "$WORK/lineage.dot")
edges=$(grep -c -- '->' "$WORK/lineage.dot")
[ "$nodes" -eq "$TOTAL" ] || { echo "report.sh: the lineage has $nodes runs, not $TOTAL" >&2; exit 1; }

now() { python3 -c 'import time; print(time.perf_counter())'; }
ours=(); theirs=()
for run in $(seq "$RUNS"); do
    start=$(now)
    "$CAIRN" report "$root" -o "$WORK/report.html"
    ours+=("$(python3 -c "print($(now) - $start)")")
    start=$(now)
    dot -Tsvg -o "$WORK/lineage.svg" "$WORK/lineage.dot"
    theirs+=("$(python3 -c "print($(now) - $start)")")
done
o=$(printf '%s\n' "${ours[@]}" | median)
t=$(printf '%s\n' "${theirs[@]}" | median)
size=$(stat -c %s "$WORK/report.html")
echo "== lineage report: $nodes runs, $edges parent links, $RUNS runs"
printf 'cairn report (whole page, %s bytes):   %8.3f s\n' "$size" "$o"
printf 'dot -Tsvg alone on the same graph:       %8.3f s\n' "$t"
printf 'ratio (report / dot alone):              %8.2fx\n' "$(python3 -c "print($o / $t)")"
