#!/usr/bin/env bash
# Runs every unit-test binary given; fails if any fails.
set -u
fail=0
for t in "$@"; do
    echo "== $t"
    "$t" || { echo "FAILED: $t"; fail=1; }
done
exit $fail
