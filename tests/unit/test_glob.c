/*
 * tests/unit/test_glob.c - glob_match() against Redis's KEYS/SCAN dialect.
 *
 * Two kinds of evidence: hand-picked cases whose expected answers follow
 * from Redis's stringmatchlen (the quirks clients can observe), and a
 * randomized cross-check against a deliberately naive oracle: a recursive,
 * exponential-time transcription of the same rules that shares no code with
 * src/base/glob.c.  Inputs for the oracle stay tiny so its blowup cannot bite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/glob.h"

static int m(const char *pat, const char *s)
{
    return glob_match(pat, strlen(pat), s, strlen(s), 0);
}

static int mi(const char *pat, const char *s)
{
    return glob_match(pat, strlen(pat), s, strlen(s), 1);
}

static void test_basics(void **state)
{
    (void)state;
    assert_int_equal(m("", ""), 1);
    assert_int_equal(m("", "a"), 0);
    assert_int_equal(m("a", ""), 0);
    assert_int_equal(m("abc", "abc"), 1);
    assert_int_equal(m("abc", "abd"), 0);
    assert_int_equal(m("abc", "ab"), 0);
    assert_int_equal(m("ab", "abc"), 0);
    /* The examples from the KEYS documentation. */
    assert_int_equal(m("h?llo", "hello"), 1);
    assert_int_equal(m("h?llo", "hllo"), 0);
    assert_int_equal(m("h*llo", "hllo"), 1);
    assert_int_equal(m("h*llo", "heeeello"), 1);
    assert_int_equal(m("h[ae]llo", "hallo"), 1);
    assert_int_equal(m("h[ae]llo", "hillo"), 0);
    assert_int_equal(m("h[^e]llo", "hallo"), 1);
    assert_int_equal(m("h[^e]llo", "hello"), 0);
    assert_int_equal(m("h[a-b]llo", "hbllo"), 1);
    assert_int_equal(m("h[a-b]llo", "hcllo"), 0);
}

static void test_stars(void **state)
{
    (void)state;
    /* Redis's matcher never runs on an empty subject. */
    assert_int_equal(m("*", ""), 0);
    assert_int_equal(m("**", ""), 0);
    assert_int_equal(m("*", "anything"), 1);
    assert_int_equal(m("a*", "a"), 1);
    assert_int_equal(m("a**", "a"), 1);
    assert_int_equal(m("a*b", "ab"), 1);
    assert_int_equal(m("a*b", "axxb"), 1);
    assert_int_equal(m("a*b", "axxbc"), 0);
    assert_int_equal(m("*b", "abab"), 1);
    assert_int_equal(m("*ab*ab", "abxabyab"), 1);
    assert_int_equal(m("user:*:session", "user:42:session"), 1);
    assert_int_equal(m("user:*:session", "user:42:sessions"), 0);
    assert_int_equal(m("*?", "a"), 1);
    assert_int_equal(m("*??", "a"), 0);
    assert_int_equal(m("?*?", "ab"), 1);
    assert_int_equal(m("a*?", "a"), 0);
}

static void test_sets(void **state)
{
    (void)state;
    /* Unterminated sets run to the end of the pattern. */
    assert_int_equal(m("a[", "a"), 0);
    assert_int_equal(m("a[", "ab"), 0);
    assert_int_equal(m("[", "["), 0);
    assert_int_equal(m("a[^", "ab"), 1);
    assert_int_equal(m("[abc", "b"), 1);
    assert_int_equal(m("[abc", "d"), 0);
    /* "[]" is an empty set: it matches nothing, and "[^]" anything. */
    assert_int_equal(m("[]", "]"), 0);
    assert_int_equal(m("[]", ""), 0);
    assert_int_equal(m("[]]", "]"), 0);
    assert_int_equal(m("[^]", "x"), 1);
    assert_int_equal(m("[^]", "]"), 1);
    /* Ranges, reversed ranges, and '-' that is not a range. */
    assert_int_equal(m("[a-z]", "m"), 1);
    assert_int_equal(m("[z-a]", "m"), 1);
    assert_int_equal(m("[z-a]", "A"), 0);
    assert_int_equal(m("[-a]", "-"), 1);
    assert_int_equal(m("[a-]", "-"), 0);
    /* In "[a-]" the ']' ends the range a..']', the set stays open. */
    assert_int_equal(m("[a-]", "_"), 1);
    assert_int_equal(m("[a-]", "b"), 0);
    assert_int_equal(m("[0-9a-f][0-9a-f]", "7c"), 1);
    assert_int_equal(m("[0-9a-f][0-9a-f]", "7g"), 0);
    assert_int_equal(m("[^0-9]", "5"), 0);
    assert_int_equal(m("[^0-9]", "x"), 1);
    assert_int_equal(m("[a^]", "^"), 1);
}

static void test_escapes(void **state)
{
    (void)state;
    assert_int_equal(m("\\*", "*"), 1);
    assert_int_equal(m("\\*", "a"), 0);
    assert_int_equal(m("\\?", "?"), 1);
    assert_int_equal(m("\\?", "x"), 0);
    assert_int_equal(m("\\[", "["), 1);
    assert_int_equal(m("\\a", "a"), 1);
    assert_int_equal(m("\\\\", "\\"), 1);
    /* A trailing lone backslash stands for itself. */
    assert_int_equal(m("\\", "\\"), 1);
    assert_int_equal(m("\\", "a"), 0);
    assert_int_equal(m("a\\", "a\\"), 1);
    assert_int_equal(m("a\\", "a"), 0);
    /* Escapes inside sets. */
    assert_int_equal(m("[\\]]", "]"), 1);
    assert_int_equal(m("[\\]", "]"), 1);
    assert_int_equal(m("[\\]", "\\"), 0);
    assert_int_equal(m("[\\-]", "-"), 1);
    assert_int_equal(m("[\\^a]", "^"), 1);
    assert_int_equal(m("[a\\", "\\"), 1);
    assert_int_equal(m("foo\\*bar", "foo*bar"), 1);
    assert_int_equal(m("foo\\*bar", "fooxbar"), 0);
}

static void test_nocase(void **state)
{
    (void)state;
    assert_int_equal(mi("HeLLo", "hello"), 1);
    assert_int_equal(m("HeLLo", "hello"), 0);
    assert_int_equal(mi("h*O", "HELLO"), 1);
    assert_int_equal(mi("[a-z]", "Q"), 1);
    assert_int_equal(mi("[A-Z]", "q"), 1);
    assert_int_equal(m("[A-Z]", "q"), 0);
    assert_int_equal(mi("[abc]", "B"), 1);
    assert_int_equal(mi("[^abc]", "B"), 0);
    assert_int_equal(mi("\\A", "a"), 1);
    /* Escaped set members compare exactly even under nocase. */
    assert_int_equal(mi("[\\A]", "a"), 0);
    assert_int_equal(mi("[\\A]", "A"), 1);
    /* Ranges order their ends, then fold them: [Z-a] is 'Z'..'a' (which
     * holds '_') case-sensitively, but 'z'..'a', i.e. empty, under nocase. */
    assert_int_equal(m("[Z-a]", "_"), 1);
    assert_int_equal(mi("[Z-a]", "_"), 0);
    assert_int_equal(mi("[Z-a]", "a"), 0);
    /* Folding is ASCII only. */
    assert_int_equal(mi("\xc3\x89", "\xc3\xa9"), 0);
}

static void test_binary(void **state)
{
    (void)state;
    assert_int_equal(glob_match("a\0*", 3, "a\0bc", 4, 0), 1);
    assert_int_equal(glob_match("a\0*", 3, "a\1bc", 4, 0), 0);
    assert_int_equal(glob_match("?", 1, "\0", 1, 0), 1);
    assert_int_equal(glob_match("[\x80-\xff]", 5, "\xc8", 1, 0), 1);
    assert_int_equal(glob_match("[\x80-\xff]", 5, "a", 1, 0), 0);
    /* Lengths are honoured: nothing past plen/slen is read as pattern. */
    assert_int_equal(glob_match("ab*", 2, "ab", 2, 0), 1);
    assert_int_equal(glob_match("ab*", 2, "abc", 3, 0), 0);
    assert_int_equal(glob_match("[ab]", 3, "a", 1, 0), 1);
}

/* Inputs that make a naive backtracking matcher run for ages. */
static void test_pathological(void **state)
{
    char pat[4096], subj[20001];
    size_t n = 0;

    (void)state;
    for (int i = 0; i < 200 && n < sizeof(pat) - 3; i++) {
        pat[n++] = 'a';
        pat[n++] = '*';
    }
    pat[n++] = 'b';
    memset(subj, 'a', 20000);
    subj[20000] = '\0';
    assert_int_equal(glob_match(pat, n, subj, 20000, 0), 0);
    assert_int_equal(glob_match(pat, n, subj, 20000, 1), 0);
    subj[19999] = 'b';
    assert_int_equal(glob_match(pat, n, subj, 20000, 0), 1);

    /* Stars separated by sets and '?' behave the same. */
    n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(pat + n, sizeof(pat) - n, "*[a]?");
    pat[n++] = 'c';
    subj[19999] = 'a';
    assert_int_equal(glob_match(pat, n, subj, 20000, 0), 0);
}

/* Redis's nesting guard: the 1001st non-final star ends the match. */
static void test_star_limit(void **state)
{
    char pat[2 * 1002 + 1], subj[1002];

    (void)state;
    memset(subj, 'a', sizeof(subj));
    for (int i = 0; i < 1001; i++) {
        pat[2 * i] = '*';
        pat[2 * i + 1] = 'a';
    }
    assert_int_equal(glob_match(pat, 2 * 1000, subj, 1000, 0), 1);
    assert_int_equal(glob_match(pat, 2 * 1001, subj, 1001, 0), 0);
    /* A final star does not count. */
    for (int i = 0; i < 1001; i++) {
        pat[2 * i] = 'a';
        pat[2 * i + 1] = '*';
    }
    assert_int_equal(glob_match(pat, 2 * 1001, subj, 1001, 0), 1);
    assert_int_equal(glob_match(pat, 2 * 1001, subj, 1002, 0), 1);
}

/* ---- the oracle: Redis's rules, transcribed recursively and naively ---- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Set at p (just past '['); returns the match, *rest = bytes after it. */
static int oracle_set(const unsigned char *p, size_t n, int c, int nocase, size_t *rest)
{
    int neg = 0, hit = 0;

    if (n > 0 && *p == '^') neg = 1, p++, n--;
    while (n > 0 && *p != ']') {
        if (*p == '\\' && n >= 2) {
            hit |= p[1] == c;
            p += 2, n -= 2;
        } else if (n >= 3 && p[1] == '-') {
            int a = p[0] < p[2] ? p[0] : p[2], b = p[0] < p[2] ? p[2] : p[0];
            int x = c;
            if (nocase) a = lower(a), b = lower(b), x = lower(x);
            hit |= x >= a && x <= b;
            p += 3, n -= 3;
        } else {
            hit |= nocase ? lower(*p) == lower(c) : *p == c;
            p++, n--;
        }
    }
    *rest = n > 0 ? n - 1 : 0; /* skip the ']' if there is one */
    return neg ? !hit : hit;
}

static int oracle(const unsigned char *p, size_t pn, const unsigned char *s, size_t sn, int nocase)
{
    size_t rest;
    int ok;

    if (sn == 0) {
        while (pn > 0 && *p == '*')
            p++, pn--;
        return pn == 0;
    }
    if (pn == 0) return 0;
    switch (*p) {
    case '*':
        /* Try every split, shortest first: exponential, but obviously right. */
        for (size_t k = 0; k <= sn; k++)
            if (oracle(p + 1, pn - 1, s + k, sn - k, nocase)) return 1;
        return 0;
    case '?':
        return oracle(p + 1, pn - 1, s + 1, sn - 1, nocase);
    case '[':
        ok = oracle_set(p + 1, pn - 1, *s, nocase, &rest);
        return ok && oracle(p + pn - rest, rest, s + 1, sn - 1, nocase);
    case '\\':
        if (pn >= 2) p++, pn--;
        /* fall through */
    default:
        ok = nocase ? lower(*p) == lower(*s) : *p == *s;
        return ok && oracle(p + 1, pn - 1, s + 1, sn - 1, nocase);
    }
}

static int oracle_top(const char *p, size_t pn, const char *s, size_t sn, int nocase)
{
    if (sn == 0) return pn == 0; /* Redis's loop never starts on "" */
    return oracle((const unsigned char *)p, pn, (const unsigned char *)s, sn, nocase);
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_random_vs_oracle(void **state)
{
    static const char pat_alpha[] = "abA*?[]^-\\z";
    static const char subj_alpha[] = "abA-]\\z^";
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    char pat[10], subj[10];
    long matches = 0;

    (void)state;
    for (int iter = 0; iter < 300000; iter++) {
        size_t pn = rng_next(&x) % 9, sn = rng_next(&x) % 9;
        int nocase = (int)(rng_next(&x) & 1);
        for (size_t i = 0; i < pn; i++)
            pat[i] = pat_alpha[rng_next(&x) % (sizeof(pat_alpha) - 1)];
        for (size_t i = 0; i < sn; i++)
            subj[i] = subj_alpha[rng_next(&x) % (sizeof(subj_alpha) - 1)];
        int want = oracle_top(pat, pn, subj, sn, nocase);
        int got = glob_match(pat, pn, subj, sn, nocase);
        if (want != got) {
            fprintf(stderr, "mismatch: pat=\"%.*s\" subj=\"%.*s\" nocase=%d want=%d got=%d\n",
                    (int)pn, pat, (int)sn, subj, nocase, want, got);
            fail();
        }
        matches += got;
    }
    /* Make sure the generator exercised both outcomes meaningfully. */
    assert_true(matches > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_stars),
        cmocka_unit_test(test_sets),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_nocase),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_pathological),
        cmocka_unit_test(test_star_limit),
        cmocka_unit_test(test_random_vs_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
