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
# In src/, each library stays in the files that own it (README, Architecture).
owners() { # PATTERN ALLOWED-REGEX WHAT
    local stray
    stray=$(grep -lE "#[[:space:]]*include[[:space:]]*[<\"]($1)" src/*.[ch] | grep -vE "^src/($2)$")
    if [ -n "$stray" ]; then
        echo "check-deps: $3 included outside its owners:" $stray
        exit 1
    fi
}
owners 'sqlite3\.h' 'storage(_open|_vfs)?\.c' "SQLite"
owners 'hiredis' 'transport(_reply|_proxy|_call)?\.c' "hiredis"
owners 'ev\.h|loop\.h' 'loop\.h|server\.c|conn\.c|transport(_proxy|_call)?\.c|transport_int\.h' "libev"
owners 'jemalloc/|sanitizer/' 'alloc\.c' "the allocator's interface (jemalloc, ASan)"
echo "check-deps: resp/ and raft/ are I/O-free; SQLite, hiredis, libev and jemalloc stay in their files"
