#!/usr/bin/env bash
# redis-tests/cluster-server.sh - the suite's src/redis-server for the units
# it starts servers for itself (run.sh SPAWN_UNITS) in the cluster mode
# (RT_CLUSTER_NODES=N, N >= 2): each server the suite starts from a config
# file is an N-node raftcache cluster whose leader, node 1, listens on the
# file's port and reads the file, the directives the suite gives included.
#
#   src/redis-server CONFIG [--directive value ...]
#
# Node 1 keeps the file's dir; node i > 1 listens on a free port (the same
# one when the suite restarts the server) and keeps its data in
# DIR/raftcache-node<i>, holding a copy of DIR's *.acl files
# (an aclfile is read relative to dir), and its own unixsocket DIR/n<i>.sock when
# the file names one (the nodes binding one path would race: each removes
# the stale file before its bind). Nodes other than 1 start with a
# longer election timeout; another node leading hands over to node 1
# (RAFT.TRANSFER_LEADER). Node 1's output reaches the suite only once node
# 1 leads and takes a write, followed by a line naming this process's pid
# as " PID: <pid>", the banner line the suite waits for, so that the
# server the suite started is ready as redis-server would be. This process stands for the
# cluster: SIGTERM or SIGINT stop every node (node 1 first, with that
# signal); node 1 exiting (SHUTDOWN) stops the others; a watcher stops
# them too if this process is killed with SIGKILL. Without a config file
# (`src/redis-server --user foo --user foo`) it is raftcache alone.
#
# Environment: RAFTCACHE_BIN (the server), RT_CLUSTER_NODES (N),
# RT_START_TIMEOUT (seconds for node 1 to lead, 60).
set -u
BIN=${RAFTCACHE_BIN:?RAFTCACHE_BIN names the raftcache binary}
N=${RT_CLUSTER_NODES:-3}
START_TIMEOUT=${RT_START_TIMEOUT:-60}
if [ $# -eq 0 ] || [ ! -f "$1" ]; then exec "$BIN" "$@"; fi
conf=$1
shift

# The last value of a directive in the file (the suite writes each once).
directive() { awk -v d="$1" '$1 == d { v = $2 } END { gsub(/"/, "", v); print v }' "$conf"; }
port=$(directive port)
dir=$(directive dir)
[ -n "$port" ] && [ -n "$dir" ] || { echo "cluster-server: $conf names no port or dir" >&2; exit 1; }

free_ports() {
    /usr/bin/python3 -c '
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); held.append(s); print(s.getsockname()[1])' "$1"
}
# The other nodes' ports are the cluster's for good (its log names them):
# a restart (the suite's restart_server) takes them again.
ports_file=$dir/raftcache-ports
if [ -f "$ports_file" ]; then
    read -r -a ports <"$ports_file"
else
    ports=("$port" $(free_ports $((N - 1))))
    echo "${ports[*]}" >"$ports_file"
fi
members=""
for ((i = 1; i <= N; i++)); do members="$members $i=127.0.0.1:${ports[$((i - 1))]}"; done
members=${members# }
secret=redis-tests-cluster-secret

pids=()
for ((i = 2; i <= N; i++)); do
    d=$dir/raftcache-node$i
    mkdir -p "$d"
    cp -f "$dir"/*.acl "$d"/ 2>/dev/null
    sock=()
    [ -n "$(directive unixsocket)" ] && sock=(--unixsocket "$dir/n$i.sock")
    "$BIN" "$conf" "$@" "${sock[@]+"${sock[@]}"}" --port "${ports[$((i - 1))]}" --dir "$d" --node-id "$i" \
        --cluster-members "$members" --raft-secret "$secret" \
        --raft-election-timeout-ms 3000 </dev/null >"$d.log" 2>&1 &
    pids+=($!)
done
out=$dir/raftcache-node1.out
"$BIN" "$conf" "$@" --node-id 1 --cluster-members "$members" --raft-secret "$secret" \
    --raft-election-timeout-ms 200 </dev/null >"$out" 2>&1 &
node1=$!
relay=""

stop_all() {
    local sig=$1 p
    kill -"$sig" "$node1" 2>/dev/null
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait "$node1" "${pids[@]}" 2>/dev/null
    [ -n "$relay" ] && kill "$relay" 2>/dev/null
}
trap 'stop_all TERM; exit 143' TERM
trap 'stop_all INT; exit 130' INT
# Killed with SIGKILL: the watcher stops the nodes (it polls this process).
self=$$
(
    trap '' TERM INT
    while kill -0 "$self" 2>/dev/null; do sleep 0.5; done
    kill -9 "$node1" "${pids[@]}" 2>/dev/null
) </dev/null >/dev/null 2>&1 &

field() {
    timeout 5 redis-cli -h 127.0.0.1 -p "$1" raft.info 2>/dev/null | tr -d '\r' |
        sed -n "s/^$2://p"
}

# Node 1 leads and takes a write; until then its output is held back.
deadline=$((SECONDS + START_TIMEOUT))
while :; do
    kill -0 "$node1" 2>/dev/null || { cat "$out"; stop_all TERM; exit 1; }
    if [ "$(field "$port" role)" = leader ] && [ "$(timeout 5 redis-cli -h 127.0.0.1 \
        -p "$port" set __cluster_server_probe 1 2>/dev/null)" = OK ]; then
        redis-cli -h 127.0.0.1 -p "$port" del __cluster_server_probe >/dev/null 2>&1
        break
    fi
    for ((i = 2; i <= N; i++)); do
        p=${ports[$((i - 1))]}
        [ "$(field "$p" role)" = leader ] && redis-cli -h 127.0.0.1 -p "$p" \
            raft.transfer_leader 1 >/dev/null 2>&1
    done
    if [ $SECONDS -ge $deadline ]; then
        cat "$out"
        echo "cluster-server: node 1 did not lead within ${START_TIMEOUT}s" >&2
        stop_all TERM
        exit 1
    fi
    sleep 0.1
done
tail -n +1 -F "$out" 2>/dev/null &
relay=$!
# The suite knows a server started by " PID: <the pid it spawned>": this
# process's, which stands for the cluster (node 1's own banner names its).
echo "cluster-server: node 1 leads the $N-node cluster on port $port, PID: $$"
wait "$node1"
rc=$?
stop_all TERM
exit $rc
