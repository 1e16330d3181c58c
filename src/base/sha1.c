/*
 * src/base/sha1.c - SHA-1 (see sha1.h): the 80-round compression of FIPS 180-4
 * over 64-byte blocks, big-endian words, the length in bits appended.
 */
#include <stdint.h>
#include "base/mdhash.h"
#include "base/sha1.h"
#include "base/util.h"

static uint32_t rol32(uint32_t v, unsigned n)
{
    return (v << n) | (v >> (32 - n));
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void compress(uint32_t *h, const unsigned char *block)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = be32(block + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void sha1(const void *data, size_t len, unsigned char out[SHA1_LEN])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    mdhash(h, 5, compress, data, len, out);
}

void sha1_to_hex(const unsigned char raw[SHA1_LEN], char out[SHA1_HEX_LEN + 1])
{
    util_hex(out, raw, SHA1_HEX_LEN);
    out[SHA1_HEX_LEN] = '\0';
}

void sha1_hex(const void *data, size_t len, char out[SHA1_HEX_LEN + 1])
{
    unsigned char raw[SHA1_LEN];
    sha1(data, len, raw);
    sha1_to_hex(raw, out);
}
