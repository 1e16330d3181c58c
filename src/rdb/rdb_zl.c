/*
 * src/rdb/rdb_zl.c - ziplists and zipmaps checked and walked, and the
 * cursor over any packed container (see rdb_zl.h).
 *
 * Positions are offsets from the container's start, compared with the
 * offset of its end byte (last), so that no length read from the input
 * forms a pointer outside it.
 */
#include <string.h>

#include "base/le.h"
#include "base/util.h"
#include "raft/raft_assert.h"
#include "rdb/rdb_zl.h"

#define END 0xff

/* ------------------------------------------------------------ ziplist */

#define ZL_HDR 10
#define ZL_BIG_PREVLEN 254
#define ZL_COUNT_UNKNOWN 65535
#define ZL_STR_MASK 0xc0
#define ZL_STR6 0x00
#define ZL_STR14 0x40
#define ZL_STR32 0x80
#define ZL_INT16 0xc0
#define ZL_INT32 0xd0
#define ZL_INT64 0xe0
#define ZL_INT24 0xf0
#define ZL_INT8 0xfe
#define ZL_IMM_MIN 0xf1
#define ZL_IMM_MAX 0xfd

/* One ziplist entry's parts, as decoded. */
struct zl_entry {
    size_t prevlen; /* the previous entry's length, as recorded */
    size_t head;    /* the previous length's and the encoding's bytes */
    size_t data;    /* the data's bytes */
    uint8_t enc;    /* the encoding (a string's: its top 2 bits only) */
};

/* The data bytes of an integer encoding (0: an immediate 0..12), or
 * SIZE_MAX for a byte that is no integer encoding. */
static size_t zl_int_size(uint8_t enc)
{
    switch (enc) {
    case ZL_INT8:
        return 1;
    case ZL_INT16:
        return 2;
    case ZL_INT24:
        return 3;
    case ZL_INT32:
        return 4;
    case ZL_INT64:
        return 8;
    default:
        return enc >= ZL_IMM_MIN && enc <= ZL_IMM_MAX ? 0 : SIZE_MAX;
    }
}

/* The bytes encoding enc takes at p, its length included (0: no such
 * encoding), and the data it announces in *data. p holds at least that
 * many bytes (zl_entry() checks it first). */
static size_t zl_enc_size(const unsigned char *p, uint8_t enc, size_t *data)
{
    switch (enc) {
    case ZL_STR6:
        *data = p[0] & 0x3f;
        return 1;
    case ZL_STR14:
        *data = ((size_t)(p[0] & 0x3f) << 8) | p[1];
        return 2;
    case ZL_STR32:
        *data = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        return 5;
    default:
        *data = zl_int_size(enc);
        return *data == SIZE_MAX ? 0 : 1;
    }
}

/* The entry at pos of zl, whose end byte is at last: 0 and *e when it
 * lies whole before the end byte, else -1. Only bytes before last are
 * read: each size is checked before the bytes it covers. */
static int zl_entry(const unsigned char *zl, size_t pos, size_t last, struct zl_entry *e)
{
    size_t room = last - pos;
    size_t prevsize = zl[pos] < ZL_BIG_PREVLEN ? 1 : 5;
    if (prevsize >= room) return -1; /* the encoding byte must fit too */
    e->prevlen = prevsize == 1 ? zl[pos] : le_get32(zl + pos + 1);
    const unsigned char *enc = zl + pos + prevsize;
    e->enc = (uint8_t)(enc[0] < ZL_STR_MASK ? enc[0] & ZL_STR_MASK : enc[0]);
    /* the longest encoding is 5 bytes: read its length only when it fits */
    size_t need = e->enc == ZL_STR14 ? 2 : e->enc == ZL_STR32 ? 5 : 1;
    if (need > room - prevsize) return -1;
    size_t encsize = zl_enc_size(enc, e->enc, &e->data);
    if (encsize == 0) return -1;
    e->head = prevsize + encsize;
    return e->data <= room - e->head ? 0 : -1;
}

static int zl_check(const unsigned char *zl, size_t len, uint64_t *count)
{
    if (len < ZL_HDR + 1 || le_get32(zl) != len || zl[len - 1] != END) return -1;
    size_t last = len - 1, tail = le_get32(zl + 4);
    if (tail > last) return -1;
    uint64_t header_count = (uint64_t)zl[8] | ((uint64_t)zl[9] << 8), n = 0;
    size_t pos = ZL_HDR, prev_pos = 0, prev_size = 0;
    while (zl[pos] != END) {
        struct zl_entry e;
        if (zl_entry(zl, pos, last, &e) != 0 || e.prevlen != prev_size) return -1;
        prev_pos = pos;
        prev_size = e.head + e.data;
        pos += prev_size;
        n++;
    }
    if (pos != last || (n > 0 && prev_pos != tail)) return -1;
    if (header_count != ZL_COUNT_UNKNOWN && header_count != n) return -1;
    *count = n;
    return 0;
}

/* The integer of a (checked) integer entry whose data is at d. */
static long long zl_int(uint8_t enc, const unsigned char *d)
{
    int width = (int)zl_int_size(enc);
    if (width == 0) return (enc & 0x0f) - 1;
    int shift = 64 - 8 * width; /* sign-extend the width's bytes */
    return (long long)(le_get(d, width) << shift) >> shift;
}

static int zl_next(struct rdb_pack_it *it, const unsigned char **s, size_t *len,
                   char buf[RDB_LP_INTBUF])
{
    const unsigned char *p = it->p;
    if (*p == END) return 0;
    struct zl_entry e;
    /* checked whole by zl_check(): room is not what bounds it here */
    int rc = zl_entry(p, 0, SIZE_MAX, &e);
    ASSERT(rc == 0);
    if (e.enc < ZL_STR_MASK) {
        *s = p + e.head;
        *len = e.data;
    } else {
        *len = util_ll2str(buf, RDB_LP_INTBUF, zl_int(e.enc, p + e.head));
        *s = (const unsigned char *)buf;
    }
    it->p = p + e.head + e.data;
    return 1;
}

/* ------------------------------------------------------------- zipmap */

#define ZM_BIGLEN 254

/* The length at pos of zm (end byte at last): its bytes in *size, 0 when
 * they and the byte after them lie before last and a 5-byte length holds
 * 254 or more, as Redis's writer makes it; else -1. */
static int zm_len(const unsigned char *zm, size_t pos, size_t last, size_t *size, size_t *len)
{
    *size = zm[pos] < ZM_BIGLEN ? 1 : 5;
    if (*size >= last - pos) return -1;
    *len = *size == 1 ? zm[pos] : le_get32(zm + pos + 1);
    return *size == 5 && *len < ZM_BIGLEN ? -1 : 0;
}

static int zm_check(const unsigned char *zm, size_t len, uint64_t *count)
{
    if (len < 2 || zm[len - 1] != END) return -1;
    size_t last = len - 1, pos = 1, size, l;
    uint64_t pairs = 0;
    while (zm[pos] != END) {
        if (zm_len(zm, pos, last, &size, &l) != 0) return -1; /* the field */
        pos += size;
        if (l > last - pos) return -1;
        pos += l;
        if (zm_len(zm, pos, last, &size, &l) != 0) return -1; /* the value */
        pos += size;
        size_t free_bytes = zm[pos++]; /* pos was before last: at most last now */
        if (l > last - pos || free_bytes > last - pos - l) return -1;
        pos += l + free_bytes;
        pairs++;
    }
    if (pairs == 0 || (zm[0] != ZM_BIGLEN && zm[0] != pairs)) return -1;
    *count = 2 * pairs;
    return 0;
}

static int zm_next(struct rdb_pack_it *it, const unsigned char **s, size_t *len)
{
    const unsigned char *p = it->p;
    if (!it->value_next && *p == END) return 0;
    size_t size;
    /* checked whole by zm_check() */
    int rc = zm_len(p, 0, SIZE_MAX, &size, len);
    ASSERT(rc == 0);
    size_t free_bytes = it->value_next ? p[size] : 0;
    size_t skip = it->value_next ? 1 : 0; /* the free-bytes count */
    *s = p + size + skip;
    it->p = *s + *len + free_bytes;
    it->value_next = !it->value_next;
    return 1;
}

/* ------------------------------------------------------- the cursor */

int rdb_pack_check(enum rdb_pack kind, const unsigned char *p, size_t len, uint64_t *count)
{
    switch (kind) {
    case RDB_PACK_LISTPACK:
        return rdb_lp_check(p, len, count);
    case RDB_PACK_ZIPLIST:
        return zl_check(p, len, count);
    case RDB_PACK_ZIPMAP:
        return zm_check(p, len, count);
    }
    ASSERT(0);
    return -1;
}

void rdb_pack_first(struct rdb_pack_it *it, enum rdb_pack kind, const unsigned char *p)
{
    it->kind = kind;
    it->value_next = 0;
    if (kind == RDB_PACK_LISTPACK) {
        struct rdb_lp_it lp;
        rdb_lp_first(&lp, p);
        it->p = lp.p;
    } else {
        it->p = p + (kind == RDB_PACK_ZIPLIST ? ZL_HDR : 1); /* past the header */
    }
}

int rdb_pack_next(struct rdb_pack_it *it, const unsigned char **s, size_t *len,
                  char buf[RDB_LP_INTBUF])
{
    if (it->kind == RDB_PACK_ZIPLIST) return zl_next(it, s, len, buf);
    if (it->kind == RDB_PACK_ZIPMAP) return zm_next(it, s, len);
    struct rdb_lp_it lp = {it->p};
    int more = rdb_lp_next(&lp, s, len, buf);
    it->p = lp.p;
    return more;
}
