/*
 * tests/unit/test_t_hash.c - the hash type (src/types/t_hash.c): both encodings,
 * the conversion at each threshold, type errors, emptied hashes, copies and
 * the snapshot payload round trip.
 *
 * What a user would notice if these failed: a small hash reported with the
 * wrong OBJECT ENCODING or never converting (memory), fields lost or
 * changed across a conversion or a snapshot, an empty hash left behind by
 * HDEL, an error that still created a key.
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
#include "types/t_hash.h"
#include "cmd_fixture.h"
#include "types/typetable.h"

static void test_small_hash_is_a_listpack(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "HSET h a 1 b 2 a 3", ":2\r\n");
    EXPECT(f, "HGET h a", "$1\r\n3\r\n");
    EXPECT(f, "HLEN h", ":2\r\n");
    assert_string_equal(fx_encoding(f, "h"), "listpack");
    EXPECT(f, "HGETALL h", "*4\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(f, "HMGET h a zz b", "*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n");
    EXPECT(f, "HSETNX h a 9", ":0\r\n");
    EXPECT(f, "HSETNX h c 9", ":1\r\n");
    EXPECT(f, "HSTRLEN h c", ":1\r\n");
    EXPECT(f, "HEXISTS h c", ":1\r\n");
    /* Values that look numeric read back byte for byte. */
    EXPECT(f, "HSET h n 007 m -0 k 9223372036854775807", ":3\r\n");
    EXPECT(f, "HMGET h n m k", "*3\r\n$3\r\n007\r\n$2\r\n-0\r\n$19\r\n9223372036854775807\r\n");
}

static void test_conversion_by_entries(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.hash_max_listpack_entries = 4;
    EXPECT(f, "HSET h a 1 b 2 c 3 d 4", ":4\r\n");
    assert_string_equal(fx_encoding(f, "h"), "listpack");
    EXPECT(f, "HSET h e 5", ":1\r\n");
    assert_string_equal(fx_encoding(f, "h"), "hashtable");
    EXPECT(f, "HLEN h", ":5\r\n");
    EXPECT(f, "HMGET h a e", "*2\r\n$1\r\n1\r\n$1\r\n5\r\n");
    /* It never converts back. */
    EXPECT(f, "HDEL h a b c d", ":4\r\n");
    assert_string_equal(fx_encoding(f, "h"), "hashtable");
    EXPECT(f, "HDEL h e", ":1\r\n");
    EXPECT(f, "EXISTS h", ":0\r\n");
}

static void test_conversion_by_length(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.hash_max_listpack_value = 4;
    EXPECT(f, "HSET v f 1234", ":1\r\n");
    assert_string_equal(fx_encoding(f, "v"), "listpack");
    EXPECT(f, "HSET v f 12345", ":0\r\n");
    assert_string_equal(fx_encoding(f, "v"), "hashtable");
    EXPECT(f, "HGET v f", "$5\r\n12345\r\n");
    EXPECT(f, "HSET k longfield 1", ":1\r\n");
    assert_string_equal(fx_encoding(f, "k"), "hashtable");
    /* HINCRBYFLOAT's result passes the limit too. */
    EXPECT(f, "HSET g x 1", ":1\r\n");
    EXPECT(f, "HINCRBYFLOAT g x 0.125", "$5\r\n1.125\r\n");
    assert_string_equal(fx_encoding(f, "g"), "hashtable");
}

static void test_errors_leave_nothing(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "SET s x", "+OK\r\n");
    EXPECT(f, "HSET s a 1",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "HGET s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "HSET h a 1 b", "-ERR wrong number of arguments for 'hset' command\r\n");
    EXPECT(f, "HINCRBY h a x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(f, "EXISTS h", ":0\r\n");
    EXPECT(f, "HSET h a x", ":1\r\n");
    EXPECT(f, "HINCRBY h a 1", "-ERR hash value is not an integer\r\n");
    EXPECT(f, "HINCRBY h n 9223372036854775807", ":9223372036854775807\r\n");
    EXPECT(f, "HINCRBY h n 1", "-ERR increment or decrement would overflow\r\n");
    EXPECT(f, "HINCRBYFLOAT h a 1", "-ERR hash value is not a float\r\n");
    EXPECT(f, "HINCRBYFLOAT h z inf", "-ERR value is NaN or Infinity\r\n");
    EXPECT(f, "GET h", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "TYPE h", "+hash\r\n");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* key's fields and values as sorted "field=value" lines (a hashtable's
 * order differs between two tables), for comparisons. */
static char *fields_of(struct fx *f, const char *key)
{
    char line[256];
    snprintf(line, sizeof line, "HKEYS %s", key);
    char *keys = strdup(run(f, line));
    char *items[1024], *save = NULL;
    int n = 0;
    strtok_r(keys, "\r\n", &save); /* *count */
    for (char *tok; (tok = strtok_r(NULL, "\r\n", &save)) != NULL;) {
        tok = strtok_r(NULL, "\r\n", &save); /* skip $len, take the field */
        assert_true(n < 1024);
        snprintf(line, sizeof line, "HGET %s %s", key, tok);
        const char *v = run(f, line);
        size_t need = strlen(tok) + strlen(v) + 2;
        items[n] = malloc(need);
        snprintf(items[n++], need, "%s=%s", tok, v);
    }
    qsort(items, (size_t)n, sizeof items[0], cmp_str);
    size_t total = 1;
    for (int i = 0; i < n; i++)
        total += strlen(items[i]) + 1;
    char *out = calloc(1, total);
    for (int i = 0; i < n; i++) {
        strcat(out, items[i]);
        strcat(out, ";");
        free(items[i]);
    }
    free(keys);
    return out;
}

/* The snapshot payload and COPY rebuild the same hash, in its encoding; a
 * damaged payload is refused. */
static void test_save_load_and_copy(void **state)
{
    struct fx *f = *state;
    char line[128];
    for (int i = 0; i < 600; i++) { /* past hash-max-listpack-entries (512) */
        snprintf(line, sizeof line, "HSET big f%d %d", i, i * 7);
        run(f, line);
    }
    EXPECT(f, "HSET small a 1 b \"\" c 12345678901234567890", ":3\r\n");
    const char *keys[] = {"big", "small"}, *copies[] = {"big2", "small2"};
    for (int k = 0; k < 2; k++) {
        struct kv_val *v = kv_lookup_peek(&f->kv, keys[k], strlen(keys[k]), f->now);
        struct fx_buf b = {NULL, 0};
        t_hash_ops.save(kv_val_obj(v), fx_buf_put, &b);
        char err[128];
        void *obj =
            t_hash_ops.load((unsigned char *)b.data, b.len, &f->kvc.limits, err, sizeof err);
        assert_non_null(obj);
        assert_null(
            t_hash_ops.load((unsigned char *)b.data, b.len - 1, &f->kvc.limits, err, sizeof err));
        free(b.data);
        kv_set_obj(&f->kv, copies[k], strlen(copies[k]), KV_HASH, obj, KV_NO_EXPIRE, f->now);
        assert_string_equal(fx_encoding(f, copies[k]), fx_encoding(f, keys[k]));
        char *want = fields_of(f, keys[k]), *got = fields_of(f, copies[k]);
        assert_string_equal(got, want);
        free(got);
        snprintf(line, sizeof line, "COPY %s %s3", keys[k], keys[k]);
        EXPECT(f, line, ":1\r\n");
        char copy3[16];
        snprintf(copy3, sizeof copy3, "%s3", keys[k]);
        got = fields_of(f, copy3);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
    assert_string_equal(fx_encoding(f, "big"), "hashtable");
    assert_string_equal(fx_encoding(f, "small"), "listpack");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_small_hash_is_a_listpack), T(test_conversion_by_entries),
        T(test_conversion_by_length),     T(test_errors_leave_nothing),
        T(test_save_load_and_copy),
#undef T
    };
    cmd_table_init(type_command_groups, type_command_group_count);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
