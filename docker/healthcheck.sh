#!/bin/bash
# The image's HEALTHCHECK: healthy when this node is a member of its cluster
# and knows a leader, i.e. RAFT.INFO says state:up and leader_id is not -1.
# It connects to RAFTCACHE_HEALTH_HOST (default 127.0.0.1) on the port the
# entrypoint found (/tmp/raftcache.port); with requirepass set through
# RAFTCACHE_REQUIREPASS, it authenticates with it.
set -uo pipefail
host=${RAFTCACHE_HEALTH_HOST:-127.0.0.1}
port=$(cat /tmp/raftcache.port 2>/dev/null || echo 6379)
if [ -n "${RAFTCACHE_REQUIREPASS:-}" ]; then
    export REDISCLI_AUTH=$RAFTCACHE_REQUIREPASS
fi
info=$(timeout 2 redis-cli --no-auth-warning -h "$host" -p "$port" --raw raft.info) || exit 1
info=${info//$'\r'/}
state=$(sed -n 's/^state://p' <<<"$info")
leader=$(sed -n 's/^leader_id://p' <<<"$info")
if [ "$state" = up ] && [ -n "$leader" ] && [ "$leader" != -1 ]; then
    exit 0
fi
echo "state:${state:-?} leader_id:${leader:-?}"
exit 1
