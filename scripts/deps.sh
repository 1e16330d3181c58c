#!/usr/bin/env bash
# Installs the Debian packages raftcache needs to build and test, if missing.
# liblzf-dev: the LZF compression of list nodes (src/ds/quicklist.c).
# liblua5.1-0-dev, lua-cjson-dev, lua-bitop-dev: Lua scripting (src/script/*.c).
# clang, libclang-rt-dev (sanitizer runtimes, libFuzzer) and llvm
# (llvm-symbolizer) serve make asan, make fuzz and make fuzz-short;
# clang-format serves make check (the format check).
# ruby and ruby-sidekiq (Sidekiq 6.4, with ruby-redis and ruby-connection-pool)
# serve the integration suite's Sidekiq test (tests/integration/test_sidekiq.py).
# procps: kill and ps, which Redis's test suite runs (redis-tests/; a minimal
# Debian root has neither).
# gnuplot-nox draws the benchmarks' charts under docs/bench/ (bench_docs in
# scripts/bench-lib.sh).
# python3-pytest-xdist runs the integration suite in parallel workers
# (scripts/run-integration.sh).
# python3-rq and python3-celery (RQ 1.13, Celery 5.2) serve the follower
# proxy's job-queue tests (tests/integration/test_proxy_frameworks.py).
# php-cli and php-redis (phpredis), with ruby-redis and python3-redis, are
# client libraries tests/integration/test_clients.py drives through a leader's
# kill -9 (the Node libraries come from npm: tests/clients/package.json).
# npm (Debian's, with its nodejs) installs those Node libraries: the
# integration suite runs `npm ci` in tests/clients/ (tests/integration/conftest.py).
# Bookworm's nodejs is 18, older than ioredis 6 and node-redis 6 need (20):
# the suite then fetches node 20 itself with npm (tests/clients/node-runtime/).
# A machine that already has an npm (nodesource's nodejs ships its own and
# conflicts with Debian's npm package) keeps it.
#
# Proxies: apt-get is given http_proxy / https_proxy (or HTTP_PROXY /
# HTTPS_PROXY) from the environment explicitly, since sudo does not pass them
# on; npm reads https_proxy (or HTTPS_PROXY) itself when the tests run it.
set -euo pipefail
pkgs=(build-essential pkg-config libev-dev libhiredis-dev libsqlite3-dev libssl-dev openssl libjemalloc-dev liblzf-dev libcmocka-dev
      liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
      redis-tools redis-server python3-redis python3-pytest python3-pytest-xdist python3-rq python3-celery
      tcl tcl-tls dpkg-dev iproute2 procps tcpdump
      clang libclang-rt-dev llvm clang-format ruby ruby-sidekiq ruby-redis php-cli php-redis gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
apt_opts=(-o Dpkg::Use-Pty=0)
http_proxy=${http_proxy:-${HTTP_PROXY:-}}
https_proxy=${https_proxy:-${HTTPS_PROXY:-}}
if [ -n "$http_proxy" ]; then apt_opts+=(-o "Acquire::http::Proxy=$http_proxy"); fi
if [ -n "$https_proxy" ]; then apt_opts+=(-o "Acquire::https::Proxy=$https_proxy"); fi
$SUDO apt-get "${apt_opts[@]}" update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq "${missing[@]}"
