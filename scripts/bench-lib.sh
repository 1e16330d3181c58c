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
