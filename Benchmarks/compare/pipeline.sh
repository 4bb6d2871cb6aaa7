#!/usr/bin/env bash
# Same-run pipeline overhead figures (release build, medians of RUNS runs), synthetic provider, small outputs:
#   1. steps/s through Pipeline.run (STEPS steps per run, REPEAT runs), the provider alone on the same requests,
#      and the run's store puts + ledger appends replayed directly: their share of the pipeline's time;
#   2. batch throughput: PROMPTS runs through batchRun with 1 worker vs 2 workers, and the ratio.
# Usage: Benchmarks/compare/pipeline.sh [STEPS=10] [REPEAT=20] [PROMPTS=40] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
STEPS=${1:-10}
REPEAT=${2:-20}
PROMPTS=${3:-40}
RUNS=${4:-5}
SCRATCH=${SCRATCH:-.build-pipeline-bench}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-pipeline-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

(cd Benchmarks && swift build -c release --scratch-path "../$SCRATCH" --product PipelineCompare >&2)
BIN="$SCRATCH/release/PipelineCompare"


echo "== per-step overhead: $STEPS steps x $REPEAT runs, $RUNS runs (disk: $(df -T "$WORK" | awk 'NR==2 {print $2}'))"
steps=(); provider=(); share=(); pshare=()
for run in $(seq "$RUNS"); do
    out=$("$BIN" steps "$WORK" "$STEPS" "$REPEAT")
    steps+=("$(echo "$out" | field steps_per_second)")
    provider+=("$(echo "$out" | field provider_calls_per_second)")
    share+=("$(echo "$out" | field store_ledger_share)")
    pshare+=("$(echo "$out" | field provider_share)")
done
s=$(printf '%s\n' "${steps[@]}" | median)
p=$(printf '%s\n' "${provider[@]}" | median)
h=$(printf '%s\n' "${share[@]}" | median)
q=$(printf '%s\n' "${pshare[@]}" | median)
printf 'pipeline (store + ledger + receipts + manifest): %10.1f steps/s  (%.2f ms/step)\n' "$s" "$(python3 -c "print(1000/$s)")"
printf 'provider alone (same synthetic calls):           %10.1f calls/s\n' "$p"
printf 'share of pipeline time in store puts + ledger appends (replayed): %.0f%%; in the provider: %.0f%%\n' \
    "$(python3 -c "print(100*$h)")" "$(python3 -c "print(100*$q)")"

echo "== batch throughput: $PROMPTS prompts, $RUNS runs"
one=(); two=()
for run in $(seq "$RUNS"); do
    one+=("$("$BIN" batch "$WORK" "$PROMPTS" 1 | field runs_per_second)")
    two+=("$("$BIN" batch "$WORK" "$PROMPTS" 2 | field runs_per_second)")
done
a=$(printf '%s\n' "${one[@]}" | median)
b=$(printf '%s\n' "${two[@]}" | median)
printf 'batchRun, 1 worker:  %8.1f runs/s\n' "$a"
printf 'batchRun, 2 workers: %8.1f runs/s\n' "$b"
printf 'ratio 2 workers / 1 worker: %.2fx\n' "$(python3 -c "print($b/$a)")"
