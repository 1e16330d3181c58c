/*
 * src/base/glob.c - Redis-dialect glob matching without exponential backtracking.
 *
 * Every pattern element other than '*' consumes exactly one subject byte, and
 * how far an element extends in the pattern never depends on the subject.
 * That makes the classic greedy matcher exact: remember only the most recent
 * '*', and on a mismatch let that star swallow one more byte.  Backtracking
 * into an earlier star can never help, because whatever the later star's
 * remainder failed to match from position i it will also fail to match from
 * any later position the earlier star could push it to.  Redis reaches the
 * same answer with recursion plus its skipLongerMatches flag; here there is
 * no recursion at all, and the worst case is O(plen * slen).
 *
 * The dialect and its quirks are documented in glob.h.
 */
#include "base/glob.h"

#include <stdint.h>

/* Redis gives up (no match) when its recursion passes 1000 nested stars. */
#define STAR_GROUPS_MAX 1000

/* ASCII-only folding: the C locale's tolower(), without the locale lookup. */
static inline unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static inline int same_byte(unsigned char a, unsigned char b, int nocase)
{
    return nocase ? fold(a) == fold(b) : a == b;
}

/*
 * Matches byte c against the set starting at pat[at] == '['.  Stores in *next
 * the index just past the set; an unterminated set extends to the end of the
 * pattern.  Returns 1 if c is accepted.
 */
static int match_set(const unsigned char *pat, size_t plen, size_t at, unsigned char c, int nocase,
                     size_t *next)
{
    size_t i = at + 1;
    int negate = i < plen && pat[i] == '^';
    int hit = 0;

    if (negate) i++;
    for (;;) {
        if (i >= plen) {
            *next = plen;
            break;
        }
        if (pat[i] == '\\' && plen - i >= 2) {
            /* Redis compares escaped set members exactly, even under nocase. */
            if (pat[i + 1] == c) hit = 1;
            i += 2;
        } else if (pat[i] == ']') {
            *next = i + 1;
            break;
        } else if (plen - i >= 3 && pat[i + 1] == '-') {
            unsigned char lo = pat[i], hi = pat[i + 2], x = c;
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            /* Ordered first, folded second: the order Redis applies them. */
            if (nocase) {
                lo = fold(lo);
                hi = fold(hi);
                x = fold(x);
            }
            if (x >= lo && x <= hi) hit = 1;
            i += 3;
        } else {
            if (same_byte(pat[i], c, nocase)) hit = 1;
            i++;
        }
    }
    return negate ? !hit : hit;
}

/*
 * Matches byte c against the single-byte element at pat[at] (never '*').
 * Stores the index of the following element in *next; returns 1 on a match.
 */
static int match_one(const unsigned char *pat, size_t plen, size_t at, unsigned char c, int nocase,
                     size_t *next)
{
    switch (pat[at]) {
    case '?':
        *next = at + 1;
        return 1;
    case '[':
        return match_set(pat, plen, at, c, nocase, next);
    case '\\':
        /* A trailing lone backslash stands for itself. */
        if (plen - at >= 2) {
            *next = at + 2;
            return same_byte(pat[at + 1], c, nocase);
        }
        break;
    default:
        break;
    }
    *next = at + 1;
    return same_byte(pat[at], c, nocase);
}

int glob_match(const char *pattern, size_t plen, const char *subject, size_t slen, int nocase)
{
    const unsigned char *pat = (const unsigned char *)pattern;
    const unsigned char *s = (const unsigned char *)subject;
    size_t p = 0, i = 0, next;
    size_t star_p = SIZE_MAX; /* element after the most recent '*' run */
    size_t star_i = 0;        /* subject index that star's remainder starts at */
    unsigned stars = 0;

    /* Redis's loop never starts on an empty subject, so "*" misses "". */
    if (slen == 0) return plen == 0;

    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            while (p < plen && pat[p] == '*')
                p++;
            if (p == plen) return 1; /* a final star swallows the rest */
            if (++stars > STAR_GROUPS_MAX) return 0;
            star_p = p;
            star_i = i;
            continue;
        }
        if (p < plen && match_one(pat, plen, p, s[i], nocase, &next)) {
            p = next;
            i++;
            continue;
        }
        if (star_p == SIZE_MAX) return 0;
        /* Let the last star take one more byte and retry what follows it. */
        p = star_p;
        i = ++star_i;
    }
    /* Subject used up: only stars may remain. */
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}
