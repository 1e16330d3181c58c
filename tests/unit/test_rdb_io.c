/*
 * tests/unit/test_rdb_io.c - RDB's primitives (src/rdb/rdb_io.h): lengths
 * at every width boundary, strings encoded as redis-server 7.0.15 encodes
 * them in a DUMP (the bytes below are from its DUMP replies), every
 * encoding read back, and malformed input refused without reading past the
 * end or allocating what a few bytes claim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rdb/rdb_io.h"

#define MAX_STRING (1u << 20)

static void expect_bytes(struct text *t, const void *want, size_t n)
{
    assert_int_equal(t->len, n);
    assert_memory_equal(t->p, want, n);
    free(text_take(t));
}

static void test_lengths(void **state)
{
    (void)state;
    static const struct {
        uint64_t len;
        const char *bytes;
        size_t n;
    } cases[] = {
        {0, "\x00", 1},
        {63, "\x3f", 1},
        {64, "\x40\x40", 2},
        {16383, "\x7f\xff", 2},
        {16384, "\x80\x00\x00\x40\x00", 5},
        {UINT32_MAX, "\x80\xff\xff\xff\xff", 5},
        {(uint64_t)UINT32_MAX + 1, "\x81\x00\x00\x00\x01\x00\x00\x00\x00", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct text t = {0};
        rdb_put_len(&t, cases[i].len);
        struct rdb_in in;
        rdb_in_init(&in, t.p, t.len, MAX_STRING);
        assert_int_equal(rdb_get_len(&in), cases[i].len);
        assert_false(in.failed);
        assert_ptr_equal(in.p, in.end);
        expect_bytes(&t, cases[i].bytes, cases[i].n);
    }
}

/* s written as a DUMP's string (compression on), compared with want, and
 * read back. */
static void string_case(const char *s, const char *want, size_t n)
{
    struct text t = {0};
    rdb_put_string(&t, s, strlen(s), 1);
    struct rdb_in in;
    rdb_in_init(&in, t.p, t.len, MAX_STRING);
    size_t len = 0;
    char *back = rdb_get_string(&in, &len);
    assert_non_null(back);
    assert_int_equal(len, strlen(s));
    assert_memory_equal(back, s, len);
    assert_ptr_equal(in.p, in.end);
    free(back);
    expect_bytes(&t, want, n);
}

static void test_strings_as_redis_dumps_them(void **state)
{
    (void)state;
    string_case("bar",
                "\x03"
                "bar",
                4);
    string_case("123", "\xc0{", 2);
    string_case("-1", "\xc0\xff", 2);
    string_case("40000", "\xc2@\x9c\x00\x00", 5);
    string_case("2147483647", "\xc2\xff\xff\xff\x7f", 5);
    string_case("2147483648",
                "\x0a"
                "2147483648",
                11);
    string_case("007",
                "\x03"
                "007",
                4);
    string_case("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "\xc3\x09\x1e\x01"
                "aa\xe0\x11\x00\x01"
                "aa",
                12);
    /* not compressed when compression is off, or when LZF saves too little */
    struct text t = {0};
    rdb_put_string(&t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 30, 0);
    assert_int_equal(t.len, 31);
    free(text_take(&t));
    string_case("abcdefghijklmnopqrstuvwxyz",
                "\x1a"
                "abcdefghijklmnopqrstuvwxyz",
                27);
}

static void test_numbers(void **state)
{
    (void)state;
    struct text t = {0};
    rdb_put_ll(&t, 5);
    rdb_put_ll(&t, -70000);
    rdb_put_ll(&t, 1LL << 40);
    rdb_put_double(&t, 1.5);
    rdb_put_millis(&t, 1700000000123);
    struct rdb_in in;
    rdb_in_init(&in, t.p, t.len, MAX_STRING);
    const char *want[] = {"5", "-70000", "1099511627776"};
    for (int i = 0; i < 3; i++) {
        size_t len;
        char *s = rdb_get_string(&in, &len);
        assert_string_equal(s, want[i]);
        free(s);
    }
    assert_true(rdb_get_double(&in) == 1.5);
    assert_int_equal(rdb_get_millis(&in), 1700000000123);
    assert_false(in.failed);
    assert_ptr_equal(in.p, in.end);
    free(text_take(&t));
}

static void refused(const char *bytes, size_t n, size_t max_string)
{
    struct rdb_in in;
    rdb_in_init(&in, bytes, n, max_string);
    size_t len;
    assert_null(rdb_get_string(&in, &len));
    assert_true(in.failed);
    assert_true(in.p <= in.end);
}

static void test_malformed(void **state)
{
    (void)state;
    refused("", 0, MAX_STRING);
    refused("\x05"
            "ab",
            3, MAX_STRING);                 /* shorter than its length */
    refused("\x80\x00\x00", 3, MAX_STRING); /* a truncated length */
    refused("\x82", 1, MAX_STRING);         /* no such length width */
    refused("\xc4", 1, MAX_STRING);         /* no such special encoding */
    refused("\xc2\x01\x02", 3, MAX_STRING); /* a truncated int32 */
    refused("\x05"
            "abcde",
            6, 4); /* over the caller's limit */
    refused("\xc3\x02\x80\x10\x00\x00\x00"
            "ab",
            9, MAX_STRING); /* LZF claims 1 MiB */
    refused("\xc3\x03\x0a\x01"
            "ab",
            6, MAX_STRING); /* LZF not what it claims */
    struct rdb_in in;
    rdb_in_init(&in, "\xc0\x01", 2, MAX_STRING);
    assert_int_equal(rdb_get_len(&in), 0); /* a length expected, an encoding met */
    assert_true(in.failed);
    assert_int_equal(rdb_get_byte(&in), 0); /* failed stays failed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_strings_as_redis_dumps_them),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
