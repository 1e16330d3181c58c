/*
 * tests/unit/test_kv.c - the keyspace (src/keyspace/kv.c) and the data command
 * handlers (src/types/cmd_string.c, cmd_keys.c, cmd_expire.c).
 *
 * Handlers are called directly with a struct cmd_ctx, a RESP2 resp_out and a
 * chosen now_ms, and their exact reply bytes are checked against what Redis
 * 7.0 sends. Time never comes from a clock: each test moves f->now.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <malloc.h>

#include "base/alloc.h"
#include "cmd/cmd.h"
#include "keyspace/kv.h"

#include "cmd_fixture.h"
#include "types/typetable.h"

/* --- keyspace --- */

static void test_kv_basics(void **state)
{
    struct fx *f = *state;
    assert_int_equal(kv_set(&f->kv, "a", 1, "1", 1, KV_NO_EXPIRE, f->now), 1);
    assert_int_equal(kv_set(&f->kv, "a", 1, "22", 2, KV_NO_EXPIRE, f->now), 0);
    assert_int_equal(kv_size(&f->kv), 1);
    struct kv_val *v = kv_lookup_read(&f->kv, "a", 1, f->now);
    assert_non_null(v);
    assert_int_equal(v->len, 2);
    assert_memory_equal(v->data, "22", 2);
    assert_null(kv_lookup_read(&f->kv, "b", 1, f->now));
    assert_int_equal(f->kvc.keyspace_hits, 1);
    assert_int_equal(f->kvc.keyspace_misses, 1);
    assert_int_equal(kv_exists(&f->kv, "a", 1, f->now), 1);
    assert_int_equal(f->kvc.keyspace_hits, 1); /* kv_exists counts nothing */
    /* binary keys and values, including NUL bytes */
    assert_int_equal(kv_set(&f->kv, "x\0y", 3, "\0\1", 2, KV_NO_EXPIRE, f->now), 1);
    assert_null(kv_lookup_read(&f->kv, "x", 1, f->now));
    v = kv_lookup_read(&f->kv, "x\0y", 3, f->now);
    assert_non_null(v);
    assert_memory_equal(v->data, "\0\1", 2);
    assert_int_equal(kv_delete(&f->kv, "a", 1, f->now), 1);
    assert_int_equal(kv_delete(&f->kv, "a", 1, f->now), 0);
    assert_int_equal(kv_size(&f->kv), 1);
    kv_reset_stats(&f->kvc);
    assert_int_equal(f->kvc.keyspace_hits, 0);
}

/* An overwrite takes the room a fresh value of its size would take: a key
 * overwritten with shorter values does not keep its largest block (the
 * overwrite case of make bench-memory), and one overwritten with a value of
 * the same size class keeps its block. */
static void test_kv_overwrite_fits_value(void **state)
{
    struct fx *f = *state;
    static char big[100], small[60];
    memset(big, 'b', sizeof big);
    memset(small, 's', sizeof small);
    kv_set(&f->kv, "k", 1, big, sizeof big, KV_NO_EXPIRE, f->now);
    struct kv_val *v = kv_lookup_read(&f->kv, "k", 1, f->now);
    size_t fresh_small = alloc_size_class(sizeof *v + sizeof small);
    assert_true(malloc_usable_size(v) > fresh_small);
    kv_set(&f->kv, "k", 1, small, sizeof small, KV_NO_EXPIRE, f->now);
    v = kv_lookup_read(&f->kv, "k", 1, f->now);
    assert_int_equal(v->len, sizeof small);
    assert_memory_equal(v->data, small, sizeof small);
    assert_true(malloc_usable_size(v) <= fresh_small);
    /* Same size again: a fresh block would be no smaller, this one stays. */
    if (malloc_usable_size(v) == fresh_small) {
        small[0] = 'x';
        kv_set(&f->kv, "k", 1, small, sizeof small, KV_NO_EXPIRE, f->now);
        assert_ptr_equal(kv_lookup_read(&f->kv, "k", 1, f->now), v);
        assert_int_equal(v->data[0], 'x');
    }
}

static void test_kv_many_keys(void **state)
{
    struct fx *f = *state;
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key:%d", i);
        kv_set(&f->kv, key, (size_t)n, key, (size_t)n, i % 2 ? f->now + 1000 + i : KV_NO_EXPIRE,
               f->now);
    }
    assert_int_equal(kv_size(&f->kv), 5000);
    assert_int_equal(kv_volatile_count(&f->kv), 2500);
    for (int i = 0; i < 5000; i += 2) {
        int n = snprintf(key, sizeof key, "key:%d", i + 1);
        assert_int_equal(kv_delete(&f->kv, key, (size_t)n, f->now), 1);
        kv_cron(&f->kv);
    }
    assert_int_equal(kv_volatile_count(&f->kv), 0);
    for (int i = 0; i < 5000; i += 2) {
        int n = snprintf(key, sizeof key, "key:%d", i);
        struct kv_val *v = kv_lookup_read(&f->kv, key, (size_t)n, f->now);
        assert_non_null(v);
        assert_memory_equal(v->data, key, (size_t)n);
    }
}

static void test_kv_lazy_expiry(void **state)
{
    struct fx *f = *state;
    kv_set(&f->kv, "k", 1, "v", 1, f->now + 100, f->now);
    assert_int_equal(kv_volatile_count(&f->kv), 1);
    assert_non_null(kv_lookup_read(&f->kv, "k", 1, f->now + 99));
    /* a read hides an expired key and leaves it in place */
    assert_null(kv_lookup_read(&f->kv, "k", 1, f->now + 100));
    assert_int_equal(kv_size(&f->kv), 1);
    assert_int_equal(kv_physically_exists(&f->kv, "k", 1), 1);
    assert_int_equal(kv_exists(&f->kv, "k", 1, f->now + 100), 0);
    assert_int_equal(f->kvc.expired_keys, 0);
    /* a write lookup deletes it */
    f->mods = 0;
    assert_null(kv_lookup_write(&f->kv, "k", 1, f->now + 100, 0));
    assert_int_equal(kv_size(&f->kv), 0);
    assert_int_equal(kv_volatile_count(&f->kv), 0);
    assert_int_equal(f->kvc.expired_keys, 1);
    assert_int_equal(f->mods, 1);
    /* kv_set over an expired key: created anew, TTL not kept */
    kv_set(&f->kv, "k", 1, "v", 1, f->now + 100, f->now);
    assert_int_equal(kv_set(&f->kv, "k", 1, "w", 1, KV_KEEP_TTL, f->now + 200), 1);
    assert_int_equal(kv_lookup_read(&f->kv, "k", 1, f->now + 300)->expire_ms, KV_NO_EXPIRE);
    assert_int_equal(kv_volatile_count(&f->kv), 0);
    assert_int_equal(f->kvc.expired_keys, 2);
}

static void test_kv_delete_if_expired(void **state)
{
    struct fx *f = *state;
    kv_set(&f->kv, "k", 1, "v", 1, f->now + 100, f->now);
    kv_set(&f->kv, "p", 1, "v", 1, KV_NO_EXPIRE, f->now);
    assert_int_equal(kv_delete_if_expired(&f->kv, "k", 1, f->now + 99), 0);
    assert_int_equal(kv_delete_if_expired(&f->kv, "p", 1, f->now + 1000), 0);
    assert_int_equal(kv_delete_if_expired(&f->kv, "none", 4, f->now + 1000), 0);
    assert_int_equal(kv_delete_if_expired(&f->kv, "k", 1, f->now + 100), 1);
    assert_int_equal(kv_size(&f->kv), 1);
    assert_int_equal(f->kvc.expired_keys, 1);
    assert_string_equal(f->last_mod, "k");
}

struct found {
    int calls;
    int hit[1000];
};

static void collect(void *ud, const char *key, size_t len)
{
    struct found *fo = ud;
    char buf[16];
    snprintf(buf, sizeof buf, "%.*s", (int)len, key);
    fo->calls++;
    fo->hit[atoi(buf + 1)]++;
}

static void test_kv_expired_sample(void **state)
{
    struct fx *f = *state;
    char key[16];
    struct found fo = {0};
    assert_int_equal(kv_expired_sample(&f->kv, f->now, 20, collect, &fo), 0);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        int64_t exp = i % 3 == 0 ? KV_NO_EXPIRE : i % 3 == 1 ? f->now + 10 : f->now + 100000;
        kv_set(&f->kv, key, (size_t)n, "v", 1, exp, f->now);
    }
    size_t examined = 0;
    int calls = 0;
    while (examined < kv_volatile_count(&f->kv) && calls++ < 10000) {
        int before = fo.calls;
        examined += kv_expired_sample(&f->kv, f->now + 10, 20, collect, &fo);
        assert_true(fo.calls - before <= 20);
    }
    /* one full pass reports exactly the expired keys, none twice */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fo.hit[i], i % 3 == 1);
    assert_int_equal(kv_size(&f->kv), 1000); /* the sampler deletes nothing */
}

static void test_kv_hooks(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET a 1", "+OK\r\n");
    assert_int_equal(f->mods, 1);
    EXPECT(f, "INCR a", ":2\r\n");
    assert_int_equal(f->mods, 2);
    EXPECT(f, "EXPIRE a 100", ":1\r\n");
    assert_int_equal(f->mods, 3);
    EXPECT(f, "PERSIST a", ":1\r\n");
    assert_int_equal(f->mods, 4);
    EXPECT(f, "PERSIST a", ":0\r\n");
    assert_int_equal(f->mods, 4);
    EXPECT(f, "RENAME a b", "+OK\r\n");
    assert_int_equal(f->mods, 6);
    assert_string_equal(f->last_mod, "b");
    EXPECT(f, "GET b", "$1\r\n2\r\n");
    assert_int_equal(f->mods, 6); /* reads change nothing */
    EXPECT(f, "DEL b", ":1\r\n");
    assert_int_equal(f->mods, 7);
    EXPECT(f, "FLUSHALL", "+OK\r\n");
    assert_int_equal(f->flushes, 1);
}

/* --- SET family --- */

static void test_set_options(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET k v", "+OK\r\n");
    EXPECT(f, "SET k v foo", "-ERR syntax error\r\n");
    EXPECT(f, "SET k v NX XX", "-ERR syntax error\r\n");
    EXPECT(f, "SET k v EX 10 PX 100", "-ERR syntax error\r\n");
    EXPECT(f, "SET k v EX 10 KEEPTTL", "-ERR syntax error\r\n");
    EXPECT(f, "SET k v KEEPTTL PXAT 1", "-ERR syntax error\r\n");
    EXPECT(f, "SET k v EX", "-ERR syntax error\r\n");
    EXPECT(f, "SET k v PERSIST", "-ERR syntax error\r\n");
    EXPECT(f, "SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n");
    EXPECT(f, "SET k v PX -5", "-ERR invalid expire time in 'set' command\r\n");
    EXPECT(f, "SET k v EX 9223372036854776", "-ERR invalid expire time in 'set' command\r\n");
    EXPECT(f, "SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n");
    EXPECT(f, "SET k v EX ten", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SETEX k 0 v", "-ERR invalid expire time in 'setex' command\r\n");
    EXPECT(f, "PSETEX k -1 v", "-ERR invalid expire time in 'psetex' command\r\n");
    /* a repeated option is fine; the last expire wins */
    EXPECT(f, "SET k2 v EX 10 EX 20 NX NX", "+OK\r\n");
    EXPECT(f, "SET k v EX 10 EX 20", "+OK\r\n");
    EXPECT(f, "PTTL k", ":20000\r\n");
    EXPECT(f, "SET k w KEEPTTL", "+OK\r\n");
    EXPECT(f, "PTTL k", ":20000\r\n");
    EXPECT(f, "SET k w", "+OK\r\n");
    EXPECT(f, "TTL k", ":-1\r\n");
    EXPECT(f, "SET k v px 1500 xx", "+OK\r\n");
    EXPECT(f, "TTL k", ":2\r\n"); /* rounded */
    EXPECT(f, "SET k v EXAT 1700000010", "+OK\r\n");
    EXPECT(f, "PTTL k", ":10000\r\n");
}

static void test_set_nx_xx_get(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET k 1 XX", "$-1\r\n");
    EXPECT(f, "SET k 1 NX", "+OK\r\n");
    EXPECT(f, "SET k 2 NX", "$-1\r\n");
    EXPECT(f, "SET k 2 NX GET", "$1\r\n1\r\n");
    EXPECT(f, "GET k", "$1\r\n1\r\n");
    EXPECT(f, "SET k 3 GET", "$1\r\n1\r\n");
    EXPECT(f, "SET n 3 GET", "$-1\r\n");
    EXPECT(f, "SET m 3 XX GET", "$-1\r\n");
    EXPECT(f, "EXISTS m", ":0\r\n");
    EXPECT(f, "SETNX k 9", ":0\r\n");
    EXPECT(f, "SETNX j 9", ":1\r\n");
    EXPECT(f, "GETSET j 10", "$1\r\n9\r\n");
    EXPECT(f, "GETSET nope 10", "$-1\r\n");
    EXPECT(f, "SET k v", "+OK\r\n");
    EXPECT(f, "SET empty \"\"", "+OK\r\n");
    EXPECT(f, "GET empty", "$0\r\n\r\n");
}

static void test_setnx_expired(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET x 10 PX 100", "+OK\r\n");
    f->now += 100;
    EXPECT(f, "GET x", "$-1\r\n");
    EXPECT(f, "SETNX x 20", ":1\r\n");
    EXPECT(f, "GET x", "$2\r\n20\r\n");
    EXPECT(f, "TTL x", ":-1\r\n");
    assert_int_equal(f->kvc.expired_keys, 1);
}

static void test_getex_getdel(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "GETEX k bad", "-ERR syntax error\r\n");
    EXPECT(f, "GETEX k EX -1", "$-1\r\n"); /* no key: null before checking the time */
    EXPECT(f, "SET k v", "+OK\r\n");
    EXPECT(f, "GETEX k EX -1", "-ERR invalid expire time in 'getex' command\r\n");
    EXPECT(f, "GETEX k EX 10 PERSIST", "-ERR syntax error\r\n");
    EXPECT(f, "GETEX k KEEPTTL", "-ERR syntax error\r\n");
    EXPECT(f, "GETEX k EX 10", "$1\r\nv\r\n");
    EXPECT(f, "TTL k", ":10\r\n");
    EXPECT(f, "GETEX k", "$1\r\nv\r\n");
    EXPECT(f, "TTL k", ":10\r\n");
    EXPECT(f, "GETEX k PERSIST", "$1\r\nv\r\n");
    EXPECT(f, "TTL k", ":-1\r\n");
    EXPECT(f, "GETEX k PXAT 1700000000000", "$1\r\nv\r\n"); /* the past: deleted */
    EXPECT(f, "EXISTS k", ":0\r\n");
    EXPECT(f, "SET k v", "+OK\r\n");
    EXPECT(f, "GETDEL k", "$1\r\nv\r\n");
    EXPECT(f, "GETDEL k", "$-1\r\n");
}

static void test_mget_mset(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "MSET a 1 b 2", "+OK\r\n");
    EXPECT(f, "MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n");
    EXPECT(f, "MSETNX a 1 b", "-ERR wrong number of arguments for 'msetnx' command\r\n");
    EXPECT(f, "MGET a nope b", "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
    EXPECT(f, "MSETNX c 3 a 9", ":0\r\n");
    EXPECT(f, "EXISTS c", ":0\r\n");
    EXPECT(f, "MSETNX c 3 c 4", ":1\r\n");
    EXPECT(f, "GET c", "$1\r\n4\r\n");
    EXPECT(f, "SET t v EX 100", "+OK\r\n");
    EXPECT(f, "MSET t w", "+OK\r\n");
    EXPECT(f, "TTL t", ":-1\r\n");
}

/* --- counters --- */

static void test_incr(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "INCR n", ":1\r\n");
    EXPECT(f, "INCRBY n 10", ":11\r\n");
    EXPECT(f, "DECR n", ":10\r\n");
    EXPECT(f, "DECRBY n 20", ":-10\r\n");
    EXPECT(f, "GET n", "$3\r\n-10\r\n");
    EXPECT(f, "INCRBY n x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "INCRBY n 1.5", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SET n 9223372036854775807", "+OK\r\n");
    EXPECT(f, "INCR n", "-ERR increment or decrement would overflow\r\n");
    EXPECT(f, "SET n -9223372036854775808", "+OK\r\n");
    EXPECT(f, "DECR n", "-ERR increment or decrement would overflow\r\n");
    EXPECT(f, "SET n 0", "+OK\r\n");
    EXPECT(f, "DECRBY n -9223372036854775808", "-ERR decrement would overflow\r\n");
    EXPECT(f, "SET n \" 11\"", "+OK\r\n");
    EXPECT(f, "INCR n", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SET n 012", "+OK\r\n");
    EXPECT(f, "INCR n", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SET n 5 EX 100", "+OK\r\n");
    EXPECT(f, "INCR n", ":6\r\n");
    EXPECT(f, "TTL n", ":100\r\n"); /* INCR keeps the TTL */
}

/* 1 if long double arithmetic really has more precision than double. Under
 * valgrind it does not (it emulates x87 at 64 bits): results such as
 * 10.5 + 0.1 then print with all their binary error, and strtold("+inf")
 * returns a finite value; Redis's own suite skips such checks there too. */
static int long_double_is_extended(void)
{
    volatile long double one = 1.0L, tiny = 1e-18L;
    return one + tiny != one;
}

static void test_incrbyfloat(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET f 10.5", "+OK\r\n");
    EXPECT(f, "INCRBYFLOAT f 0.25", "$5\r\n10.75\r\n");
    EXPECT(f, "INCRBYFLOAT f -0.75", "$2\r\n10\r\n");
    EXPECT(f, "INCRBYFLOAT f 5.0e3", "$4\r\n5010\r\n");
    EXPECT(f, "INCRBYFLOAT new 1", "$1\r\n1\r\n");
    EXPECT(f, "INCRBYFLOAT new abc", "-ERR value is not a valid float\r\n");
    EXPECT(f, "SET s \" 11\"", "+OK\r\n");
    EXPECT(f, "INCRBYFLOAT s 1", "-ERR value is not a valid float\r\n");
    EXPECT(f, "SET z 17179869184", "+OK\r\n");
    EXPECT(f, "INCRBYFLOAT z 1.5", "$13\r\n17179869185.5\r\n");
    EXPECT(f, "SET t 3 EX 100", "+OK\r\n");
    EXPECT(f, "INCRBYFLOAT t 1.5", "$3\r\n4.5\r\n");
    EXPECT(f, "TTL t", ":100\r\n"); /* the TTL is kept */
    if (!long_double_is_extended()) {
        print_message("long double is not extended here: skipping rounding checks\n");
        return;
    }
    EXPECT(f, "SET f 10.5", "+OK\r\n");
    EXPECT(f, "INCRBYFLOAT f 0.1", "$4\r\n10.6\r\n");
    EXPECT(f, "INCRBYFLOAT new +inf", "-ERR increment would produce NaN or Infinity\r\n");
    EXPECT(f, "SET z 1", "+OK\r\n");
    EXPECT(f, "INCRBYFLOAT z -1.1", "$4\r\n-0.1\r\n");
}

/* --- byte ranges --- */

static void test_append_strlen(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "APPEND s \"\"", ":0\r\n");
    EXPECT(f, "EXISTS s", ":1\r\n");
    EXPECT(f, "APPEND s foo", ":3\r\n");
    for (int i = 0; i < 200; i++)
        run(f, "APPEND s bar");
    EXPECT(f, "STRLEN s", ":603\r\n");
    EXPECT(f, "STRLEN nope", ":0\r\n");
    EXPECT(f, "GETRANGE s 0 8", "$9\r\nfoobarbar\r\n");
    f->kvc.max_value_len = 605;
    EXPECT(f, "APPEND s ab", ":605\r\n");
    EXPECT(f, "APPEND s c", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
}

static void test_getrange(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "GETRANGE k 0 -1", "$0\r\n\r\n");
    EXPECT(f, "SET k \"Hello World\"", "+OK\r\n");
    EXPECT(f, "GETRANGE k 0 3", "$4\r\nHell\r\n");
    EXPECT(f, "GETRANGE k 0 -1", "$11\r\nHello World\r\n");
    EXPECT(f, "GETRANGE k -4 -1", "$4\r\norld\r\n");
    EXPECT(f, "GETRANGE k 5 3", "$0\r\n\r\n");
    EXPECT(f, "GETRANGE k 5 5000", "$6\r\n World\r\n");
    EXPECT(f, "GETRANGE k -5000 10000", "$11\r\nHello World\r\n");
    EXPECT(f, "GETRANGE k 0 -100", "$1\r\nH\r\n");
    EXPECT(f, "GETRANGE k 1 -100", "$0\r\n\r\n");
    EXPECT(f, "GETRANGE k -1 -100", "$0\r\n\r\n");
    EXPECT(f, "GETRANGE k -100 -99", "$1\r\nH\r\n");
    EXPECT(f, "GETRANGE k -100 -101", "$0\r\n\r\n");
    EXPECT(f, "GETRANGE k 0 4294967297", "$11\r\nHello World\r\n");
    EXPECT(f, "GETRANGE k a 1", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SUBSTR k -4 -1", "$4\r\norld\r\n");
    EXPECT(f, "SET e \"\"", "+OK\r\n");
    EXPECT(f, "GETRANGE e 0 -1", "$0\r\n\r\n");
}

static void test_setrange(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SETRANGE k 0 \"\"", ":0\r\n");
    EXPECT(f, "EXISTS k", ":0\r\n");
    EXPECT(f, "SETRANGE k 1 foo", ":4\r\n");
    assert_memory_equal(run(f, "GET k"), "$4\r\n\0foo\r\n", 10);
    EXPECT(f, "SET k foo", "+OK\r\n");
    EXPECT(f, "SETRANGE k 0 \"\"", ":3\r\n");
    EXPECT(f, "SETRANGE k 1 b", ":3\r\n");
    EXPECT(f, "GET k", "$3\r\nfbo\r\n");
    EXPECT(f, "SETRANGE k 4 bar", ":7\r\n");
    assert_memory_equal(run(f, "GET k"), "$7\r\nfbo\0bar\r\n", 13);
    EXPECT(f, "SETRANGE k -1 x", "-ERR offset is out of range\r\n");
    EXPECT(f, "SETRANGE k x x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SETRANGE k 536870908 world",
           "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    EXPECT(f, "SETRANGE n 536870908 world",
           "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    EXPECT(f, "SETRANGE n 9223372036854775807 A",
           "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    EXPECT(f, "SET t v EX 50", "+OK\r\n");
    EXPECT(f, "SETRANGE t 0 w", ":1\r\n");
    EXPECT(f, "TTL t", ":50\r\n");
}

static void test_lcs(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "MSET a ohmytext b mynewtext", "+OK\r\n");
    EXPECT(f, "LCS a b", "$6\r\nmytext\r\n");
    EXPECT(f, "LCS a b LEN", ":6\r\n");
    EXPECT(f, "LCS a b IDX",
           "*4\r\n$7\r\nmatches\r\n*2\r\n"
           "*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
           "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
           "$3\r\nlen\r\n:6\r\n");
    EXPECT(f, "LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN",
           "*4\r\n$7\r\nmatches\r\n*1\r\n"
           "*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
           "$3\r\nlen\r\n:6\r\n");
    EXPECT(f, "LCS a b IDX LEN",
           "-ERR If you want both the length and indexes, please just use IDX.\r\n");
    EXPECT(f, "LCS a b FOO", "-ERR syntax error\r\n");
    EXPECT(f, "LCS a b MINMATCHLEN x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "LCS a nope", "$0\r\n\r\n");
    EXPECT(f, "LCS nope nope2 IDX", "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
    f->kvc.max_value_len = 360; /* the DP table: (8 + 1) * (9 + 1) cells of 4 bytes */
    EXPECT(f, "LCS a b LEN", ":6\r\n");
    f->kvc.max_value_len = 359;
    EXPECT(f, "LCS a b LEN",
           "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n");
}

/* --- keyspace commands --- */

static void test_del_exists_type(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "MSET a 1 b 2", "+OK\r\n");
    EXPECT(f, "EXISTS a a b c", ":3\r\n");
    EXPECT(f, "TOUCH a c", ":1\r\n");
    EXPECT(f, "TYPE a", "+string\r\n");
    EXPECT(f, "TYPE c", "+none\r\n");
    EXPECT(f, "DEL a a c", ":1\r\n");
    EXPECT(f, "UNLINK b", ":1\r\n");
    EXPECT(f, "DBSIZE", ":0\r\n");
    EXPECT(f, "SET e v PX 10", "+OK\r\n");
    f->now += 10;
    EXPECT(f, "DBSIZE", ":1\r\n"); /* not deleted by the read */
    EXPECT(f, "DEL e", ":0\r\n");
    EXPECT(f, "DBSIZE", ":0\r\n");
    EXPECT(f, "FLUSHDB ASYNC", "+OK\r\n");
    EXPECT(f, "FLUSHALL sync", "+OK\r\n");
    EXPECT(f, "FLUSHALL foo", "-ERR syntax error\r\n");
    EXPECT(f, "FLUSHDB SYNC SYNC", "-ERR syntax error\r\n");
}

static void test_keys(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "KEYS *", "*0\r\n");
    EXPECT(f, "MSET foo 1 fob 2 bar 3", "+OK\r\n");
    EXPECT(f, "SET fox 4 PX 5", "+OK\r\n");
    f->now += 5;
    EXPECT(f, "KEYS bar", "*1\r\n$3\r\nbar\r\n");
    const char *r = run(f, "KEYS fo?");
    assert_int_equal(strncmp(r, "*2\r\n", 4), 0);
    assert_non_null(strstr(r, "$3\r\nfoo\r\n"));
    assert_non_null(strstr(r, "$3\r\nfob\r\n"));
    r = run(f, "KEYS *");
    assert_int_equal(strncmp(r, "*3\r\n", 4), 0);
    EXPECT(f, "KEYS x*", "*0\r\n");
}

static void test_scan(void **state)
{
    struct fx *f = *state;
    char line[64];
    EXPECT(f, "SCAN 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT(f, "SCAN x", "-ERR invalid cursor\r\n");
    EXPECT(f, "SCAN \" 1\"", "-ERR invalid cursor\r\n");
    EXPECT(f, "SCAN 18446744073709551616", "-ERR invalid cursor\r\n");
    EXPECT(f, "SCAN 0 COUNT 0", "-ERR syntax error\r\n");
    EXPECT(f, "SCAN 0 COUNT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "SCAN 0 MATCH", "-ERR syntax error\r\n");
    EXPECT(f, "SCAN 0 FOO bar", "-ERR syntax error\r\n");
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof line, "SET key:%d %d", i, i);
        run(f, line);
    }
    EXPECT(f, "SET key:gone v PX 1", "+OK\r\n");
    f->now += 1;
    /* a full iteration returns every live key at least once */
    int seen[300] = {0};
    unsigned long long cursor = 0;
    int calls = 0;
    do {
        snprintf(line, sizeof line, "SCAN %llu COUNT 7 MATCH key:*", cursor);
        const char *r = run(f, line);
        assert_int_equal(strncmp(r, "*2\r\n$", 5), 0);
        const char *p = strchr(r + 5, '\n') + 1;
        cursor = strtoull(p, NULL, 10);
        for (p = strstr(p, "key:"); p; p = strstr(p + 1, "key:")) {
            assert_int_not_equal(strncmp(p, "key:gone", 8), 0);
            seen[atoi(p + 4)]++;
        }
    } while (cursor != 0 && ++calls < 10000);
    for (int i = 0; i < 300; i++)
        assert_true(seen[i] >= 1);
    const char *r = run(f, "SCAN 0 COUNT 1000 TYPE string MATCH key:1?");
    assert_int_equal(strncmp(r, "*2\r\n$1\r\n0\r\n*10\r\n", 16), 0);
    EXPECT(f, "SCAN 0 COUNT 1000 TYPE list", "*2\r\n$1\r\n0\r\n*0\r\n");
}

static void test_rename(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "RENAME a b", "-ERR no such key\r\n");
    EXPECT(f, "RENAME a a", "-ERR no such key\r\n");
    EXPECT(f, "RENAMENX a b", "-ERR no such key\r\n");
    EXPECT(f, "SET a 1 EX 100", "+OK\r\n");
    EXPECT(f, "RENAME a a", "+OK\r\n");
    EXPECT(f, "RENAMENX a a", ":0\r\n");
    EXPECT(f, "RENAME a b", "+OK\r\n");
    EXPECT(f, "EXISTS a", ":0\r\n");
    EXPECT(f, "TTL b", ":100\r\n");
    EXPECT(f, "SET c 3", "+OK\r\n");
    EXPECT(f, "RENAMENX b c", ":0\r\n");
    EXPECT(f, "RENAME b c", "+OK\r\n");
    EXPECT(f, "GET c", "$1\r\n1\r\n");
    EXPECT(f, "TTL c", ":100\r\n");
    EXPECT(f, "RENAMENX c d", ":1\r\n");
    assert_int_equal(kv_volatile_count(&f->kv), 1);
    assert_int_equal(kv_size(&f->kv), 1);
}

static void test_randomkey(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "RANDOMKEY", "$-1\r\n");
    EXPECT(f, "SET a 1", "+OK\r\n");
    EXPECT(f, "RANDOMKEY", "$1\r\na\r\n");
    EXPECT(f, "DEL a", ":1\r\n");
    char line[64];
    for (int i = 0; i < 500; i++) {
        snprintf(line, sizeof line, "SET k%d v PX 10", i);
        run(f, line);
    }
    f->now += 10;
    EXPECT(f, "RANDOMKEY", "$-1\r\n"); /* all expired: no key, and no endless loop */
    EXPECT(f, "SET live 1", "+OK\r\n");
    EXPECT(f, "RANDOMKEY", "$4\r\nlive\r\n");
}

static void test_copy(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "COPY a b", ":0\r\n");
    EXPECT(f, "SET a 1 EX 100", "+OK\r\n");
    EXPECT(f, "COPY a a", "-ERR source and destination objects are the same\r\n");
    EXPECT(f, "COPY a b DB 1", "-ERR DB index is out of range\r\n");
    EXPECT(f, "COPY a b DB x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "COPY a b FOO", "-ERR syntax error\r\n");
    EXPECT(f, "COPY a b DB 0", ":1\r\n");
    EXPECT(f, "TTL b", ":100\r\n");
    EXPECT(f, "SET a 2", "+OK\r\n");
    EXPECT(f, "COPY a b", ":0\r\n");
    EXPECT(f, "COPY a b REPLACE", ":1\r\n");
    EXPECT(f, "GET b", "$1\r\n2\r\n");
    EXPECT(f, "TTL b", ":-1\r\n");
}

/* --- expiry commands --- */

static void test_expire_flags(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "EXPIRE k 10", ":0\r\n");
    EXPECT(f, "SET k v", "+OK\r\n");
    EXPECT(f, "EXPIRE k 10 FOO", "-ERR Unsupported option FOO\r\n");
    EXPECT(f, "EXPIRE k 10 NX XX",
           "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    EXPECT(f, "EXPIRE k 10 GT LT",
           "-ERR GT and LT options at the same time are not compatible\r\n");
    EXPECT(f, "EXPIRE k ten", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "EXPIRE k 9223372036854776", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(f, "PEXPIRE k 9223372036854775807", "-ERR invalid expire time in 'pexpire' command\r\n");
    EXPECT(f, "EXPIREAT k 9223372036854776", "-ERR invalid expire time in 'expireat' command\r\n");
    EXPECT(f, "EXPIRE k 10 XX", ":0\r\n");
    EXPECT(f, "EXPIRE k 10 GT", ":0\r\n");
    EXPECT(f, "EXPIRE k 10 LT", ":1\r\n");
    EXPECT(f, "EXPIRE k 20 NX", ":0\r\n");
    EXPECT(f, "EXPIRE k 20 LT", ":0\r\n");
    EXPECT(f, "EXPIRE k 20 GT", ":1\r\n");
    EXPECT(f, "EXPIRE k 30 xx", ":1\r\n");
    EXPECT(f, "TTL k", ":30\r\n");
    EXPECT(f, "PEXPIRE k 1500", ":1\r\n");
    EXPECT(f, "PTTL k", ":1500\r\n");
    EXPECT(f, "EXPIRETIME k", ":1700000002\r\n");
    EXPECT(f, "PEXPIRETIME k", ":1700000001500\r\n");
    EXPECT(f, "PEXPIREAT k 1700000005000", ":1\r\n");
    EXPECT(f, "EXPIREAT k 1700000006", ":1\r\n");
    EXPECT(f, "PTTL k", ":6000\r\n");
    /* a time in the past deletes the key and replies 1 */
    EXPECT(f, "EXPIRE k -1", ":1\r\n");
    EXPECT(f, "EXISTS k", ":0\r\n");
    EXPECT(f, "SET k v", "+OK\r\n");
    EXPECT(f, "EXPIRE k 0", ":1\r\n");
    EXPECT(f, "EXISTS k", ":0\r\n");
}

static void test_ttl_persist(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "TTL k", ":-2\r\n");
    EXPECT(f, "PTTL k", ":-2\r\n");
    EXPECT(f, "EXPIRETIME k", ":-2\r\n");
    EXPECT(f, "SET k v", "+OK\r\n");
    EXPECT(f, "TTL k", ":-1\r\n");
    EXPECT(f, "PEXPIRETIME k", ":-1\r\n");
    EXPECT(f, "PERSIST k", ":0\r\n");
    EXPECT(f, "PERSIST nope", ":0\r\n");
    EXPECT(f, "PEXPIRE k 100", ":1\r\n");
    f->now += 60;
    EXPECT(f, "PTTL k", ":40\r\n");
    EXPECT(f, "TTL k", ":0\r\n");
    EXPECT(f, "PERSIST k", ":1\r\n");
    EXPECT(f, "TTL k", ":-1\r\n");
    EXPECT(f, "PEXPIRE k 100", ":1\r\n");
    f->now += 100;
    EXPECT(f, "TTL k", ":-2\r\n");
    EXPECT(f, "PERSIST k", ":0\r\n"); /* the write lookup deletes it */
    assert_int_equal(kv_size(&f->kv), 0);
}

/* --- TTL rewrite --- */

/* Rewrites line at f->now; returns the joined result, or "" if unchanged. */
static const char *rewrite(struct fx *f, const char *line, char *buf, size_t cap)
{
    struct resp_arg argv[ARGS_MAX], out[ARGS_MAX + 2];
    char scratch[64];
    int argc = split(f, line, argv);
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    int n = 0;
    if (cmd && cmd->rewrite && cmd_arity_ok(cmd, argc))
        n = cmd->rewrite(argc, argv, f->now, out, scratch, sizeof scratch);
    assert_true(n <= argc + 2);
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", i ? " " : "", (int)out[i].len,
                                out[i].ptr);
    return buf;
}

static void test_ttl_absolute(void **state)
{
    struct fx *f = *state;
    char b[256];
    assert_string_equal(rewrite(f, "SET k v EX 10", b, sizeof b), "SET k v PXAT 1700000010000");
    assert_string_equal(rewrite(f, "set k v px 5 GET NX", b, sizeof b),
                        "set k v GET NX PXAT 1700000000005");
    assert_string_equal(rewrite(f, "SET k v EX 1 EX 2", b, sizeof b), "SET k v PXAT 1700000002000");
    assert_string_equal(rewrite(f, "SET ex ex EX 1", b, sizeof b), "SET ex ex PXAT 1700000001000");
    assert_string_equal(rewrite(f, "SETEX k 10 v", b, sizeof b), "SET k v PXAT 1700000010000");
    assert_string_equal(rewrite(f, "PSETEX k 10 v", b, sizeof b), "SET k v PXAT 1700000000010");
    assert_string_equal(rewrite(f, "GETEX k EX 3", b, sizeof b), "GETEX k PXAT 1700000003000");
    assert_string_equal(rewrite(f, "EXPIRE k 10 NX", b, sizeof b), "PEXPIREAT k 1700000010000 NX");
    assert_string_equal(rewrite(f, "PEXPIRE k -10", b, sizeof b), "PEXPIREAT k 1699999999990");
    /* unchanged: already absolute, no TTL, or invalid (the apply replies the error) */
    const char *same[] = {
        "SET k v",         "SET k v EXAT 5",           "SET k v PXAT 5", "SET k v EX 0",
        "SET k v EX x",    "SET k v EX 1 PX 1",        "SETEX k 0 v",    "GETEX k",
        "GETEX k PERSIST", "EXPIRE k 1 NX XX",         "EXPIRE k x",     "EXPIREAT k 10",
        "GET k",           "EXPIRE k 9223372036854776"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        assert_string_equal(rewrite(f, same[i], b, sizeof b), "");
}

/* The rewritten command replies and acts exactly as the original. */
static void test_ttl_absolute_equivalent(void **state)
{
    struct fx *f = *state;
    const char *cmds[] = {"SET k v EX 10 GET", "SETEX k 7 v",  "PSETEX k 700 v", "GETEX k EX 3",
                          "EXPIRE k 50 GT",    "PEXPIRE k -1", "SET k v PX 5 XX"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char orig[256], rew[256], b[256];
        run(f, "SET k old EX 20");
        snprintf(orig, sizeof orig, "%s", run(f, cmds[i]));
        snprintf(b, sizeof b, "%s", run(f, "PTTL k"));
        run(f, "SET k old EX 20");
        rewrite(f, cmds[i], rew, sizeof rew);
        assert_string_not_equal(rew, "");
        assert_string_equal(run(f, rew), orig);
        assert_string_equal(run(f, "PTTL k"), b);
    }
}

/* TYPE counts a hit but leaves the idle time alone (Redis's
 * LOOKUP_NOTOUCH); GET resets it. */
static void test_type_does_not_touch(void **state)
{
    struct fx *f = *state;
    f->kvc.lru_clock = 100;
    run(f, "SET k v");
    f->kvc.lru_clock = 130;
    uint64_t hits = f->kvc.keyspace_hits;
    assert_string_equal(run(f, "TYPE k"), "+string\r\n");
    assert_int_equal(f->kvc.keyspace_hits, hits + 1);
    assert_string_equal(run(f, "OBJECT IDLETIME k"), ":30\r\n");
    run(f, "GET k");
    assert_string_equal(run(f, "OBJECT IDLETIME k"), ":0\r\n");
}

/* Redis's LFU: a new key's counter is 5, each access adds one with
 * probability 1 / ((counter - 5) * lfu-log-factor + 1) (always with factor
 * 0), and it decays by one per lfu-decay-time minutes idle, the minute
 * clock wrapping at 2^16. */
static void test_lfu_counter(void **state)
{
    struct fx *f = *state;
    assert_string_equal(run(f, "SET k v"), "+OK\r\n");
    assert_memory_equal(run(f, "OBJECT FREQ k"), "-ERR An LFU maxmemory policy is not selected",
                        44);
    f->kvc.access = (struct kv_access){.lfu = 1, .lfu_log_factor = 0, .lfu_decay_time = 1};
    f->kvc.lfu_minutes = 65534;
    run(f, "SET n v");
    assert_string_equal(run(f, "OBJECT FREQ n"), ":5\r\n");
    for (int i = 0; i < 3; i++)
        run(f, "GET n");
    assert_string_equal(run(f, "OBJECT FREQ n"), ":8\r\n");
    f->kvc.lfu_minutes = 1; /* 3 minutes later, across the wrap */
    assert_string_equal(run(f, "OBJECT FREQ n"), ":5\r\n");
    run(f, "SET n w"); /* an overwrite keeps the history: decayed, then one access */
    assert_string_equal(run(f, "OBJECT FREQ n"), ":6\r\n");
    f->kvc.access.lfu_decay_time = 0; /* never decays */
    f->kvc.lfu_minutes = 30000;
    assert_string_equal(run(f, "OBJECT FREQ n"), ":6\r\n");
    assert_memory_equal(run(f, "OBJECT IDLETIME n"), "-ERR An LFU maxmemory policy is selected",
                        40);
    /* With a large factor, counters past 5 rarely grow. */
    f->kvc.access.lfu_log_factor = 1000000;
    for (int i = 0; i < 100; i++)
        run(f, "GET n");
    assert_string_equal(run(f, "OBJECT FREQ n"), ":6\r\n");
}

/* RESTORE's IDLETIME and FREQ: the one the policy uses sets the record
 * (an idle time across the 24-bit clock's wrap too); the other is ignored. */
static void test_set_access(void **state)
{
    struct fx *f = *state;
    f->kvc.lru_clock = 10;
    run(f, "SET k v");
    struct kv_val *v = kv_lookup_notouch(&f->kv, "k", 1, f->now);
    kv_val_set_access(&f->kv, v, 1000, -1);
    assert_int_equal(kv_idle_seconds(&f->kv, v), 1000);
    kv_val_set_access(&f->kv, v, -1, 7); /* FREQ under an LRU policy: nothing */
    assert_int_equal(kv_idle_seconds(&f->kv, v), 1000);
    f->kvc.access = (struct kv_access){.lfu = 1, .lfu_log_factor = 10, .lfu_decay_time = 1};
    kv_val_set_access(&f->kv, v, 50, 200);
    assert_int_equal(kv_lfu_counter(&f->kv, v), 200);
    f->kvc.lfu_minutes += 3;
    assert_int_equal(kv_lfu_counter(&f->kv, v), 197);
    kv_val_set_access(&f->kv, v, 50, -1); /* IDLETIME under LFU: nothing */
    assert_int_equal(kv_lfu_counter(&f->kv, v), 197);
}

/* The apply side of an eviction entry: volatile_only spares a key that
 * lost its TTL; a deletion counts evicted_keys and fires the modify hook. */
static void test_kv_evict(void **state)
{
    struct fx *f = *state;
    run(f, "SET p v");
    run(f, "SET t v PX 100000");
    assert_int_equal(kv_evict(&f->kv, "p", 1, 1, 0), 0);
    assert_int_equal(kv_evict(&f->kv, "t", 1, 1, 0), 1);
    assert_int_equal(kv_evict(&f->kv, "t", 1, 0, 0), 0); /* gone already */
    assert_int_equal(kv_evict(&f->kv, "p", 1, 0, 0), 1);
    assert_int_equal(f->kvc.evicted_keys, 2);
    assert_int_equal(kv_size(&f->kv), 0);
    /* kv_sample draws only keys with a TTL when asked to, each key once,
     * no more than are stored. */
    run(f, "SET a v");
    run(f, "SET b v PX 100000");
    struct dict_entry *out[8];
    assert_int_equal(kv_sample(&f->kv, 1, 8, out), 1);
    assert_string_equal(out[0]->key, "b");
    assert_int_equal(kv_sample(&f->kv, 1, 1, out), 1);
    assert_string_equal(out[0]->key, "b");
    assert_int_equal(kv_sample(&f->kv, 0, 8, out), 2);
    assert_string_not_equal(out[0]->key, out[1]->key);
}

/* kv_digest: redis-server 7.0.15's DEBUG DIGEST of the same data (measured
 * there); a key kept past its expiry still counts, with its TTL marker. */
static void assert_digest(struct fx *f, const char *want)
{
    unsigned char d[DIGEST_LEN];
    char hex[DIGEST_HEX_LEN + 1];
    kv_digest(&f->kv, d);
    digest_hex(d, hex);
    assert_string_equal(hex, want);
}

static void test_kv_digest(void **state)
{
    struct fx *f = *state;
    assert_digest(f, "0000000000000000000000000000000000000000");
    kv_set(&f->kv, "s", 1, "hello", 5, KV_NO_EXPIRE, f->now);
    assert_digest(f, "a500c6b54937da22f2ac1167da1da852479c7339");
    assert_int_equal(kv_set_expire(&f->kv, "s", 1, f->now + 1), 1);
    assert_int_equal(kv_exists(&f->kv, "s", 1, f->now + 10), 0);
    assert_digest(f, "57f46986386fa1b88cf97e377a8f44776b0a340a");
    EXPECT(f, "RPUSH l a b", ":2\r\n");
    assert_digest(f, "139271e4c879a09f0ca040c73171d7f8545e317d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_kv_basics),
        T(test_kv_overwrite_fits_value),
        T(test_kv_digest),
        T(test_kv_many_keys),
        T(test_kv_lazy_expiry),
        T(test_kv_delete_if_expired),
        T(test_kv_expired_sample),
        T(test_kv_hooks),
        T(test_set_options),
        T(test_set_nx_xx_get),
        T(test_setnx_expired),
        T(test_getex_getdel),
        T(test_mget_mset),
        T(test_incr),
        T(test_incrbyfloat),
        T(test_append_strlen),
        T(test_getrange),
        T(test_setrange),
        T(test_lcs),
        T(test_del_exists_type),
        T(test_type_does_not_touch),
        T(test_lfu_counter),
        T(test_set_access),
        T(test_kv_evict),
        T(test_keys),
        T(test_scan),
        T(test_rename),
        T(test_randomkey),
        T(test_copy),
        T(test_expire_flags),
        T(test_ttl_persist),
        T(test_ttl_absolute),
        T(test_ttl_absolute_equivalent),
#undef T
    };
    cmd_table_init(type_command_groups, type_command_group_count);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
