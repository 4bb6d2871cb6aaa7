#!/usr/bin/env bash
# Same-run hashing comparisons (release build; medians of RUNS runs):
#   1. Cairn's streaming hashers over a page-cached SIZE_MIB file vs `openssl dgst -sha256` and `b2sum -l 256`
#      of the same file (from `cairn bench --only hashing`, which times both in one run);
#   2. unless SKIP_PACKAGE_BENCHMARK=1: Cairn's hashers vs the raw library call on the same 1 MiB buffer
#      (Benchmarks/Benchmarks/HashingBenchmarks, ordo-one/benchmark).
# Usage: Benchmarks/compare/hashing.sh [SIZE_MIB=1024] [RUNS=5]
# Env: SCRATCH, BENCH_DIR, CAIRN_BIN as in store.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=${1:-1024}
RUNS=${2:-5}
SCRATCH=${SCRATCH:-.build-store-bench}
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/cairn-hash-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -n "${CAIRN_BIN:-}" ]; then
    CAIRN=$CAIRN_BIN
else
    swift build -c release --scratch-path "$SCRATCH" --product cairn >&2
    CAIRN="$SCRATCH/release/cairn"
fi
"$CAIRN" init --store "$WORK/store" >/dev/null

echo "== hashing a $SIZE_MIB MiB page-cached file, $RUNS runs"
for _ in $(seq "$RUNS"); do
    "$CAIRN" bench --store "$WORK/store" --only hashing --json --size $((SIZE_MIB << 20))
done | python3 -c "
import json, sys, statistics
rows = {}
for line in sys.stdin:
    for figure in json.loads(line):
        rows.setdefault(figure['name'], []).append(figure)
for name, figures in rows.items():
    ours = statistics.median(f['value'] for f in figures)
    peers = [f['peerValue'] for f in figures if f.get('peerValue')]
    if peers:
        peer = statistics.median(peers)
        print(f'{name}: cairn {ours:.0f} MB/s   {figures[0][\"peer\"]}: {peer:.0f} MB/s   ratio {ours / peer:.2f}x (target >= 1.0x)')
    else:
        print(f'{name}: cairn {ours:.0f} MB/s   {figures[0][\"peer\"]}: not installed')
"

if [ "${SKIP_PACKAGE_BENCHMARK:-0}" != 1 ]; then
    echo "== in-process, same 1 MiB buffer: Cairn's hashers vs the raw library (p50 throughput)"
    (cd Benchmarks && swift package --scratch-path "../$SCRATCH-package" benchmark --target HashingBenchmarks \
        --no-progress)
fi
