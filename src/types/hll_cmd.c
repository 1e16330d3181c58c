/*
 * src/types/hll_cmd.c - the HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG
 * PFSELFTEST with Redis 7.0's replies and errors, over string values in
 * the representation of src/ds/hyperloglog.h.
 *
 * A sparse value is changed in a scratch copy (it is small: at most
 * hll-sparse-max-bytes) and written back once; a dense one in place. PFCOUNT
 * of one key whose cached cardinality is stale stores the cardinality it
 * computes, as Redis: on the leader that call goes through the log (its
 * writes hook), so every replica stores the same bytes; everywhere else it
 * is a plain read that changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "types/hll_cmd.h"
#include "ds/hyperloglog.h"
#include "keyspace/kv.h"
#include "base/util.h"

#define ERR_NOT_HLL "WRONGTYPE Key is not a valid HyperLogLog string value."
#define ERR_CORRUPT "INVALIDOBJ Corrupted HLL object detected"

/* Checks a looked-up value: 1 if it is an HLL, 0 after replying WRONGTYPE
 * (another type, or a string that is no HLL). NULL is an HLL to create. */
static int is_hll(struct cmd_ctx *c, const struct kv_val *v)
{
    if (!v) return 1;
    if (cmd_wrongtype(c, v, KV_STRING)) return 0;
    if (hll_header_ok((const unsigned char *)v->data, v->len)) return 1;
    resp_add_error(c->out, ERR_NOT_HLL);
    return 0;
}

/* A looked-up key for a command that may change it. */
static struct kv_val *lookup(struct cmd_ctx *c, const struct resp_arg *key)
{
    if (c->applying) return kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, KV_LOOKUP_STATS);
    return kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
}

/* A value being changed: a scratch copy with room for one more sparse
 * update (grown as needed), or dense and complete. */
struct hll_work {
    unsigned char *p;
    size_t len, cap;
};

static void work_load(struct hll_work *w, const struct kv_val *v)
{
    w->len = v ? v->len : HLL_SPARSE_EMPTY_SIZE;
    w->cap = w->len + 64;
    w->p = util_xmalloc(w->cap);
    if (v)
        memcpy(w->p, v->data, v->len);
    else
        hll_init_sparse(w->p);
}

/* Converts w to dense. Returns 0 or HLL_CORRUPT (w unchanged). */
static int work_to_dense(struct hll_work *w)
{
    unsigned char *d = util_xmalloc(HLL_DENSE_SIZE);
    if (hll_sparse_to_dense(w->p, w->len, d) < 0) {
        free(d);
        return HLL_CORRUPT;
    }
    free(w->p);
    w->p = d;
    w->len = w->cap = HLL_DENSE_SIZE;
    return 0;
}

/* Raises register index of w to count, converting a sparse w to dense when
 * it must. Returns an enum hll_result. */
static int work_raise(struct hll_work *w, size_t max_bytes, uint32_t index, uint8_t count)
{
    if (hll_encoding_of(w->p) == HLL_SPARSE) {
        if (w->cap < w->len + HLL_SPARSE_SET_ROOM) {
            w->cap = w->len + HLL_SPARSE_SET_ROOM + w->len / 2;
            w->p = util_xrealloc(w->p, w->cap);
        }
        int r = hll_sparse_raise(w->p, &w->len, max_bytes, index, count);
        if (r != HLL_PROMOTE) return r;
        if (work_to_dense(w) < 0) return HLL_CORRUPT;
    }
    return hll_dense_raise(w->p + HLL_HDR_SIZE, index, count);
}

/* Stores w as key's value (TTL kept) with a stale cache, and frees it. */
static void work_store(struct cmd_ctx *c, const struct resp_arg *key, struct hll_work *w)
{
    hll_cache_invalidate(w->p);
    char *p = kv_resize(c->kv, key->ptr, key->len, w->len, c->now_ms);
    memcpy(p, w->p, w->len);
    free(w->p);
}

/* PFADD on a dense value: its registers changed in place. */
static int pfadd_dense(struct cmd_ctx *c, const struct resp_arg *key, struct kv_val *v)
{
    unsigned char *regs = NULL;
    int updated = 0;
    for (int i = 2; i < c->argc; i++) {
        uint32_t idx;
        uint8_t cnt;
        hll_hash(c->argv[i].ptr, c->argv[i].len, &idx, &cnt);
        const unsigned char *cur = regs ? regs : (const unsigned char *)v->data + HLL_HDR_SIZE;
        if (hll_dense_get(cur, idx) >= cnt) continue;
        if (!regs) /* the first change: the value becomes writable */
            regs = (unsigned char *)kv_resize(c->kv, key->ptr, key->len, v->len, c->now_ms) +
                   HLL_HDR_SIZE;
        hll_dense_put(regs, idx, cnt);
        updated = 1;
    }
    if (updated) hll_cache_invalidate(regs - HLL_HDR_SIZE);
    return updated;
}

void cmd_pfadd(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, KV_LOOKUP_STATS);
    if (!is_hll(c, v)) return;
    if (v && hll_encoding_of((const unsigned char *)v->data) == HLL_DENSE) {
        int updated = pfadd_dense(c, key, v);
        if (updated) cmd_notify(c, NOTIFY_STRING, "pfadd", key);
        resp_add_int(c->out, updated);
        return;
    }
    struct hll_work w;
    work_load(&w, v);
    int updated = v == NULL;
    for (int i = 2; i < c->argc; i++) {
        uint32_t idx;
        uint8_t cnt;
        hll_hash(c->argv[i].ptr, c->argv[i].len, &idx, &cnt);
        int r = work_raise(&w, c->kv->common->limits.hll_sparse_max_bytes, idx, cnt);
        if (r == HLL_CORRUPT) {
            free(w.p);
            resp_add_error(c->out, ERR_CORRUPT);
            return;
        }
        if (r == HLL_CHANGED) updated = 1;
    }
    if (updated) {
        work_store(c, key, &w);
        cmd_notify(c, NOTIFY_STRING, "pfadd", key);
    } else {
        free(w.p);
    }
    resp_add_int(c->out, updated);
}

/* PFCOUNT of one key: the cached cardinality, or the estimate (stored in
 * the cache when applying). */
static void pfcount_one(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct kv_val *v = lookup(c, key);
    if (!is_hll(c, v)) return;
    if (!v) {
        resp_add_int(c->out, 0);
        return;
    }
    uint64_t card;
    if (hll_cache_get((const unsigned char *)v->data, &card)) {
        resp_add_int(c->out, (long long)card);
        return;
    }
    if (hll_estimate((const unsigned char *)v->data, v->len, &card) < 0) {
        resp_add_error(c->out, ERR_CORRUPT);
        return;
    }
    if (c->applying) {
        unsigned char *p = (unsigned char *)kv_resize(c->kv, key->ptr, key->len, v->len, c->now_ms);
        hll_cache_set(p, card);
    }
    resp_add_int(c->out, (long long)card);
}

/* The registers of the union of argv[first..argc) into raw (absent keys
 * are empty). Returns 0, or -1 after replying an error. */
static int union_raw(struct cmd_ctx *c, int first, uint8_t *raw, int *any_dense)
{
    for (int i = first; i < c->argc; i++) {
        struct kv_val *v = lookup(c, &c->argv[i]);
        if (!is_hll(c, v)) return -1;
        if (!v) continue;
        const unsigned char *p = (const unsigned char *)v->data;
        if (hll_encoding_of(p) == HLL_DENSE) *any_dense = 1;
        if (hll_merge_raw(p, v->len, raw) < 0) {
            resp_add_error(c->out, ERR_CORRUPT);
            return -1;
        }
    }
    return 0;
}

void cmd_pfcount(struct cmd_ctx *c)
{
    if (c->argc == 2) {
        pfcount_one(c);
        return;
    }
    uint8_t *raw = util_xcalloc(HLL_REGISTERS, 1);
    int any_dense = 0;
    if (union_raw(c, 1, raw, &any_dense) == 0)
        resp_add_int(c->out, (long long)hll_estimate_raw(raw));
    free(raw);
}

/* PFCOUNT's writes hook: one key holding an HLL with a stale cache. */
int cmd_pfcount_writes(struct kv *kv, int argc, const struct resp_arg *argv, int64_t now_ms)
{
    if (argc != 2) return 0;
    const struct kv_val *v = kv_lookup_peek(kv, argv[1].ptr, argv[1].len, now_ms);
    uint64_t card;
    return v && v->type == KV_STRING && hll_header_ok((const unsigned char *)v->data, v->len) &&
           !hll_cache_get((const unsigned char *)v->data, &card);
}

void cmd_pfmerge(struct cmd_ctx *c)
{
    uint8_t *raw = util_xcalloc(HLL_REGISTERS, 1);
    int any_dense = 0;
    if (union_raw(c, 1, raw, &any_dense) < 0) { /* the destination's registers too */
        free(raw);
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    struct hll_work w;
    work_load(&w, kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0));
    /* a dense input makes the result dense, as Redis 7.0 */
    int rc = any_dense && hll_encoding_of(w.p) == HLL_SPARSE ? work_to_dense(&w) : 0;
    for (uint32_t i = 0; i < HLL_REGISTERS && rc >= 0; i++)
        if (raw[i]) rc = work_raise(&w, c->kv->common->limits.hll_sparse_max_bytes, i, raw[i]);
    free(raw);
    if (rc < 0) {
        free(w.p);
        resp_add_error(c->out, ERR_CORRUPT);
        return;
    }
    work_store(c, key, &w);
    cmd_notify(c, NOTIFY_STRING, "pfadd", key); /* Redis's event for a merge too */
    resp_add_simple(c->out, "OK");
}

/* PFDEBUG's conversion: the value at key made dense. Returns 1 if it was
 * sparse, 0 if already dense, -1 after replying an error. */
static int pfdebug_todense(struct cmd_ctx *c, const struct resp_arg *key, const struct kv_val *v)
{
    if (hll_encoding_of((const unsigned char *)v->data) == HLL_DENSE) return 0;
    struct hll_work w;
    work_load(&w, v);
    if (work_to_dense(&w) < 0) {
        free(w.p);
        resp_add_error(c->out, ERR_CORRUPT);
        return -1;
    }
    char *p = kv_resize(c->kv, key->ptr, key->len, w.len, c->now_ms);
    memcpy(p, w.p, w.len); /* the cache is kept: the registers are the same */
    free(w.p);
    return 1;
}

static void pfdebug_getreg(struct cmd_ctx *c, const struct resp_arg *key, const struct kv_val *v)
{
    if (pfdebug_todense(c, key, v) < 0) return;
    v = kv_lookup_peek(c->kv, key->ptr, key->len, c->now_ms);
    const unsigned char *regs = (const unsigned char *)v->data + HLL_HDR_SIZE;
    resp_add_array_len(c->out, HLL_REGISTERS);
    for (uint32_t i = 0; i < HLL_REGISTERS; i++)
        resp_add_int(c->out, hll_dense_get(regs, i));
}

static void pfdebug_decode(struct cmd_ctx *c, const struct kv_val *v)
{
    const unsigned char *p = (const unsigned char *)v->data;
    if (hll_encoding_of(p) != HLL_SPARSE) {
        resp_add_error(c->out, "ERR HLL encoding is not sparse");
        return;
    }
    size_t n = hll_sparse_describe(p, v->len, NULL, 0);
    char *text = util_xmalloc(n + 1);
    hll_sparse_describe(p, v->len, text, n + 1);
    text[n] = '\0';
    resp_add_simple(c->out, text);
    free(text);
}

void cmd_pfdebug(struct cmd_ctx *c)
{
    const struct resp_arg *sub = &c->argv[1], *key = &c->argv[2];
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (!v) {
        resp_add_error(c->out, "ERR The specified key does not exist");
        return;
    }
    if (!is_hll(c, v)) return;
    if (cmd_arg_is(sub, "getreg")) {
        pfdebug_getreg(c, key, v);
    } else if (cmd_arg_is(sub, "decode")) {
        pfdebug_decode(c, v);
    } else if (cmd_arg_is(sub, "encoding")) {
        int sparse = hll_encoding_of((const unsigned char *)v->data) == HLL_SPARSE;
        resp_add_simple(c->out, sparse ? "sparse" : "dense");
    } else if (cmd_arg_is(sub, "todense")) {
        int r = pfdebug_todense(c, key, v);
        if (r >= 0) resp_add_int(c->out, r);
    } else {
        resp_add_errorf(c->out, "ERR Unknown PFDEBUG subcommand '%.*s'", (int)sub->len, sub->ptr);
    }
}

void cmd_pfselftest(struct cmd_ctx *c)
{
    char err[128];
    if (hll_selftest(err, sizeof err) < 0)
        resp_add_errorf(c->out, "ERR %s", err);
    else
        resp_add_simple(c->out, "OK");
}
