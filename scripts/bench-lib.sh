# scripts/bench-lib.sh - pieces shared by bench.sh and bench-cluster.sh
# (sourced, not run). Callers declare: CLIENTS, and associative arrays RPS,
# P50, P99 keyed "label,server".

# bench_run PORT CMD PIPELINE N: one redis-benchmark run of test CMD; prints
# "rps p50 p99" (latencies in ms), or "error - -" if it produced no result.
bench_run() {
    local csv
    csv=$(timeout 900 redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -d 100 -r 1000000 \
          -n "$4" -P "$3" -t "$2" --csv 2>/dev/null |
          tr -d '"' | awk -F, 'NR > 1 && $2 != "" { print $2, $5, $7; exit }' || true)
    echo "${csv:-error - -}"
}

# bench_keep_best LABEL SERVER RPS P50 P99: remembers the round with the best rps.
bench_keep_best() {
    local best=${RPS[$1,$2]:-0}
    if [ "$3" != error ] && awk -v a="$3" -v b="$best" 'BEGIN { exit !(a > b) }'; then
        RPS[$1,$2]=$3; P50[$1,$2]=$4; P99[$1,$2]=$5
    fi
}

# bench_free_port: a free TCP port on loopback (needs PY, a python3 binary).
bench_free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_stop_groups PID...: SIGTERM each process group, wait up to 10 s for
# each leader, then SIGKILL what is left.
bench_stop_groups() {
    local pid
    for pid in "$@"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
}
