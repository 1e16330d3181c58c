/*
 * src/types/t_set.c - the set type (see t_set.h): intset and hashtable encodings
 * in canonical order, the keyspace's type operations, and the commands on
 * one set (SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SPOP SRANDMEMBER
 * SSCAN). The commands between sets are in src/types/t_set_ops.c.
 */
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/digest.h"
#include "ds/dict.h"
#include "keyspace/kv.h"
#include "types/t_set.h"
#include "types/t_set_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define HT_TAG ((uintptr_t)1)

/* --- intset: sorted integers of one width --- */

struct intset {
    uint32_t count, width; /* width: 2, 4 or 8 bytes */
    unsigned char data[];
};

static int64_t is_get(const struct intset *s, uint32_t i)
{
    const unsigned char *p = s->data + (size_t)i * s->width;
    if (s->width == 2) {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    if (s->width == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void is_put(struct intset *s, uint32_t i, int64_t v)
{
    unsigned char *p = s->data + (size_t)i * s->width;
    if (s->width == 2) {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } else if (s->width == 4) {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

static uint32_t width_of(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static struct intset *is_new(void)
{
    struct intset *s = util_xmalloc(sizeof *s);
    s->count = 0;
    s->width = 2;
    return s;
}

/* 1 if v is in s; *pos is its position or where it would go. */
static int is_find(const struct intset *s, int64_t v, uint32_t *pos)
{
    uint32_t lo = 0, hi = s->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t m = is_get(s, mid);
        if (m == v) {
            *pos = mid;
            return 1;
        }
        if (m < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return 0;
}

/* Inserts v (absent) at pos, widening every element first if needed. */
static struct intset *is_insert(struct intset *s, uint32_t pos, int64_t v)
{
    ASSERT(pos <= s->count);
    uint32_t w = width_of(v);
    if (w > s->width) {
        struct intset *n = util_xmalloc(sizeof *n + (size_t)(s->count + 1) * w);
        n->count = s->count;
        n->width = w;
        for (uint32_t i = 0; i < s->count; i++)
            is_put(n, i, is_get(s, i));
        free(s);
        s = n;
    } else {
        s = util_xrealloc(s, sizeof *s + (size_t)(s->count + 1) * s->width);
    }
    memmove(s->data + (size_t)(pos + 1) * s->width, s->data + (size_t)pos * s->width,
            (size_t)(s->count - pos) * s->width);
    s->count++;
    is_put(s, pos, v);
    return s;
}

static struct intset *is_remove(struct intset *s, uint32_t pos)
{
    ASSERT(pos < s->count);
    memmove(s->data + (size_t)pos * s->width, s->data + (size_t)(pos + 1) * s->width,
            (size_t)(s->count - pos - 1) * s->width);
    s->count--;
    return util_xrealloc(s, sizeof *s + (size_t)s->count * s->width);
}

/* --- hashtable: a dict member -> index, and the array in canonical order --- */

struct hset {
    struct dict d;
    struct dict_entry **arr;
    size_t n, cap;
};

static struct hset *hs_new(void)
{
    struct hset *h = util_xcalloc(1, sizeof *h);
    uint64_t s = (uint64_t)(uintptr_t)h;
    dict_init(&h->d, util_rand64(&s));
    return h;
}

static int hs_add(struct hset *h, const char *p, size_t len)
{
    struct dict_entry *e = dict_add(&h->d, p, len, (void *)(uintptr_t)h->n, NULL);
    if (!e) return 0;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 8;
        h->arr = util_xrealloc(h->arr, h->cap * sizeof *h->arr);
    }
    h->arr[h->n++] = e;
    return 1;
}

/* Removes the member at array position i: the last one takes its place. */
static void hs_remove_at(struct hset *h, size_t i)
{
    ASSERT(i < h->n);
    struct dict_entry *e = h->arr[i], *last = h->arr[h->n - 1];
    ASSERT((size_t)(uintptr_t)e->val == i && "a member's index is not its array position");
    h->arr[i] = last;
    last->val = (void *)(uintptr_t)i;
    h->n--;
    char small[64];
    char *key = e->key_len < sizeof small ? small : util_xmalloc(e->key_len);
    size_t len = e->key_len;
    memcpy(key, e->key, len); /* the entry is freed by the delete */
    int deleted = dict_delete(&h->d, key, len, NULL);
    ASSERT(deleted);
    (void)deleted;
    if (key != small) free(key);
    ASSERT(h->n == dict_size(&h->d));
    if (h->cap > 16 && h->n < h->cap / 4) {
        h->cap /= 2;
        h->arr = util_xrealloc(h->arr, h->cap * sizeof *h->arr);
    }
}

static int hs_remove(struct hset *h, const char *p, size_t len)
{
    struct dict_entry *e = dict_find(&h->d, p, len);
    if (!e) return 0;
    hs_remove_at(h, (size_t)(uintptr_t)e->val);
    return 1;
}

/* --- the tagged object --- */

static int is_ht(const void *obj)
{
    return ((uintptr_t)obj & HT_TAG) != 0;
}

static struct hset *hs_of(const void *obj)
{
    return (struct hset *)((uintptr_t)obj & ~HT_TAG);
}

static void *tag_hs(struct hset *h)
{
    return (void *)((uintptr_t)h | HT_TAG);
}

size_t t_set_size(const void *obj)
{
    ASSERT(obj);
    return is_ht(obj) ? hs_of(obj)->n : ((const struct intset *)obj)->count;
}

const char *t_set_at(const void *obj, size_t i, char buf[UTIL_LL_STR_SIZE], size_t *len)
{
    if (is_ht(obj)) {
        const struct dict_entry *e = hs_of(obj)->arr[i];
        *len = e->key_len;
        return e->key;
    }
    *len = util_ll2str(buf, UTIL_LL_STR_SIZE, is_get(obj, (uint32_t)i));
    return buf;
}

void t_set_foreach(const void *obj, t_set_member_fn *fn, void *ud)
{
    char buf[UTIL_LL_STR_SIZE];
    size_t n = t_set_size(obj), len;
    for (size_t i = 0; i < n; i++) {
        const char *p = t_set_at(obj, i, buf, &len);
        fn(ud, p, len);
    }
}

int t_set_contains(const void *obj, const char *p, size_t len)
{
    if (is_ht(obj)) return dict_find(&hs_of(obj)->d, p, len) != NULL;
    long long v;
    uint32_t pos;
    return util_str2ll(p, len, &v) && is_find(obj, v, &pos);
}

void *t_set_new(void)
{
    return is_new();
}

static void add_to_hset(void *ud, const char *p, size_t len)
{
    hs_add(ud, p, len);
}

/* The hashtable holding the intset's members in its (sorted) order. */
static void *convert(struct intset *s)
{
    struct hset *h = hs_new();
    t_set_foreach(s, add_to_hset, h);
    ASSERT(h->n == s->count && "a member lost converting");
    free(s);
    return tag_hs(h);
}

int t_set_add(void **obj, const struct kv_limits *lim, const char *p, size_t len)
{
    ASSERT(obj && *obj && lim);
    if (!is_ht(*obj)) {
        struct intset *s = *obj;
        long long v;
        uint32_t pos;
        if (util_str2ll(p, len, &v)) {
            if (is_find(s, v, &pos)) return 0;
            if (s->count < lim->set_max_intset_entries) {
                *obj = is_insert(s, pos, v);
                ASSERT(t_set_size(*obj) <= lim->set_max_intset_entries);
                return 1;
            }
        }
        *obj = convert(s);
    }
    struct hset *h = hs_of(*obj);
    int added = hs_add(h, p, len);
    ASSERT(h->n == dict_size(&h->d) && "the member array and the dict disagree");
    return added;
}

int t_set_remove(void **obj, const char *p, size_t len)
{
    if (is_ht(*obj)) return hs_remove(hs_of(*obj), p, len);
    long long v;
    uint32_t pos;
    if (!util_str2ll(p, len, &v) || !is_find(*obj, v, &pos)) return 0;
    *obj = is_remove(*obj, pos);
    return 1;
}

void t_set_remove_at(void **obj, size_t i)
{
    ASSERT(i < t_set_size(*obj));
    if (is_ht(*obj))
        hs_remove_at(hs_of(*obj), i);
    else
        *obj = is_remove(*obj, (uint32_t)i);
}

/* --- type operations (src/keyspace/types.h) --- */

static const char *s_encoding(const void *obj)
{
    return is_ht(obj) ? "hashtable" : "intset";
}

void t_set_free(void *obj)
{
    if (!is_ht(obj)) {
        free(obj);
        return;
    }
    struct hset *h = hs_of(obj);
    dict_free(&h->d, NULL);
    free(h->arr);
    free(h);
}

static void *s_dup(const void *obj)
{
    if (!is_ht(obj)) {
        const struct intset *s = obj;
        size_t n = sizeof *s + (size_t)s->count * s->width;
        return memcpy(util_xmalloc(n), obj, n);
    }
    struct hset *h = hs_new();
    t_set_foreach(obj, add_to_hset, h);
    ASSERT(h->n == t_set_size(obj));
    return tag_hs(h);
}

static size_t s_length(const void *obj)
{
    return t_set_size(obj);
}

static struct dict *s_members(const void *obj)
{
    return is_ht(obj) ? &hs_of(obj)->d : NULL;
}

static size_t s_memory(const void *obj, size_t samples)
{
    if (!is_ht(obj)) return malloc_usable_size((void *)obj);
    const struct hset *h = hs_of(obj);
    size_t n = h->n, k = samples && samples < n ? samples : n, bytes = 0;
    for (size_t i = 0; i < k; i++)
        bytes += sizeof(struct dict_entry) + h->arr[i]->key_len + 1;
    size_t elems = k ? bytes / k * n : 0;
    return sizeof *h + dict_table_bytes(&h->d) + h->cap * sizeof *h->arr + elems;
}

/* Payload: count | count x member, in canonical order (types.h framing). */
struct save_ctx {
    type_put_fn *put;
    void *ud;
};

static void save_member(void *ud, const char *p, size_t len)
{
    struct save_ctx *s = ud;
    type_put_str(s->put, s->ud, p, len);
}

static void s_save(const void *obj, type_put_fn *put, void *ud)
{
    struct save_ctx s = {put, ud};
    type_put_u32(put, ud, (uint32_t)t_set_size(obj));
    t_set_foreach(obj, save_member, &s);
}

static void digest_member(void *ud, const char *p, size_t len)
{
    digest_xor(ud, p, len);
}

static void s_digest(const void *obj, unsigned char d[DIGEST_LEN])
{
    t_set_foreach(obj, digest_member, d);
}

static void *s_load(const unsigned char *p, size_t len, const struct kv_limits *lim, char *err,
                    size_t errlen)
{
    struct type_reader r = {p, len, 0};
    uint32_t count;
    if (type_get_count(&r, 4, &count, err, errlen) < 0) return NULL;
    void *obj = t_set_new();
    for (uint32_t i = 0; i < count; i++) {
        const char *m;
        size_t mlen;
        if (type_get_str(&r, &m, &mlen) < 0 || !t_set_add(&obj, lim, m, mlen)) {
            snprintf(err, errlen, "member %u truncated or repeated", i);
            t_set_free(obj);
            return NULL;
        }
    }
    if (type_get_end(&r, err, errlen) < 0) {
        t_set_free(obj);
        return NULL;
    }
    return obj;
}

const struct kv_type_ops t_set_ops = {
    .name = "set",
    .encoding = s_encoding,
    .free = t_set_free,
    .dup = s_dup,
    .length = s_length,
    .memory = s_memory,
    .members = s_members,
    .save = s_save,
    .load = s_load,
    .digest = s_digest,
};

/* --- command helpers --- */

struct kv_val *t_set_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
    *wrong = cmd_wrongtype(c, v, KV_SET);
    ASSERT(*wrong || !v || v->type == KV_SET);
    return *wrong ? NULL : v;
}

struct kv_val *t_set_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    *wrong = cmd_wrongtype(c, v, KV_SET);
    ASSERT(*wrong || !v || v->type == KV_SET);
    return *wrong ? NULL : v;
}

void t_set_changed(struct cmd_ctx *c, const struct resp_arg *key, struct kv_val *v, void *obj,
                   const char *event)
{
    ASSERT(v && v->type == KV_SET && obj);
    cmd_notify(c, NOTIFY_SET, event, key);
    if (t_set_size(obj) == 0) {
        kv_val_set_obj(v, obj);
        kv_delete(c->kv, key->ptr, key->len, c->now_ms);
        cmd_notify(c, NOTIFY_GENERIC, "del", key);
        return;
    }
    kv_val_set_obj(v, obj);
    kv_modified(c->kv, key->ptr, key->len);
}

void t_set_reply_member(void *ud, const char *p, size_t len)
{
    resp_add_bulk(ud, p, len);
}

/* --- commands on one set --- */

void cmd_sadd(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_set_lookup_write(c, key, &wrong);
    if (wrong) return;
    void *obj = v ? kv_val_obj(v) : t_set_new();
    size_t n0 = t_set_size(obj);
    long long added = 0;
    for (int j = 2; j < c->argc; j++)
        added += t_set_add(&obj, &c->kv->common->limits, c->argv[j].ptr, c->argv[j].len);
    ASSERT(t_set_size(obj) == n0 + (size_t)added && t_set_size(obj) > 0);
    if (!v) {
        kv_set_obj(c->kv, key->ptr, key->len, KV_SET, obj, KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_SET, "sadd", key);
    } else if (added) {
        t_set_changed(c, key, v, obj, "sadd");
    } else
        kv_val_set_obj(v, obj);
    resp_add_int(c->out, added);
}

void cmd_srem(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_set_lookup_write(c, key, &wrong);
    if (wrong) return;
    long long removed = 0;
    if (v) {
        void *obj = kv_val_obj(v);
        size_t n0 = t_set_size(obj);
        for (int j = 2; j < c->argc && t_set_size(obj); j++)
            removed += t_set_remove(&obj, c->argv[j].ptr, c->argv[j].len);
        ASSERT((size_t)removed <= n0 && t_set_size(obj) == n0 - (size_t)removed);
        if (removed)
            t_set_changed(c, key, v, obj, "srem");
        else
            kv_val_set_obj(v, obj);
    }
    resp_add_int(c->out, removed);
}

void cmd_scard(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_set_lookup_read(c, &c->argv[1], &wrong);
    if (!wrong) resp_add_int(c->out, v ? (long long)t_set_size(kv_val_obj(v)) : 0);
}

void cmd_sismember(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_set_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_add_int(c->out, v && t_set_contains(kv_val_obj(v), c->argv[2].ptr, c->argv[2].len));
}

void cmd_smismember(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_set_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_add_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        resp_add_int(c->out, v && t_set_contains(kv_val_obj(v), c->argv[j].ptr, c->argv[j].len));
}

void cmd_smembers(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_set_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!v) {
        resp_add_set_len(c->out, 0);
        return;
    }
    resp_add_set_len(c->out, (long)t_set_size(kv_val_obj(v)));
    t_set_foreach(kv_val_obj(v), t_set_reply_member, c->out);
}

/* SPOP key count: count members drawn from c->rng in canonical order (the
 * same on every replica), or the whole set when count reaches its size. */
static void spop_count(struct cmd_ctx *c, long long count)
{
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_set_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!v || count == 0) {
        resp_add_set_len(c->out, 0);
        return;
    }
    void *obj = kv_val_obj(v);
    size_t n = t_set_size(obj);
    if ((unsigned long long)count >= n) {
        resp_add_set_len(c->out, (long)n);
        t_set_foreach(obj, t_set_reply_member, c->out);
        kv_delete(c->kv, key->ptr, key->len, c->now_ms);
        cmd_notify(c, NOTIFY_SET, "spop", key);
        cmd_notify(c, NOTIFY_GENERIC, "del", key);
        return;
    }
    resp_add_set_len(c->out, (long)count);
    char buf[UTIL_LL_STR_SIZE];
    for (long long k = 0; k < count; k++) {
        size_t i = (size_t)util_rand_below(&c->rng, t_set_size(obj)), len;
        const char *p = t_set_at(obj, i, buf, &len);
        resp_add_bulk(c->out, p, len);
        t_set_remove_at(&obj, i);
    }
    ASSERT(t_set_size(obj) == n - (size_t)count && t_set_size(obj) > 0);
    t_set_changed(c, key, v, obj, "spop");
}

void cmd_spop(struct cmd_ctx *c)
{
    if (c->argc > 3) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    if (c->argc == 3) {
        long long count;
        if (cmd_arg_ll(c, 2, &count) < 0) return;
        if (count < 0) {
            resp_add_error(c->out, "ERR value is out of range, must be positive");
            return;
        }
        spop_count(c, count);
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_set_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    void *obj = kv_val_obj(v);
    ASSERT(t_set_size(obj) > 0 && "an empty set stored");
    char buf[UTIL_LL_STR_SIZE];
    size_t i = (size_t)util_rand_below(&c->rng, t_set_size(obj)), len;
    const char *p = t_set_at(obj, i, buf, &len);
    resp_add_bulk(c->out, p, len);
    t_set_remove_at(&obj, i);
    t_set_changed(c, key, v, obj, "spop");
}

/* SRANDMEMBER key count (a read): distinct members for count >= 0 (all of
 * them when count reaches the size), -count draws with repetition. */
static void srandmember_count(struct cmd_ctx *c, const void *obj, long long count)
{
    size_t n = t_set_size(obj), len;
    char buf[UTIL_LL_STR_SIZE];
    if (count < 0) {
        resp_add_array_len(c->out, (long)-count);
        for (long long k = 0; k < -count; k++) {
            const char *p = t_set_at(obj, (size_t)util_rand_below(&c->rng, n), buf, &len);
            resp_add_bulk(c->out, p, len);
        }
        return;
    }
    if ((unsigned long long)count >= n) {
        resp_add_array_len(c->out, (long)n);
        t_set_foreach(obj, t_set_reply_member, c->out);
        return;
    }
    /* Partial Fisher-Yates over the positions. */
    size_t *pos = util_xmalloc(n * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        pos[i] = i;
    resp_add_array_len(c->out, (long)count);
    for (size_t k = 0; k < (size_t)count; k++) {
        size_t j = k + (size_t)util_rand_below(&c->rng, n - k), t = pos[k];
        pos[k] = pos[j];
        pos[j] = t;
        const char *p = t_set_at(obj, pos[k], buf, &len);
        resp_add_bulk(c->out, p, len);
    }
    ASSERT((size_t)count < n);
    free(pos);
}

void cmd_srandmember(struct cmd_ctx *c)
{
    long long count = 0;
    if (c->argc > 3) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    if (c->argc == 3) {
        if (cmd_arg_ll(c, 2, &count) < 0) return;
        if (count < -LONG_MAX) {
            resp_add_error(c->out, "ERR value is out of range");
            return;
        }
    }
    int wrong;
    struct kv_val *v = t_set_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (c->argc == 3) {
        if (!v || count == 0)
            resp_add_array_len(c->out, 0);
        else
            srandmember_count(c, kv_val_obj(v), count);
        return;
    }
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    const void *obj = kv_val_obj(v);
    char buf[UTIL_LL_STR_SIZE];
    size_t len;
    const char *p = t_set_at(obj, (size_t)util_rand_below(&c->rng, t_set_size(obj)), buf, &len);
    resp_add_bulk(c->out, p, len);
}

/* --- SSCAN --- */

static void scan_member(void *ud, const char *p, size_t len)
{
    struct cmd_scan_page *pg = ud;
    if (!cmd_scan_page_take(pg, p, len)) return;
    resp_add_bulk(&pg->body, p, len);
    pg->n++;
}

static void scan_entry(void *ud, struct dict_entry *e)
{
    scan_member(ud, e->key, e->key_len);
}

/* An intset is returned whole with cursor 0, as Redis does; a hashtable is
 * walked a page at a time. */
void cmd_sscan(struct cmd_ctx *c)
{
    uint64_t cursor;
    struct cmd_scan_opts o;
    if (!cmd_scan_cursor(c, 2, &cursor) || cmd_scan_opts(c, 3, 0, &o) < 0) return;
    int wrong;
    struct kv_val *v = t_set_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    struct cmd_scan_page pg;
    cmd_scan_page_init(&pg, &o);
    void *obj = v ? kv_val_obj(v) : NULL;
    uint64_t next = 0;
    if (obj && is_ht(obj))
        next = cmd_scan_page_dict(&pg, &hs_of(obj)->d, cursor, scan_entry);
    else if (obj)
        t_set_foreach(obj, scan_member, &pg);
    cmd_scan_page_reply(c, &pg, next);
}
