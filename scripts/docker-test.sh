#!/usr/bin/env bash
# make docker-test: the 3-node cluster of docker/compose.yaml, end to end, as
# root on a Debian bookworm machine (scripts/docker-lib.sh installs the engine,
# starts dockerd and creates the base image if needed, then builds the image).
#   1. up on three free ports of the host, a fresh secret, waits until every
#      container's HEALTHCHECK says healthy;
#   2. writes keys through redis-cli -c (following -MOVED from a follower);
#   3. docker kill (SIGKILL) the leader's container; the two others must
#      elect a new leader, and every acknowledged key must read back;
#   4. writes more keys, restarts the killed container: it must become healthy
#      and hold every key (READONLY reads on it, so its own copy is read);
#   5. tears everything down on exit, on failure too: containers, volumes,
#      the secret, and the dockerd it started (the FORWARD policy checked).
# Every wait has a timeout (DOCKER_TEST_TIMEOUT seconds, 180 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/docker-lib.sh

TIMEOUT=${DOCKER_TEST_TIMEOUT:-180}
KEYS_BEFORE=200
KEYS_AFTER=100
START=$SECONDS
PROJECT=raftcache-test-$$
TMP=$(mktemp -d /tmp/raftcache-docker-test.XXXXXX)
UP=

step() { echo "docker-test: [$((SECONDS - START)) s] $*"; }
fail() {
    echo "docker-test: FAILED: $*" >&2
    exit 1
}

cleanup() {
    local rc=$?
    set +e
    if [ -n "$UP" ]; then
        if [ $rc -ne 0 ]; then
            echo "docker-test: the containers' last log lines:" >&2
            compose logs --no-color --tail 40 >&2
        fi
        compose down -v --remove-orphans >/dev/null 2>&1 || rc=1
    fi
    rm -rf "$TMP"
    docker_engine_down
    if [ $rc -eq 0 ]; then
        step "passed"
    else
        echo "docker-test: failed after $((SECONDS - START)) s" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

compose() { $COMPOSE -f docker/compose.yaml -p "$PROJECT" "$@"; }

# Three ports free on the host, held together while they are picked.
free_ports() {
    /usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# field NODE NAME: a field of RAFT.INFO on node NODE (1-3), empty if it does
# not answer.
field() {
    timeout 5 redis-cli -p "${PORT[$1]}" --raw raft.info 2>/dev/null | tr -d '\r' |
        sed -n "s/^$2://p"
}

container() { compose ps -q "node$1"; }

wait_healthy() {
    local deadline=$((SECONDS + TIMEOUT)) n status
    for n in "$@"; do
        while :; do
            status=$($DOCKER inspect -f '{{.State.Health.Status}}' "$(container "$n")" 2>/dev/null) || true
            [ "$status" = healthy ] && break
            [ $SECONDS -lt $deadline ] || fail "node$n not healthy within $TIMEOUT s (health: ${status:-none})"
            sleep 1
        done
    done
}

# write NODE FIRST COUNT: SET key:i val:i for i in [FIRST, FIRST+COUNT) through
# redis-cli -c on NODE; every SET must be acknowledged.
write_keys() {
    local node=$1 first=$2 count=$3 acked
    acked=$(seq "$first" $((first + count - 1)) | sed 's/.*/SET key:& val:&/' |
        timeout "$TIMEOUT" redis-cli -c -p "${PORT[$node]}" | grep -v '^-> Redirected' | grep -c '^OK$') || true
    [ "$acked" -eq "$count" ] || fail "$acked of $count SETs acknowledged through node$node"
}

# check NODE COUNT [READONLY]: key:1..COUNT read back through NODE with their
# values (redis-cli -c, or READONLY on NODE itself); returns 1 if not.
check_keys() {
    local node=$1 count=$2 mode=${3:-} opts=(-c) got
    [ -z "$mode" ] || opts=()
    got=$({
        [ -z "$mode" ] || echo READONLY
        seq 1 "$count" | sed 's/.*/GET key:&/'
    } | timeout 30 redis-cli "${opts[@]}" -p "${PORT[$node]}" 2>/dev/null |
        grep -v '^-> Redirected') || return 1
    [ -z "$mode" ] || got=$(tail -n +2 <<<"$got")
    [ "$got" = "$(seq 1 "$count" | sed 's/.*/val:&/')" ]
}

docker_engine_up
step "engine answers ($($DOCKER version -f '{{.Server.Version}}'), $COMPOSE)"
docker_image_build
step "image $RAFTCACHE_IMAGE built"

read -r -a ports <<<"$(free_ports)"
PORT=([1]=${ports[0]} [2]=${ports[1]} [3]=${ports[2]})
export RAFTCACHE_NODE1_PORT=${PORT[1]} RAFTCACHE_NODE2_PORT=${PORT[2]} RAFTCACHE_NODE3_PORT=${PORT[3]}
export RAFTCACHE_SECRET_FILE=$TMP/raft-secret.conf
printf 'raft-secret %s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$RAFTCACHE_SECRET_FILE"
chown 999:999 "$RAFTCACHE_SECRET_FILE"
chmod 600 "$RAFTCACHE_SECRET_FILE"

UP=1
compose up -d >/dev/null 2>&1 || { compose up -d; fail "compose up"; }
step "cluster up on 127.0.0.1:${PORT[1]},${PORT[2]},${PORT[3]} (project $PROJECT)"
wait_healthy 1 2 3
step "3 nodes healthy"

# The environment became directives (advertise-addr from
# RAFTCACHE_ADVERTISE_ADDR), and the secret, read from the compose secret, is
# in no container's environment or command line.
secret=$(awk '{ print $2 }' "$RAFTCACHE_SECRET_FILE")
for n in 1 2 3; do
    got=$(redis-cli -p "${PORT[$n]}" config get advertise-addr | tail -n 1)
    [ "$got" = "127.0.0.1:${PORT[$n]}" ] || fail "node$n: advertise-addr '$got'"
    seen=$($DOCKER inspect -f '{{.Config.Env}} {{.Path}} {{.Args}}' "$(container "$n")")
    seen+=$($DOCKER exec "$(container "$n")" cat /proc/1/cmdline | tr '\0' ' ')
    case $seen in *"$secret"*) fail "node$n: raft-secret visible in its environment or command line" ;; esac
done
step "directives from the environment applied; raft-secret not exposed"

leader=$(field 1 leader_id)
[[ "$leader" =~ ^[123]$ ]] || fail "node1 reports leader_id '$leader'"
follower=$((leader % 3 + 1))
write_keys "$follower" 1 $KEYS_BEFORE
step "$KEYS_BEFORE SETs acknowledged through node$follower (a follower; leader node$leader)"

victim=$(container "$leader")
$DOCKER kill "$victim" >/dev/null
step "killed node$leader (docker kill, SIGKILL)"
survivors=()
for n in 1 2 3; do [ "$n" -eq "$leader" ] || survivors+=("$n"); done
deadline=$((SECONDS + TIMEOUT))
while :; do
    a=$(field "${survivors[0]}" leader_id)
    b=$(field "${survivors[1]}" leader_id)
    [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != -1 ] && [ "$a" != "$leader" ] && break
    [ $SECONDS -lt $deadline ] || fail "no new leader within $TIMEOUT s (node${survivors[0]}: '$a', node${survivors[1]}: '$b')"
    sleep 0.5
done
step "new leader node$a"
check_keys "${survivors[0]}" $KEYS_BEFORE || fail "acknowledged keys not all readable after the leader's death"
step "$KEYS_BEFORE acknowledged keys read back"
write_keys "${survivors[0]}" $((KEYS_BEFORE + 1)) $KEYS_AFTER
total=$((KEYS_BEFORE + KEYS_AFTER))
step "$KEYS_AFTER more SETs acknowledged with node$leader down"

$DOCKER start "$victim" >/dev/null
step "restarted node$leader"
wait_healthy "$leader"
deadline=$((SECONDS + TIMEOUT))
until check_keys "$leader" $total readonly; do
    [ $SECONDS -lt $deadline ] || fail "node$leader does not hold the $total keys within $TIMEOUT s"
    sleep 1
done
step "node$leader rejoined (state:$(field "$leader" state), leader node$(field "$leader" leader_id)) and holds all $total keys"
check_keys "$leader" $total || fail "keys not readable through redis-cli -c on node$leader"
