/*
 * tests/fuzz/fuzz_rdb.c - libFuzzer target for the RDB value reader behind
 * RESTORE (src/rdb/rdb_load.h: rdb_get_value(); src/rdb/cmd_dump.h:
 * rdb_payload_check()), every encoding, those before RDB 10 included.
 *
 * Byte 0 of the input selects a mode: when its low bit is set the rest is
 * a whole DUMP payload, whose footer (version, CRC-64) must pass before
 * its body is read, as RESTORE does; else the rest is a body alone, so
 * that the fuzzer reaches the value's encodings without forging a
 * checksum. Bit 1 reads under tiny encoding limits (every conversion to
 * the large encodings taken), else under Redis's defaults.
 *
 * Properties: no crash, nothing read past the input (ASan), memory
 * bounded (libFuzzer's -malloc_limit_mb: no allocation sized by a length
 * the input claims), nothing left allocated (make fuzz-short runs with
 * -detect_leaks=1), a refusal names its reason; and a value accepted
 * writes back (src/rdb/rdb_value.h) as a body that reads whole to the same
 * value (its digest, as DEBUG DIGEST-VALUE's).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace/kv.h"
#include "rdb/cmd_dump.h"
#include "rdb/rdb_load.h"
#include "rdb/rdb_value.h"
#include "types/typetable.h"

#define MAX_STRING (1u << 20)

static const struct kv_limits TINY = {
    .hash_max_listpack_entries = 2,
    .hash_max_listpack_value = 4,
    .set_max_intset_entries = 2,
    .zset_max_listpack_entries = 2,
    .zset_max_listpack_value = 4,
    .hll_sparse_max_bytes = 3000,
    .list_max_listpack_size = 2,
    .list_compress_depth = 1,
};

/* v as the keyspace holds it (src/keyspace/kv.h: a string's bytes in
 * data, another type's object pointer), malloc'd; v keeps the object. */
static struct kv_val *as_kv_val(const struct rdb_value *v)
{
    size_t room = v->type == KV_STRING ? v->len : sizeof v->obj;
    struct kv_val *kv = calloc(1, sizeof *kv + room + 1);
    if (!kv) abort();
    kv->type = v->type;
    kv->expire_ms = KV_NO_EXPIRE;
    if (v->type == KV_STRING) {
        kv->len = (uint32_t)v->len;
        memcpy(kv->data, v->str, v->len);
    } else {
        memcpy(kv->data, &v->obj, sizeof v->obj);
    }
    return kv;
}

static void digest_of(const struct rdb_value *v, unsigned char d[DIGEST_LEN])
{
    memset(d, 0, DIGEST_LEN);
    if (v->type == KV_STRING)
        digest_mix(d, v->str, v->len);
    else
        type_table[v->type]->digest(v->obj, d);
}

/* The accepted value a, written and read again: the same value. */
static void round_trip(const struct rdb_value *a, const struct kv_limits *lim)
{
    struct kv_val *kv = as_kv_val(a);
    struct text out = {0};
    rdb_put_value(&out, kv, 1); /* every type read is written */
    free(kv);
    struct rdb_in in;
    rdb_in_init(&in, out.p, out.len, MAX_STRING);
    struct rdb_value b;
    char err[256] = "";
    if (rdb_get_value(&in, lim, &b, err, sizeof err) != 0 || in.p != in.end) {
        fprintf(stderr, "fuzz_rdb: a value written back does not read back: %s\n", err);
        abort();
    }
    unsigned char da[DIGEST_LEN], db[DIGEST_LEN];
    digest_of(a, da);
    digest_of(&b, db);
    if (a->type != b.type || memcmp(da, db, DIGEST_LEN) != 0) {
        fprintf(stderr, "fuzz_rdb: a value written back reads as another\n");
        abort();
    }
    rdb_value_free(&b);
    free(text_take(&out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        if (rdb_payload_check(body, n) != 0) return 0;
        n -= RDB_FOOTER_LEN;
    }
    const struct kv_limits *lim = data[0] & 2 ? &TINY : &kv_limits_default;
    struct rdb_in in;
    rdb_in_init(&in, body, n, MAX_STRING);
    struct rdb_value v;
    char err[256] = "";
    if (rdb_get_value(&in, lim, &v, err, sizeof err) != 0) {
        if (!err[0]) abort(); /* a refusal says why */
        return 0;
    }
    round_trip(&v, lim);
    rdb_value_free(&v);
    return 0;
}
