#!/usr/bin/env bash
# A throwaway PostgreSQL server for the PostgreSQL ledger's tests and benchmarks: Debian's postgresql, a fresh
# cluster in a temporary directory (owned by the `postgres` system user: initdb and postgres refuse to run as root),
# bound to 127.0.0.1 only on a free port, password authentication (scram-sha-256) with a fresh random password for
# the role `cairn`, which owns the database `cairn`. fsync and synchronous_commit stay on: commits are durable.
#
#   scripts/pg-server.sh start   install postgresql if missing, initdb, start, wait until a query as `cairn`
#                                works; fails loudly (exit 1, log tail) when the server does not come up
#   scripts/pg-server.sh env     print the exports that point the tests at it (eval "$(scripts/pg-server.sh env)")
#   scripts/pg-server.sh stop    SIGTERM by PID, SIGKILL after 10 s, wait for the exit, remove the cluster
#   scripts/pg-server.sh status  exit 0 when the recorded server is running
#   scripts/pg-server.sh halt    stop the server at once (pg_ctl -m immediate: as a crash would), keeping the cluster
#   scripts/pg-server.sh resume  start a halted server again on the same cluster and port (crash recovery runs)
#
# State (PID, port, directory, password; mode 600) is kept in .venv-servers/pg-server.state.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/server-lib.sh
. scripts/server-lib.sh
ROOT=$PWD
STATE_DIR=$ROOT/.venv-servers
STATE=$STATE_DIR/pg-server.state
RUN_AS=postgres

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install() {
    if bindir >/dev/null && id "$RUN_AS" >/dev/null 2>&1; then return; fi
    echo "pg-server: installing postgresql from Debian" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bindir >/dev/null || { echo "pg-server: postgresql installed but no initdb found" >&2; exit 1; }
}

free_port() {
    python3 - <<'PY'
import random, socket
while True:
    port = random.randrange(20000, 60000)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
PY
}

running() {
    [ -f "$STATE" ] || return 1
    local pid
    # shellcheck disable=SC1090
    pid=$(. "$STATE"; echo "$PG_SERVER_PID")
    kill -0 "$pid" 2>/dev/null
}

print_env() {
    [ -f "$STATE" ] || { echo "pg-server: not started (no $STATE)" >&2; exit 1; }
    # shellcheck disable=SC1090
    . "$STATE"
    echo "export CAIRN_PG_URL=postgres://cairn@127.0.0.1:$PG_SERVER_PORT/cairn"
    echo "export PGPASSWORD=$PG_SERVER_PASSWORD"
    echo "export CAIRN_PG_BIN=$PG_SERVER_BIN"
}

stop() {
    [ -f "$STATE" ] || { echo "pg-server: not running" >&2; return 0; }
    # shellcheck disable=SC1090
    . "$STATE"
    stop_by_pid pg-server "$PG_SERVER_PID"
    rm -rf "$PG_SERVER_DIR"
    rm -f "$STATE"
    echo "pg-server: stopped" >&2
}

# pg_start BIN DIR PORT: pg_ctl start, waiting until it accepts connections.
pg_start() {
    as_postgres "$1/pg_ctl" -D "$2/data" -l "$2/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $3 -k $2 -c fsync=on -c synchronous_commit=on" start >/dev/null 2>&1
}

halt() {
    [ -f "$STATE" ] || { echo "pg-server: not started" >&2; exit 1; }
    # shellcheck disable=SC1090
    . "$STATE"
    as_postgres "$PG_SERVER_BIN/pg_ctl" -D "$PG_SERVER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do kill -0 "$PG_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    echo "pg-server: halted (cluster kept in $PG_SERVER_DIR)" >&2
}

resume() {
    [ -f "$STATE" ] || { echo "pg-server: not started" >&2; exit 1; }
    if running; then echo "pg-server: already running" >&2; return 0; fi
    # shellcheck disable=SC1090
    . "$STATE"
    pg_start "$PG_SERVER_BIN" "$PG_SERVER_DIR" "$PG_SERVER_PORT" || {
        echo "pg-server: the server did not start again:" >&2
        tail -20 "$PG_SERVER_DIR/server.log" >&2 || true
        exit 1
    }
    local pid
    pid=$(head -1 "$PG_SERVER_DIR/data/postmaster.pid")
    sed -i "s/^PG_SERVER_PID=.*/PG_SERVER_PID=$pid/" "$STATE"
    echo "pg-server: resumed (PID $pid) on 127.0.0.1:$PG_SERVER_PORT" >&2
}

start() {
    if running; then
        echo "pg-server: already running" >&2
        return 0
    fi
    install
    local bin dir port password
    bin=$(bindir)
    id "$RUN_AS" >/dev/null 2>&1 || { echo "pg-server: no '$RUN_AS' user to run PostgreSQL as" >&2; exit 1; }
    # Under /tmp, not the checkout: every parent directory must be traversable by the postgres user.
    dir=$(mktemp -d -t cairn-pg.XXXXXX)
    chmod 700 "$dir"
    port=$(free_port)
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$password" >"$dir/pwfile"
    chown -R "$RUN_AS": "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A scram-sha-256 --pwfile="$dir/pwfile" -E UTF8 \
        --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1 || {
        echo "pg-server: initdb failed:" >&2
        tail -20 "$dir/initdb.log" >&2
        exit 1
    }
    pg_start "$bin" "$dir" "$port" || {
        echo "pg-server: the server did not start:" >&2
        tail -20 "$dir/server.log" >&2 || true
        exit 1
    }
    local pid
    pid=$(head -1 "$dir/data/postmaster.pid")
    mkdir -p "$STATE_DIR"
    (
        umask 077
        cat >"$STATE" <<EOF
PG_SERVER_PID=$pid
PG_SERVER_PORT=$port
PG_SERVER_DIR=$dir
PG_SERVER_BIN=$bin
PG_SERVER_PASSWORD=$password
EOF
    )
    # Ready means a query works, as the role the tests use.
    export PGPASSWORD=$password
    local ok=0
    for _ in $(seq 1 150); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && psql -h 127.0.0.1 -p "$port" -U postgres -d postgres \
            -qAtc 'SELECT 1' >/dev/null 2>&1; then
            ok=1
            break
        fi
        sleep 0.2
    done
    if [ "$ok" != 1 ]; then
        echo "pg-server: PostgreSQL (PID $pid) did not answer on 127.0.0.1:$port within 30 s:" >&2
        tail -20 "$dir/server.log" >&2 || true
        stop
        exit 1
    fi
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE cairn LOGIN PASSWORD '$password'" -c "CREATE DATABASE cairn OWNER cairn" >/dev/null
    PGPASSWORD=$password psql -h 127.0.0.1 -p "$port" -U cairn -d cairn -qAtc 'SELECT 1' >/dev/null || {
        echo "pg-server: the role cairn cannot query the database cairn" >&2
        stop
        exit 1
    }
    echo "pg-server: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') (PID $pid) on 127.0.0.1:$port" >&2
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) print_env ;;
    status) running ;;
    halt) halt ;;
    resume) resume ;;
    *)
        echo "usage: $0 start|stop|env|status|halt|resume" >&2
        exit 2
        ;;
esac
