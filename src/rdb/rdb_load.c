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

static void list_elem(void *ud, const unsigned char *s, size_t len)
{
    t_list_append(ud, (const char *)s, len);
}

static int list_listpack(struct load *l, const unsigned char *lp, size_t len)
{
    uint64_t count;
    if (rdb_lp_check(lp, len, &count) != 0) return bad(l, "a list node's listpack is damaged");
    rdb_lp_foreach(lp, list_elem, l->v->obj);
    return 0;
}

static int load_list(struct load *l)
{
    uint64_t nodes = rdb_get_len(l->in);
    l->v->obj = t_list_new(l->lim);
    for (uint64_t i = 0; i < nodes && !l->in->failed; i++) {
        uint64_t container = rdb_get_len(l->in);
        size_t len = 0;
        char *data = rdb_get_string(l->in, &len);
        if (!data) break;
        int rc = 0;
        if (container == QUICKLIST_PLAIN && len >= QL_ELEMENT_MAX)
            rc = bad(l, "a list element too long");
        else if (container == QUICKLIST_PLAIN)
            t_list_append(l->v->obj, data, len);
        else if (container == QUICKLIST_PACKED)
            rc = list_listpack(l, (const unsigned char *)data, len);
        else
            rc = bad(l, "a list node of an unknown container");
        free(data);
        if (rc != 0) return -1;
    }
    if (!l->in->failed && t_list_ops.length(l->v->obj) == 0) return bad(l, "an empty list");
    return 0;
}

/* ----------------------------------------------------------------- sets */

static int set_add(struct load *l, const char *s, size_t len)
{
    if (!l->v->obj) l->v->obj = t_set_new();
    if (!t_set_add(&l->v->obj, l->lim, s, len)) return bad(l, "a set member twice");
    return 0;
}

static int load_set(struct load *l)
{
    uint64_t n = rdb_get_len(l->in);
    if (!l->in->failed && n == 0) return bad(l, "an empty set");
    for (uint64_t i = 0; i < n && !l->in->failed; i++) {
        size_t len;
        char *m = rdb_get_string(l->in, &len);
        if (!m) break;
        int rc = set_add(l, m, len);
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

static int load_zset2(struct load *l)
{
    uint64_t n = rdb_get_len(l->in);
    if (!l->in->failed && n == 0) return bad(l, "an empty sorted set");
    for (uint64_t i = 0; i < n && !l->in->failed; i++) {
        size_t len;
        char *m = rdb_get_string(l->in, &len);
        double score = rdb_get_double(l->in);
        int rc = m && !l->in->failed ? zset_add(l, m, len, score) : 0;
        free(m);
        if (rc != 0) return -1;
    }
    return 0;
}

/* A listpack of pairs (a hash's fields and values, a sorted set's members
 * and scores): checked whole, then each pair to add. */
typedef int pair_add_fn(struct load *l, const unsigned char *a, size_t alen, const unsigned char *b,
                        size_t blen);

static int load_pairs(struct load *l, pair_add_fn *add)
{
    size_t len;
    unsigned char *lp = (unsigned char *)rdb_get_string(l->in, &len);
    if (!lp) return 0;
    uint64_t count;
    int rc = rdb_lp_check(lp, len, &count) != 0 ? bad(l, "a damaged listpack")
             : count == 0 || count % 2 ? bad(l, "a listpack of pairs with an odd or no count")
                                       : 0;
    struct rdb_lp_it it;
    rdb_lp_first(&it, lp);
    const unsigned char *a, *b;
    size_t alen, blen;
    char abuf[RDB_LP_INTBUF], bbuf[RDB_LP_INTBUF];
    while (rc == 0 && rdb_lp_next(&it, &a, &alen, abuf) && rdb_lp_next(&it, &b, &blen, bbuf))
        rc = add(l, a, alen, b, blen);
    free(lp);
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

static int load_body(struct load *l, uint8_t type)
{
    struct rdb_value *v = l->v;
    switch (type) {
    case RDB_TYPE_STRING:
        v->type = KV_STRING;
        v->str = rdb_get_string(l->in, &v->len);
        return 0;
    case RDB_TYPE_LIST_QUICKLIST_2:
        v->type = KV_LIST;
        return load_list(l);
    case RDB_TYPE_SET:
        v->type = KV_SET;
        return load_set(l);
    case RDB_TYPE_SET_INTSET:
        v->type = KV_SET;
        return load_intset(l);
    case RDB_TYPE_ZSET_2:
        v->type = KV_ZSET;
        return load_zset2(l);
    case RDB_TYPE_ZSET_LISTPACK:
        v->type = KV_ZSET;
        return load_pairs(l, zset_lp_pair);
    case RDB_TYPE_HASH:
        v->type = KV_HASH;
        return load_hash(l);
    case RDB_TYPE_HASH_LISTPACK:
        v->type = KV_HASH;
        return load_pairs(l, hash_add);
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        v->type = KV_STREAM;
        return rdb_get_stream(l->in, type == RDB_TYPE_STREAM_LISTPACKS_2, (struct stream **)&v->obj,
                              l->err, l->errlen);
    default:
        return util_fail(l->err, l->errlen, -1,
                         "RDB type %u is not read yet (the encodings before RDB 10)", type);
    }
}

int rdb_get_value(struct rdb_in *in, const struct kv_limits *lim, struct rdb_value *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct load l = {in, lim, out, err, errlen};
    uint8_t type = rdb_get_byte(in);
    int rc = in->failed ? bad(&l, "an empty payload") : load_body(&l, type);
    if (rc == 0 && in->failed) rc = bad(&l, "the value runs past the payload or is malformed");
    if (rc != 0) rdb_value_free(out);
    return rc;
}

void rdb_value_free(struct rdb_value *v)
{
    if (v->obj) type_table[v->type]->free(v->obj);
    free(v->str);
    memset(v, 0, sizeof *v);
}
