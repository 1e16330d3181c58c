#!/usr/bin/env bash
# scripts/bench-snapshot.sh - what a snapshot costs: its time and size, client
# latency while every node snapshots, and the time a new node takes to join
# and catch up (through a snapshot transfer).
#
# Starts, on loopback, in temp dirs and on free ports, a 3-node raftcache
# cluster with a raft-secret and automatic snapshots pushed out of reach
# (raft-snapshot-threshold 1000000000, raft-snapshot-log-min-size 100gb), then:
#   1. load: BENCH_SNAP_KEYS keys (16-byte names key:%012d, 100-byte values)
#      into the leader with redis-cli --pipe; waits until every node applied
#      the leader's commit index;
#   2. latency: BENCH_SNAP_ROUNDS rounds (default 5) of a pair of runs against
#      the leader, each a redis-benchmark SET run then a GET run (50 clients,
#      100-byte values, -r 1000000, BENCH_SNAP_N requests each):
#        - without a snapshot;
#        - leader: RAFT.DEBUG COMPACT sent to the leader only;
#        - all: sent to every node (leader first; every node snapshots at
#          once: the worst case, since the automatic rules stagger the
#          nodes; on one machine the nodes and their snapshot children then
#          share its cores and disk) right before the benchmark. Afterwards RAFT.INFO is polled until no node
#          has snapshot_in_progress:yes; the leader's snapshot_last_duration_ms
#          and snapshot_size are reported, and whether the snapshot outlasted
#          the benchmark or ended during its SET or GET run.
#      Each run starts BENCH_SNAP_SETTLE seconds after the followers applied
#      the previous one. The table shows every round's rows (rps and p50/p99
#      in ms) and, per mode, the SET and GET p99 with a snapshot over the
#      same round's without, and the median of those ratios.
#   3. join: a 4th node, empty dir, no cluster-members, same secret; times
#      RAFT.CLUSTER JOIN (its +OK) and until the node has applied the leader's
#      commit index of the moment of the JOIN and is a voter
#      (is_voting:yes), and shows its snapshots_received. A JOIN error (say,
#      a build without the command) is printed in the table, not fatal.
# It measures and prints; it never fails on a number. The table is written to
# build/bench-snapshot.txt as well.
#
# Environment: RAFTCACHE_BIN (default build/raftcache), BENCH_SNAP_KEYS (keys
# loaded, default 1000000), BENCH_SNAP_N (requests per SET or GET run,
# default 60000: a SET run then lasts about as long as a snapshot, so the
# latency measured is that of a run during a snapshot), BENCH_SNAP_ROUNDS
# (default 5), BENCH_SNAP_SETTLE (seconds of quiet before each run, default
# 5: the log trimmed after a snapshot), BENCH_CLIENTS (default 50),
# BENCH_SNAP_TIMEOUT (seconds allowed for each wait: followers applying the
# load, a snapshot, the join and catch-up; default 600).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$ROOT/build/raftcache}
KEYS=${BENCH_SNAP_KEYS:-1000000}
N=${BENCH_SNAP_N:-60000}
ROUNDS=${BENCH_SNAP_ROUNDS:-5}
SETTLE=${BENCH_SNAP_SETTLE:-5}
CLIENTS=${BENCH_CLIENTS:-50}
WAIT_S=${BENCH_SNAP_TIMEOUT:-600}
NODES=3
SECRET=bench-snapshot-secret
SNAP_ARGS=(--raft-snapshot-threshold 1000000000 --raft-snapshot-log-min-size 100gb)
OUT=$ROOT/build/bench-snapshot.txt
PY=/usr/bin/python3

bench_need bench-snapshot redis-cli redis-benchmark
[ -x "$RAFTCACHE_BIN" ] || { echo "bench-snapshot: $RAFTCACHE_BIN not built (run make)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/raftcache-bench-snapshot.XXXXXX)
PIDS=()   # every server we started; each leads its own process group
cleanup() {
    bench_stop_groups "${PIDS[@]+"${PIDS[@]}"}"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench-snapshot: $*"; }
cli() { local port=$1; shift; timeout 60 redis-cli -h 127.0.0.1 -p "$port" "$@"; }
raft_info() { cli "$1" raft.info 2>/dev/null | tr -d '\r' || true; }
raft_field() { raft_info "$1" | sed -n "s/^$2://p"; }
field() { sed -n "s/^$2://p" <<<"$1"; }   # field INFO_TEXT NAME
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { awk -v b="$1" 'BEGIN { if (b == "" || b !~ /^[0-9]+$/) print "n/a"; else printf "%.1f", b / 1048576 }'; }

# launch NAME ARGS...: starts a server in its own process group, log in WORK.
launch() {
    local name=$1; shift
    setsid "$@" </dev/null >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
}

# wait_reply PORT NAME EXPECTED CMD...: until CMD on PORT answers EXPECTED
# (30s deadline).
wait_reply() {
    local port=$1 name=$2 want=$3 deadline=$((SECONDS + 30)) reply=""; shift 3
    until [ "$reply" = "$want" ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "bench-snapshot: $name does not answer $* with $want (last reply: $reply)" >&2
            tail -20 "$WORK/$name.log" >&2
            exit 1
        fi
        sleep 0.1
        reply=$(cli "$port" "$@" 2>&1 || true)
    done
}

# free_ports COUNT: COUNT distinct free ports into PORTS.
free_ports() {
    local p
    PORTS=()
    while [ ${#PORTS[@]} -lt "$1" ]; do
        p=$(bench_free_port)
        case " ${PORTS[*]-} " in *" $p "*) ;; *) PORTS+=("$p") ;; esac
    done
}

# snapshotting: the ids of the cluster nodes with snapshot_in_progress:yes.
snapshotting() {
    local i busy=""
    for i in "${!CPORTS[@]}"; do
        [ "$(raft_field "${CPORTS[$i]}" snapshot_in_progress)" = yes ] && busy="$busy $((i + 1))"
    done
    echo "${busy# }"
}

# ---------------------------------------------------------------- cluster
free_ports $((NODES + 1))
CPORTS=("${PORTS[@]:0:NODES}")
P4=${PORTS[$NODES]}
MEMBERS=""
for i in "${!CPORTS[@]}"; do MEMBERS="$MEMBERS $((i + 1))=127.0.0.1:${CPORTS[$i]}"; done
MEMBERS=${MEMBERS# }
for i in "${!CPORTS[@]}"; do
    id=$((i + 1))
    mkdir -p "$WORK/node$id"
    launch "node$id" "$RAFTCACHE_BIN" --port "${CPORTS[$i]}" --node-id "$id" --dir "$WORK/node$id" \
        --cluster-members "$MEMBERS" --raft-secret "$SECRET" "${SNAP_ARGS[@]}"
done
# The leader: exactly one node says role:leader and every node names it.
LEADER_PORT="" lid="" deadline=$((SECONDS + 30))
while [ -z "$LEADER_PORT" ]; do
    if [ $SECONDS -ge $deadline ]; then
        echo "bench-snapshot: no raft leader after 30s" >&2
        for i in "${!CPORTS[@]}"; do tail -5 "$WORK/node$((i + 1)).log" >&2; done
        exit 1
    fi
    sleep 0.1
    leaders=() ids=""
    for i in "${!CPORTS[@]}"; do
        info=$(raft_info "${CPORTS[$i]}")
        [ "$(field "$info" role)" = leader ] && leaders+=($((i + 1)))
        ids="$ids $(field "$info" leader_id)"
    done
    [ ${#leaders[@]} -eq 1 ] || continue
    [ "$(echo "$ids" | tr ' ' '\n' | sed '/^$/d' | sort -u)" = "${leaders[0]}" ] || continue
    lid=${leaders[0]}
    LEADER_PORT=${CPORTS[$((lid - 1))]}
done
wait_reply "$LEADER_PORT" "node$lid" OK set bench:probe 1
cli "$LEADER_PORT" del bench:probe >/dev/null
log "$NODES nodes on ports ${CPORTS[*]}; leader node $lid port $LEADER_PORT"

# wait_applied: until every node's last_applied_index reaches the leader's
# commit_index (BENCH_SNAP_TIMEOUT deadline); prints the seconds it took or
# "timeout".
wait_applied() {
    local t0 commit ok i applied deadline=$((SECONDS + WAIT_S))
    t0=$(now)
    while :; do
        commit=$(raft_field "$LEADER_PORT" commit_index)
        ok=1
        for i in "${!CPORTS[@]}"; do
            applied=$(raft_field "${CPORTS[$i]}" last_applied_index)
            if ! [ "${applied:-x}" -ge "${commit:-0}" ] 2>/dev/null || [ -z "$commit" ]; then ok=0; fi
        done
        [ $ok = 1 ] && { secs "$t0" "$(now)"; return; }
        [ $SECONDS -lt $deadline ] || { echo timeout; return; }
        sleep 0.1
    done
}

# ---------------------------------------------------------------- load
LOAD=$WORK/load.resp
bench_write_load "$KEYS" "$LOAD"
t0=$(now)
piped=$(timeout 1800 redis-cli -h 127.0.0.1 -p "$LEADER_PORT" --pipe --pipe-timeout 300 <"$LOAD" 2>&1 || true)
LOAD_S=$(secs "$t0" "$(now)")
LOAD_ERR=$(echo "$piped" | sed -n 's/^errors: \([0-9]*\), replies: .*/\1/p')
rm -f "$LOAD"
DBSIZE=$(cli "$LEADER_PORT" dbsize 2>&1 || true)
log "loaded $DBSIZE keys in ${LOAD_S}s (errors: ${LOAD_ERR:-?})"
[ "$DBSIZE" = "$KEYS" ] || log "warning: the leader holds $DBSIZE keys, expected $KEYS"
APPLY_S=$(wait_applied)
log "every node applied the load ${APPLY_S}s after it was acknowledged"

# ---------------------------------------------------------------- rounds
# Per row (key "round,mode", mode no|leader|all): SET and GET "rps p50 p99"; for
# the snapshot rows also the leader's duration and size, the slowest
# follower's duration, and where the snapshot ended.
declare -A SET_R GET_R SET_S GET_S SNAP_MS SNAP_FMS SNAP_SIZE SNAP_KEYS OVERLAP NOTE
for ((round = 1; round <= ROUNDS; round++)); do
    for mode in no leader all; do
        k=$round,$mode
        if [ $mode != no ]; then
            created0=$(raft_field "$LEADER_PORT" snapshots_created)
            SNAP_KEYS[$k]=$(cli "$LEADER_PORT" dbsize 2>&1 || true)   # what the snapshot holds
            # leader first, then the followers
            order=("$lid")
            [ $mode = leader ] ||
                for i in "${!CPORTS[@]}"; do [ $((i + 1)) = "$lid" ] || order+=($((i + 1))); done
            NOTE[$k]=""
            for id in "${order[@]}"; do
                reply=$(cli "${CPORTS[$((id - 1))]}" raft.debug compact 2>&1 || true)
                [ "$reply" = OK ] || NOTE[$k]="${NOTE[$k]} node$id COMPACT: $reply;"
            done
        fi
        t0=$(now)
        SET_R[$k]=$(bench_run "$LEADER_PORT" set 1 "$N")
        t1=$(now)
        busy_set=""; [ $mode = no ] || busy_set=$(snapshotting)
        t2=$(now)
        GET_R[$k]=$(bench_run "$LEADER_PORT" get 1 "$N")
        t3=$(now)
        busy_get=""; [ $mode = no ] || busy_get=$(snapshotting)
        SET_S[$k]=$(secs "$t0" "$t1"); GET_S[$k]=$(secs "$t2" "$t3")
        if [ $mode != no ]; then
            if [ -n "$busy_get" ]; then OVERLAP[$k]="outlasted bench"
            elif [ -n "$busy_set" ]; then OVERLAP[$k]="ended in GET run"
            else OVERLAP[$k]="ended in SET run"; fi
            deadline=$((SECONDS + WAIT_S))
            while [ -n "$(snapshotting)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
            busy=$(snapshotting)
            [ -z "$busy" ] || NOTE[$k]="${NOTE[$k]} still snapshotting after ${WAIT_S}s: node $busy;"
            info=$(raft_info "$LEADER_PORT")
            SNAP_MS[$k]=$(field "$info" snapshot_last_duration_ms)
            SNAP_SIZE[$k]=$(field "$info" snapshot_size)
            created1=$(field "$info" snapshots_created)
            [ "${created1:-0}" -gt "${created0:-0}" ] 2>/dev/null ||
                NOTE[$k]="${NOTE[$k]} leader snapshots_created did not grow ($created0 -> $created1);"
            fms=-
            [ $mode = leader ] || for i in "${!CPORTS[@]}"; do
                [ $((i + 1)) = "$lid" ] && continue
                ms=$(raft_field "${CPORTS[$i]}" snapshot_last_duration_ms)
                [ "$fms" = - ] && fms=0
                [ "${ms:-0}" -gt "$fms" ] 2>/dev/null && fms=$ms
            done
            SNAP_FMS[$k]=$fms
            log "round $round with snapshot: leader ${SNAP_MS[$k]} ms, slowest follower $fms ms," \
                "size ${SNAP_SIZE[$k]} bytes (${SNAP_KEYS[$k]} keys); snapshot ${OVERLAP[$k]}; ${NOTE[$k]:-}"
        fi
        read -r sr sp50 sp99 <<<"${SET_R[$k]}"
        read -r gr gp50 gp99 <<<"${GET_R[$k]}"
        log "round $round snapshot $mode: SET $sr rps p50 $sp50 p99 $sp99 ms;" \
            "GET $gr rps p50 $gp50 p99 $gp99 ms; runs ${SET_S[$k]}s + ${GET_S[$k]}s"
        APPLY_S2=$(wait_applied)   # the followers caught up before the next run
        [ "$APPLY_S2" != timeout ] || log "warning: followers did not apply the leader's commit index"
        sleep "$SETTLE"            # and finished what a snapshot leaves (trimming the log)
    done
done

# ---------------------------------------------------------------- join
mkdir -p "$WORK/node4"
launch node4 "$RAFTCACHE_BIN" --port "$P4" --node-id 4 --dir "$WORK/node4" \
    --raft-secret "$SECRET" "${SNAP_ARGS[@]}"
wait_reply "$P4" node4 PONG ping   # no write: only a fresh node may join
JOIN_COMMIT=$(raft_field "$LEADER_PORT" commit_index)
JOIN_STATUS="" JOIN_REPLY_S="" CAUGHT_S="" N4_RECV="" N4_APPLIED="" N4_VOTING=""
ADDRS=()
for p in "${CPORTS[@]}"; do ADDRS+=("127.0.0.1:$p"); done
log "node 4 on port $P4: RAFT.CLUSTER JOIN ${ADDRS[*]} (leader commit_index $JOIN_COMMIT)"
t0=$(now)
rc=0
reply=$(timeout "$WAIT_S" redis-cli -h 127.0.0.1 -p "$P4" raft.cluster join "${ADDRS[@]}" 2>&1) || rc=$?
JOIN_REPLY_S=$(secs "$t0" "$(now)")
reply=$(echo "$reply" | tr -d '\r' | tr '\n' ' ' | sed 's/ *$//')
if [ $rc = 124 ]; then
    JOIN_STATUS="no reply within ${WAIT_S}s"
elif [ "$reply" != OK ]; then
    JOIN_STATUS="not available (${reply:-redis-cli exit $rc})"
else
    deadline=$((SECONDS + WAIT_S))
    while :; do
        info=$(raft_info "$P4")
        N4_APPLIED=$(field "$info" last_applied_index)
        N4_VOTING=$(field "$info" is_voting)
        if [ "${N4_APPLIED:-0}" -ge "${JOIN_COMMIT:-0}" ] 2>/dev/null && [ "$N4_VOTING" = yes ]; then
            CAUGHT_S=$(secs "$t0" "$(now)")
            break
        fi
        [ $SECONDS -lt $deadline ] || break
        sleep 0.05
    done
    N4_RECV=$(raft_field "$P4" snapshots_received)
    [ -n "$CAUGHT_S" ] ||
        JOIN_STATUS="+OK but not caught up within ${WAIT_S}s (last_applied_index ${N4_APPLIED:-?}, is_voting ${N4_VOTING:-?})"
fi
log "join: ${JOIN_STATUS:-reply ${JOIN_REPLY_S}s, caught up ${CAUGHT_S}s, snapshots_received ${N4_RECV:-?}}"

# ---------------------------------------------------------------- report
{
    echo "raftcache snapshots, $NODES-node cluster, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback"
    echo "$KEYS keys (16-byte names, 100-byte values) loaded into the leader with redis-cli --pipe" \
         "in ${LOAD_S}s (errors: ${LOAD_ERR:-?}; leader dbsize $DBSIZE), all nodes applied it ${APPLY_S}s later"
    echo "automatic snapshots off (raft-snapshot-threshold 1000000000, raft-snapshot-log-min-size 100gb)"
    echo "latency: redis-benchmark against the leader, -c $CLIENTS -d 100 -r 1000000 -n $N, a SET run" \
         "then a GET run; latency in ms (p50/p99)"
    echo "snapshot rows: RAFT.DEBUG COMPACT right before the runs, on the leader only (leader), or" \
         "on all $NODES nodes, leader first (all: every node snapshots at once, the worst case; the" \
         "automatic rules stagger the nodes, conf/raftcache.conf; here $NODES nodes and their" \
         "snapshot children share $(nproc) cores and one disk); each run starts ${SETTLE}s after" \
         "the followers applied the previous one"
    echo
    printf '%-5s %-8s %10s %14s %6s %10s %14s %6s %16s %8s  %s\n' round snapshot "SET rps" \
        "SET p50/p99" "SET s" "GET rps" "GET p50/p99" "GET s" "snap ms lead/fol" "size MB" snapshot
    for ((round = 1; round <= ROUNDS; round++)); do
        for mode in no leader all; do
            k=$round,$mode
            read -r sr sp50 sp99 <<<"${SET_R[$k]}"
            read -r gr gp50 gp99 <<<"${GET_R[$k]}"
            if [ $mode != no ]; then
                ms="${SNAP_MS[$k]:-?}/${SNAP_FMS[$k]:-?}" size=$(mb "${SNAP_SIZE[$k]:-}") ov=${OVERLAP[$k]}
            else
                ms=- size=- ov=-
            fi
            printf '%-5s %-8s %10s %14s %6s %10s %14s %6s %16s %8s  %s\n' "$round" "$mode" "$sr" \
                "$sp50/$sp99" "${SET_S[$k]}" "$gr" "$gp50/$gp99" "${GET_S[$k]}" "$ms" "$size" "$ov"
        done
    done
    echo
    echo "p99 with a snapshot / without (same round):"
    for test in SET GET; do
        for mode in leader all; do
            ratios=""
            declare -n runs=${test}_R   # SET_R or GET_R: "rps p50 p99" per round,mode
            for ((round = 1; round <= ROUNDS; round++)); do
                read -r _ _ base <<<"${runs[$round,no]}"
                read -r _ _ with <<<"${runs[$round,$mode]}"
                ratios="$ratios $(awk -v a="$with" -v b="$base" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else print "n/a" }')"
            done
            median=$(echo $ratios | tr ' ' '\n' | grep -v n/a | sort -n |
                awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
            printf '  %s %-7s per round:%s; median %s\n' "$test" "$mode" "$ratios" "$median"
        done
    done
    echo
    k=$ROUNDS,all
    echo "snapshot (leader, round $ROUNDS): ${SNAP_MS[$k]:-?} ms, ${SNAP_SIZE[$k]:-?} bytes" \
         "($(mb "${SNAP_SIZE[$k]:-}") MB) for ${SNAP_KEYS[$k]:-?} keys"
    echo "snap ms lead/fol: snapshot_last_duration_ms of the leader / of the slowest follower;" \
         "size: the leader's snapshot_size (the SET runs add keys when BENCH_SNAP_KEYS < 1000000)."
    echo "snapshot column: whether the snapshots (any node's) outlasted both runs (the latency" \
         "window covered only part of them) or ended during the SET or the GET run (the rest of" \
         "the window ran without a snapshot: compare snap ms with SET s)."
    for ((round = 1; round <= ROUNDS; round++)); do
        for mode in leader all; do
            [ -z "${NOTE[$round,$mode]:-}" ] || echo "round $round $mode note:${NOTE[$round,$mode]}"
        done
    done
    echo
    if [ -n "$JOIN_STATUS" ] && [ -z "$CAUGHT_S" ] && [ -z "$N4_RECV" ]; then
        echo "join: $JOIN_STATUS"
    else
        echo "join: a 4th node (empty dir, no cluster-members) ran RAFT.CLUSTER JOIN with the" \
             "$NODES nodes' addresses at leader commit_index $JOIN_COMMIT:"
        echo "  join reply (+OK)      ${JOIN_REPLY_S} s"
        if [ -n "$CAUGHT_S" ]; then
            echo "  caught up             ${CAUGHT_S} s (last_applied_index >= $JOIN_COMMIT and is_voting:yes)"
        else
            echo "  caught up             $JOIN_STATUS"
        fi
        echo "  snapshots_received    ${N4_RECV:-?}"
    fi
} >"$WORK/table.txt"
mkdir -p "$ROOT/build"
cp "$WORK/table.txt" "$OUT"
echo
cat "$OUT"
echo "bench-snapshot: results written to build/bench-snapshot.txt"
