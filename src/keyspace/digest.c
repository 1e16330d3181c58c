/*
 * src/keyspace/digest.c - DEBUG DIGEST's accumulators (see digest.h).
 */
#include <string.h>

#include "keyspace/digest.h"
#include "base/sha1.h"

_Static_assert(DIGEST_LEN == SHA1_LEN && DIGEST_HEX_LEN == SHA1_HEX_LEN,
               "an accumulator holds one SHA-1");

void digest_xor(unsigned char d[DIGEST_LEN], const void *p, size_t n)
{
    unsigned char h[SHA1_LEN];
    sha1(p, n, h);
    for (int i = 0; i < DIGEST_LEN; i++)
        d[i] ^= h[i];
}

void digest_mix(unsigned char d[DIGEST_LEN], const void *p, size_t n)
{
    digest_xor(d, p, n);
    sha1(d, DIGEST_LEN, d);
}

void digest_xor_pair(unsigned char d[DIGEST_LEN], const void *a, size_t alen, const void *b,
                     size_t blen)
{
    unsigned char e[DIGEST_LEN] = {0};
    digest_mix(e, a, alen);
    digest_mix(e, b, blen);
    digest_xor(d, e, DIGEST_LEN);
}

void digest_hex(const unsigned char d[DIGEST_LEN], char out[DIGEST_HEX_LEN + 1])
{
    sha1_to_hex(d, out);
}
