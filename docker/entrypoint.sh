#!/bin/bash
# The image's entrypoint: starts raftcache with the image's config file, then
# directives from the environment, then the container's arguments (a later
# directive overrides an earlier one, so arguments win over the environment,
# which wins over the file):
#
#   raftcache CONFIG --dir /data [--directive value ...from RAFTCACHE_*] [ARGS...]
#
# Environment: RAFTCACHE_<DIRECTIVE>=value becomes `--directive value`, the
# name lowercased with '_' turned into '-' (RAFTCACHE_RAFT_ELECTION_TIMEOUT_MS
# -> --raft-election-timeout-ms). The value is one argument, spaces included
# (RAFTCACHE_CLUSTER_MEMBERS="1=h:7001 2=h:7002"); a directive that takes
# several arguments (bind with two addresses, save, client-output-buffer-limit)
# goes in the arguments instead. RAFTCACHE_INCLUDE=PATH reads another config
# file (how compose.yaml passes raft-secret from a secret file). An unknown
# directive stops the server at start, naming it. RAFTCACHE_HEALTH_* are the
# health check's own (docker/healthcheck.sh), not directives.
#
# Arguments: `--directive value ...` as for raftcache itself; a first argument
# that is a file is the config file instead of /etc/raftcache/raftcache.conf;
# a first argument that is neither runs that command (e.g. redis-cli).
set -euo pipefail

conf=/etc/raftcache/raftcache.conf
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    if [ -f "$1" ]; then
        conf=$1
        shift
    else
        exec "$@"
    fi
fi

args=(--dir /data)
for name in $(compgen -e | LC_ALL=C sort); do
    case $name in
    RAFTCACHE_HEALTH_*) continue ;;
    RAFTCACHE_?*) ;;
    *) continue ;;
    esac
    directive=${name#RAFTCACHE_}
    directive=${directive,,}
    args+=("--${directive//_/-}" "${!name}")
done
args+=("$@")

# The port the health check connects to: the last --port given, else the last
# `port` line of the config file, else the default.
port=$(awk 'tolower($1) == "port" { p = $2 } END { print p }' "$conf")
for ((i = 0; i < ${#args[@]} - 1; i++)); do
    [ "${args[i],,}" = "--port" ] && port=${args[i + 1]}
done
printf '%s\n' "${port:-6379}" >/tmp/raftcache.port

exec /usr/local/bin/raftcache "$conf" "${args[@]}"
