#!/usr/bin/env bash
# Runs the integration suite (tests/integration/, pytest) against build/raftcache
# or $RAFTCACHE_BIN. Extra arguments go to pytest (e.g. -k maxclients -x).
# Exit status 5 from pytest ("no tests collected") counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAFTCACHE_BIN=${RAFTCACHE_BIN:-$PWD/build/raftcache}
if [ ! -x "$RAFTCACHE_BIN" ] && ! command -v "$RAFTCACHE_BIN" >/dev/null; then
    echo "integration: $RAFTCACHE_BIN not found (run make)" >&2
    exit 1
fi
rc=0
/usr/bin/python3 -m pytest -p no:cacheprovider -rfE tests/integration "$@" || rc=$?
if [ $rc -eq 5 ]; then
    echo "integration: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit $rc
