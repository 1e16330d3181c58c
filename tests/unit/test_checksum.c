/*
 * tests/unit/test_checksum.c - the streaming checksum (src/base/checksum.h): the
 * value does not depend on how the bytes are split across updates; every
 * single-bit change, a truncation or an appended zero changes it; finishing
 * does not disturb the state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/checksum.h"

static uint64_t sum_of(const unsigned char *p, size_t n)
{
    struct checksum c;
    checksum_init(&c);
    checksum_update(&c, p, n);
    return checksum_final(&c);
}

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static void test_split_invariant(void **unused)
{
    (void)unused;
    enum { N = 10007 };
    static unsigned char data[N];
    fill(data, N, 1);
    uint64_t whole = sum_of(data, N);
    uint32_t r = 7;
    for (int trial = 0; trial < 200; trial++) {
        struct checksum c;
        checksum_init(&c);
        size_t at = 0;
        while (at < N) {
            r = r * 1103515245u + 12345u;
            size_t take = (r >> 16) % (trial % 3 == 0 ? 5 : 97); /* 0-sized too */
            if (take > N - at) take = N - at;
            checksum_update(&c, data + at, take);
            at += take;
        }
        assert_int_equal(checksum_final(&c), whole);
    }
    /* Finishing is a peek: updating afterwards gives the longer stream's value. */
    struct checksum c;
    checksum_init(&c);
    checksum_update(&c, data, 100);
    assert_int_equal(checksum_final(&c), sum_of(data, 100));
    checksum_update(&c, data + 100, N - 100);
    assert_int_equal(checksum_final(&c), whole);
}

static void test_every_bit_flip_detected(void **unused)
{
    (void)unused;
    /* Lengths around the stripe size and the tail cases. */
    const size_t lens[] = {1, 7, 8, 31, 32, 33, 64, 100, 257};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        unsigned char buf[257];
        size_t n = lens[l];
        fill(buf, n, (uint32_t)n);
        uint64_t base = sum_of(buf, n);
        for (size_t bit = 0; bit < n * 8; bit++) {
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            assert_true(sum_of(buf, n) != base);
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        assert_int_equal(sum_of(buf, n), base);
    }
}

static void test_length_matters(void **unused)
{
    (void)unused;
    static const unsigned char zeros[128];
    uint64_t seen[129];
    for (size_t n = 0; n <= 128; n++) {
        seen[n] = sum_of(zeros, n);
        for (size_t k = 0; k < n; k++)
            assert_true(seen[k] != seen[n]); /* truncation or appended zeros */
    }
    unsigned char buf[64];
    fill(buf, sizeof buf, 3);
    unsigned char swapped[64];
    memcpy(swapped, buf + 32, 32); /* two stripes exchanged */
    memcpy(swapped + 32, buf, 32);
    assert_true(sum_of(buf, 64) != sum_of(swapped, 64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_invariant),
        cmocka_unit_test(test_every_bit_flip_detected),
        cmocka_unit_test(test_length_matters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
