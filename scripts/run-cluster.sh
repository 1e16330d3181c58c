#!/usr/bin/env bash
# Starts the default local cluster in the foreground: node1..3.conf of
# RUN_CONF_DIR (default conf/cluster), each node's log lines prefixed by its
# name. The banner names the addresses read from those files (bind and port,
# the last value of each, as the server reads them).
# Ctrl-C (or SIGTERM or SIGHUP to this script) stops the nodes cleanly: each gets
# SIGTERM, its shutdown lines are printed, and the script returns when every
# node has exited: status 0 if all of them exited cleanly.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${RAFTCACHE_BIN:-build/raftcache}
CONF_DIR=${RUN_CONF_DIR:-conf/cluster}
NODES=(1 2 3)

# conf_value FILE DIRECTIVE DEFAULT: the first word of the directive's last
# line in FILE, unquoted, or DEFAULT.
conf_value() {
    local v
    v=$(awk -v d="$2" 'tolower($1) == d { v = $2 } END { gsub(/["'\'']/, "", v); print v }' "$1")
    echo "${v:-$3}"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-cluster.XXXXXX")
pids=()
prefixers=()
addrs=()
stop() {
    # A second Ctrl-C ends this script at once (the nodes still stop); a
    # terminal hangup repeats its SIGHUP, which must not cut the cleanup short.
    trap - INT TERM
    trap '' HUP
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
}
trap stop INT TERM HUP
for i in "${NODES[@]}"; do
    conf="$CONF_DIR/node$i.conf"
    [ -r "$conf" ] || { echo "run-cluster: cannot read $conf" >&2; stop; break; }
    addrs+=("node$i on $(conf_value "$conf" bind 127.0.0.1):$(conf_value "$conf" port 6379)")
    mkfifo "$tmp/node$i"
    # Ctrl-C signals the terminal's whole foreground process group: the
    # prefixer ignores it, so that it still prints the node's shutdown lines,
    # and ends when the node closes its output.
    (trap '' INT TERM; exec sed -u "s/^/node$i | /" <"$tmp/node$i") &
    prefixers+=($!)
    # Its own session: the node is stopped by this script's SIGTERM alone.
    setsid "$BIN" "$conf" >"$tmp/node$i" 2>&1 &
    pids+=($!)
done
if [ ${#pids[@]} -eq ${#NODES[@]} ]; then
    banner=$(printf '%s, ' "${addrs[@]}")
    echo "run-cluster: ${banner%, } (pids ${pids[*]}); Ctrl-C stops them"
fi
status=0
for p in "${pids[@]}"; do
    # A trapped signal interrupts wait (status > 128) while the node still
    # runs: wait again until it has exited, and keep its own status.
    while :; do
        wait "$p"
        rc=$?
        kill -0 "$p" 2>/dev/null || break
    done
    [ "$rc" -eq 0 ] || status=$rc
done
wait "${prefixers[@]}" 2>/dev/null
rm -rf "$tmp"
[ ${#pids[@]} -eq ${#NODES[@]} ] || status=1
exit $status
