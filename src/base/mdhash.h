/*
 * src/base/mdhash.h - the frame SHA-1 and SHA-256 share (FIPS 180-4 5.1.1
 * and 6): a message cut into 64-byte blocks, each fed to the hash's
 * compression function, the last padded with a 1 bit, zeros and the
 * message's length in bits, and the state's 32-bit words written
 * big-endian as the digest. src/base/sha1.c and src/base/sha256.c give
 * only their compression functions and initial states.
 */
#ifndef MDHASH_H
#define MDHASH_H

#include <stddef.h>
#include <stdint.h>

#define MDHASH_BLOCK 64

/* A compression function: folds one 64-byte block into the state h. */
typedef void (*mdhash_block_fn)(uint32_t *h, const unsigned char *block);

/* Hashes data (len bytes) from the initial state h (nwords words, which it
 * updates) with block, and writes the nwords words big-endian to out
 * (4 * nwords bytes; out may alias data). */
void mdhash(uint32_t *h, size_t nwords, mdhash_block_fn block, const void *data, size_t len,
            unsigned char *out);

#endif
