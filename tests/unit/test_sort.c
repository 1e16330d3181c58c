/*
 * tests/unit/test_sort.c - SORT and SORT_RO (src/types/sort.c) over lists, sets
 * and sorted sets: numeric and ALPHA order, BY string keys and hash fields,
 * GET patterns, LIMIT's edges, a list's and a sorted set's native order for
 * BY <constant>, STORE (a list, or the destination deleted), the errors,
 * and the keys SORT declares. Replies as redis-server 7.0 gives them.
 *
 * What a user would notice if these failed: a leaderboard or a tag list
 * sorted by an external weight coming out in the wrong order, a page
 * (LIMIT) off by one, a GET of a missing key that is not nil.
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
#include "types/sort.h"
#include "cmd_fixture.h"
#include "types/typetable.h"

static void fill(struct fx *f)
{
    run(f, "SADD s 3 10 1 2");
    run(f, "SET w_1 30");
    run(f, "SET w_2 10");
    run(f, "SET w_3 20"); /* w_10 missing: weight 0 */
    run(f, "HSET h_1 f b");
    run(f, "HSET h_2 f a");
    run(f, "HSET h_10 f c");
    run(f, "ZADD z 1 a 5 b 2 c 10 d 3 e");
}

static void test_numeric_and_alpha(void **state)
{
    struct fx *f = *state;
    fill(f);
    EXPECT(f, "SORT s", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
    EXPECT(f, "SORT s DESC LIMIT 1 2", "*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
    EXPECT(f, "SORT s ALPHA", "*4\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(f, "SORT z ALPHA DESC", "*5\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
    EXPECT(f, "SORT z", "-ERR One or more scores can't be converted into double\r\n");
    EXPECT(f, "SORT_RO s LIMIT 0 1", "*1\r\n$1\r\n1\r\n");
}

static void test_by_and_get(void **state)
{
    struct fx *f = *state;
    fill(f);
    /* by weight: 10 (0), 2 (10), 3 (20), 1 (30) */
    EXPECT(f, "SORT s BY w_*", "*4\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n");
    EXPECT(f, "SORT s BY w_* GET # GET w_* LIMIT 0 2",
           "*4\r\n$2\r\n10\r\n$-1\r\n$1\r\n2\r\n$2\r\n10\r\n");
    /* ALPHA by hash field: 3 has none (first), then a (2), b (1), c (10) */
    EXPECT(f, "SORT s BY h_*->f ALPHA GET h_*->f",
           "*4\r\n$-1\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT(f, "SORT s BY w_* GET nosuch LIMIT 0 1", "*1\r\n$-1\r\n");
    EXPECT(f, "SORT s BY w_* GET h_*-> LIMIT 0 1", "*1\r\n$-1\r\n"); /* "->" without a field */
}

static void test_native_order(void **state)
{
    struct fx *f = *state;
    fill(f);
    EXPECT(f, "SORT z BY nosort", "*5\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nb\r\n$1\r\nd\r\n");
    EXPECT(f, "SORT z BY nosort DESC LIMIT 1 2", "*2\r\n$1\r\nb\r\n$1\r\ne\r\n");
    /* a constant BY is for good, even if a pattern follows */
    EXPECT(f, "SORT z BY nosort BY w_* LIMIT 0 1", "*1\r\n$1\r\na\r\n");
    EXPECT(f, "SORT z BY nosort LIMIT 5 1", "*0\r\n");
    EXPECT(f, "SORT z BY nosort LIMIT -3 2", "*2\r\n$1\r\na\r\n$1\r\nc\r\n");
    EXPECT(f, "SORT z BY nosort LIMIT 3 -1", "*2\r\n$1\r\nb\r\n$1\r\nd\r\n");
    /* counts and offsets beyond the length are clamped, never overflowed */
    EXPECT(f, "SORT z BY nosort LIMIT 3 9223372036854775807", "*2\r\n$1\r\nb\r\n$1\r\nd\r\n");
    EXPECT(f, "SORT_RO z ALPHA LIMIT 9223372036854775807 9223372036854775807", "*0\r\n");
    EXPECT(f, "SORT z ALPHA LIMIT -9223372036854775808 1", "*1\r\n$1\r\na\r\n");
}

static void test_errors(void **state)
{
    struct fx *f = *state;
    fill(f);
    EXPECT(f, "SORT nosuchkey", "*0\r\n");
    EXPECT(f, "SORT w_1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "SORT h_1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "SORT s FOO", "-ERR syntax error\r\n");
    EXPECT(f, "SORT s LIMIT 1", "-ERR syntax error\r\n");
    EXPECT(f, "SORT s LIMIT x 1", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SORT_RO s STORE d", "-ERR syntax error\r\n");
    EXPECT(f, "EXISTS d", ":0\r\n");
}

static void test_lists_and_store(void **state)
{
    struct fx *f = *state;
    fill(f);
    run(f, "RPUSH l 3 1 10 2");
    EXPECT(f, "SORT l", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
    EXPECT(f, "SORT l BY nosort", "*4\r\n$1\r\n3\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n");
    EXPECT(f, "SORT l BY nosort DESC LIMIT 1 2", "*2\r\n$2\r\n10\r\n$1\r\n1\r\n");
    EXPECT(f, "SORT l BY w_* GET # GET w_* LIMIT 0 1", "*2\r\n$2\r\n10\r\n$-1\r\n");
    /* STORE: a list replacing the destination (and its TTL), "" for a GET
     * that finds nothing; the count is the reply */
    run(f, "SET d old");
    run(f, "PEXPIRE d 100000");
    f->mods = 0;
    EXPECT(f, "SORT l STORE d", ":4\r\n");
    assert_int_equal(f->mods, 1);
    EXPECT(f, "LRANGE d 0 -1", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
    EXPECT(f, "PTTL d", ":-1\r\n");
    EXPECT(f, "SORT l BY w_* GET w_* STORE d", ":4\r\n");
    EXPECT(f, "LRANGE d 0 -1", "*4\r\n$0\r\n\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n");
    /* an unsorted set is stored sorted ALPHA, whatever its layout */
    EXPECT(f, "SORT s BY nosort STORE d", ":4\r\n");
    EXPECT(f, "LRANGE d 0 -1", "*4\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n");
    /* an empty result deletes the destination, and signals it */
    f->mods = 0;
    EXPECT(f, "SORT nosuchkey STORE d", ":0\r\n");
    EXPECT(f, "EXISTS d", ":0\r\n");
    assert_int_equal(f->mods, 1);
    EXPECT(f, "SORT l STORE l", ":4\r\n"); /* onto itself */
    EXPECT(f, "LRANGE l 0 -1", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
}

static void test_keys(void **state)
{
    (void)state;
    struct resp_arg argv[] = {{"SORT", 4},  {"abc", 3}, {"STORE", 5}, {"invalid", 7}, {"LIMIT", 5},
                              {"STORE", 5}, {"x", 1},   {"store", 5}, {"def", 3}};
    int idx[4];
    assert_int_equal(cmd_sort_keys(9, argv, idx, 4), 2);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 8);
    assert_int_equal(cmd_sort_keys(2, argv, idx, 4), 1);
    /* SORT_RO has no STORE: its only key is the source */
    assert_int_equal(cmd_sort_ro_keys(9, argv, idx, 4), 1);
    assert_int_equal(idx[0], 1);
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_numeric_and_alpha, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_native_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists_and_store, setup, teardown),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
