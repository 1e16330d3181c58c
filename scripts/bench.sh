#!/usr/bin/env bash
# scripts/bench.sh [--cluster|--tls] - raftcache next to redis-server 7.0 on the
# same machine: make bench runs it as it is, make bench-cluster with
# --cluster, make bench-tls with --tls.
#
# Single node (no argument): starts redis-server (no persistence) and
# raftcache (a single node, its Raft log written without fsync: raft-log-fsync
# no, the same durability class as redis without persistence) on free ports in
# temp dirs, then:
#   1. memory: FLUSHALL, used_memory, load exactly 1,000,000 keys (16-byte
#      names key:%012d, 100-byte values) with redis-cli --pipe, used_memory
#      again; reports the delta, the RSS, and the raftcache/redis ratio;
#   2. throughput (below), with PUBLISH to 5 subscribers (bench_publish),
#      EVALSHA of a small writing script (bench_evalsha), and the streams'
#      XADD (bench_xadd) and XREADGROUP of one new entry a call by a consumer
#      group (bench_xreadgroup, from a prefilled stream) at -P 16 besides.
#
# --cluster: the durable setups side by side. Starts, on loopback, in temp dirs
# and on free ports:
#   - redis-server --appendonly yes --appendfsync always --save "" (every write
#     is in the fsynced AOF before it is answered), and
#   - a 3-node raftcache cluster with a raft-secret and default settings (a
#     write is answered once a majority has fsynced it in its Raft log),
# then runs the throughput tests against redis and against the raftcache
# leader. Beside each list row, the "SET ratio" column repeats the SET P16
# ratio, which the list rows are measured against. Group commit evidence: the
# leader's RAFT.INFO fsync_count is read before and after every SET run; the
# table shows fsyncs per SET (all rounds). Leadership is checked after every
# raftcache run: if it moved (nothing here injects a fault, so that is worth a
# look), the run says so, the table counts it, and the next runs go to the new
# leader. The nodes' logs are kept in build/bench-cluster-logs/.
#
# --tls: the single node's setup, both servers with a tls-port (certificates of
# scripts/gen-test-certs.sh, tls-auth-clients yes, TLS 1.3 as negotiated), and
# the throughput tests that are redis-benchmark's own (no memory step) run
# over TLS with a client certificate: what TLS costs each server.
#
# Throughput, all modes: redis-benchmark, 50 clients, 100-byte values, keys
# drawn from 1M (-r 1000000, which names keys key:%012d as well, so a single
# node's GETs hit the keys loaded in step 1): SET and GET at -P 1 and -P 16,
# MSET, and the data types' HSET, SADD, SPOP, ZADD and ZPOPMIN at -P 16, and
# the lists' LPUSH, RPUSH, LPOP, RPOP, LRANGE_100, LRANGE_600 (redis-benchmark's
# tests; 100-byte elements) and LMOVE (a prefilled list moved element by
# element into another, see bench_lmove in scripts/bench-lib.sh) at -P 16.
# Each test runs on redis then on raftcache, alternating, BENCH_ROUNDS times
# (default 3: the machines are shared and noisy, and a round a neighbour
# slowed is dropped); the table shows the round with the best rps for each
# server, with that round's p50/p99 latency, and the raftcache/redis ratio. A
# second table gives each test's CPU per request (user + system time over all
# rounds, bench_cpu_ticks in scripts/bench-lib.sh), steadier than the rates on
# a shared machine: of redis-server and raftcache's process; in a cluster, of
# its nodes together and of the leader alone.
#
# It measures and prints; it never fails on a number. The table is written to
# build/bench.txt (build/bench-cluster.txt) as well, and with a chart to
# docs/bench/bench.{txt,png} (docs/bench/bench-cluster.{txt,png})
# (bench_docs in scripts/bench-lib.sh; BENCH_DOCS=0: not).
#
# Environment: RAFTCACHE_BIN (default build/raftcache), BENCH_ROUNDS,
# BENCH_N_P1 (requests for -P 1 tests, default 200000), BENCH_N_P16 (default
# 1000000), BENCH_N_MSET (default 100000), BENCH_N_SEQ (--cluster's SET c1 row:
# one client's sequential SETs, default 20000), BENCH_N_LRANGE (LRANGE_100
# requests, default 100000), BENCH_N_LRANGE600 (default BENCH_N_LRANGE / 5),
# BENCH_CLIENTS (default 50), BENCH_ONLY (an extended regex: only the tests
# whose label matches run, e.g. 'XADD|XREAD'; the table is then not published
# to docs/bench). Single node only: BENCH_RAFTCACHE_CMD (shell command started
# with PORT and DIR exported; default "$RAFTCACHE_BIN" --port "$PORT" --dir
# "$DIR" --raft-log-fsync no), BENCH_KEYS (keys loaded, default 1000000).
# --cluster only: BENCH_NODES (cluster size, default 3).
set -euo pipefail

case ${1:-} in
    "") CLUSTER=0 TLS=0 TARGET=bench ;;
    --cluster) CLUSTER=1 TLS=0 TARGET=bench-cluster ;;
    --tls) CLUSTER=0 TLS=1 TARGET=bench-tls ;;
    *) echo "usage: scripts/bench.sh [--cluster|--tls]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$ROOT/build/raftcache}
ROUNDS=${BENCH_ROUNDS:-3}
N_P1=${BENCH_N_P1:-200000}
N_P16=${BENCH_N_P16:-1000000}
N_MSET=${BENCH_N_MSET:-100000}
N_SEQ=${BENCH_N_SEQ:-20000}
N_LRANGE=${BENCH_N_LRANGE:-100000}
N_LRANGE600=${BENCH_N_LRANGE600:-$((N_LRANGE / 5))}
CLIENTS=${BENCH_CLIENTS:-50}
OUT=$ROOT/build/$TARGET.txt
PY=/usr/bin/python3
if [ $CLUSTER = 1 ]; then
    NODES=${BENCH_NODES:-3}
    SECRET=bench-cluster-secret
else
    RAFTCACHE_CMD=${BENCH_RAFTCACHE_CMD:-'"$RAFTCACHE_BIN" --port "$PORT" --dir "$DIR" --raft-log-fsync no'}
    REDIS_CMD='redis-server --port "$PORT" --dir "$DIR" --save "" --appendonly no --bind 127.0.0.1'
    KEYS=${BENCH_KEYS:-1000000}
fi

bench_need "$TARGET" redis-server redis-cli redis-benchmark
[ -x "$RAFTCACHE_BIN" ] || { [ $CLUSTER = 0 ] && [ -n "${BENCH_RAFTCACHE_CMD:-}" ]; } ||
    { echo "$TARGET: $RAFTCACHE_BIN not built (run make)" >&2; exit 1; }

WORK=$(mktemp -d "/tmp/raftcache-$TARGET.XXXXXX")
declare -A PID PORTOF   # every server we started; each leads its own process group
cleanup() {
    bench_stop_groups "${PID[@]+"${PID[@]}"}"
    if [ $CLUSTER = 1 ]; then
        # the nodes' logs, for a post-mortem of anything the run reported
        rm -rf "$ROOT/build/bench-cluster-logs"
        mkdir -p "$ROOT/build/bench-cluster-logs"
        cp "$WORK"/node*.log "$ROOT/build/bench-cluster-logs/" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- servers
SERVERS=(redis raftcache)
if [ $CLUSTER = 1 ]; then
    start redis 'redis-server --port "$PORT" --bind 127.0.0.1 --dir "$DIR" --appendonly yes --appendfsync always --save ""'
    bench_start_cluster node "$NODES" --raft-secret "$SECRET"
    NODE_PIDS=()
    for ((i = 1; i <= NODES; i++)); do NODE_PIDS+=("${PID[node$i]}"); done
    echo "$TARGET: raftcache $NODES nodes on ports ${CLUSTER_PORTS[*]}; leader node $LEADER_ID port $LEADER_PORT"
    PORTOF[raftcache]=$LEADER_PORT
elif [ $TLS = 1 ]; then
    CERTS=$WORK/certs
    "$ROOT/scripts/gen-test-certs.sh" "$CERTS" >/dev/null
    TLS_OPTS=' --tls-port "$TLSPORT" --tls-cert-file "'$CERTS'/server.crt" --tls-key-file "'$CERTS'/server.key" --tls-ca-cert-file "'$CERTS'/ca.crt"'
    BENCH_TLS_ARGS=(--tls --cacert "$CERTS/ca.crt" --cert "$CERTS/client.crt" --key "$CERTS/client.key")
    declare -A TLSPORTOF
    for s in redis raftcache; do
        TLSPORT=$(bench_free_port); export TLSPORT
        if [ $s = redis ]; then start redis "$REDIS_CMD$TLS_OPTS"; else start raftcache "$RAFTCACHE_CMD$TLS_OPTS"; fi
        TLSPORTOF[$s]=$TLSPORT
    done
else
    start redis "$REDIS_CMD"
    start raftcache "$RAFTCACHE_CMD"
fi

# ---------------------------------------------------------------- memory (single node)
if [ $CLUSTER = 0 ] && [ $TLS = 0 ]; then
    LOAD=$WORK/load.resp
    bench_write_load "$KEYS" "$LOAD"
    declare -A MEM_DELTA RSS_DELTA RSS_AFTER LOAD_S LOAD_ERR
    for s in "${SERVERS[@]}"; do
        cli "$s" flushall >/dev/null
        before=$(info_field "$s" used_memory)
        rss_before=$(info_field "$s" used_memory_rss); rss_before=${rss_before:-$(( $(vm_rss_kb "$s") * 1024 ))}
        t0=$(date +%s.%N)
        piped=$(timeout 1800 redis-cli -h 127.0.0.1 -p "${PORTOF[$s]}" --pipe --pipe-timeout 300 <"$LOAD" 2>&1 || true)
        t1=$(date +%s.%N)
        LOAD_S[$s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
        LOAD_ERR[$s]=$(echo "$piped" | sed -n 's/^errors: \([0-9]*\), replies: .*/\1/p')
        keys=$(cli "$s" dbsize)
        after=$(info_field "$s" used_memory)
        rss_after=$(info_field "$s" used_memory_rss); rss_after=${rss_after:-$(( $(vm_rss_kb "$s") * 1024 ))}
        MEM_DELTA[$s]=$(( ${after:-0} - ${before:-0} ))
        RSS_DELTA[$s]=$(( rss_after - rss_before ))
        RSS_AFTER[$s]=$rss_after
        echo "$TARGET: $s loaded $keys keys in ${LOAD_S[$s]}s (errors: ${LOAD_ERR[$s]:-?})"
        [ "$keys" = "$KEYS" ] || echo "$TARGET: warning: $s holds $keys keys, expected $KEYS"
    done
    rm -f "$LOAD"
    for s in "${SERVERS[@]}"; do bench_settle "$s"; done
fi

# ---------------------------------------------------------------- throughput
TESTS=("SET P1|set|1|$N_P1" "GET P1|get|1|$N_P1" "SET P16|set|16|$N_P16"
       "GET P16|get|16|$N_P16" "MSET P1|mset|1|$N_MSET"
       # the data types (redis-benchmark's own tests; SADD before SPOP and
       # ZADD before ZPOPMIN: those pop what the others added)
       "HSET P16|hset|16|$N_P16" "SADD P16|sadd|16|$N_P16" "SPOP P16|spop|16|$N_P16"
       "ZADD P16|zadd|16|$N_P16" "ZPOPMIN P16|zpopmin|16|$N_P16"
       # lists: LPUSH and RPUSH fill "mylist", LPOP and RPOP empty it again;
       # each LRANGE test first LPUSHes its N elements (untimed row), then
       # reads the first 100 or 600; LMOVE is bench_lmove's queue hand-off
       "LPUSH P16|lpush|16|$N_P16" "RPUSH P16|rpush|16|$N_P16" "LPOP P16|lpop|16|$N_P16"
       "RPOP P16|rpop|16|$N_P16" "LRANGE_100 P16|lrange_100|16|$N_LRANGE"
       "LRANGE_600 P16|lrange_600|16|$N_LRANGE600" "LMOVE P16|lmove|16|$N_P16")
if [ $CLUSTER = 1 ]; then
    # one client's sequential durable SETs (bench_setseq): the write's latency
    TESTS=("SET c1|setseq|1|$N_SEQ" "${TESTS[@]}")
fi
if [ $TLS = 1 ]; then # redis-benchmark's own tests: they take its --tls
    TESTS=("SET P1|set|1|$N_P1" "GET P1|get|1|$N_P1" "SET P16|set|16|$N_P16"
           "GET P16|get|16|$N_P16" "MSET P1|mset|1|$N_MSET" "HSET P16|hset|16|$N_P16"
           "LPUSH P16|lpush|16|$N_P16" "LRANGE_100 P16|lrange_100|16|$N_LRANGE")
elif [ $CLUSTER = 0 ]; then
    # pub/sub: bench_publish's 5 subscribers read every message
    TESTS+=("PUBLISH P16|publish|16|$N_P1"
            # scripting: bench_evalsha's INCR script, through the log like any write
            "EVALSHA P16|evalsha|16|$N_P16"
            # streams: XADD into one stream; XREADGROUP delivering one entry a call
            "XADD P16|xadd|16|$N_P16" "XREADGROUP P16|xreadgroup|16|$N_P16")
fi
bench_pick_tests
declare -A RPS P50 P99 FSYNCS SETS CPU_T CPU_N
MOVES=()   # "round N LABEL: node A -> node B", one per leadership change seen

# follow_leader LABEL: after a raftcache run on a cluster, checks that node
# LEADER_ID still leads; if not, records the move and waits (60 s) for the
# new leader.
follow_leader() {
    local was=$LEADER_ID deadline=$((SECONDS + 60))
    [ "$(bench_raft_field "$LEADER_PORT" role)" = leader ] && return
    until bench_cluster_leader && [ "$(bench_cli_port "$LEADER_PORT" set bench:probe 1 2>&1)" = OK ]; do
        [ $SECONDS -lt $deadline ] || { echo "$TARGET: no leader after $1 for 60 s" >&2; exit 1; }
        sleep 0.2
    done
    MOVES+=("round $round $1: node $was -> node $LEADER_ID")
    echo "$TARGET: warning: leadership moved during round $round $1 (node $was -> node $LEADER_ID; logs in build/bench-cluster-logs/)"
    PORTOF[raftcache]=$LEADER_PORT
}
for ((round = 1; round <= ROUNDS; round++)); do
    for t in "${TESTS[@]}"; do
        IFS='|' read -r label cmd pipeline n <<<"$t"
        for s in "${SERVERS[@]}"; do
            # a cluster's raftcache: its nodes' CPU, and its leader's alone
            on_cluster=0
            [ $CLUSTER = 1 ] && [ "$s" = raftcache ] && on_cluster=1
            if [ $on_cluster = 1 ]; then
                pids=("${NODE_PIDS[@]}") lead=${PID[node$LEADER_ID]}
                f0=$(bench_raft_field "$LEADER_PORT" fsync_count)
            else
                pids=("${PID[$s]}") lead=${PID[$s]}
            fi
            c0=$(bench_cpu_ticks "${pids[@]}") l0=$(bench_cpu_ticks "$lead")
            port=${PORTOF[$s]}
            [ $TLS = 1 ] && port=${TLSPORTOF[$s]}
            read -r rps p50 p99 <<<"$(bench_run "$port" "$cmd" "$pipeline" "$n")"
            c1=$(bench_cpu_ticks "${pids[@]}") l1=$(bench_cpu_ticks "$lead")
            if [ "$rps" != error ] && bench_cpu_counts "$cmd"; then
                bench_cpu_add "$label,$s" $((c1 - c0)) "$n"
                [ $on_cluster = 1 ] && bench_cpu_add "$label,leader" $((l1 - l0)) "$n"
            fi
            extra=""
            if [ $on_cluster = 1 ] && [ "$cmd" = set ]; then
                f1=$(bench_raft_field "$LEADER_PORT" fsync_count)
                FSYNCS[$label]=$(( ${FSYNCS[$label]:-0} + ${f1:-0} - ${f0:-0} ))
                SETS[$label]=$(( ${SETS[$label]:-0} + n ))
                extra=", $(( ${f1:-0} - ${f0:-0} )) leader fsyncs for $n SETs"
            fi
            echo "$TARGET: round $round $label $s: $rps rps, p50 $p50 ms, p99 $p99 ms$extra"
            bench_keep_best "$label" "$s" "$rps" "$p50" "$p99"
            if [ $on_cluster = 1 ]; then follow_leader "$label"; fi
        done
    done
done

# ---------------------------------------------------------------- report
ratio_of() {
    local r=${RPS[$1,redis]:-} c=${RPS[$1,raftcache]:-}
    awk -v a="$c" -v b="$r" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'
}
# lat_ratio P50|P99 LABEL: raftcache's latency over redis-server's, or n/a.
lat_ratio() {
    local -n lat=$1
    awk -v a="${lat[$2,raftcache]:-}" -v b="${lat[$2,redis]:-}" \
        'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'
}
report_single() {
    echo "raftcache vs redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')," \
         "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
    echo "redis-benchmark -c $CLIENTS -d 100 -r 1000000; best of $ROUNDS alternating rounds;" \
         "latency in ms (p50/p99) of the best round"
    echo
    printf '%-14s %12s %12s %7s %16s %16s\n' test "redis rps" "raftcache" ratio "redis p50/p99" "raftc p50/p99"
    for t in "${TESTS[@]}"; do
        label=${t%%|*}
        r=${RPS[$label,redis]:-} c=${RPS[$label,raftcache]:-}
        printf '%-14s %12s %12s %7s %16s %16s\n' "$label" "${r:-error}" "${c:-error}" "$(ratio_of "$label")" \
            "${P50[$label,redis]:--}/${P99[$label,redis]:--}" \
            "${P50[$label,raftcache]:--}/${P99[$label,raftcache]:--}"
    done
    echo
    echo "CPU per request, microseconds (user + system time of the server's process, all"
    echo "its threads, raftcache's snapshot writer included; all rounds). \"-\": the test's"
    echo "call also fills the data it reads."
    printf '%-14s %9s %10s %7s\n' test redis raftcache ratio
    for t in "${TESTS[@]}"; do
        label=${t%%|*}
        printf '%-14s %9s %10s %7s\n' "$label" "$(bench_cpu_us "$label,redis")" \
            "$(bench_cpu_us "$label,raftcache")" "$(bench_cpu_ratio "$label,raftcache" "$label,redis")"
    done
    [ $TLS = 1 ] && return
    echo
    echo "memory for $KEYS keys (16-byte names, 100-byte values), loaded with redis-cli --pipe:"
    printf '%-10s %16s %16s %14s %8s %7s\n' server "used_memory +MB" "rss +MB" "rss total MB" "load s" errors
    for s in "${SERVERS[@]}"; do
        printf '%-10s %16s %16s %14s %8s %7s\n' "$s" "$(mb "${MEM_DELTA[$s]}")" \
            "$(mb "${RSS_DELTA[$s]}")" "$(mb "${RSS_AFTER[$s]}")" "${LOAD_S[$s]}" "${LOAD_ERR[$s]:-?}"
    done
    awk -v a="${MEM_DELTA[raftcache]}" -v b="${MEM_DELTA[redis]}" -v c="${RSS_DELTA[raftcache]}" \
        -v d="${RSS_DELTA[redis]}" 'BEGIN {
        printf "ratio raftcache/redis: used_memory delta %s, rss delta %s\n",
            (b > 0 ? sprintf("%.2f", a / b) : "n/a"), (d > 0 ? sprintf("%.2f", c / d) : "n/a") }'
}
report_cluster() {
    echo "raftcache $NODES-node cluster (leader) vs redis-server" \
         "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') --appendonly yes" \
         "--appendfsync always, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback"
    echo "redis-benchmark -c $CLIENTS -d 100 -r 1000000; best of $ROUNDS alternating rounds;" \
         "latency in ms (p50/p99) of the best round"
    echo
    printf '%-14s %12s %12s %7s %16s %16s %14s %9s\n' test "redis rps" "raftcache" ratio \
        "redis p50/p99" "raftc p50/p99" "fsyncs/SET" "SET ratio"
    for t in "${TESTS[@]}"; do
        IFS='|' read -r label cmd _ _ <<<"$t"
        r=${RPS[$label,redis]:-} c=${RPS[$label,raftcache]:-}
        per=-
        if [ -n "${SETS[$label]:-}" ]; then
            per=$(awk -v f="${FSYNCS[$label]}" -v n="${SETS[$label]}" 'BEGIN { printf "%.4f", f / n }')
        fi
        setratio=-
        case $cmd in l*|r*) setratio=$(ratio_of "SET P16") ;; esac
        printf '%-14s %12s %12s %7s %16s %16s %14s %9s\n' "$label" "${r:-error}" "${c:-error}" \
            "$(ratio_of "$label")" "${P50[$label,redis]:--}/${P99[$label,redis]:--}" \
            "${P50[$label,raftcache]:--}/${P99[$label,raftcache]:--}" "$per" "$setratio"
    done
    echo
    echo "fsyncs/SET: the leader's RAFT.INFO fsync_count growth during the raftcache SET runs" \
         "(all rounds) divided by the SETs sent; below 1 means writes share fsyncs (group commit)."
    echo "SET ratio: the SET P16 ratio, repeated beside the list rows (LPUSH .. LMOVE) to compare them with."
    echo "SET c1: one client (-c 1 -P 1) sending SETs one after the other: each waits for its"
    echo "own durable write (redis-server: its fsync; raftcache: a majority's), so its p50/p99"
    echo "is the sequential write's latency: p50 raftcache/redis $(lat_ratio P50 "SET c1")," \
         "p99 $(lat_ratio P99 "SET c1")."
    for t in "${TESTS[@]}"; do
        label=${t%%|*}
        [ -n "${SETS[$label]:-}" ] && echo "  $label: ${FSYNCS[$label]} fsyncs for ${SETS[$label]} SETs"
    done
    echo "Leadership changes during the run (no fault injected): ${#MOVES[@]}"
    for m in "${MOVES[@]+"${MOVES[@]}"}"; do echo "  $m"; done
    echo
    echo "CPU per request, microseconds (user + system time of the server's processes, the"
    echo "children they reaped included: snapshot, AOF rewrite; all rounds): redis-server;"
    echo "raftcache's $NODES nodes together, and its leader alone. \"-\": the test's call also"
    echo "fills the data it reads."
    printf '%-14s %9s %10s %7s %8s %13s\n' test redis raftcache ratio leader "leader ratio"
    for t in "${TESTS[@]}"; do
        label=${t%%|*}
        printf '%-14s %9s %10s %7s %8s %13s\n' "$label" "$(bench_cpu_us "$label,redis")" \
            "$(bench_cpu_us "$label,raftcache")" "$(bench_cpu_ratio "$label,raftcache" "$label,redis")" \
            "$(bench_cpu_us "$label,leader")" "$(bench_cpu_ratio "$label,leader" "$label,redis")"
    done
}
if [ $CLUSTER = 1 ]; then
    report_cluster >"$WORK/table.txt"
    TITLE="make bench-cluster: raftcache $NODES-node leader vs redis-server appendfsync always"
elif [ $TLS = 1 ]; then
    { echo "over TLS (tls-port, client certificates): $(openssl version)"; report_single; } >"$WORK/table.txt"
    TITLE="make bench-tls: raftcache (single node) vs redis-server, both over TLS, -c $CLIENTS"
else
    report_single >"$WORK/table.txt"
    TITLE="make bench: raftcache (single node) vs redis-server, -c $CLIENTS, 100-byte values"
fi
mkdir -p "$ROOT/build"
cp "$WORK/table.txt" "$OUT"
echo
cat "$OUT"
echo "$TARGET: results written to build/$TARGET.txt"
bench_throughput_rows >"$WORK/plot.tsv"
bench_docs "$TARGET" throughput "$TITLE" "$WORK/table.txt" "$WORK/plot.tsv"
