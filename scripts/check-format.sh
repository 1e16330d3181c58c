#!/usr/bin/env bash
# Fails, listing the files, if a C file of the tree differs from what
# clang-format makes of it with the committed .clang-format (`make format`
# rewrites them). The files go to clang-format in batches, two at a time;
# only when a batch fails are its files looked at one by one, to name them.
set -u
cd "$(dirname "$0")/.."
files() { find resp raft src tests -name '*.[ch]' -not -path '*/corpus/*' -print0 | sort -z; }
if files | xargs -0 -n 64 -P 2 clang-format --dry-run -Werror >/dev/null 2>&1; then
    echo "check-format: every C file is formatted"
    exit 0
fi
bad=()
while IFS= read -r -d '' f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(files)
echo "check-format: not formatted (run make format):" "${bad[@]}"
exit 1
