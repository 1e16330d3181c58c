#!/usr/bin/env bash
# Fails on a C function of src/, resp/ or raft/ longer than 70 lines (its
# body, between the column-0 braces the committed .clang-format puts around
# every function), unless the comment just above it says why it must be
# longer with the words "longer than 70 lines".
set -u
cd "$(dirname "$0")/.."
MAX=70
long=$(find src resp raft -name '*.c' | sort | xargs awk -v max="$MAX" '
    FNR == 1 { inside = 0; why = 0; sig = "" }
    /^\{/ { start = FNR; inside = 1; next }
    /^\}/ && inside {
        inside = 0
        if (FNR - start - 1 > max && !why)
            printf "  %s:%d: %s: %d lines\n", FILENAME, start, sig, FNR - start - 1
        why = 0
        next
    }
    inside { next }
    /longer than 70 lines/ { why = 1 }
    /^[a-zA-Z_].*\(/ { sig = $0 }')
if [ -n "$long" ]; then
    echo "check-functions: functions longer than $MAX lines (split them, or say why in the comment above: \"longer than 70 lines: ...\"):"
    echo "$long"
    exit 1
fi
n=$(find src resp raft -name '*.c' | xargs cat | grep -c '^{')
echo "check-functions: the $n functions of src/, resp/ and raft/ are at most $MAX lines each"
