#!/usr/bin/env bash
# Same-run manifest comparisons (release build, medians of RUNS runs):
#   1. canonical hashes/s over the genblaze vectors' manifests (parse + hash check): Cairn's
#      ManifestVerdict.verify(hashOnly: true) (what `cairn verify --hash-only` runs per file) vs genblaze's own
#      parse_manifest + verify_hash (json.loads of the file text first, as genblaze's CLI does), same files, same run;
#   2. the same with the full verdict: ManifestVerdict.verify (`cairn verify`: hash, output-asset checks, the asset
#      list) vs genblaze's parse_manifest + verify();
#   3. reader throughput (MB/s) on a large manifest (STEPS steps, written by Cairn): Cairn's JSONReader vs
#      Python's json.loads (what genblaze reads with).
# Usage: Benchmarks/compare/manifest.sh [SECONDS=3] [RUNS=5] [STEPS=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
SECONDS_PER_RUN=${1:-3}
RUNS=${2:-5}
STEPS=${3:-10000}
SCRATCH=${SCRATCH:-.build-manifest-bench}
PY=${CAIRN_GENBLAZE_PYTHON:-.venv-gb/bin/python}
VECTORS=spec/vectors/genblaze/cases
[ -x "$PY" ] || { echo "manifest.sh: $PY missing (bash scripts/setup.sh)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-manifest-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

(cd Benchmarks && swift build -c release --scratch-path "../$SCRATCH" --product ManifestCompare >&2)
BIN="$SCRATCH/release/ManifestCompare"

# compare FIELD OURS... -- THEIRS...: runs both commands RUNS times, interleaved, and sets o and t to the medians
# of FIELD in their JSON output.
compare() {
    local key=$1 ours=() theirs=() cmd=() peer=()
    shift
    while [ "$1" != "--" ]; do cmd+=("$1"); shift; done
    shift
    peer=("$@")
    for run in $(seq "$RUNS"); do
        ours+=("$("${cmd[@]}" | field "$key")")
        theirs+=("$("${peer[@]}" | field "$key")")
    done
    o=$(printf '%s\n' "${ours[@]}" | median)
    t=$(printf '%s\n' "${theirs[@]}" | median)
}

FILES=("$VECTORS"/*.json)
cat > "$WORK/gb_hashes.py" <<'PYEOF'
import json, sys, time
from pathlib import Path
from genblaze_core.models.manifest import parse_manifest
full = sys.argv[1] == "verify"
seconds = float(sys.argv[2])
texts = [Path(p).read_text(encoding="utf-8") for p in sys.argv[3:]]
n = 0
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    for text in texts:
        manifest = parse_manifest(json.loads(text))
        if full:
            manifest.verify()
        else:
            manifest.verify_hash()
        n += 1
print(json.dumps({"hashes_per_second": n / (time.perf_counter() - start)}))
PYEOF
cat > "$WORK/py_reader.py" <<'PYEOF'
import json, sys, time
from pathlib import Path
seconds = float(sys.argv[1])
data = Path(sys.argv[2]).read_bytes()
n = 0
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    json.loads(data.decode("utf-8"))
    n += 1
print(json.dumps({"megabytes_per_second": len(data) * n / (time.perf_counter() - start) / 1e6}))
PYEOF

echo "== canonical hashes/s: ${#FILES[@]} genblaze vector manifests, parse + hash check, $RUNS runs of ${SECONDS_PER_RUN}s"
compare hashes_per_second "$BIN" hashes "$SECONDS_PER_RUN" "${FILES[@]}" -- "$PY" "$WORK/gb_hashes.py" hash \
    "$SECONDS_PER_RUN" "${FILES[@]}"
printf 'cairn    ManifestVerdict.verify(hashOnly):  %10.0f hashes/s\n' "$o"
printf 'genblaze parse_manifest + verify_hash:      %10.0f hashes/s\n' "$t"
python3 -c "print(f'ratio cairn/genblaze: {$o/$t:.1f}x (target >= 20x)')"

echo "== full verdicts/s: the same files, parse + hash + output-asset checks, $RUNS runs of ${SECONDS_PER_RUN}s"
compare hashes_per_second "$BIN" verify "$SECONDS_PER_RUN" "${FILES[@]}" -- "$PY" "$WORK/gb_hashes.py" verify \
    "$SECONDS_PER_RUN" "${FILES[@]}"
printf 'cairn    ManifestVerdict.verify:            %10.0f verdicts/s\n' "$o"
printf 'genblaze parse_manifest + verify:           %10.0f verdicts/s\n' "$t"
python3 -c "print(f'ratio cairn/genblaze: {$o/$t:.1f}x')"

echo "== reader throughput: $STEPS-step manifest, $RUNS runs of ${SECONDS_PER_RUN}s"
"$BIN" write-large "$STEPS" "$WORK/large.json" >/dev/null
printf 'manifest size: %s bytes\n' "$(wc -c < "$WORK/large.json")"
compare megabytes_per_second "$BIN" reader "$SECONDS_PER_RUN" "$WORK/large.json" -- "$PY" "$WORK/py_reader.py" \
    "$SECONDS_PER_RUN" "$WORK/large.json"
printf 'cairn JSONReader.parse:  %8.1f MB/s\n' "$o"
printf 'python json.loads:       %8.1f MB/s\n' "$t"
python3 -c "print(f'ratio cairn/python: {$o/$t:.2f}x')"
