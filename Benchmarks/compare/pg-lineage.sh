#!/usr/bin/env bash
# Same-run comparison for the lineage index in PostgreSQL (spec/postgres.md, "Lineage index"), against a throwaway
# server on 127.0.0.1 (scripts/pg-server.sh):
#   fills a fresh PostgreSQL ledger with COUNT real entries (a manifest and three receipts per run; one parent chain
#   of CHAIN + 1 runs spread over the log), catches the PostgreSQL index up (timed), then times CALLS calls each of
#   `ancestors(of:)` at depth CHAIN and `descendants(of:)` of the chain's root (medians), beside two peers in the
#   same run: the local SQLite index of the same log (caught up and queried the same way), and psql running the
#   same recursive ancestor query on the same tables (`\timing`, median of CALLS).
# Usage: Benchmarks/compare/pg-lineage.sh [COUNT=1000000] [CHAIN=1000] [CALLS=25]
# Builds cairn-pg-lineage-bench in release with the S3 and PostgreSQL traits in $SCRATCH (default .build-scale, as
# Benchmarks/compare/pg.sh and s3.sh and the server tests: one package resolution, release products beside debug).
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
COUNT=${1:-1000000}
CHAIN=${2:-1000}
CALLS=${3:-25}
SCRATCH=${SCRATCH:-.build-scale}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-pg-lineage.XXXXXX")
started=0
SCHEMA=""
cleanup() {
    if [ -n "$SCHEMA" ]; then "${PSQL[@]}" -c "DROP SCHEMA $SCHEMA CASCADE" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
    if [ "$started" = 1 ]; then bash scripts/pg-server.sh stop; fi
}
trap cleanup EXIT

swift build -c release --traits S3,PostgreSQL --scratch-path "$SCRATCH" --product cairn-pg-lineage-bench \
    -Xswiftc -warnings-as-errors >&2
BIN=$SCRATCH/release/cairn-pg-lineage-bench
use_pg_server

echo "== lineage index in PostgreSQL: $COUNT entries, a chain of depth $CHAIN, $CALLS calls per query"
echo "PostgreSQL: $("${PSQL[@]}" -c 'SHOW server_version')"
OUT=$WORK/out.txt
CAIRN_BENCH_KEEP=1 "$BIN" "$COUNT" "$CHAIN" "$WORK" "$CALLS" | tee "$OUT"
kv() { sed -n "s/^$1=//p" "$OUT"; }
SCHEMA=$(kv schema)
TARGET=$(kv target)

# The peer: psql sends the index's own recursive ancestor query, CALLS times (after 2 warm-up calls) in one session.
COLUMNS="run_id, name, parent_run_id, canonical_hash, manifest, status, timestamp, seq"
QUERY="WITH RECURSIVE up($COLUMNS, depth) AS (SELECT $COLUMNS, 1::bigint FROM $SCHEMA.run_rows \
WHERE run_id = (SELECT parent_run_id FROM $SCHEMA.run_rows WHERE run_id = '$TARGET') UNION ALL \
SELECT r.run_id, r.name, r.parent_run_id, r.canonical_hash, r.manifest, r.status, r.timestamp, r.seq, up.depth + 1 \
FROM $SCHEMA.run_rows r JOIN up ON r.run_id = up.parent_run_id WHERE up.depth < 4096) \
SELECT $COLUMNS FROM up ORDER BY depth;"
rows=$("${PSQL[@]}" -c "$QUERY" | wc -l)
[ "$rows" = "$CHAIN" ] || { echo "psql found $rows ancestors, not $CHAIN" >&2; exit 1; }
psql_ms=$({
    echo '\timing on'
    for _ in $(seq $((CALLS + 2))); do echo "$QUERY"; done
} | "${PSQL[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n "$CALLS" | median)

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
pg=$(kv pg_ancestors_ms)
pg_only=$(kv pg_ancestors_index_only_ms)
lite=$(kv sqlite_ancestors_ms)
echo "catch-up: PostgreSQL $(kv pg_catchup_seconds) s ($(kv pg_catchup_entries_per_second) entries/s), SQLite $(kv sqlite_catchup_seconds) s ($(kv sqlite_catchup_entries_per_second) entries/s)"
echo "ancestors at depth $CHAIN: PostgreSQL index ${pg} ms through the Ledger (${pg_only} ms the query alone), SQLite index ${lite} ms, psql ${psql_ms} ms; ratio vs SQLite $(ratio "$pg" "$lite")x, query alone vs psql $(ratio "$pg_only" "$psql_ms")x"
echo "descendants of the chain's root ($((CHAIN + 1)) runs): PostgreSQL $(kv pg_descendants_ms) ms, SQLite $(kv sqlite_descendants_ms) ms; ratio $(ratio "$(kv pg_descendants_ms)" "$(kv sqlite_descendants_ms)")x"
