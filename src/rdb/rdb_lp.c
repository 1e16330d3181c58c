/*
 * src/rdb/rdb_lp.c - Redis 7.0's listpack, written and read (see
 * rdb_lp.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "base/util.h"
#include "ds/listpack.h"
#include "raft/raft_assert.h"
#include "rdb/rdb_lp.h"

#define HDR 6
#define END 0xff
#define COUNT_UNKNOWN 65535

/* Encoding bytes (the top bits, then what follows). */
#define UINT7 0x00 /* 0xxxxxxx */
#define STR6 0x80  /* 10xxxxxx */
#define INT13 0xc0 /* 110xxxxx */
#define STR12 0xe0 /* 1110xxxx */
#define STR32 0xf0
#define INT16 0xf1
#define INT24 0xf2
#define INT32 0xf3
#define INT64 0xf4

void rdb_lp_begin(struct rdb_lp *w)
{
    memset(w, 0, sizeof *w);
    static const char hdr[HDR];
    text_put(&w->buf, hdr, HDR);
}

/* The back-length of an entry of l bytes, most significant group first. */
static size_t backlen(uint64_t l, unsigned char b[5])
{
    size_t n = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
    for (size_t i = 0; i < n; i++) {
        b[i] = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        if (i > 0) b[i] |= 128;
    }
    return n;
}

static void add_entry(struct rdb_lp *w, const unsigned char *head, size_t hlen, const void *data,
                      size_t dlen)
{
    unsigned char b[5];
    text_put(&w->buf, (const char *)head, hlen);
    if (dlen) text_put(&w->buf, data, dlen);
    size_t n = backlen(hlen + dlen, b);
    text_put(&w->buf, (const char *)b, n);
    w->count++;
}

void rdb_lp_add_int(struct rdb_lp *w, long long v)
{
    unsigned char h[9];
    size_t n;
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        h[0] = (unsigned char)v;
        n = 1;
    } else if (v >= -4096 && v <= 4095) {
        u &= 0x1fff; /* 13-bit two's complement */
        h[0] = (unsigned char)(INT13 | (u >> 8));
        h[1] = (unsigned char)u;
        n = 2;
    } else {
        int width = v >= INT16_MIN && v <= INT16_MAX   ? 2
                    : v >= -8388608 && v <= 8388607    ? 3
                    : v >= INT32_MIN && v <= INT32_MAX ? 4
                                                       : 8;
        h[0] = width == 2 ? INT16 : width == 3 ? INT24 : width == 4 ? INT32 : INT64;
        le_put(h + 1, u, width);
        n = 1 + (size_t)width;
    }
    add_entry(w, h, n, NULL, 0);
}

void rdb_lp_add(struct rdb_lp *w, const void *s, size_t len)
{
    long long v;
    char again[RDB_LP_INTBUF];
    if (len && len < RDB_LP_INTBUF && util_str2ll(s, len, &v) &&
        util_ll2str(again, sizeof again, v) == len && !memcmp(again, s, len)) {
        rdb_lp_add_int(w, v);
        return;
    }
    unsigned char h[5];
    size_t n;
    if (len < 64) {
        h[0] = (unsigned char)(STR6 | len);
        n = 1;
    } else if (len < 4096) {
        h[0] = (unsigned char)(STR12 | (len >> 8));
        h[1] = (unsigned char)len;
        n = 2;
    } else {
        h[0] = STR32;
        le_put32(h + 1, (uint32_t)len);
        n = 5;
    }
    add_entry(w, h, n, s, len);
}

void rdb_lp_add_listpack(struct rdb_lp *w, const unsigned char *lp)
{
    char buf[LP_INTBUF];
    for (size_t pos = lp_first(lp); pos < lp_end(lp); pos = lp_next(lp, pos)) {
        size_t len;
        const char *s = lp_get(lp, pos, buf, &len);
        rdb_lp_add(w, s, len);
    }
}

unsigned char *rdb_lp_end(struct rdb_lp *w, size_t *len)
{
    unsigned char end = END;
    text_put(&w->buf, (const char *)&end, 1);
    ASSERT(w->buf.len <= UINT32_MAX); /* the small encodings hold far less */
    unsigned char *lp = (unsigned char *)w->buf.p;
    uint64_t count = w->count < COUNT_UNKNOWN ? w->count : COUNT_UNKNOWN;
    le_put32(lp, (uint32_t)w->buf.len);
    lp[4] = (unsigned char)count;
    lp[5] = (unsigned char)(count >> 8);
    *len = w->buf.len;
    w->buf = (struct text){0};
    w->count = 0;
    return lp;
}

/* ------------------------------------------------------------ reading */

/* The entry at p (at most room bytes before the end byte): its encoding's
 * and data's length in *head and *data, or -1 when it does not fit. */
static int entry_size(const unsigned char *p, size_t room, size_t *head, size_t *data)
{
    uint8_t b = p[0];
    *data = 0;
    if ((b & 0x80) == UINT7) {
        *head = 1;
    } else if ((b & 0xc0) == STR6) {
        *head = 1;
        *data = b & 0x3f;
    } else if ((b & 0xe0) == INT13) {
        *head = 2;
    } else if ((b & 0xf0) == STR12) {
        *head = 2;
        if (room < 2) return -1;
        *data = ((size_t)(b & 0x0f) << 8) | p[1];
    } else if (b == STR32) {
        *head = 5;
        if (room < 5) return -1;
        *data = le_get32(p + 1);
    } else if (b >= INT16 && b <= INT32) {
        *head = 1 + (size_t)(b - INT16 + 2);
    } else if (b == INT64) {
        *head = 9;
    } else {
        return -1;
    }
    return *head <= room && *data <= room - *head ? 0 : -1;
}

int rdb_lp_check(const unsigned char *lp, size_t len, uint64_t *count)
{
    if (len < HDR + 1 || le_get32(lp) != len || lp[len - 1] != END) return -1;
    uint64_t header_count = (uint64_t)lp[4] | ((uint64_t)lp[5] << 8), n = 0;
    const unsigned char *p = lp + HDR, *end = lp + len - 1;
    while (p < end) {
        size_t head, data, room = (size_t)(end - p);
        if (entry_size(p, room, &head, &data) != 0) return -1;
        unsigned char b[5];
        size_t bl = backlen(head + data, b);
        if (bl > room - head - data || memcmp(p + head + data, b, bl) != 0) return -1;
        p += head + data + bl;
        n++;
    }
    if (header_count != COUNT_UNKNOWN && header_count != n) return -1;
    *count = n;
    return 0;
}

void rdb_lp_first(struct rdb_lp_it *it, const unsigned char *lp)
{
    it->p = lp + HDR;
}

/* The integer entry at p (head bytes). */
static long long int_of(const unsigned char *p, size_t head)
{
    if ((p[0] & 0x80) == UINT7) return p[0];
    if ((p[0] & 0xe0) == INT13) {
        uint64_t u = ((uint64_t)(p[0] & 0x1f) << 8) | p[1];
        return (long long)(u << 51) >> 51;
    }
    int width = (int)head - 1, shift = 64 - 8 * width;
    return (long long)(le_get(p + 1, width) << shift) >> shift;
}

int rdb_lp_next(struct rdb_lp_it *it, const unsigned char **s, size_t *len, char buf[RDB_LP_INTBUF])
{
    const unsigned char *p = it->p;
    if (*p == END) return 0;
    size_t head, data;
    /* checked whole by rdb_lp_check(): room is not what bounds it here */
    int rc = entry_size(p, SIZE_MAX, &head, &data);
    ASSERT(rc == 0);
    uint8_t b = p[0];
    int is_str = (b & 0xc0) == STR6 || (b & 0xf0) == STR12 || b == STR32;
    if (is_str) {
        *s = p + head;
        *len = data;
    } else {
        *len = util_ll2str(buf, RDB_LP_INTBUF, int_of(p, head));
        *s = (const unsigned char *)buf;
    }
    unsigned char bl[5];
    it->p = p + head + data + backlen(head + data, bl);
    return 1;
}

void rdb_lp_foreach(const unsigned char *lp, rdb_lp_elem_fn *fn, void *ud)
{
    struct rdb_lp_it it;
    rdb_lp_first(&it, lp);
    const unsigned char *s;
    size_t len;
    char buf[RDB_LP_INTBUF];
    while (rdb_lp_next(&it, &s, &len, buf))
        fn(ud, s, len);
}

static void append_elem(void *ud, const unsigned char *s, size_t len)
{
    unsigned char **out = ud;
    *out = lp_append(*out, s, len);
}

unsigned char *rdb_lp_to_listpack(const unsigned char *lp)
{
    unsigned char *out = lp_new();
    rdb_lp_foreach(lp, append_elem, &out);
    return out;
}
