#!/usr/bin/env bash
# scripts/bench-cache.sh - a cache workload, raftcache beside redis-server
# (make bench-cache).
#
# The workload is build/cachegen's (tests/bench/cachegen.c): 50 connections
# with 16 requests in flight each, GET of keys drawn from a zipfian
# distribution (exponent 0.99, as YCSB's) over 10M possible keys, and on a
# miss SET of that key with a 100-byte value, as a cache-aside client does.
#
# For each eviction policy (default allkeys-lru, then allkeys-lfu) with
# maxmemory 200mb, and then once more with noeviction and no maxmemory (the
# plumbing check: every key stays, so misses are only the first GETs of keys
# never seen; 3M GETs of warm-up and 3M measured, BENCH_CACHE_PLUMBING_GETS,
# the same key sequences on every server, so the hit ratios must agree), it
# runs the workload on
#   1. a fresh redis-server (no persistence),
#   2. a fresh single raftcache node (raft-log-fsync no: the same durability
#      class as redis without persistence),
#   3. a fresh 3-node raftcache cluster (default settings, writes fsynced on
#      a majority), against its leader; after the run it waits until every
#      node has applied the leader's commit index (RAFT.INFO) and compares the
#      nodes' DEBUG DIGEST (on READONLY connections): identical or DIFFERENT.
# The single-node runs are repeated BENCH_CACHE_ROUNDS times (default 3),
# redis-server and raftcache taking turns, each round on fresh servers; the
# table shows each server's best round (ops/s), as make bench does: these
# machines are shared and the same run moves by up to a third between
# rounds, on redis-server too. Memory and error columns are the worst of all
# rounds; the ops/s of every round are listed under the table.
# Each policy run has a warm-up, in 5-second pieces (cachegen runs), until
# the server is full (used_memory at 95% of maxmemory, keys evicted, or -OOM
# replies) and 10 s more, at most BENCH_CACHE_WARMUP_MAX seconds; then the
# measured phase of BENCH_CACHE_SECONDS. INFO used_memory
# and the process's RSS are sampled every 200 ms through both phases (every
# node of a cluster) and the maxima kept.
#
# A server that refuses a policy at start (raftcache accepts only noeviction
# until eviction is built) gets "refused" and the reason; its figures are
# n/a. The table shows, per policy: the hit ratio on each server and the
# difference in points, ops/s (GETs and SETs answered a second) and the
# raftcache/redis ratio, the maximum used_memory against maxmemory, the
# maximum RSS, and the error replies (OOM and others) of the measured phase.
# It measures and prints, and never fails on a number; it exits 1 when a
# cluster's digests differ and 2 when they could not be compared (a node
# without DEBUG DIGEST), after writing the table. The table goes to
# build/bench-cache.txt, and with a chart to docs/bench/bench-cache.{txt,png}
# (bench_docs in scripts/bench-lib.sh; BENCH_DOCS=0: not).
#
# Environment: RAFTCACHE_BIN (default build/raftcache), CACHEGEN (default
# build/cachegen), BENCH_CACHE_POLICIES (default "allkeys-lru allkeys-lfu"),
# BENCH_CACHE_MAXMEMORY (default 200mb), BENCH_CACHE_PLUMBING (1: add the
# noeviction row without maxmemory; 0: not), BENCH_CACHE_PLUMBING_GETS
# (default 3000000), BENCH_CACHE_ROUNDS (default 3), BENCH_CACHE_CLUSTER (1: run the
# 3-node cluster too; 0: not), BENCH_CACHE_SECONDS (measured phase, default
# 30), BENCH_CACHE_WARMUP_MAX (default 90), BENCH_CACHE_WARMUP_PAST (seconds
# of warm-up once full, default 10), BENCH_CACHE_WARMUP_PIECE (seconds of a
# warm-up piece, default 5), BENCH_CACHE_CLIENTS (default 50),
# BENCH_CACHE_PIPELINE (default 16), BENCH_CACHE_KEYS (default 10000000),
# BENCH_CACHE_ZIPF (default 0.99), BENCH_CACHE_VALUE_SIZE (default 100),
# BENCH_CACHE_ACCESS_ROUNDS (rounds of the access-data cost, default 3; 0:
# skip it), BENCH_CACHE_ACCESS_KEYS (default 100000), BENCH_CACHE_ACCESS_GETS
# (GETs per round and policy, default 2000000),
# BENCH_NODES (cluster size, default 3), BENCH_CACHE_OUT (the table's file,
# default build/bench-cache.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$ROOT/build/raftcache}
CACHEGEN=${CACHEGEN:-$ROOT/build/cachegen}
POLICIES=${BENCH_CACHE_POLICIES:-"allkeys-lru allkeys-lfu"}
export MAXMEMORY=${BENCH_CACHE_MAXMEMORY:-200mb}
PLUMBING=${BENCH_CACHE_PLUMBING:-1}
PLUMBING_GETS=${BENCH_CACHE_PLUMBING_GETS:-3000000}
CLUSTER=${BENCH_CACHE_CLUSTER:-1}
RUN_S=${BENCH_CACHE_SECONDS:-30}
ROUNDS=${BENCH_CACHE_ROUNDS:-3}
ACCESS_ROUNDS=${BENCH_CACHE_ACCESS_ROUNDS:-3}
ACCESS_KEYS=${BENCH_CACHE_ACCESS_KEYS:-100000}
ACCESS_GETS=${BENCH_CACHE_ACCESS_GETS:-2000000}
WARMUP_MAX=${BENCH_CACHE_WARMUP_MAX:-90}
WARMUP_PAST=${BENCH_CACHE_WARMUP_PAST:-10}
WARMUP_PIECE=${BENCH_CACHE_WARMUP_PIECE:-5}
CLIENTS=${BENCH_CACHE_CLIENTS:-50}
PIPELINE=${BENCH_CACHE_PIPELINE:-16}
KEYS=${BENCH_CACHE_KEYS:-10000000}
ZIPF=${BENCH_CACHE_ZIPF:-0.99}
VALUE_SIZE=${BENCH_CACHE_VALUE_SIZE:-100}
NODES=${BENCH_NODES:-3}
SECRET=bench-cache-secret
OUT=${BENCH_CACHE_OUT:-$ROOT/build/bench-cache.txt}
PY=/usr/bin/python3
REDIS_CMD='redis-server --port "$PORT" --dir "$DIR" --save "" --appendonly no --bind 127.0.0.1 --maxmemory "$MEM" --maxmemory-policy "$POLICY"'
RAFTCACHE_CMD='"$RAFTCACHE_BIN" --port "$PORT" --dir "$DIR" --raft-log-fsync no --maxmemory "$MEM" --maxmemory-policy "$POLICY"'

bench_need bench-cache redis-server redis-cli
[ -x "$RAFTCACHE_BIN" ] || { echo "bench-cache: $RAFTCACHE_BIN not built (run make)" >&2; exit 1; }
[ -x "$CACHEGEN" ] || { echo "bench-cache: $CACHEGEN not built (make build/cachegen)" >&2; exit 1; }
GEN_ARGS=(-c "$CLIENTS" -P "$PIPELINE" -k "$KEYS" -s "$ZIPF" -d "$VALUE_SIZE")

WORK=$(mktemp -d /tmp/raftcache-bench-cache.XXXXXX)
declare -A PID PORTOF
SAMPLER=""
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
    bench_stop_groups "${PID[@]+"${PID[@]}"}"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench-cache: $*"; }

# stop_all: stops every server started so far and removes their data dirs
# (start reuses $WORK/NAME: each row starts from an empty server).
stop_all() {
    local name
    bench_stop_groups "${PID[@]+"${PID[@]}"}"
    for name in "${!PID[@]}"; do rm -rf "${WORK:?}/$name"; done
    PID=() PORTOF=()
}

# bytes SIZE: a redis.conf memory size (1gb, 200mb, 100k, 12345) in bytes.
bytes() {
    awk -v s="$1" 'BEGIN {
        n = s + 0; u = tolower(s); sub(/^[0-9]+/, "", u)
        m["k"] = 1000; m["kb"] = 1024; m["m"] = 1000000; m["mb"] = 1048576
        m["g"] = 1000000000; m["gb"] = 1073741824; m[""] = 1
        if (!(u in m)) { print "bad"; exit }
        printf "%.0f", n * m[u] }'
}
FILL_BYTES=$(bytes "$MAXMEMORY")
[ "$FILL_BYTES" != bad ] && [ "$FILL_BYTES" -gt 0 ] ||
    { echo "bench-cache: BENCH_CACHE_MAXMEMORY '$MAXMEMORY' is not a memory size" >&2; exit 1; }

field() { sed -n "s/^$2://p" <<<"$1"; } # field TEXT NAME
stat_field() { cli "$1" info stats | tr -d '\r' | sed -n "s/^$2://p"; }

# sample_memory OUT ROUNDS NAME...: every 200 ms, the largest used_memory
# and VmRSS seen so far among the servers NAME... (and in OUT already), as
# "used rss" into OUT. ROUNDS 0: until killed.
sample_memory() {
    local out=$1 rounds=$2 max_used=0 max_rss=0 n u r
    shift 2
    [ -s "$out" ] && read -r max_used max_rss <"$out"
    while :; do
        for n in "$@"; do
            u=$(info_field "$n" used_memory 2>/dev/null || true)
            r=$(( $(vm_rss_kb "$n" 2>/dev/null || echo 0) * 1024 ))
            [ -n "$u" ] && [ "$u" -gt "$max_used" ] && max_used=$u
            [ "$r" -gt "$max_rss" ] && max_rss=$r
        done
        echo "$max_used $max_rss" >"$out.tmp" && mv "$out.tmp" "$out"
        [ $((rounds -= 1)) = 0 ] && return
        sleep 0.2
    done
}

# gen NAME ARGS...: one cachegen run against server NAME; its output, or an
# exit of the whole benchmark when it failed (a -MOVED, a lost connection).
gen() {
    local name=$1 out
    shift
    if ! out=$("$CACHEGEN" "${GEN_ARGS[@]}" -h 127.0.0.1 -p "${PORTOF[$name]}" "$@"); then
        echo "bench-cache: cachegen failed against $name" >&2
        exit 1
    fi
    echo "$out"
}

# workload KEY NAME FILL GETS SAMPLED...: warm-up then measured phase
# against server NAME, the memory of the servers SAMPLED... watched. GETS 0:
# warm-up until used_memory reaches FILL bytes (or keys are evicted, or
# writes refused), then BENCH_CACHE_SECONDS measured; otherwise GETS GETs
# warm up and GETS more are measured, the same key sequences on every server.
# Results into the arrays below, under KEY.
declare -A HIT OPS ERR OOM USED RSS MAXMEM WARM NOTE DIGEST APPLIED
workload() {
    local key=$1 name=$2 fill=$3 gets=$4 seed=100 t0=$SECONDS full_at="" out used evicted oom
    local -a measure=(-t "$RUN_S")
    shift 4
    sample_memory "$WORK/mem.$key" 0 "$@" &
    SAMPLER=$!
    if [ "$gets" -gt 0 ]; then
        gen "$name" -n "$gets" -S "$seed" >/dev/null
        measure=(-n "$gets")
    fi
    while [ "$gets" = 0 ]; do
        out=$(gen "$name" -t "$WARMUP_PIECE" -S $seed) # each piece its own key sequence
        seed=$((seed + 1))
        used=$(info_field "$name" used_memory)
        evicted=$(stat_field "$name" evicted_keys)
        oom=$(field "$out" errors_oom)
        if [ -z "$full_at" ] && { [ "${used:-0}" -ge $((fill * 95 / 100)) ] ||
            [ "${evicted:-0}" -gt 0 ] || [ "${oom:-0}" -gt 0 ]; }; then
            full_at=$SECONDS
            log "$key: full after $((SECONDS - t0)) s (used_memory $(mb "$used") MB," \
                "evicted_keys ${evicted:-?}, OOM replies ${oom:-0})"
        fi
        [ -n "$full_at" ] && [ $((SECONDS - full_at)) -ge "$WARMUP_PAST" ] && break
        if [ $((SECONDS - t0)) -ge "$WARMUP_MAX" ]; then
            log "$key: warning: not full after the warm-up's $WARMUP_MAX s" \
                "(used_memory $(mb "$used") MB)"
            NOTE[$key]="not full after a $WARMUP_MAX s warm-up"
            break
        fi
    done
    WARM[$key]=$((SECONDS - t0))
    out=$(gen "$name" "${measure[@]}" -S 1)
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=""
    sample_memory "$WORK/mem.$key" 1 "$@" # the end of the run, however short
    read -r "USED[$key]" "RSS[$key]" <"$WORK/mem.$key"
    HIT[$key]=$(field "$out" hit_ratio) OPS[$key]=$(field "$out" ops_per_sec)
    ERR[$key]=$(field "$out" errors) OOM[$key]=$(field "$out" errors_oom)
    MAXMEM[$key]=$(cli "$name" config get maxmemory | tail -1)
    log "$key: hit ratio ${HIT[$key]}, ${OPS[$key]} ops/s, errors ${ERR[$key]} (OOM ${OOM[$key]})," \
        "max used_memory $(mb "${USED[$key]}") MB, max RSS $(mb "${RSS[$key]}") MB," \
        "warm-up ${WARM[$key]} s"
}

# keep_round KEY ROUND: round ROUND's results (under KEY#ROUND) become
# KEY's when its ops/s are the best so far; memory and errors are the worst
# of all rounds (max used_memory and RSS, most error replies).
keep_round() {
    local k=$1 r=$1#$2 v
    if [ -z "${OPS[$k]:-}" ] || awk -v a="${OPS[$r]:-0}" -v b="${OPS[$k]}" 'BEGIN { exit !(a > b) }'; then
        HIT[$k]=${HIT[$r]:-} OPS[$k]=${OPS[$r]:-} WARM[$k]=${WARM[$r]:-} MAXMEM[$k]=${MAXMEM[$r]:-}
        [ -n "${NOTE[$r]:-}" ] && NOTE[$k]=${NOTE[$r]}
    fi
    worst() { [ -z "$2" ] || { [ -n "$3" ] && [ "$3" -ge "$2" ]; } && echo "$3" || echo "$2"; }
    USED[$k]=$(worst x "${USED[$r]:-}" "${USED[$k]:-}")
    RSS[$k]=$(worst x "${RSS[$r]:-}" "${RSS[$k]:-}")
    ERR[$k]=$(worst x "${ERR[$r]:-}" "${ERR[$k]:-}")
    OOM[$k]=$(worst x "${OOM[$r]:-}" "${OOM[$k]:-}")
    ROUND_OPS[$k]="${ROUND_OPS[$k]:-}${ROUND_OPS[$k]:+ }${OPS[$r]:-n/a}"
    unset "HIT[$r]" "OPS[$r]" "WARM[$r]" "MAXMEM[$r]" "NOTE[$r]" "USED[$r]" "RSS[$r]" "ERR[$r]" "OOM[$r]"
}
declare -A ROUND_OPS

# One row per policy, then the plumbing row: "label policy maxmemory GETs"
# (GETs: see workload).
ROWS=()
for p in $POLICIES; do ROWS+=("$p $p $MAXMEMORY 0"); done
[ "$PLUMBING" = 1 ] && ROWS+=("noeviction,no-maxmemory noeviction 0 $PLUMBING_GETS")

DEBUG_ARGS=()
if ! bench_raftcache_refuses --enable-debug-command local >/dev/null; then
    DEBUG_ARGS=(--enable-debug-command local)
fi
STATUS=0
for row in "${ROWS[@]}"; do
    read -r label POLICY MEM gets <<<"$row"
    export POLICY MEM
    refused=""
    if reason=$(bench_raftcache_refuses --maxmemory "$MEM" --maxmemory-policy "$POLICY"); then
        log "raftcache refuses $label: $reason"
        NOTE[$label,raftcache]="refused: $reason"
        NOTE[$label,cluster]="refused: $reason"
        refused=1
    fi
    for ((round = 1; round <= ROUNDS; round++)); do
        start redis "$REDIS_CMD"
        workload "$label,redis#$round" redis "$FILL_BYTES" "$gets" redis
        stop_all
        keep_round "$label,redis" "$round"
        [ -z "$refused" ] || continue
        start raftcache "$RAFTCACHE_CMD"
        workload "$label,raftcache#$round" raftcache "$FILL_BYTES" "$gets" raftcache
        stop_all
        keep_round "$label,raftcache" "$round"
    done
    [ -z "$refused" ] || continue
    [ "$CLUSTER" = 1 ] || continue
    bench_start_cluster node "$NODES" --raft-secret "$SECRET" --maxmemory "$MEM" \
        --maxmemory-policy "$POLICY" "${DEBUG_ARGS[@]}"
    PORTOF[leader]=$LEADER_PORT PID[leader]=${PID[node$LEADER_ID]}
    log "cluster: $NODES nodes on ports ${CLUSTER_PORTS[*]}, leader node $LEADER_ID"
    nodes=()
    for ((i = 1; i <= NODES; i++)); do nodes+=("node$i"); done
    workload "$label,cluster" leader "$FILL_BYTES" "$gets" "${nodes[@]}"
    unset 'PID[leader]'
    if APPLIED[$label]=$(bench_wait_applied 120 "$LEADER_PORT" "${CLUSTER_PORTS[@]}"); then
        rc=0
        DIGEST[$label]=$(bench_compare_digests "${CLUSTER_PORTS[@]}") || rc=$?
        [ $rc -gt $STATUS ] && STATUS=$rc
    else
        DIGEST[$label]="digests: NOT COMPARED: the nodes did not apply the same index"
        STATUS=2
    fi
    log "cluster $label: applied index ${APPLIED[$label]}; ${DIGEST[$label]}"
    stop_all
done

# ------------------------------------------------- the cost of access data
# Reads keep LRU/LFU data (src/keyspace/kv.h): GET throughput of one raftcache node
# holding ACCESS_KEYS keys, with maxmemory above the data (nothing evicted)
# under allkeys-lru and allkeys-lfu, against noeviction; the policies take
# turns on the same server (CONFIG SET), ACCESS_ROUNDS rounds, median of each.
declare -A ACCESS
if [ "$ACCESS_ROUNDS" -gt 0 ] && ! bench_raftcache_refuses --maxmemory-policy allkeys-lfu >/dev/null; then
    POLICY=noeviction MEM=0
    export POLICY MEM
    start raftcache "$RAFTCACHE_CMD"
    port=${PORTOF[raftcache]}
    redis-benchmark -p "$port" -t set -n "$ACCESS_KEYS" -r "$ACCESS_KEYS" -d "$VALUE_SIZE" -P 16 \
        -q >/dev/null 2>&1
    for ((round = 1; round <= ACCESS_ROUNDS; round++)); do
        for p in noeviction allkeys-lru allkeys-lfu; do
            cli raftcache config set maxmemory-policy "$p" >/dev/null
            cli raftcache config set maxmemory "$([ $p = noeviction ] && echo 0 || echo 4gb)" >/dev/null
            rps=$(redis-benchmark -p "$port" -t get -n "$ACCESS_GETS" -r "$ACCESS_KEYS" -P 16 -q \
                2>/dev/null | tr '\r' '\n' | sed -n 's/^GET: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
            ACCESS[$p]="${ACCESS[$p]:-} ${rps:-0}"
        done
    done
    [ "$(stat_field raftcache evicted_keys)" = 0 ] || log "access data: keys were evicted (unexpected)"
    stop_all
fi
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---------------------------------------------------------------- report
pct() { awk -v a="$1" 'BEGIN { if (a == "") print "n/a"; else printf "%.1f%%", a * 100 }'; }
pts() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%+.1f", (a - b) * 100 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# used KEY: max used_memory in MB and its share of maxmemory.
used() {
    local k=$1
    [ -n "${USED[$k]:-}" ] || { echo n/a; return; }
    if [ "${MAXMEM[$k]:-0}" -gt 0 ]; then
        echo "$(mb "${USED[$k]}") ($(ratio "${USED[$k]}" "${MAXMEM[$k]}"))"
    else
        echo "$(mb "${USED[$k]}")"
    fi
}
errs() { [ -n "${ERR[$1]:-}" ] && echo "${ERR[$1]}/${OOM[$1]}" || echo n/a; }
{
    echo "cache workload: raftcache vs redis-server $(redis-server --version |
        sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback"
    echo "build/cachegen -c $CLIENTS -P $PIPELINE: GET of zipfian keys (s $ZIPF) among $KEYS," \
         "SET of $VALUE_SIZE bytes on a miss;"
    echo "warm-up until full + ${WARMUP_PAST} s (at most ${WARMUP_MAX} s), then ${RUN_S} s measured;" \
         "maxmemory $MAXMEMORY;"
    echo "noeviction,no-maxmemory: $PLUMBING_GETS GETs warm up, $PLUMBING_GETS measured (the same keys" \
         "on every server); redis-server without persistence, raftcache single node with raft-log-fsync no;"
    echo "used = max INFO used_memory MB (share of maxmemory), rss = max VmRSS MB, sampled every 200 ms;"
    echo "ops/s = GETs + SETs answered a second, best of $ROUNDS rounds (servers taking turns, fresh" \
         "each round); used, rss, errors: the worst round; errors = error replies (all/OOM) of the measured phase"
    echo
    printf '%-24s %9s %9s %7s %10s %10s %6s %14s %14s %8s %8s %9s %9s\n' policy "redis hit" "raftc hit" \
        "pts" "redis op/s" "raftc op/s" ratio "redis used" "raftc used" "redis rss" "raftc rss" \
        "redis err" "raftc err"
    for row in "${ROWS[@]}"; do
        read -r label _ <<<"$row"
        r=$label,redis c=$label,raftcache
        printf '%-24s %9s %9s %7s %10s %10s %6s %14s %14s %8s %8s %9s %9s\n' "$label" \
            "$(pct "${HIT[$r]:-}")" "$(pct "${HIT[$c]:-}")" "$(pts "${HIT[$c]:-}" "${HIT[$r]:-}")" \
            "${OPS[$r]:-n/a}" "${OPS[$c]:-n/a}" "$(ratio "${OPS[$c]:-}" "${OPS[$r]:-}")" \
            "$(used "$r")" "$(used "$c")" "$(mb "${RSS[$r]:-}")" "$(mb "${RSS[$c]:-}")" \
            "$(errs "$r")" "$(errs "$c")"
    done
    echo
    echo "ops/s of each round:"
    for row in "${ROWS[@]}"; do
        read -r label _ <<<"$row"
        printf '  %-22s redis %s; raftcache %s\n' "$label:" "${ROUND_OPS[$label,redis]:-n/a}" \
            "${ROUND_OPS[$label,raftcache]:-n/a}"
    done
    if [ "$CLUSTER" = 1 ]; then
        echo
        echo "$NODES-node raftcache cluster (default settings, fsync on), the same workload against" \
             "its leader; used and rss: the largest of the nodes; pts and ratio against redis above"
        printf '%-24s %9s %7s %10s %6s %14s %8s %9s  %s\n' policy "hit" pts "op/s" ratio used rss \
            errors "replicas after the run"
        for row in "${ROWS[@]}"; do
            read -r label _ <<<"$row"
            k=$label,cluster r=$label,redis
            printf '%-24s %9s %7s %10s %6s %14s %8s %9s  %s\n' "$label" "$(pct "${HIT[$k]:-}")" \
                "$(pts "${HIT[$k]:-}" "${HIT[$r]:-}")" "${OPS[$k]:-n/a}" \
                "$(ratio "${OPS[$k]:-}" "${OPS[$r]:-}")" "$(used "$k")" "$(mb "${RSS[$k]:-}")" \
                "$(errs "$k")" "${DIGEST[$label]:-n/a}${APPLIED[$label]:+ (applied index ${APPLIED[$label]})}"
        done
    fi
    if [ -n "${ACCESS[noeviction]:-}" ]; then
        echo
        echo "access data: GET -P 16 on one raftcache node holding $ACCESS_KEYS keys, nothing evicted;" \
             "median of $ACCESS_ROUNDS rounds, policies taking turns"
        base=$(median "${ACCESS[noeviction]}")
        for p in noeviction allkeys-lru allkeys-lfu; do
            m=$(median "${ACCESS[$p]}")
            printf '%-24s %12s GET/s %6s  (rounds:%s)\n' "$p" "$m" "$(ratio "$m" "$base")" "${ACCESS[$p]}"
        done
    fi
    notes=""
    for k in "${!NOTE[@]}"; do notes="$notes$k: ${NOTE[$k]}"$'\n'; done
    if [ -n "$notes" ]; then
        echo
        printf '%s' "$notes" | sort
    fi
    true
} >"$WORK/table.txt"
mkdir -p "$(dirname "$OUT")"
cp "$WORK/table.txt" "$OUT"
echo
cat "$OUT"
echo "bench-cache: results written to $OUT"
for row in "${ROWS[@]}"; do
    read -r label _ <<<"$row"
    pc() { awk -v a="$1" 'BEGIN { if (a == "") print "n/a"; else printf "%.1f", a * 100 }'; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$(pc "${HIT[$label,redis]:-}")" \
        "$(pc "${HIT[$label,raftcache]:-}")" "${OPS[$label,redis]:-n/a}" "${OPS[$label,raftcache]:-n/a}"
    if [ "$CLUSTER" = 1 ]; then
        printf '%s\t%s\t%s\t%s\t%s\n' "$label (cluster)" "$(pc "${HIT[$label,redis]:-}")" \
            "$(pc "${HIT[$label,cluster]:-}")" "${OPS[$label,redis]:-n/a}" "${OPS[$label,cluster]:-n/a}"
    fi
done >"$WORK/plot.tsv"
bench_docs bench-cache cache "make bench-cache: zipfian GET, SET on a miss, maxmemory $MAXMEMORY" \
    "$WORK/table.txt" "$WORK/plot.tsv"
case $STATUS in
    1) echo "bench-cache: the cluster's replicas DIFFER after the run" >&2 ;;
    2) echo "bench-cache: the cluster's replicas were NOT COMPARED (see the table)" >&2 ;;
esac
exit $STATUS
