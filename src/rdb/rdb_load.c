/*
 * src/rdb/rdb_load.c - values read from RDB's object encoding (see
 * rdb_load.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "base/util.h"
#include "ds/quicklist.h"
#include "rdb/rdb_load.h"
#include "rdb/rdb_lp.h"
#include "rdb/rdb_stream.h"
#include "rdb/rdb_value.h"
#include "rdb/rdb_zl.h"
#include "types/t_hash.h"
#include "types/t_list.h"
#include "types/t_set.h"
#include "types/t_zset.h"
#include "types/typetable.h"

#define QUICKLIST_PLAIN 1
#define QUICKLIST_PACKED 2

struct load {
    struct rdb_in *in;
    const struct kv_limits *lim;
    struct rdb_value *v;
    char *err;
    size_t errlen;
};

static int bad(struct load *l, const char *why)
{
    return util_fail(l->err, l->errlen, -1, "%s", why);
}

/* ---------------------------------------------------------------- lists */

/* enum rdb_pack's names, for the reasons given. */
static const char *const PACK_NAME[] = {"listpack", "ziplist", "zipmap"};
_Static_assert(sizeof PACK_NAME / sizeof PACK_NAME[0] == RDB_PACK_ZIPMAP + 1, "a name each");

static int list_add(struct load *l, const char *s, size_t len)
{
    if (len >= QL_ELEMENT_MAX) return bad(l, "a list element too long");
    if (!l->v->obj) l->v->obj = t_list_new(l->lim);
    t_list_append(l->v->obj, s, len);
    return 0;
}

/* A list node packed as kind: its elements appended. */
static int list_packed(struct load *l, enum rdb_pack kind, const unsigned char *p, size_t len)
{
    uint64_t count;
    if (rdb_pack_check(kind, p, len, &count) != 0)
        return util_fail(l->err, l->errlen, -1, "a list node's %s is damaged", PACK_NAME[kind]);
    struct rdb_pack_it it;
    rdb_pack_first(&it, kind, p);
    const unsigned char *s;
    size_t slen;
    char buf[RDB_LP_INTBUF];
    int rc = 0;
    while (rc == 0 && rdb_pack_next(&it, &s, &slen, buf))
        rc = list_add(l, (const char *)s, slen);
    return rc;
}

static int list_not_empty(struct load *l)
{
    if (l->in->failed || (l->v->obj && t_list_ops.length(l->v->obj) > 0)) return 0;
    return bad(l, "an empty list");
}

/* A quicklist: LIST_QUICKLIST_2's nodes, each a listpack or a plain
 * element (its container says), or LIST_QUICKLIST's, each a ziplist.
 * Redis refuses an empty node string and skips a node of no element. */
static int load_list(struct load *l, int version2)
{
    uint64_t nodes = rdb_get_len(l->in);
    for (uint64_t i = 0; i < nodes && !l->in->failed; i++) {
        uint64_t container = version2 ? rdb_get_len(l->in) : QUICKLIST_PACKED;
        size_t len = 0;
        char *data = rdb_get_string(l->in, &len);
        if (!data) break;
        int rc = 0;
        if (len == 0)
            rc = bad(l, "an empty list node");
        else if (container == QUICKLIST_PLAIN)
            rc = list_add(l, data, len);
        else if (container == QUICKLIST_PACKED)
            rc = list_packed(l, version2 ? RDB_PACK_LISTPACK : RDB_PACK_ZIPLIST,
                             (const unsigned char *)data, len);
        else
            rc = bad(l, "a list node of an unknown container");
        free(data);
        if (rc != 0) return -1;
    }
    return list_not_empty(l);
}

/* LIST_ZIPLIST: one ziplist. */
static int load_list_ziplist(struct load *l)
{
    size_t len;
    char *zl = rdb_get_string(l->in, &len);
    if (!zl) return 0;
    int rc = list_packed(l, RDB_PACK_ZIPLIST, (const unsigned char *)zl, len);
    free(zl);
    return rc != 0 ? rc : list_not_empty(l);
}

/* ----------------------------------------------------------------- sets */

static int set_add(struct load *l, const char *s, size_t len)
{
    if (!l->v->obj) l->v->obj = t_set_new();
    if (!t_set_add(&l->v->obj, l->lim, s, len)) return bad(l, "a set member twice");
    return 0;
}

/* A count and that many strings, each added (a set's members; LIST's
 * elements, before RDB 7's quicklists). */
typedef int elem_add_fn(struct load *l, const char *s, size_t len);

static int load_strings(struct load *l, elem_add_fn *add)
{
    uint64_t n = rdb_get_len(l->in);
    if (!l->in->failed && n == 0) return bad(l, "an empty collection");
    for (uint64_t i = 0; i < n && !l->in->failed; i++) {
        size_t len;
        char *m = rdb_get_string(l->in, &len);
        if (!m) break;
        int rc = add(l, m, len);
        free(m);
        if (rc != 0) return -1;
    }
    return 0;
}

/* Redis's intset: u32 width (2, 4, 8), u32 count, ascending members. */
static int load_intset(struct load *l)
{
    size_t len;
    unsigned char *is = (unsigned char *)rdb_get_string(l->in, &len);
    if (!is) return 0;
    uint32_t width = len >= 8 ? le_get32(is) : 0, count = len >= 8 ? le_get32(is + 4) : 0;
    int rc = 0;
    if ((width != 2 && width != 4 && width != 8) || count == 0 ||
        (uint64_t)count * width != len - 8) {
        rc = bad(l, "a damaged intset");
    }
    int shift = rc == 0 ? 64 - 8 * (int)width : 0; /* width is 2, 4 or 8 once checked */
    long long prev = 0;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        long long v = (long long)(le_get(is + 8 + (size_t)i * width, (int)width) << shift) >> shift;
        if (i > 0 && v <= prev) {
            rc = bad(l, "an intset out of order");
            break;
        }
        prev = v;
        char digits[32];
        rc = set_add(l, digits, util_ll2str(digits, sizeof digits, v));
    }
    free(is);
    return rc;
}

/* ---------------------------------------------------------- sorted sets */

static int zset_add(struct load *l, const char *m, size_t len, double score)
{
    if (isnan(score)) return bad(l, "a NaN score");
    if (!l->v->obj) l->v->obj = t_zset_new();
    if (!t_zset_set(&l->v->obj, l->lim, m, len, score)) return bad(l, "a sorted set member twice");
    return 0;
}

/* ZSET_2 (binary scores) or ZSET (scores as text, before RDB 8). */
static int load_zset(struct load *l, double (*get_score)(struct rdb_in *in))
{
    uint64_t n = rdb_get_len(l->in);
    if (!l->in->failed && n == 0) return bad(l, "an empty sorted set");
    for (uint64_t i = 0; i < n && !l->in->failed; i++) {
        size_t len;
        char *m = rdb_get_string(l->in, &len);
        double score = m ? get_score(l->in) : 0;
        int rc = m && !l->in->failed ? zset_add(l, m, len, score) : 0;
        free(m);
        if (rc != 0) return -1;
    }
    return 0;
}

/* A packed container of pairs (a hash's fields and values, a sorted set's
 * members and scores): checked whole, then each pair to add. */
typedef int pair_add_fn(struct load *l, const unsigned char *a, size_t alen, const unsigned char *b,
                        size_t blen);

static int load_pairs(struct load *l, enum rdb_pack kind, pair_add_fn *add)
{
    size_t len;
    unsigned char *p = (unsigned char *)rdb_get_string(l->in, &len);
    if (!p) return 0;
    uint64_t count;
    int rc = rdb_pack_check(kind, p, len, &count) != 0
                 ? util_fail(l->err, l->errlen, -1, "a damaged %s", PACK_NAME[kind])
             : count == 0 || count % 2 ? bad(l, "pairs of an odd or no count")
                                       : 0;
    struct rdb_pack_it it;
    rdb_pack_first(&it, kind, p);
    const unsigned char *a, *b;
    size_t alen, blen;
    char abuf[RDB_LP_INTBUF], bbuf[RDB_LP_INTBUF];
    while (rc == 0 && rdb_pack_next(&it, &a, &alen, abuf) && rdb_pack_next(&it, &b, &blen, bbuf))
        rc = add(l, a, alen, b, blen);
    free(p);
    return rc;
}

static int zset_lp_pair(struct load *l, const unsigned char *m, size_t mlen, const unsigned char *s,
                        size_t slen)
{
    double score;
    if (!util_str2d((const char *)s, slen, &score)) return bad(l, "a score that is no number");
    return zset_add(l, (const char *)m, mlen, score);
}

/* ---------------------------------------------------------------- hashes */

static int hash_add(struct load *l, const unsigned char *f, size_t flen, const unsigned char *v,
                    size_t vlen)
{
    if (!l->v->obj) l->v->obj = t_hash_new();
    if (!t_hash_set(&l->v->obj, l->lim, (const char *)f, flen, (const char *)v, vlen))
        return bad(l, "a hash field twice");
    return 0;
}

static int load_hash(struct load *l)
{
    uint64_t n = rdb_get_len(l->in);
    if (!l->in->failed && n == 0) return bad(l, "an empty hash");
    for (uint64_t i = 0; i < n && !l->in->failed; i++) {
        size_t flen = 0, vlen = 0;
        char *f = rdb_get_string(l->in, &flen);
        char *v = f ? rdb_get_string(l->in, &vlen) : NULL;
        int rc = v ? hash_add(l, (unsigned char *)f, flen, (unsigned char *)v, vlen) : 0;
        free(f);
        free(v);
        if (rc != 0) return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- a value */

/* The kind of value an RDB type holds (a string for a type not read). */
static enum kv_type type_of(uint8_t type)
{
    switch (type) {
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2:
        return KV_LIST;
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET:
        return KV_SET;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK:
        return KV_ZSET;
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK:
        return KV_HASH;
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        return KV_STREAM;
    default:
        return KV_STRING;
    }
}

/* Redis 7.0's encodings (RDB 10), then the older ones it still reads;
 * every packed one through the same loaders (src/rdb/rdb_zl.h). */
static int load_body(struct load *l, uint8_t type)
{
    struct rdb_value *v = l->v;
    v->type = type_of(type);
    switch (type) {
    case RDB_TYPE_STRING:
        v->str = rdb_get_string(l->in, &v->len);
        return 0;
    case RDB_TYPE_LIST_QUICKLIST_2:
    case RDB_TYPE_LIST_QUICKLIST:
        return load_list(l, type == RDB_TYPE_LIST_QUICKLIST_2);
    case RDB_TYPE_SET:
        return load_strings(l, set_add);
    case RDB_TYPE_SET_INTSET:
        return load_intset(l);
    case RDB_TYPE_ZSET_2:
        return load_zset(l, rdb_get_double);
    case RDB_TYPE_ZSET_LISTPACK:
        return load_pairs(l, RDB_PACK_LISTPACK, zset_lp_pair);
    case RDB_TYPE_HASH:
        return load_hash(l);
    case RDB_TYPE_HASH_LISTPACK:
        return load_pairs(l, RDB_PACK_LISTPACK, hash_add);
    /* before RDB 10 */
    case RDB_TYPE_LIST:
        return load_strings(l, list_add);
    case RDB_TYPE_LIST_ZIPLIST:
        return load_list_ziplist(l);
    case RDB_TYPE_ZSET:
        return load_zset(l, rdb_get_double_text);
    case RDB_TYPE_ZSET_ZIPLIST:
        return load_pairs(l, RDB_PACK_ZIPLIST, zset_lp_pair);
    case RDB_TYPE_HASH_ZIPLIST:
        return load_pairs(l, RDB_PACK_ZIPLIST, hash_add);
    case RDB_TYPE_HASH_ZIPMAP:
        return load_pairs(l, RDB_PACK_ZIPMAP, hash_add);
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        return rdb_get_stream(l->in, type == RDB_TYPE_STREAM_LISTPACKS_2, (struct stream **)&v->obj,
                              l->err, l->errlen);
    default:
        return util_fail(l->err, l->errlen, -1, "RDB type %u is not read (modules' values)", type);
    }
}

int rdb_get_typed_value(struct rdb_in *in, uint8_t type, const struct kv_limits *lim,
                        struct rdb_value *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct load l = {in, lim, out, err, errlen};
    int rc = load_body(&l, type);
    if (rc == 0 && in->failed) rc = bad(&l, "the value runs past the payload or is malformed");
    if (rc != 0) rdb_value_free(out);
    return rc;
}

int rdb_get_value(struct rdb_in *in, const struct kv_limits *lim, struct rdb_value *out, char *err,
                  size_t errlen)
{
    uint8_t type = rdb_get_byte(in);
    if (in->failed) {
        memset(out, 0, sizeof *out);
        return util_fail(err, errlen, -1, "%s", "an empty payload");
    }
    return rdb_get_typed_value(in, type, lim, out, err, errlen);
}

void rdb_value_free(struct rdb_value *v)
{
    if (v->obj) type_table[v->type]->free(v->obj);
    free(v->str);
    memset(v, 0, sizeof *v);
}
