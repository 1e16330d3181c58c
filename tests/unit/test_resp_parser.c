/*
 * tests/unit/test_resp_parser.c - the RESP request parser against Redis 7.0's
 * framing rules. Every literal input is fed whole, byte by byte and split in
 * two at every offset, and must give the same transcript each way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../resp/parser.h"

/* Small limits so every limit is reachable with short literals. */
static const struct resp_limits small_lim = {
    .bulk_len_max = 10, .args_max = 4, .inline_len_max = 16};
/* Redis's defaults. */
static const struct resp_limits redis_lim = {
    .bulk_len_max = 512u * 1024 * 1024, .args_max = 1024 * 1024, .inline_len_max = 64 * 1024};
/* Only number parsing decides. */
static const struct resp_limits wide_lim = {
    .bulk_len_max = SIZE_MAX, .args_max = SIZE_MAX, .inline_len_max = 1024};

/* ---- transcript: a readable record of what the parser returned ---- */

struct sbuf {
    char *d;
    size_t len, cap;
};

static void sb_put(struct sbuf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n + 1) {
        b->cap = (b->len + n + 1) * 2;
        b->d = realloc(b->d, b->cap);
        assert_non_null(b->d);
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
    b->d[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    sb_put(b, tmp, (size_t)n);
}

/* Bytes as themselves when printable, else \xHH; '|', ';' and '\' are
 * escaped too so the separators stay unambiguous. */
static void sb_put_escaped(struct sbuf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '|' && c != ';' && c != '\\')
            sb_put(b, &c, 1);
        else
            sb_printf(b, "\\x%02x", c);
    }
}

/*
 * Transcript grammar: each command is its arguments joined by '|' and ended
 * by ';', prefixed "i:" when inline; an error is "!" + errmsg (input after it
 * is ignored); at the end, ">N" if N bytes are left unconsumed and "/wN" if
 * resp_parser_want() is N.
 */
static void sb_put_command(struct sbuf *b, const struct resp_parser *p)
{
    if (resp_parser_is_inline(p)) sb_put(b, "i:", 2);
    for (size_t i = 0; i < p->argc; i++) {
        if (i) sb_put(b, "|", 1);
        sb_put_escaped(b, p->argv[i].ptr, p->argv[i].len);
    }
    sb_put(b, ";", 1);
}

/*
 * Plays the caller the way src/net/conn.c does: keeps unconsumed bytes, feeds all
 * of them, drops what was consumed. Each chunk moves the pending bytes into a
 * fresh allocation of exactly their size, so valgrind catches any read past
 * len and any pointer kept across calls.
 */
struct feeder {
    struct resp_parser p;
    char *q;
    size_t qoff, qlen; /* pending bytes are q[qoff, qlen) */
    int failed;
    struct sbuf out;
};

static void feeder_init(struct feeder *f, const struct resp_limits *lim)
{
    memset(f, 0, sizeof *f);
    resp_parser_init(&f->p, lim);
}

static void feeder_push(struct feeder *f, const char *chunk, size_t n)
{
    if (f->failed || n == 0) return;
    size_t pending = f->qlen - f->qoff;
    char *q = malloc(pending + n);
    assert_non_null(q);
    if (pending) memcpy(q, f->q + f->qoff, pending);
    memcpy(q + pending, chunk, n);
    free(f->q);
    f->q = q;
    f->qoff = 0;
    f->qlen = pending + n;
    for (;;) {
        size_t consumed = (size_t)-1;
        enum resp_parse_status st =
            resp_parser_feed(&f->p, f->q + f->qoff, f->qlen - f->qoff, &consumed);
        if (st == RESP_PARSE_ERROR) {
            sb_put(&f->out, "!", 1);
            sb_put_escaped(&f->out, f->p.errmsg, strlen(f->p.errmsg));
            f->failed = 1;
            return;
        }
        assert_true(consumed <= f->qlen - f->qoff);
        if (st == RESP_PARSE_COMMAND) {
            assert_true(f->p.argc > 0);
            sb_put_command(&f->out, &f->p);
        }
        f->qoff += consumed;
        if (st == RESP_PARSE_NEED_MORE) return;
    }
}

/* Returns the transcript (caller frees) and frees everything else. */
static char *feeder_finish(struct feeder *f)
{
    if (!f->failed && f->qlen > f->qoff) sb_printf(&f->out, ">%zu", f->qlen - f->qoff);
    if (!f->failed && resp_parser_want(&f->p)) sb_printf(&f->out, "/w%zu", resp_parser_want(&f->p));
    sb_put(&f->out, "", 0);
    resp_parser_free(&f->p);
    free(f->q);
    return f->out.d;
}

/* Transcript of in fed as chunks ending at the given cut offsets, then the rest. */
static char *run_cuts(const struct resp_limits *lim, const char *in, size_t n, const size_t *cuts,
                      size_t ncuts)
{
    struct feeder f;
    feeder_init(&f, lim);
    size_t at = 0;
    for (size_t i = 0; i < ncuts; i++) {
        feeder_push(&f, in + at, cuts[i] - at);
        at = cuts[i];
    }
    feeder_push(&f, in + at, n - at);
    return feeder_finish(&f);
}

static char *run_bytewise(const struct resp_limits *lim, const char *in, size_t n)
{
    struct feeder f;
    feeder_init(&f, lim);
    for (size_t i = 0; i < n; i++)
        feeder_push(&f, in + i, 1);
    return feeder_finish(&f);
}

static void expect_same(const char *got, const char *want, const char *how, size_t at)
{
    if (strcmp(got, want) != 0) {
        print_error("fed %s (%zu):\n  got  %s\n  want %s\n", how, at, got, want);
        fail();
    }
}

/* Checks the transcript of in: whole, byte by byte, split at every offset. */
static void check_ways(const struct resp_limits *lim, const char *in, size_t n, const char *want)
{
    char *t = run_cuts(lim, in, n, NULL, 0);
    expect_same(t, want, "whole", n);
    free(t);
    t = run_bytewise(lim, in, n);
    expect_same(t, want, "byte by byte", 1);
    free(t);
    for (size_t k = 1; k < n; k++) {
        t = run_cuts(lim, in, n, &k, 1);
        expect_same(t, want, "split at", k);
        free(t);
    }
}

/* Literal inputs may hold NUL bytes. */
#define EXPECT(lim, in, want) check_ways((lim), (in), sizeof(in) - 1, (want))

/* ---- framing ---- */

static void test_multibulk(void **state)
{
    (void)state;
    EXPECT(&redis_lim, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", "SET|k|value;");
    EXPECT(&redis_lim, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING;GET|k;");
    EXPECT(&redis_lim, "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", "GET|;");
    EXPECT(&redis_lim, "*2\r\n$3\r\nGET\r\n$5\r\na\r\n\0|\r\n", "GET|a\\x0d\\x0a\\x00\\x7c;");
    /* Incomplete: leftover and the bulk hint. */
    EXPECT(&redis_lim, "*2\r\n$3\r\nGET\r\n$5\r\nab", ">19/w5");
    EXPECT(&redis_lim, "*2\r\n$3\r\nGET\r\n$5\r\n", ">17/w7");
    EXPECT(&redis_lim, "*2\r\n$3\r\nGET\r\n$5\r\nabcde\r", ">23/w1");
    EXPECT(&redis_lim, "*2\r\n$3\r\nGET\r\n$5", ">15");
    EXPECT(&redis_lim, "*2\r", ">3");
}

static void test_empty_commands_skipped(void **state)
{
    (void)state;
    EXPECT(&redis_lim, "*0\r\n", "");
    EXPECT(&redis_lim, "*-1\r\n*0\r\n*-100\r\n*1\r\n$4\r\nPING\r\n", "PING;");
    EXPECT(&wide_lim, "*-9223372036854775808\r\n*1\r\n$1\r\nx\r\n", "x;");
    EXPECT(&redis_lim, "\n\r\n   \r\n\t \n*0\r\nPING\n", "i:PING;");
    EXPECT(&redis_lim, "\r\n\r\n*1\r\n$4\r\nPI", ">10/w4");
}

/* Redis skips the byte after a header's '\r' and the two after a body. */
static void test_terminators_not_checked(void **state)
{
    (void)state;
    EXPECT(&redis_lim, "*1\r\n$3\r\nfooXY*1\rZ$3\r?bar!!", "foo;bar;");
    EXPECT(&redis_lim, "*0\rX*1\r\n$1\r\na\r\n", "a;");
}

static void test_consumed_contract(void **state)
{
    (void)state;
    struct resp_parser p;
    resp_parser_init(&p, &redis_lim);
    static const char in[] = "\r\n*0\r\n*1\r\n$4\r\nPI";
    size_t consumed = 99;
    assert_int_equal(resp_parser_feed(&p, in, sizeof in - 1, &consumed), RESP_PARSE_NEED_MORE);
    assert_int_equal(consumed, 6);
    assert_int_equal(resp_parser_want(&p), 4);
    static const char rest[] = "*1\r\n$4\r\nPING\r\nPI";
    assert_int_equal(resp_parser_feed(&p, rest, sizeof rest - 1, &consumed), RESP_PARSE_COMMAND);
    assert_int_equal(consumed, 14);
    assert_int_equal(p.argc, 1);
    /* Zero-copy: the argument is the caller's bytes. */
    assert_ptr_equal(p.argv[0].ptr, rest + 8);
    assert_int_equal(resp_parser_feed(&p, rest + 14, 2, &consumed), RESP_PARSE_NEED_MORE);
    assert_int_equal(consumed, 0);
    assert_int_equal(resp_parser_want(&p), 0);
    assert_int_equal(resp_parser_is_inline(&p), 1);
    resp_parser_reset(&p);
    assert_int_equal(resp_parser_feed(&p, "", 0, &consumed), RESP_PARSE_NEED_MORE);
    assert_int_equal(consumed, 0);
    resp_parser_free(&p);
}

/* ---- inline commands ---- */

static void test_inline_basic(void **state)
{
    (void)state;
    EXPECT(&redis_lim, "PING\r\n", "i:PING;");
    EXPECT(&redis_lim, "SET k v\nGET k\r\n", "i:SET|k|v;i:GET|k;");
    EXPECT(&redis_lim, "  GET \t  k   \r\n", "i:GET|k;");
    EXPECT(&redis_lim, "PING\r\r\n", "i:PING;");
    EXPECT(&redis_lim, "a\vb \fc\n", "i:a\\x0bb|c;");
    EXPECT(&redis_lim, "caf\xc3\xa9\n", "i:caf\\xc3\\xa9;");
    EXPECT(&redis_lim, "PING\r", ">5");
    EXPECT(&redis_lim, "ECHO a\n*1\r\n$1\r\nb\r\nECHO c\n", "i:ECHO|a;b;i:ECHO|c;");
    /* sdssplitargs reads a C string: the line stops at a NUL byte. */
    EXPECT(&redis_lim, "GET a\0b c\nPING\n", "i:GET|a;i:PING;");
}

static void test_inline_quotes(void **state)
{
    (void)state;
    EXPECT(&redis_lim, "SET \"hello world\" x\n", "i:SET|hello world|x;");
    EXPECT(&redis_lim, "\"a\\nb\\rc\\td\\be\\af\\\\g\\\"h\\zi\"\n",
           "i:a\\x0ab\\x0dc\\x09d\\x08e\\x07f\\x5cg\"hzi;");
    EXPECT(&redis_lim, "\"\\x41\\x4a\\x4A\\x00z\"\n", "i:AJJ\\x00z;");
    EXPECT(&redis_lim, "\"\\x4g\" \"\\x\"\n", "i:x4g|x;");
    EXPECT(&redis_lim, "'it\\'s' 'a\\nb' 'a\\\\b'\n", "i:it's|a\\x5cnb|a\\x5c\\x5cb;");
    EXPECT(&redis_lim, "\"\" ''\n", "i:|;");
    EXPECT(&redis_lim, "foo\"bar baz\" x'y z'\n", "i:foobar baz|xy z;");
    EXPECT(&redis_lim, "\"foo\"\tbar \"x\"\vy\n", "i:foo|bar|x|y;");
    EXPECT(&redis_lim, "\"foo\"\r\r\n", "i:foo;");
    EXPECT(&redis_lim, "\"a;b|c\"\n", "i:a\\x3bb\\x7cc;");
}

struct lit {
    const char *s;
    size_t n;
};
#define LIT(s)                                                                                     \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }

static void test_inline_unbalanced(void **state)
{
    (void)state;
    static const struct lit bad[] = {
        LIT("SET \"foo\n"), LIT("SET 'foo\n"), LIT("\"foo\"bar\n"), LIT("'foo'bar\n"),
        LIT("\"foo\\\"\n"), LIT("\"foo\\\n"),  LIT("a'b c'd\n"),    LIT("\"a\0b\"\n"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_ways(&redis_lim, bad[i].s, bad[i].n, "!Protocol error: unbalanced quotes in request");
    EXPECT(&redis_lim, "PING\nGET \"x\r\n", "i:PING;!Protocol error: unbalanced quotes in request");
}

/* ---- limits and errors (small limits: inline 16, bulk 10, args 4) ---- */

static void test_inline_limit(void **state)
{
    (void)state;
    EXPECT(&small_lim, "aaaaaaaaaaaaaaaa\n", "i:aaaaaaaaaaaaaaaa;");
    EXPECT(&small_lim, "aaaaaaaaaaaaaaa\r\n", "i:aaaaaaaaaaaaaaa;");
    EXPECT(&small_lim, "aaaaaaaaaaaaaaaa", ">16");
    EXPECT(&small_lim, "aaaaaaaaaaaaaaaaa", "!Protocol error: too big inline request");
    EXPECT(&small_lim, "aaaaaaaaaaaaaaaaa\n", "!Protocol error: too big inline request");
    EXPECT(&small_lim, "aaaaaaaaaaaaaaaa\r\n", "!Protocol error: too big inline request");
    EXPECT(&small_lim, "PING\naaaaaaaaaaaaaaaaa", "i:PING;!Protocol error: too big inline request");
}

static void test_mbulk_count_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "*abc\r\n", "*\r\n",   "*+1\r\n",
        "*01\r\n",  "*-0\r\n", "* 1\r\n",
        "*1 \r\n",  "*5\r\n",  "*111111111111111\r\n",
        "*1x\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_ways(&small_lim, bad[i], strlen(bad[i]), "!Protocol error: invalid multibulk length");
    EXPECT(&small_lim, "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", "a|b|c|d;");
    EXPECT(&wide_lim, "*-9223372036854775809\r\n", "!Protocol error: invalid multibulk length");
    EXPECT(&wide_lim, "*00000000000000000001\r\n", "!Protocol error: invalid multibulk length");
    /* A line is too big once more than 16 bytes precede its '\r'. */
    EXPECT(&small_lim, "*111111111111111", ">16");
    EXPECT(&small_lim, "*1111111111111111", "!Protocol error: too big mbulk count string");
    EXPECT(&small_lim, "*1111111111111111\r\n", "!Protocol error: too big mbulk count string");
}

/* Before AUTH a client gets Redis's tighter limits, with their own texts. */
static void test_unauthenticated_limits(void **state)
{
    (void)state;
    struct resp_limits lim = redis_lim;
    lim.unauthenticated = 1;
    EXPECT(&lim, "*11\r\n", "!Protocol error: unauthenticated multibulk length");
    EXPECT(&lim, "*1\r\n$16385\r\n", "!Protocol error: unauthenticated bulk length");
    EXPECT(&lim, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", "AUTH|pw;");
    lim.unauthenticated = 0;
    EXPECT(&lim,
           "*11\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n"
           "$1\r\na\r\n",
           "a|a|a|a|a|a|a|a|a|a|a;");
}

static void test_bulk_header_errors(void **state)
{
    (void)state;
    EXPECT(&small_lim, "*1\r\n:3\r\nfoo\r\n", "!Protocol error: expected '$', got ':'");
    EXPECT(&small_lim, "*2\r\n$1\r\na\r\nfoo\r\n", "!Protocol error: expected '$', got 'f'");
    EXPECT(&small_lim, "*1\r\n\r\n", "!Protocol error: expected '$', got '\\x0d'");
    EXPECT(&small_lim, "*1\r\n:", ">5");
    static const char *bad[] = {
        "*1\r\n$-1\r\n", "*1\r\n$abc\r\n", "*1\r\n$\r\n",   "*1\r\n$01\r\n", "*1\r\n$-0\r\n",
        "*1\r\n$+3\r\n", "*1\r\n$ 3\r\n",  "*1\r\n$3 \r\n", "*1\r\n$11\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_ways(&small_lim, bad[i], strlen(bad[i]), "!Protocol error: invalid bulk length");
    EXPECT(&small_lim, "*1\r\n$10\r\n0123456789\r\n", "0123456789;");
    EXPECT(&small_lim, "*1\r\n$111111111111111", ">20");
    EXPECT(&small_lim, "*1\r\n$1111111111111111", "!Protocol error: too big bulk count string");
    EXPECT(&small_lim, "*1\r\nxxxxxxxxxxxxxxxxx", "!Protocol error: too big bulk count string");
    EXPECT(&wide_lim, "*1\r\n$9223372036854775808\r\n", "!Protocol error: invalid bulk length");
    EXPECT(&wide_lim, "*1\r\n$99999999999999999999\r\n", "!Protocol error: invalid bulk length");
    EXPECT(&wide_lim, "*1\r\n$9223372036854775807\r\n", ">26/w9223372036854775809");
    /* Commands before an error are delivered first. */
    EXPECT(&small_lim, "*1\r\n$1\r\na\r\n*1\r\n$x\r\n", "a;!Protocol error: invalid bulk length");
}

/* ---- state: reset, reuse, is_inline ---- */

static void test_reset(void **state)
{
    (void)state;
    struct resp_parser p;
    size_t consumed;
    resp_parser_init(&p, &small_lim);
    assert_int_equal(resp_parser_feed(&p, "*9\r\n", 4, &consumed), RESP_PARSE_ERROR);
    assert_string_equal(p.errmsg, "Protocol error: invalid multibulk length");
    resp_parser_reset(&p);
    assert_int_equal(resp_parser_feed(&p, "*1\r\n$3\r\nab", 10, &consumed), RESP_PARSE_NEED_MORE);
    assert_int_equal(resp_parser_want(&p), 3);
    assert_int_equal(resp_parser_is_inline(&p), 0);
    /* Reset mid-bulk: the partial command is forgotten. */
    resp_parser_reset(&p);
    assert_int_equal(resp_parser_want(&p), 0);
    assert_int_equal(resp_parser_feed(&p, "X y\n", 4, &consumed), RESP_PARSE_COMMAND);
    assert_int_equal(consumed, 4);
    assert_int_equal(p.argc, 2);
    assert_memory_equal(p.argv[1].ptr, "y", 1);
    assert_int_equal(resp_parser_is_inline(&p), 1);
    resp_parser_reset(&p);
    assert_int_equal(resp_parser_is_inline(&p), 0);
    resp_parser_free(&p);
}

/* ---- memory ---- */

static void feed_ok(struct resp_parser *p, const char *s, size_t n, enum resp_parse_status want)
{
    size_t consumed;
    assert_int_equal(resp_parser_feed(p, s, n, &consumed), want);
}

/* A claimed count buys at most 1024 slots; argv then grows with the
 * arguments that arrive, never past the count, and shrinks afterwards. */
static void test_argv_not_overallocated(void **state)
{
    (void)state;
    const size_t slot = sizeof(struct resp_arg) + sizeof(size_t);
    struct resp_parser p;
    resp_parser_init(&p, &redis_lim);
    size_t base = resp_parser_mem_bytes(&p);
    feed_ok(&p, "*1048576\r\n", 10, RESP_PARSE_NEED_MORE);
    assert_true(resp_parser_mem_bytes(&p) <= base + 1024 * slot);

    /* 3000 arguments of a 3000-argument command, fed as one buffer. */
    struct sbuf in = {0};
    sb_printf(&in, "*3000\r\n");
    for (int i = 0; i < 3000; i++)
        sb_printf(&in, "$1\r\n%c\r\n", 'a' + i % 26);
    resp_parser_reset(&p);
    size_t consumed;
    assert_int_equal(resp_parser_feed(&p, in.d, in.len, &consumed), RESP_PARSE_COMMAND);
    assert_int_equal(p.argc, 3000);
    assert_int_equal(consumed, in.len);
    char last = (char)('a' + 2999 % 26);
    assert_memory_equal(p.argv[2999].ptr, &last, 1);
    assert_true(resp_parser_mem_bytes(&p) <= base + 3000 * slot);
    feed_ok(&p, "*1\r\n$4\r\nPING\r\n", 14, RESP_PARSE_COMMAND);
    assert_true(resp_parser_mem_bytes(&p) <= base + 1024 * slot);
    free(in.d);
    resp_parser_free(&p);
}

/* ---- size and speed ---- */

/* Feeds in with chunks of `chunk` bytes into a buffer grown like conn.c's
 * (using the want hint); checks the bulk hint and zero copy on the way. */
static void feed_big(const char *in, size_t n, size_t chunk, size_t hdr, size_t body)
{
    struct resp_parser p;
    resp_parser_init(&p, &redis_lim);
    char *q = NULL;
    size_t qlen = 0, qcap = 0, consumed = 0;
    int done = 0;
    for (size_t at = 0; at < n; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        if (qcap - qlen < k) {
            size_t want = resp_parser_want(&p);
            qcap = qlen + (want > k ? want : k);
            qcap = qcap < 2 * qlen ? 2 * qlen : qcap;
            q = realloc(q, qcap);
            assert_non_null(q);
        }
        memcpy(q + qlen, in + at, k);
        qlen += k;
        enum resp_parse_status st = resp_parser_feed(&p, q, qlen, &consumed);
        if (qlen >= hdr && qlen < hdr + body + 2) {
            assert_int_equal(st, RESP_PARSE_NEED_MORE);
            assert_int_equal(resp_parser_want(&p), hdr + body + 2 - qlen);
        }
        if (st == RESP_PARSE_COMMAND) {
            assert_int_equal(consumed, n);
            assert_int_equal(p.argc, 3);
            assert_int_equal(p.argv[2].len, body);
            assert_ptr_equal(p.argv[2].ptr, q + hdr);
            assert_memory_equal(p.argv[2].ptr, in + hdr, body);
            done = 1;
        }
    }
    assert_true(done);
    free(q);
    resp_parser_free(&p);
}

static void test_big_bulk_fragments(void **state)
{
    (void)state;
    const size_t body = 1024 * 1024;
    char hdr[64];
    int h = snprintf(hdr, sizeof hdr, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", body);
    size_t n = (size_t)h + body + 2;
    char *in = malloc(n);
    memcpy(in, hdr, (size_t)h);
    for (size_t i = 0; i < body; i++)
        in[(size_t)h + i] = (char)(i * 7 + (i >> 9));
    memcpy(in + h + body, "\r\n", 2);
    static const size_t chunks[] = {1, 3, 1000, 16 * 1024, 1024 * 1024 + 100};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        feed_big(in, n, chunks[i], (size_t)h, body);
    free(in);
}

/* Byte-by-byte feeding costs O(bytes): a 1 MB line fed one byte at a time
 * finishes at once (a rescan per byte would take hours). */
static void test_long_lines_bytewise(void **state)
{
    (void)state;
    const size_t n = 1024 * 1024;
    struct resp_limits lim = {.bulk_len_max = 10, .args_max = 10, .inline_len_max = 2 * n};
    char *in = malloc(n + 2);
    for (size_t i = 0; i < n; i++)
        in[i] = (i % 2) ? ' ' : 'a';
    in[n] = '\n';
    struct resp_parser p;
    resp_parser_init(&p, &lim);
    size_t consumed;
    for (size_t i = 1; i <= n; i++)
        feed_ok(&p, in, i, RESP_PARSE_NEED_MORE);
    assert_int_equal(resp_parser_feed(&p, in, n + 1, &consumed), RESP_PARSE_COMMAND);
    assert_int_equal(p.argc, n / 2);
    resp_parser_reset(&p);
    in[0] = '*';
    for (size_t i = 1; i < n; i++)
        in[i] = '1';
    in[n] = '\r';
    in[n + 1] = '\n';
    for (size_t i = 1; i <= n + 1; i++)
        feed_ok(&p, in, i, RESP_PARSE_NEED_MORE);
    assert_int_equal(resp_parser_feed(&p, in, n + 2, &consumed), RESP_PARSE_ERROR);
    assert_string_equal(p.errmsg, "Protocol error: invalid multibulk length");
    free(in);
    resp_parser_free(&p);
}

/* ---- pipelines ---- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Appends a random command to in (multibulk, or inline when its bytes allow)
 * and its expected transcript to want. */
static void gen_command(uint64_t *rng, struct sbuf *in, struct sbuf *want)
{
    int inl = rng_next(rng) % 4 == 0;
    size_t argc = 1 + rng_next(rng) % 6;
    char arg[48];
    if (inl)
        sb_put(want, "i:", 2);
    else
        sb_printf(in, "*%zu\r\n", argc);
    for (size_t i = 0; i < argc; i++) {
        size_t len = (inl ? 1 : 0) + rng_next(rng) % 40;
        for (size_t j = 0; j < len; j++)
            arg[j] = inl ? (char)('a' + rng_next(rng) % 26) : (char)rng_next(rng);
        if (inl)
            sb_printf(in, "%s%.*s", i ? " " : "", (int)len, arg);
        else {
            sb_printf(in, "$%zu\r\n", len);
            sb_put(in, arg, len);
            sb_put(in, "\r\n", 2);
        }
        if (i) sb_put(want, "|", 1);
        sb_put_escaped(want, arg, len);
    }
    if (inl && rng_next(rng) % 2)
        sb_put(in, "\r\n", 2);
    else if (inl)
        sb_put(in, "\n", 1);
    sb_put(want, ";", 1);
}

static void test_pipeline_every_split(void **state)
{
    (void)state;
    uint64_t rng = 42;
    struct sbuf in = {0}, want = {0};
    for (int i = 0; i < 40; i++)
        gen_command(&rng, &in, &want);
    check_ways(&redis_lim, in.d, in.len, want.d);
    free(in.d);
    free(want.d);
}

static void test_pipeline_random_chunks(void **state)
{
    (void)state;
    uint64_t rng = 7;
    struct sbuf in = {0}, want = {0};
    for (int i = 0; i < 5000; i++)
        gen_command(&rng, &in, &want);
    for (int round = 0; round < 20; round++) {
        size_t cuts[4096], ncuts = 0, at = 0;
        size_t max = 1 + rng_next(&rng) % 300;
        for (;;) {
            at += 1 + rng_next(&rng) % max;
            if (at >= in.len || ncuts == 4096) break;
            cuts[ncuts++] = at;
        }
        char *t = run_cuts(&redis_lim, in.d, in.len, cuts, ncuts);
        expect_same(t, want.d, "random chunks, round", (size_t)round);
        free(t);
    }
    free(in.d);
    free(want.d);
}

/* ---- resp_peek_arg1: the look-ahead hint ---- */

/* Peeks a heap copy of exactly len bytes (ASan: no read past it). */
static size_t peek(const char *in, size_t len, struct resp_arg *a)
{
    char *b = malloc(len ? len : 1);
    assert_non_null(b);
    memcpy(b, in, len);
    a->ptr = (const char *)1;
    size_t n = resp_peek_arg1(b, len, a);
    if (n && a->ptr) a->ptr = in + (a->ptr - b);
    free(b);
    return n;
}

static void test_peek_arg1(void **state)
{
    (void)state;
    struct resp_arg a;
    const char *get = "*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n*1\r\n$4\r\nPING\r\n";
    size_t first = strlen("*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n");
    assert_int_equal(peek(get, strlen(get), &a), first);
    assert_int_equal(a.len, 5);
    assert_memory_equal(a.ptr, "key:1", 5);
    /* A command alone: its length, no argument. */
    assert_int_equal(peek(get + first, strlen(get + first), &a), strlen(get + first));
    assert_null(a.ptr);
    /* The parser agrees on where the first command ends. */
    struct resp_parser p;
    size_t consumed = 0;
    resp_parser_init(&p, &redis_lim);
    assert_int_equal(resp_parser_feed(&p, get, strlen(get), &consumed), RESP_PARSE_COMMAND);
    assert_int_equal(consumed, first);
    resp_parser_free(&p);
    /* Every prefix of a command is incomplete: 0, and nothing read past it. */
    for (size_t n = 0; n < first; n++)
        assert_int_equal(peek(get, n, &a), 0);
    /* Not for the look-ahead: inline, empty, malformed, too many arguments. */
    static const char *const refused[] = {
        "GET key\r\n",
        "*0\r\n",
        "*-1\r\n",
        "*2\r\n$3\r\nGET\r\n+key\r\n",
        "*2\r\n$-3\r\nGET\r\n$1\r\nk\r\n",
        "*2\r\n$03\r\nGET\r\n$1\r\nk\r\n",
        "*2\r\n$99999999999999999999999\r\nGET\r\n$1\r\nk\r\n",
        "*x\r\n",
        "*17\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
        "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
        "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(peek(refused[i], strlen(refused[i]), &a), 0);
    /* A bulk claiming more than the buffer holds. */
    const char *big = "*2\r\n$3\r\nSET\r\n$9223372036854775807\r\nab\r\n";
    assert_int_equal(peek(big, strlen(big), &a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibulk),
        cmocka_unit_test(test_empty_commands_skipped),
        cmocka_unit_test(test_terminators_not_checked),
        cmocka_unit_test(test_consumed_contract),
        cmocka_unit_test(test_inline_basic),
        cmocka_unit_test(test_inline_quotes),
        cmocka_unit_test(test_inline_unbalanced),
        cmocka_unit_test(test_inline_limit),
        cmocka_unit_test(test_mbulk_count_errors),
        cmocka_unit_test(test_bulk_header_errors),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_argv_not_overallocated),
        cmocka_unit_test(test_unauthenticated_limits),
        cmocka_unit_test(test_big_bulk_fragments),
        cmocka_unit_test(test_long_lines_bytewise),
        cmocka_unit_test(test_pipeline_every_split),
        cmocka_unit_test(test_pipeline_random_chunks),
        cmocka_unit_test(test_peek_arg1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
