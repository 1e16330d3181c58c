/*
 * src/rdb/rdb_io.h - the primitives of Redis's RDB format (version 10, as
 * redis-server 7.0 writes and reads it): lengths, strings, doubles and
 * times, written to a growing buffer and read from a bounded one. The
 * value encodings (src/rdb/rdb_value.h), DUMP payloads and dump.rdb files
 * are made of these.
 *
 * LENGTHS. 00xxxxxx: 0..63; 01xxxxxx xxxxxxxx: 14 bits, big-endian;
 * 0x80 + 4 bytes and 0x81 + 8 bytes, big-endian; 11xxxxxx announces a
 * string in a special encoding instead (below).
 *
 * STRINGS. A length and the bytes; or, as Redis chooses when writing: a
 * string of at most 11 bytes that is a canonical integer in 32 bits as
 * 0xc0 + int8, 0xc1 + int16 or 0xc2 + int32 (little-endian); or, when
 * compression is on and the string is over 20 bytes and LZF saves at
 * least 4 of them, 0xc3, the compressed length, the length and the LZF
 * bytes. So a string written here has the bytes redis-server writes for
 * it, LZF aside (raftcache's liblzf is Debian's, Redis bundles its own).
 *
 * DOUBLES are 8 bytes, IEEE 754 little-endian (RDB 8 and later); TIMES
 * are milliseconds in 8 bytes, little-endian. Before RDB 8 a sorted set's
 * scores (type ZSET) were text: a byte 253 (NaN), 254 (+inf), 255 (-inf),
 * or a length byte and that many bytes of ASCII, read as redis-server 7.0
 * reads them (sscanf's "%lg": leading spaces skipped, the longest number
 * at the start taken, what follows ignored).
 *
 * READING never trusts the bytes: every length is checked against what
 * is left and against the caller's limit (a string decompressed from a
 * few LZF bytes can claim gigabytes), and a failed read leaves the reader
 * failed (rdb_in.failed): the callers check once, at the end of a value.
 */
#ifndef RDB_IO_H
#define RDB_IO_H

#include <stddef.h>
#include <stdint.h>

#include "base/text.h"

#define RDB_VERSION 10 /* redis-server 7.0's */

/* The special string encodings (the low 6 bits after 11). */
enum rdb_enc { RDB_ENC_INT8 = 0, RDB_ENC_INT16 = 1, RDB_ENC_INT32 = 2, RDB_ENC_LZF = 3 };

/* ----------------------------------------------------------- writing */

void rdb_put_byte(struct text *out, uint8_t b);
void rdb_put_len(struct text *out, uint64_t len);
/* s as Redis's rdbSaveRawString writes it; compress: rdbcompression. */
void rdb_put_string(struct text *out, const void *s, size_t len, int compress);
/* An integer as a string (rdbSaveLongLongAsStringObject): int-encoded
 * when it fits 32 bits, else its decimal digits. */
void rdb_put_ll(struct text *out, long long v);
void rdb_put_double(struct text *out, double d);
void rdb_put_millis(struct text *out, int64_t ms);

/* ----------------------------------------------------------- reading */

struct rdb_in {
    const unsigned char *p, *end;
    size_t max_string; /* bytes a decoded string may have at most */
    int failed;        /* a read ran past the end or met a malformed encoding */
};

void rdb_in_init(struct rdb_in *in, const void *p, size_t len, size_t max_string);
/* The next byte (0 and failed at the end). */
uint8_t rdb_get_byte(struct rdb_in *in);
/* A length (not a special encoding: that fails). */
uint64_t rdb_get_len(struct rdb_in *in);
/* A string in any encoding: malloc'd (NUL-terminated, *len bytes before
 * the NUL), or NULL and failed. */
char *rdb_get_string(struct rdb_in *in, size_t *len);
double rdb_get_double(struct rdb_in *in);
/* A score as text (before RDB 8, above); 0 and failed when no number
 * starts it. */
double rdb_get_double_text(struct rdb_in *in);
int64_t rdb_get_millis(struct rdb_in *in);
/* Steps over a string in any encoding without decoding it (an LZF one's
 * claimed length is checked against max_string all the same). */
void rdb_skip_string(struct rdb_in *in);
/* n raw bytes, in place (NULL and failed when fewer are left). */
const unsigned char *rdb_get_raw(struct rdb_in *in, size_t n);

#endif
