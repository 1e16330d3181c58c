/*
 * tests/unit/test_resp_writer.c - the reply writer. RESP2 output is decoded by
 * hiredis's reader, an independent implementation; RESP3 output (which that
 * hiredis version cannot read) is checked byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../resp/writer.h"

/* Decodes the pending bytes as exactly one RESP2 reply (caller frees). */
static redisReply *decode(const struct resp_out *o)
{
    redisReader *r = redisReaderCreate();
    assert_non_null(r);
    assert_int_equal(redisReaderFeed(r, o->data + o->pos, resp_out_pending(o)), REDIS_OK);
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    assert_non_null(reply);
    assert_int_equal(r->len - r->pos, 0); /* nothing after the reply */
    redisReaderFree(r);
    return reply;
}

static void expect_bytes_n(const struct resp_out *o, const char *want, size_t n)
{
    if (resp_out_pending(o) != n || memcmp(o->data + o->pos, want, n) != 0) {
        print_error("got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"\n", resp_out_pending(o),
                    (int)resp_out_pending(o), o->data + o->pos, n, (int)n, want);
        fail();
    }
}
#define EXPECT_BYTES(o, lit) expect_bytes_n((o), (lit), sizeof(lit) - 1)

static void expect_str(const redisReply *r, int type, const char *s, size_t n)
{
    assert_int_equal(r->type, type);
    assert_int_equal(r->len, n);
    assert_memory_equal(r->str, s, n);
}

static const long long int_cases[] = {
    0,         1,
    -1,        9,
    10,        11,
    -9,        -10,
    99,        100,
    101,       999,
    1000,      65535,
    -65536,    12345678901234LL,
    LLONG_MAX, LLONG_MAX - 1,
    LLONG_MIN, LLONG_MIN + 1,
};

static void check_int(long long v)
{
    char want[64];
    int n = snprintf(want, sizeof want, ":%lld\r\n", v);
    struct resp_out o;
    for (int proto = 2; proto <= 3; proto++) {
        resp_out_init(&o, proto);
        resp_add_int(&o, v);
        expect_bytes_n(&o, want, (size_t)n);
        redisReply *r = decode(&o);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_true(r->integer == v);
        freeReplyObject(r);

        resp_out_clear(&o);
        resp_add_bulk_ll(&o, v);
        r = decode(&o);
        expect_str(r, REDIS_REPLY_STRING, want + 1, (size_t)n - 3);
        freeReplyObject(r);
        resp_out_free(&o);
    }
}

static void test_int(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof int_cases / sizeof int_cases[0]; i++)
        check_int(int_cases[i]);
    /* Every digit count, on both sides of each power of ten. */
    for (long long p = 1; p <= LLONG_MAX / 10; p *= 10) {
        check_int(p - 1);
        check_int(p);
        check_int(p + 1);
        check_int(-p);
        check_int(-p + 1);
        check_int(-p - 1);
    }
}

static void test_bulk(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_bulk(&o, "", 0);
    EXPECT_BYTES(&o, "$0\r\n\r\n");
    redisReply *r = decode(&o);
    expect_str(r, REDIS_REPLY_STRING, "", 0);
    freeReplyObject(r);

    static const char bin[] = "a\r\n\0$-1\r\n";
    resp_out_clear(&o);
    resp_add_bulk(&o, bin, sizeof bin - 1);
    EXPECT_BYTES(&o, "$9\r\na\r\n\0$-1\r\n\r\n");
    r = decode(&o);
    expect_str(r, REDIS_REPLY_STRING, bin, sizeof bin - 1);
    freeReplyObject(r);

    size_t n = 100000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 31);
    resp_out_clear(&o);
    resp_add_bulk(&o, big, n);
    r = decode(&o);
    expect_str(r, REDIS_REPLY_STRING, big, n);
    freeReplyObject(r);
    free(big);

    resp_out_clear(&o);
    resp_add_bulk_cstr(&o, "hello");
    EXPECT_BYTES(&o, "$5\r\nhello\r\n");
    resp_out_clear(&o);
    resp_add_bulk_cstr(&o, NULL);
    EXPECT_BYTES(&o, "$-1\r\n");
    o.proto = 3;
    resp_out_clear(&o);
    resp_add_bulk_cstr(&o, NULL);
    EXPECT_BYTES(&o, "_\r\n");
    resp_out_free(&o);
}

static void test_simple_and_raw(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_simple(&o, "OK");
    EXPECT_BYTES(&o, "+OK\r\n");
    redisReply *r = decode(&o);
    expect_str(r, REDIS_REPLY_STATUS, "OK", 2);
    freeReplyObject(r);
    resp_out_clear(&o);
    resp_add_simple(&o, "");
    EXPECT_BYTES(&o, "+\r\n");
    resp_out_clear(&o);
    resp_add_raw(&o, "+PONG\r\n", 7);
    resp_add_raw(&o, "", 0);
    EXPECT_BYTES(&o, "+PONG\r\n");
    resp_out_free(&o);
}

static void test_error(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_error(&o, "ERR bad\r\nthing\n");
    EXPECT_BYTES(&o, "-ERR bad  thing \r\n");
    redisReply *r = decode(&o);
    expect_str(r, REDIS_REPLY_ERROR, "ERR bad  thing ", 15);
    freeReplyObject(r);

    resp_out_clear(&o);
    resp_add_errorf(&o, "WRONGTYPE %s %d", "Operation", 42);
    EXPECT_BYTES(&o, "-WRONGTYPE Operation 42\r\n");

    /* Longer than any stack buffer, with line breaks to neutralise. */
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    big[500] = '\r';
    big[501] = '\n';
    resp_out_clear(&o);
    resp_add_errorf(&o, "ERR %s!", big);
    big[500] = big[501] = ' ';
    r = decode(&o);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_int_equal(r->len, 1005);
    assert_memory_equal(r->str, "ERR ", 4);
    assert_memory_equal(r->str + 4, big, 1000);
    assert_int_equal(r->str[1004], '!');
    freeReplyObject(r);
    resp_out_free(&o);
}

static void check_double(double d, const char *text)
{
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_double(&o, d);
    redisReply *r = decode(&o);
    expect_str(r, REDIS_REPLY_STRING, text, strlen(text));
    freeReplyObject(r);
    resp_out_free(&o);

    char want[80];
    int n = snprintf(want, sizeof want, ",%s\r\n", text);
    resp_out_init(&o, 3);
    resp_add_double(&o, d);
    expect_bytes_n(&o, want, (size_t)n);
    resp_out_free(&o);
}

static void test_double(void **state)
{
    (void)state;
    check_double(0.0, "0");
    check_double(-0.0, "-0");
    check_double(1.5, "1.5");
    check_double(0.1, "0.10000000000000001");
    check_double(123456789.0, "123456789");
    static const double finite[] = {-2.25,  3.141592653589793,      1e300,   -1e-300, 1e17,
                                    5e-324, 1.7976931348623157e308, -123.456};
    for (size_t i = 0; i < sizeof finite / sizeof finite[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "%.17g", finite[i]);
        check_double(finite[i], text);
    }
    check_double(INFINITY, "inf");
    check_double(-INFINITY, "-inf");
    check_double(NAN, "nan");
    check_double(-NAN, "nan");
}

static void test_nulls_and_bool(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_null(&o);
    EXPECT_BYTES(&o, "$-1\r\n");
    redisReply *r = decode(&o);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    resp_out_clear(&o);
    resp_add_null_array(&o);
    EXPECT_BYTES(&o, "*-1\r\n");
    r = decode(&o);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    resp_out_clear(&o);
    resp_add_bool(&o, 1);
    resp_add_bool(&o, 0);
    EXPECT_BYTES(&o, ":1\r\n:0\r\n");

    o.proto = 3;
    resp_out_clear(&o);
    resp_add_null(&o);
    resp_add_null_array(&o);
    resp_add_bool(&o, 7);
    resp_add_bool(&o, 0);
    EXPECT_BYTES(&o, "_\r\n_\r\n#t\r\n#f\r\n");
    resp_out_free(&o);
}

static void test_verbatim(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_verbatim(&o, "a\r\nb", 4, "txt");
    redisReply *r = decode(&o);
    expect_str(r, REDIS_REPLY_STRING, "a\r\nb", 4);
    freeReplyObject(r);
    o.proto = 3;
    resp_out_clear(&o);
    resp_add_verbatim(&o, "a\r\nb", 4, "txt");
    resp_add_verbatim(&o, "", 0, "mkd");
    EXPECT_BYTES(&o, "=8\r\ntxt:a\r\nb\r\n=4\r\nmkd:\r\n");
    resp_out_free(&o);
}

static void test_aggregates(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_array_len(&o, 3);
    resp_add_int(&o, 1);
    resp_add_map_len(&o, 1);
    resp_add_bulk_cstr(&o, "k");
    resp_add_null(&o);
    resp_add_set_len(&o, 0);
    EXPECT_BYTES(&o, "*3\r\n:1\r\n*2\r\n$1\r\nk\r\n$-1\r\n*0\r\n");
    redisReply *r = decode(&o);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_int_equal(r->element[0]->integer, 1);
    assert_int_equal(r->element[1]->elements, 2);
    expect_str(r->element[1]->element[0], REDIS_REPLY_STRING, "k", 1);
    assert_int_equal(r->element[1]->element[1]->type, REDIS_REPLY_NIL);
    assert_int_equal(r->element[2]->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[2]->elements, 0);
    freeReplyObject(r);

    o.proto = 3;
    resp_out_clear(&o);
    resp_add_array_len(&o, 2);
    resp_add_map_len(&o, 1);
    resp_add_set_len(&o, 12);
    EXPECT_BYTES(&o, "*2\r\n%1\r\n~12\r\n");
    resp_out_free(&o);
}

static void test_deferred(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_add_simple(&o, "OK"); /* bytes before the handle stay put */
    resp_deferred d = resp_add_deferred(&o);
    resp_add_int(&o, 1);
    resp_add_int(&o, 2);
    resp_set_deferred_array_len(&o, d, 2);
    EXPECT_BYTES(&o, "+OK\r\n*2\r\n:1\r\n:2\r\n");

    /* Nested: outer map of 2 pairs, one value a deferred set; innermost set first. */
    resp_out_clear(&o);
    resp_deferred outer = resp_add_deferred(&o);
    resp_add_bulk_cstr(&o, "a");
    resp_deferred inner = resp_add_deferred(&o);
    resp_add_bulk_cstr(&o, "x");
    resp_add_bulk_cstr(&o, "y");
    resp_deferred empty = resp_add_deferred(&o);
    resp_set_deferred_array_len(&o, empty, 0);
    resp_set_deferred_set_len(&o, inner, 3);
    resp_add_bulk_cstr(&o, "b");
    resp_add_int(&o, 7);
    resp_set_deferred_map_len(&o, outer, 2);
    redisReply *r = decode(&o);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    expect_str(r->element[0], REDIS_REPLY_STRING, "a", 1);
    assert_int_equal(r->element[1]->elements, 3);
    expect_str(r->element[1]->element[1], REDIS_REPLY_STRING, "y", 1);
    assert_int_equal(r->element[1]->element[2]->elements, 0);
    expect_str(r->element[2], REDIS_REPLY_STRING, "b", 1);
    assert_int_equal(r->element[3]->integer, 7);
    freeReplyObject(r);

    /* The same in RESP3, byte for byte. */
    o.proto = 3;
    resp_out_clear(&o);
    outer = resp_add_deferred(&o);
    resp_add_bulk_cstr(&o, "a");
    inner = resp_add_deferred(&o);
    resp_add_bool(&o, 1);
    resp_set_deferred_set_len(&o, inner, 1);
    resp_set_deferred_map_len(&o, outer, 1);
    d = resp_add_deferred(&o);
    resp_set_deferred_array_len(&o, d, 0);
    EXPECT_BYTES(&o, "%1\r\n$1\r\na\r\n~1\r\n#t\r\n*0\r\n");
    resp_out_free(&o);
}

/* Fills o with n bytes of a recognisable pattern starting at tag. */
static void put_pattern(struct resp_out *o, size_t n, char tag)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)((size_t)tag + i % 17);
        resp_add_raw(o, &c, 1);
    }
}

static void expect_pattern(const char *p, size_t n, char tag, size_t skip)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], (char)((size_t)tag + (i + skip) % 17));
}

static void test_consume_and_compaction(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    put_pattern(&o, 200, 'A');
    size_t cap = o.cap;
    assert_true(cap >= 200);
    resp_out_consume(&o, 40);
    assert_int_equal(o.pos, 40);
    assert_int_equal(resp_out_pending(&o), 160);
    resp_out_consume(&o, 160);
    assert_int_equal(o.pos, 0);
    assert_int_equal(o.len, 0);

    /* pos past half of cap and a write needing room: compact, do not grow. */
    put_pattern(&o, cap - 10, 'A');
    size_t sent = cap / 2 + 1;
    resp_out_consume(&o, sent);
    const char *before = o.data;
    resp_add_raw(&o, "", 0);
    put_pattern(&o, 5, 'a'); /* fits: nothing moves */
    assert_int_equal(o.pos, sent);
    assert_ptr_equal(o.data, before);
    put_pattern(&o, 20, 'a');
    assert_int_equal(o.pos, 0);
    assert_int_equal(o.cap, cap);
    assert_int_equal(resp_out_pending(&o), cap - 10 - sent + 25);
    expect_pattern(o.data, cap - 10 - sent, 'A', sent);
    expect_pattern(o.data + cap - 10 - sent, 5, 'a', 0);

    /* pos at most half of cap: the buffer grows instead. */
    resp_out_clear(&o);
    put_pattern(&o, cap - 10, 'A');
    resp_out_consume(&o, cap / 2);
    put_pattern(&o, 20, 'a');
    assert_int_equal(o.pos, cap / 2);
    assert_int_equal(o.cap, 2 * cap);
    expect_pattern(o.data + o.pos, cap - 10 - cap / 2, 'A', cap / 2);
    resp_out_free(&o);
}

/* A handle taken after a partial consume survives the compaction that
 * writes made before it was set. */
static void test_deferred_across_compaction(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    put_pattern(&o, 200, 'A');
    size_t cap = o.cap;
    resp_out_consume(&o, 195);
    resp_deferred d = resp_add_deferred(&o);
    for (int i = 0; i < 30; i++)
        resp_add_int(&o, 5);
    assert_int_equal(o.pos, 0); /* compaction happened */
    assert_int_equal(o.cap, cap);
    resp_set_deferred_array_len(&o, d, 30);
    expect_pattern(o.data, 5, 'A', 195);
    resp_out_consume(&o, 5);
    redisReply *r = decode(&o);
    assert_int_equal(r->elements, 30);
    assert_int_equal(r->element[29]->integer, 5);
    freeReplyObject(r);
    resp_out_free(&o);
}

static void test_growth_shrink_clear(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    resp_out_shrink(&o, 0); /* nothing allocated: no-op */
    size_t total = 0;
    for (int i = 0; i < 100000; i++) {
        resp_add_bulk(&o, "0123456789", 10);
        total += 17;
    }
    assert_int_equal(o.len, total);
    assert_true(o.cap < 2 * total); /* doubling, not over-allocating */
    resp_out_shrink(&o, 0);         /* pending: kept */
    assert_non_null(o.data);
    resp_out_clear(&o);
    assert_int_equal(resp_out_pending(&o), 0);
    resp_out_shrink(&o, o.cap); /* not larger than keep_max: kept */
    assert_non_null(o.data);
    resp_out_shrink(&o, 1024);
    assert_null(o.data);
    assert_int_equal(o.cap, 0);
    resp_add_simple(&o, "OK"); /* usable after shrinking */
    EXPECT_BYTES(&o, "+OK\r\n");
    resp_out_free(&o);
    resp_out_free(&o); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_simple_and_raw),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_nulls_and_bool),
        cmocka_unit_test(test_verbatim),
        cmocka_unit_test(test_aggregates),
        cmocka_unit_test(test_deferred),
        cmocka_unit_test(test_consume_and_compaction),
        cmocka_unit_test(test_deferred_across_compaction),
        cmocka_unit_test(test_growth_shrink_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
