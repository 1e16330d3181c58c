#!/usr/bin/env bash
# scripts/bench-cluster.sh - the durable setups side by side: redis-server
# with an fsynced append-only file against a 3-node raftcache cluster.
#
# Starts, on loopback, in temp dirs and on free ports:
#   - redis-server --appendonly yes --appendfsync always --save "" (every write
#     is in the fsynced AOF before it is answered), and
#   - a 3-node raftcache cluster with a raft-secret and default settings (a
#     write is answered once a majority has fsynced it in its Raft log),
# then runs redis-benchmark against redis and against the raftcache leader:
# SET and GET at -P 1 and -P 16, MSET, and the data types' HSET, SADD, SPOP,
# ZADD, ZPOPMIN at -P 16, and the lists' LPUSH, RPUSH, LPOP, RPOP, LRANGE_100,
# LRANGE_600 and LMOVE (a prefilled list moved element by element into
# another, see bench_lmove in scripts/bench-lib.sh) at -P 16; 50 clients,
# 100-byte values, keys drawn from 1M (-r 1000000). Beside each list row, the
# "SET ratio" column repeats the SET P16 ratio, which the list rows are
# measured against. Each test runs on redis then on raftcache, alternating,
# BENCH_ROUNDS times (default 3, as make bench); the table shows each server's best round
# (rps, with that round's p50/p99 latency in ms) and the raftcache/redis ratio.
# Group commit evidence: the leader's RAFT.INFO fsync_count is read before
# and after every SET run; the table shows fsyncs per SET (all rounds).
# CPU per request: a second table gives each test's user + system time per
# request of redis-server, of the raftcache nodes together and of the leader
# alone (all rounds; bench_cpu_ticks in scripts/bench-lib.sh), steadier than
# the rates on a machine the nodes share with redis-benchmark.
# Leadership is checked after every raftcache run: if it moved (nothing here
# injects a fault, so that is worth a look), the run says so, the table
# counts it, and the next runs go to the new leader. The nodes' logs are
# kept in build/bench-cluster-logs/.
# It measures and prints; it never fails on a number. The table is written to
# build/bench-cluster.txt as well, and with a chart to
# docs/bench/bench-cluster.{txt,png} (BENCH_DOCS=0: not).
#
# Environment: RAFTCACHE_BIN (default build/raftcache), BENCH_ROUNDS,
# BENCH_N_P1 (requests for -P 1 tests, default 200000), BENCH_N_P16 (default
# 1000000), BENCH_N_LRANGE (LRANGE_100 requests, default 100000),
# BENCH_N_LRANGE600 (default BENCH_N_LRANGE / 5), BENCH_CLIENTS (default 50),
# BENCH_NODES (cluster size, default 3), BENCH_ONLY (as in make bench: an
# extended regex; only the tests whose label matches run, and the table is
# not published to docs/bench).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$ROOT/build/raftcache}
ROUNDS=${BENCH_ROUNDS:-3}
N_P1=${BENCH_N_P1:-200000}
N_P16=${BENCH_N_P16:-1000000}
N_MSET=${BENCH_N_MSET:-100000}
N_LRANGE=${BENCH_N_LRANGE:-100000}
N_LRANGE600=${BENCH_N_LRANGE600:-$((N_LRANGE / 5))}
CLIENTS=${BENCH_CLIENTS:-50}
NODES=${BENCH_NODES:-3}
SECRET=bench-cluster-secret
OUT=$ROOT/build/bench-cluster.txt
PY=/usr/bin/python3

bench_need bench-cluster redis-server redis-cli redis-benchmark
[ -x "$RAFTCACHE_BIN" ] || { echo "bench-cluster: $RAFTCACHE_BIN not built (run make)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/raftcache-bench-cluster.XXXXXX)
declare -A PID PORTOF   # every server we started; each leads its own process group
cleanup() {
    bench_stop_groups "${PID[@]+"${PID[@]}"}"
    # the nodes' logs, for a post-mortem of anything the run reported
    rm -rf "$ROOT/build/bench-cluster-logs"
    mkdir -p "$ROOT/build/bench-cluster-logs"
    cp "$WORK"/node*.log "$ROOT/build/bench-cluster-logs/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- servers
start redis 'redis-server --port "$PORT" --bind 127.0.0.1 --dir "$DIR" --appendonly yes --appendfsync always --save ""'
bench_start_cluster node "$NODES" --raft-secret "$SECRET"
lid=$LEADER_ID
NODE_PIDS=()
for ((i = 1; i <= NODES; i++)); do NODE_PIDS+=("${PID[node$i]}"); done
echo "bench-cluster: raftcache $NODES nodes on ports ${CLUSTER_PORTS[*]}; leader node $lid port $LEADER_PORT"

# ---------------------------------------------------------------- throughput
SERVERS=(redis raftcache)
PORTOF[raftcache]=$LEADER_PORT
TESTS=("SET P1|set|1|$N_P1" "GET P1|get|1|$N_P1" "SET P16|set|16|$N_P16" "GET P16|get|16|$N_P16"
       "MSET P1|mset|1|$N_MSET"
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
bench_pick_tests
declare -A RPS P50 P99 FSYNCS SETS CPU_T CPU_N
MOVES=()   # "round N LABEL: node A -> node B", one per leadership change seen

# follow_leader LABEL: after a raftcache run, checks that node LEADER_ID still
# leads; if not, records the move and waits (60 s) for the new leader.
follow_leader() {
    local was=$LEADER_ID deadline=$((SECONDS + 60))
    [ "$(bench_raft_field "$LEADER_PORT" role)" = leader ] && return
    until bench_cluster_leader && [ "$(bench_cli_port "$LEADER_PORT" set bench:probe 1 2>&1)" = OK ]; do
        [ $SECONDS -lt $deadline ] || { echo "bench-cluster: no leader after $1 for 60 s" >&2; exit 1; }
        sleep 0.2
    done
    MOVES+=("round $round $1: node $was -> node $LEADER_ID")
    echo "bench-cluster: warning: leadership moved during round $round $1 (node $was -> node $LEADER_ID; logs in build/bench-cluster-logs/)"
    PORTOF[raftcache]=$LEADER_PORT
}
for ((round = 1; round <= ROUNDS; round++)); do
    for t in "${TESTS[@]}"; do
        IFS='|' read -r label cmd pipeline n <<<"$t"
        for s in "${SERVERS[@]}"; do
            [ "$s" = raftcache ] && f0=$(bench_raft_field "$LEADER_PORT" fsync_count)
            if [ "$s" = redis ]; then pids=("${PID[redis]}"); else pids=("${NODE_PIDS[@]}"); fi
            lead=${PID[node$LEADER_ID]}
            c0=$(bench_cpu_ticks "${pids[@]}") l0=$(bench_cpu_ticks "$lead")
            read -r rps p50 p99 <<<"$(bench_run "${PORTOF[$s]}" "$cmd" "$pipeline" "$n")"
            c1=$(bench_cpu_ticks "${pids[@]}") l1=$(bench_cpu_ticks "$lead")
            if [ "$rps" != error ] && bench_cpu_counts "$cmd"; then
                bench_cpu_add "$label,$s" $((c1 - c0)) "$n"
                [ "$s" = raftcache ] && bench_cpu_add "$label,leader" $((l1 - l0)) "$n"
            fi
            extra=""
            if [ "$s" = raftcache ] && [ "$cmd" = set ]; then
                f1=$(bench_raft_field "$LEADER_PORT" fsync_count)
                FSYNCS[$label]=$(( ${FSYNCS[$label]:-0} + ${f1:-0} - ${f0:-0} ))
                SETS[$label]=$(( ${SETS[$label]:-0} + n ))
                extra=", $(( ${f1:-0} - ${f0:-0} )) leader fsyncs for $n SETs"
            fi
            echo "bench-cluster: round $round $label $s: $rps rps, p50 $p50 ms, p99 $p99 ms$extra"
            bench_keep_best "$label" "$s" "$rps" "$p50" "$p99"
            [ "$s" = raftcache ] && follow_leader "$label"
        done
    done
done

# ---------------------------------------------------------------- report
{
    echo "raftcache $NODES-node cluster (leader) vs redis-server" \
         "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') --appendonly yes" \
         "--appendfsync always, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback"
    echo "redis-benchmark -c $CLIENTS -d 100 -r 1000000; best of $ROUNDS alternating rounds;" \
         "latency in ms (p50/p99) of the best round"
    echo
    ratio_of() {
        local r=${RPS[$1,redis]:-} c=${RPS[$1,raftcache]:-}
        awk -v a="$c" -v b="$r" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'
    }
    printf '%-14s %12s %12s %7s %16s %16s %14s %9s\n' test "redis rps" "raftcache" ratio \
        "redis p50/p99" "raftc p50/p99" "fsyncs/SET" "SET ratio"
    for t in "${TESTS[@]}"; do
        IFS='|' read -r label cmd _ _ <<<"$t"
        r=${RPS[$label,redis]:-} c=${RPS[$label,raftcache]:-}
        ratio=$(ratio_of "$label")
        per=-
        if [ -n "${SETS[$label]:-}" ]; then
            per=$(awk -v f="${FSYNCS[$label]}" -v n="${SETS[$label]}" 'BEGIN { printf "%.4f", f / n }')
        fi
        setratio=-
        case $cmd in l*|r*) setratio=$(ratio_of "SET P16") ;; esac
        printf '%-14s %12s %12s %7s %16s %16s %14s %9s\n' "$label" "${r:-error}" "${c:-error}" "$ratio" \
            "${P50[$label,redis]:--}/${P99[$label,redis]:--}" \
            "${P50[$label,raftcache]:--}/${P99[$label,raftcache]:--}" "$per" "$setratio"
    done
    echo
    echo "fsyncs/SET: the leader's RAFT.INFO fsync_count growth during the raftcache SET runs" \
         "(all rounds) divided by the SETs sent; below 1 means writes share fsyncs (group commit)."
    echo "SET ratio: the SET P16 ratio, repeated beside the list rows (LPUSH .. LMOVE) to compare them with."
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
    true
} >"$WORK/table.txt"
mkdir -p "$ROOT/build"
cp "$WORK/table.txt" "$OUT"
echo
cat "$OUT"
echo "bench-cluster: results written to build/bench-cluster.txt"
bench_throughput_rows >"$WORK/plot.tsv"
bench_docs bench-cluster throughput "make bench-cluster: raftcache $NODES-node leader vs redis-server appendfsync always" \
    "$WORK/table.txt" "$WORK/plot.tsv"
