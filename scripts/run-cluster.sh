#!/usr/bin/env bash
# Starts the default local cluster (conf/cluster/node1..3.conf, ports
# 7001-7003) in the foreground, each node's log lines prefixed by its name.
# Ctrl-C (or SIGTERM) stops all three; the script returns when they have.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${RAFTCACHE_BIN:-build/raftcache}
pids=()
stop() {
    trap - INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
}
trap stop INT TERM
for i in 1 2 3; do
    # Process substitution keeps $! the server's own pid.
    "$BIN" "conf/cluster/node$i.conf" > >(sed -u "s/^/node$i | /") 2>&1 &
    pids+=($!)
done
echo "run-cluster: nodes on 127.0.0.1:7001-7003 (pids ${pids[*]}); Ctrl-C stops them"
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
exit $status
