#!/usr/bin/env bash
# Installs the Debian packages raftcache needs to build and test, if missing.
# liblzf-dev: the LZF compression of list nodes (src/ds/quicklist.c).
# liblua5.1-0-dev, lua-cjson-dev, lua-bitop-dev: Lua scripting (src/script/*.c).
# clang, libclang-rt-dev (sanitizer runtimes, libFuzzer) and llvm
# (llvm-symbolizer) serve make asan, make fuzz and make fuzz-short;
# clang-format serves make check (the format check).
# ruby and ruby-sidekiq (Sidekiq 6.4, with ruby-redis and ruby-connection-pool)
# serve the integration suite's Sidekiq test (tests/integration/test_sidekiq.py).
# gnuplot-nox draws the benchmarks' charts under docs/bench/ (bench_docs in
# scripts/bench-lib.sh).
# php-cli and php-redis (phpredis), with ruby-redis and python3-redis, are
# client libraries tests/integration/test_clients.py drives through a leader's
# kill -9 (the Node libraries come from npm: tests/clients/package.json).
set -euo pipefail
pkgs=(build-essential pkg-config libev-dev libhiredis-dev libsqlite3-dev libjemalloc-dev liblzf-dev libcmocka-dev
      liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
      redis-tools redis-server python3-redis python3-pytest tcl dpkg-dev iproute2
      clang libclang-rt-dev llvm clang-format ruby ruby-sidekiq ruby-redis php-cli php-redis gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
