/*
 * tests/unit/test_hll.c - HyperLogLog (src/ds/hyperloglog.c, src/types/hll_cmd.c):
 * values byte for byte as redis-server 7.0 writes them, its estimates on
 * the same inputs, the cache and who may store it, sparse to dense
 * promotion, damaged values refused, and the register packing.
 *
 * What a user would notice if these failed: unique-visitor counts that
 * differ from Redis's for the same visitors, a value copied from Redis
 * (GET/SET) that raftcache refuses or misreads, a replica holding other
 * bytes than its leader, a crash on a damaged value.
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
#include "types/hll_cmd.h"
#include "ds/hyperloglog.h"
#include "keyspace/kv.h"
#include "cmd_fixture.h"
#include "types/typetable.h"

/* PFADD key prefix0 .. prefix<n-1>, in calls of 30 elements. */
static void pfadd_n(struct fx *f, const char *key, const char *prefix, int n)
{
    static char names[30][32];
    struct resp_arg argv[32];
    for (int i = 0; i < n;) {
        int argc = 0;
        argv[argc++] = (struct resp_arg){"PFADD", 5};
        argv[argc++] = (struct resp_arg){key, strlen(key)};
        for (int j = 0; j < 30 && i < n; j++, i++) {
            int len = snprintf(names[j], sizeof names[j], "%s%d", prefix, i);
            argv[argc++] = (struct resp_arg){names[j], (size_t)len};
        }
        size_t rlen;
        runv(f, argc, argv, &rlen);
    }
}

/* The bytes of key's string value. */
static const struct kv_val *value(struct fx *f, const char *key)
{
    const struct kv_val *v = kv_lookup_peek(&f->kv, key, strlen(key), f->now);
    assert_non_null(v);
    return v;
}

/* Values and estimates as redis-server 7.0.15 gives them. */
static void test_same_as_redis(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "PFADD y a b c", ":1\r\n");
    EXPECT(f, "PFDEBUG DECODE y", "+Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n");
    EXPECT(f, "PFADD s foo", ":1\r\n");
    static const char s_bytes[] = "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\\\xb3\x90"
                                  "cJ";
    assert_int_equal(value(f, "s")->len, sizeof s_bytes - 1);
    assert_memory_equal(value(f, "s")->data, s_bytes, sizeof s_bytes - 1);
    pfadd_n(f, "k", "e", 1000);
    EXPECT(f, "PFCOUNT k", ":1008\r\n");
    EXPECT(f, "PFDEBUG ENCODING k", "+sparse\r\n");
    assert_int_equal(value(f, "k")->len, 1906);
    pfadd_n(f, "d", "e", 100000);
    EXPECT(f, "PFCOUNT d", ":100853\r\n");
    EXPECT(f, "PFDEBUG ENCODING d", "+dense\r\n");
    EXPECT(f, "PFADD x a b c", ":1\r\n");
    EXPECT(f, "PFADD z c d e", ":1\r\n");
    EXPECT(f, "PFCOUNT x z", ":5\r\n");
    EXPECT(f, "PFCOUNT x z d nosuchkey", ":100853\r\n");
    EXPECT(f, "PFADD x a b c", ":0\r\n");
}

static void test_create_and_cache(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "PFADD h", ":1\r\n");
    static const char empty[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff";
    assert_int_equal(value(f, "h")->len, HLL_SPARSE_EMPTY_SIZE);
    assert_memory_equal(value(f, "h")->data, empty, HLL_SPARSE_EMPTY_SIZE);
    EXPECT(f, "OBJECT ENCODING h", "$3\r\nraw\r\n");
    EXPECT(f, "PFADD h", ":0\r\n");
    EXPECT(f, "PFADD h a b c", ":1\r\n");
    struct resp_arg argv[2] = {{"PFCOUNT", 7}, {"h", 1}};
    /* a stale cache: the leader routes this PFCOUNT through the log */
    assert_int_equal(cmd_pfcount_writes(&f->kv, 2, argv, f->now), 1);
    f->reading = 1; /* as a read: the answer, nothing stored */
    int mods = f->mods;
    EXPECT(f, "PFCOUNT h", ":3\r\n");
    assert_int_equal(f->mods, mods);
    assert_true((unsigned char)value(f, "h")->data[15] & 0x80);
    f->reading = 0; /* applied: stored, on every replica alike */
    EXPECT(f, "PFCOUNT h", ":3\r\n");
    assert_int_equal((unsigned char)value(f, "h")->data[15], 0);
    assert_int_equal((unsigned char)value(f, "h")->data[8], 3);
    assert_int_equal(cmd_pfcount_writes(&f->kv, 2, argv, f->now), 0);
    struct resp_arg two[3] = {{"PFCOUNT", 7}, {"h", 1}, {"h", 1}};
    assert_int_equal(cmd_pfcount_writes(&f->kv, 3, two, f->now), 0);
    EXPECT(f, "PFADD h a", ":0\r\n"); /* nothing changed: the cache stays */
    assert_int_equal((unsigned char)value(f, "h")->data[15], 0);
    EXPECT(f, "PFADD h 1 2 3", ":1\r\n");
    assert_int_equal((unsigned char)value(f, "h")->data[15], 0x80);
    EXPECT(f, "PFCOUNT nosuchkey", ":0\r\n");
}

static void test_promotion(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.hll_sparse_max_bytes = 100;
    pfadd_n(f, "p", "x", 20);
    EXPECT(f, "PFDEBUG ENCODING p", "+sparse\r\n");
    pfadd_n(f, "p", "y", 60);
    EXPECT(f, "PFDEBUG ENCODING p", "+dense\r\n");
    assert_int_equal(value(f, "p")->len, HLL_DENSE_SIZE);
    EXPECT(f, "PFCOUNT p", ":80\r\n");
    /* PFMERGE of a dense input makes the destination dense */
    f->kvc.limits.hll_sparse_max_bytes = 3000;
    EXPECT(f, "PFADD q a", ":1\r\n");
    EXPECT(f, "PFMERGE q p", "+OK\r\n");
    EXPECT(f, "PFDEBUG ENCODING q", "+dense\r\n");
    EXPECT(f, "PFCOUNT q", ":81\r\n");
    EXPECT(f, "PFMERGE new q", "+OK\r\n");
    EXPECT(f, "PFCOUNT new", ":81\r\n");
    EXPECT(f, "PFADD r a", ":1\r\n");
    EXPECT(f, "PFDEBUG TODENSE r", ":1\r\n");
    EXPECT(f, "PFDEBUG TODENSE r", ":0\r\n");
    EXPECT(f, "PFDEBUG DECODE r", "-ERR HLL encoding is not sparse\r\n");
}

static void test_errors(void **state)
{
    struct fx *f = *state;
    const char *not_hll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
    EXPECT(f, "SET str hello", "+OK\r\n");
    EXPECT(f, "PFADD str a", not_hll);
    EXPECT(f, "PFCOUNT str", not_hll);
    EXPECT(f, "PFMERGE str", not_hll);
    EXPECT(f, "SADD set a", ":1\r\n");
    const char *wrongtype =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    EXPECT(f, "PFADD set a", wrongtype);
    EXPECT(f, "PFMERGE h set", wrongtype);
    EXPECT(f, "EXISTS h", ":0\r\n"); /* a refused merge creates nothing */
    EXPECT(f, "PFDEBUG GETREG none", "-ERR The specified key does not exist\r\n");
    EXPECT(f, "PFADD h a", ":1\r\n");
    EXPECT(f, "PFDEBUG FOO h", "-ERR Unknown PFDEBUG subcommand 'FOO'\r\n");
    /* damaged sparse bodies: extra opcodes, a run past the registers */
    EXPECT(f, "APPEND h hello", ":26\r\n");
    EXPECT(f, "PFCOUNT h", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    EXPECT(f, "PFCOUNT h h", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    EXPECT(f, "PFDEBUG GETREG h", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    EXPECT(f, "PFMERGE m h", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    EXPECT(f, "SETRANGE h 0 0123", ":26\r\n");
    EXPECT(f, "PFCOUNT h", not_hll);
    EXPECT(f, "PFADD dense a", ":1\r\n");
    EXPECT(f, "PFDEBUG TODENSE dense", ":1\r\n");
    EXPECT(f, "SETRANGE dense 4 \"\x01\"", ":12304\r\n"); /* claims sparse: a 12 KB run list */
    EXPECT(f, "PFCOUNT dense", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    /* a value cut inside an XZERO opcode */
    static const char cut[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f";
    kv_set(&f->kv, "cut", 3, cut, sizeof cut - 1, KV_NO_EXPIRE, f->now);
    EXPECT(f, "PFCOUNT cut", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    EXPECT(f, "PFADD cut zzz", "-INVALIDOBJ Corrupted HLL object detected\r\n");
}

/* XZERO runs summing past 2^32 registers, then a VAL: refused without
 * reading or writing out of bounds (Redis's regression test, smaller). */
static void test_overflowing_runs(void **state)
{
    struct fx *f = *state;
    size_t n = HLL_HDR_SIZE + 2 * 300000 + 1;
    unsigned char *p = calloc(1, n);
    assert_non_null(p);
    memcpy(p, "HYLL\x01", 5);
    for (size_t i = HLL_HDR_SIZE; i + 1 < n; i += 2) {
        p[i] = 0x7f;
        p[i + 1] = 0xff;
    }
    p[n - 1] = 0xff;
    kv_set(&f->kv, "o", 1, p, n, KV_NO_EXPIRE, f->now);
    EXPECT(f, "PFCOUNT o", ":0\r\n"); /* the cache says 0: believed, as Redis */
    p[15] = 0x80;
    kv_set(&f->kv, "o", 1, p, n, KV_NO_EXPIRE, f->now);
    free(p);
    EXPECT(f, "PFCOUNT o", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    EXPECT(f, "PFCOUNT o o", "-INVALIDOBJ Corrupted HLL object detected\r\n");
    EXPECT(f, "PFDEBUG GETREG o", "-INVALIDOBJ Corrupted HLL object detected\r\n");
}

static void test_registers(void **state)
{
    (void)state;
    static unsigned char regs[HLL_DENSE_SIZE - HLL_HDR_SIZE + 1];
    regs[sizeof regs - 1] = 0xa5; /* a guard byte past the registers */
    for (uint32_t i = 0; i < HLL_REGISTERS; i++)
        hll_dense_put(regs, i, (uint8_t)(i * 7 % 64));
    for (uint32_t i = 0; i < HLL_REGISTERS; i++)
        assert_int_equal(hll_dense_get(regs, i), i * 7 % 64);
    assert_int_equal(regs[sizeof regs - 1], 0xa5);
    assert_int_equal(hll_dense_raise(regs, 5, 1), HLL_UNCHANGED);
    assert_int_equal(hll_dense_raise(regs, 5, 63), HLL_CHANGED);
    assert_int_equal(hll_dense_get(regs, 5), 63);
    assert_int_equal(hll_dense_get(regs, 4), 28);
    assert_int_equal(hll_dense_get(regs, 6), 42);
    char err[128];
    assert_int_equal(hll_selftest(err, sizeof err), 0);
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_as_redis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promotion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflowing_runs, setup, teardown),
        cmocka_unit_test(test_registers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
