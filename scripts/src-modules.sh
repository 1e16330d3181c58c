#!/usr/bin/env bash
# Prints the module include graph of src/, one "module dependency" line per
# edge: module M depends on module D when a file of M includes a header of D.
# A module is a header and the files that implement it, named by the header:
#   X.c, X.h, X_int.h                    -> X
#   node_*.c                             -> node   (the Raft driver's files)
#   storage_open.c                       -> storage
#   transport_*.c                        -> transport
#   t_zset_*.c, t_set_ops.c, t_list_*.c,
#   t_stream_*.c                         -> t_zset, t_set, t_list, t_stream
#   cmdtable_*.c                         -> cmdtable
#   config_*.c                           -> config
#   monitor_slowlog.c                    -> monitor
# Only src/ headers count (libraries and resp/, raft/ are checked by
# scripts/check-deps.sh).
set -u
cd "$(dirname "$0")/.."
module() {
    local b=${1##*/}
    b=${b%.[ch]}
    b=${b%_int}
    case $b in
    node_*) b=node ;;
    storage_open) b=storage ;;
    snapshot_write) b=snapshot ;;
    transport_*) b=transport ;;
    t_zset_*) b=t_zset ;;
    t_list_*) b=t_list ;;
    t_stream_*) b=t_stream ;;
    t_set_ops) b=t_set ;;
    cmdtable_*) b=cmdtable ;;
    config_*) b=config ;;
    monitor_slowlog) b=monitor ;;
    esac
    echo "$b"
}
for f in $(find src -name "*.[ch]" | sort); do
    m=$(module "$f")
    echo "$m $m" # every module appears, even one nothing includes
    grep -oE '^#[[:space:]]*include[[:space:]]*"([a-z]+/)?[a-z_0-9]+\.h"' "$f" | sed -E 's/.*"(.*)"/\1/' |
        while read -r h; do
            case $h in resp/* | raft/*) continue ;; esac
            d=$(module "$h")
            [ "$d" != "$m" ] && echo "$m $d"
        done
done | sort -u
