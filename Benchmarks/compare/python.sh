#!/usr/bin/env bash
# Same-run comparisons of Cairn from Python (python/: the cairn package over a release libcairn.so), medians of
# RUNS runs, every run in a fresh store:
#   1. FILES x 4 KiB blobs: Store.put(bytes) in a loop, Store.put_many(bytes) and Store.put_many(paths) (4 jobs),
#      vs the `cairn` CLI (`cairn put --jobs 4 --stdin-paths`), with durability none and object (target >= 0.9x of
#      the CLI's rate);
#   2. one BIG_MIB file (durability object): Store.put(path) vs `cairn put FILE` (target >= 0.9x);
#   3. verdicts/s on the genblaze vectors (spec/vectors/genblaze/cases): cairn.verify(bytes) per call and
#      cairn.verify_many(list) vs genblaze's own parse_manifest(json.loads(text)).verify() (target >= 10x);
#   4. a genblaze pipeline (PIPELINE_RUNS chained 2-step runs, MockProvider writing 64 KiB asset files) with
#      sink=CairnSink vs sink=ParquetSink, runs/s.
# The CLI is built with the same flags in the same folder as libcairn.so (scripts/build-libcairn.sh), so both
# sides run the same compiled library code.
# Usage: Benchmarks/compare/python.sh [RUNS=3] [FILES=10000] [BIG_MIB=1024] [PIPELINE_RUNS=50]
# Env: BENCH_DIR (where to work, default /var/tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
FILES=${2:-10000}
BIG_MIB=${3:-1024}
PIPELINE_RUNS=${4:-50}
PY=${CAIRN_GENBLAZE_PYTHON:-.venv-gb/bin/python}
[ -x "$PY" ] || { echo "python.sh: $PY missing (bash scripts/setup.sh)" >&2; exit 2; }
LIB=$PWD/$(CAIRN_BUILD_CLI=1 bash scripts/build-libcairn.sh)
CAIRN=$PWD/.build-libcairn/release/cairn
CAIRN_LIBRARY=$LIB "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation --force-reinstall \
    --no-deps ./python >&2
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/cairn-python-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" Benchmarks/compare/python_bench.py "$CAIRN" "$WORK" "$RUNS" "$FILES" "$BIG_MIB" "$PIPELINE_RUNS"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
