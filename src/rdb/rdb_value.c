/*
 * src/rdb/rdb_value.c - values in RDB's object encoding (see rdb_value.h).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "base/util.h"
#include "ds/listpack.h"
#include "ds/quicklist.h"
#include "raft/raft_assert.h"
#include "rdb/rdb_io.h"
#include "rdb/rdb_lp.h"
#include "rdb/rdb_stream.h"
#include "rdb/rdb_value.h"
#include "types/t_hash.h"
#include "types/t_set.h"
#include "types/t_zset.h"
#include "types/typetable.h"

#define QUICKLIST_PACKED 2 /* a node's container: a listpack */

struct put {
    struct text *out;
    struct rdb_lp lp;
    int compress;
    const char *key; /* written after the type byte, or NULL (a DUMP's value) */
    size_t klen;
};

/* The type byte, and the key when there is one (a dump.rdb's record). */
static void put_type(struct put *p, enum rdb_type type)
{
    rdb_put_byte(p->out, (uint8_t)type);
    if (p->key) rdb_put_string(p->out, p->key, p->klen, p->compress);
}

/* The listpack built so far, written as one string. */
static void put_lp(struct put *p)
{
    size_t len;
    unsigned char *lp = rdb_lp_end(&p->lp, &len);
    rdb_put_string(p->out, lp, len, p->compress);
    free(lp);
}

static void put_list_node(void *ud, const unsigned char *lp, size_t bytes)
{
    (void)bytes;
    struct put *p = ud;
    rdb_put_len(p->out, QUICKLIST_PACKED);
    rdb_lp_begin(&p->lp);
    rdb_lp_add_listpack(&p->lp, lp);
    put_lp(p);
}

static void put_list(struct put *p, const struct quicklist *ql)
{
    put_type(p, RDB_TYPE_LIST_QUICKLIST_2);
    rdb_put_len(p->out, ql->nodes);
    ql_foreach_listpack(ql, put_list_node, p);
}

/* ----------------------------------------------------------------- sets */

struct intset_build {
    int64_t *v;
    size_t n;
};

static void collect_int(void *ud, const char *s, size_t len)
{
    struct intset_build *b = ud;
    long long v = 0;
    int ok = util_str2ll(s, len, &v);
    ASSERT(ok); /* an intset holds integers only */
    b->v[b->n++] = v;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Redis's intset: u32 width, u32 count, the members ascending in that
 * width, all little-endian. */
static void put_intset(struct put *p, const void *set, size_t n)
{
    struct intset_build b = {util_xmalloc((n ? n : 1) * sizeof *b.v), 0};
    t_set_foreach(set, collect_int, &b);
    qsort(b.v, b.n, sizeof *b.v, cmp_i64);
    uint32_t width = 2;
    for (size_t i = 0; i < b.n; i++) {
        if (b.v[i] < INT32_MIN || b.v[i] > INT32_MAX)
            width = 8;
        else if ((b.v[i] < INT16_MIN || b.v[i] > INT16_MAX) && width < 4)
            width = 4;
    }
    size_t len = 8 + b.n * width;
    unsigned char *is = util_xmalloc(len);
    le_put32(is, width);
    le_put32(is + 4, (uint32_t)b.n);
    for (size_t i = 0; i < b.n; i++)
        le_put(is + 8 + i * width, (uint64_t)b.v[i], (int)width);
    put_type(p, RDB_TYPE_SET_INTSET);
    rdb_put_string(p->out, is, len, p->compress);
    free(is);
    free(b.v);
}

static void put_member(void *ud, const char *s, size_t len)
{
    struct put *p = ud;
    rdb_put_string(p->out, s, len, p->compress);
}

static void put_set(struct put *p, const void *set)
{
    size_t n = t_set_size(set);
    if (!strcmp(t_set_ops.encoding(set), "intset")) {
        put_intset(p, set, n);
        return;
    }
    put_type(p, RDB_TYPE_SET);
    rdb_put_len(p->out, n);
    t_set_foreach(set, put_member, p);
}

/* --------------------------------------------------------- sorted sets */

/* Redis's double2ll: d as a long long when it is one and well inside
 * the range. */
static int double_as_ll(double d, long long *out)
{
    if (d < (double)(-LLONG_MAX / 2) || d > (double)(LLONG_MAX / 2)) return 0;
    long long ll = (long long)d;
    if ((double)ll != d) return 0;
    *out = ll;
    return 1;
}

/* A score in a sorted set's listpack, as Redis's zzlInsertAt writes it:
 * an integer entry, else d2string's text. */
static void lp_add_score(struct rdb_lp *lp, double score)
{
    long long ll;
    if (double_as_ll(score, &ll)) {
        rdb_lp_add_int(lp, ll);
        return;
    }
    char buf[64];
    int n = isinf(score) ? snprintf(buf, sizeof buf, "%s", score < 0 ? "-inf" : "inf")
                         : snprintf(buf, sizeof buf, "%.17g", score);
    rdb_lp_add(lp, buf, (size_t)n);
}

static void put_zset_lp_elem(void *ud, const char *m, size_t len, double score)
{
    struct put *p = ud;
    rdb_lp_add(&p->lp, m, len);
    lp_add_score(&p->lp, score);
}

static void put_zset_elem(void *ud, const char *m, size_t len, double score)
{
    struct put *p = ud;
    rdb_put_string(p->out, m, len, p->compress);
    rdb_put_double(p->out, score);
}

static void put_zset(struct put *p, const void *zs)
{
    if (!strcmp(t_zset_ops.encoding(zs), "listpack")) {
        put_type(p, RDB_TYPE_ZSET_LISTPACK);
        rdb_lp_begin(&p->lp);
        t_zset_foreach(zs, 0, put_zset_lp_elem, p);
        put_lp(p);
        return;
    }
    put_type(p, RDB_TYPE_ZSET_2);
    rdb_put_len(p->out, t_zset_size(zs));
    t_zset_foreach(zs, 1, put_zset_elem, p); /* the greatest first, as Redis */
}

/* --------------------------------------------------------------- hashes */

static void put_hash_lp_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct put *p = ud;
    rdb_lp_add(&p->lp, f, flen);
    rdb_lp_add(&p->lp, v, vlen);
}

static void put_hash_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct put *p = ud;
    rdb_put_string(p->out, f, flen, p->compress);
    rdb_put_string(p->out, v, vlen, p->compress);
}

static void put_hash(struct put *p, const void *h)
{
    if (!strcmp(t_hash_ops.encoding(h), "listpack")) {
        put_type(p, RDB_TYPE_HASH_LISTPACK);
        rdb_lp_begin(&p->lp);
        t_hash_foreach(h, put_hash_lp_pair, p);
        put_lp(p);
        return;
    }
    put_type(p, RDB_TYPE_HASH);
    rdb_put_len(p->out, t_hash_ops.length(h));
    t_hash_foreach(h, put_hash_pair, p);
}

void rdb_put_keyed_value(struct text *out, const char *key, size_t klen, const struct kv_val *v,
                         int compress)
{
    struct put p = {.out = out, .compress = compress, .key = key, .klen = klen};
    switch ((enum kv_type)v->type) {
    case KV_STRING:
        put_type(&p, RDB_TYPE_STRING);
        rdb_put_string(out, v->data, v->len, compress);
        return;
    case KV_LIST:
        put_list(&p, kv_val_obj(v));
        return;
    case KV_SET:
        put_set(&p, kv_val_obj(v));
        return;
    case KV_ZSET:
        put_zset(&p, kv_val_obj(v));
        return;
    case KV_HASH:
        put_hash(&p, kv_val_obj(v));
        return;
    case KV_STREAM:
        put_type(&p, RDB_TYPE_STREAM_LISTPACKS_2);
        rdb_put_stream(out, kv_val_obj(v), compress);
        return;
    default:
        ASSERT(0 && "a value of no type");
    }
}

void rdb_put_value(struct text *out, const struct kv_val *v, int compress)
{
    rdb_put_keyed_value(out, NULL, 0, v, compress);
}
