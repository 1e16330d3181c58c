/*
 * src/base/util.h - number/string conversions, clocks, a PRNG and cluster key
 * slots, shared by the command handlers and the server.
 *
 * The conversions reproduce Redis's util.c behaviour byte for byte where a
 * client can observe it (which strings INCR accepts, how INCRBYFLOAT prints
 * its result), because Redis's own test suite runs against this server.
 *
 * Conventions: input strings are (pointer, length) pairs; they need no NUL
 * terminator and a NUL byte inside them is just an invalid character.
 * Parsers return 1 on success and 0 on failure and leave *out untouched on
 * failure.  Formatters write a NUL-terminated string into buf[0..cap) and
 * return its length without the NUL, or 0 (with buf[0] = '\0' when cap > 0)
 * when it does not fit.  Nothing here allocates except util_str2d() on
 * inputs longer than UTIL_LONG_DOUBLE_CHARS_MAX, and nothing keeps state
 * except what the caller passes in.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Enough for util_ll2str() of any long long, sign and NUL included. */
#define UTIL_LL_STR_SIZE 21
/* Longest input util_str2ld() accepts is one less than this (Redis's
 * MAX_LONG_DOUBLE_CHARS); also a safe buffer size for util_ld2str(). */
#define UTIL_LONG_DOUBLE_CHARS_MAX (5 * 1024)
#define UTIL_CLUSTER_SLOTS 16384

/* Strict decimal integer, as Redis's string2ll: an optional '-', then "0" or
 * a digit 1-9 followed by digits; no spaces, no '+', no leading zeros, no
 * "-0"; values outside long long are rejected.  Inputs of 21 bytes or more
 * are rejected (no valid long long is that long).  1 ok, 0 invalid. */
int util_str2ll(const char *s, size_t len, long long *out);

/* Long double as Redis's string2ld (INCRBYFLOAT's argument parser): whatever
 * strtold() accepts in full (decimal, hex floats, "inf", "infinity", a
 * leading '+'), except: empty input, input of UTIL_LONG_DOUBLE_CHARS_MAX
 * bytes or more, a leading space, embedded NUL, NaN, overflow to +-inf and
 * underflow to zero.  Note "inf" itself is accepted; INCRBYFLOAT rejects an
 * infinite result separately.  1 ok, 0 invalid. */
int util_str2ld(const char *s, size_t len, long double *out);

/* Double as Redis's string2d: the same rules as util_str2ld() with strtod(),
 * but without the length limit.  1 ok, 0 invalid (also on the malloc failure
 * of the long-input path). */
int util_str2d(const char *s, size_t len, double *out);

/* Decimal text of v.  buf needs UTIL_LL_STR_SIZE bytes for any value.
 * Returns the length, or 0 if cap is too small (then nothing but an empty
 * string is written). */
size_t util_ll2str(char *buf, size_t cap, long long v);

/* Decimal text of an unsigned v, as util_ll2str() (UTIL_LL_STR_SIZE bytes
 * hold any value). */
size_t util_ull2str(char *buf, size_t cap, unsigned long long v);

/* Text of a long double, as Redis's ld2string.  humanfriendly != 0 is the
 * LD_STR_HUMAN mode INCRBYFLOAT replies with: "%.17Lf", then trailing zeros
 * after the point and a bare trailing point removed ("10.6", "3", never an
 * exponent), and "-0" printed as "0".  humanfriendly == 0 is "%.17Lg".
 * Infinities print as "inf"/"-inf" and NaN as "nan" in both modes.  Human
 * mode can need thousands of bytes for huge values: give it
 * UTIL_LONG_DOUBLE_CHARS_MAX.  Returns the length, or 0 if it did not fit. */
size_t util_ld2str(char *buf, size_t cap, long double v, int humanfriendly);

/* The one way to fail with a reason: formats into err (when err is not
 * NULL and errlen > 0) and returns code. */
int util_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* malloc/calloc/realloc that abort on failure: out of memory is fatal to
 * the server, as in Redis. */
void *util_xmalloc(size_t n);
void *util_xcalloc(size_t n, size_t size);
void *util_xrealloc(void *p, size_t n);
/* A copy of p[0..n) with a NUL after it. */
char *util_xmemdup(const void *p, size_t n);
/* Writes digits lower-case hex digits of raw, high nibble first (digits
 * may be odd: the last byte's low nibble is then left out); no NUL. */
void util_hex(char *out, const unsigned char *raw, size_t digits);

/* A uniformly distributed integer in [0, n) from *state (util_rand64);
 * n > 0. */
uint64_t util_rand_below(uint64_t *state, uint64_t n);

/* Next value of a splitmix64 sequence held by the caller in *state.  Any
 * seed (zero included) gives a full-period, well-mixed sequence.  Not for
 * secrets. */
uint64_t util_rand64(uint64_t *state);

/* Memory size as written in the config file: an optional '-', one or more
 * decimal digits, then an optional case-insensitive unit: b (1), k (1000),
 * kb (1024), m (1000^2), mb (1024^2), g (1000^3), gb (1024^3).  Unlike
 * Redis's memtoll(), which returns garbage for them, a missing number, any
 * other suffix and a result outside long long are rejected.  1 ok, 0
 * invalid. */
int util_memtoll(const char *s, size_t len, long long *out);

/* CRC16-CCITT in its XMODEM form (polynomial 0x1021, initial value 0, no
 * reflection, no final xor), the checksum Redis Cluster hashes keys with.
 * util_crc16("123456789", 9) == 0x31C3. */
uint16_t util_crc16(const void *buf, size_t len);

/* The Redis Cluster slot of a key, 0..UTIL_CLUSTER_SLOTS-1.  If the key holds
 * a '{' followed later by a '}' with at least one byte between the first such
 * pair, only those bytes are hashed ("{user1000}.following" and
 * "{user1000}.followers" share a slot); otherwise the whole key is. */
unsigned util_key_slot(const char *key, size_t len);

/* Compares a configured secret, secret[0..secret_len), with given[0..len):
 * binary-safe (either may hold NUL bytes; equal means same length, same
 * bytes), in time that depends only on len, so a reply's timing does not
 * reveal how much of a guess was right (AUTH, RAFT.AUTH). Returns 1 if
 * equal. */
int util_secret_eq(const char *secret, size_t secret_len, const char *given, size_t len);

/* out = path followed by suffix ("<db>-wal"). Returns 0, or -1 if that does
 * not fit in cap bytes (out then holds a truncated copy, not to be used). */
int util_path_suffixed(char *out, size_t cap, const char *path, const char *suffix);

#endif
