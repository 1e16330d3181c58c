#!/usr/bin/env bash
# Runs the integration suite (tests/integration/, pytest) against build/raftcache
# or $RAFTCACHE_BIN. Extra arguments go to pytest (e.g. -k maxclients -x, or
# the test files to run instead of the whole suite).
# Exit status 5 from pytest ("no tests collected") counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$PWD/build/raftcache}
if [ ! -x "$RAFTCACHE_BIN" ] && ! command -v "$RAFTCACHE_BIN" >/dev/null; then
    echo "integration: $RAFTCACHE_BIN not found (run make)" >&2
    exit 1
fi
# The whole suite, unless the arguments name test files or directories
# themselves (scripts/run-integration.sh tests/integration/test_x.py::test_y).
where=(tests/integration)
for a in "$@"; do
    if [ -e "${a%%::*}" ]; then where=(); break; fi
done
rc=0
/usr/bin/python3 -m pytest -p no:cacheprovider -rfE --durations=20 "${where[@]}" "$@" || rc=$?
if [ $rc -eq 5 ]; then
    echo "integration: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit $rc
