# scripts/bench-lib.sh - pieces shared by bench.sh (make bench, and make
# bench-cluster with --cluster), bench-memory.sh, bench-snapshot.sh and
# bench-cache.sh
# (sourced, not run). Callers declare: CLIENTS, and associative arrays RPS,
# P50, P99 keyed "label,server".

# bench_pick_tests: with BENCH_ONLY set (an extended regex), keeps in the
# caller's TESTS array ("LABEL|cmd|pipeline|n" rows) only the tests whose
# label matches, and publishes nothing to docs/bench (BENCH_DOCS=0): a
# partial table is not the project's record.
bench_pick_tests() {
    [ -n "${BENCH_ONLY:-}" ] || return 0
    local t picked=()
    for t in "${TESTS[@]}"; do
        if [[ ${t%%|*} =~ $BENCH_ONLY ]]; then picked+=("$t"); fi
    done
    TESTS=("${picked[@]}")
    export BENCH_DOCS=0
}

# bench_run PORT CMD PIPELINE N: one redis-benchmark run of test CMD (over TLS
# with the arguments in the array BENCH_TLS_ARGS, when set); prints
# "rps p50 p99" (latencies in ms), or "error - -" if it produced no result.
# The last CSV row counts: redis-benchmark's lrange_* tests first print the
# row of the LPUSH run that fills their list ("LPUSH (needed to benchmark
# LRANGE)", -n N elements of -d bytes into "mylist"), then their own.
# CMDs lmove, publish, evalsha, xadd and xreadgroup are not redis-benchmark's
# tests: see bench_lmove, bench_publish, bench_evalsha, bench_xadd and
# bench_xreadgroup.
bench_run() {
    local csv
    case "$2" in
        lmove|publish|evalsha|xadd|xreadgroup|setseq) "bench_$2" "$1" "$3" "$4"; return ;;
    esac
    csv=$(timeout 900 redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -d 100 -r 1000000 \
          -n "$4" -P "$3" -t "$2" --csv ${BENCH_TLS_ARGS[@]+"${BENCH_TLS_ARGS[@]}"} 2>/dev/null |
          tr -d '"' | awk -F, 'NR > 1 && $2 != "" { last = $2 " " $5 " " $7 } END { print last }' || true)
    echo "${csv:-error - -}"
}

# bench_command PORT PIPELINE N ARG...: redis-benchmark running the command
# line ARG... (__rand_int__ drawn from 1M); prints "rps p50 p99" like
# bench_run.
bench_command() {
    local port=$1 pipeline=$2 n=$3 csv
    shift 3
    csv=$(timeout 900 redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -P "$pipeline" \
          -r 1000000 --csv "$@" 2>/dev/null |
          tr -d '"' | awk -F, 'NR > 1 && $2 != "" { last = $2 " " $5 " " $7 } END { print last }' || true)
    echo "${csv:-error - -}"
}

# bench_setseq PORT PIPELINE N: one client's SETs one after the other (-c 1
# -P 1, 100-byte values): each waits for its own durable write, with no
# other write to share an fsync with: the sequential-write latency.
bench_setseq() {
    CLIENTS=1 bench_command "$1" 1 "$3" set 'key:__rand_int__' "$(bench_value)"
}

# bench_value: the 100-byte value of the stream tests.
bench_value() { printf 'v%.0s' $(seq 100); }

# bench_xadd PORT PIPELINE N: XADD {bs}:st * f <100 bytes>, N times into one
# stream (deleted first and after), IDs made by the server.
bench_xadd() {
    timeout 60 redis-cli -h 127.0.0.1 -p "$1" del '{bs}:st' >/dev/null
    bench_command "$1" "$2" "$3" xadd '{bs}:st' '*' f "$(bench_value)"
    timeout 60 redis-cli -h 127.0.0.1 -p "$1" del '{bs}:st' >/dev/null 2>&1 || true
}

# bench_xreadgroup PORT PIPELINE N: a consumer group reading one entry a
# call (XREADGROUP GROUP g c COUNT 1 STREAMS {bs}:st >) from a stream first
# filled with N 100-byte entries (XADD through redis-cli --pipe, not timed)
# and given the group at its start: each call delivers one new entry and
# makes it pending. Prints "rps p50 p99" like bench_run. Needs PY.
bench_xreadgroup() {
    local port=$1 pipeline=$2 n=$3 fill len
    fill=$(mktemp /tmp/raftcache-bench-xrg.XXXXXX)
    "$PY" - "$n" "$fill" <<'PYEOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "wb", buffering=1 << 20) as f:
    for i in range(n):
        f.write(b"*5\r\n$4\r\nXADD\r\n$7\r\n{bs}:st\r\n$1\r\n*\r\n$1\r\nf\r\n$100\r\n%s\r\n"
                % (b"%012d" % i * 9)[:100])
PYEOF
    timeout 60 redis-cli -h 127.0.0.1 -p "$port" del '{bs}:st' >/dev/null
    timeout 600 redis-cli -h 127.0.0.1 -p "$port" --pipe --pipe-timeout 300 <"$fill" >/dev/null 2>&1 || true
    rm -f "$fill"
    len=$(timeout 60 redis-cli -h 127.0.0.1 -p "$port" xlen '{bs}:st' 2>/dev/null || true)
    [ "$len" = "$n" ] || echo "bench: warning: {bs}:st holds ${len:-?} entries, expected $n" >&2
    timeout 60 redis-cli -h 127.0.0.1 -p "$port" xgroup create '{bs}:st' g 0 >/dev/null
    bench_command "$port" "$pipeline" "$n" xreadgroup group g c count 1 streams '{bs}:st' '>'
    timeout 60 redis-cli -h 127.0.0.1 -p "$port" del '{bs}:st' >/dev/null 2>&1 || true
}

# bench_lmove PORT PIPELINE N: the queue hand-off, LMOVE {bq}:src {bq}:dst
# LEFT RIGHT, as a redis-benchmark command line (redis-benchmark 7.0 has no
# lmove or rpoplpush test). Both lists are deleted, then {bq}:src is filled
# with N 100-byte elements (RPUSH of 1000 elements a command, through
# redis-cli --pipe, not timed), so each of the N LMOVEs moves one element.
# Prints "rps p50 p99" like bench_run. Needs PY.
bench_lmove() {
    local port=$1 pipeline=$2 n=$3 fill len
    fill=$(mktemp /tmp/raftcache-bench-lmove.XXXXXX)
    "$PY" - "$n" "$fill" <<'PYEOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "wb", buffering=1 << 20) as f:
    for start in range(0, n, 1000):
        count = min(n, start + 1000) - start
        f.write(b"*%d\r\n$5\r\nRPUSH\r\n$8\r\n{bq}:src\r\n" % (count + 2))
        for i in range(start, start + count):
            f.write(b"$100\r\n%s\r\n" % (b"%012d" % i * 9)[:100])
PYEOF
    timeout 60 redis-cli -h 127.0.0.1 -p "$port" del '{bq}:src' '{bq}:dst' >/dev/null
    timeout 600 redis-cli -h 127.0.0.1 -p "$port" --pipe --pipe-timeout 300 <"$fill" >/dev/null 2>&1 || true
    rm -f "$fill"
    len=$(timeout 60 redis-cli -h 127.0.0.1 -p "$port" llen '{bq}:src' 2>/dev/null || true)
    [ "$len" = "$n" ] || echo "bench: warning: {bq}:src holds ${len:-?} elements, expected $n" >&2
    bench_command "$port" "$pipeline" "$n" lmove '{bq}:src' '{bq}:dst' left right
    timeout 60 redis-cli -h 127.0.0.1 -p "$port" del '{bq}:src' '{bq}:dst' >/dev/null 2>&1 || true
}

# bench_evalsha PORT PIPELINE N: EVALSHA of a small script that writes (an
# INCR of a random key among 1M, the script a rate limiter or a counter
# would be), loaded first with SCRIPT LOAD. Prints "rps p50 p99" like
# bench_run.
BENCH_SCRIPT="return redis.call('incr', KEYS[1])"
bench_evalsha() {
    local port=$1 pipeline=$2 n=$3 sha
    sha=$(timeout 60 redis-cli -h 127.0.0.1 -p "$port" script load "$BENCH_SCRIPT" 2>/dev/null || true)
    if [ ${#sha} -ne 40 ]; then
        echo "error - -"
        return
    fi
    bench_command "$port" "$pipeline" "$n" evalsha "$sha" 1 '{bench}:counter:__rand_int__'
}

# bench_publish PORT PIPELINE N: PUBLISH of a 100-byte message to a channel
# that BENCH_SUBSCRIBERS (default 5) redis-cli subscribers read (their output
# goes to /dev/null), so each PUBLISH delivers that many messages. Prints
# "rps p50 p99" like bench_run, or "error - -" when a subscriber was lost
# (cut for its output buffer: the figure would not be the same work).
bench_publish() {
    local port=$1 pipeline=$2 n=$3 subs=${BENCH_SUBSCRIBERS:-5} pids=() i csv numsub
    for ((i = 0; i < subs; i++)); do
        timeout 900 redis-cli -h 127.0.0.1 -p "$port" subscribe '{bench}:ch' >/dev/null 2>&1 &
        pids+=($!)
    done
    for _ in $(seq 100); do
        numsub=$(timeout 10 redis-cli -h 127.0.0.1 -p "$port" pubsub numsub '{bench}:ch' | tail -1)
        [ "$numsub" = "$subs" ] && break
        sleep 0.1
    done
    csv=$(bench_command "$port" "$pipeline" "$n" publish '{bench}:ch' "$(printf 'm%.0s' $(seq 100))")
    numsub=$(timeout 10 redis-cli -h 127.0.0.1 -p "$port" pubsub numsub '{bench}:ch' | tail -1)
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    if [ "$numsub" != "$subs" ]; then
        echo "bench: warning: $((subs - ${numsub:-0})) subscriber(s) lost during PUBLISH" >&2
        csv=
    fi
    echo "${csv:-error - -}"
}

# bench_keep_best LABEL SERVER RPS P50 P99: remembers the round with the best rps.
bench_keep_best() {
    local best=${RPS[$1,$2]:-0}
    if [ "$3" != error ] && awk -v a="$3" -v b="$best" 'BEGIN { exit !(a > b) }'; then
        RPS[$1,$2]=$3; P50[$1,$2]=$4; P99[$1,$2]=$5
    fi
}

# CPU per request, next to the rates: the rates of servers sharing a small
# machine with redis-benchmark move with the neighbours, the CPU a request
# costs much less. CPU_T[LABEL,SERVER] and CPU_N[LABEL,SERVER] (associative
# arrays of the caller) add up clock ticks and requests over the rounds.
CLK_TCK=$(getconf CLK_TCK)

# bench_cpu_ticks PID...: user + system clock ticks of the processes so far,
# with the children they reaped (a snapshot or an AOF rewrite child); a
# process gone counts 0.
bench_cpu_ticks() {
    local p v t=0
    for p in "$@"; do
        v=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || true)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# bench_cpu_counts CMD: whether a test's CPU is its requests' alone: not for
# the tests whose call also fills the data they read (redis-benchmark's
# LRANGE tests push their list first; bench_lmove and bench_xreadgroup
# prefill theirs).
bench_cpu_counts() {
    case $1 in lrange*|lmove|xreadgroup) return 1 ;; esac
}

# bench_cpu_add KEY TICKS N: one run's ticks and requests, under KEY
# ("LABEL,SERVER").
bench_cpu_add() {
    CPU_T[$1]=$(( ${CPU_T[$1]:-0} + $2 ))
    CPU_N[$1]=$(( ${CPU_N[$1]:-0} + $3 ))
}

# bench_cpu_us KEY: microseconds of CPU per request over the runs added, or -.
bench_cpu_us() {
    awk -v t="${CPU_T[$1]:-0}" -v n="${CPU_N[$1]:-0}" -v hz="$CLK_TCK" \
        'BEGIN { if (n == 0 || t == 0) print "-"; else printf "%.2f\n", t * 1e6 / hz / n }'
}

# bench_cpu_ratio KEY_A KEY_B: bench_cpu_us of A over that of B, or -.
bench_cpu_ratio() {
    awk -v a="$(bench_cpu_us "$1")" -v b="$(bench_cpu_us "$2")" \
        'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'
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
# bench_settle NAME: waits (at most 300 s) until NAME has no snapshot in
# progress, so that a snapshot a load triggered is not charged to the test
# that follows it (those the tests trigger themselves still count). Returns
# at once for a server without RAFT.INFO.
bench_settle() {
    local i
    for i in $(seq 600); do
        cli "$1" raft.info 2>/dev/null | grep -q '^snapshot_in_progress:yes' || return 0
        sleep 0.5
    done
    echo "bench: warning: $1 still snapshotting after 300 s" >&2
}
vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/${PID[$1]}/status"; }
mb() { awk -v b="$1" 'BEGIN { if (b == "") print "n/a"; else printf "%.1f", b / 1048576 }'; }


# bench_cli_port PORT ARGS...: redis-cli against 127.0.0.1:PORT (60 s timeout).
bench_cli_port() { local port=$1; shift; timeout 60 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# bench_raft_field PORT FIELD: one RAFT.INFO field of the node on PORT (empty
# when it does not answer).
bench_raft_field() {
    bench_cli_port "$1" raft.info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p" || true
}

# bench_start_cluster PREFIX NODES ARG...: starts NODES raftcache nodes
# (RAFTCACHE_BIN with --port, --node-id, --dir and --cluster-members, then
# the ARGs) on distinct free ports, named PREFIX1..PREFIXn in PID and PORTOF
# (like start), data in $WORK/PREFIXi, log in $WORK/PREFIXi.log, each in its
# own process group. Waits (30 s deadline) until exactly one node says
# role:leader, every node names it as leader_id, and it accepts a write.
# Sets CLUSTER_PORTS (in node order), LEADER_ID and LEADER_PORT. Exits 1 with
# the nodes' last log lines when a node dies or the deadline passes.
bench_start_cluster() {
    local prefix=$1 nodes=$2 members="" i p reply="" deadline=$((SECONDS + 30))
    shift 2
    CLUSTER_PORTS=()
    while [ ${#CLUSTER_PORTS[@]} -lt "$nodes" ]; do
        p=$(bench_free_port)
        case " ${CLUSTER_PORTS[*]-} " in *" $p "*) ;; *) CLUSTER_PORTS+=("$p") ;; esac
    done
    for i in "${!CLUSTER_PORTS[@]}"; do members="$members $((i + 1))=127.0.0.1:${CLUSTER_PORTS[$i]}"; done
    for i in "${!CLUSTER_PORTS[@]}"; do
        mkdir -p "$WORK/$prefix$((i + 1))"
        setsid "$RAFTCACHE_BIN" --port "${CLUSTER_PORTS[$i]}" --node-id $((i + 1)) \
            --dir "$WORK/$prefix$((i + 1))" --cluster-members "${members# }" "$@" \
            </dev/null >"$WORK/$prefix$((i + 1)).log" 2>&1 &
        PID[$prefix$((i + 1))]=$!; PORTOF[$prefix$((i + 1))]=${CLUSTER_PORTS[$i]}
    done
    LEADER_ID="" LEADER_PORT=""
    until [ "$reply" = OK ]; do
        for i in "${!CLUSTER_PORTS[@]}"; do
            kill -0 "${PID[$prefix$((i + 1))]}" 2>/dev/null && [ $SECONDS -lt $deadline ] && continue
            echo "bench: cluster not up (no leader accepting writes within 30 s, or a node exited)" >&2
            for p in "${!CLUSTER_PORTS[@]}"; do tail -5 "$WORK/$prefix$((p + 1)).log" >&2; done
            exit 1
        done
        sleep 0.1
        [ -n "$LEADER_PORT" ] || bench_cluster_leader || continue
        reply=$(bench_cli_port "$LEADER_PORT" set bench:probe 1 2>&1 || true)
    done
    bench_cli_port "$LEADER_PORT" del bench:probe >/dev/null
}

# bench_cluster_leader: when exactly one node of CLUSTER_PORTS says
# role:leader and every node names it as leader_id, sets LEADER_ID and
# LEADER_PORT to it and returns 0; returns 1 otherwise.
bench_cluster_leader() {
    local i info ids=""
    local -a leaders=()
    for i in "${!CLUSTER_PORTS[@]}"; do
        info=$(bench_cli_port "${CLUSTER_PORTS[$i]}" raft.info 2>/dev/null | tr -d '\r' || true)
        [ "$(sed -n 's/^role://p' <<<"$info")" = leader ] && leaders+=($((i + 1)))
        ids="$ids $(sed -n 's/^leader_id://p' <<<"$info")"
    done
    [ ${#leaders[@]} -eq 1 ] || return 1
    [ "$(echo "$ids" | tr ' ' '\n' | sed '/^$/d' | sort -u)" = "${leaders[0]}" ] || return 1
    LEADER_ID=${leaders[0]} LEADER_PORT=${CLUSTER_PORTS[$((leaders[0] - 1))]}
}

# bench_wait_applied TIMEOUT LEADER_PORT PORT...: waits until the node on
# every PORT has applied the leader's commit index (RAFT.INFO
# last_applied_index equal to the leader's commit_index, read again after
# the check so that an index that moved meanwhile is waited for too). Prints
# the index; returns 1 (printing each node's index) after TIMEOUT seconds.
bench_wait_applied() {
    local timeout=$1 leader=$2 deadline commit again p applied all
    shift 2
    deadline=$((SECONDS + timeout))
    while :; do
        commit=$(bench_raft_field "$leader" commit_index) all=""
        for p in "$@"; do
            applied=$(bench_raft_field "$p" last_applied_index)
            all="$all $p:${applied:-?}"
            [ -n "$commit" ] && [ "$applied" = "$commit" ] || commit=""
        done
        again=$(bench_raft_field "$leader" commit_index)
        if [ -n "$commit" ] && [ "$again" = "$commit" ]; then
            echo "$commit"
            return 0
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "not applied everywhere after $timeout s: leader commit_index ${again:-?}," \
                 "last_applied_index of port:index$all"
            return 1
        fi
        sleep 0.2
    done
}

# bench_compare_digests PORT...: DEBUG DIGEST of the server on every PORT,
# each on a connection that sent READONLY first (a raftcache follower then
# answers locally; a server outside cluster mode refuses READONLY, which
# changes nothing). Prints "identical" or "DIFFERENT" with the digests, and
# returns 0 (identical), 1 (different) or 2 (a server gave no digest: its
# answer is printed; DEBUG needs enable-debug-command yes or local).
bench_compare_digests() {
    local p out d first="" status=0 lines=""
    for p in "$@"; do
        out=$(printf 'READONLY\nDEBUG DIGEST\n' | timeout 60 redis-cli -h 127.0.0.1 -p "$p" 2>&1 || true)
        d=$(printf '%s\n' "$out" | sed '/^$/d' | tail -1)
        if ! [[ $d =~ ^[0-9a-f]{40}$ ]]; then
            echo "digests: NOT COMPARED: port $p answered DEBUG DIGEST with: ${d:-nothing}"
            return 2
        fi
        lines="$lines  port $p: $d"$'\n'
        [ -z "$first" ] && first=$d
        [ "$d" = "$first" ] || status=1
    done
    if [ $status = 0 ]; then
        echo "digests: identical on $# servers ($first)"
    else
        echo "digests: DIFFERENT"
        printf '%s' "$lines"
    fi
    return $status
}

# bench_raftcache_refuses ARG...: whether RAFTCACHE_BIN refuses the
# command-line directives ARG... (--name value ...). It is run with them and
# an invalid loglevel after them, so it exits before opening any socket:
# when its complaint is about that loglevel, everything before was accepted
# (returns 1, prints nothing); otherwise prints the refused directive and
# the reason on one line and returns 0.
bench_raftcache_refuses() {
    local out
    out=$("$RAFTCACHE_BIN" "$@" --loglevel bench-probe-invalid 2>&1 || true)
    grep -q "^>>> 'loglevel bench-probe-invalid'" <<<"$out" && return 1
    echo "$(sed -n "s/^>>> //p" <<<"$out" | head -1): $(tail -1 <<<"$out")"
}

# bench_machine: one line naming this machine (CPU model, cores, memory,
# OS), for the tables and plots the benchmarks publish under docs/bench/.
bench_machine() {
    local cpu mem os
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
    os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-Linux}")
    echo "${cpu:-unknown CPU}, $(nproc) cores, $mem, $os"
}

# bench_docs NAME KIND TITLE TABLE DATA: publishes a benchmark's results under
# docs/bench/ (BENCH_DOCS=0 turns it off): NAME.txt is TABLE (the printed
# table) under a line naming the machine, NAME.png a gnuplot chart of DATA,
# a tab-separated file with one row per test. KIND throughput: columns
# label, redis rps, raftcache rps, redis p50, raftcache p50, redis p99,
# raftcache p99 (ms); the chart has rps on top and latencies below. KIND
# memory: columns dataset, redis used MB, raftcache used MB, redis RSS MB,
# raftcache RSS MB, raftcache used MB after compaction. KIND cache: columns
# label, redis hit ratio %, raftcache hit ratio %, redis ops/s, raftcache
# ops/s; the chart has the hit ratios on top and the throughput below. A
# figure that is not a number plots as a gap.
# Without gnuplot (make deps installs gnuplot-nox) only the table is written.
bench_docs() {
    local name=$1 kind=$2 title=$3 table=$4 data=$5 dir=${BENCH_DOCS_DIR:-$ROOT/docs/bench}
    [ "${BENCH_DOCS:-1}" = 0 ] && return 0
    mkdir -p "$dir"
    { echo "measured on: $(bench_machine)"; cat "$table"; } >"$dir/$name.txt"
    if ! command -v gnuplot >/dev/null; then
        echo "bench: gnuplot missing (make deps): $dir/$name.png not drawn" >&2
        return 0
    fi
    local gp=$WORK/plot.gp
    {
        echo "set terminal pngcairo size 1200,$([ "$kind" = memory ] && echo 520 || echo 900) font 'sans,10'"
        echo "set output '$dir/$name.png'"
        echo "set datafile separator '\t'; set datafile missing 'n/a'"
        echo "set termoption noenhanced; set style data histograms; set style histogram clustered gap 1"
        echo "set style fill solid 0.85 border -1; set boxwidth 0.9; set grid ytics"
        echo "set key top left opaque; set xtics rotate by -35 left nomirror; set yrange [0:*]"
        if [ "$kind" = memory ]; then
            echo "set title \"$title\\n$(bench_machine)\""
            echo "set ylabel 'MB over the empty server'"
            echo "plot '$data' using 2:xtic(1) title 'redis used_memory' lc rgb '#c0392b', \\"
            echo "     '' using 3 title 'raftcache used_memory' lc rgb '#2471a3', \\"
            echo "     '' using 4 title 'redis RSS' lc rgb '#e6a19a', \\"
            echo "     '' using 5 title 'raftcache RSS' lc rgb '#9cc3e6', \\"
            echo "     '' using 6 title 'raftcache used_memory, log compacted' lc rgb '#1b4f72'"
        elif [ "$kind" = cache ]; then
            echo "set multiplot layout 2,1 title \"$title\\n$(bench_machine)\""
            echo "set ylabel 'hit ratio % (higher is better)'; set yrange [0:100]"
            echo "plot '$data' using 2:xtic(1) title 'redis-server' lc rgb '#c0392b', \\"
            echo "     '' using 3 title 'raftcache' lc rgb '#2471a3'"
            echo "set ylabel 'thousand GET+SET/s (higher is better)'; set yrange [0:*]"
            echo "plot '$data' using (\$4/1000):xtic(1) title 'redis-server' lc rgb '#c0392b', \\"
            echo "     '' using (\$5/1000) title 'raftcache' lc rgb '#2471a3'"
            echo "unset multiplot"
        else
            echo "set multiplot layout 2,1 title \"$title\\n$(bench_machine)\""
            echo "set ylabel 'thousand requests/s (higher is better)'"
            echo "plot '$data' using (\$2/1000):xtic(1) title 'redis-server' lc rgb '#c0392b', \\"
            echo "     '' using (\$3/1000) title 'raftcache' lc rgb '#2471a3'"
            echo "set ylabel 'latency ms (lower is better)'; set logscale y; set yrange [*:*]"
            echo "plot '$data' using 4:xtic(1) title 'redis p50' lc rgb '#c0392b', \\"
            echo "     '' using 5 title 'raftcache p50' lc rgb '#2471a3', \\"
            echo "     '' using 6 title 'redis p99' lc rgb '#e6a19a', \\"
            echo "     '' using 7 title 'raftcache p99' lc rgb '#9cc3e6'"
            echo "unset multiplot"
        fi
    } >"$gp"
    if gnuplot "$gp" 2>"$WORK/gnuplot.err"; then
        echo "bench: wrote $dir/$name.txt and $dir/$name.png"
    else
        echo "bench: gnuplot failed:" >&2
        cat "$WORK/gnuplot.err" >&2
    fi
}

# bench_throughput_rows: the DATA rows of bench_docs's throughput kind for
# the caller's TESTS ("label|..." entries), RPS, P50 and P99.
bench_throughput_rows() {
    local t label s
    for t in "${TESTS[@]}"; do
        label=${t%%|*}
        printf '%s' "$label"
        for s in RPS P50 P99; do
            local -n fig=$s
            printf '\t%s\t%s' "${fig[$label,redis]:-n/a}" "${fig[$label,raftcache]:-n/a}"
        done
        printf '\n'
    done
}
