/*
 * tests/fuzz/fuzz_resp_parser.c - libFuzzer target for resp/parser.c.
 *
 * Property: the parser's verdict on a byte stream does not depend on how the
 * stream was split into reads. The stream is fed whole, byte by byte, and cut
 * in two at every offset (at 64 evenly spaced offsets above 512 bytes); each
 * run yields a transcript (every command's arguments, then the error text or
 * the bytes left pending) and all transcripts must be identical.
 *
 * Second property, for the pipeline look-ahead (src/server/dispatch.h): whatever
 * resp_peek_arg1 sizes is the command the parser returns next, of the same
 * length and second argument, unless the parser refuses it under its limits.
 * The peek reads numbers its own way (a subset of what the parser accepts),
 * so this is what keeps the two readers from disagreeing.
 *
 * Input: byte 0 chooses the limits (bit 0: unauthenticated client, bit 1:
 * small limits, so that every "too big" error is reachable); the rest is the
 * stream. The connection buffer is reallocated to its exact size at each
 * read, so ASan catches any read past the bytes the parser was given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../resp/parser.h"

struct text {
    char *data;
    size_t len, cap;
};

static void text_add(struct text *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2 + 64;
        t->data = realloc(t->data, t->cap);
        if (!t->data) abort();
    }
    if (n) memcpy(t->data + t->len, p, n);
    t->len += n;
}

static void text_addf(struct text *t, const char *fmt, size_t v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    text_add(t, tmp, (size_t)n);
}

static void check_peek(const struct resp_parser *p, enum resp_parse_status st, size_t consumed,
                       size_t peeked, const struct resp_arg *arg1)
{
    if (st == RESP_PARSE_ERROR) return; /* refused under the limits */
    if (st == RESP_PARSE_COMMAND && consumed == peeked && (arg1->ptr != NULL) == (p->argc > 1)) {
        if (p->argc == 1) return;
        if (p->argv[1].len == arg1->len &&
            (arg1->len == 0 || memcmp(p->argv[1].ptr, arg1->ptr, arg1->len) == 0))
            return;
    }
    fprintf(stderr,
            "fuzz_resp_parser: resp_peek_arg1 sized a command of %zu bytes (arg1 %zu bytes); "
            "the parser said %d after %zu bytes\n",
            peeked, arg1->len, (int)st, consumed);
    abort();
}

/* Feeds buf[0..n) as the chunks ending at cuts[0..ncuts) and then at n;
 * appends what the parser reported to out. */
static void run(const struct resp_limits *lim, const uint8_t *buf, size_t n, const size_t *cuts,
                size_t ncuts, struct text *out)
{
    struct resp_parser p;
    resp_parser_init(&p, lim);
    char *conn = NULL; /* unconsumed bytes, exactly conn_len of them */
    size_t conn_len = 0, from = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t to = c < ncuts ? cuts[c] : n;
        conn = realloc(conn, conn_len + (to - from) + 1);
        if (!conn) abort();
        memcpy(conn + conn_len, buf + from, to - from);
        conn_len += to - from;
        from = to;
        char *exact = malloc(conn_len ? conn_len : 1);
        if (!exact) abort();
        memcpy(exact, conn, conn_len);
        size_t used = 0;
        for (;;) {
            size_t consumed = 0;
            struct resp_arg arg1;
            size_t peeked = resp_peek_arg1(exact + used, conn_len - used, &arg1);
            enum resp_parse_status st =
                resp_parser_feed(&p, exact + used, conn_len - used, &consumed);
            if (peeked) check_peek(&p, st, consumed, peeked, &arg1);
            used += consumed;
            if (st == RESP_PARSE_ERROR) {
                text_add(out, "E:", 2);
                text_add(out, p.errmsg, strlen(p.errmsg));
                free(exact);
                free(conn);
                resp_parser_free(&p);
                return;
            }
            if (st == RESP_PARSE_NEED_MORE) break;
            text_addf(out, "C%zu", p.argc);
            for (size_t i = 0; i < p.argc; i++) {
                text_addf(out, ":%zu:", p.argv[i].len);
                text_add(out, p.argv[i].ptr, p.argv[i].len);
            }
        }
        free(exact);
        memmove(conn, conn + used, conn_len - used);
        conn_len -= used;
    }
    text_addf(out, "P%zu", conn_len);
    free(conn);
    resp_parser_free(&p);
}

static void must_match(const struct text *a, const struct text *b, const char *how, size_t at)
{
    if (a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len))) return;
    fprintf(stderr,
            "fuzz_resp_parser: %s (cut %zu) disagrees with the whole input:\n%.*s\nvs\n%.*s\n", how,
            at, (int)(a->len > 2000 ? 2000 : a->len), a->data, (int)(b->len > 2000 ? 2000 : b->len),
            b->data);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    struct resp_limits lim = {512u << 20, 1024 * 1024, 64 * 1024, data[0] & 1};
    if (data[0] & 2) lim = (struct resp_limits){64, 8, 32, data[0] & 1};
    const uint8_t *buf = data + 1;
    size_t n = size - 1;

    struct text whole = {0}, other = {0};
    run(&lim, buf, n, NULL, 0, &whole);

    size_t *cuts = malloc((n ? n : 1) * sizeof *cuts);
    if (!cuts) abort();
    for (size_t i = 1; i < n; i++)
        cuts[i - 1] = i;
    run(&lim, buf, n, cuts, n ? n - 1 : 0, &other);
    must_match(&whole, &other, "byte by byte", 0);

    size_t step = n > 512 ? n / 64 : 1;
    for (size_t k = 1; k < n; k += step) {
        other.len = 0;
        run(&lim, buf, n, &k, 1, &other);
        must_match(&whole, &other, "split in two", k);
    }
    free(cuts);
    free(whole.data);
    free(other.data);
    return 0;
}
