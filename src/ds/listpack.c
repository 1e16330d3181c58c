/*
 * src/ds/listpack.c - the compact sequence (see listpack.h for the layout).
 *
 * Every entry is self-delimiting both ways: its header byte tells its
 * length forwards, its back-length (the entry's header+payload size, 7 bits
 * per byte, the byte nearest the payload first, high bit = another byte
 * follows towards the end) tells it backwards. So the walk from the end
 * reads back-lengths right to left.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/le.h"
#include "ds/listpack.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define HDR 8 /* u32 total bytes | u32 count */

#define ENC_STR6 0x80  /* 10xxxxxx */
#define ENC_INT13 0xC0 /* 110xxxxx xxxxxxxx: -4096..4095 */
#define ENC_STR12 0xE0 /* 1110xxxx xxxxxxxx */
#define ENC_STR32 0xF0
#define ENC_INT16 0xF1
#define ENC_INT32 0xF3
#define ENC_INT64 0xF4

static void set_bytes(unsigned char *lp, size_t n)
{
    ASSERT(n <= UINT32_MAX);
    le_put32(lp, (uint32_t)n);
}

static void set_count(unsigned char *lp, uint32_t n)
{
    le_put32(lp + 4, n);
}

/* --- encoding one entry --- */

/* Bytes of the back-length of an entry of n header+payload bytes. */
static size_t backlen_size(size_t n)
{
    size_t k = 1;
    while (n >= 128) {
        n >>= 7;
        k++;
    }
    return k;
}

/* An entry's encoded form, built before it is copied in. */
struct enc {
    unsigned char head[9]; /* header and, for an integer, its payload */
    size_t head_len;
    const void *str; /* the string payload, or NULL for an integer */
    size_t str_len;
    size_t total; /* head + str + back-length */
};

static void encode(struct enc *e, const void *p, size_t len)
{
    long long v;
    e->str = NULL;
    e->str_len = 0;
    if (util_str2ll(p, len, &v)) {
        if (v >= 0 && v <= 127) {
            e->head[0] = (unsigned char)v;
            e->head_len = 1;
        } else if (v >= -4096 && v <= 4095) {
            uint16_t u = (uint16_t)(v & 0x1fff); /* 13-bit two's complement */
            e->head[0] = (unsigned char)(ENC_INT13 | (u >> 8));
            e->head[1] = (unsigned char)(u & 0xff);
            e->head_len = 2;
        } else if (v >= INT16_MIN && v <= INT16_MAX) {
            e->head[0] = ENC_INT16;
            le_put(e->head + 1, (uint64_t)v, 2);
            e->head_len = 3;
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            e->head[0] = ENC_INT32;
            le_put(e->head + 1, (uint64_t)v, 4);
            e->head_len = 5;
        } else {
            e->head[0] = ENC_INT64;
            le_put(e->head + 1, (uint64_t)v, 8);
            e->head_len = 9;
        }
    } else {
        ASSERT(len <= UINT32_MAX);
        if (len < 64) {
            e->head[0] = (unsigned char)(ENC_STR6 | len);
            e->head_len = 1;
        } else if (len < 4096) {
            e->head[0] = (unsigned char)(ENC_STR12 | (len >> 8));
            e->head[1] = (unsigned char)(len & 0xff);
            e->head_len = 2;
        } else {
            e->head[0] = ENC_STR32;
            le_put(e->head + 1, len, 4);
            e->head_len = 5;
        }
        e->str = p;
        e->str_len = len;
    }
    ASSERT(e->head_len >= 1 && e->head_len <= sizeof e->head);
    size_t body = e->head_len + e->str_len;
    e->total = body + backlen_size(body);
}

/* Writes the back-length of an entry of `body` header+payload bytes at b
 * (backlen_size(body) bytes). Read right to left, the bytes give the 7-bit
 * groups from the most significant; every byte but the leftmost flags that
 * another follows. */
static void put_backlen(unsigned char *b, size_t body)
{
    size_t k = backlen_size(body);
    for (size_t i = 0; i < k; i++) {
        unsigned char byte = (unsigned char)((body >> (7 * (k - 1 - i))) & 0x7f);
        if (i + 1 < k) byte |= 0x80;
        b[k - 1 - i] = byte;
    }
}

static void write_enc(unsigned char *dst, const struct enc *e)
{
    memcpy(dst, e->head, e->head_len);
    if (e->str_len) memcpy(dst + e->head_len, e->str, e->str_len);
    size_t body = e->head_len + e->str_len;
    put_backlen(dst + body, body);
}

/* --- decoding --- */

/* Header+payload bytes of the entry at p, and where its string payload
 * starts (*str_off) with its length (*str_len), or *str_off = 0 for an
 * integer (*ival). */
static size_t decode(const unsigned char *p, size_t *str_off, size_t *str_len, long long *ival)
{
    unsigned char h = p[0];
    *str_off = 0;
    *str_len = 0;
    if (h < 0x80) {
        *ival = h;
        return 1;
    }
    if ((h & 0xC0) == ENC_STR6) {
        *str_off = 1;
        *str_len = h & 0x3f;
        return 1 + *str_len;
    }
    if ((h & 0xE0) == ENC_INT13) {
        long long v = (long long)(h & 0x1f) << 8 | p[1];
        *ival = v >= 4096 ? v - 8192 : v;
        return 2;
    }
    if ((h & 0xF0) == ENC_STR12) {
        *str_off = 2;
        *str_len = (size_t)(h & 0x0f) << 8 | p[1];
        return 2 + *str_len;
    }
    switch (h) {
    case ENC_STR32:
        *str_off = 5;
        *str_len = (size_t)le_get(p + 1, 4);
        return 5 + *str_len;
    case ENC_INT16:
        *ival = (int16_t)le_get(p + 1, 2);
        return 3;
    case ENC_INT32:
        *ival = (int32_t)le_get(p + 1, 4);
        return 5;
    case ENC_INT64:
        *ival = (long long)le_get(p + 1, 8);
        return 9;
    }
    ASSERT(0 && "corrupt listpack entry header");
    return 0;
}

/* Bytes of the header (with an integer's payload) of an entry whose first
 * byte is h: what decode() reads before the payload; 0 when no entry
 * starts with h. */
static size_t head_size(unsigned char h)
{
    if (h < 0x80 || (h & 0xC0) == ENC_STR6) return 1;
    if ((h & 0xE0) == ENC_INT13 || (h & 0xF0) == ENC_STR12) return 2;
    switch (h) {
    case ENC_STR32:
    case ENC_INT32:
        return 5;
    case ENC_INT16:
        return 3;
    case ENC_INT64:
        return 9;
    }
    return 0;
}

/* Whole size of the entry at pos. */
static size_t entry_size(const unsigned char *lp, size_t pos)
{
    size_t so, sl;
    long long iv;
    size_t body = decode(lp + pos, &so, &sl, &iv);
    return body + backlen_size(body);
}

/* --- public --- */

unsigned char *lp_new(void)
{
    unsigned char *lp = util_xmalloc(HDR);
    set_bytes(lp, HDR);
    set_count(lp, 0);
    return lp;
}

void lp_free(unsigned char *lp)
{
    free(lp);
}

unsigned char *lp_dup(const unsigned char *lp)
{
    size_t n = lp_bytes(lp);
    ASSERT(n >= HDR);
    return memcpy(util_xmalloc(n), lp, n);
}

size_t lp_bytes(const unsigned char *lp)
{
    return le_get32(lp);
}

uint32_t lp_len(const unsigned char *lp)
{
    return le_get32(lp + 4);
}

size_t lp_first(const unsigned char *lp)
{
    (void)lp;
    return HDR;
}

size_t lp_end(const unsigned char *lp)
{
    return lp_bytes(lp);
}

size_t lp_next(const unsigned char *lp, size_t pos)
{
    ASSERT(pos < lp_end(lp));
    return pos + entry_size(lp, pos);
}

size_t lp_prev(const unsigned char *lp, size_t pos)
{
    if (pos <= HDR) return lp_end(lp);
    /* Read the back-length of the entry ending at pos, right to left. */
    size_t body = 0, i = pos - 1, k = 0;
    for (;;) {
        unsigned char b = lp[i];
        body = (body << 7) | (b & 0x7f);
        k++;
        if (!(b & 0x80)) break;
        ASSERT(i > HDR);
        i--;
    }
    size_t start = pos - k - body;
    ASSERT(start >= HDR);
    return start;
}

size_t lp_last(const unsigned char *lp)
{
    return lp_len(lp) ? lp_prev(lp, lp_end(lp)) : lp_end(lp);
}

size_t lp_seek(const unsigned char *lp, long index)
{
    uint32_t n = lp_len(lp);
    if (index < 0) index += (long)n;
    if (index < 0 || (uint64_t)index >= n) return lp_end(lp);
    size_t pos;
    if ((uint64_t)index <= n / 2) {
        pos = lp_first(lp);
        for (long i = 0; i < index; i++)
            pos = lp_next(lp, pos);
    } else {
        pos = lp_last(lp);
        for (long i = (long)n - 1; i > index; i--)
            pos = lp_prev(lp, pos);
    }
    ASSERT(pos >= HDR && pos < lp_end(lp));
    return pos;
}

const char *lp_get(const unsigned char *lp, size_t pos, char buf[LP_INTBUF], size_t *len)
{
    size_t so, sl;
    long long iv;
    decode(lp + pos, &so, &sl, &iv);
    if (so) {
        *len = sl;
        return (const char *)lp + pos + so;
    }
    *len = util_ll2str(buf, LP_INTBUF, iv);
    return buf;
}

int lp_get_ll(const unsigned char *lp, size_t pos, long long *v)
{
    size_t so, sl;
    decode(lp + pos, &so, &sl, v);
    return so == 0;
}

int lp_eq(const unsigned char *lp, size_t pos, const void *p, size_t len)
{
    size_t so, sl;
    long long iv;
    decode(lp + pos, &so, &sl, &iv);
    if (so) return sl == len && memcmp(lp + pos + so, p, len) == 0;
    long long want;
    return util_str2ll(p, len, &want) && want == iv;
}

size_t lp_find(const unsigned char *lp, size_t pos, const void *p, size_t len, unsigned skip)
{
    size_t end = lp_end(lp);
    long long want;
    int want_int = util_str2ll(p, len, &want);
    while (pos < end) {
        size_t so, sl;
        long long iv;
        size_t body = decode(lp + pos, &so, &sl, &iv);
        if (so ? (!want_int && sl == len && memcmp(lp + pos + so, p, len) == 0)
               : (want_int && iv == want))
            return pos;
        pos += body + backlen_size(body);
        for (unsigned s = 0; s < skip && pos < end; s++)
            pos = lp_next(lp, pos);
    }
    return end;
}

/* Makes room: replaces old_size bytes at pos with new_size bytes (content
 * of the new range undefined). Returns the listpack, possibly moved. */
static unsigned char *resize_at(unsigned char *lp, size_t pos, size_t old_size, size_t new_size)
{
    size_t total = lp_bytes(lp), tail = total - pos - old_size;
    size_t ntotal = total - old_size + new_size;
    ASSERT(pos >= HDR && pos + old_size <= total);
    ASSERT(ntotal <= UINT32_MAX && "a listpack is limited to 4 GiB");
    /* Growth within the block's size class needs no realloc (as Redis's
     * lpInsert): an append to a list or stream node usually fits. */
    if (new_size > old_size && ntotal > alloc_block_size(lp)) lp = util_xrealloc(lp, ntotal);
    memmove(lp + pos + new_size, lp + pos + old_size, tail);
    if (new_size < old_size) lp = util_xrealloc(lp, ntotal);
    set_bytes(lp, ntotal);
    return lp;
}

unsigned char *lp_insert(unsigned char *lp, size_t pos, const void *p, size_t len)
{
    ASSERT(pos >= HDR && pos <= lp_end(lp));
    struct enc e;
    encode(&e, p, len);
    ASSERT(lp_len(lp) < UINT32_MAX);
    lp = resize_at(lp, pos, 0, e.total);
    write_enc(lp + pos, &e);
    set_count(lp, lp_len(lp) + 1);
    return lp;
}

unsigned char *lp_append(unsigned char *lp, const void *p, size_t len)
{
    return lp_insert(lp, lp_end(lp), p, len);
}

unsigned char *lp_replace(unsigned char *lp, size_t pos, const void *p, size_t len)
{
    ASSERT(pos >= HDR && pos < lp_end(lp));
    struct enc e;
    encode(&e, p, len);
    lp = resize_at(lp, pos, entry_size(lp, pos), e.total);
    write_enc(lp + pos, &e);
    ASSERT(entry_size(lp, pos) == e.total);
    return lp;
}

unsigned char *lp_delete(unsigned char *lp, size_t pos, uint32_t n)
{
    size_t end = lp_end(lp), q = pos;
    uint32_t k = 0;
    while (k < n && q < end) {
        q += entry_size(lp, q);
        k++;
    }
    if (k == 0) return lp;
    ASSERT(q <= end && k <= lp_len(lp));
    lp = resize_at(lp, pos, q - pos, 0);
    set_count(lp, lp_len(lp) - k);
    return lp;
}

size_t lp_entry_bytes(const void *p, size_t len)
{
    struct enc e;
    encode(&e, p, len);
    return e.total;
}

unsigned char *lp_split(unsigned char *lp, size_t pos, unsigned char **tail)
{
    size_t end = lp_end(lp);
    ASSERT(pos >= HDR && pos <= end);
    uint32_t moved = 0;
    for (size_t q = pos; q < end; q += entry_size(lp, q))
        moved++;
    ASSERT(moved <= lp_len(lp));
    unsigned char *t = util_xmalloc(HDR + (end - pos));
    memcpy(t + HDR, lp + pos, end - pos);
    set_bytes(t, HDR + (end - pos));
    set_count(t, moved);
    *tail = t;
    set_count(lp, lp_len(lp) - moved);
    set_bytes(lp, pos);
    return util_xrealloc(lp, pos);
}

int lp_validate(const unsigned char *lp, size_t len, char *err, size_t errlen)
{
    if (len < HDR || lp_bytes(lp) != len)
        return util_fail(err, errlen, -1, "a listpack of %zu bytes says %zu", len,
                         len < HDR ? (size_t)0 : lp_bytes(lp));
    uint32_t n = 0;
    for (size_t pos = HDR; pos < len; n++) {
        size_t hs = head_size(lp[pos]);
        if (hs == 0 || hs > len - pos)
            return util_fail(err, errlen, -1, "listpack entry %u: bad header", n);
        size_t so, sl;
        long long iv;
        size_t body = decode(lp + pos, &so, &sl, &iv);
        size_t k = backlen_size(body);
        if (body > len - pos || k > len - pos - body)
            return util_fail(err, errlen, -1, "listpack entry %u runs past the end", n);
        /* Exactly the bytes lp_insert() writes for the entry's value: the
         * readers rely on it (an integer is never stored as a string,
         * lp_find; a back-length leads to the entry's start, lp_prev). */
        char buf[LP_INTBUF];
        size_t vlen = sl;
        const char *v = so ? (const char *)lp + pos + so : buf;
        if (!so) vlen = util_ll2str(buf, sizeof buf, iv);
        struct enc e;
        encode(&e, v, vlen);
        unsigned char back[8];
        put_backlen(back, body);
        if (e.total != body + k || memcmp(e.head, lp + pos, e.head_len) != 0 ||
            memcmp(back, lp + pos + body, k) != 0)
            return util_fail(err, errlen, -1, "listpack entry %u is not in its canonical form", n);
        pos += body + k;
    }
    if (n != lp_len(lp))
        return util_fail(err, errlen, -1, "a listpack of %u entries says %u", n, lp_len(lp));
    return 0;
}
