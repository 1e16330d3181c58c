#!/usr/bin/env bash
# make docker: builds the raftcache:latest image (docker/Dockerfile) from the
# repository root. On a machine with no Docker engine it installs Debian's
# docker.io and docker-compose and starts dockerd (root needed; that dockerd
# keeps running, for docker-compose to use), and creates the
# debian:bookworm-slim base with debootstrap when missing (scripts/docker-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/docker-lib.sh
docker_engine_up
docker_image_build
docker_log "built $RAFTCACHE_IMAGE: $($DOCKER image inspect -f '{{.Id}}' "$RAFTCACHE_IMAGE")"
if [ -n "$DOCKER_STARTED_PID" ]; then
    docker_log "the dockerd started here keeps running (pid $DOCKER_STARTED_PID)"
fi
