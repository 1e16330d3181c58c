/*
 * tests/unit/test_digest.c - DEBUG DIGEST's accumulators (src/keyspace/digest.h)
 * against values redis-server 7.0.15 replied to DEBUG DIGEST-VALUE (a
 * string, a list, a set, a hash), and their order properties: xor does not
 * see the order of elements, mix does, and a pair is not its two halves
 * concatenated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keyspace/digest.h"
#include "base/sha1.h"

static void assert_hex(const unsigned char d[DIGEST_LEN], const char *want)
{
    char hex[DIGEST_HEX_LEN + 1];
    digest_hex(d, hex);
    assert_string_equal(hex, want);
}

/* A value's digest as Redis starts it: its type number, big-endian. */
static void start(unsigned char d[DIGEST_LEN], unsigned char type)
{
    memset(d, 0, DIGEST_LEN);
    const unsigned char be[4] = {0, 0, 0, type};
    digest_mix(d, be, sizeof be);
}

static void test_sha1_raw_matches_hex(void **unused)
{
    (void)unused;
    unsigned char raw[SHA1_LEN];
    sha1("abc", 3, raw);
    assert_hex(raw, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sha1(raw, SHA1_LEN, raw); /* in place, as digest_mix does */
    char hex[SHA1_HEX_LEN + 1];
    unsigned char again[SHA1_LEN];
    sha1("abc", 3, again);
    sha1_hex(again, SHA1_LEN, hex);
    assert_hex(raw, hex);
}

static void test_redis_values(void **unused)
{
    (void)unused;
    unsigned char d[DIGEST_LEN];
    start(d, 0); /* SET s hello */
    digest_mix(d, "hello", 5);
    assert_hex(d, "36b23a1456b2dce2c3ed252c456761301dba8060");

    start(d, 1); /* RPUSH l a b 1 2 */
    const char *items[] = {"a", "b", "1", "2"};
    for (int i = 0; i < 4; i++)
        digest_mix(d, items[i], 1);
    assert_hex(d, "6b15aa298e0e4d1f6244448df32b23e74a4147ce");

    start(d, 2); /* SADD st x y 3 */
    digest_xor(d, "3", 1);
    digest_xor(d, "x", 1);
    digest_xor(d, "y", 1);
    assert_hex(d, "415a07507e2348d139f9fd645a024f6be569dd65");

    start(d, 4); /* HSET h f v g 12 */
    digest_xor_pair(d, "g", 1, "12", 2);
    digest_xor_pair(d, "f", 1, "v", 1);
    assert_hex(d, "8530acc75d5274eb0fc0da86f28ed5533274a6d4");
}

static void test_order(void **unused)
{
    (void)unused;
    unsigned char a[DIGEST_LEN] = {0}, b[DIGEST_LEN] = {0};
    digest_xor(a, "one", 3);
    digest_xor(a, "two", 3);
    digest_xor(b, "two", 3);
    digest_xor(b, "one", 3);
    assert_memory_equal(a, b, DIGEST_LEN);

    memset(a, 0, DIGEST_LEN);
    memset(b, 0, DIGEST_LEN);
    digest_mix(a, "one", 3);
    digest_mix(a, "two", 3);
    digest_mix(b, "two", 3);
    digest_mix(b, "one", 3);
    assert_memory_not_equal(a, b, DIGEST_LEN);

    memset(a, 0, DIGEST_LEN);
    memset(b, 0, DIGEST_LEN);
    digest_mix(a, "fo", 2);
    digest_mix(a, "obar", 4);
    digest_mix(b, "foo", 3);
    digest_mix(b, "bar", 3);
    assert_memory_not_equal(a, b, DIGEST_LEN);

    memset(a, 0, DIGEST_LEN);
    memset(b, 0, DIGEST_LEN);
    digest_xor_pair(a, "f", 1, "v1", 2);
    digest_xor_pair(b, "fv", 2, "1", 1);
    assert_memory_not_equal(a, b, DIGEST_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_raw_matches_hex),
        cmocka_unit_test(test_redis_values),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
