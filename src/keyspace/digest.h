/*
 * src/keyspace/digest.h - the arithmetic of Redis's DEBUG DIGEST: 20-byte
 * accumulators that SHA-1 hashes are combined into, so that the same data
 * gives the same 40 hex digits on raftcache and on redis-server 7.0.
 *
 * Two ways to add bytes to an accumulator d:
 *   - digest_xor: d ^= SHA1(bytes). XOR commutes, so the elements of an
 *     unordered collection (a set's members, a hash's fields, the keys of a
 *     dataset) give the same digest in any order.
 *   - digest_mix: d = SHA1(d ^ SHA1(bytes)). The feedback makes the order
 *     count (a list's elements, a key followed by its value) and keeps
 *     "fo","obar" apart from "foo","bar".
 * A pair (a hash's field and value, a sorted set's member and score) is
 * mixed into a fresh accumulator which is then xored into d as one
 * unordered element (digest_xor_pair).
 *
 * Pure functions of their arguments: no state, no allocation.
 */
#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>

#define DIGEST_LEN 20
#define DIGEST_HEX_LEN 40

/* d ^= SHA1(p[0..n)). */
void digest_xor(unsigned char d[DIGEST_LEN], const void *p, size_t n);
/* d = SHA1(d ^ SHA1(p[0..n))). */
void digest_mix(unsigned char d[DIGEST_LEN], const void *p, size_t n);
/* d ^= SHA1(e), where e starts at zero, then digest_mix(e, a) and
 * digest_mix(e, b). */
void digest_xor_pair(unsigned char d[DIGEST_LEN], const void *a, size_t alen, const void *b,
                     size_t blen);
/* The 40 lower-case hex digits of d and a NUL, as DEBUG DIGEST replies. */
void digest_hex(const unsigned char d[DIGEST_LEN], char out[DIGEST_HEX_LEN + 1]);

#endif
