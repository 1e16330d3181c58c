#!/usr/bin/env bash
# Reads src/LAYERS (the folders of src/, bottom first, and who may use each
# outside library). Used by the Makefile and scripts/check-deps.sh.
#   scripts/layers.sh order          the folders, bottom first, one a line
#   scripts/layers.sh libraries      "<header regex> <folder> ..." lines
#   scripts/layers.sh test-rules     make rules linking each unit test of
#                                    src/ with its folder's archive and those
#                                    below (the highest folder it includes,
#                                    through the fixtures of tests/unit/)
#   scripts/layers.sh calls DIR      the calls that climb, read from the
#                                    archives DIR/src/lib<folder>.a; exits 1
#                                    when there is one
set -u
cd "$(dirname "$0")/.."
order() { awk '$1 == "layer" { print $2 }' src/LAYERS; }

# The src/ folders a test file includes, through the tests/unit headers it
# includes (quoted, without a folder).
test_folders() { # FILE
    local seen=" " todo=("$1") f h
    while [ ${#todo[@]} -gt 0 ]; do
        f=${todo[0]}
        todo=("${todo[@]:1}")
        case $seen in *" $f "*) continue ;; esac
        seen="$seen$f "
        grep -oE '^#[[:space:]]*include[[:space:]]*"[^"]+"' "$f" | sed -E 's/.*"(.*)"/\1/' |
            while read -r h; do
                case $h in
                */*) echo "${h%%/*}" ;;
                *) [ -f "tests/unit/$h" ] && echo "@tests/unit/$h" ;;
                esac
            done >"$tmp/inc"
        while read -r h; do
            case $h in
            @*) todo+=("${h#@}") ;;
            *) echo "$h" ;;
            esac
        done <"$tmp/inc"
    done
}

test_rules() {
    local layers t name top libs l
    mapfile -t layers < <(order)
    for t in tests/unit/test_*.c; do
        name=$(basename "$t" .c)
        case $name in test_resp_* | test_raft_* | test_zipf) continue ;; esac
        top=-1
        for l in $(test_folders "$t" | sort -u); do
            for i in "${!layers[@]}"; do
                [ "${layers[$i]}" = "$l" ] && [ "$i" -gt "$top" ] && top=$i
            done
        done
        libs=""
        for ((i = top; i >= 0; i--)); do libs="$libs \$(B)/src/lib${layers[$i]}.a"; done
        echo "\$(B)/tests/$name:$libs"
        echo "\$(B)/tests/$name: TEST_LIBS :=$libs"
    done
}

# Every call from an archive to a symbol only a folder above defines.
calls() { # DIR
    local layers i j l bad=0
    mapfile -t layers < <(order)
    for i in "${!layers[@]}"; do
        l="$1/src/lib${layers[$i]}.a"
        [ -f "$l" ] || { echo "layers: no $l (build first)" >&2; return 2; }
        nm -g --defined-only "$l" 2>/dev/null | awk -v i="$i" 'NF == 3 { print $3, i }' >>"$tmp/defs"
    done
    sort -u -k1,1 "$tmp/defs" >"$tmp/defs.s"
    for i in "${!layers[@]}"; do
        nm -u -A "$1/src/lib${layers[$i]}.a" 2>/dev/null | awk '{ print $NF, $1 }' | sort -k1,1 |
            join - "$tmp/defs.s" | awk -v i="$i" -v names="${layers[*]}" '$3 > i {
                split(names, L, " "); sub(/:$/, "", $2); n = split($2, p, ":")
                print "  " L[i + 1] "/" p[n] " calls " $1 " (" L[$3 + 1] "/)" }'
    done >"$tmp/climbs"
    if [ -s "$tmp/climbs" ]; then
        echo "layers: calls that climb (src/LAYERS: a folder uses only itself and those below):"
        sort -u "$tmp/climbs"
        bad=1
    fi
    return $bad
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case ${1:-} in
order) order ;;
libraries) awk '$1 == "library" { $1 = ""; sub(/^ /, ""); print }' src/LAYERS ;;
test-rules) test_rules ;;
calls) calls "${2:?usage: layers.sh calls BUILD-DIR}" ;;
*)
    echo "usage: scripts/layers.sh order|libraries|test-rules|calls DIR" >&2
    exit 2
    ;;
esac
