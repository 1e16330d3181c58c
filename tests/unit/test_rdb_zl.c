/*
 * tests/unit/test_rdb_zl.c - ziplists and zipmaps (src/rdb/rdb_zl.h): the
 * ziplist of Redis's own format description ([2, 5]), every entry
 * encoding (strings of 6, 14 and 32-bit lengths, integers of 8, 16, 24,
 * 32 and 64 bits and the immediates 0..12, previous lengths of 1 and 5
 * bytes) read back, zipmaps with short and long lengths and free bytes;
 * and every damage refused: each header field wrong, each length cut
 * short, bits flipped (never a read past the container: ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/rdb_zl.h"
#include "zl_build.h"

/* Walks p and compares its elements with want[0..n). */
static void expect_elements(enum rdb_pack kind, const unsigned char *p, size_t len,
                            const char *const *want, size_t n)
{
    uint64_t count = 0;
    assert_int_equal(rdb_pack_check(kind, p, len, &count), 0);
    assert_int_equal(count, n);
    struct rdb_pack_it it;
    rdb_pack_first(&it, kind, p);
    const unsigned char *s;
    size_t slen;
    char buf[RDB_LP_INTBUF];
    for (size_t i = 0; i < n; i++) {
        assert_true(rdb_pack_next(&it, &s, &slen, buf));
        if (slen != strlen(want[i]) || memcmp(s, want[i], slen) != 0)
            fail_msg("element %zu: got %.*s, want %.40s", i, (int)(slen < 40 ? slen : 40),
                     (const char *)s, want[i]);
    }
    assert_false(rdb_pack_next(&it, &s, &slen, buf));
}

/* ziplist.c's own example: the integers 2 and 5. */
static const unsigned char REDIS_DOC_ZL[] = "\x0f\x00\x00\x00\x0c\x00\x00\x00\x02\x00"
                                            "\x00\xf3\x02\xf6\xff";

static void test_redis_doc_ziplist(void **state)
{
    (void)state;
    const char *want[] = {"2", "5"};
    expect_elements(RDB_PACK_ZIPLIST, REDIS_DOC_ZL, sizeof REDIS_DOC_ZL - 1, want, 2);
}

/* A ziplist of every encoding; *want gets its elements (static text). */
static unsigned char *every_encoding(size_t *len, const char **want, char *big)
{
    struct zlb b;
    zlb_begin(&b);
    size_t n = 0;
    zlb_str(&b, "abc"); /* 6-bit */
    want[n++] = "abc";
    zlb_str_as(&b, ZB_STR6, "", 0);
    want[n++] = "";
    memset(big, 'x', 20000);
    big[20000] = '\0';
    zlb_str_as(&b, ZB_STR14, big, 300); /* 14-bit; the next previous length takes 5 bytes */
    big[300] = '\0';
    want[n++] = big;
    zlb_int(&b, ZB_INT8, -100);
    want[n++] = "-100";
    zlb_int(&b, ZB_INT16, -30000);
    want[n++] = "-30000";
    zlb_int(&b, ZB_INT24, -8000000);
    want[n++] = "-8000000";
    zlb_int(&b, ZB_INT32, 2000000000);
    want[n++] = "2000000000";
    zlb_int(&b, ZB_INT64, INT64_MIN);
    want[n++] = "-9223372036854775808";
    zlb_int(&b, ZB_INT64, INT64_MAX);
    want[n++] = "9223372036854775807";
    static const char *const imm[] = {"0", "1", "2", "3",  "4",  "5", "6",
                                      "7", "8", "9", "10", "11", "12"};
    for (int v = 0; v <= 12; v++) {
        zlb_int(&b, ZB_IMM, v);
        want[n++] = imm[v];
    }
    b.wide_prevlen = 1; /* a small previous length in 5 bytes: Redis keeps those */
    zlb_str_as(&b, ZB_STR32, "wide", 4);
    want[n++] = "wide";
    zlb_str_as(&b, 0xbf, "low bits", 8); /* 10xxxxxx: a 32-bit length whatever xxxxxx */
    want[n++] = "low bits";
    size_t zlen;
    unsigned char *zl = zlb_end(&b, &zlen);
    want[n] = NULL;
    *len = zlen;
    return zl;
}

static void test_every_encoding(void **state)
{
    (void)state;
    const char *want[40];
    char *big = malloc(20001);
    size_t len;
    unsigned char *zl = every_encoding(&len, want, big);
    size_t n = 0;
    while (want[n])
        n++;
    expect_elements(RDB_PACK_ZIPLIST, zl, len, want, n);
    free(zl);
    /* a string of 20000 bytes: 32-bit length, as Redis writes it */
    struct zlb b;
    zlb_begin(&b);
    memset(big, 'y', 20000);
    zlb_str(&b, big);
    zlb_int(&b, ZB_IMM, 7);
    zl = zlb_end(&b, &len);
    assert_int_equal(zl[10 + 1], ZB_STR32);
    const char *two[] = {big, "7"};
    expect_elements(RDB_PACK_ZIPLIST, zl, len, two, 2);
    /* a count Redis could not keep (65535) is counted */
    zl[8] = zl[9] = 0xff;
    expect_elements(RDB_PACK_ZIPLIST, zl, len, two, 2);
    free(zl);
    free(big);
}

static int zl_ok(const unsigned char *zl, size_t len)
{
    uint64_t count;
    return rdb_pack_check(RDB_PACK_ZIPLIST, zl, len, &count) == 0;
}

/* A two-entry ziplist ("ab", 5) with one byte set to v. */
static int zl_with(size_t at, unsigned char v)
{
    unsigned char zl[] = "\x11\x00\x00\x00\x0e\x00\x00\x00\x02\x00"
                         "\x00\x02"
                         "ab"
                         "\x04\xf6\xff";
    assert_true(zl_ok(zl, sizeof zl - 1));
    zl[at] = v;
    return zl_ok(zl, sizeof zl - 1);
}

static void test_ziplist_damage_refused(void **state)
{
    (void)state;
    assert_false(zl_with(0, 0x13));  /* total bytes */
    assert_false(zl_with(4, 0x0a));  /* tail: not the last entry */
    assert_false(zl_with(4, 0x40));  /* tail: past the end */
    assert_false(zl_with(8, 0x01));  /* count */
    assert_false(zl_with(10, 0x01)); /* the first entry's previous length */
    assert_false(zl_with(14, 0x05)); /* the second's */
    assert_false(zl_with(11, 0x03)); /* a string past its entry */
    assert_false(zl_with(11, 0x3f)); /* a string past the ziplist */
    assert_false(zl_with(15, 0xc1)); /* no such encoding */
    assert_false(zl_with(15, 0xff)); /* the end byte as an encoding */
    assert_false(zl_with(15, 0xd0)); /* an int32 past the end */
    assert_false(zl_with(16, 0x00)); /* no end byte */
    assert_false(zl_with(14, 0xff)); /* an end byte inside: entries stop early */
    assert_false(zl_with(14, 0xfe)); /* a 5-byte previous length running over */
    assert_true(zl_with(12, 'x'));   /* a string's byte: still whole */
    /* an empty ziplist is whole (its loaders refuse it) */
    static const unsigned char EMPTY[] = "\x0b\x00\x00\x00\x0a\x00\x00\x00\x00\x00\xff";
    assert_true(zl_ok(EMPTY, sizeof EMPTY - 1));
    assert_false(zl_ok(EMPTY, 10));
}

/* Every prefix refused; every bit flipped: refused, or it walks whole. */
static void flips(enum rdb_pack kind, const unsigned char *p, size_t len)
{
    uint64_t count;
    for (size_t cut = 0; cut < len; cut++) {
        unsigned char *c = malloc(cut ? cut : 1); /* exact: ASan sees a read past it */
        memcpy(c, p, cut);
        assert_int_equal(rdb_pack_check(kind, c, cut, &count), -1);
        free(c);
    }
    unsigned char *b = malloc(len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(b, p, len);
            b[i] ^= (unsigned char)(1u << bit);
            if (rdb_pack_check(kind, b, len, &count) != 0) continue;
            struct rdb_pack_it it;
            rdb_pack_first(&it, kind, b);
            const unsigned char *s;
            size_t slen;
            char buf[RDB_LP_INTBUF];
            uint64_t n = 0;
            while (rdb_pack_next(&it, &s, &slen, buf)) {
                assert_true(s + slen <= b + len || s == (const unsigned char *)buf);
                n++;
            }
            assert_int_equal(n, count);
        }
    }
    free(b);
}

static void test_flips(void **state)
{
    (void)state;
    const char *want[40];
    char *big = malloc(20001);
    size_t len;
    unsigned char *zl = every_encoding(&len, want, big);
    flips(RDB_PACK_ZIPLIST, zl, len);
    free(zl);
    free(big);
    flips(RDB_PACK_ZIPLIST, REDIS_DOC_ZL, sizeof REDIS_DOC_ZL - 1);
    struct text t;
    zmb_begin(&t, 2);
    zmb_pair(&t, "f", "v", 0);
    zmb_pair(&t, "g", "val", 2);
    unsigned char *zm = zmb_end(&t, &len);
    flips(RDB_PACK_ZIPMAP, zm, len);
    free(zm);
}

static void test_zipmap(void **state)
{
    (void)state;
    char *big = malloc(301);
    memset(big, 'z', 300);
    big[300] = '\0';
    struct text t;
    zmb_begin(&t, 3);
    zmb_pair(&t, "name", "raft", 0);
    zmb_pair(&t, "", "free", 4); /* Redis left up to 4 free bytes after a value */
    zmb_pair(&t, big, big, 0);   /* lengths of 254 and more: 5 bytes */
    size_t len;
    unsigned char *zm = zmb_end(&t, &len);
    const char *want[] = {"name", "raft", "", "free", big, big};
    expect_elements(RDB_PACK_ZIPMAP, zm, len, want, 6);
    uint64_t count;
    zm[0] = 254; /* too many to count: counted */
    expect_elements(RDB_PACK_ZIPMAP, zm, len, want, 6);
    zm[0] = 2; /* a count that is wrong */
    assert_int_equal(rdb_pack_check(RDB_PACK_ZIPMAP, zm, len, &count), -1);
    free(zm);
    /* no pair; a short length in 5 bytes; a length past the end */
    static const unsigned char EMPTY[] = "\x00\xff",
                               SHORT5[] = "\x01\xfe\x01\x00\x00\x00"
                                          "a\x00\x00\xff",
                               LONG[] = "\x01\x05"
                                        "a\x00\x00\xff";
    assert_int_equal(rdb_pack_check(RDB_PACK_ZIPMAP, EMPTY, 2, &count), -1);
    assert_int_equal(rdb_pack_check(RDB_PACK_ZIPMAP, SHORT5, sizeof SHORT5 - 1, &count), -1);
    assert_int_equal(rdb_pack_check(RDB_PACK_ZIPMAP, LONG, sizeof LONG - 1, &count), -1);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_doc_ziplist),
        cmocka_unit_test(test_every_encoding),
        cmocka_unit_test(test_ziplist_damage_refused),
        cmocka_unit_test(test_zipmap),
        cmocka_unit_test(test_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
