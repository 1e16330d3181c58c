/*
 * tests/unit/test_rdb_file.c - a whole dump.rdb (src/rdb/rdb_file.h): the
 * header's bytes as redis-server 7.0 writes them, the checksum over every
 * byte, the same file whether its bytes are taken away after each call or
 * at the end, and every record read back (the opcodes, the expiry, each
 * value by src/rdb/rdb_load.h) with databases interleaved as a live save
 * writes them.
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
#include "rdb/rdb_file.h"
#include "rdb/rdb_load.h"

#define MAX_STRING (1u << 20)
#define CODE "#!lua name=lib\nredis.register_function('f', function() return 1 end)"

static const struct rdb_file_aux AUX = {
    .redis_ver = "7.0.15", .ctime_s = 1700000000, .used_mem = 1000000};

/* The bytes redis-server 7.0.15 writes for AUX (a 64-bit build). */
static const char HEADER[] = "REDIS0010"
                             "\xfa\x09redis-ver\x06"
                             "7.0.15"
                             "\xfa\x0aredis-bits\xc0\x40"
                             "\xfa\x05"
                             "ctime\xc2\x00\xf1\x53\x65"
                             "\xfa\x08used-mem\xc2\x40\x42\x0f\x00"
                             "\xfa\x08"
                             "aof-base\xc0\x00";

static void fill(struct fx *f)
{
    run(f, "SET s hello");
    run(f, "RPUSH l a b c");
    run(f, "HSET h f1 v1 f2 v2");
    run(f, "PEXPIREAT h 1800000000000");
}

/* Writes the file of fill()'s keys, the function first, "s" and "l" in
 * database 0 and "h" in database 5 then "s" again in database 0 (a live
 * save's interleaving); with take, empties out into all after each call. */
static void write_file(struct fx *f, struct text *all, int take)
{
    struct text out = {0};
    struct rdb_file w;
    const char *keys[] = {"s", "l", "h", "s"};
    const int dbs[] = {0, 0, 5, 0};
    rdb_file_begin(&w, &out, &AUX, 1);
    for (int i = -1; i < 6; i++) {
        if (take) {
            text_put(all, out.p, out.len);
            out.len = 0;
        }
        if (i == -1) rdb_file_function(&w, CODE, strlen(CODE));
        if (i == 0) rdb_file_db(&w, 0, 2, 0);
        if (i >= 1 && i <= 4) {
            const char *k = keys[i - 1];
            rdb_file_key(&w, dbs[i - 1], k, strlen(k), kv_lookup_peek(&f->kv, k, 1, T0));
        }
        if (i == 5) rdb_file_end(&w);
    }
    text_put(all, out.p, out.len);
    free(text_take(&out));
    assert_int_equal(w.keys, 4);
}

static void test_header_and_checksum(void **state)
{
    struct fx *f = *state;
    fill(f);
    struct text whole = {0}, pieces = {0};
    write_file(f, &whole, 0);
    write_file(f, &pieces, 1);
    assert_int_equal(whole.len, pieces.len);
    assert_memory_equal(whole.p, pieces.p, whole.len);
    assert_memory_equal(whole.p, HEADER, sizeof HEADER - 1);
    const unsigned char *end = (const unsigned char *)whole.p + whole.len;
    assert_int_equal(end[-9], RDB_OPCODE_EOF);
    assert_true(le_get64(end - 8) == crc64(0, whole.p, whole.len - 8));
    free(text_take(&whole));
    free(text_take(&pieces));
}

/* Reads one key record at in into the fixture as key "copy" and checks
 * that it has the digest of `key` and the expiry. */
static void read_key(struct fx *f, struct rdb_in *in, const char *key, int64_t expire_ms)
{
    char type = (char)rdb_get_byte(in);
    size_t klen;
    char *k = rdb_get_string(in, &klen);
    assert_non_null(k);
    assert_string_equal(k, key);
    free(k);
    /* rdb_get_value reads a type byte and a body: the same without the key */
    struct text v = {0};
    text_put(&v, &type, 1);
    text_put(&v, (const char *)in->p, (size_t)(in->end - in->p));
    struct rdb_in body;
    rdb_in_init(&body, v.p, v.len, MAX_STRING);
    struct rdb_value got;
    char err[256] = "";
    if (rdb_get_value(&body, &f->kvc.limits, &got, err, sizeof err) != 0) fail_msg("%s", err);
    in->p += body.p - (const unsigned char *)v.p - 1;
    free(text_take(&v));
    if (got.type == KV_STRING) {
        kv_set(&f->kv, "copy", 4, got.str, got.len, expire_ms, T0);
        free(got.str);
    } else {
        kv_set_obj(&f->kv, "copy", 4, got.type, got.obj, expire_ms, T0);
    }
    char want[DIGEST_HEX_LEN + 1], got_hex[DIGEST_HEX_LEN + 1];
    assert_string_equal(fx_digest(f, key, want), fx_digest(f, "copy", got_hex));
    assert_int_equal(kv_lookup_peek(&f->kv, "copy", 4, T0)->expire_ms, expire_ms);
}

static void expect_select(struct rdb_in *in, int db)
{
    assert_int_equal(rdb_get_byte(in), RDB_OPCODE_SELECTDB);
    assert_int_equal(rdb_get_len(in), (uint64_t)db);
}

static void test_records(void **state)
{
    struct fx *f = *state;
    fill(f);
    struct text t = {0};
    write_file(f, &t, 0);
    struct rdb_in in;
    rdb_in_init(&in, t.p + sizeof HEADER - 1, t.len - (sizeof HEADER - 1), MAX_STRING);
    assert_int_equal(rdb_get_byte(&in), RDB_OPCODE_FUNCTION2);
    size_t len;
    char *code = rdb_get_string(&in, &len);
    assert_string_equal(code, CODE);
    free(code);
    expect_select(&in, 0);
    assert_int_equal(rdb_get_byte(&in), RDB_OPCODE_RESIZEDB);
    assert_int_equal(rdb_get_len(&in), 2);
    assert_int_equal(rdb_get_len(&in), 0);
    read_key(f, &in, "s", KV_NO_EXPIRE);
    read_key(f, &in, "l", KV_NO_EXPIRE);
    expect_select(&in, 5);
    assert_int_equal(rdb_get_byte(&in), RDB_OPCODE_EXPIRETIME_MS);
    assert_int_equal(rdb_get_millis(&in), 1800000000000LL);
    read_key(f, &in, "h", 1800000000000LL);
    expect_select(&in, 0);
    read_key(f, &in, "s", KV_NO_EXPIRE);
    assert_int_equal(rdb_get_byte(&in), RDB_OPCODE_EOF);
    assert_int_equal(in.end - in.p, RDB_FILE_CRC_LEN);
    assert_false(in.failed);
    free(text_take(&t));
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_and_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
