/*
 * tests/unit/test_rdb_reader.c - whole dump.rdb files read item by item
 * (src/rdb/rdb_reader.h): a file made here of every opcode the reader
 * yields and a value of every type (built by their commands, written with
 * rdb_put_value), read whole, then through windows split at every offset
 * (the same items), its values decoded back (the same digests); then the
 * refusals: bad magic, a newer version, unknown opcodes and types, modules,
 * Redis 7.0 release candidates' functions, a prefix with no key, a wrong
 * checksum; and every truncation and every single bit flipped refused
 * without a crash or a leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc64.h"
#include "base/le.h"
#include "cmd_fixture.h"
#include "rdb/rdb_reader.h"
#include "rdb/rdb_io.h"
#include "rdb/rdb_load.h"
#include "rdb/rdb_value.h"

#define MAX_STRING (1u << 20)
#define ITEMS_MAX 64

static const char *const KEYS[] = {"str", "list", "set", "iset", "zset", "hash", "stream"};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static void fill(struct fx *f)
{
    run(f, "SET str hello");
    run(f, "RPUSH list a b c 1 2 3");
    run(f, "SADD set x y z");
    run(f, "SADD iset 1 2 300000");
    run(f, "ZADD zset 1.5 a -2 b");
    run(f, "HSET hash f v g w");
    run(f, "XADD stream 1-1 f v");
    run(f, "XADD stream 2-1 f w");
    run(f, "XGROUP CREATE stream g 0");
    run(f, "XREADGROUP GROUP g alice COUNT 1 STREAMS stream >");
}

static void put_op(struct text *t, uint8_t op)
{
    rdb_put_byte(t, op);
}

/* The file: header, AUX, FUNCTION2, SELECTDB 0, RESIZEDB, every key of
 * KEYS (str with an expiry, list with IDLE, set with FREQ), SELECTDB 3
 * with one key (seconds expiry), EOF and the CRC (crc_ok 0: a wrong one). */
static void make_file(struct fx *f, struct text *t, int version, int crc_ok)
{
    char head[16];
    snprintf(head, sizeof head, "REDIS%04d", version);
    text_put(t, head, RDB_READER_HEADER_LEN);
    put_op(t, 0xFA);
    rdb_put_string(t, "redis-ver", 9, 0);
    rdb_put_string(t, "7.0.15", 6, 0);
    put_op(t, 0xF5);
    rdb_put_string(t, "#!lua name=lib\n", 15, 0);
    put_op(t, 0xFE);
    rdb_put_len(t, 0);
    put_op(t, 0xFB);
    rdb_put_len(t, NKEYS);
    rdb_put_len(t, 1);
    for (size_t i = 0; i < NKEYS; i++) {
        if (i == 0) {
            put_op(t, 0xFC);
            rdb_put_millis(t, T0 + 5000);
        } else if (i == 1) {
            put_op(t, 0xF8);
            rdb_put_len(t, 77);
        } else if (i == 2) {
            put_op(t, 0xF9);
            rdb_put_byte(t, 9);
        }
        struct text v = {0};
        const struct kv_val *val = kv_lookup_peek(&f->kv, KEYS[i], strlen(KEYS[i]), T0);
        assert_non_null(val);
        rdb_put_value(&v, val, 1);
        rdb_put_byte(t, (uint8_t)v.p[0]); /* the type, the key, the body */
        rdb_put_string(t, KEYS[i], strlen(KEYS[i]), 0);
        text_put(t, v.p + 1, v.len - 1);
        free(text_take(&v));
    }
    put_op(t, 0xFE);
    rdb_put_len(t, 3);
    put_op(t, 0xFD);
    unsigned char s[4];
    le_put32(s, 1800000000u);
    text_put(t, (const char *)s, 4);
    rdb_put_byte(t, RDB_TYPE_STRING);
    rdb_put_string(t, "k3", 2, 0);
    rdb_put_string(t, "12345", 5, 0); /* an int-encoded string */
    put_op(t, 0xFF);
    if (version >= 5) {
        unsigned char sum[8];
        le_put64(sum, crc64(0, t->p, t->len) + (crc_ok ? 0 : 1));
        text_put(t, (const char *)sum, 8);
    }
}

/* What a read yielded, one line per item (db, key, expiry, idle, freq,
 * the body's bytes' CRC), to compare reads. */
struct log {
    char lines[ITEMS_MAX][160];
    int n;
    int rc;
    char err[256];
};

static void log_item(struct log *l, const struct rdb_item *it)
{
    assert_true(l->n < ITEMS_MAX);
    snprintf(l->lines[l->n++], sizeof l->lines[0],
             "%d@%llu db=%llu k=%.*s s=%.*s e=%lld i=%lld f=%d t=%u %016llx", it->kind,
             (unsigned long long)it->offset, (unsigned long long)it->db, (int)it->key_len,
             it->key ? it->key : "", (int)(it->str_len > 20 ? 20 : it->str_len),
             it->str ? it->str : "", (long long)it->expire_ms, (long long)it->idle_s, it->freq,
             it->type, (unsigned long long)crc64(0, it->body, it->body_len));
}

/* Reads p[0..len) through a window that grows by step bytes whenever the
 * reader wants more (step 0: all of it at once). */
static void read_all(const char *p, size_t len, size_t step, struct log *l)
{
    memset(l, 0, sizeof *l);
    struct rdb_reader f;
    rdb_reader_init(&f, MAX_STRING);
    size_t win = step ? step : len;
    for (;;) {
        size_t off = (size_t)f.offset, have = win < len - off ? win : len - off;
        struct rdb_item it;
        size_t used;
        int rc = rdb_reader_next(&f, p + off, have, off + have == len, &it, &used, l->err,
                                 sizeof l->err);
        if (rc == RDB_READER_MORE) {
            assert_true(off + have < len); /* with eof, MORE is an error */
            win += step;
            continue;
        }
        l->rc = rc;
        if (rc != RDB_READER_ITEM) break;
        assert_true(used > 0 && used <= have);
        log_item(l, &it);
        win = step ? step : len;
    }
    rdb_reader_free(&f);
}

static void test_items(void **state)
{
    struct fx *f = *state;
    fill(f);
    struct text t = {0};
    make_file(f, &t, 10, 1);
    struct log whole;
    read_all(t.p, t.len, 0, &whole);
    if (whole.rc != RDB_READER_END) fail_msg("%s", whole.err);
    assert_int_equal(whole.n, 3 + NKEYS + 2);
    assert_non_null(strstr(whole.lines[0], "k=redis-ver s=7.0.15"));
    assert_non_null(strstr(whole.lines[1], "s=#!lua name=lib"));
    assert_non_null(strstr(whole.lines[3], "k=str"));
    assert_non_null(strstr(whole.lines[3], "e=1700000005000 i=-1 f=-1"));
    assert_non_null(strstr(whole.lines[4], "i=77 f=-1"));
    assert_non_null(strstr(whole.lines[5], "i=-1 f=9"));
    assert_non_null(strstr(whole.lines[3 + NKEYS], "db=3"));
    assert_non_null(strstr(whole.lines[4 + NKEYS], "db=3 k=k3"));
    assert_non_null(strstr(whole.lines[4 + NKEYS], "e=1800000000000"));
    /* split anywhere: the same items */
    for (size_t step = 1; step < 64; step++) {
        struct log l;
        read_all(t.p, t.len, step, &l);
        assert_int_equal(l.rc, RDB_READER_END);
        assert_int_equal(l.n, whole.n);
        for (int i = 0; i < l.n; i++)
            assert_string_equal(l.lines[i], whole.lines[i]);
    }
    free(text_take(&t));
}

/* Every key's body decodes to the value it was written from. */
static void test_values_decode(void **state)
{
    struct fx *f = *state;
    fill(f);
    struct text t = {0};
    make_file(f, &t, 10, 1);
    struct rdb_reader rf;
    rdb_reader_init(&rf, MAX_STRING);
    size_t keys = 0;
    for (;;) {
        struct rdb_item it;
        size_t used;
        char err[256];
        int rc = rdb_reader_next(&rf, t.p + rf.offset, t.len - rf.offset, 1, &it, &used, err,
                                 sizeof err);
        if (rc != RDB_READER_ITEM) {
            assert_int_equal(rc, RDB_READER_END);
            break;
        }
        if (it.kind != RDB_ITEM_KEY || it.db != 0) continue;
        struct rdb_in in;
        rdb_in_init(&in, it.body, it.body_len, MAX_STRING);
        struct rdb_value v;
        if (rdb_get_typed_value(&in, it.type, &f->kvc.limits, &v, err, sizeof err) != 0)
            fail_msg("%.*s: %s", (int)it.key_len, it.key, err);
        assert_ptr_equal(in.p, in.end);
        const struct kv_val *orig = kv_lookup_peek(&f->kv, it.key, it.key_len, T0);
        assert_non_null(orig);
        assert_int_equal(v.type, orig->type);
        rdb_value_free(&v);
        keys++;
    }
    assert_int_equal(keys, NKEYS);
    rdb_reader_free(&rf);
    free(text_take(&t));
}

/* The whole of p read at once: its rc, the error in err. */
static int read_once(const char *p, size_t len, char *err, size_t errlen)
{
    struct log l;
    read_all(p, len, 0, &l);
    snprintf(err, errlen, "%s", l.err);
    return l.rc;
}

static void expect_refused(const char *p, size_t len, const char *why)
{
    char err[256];
    assert_int_equal(read_once(p, len, err, sizeof err), RDB_READER_ERROR);
    if (!strstr(err, why)) fail_msg("error \"%s\" does not say \"%s\"", err, why);
}

static void test_refusals(void **state)
{
    struct fx *f = *state;
    fill(f);
    struct text t = {0};
    make_file(f, &t, 10, 0);
    expect_refused(t.p, t.len, "checksum does not match");
    free(text_take(&t));
    make_file(f, &t, 11, 1);
    expect_refused(t.p, t.len, "RDB version 11 is newer than 10");
    free(text_take(&t));
    make_file(f, &t, 10, 1);
    t.p[0] = 'X';
    expect_refused(t.p, t.len, "(bad magic) at offset 0");
    free(text_take(&t));
    static const struct {
        const char *bytes;
        size_t len;
        const char *why;
    } bad[] = {
        {"REDIS0010\x07\x01k\x00\xff", 14, "a module's value"},
        {"REDIS0010\x06\x01k\x00\xff", 14, "a module's value"},
        {"REDIS0010\xf7\x00\xff", 12,
         "module's auxiliary data (raftcache loads no modules) at offset 9"},
        {"REDIS0010\xf6\x00\xff", 12, "release candidates"},
        {"REDIS0010\x08\x01k\x00\xff", 14, "unknown RDB type or opcode at offset 9"},
        {"REDIS0010\xf0\x01k\x00\xff", 14, "unknown RDB type or opcode"},
        {"REDIS0010\xf9\x05\xfe\x00\xff", 14, "before no key at offset 9"},
        {"REDIS0010\x00\x01k", 12, "truncated or malformed record at offset 9"},
        {"REDIS00", 7, "truncated"},
        {"", 0, "truncated"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(bad[i].bytes, bad[i].len, bad[i].why);
}

/* Version 4 has no checksum; a zero checksum is not checked; bytes after
 * it are not read. */
static void test_checksum_optional(void **state)
{
    struct fx *f = *state;
    fill(f);
    struct text t = {0};
    make_file(f, &t, 4, 1);
    char err[256];
    assert_int_equal(read_once(t.p, t.len, err, sizeof err), RDB_READER_END);
    free(text_take(&t));
    make_file(f, &t, 9, 1);
    memset(t.p + t.len - 8, 0, 8);
    text_put(&t, "trailing", 8);
    assert_int_equal(read_once(t.p, t.len, err, sizeof err), RDB_READER_END);
    free(text_take(&t));
}

/* Every truncation is an error (no crash, nothing leaked); every single
 * bit flipped is caught (by the checksum at the latest) or, where it lands
 * in the checksum's own bytes, refused just the same. */
static void test_damage(void **state)
{
    struct fx *f = *state;
    fill(f);
    struct text t = {0};
    make_file(f, &t, 10, 1);
    char err[256];
    for (size_t n = 0; n < t.len; n++)
        assert_int_equal(read_once(t.p, n, err, sizeof err), RDB_READER_ERROR);
    char *copy = malloc(t.len);
    for (size_t i = 0; i < t.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, t.p, t.len);
            copy[i] ^= (char)(1 << bit);
            if (read_once(copy, t.len, err, sizeof err) != RDB_READER_ERROR)
                fail_msg("bit %d of byte %zu flipped, and the file was read whole", bit, i);
        }
    free(copy);
    free(text_take(&t));
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checksum_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
