/*
 * tests/unit/test_rdb_lp.c - Redis's listpack (src/rdb/rdb_lp.h): elements
 * written as redis-server 7.0.15 writes them (the bytes below are the
 * listpacks inside its DUMP replies: a small hash with integers of every
 * width, a list with a long string and a 64-bit integer), read back, and
 * damaged listpacks refused (every byte flipped in turn, every length
 * cut short).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb/rdb_lp.h"

/* HSET h f1 -5 f2 300 f3 40000 f4 9000000 f5 3000000000 f7 -4096 f8 127
 * f9 128 f10 007; DUMP h: the listpack. */
static const unsigned char HASH_LP[] = "T\x00\x00\x00\x12\x00\x82"
                                       "f1\x03\xdf\xfb\x02\x82"
                                       "f2\x03\xc1,\x02\x82"
                                       "f3\x03\xf2@\x9c\x00"
                                       "\x04\x82"
                                       "f4\x03\xf3@T\x89\x00\x05\x82"
                                       "f5\x03\xf4\x00^\xd0\xb2\x00\x00\x00\x00\t\x82"
                                       "f7\x03\xd0\x00\x02\x82"
                                       "f8\x03\x7f\x01\x82"
                                       "f9\x03\xc0\x80\x02\x83"
                                       "f10\x04\x83"
                                       "007\x04\xff";
static const char *const HASH_ELEMENTS[] = {"f1", "-5",      "f2", "300",        "f3",  "40000",
                                            "f4", "9000000", "f5", "3000000000", "f7",  "-4096",
                                            "f8", "127",     "f9", "128",        "f10", "007"};

static unsigned char *build(const char *const *el, size_t n, size_t *len)
{
    struct rdb_lp w;
    rdb_lp_begin(&w);
    for (size_t i = 0; i < n; i++)
        rdb_lp_add(&w, el[i], strlen(el[i]));
    return rdb_lp_end(&w, len);
}

static void expect_elements(const unsigned char *lp, size_t len, const char *const *el, size_t n)
{
    uint64_t count;
    assert_int_equal(rdb_lp_check(lp, len, &count), 0);
    assert_int_equal(count, n);
    struct rdb_lp_it it;
    rdb_lp_first(&it, lp);
    const unsigned char *s;
    size_t slen;
    char buf[RDB_LP_INTBUF];
    for (size_t i = 0; i < n; i++) {
        assert_true(rdb_lp_next(&it, &s, &slen, buf));
        assert_int_equal(slen, strlen(el[i]));
        assert_memory_equal(s, el[i], slen);
    }
    assert_false(rdb_lp_next(&it, &s, &slen, buf));
}

static void test_as_redis_writes_them(void **state)
{
    (void)state;
    size_t n = sizeof HASH_ELEMENTS / sizeof HASH_ELEMENTS[0], len;
    unsigned char *lp = build(HASH_ELEMENTS, n, &len);
    assert_int_equal(len, sizeof HASH_LP - 1);
    assert_memory_equal(lp, HASH_LP, len);
    expect_elements(lp, len, HASH_ELEMENTS, n);
    free(lp);

    char x70[71];
    memset(x70, 'x', 70);
    x70[70] = '\0';
    const char *list[] = {x70, "-9000000000"};
    lp = build(list, 2, &len);
    static const unsigned char head[] = "Z\x00\x00\x00\x02\x00\xe0"
                                        "F";
    static const unsigned char tail[] = "H\xf4\x00\xe6\x8e\xe7\xfd\xff\xff\xff\t\xff";
    assert_int_equal(len, 90);
    assert_memory_equal(lp, head, 8);
    assert_memory_equal(lp + 8 + 70, tail, 12);
    expect_elements(lp, len, list, 2);
    free(lp);
}

static void test_long_strings_and_many(void **state)
{
    (void)state;
    char *big = malloc(70000);
    memset(big, 'y', 69999);
    big[69999] = '\0';
    char num[16][8];
    const char *el[20];
    el[0] = big;
    el[1] = "";
    for (int i = 0; i < 16; i++) {
        snprintf(num[i], sizeof num[i], "%d", (i - 8) * 1000);
        el[2 + i] = num[i];
    }
    el[18] = "-0";
    el[19] = "18446744073709551616"; /* past int64: a string */
    size_t len;
    unsigned char *lp = build(el, 20, &len);
    expect_elements(lp, len, el, 20);
    free(lp);
    free(big);
}

static void test_damage_refused(void **state)
{
    (void)state;
    size_t len = sizeof HASH_LP - 1;
    unsigned char *lp = malloc(len);
    uint64_t count;
    for (size_t cut = 0; cut < len; cut++) /* every prefix: not whole */
        assert_int_equal(rdb_lp_check(HASH_LP, cut, &count), -1);
    int refused = 0;
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(lp, HASH_LP, len);
            lp[i] ^= (unsigned char)(1u << bit);
            if (rdb_lp_check(lp, len, &count) != 0) {
                refused++;
                continue;
            }
            /* accepted: a flip inside a string's bytes; it still walks */
            struct rdb_lp_it it;
            rdb_lp_first(&it, lp);
            const unsigned char *s;
            size_t slen;
            char buf[RDB_LP_INTBUF];
            uint64_t n = 0;
            while (rdb_lp_next(&it, &s, &slen, buf))
                n++;
            assert_int_equal(n, count);
        }
    }
    assert_true(refused > (int)len); /* most flips break it */
    free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_redis_writes_them),
        cmocka_unit_test(test_long_strings_and_many),
        cmocka_unit_test(test_damage_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
