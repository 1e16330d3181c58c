#!/usr/bin/env bash
# Runs the integration suite (tests/integration/, pytest) against build/raftcache
# or $RAFTCACHE_BIN. Extra arguments go to pytest (e.g. -k maxclients -x, or
# the test files to run instead of the whole suite).
# Exit status 5 from pytest ("no tests collected") counts as a failure.
# The tests run in INTEGRATION_JOBS pytest-xdist workers (python3-pytest-xdist,
# make deps), by default as many as the machine has CPUs, at least 2: most
# of a test's time is spent waiting (elections, fsyncs, timeouts), so two
# workers halve the suite's time on 2 cores. Every test starts its own
# servers on free ports in its own temp dir; INTEGRATION_JOBS=1 runs them
# one at a time.
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
jobs=${INTEGRATION_JOBS:-$(nproc)}
[ "$jobs" -ge 2 ] 2>/dev/null || jobs=2
[ "${INTEGRATION_JOBS:-}" = 1 ] && jobs=1
xdist=()
[ "$jobs" -gt 1 ] && xdist=(-n "$jobs")
rc=0
/usr/bin/python3 -m pytest -p no:cacheprovider -rfE --durations=20 "${xdist[@]+"${xdist[@]}"}" \
    "${where[@]}" "$@" || rc=$?
if [ $rc -eq 5 ]; then
    echo "integration: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit $rc
