/*
 * src/rdb/rdb_io.c - RDB's lengths, strings, doubles and times (see
 * rdb_io.h).
 */
#include <liblzf/lzf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "base/util.h"
#include "rdb/rdb_io.h"

#define LEN_6BIT 0
#define LEN_14BIT 1
#define LEN_32BIT 0x80
#define LEN_64BIT 0x81
#define ENCVAL 3       /* 11xxxxxx */
#define INT_TRY_MAX 11 /* longest string Redis tries as an integer */
#define LZF_MIN 21     /* shortest string Redis tries to compress */
/* A text score's length byte that stands for a value (rdb_io.h). */
#define DOUBLE_NAN 253
#define DOUBLE_POS_INF 254
#define DOUBLE_NEG_INF 255

void rdb_put_byte(struct text *out, uint8_t b)
{
    text_put(out, (const char *)&b, 1);
}

void rdb_put_len(struct text *out, uint64_t len)
{
    unsigned char b[9];
    size_t n;
    if (len < (1 << 6)) {
        b[0] = (unsigned char)len;
        n = 1;
    } else if (len < (1 << 14)) {
        b[0] = (unsigned char)((LEN_14BIT << 6) | (len >> 8));
        b[1] = (unsigned char)len;
        n = 2;
    } else {
        int wide = len > UINT32_MAX;
        b[0] = wide ? LEN_64BIT : LEN_32BIT;
        n = wide ? 9 : 5;
        for (size_t i = 1; i < n; i++)
            b[i] = (unsigned char)(len >> (8 * (n - 1 - i))); /* big-endian */
    }
    text_put(out, (const char *)b, n);
}

/* Redis's rdbEncodeInteger: the bytes of v in the smallest of int8,
 * int16, int32 (0 when it needs more). */
static size_t encode_int(long long v, unsigned char b[5])
{
    int width;
    if (v >= INT8_MIN && v <= INT8_MAX)
        width = RDB_ENC_INT8;
    else if (v >= INT16_MIN && v <= INT16_MAX)
        width = RDB_ENC_INT16;
    else if (v >= INT32_MIN && v <= INT32_MAX)
        width = RDB_ENC_INT32;
    else
        return 0;
    size_t n = (size_t)1 << width;
    b[0] = (unsigned char)((ENCVAL << 6) | width);
    le_put(b + 1, (uint64_t)v, (int)n);
    return n + 1;
}

/* The string as an integer, when it is the canonical text of one. */
static size_t try_int(const void *s, size_t len, unsigned char b[5])
{
    long long v;
    char again[32];
    if (len > INT_TRY_MAX || !util_str2ll(s, len, &v)) return 0;
    if (util_ll2str(again, sizeof again, v) != len || memcmp(again, s, len) != 0) return 0;
    return encode_int(v, b);
}

/* LZF as Redis's rdbSaveLzfStringObject: only when it saves 4 bytes. */
static int try_lzf(struct text *out, const void *s, size_t len)
{
    size_t room = len - 4;
    if (len > UINT32_MAX) return 0; /* liblzf's lengths are unsigned int */
    unsigned char *c = util_xmalloc(room + 1);
    unsigned n = lzf_compress(s, (unsigned)len, c, (unsigned)room);
    if (n > 0) {
        rdb_put_byte(out, (ENCVAL << 6) | RDB_ENC_LZF);
        rdb_put_len(out, n);
        rdb_put_len(out, len);
        text_put(out, (const char *)c, n);
    }
    free(c);
    return n > 0;
}

void rdb_put_string(struct text *out, const void *s, size_t len, int compress)
{
    unsigned char b[5];
    size_t n = try_int(s, len, b);
    if (n) {
        text_put(out, (const char *)b, n);
        return;
    }
    if (compress && len >= LZF_MIN && try_lzf(out, s, len)) return;
    rdb_put_len(out, len);
    text_put(out, s, len);
}

void rdb_put_ll(struct text *out, long long v)
{
    unsigned char b[5];
    size_t n = encode_int(v, b);
    if (n) {
        text_put(out, (const char *)b, n);
        return;
    }
    char digits[32];
    size_t len = util_ll2str(digits, sizeof digits, v);
    rdb_put_len(out, len);
    text_put(out, digits, len);
}

void rdb_put_double(struct text *out, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    unsigned char b[8];
    le_put64(b, bits);
    text_put(out, (const char *)b, sizeof b);
}

void rdb_put_millis(struct text *out, int64_t ms)
{
    unsigned char b[8];
    le_put64(b, (uint64_t)ms);
    text_put(out, (const char *)b, sizeof b);
}

/* ----------------------------------------------------------- reading */

void rdb_in_init(struct rdb_in *in, const void *p, size_t len, size_t max_string)
{
    in->p = p;
    in->end = in->p + len;
    in->max_string = max_string;
    in->failed = 0;
}

const unsigned char *rdb_get_raw(struct rdb_in *in, size_t n)
{
    if (in->failed || (size_t)(in->end - in->p) < n) {
        in->failed = 1;
        return NULL;
    }
    const unsigned char *at = in->p;
    in->p += n;
    return at;
}

uint8_t rdb_get_byte(struct rdb_in *in)
{
    const unsigned char *b = rdb_get_raw(in, 1);
    return b ? *b : 0;
}

/* A length, or a special encoding (*special set, its kind returned). */
static uint64_t get_len_or_enc(struct rdb_in *in, int *special)
{
    *special = 0;
    uint8_t b = rdb_get_byte(in);
    switch (b >> 6) {
    case LEN_6BIT:
        return b & 0x3f;
    case LEN_14BIT:
        return ((uint64_t)(b & 0x3f) << 8) | rdb_get_byte(in);
    case ENCVAL:
        *special = 1;
        return b & 0x3f;
    default:
        break;
    }
    if (b != LEN_32BIT && b != LEN_64BIT) {
        in->failed = 1;
        return 0;
    }
    size_t n = b == LEN_32BIT ? 4 : 8;
    const unsigned char *p = rdb_get_raw(in, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

uint64_t rdb_get_len(struct rdb_in *in)
{
    int special;
    uint64_t v = get_len_or_enc(in, &special);
    if (special) in->failed = 1;
    return in->failed ? 0 : v;
}

static char *get_lzf(struct rdb_in *in, size_t *len)
{
    uint64_t clen = rdb_get_len(in), ulen = rdb_get_len(in);
    if (in->failed || ulen > in->max_string || ulen > UINT32_MAX || ulen == 0) {
        in->failed = 1;
        return NULL;
    }
    const unsigned char *c = rdb_get_raw(in, clen);
    if (!c || clen > UINT32_MAX) {
        in->failed = 1;
        return NULL;
    }
    char *s = util_xmalloc(ulen + 1);
    if (lzf_decompress(c, (unsigned)clen, s, (unsigned)ulen) != ulen) {
        free(s);
        in->failed = 1;
        return NULL;
    }
    s[ulen] = '\0';
    *len = ulen;
    return s;
}

char *rdb_get_string(struct rdb_in *in, size_t *len)
{
    int special;
    uint64_t v = get_len_or_enc(in, &special);
    if (in->failed) return NULL;
    if (special && v == RDB_ENC_LZF) return get_lzf(in, len);
    if (special) {
        if (v > RDB_ENC_INT32) {
            in->failed = 1;
            return NULL;
        }
        size_t n = (size_t)1 << v;
        const unsigned char *p = rdb_get_raw(in, n);
        if (!p) return NULL;
        uint64_t u = le_get(p, (int)n);
        int shift = 64 - 8 * (int)n; /* sign-extend the n bytes */
        long long x = (long long)(u << shift) >> shift;
        char digits[32];
        *len = util_ll2str(digits, sizeof digits, x);
        return util_xmemdup(digits, *len + 1);
    }
    if (v > in->max_string) {
        in->failed = 1;
        return NULL;
    }
    const unsigned char *p = rdb_get_raw(in, v);
    if (!p) return NULL;
    char *s = util_xmalloc(v + 1);
    memcpy(s, p, v);
    s[v] = '\0';
    *len = v;
    return s;
}

void rdb_skip_string(struct rdb_in *in)
{
    int special;
    uint64_t v = get_len_or_enc(in, &special);
    if (in->failed) return;
    if (special && v == RDB_ENC_LZF) {
        uint64_t clen = rdb_get_len(in), ulen = rdb_get_len(in);
        if (ulen > in->max_string || ulen == 0) in->failed = 1;
        rdb_get_raw(in, clen);
    } else if (special) {
        if (v > RDB_ENC_INT32) in->failed = 1;
        rdb_get_raw(in, (size_t)1 << v);
    } else {
        if (v > in->max_string) in->failed = 1;
        rdb_get_raw(in, v);
    }
}

double rdb_get_double(struct rdb_in *in)
{
    const unsigned char *p = rdb_get_raw(in, 8);
    if (!p) return 0;
    uint64_t bits = le_get64(p);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

double rdb_get_double_text(struct rdb_in *in)
{
    uint8_t len = rdb_get_byte(in);
    if (in->failed) return 0;
    if (len == DOUBLE_NAN) return NAN;
    if (len == DOUBLE_POS_INF) return INFINITY;
    if (len == DOUBLE_NEG_INF) return -INFINITY;
    const unsigned char *p = rdb_get_raw(in, len);
    if (!p) return 0;
    char buf[DOUBLE_NEG_INF + 1]; /* len is below 253 here */
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (end == buf) in->failed = 1;
    return d;
}

int64_t rdb_get_millis(struct rdb_in *in)
{
    const unsigned char *p = rdb_get_raw(in, 8);
    return p ? (int64_t)le_get64(p) : 0;
}
