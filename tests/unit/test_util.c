/*
 * tests/unit/test_util.c - the Redis-compatible conversions and helpers.
 *
 * Expected values are what Redis answers for the same input (INCR, INCRBYFLOAT,
 * CLUSTER KEYSLOT, redis.conf memory sizes), so a failure here is a client-
 * visible incompatibility, not a style disagreement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/util.h"

static int ll_ok(const char *s, long long want)
{
    long long v = 12345;
    return util_str2ll(s, strlen(s), &v) == 1 && v == want;
}

static int ll_bad(const char *s)
{
    long long v = 12345;
    return util_str2ll(s, strlen(s), &v) == 0 && v == 12345;
}

static void test_str2ll(void **state)
{
    (void)state;
    assert_true(ll_ok("0", 0));
    assert_true(ll_ok("1", 1));
    assert_true(ll_ok("-1", -1));
    assert_true(ll_ok("99", 99));
    assert_true(ll_ok("-99", -99));
    assert_true(ll_ok("9223372036854775807", LLONG_MAX));
    assert_true(ll_ok("-9223372036854775808", LLONG_MIN));
    assert_true(ll_bad("9223372036854775808"));
    assert_true(ll_bad("-9223372036854775809"));
    assert_true(ll_bad("18446744073709551616")); /* would wrap 64 bits */
    assert_true(ll_bad("99999999999999999999"));
    assert_true(ll_bad("000000000000000000001"));
    assert_true(ll_bad(""));
    assert_true(ll_bad("-"));
    assert_true(ll_bad("+1"));
    assert_true(ll_bad(" 1"));
    assert_true(ll_bad("1 "));
    assert_true(ll_bad("01"));
    assert_true(ll_bad("00"));
    assert_true(ll_bad("-0"));
    assert_true(ll_bad("-01"));
    assert_true(ll_bad("12abc"));
    assert_true(ll_bad("1.0"));
    assert_true(ll_bad("0x10"));
    long long v = 0;
    assert_int_equal(util_str2ll("1\0", 2, &v), 0);
    /* Only len bytes are read. */
    assert_int_equal(util_str2ll("123456", 3, &v), 1);
    assert_int_equal(v, 123);
}

static void test_str2ll_roundtrip(void **state)
{
    uint64_t rng = 7;
    char buf[UTIL_LL_STR_SIZE];

    (void)state;
    for (int i = 0; i < 100000; i++) {
        uint64_t r = util_rand64(&rng);
        long long x = (long long)(r >> (r & 63)); /* every magnitude */
        if (r & 64) x = -x;
        size_t n = util_ll2str(buf, sizeof(buf), x);
        char want[32];
        snprintf(want, sizeof(want), "%lld", x);
        assert_string_equal(buf, want);
        assert_int_equal(n, strlen(want));
        long long back;
        assert_int_equal(util_str2ll(buf, n, &back), 1);
        assert_true(back == x);
    }
}

static void test_ll2str(void **state)
{
    char buf[UTIL_LL_STR_SIZE];

    (void)state;
    assert_int_equal(util_ll2str(buf, sizeof(buf), 0), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(util_ll2str(buf, sizeof(buf), 9), 1);
    assert_int_equal(util_ll2str(buf, sizeof(buf), 10), 2);
    assert_string_equal(buf, "10");
    assert_int_equal(util_ll2str(buf, sizeof(buf), 100), 3);
    assert_string_equal(buf, "100");
    assert_int_equal(util_ll2str(buf, sizeof(buf), -7), 2);
    assert_string_equal(buf, "-7");
    assert_int_equal(util_ll2str(buf, sizeof(buf), LLONG_MIN), 20);
    assert_string_equal(buf, "-9223372036854775808");
    assert_int_equal(util_ll2str(buf, sizeof(buf), LLONG_MAX), 19);
    assert_string_equal(buf, "9223372036854775807");
    /* Too small: nothing but an empty string. */
    assert_int_equal(util_ll2str(buf, 3, 123), 0);
    assert_string_equal(buf, "");
    assert_int_equal(util_ll2str(buf, 4, 123), 3);
    assert_string_equal(buf, "123");
    assert_int_equal(util_ll2str(buf, 0, 1), 0);
}

static void test_ull2str(void **state)
{
    char buf[UTIL_LL_STR_SIZE];
    uint64_t rng = 11;

    (void)state;
    assert_int_equal(util_ull2str(buf, sizeof(buf), 0), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(util_ull2str(buf, sizeof(buf), ULLONG_MAX), 20);
    assert_string_equal(buf, "18446744073709551615");
    assert_int_equal(util_ull2str(buf, 20, ULLONG_MAX), 0); /* no room for the NUL */
    assert_string_equal(buf, "");
    for (int i = 0; i < 100000; i++) {
        uint64_t r = util_rand64(&rng);
        unsigned long long x = (unsigned long long)(r >> (r & 63));
        char want[32];
        snprintf(want, sizeof(want), "%llu", x);
        assert_int_equal(util_ull2str(buf, sizeof(buf), x), strlen(want));
        assert_string_equal(buf, want);
    }
}

/* Valgrind runs x87 long double arithmetic at double precision and turns
 * infinities into LDBL_MAX, so the checks that depend on the real 80-bit
 * behaviour only run when the arithmetic is native. */
static int long_double_native(void)
{
    volatile long double one = 1.0L, eps = LDBL_EPSILON;
    if (one + eps != one) return 1;
    print_message("long double arithmetic is emulated (valgrind?): "
                  "skipping precision and infinity checks\n");
    return 0;
}

static int ld_ok(const char *s, long double *out)
{
    return util_str2ld(s, strlen(s), out);
}

static void test_str2ld(void **state)
{
    long double v = 0;

    (void)state;
    assert_int_equal(ld_ok("1.5", &v), 1);
    assert_true(v == 1.5L);
    assert_int_equal(ld_ok("-0.25", &v), 1);
    assert_true(v == -0.25L);
    assert_int_equal(ld_ok("+3", &v), 1);
    assert_true(v == 3.0L);
    assert_int_equal(ld_ok("1e10", &v), 1);
    assert_int_equal(ld_ok("0x10", &v), 1);
    assert_true(v == 16.0L);
    if (long_double_native()) {
        assert_int_equal(ld_ok("inf", &v), 1);
        assert_true(isinf(v) && v > 0);
        assert_int_equal(ld_ok("-inf", &v), 1);
        assert_true(isinf(v) && v < 0);
        v = 7;
        assert_int_equal(ld_ok("1e99999", &v), 0);  /* overflow */
        assert_int_equal(ld_ok("1e-99999", &v), 0); /* underflow to zero */
        assert_true(v == 7);
    }
    v = 7;
    assert_int_equal(ld_ok("", &v), 0);
    assert_int_equal(ld_ok(" 1", &v), 0);
    assert_int_equal(ld_ok("\t1", &v), 0);
    assert_int_equal(ld_ok("1 ", &v), 0);
    assert_int_equal(ld_ok("1x", &v), 0);
    assert_int_equal(ld_ok("nan", &v), 0);
    assert_int_equal(ld_ok("-nan", &v), 0);
    assert_true(v == 7);
    assert_int_equal(util_str2ld("1\0", 2, &v), 0);
    assert_int_equal(util_str2ld("12.5junk", 4, &v), 1);
    assert_true(v == 12.5L);

    /* The length limit: 5119 bytes parse, 5120 do not. */
    char *big = malloc(UTIL_LONG_DOUBLE_CHARS_MAX + 1);
    assert_non_null(big);
    memset(big, '0', UTIL_LONG_DOUBLE_CHARS_MAX);
    big[UTIL_LONG_DOUBLE_CHARS_MAX - 2] = '1';
    assert_int_equal(util_str2ld(big, UTIL_LONG_DOUBLE_CHARS_MAX - 1, &v), 1);
    assert_true(v == 1.0L);
    big[UTIL_LONG_DOUBLE_CHARS_MAX - 2] = '0';
    big[UTIL_LONG_DOUBLE_CHARS_MAX - 1] = '1';
    assert_int_equal(util_str2ld(big, UTIL_LONG_DOUBLE_CHARS_MAX, &v), 0);
    free(big);
}

static void test_str2d(void **state)
{
    double v = 0;

    (void)state;
    assert_int_equal(util_str2d("1.5", 3, &v), 1);
    assert_true(v == 1.5);
    assert_int_equal(util_str2d("-1e3", 4, &v), 1);
    assert_true(v == -1000.0);
    assert_int_equal(util_str2d("inf", 3, &v), 1);
    assert_true(isinf(v));
    assert_int_equal(util_str2d("5e-324", 6, &v), 1); /* subnormal but not zero */
    assert_true(v > 0);
    v = 7;
    assert_int_equal(util_str2d("", 0, &v), 0);
    assert_int_equal(util_str2d(" 1", 2, &v), 0);
    assert_int_equal(util_str2d("1 ", 2, &v), 0);
    assert_int_equal(util_str2d("nan", 3, &v), 0);
    assert_int_equal(util_str2d("1e400", 5, &v), 0);
    assert_int_equal(util_str2d("-1e400", 6, &v), 0);
    assert_int_equal(util_str2d("1e-400", 6, &v), 0);
    assert_int_equal(util_str2d("abc", 3, &v), 0);
    assert_true(v == 7);

    /* No length limit (unlike str2ld): the long path copies to the heap. */
    size_t n = 3 * UTIL_LONG_DOUBLE_CHARS_MAX;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '0', n);
    big[n - 1] = '2';
    assert_int_equal(util_str2d(big, n, &v), 1);
    assert_true(v == 2.0);
    big[0] = 'x';
    assert_int_equal(util_str2d(big, n, &v), 0);
    free(big);
}

static const char *human(long double v)
{
    static char buf[UTIL_LONG_DOUBLE_CHARS_MAX];
    size_t n = util_ld2str(buf, sizeof(buf), v, 1);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static void test_ld2str(void **state)
{
    long double a, b;
    char small[8];

    (void)state;
    /* INCRBYFLOAT's reply: parse both operands as long double, add, print. */
    assert_int_equal(util_str2ld("10.5", 4, &a), 1);
    assert_int_equal(util_str2ld("0.1", 3, &b), 1);
    if (long_double_native()) {
        assert_string_equal(human(a + b), "10.6");
        assert_string_equal(human(HUGE_VALL), "inf");
        assert_string_equal(human(-HUGE_VALL), "-inf");
        assert_int_equal(util_ld2str(small, 4, -HUGE_VALL, 1), 0);
        assert_int_equal(util_ld2str(small, 5, -HUGE_VALL, 1), 4);
        assert_string_equal(small, "-inf");
    }
    assert_string_equal(human(10.5L), "10.5");
    assert_string_equal(human(3.0L), "3");
    assert_string_equal(human(0.0L), "0");
    assert_string_equal(human(-0.0L), "0");
    assert_string_equal(human(-1.5L), "-1.5");
    assert_string_equal(human(5000.0L), "5000");
    assert_string_equal(human(1e20L), "100000000000000000000");
    assert_string_equal(human(nanl("")), "nan");
    assert_true(strlen(human(1e4000L)) >= 4000); /* no exponent in human mode */

    char buf[64];
    assert_int_equal(util_ld2str(buf, sizeof(buf), 2.5L, 0), 3);
    assert_string_equal(buf, "2.5");
    if (long_double_native()) {
        assert_int_equal(util_ld2str(buf, sizeof(buf), 0.1L, 0), 3);
        assert_string_equal(buf, "0.1");
        util_ld2str(buf, sizeof(buf), 1e30L, 0);
        assert_string_equal(buf, "1e+30");
    }

    /* Too small a buffer gives an empty string and 0. */
    assert_int_equal(util_ld2str(small, sizeof(small), 1e20L, 1), 0);
    assert_string_equal(small, "");
}

static void test_rand64(void **state)
{
    uint64_t s = 0, t = 0, ones = 0;

    (void)state;
    /* splitmix64's published first output for seed 0. */
    assert_true(util_rand64(&s) == 0xe220a8397b1dcdafULL);
    s = 42;
    t = 42;
    for (int i = 0; i < 1000; i++)
        assert_true(util_rand64(&s) == util_rand64(&t));
    for (int i = 0; i < 10000; i++)
        ones += (uint64_t)__builtin_popcountll(util_rand64(&s));
    /* 640000 fair bits: mean 320000, sd 400. */
    assert_true(ones > 318000 && ones < 322000);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t ms = clock_ms(), us = clock_us();
    assert_true(ms > INT64_C(1577836800000)); /* after 2020-01-01 */
    assert_true(us / 1000 - ms >= 0 && us / 1000 - ms < 1000);
    int64_t a = clock_mono_us(), b = clock_mono_us();
    assert_true(a > 0 && b >= a);
}

static int mem_ok(const char *s, long long want)
{
    long long v = 99;
    return util_memtoll(s, strlen(s), &v) == 1 && v == want;
}

static int mem_bad(const char *s)
{
    long long v = 99;
    return util_memtoll(s, strlen(s), &v) == 0 && v == 99;
}

static void test_memtoll(void **state)
{
    (void)state;
    assert_true(mem_ok("42", 42));
    assert_true(mem_ok("007", 7));
    assert_true(mem_ok("0", 0));
    assert_true(mem_ok("-1", -1));
    assert_true(mem_ok("5b", 5));
    assert_true(mem_ok("5B", 5));
    assert_true(mem_ok("100k", 100000));
    assert_true(mem_ok("100kb", 102400));
    assert_true(mem_ok("100KB", 102400));
    assert_true(mem_ok("1m", 1000000));
    assert_true(mem_ok("512mb", 512LL * 1024 * 1024));
    assert_true(mem_ok("1g", 1000000000LL));
    assert_true(mem_ok("1gb", 1073741824LL));
    assert_true(mem_ok("1Gb", 1073741824LL));
    assert_true(mem_ok("1gB", 1073741824LL));
    assert_true(mem_ok("9223372036854775807", LLONG_MAX));
    assert_true(mem_ok("-8589934592gb", LLONG_MIN));
    assert_true(mem_bad("8589934592gb"));
    assert_true(mem_bad("9223372036854775808"));
    assert_true(mem_bad("99999999999999999999999"));
    assert_true(mem_bad(""));
    assert_true(mem_bad("-"));
    assert_true(mem_bad("gb"));
    assert_true(mem_bad("1tb"));
    assert_true(mem_bad("1 gb"));
    assert_true(mem_bad(" 1gb"));
    assert_true(mem_bad("1kbb"));
    assert_true(mem_bad("1bb"));
    assert_true(mem_bad("1.5gb"));
    assert_true(mem_bad("+1"));
    long long v = 0;
    assert_int_equal(util_memtoll("1gbx", 3, &v), 1);
    assert_true(v == 1073741824LL);
    assert_int_equal(util_memtoll("1g\0", 3, &v), 0);
}

static void test_crc16_and_slots(void **state)
{
    (void)state;
    assert_int_equal(util_crc16("123456789", 9), 0x31c3);
    assert_int_equal(util_crc16("", 0), 0);
    assert_int_equal(util_key_slot("foo", 3), 12182);
    assert_int_equal(util_key_slot("bar", 3), 5061);
    assert_int_equal(util_key_slot("hello", 5), 866);
    assert_int_equal(util_key_slot("", 0), 0);
    const char *a = "{user1000}.following", *b = "{user1000}.followers";
    assert_int_equal(util_key_slot(a, strlen(a)), util_key_slot(b, strlen(b)));
    assert_int_equal(util_key_slot(a, strlen(a)), util_key_slot("user1000", 8));
    /* Only the first '{' and the first '}' after it count. */
    assert_int_equal(util_key_slot("foo{bar}{zap}", 13), 5061);
    assert_int_equal(util_key_slot("foo{{bar}}zap", 13), util_key_slot("{bar", 4));
    /* An empty tag means: hash the whole key. */
    assert_int_equal(util_key_slot("foo{}{bar}", 10), util_crc16("foo{}{bar}", 10) & 16383);
    assert_int_equal(util_key_slot("foo{bar", 7), util_crc16("foo{bar", 7) & 16383);
    assert_int_equal(util_key_slot("foo}bar{", 8), util_crc16("foo}bar{", 8) & 16383);
    /* Binary keys: the tag search honours the length. */
    assert_int_equal(util_key_slot("{bar}", 4), util_crc16("{bar", 4) & 16383);
    for (unsigned i = 0; i < 1000; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "key:%u", i);
        assert_true(util_key_slot(k, (size_t)n) < UTIL_CLUSTER_SLOTS);
    }
}

static void test_secret_eq(void **state)
{
    (void)state;
    assert_true(util_secret_eq("s3cret", 6, "s3cret", 6));
    assert_false(util_secret_eq("s3cret", 6, "s3cre", 5));
    assert_false(util_secret_eq("s3cret", 6, "s3cretX", 7));
    assert_false(util_secret_eq("s3cret", 6, "S3cret", 6));
    assert_true(util_secret_eq("", 0, "", 0));
    assert_false(util_secret_eq("", 0, "x", 1));
    /* binary: a NUL byte is part of the secret, not its end */
    assert_true(util_secret_eq("sec\0ret", 7, "sec\0ret", 7));
    assert_false(util_secret_eq("sec\0ret", 7, "sec", 3));
    assert_false(util_secret_eq("sec\0ret", 7, "sec\0", 4));
    assert_false(util_secret_eq("\0Secret", 7, "", 0));
    assert_false(util_secret_eq("sec", 3, "sec\0ret", 7));
    assert_true(util_secret_eq("a\377b", 3, "a\377b", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str2ll),          cmocka_unit_test(test_str2ll_roundtrip),
        cmocka_unit_test(test_ll2str),          cmocka_unit_test(test_ull2str),
        cmocka_unit_test(test_str2ld),          cmocka_unit_test(test_str2d),
        cmocka_unit_test(test_ld2str),          cmocka_unit_test(test_rand64),
        cmocka_unit_test(test_clocks),          cmocka_unit_test(test_memtoll),
        cmocka_unit_test(test_crc16_and_slots), cmocka_unit_test(test_secret_eq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
