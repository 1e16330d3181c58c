# scripts/bench-lib.sh - pieces shared by bench.sh, bench-cluster.sh and
# bench-snapshot.sh
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

# bench_need NAME TOOL...: exits (1) naming the first TOOL not on PATH.
bench_need() {
    local name=$1 tool; shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$name: $tool missing (make deps)" >&2; exit 1; }
    done
}

# bench_write_load N PATH: N SETs of 16-byte keys key:%012d (the names
# redis-benchmark -r uses) and 100-byte values, as RESP for redis-cli --pipe
# (needs PY).
bench_write_load() {
    "$PY" - "$1" "$2" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "wb", buffering=1 << 20) as f:
    for i in range(n):
        key = b"key:%012d" % i                  # 16 bytes
        val = (b"%012d" % i * 9)[:100]            # 100 bytes
        f.write(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$100\r\n%s\r\n" % (key, val))
EOF
}

# Server helpers for scripts that declare WORK (a temp dir) and the
# associative arrays PID and PORTOF (name -> pid, port); "bench" in messages.
# cli NAME ARGS...: redis-cli against server NAME (60 s timeout).
cli() { local name=$1; shift; timeout 60 redis-cli -h 127.0.0.1 -p "${PORTOF[$name]}" "$@"; }

# start NAME COMMAND: runs COMMAND (PORT and DIR exported: a free port, and
# $WORK/NAME) in its own process group, recording PID[NAME] and
# PORTOF[NAME]; waits (30 s deadline) until the server accepts a write.
start() {
    local name=$1 cmd=$2 deadline reply=""
    PORT=$(bench_free_port); DIR=$WORK/$name; mkdir -p "$DIR"; export PORT DIR
    setsid bash -c "exec $cmd" </dev/null >"$WORK/$name.log" 2>&1 &
    PID[$name]=$!; PORTOF[$name]=$PORT
    deadline=$((SECONDS + 30))
    until [ "$reply" = OK ]; do
        if ! kill -0 "${PID[$name]}" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "bench: $name did not start (last reply: $reply)" >&2
            tail -20 "$WORK/$name.log" >&2
            exit 1
        fi
        sleep 0.1
        reply=$(cli "$name" set bench:probe 1 2>&1 || true)
    done
    cli "$name" del bench:probe >/dev/null
    echo "bench: $name pid ${PID[$name]} port $PORT"
}

info_field() { cli "$1" info memory | tr -d '\r' | sed -n "s/^$2://p"; }
vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/${PID[$1]}/status"; }
mb() { awk -v b="$1" 'BEGIN { if (b == "") print "n/a"; else printf "%.1f", b / 1048576 }'; }

