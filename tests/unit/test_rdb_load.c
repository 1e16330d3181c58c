/*
 * tests/unit/test_rdb_load.c - RDB values read back (src/rdb/rdb_load.h):
 * every encoding rdb_put_value() writes (a value made by its commands,
 * written, read, and its content and encoding compared), redis-server
 * 7.0.15's DUMP bodies read (the bytes below), and damaged bodies refused
 * with nothing left allocated: every truncation, bits flipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_fixture.h"
#include "rdb/rdb_load.h"
#include "rdb/rdb_value.h"
#include "types/t_set.h"
#include "types/typetable.h"

#define MAX_STRING (64u << 20)

/* key's value written in RDB's encoding, read back under the fixture's
 * limits and stored as key2: the two must be the same value. */
static void round_trip(struct fx *f, const char *key, const char *key2)
{
    struct kv_val *v = kv_lookup_peek(&f->kv, key, strlen(key), T0);
    assert_non_null(v);
    struct text t = {0};
    assert_int_equal(rdb_put_value(&t, v, 1), 0);
    struct rdb_in in;
    rdb_in_init(&in, t.p, t.len, MAX_STRING);
    struct rdb_value got;
    char err[256] = "";
    if (rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err) != 0)
        fail_msg("%s: %s", key, err);
    assert_ptr_equal(in.p, in.end);
    assert_int_equal(got.type, v->type);
    if (got.type == KV_STRING) {
        kv_set(&f->kv, key2, strlen(key2), got.str, got.len, KV_NO_EXPIRE, T0);
        free(got.str);
    } else {
        kv_set_obj(&f->kv, key2, strlen(key2), got.type, got.obj, KV_NO_EXPIRE, T0);
    }
    char digest_a[64], digest_b[64], line[128];
    snprintf(line, sizeof line, "DEBUG DIGEST-VALUE %s", key);
    snprintf(digest_a, sizeof digest_a, "%s", run(f, line));
    snprintf(line, sizeof line, "DEBUG DIGEST-VALUE %s", key2);
    snprintf(digest_b, sizeof digest_b, "%s", run(f, line));
    assert_string_equal(digest_a, digest_b);
    assert_string_equal(fx_encoding(f, key), fx_encoding(f, key2));
    free(text_take(&t));
}

static void fill(struct fx *f)
{
    char line[256];
    run(f, "SET s:short bar");
    run(f, "SET s:int -123");
    run(f, "SET s:long abcabcabcabcabcabcabcabcabcabcabcabcabc");
    run(f, "RPUSH l:small a b 1 -70000 9000000000");
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, "RPUSH l:big element-%d", i);
        run(f, line);
    }
    run(f, "SADD set:int 1 2 3 -40000 1099511627776");
    run(f, "SADD set:str a b c");
    run(f, "ZADD z:lp 1 a 2.5 b inf c -3 d 1e17 e 0.1 f");
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "ZADD z:big %d.5 m%d", i, i);
        run(f, line);
        snprintf(line, sizeof line, "HSET h:big f%d v%d", i, i);
        run(f, line);
    }
    run(f, "HSET h:lp f1 -5 f2 300 f3 hello");
}

static const char *const KEYS[] = {"s:short", "s:int", "s:long", "l:small", "l:big", "set:int",
                                   "set:str", "z:lp",  "z:big",  "h:lp",    "h:big"};

static void test_round_trips(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.hash_max_listpack_entries = 128; /* h:big leaves listpack */
    fill(f);
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        char key2[64];
        snprintf(key2, sizeof key2, "%s:2", KEYS[i]);
        round_trip(f, KEYS[i], key2);
    }
    assert_string_equal(fx_encoding(f, "h:big:2"), "hashtable");
    assert_string_equal(fx_encoding(f, "z:big:2"), "skiplist");
    assert_string_equal(fx_encoding(f, "set:int:2"), "intset");
}

/* redis-server 7.0.15: SADD st 1 2 3 -40000; DUMP st (without the footer). */
static const unsigned char REDIS_INTSET[] = "\x0b\x18\x04\x00\x00\x00\x04\x00\x00\x00\xc0\x63"
                                            "\xff\xff\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00"
                                            "\x00\x00";

static void test_redis_bodies(void **state)
{
    struct fx *f = *state;
    struct rdb_in in;
    rdb_in_init(&in, REDIS_INTSET, sizeof REDIS_INTSET - 1, MAX_STRING);
    struct rdb_value v;
    char err[256] = "";
    assert_int_equal(rdb_get_value(&in, &f->kvc.limits, &v, err, sizeof err), 0);
    assert_int_equal(v.type, KV_SET);
    assert_int_equal(t_set_size(v.obj), 4);
    rdb_value_free(&v);
}

/* Every prefix and single-bit flips of each body: refused, or read as
 * some value; never a crash, a leak (ASan) or a read past the end. */
static void test_damage(void **state)
{
    struct fx *f = *state;
    fill(f);
    for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
        if (!strcmp(KEYS[k], "l:big")) continue; /* large: the others cover its code */
        struct kv_val *v = kv_lookup_peek(&f->kv, KEYS[k], strlen(KEYS[k]), T0);
        struct text t = {0};
        assert_int_equal(rdb_put_value(&t, v, 1), 0);
        unsigned char *b = malloc(t.len);
        for (size_t cut = 0; cut < t.len; cut++) {
            struct rdb_in in;
            rdb_in_init(&in, t.p, cut, MAX_STRING);
            struct rdb_value got;
            char err[256];
            if (rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err) == 0)
                rdb_value_free(&got); /* a shorter value can still be whole */
        }
        /* every byte of the first 200 (headers, lengths, the first
         * elements), then every 37th */
        for (size_t i = 0; i < t.len; i += i < 200 ? 1 : 37) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(b, t.p, t.len);
                b[i] ^= (unsigned char)(1u << bit);
                struct rdb_in in;
                rdb_in_init(&in, b, t.len, MAX_STRING);
                struct rdb_value got;
                char err[256];
                if (rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err) == 0)
                    rdb_value_free(&got);
            }
        }
        free(b);
        free(text_take(&t));
    }
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
