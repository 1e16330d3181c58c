/*
 * tests/unit/test_listpack.c - the compact sequence under hashes, sorted
 * sets and the nodes of lists.
 *
 * What a user would notice if these failed: a field or member read back
 * different from what was written ("007" turning into "7", a long value
 * cut), a small hash losing entries on delete, reverse ranges (ZREVRANGE)
 * skipping or repeating members. A seeded model test compares every
 * operation with a plain array of strings, walking both ways.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/listpack.h"
#include "base/util.h"

static void expect_entry(const unsigned char *lp, size_t pos, const char *want, size_t want_len)
{
    char buf[LP_INTBUF];
    size_t len;
    const char *p = lp_get(lp, pos, buf, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(p, want, want_len);
    assert_true(lp_eq(lp, pos, want, want_len));
}

/* Strings that look like numbers but are not canonical stay strings. */
static void test_values_round_trip(void **state)
{
    (void)state;
    static const char *vals[] = {
        "0",
        "127",
        "128",
        "-1",
        "32767",
        "-32768",
        "32768",
        "2147483647",
        "-2147483648",
        "2147483648",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "007",
        "-0",
        "+1",
        " 1",
        "1.5",
        "",
        "abc",
        "4095",
        "4096",
        "-4096",
        "-4097",
        "999",
    };
    size_t n = sizeof vals / sizeof vals[0];
    unsigned char *lp = lp_new();
    for (size_t i = 0; i < n; i++)
        lp = lp_append(lp, vals[i], strlen(vals[i]));
    assert_int_equal(lp_len(lp), n);
    size_t pos = lp_first(lp);
    for (size_t i = 0; i < n; i++, pos = lp_next(lp, pos))
        expect_entry(lp, pos, vals[i], strlen(vals[i]));
    assert_int_equal(pos, lp_end(lp));
    long long v;
    assert_true(lp_get_ll(lp, lp_seek(lp, 1), &v) && v == 127);
    assert_false(lp_get_ll(lp, lp_seek(lp, 13), &v)); /* "007" */
    assert_true(lp_get_ll(lp, lp_seek(lp, 22), &v) && v == -4096);
    lp_free(lp);
}

/* Small integers take the fewest bytes: 0..127 one header byte, -4096..4095 two, then
 * 3, 5 and 9; each plus a one-byte back-length. */
static void test_integer_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        size_t bytes;
    } cases[] = {{"0", 2},     {"127", 2},   {"128", 3},        {"-1", 3},
                 {"4095", 3},  {"-4096", 3}, {"4096", 4},       {"-4097", 4},
                 {"32767", 4}, {"32768", 6}, {"2147483648", 10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *lp = lp_new();
        size_t empty = lp_bytes(lp);
        lp = lp_append(lp, cases[i].v, strlen(cases[i].v));
        assert_int_equal(lp_bytes(lp) - empty, cases[i].bytes);
        lp_free(lp);
    }
}

/* Lengths around every header size and back-length size. */
static void test_long_strings(void **state)
{
    (void)state;
    static const size_t lens[] = {62,  63,   64,   65,   126,   127,   128,
                                  129, 4094, 4095, 4096, 16383, 16384, 70000};
    size_t n = sizeof lens / sizeof lens[0];
    char *buf = malloc(70000);
    for (size_t i = 0; i < 70000; i++)
        buf[i] = (char)('a' + i % 26);
    unsigned char *lp = lp_new();
    for (size_t i = 0; i < n; i++)
        lp = lp_append(lp, buf, lens[i]);
    size_t pos = lp_last(lp);
    for (size_t i = n; i-- > 0; pos = lp_prev(lp, pos))
        expect_entry(lp, pos, buf, lens[i]);
    assert_int_equal(pos, lp_end(lp));
    lp_free(lp);
    free(buf);
}

static void test_find_with_skip(void **state)
{
    (void)state;
    unsigned char *lp = lp_new();
    const char *pairs[] = {"a", "1", "1", "b", "b", "2"}; /* field/value pairs */
    for (int i = 0; i < 6; i++)
        lp = lp_append(lp, pairs[i], strlen(pairs[i]));
    /* "1" is a value of a, then the field of the second pair. */
    assert_int_equal(lp_find(lp, lp_first(lp), "1", 1, 1), lp_seek(lp, 2));
    assert_int_equal(lp_find(lp, lp_first(lp), "b", 1, 1), lp_seek(lp, 4));
    assert_int_equal(lp_find(lp, lp_first(lp), "2", 1, 1), lp_end(lp));
    assert_int_equal(lp_find(lp, lp_first(lp), "2", 1, 0), lp_seek(lp, 5));
    lp_free(lp);
}

/* --- model test --- */

#define MODEL_MAX 64

struct model {
    char *v[MODEL_MAX];
    size_t len[MODEL_MAX];
    int n;
};

static size_t random_value(uint64_t *rng, char *buf)
{
    switch (util_rand64(rng) % 4) {
    case 0:
        return util_ll2str(buf, 32, (long long)(util_rand64(rng) % 300) - 150);
    case 1:
        return util_ll2str(buf, 32, (long long)util_rand64(rng));
    case 2: {
        size_t n = util_rand64(rng) % 5;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('0' + util_rand64(rng) % 10);
        return n; /* often non-canonical ("00", "012") or empty */
    }
    default: {
        size_t n = util_rand64(rng) % 200;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)(util_rand64(rng) & 0xff);
        return n;
    }
    }
}

static void check_model(const unsigned char *lp, const struct model *m)
{
    assert_int_equal(lp_len(lp), m->n);
    size_t pos = lp_first(lp);
    for (int i = 0; i < m->n; i++, pos = lp_next(lp, pos))
        expect_entry(lp, pos, m->v[i], m->len[i]);
    assert_int_equal(pos, lp_end(lp));
    pos = lp_last(lp);
    for (int i = m->n - 1; i >= 0; i--, pos = lp_prev(lp, pos))
        expect_entry(lp, pos, m->v[i], m->len[i]);
    assert_int_equal(pos, lp_end(lp));
}

static void model_step(unsigned char **lp, struct model *m, uint64_t *rng)
{
    char buf[256];
    size_t len = random_value(rng, buf);
    int op = (int)(util_rand64(rng) % 3);
    if (op == 0 && m->n < MODEL_MAX) { /* insert */
        int at = (int)(util_rand64(rng) % (uint64_t)(m->n + 1));
        *lp = lp_insert(*lp, at == m->n ? lp_end(*lp) : lp_seek(*lp, at), buf, len);
        memmove(&m->v[at + 1], &m->v[at], (size_t)(m->n - at) * sizeof m->v[0]);
        memmove(&m->len[at + 1], &m->len[at], (size_t)(m->n - at) * sizeof m->len[0]);
        m->v[at] = malloc(len + 1);
        memcpy(m->v[at], buf, len);
        m->len[at] = len;
        m->n++;
    } else if (op == 1 && m->n > 0) { /* replace */
        int at = (int)(util_rand64(rng) % (uint64_t)m->n);
        *lp = lp_replace(*lp, lp_seek(*lp, at), buf, len);
        m->v[at] = realloc(m->v[at], len + 1);
        memcpy(m->v[at], buf, len);
        m->len[at] = len;
    } else if (m->n > 0) { /* delete 1..3 */
        int at = (int)(util_rand64(rng) % (uint64_t)m->n);
        int k = 1 + (int)(util_rand64(rng) % 3);
        if (k > m->n - at) k = m->n - at;
        *lp = lp_delete(*lp, lp_seek(*lp, at), (uint32_t)k);
        for (int i = 0; i < k; i++)
            free(m->v[at + i]);
        memmove(&m->v[at], &m->v[at + k], (size_t)(m->n - at - k) * sizeof m->v[0]);
        memmove(&m->len[at], &m->len[at + k], (size_t)(m->n - at - k) * sizeof m->len[0]);
        m->n -= k;
    }
}

static void test_model(void **state)
{
    (void)state;
    uint64_t rng = 0x1157a11ULL;
    for (int round = 0; round < 200; round++) {
        struct model m = {0};
        unsigned char *lp = lp_new();
        for (int step = 0; step < 100; step++) {
            model_step(&lp, &m, &rng);
            check_model(lp, &m);
        }
        char err[96];
        assert_int_equal(lp_validate(lp, lp_bytes(lp), err, sizeof err), 0);
        unsigned char *copy = lp_dup(lp);
        check_model(copy, &m);
        assert_int_equal(lp_bytes(copy), lp_bytes(lp));
        lp_free(copy);
        lp_free(lp);
        for (int i = 0; i < m.n; i++)
            free(m.v[i]);
    }
}

/* lp_validate accepts what this module writes and refuses, without
 * reading past the given length, any listpack it would not write. */
static void expect_invalid(const unsigned char *lp, size_t len)
{
    char err[96] = "";
    unsigned char *copy = malloc(len ? len : 1); /* exact size: ASAN sees an overread */
    memcpy(copy, lp, len);
    assert_int_equal(lp_validate(copy, len, err, sizeof err), -1);
    assert_true(err[0] != 0);
    free(copy);
}

static void test_validate(void **state)
{
    (void)state;
    static char big[5000];
    memset(big, 'q', sizeof big);
    unsigned char *lp = lp_new();
    const char *vals[] = {"0",    "127",    "128",        "-4096",
                          "4095", "-32768", "2147483647", "-9223372036854775808",
                          "007",  "",       "abc",        "12a"};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        lp = lp_append(lp, vals[i], strlen(vals[i]));
    lp = lp_append(lp, big, 100);
    lp = lp_append(lp, big, sizeof big);
    size_t n = lp_bytes(lp);
    char err[96];
    assert_int_equal(lp_validate(lp, n, err, sizeof err), 0);
    unsigned char *empty = lp_new();
    assert_int_equal(lp_validate(empty, lp_bytes(empty), err, sizeof err), 0);
    lp_free(empty);

    unsigned char *bad = malloc(n + 1);
    for (size_t cut = 0; cut < n; cut++) { /* every truncation, length field fixed up */
        memcpy(bad, lp, cut);
        if (cut >= 4) bad[0] = (unsigned char)cut, bad[1] = (unsigned char)(cut >> 8);
        expect_invalid(bad, cut);
    }
    memcpy(bad, lp, n);
    bad[4]++; /* a count past the entries */
    expect_invalid(bad, n);
    memcpy(bad, lp, n);
    bad[8] = 0xF2; /* no entry starts with this byte */
    expect_invalid(bad, n);
    memcpy(bad, lp, n);
    bad[9]++; /* the first entry's back-length */
    expect_invalid(bad, n);
    /* "123" as a string, where lp_insert writes an integer (lp_find would
     * never find it): the bytes of entry "abc" (10xxxxxx) overwritten. */
    size_t pos = lp_seek(lp, 10);
    memcpy(bad, lp, n);
    assert_int_equal(bad[pos], 0x80 | 3);
    memcpy(bad + pos + 1, "123", 3);
    expect_invalid(bad, n);
    /* A 3-byte string in the 12-bit length form: readable, not canonical. */
    unsigned char wide[] = {14, 0, 0, 0, 1, 0, 0, 0, 0xE0, 3, 'a', 'b', 'c', 5};
    expect_invalid(wide, sizeof wide);
    unsigned char ok[] = {13, 0, 0, 0, 1, 0, 0, 0, 0x80 | 3, 'a', 'b', 'c', 4};
    assert_int_equal(lp_validate(ok, sizeof ok, err, sizeof err), 0);
    free(bad);
    lp_free(lp);
}

/* lp_entry_bytes says what an insertion adds; lp_split cuts at any entry
 * boundary and both halves read back (a list node split in two). */
static void test_entry_bytes_and_split(void **state)
{
    (void)state;
    static char big[70000];
    memset(big, 'b', sizeof big);
    const char *vals[] = {"1", "-4096", "70000", "9223372036854775807", "007", "", "x"};
    const size_t lens[] = {1, 5, 5, 19, 3, 0, 1, 63, 64, 4095, 4096, 70000};
    unsigned char *lp = lp_new();
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        const char *p = i < 7 ? vals[i] : big;
        size_t before = lp_bytes(lp);
        lp = lp_append(lp, p, lens[i]);
        assert_int_equal(lp_bytes(lp) - before, lp_entry_bytes(p, lens[i]));
    }
    uint32_t n = lp_len(lp);
    for (uint32_t at = 0; at <= n; at++) {
        unsigned char *copy = lp_dup(lp), *tail;
        size_t pos = lp_seek(copy, at);
        copy = lp_split(copy, pos == lp_end(copy) ? lp_end(copy) : pos, &tail);
        assert_int_equal(lp_len(copy), at);
        assert_int_equal(lp_len(tail), n - at);
        assert_int_equal(lp_bytes(copy) + lp_bytes(tail), lp_bytes(lp) + 8);
        for (uint32_t i = 0; i < n; i++) {
            const unsigned char *part = i < at ? copy : tail;
            const char *want = i < 7 ? vals[i] : big;
            expect_entry(part, lp_seek(part, i < at ? (long)i : (long)(i - at)), want, lens[i]);
        }
        assert_int_equal(lp_prev(tail, lp_first(tail)), lp_end(tail));
        lp_free(copy);
        lp_free(tail);
    }
    lp_free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_round_trip),
        cmocka_unit_test(test_integer_sizes),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_find_with_skip),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_entry_bytes_and_split),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
