#!/usr/bin/env bash
# Fails if a pure layer (resp/, raft/) includes I/O headers or uses clock/rand.
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
# In src/, each library stays in the files that own it (docs/design.md).
owners() { # PATTERN ALLOWED-REGEX WHAT
    local stray
    stray=$(grep -lE "#[[:space:]]*include[[:space:]]*[<\"]($1)" src/*.[ch] | grep -vE "^src/($2)$")
    if [ -n "$stray" ]; then
        echo "check-deps: $3 included outside its owners:" $stray
        exit 1
    fi
}
owners 'sqlite3\.h' 'storage(_open|_vfs)?\.c' "SQLite"
owners 'hiredis' 'transport(_out|_reply|_proxy|_call)?\.c' "hiredis"
owners 'ev\.h|server_io\.h' 'server_io\.h|loop\.c|conn\.c|logsync\.c|transport(_out|_proxy|_call)?\.c|transport_int\.h' "libev"
owners 'jemalloc/|sanitizer/' 'alloc\.c' "the allocator's interface (jemalloc, ASan)"
owners 'liblzf/' 'quicklist\.c' "liblzf"
owners 'lua\.h|lauxlib\.h|lualib\.h|lua-cjson\.h|lua-bitop\.h' 'script(_[a-z]+)?\.[ch]|lua_[a-z]+\.c' "Lua"
echo "check-deps: resp/ and raft/ are I/O-free; SQLite, hiredis, libev, jemalloc, liblzf and Lua stay in their files"

# The module graph of src/ against scripts/src-deps.allow.
allow=scripts/src-deps.allow
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -vE '^[[:space:]]*(#|$)' "$allow" | while IFS=: read -r m deps; do
    echo "$m $m" >>"$tmp/allowed"
    for d in $deps; do
        case $d in
        *\*) echo "$m ${d%\*}" >>"$tmp/allowed"; echo "$m -> ${d%\*}" >>"$tmp/debt" ;;
        *) echo "$m $d" >>"$tmp/allowed"; echo "$m $d" >>"$tmp/acyclic" ;;
        esac
    done
done
touch "$tmp/allowed" "$tmp/debt" "$tmp/acyclic"
scripts/src-modules.sh >"$tmp/actual"
stray=$(sort -u "$tmp/allowed" | comm -23 "$tmp/actual" -)
if [ -n "$stray" ]; then
    echo "check-deps: includes $allow does not allow (module dependency; a new module needs a line):"
    echo "$stray" | awk '$1 == $2 { print "  " $1 ": (no line)"; next } { print "  " $1 " -> " $2 }'
    exit 1
fi
if ! tsort "$tmp/acyclic" >/dev/null 2>"$tmp/loop"; then
    echo "check-deps: the modules of src/ form a cycle:"
    grep -v 'input contains a loop' "$tmp/loop" | sed 's/^tsort: /  /'
    exit 1
fi
n=$(wc -l <"$tmp/debt")
echo "check-deps: src/'s $(cut -d' ' -f1 "$tmp/actual" | sort -u | wc -l) modules include only what $allow allows; without its $n debt edges they form no cycle"
[ "$n" -gt 0 ] && sed 's/^/  debt: /' "$tmp/debt"
exit 0
