/*
 * tests/unit/test_t_set.c - the set type (src/types/t_set.c, src/types/t_set_ops.c):
 * intset widths and the conversion to hashtable, the canonical order, and
 * above all that SPOP removes the same members on two "replicas" whose
 * dicts have different hash seeds, also when one of them was rebuilt from
 * the snapshot payload.
 *
 * What a user would notice if these failed: replicas of a cluster holding
 * different sets after SPOP (a popped job handed out twice, or lost), an
 * integer set using the memory of a hash table, members changed by a
 * conversion or a snapshot; an SDIFFSTORE of a big set and thousands of
 * small ones that holds every node of the cluster for seconds (the member
 * look-ups t_set_combine counts must stay linear in the sources' elements).
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
#include "types/typetable.h"
#include "keyspace/kv.h"
#include "types/t_set.h"
#include "types/t_set_int.h"
#include "cmd_fixture.h"

static void test_intset_widths_and_order(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SADD s 5 -3 40000 5 -9223372036854775808 7", ":5\r\n");
    assert_string_equal(fx_encoding(f, "s"), "intset");
    EXPECT(
        f, "SMEMBERS s",
        "*5\r\n$20\r\n-9223372036854775808\r\n$2\r\n-3\r\n$1\r\n5\r\n$1\r\n7\r\n$5\r\n40000\r\n");
    EXPECT(f, "SISMEMBER s 40000", ":1\r\n");
    EXPECT(f, "SISMEMBER s 040000", ":0\r\n"); /* not canonical: not that integer */
    EXPECT(f, "SREM s 5 6", ":1\r\n");
    EXPECT(f, "SCARD s", ":4\r\n");
    EXPECT(f, "SADD s x", ":1\r\n");
    assert_string_equal(fx_encoding(f, "s"), "hashtable");
    /* The conversion keeps the sorted order, then appends. */
    EXPECT(
        f, "SMEMBERS s",
        "*5\r\n$20\r\n-9223372036854775808\r\n$2\r\n-3\r\n$1\r\n7\r\n$5\r\n40000\r\n$1\r\nx\r\n");
}

static void test_conversion_by_entries(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.set_max_intset_entries = 3;
    EXPECT(f, "SADD s 1 2 3", ":3\r\n");
    assert_string_equal(fx_encoding(f, "s"), "intset");
    EXPECT(f, "SADD s 4", ":1\r\n");
    assert_string_equal(fx_encoding(f, "s"), "hashtable");
    EXPECT(f, "SREM s 1 2 3 4", ":4\r\n");
    EXPECT(f, "EXISTS s", ":0\r\n");
}

/* Replies of the same SPOP sequence on f; each SPOP seeded as an apply is. */
static char *spop_run(struct fx *f)
{
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    for (int i = 0; i < 40; i++) {
        f->rng = 1000 + (uint64_t)i;
        const char *r = run(f, i % 3 ? "SPOP big 3" : "SPOP big");
        size_t n = strlen(r);
        assert_true(len + n < cap);
        memcpy(out + len, r, n);
        len += n;
    }
    return out;
}

static void fill_big(struct fx *f)
{
    char line[64];
    for (int i = 0; i < 500; i++) {
        snprintf(line, sizeof line, "SADD big m%d", (i * 7919) % 1000);
        run(f, line);
    }
    run(f, "SREM big m7 m14 m21");
}

/* Two replicas (other dict seeds) and a third rebuilt from the snapshot
 * payload of the first pop the same members. */
static void test_spop_is_the_same_on_every_replica(void **state)
{
    struct fx *a = *state, *b, *c;
    setup((void **)&b);
    setup((void **)&c);
    kv_free(&b->kv);
    kv_common_init(&b->kvc, type_table, 0xdeadbeef);
    kv_init(&b->kv, &b->kvc, 0, 0xdeadbeef); /* another seed: another table layout */
    fill_big(a);
    fill_big(b);
    struct kv_val *v = kv_lookup_peek(&a->kv, "big", 3, a->now);
    struct fx_buf payload = {NULL, 0};
    t_set_ops.save(kv_val_obj(v), fx_buf_put, &payload);
    char err[128];
    void *obj =
        t_set_ops.load((unsigned char *)payload.data, payload.len, &c->kvc.limits, err, sizeof err);
    assert_non_null(obj);
    free(payload.data);
    kv_set_obj(&c->kv, "big", 3, KV_SET, obj, KV_NO_EXPIRE, c->now);
    char *ra = spop_run(a), *rb = spop_run(b), *rc = spop_run(c);
    assert_string_equal(ra, rb);
    assert_string_equal(ra, rc);
    char *ma = strdup(run(a, "SMEMBERS big"));
    assert_string_equal(ma, run(b, "SMEMBERS big"));
    assert_string_equal(ma, run(c, "SMEMBERS big"));
    free(ma);
    free(ra);
    free(rb);
    free(rc);
    void *bs = b, *cs = c;
    teardown(&bs);
    teardown(&cs);
}

static void test_stores_and_errors(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SADD a 1 2 3 x", ":4\r\n");
    EXPECT(f, "SADD b 2 3 4", ":3\r\n");
    EXPECT(f, "SET d old", "+OK\r\n");
    EXPECT(f, "SINTERSTORE d a b", ":2\r\n");
    EXPECT(f, "TYPE d", "+set\r\n");
    assert_string_equal(fx_encoding(f, "d"), "intset");
    EXPECT(f, "SDIFFSTORE d a a", ":0\r\n");
    EXPECT(f, "EXISTS d", ":0\r\n");
    EXPECT(f, "SUNIONSTORE a a b", ":5\r\n");
    EXPECT(f, "SET str v", "+OK\r\n");
    EXPECT(f, "SUNION a str",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "SMOVE a str 1",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "SMOVE a new 1", ":1\r\n");
    EXPECT(f, "SMOVE a new 1", ":0\r\n");
    EXPECT(f, "SINTERCARD 2 a b LIMIT 1", ":1\r\n");
    EXPECT(f, "SPOP a -1", "-ERR value is out of range, must be positive\r\n");
    /* 1 left by SMOVE: the last member (4) took its place. */
    EXPECT(f, "SPOP a 100", "*4\r\n$1\r\n4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\nx\r\n");
    EXPECT(f, "EXISTS a", ":0\r\n");
}

/* SDIFF big small small ...: a first set of N members, then N - 1 sets of
 * two ({a, m<i>}): the difference is {m0}, found with member look-ups and
 * removals within twice the sources' elements; SUNION and SINTER of the
 * small ones too. */
static void test_combine_is_linear(void **state)
{
    struct fx *f = *state;
    enum { N = 2000 };
    const void **objs = calloc(N, sizeof *objs);
    assert_non_null(objs);
    unsigned long long elements = 0;
    for (int i = 0; i < N; i++) {
        char m[16];
        void *set = t_set_new();
        if (i == 0) {
            for (int j = 0; j < N; j++)
                t_set_add(&set, &f->kvc.limits, m, (size_t)snprintf(m, sizeof m, "m%d", j));
        } else {
            t_set_add(&set, &f->kvc.limits, "a", 1);
            t_set_add(&set, &f->kvc.limits, m, (size_t)snprintf(m, sizeof m, "m%d", i));
        }
        elements += t_set_size(set);
        objs[i] = set;
    }
    static const enum t_set_op ops[] = {T_SET_DIFF, T_SET_UNION, T_SET_INTER};
    static const size_t want[] = {1, N, 1};
    for (int k = 0; k < 3; k++) {
        /* The intersection and union leave the big set out. */
        int first = ops[k] == T_SET_DIFF ? 0 : 1;
        struct t_set_combine z = {
            .op = ops[k], .objs = objs + first, .n = N - first, .lim = &f->kvc.limits, .build = 1};
        t_set_combine(&z);
        assert_true(z.probes <= 2 * elements);
        assert_int_equal(t_set_size(z.out), want[k]);
        if (ops[k] == T_SET_DIFF) assert_true(t_set_contains(z.out, "m0", 2));
        t_set_free(z.out);
    }
    for (int i = 0; i < N; i++)
        t_set_free((void *)objs[i]);
    free(objs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_intset_widths_and_order),
        T(test_conversion_by_entries),
        T(test_spop_is_the_same_on_every_replica),
        T(test_stores_and_errors),
        T(test_combine_is_linear),
#undef T
    };
    cmd_table_init(type_command_groups, type_command_group_count);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
