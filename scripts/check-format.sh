#!/usr/bin/env bash
# Fails, listing the files, if a C file of the tree differs from what
# clang-format makes of it with the committed .clang-format (`make format`
# rewrites them).
set -u
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(find resp raft src tests -name '*.[ch]' -not -path '*/corpus/*' | sort)
if [ ${#bad[@]} -gt 0 ]; then
    echo "check-format: not formatted (run make format):" "${bad[@]}"
    exit 1
fi
echo "check-format: every C file is formatted"
