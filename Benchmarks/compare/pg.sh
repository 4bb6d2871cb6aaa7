#!/usr/bin/env bash
# Same-run PostgreSQL ledger comparison (medians of RUNS runs), against a throwaway server on 127.0.0.1
# (scripts/pg-server.sh, fsync and synchronous_commit on):
#   durable appends/s through the real Ledger (entry encoding, the checkpoint's signature, one statement per batch
#   holding the append and the checkpoint) and through the storage alone, one entry per append and BATCH entries
#   per append, vs pgbench inserting the same entry bytes into a one-table ledger (idx bigint primary key, payload
#   bytea): one row per transaction, and BATCH rows per one-statement transaction (every row's bytes sent as a
#   bound parameter, as the ledger sends them); and vs pgbench writing the rows a ledger append writes (head,
#   entries with leaf hashes, one tree-node row per 8 entries, checkpoint).
# With THREADS > 1, also BATCH entries per append from THREADS writer threads through one Ledger (its group commit
# merges what they queue while a commit is in flight) vs pgbench's batched one-table statement from THREADS clients.
# Usage: Benchmarks/compare/pg.sh [COUNT=2000] [BATCH=100] [RUNS=3] [THREADS=2]
# Builds cairn-pg-bench with the PostgreSQL trait in .build-scale (CONFIG=debug by default; CONFIG=release for
# figures to publish: a release build of postgres-nio takes several minutes more).
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/compare/lib.sh
COUNT=${1:-2000}
BATCH=${2:-100}
RUNS=${3:-3}
THREADS=${4:-2}
CONFIG=${CONFIG:-debug}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cairn-pg-bench.XXXXXX")
started=0
cleanup() {
    rm -rf "$WORK"
    if [ "$started" = 1 ]; then bash scripts/pg-server.sh stop; fi
}
trap cleanup EXIT

swift build -c "$CONFIG" --traits S3,PostgreSQL --scratch-path .build-scale --product cairn-pg-bench -Xswiftc -warnings-as-errors >&2
BIN=.build-scale/$CONFIG/cairn-pg-bench
use_pg_server

kv() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
# WAL written between two LSNs, per entry (what each commit's flush carries).
lsn() { "${PSQL[@]}" -c "SELECT pg_current_wal_lsn()"; }
wal_per() { "${PSQL[@]}" -c "SELECT round(pg_wal_lsn_diff('$2', '$1') / $3)"; }

echo "== durable appends to PostgreSQL: $COUNT entries, batches of $BATCH, $RUNS runs ($CONFIG build)"
single=(); batched=(); s_single=(); s_batched=(); peer_single=(); peer_batched=(); rows_single=(); rows_batched=()
threaded=(); peer_threaded=()
for run in $(seq "$RUNS"); do
    rm -rf "$WORK/s" "$WORK/b"
    mkdir -p "$WORK/s" "$WORK/b"
    single+=("$("$BIN" "$COUNT" 1 "$WORK/s" | kv appends_per_second)")
    before=$(lsn)
    batched+=("$("$BIN" "$COUNT" "$BATCH" "$WORK/b" | kv appends_per_second)")
    wal_cairn=$(wal_per "$before" "$(lsn)" "$COUNT")
    if [ "$THREADS" -gt 1 ]; then
        rm -rf "$WORK/m" && mkdir -p "$WORK/m"
        threaded+=("$("$BIN" "$COUNT" "$BATCH" "$WORK/m" ledger "$THREADS" | kv appends_per_second)")
    fi
    rm -rf "$WORK/t" && mkdir -p "$WORK/t"
    s_single+=("$("$BIN" "$COUNT" 1 "$WORK/t" storage | kv appends_per_second)")
    rm -rf "$WORK/t" && mkdir -p "$WORK/t"
    s_batched+=("$("$BIN" "$COUNT" "$BATCH" "$WORK/t" storage | kv appends_per_second)")
    # The peer inserts the exact bytes of a ledger entry (hex-encoded for the variable, decoded by the server).
    hex=$(xxd -p "$WORK/s/entry.json" | tr -d '\n')
    "${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS peer_ledger" \
        -c "CREATE TABLE peer_ledger (idx bigint PRIMARY KEY, payload bytea NOT NULL)" \
        -c "CREATE SEQUENCE IF NOT EXISTS peer_idx"
    printf '%s\n' "INSERT INTO peer_ledger VALUES (nextval('peer_idx'), decode(:body, 'hex'));" >"$WORK/one.sql"
    # A batch sends every entry's bytes, as the ledger does: BATCH variables b1..bBATCH, each bound as its own
    # parameter of the prepared statement (hex text: pgbench binds text only), unnested into rows by the server.
    bodies=() list=""
    for i in $(seq "$BATCH"); do
        bodies+=(-D "b$i=$hex")
        list+="${list:+, }:b$i"
    done
    printf '%s\n' "INSERT INTO peer_ledger SELECT nextval('peer_idx'), decode(x, 'hex') FROM unnest(ARRAY[$list]::text[]) x;" \
        >"$WORK/batch.sql"
    # tps SCRIPT TRANSACTIONS [CLIENTS=1]: pgbench's transactions per second, prepared statements; TRANSACTIONS per
    # client.
    tps() {
        pgbench -h 127.0.0.1 -p "$PORT" -U cairn -n -M prepared -c "${3:-1}" -j "${3:-1}" -t "$2" -D body="$hex" \
            "${bodies[@]}" -f "$1" cairn 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
    }
    one=$(tps "$WORK/one.sql" "$COUNT")
    before=$(lsn)
    many=$(tps "$WORK/batch.sql" $((COUNT / BATCH)))
    wal_peer=$(wal_per "$before" "$(lsn)" "$COUNT")
    peer_single+=("$(python3 -c "print(int($one))")")
    peer_batched+=("$(python3 -c "print(int($many * $BATCH))")")
    if [ "$THREADS" -gt 1 ]; then
        par=$(tps "$WORK/batch.sql" $((COUNT / BATCH / THREADS)) "$THREADS")
        peer_threaded+=("$(python3 -c "print(int($par * $BATCH))")")
    fi
    "${PSQL[@]}" -c "DROP TABLE peer_ledger" -c "DROP SEQUENCE peer_idx"
    # The second peer writes the rows a ledger append writes, in one statement per batch as the ledger does: the
    # head row, each entry with its 32-byte leaf hash, one 32-byte tree-node row per 8 entries (the nodes of level 4
    # and above, spec/postgres.md), and the checkpoint row.
    "${PSQL[@]}" -c "SET client_min_messages = warning" \
        -c "DROP TABLE IF EXISTS peer_entries, peer_nodes, peer_head, peer_checkpoint" \
        -c "CREATE TABLE peer_head (id int PRIMARY KEY, size bigint NOT NULL)" \
        -c "INSERT INTO peer_head VALUES (1, 0)" \
        -c "CREATE TABLE peer_entries (idx bigint PRIMARY KEY, leaf bytea NOT NULL, payload bytea NOT NULL)" \
        -c "CREATE TABLE peer_nodes (level smallint, idx bigint, hash bytea NOT NULL, PRIMARY KEY (level, idx))" \
        -c "CREATE TABLE peer_checkpoint (id int PRIMARY KEY, sequence bigint NOT NULL, note text NOT NULL)" \
        -c "INSERT INTO peer_checkpoint VALUES (1, 1, repeat('n', 200))"
    # rows_sql N LIST: the statement for N entries whose hex bytes are the variables in LIST.
    rows_sql() {
        printf '%s\n' "WITH h AS (UPDATE peer_head SET size = size + $1 WHERE id = 1 RETURNING size - $1 AS base), \
d AS (SELECT n - 1 AS i, decode(x, 'hex') AS p FROM unnest(ARRAY[$2]::text[]) WITH ORDINALITY u(x, n)), \
e AS (INSERT INTO peer_entries SELECT h.base + d.i, sha256(d.p), d.p FROM h, d RETURNING 1), \
n AS (INSERT INTO peer_nodes SELECT 4, h.base + d.i, sha256(d.p) FROM h, d WHERE (h.base + d.i) % 8 = 7 RETURNING 1), \
c AS (UPDATE peer_checkpoint SET sequence = sequence + 1 WHERE id = 1 RETURNING 1) \
SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM n), (SELECT count(*) FROM c);"
    }
    rows_sql 1 ":body" >"$WORK/rows1.sql"
    rows_sql "$BATCH" "$list" >"$WORK/rowsb.sql"
    r_one=$(tps "$WORK/rows1.sql" "$COUNT")
    "${PSQL[@]}" -c "TRUNCATE peer_entries, peer_nodes" -c "UPDATE peer_head SET size = 0"
    before=$(lsn)
    r_many=$(tps "$WORK/rowsb.sql" $((COUNT / BATCH)))
    wal_rows=$(wal_per "$before" "$(lsn)" "$COUNT")
    rows_single+=("$(python3 -c "print(int($r_one))")")
    rows_batched+=("$(python3 -c "print(int($r_many * $BATCH))")")
    "${PSQL[@]}" -c "DROP TABLE peer_entries, peer_nodes, peer_head, peer_checkpoint"
done
m_single=$(printf '%s\n' "${single[@]}" | median)
m_batched=$(printf '%s\n' "${batched[@]}" | median)
ms_single=$(printf '%s\n' "${s_single[@]}" | median)
ms_batched=$(printf '%s\n' "${s_batched[@]}" | median)
p_single=$(printf '%s\n' "${peer_single[@]}" | median)
p_batched=$(printf '%s\n' "${peer_batched[@]}" | median)
r_single=$(printf '%s\n' "${rows_single[@]}" | median)
r_batched=$(printf '%s\n' "${rows_batched[@]}" | median)
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo "entry bytes: $(wc -c <"$WORK/s/entry.json")"
echo "single:  cairn $m_single appends/s (runs: ${single[*]}), pgbench $p_single rows/s (runs: ${peer_single[*]}), ratio $(ratio "$m_single" "$p_single")x"
echo "storage single:  $ms_single appends/s (runs: ${s_single[*]}), ratio $(ratio "$ms_single" "$p_single")x"
echo "storage batched: $ms_batched appends/s (runs: ${s_batched[*]}), ratio $(ratio "$ms_batched" "$p_batched")x"
echo "batched: cairn $m_batched appends/s (runs: ${batched[*]}), pgbench $p_batched rows/s (runs: ${peer_batched[*]}), ratio $(ratio "$m_batched" "$p_batched")x"
echo "pgbench writing a ledger append's rows: single $r_single entries/s (runs: ${rows_single[*]}), batched $r_batched entries/s (runs: ${rows_batched[*]})"
echo "ratio to it: single $(ratio "$m_single" "$r_single")x, batched $(ratio "$m_batched" "$r_batched")x"
if [ "$THREADS" -gt 1 ]; then
    m_threaded=$(printf '%s\n' "${threaded[@]}" | median)
    p_threaded=$(printf '%s\n' "${peer_threaded[@]}" | median)
    echo "batched, $THREADS writers: cairn $m_threaded appends/s (runs: ${threaded[*]}), pgbench -c $THREADS $p_threaded rows/s (runs: ${peer_threaded[*]}), ratio $(ratio "$m_threaded" "$p_threaded")x; against one pgbench client $(ratio "$m_threaded" "$p_batched")x"
fi
echo "WAL bytes per entry, batched (last run): cairn $wal_cairn, pgbench one-table $wal_peer, pgbench ledger rows $wal_rows"
