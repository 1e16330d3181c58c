/*
 * tests/unit/test_t_zset.c - the sorted set type (src/types/t_zset*.c): both
 * encodings answer every range the same way, the conversion at each
 * threshold, scores that read back exactly, and the snapshot payload.
 *
 * What a user would notice if these failed: a leaderboard whose ranks or
 * ranges differ once it grows past 128 members, a score that changes
 * (0.1 turning into 0.10000000000000002) across a conversion or a restart,
 * rate limiters (ZREMRANGEBYSCORE + ZCARD) counting wrong; a ZUNIONSTORE
 * over 20000 keys that holds every node of the cluster for 20 seconds
 * (the combining's member look-ups, counted here, must stay linear in the
 * inputs' elements, not grow with elements times inputs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "cmd_fixture.h"
#include "types/typetable.h"

/* The same members in a listpack set "a" and a skiplist set "b". */
static void fill_both(struct fx *f)
{
    char line[128];
    static const char *scores[] = {"0.1", "-inf", "3", "3", "1e300", "-2.5", "inf", "7", "0"};
    for (int i = 0; i < 9; i++) {
        snprintf(line, sizeof line, "ZADD a %s m%d", scores[i], i);
        run(f, line);
    }
    f->kvc.limits.zset_max_listpack_entries = 2;
    for (int i = 0; i < 9; i++) {
        snprintf(line, sizeof line, "ZADD b %s m%d", scores[i], i);
        run(f, line);
    }
    f->kvc.limits.zset_max_listpack_entries = 128;
    assert_string_equal(fx_encoding(f, "a"), "listpack");
    assert_string_equal(fx_encoding(f, "b"), "skiplist");
}

/* Each query replies the same on both encodings. */
static void test_encodings_agree(void **state)
{
    struct fx *f = *state;
    fill_both(f);
    static const char *queries[] = {
        "ZRANGE %s 0 -1 WITHSCORES",
        "ZRANGE %s 2 -3",
        "ZREVRANGE %s 0 3 WITHSCORES",
        "ZRANGEBYSCORE %s (0 +inf WITHSCORES",
        "ZREVRANGEBYSCORE %s 3 -inf LIMIT 1 2",
        "ZRANGE %s (3 0 BYSCORE REV",
        "ZCOUNT %s -inf (3",
        "ZCOUNT %s 3 3",
        "ZRANK %s m2",
        "ZREVRANK %s m1",
        "ZRANK %s nope",
        "ZSCORE %s m0",
        "ZMSCORE %s m4 m6 x",
        "ZCARD %s",
        "ZRANGE %s 100 200",
        "ZRANGEBYSCORE %s 5 1",
    };
    char qa[128], qb[128];
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        snprintf(qa, sizeof qa, queries[i], "a");
        snprintf(qb, sizeof qb, queries[i], "b");
        char *ra = strdup(run(f, qa));
        assert_string_equal(run(f, qb), ra);
        free(ra);
    }
    EXPECT(f, "ZSCORE a m0", "$19\r\n0.10000000000000001\r\n"); /* Redis 7.0: %.17g */
    EXPECT(f, "ZSCORE b m1", "$4\r\n-inf\r\n");
}

static void test_lex_and_removals(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "ZADD l 0 a 0 b 0 c 0 d 0 e", ":5\r\n");
    EXPECT(f, "ZRANGEBYLEX l (a [c", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT(f, "ZREVRANGEBYLEX l + (c", "*2\r\n$1\r\ne\r\n$1\r\nd\r\n");
    EXPECT(f, "ZLEXCOUNT l - +", ":5\r\n");
    EXPECT(f, "ZRANGEBYLEX l a b", "-ERR min or max not valid string range item\r\n");
    EXPECT(f, "ZREMRANGEBYLEX l [b [c", ":2\r\n");
    EXPECT(f, "ZREMRANGEBYRANK l 0 0", ":1\r\n");
    EXPECT(f, "ZREMRANGEBYSCORE l -inf +inf", ":2\r\n");
    EXPECT(f, "EXISTS l", ":0\r\n");
}

static void test_add_options_and_errors(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "ZADD z 1 a 2 b", ":2\r\n");
    EXPECT(f, "ZADD z GT CH 0 a 5 b 1 c", ":2\r\n");
    EXPECT(f, "ZADD z XX 9 nope", ":0\r\n");
    EXPECT(f, "ZADD z NX INCR 1 a", "$-1\r\n");
    EXPECT(f, "ZADD z INCR 1.5 a", "$3\r\n2.5\r\n");
    EXPECT(f, "ZADD z NX XX 1 a", "-ERR XX and NX options at the same time are not compatible\r\n");
    EXPECT(f, "ZADD z 1 a x", "-ERR syntax error\r\n");
    EXPECT(f, "ZADD z nan a", "-ERR value is not a valid float\r\n");
    EXPECT(f, "ZINCRBY z inf a", "$3\r\ninf\r\n");
    EXPECT(f, "ZINCRBY z -inf a", "-ERR resulting score is not a number (NaN)\r\n");
    EXPECT(f, "ZADD new XX 1 a", ":0\r\n");
    EXPECT(f, "EXISTS new", ":0\r\n");
    EXPECT(f, "HSET h f v", ":1\r\n");
    EXPECT(f, "ZADD h 1 a",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "ZPOPMIN z 2", "*4\r\n$1\r\nc\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n5\r\n");
    EXPECT(f, "ZMPOP 1 z MAX COUNT 5", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$3\r\ninf\r\n");
    EXPECT(f, "EXISTS z", ":0\r\n");
}

static void test_conversion_by_member_length(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.zset_max_listpack_value = 3;
    EXPECT(f, "ZADD z 1 abc", ":1\r\n");
    assert_string_equal(fx_encoding(f, "z"), "listpack");
    EXPECT(f, "ZADD z 2 abcd", ":1\r\n");
    assert_string_equal(fx_encoding(f, "z"), "skiplist");
    EXPECT(f, "ZRANGE z 0 -1", "*2\r\n$3\r\nabc\r\n$4\r\nabcd\r\n");
}

/* The payload rebuilds the same set, scores bit for bit; COPY too. */
static void test_save_load_and_copy(void **state)
{
    struct fx *f = *state;
    fill_both(f);
    const char *keys[] = {"a", "b"};
    for (int k = 0; k < 2; k++) {
        struct kv_val *v = kv_lookup_peek(&f->kv, keys[k], 1, f->now);
        struct fx_buf b = {NULL, 0};
        t_zset_ops.save(kv_val_obj(v), fx_buf_put, &b);
        char err[128];
        f->kvc.limits.zset_max_listpack_entries = k ? 2 : 128;
        void *zs = t_zset_ops.load((unsigned char *)b.data, b.len, &f->kvc.limits, err, sizeof err);
        f->kvc.limits.zset_max_listpack_entries = 128;
        assert_non_null(zs);
        assert_null(
            t_zset_ops.load((unsigned char *)b.data, b.len - 1, &f->kvc.limits, err, sizeof err));
        free(b.data);
        kv_set_obj(&f->kv, "loaded", 6, KV_ZSET, zs, KV_NO_EXPIRE, f->now);
        assert_string_equal(fx_encoding(f, "loaded"), fx_encoding(f, keys[k]));
        char q[64];
        snprintf(q, sizeof q, "ZRANGE %s 0 -1 WITHSCORES", keys[k]);
        char *want = strdup(run(f, q));
        assert_string_equal(run(f, "ZRANGE loaded 0 -1 WITHSCORES"), want);
        snprintf(q, sizeof q, "COPY %s copy REPLACE", keys[k]);
        EXPECT(f, q, ":1\r\n");
        assert_string_equal(run(f, "ZRANGE copy 0 -1 WITHSCORES"), want);
        free(want);
    }
}

/* Inputs as ZUNION over n keys of two members sees them: {a: 1, m<i>: 2}. */
static struct t_zset_input *pair_inputs(struct fx *f, int n)
{
    struct t_zset_input *in = calloc((size_t)n, sizeof *in);
    assert_non_null(in);
    for (int i = 0; i < n; i++) {
        char m[16];
        void *zs = t_zset_new();
        t_zset_set(&zs, &f->kvc.limits, "a", 1, 1);
        t_zset_set(&zs, &f->kvc.limits, m, (size_t)snprintf(m, sizeof m, "m%d", i), 2);
        in[i] = (struct t_zset_input){zs, 0, 1};
    }
    return in;
}

static void free_inputs(struct t_zset_input *in, int n)
{
    for (int i = 0; i < n; i++)
        t_zset_free((void *)in[i].obj);
    free(in);
}

/* Combines in[] with op; asserts the member look-ups stayed within twice the
 * inputs' elements; returns the result's size. */
static size_t combine_linear(struct fx *f, enum t_zset_op op, struct t_zset_input *in, int n,
                             double *score_of_a)
{
    unsigned long long elements = 0;
    for (int i = 0; i < n; i++)
        elements += t_zset_size(in[i].obj);
    struct t_zset_combine z = {.op = op, .in = in, .n = n, .lim = &f->kvc.limits, .build = 1};
    t_zset_combine(&z);
    assert_true(z.probes <= 2 * elements);
    size_t size = t_zset_size(z.out);
    assert_int_equal(size, z.count);
    *score_of_a = -1;
    t_zset_score(z.out, "a", 1, score_of_a);
    t_zset_free(z.out);
    return size;
}

/* 2000 inputs of two members, and a difference whose first input is big. */
static void test_combine_is_linear(void **state)
{
    struct fx *f = *state;
    enum { N = 2000 };
    double a;
    struct t_zset_input *in = pair_inputs(f, N);
    assert_int_equal(combine_linear(f, T_ZSET_UNION, in, N, &a), N + 1);
    assert_true(a == N);
    assert_int_equal(combine_linear(f, T_ZSET_INTER, in, N, &a), 1);
    assert_true(a == N);
    assert_int_equal(combine_linear(f, T_ZSET_DIFF, in, N, &a), 1); /* m0 */
    /* ZDIFF big small small ...: the first input holds every m<i>. */
    void *big = t_zset_new();
    for (int i = 0; i < N; i++) {
        char m[16];
        t_zset_set(&big, &f->kvc.limits, m, (size_t)snprintf(m, sizeof m, "m%d", i), 1);
    }
    const void *first = in[0].obj;
    in[0].obj = big;
    assert_int_equal(combine_linear(f, T_ZSET_DIFF, in, N, &a), 1); /* m0 */
    in[0].obj = first;
    t_zset_free(big);
    free_inputs(in, N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_encodings_agree),        T(test_lex_and_removals),
        T(test_add_options_and_errors), T(test_conversion_by_member_length),
        T(test_save_load_and_copy),     T(test_combine_is_linear),
#undef T
    };
    cmd_table_init(type_command_groups, type_command_group_count);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
