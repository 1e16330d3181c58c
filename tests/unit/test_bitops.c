/*
 * tests/unit/test_bitops.c - bitmaps on strings (src/types/bitops.c): bit order,
 * growth, ranges in bytes and bits, BITPOS's not-found answers, BITOP.
 *
 * What a user would notice if these failed: feature flags or activity
 * bitmaps reading the wrong bit, counts of active users off by the bits of
 * a partial byte, a BITOP result of the wrong length.
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
#include "types/typetable.h"

static void test_setbit_getbit(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SETBIT b 1 1", ":0\r\n");
    EXPECT(f, "GET b", "$1\r\n@\r\n"); /* bit 1 is 0x40 */
    EXPECT(f, "SETBIT b 1 1", ":1\r\n");
    EXPECT(f, "SETBIT b 17 1", ":0\r\n");
    EXPECT(f, "STRLEN b", ":3\r\n");
    EXPECT(f, "GETBIT b 17", ":1\r\n");
    EXPECT(f, "GETBIT b 16", ":0\r\n");
    EXPECT(f, "GETBIT b 9999", ":0\r\n");
    EXPECT(f, "SETBIT b 1 0", ":1\r\n");
    EXPECT(f, "SETBIT b -1 1", "-ERR bit offset is not an integer or out of range\r\n");
    EXPECT(f, "SETBIT b 4294967296 1", "-ERR bit offset is not an integer or out of range\r\n");
    EXPECT(f, "SETBIT b 1 2", "-ERR bit is not an integer or out of range\r\n");
    EXPECT(f, "HSET h f v", ":1\r\n");
    EXPECT(f, "SETBIT h 1 1",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
}

static void test_bitcount_ranges(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET s \"\xff\xf0\x01\"", "+OK\r\n");
    EXPECT(f, "BITCOUNT s", ":13\r\n");
    EXPECT(f, "BITCOUNT s 1 1", ":4\r\n");
    EXPECT(f, "BITCOUNT s 4 11 BIT", ":8\r\n");
    EXPECT(f, "BITCOUNT s -2 -1", ":5\r\n");
    EXPECT(f, "BITCOUNT s -1 -2", ":0\r\n");
    EXPECT(f, "BITCOUNT s 0", "-ERR syntax error\r\n");
    EXPECT(f, "BITCOUNT none", ":0\r\n");
}

static void test_bitpos(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET s \"\xff\xff\"", "+OK\r\n");
    EXPECT(f, "BITPOS s 0", ":16\r\n");      /* runs to the end: the bit after */
    EXPECT(f, "BITPOS s 0 0 -1", ":-1\r\n"); /* an end was given */
    EXPECT(f, "BITPOS s 1 1", ":8\r\n");
    EXPECT(f, "BITPOS s 1 3 9 BIT", ":3\r\n");
    EXPECT(f, "BITPOS none 0", ":0\r\n");
    EXPECT(f, "BITPOS none 1", ":-1\r\n");
    EXPECT(f, "BITPOS s 2", "-ERR The bit argument must be 1 or 0.\r\n");
}

static void test_bitop(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET a \"\xf0\x0f\"", "+OK\r\n");
    EXPECT(f, "SET b \"\x3c\"", "+OK\r\n");
    EXPECT(f, "BITOP AND d a b", ":2\r\n");
    EXPECT(f, "BITCOUNT d", ":2\r\n"); /* 0x30 0x00 */
    EXPECT(f, "BITOP OR d a b none", ":2\r\n");
    EXPECT(f, "GET d", "$2\r\n\xfc\x0f\r\n");
    EXPECT(f, "BITOP NOT d b", ":1\r\n");
    EXPECT(f, "GET d", "$1\r\n\xc3\r\n");
    EXPECT(f, "BITOP NOT d a b", "-ERR BITOP NOT must be called with a single source key.\r\n");
    EXPECT(f, "BITOP XOR d none", ":0\r\n");
    EXPECT(f, "EXISTS d", ":0\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_setbit_getbit),
        T(test_bitcount_ranges),
        T(test_bitpos),
        T(test_bitop),
#undef T
    };
    cmd_table_init(type_command_groups, type_command_group_count);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
