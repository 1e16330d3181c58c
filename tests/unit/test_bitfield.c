/*
 * tests/unit/test_bitfield.c - BITFIELD and BITFIELD_RO (src/types/bitfield.c):
 * field order and widths, signed and unsigned values, the three OVERFLOW
 * policies, growth, "#n" offsets that wrap, calls of many operations,
 * keyspace hit counting, COMMAND DOCS, and the errors, each reply as redis-server 7.0
 * gives it.
 *
 * What a user would notice if these failed: counters packed in a string
 * (rate limiters, compact histograms) reading or saturating differently
 * than on Redis, a read-only call that changes data, a bad argument that
 * half-applies a call.
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
#include "cmd_fixture.h"
#include "servercmd/cmdtable.h"

static void test_get_set_incrby(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "BITFIELD b GET i8 0", "*1\r\n:0\r\n");
    EXPECT(f, "EXISTS b", ":0\r\n"); /* reads create nothing */
    EXPECT(f, "BITFIELD b SET u8 0 255 GET u8 0 GET i8 0 GET u4 4",
           "*4\r\n:0\r\n:255\r\n:-1\r\n:15\r\n");
    EXPECT(f, "BITFIELD b SET u8 #1 65", "*1\r\n:0\r\n"); /* #1: the second u8 */
    EXPECT(f, "GET b",
           "$2\r\n\xff"
           "A\r\n");
    EXPECT(f, "BITFIELD b INCRBY i5 100 1 GET u4 0", "*2\r\n:1\r\n:15\r\n");
    EXPECT(f, "STRLEN b", ":14\r\n"); /* grown to its bit 104 */
    EXPECT(f, "BITFIELD b GET i64 0", "*1\r\n:-53761720551735296\r\n");
    EXPECT(f, "BITFIELD b GET u63 0", "*1\r\n:9196491176578908160\r\n");
    EXPECT(f, "BITFIELD_RO b GET u8 8 GET i16 #0", "*2\r\n:65\r\n:-191\r\n");
}

static void test_overflow(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "BITFIELD o INCRBY u2 0 5", "*1\r\n:1\r\n"); /* WRAP by default */
    EXPECT(f, "BITFIELD o OVERFLOW SAT INCRBY u2 0 5 INCRBY u2 0 -9", "*2\r\n:3\r\n:0\r\n");
    EXPECT(f, "BITFIELD o OVERFLOW FAIL INCRBY u2 0 5 GET u2 0", "*2\r\n$-1\r\n:0\r\n");
    EXPECT(f, "BITFIELD o OVERFLOW SAT INCRBY i8 8 200 INCRBY i8 8 -300",
           "*2\r\n:127\r\n:-128\r\n");
    EXPECT(f, "BITFIELD o OVERFLOW WRAP INCRBY i8 8 1", "*1\r\n:-127\r\n");
    EXPECT(f, "BITFIELD o SET u8 16 -1 GET u8 16", "*2\r\n:0\r\n:255\r\n");
    /* a SET value far below a narrow signed field: Redis saturates it high */
    EXPECT(f, "BITFIELD o OVERFLOW SAT SET i3 24 -9223372036854775808 GET i3 24",
           "*2\r\n:0\r\n:3\r\n");
    EXPECT(f,
           "BITFIELD o OVERFLOW WRAP INCRBY i64 32 9223372036854775807 "
           "INCRBY i64 32 9223372036854775807",
           "*2\r\n:9223372036854775807\r\n:-2\r\n");
}

static void test_errors(void **state)
{
    struct fx *f = *state;
    const char *type_err = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 "
                           "is not supported but i64 is.\r\n";
    EXPECT(f, "BITFIELD e GET u64 0", type_err);
    EXPECT(f, "BITFIELD e GET i65 0", type_err);
    EXPECT(f, "BITFIELD e GET I8 0", type_err);
    EXPECT(f, "BITFIELD e GET i0 0", type_err);
    EXPECT(f, "BITFIELD e GET i8 -1", "-ERR bit offset is not an integer or out of range\r\n");
    EXPECT(f, "BITFIELD e GET i8 #-1", "-ERR bit offset is not an integer or out of range\r\n");
    EXPECT(f, "BITFIELD e GET i8 4294967296",
           "-ERR bit offset is not an integer or out of range\r\n");
    EXPECT(f, "BITFIELD e SET i8 0 abc", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "BITFIELD e OVERFLOW foo", "-ERR Invalid OVERFLOW type specified\r\n");
    EXPECT(f, "BITFIELD e FOO", "-ERR syntax error\r\n");
    EXPECT(f, "BITFIELD e GET i8", "-ERR syntax error\r\n");
    /* a bad operation after a good one: nothing applied */
    EXPECT(f, "BITFIELD e SET u8 0 1 GET x8 0", type_err);
    EXPECT(f, "EXISTS e", ":0\r\n");
    EXPECT(f, "BITFIELD_RO e SET i8 0 1", "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    EXPECT(f, "BITFIELD_RO e INCRBY i8 0 1 GET x8 0", type_err); /* parsing comes first */
    EXPECT(f, "SADD s a", ":1\r\n");
    EXPECT(f, "BITFIELD s GET i8 0",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

/* A SET of the value already there changes nothing; FAIL still grows. */
static void test_modifications(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET m abc", "+OK\r\n");
    int mods = f->mods;
    EXPECT(f, "BITFIELD m SET u8 0 97", "*1\r\n:97\r\n");
    assert_int_equal(f->mods, mods);
    EXPECT(f, "BITFIELD m OVERFLOW FAIL INCRBY u8 40 300", "*1\r\n$-1\r\n");
    EXPECT(f, "STRLEN m", ":6\r\n");
}

/* "#n" is n times the width modulo 2^64, as Redis computes it: a product
 * that wraps into range is a valid offset, one that wraps negative is not. */
static void test_hash_offset_wraps(void **state)
{
    struct fx *f = *state;
    /* (2^62 + 1) * 24 = 6 * 2^64 + 24: bit 24 */
    EXPECT(f, "BITFIELD w SET u8 24 7 GET u24 #4611686018427387905", "*2\r\n:0\r\n:458752\r\n");
    /* (2^61 + 1) * 8 = 2^64 + 8: the second byte */
    EXPECT(f, "BITFIELD w SET u8 #2305843009213693953 1", "*1\r\n:0\r\n");
    EXPECT(f, "GET w", "$4\r\n\0\x01\0\x07\r\n");
    /* 2^60 * 8 = 2^63: negative once wrapped */
    EXPECT(f, "BITFIELD w GET u8 #1152921504606846976",
           "-ERR bit offset is not an integer or out of range\r\n");
    EXPECT(f, "BITFIELD w GET u8 #536870912",
           "-ERR bit offset is not an integer or out of range\r\n");
    EXPECT(f, "BITFIELD w GET u8 #536870911", "*1\r\n:0\r\n");
}

/* Any number of operations in one call, as Redis: one INCRBY, then GETs. */
static void test_many_ops(void **state)
{
    struct fx *f = *state;
    enum { OPS = 1500 };
    static struct resp_arg argv[3 + 3 * OPS];
    static char offs[OPS][8];
    int argc = 0;
    argv[argc++] = (struct resp_arg){"BITFIELD", 8};
    argv[argc++] = (struct resp_arg){"many", 4};
    for (int i = 0; i < OPS; i++) {
        int n = snprintf(offs[i], sizeof offs[i], "#%d", i);
        argv[argc++] = i ? (struct resp_arg){"GET", 3} : (struct resp_arg){"INCRBY", 6};
        argv[argc++] = (struct resp_arg){"u8", 2};
        argv[argc++] = (struct resp_arg){offs[i], (size_t)n};
        if (!i) argv[argc++] = (struct resp_arg){"1", 1};
    }
    run(f, "SET many x"); /* 'x' = 120: the INCRBY replies 121 */
    size_t len;
    const char *r = runv(f, argc - 1, argv, &len); /* the last GET lacks its offset */
    assert_string_equal(r, "-ERR syntax error\r\n");
    r = runv(f, argc, argv, &len);
    assert_memory_equal(r, "*1500\r\n:121\r\n:0\r\n", 17);
    assert_int_equal(len, 7 + 6 + 1499 * 4);
    EXPECT(f, "GET many", "$1\r\ny\r\n"); /* GETs past the end grow nothing */
}

/* A call with only GETs counts a keyspace hit or miss; one that writes
 * does not (Redis's lookupKeyWrite). */
static void test_keyspace_stats(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET s abc", "+OK\r\n");
    uint64_t hits = f->kvc.keyspace_hits, misses = f->kvc.keyspace_misses;
    EXPECT(f, "BITFIELD s SET u8 0 98", "*1\r\n:97\r\n");
    EXPECT(f, "BITFIELD none INCRBY u8 0 1", "*1\r\n:1\r\n");
    assert_int_equal(f->kvc.keyspace_hits, hits);
    assert_int_equal(f->kvc.keyspace_misses, misses);
    EXPECT(f, "BITFIELD s GET u8 0", "*1\r\n:98\r\n");
    EXPECT(f, "BITFIELD_RO missing GET u8 0", "*1\r\n:0\r\n");
    assert_int_equal(f->kvc.keyspace_hits, hits + 1);
    assert_int_equal(f->kvc.keyspace_misses, misses + 1);
}

/* COMMAND DOCS shows BITFIELD_RO's GET as Redis 7.0 does: a block of
 * encoding and offset whose GET token repeats with it (redis-server's reply
 * byte for byte, but for the complexity no command of the table shows). */
static void test_docs(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "COMMAND DOCS bitfield_ro",
           "*2\r\n$11\r\nbitfield_ro\r\n*8\r\n"
           "$7\r\nsummary\r\n$87\r\nPerform arbitrary bitfield integer operations on strings. "
           "Read-only variant of BITFIELD\r\n"
           "$5\r\nsince\r\n$5\r\n6.0.0\r\n$5\r\ngroup\r\n$6\r\nbitmap\r\n"
           "$9\r\narguments\r\n*2\r\n"
           "*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"
           "$14\r\nkey_spec_index\r\n:0\r\n"
           "*10\r\n$4\r\nname\r\n$15\r\nencoding_offset\r\n$4\r\ntype\r\n$5\r\nblock\r\n"
           "$5\r\ntoken\r\n$3\r\nGET\r\n"
           "$5\r\nflags\r\n*3\r\n+optional\r\n+multiple\r\n+multiple_token\r\n"
           "$9\r\narguments\r\n*2\r\n"
           "*4\r\n$4\r\nname\r\n$8\r\nencoding\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
           "*4\r\n$4\r\nname\r\n$6\r\noffset\r\n$4\r\ntype\r\n$7\r\ninteger\r\n");
}

int main(void)
{
    cmdtable_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_set_incrby, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modifications, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_offset_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
