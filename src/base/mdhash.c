/*
 * src/base/mdhash.c - the padding and output SHA-1 and SHA-256 share (see
 * mdhash.h).
 */
#include <string.h>

#include "base/mdhash.h"

void mdhash(uint32_t *h, size_t nwords, mdhash_block_fn block, const void *data, size_t len,
            unsigned char *out)
{
    const unsigned char *p = data;
    size_t left = len;
    for (; left >= MDHASH_BLOCK; p += MDHASH_BLOCK, left -= MDHASH_BLOCK)
        block(h, p);
    /* The tail, the 1 bit, zeros and the length: one block or two. */
    unsigned char tail[2 * MDHASH_BLOCK] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t n = left < MDHASH_BLOCK - 8 ? MDHASH_BLOCK : 2 * MDHASH_BLOCK;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[n - 1 - (size_t)i] = (unsigned char)(bits >> (8 * i));
    block(h, tail);
    if (n == 2 * MDHASH_BLOCK) block(h, tail + MDHASH_BLOCK);
    for (size_t i = 0; i < 4 * nwords; i++)
        out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}
