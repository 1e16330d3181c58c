#!/usr/bin/env bash
# The dependency rules of docs/design.md, read from the code:
#   - resp/ and raft/ are pure: no I/O header, no clock, no randomness;
#   - each outside library is included only by the folders of src/ that
#     src/LAYERS names for it;
#   - a file of a folder of src/ includes only headers of its own folder and
#     of the folders below it (src/LAYERS's order); src/main.c is above all;
#   - the modules of src/ (scripts/src-modules.sh) form no cycle.
# `make check` also checks the calls (scripts/layers.sh calls).
set -u
cd "$(dirname "$0")/.."
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](ev\.h|sqlite3\.h|hiredis/[^>"]*|hiredis\.h|sys/socket\.h|netinet/[^>"]*|arpa/inet\.h|netdb\.h|sys/epoll\.h|pthread\.h|time\.h|sys/time\.h)[>"]' resp/*.[ch] raft/*.[ch] 2>/dev/null)
calls=$(grep -nE '\b(time|rand|srand|random|clock_gettime|gettimeofday)[[:space:]]*\(' raft/*.[ch] 2>/dev/null | grep -v '^\s*//' )
if [ -n "$bad$calls" ]; then
    echo "check-deps: forbidden dependency in a pure layer:"
    [ -n "$bad" ] && echo "$bad"
    [ -n "$calls" ] && echo "$calls"
    exit 1
fi

mapfile -t layers < <(scripts/layers.sh order)
rank() { # FOLDER -> its place, bottom 0; main.c above all; -1 unknown
    local i
    [ "$1" = main ] && { echo ${#layers[@]}; return; }
    for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done
    echo -1
}
folder_of() { # src/F/x.c -> F; src/main.c -> main
    local p=${1#src/}
    case $p in */*) echo "${p%%/*}" ;; *) echo main ;; esac
}
fail=0
stray=$(find src -name '*.[ch]' | while read -r f; do
    [ "$(rank "$(folder_of "$f")")" -lt 0 ] && echo "$f"
done)
if [ -n "$stray" ]; then
    echo "check-deps: files outside the folders src/LAYERS lists:" $stray
    fail=1
fi

# Libraries, by folder.
while read -r pattern folders; do
    stray=$(grep -lE "#[[:space:]]*include[[:space:]]*[<\"]($pattern)" $(find src -name '*.[ch]') |
        while read -r f; do
            case " $folders " in *" $(folder_of "$f") "*) ;; *) echo "$f" ;; esac
        done)
    if [ -n "$stray" ]; then
        echo "check-deps: '$pattern' included outside $folders/ (src/LAYERS):" $stray
        fail=1
    fi
done < <(scripts/layers.sh libraries)

# Includes that climb.
for f in $(find src -name '*.[ch]' | sort); do
    own=$(rank "$(folder_of "$f")")
    grep -noE '^#[[:space:]]*include[[:space:]]*"[^"]+"' "$f" | sed -E 's/^([0-9]+):.*"(.*)"/\1 \2/' |
        while read -r line h; do
            case $h in
            resp/* | raft/*) continue ;;
            */*) ;;
            *)
                echo "  $f:$line: \"$h\" names no folder (write \"<folder>/$h\")"
                continue
                ;;
            esac
            r=$(rank "${h%%/*}")
            if [ "$r" -lt 0 ] || [ ! -f "src/$h" ]; then
                echo "  $f:$line: \"$h\" is no header of src/"
            elif [ "$r" -gt "$own" ]; then
                echo "  $f:$line: $(folder_of "$f")/ includes \"$h\", a folder above it"
            fi
        done
done >"${TMPDIR:-/tmp}/check-deps.$$"
if [ -s "${TMPDIR:-/tmp}/check-deps.$$" ]; then
    echo "check-deps: includes that break the order of src/LAYERS (a folder includes only itself and those below):"
    cat "${TMPDIR:-/tmp}/check-deps.$$"
    fail=1
fi
rm -f "${TMPDIR:-/tmp}/check-deps.$$"

# No cycle among modules, inside a folder as across.
if ! scripts/src-modules.sh | tsort >/dev/null 2>"${TMPDIR:-/tmp}/check-deps-loop.$$"; then
    echo "check-deps: the modules of src/ form a cycle:"
    grep -v 'input contains a loop' "${TMPDIR:-/tmp}/check-deps-loop.$$" | sed 's/^tsort: /  /'
    fail=1
fi
rm -f "${TMPDIR:-/tmp}/check-deps-loop.$$"
[ "$fail" -eq 0 ] || exit 1
echo "check-deps: resp/ and raft/ are I/O-free; the ${#layers[@]} folders of src/ include only themselves and those below, and each library only where src/LAYERS allows; no cycle among $(scripts/src-modules.sh | cut -d' ' -f1 | sort -u | wc -l) modules"
