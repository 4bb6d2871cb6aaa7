# Shared by scripts/s3-server.sh and scripts/pg-server.sh (sourced, not run).

# stop_by_pid NAME PID: SIGTERM, wait up to 10 s for the exit, then SIGKILL and wait again. Says on stderr when it
# had to kill.
stop_by_pid() {
    local name=$1 pid=$2
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_for_exit "$pid" && return 0
    echo "$name: PID $pid still running 10 s after SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_for_exit "$pid" || true
}

# wait_for_exit PID: returns 0 once PID is gone, 1 if it is still there after 10 s.
wait_for_exit() {
    for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    return 1
}
