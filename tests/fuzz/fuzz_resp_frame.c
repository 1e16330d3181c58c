/*
 * tests/fuzz/fuzz_resp_frame.c - libFuzzer target for resp/frame.c.
 *
 * Property 1: how a reply stream is cut into frames does not depend on how
 * it was split into reads. The stream is fed whole, byte by byte, and cut
 * in two at every offset (at 64 evenly spaced offsets above 512 bytes);
 * each run yields a transcript (every frame's length, then the error or the
 * bytes left pending) and all transcripts must be identical.
 *
 * Property 2: a second reader, written the plain recursive way (a value is
 * a header line, then its body or its elements), finds the same frames and
 * the same verdict. It is the oracle for the counting stack of frame.c,
 * attributes and maps included.
 *
 * The buffer is reallocated to its exact size at each read, so ASan catches
 * any read past the bytes the scanner was given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../resp/frame.h"

#define TRANSCRIPT_MAX 4096

struct transcript {
    size_t v[TRANSCRIPT_MAX];
    size_t n;
};

static void note(struct transcript *t, size_t v)
{
    if (t->n < TRANSCRIPT_MAX) t->v[t->n++] = v;
}

/* Reads data in chunks of the sizes cuts gives (0-terminated; the rest of
 * the stream after the last one). */
static void run(const uint8_t *data, size_t size, const size_t *cuts, struct transcript *t)
{
    static struct resp_frame f;
    resp_frame_reset(&f);
    t->n = 0;
    char *buf = NULL;
    size_t have = 0, start = 0;
    for (size_t k = 0;; k++) {
        size_t next = cuts[k] && have + cuts[k] < size ? have + cuts[k] : size;
        char *nb = malloc(next - start ? next - start : 1);
        if (!nb) abort();
        if (have > start) memcpy(nb, buf + 0, have - start);
        memcpy(nb + (have - start), data + have, next - have);
        free(buf);
        buf = nb;
        have = next;
        for (;;) {
            size_t len = 0;
            enum resp_frame_status st = resp_frame_feed(&f, buf, have - start, &len);
            if (st == RESP_FRAME_ERROR) {
                note(t, (size_t)-1);
                free(buf);
                return;
            }
            if (st == RESP_FRAME_MORE) break;
            note(t, len);
            memmove(buf, buf + len, have - start - len);
            start += len;
        }
        if (have == size) break;
    }
    note(t, (size_t)-2);
    note(t, size - start);
    free(buf);
}

/* ---- the oracle: a recursive reader over the whole stream ---- */

/* 1 value from p: its end, or NULL when incomplete, or (const char *)1 on
 * an error. */
static const char *BAD = (const char *)1;

static const char *value(const char *p, const char *end, int depth);

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return (size_t)(end - p) > RESP_FRAME_LINE_MAX ? BAD : NULL;
    if (nl - p < 2 || nl[-1] != '\r') return BAD;
    return nl + 1;
}

static int count_of(const char *p, const char *le, long long *out)
{
    const char *s = p + 1, *e = le - 2;
    size_t n = (size_t)(e - s);
    if (n == 2 && s[0] == '-' && s[1] == '1') {
        *out = -1;
        return 0;
    }
    if (n == 0 || n > 14 || (s[0] == '0' && n > 1)) return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > RESP_FRAME_COUNT_MAX) return -1;
    *out = v;
    return 0;
}

static const char *elements(const char *p, const char *end, long long n, int depth)
{
    for (long long i = 0; i < n; i++) {
        p = value(p, end, depth);
        if (!p || p == BAD) return p;
    }
    return p;
}

static const char *value(const char *p, const char *end, int depth)
{
    const char *le = line_end(p, end);
    if (!le || le == BAD) return le;
    char type = p[0];
    if (strchr("+-:_,#(", type) && type) return le;
    if (!type || !strchr("$=!*~>%|", type)) return BAD;
    long long n;
    if (count_of(p, le, &n) != 0) return BAD;
    if (n == -1) return (type == '$' || type == '*') ? le : BAD;
    if (strchr("$=!", type)) {
        if ((long long)(end - le) < n + 2) return NULL;
        return le[n] == '\r' && le[n + 1] == '\n' ? le + n + 2 : BAD;
    }
    long long items = (type == '%' || type == '|') ? 2 * n : n;
    if (items > 0 && depth == RESP_FRAME_DEPTH_MAX) return BAD;
    const char *q = items ? elements(le, end, items, depth + 1) : le;
    if (!q || q == BAD || type != '|') return q;
    return value(q, end, depth); /* the value an attribute describes */
}

static void oracle(const uint8_t *data, size_t size, struct transcript *t)
{
    t->n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *q = value(p, end, 0);
        if (q == BAD) {
            note(t, (size_t)-1);
            return;
        }
        if (!q) break;
        note(t, (size_t)(q - p));
        p = q;
    }
    note(t, (size_t)-2);
    note(t, (size_t)(end - p));
}

static void same(const struct transcript *a, const struct transcript *b)
{
    if (a->n != b->n || memcmp(a->v, b->v, a->n * sizeof a->v[0]) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct transcript whole, other;
    size_t none[1] = {0};
    run(data, size, none, &whole);
    oracle(data, size, &other);
    same(&whole, &other);
    size_t *bytes = malloc((size + 1) * sizeof *bytes); /* byte by byte */
    if (!bytes) abort();
    for (size_t j = 0; j < size; j++)
        bytes[j] = 1;
    bytes[size] = 0;
    run(data, size, bytes, &other);
    free(bytes);
    same(&whole, &other);
    size_t step = size > 512 ? size / 64 : 1;
    for (size_t at = 1; at < size; at += step) {
        size_t cuts[2] = {at, 0};
        run(data, size, cuts, &other);
        same(&whole, &other);
    }
    return 0;
}
