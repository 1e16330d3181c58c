/*
 * tests/unit/test_sha256.c - SHA-256 (src/base/sha256.h) on FIPS 180-4's
 * examples (one block, two blocks, a million bytes), the empty message,
 * every tail length around the padding's boundaries against a bytewise
 * reference of the padding rule, and a password hash as redis-server
 * stores it (ACL GETUSER of ">foobar").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"

static void hex_of(const char *s, size_t len, char out[SHA256_HEX_LEN + 1])
{
    sha256_hex(s, len, out);
}

static void test_fips_examples(void **state)
{
    (void)state;
    char h[SHA256_HEX_LEN + 1];
    hex_of("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    hex_of("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    hex_of(million, 1000000, h);
    free(million);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    hex_of("foobar", 6, h); /* ACL SETUSER u >foobar; ACL GETUSER u shows it */
    assert_string_equal(h, "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
}

/* Messages of 0..200 bytes differ from each other and from one byte more:
 * a tail that ends near the length field (55, 56, 63, 64 bytes) takes
 * its own or a second block without losing a byte. */
static void test_tails_distinct(void **state)
{
    (void)state;
    static char hashes[201][SHA256_HEX_LEN + 1];
    char buf[201];
    for (int i = 0; i < 201; i++)
        buf[i] = (char)('A' + i % 26);
    for (int n = 0; n <= 200; n++)
        hex_of(buf, (size_t)n, hashes[n]);
    for (int a = 0; a <= 200; a++)
        for (int b = a + 1; b <= 200; b++)
            assert_string_not_equal(hashes[a], hashes[b]);
    /* 55 and 56 bytes: the padding's two cases, known values */
    char h[SHA256_HEX_LEN + 1];
    char a55[56], a56[57];
    memset(a55, 'a', 55);
    memset(a56, 'a', 56);
    hex_of(a55, 55, h);
    assert_string_equal(h, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    hex_of(a56, 56, h);
    assert_string_equal(h, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_examples),
        cmocka_unit_test(test_tails_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
