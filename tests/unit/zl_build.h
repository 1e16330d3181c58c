/*
 * tests/unit/zl_build.h - ziplists and zipmaps built by hand, byte by
 * byte as src/rdb/rdb_zl.h lays them out (Redis 6.x's writers did), for
 * the unit tests that read them (test_rdb_zl.c, test_rdb_load.c). Every
 * entry encoding is chosen by the test, so each can be covered, however
 * rarely Redis would have written it.
 */
#ifndef ZL_BUILD_H
#define ZL_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "base/text.h"

/* The encoding bytes (src/rdb/rdb_zl.h). */
#define ZB_STR6 0x00
#define ZB_STR14 0x40
#define ZB_STR32 0x80
#define ZB_INT16 0xc0
#define ZB_INT32 0xd0
#define ZB_INT64 0xe0
#define ZB_INT24 0xf0
#define ZB_INT8 0xfe
#define ZB_IMM 0xf1 /* + the value, 0..12 */

struct zlb {
    struct text t;
    size_t prev, tail; /* the last entry's size and offset */
    unsigned count;
    int wide_prevlen; /* the next entry's previous length in 5 bytes */
};

static inline void zlb_begin(struct zlb *b)
{
    memset(b, 0, sizeof *b);
    static const char hdr[10];
    text_put(&b->t, hdr, sizeof hdr);
}

/* An entry: its previous length (5 bytes from 254 on, or when asked),
 * then enc (enclen bytes) and data. */
static inline void zlb_entry(struct zlb *b, const unsigned char *enc, size_t enclen,
                             const void *data, size_t dlen)
{
    unsigned char prev[5];
    size_t plen = 1;
    prev[0] = (unsigned char)b->prev;
    if (b->prev >= 254 || b->wide_prevlen) {
        prev[0] = 254;
        le_put32(prev + 1, (uint32_t)b->prev);
        plen = 5;
    }
    b->tail = b->t.len;
    text_put(&b->t, (const char *)prev, plen);
    text_put(&b->t, (const char *)enc, enclen);
    if (dlen) text_put(&b->t, data, dlen);
    b->prev = plen + enclen + dlen;
    b->count++;
    b->wide_prevlen = 0;
}

/* A string in the encoding given (ZB_STR6, ZB_STR14 or ZB_STR32). */
static inline void zlb_str_as(struct zlb *b, uint8_t kind, const void *s, size_t len)
{
    unsigned char enc[5];
    size_t n = 1;
    if (kind == ZB_STR6) {
        enc[0] = (unsigned char)len;
    } else if (kind == ZB_STR14) {
        enc[0] = (unsigned char)(ZB_STR14 | (len >> 8));
        enc[1] = (unsigned char)len;
        n = 2;
    } else {
        enc[0] = kind; /* ZB_STR32, or a byte of 10xxxxxx */
        for (int i = 0; i < 4; i++)
            enc[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        n = 5;
    }
    zlb_entry(b, enc, n, s, len);
}

/* A string in the smallest encoding, as Redis writes it. */
static inline void zlb_str(struct zlb *b, const char *s)
{
    size_t len = strlen(s);
    zlb_str_as(b, len < 64 ? ZB_STR6 : len < 16384 ? ZB_STR14 : ZB_STR32, s, len);
}

/* An integer in the encoding given (ZB_IMM: v is 0..12). */
static inline void zlb_int(struct zlb *b, uint8_t enc, long long v)
{
    unsigned char data[8];
    int width = enc == ZB_INT8    ? 1
                : enc == ZB_INT16 ? 2
                : enc == ZB_INT24 ? 3
                : enc == ZB_INT32 ? 4
                : enc == ZB_INT64 ? 8
                                  : 0;
    if (width == 0) enc = (uint8_t)(ZB_IMM + v);
    le_put(data, (uint64_t)v, width);
    zlb_entry(b, &enc, 1, data, (size_t)width);
}

/* The ziplist, malloc'd (*len bytes), its header filled in. */
static inline unsigned char *zlb_end(struct zlb *b, size_t *len)
{
    text_put(&b->t, "\xff", 1);
    unsigned char *zl = (unsigned char *)b->t.p;
    le_put32(zl, (uint32_t)b->t.len);
    le_put32(zl + 4, (uint32_t)(b->count ? b->tail : 10));
    zl[8] = (unsigned char)(b->count < 65535 ? b->count : 65535);
    zl[9] = (unsigned char)((b->count < 65535 ? b->count : 65535) >> 8);
    *len = b->t.len;
    return (unsigned char *)text_take(&b->t);
}

/* A zipmap: zmb_begin, the pairs, zmb_end. */
static inline void zmb_begin(struct text *t, unsigned char count)
{
    memset(t, 0, sizeof *t);
    text_put(t, (const char *)&count, 1);
}

static inline void zmb_len(struct text *t, size_t len)
{
    unsigned char b[5] = {(unsigned char)len};
    if (len >= 254) {
        b[0] = 254;
        le_put32(b + 1, (uint32_t)len);
    }
    text_put(t, (const char *)b, len >= 254 ? 5 : 1);
}

/* A pair, with free_bytes unused bytes after the value. */
static inline void zmb_pair(struct text *t, const char *f, const char *v, unsigned char free_bytes)
{
    zmb_len(t, strlen(f));
    text_puts(t, f);
    zmb_len(t, strlen(v));
    text_put(t, (const char *)&free_bytes, 1);
    text_puts(t, v);
    for (unsigned i = 0; i < free_bytes; i++)
        text_put(t, "?", 1);
}

static inline unsigned char *zmb_end(struct text *t, size_t *len)
{
    text_put(t, "\xff", 1);
    *len = t->len;
    return (unsigned char *)text_take(t);
}

#endif
