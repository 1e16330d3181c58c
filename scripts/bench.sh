#!/usr/bin/env bash
# scripts/bench.sh - raftcache next to redis-server 7.0 on the same machine.
#
# Starts redis-server (no persistence) and raftcache (a single node, its Raft
# log written without fsync: raft-log-fsync no, the same durability class as
# redis without persistence; make bench-cluster compares the durable setups)
# on free ports in temp dirs, then:
#   1. memory: FLUSHALL, used_memory, load exactly 1,000,000 keys (16-byte
#      names key:%012d, 100-byte values) with redis-cli --pipe, used_memory
#      again; reports the delta, the RSS, and the raftcache/redis ratio;
#   2. throughput: redis-benchmark, 50 clients, 100-byte values, keys drawn
#      from 1M (-r 1000000, which names keys key:%012d as well, so GETs hit
#      the keys loaded in step 1): SET and GET at -P 1 and -P 16, MSET, and
#      the data types' HSET, SADD, SPOP, ZADD and ZPOPMIN at -P 16, and the
#      lists' LPUSH, RPUSH, LPOP, RPOP, LRANGE_100, LRANGE_600 (redis-benchmark's
#      tests; 100-byte elements) and LMOVE (a prefilled list moved element by
#      element into another, see bench_lmove in scripts/bench-lib.sh) at -P 16,
#      and PUBLISH to 5 subscribers (bench_publish) at -P 16, EVALSHA of
#      a small writing script (bench_evalsha) at -P 16, and the streams'
#      XADD (bench_xadd) and XREADGROUP of one new entry a call by a
#      consumer group (bench_xreadgroup, from a prefilled stream) at -P 16.
#      Each test runs on redis then on raftcache, alternating, BENCH_ROUNDS
#      times (default 3: the machines are shared and noisy, and a round
#      a neighbour slowed is dropped); the table shows the round with the best rps for
#      each server, with that round's p50/p99 latency. A second table
#      gives each test's CPU per request on both servers (user + system
#      time of the server's process over all rounds, bench_cpu_ticks in
#      scripts/bench-lib.sh): steadier than the rates on a shared machine.
# It measures and prints; it never fails on a number. The table is written to
# build/bench.txt as well, and with a chart to docs/bench/bench.{txt,png}
# (bench_docs in scripts/bench-lib.sh; BENCH_DOCS=0: not).
#
# Environment: RAFTCACHE_BIN (default build/raftcache), BENCH_RAFTCACHE_CMD
# (shell command started with PORT and DIR exported; default
# "$RAFTCACHE_BIN" --port "$PORT" --dir "$DIR" --raft-log-fsync no), BENCH_ROUNDS, BENCH_N_P1
# (requests for -P 1 tests, default 200000), BENCH_N_P16 (default 1000000),
# BENCH_N_MSET (default 100000), BENCH_N_LRANGE (LRANGE_100 requests, default
# 100000), BENCH_N_LRANGE600 (default BENCH_N_LRANGE / 5), BENCH_KEYS (keys
# loaded, default 1000000), BENCH_CLIENTS (default 50), BENCH_ONLY (an
# extended regex: only the tests whose label matches run, e.g. 'XADD|XREAD';
# the table is then not published to docs/bench).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$ROOT/build/raftcache}
RAFTCACHE_CMD=${BENCH_RAFTCACHE_CMD:-'"$RAFTCACHE_BIN" --port "$PORT" --dir "$DIR" --raft-log-fsync no'}
REDIS_CMD='redis-server --port "$PORT" --dir "$DIR" --save "" --appendonly no --bind 127.0.0.1'
ROUNDS=${BENCH_ROUNDS:-3}
N_P1=${BENCH_N_P1:-200000}
N_P16=${BENCH_N_P16:-1000000}
N_MSET=${BENCH_N_MSET:-100000}
N_LRANGE=${BENCH_N_LRANGE:-100000}
N_LRANGE600=${BENCH_N_LRANGE600:-$((N_LRANGE / 5))}
KEYS=${BENCH_KEYS:-1000000}
CLIENTS=${BENCH_CLIENTS:-50}
OUT=$ROOT/build/bench.txt
PY=/usr/bin/python3

bench_need bench redis-server redis-cli redis-benchmark

WORK=$(mktemp -d /tmp/raftcache-bench.XXXXXX)
declare -A PID PORTOF
cleanup() {
    bench_stop_groups "${PID[@]+"${PID[@]}"}"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- servers
[ -x "$RAFTCACHE_BIN" ] || [ -n "${BENCH_RAFTCACHE_CMD:-}" ] ||
    { echo "bench: $RAFTCACHE_BIN not built (run make)" >&2; exit 1; }
start redis "$REDIS_CMD"
start raftcache "$RAFTCACHE_CMD"
SERVERS=(redis raftcache)

# ---------------------------------------------------------------- memory
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
    echo "bench: $s loaded $keys keys in ${LOAD_S[$s]}s (errors: ${LOAD_ERR[$s]:-?})"
    [ "$keys" = "$KEYS" ] || echo "bench: warning: $s holds $keys keys, expected $KEYS"
done
rm -f "$LOAD"
for s in "${SERVERS[@]}"; do bench_settle "$s"; done

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
       "LRANGE_600 P16|lrange_600|16|$N_LRANGE600" "LMOVE P16|lmove|16|$N_P16"
       # pub/sub: bench_publish's 5 subscribers read every message
       "PUBLISH P16|publish|16|$N_P1"
       # scripting: bench_evalsha's INCR script, through the log like any write
       "EVALSHA P16|evalsha|16|$N_P16"
       # streams: XADD into one stream; XREADGROUP delivering one entry a call
       "XADD P16|xadd|16|$N_P16" "XREADGROUP P16|xreadgroup|16|$N_P16")
bench_pick_tests
declare -A RPS P50 P99 CPU_T CPU_N
for ((round = 1; round <= ROUNDS; round++)); do
    for t in "${TESTS[@]}"; do
        IFS='|' read -r label cmd pipeline n <<<"$t"
        for s in "${SERVERS[@]}"; do
            c0=$(bench_cpu_ticks "${PID[$s]}")
            read -r rps p50 p99 <<<"$(bench_run "${PORTOF[$s]}" "$cmd" "$pipeline" "$n")"
            c1=$(bench_cpu_ticks "${PID[$s]}")
            if [ "$rps" != error ] && bench_cpu_counts "$cmd"; then
                bench_cpu_add "$label,$s" $((c1 - c0)) "$n"
            fi
            echo "bench: round $round $label $s: $rps rps, p50 $p50 ms, p99 $p99 ms"
            bench_keep_best "$label" "$s" "$rps" "$p50" "$p99"
        done
    done
done

# ---------------------------------------------------------------- report
{
    echo "raftcache vs redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')," \
         "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
    echo "redis-benchmark -c $CLIENTS -d 100 -r 1000000; best of $ROUNDS alternating rounds;" \
         "latency in ms (p50/p99) of the best round"
    echo
    printf '%-14s %12s %12s %7s %16s %16s\n' test "redis rps" "raftcache" ratio "redis p50/p99" "raftc p50/p99"
    for t in "${TESTS[@]}"; do
        label=${t%%|*}
        r=${RPS[$label,redis]:-} c=${RPS[$label,raftcache]:-}
        ratio=$(awk -v a="$c" -v b="$r" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }')
        printf '%-14s %12s %12s %7s %16s %16s\n' "$label" "${r:-error}" "${c:-error}" "$ratio" \
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
} >"$WORK/table.txt"
mkdir -p "$ROOT/build"
cp "$WORK/table.txt" "$OUT"
echo
cat "$OUT"
echo "bench: results written to build/bench.txt"
bench_throughput_rows >"$WORK/plot.tsv"
bench_docs bench throughput "make bench: raftcache (single node) vs redis-server, -c $CLIENTS, 100-byte values" \
    "$WORK/table.txt" "$WORK/plot.tsv"
