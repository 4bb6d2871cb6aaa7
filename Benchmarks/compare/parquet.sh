#!/usr/bin/env bash
# Parquet export throughput, same run: `cairn export parquet` (release build) over a store holding RUNS genblaze
# manifests (made by genblaze's own models: scripts/parquet_probe.py make-manifests, imported with `cairn import`)
# vs genblaze-core's ParquetSink.write_run over the same manifests, already parsed (parsing is not timed; Cairn's
# time includes reading every manifest back from the store, parsing it and scanning the ledger for receipts).
# Each round writes into an empty folder; rounds interleave Cairn (zstd), Cairn (--compression none) and genblaze.
# Prints medians of runs/s and rows/s (runs + steps + assets rows each side wrote) and the ratio of the runs/s
# medians. genblaze writes the first GENBLAZE_RUNS of the same manifests (default 10,000: at ~4-7 ms a run on this
# machine, 10^5 runs take it 10-20 minutes a round); its rate is per run over those. GENBLAZE_RUNS=RUNS for all.
# Usage: [MANIFESTS=DIR] Benchmarks/compare/parquet.sh [RUNS=100000] [ROUNDS=3] [GENBLAZE_RUNS=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
RUNS=${1:-100000}
ROUNDS=${2:-3}
GENBLAZE_RUNS=${3:-10000}
[ "$GENBLAZE_RUNS" -le "$RUNS" ] || GENBLAZE_RUNS=$RUNS
SCRATCH=${SCRATCH:-.build-release}
PY=${CAIRN_GENBLAZE_PYTHON:-.venv-gb/bin/python}
[ -x "$PY" ] || { echo "parquet.sh: $PY missing (bash scripts/setup.sh)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-parquet-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

swift build -c release --scratch-path "$SCRATCH" --product cairn >&2
CAIRN="$SCRATCH/release/cairn"

# MANIFESTS=DIR reuses manifests made earlier by `parquet_probe.py make-manifests DIR RUNS 1 1`.
if [ -n "${MANIFESTS:-}" ] && [ "$(find "$MANIFESTS" -name '*.json' | wc -l)" -eq "$RUNS" ]; then
    ln -s "$(cd "$MANIFESTS" && pwd)" "$WORK/manifests"
else
    echo "parquet.sh: making $RUNS genblaze manifests" >&2
    "$PY" scripts/parquet_probe.py make-manifests "$WORK/manifests" "$RUNS" 1 1 >/dev/null
fi
# The store is set up without syncs (only the export is timed, and it syncs whatever the store says).
"$CAIRN" init --durability none --store "$WORK/store" >/dev/null
find -L "$WORK/manifests" -name '*.json' | sort | xargs -n 5000 "$CAIRN" import --store "$WORK/store" >/dev/null
mkdir -p "$WORK/genblaze-manifests"
find -L "$WORK/manifests" -name '*.json' | sort | sed -n "1,${GENBLAZE_RUNS}p" | xargs ln -s -t "$WORK/genblaze-manifests"

now() { date +%s.%N; }
rows_of() { python3 -c "import json,sys; r=json.loads(sys.stdin.read())['rows']; print(sum(r.values()))"; }

zstd_rate=() none_rate=() gb_rate=() zstd_rows=() none_rows=() gb_rows=()
for round in $(seq "$ROUNDS"); do
    for compression in zstd none; do
        out="$WORK/out-$compression-$round"
        start=$(now)
        rows=$("$CAIRN" export parquet --store "$WORK/store" --compression "$compression" --json "$out" | rows_of)
        end=$(now)
        rate=$(awk -v n="$RUNS" -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", n / (e - s)}')
        rowrate=$(awk -v n="$rows" -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", n / (e - s)}')
        size=$(du -sb "$out" | cut -f1)
        echo "round $round cairn ($compression): $rate runs/s, $rowrate rows/s ($rows rows, $size bytes)" >&2
        if [ "$compression" = zstd ]; then
            zstd_rate+=("$rate"); zstd_rows+=("$rowrate"); zstd_size=$size
        else
            none_rate+=("$rate"); none_rows+=("$rowrate"); none_size=$size
        fi
        rm -rf "$out"
    done
    out="$WORK/out-genblaze-$round"
    result=$("$PY" scripts/parquet_probe.py genblaze-sink "$WORK/genblaze-manifests" "$out")
    seconds=$(echo "$result" | field seconds)
    rows=$("$PY" scripts/parquet_probe.py describe "$out" | python3 -c \
        "import json,sys; d=json.load(sys.stdin); print(sum(d[t]['rows_duckdb'] for t in ('runs','steps','assets')))")
    rate=$(awk -v n="$GENBLAZE_RUNS" -v s="$seconds" 'BEGIN {printf "%.1f", n / s}')
    rowrate=$(awk -v n="$rows" -v s="$seconds" 'BEGIN {printf "%.1f", n / s}')
    gb_size=$(du -sb "$out" | cut -f1)
    echo "round $round genblaze ParquetSink: $rate runs/s, $rowrate rows/s ($rows rows, $gb_size bytes)" >&2
    gb_rate+=("$rate"); gb_rows+=("$rowrate")
    rm -rf "$out"
done

z=$(printf '%s\n' "${zstd_rate[@]}" | median)
n=$(printf '%s\n' "${none_rate[@]}" | median)
g=$(printf '%s\n' "${gb_rate[@]}" | median)
zr=$(printf '%s\n' "${zstd_rows[@]}" | median)
nr=$(printf '%s\n' "${none_rows[@]}" | median)
gr=$(printf '%s\n' "${gb_rows[@]}" | median)
echo "export of $RUNS runs (genblaze: $GENBLAZE_RUNS of them), medians of $ROUNDS rounds:"
echo "  cairn export parquet (zstd): $z runs/s, $zr rows/s, $zstd_size bytes"
echo "  cairn export parquet (none): $n runs/s, $nr rows/s, $none_size bytes"
echo "  genblaze ParquetSink:        $g runs/s, $gr rows/s, $gb_size bytes"
awk -v a="$z" -v b="$g" 'BEGIN {printf "  ratio cairn (zstd) / genblaze, runs/s: %.1fx\n", a / b}'
awk -v a="$n" -v b="$z" 'BEGIN {printf "  zstd costs: none is %.2fx as fast as zstd\n", a / b}'
awk -v a="$none_size" -v b="$zstd_size" 'BEGIN {printf "  zstd saves: none is %.2fx the bytes of zstd\n", a / b}'
