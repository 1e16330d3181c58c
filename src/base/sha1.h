/*
 * src/base/sha1.h - SHA-1 (FIPS 180-4), for what Redis names scripts by: the
 * hex digest of a script's body (EVAL, EVALSHA, SCRIPT LOAD,
 * redis.sha1hex) and the 20-byte hashes DEBUG DIGEST combines
 * (src/keyspace/digest.h). Not used for anything secret.
 */
#ifndef SHA1_H
#define SHA1_H

#include <stddef.h>

#define SHA1_LEN 20
#define SHA1_HEX_LEN 40

/* Writes the 20 bytes of data's SHA-1 to out (out may alias data). */
void sha1(const void *data, size_t len, unsigned char out[SHA1_LEN]);

/* Writes the 40 lower-case hex digits of raw (a SHA-1's 20 bytes) and a
 * NUL to out. */
void sha1_to_hex(const unsigned char raw[SHA1_LEN], char out[SHA1_HEX_LEN + 1]);
/* Writes the 40 lower-case hex digits of data's SHA-1 and a NUL to out. */
void sha1_hex(const void *data, size_t len, char out[SHA1_HEX_LEN + 1]);

#endif
