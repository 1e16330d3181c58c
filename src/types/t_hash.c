/*
 * src/types/t_hash.c - the hash type (see t_hash.h): the two encodings, the
 * keyspace's type operations, and the hash commands.
 */
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/digest.h"
#include "ds/dict.h"
#include "keyspace/kv.h"
#include "types/t_hash.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define HT_TAG ((uintptr_t)1)
#define ERR_HASH_NOT_INT "ERR hash value is not an integer"
#define ERR_HASH_NOT_FLOAT "ERR hash value is not a float"

/* A hashtable-encoded hash's value: length and bytes, one allocation. */
struct hval {
    uint32_t len;
    char data[];
};

/* --- the tagged object --- */

static int is_ht(const void *obj)
{
    return ((uintptr_t)obj & HT_TAG) != 0;
}

static struct dict *ht_of(const void *obj)
{
    return (struct dict *)((uintptr_t)obj & ~HT_TAG);
}

static void *tag_ht(struct dict *d)
{
    ASSERT(((uintptr_t)d & HT_TAG) == 0);
    return (void *)((uintptr_t)d | HT_TAG);
}

static struct hval *hval_new(const char *p, size_t len)
{
    ASSERT(len <= UINT32_MAX);
    struct hval *v = util_xmalloc(sizeof *v + len);
    v->len = (uint32_t)len;
    memcpy(v->data, p, len);
    return v;
}

static void hval_free(void *v)
{
    free(v);
}

static struct dict *ht_new(void)
{
    struct dict *d = util_xmalloc(sizeof *d);
    /* Each table gets its own seed (its address, scrambled): which fields
     * collide differs from hash to hash and from run to run. */
    uint64_t s = (uint64_t)(uintptr_t)d;
    dict_init(d, util_rand64(&s));
    return d;
}

static size_t h_len(const void *obj)
{
    ASSERT(obj);
    if (is_ht(obj)) return dict_size(ht_of(obj));
    ASSERT(lp_len(obj) % 2 == 0 && "a listpack hash holds field/value pairs");
    return lp_len(obj) / 2;
}

int t_hash_get(const void *obj, const char *field, size_t flen, const char **val, size_t *vlen,
               char buf[LP_INTBUF])
{
    if (is_ht(obj)) {
        struct dict_entry *e = dict_find(ht_of(obj), field, flen);
        if (!e) return 0;
        const struct hval *v = e->val;
        *val = v->data;
        *vlen = v->len;
        return 1;
    }
    const unsigned char *lp = obj;
    size_t pos = lp_find(lp, lp_first(lp), field, flen, 1);
    if (pos == lp_end(lp)) return 0;
    *val = lp_get(lp, lp_next(lp, pos), buf, vlen);
    return 1;
}

struct ht_visit {
    t_hash_pair_fn *fn;
    void *ud;
};

static void ht_visit_entry(void *ud, struct dict_entry *e)
{
    const struct ht_visit *hv = ud;
    const struct hval *v = e->val;
    hv->fn(hv->ud, e->key, e->key_len, v->data, v->len);
}

void t_hash_foreach(const void *obj, t_hash_pair_fn *fn, void *ud)
{
    if (is_ht(obj)) {
        struct ht_visit hv = {fn, ud};
        dict_foreach(ht_of(obj), ht_visit_entry, &hv);
        return;
    }
    const unsigned char *lp = obj;
    char fb[LP_INTBUF], vb[LP_INTBUF];
    for (size_t pos = lp_first(lp); pos < lp_end(lp);) {
        size_t flen, vlen;
        const char *f = lp_get(lp, pos, fb, &flen);
        pos = lp_next(lp, pos);
        const char *v = lp_get(lp, pos, vb, &vlen);
        pos = lp_next(lp, pos);
        fn(ud, f, flen, v, vlen);
    }
}

static void ht_add_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct dict *d = ud;
    struct dict_entry *e = dict_add(d, f, flen, hval_new(v, vlen), NULL);
    ASSERT(e && "a field twice in one hash");
    (void)e;
}

/* The hashtable holding the listpack's pairs (the listpack is freed). */
static void *convert(unsigned char *lp)
{
    struct dict *d = ht_new();
    t_hash_foreach(lp, ht_add_pair, d);
    ASSERT(dict_size(d) == h_len(lp) && "a field lost converting");
    lp_free(lp);
    return tag_ht(d);
}

/* 1 if a field or value of this length keeps a hash out of listpack. */
static int too_long(const struct kv_limits *lim, size_t len)
{
    return len > lim->hash_max_listpack_value;
}

/*
 * Sets field to value in *obj (converting it first when the pair would pass
 * a limit). Returns 1 if the field was created, 0 if updated.
 */
static int h_set(void **obj, const struct kv_limits *lim, const char *f, size_t flen, const char *v,
                 size_t vlen)
{
    ASSERT(obj && *obj && lim);
    if (!is_ht(*obj) && (too_long(lim, flen) || too_long(lim, vlen))) *obj = convert(*obj);
    ASSERT(is_ht(*obj) || (!too_long(lim, flen) && !too_long(lim, vlen)));
    if (is_ht(*obj)) {
        struct dict *d = ht_of(*obj);
        struct dict_entry *existing;
        struct hval *nv = hval_new(v, vlen);
        if (dict_add(d, f, flen, nv, &existing)) return 1;
        hval_free(existing->val);
        existing->val = nv;
        return 0;
    }
    unsigned char *lp = *obj;
    size_t pos = lp_find(lp, lp_first(lp), f, flen, 1);
    if (pos != lp_end(lp)) {
        *obj = lp_replace(lp, lp_next(lp, pos), v, vlen);
        return 0;
    }
    uint32_t before = lp_len(lp);
    lp = lp_append(lp, f, flen);
    lp = lp_append(lp, v, vlen);
    ASSERT(lp_len(lp) == before + 2);
    *obj = lp_len(lp) / 2 > lim->hash_max_listpack_entries ? convert(lp) : lp;
    ASSERT(is_ht(*obj) || h_len(*obj) <= lim->hash_max_listpack_entries);
    return 1;
}

void *t_hash_new(void)
{
    return lp_new();
}

int t_hash_set(void **hash, const struct kv_limits *lim, const char *f, size_t flen, const char *v,
               size_t vlen)
{
    return h_set(hash, lim, f, flen, v, vlen);
}

/* Deletes field from *obj; returns 1 if it was there. */
static int h_del(void **obj, const char *f, size_t flen)
{
    ASSERT(obj && *obj);
    if (is_ht(*obj)) {
        void *old;
        if (!dict_delete(ht_of(*obj), f, flen, &old)) return 0;
        hval_free(old);
        return 1;
    }
    unsigned char *lp = *obj;
    size_t pos = lp_find(lp, lp_first(lp), f, flen, 1);
    if (pos == lp_end(lp)) return 0;
    *obj = lp_delete(lp, pos, 2);
    return 1;
}

/* --- type operations (src/keyspace/types.h) --- */

static const char *h_encoding(const void *obj)
{
    return is_ht(obj) ? "hashtable" : "listpack";
}

static void h_free(void *obj)
{
    if (!is_ht(obj)) {
        lp_free(obj);
        return;
    }
    struct dict *d = ht_of(obj);
    dict_free(d, hval_free);
    free(d);
}

static void *h_dup(const void *obj)
{
    if (!is_ht(obj)) return lp_dup(obj);
    struct dict *d = ht_new();
    t_hash_foreach(obj, ht_add_pair, d);
    ASSERT(dict_size(d) == h_len(obj));
    return tag_ht(d);
}

struct mem_walk {
    size_t bytes, seen, max;
};

static void mem_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct mem_walk *m = ud;
    if (m->max && m->seen >= m->max) return;
    m->seen++;
    m->bytes += sizeof(struct dict_entry) + flen + 1 + sizeof(struct hval) + vlen;
    (void)f;
    (void)v;
}

static size_t h_memory(const void *obj, size_t samples)
{
    if (!is_ht(obj)) return malloc_usable_size((void *)obj);
    const struct dict *d = ht_of(obj);
    struct mem_walk m = {0, 0, samples};
    t_hash_foreach(obj, mem_pair, &m);
    size_t n = dict_size(d);
    size_t elems = m.seen ? m.bytes / m.seen * n : 0;
    return sizeof *d + dict_table_bytes(d) + elems;
}

static struct dict *h_members(const void *obj)
{
    return is_ht(obj) ? ht_of(obj) : NULL;
}

static size_t h_length(const void *obj)
{
    return h_len(obj);
}

/* Payload: count | count x (field | value) (types.h framing). */
struct save_ctx {
    type_put_fn *put;
    void *ud;
};

static void save_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct save_ctx *s = ud;
    type_put_str(s->put, s->ud, f, flen);
    type_put_str(s->put, s->ud, v, vlen);
}

static void h_save(const void *obj, type_put_fn *put, void *ud)
{
    struct save_ctx s = {put, ud};
    type_put_u32(put, ud, (uint32_t)h_len(obj));
    t_hash_foreach(obj, save_pair, &s);
}

static void digest_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    digest_xor_pair(ud, f, flen, v, vlen);
}

static void h_digest(const void *obj, unsigned char d[DIGEST_LEN])
{
    t_hash_foreach(obj, digest_pair, d);
}

static void *h_load(const unsigned char *p, size_t len, const struct kv_limits *lim, char *err,
                    size_t errlen)
{
    struct type_reader r = {p, len, 0};
    uint32_t count;
    if (type_get_count(&r, 8, &count, err, errlen) < 0) return NULL;
    void *obj = lp_new();
    for (uint32_t i = 0; i < count; i++) {
        const char *f, *v;
        size_t flen, vlen;
        if (type_get_str(&r, &f, &flen) < 0 || type_get_str(&r, &v, &vlen) < 0 ||
            !h_set(&obj, lim, f, flen, v, vlen)) {
            snprintf(err, errlen, "field %u truncated or repeated", i);
            h_free(obj);
            return NULL;
        }
    }
    if (type_get_end(&r, err, errlen) < 0) {
        h_free(obj);
        return NULL;
    }
    return obj;
}

const struct kv_type_ops t_hash_ops = {
    .name = "hash",
    .encoding = h_encoding,
    .free = h_free,
    .dup = h_dup,
    .length = h_length,
    .memory = h_memory,
    .members = h_members,
    .save = h_save,
    .load = h_load,
    .digest = h_digest,
};

/* --- command helpers --- */

/* The hash at argv[1] for a read: NULL if absent; *wrong after replying
 * WRONGTYPE. */
static struct kv_val *lookup_read(struct cmd_ctx *c, int *wrong)
{
    struct kv_val *v = kv_lookup_read(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    *wrong = cmd_wrongtype(c, v, KV_HASH);
    ASSERT(*wrong || !v || v->type == KV_HASH);
    return *wrong ? NULL : v;
}

/* The hash at argv[1] for a write, created empty (a listpack) when absent;
 * NULL after replying WRONGTYPE. */
static struct kv_val *lookup_create(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (cmd_wrongtype(c, v, KV_HASH)) return NULL;
    if (v) return v;
    kv_set_obj(c->kv, key->ptr, key->len, KV_HASH, lp_new(), KV_NO_EXPIRE, c->now_ms);
    v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    ASSERT(v && v->type == KV_HASH && "a hash just created is not there");
    return v;
}

/* Sets field/value pairs argv[first..] in v; returns the fields created. */
static long long set_pairs(struct cmd_ctx *c, struct kv_val *v, int first)
{
    void *obj = kv_val_obj(v);
    size_t n0 = h_len(obj);
    long long created = 0;
    for (int j = first; j + 1 < c->argc; j += 2)
        created += h_set(&obj, &c->kv->common->limits, c->argv[j].ptr, c->argv[j].len,
                         c->argv[j + 1].ptr, c->argv[j + 1].len);
    ASSERT(h_len(obj) == n0 + (size_t)created && h_len(obj) > 0);
    kv_val_set_obj(v, obj);
    kv_modified(c->kv, c->argv[1].ptr, c->argv[1].len);
    return created;
}

/* --- commands --- */

static void hset_generic(struct cmd_ctx *c, const char *name, int ok_reply)
{
    if (c->argc % 2 == 1) {
        resp_add_errorf(c->out, ERR_ARITY_FMT, name);
        return;
    }
    struct kv_val *v = lookup_create(c);
    if (!v) return;
    long long created = set_pairs(c, v, 2);
    cmd_notify(c, NOTIFY_HASH, "hset", &c->argv[1]);
    if (ok_reply)
        resp_add_simple(c->out, "OK");
    else
        resp_add_int(c->out, created);
}

void cmd_hset(struct cmd_ctx *c)
{
    hset_generic(c, "hset", 0);
}

void cmd_hmset(struct cmd_ctx *c)
{
    hset_generic(c, "hmset", 1);
}

void cmd_hsetnx(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (cmd_wrongtype(c, v, KV_HASH)) return;
    const char *val;
    size_t vlen;
    char buf[LP_INTBUF];
    if (v && t_hash_get(kv_val_obj(v), c->argv[2].ptr, c->argv[2].len, &val, &vlen, buf)) {
        resp_add_int(c->out, 0);
        return;
    }
    if (!(v = lookup_create(c))) return;
    set_pairs(c, v, 2);
    cmd_notify(c, NOTIFY_HASH, "hset", key);
    resp_add_int(c->out, 1);
}

static void reply_field(struct cmd_ctx *c, const struct kv_val *v, const struct resp_arg *f)
{
    const char *val;
    size_t vlen;
    char buf[LP_INTBUF];
    if (v && t_hash_get(kv_val_obj(v), f->ptr, f->len, &val, &vlen, buf))
        resp_add_bulk(c->out, val, vlen);
    else
        resp_add_null(c->out);
}

void cmd_hget(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (!wrong) reply_field(c, v, &c->argv[2]);
}

void cmd_hmget(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (wrong) return;
    resp_add_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_field(c, v, &c->argv[j]);
}

void cmd_hdel(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (cmd_wrongtype(c, v, KV_HASH)) return;
    long long deleted = 0;
    if (v) {
        void *obj = kv_val_obj(v);
        size_t n0 = h_len(obj);
        for (int j = 2; j < c->argc; j++)
            deleted += h_del(&obj, c->argv[j].ptr, c->argv[j].len);
        ASSERT((size_t)deleted <= n0 && h_len(obj) == n0 - (size_t)deleted);
        kv_val_set_obj(v, obj);
        if (deleted) cmd_notify(c, NOTIFY_HASH, "hdel", key);
        if (h_len(obj) == 0) {
            kv_delete(c->kv, key->ptr, key->len, c->now_ms);
            cmd_notify(c, NOTIFY_GENERIC, "del", key);
        } else if (deleted) {
            kv_modified(c->kv, key->ptr, key->len);
        }
    }
    resp_add_int(c->out, deleted);
}

void cmd_hlen(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (!wrong) resp_add_int(c->out, v ? (long long)h_len(kv_val_obj(v)) : 0);
}

void cmd_hstrlen(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (wrong) return;
    const char *val;
    size_t vlen = 0;
    char buf[LP_INTBUF];
    if (!v || !t_hash_get(kv_val_obj(v), c->argv[2].ptr, c->argv[2].len, &val, &vlen, buf))
        vlen = 0;
    resp_add_int(c->out, (long long)vlen);
}

void cmd_hexists(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (wrong) return;
    const char *val;
    size_t vlen;
    char buf[LP_INTBUF];
    resp_add_int(c->out,
                 v && t_hash_get(kv_val_obj(v), c->argv[2].ptr, c->argv[2].len, &val, &vlen, buf));
}

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

struct getall {
    struct resp_out *out;
    int what;
    size_t seen; /* pairs replied: as many as the length announced */
};

static void reply_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct getall *g = ud;
    g->seen++;
    if (g->what & WANT_FIELDS) resp_add_bulk(g->out, f, flen);
    if (g->what & WANT_VALUES) resp_add_bulk(g->out, v, vlen);
}

static void getall_generic(struct cmd_ctx *c, int what)
{
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (wrong) return;
    long n = v ? (long)h_len(kv_val_obj(v)) : 0;
    if (what == (WANT_FIELDS | WANT_VALUES))
        resp_add_map_len(c->out, n);
    else
        resp_add_array_len(c->out, n);
    struct getall g = {c->out, what, 0};
    if (v) t_hash_foreach(kv_val_obj(v), reply_pair, &g);
    ASSERT(g.seen == (size_t)n && "a hash's pairs disagree with its length");
}

void cmd_hkeys(struct cmd_ctx *c)
{
    getall_generic(c, WANT_FIELDS);
}

void cmd_hvals(struct cmd_ctx *c)
{
    getall_generic(c, WANT_VALUES);
}

void cmd_hgetall(struct cmd_ctx *c)
{
    getall_generic(c, WANT_FIELDS | WANT_VALUES);
}

/* The current value of argv[2] in the hash at argv[1] (created if absent),
 * for HINCRBY/HINCRBYFLOAT: *v the hash, *cur, *clen the value (NULL when
 * the field is absent). Returns -1 after replying WRONGTYPE. */
static int incr_lookup(struct cmd_ctx *c, struct kv_val **v, const char **cur, size_t *clen,
                       char buf[LP_INTBUF])
{
    if (!(*v = lookup_create(c))) return -1;
    ASSERT((*v)->type == KV_HASH);
    if (!t_hash_get(kv_val_obj(*v), c->argv[2].ptr, c->argv[2].len, cur, clen, buf)) *cur = NULL;
    return 0;
}

/* Stores text as argv[2]'s value in v (after an increment). */
static void store_field(struct cmd_ctx *c, struct kv_val *v, const char *text, size_t len)
{
    void *obj = kv_val_obj(v);
    h_set(&obj, &c->kv->common->limits, c->argv[2].ptr, c->argv[2].len, text, len);
    kv_val_set_obj(v, obj);
    kv_modified(c->kv, c->argv[1].ptr, c->argv[1].len);
}

/* An absent hash created by a failed increment is removed again, so an
 * error leaves the keyspace as it was. */
static void drop_if_empty(struct cmd_ctx *c, struct kv_val *v)
{
    if (h_len(kv_val_obj(v)) == 0) kv_delete(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
}

void cmd_hincrby(struct cmd_ctx *c)
{
    long long incr, value = 0;
    if (cmd_arg_ll(c, 3, &incr) < 0) return;
    struct kv_val *v;
    const char *cur;
    size_t clen;
    char buf[LP_INTBUF];
    if (incr_lookup(c, &v, &cur, &clen, buf) < 0) return;
    if (cur && !util_str2ll(cur, clen, &value)) {
        resp_add_error(c->out, ERR_HASH_NOT_INT);
        drop_if_empty(c, v);
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        resp_add_error(c->out, ERR_OVERFLOW);
        drop_if_empty(c, v);
        return;
    }
    value += incr;
    char out[UTIL_LL_STR_SIZE];
    store_field(c, v, out, util_ll2str(out, sizeof out, value));
    cmd_notify(c, NOTIFY_HASH, "hincrby", &c->argv[1]);
    resp_add_int(c->out, value);
}

void cmd_hincrbyfloat(struct cmd_ctx *c)
{
    long double incr, value = 0;
    if (!util_str2ld(c->argv[3].ptr, c->argv[3].len, &incr)) {
        resp_add_error(c->out, ERR_NOT_FLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        resp_add_error(c->out, "ERR value is NaN or Infinity");
        return;
    }
    struct kv_val *v;
    const char *cur;
    size_t clen;
    char buf[LP_INTBUF];
    if (incr_lookup(c, &v, &cur, &clen, buf) < 0) return;
    if (cur && !util_str2ld(cur, clen, &value)) {
        resp_add_error(c->out, ERR_HASH_NOT_FLOAT);
        drop_if_empty(c, v);
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        resp_add_error(c->out, "ERR increment would produce NaN or Infinity");
        drop_if_empty(c, v);
        return;
    }
    char out[UTIL_LONG_DOUBLE_CHARS_MAX];
    size_t n = util_ld2str(out, sizeof out, value, 1);
    store_field(c, v, out, n);
    cmd_notify(c, NOTIFY_HASH, "hincrbyfloat", &c->argv[1]);
    resp_add_bulk(c->out, out, n);
}

/* --- HRANDFIELD --- */

struct pair_ref {
    const char *f, *v;
    size_t flen, vlen;
};

struct collect {
    struct pair_ref *pairs;
    size_t n;
    char *ints; /* rendered listpack integers, LP_INTBUF each, 2 per pair */
};

static void collect_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct collect *col = ud;
    struct pair_ref *p = &col->pairs[col->n];
    /* A listpack integer is rendered into a buffer that is reused: keep a
     * copy of its digits (they fit LP_INTBUF). */
    char *slot = col->ints + col->n * 2 * LP_INTBUF;
    if (flen < LP_INTBUF) f = memcpy(slot, f, flen);
    if (vlen < LP_INTBUF) v = memcpy(slot + LP_INTBUF, v, vlen);
    *p = (struct pair_ref){f, v, flen, vlen};
    col->n++;
}

static void reply_random_pair(struct cmd_ctx *c, const struct pair_ref *p, int withvalues)
{
    if (withvalues && c->out->proto == 3) resp_add_array_len(c->out, 2);
    resp_add_bulk(c->out, p->f, p->flen);
    if (withvalues) resp_add_bulk(c->out, p->v, p->vlen);
}

/* count fields: distinct ones when count >= 0 (all of them when count >=
 * the size), -count draws with repetition when negative. */
static void randfield_count(struct cmd_ctx *c, const void *obj, long long count, int withvalues)
{
    size_t n = h_len(obj);
    struct collect col = {util_xmalloc(n * sizeof *col.pairs), 0, util_xmalloc(n * 2 * LP_INTBUF)};
    t_hash_foreach(obj, collect_pair, &col);
    ASSERT(col.n == n && n > 0);
    int unique = count >= 0;
    uint64_t want = unique ? ((uint64_t)count < n ? (uint64_t)count : n) : (uint64_t)-count;
    long items = (long)want;
    if (withvalues && c->out->proto == 2) items *= 2;
    resp_add_array_len(c->out, items);
    for (uint64_t i = 0; i < want; i++) {
        if (!unique) {
            reply_random_pair(c, &col.pairs[util_rand_below(&c->rng, n)], withvalues);
            continue;
        }
        /* Partial Fisher-Yates: pairs[0..i) are the ones chosen so far. */
        uint64_t k = i + util_rand_below(&c->rng, n - i);
        struct pair_ref t = col.pairs[i];
        col.pairs[i] = col.pairs[k];
        col.pairs[k] = t;
        reply_random_pair(c, &col.pairs[i], withvalues);
    }
    free(col.pairs);
    free(col.ints);
}

void cmd_hrandfield(struct cmd_ctx *c)
{
    long long count = 0;
    int withvalues = 0;
    if (c->argc >= 3) {
        if (cmd_arg_ll(c, 2, &count) < 0) return;
        if (c->argc > 4 || (c->argc == 4 && !cmd_arg_is(&c->argv[3], "withvalues"))) {
            resp_add_error(c->out, ERR_SYNTAX);
            return;
        }
        withvalues = c->argc == 4;
        if ((withvalues && count < -LONG_MAX / 2) || count < -LONG_MAX) {
            resp_add_error(c->out, "ERR value is out of range");
            return;
        }
    }
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (wrong) return;
    if (c->argc >= 3) {
        if (!v || count == 0)
            resp_add_array_len(c->out, 0);
        else
            randfield_count(c, kv_val_obj(v), count, withvalues);
        return;
    }
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    const void *obj = kv_val_obj(v);
    size_t n = h_len(obj);
    struct collect col = {util_xmalloc(n * sizeof *col.pairs), 0, util_xmalloc(n * 2 * LP_INTBUF)};
    t_hash_foreach(obj, collect_pair, &col);
    ASSERT(col.n == n && n > 0 && "an empty hash stored");
    const struct pair_ref *p = &col.pairs[util_rand_below(&c->rng, n)];
    resp_add_bulk(c->out, p->f, p->flen);
    free(col.pairs);
    free(col.ints);
}

/* --- HSCAN --- */

static void scan_pair(void *ud, const char *f, size_t flen, const char *v, size_t vlen)
{
    struct cmd_scan_page *pg = ud;
    if (!cmd_scan_page_take(pg, f, flen)) return;
    resp_add_bulk(&pg->body, f, flen);
    resp_add_bulk(&pg->body, v, vlen);
    pg->n += 2;
}

static void scan_entry(void *ud, struct dict_entry *e)
{
    const struct hval *v = e->val;
    scan_pair(ud, e->key, e->key_len, v->data, v->len);
}

/* A listpack hash is returned whole with cursor 0, as Redis does; a
 * hashtable is walked a page at a time. */
void cmd_hscan(struct cmd_ctx *c)
{
    uint64_t cursor;
    struct cmd_scan_opts o;
    if (!cmd_scan_cursor(c, 2, &cursor) || cmd_scan_opts(c, 3, 0, &o) < 0) return;
    int wrong;
    struct kv_val *v = lookup_read(c, &wrong);
    if (wrong) return;
    struct cmd_scan_page pg;
    cmd_scan_page_init(&pg, &o);
    void *obj = v ? kv_val_obj(v) : NULL;
    uint64_t next = 0;
    if (obj && is_ht(obj))
        next = cmd_scan_page_dict(&pg, ht_of(obj), cursor, scan_entry);
    else if (obj)
        t_hash_foreach(obj, scan_pair, &pg);
    cmd_scan_page_reply(c, &pg, next);
}
