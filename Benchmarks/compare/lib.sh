# Helpers shared by the same-run comparison scripts (sourced, not run).

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Field $1 of the JSON object on stdin.
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

# use_pg_server: starts a throwaway PostgreSQL (scripts/pg-server.sh) unless one is running, and then sets started=1
# for the caller's cleanup to stop it; exports its variables and sets PORT and PSQL (psql as the test role, unaligned
# output, stopping at the first error).
use_pg_server() {
    if ! bash scripts/pg-server.sh status; then
        bash scripts/pg-server.sh start
        started=1
    fi
    eval "$(bash scripts/pg-server.sh env)"
    PORT=${CAIRN_PG_URL##*:}
    PORT=${PORT%%/*}
    PSQL=(psql -h 127.0.0.1 -p "$PORT" -U cairn -d cairn -qAt -v ON_ERROR_STOP=1)
}
