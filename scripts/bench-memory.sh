#!/usr/bin/env bash
# scripts/bench-memory.sh - memory of each data type, raftcache beside
# redis-server, in one run (make bench-memory).
#
# For each dataset, a fresh redis-server (no persistence) and a fresh
# single-node raftcache (default settings but raft-log-fsync no) are
# started on free ports in temp dirs, the dataset is loaded into each with
# redis-cli --pipe, and the table shows the growth of INFO used_memory and
# of the process's RSS (VmRSS) over the empty server, for both, and the
# raftcache/redis ratios:
#   hashes   1M hashes of 10 small fields (HSET h:<i> f0 <v> ... f9 <v>)
#   sets     1M sets of 10 small integers (SADD s:<i> ...)
#   zset     one sorted set of 1M members (ZADD z <score> m:<i>)
#   strings  1M 100-byte strings (SET key:<i> <100 bytes>)
#   lists    100 lists of 100k 10-byte elements each (l:<i>, filled by
#            RPUSH of 1000 elements a command; BENCH_MEM_LISTS and
#            BENCH_MEM_LIST_LEN, not N, set their number and length)
#   stream   one stream of 1M small entries (XADD st * f <10 bytes>, IDs
#            made by the server)
# raftcache's figure holds its data and the Raft log applied since its last
# snapshot, which it keeps in memory to feed followers; the "compacted"
# column is used_memory again after RAFT.DEBUG COMPACT snapshots the data and
# drops that log, i.e. what the data's own representation takes.
# Then the overwrite case (BENCH_MEM_OVERWRITE=0: not run): 1M 100-byte
# strings (the strings dataset), then 3 rounds that overwrite every key, in
# a shuffled order, with a value of a random size from 50 to 500 bytes (the
# same seeded sizes for both servers). It prints the process's whole RSS and
# used_memory, fresh and after the overwrites, for both servers and as
# raftcache/redis ratios: what is left of freed values' pages shows there
# as fragmentation (INFO mem_fragmentation_ratio, also printed).
# It measures and prints; it never fails on a number. The table is written
# to build/bench-memory.txt as well, and with a chart to
# docs/bench/bench-memory.{txt,png} (BENCH_DOCS=0: not).
#
# Environment: RAFTCACHE_BIN (default build/raftcache), BENCH_MEM_N (items
# per dataset, default 1000000), BENCH_MEM_SETS (datasets, default
# "hashes sets zset strings lists stream"; empty: the overwrite case alone), BENCH_MEM_LISTS (lists, default 100),
# BENCH_MEM_LIST_LEN (elements a list, default 100000), BENCH_MEM_OVERWRITE
# (1: run the overwrite case, the default; 0: not), BENCH_MEM_ROUNDS
# (overwrite rounds, default 3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$ROOT/build/raftcache}
RAFTCACHE_CMD='"$RAFTCACHE_BIN" --port "$PORT" --dir "$DIR" --raft-log-fsync no'
REDIS_CMD='redis-server --port "$PORT" --dir "$DIR" --save "" --appendonly no --bind 127.0.0.1'
N=${BENCH_MEM_N:-1000000}
SETS=${BENCH_MEM_SETS-"hashes sets zset strings lists stream"}
LISTS=${BENCH_MEM_LISTS:-100}
LIST_LEN=${BENCH_MEM_LIST_LEN:-100000}
OVERWRITE=${BENCH_MEM_OVERWRITE:-1}
ROUNDS=${BENCH_MEM_ROUNDS:-3}
OUT=$ROOT/build/bench-memory.txt
PY=/usr/bin/python3

bench_need bench-memory redis-server redis-cli
[ -x "$RAFTCACHE_BIN" ] || { echo "bench-memory: $RAFTCACHE_BIN not built (run make)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/raftcache-bench-memory.XXXXXX)
declare -A PID PORTOF
cleanup() {
    bench_stop_groups "${PID[@]+"${PID[@]}"}"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# write_dataset NAME PATH: the dataset's commands as RESP.
write_dataset() {
    "$PY" - "$1" "$N" "$2" "$LISTS" "$LIST_LEN" <<'EOF'
import sys
name, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lists, list_len = int(sys.argv[4]), int(sys.argv[5])

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

with open(path, "wb", buffering=1 << 20) as f:
    if name == "lists":
        for i in range(lists):
            key = b"l:%d" % i
            for start in range(0, list_len, 1000):
                stop = min(list_len, start + 1000)
                f.write(cmd(b"RPUSH", key, *[b"el%08d" % j for j in range(start, stop)]))  # 10 bytes
    elif name == "zset":
        for start in range(0, n, 1000):
            args = [b"ZADD", b"z"]
            for i in range(start, min(n, start + 1000)):
                args += [str((i * 7919) % 1000003 / 7.0).encode(), b"m:%d" % i]
            f.write(cmd(*args))
    else:
        for i in range(n):
            if name == "hashes":
                args = [b"HSET", b"h:%d" % i]
                for j in range(10):
                    args += [b"f%d" % j, b"%d" % ((i + j) % 1000)]
            elif name == "stream":
                args = [b"XADD", b"st", b"*", b"f", b"v%09d" % i]  # 10 bytes
            elif name == "sets":
                args = [b"SADD", b"s:%d" % i] + [b"%d" % ((i + j * 37) % 10000) for j in range(10)]
            else:
                args = [b"SET", b"key:%012d" % i, (b"%012d" % i * 9)[:100]]
            f.write(cmd(*args))
EOF
}

# write_overwrite ROUND PATH: SET of every key:<i> of the strings dataset,
# in a shuffled order, each with a value of 50 to 500 bytes (seeded by ROUND).
write_overwrite() {
    "$PY" - "$1" "$N" "$2" <<'EOF'
import random, sys
rnd, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(rnd)
order = list(range(n))
r.shuffle(order)
with open(path, "wb", buffering=1 << 20) as f:
    for i in order:
        key = b"key:%012d" % i
        size = r.randint(50, 500)
        val = (b"%012d" % i * 42)[:size]
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, val))
EOF
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || a == "" || b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
rss_bytes() { echo $(( $(vm_rss_kb "$1") * 1024 )); }

# compact_used NAME BEFORE: RAFT.DEBUG COMPACT (retried while an automatic
# snapshot is still being written), then used_memory growth once the log is
# empty (at most 300 s; "n/a" if it does not get there).
compact_used() {
    local before=$2 i reply
    for i in $(seq 600); do
        reply=$(cli "$1" raft.debug compact 2>&1) || { echo n/a; return; }
        case "$reply" in
            OK|*"nothing to compact"*)
                if cli "$1" raft.info | grep -q '^snapshot_in_progress:no' &&
                    cli "$1" raft.info | grep -q '^log_entries:0'; then
                    sleep 1
                    echo $(( $(info_field "$1" used_memory) - before ))
                    return
                fi ;;
            *"already in progress"*) ;;
            *) echo n/a; return ;;
        esac
        sleep 0.5
    done
    echo n/a
}

declare -A MEM RSS ENC COMPACT
for set in $SETS; do
    load=$WORK/$set.resp
    write_dataset "$set" "$load"
    for s in redis raftcache; do
        cmd=$REDIS_CMD
        [ "$s" = raftcache ] && cmd=$RAFTCACHE_CMD
        rm -rf "${WORK:?}/$s" # a fresh data dir: nothing of the previous dataset
        start "$s" "$cmd"
        before=$(info_field "$s" used_memory); rss_before=$(rss_bytes "$s")
        piped=$(timeout 1800 redis-cli -h 127.0.0.1 -p "${PORTOF[$s]}" --pipe --pipe-timeout 300 \
                <"$load" 2>&1 || true)
        sleep 1 # let lazily freed buffers go and INFO refresh
        MEM[$set,$s]=$(( $(info_field "$s" used_memory) - before ))
        RSS[$set,$s]=$(( $(rss_bytes "$s") - rss_before ))
        sample=$(cli "$s" randomkey)
        ENC[$set,$s]=$(cli "$s" object encoding "$sample")
        [ "$s" = raftcache ] && COMPACT[$set]=$(compact_used "$s" "$before")
        echo "bench-memory: $set on $s: $(echo "$piped" | tail -1)"
        bench_stop_groups "${PID[$s]}"
        unset "PID[$s]"
    done
    rm -f "$load"
done

# The overwrite case: whole-process figures (not growth), after each phase.
declare -A OW
if [ "$OVERWRITE" = 1 ]; then
    write_dataset strings "$WORK/fresh.resp"
    for ((r = 1; r <= ROUNDS; r++)); do write_overwrite "$r" "$WORK/round$r.resp"; done
    for s in redis raftcache; do
        cmd=$REDIS_CMD
        [ "$s" = raftcache ] && cmd=$RAFTCACHE_CMD
        rm -rf "${WORK:?}/$s"
        start "$s" "$cmd"
        for phase in fresh $(seq -f 'round%g' 1 "$ROUNDS"); do
            piped=$(timeout 1800 redis-cli -h 127.0.0.1 -p "${PORTOF[$s]}" --pipe \
                    --pipe-timeout 300 <"$WORK/$phase.resp" 2>&1 || true)
            echo "bench-memory: overwrite $phase on $s: $(echo "$piped" | tail -1)"
            [ "$phase" = fresh ] || [ "$phase" = "round$ROUNDS" ] || continue
            at=$([ "$phase" = fresh ] && echo fresh || echo after)
            sleep 1 # let lazily freed values go and INFO refresh
            OW[$at,used,$s]=$(info_field "$s" used_memory)
            OW[$at,rss,$s]=$(rss_bytes "$s")
            OW[$at,frag,$s]=$(info_field "$s" mem_fragmentation_ratio)
        done
        bench_stop_groups "${PID[$s]}"
        unset "PID[$s]"
    done
fi

{
    if [ -n "$SETS" ]; then
        echo "memory per dataset: raftcache vs redis-server $(redis-server --version |
            sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(date -u +%Y-%m-%dT%H:%MZ), N=$N" \
            "$(case " $SETS " in *" lists "*) echo "(lists: $LISTS x $LIST_LEN elements)" ;; esac)"
        echo "growth over the empty server, MB; encoding of a sample key"
        echo
        printf '%-8s %12s %12s %7s %10s %10s %7s %10s %7s  %s\n' dataset "redis used" \
            "raftc used" ratio "redis rss" "raftc rss" ratio compacted ratio \
            "encodings (redis / raftcache)"
        for set in $SETS; do
            c=${COMPACT[$set]:-n/a}
            printf '%-8s %12s %12s %7s %10s %10s %7s %10s %7s  %s\n' "$set" \
                "$(mb "${MEM[$set,redis]}")" "$(mb "${MEM[$set,raftcache]}")" \
                "$(ratio "${MEM[$set,raftcache]}" "${MEM[$set,redis]}")" \
                "$(mb "${RSS[$set,redis]}")" "$(mb "${RSS[$set,raftcache]}")" \
                "$(ratio "${RSS[$set,raftcache]}" "${RSS[$set,redis]}")" \
                "$([ "$c" = n/a ] && echo n/a || mb "$c")" "$(ratio "$c" "${MEM[$set,redis]}")" \
                "${ENC[$set,redis]} / ${ENC[$set,raftcache]}"
        done
    fi
    if [ "$OVERWRITE" = 1 ]; then
        echo
        echo "overwrite: $N 100-byte strings (fresh), then $ROUNDS rounds overwriting every key"
        echo "in a shuffled order with 50-500-byte values (after); whole process, MB"
        echo
        printf '%-7s %10s %10s %7s %10s %10s %7s %11s %11s\n' phase "redis used" "raftc used" \
            ratio "redis rss" "raftc rss" ratio "redis frag" "raftc frag"
        for at in fresh after; do
            printf '%-7s %10s %10s %7s %10s %10s %7s %11s %11s\n' "$at" \
                "$(mb "${OW[$at,used,redis]}")" "$(mb "${OW[$at,used,raftcache]}")" \
                "$(ratio "${OW[$at,used,raftcache]}" "${OW[$at,used,redis]}")" \
                "$(mb "${OW[$at,rss,redis]}")" "$(mb "${OW[$at,rss,raftcache]}")" \
                "$(ratio "${OW[$at,rss,raftcache]}" "${OW[$at,rss,redis]}")" \
                "${OW[$at,frag,redis]}" "${OW[$at,frag,raftcache]}"
        done
    fi
} >"$WORK/table.txt"
mkdir -p "$ROOT/build"
cp "$WORK/table.txt" "$OUT"
echo
cat "$OUT"
echo "bench-memory: results written to build/bench-memory.txt"
for set in $SETS; do
    c=${COMPACT[$set]:-n/a}
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$(mb "${MEM[$set,redis]:-}")" "$(mb "${MEM[$set,raftcache]:-}")" \
        "$(mb "${RSS[$set,redis]:-}")" "$(mb "${RSS[$set,raftcache]:-}")" "$([ "$c" = n/a ] && echo n/a || mb "$c")"
done >"$WORK/plot.tsv"
[ -z "$SETS" ] || bench_docs bench-memory memory "make bench-memory: growth of used_memory and RSS per dataset (N=$N)" \
    "$WORK/table.txt" "$WORK/plot.tsv"
