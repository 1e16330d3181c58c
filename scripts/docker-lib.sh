# shellcheck shell=bash
# Sourced by scripts/docker-build.sh (make docker) and scripts/docker-test.sh
# (make docker-test): gets a Docker engine answering and the raftcache image
# built, on a fresh Debian bookworm machine as root with nothing set up.
#
#   docker_engine_up   an engine that answers: Debian's docker.io and
#                      docker-compose installed with apt-get if none answers
#                      (services kept from starting during the install), and
#                      a dockerd started if none runs. The dockerd started here
#                      does not touch iptables nor create a bridge
#                      (--iptables=false --bridge=none): the image is built with
#                      --network host and compose.yaml uses host networking, so
#                      neither needs NAT, and the host's FORWARD policy, which the
#                      chaos test's bridged namespaces rely on, stays as it was.
#                      Sets DOCKER_STARTED_PID when it started one.
#   docker_engine_down stops the dockerd docker_engine_up started, if any, and
#                      puts the iptables FORWARD policy back if it changed.
#   docker_image_build debian:bookworm-slim created locally with debootstrap if
#                      missing (no registry is reached), then the image built;
#                      its layers are cached, so a current image costs seconds.
#
# Variables: DOCKER (the client; Debian's /usr/bin/docker when present, as it
# matches Debian's engine), COMPOSE (docker-compose, or "docker compose"),
# RAFTCACHE_IMAGE (raftcache:latest), DOCKERD_LOG (where a dockerd started here
# logs). The legacy builder is used (DOCKER_BUILDKIT=0): Debian's engine builds
# with it without the buildx plugin.

RAFTCACHE_IMAGE=${RAFTCACHE_IMAGE:-raftcache:latest}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/raftcache-dockerd.log}
DOCKER_STARTED_PID=
FORWARD_POLICY_BEFORE=
export DOCKER_BUILDKIT=0

docker_log() { echo "docker: $*" >&2; }

docker_pick_client() {
    if [ -x /usr/bin/docker ]; then DOCKER=${DOCKER:-/usr/bin/docker}; else DOCKER=${DOCKER:-docker}; fi
    if command -v docker-compose >/dev/null; then
        COMPOSE=${COMPOSE:-docker-compose}
    else
        COMPOSE=${COMPOSE:-$DOCKER compose}
    fi
}

docker_need_root() {
    [ "$(id -u)" -eq 0 ] || { docker_log "$1 needs root"; return 1; }
}

forward_policy() {
    command -v iptables >/dev/null || return 0
    iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" { print $3 }'
}

# apt-get install, with services kept from starting (a policy-rc.d saying no,
# only if the host has none): the engine is started below, without iptables.
apt_install() {
    local guard=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        guard=1
    fi
    local rc=0 log=build/docker/apt.log
    mkdir -p build/docker
    docker_log "apt-get install $* (log $log)"
    {
        apt-get -o DPkg::Lock::Timeout=600 update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@"
    } >"$log" 2>&1 || {
        rc=$?
        tail -n 30 "$log" >&2
    }
    [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
    return $rc
}

docker_answers() { $DOCKER info >/dev/null 2>&1; }

docker_engine_up() {
    FORWARD_POLICY_BEFORE=$(forward_policy)
    docker_pick_client
    docker_answers && return 0
    docker_need_root "starting a Docker engine" || return 1
    local pkgs=()
    command -v dockerd >/dev/null || pkgs+=(docker.io)
    command -v docker-compose >/dev/null || pkgs+=(docker-compose)
    if [ ${#pkgs[@]} -gt 0 ]; then
        apt_install "${pkgs[@]}" || return 1
        DOCKER='' COMPOSE=''
        docker_pick_client
        docker_answers && return 0
    fi
    [ -n "$FORWARD_POLICY_BEFORE" ] || FORWARD_POLICY_BEFORE=$(forward_policy)
    if pidof dockerd >/dev/null; then
        # One runs but does not answer yet (starting): wait for it.
        docker_wait_engine 60 && return 0
        docker_log "a dockerd runs but does not answer"
        return 1
    fi
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    setsid dockerd --iptables=false --ip6tables=false --bridge=none \
        >>"$DOCKERD_LOG" 2>&1 </dev/null &
    DOCKER_STARTED_PID=$!
    docker_log "started dockerd (pid $DOCKER_STARTED_PID, log $DOCKERD_LOG)"
    docker_wait_engine 60 || {
        docker_log "dockerd did not answer within 60 s; its log:"
        tail -n 30 "$DOCKERD_LOG" >&2
        return 1
    }
}

docker_wait_engine() {
    local deadline=$((SECONDS + $1))
    while [ $SECONDS -lt $deadline ]; do
        docker_answers && return 0
        sleep 1
    done
    return 1
}

docker_engine_down() {
    if [ -n "$DOCKER_STARTED_PID" ] && kill -0 "$DOCKER_STARTED_PID" 2>/dev/null; then
        docker_log "stopping the dockerd started here (pid $DOCKER_STARTED_PID)"
        kill -TERM "$DOCKER_STARTED_PID"
        local deadline=$((SECONDS + 60))
        while kill -0 "$DOCKER_STARTED_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            sleep 1
        done
        kill -0 "$DOCKER_STARTED_PID" 2>/dev/null && kill -KILL "$DOCKER_STARTED_PID"
        DOCKER_STARTED_PID=
    fi
    local now
    now=$(forward_policy)
    if [ -n "$FORWARD_POLICY_BEFORE" ] && [ "$now" != "$FORWARD_POLICY_BEFORE" ]; then
        docker_log "iptables FORWARD policy $now, was $FORWARD_POLICY_BEFORE: restoring it"
        iptables -P FORWARD "$FORWARD_POLICY_BEFORE"
    fi
    return 0
}

# debian:bookworm-slim, made here when missing: no registry is reachable, but
# Debian's mirrors are (debootstrap's minbase is close to the slim image).
docker_base_image() {
    $DOCKER image inspect debian:bookworm-slim >/dev/null 2>&1 && return 0
    docker_need_root "creating debian:bookworm-slim with debootstrap" || return 1
    command -v debootstrap >/dev/null || apt_install debootstrap || return 1
    local dir rc=0
    dir=$(mktemp -d /var/tmp/raftcache-base.XXXXXX)
    docker_log "debootstrap --variant=minbase bookworm $dir/root"
    if debootstrap --variant=minbase bookworm "$dir/root" >"$dir/log" 2>&1; then
        tar -C "$dir/root" -c . | $DOCKER import - debian:bookworm-slim >/dev/null || rc=$?
    else
        rc=$?
        tail -n 30 "$dir/log" >&2
    fi
    rm -rf "$dir"
    return $rc
}

docker_image_build() {
    docker_base_image || return 1
    local log=build/docker/build.log
    mkdir -p build/docker
    docker_log "building $RAFTCACHE_IMAGE (docker/Dockerfile; log $log)"
    $DOCKER build --network host -f docker/Dockerfile -t "$RAFTCACHE_IMAGE" . >"$log" 2>&1 || {
        tail -n 40 "$log" >&2
        return 1
    }
}
