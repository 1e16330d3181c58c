/*
 * tests/unit/test_resp_frame.c - resp/frame.c finds where each RESP2/RESP3
 * reply ends. Every stream is fed whole, byte by byte, and split in two at
 * every offset; each way must cut it into the same frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../resp/frame.h"

#define FRAMES_MAX 16

/* What reading a stream gave: each frame's length, then the error or the
 * bytes left over. */
struct cut {
    size_t lens[FRAMES_MAX];
    int n;
    int error;
    size_t rest;
};

/* Feeds s[0..len) in reads of `step` bytes (0: whole), as a connection
 * would: the unconsumed region is passed again with each read. */
static struct cut read_stream(const char *s, size_t len, size_t step)
{
    struct resp_frame *f = malloc(sizeof *f);
    assert_non_null(f);
    resp_frame_reset(f);
    struct cut c = {.n = 0};
    size_t start = 0, have = step ? 0 : len;
    for (;;) {
        size_t flen = 0;
        enum resp_frame_status st = resp_frame_feed(f, s + start, have - start, &flen);
        if (st == RESP_FRAME_ERROR) {
            c.error = 1;
            break;
        }
        if (st == RESP_FRAME_DONE) {
            assert_true(c.n < FRAMES_MAX);
            c.lens[c.n++] = flen;
            start += flen;
            continue;
        }
        if (have == len) break;
        have = step && have + step < len ? have + step : len;
    }
    c.rest = len - start;
    free(f);
    return c;
}

/* Every way of reading s agrees with reading it whole, which must give
 * the frames `want` (lengths, 0-terminated), then error or rest bytes. */
static void check(const char *s, const size_t *want, int error, size_t rest)
{
    size_t len = strlen(s);
    struct cut whole = read_stream(s, len, 0);
    int n = 0;
    while (want[n])
        n++;
    assert_int_equal(whole.n, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(whole.lens[i], want[i]);
    assert_int_equal(whole.error, error);
    if (!error) assert_int_equal(whole.rest, rest);
    for (size_t step = 1; step <= 3; step++) {
        struct cut c = read_stream(s, len, step);
        assert_memory_equal(&c, &whole, sizeof c);
    }
    for (size_t at = 1; at < len; at++) { /* two reads, split at `at` */
        struct resp_frame f;
        resp_frame_reset(&f);
        size_t flen = 0;
        size_t done = 0;
        int st = resp_frame_feed(&f, s, at, &flen);
        while (st == RESP_FRAME_DONE) {
            done += flen;
            st = resp_frame_feed(&f, s + done, at - done, &flen);
        }
        if (st == RESP_FRAME_ERROR) {
            assert_true(error);
            continue;
        }
        st = resp_frame_feed(&f, s + done, len - done, &flen);
        while (st == RESP_FRAME_DONE) {
            done += flen;
            st = resp_frame_feed(&f, s + done, len - done, &flen);
        }
        assert_int_equal(st == RESP_FRAME_ERROR, error);
        if (!error) assert_int_equal(len - done, rest);
    }
}

#define FRAMES(...) ((const size_t[]){__VA_ARGS__, 0})

static void test_resp2_scalars(void **state)
{
    (void)state;
    check("+OK\r\n", FRAMES(5), 0, 0);
    check("-ERR no\r\n:42\r\n", FRAMES(9, 5), 0, 0);
    check("$5\r\nhello\r\n$-1\r\n$0\r\n\r\n", FRAMES(11, 5, 6), 0, 0);
    check("*-1\r\n*0\r\n", FRAMES(5, 4), 0, 0);
    check("+\r\n", FRAMES(3), 0, 0); /* an empty simple string */
}

static void test_resp2_aggregates(void **state)
{
    (void)state;
    /* HGETALL in RESP2, then a nested EXEC reply with a nil inside */
    check("*2\r\n$1\r\na\r\n$1\r\n1\r\n", FRAMES(18), 0, 0);
    check("*3\r\n+OK\r\n*2\r\n:1\r\n$-1\r\n-ERR x\r\n", FRAMES(30), 0, 0);
    /* a bulk body holding CRLF and type bytes is skipped, not read */
    check("*1\r\n$6\r\n*\r\n+\r\n\r\n+OK\r\n", FRAMES(16, 5), 0, 0);
}

static void test_resp3_types(void **state)
{
    (void)state;
    check("_\r\n,3.14\r\n#t\r\n(12345678901234567890\r\n", FRAMES(3, 7, 4, 23), 0, 0);
    check("=15\r\ntxt:Some string\r\n!5\r\nERR x\r\n", FRAMES(22, 11), 0, 0);
    /* HGETALL as a map: two elements per entry */
    check("%1\r\n$1\r\na\r\n$1\r\n1\r\n+OK\r\n", FRAMES(18, 5), 0, 0);
    check("~2\r\n:1\r\n:2\r\n%0\r\n~0\r\n", FRAMES(12, 4, 4), 0, 0);
    /* ZRANGE WITHSCORES in RESP3: pairs of member and double */
    check("*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n", FRAMES(21), 0, 0);
}

static void test_push_and_attribute(void **state)
{
    (void)state;
    /* a push is a frame of its own */
    check(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n:1\r\n", FRAMES(32, 4), 0, 0);
    /* an attribute belongs to the value after it, at the top and inside */
    check("|1\r\n+key\r\n:1\r\n+OK\r\n:7\r\n", FRAMES(19, 4), 0, 0);
    check("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", FRAMES(24), 0, 0);
    check("|0\r\n:1\r\n", FRAMES(8), 0, 0);
}

static void test_incomplete_is_kept(void **state)
{
    (void)state;
    check("*2\r\n:1\r\n", FRAMES(0), 0, 8);
    check("+OK\r\n$5\r\nhel", FRAMES(5), 0, 7);
    check("%1\r\n+a\r\n", FRAMES(0), 0, 8);
}

static void test_malformed(void **state)
{
    (void)state;
    check("?x\r\n", FRAMES(0), 1, 0);              /* unknown type */
    check("+OK\n", FRAMES(0), 1, 0);               /* LF without CR */
    check("$3\r\nabcde\r\n", FRAMES(0), 1, 0);     /* body longer than said */
    check("*01\r\n:1\r\n", FRAMES(0), 1, 0);       /* a leading zero */
    check("%-1\r\n", FRAMES(0), 1, 0);             /* no null map */
    check("*x\r\n", FRAMES(0), 1, 0);              /* not a number */
    check("$99999999999999\r\n", FRAMES(0), 1, 0); /* above the count bound */
    check(":1\r\n\r\n", FRAMES(4), 1, 0);          /* an empty line after a frame */
}

/* levels arrays of one, each holding the next, around :1 */
static struct cut read_nested(size_t levels)
{
    char *s = malloc(levels * 4 + 8);
    assert_non_null(s);
    for (size_t i = 0; i < levels; i++)
        memcpy(s + i * 4, "*1\r\n", 4);
    strcpy(s + levels * 4, ":1\r\n");
    struct cut c = read_stream(s, strlen(s), 0);
    free(s);
    return c;
}

static void test_depth_limit(void **state)
{
    (void)state;
    struct cut c = read_nested(RESP_FRAME_DEPTH_MAX);
    assert_int_equal(c.error, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.lens[0], RESP_FRAME_DEPTH_MAX * 4 + 4);
    c = read_nested(RESP_FRAME_DEPTH_MAX + 1);
    assert_int_equal(c.error, 1);
    assert_int_equal(c.n, 0);
}

static void test_long_line_is_searched_once(void **state)
{
    (void)state;
    /* a simple string arriving a byte at a time: searched, not re-read */
    size_t n = 100000;
    char *s = malloc(n + 3);
    assert_non_null(s);
    s[0] = '+';
    memset(s + 1, 'a', n - 1);
    memcpy(s + n, "\r\n", 3);
    struct cut c = read_stream(s, n + 2, 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.lens[0], n + 2);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp2_scalars),
        cmocka_unit_test(test_resp2_aggregates),
        cmocka_unit_test(test_resp3_types),
        cmocka_unit_test(test_push_and_attribute),
        cmocka_unit_test(test_incomplete_is_kept),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_long_line_is_searched_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
