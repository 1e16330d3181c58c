/*
 * resp/writer.c - RESP2/RESP3 reply writer.
 *
 * Owns the output buffer of one client and the encoding of every reply type.
 * Integers are formatted by hand (two digits per step) because resp_add_int
 * and resp_add_bulk run once per command on the hot path; only doubles and
 * printf-style errors go through snprintf. See writer.h for the contract.
 */
#include "writer.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../raft/raft_assert.h"

#define OUT_MIN_CAP 256
/* Longest decimal long long: "-9223372036854775808". */
#define LL_DEC_MAX 20
/* Type byte, number, CRLF. */
#define HDR_MAX (1 + LL_DEC_MAX + 2)

static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

static size_t dec_digits(unsigned long long v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Writes v in decimal at dst (no NUL); returns the length (at most 20). */
static size_t ll_to_dec(char *dst, long long v)
{
    size_t sign = 0;
    unsigned long long u = (unsigned long long)v;
    if (v < 0) {
        *dst++ = '-';
        u = 0ULL - u; /* well defined for LLONG_MIN too */
        sign = 1;
    }
    size_t n = dec_digits(u);
    char *w = dst + n;
    while (u >= 100) {
        unsigned i = (unsigned)(u % 100) * 2;
        u /= 100;
        *--w = digit_pairs[i + 1];
        *--w = digit_pairs[i];
    }
    if (u >= 10) {
        *--w = digit_pairs[u * 2 + 1];
        *--w = digit_pairs[u * 2];
    } else {
        *--w = (char)('0' + u);
    }
    return sign + n;
}

void resp_out_init(struct resp_out *o, int proto)
{
    ASSERT(proto == 2 || proto == 3);
    memset(o, 0, sizeof *o);
    o->proto = proto;
}

void resp_out_free(struct resp_out *o)
{
    free(o->data);
    o->data = NULL;
    o->pos = o->len = o->cap = 0;
}

void resp_out_clear(struct resp_out *o)
{
    o->pos = o->len = 0;
}

void resp_out_consume(struct resp_out *o, size_t n)
{
    ASSERT(n <= o->len - o->pos);
    o->pos += n;
    if (o->pos == o->len) o->pos = o->len = 0;
}

void resp_out_shrink(struct resp_out *o, size_t keep_max)
{
    if (o->len == o->pos && o->cap > keep_max) resp_out_free(o);
}

/*
 * Makes room for need more bytes at o->len. Sent bytes are reclaimed only
 * when they are more than half the buffer, so a slow reader does not make
 * every write pay a memmove; otherwise the buffer doubles. Deferred handles
 * survive compaction because they are offsets from o->pos.
 */
static char *reserve(struct resp_out *o, size_t need)
{
    if (o->cap - o->len < need && o->pos > o->cap / 2) {
        memmove(o->data, o->data + o->pos, o->len - o->pos);
        o->len -= o->pos;
        o->pos = 0;
    }
    if (o->cap - o->len < need) {
        ASSERT(need <= SIZE_MAX / 4 - o->len);
        size_t cap = o->cap ? o->cap * 2 : OUT_MIN_CAP;
        if (cap < o->len + need) cap = o->len + need;
        char *d = realloc(o->data, cap);
        if (!d) abort();
        o->data = d;
        o->cap = cap;
    }
    return o->data + o->len;
}

/* Writes "<type><v>\r\n" at w; returns its length (at most HDR_MAX). */
static size_t put_header(char *w, char type, long long v)
{
    w[0] = type;
    size_t n = 1 + ll_to_dec(w + 1, v);
    w[n++] = '\r';
    w[n++] = '\n';
    return n;
}

static void add_header(struct resp_out *o, char type, long long v)
{
    char *w = reserve(o, HDR_MAX);
    o->len += put_header(w, type, v);
}

/* "<type><bytes>\r\n" */
static void add_line(struct resp_out *o, char type, const void *p, size_t n)
{
    char *w = reserve(o, n + 3);
    w[0] = type;
    memcpy(w + 1, p, n);
    w[n + 1] = '\r';
    w[n + 2] = '\n';
    o->len += n + 3;
}

void resp_add_raw(struct resp_out *o, const void *p, size_t n)
{
    char *w = reserve(o, n);
    memcpy(w, p, n);
    o->len += n;
}

void resp_add_simple(struct resp_out *o, const char *s)
{
    ASSERT(!strpbrk(s, "\r\n"));
    add_line(o, '+', s, strlen(s));
}

void resp_add_error(struct resp_out *o, const char *msg)
{
    size_t n = strlen(msg);
    add_line(o, '-', msg, n);
    char *w = o->data + o->len - n - 2;
    for (size_t i = 0; i < n; i++)
        if (w[i] == '\r' || w[i] == '\n') w[i] = ' ';
    if (o->on_error) o->on_error(o->on_error_ud, w, n);
}

void resp_add_errorf(struct resp_out *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ASSERT(n >= 0);
    if ((size_t)n < sizeof buf) {
        resp_add_error(o, buf);
    } else {
        char *big = malloc((size_t)n + 1);
        if (!big) abort();
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        resp_add_error(o, big);
        free(big);
    }
    va_end(ap2);
}

void resp_add_int(struct resp_out *o, long long v)
{
    add_header(o, ':', v);
}

void resp_add_bulk(struct resp_out *o, const void *p, size_t n)
{
    ASSERT(n <= (size_t)LLONG_MAX);
    char *w = reserve(o, HDR_MAX + n + 2);
    size_t h = put_header(w, '$', (long long)n);
    memcpy(w + h, p, n);
    w[h + n] = '\r';
    w[h + n + 1] = '\n';
    o->len += h + n + 2;
}

void resp_add_bulk_cstr(struct resp_out *o, const char *s)
{
    if (!s)
        resp_add_null(o);
    else
        resp_add_bulk(o, s, strlen(s));
}

void resp_add_bulk_ll(struct resp_out *o, long long v)
{
    char buf[LL_DEC_MAX];
    resp_add_bulk(o, buf, ll_to_dec(buf, v));
}

void resp_add_double(struct resp_out *o, double d)
{
    char buf[64];
    const char *s = buf;
    /* Spelled out rather than left to printf, which may write "-nan". */
    if (isnan(d))
        s = "nan";
    else if (isinf(d))
        s = d > 0 ? "inf" : "-inf";
    else
        snprintf(buf, sizeof buf, "%.17g", d);
    size_t n = strlen(s);
    if (o->proto == 3)
        add_line(o, ',', s, n);
    else
        resp_add_bulk(o, s, n);
}

void resp_add_null(struct resp_out *o)
{
    if (o->proto == 3)
        resp_add_raw(o, "_\r\n", 3);
    else
        resp_add_raw(o, "$-1\r\n", 5);
}

void resp_add_null_array(struct resp_out *o)
{
    if (o->proto == 3)
        resp_add_raw(o, "_\r\n", 3);
    else
        resp_add_raw(o, "*-1\r\n", 5);
}

void resp_add_array_len(struct resp_out *o, long n)
{
    ASSERT(n >= 0);
    add_header(o, '*', n);
}

void resp_add_map_len(struct resp_out *o, long n)
{
    ASSERT(n >= 0 && n <= LONG_MAX / 2);
    if (o->proto == 3)
        add_header(o, '%', n);
    else
        add_header(o, '*', 2 * (long long)n);
}

void resp_add_set_len(struct resp_out *o, long n)
{
    ASSERT(n >= 0);
    add_header(o, o->proto == 3 ? '~' : '*', n);
}

void resp_add_push_len(struct resp_out *o, long n)
{
    ASSERT(n >= 0);
    add_header(o, o->proto == 3 ? '>' : '*', n);
}

void resp_add_bool(struct resp_out *o, int v)
{
    if (o->proto == 3)
        resp_add_raw(o, v ? "#t\r\n" : "#f\r\n", 4);
    else
        resp_add_raw(o, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_add_verbatim(struct resp_out *o, const void *p, size_t n, const char *ext)
{
    if (o->proto != 3) {
        resp_add_bulk(o, p, n);
        return;
    }
    ASSERT(strlen(ext) == 3);
    ASSERT(n <= (size_t)LLONG_MAX - 4);
    char *w = reserve(o, HDR_MAX + 4 + n + 2);
    size_t h = put_header(w, '=', (long long)(n + 4));
    memcpy(w + h, ext, 3);
    w[h + 3] = ':';
    memcpy(w + h + 4, p, n);
    w[h + 4 + n] = '\r';
    w[h + 5 + n] = '\n';
    o->len += h + n + 6;
}

resp_deferred resp_add_deferred(struct resp_out *o)
{
    return o->len - o->pos;
}

static void set_deferred(struct resp_out *o, resp_deferred d, char type, long long n)
{
    ASSERT(n >= 0);
    ASSERT(d <= o->len - o->pos && "handle outlived a consume");
    char hdr[HDR_MAX];
    size_t h = put_header(hdr, type, n);
    reserve(o, h);
    size_t at = o->pos + d; /* after reserve: it may have compacted */
    memmove(o->data + at + h, o->data + at, o->len - at);
    memcpy(o->data + at, hdr, h);
    o->len += h;
}

void resp_set_deferred_array_len(struct resp_out *o, resp_deferred d, long n)
{
    set_deferred(o, d, '*', n);
}

void resp_set_deferred_map_len(struct resp_out *o, resp_deferred d, long n)
{
    ASSERT(n <= LONG_MAX / 2);
    if (o->proto == 3)
        set_deferred(o, d, '%', n);
    else
        set_deferred(o, d, '*', 2 * (long long)n);
}

void resp_set_deferred_set_len(struct resp_out *o, resp_deferred d, long n)
{
    set_deferred(o, d, o->proto == 3 ? '~' : '*', n);
}
