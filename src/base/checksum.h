/*
 * src/base/checksum.h - a fast streaming 64-bit checksum for files we write and
 * read back whole (snapshot files, src/sm/snapshot.h, format version 2).
 *
 * Purpose: detect torn writes, truncation and flipped bytes, not tampering
 * (it is not a MAC). It runs at memory speed: four independent 64-bit lanes
 * each take every fourth 8-byte little-endian word of the stream
 * (lane = rotl(lane + word * P2, 31) * P1), so the multiplications overlap;
 * the tail (under 32 bytes) and the total length are folded in at the end.
 * Byte-at-a-time FNV-1a, which version 1 files use, spent ~4 cycles per byte
 * on one dependent multiply chain: about a quarter of a snapshot's CPU time.
 *
 * The value depends only on the bytes, never on how they were split across
 * checksum_update() calls (a stash keeps a partial stripe between calls).
 * Nothing allocates; a struct checksum is plain data and may be copied.
 */
#ifndef CHECKSUM_H
#define CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define CHECKSUM_STRIPE 32

struct checksum {
    uint64_t lane[4];
    uint64_t total; /* bytes seen */
    unsigned char stash[CHECKSUM_STRIPE];
    size_t stashed; /* < CHECKSUM_STRIPE */
};

void checksum_init(struct checksum *c);
void checksum_update(struct checksum *c, const void *p, size_t n);
/* The checksum of every byte passed so far; c is unchanged (more may follow). */
uint64_t checksum_final(const struct checksum *c);

#endif
