#!/usr/bin/env bash
# Same-run ledger comparisons (release build, medians of RUNS runs):
#   1. durable appends/s: group commit (THREADS concurrent appenders) vs one fsync per append (1 appender),
#      and vs sqlite3 WAL synchronous=FULL single-row transactions of the same entry bytes;
#   2. at SCALE entries: ancestors of depth DEPTH (indexed) vs a linear scan of the log, inclusion proof time,
#      reindex entries/s.
# Usage: Benchmarks/compare/ledger.sh [COUNT=2000] [THREADS=32] [SCALE=1000000] [DEPTH=1000] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
COUNT=${1:-2000}
THREADS=${2:-32}
SCALE=${3:-1000000}
DEPTH=${4:-1000}
RUNS=${5:-5}
SCRATCH=${SCRATCH:-.build-ledger-bench}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-ledger-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
command -v sqlite3 >/dev/null || { echo "ledger.sh: sqlite3 is required (bash scripts/setup.sh)" >&2; exit 2; }

(cd Benchmarks && swift build -c release --scratch-path "../$SCRATCH" --product LedgerCompare >&2)
BIN="$SCRATCH/release/LedgerCompare"


echo "== durable appends: $COUNT entries, $RUNS runs (disk: $(df -T "$WORK" | awk 'NR==2 {print $2}'))"
group=(); single=(); sqlite=()
for run in $(seq "$RUNS"); do
    group+=("$("$BIN" appends "$WORK/group" "$COUNT" "$THREADS" "$WORK/peer.sql" | field appends_per_second)")
    single+=("$("$BIN" appends "$WORK/single" "$COUNT" 1 | field appends_per_second)")
    rm -f "$WORK/peer.db" "$WORK/peer.db-wal" "$WORK/peer.db-shm"
    start=$(date +%s.%N)
    sqlite3 "$WORK/peer.db" < "$WORK/peer.sql" > /dev/null
    end=$(date +%s.%N)
    sqlite+=("$(python3 -c "print($COUNT / ($end - $start))")")
done
g=$(printf '%s\n' "${group[@]}" | median)
s=$(printf '%s\n' "${single[@]}" | median)
q=$(printf '%s\n' "${sqlite[@]}" | median)
printf 'cairn group commit (%s appenders):   %10.0f appends/s\n' "$THREADS" "$g"
printf 'cairn one fsync per append:          %10.0f appends/s\n' "$s"
printf 'sqlite3 WAL synchronous=FULL, 1 row/tx: %7.0f inserts/s\n' "$q"
python3 -c "print(f'ratio group/single: {$g/$s:.1f}x (target >= 10x)'); print(f'ratio group/sqlite3: {$g/$q:.2f}x (target >= 1x)'); print(f'ratio single/sqlite3: {$s/$q:.2f}x')"

echo "== $SCALE-entry ledger, chain depth $DEPTH (one build; query times are medians inside the run)"
"$BIN" scale "$WORK/scale" "$SCALE" "$DEPTH" | python3 -c "
import json, sys
r = json.loads(sys.stdin.read())
print(f\"built {r['entries']} entries in {r['build_seconds']:.1f} s\")
print(f\"ancestors (depth {r['depth']}, index): {r['ancestors_ms']:.3f} ms (target < 5 ms)\")
print(f\"ancestors by linear scan of the log:  {r['linear_scan_ms']:.1f} ms  -> index is {r['linear_scan_ms']/r['ancestors_ms']:.0f}x faster\")
print(f\"inclusion proof at {r['entries']} entries: {r['inclusion_proof_ms']:.4f} ms (target < 5 ms)\")
print(f\"reindex: {r['reindex_entries_per_second']:.0f} entries/s ({r['reindex_seconds']:.1f} s)\")
"
