/*
 * src/base/glob.h - Redis-compatible glob matching for KEYS, SCAN MATCH and
 * CONFIG GET.
 *
 * The dialect is exactly the one of Redis's stringmatchlen():
 *
 *   *        any run of bytes, including none
 *   ?        exactly one byte
 *   [abc]    one byte from the set; [^abc] one byte not in the set
 *   [a-z]    a range; a reversed range [z-a] means the same as [a-z]
 *   \x       the byte x literally (outside and inside [..]); a lone
 *            trailing backslash matches a backslash
 *
 * Quirks kept on purpose, because clients observe them:
 *   - An empty subject matches only the empty pattern: "*" does NOT match "".
 *     (Redis's KEYS and SCAN treat the bare pattern "*" as match-all before
 *     calling the matcher; callers wanting that must do the same.)
 *   - An unterminated set "[abc" behaves as the set "abc" running to the end
 *     of the pattern; "[" alone matches nothing, "[^" matches any one byte.
 *   - In a set, "x-y" is a range whenever three bytes remain, so in "[a-]"
 *     the ']' is the range's end and the set stays open.
 *   - Inside a set an escaped byte is compared case-sensitively even when
 *     nocase is set; a range under nocase compares lowercased endpoints
 *     (after ordering them), so [Z-a] under nocase matches nothing.
 *   - A pattern whose matching reaches a 1001st '*' (not counting a final
 *     one) matches nothing, as Redis's nesting guard decides.
 *
 * Deliberate difference: bytes compare as unsigned values, so a range like
 * [\x80-\xff] means what it says (Redis compares plain, usually signed,
 * chars there).  Case folding is ASCII-only and ignores the process locale.
 *
 * Cost is O(plen * slen) in the worst case, never exponential: patterns like
 * "a*a*a*...b" against long subjects finish promptly.
 */
#ifndef GLOB_H
#define GLOB_H

#include <stddef.h>

/* Returns 1 if s[0..slen) matches pat[0..plen), 0 otherwise.  Neither buffer
 * needs a NUL terminator; both may contain NUL bytes.  nocase != 0 folds
 * ASCII letters. */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

#endif
