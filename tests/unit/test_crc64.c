/*
 * tests/unit/test_crc64.c - Redis's CRC-64 (src/base/crc64.h): the
 * catalogue's check value, the footer of a redis-server DUMP, the same value however
 * the bytes are split across calls, and the table-driven steps against
 * the bit-at-a-time definition on random inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/crc64.h"
#include "base/util.h"

/* The definition, one bit at a time. */
static uint64_t crc64_bitwise(uint64_t crc, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
    }
    return crc;
}

static void test_vectors(void **state)
{
    (void)state;
    assert_int_equal(crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
    /* DUMP foo from redis-server 7.0.15 after SET foo bar: the string's
     * encoding, RDB version 10, then this CRC, little-endian. */
    static const unsigned char dump[] = {0x00, 0x03, 'b', 'a', 'r', 0x0a, 0x00};
    assert_int_equal(crc64(0, dump, sizeof dump), 0x17fd66ee6049bee6ULL);
    assert_int_equal(crc64(0, "", 0), 0);
}

static void test_split_and_random(void **state)
{
    (void)state;
    uint64_t rng = 42;
    unsigned char buf[1000];
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)util_rand_below(&rng, sizeof buf + 1);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)util_rand64(&rng);
        uint64_t whole = crc64(0, buf, n);
        assert_int_equal(whole, crc64_bitwise(0, buf, n));
        size_t cut = n ? (size_t)util_rand_below(&rng, n + 1) : 0;
        assert_int_equal(crc64(crc64(0, buf, cut), buf + cut, n - cut), whole);
        /* unaligned starts */
        if (n > 3) assert_int_equal(crc64(0, buf + 3, n - 3), crc64_bitwise(0, buf + 3, n - 3));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_split_and_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
