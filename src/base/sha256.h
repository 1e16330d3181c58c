/*
 * src/base/sha256.h - SHA-256 (FIPS 180-4), for what Redis's ACL stores of a
 * password: the 64 lower-case hex digits of its SHA-256 (ACL SETUSER's
 * >pass and #hash, ACL GETUSER, ACL LIST, the aclfile), so a hash written
 * by redis-server means the same password here.
 */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

/* Writes the 32 bytes of data's SHA-256 to out. */
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* Writes the 64 lower-case hex digits of data's SHA-256 and a NUL to out. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif
