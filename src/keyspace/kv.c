/*
 * src/keyspace/kv.c - the keyspace (see kv.h): values, TTL index, lazy and active
 * expiry support, hooks and statistics.
 *
 * Invariant kept by every function here: a key is in volatile_keys if and
 * only if its value's expire_ms != KV_NO_EXPIRE, and the volatile entry's val
 * is the key's entry in `keys`.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "keyspace/digest.h"
#include "keyspace/kv.h"
#include "base/lazyfree.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define RANDOM_TRIES 100           /* draws before RANDOMKEY walks the table */
#define SAMPLE_EMPTY_BUCKETS 20    /* empty buckets visited per sampled key */
#define GROW_GREEDY_MAX (1u << 20) /* double below 1 MB, then grow by 1 MB */

/* Values with more elements than this are freed off the loop. */
#define LAZYFREE_MIN_ELEMENTS 64

static struct kv_val *val_new(size_t cap)
{
    ASSERT(cap <= UINT32_MAX);
    struct kv_val *v = util_xmalloc(sizeof *v + cap);
    v->expire_ms = KV_NO_EXPIRE;
    v->len = 0;
    v->type = KV_STRING;
    v->enc = cap > KV_EMBSTR_MAX ? KV_ENC_RAW : KV_ENC_EMBSTR;
    v->lru = 0;
    return v;
}

/* Room for string bytes in v's allocation. */
static size_t val_cap(const struct kv_val *v)
{
    size_t n = malloc_usable_size((void *)v) - sizeof *v;
    return n < UINT32_MAX ? n : UINT32_MAX;
}

static const struct kv_type_ops *ops_of(const struct kv *kv, const struct kv_val *v)
{
    const struct kv_type_ops *ops = kv->common->types[v->type];
    ASSERT(ops && "a value of a type without a module");
    return ops;
}

/* Frees a non-string value's object: a large one on the lazyfree thread, so
 * that DEL of a million-member set does not stall the loop. */
static void obj_free(const struct kv *kv, const struct kv_val *v)
{
    const struct kv_type_ops *ops = ops_of(kv, v);
    void *obj = kv_val_obj(v);
    if (ops->length(obj) > LAZYFREE_MIN_ELEMENTS)
        lazyfree_submit(ops->free, obj);
    else
        ops->free(obj);
}

static void val_free(const struct kv *kv, struct kv_val *v)
{
    if (v->type != KV_STRING) obj_free(kv, v);
    free(v);
}

static void val_free_visit(void *kv, struct dict_entry *e)
{
    val_free(kv, e->val);
}

static void modified(struct kv *kv, const char *key, size_t len)
{
    kv->common->changes++;
    if (kv->common->on_modify) kv->common->on_modify(kv->common->hook_ud, kv->id, key, len);
}

/* Minutes from an LFU stamp to now, mod 2^16. */
static unsigned lfu_elapsed(const struct kv *kv, unsigned stamp)
{
    unsigned now = kv->common->lfu_minutes & 0xffff;
    return now >= stamp ? now - stamp : 0x10000 - stamp + now;
}

unsigned kv_lfu_counter(const struct kv *kv, const struct kv_val *v)
{
    unsigned counter = v->lru & 0xff;
    if (!kv->common->access.lfu_decay_time) return counter;
    unsigned periods = lfu_elapsed(kv, v->lru >> 8) / kv->common->access.lfu_decay_time;
    return periods >= counter ? 0 : counter - periods;
}

/* An access (a lookup for a command, or a write) to v. */
static void touch(struct kv *kv, struct kv_val *v)
{
    if (!kv->common->access.lfu) {
        v->lru = kv->common->lru_clock & KV_LRU_MAX;
        return;
    }
    unsigned counter = kv_lfu_counter(kv, v);
    if (counter < 255) {
        double base = counter > KV_LFU_INIT ? counter - KV_LFU_INIT : 0;
        double p = 1.0 / (base * kv->common->access.lfu_log_factor + 1);
        double r = (double)(util_rand64(&kv->common->rng) >> 11) / (double)(1ull << 53);
        if (r < p) counter++;
    }
    v->lru = (((kv->common->lfu_minutes & 0xffff) << 8) | counter) & KV_LRU_MAX;
}

/* A value stored for a key that did not exist (or replaced a value of
 * another kind): a fresh access record. */
static void touch_new(struct kv *kv, struct kv_val *v)
{
    uint32_t lru = kv->common->access.lfu ? ((kv->common->lfu_minutes & 0xffff) << 8) | KV_LFU_INIT
                                          : kv->common->lru_clock;
    v->lru = lru & KV_LRU_MAX;
}

/* A value written: a new key gets a fresh record; an existing one keeps
 * its LFU history (Redis's dbOverwrite: the write's own lookup already
 * counted the access) or takes the LRU clock. */
static void overwritten(struct kv *kv, struct kv_val *v, int created)
{
    if (created)
        touch_new(kv, v);
    else if (!kv->common->access.lfu)
        touch(kv, v);
}

void kv_modified(struct kv *kv, const char *key, size_t len)
{
    modified(kv, key, len);
}

void kv_signal_ready(struct kv *kv, const char *key, size_t len)
{
    if (kv->common->on_ready) kv->common->on_ready(kv->common->hook_ud, kv->id, key, len);
}

/* Changes e's TTL and keeps volatile_keys in step with it. */
static void entry_set_expire(struct kv *kv, struct dict_entry *e, int64_t expire_ms)
{
    struct kv_val *v = e->val;
    if (v->expire_ms == KV_NO_EXPIRE && expire_ms != KV_NO_EXPIRE)
        dict_add(&kv->volatile_keys, e->key, e->key_len, e, NULL);
    else if (v->expire_ms != KV_NO_EXPIRE && expire_ms == KV_NO_EXPIRE)
        dict_delete(&kv->volatile_keys, e->key, e->key_len, NULL);
    v->expire_ms = expire_ms;
    ASSERT(dict_size(&kv->volatile_keys) <= dict_size(&kv->keys));
}

/* A live snapshot saves e before anything changes it (kv_saver). */
static inline void save_first(const struct kv *kv, struct dict_entry *e)
{
    const struct kv_saver *s = kv->saver;
    if (!s) return;
    if (e->mark != kv->snap_mark)
        s->save(s->ud, e);
    else if (s->handed)
        s->settle(s->ud, e);
}

/* Removes key and frees its value. key must not point into the entry. */
static int unlink_key(struct kv *kv, const char *key, size_t len)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    if (!e) return 0;
    save_first(kv, e);
    void *val;
    if (!dict_delete(&kv->keys, key, len, &val)) return 0;
    struct kv_val *v = val;
    if (v->expire_ms != KV_NO_EXPIRE) dict_delete(&kv->volatile_keys, key, len, NULL);
    ASSERT(dict_size(&kv->volatile_keys) <= dict_size(&kv->keys));
    val_free(kv, v);
    return 1;
}

static void event(struct kv *kv, enum kv_event ev, const char *key, size_t len)
{
    if (kv->common->event_mask & (1u << ev))
        kv->common->on_event(kv->common->hook_ud, kv->id, ev, key, len);
}

static void delete_expired(struct kv *kv, const char *key, size_t len)
{
    unlink_key(kv, key, len);
    kv->common->expired_keys++;
    modified(kv, key, len);
    event(kv, KV_EVENT_EXPIRED, key, len);
}

const struct kv_limits kv_limits_default = {
    .hash_max_listpack_entries = 512,
    .hash_max_listpack_value = 64,
    .set_max_intset_entries = 512,
    .zset_max_listpack_entries = 128,
    .zset_max_listpack_value = 64,
    .hll_sparse_max_bytes = 3000,
    .list_max_listpack_size = -2,
    .list_compress_depth = 0,
};

void kv_common_init(struct kv_common *common, const struct kv_type_ops *const *types, uint64_t seed)
{
    memset(common, 0, sizeof *common);
    common->types = types;
    common->rng = seed ^ 0x2545f4914f6cdd1dULL;
    common->max_value_len = 512ULL * 1024 * 1024;
    common->limits = kv_limits_default;
}

void kv_init(struct kv *kv, struct kv_common *common, int id, uint64_t seed)
{
    ASSERT(common && common->types && id >= 0);
    memset(kv, 0, sizeof *kv);
    kv->common = common;
    kv->id = id;
    dict_init(&kv->keys, seed);
    dict_init(&kv->volatile_keys, seed ^ 0x9e3779b97f4a7c15ULL);
}

void kv_set_may_grow(struct kv *kv, dict_may_grow_fn *may_grow, void *ud)
{
    kv->keys.may_grow = kv->volatile_keys.may_grow = may_grow;
    kv->keys.may_grow_ud = kv->volatile_keys.may_grow_ud = ud;
}

void kv_free(struct kv *kv)
{
    dict_free(&kv->volatile_keys, NULL);
    dict_foreach(&kv->keys, val_free_visit, kv);
    dict_free(&kv->keys, NULL);
    lazyfree_drain(); /* nothing of this keyspace outlives it */
}

static void save_visit(void *kv, struct dict_entry *e)
{
    save_first(kv, e);
}

void kv_flush(struct kv *kv)
{
    if (kv->common->on_flush) kv->common->on_flush(kv->common->hook_ud, kv->id);
    kv->common->changes += kv_size(kv);
    if (kv->saver) dict_foreach(&kv->keys, save_visit, kv);
    dict_clear(&kv->volatile_keys, NULL);
    dict_foreach(&kv->keys, val_free_visit, kv);
    dict_clear(&kv->keys, NULL);
    ASSERT(dict_size(&kv->keys) == 0 && dict_size(&kv->volatile_keys) == 0);
    kv->expire_cursor = 0;
    kv->avg_ttl = 0;
}

void kv_reset_stats(struct kv_common *common)
{
    common->keyspace_hits = common->keyspace_misses = common->expired_keys = common->evicted_keys =
        0;
}

void kv_cron(struct kv *kv)
{
    dict_rehash_steps(&kv->keys, 100);
    dict_rehash_steps(&kv->volatile_keys, 100);
    dict_maybe_shrink(&kv->keys);
    dict_maybe_shrink(&kv->volatile_keys);
}

uint64_t kv_size(const struct kv *kv)
{
    return dict_size(&kv->keys);
}

uint64_t kv_volatile_count(const struct kv *kv)
{
    return dict_size(&kv->volatile_keys);
}

/* --- lookups --- */

/* The live value of key, saved first when a live snapshot needs it: every
 * lookup but the const ones hands out a pointer its caller may change
 * through. */
static struct kv_val *find_live(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    if (!e || kv_val_expired(e->val, now_ms)) return NULL;
    save_first(kv, e);
    return e->val;
}

struct kv_val *kv_lookup_read(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    struct kv_val *v = find_live(kv, key, len, now_ms);
    if (v) {
        kv->common->keyspace_hits++;
        touch(kv, v);
    } else {
        kv->common->keyspace_misses++;
    }
    return v;
}

struct kv_val *kv_lookup_notouch(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    struct kv_val *v = find_live(kv, key, len, now_ms);
    if (v)
        kv->common->keyspace_hits++;
    else
        kv->common->keyspace_misses++;
    return v;
}

struct kv_val *kv_lookup_peek(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    return find_live(kv, key, len, now_ms);
}

int kv_exists(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    return e && !kv_val_expired(e->val, now_ms);
}

int kv_physically_exists(struct kv *kv, const char *key, size_t len)
{
    return kv_lookup_stored(kv, key, len) != NULL;
}

const struct kv_val *kv_lookup_stored(struct kv *kv, const char *key, size_t len)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    return e ? e->val : NULL;
}

struct kv_val *kv_lookup_write(struct kv *kv, const char *key, size_t len, int64_t now_ms,
                               unsigned flags)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    if (e) save_first(kv, e);
    struct kv_val *v = e ? e->val : NULL;
    if (v && kv_val_expired(v, now_ms)) {
        delete_expired(kv, key, len);
        v = NULL;
    }
    if (v) touch(kv, v);
    if (flags & KV_LOOKUP_STATS) {
        if (v)
            kv->common->keyspace_hits++;
        else
            kv->common->keyspace_misses++;
    }
    return v;
}

/* --- mutators --- */

/*
 * Finds or creates key's entry in one hash. An expired existing value counts
 * as a deleted key (expired_keys) and is then reused as a fresh empty one;
 * its on_modify is the caller's, which fires once the new value is in.
 * Sets *created when the key did not logically exist.
 */
static struct dict_entry *entry_for_write(struct kv *kv, const char *key, size_t len,
                                          int64_t now_ms, size_t cap, int *created)
{
    struct dict_entry *existing;
    struct dict_entry *e = dict_add(&kv->keys, key, len, NULL, &existing);
    *created = 1;
    if (e) {
        e->mark = kv->snap_mark & 1; /* not in a live snapshot begun before it */
        e->val = val_new(cap);
        event(kv, KV_EVENT_NEW, key, len);
        return e;
    }
    save_first(kv, existing);
    struct kv_val *v = existing->val;
    if (kv_val_expired(v, now_ms)) {
        kv->common->expired_keys++;
        entry_set_expire(kv, existing, KV_NO_EXPIRE);
        v->len = 0;
        event(kv, KV_EVENT_EXPIRED, key, len);
        event(kv, KV_EVENT_NEW, key, len);
    } else {
        *created = 0;
    }
    if (v->type != KV_STRING) {
        /* A string replaces another type (SET over a hash): a fresh value. */
        struct kv_val *n = val_new(cap);
        n->expire_ms = v->expire_ms;
        n->lru = v->lru;
        val_free(kv, v);
        existing->val = n;
    }
    ASSERT(((const struct kv_val *)existing->val)->type == KV_STRING);
    return existing;
}

/* Makes e's value hold exactly len bytes of room or a little more; reuses
 * the allocation unless it would waste over half of it. */
static struct kv_val *val_fit(const struct kv *kv, struct dict_entry *e, size_t len)
{
    struct kv_val *v = e->val;
    /* Kept only if a fresh value would take as much: keeping a larger block
     * for a shorter value would leave overwrites of varied sizes holding
     * their largest size ever (the overwrite case of make bench-memory). */
    size_t cap = val_cap(v);
    if (len <= cap && malloc_usable_size(v) <= alloc_size_class(sizeof *v + len)) {
        v->enc = len > KV_EMBSTR_MAX ? KV_ENC_RAW : KV_ENC_EMBSTR;
        return v;
    }
    struct kv_val *n = val_new(len);
    n->expire_ms = v->expire_ms;
    n->lru = v->lru;
    val_free(kv, v);
    e->val = n;
    return n;
}

int kv_set(struct kv *kv, const char *key, size_t klen, const void *val, size_t vlen,
           int64_t expire_ms, int64_t now_ms)
{
    int created;
    struct dict_entry *e = entry_for_write(kv, key, klen, now_ms, vlen, &created);
    struct kv_val *v = val_fit(kv, e, vlen);
    memcpy(v->data, val, vlen);
    v->len = (uint32_t)vlen;
    overwritten(kv, v, created);
    if (expire_ms != KV_KEEP_TTL) entry_set_expire(kv, e, expire_ms);
    modified(kv, key, klen);
    return created;
}

char *kv_resize(struct kv *kv, const char *key, size_t klen, size_t new_len, int64_t now_ms)
{
    int created;
    struct dict_entry *e = entry_for_write(kv, key, klen, now_ms, new_len, &created);
    struct kv_val *v = e->val;
    ASSERT(v->type == KV_STRING);
    if (new_len > val_cap(v)) {
        size_t cap = new_len < GROW_GREEDY_MAX ? 2 * new_len : new_len + GROW_GREEDY_MAX;
        if (cap > UINT32_MAX) cap = UINT32_MAX;
        ASSERT(new_len <= cap);
        v = util_xrealloc(v, sizeof *v + cap);
        e->val = v;
    }
    v->enc = KV_ENC_RAW; /* grown in place: Redis's APPEND/SETRANGE make it raw */
    overwritten(kv, v, created);
    if (new_len > v->len) memset(v->data + v->len, 0, new_len - v->len);
    v->len = (uint32_t)new_len;
    modified(kv, key, klen);
    return v->data;
}

int kv_set_obj(struct kv *kv, const char *key, size_t klen, enum kv_type type, void *obj,
               int64_t expire_ms, int64_t now_ms)
{
    ASSERT(type != KV_STRING && kv->common->types[type]);
    int created;
    struct dict_entry *e = entry_for_write(kv, key, klen, now_ms, sizeof obj, &created);
    struct kv_val *v = e->val;
    if (v->type == KV_STRING && val_cap(v) < sizeof obj) {
        struct kv_val *n = val_new(sizeof obj);
        n->expire_ms = v->expire_ms;
        n->lru = v->lru;
        free(v);
        e->val = v = n;
    } else if (v->type != KV_STRING) {
        obj_free(kv, v);
    }
    ASSERT(v->type == KV_STRING); /* entry_for_write freed any other type's object */
    v->type = type;
    v->enc = 0;
    v->len = 0;
    overwritten(kv, v, created);
    kv_val_set_obj(v, obj);
    if (expire_ms != KV_KEEP_TTL) entry_set_expire(kv, e, expire_ms);
    modified(kv, key, klen);
    return created;
}

void kv_copy(struct kv *kv, const struct kv_val *v, const char *dst, size_t dlen, int64_t expire_ms,
             int64_t now_ms)
{
    if (v->type == KV_STRING) {
        kv_set(kv, dst, dlen, v->data, v->len, expire_ms, now_ms);
        return;
    }
    kv_set_obj(kv, dst, dlen, v->type, ops_of(kv, v)->dup(kv_val_obj(v)), expire_ms, now_ms);
}

const char *kv_type_name(const struct kv *kv, const struct kv_val *v)
{
    return v->type == KV_STRING ? "string" : ops_of(kv, v)->name;
}

/* Redis's string2ll acceptance: what "int" encoding would hold. */
static int canonical_int(const char *p, size_t len)
{
    long long out;
    return util_str2ll(p, len, &out);
}

const char *kv_encoding_name(const struct kv *kv, const struct kv_val *v)
{
    if (v->type != KV_STRING) return ops_of(kv, v)->encoding(kv_val_obj(v));
    if (v->enc == KV_ENC_RAW) return "raw";
    return canonical_int(v->data, v->len) ? "int" : "embstr";
}

uint64_t kv_idle_seconds(const struct kv *kv, const struct kv_val *v)
{
    uint32_t now = kv->common->lru_clock, then = v->lru;
    return now >= then ? now - then : now + (KV_LRU_MAX - then) + 1;
}

void kv_val_set_access(const struct kv *kv, struct kv_val *v, long long idle_s, int freq)
{
    if (kv->common->access.lfu) {
        if (freq < 0) return;
        ASSERT(freq <= 255);
        v->lru = (((kv->common->lfu_minutes & 0xffff) << 8) | (unsigned)freq) & KV_LRU_MAX;
    } else if (idle_s >= 0) {
        /* the clock wraps at 2^24 seconds: so does an idle time past it */
        uint32_t back = (uint32_t)(idle_s % ((long long)KV_LRU_MAX + 1));
        v->lru = (kv->common->lru_clock - back) & KV_LRU_MAX;
    }
}

void kv_prefetch_member(const struct kv *kv, const char *key, size_t klen, const char *member,
                        size_t mlen, enum dict_prefetch_stage stage)
{
    const struct dict_entry *e = dict_peek(&kv->keys, key, klen);
    const struct kv_val *v = e ? e->val : NULL;
    if (!v || v->type == KV_STRING || !ops_of(kv, v)->members) return;
    const struct dict *d = ops_of(kv, v)->members(kv_val_obj(v));
    if (d) dict_prefetch(d, member, mlen, stage);
}

size_t kv_memory_usage(const struct kv *kv, const struct kv_val *v, size_t klen, size_t samples)
{
    size_t n = malloc_usable_size((void *)v) + sizeof(struct dict_entry) + klen + 1;
    if (v->type != KV_STRING) n += ops_of(kv, v)->memory(kv_val_obj(v), samples);
    return n;
}

int kv_delete(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    if (!kv_lookup_write(kv, key, len, now_ms, 0)) return 0;
    unlink_key(kv, key, len);
    modified(kv, key, len);
    return 1;
}

int kv_delete_if_expired(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    if (!e || !kv_val_expired(e->val, now_ms)) return 0;
    delete_expired(kv, key, len);
    return 1;
}

int kv_evict(struct kv *kv, const char *key, size_t len, int volatile_only, int64_t now_ms)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    if (!e) return 0;
    struct kv_val *v = e->val;
    if (kv_val_expired(v, now_ms)) {
        delete_expired(kv, key, len);
        return 0;
    }
    if (volatile_only && v->expire_ms == KV_NO_EXPIRE) return 0;
    unlink_key(kv, key, len);
    kv->common->evicted_keys++;
    modified(kv, key, len);
    event(kv, KV_EVENT_EVICTED, key, len);
    return 1;
}

int kv_set_expire(struct kv *kv, const char *key, size_t len, int64_t expire_ms)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    if (!e) return 0;
    save_first(kv, e);
    entry_set_expire(kv, e, expire_ms);
    modified(kv, key, len);
    return 1;
}

int kv_persist(struct kv *kv, const char *key, size_t len)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    if (!e || ((struct kv_val *)e->val)->expire_ms == KV_NO_EXPIRE) return 0;
    save_first(kv, e);
    entry_set_expire(kv, e, KV_NO_EXPIRE);
    modified(kv, key, len);
    return 1;
}

int kv_rename(struct kv *kv, const char *src, size_t slen, const char *dst, size_t dlen)
{
    struct dict_entry *se = dict_find(&kv->keys, src, slen);
    if (!se) return -1;
    save_first(kv, se);
    void *val;
    if (!dict_delete(&kv->keys, src, slen, &val)) return -1;
    struct kv_val *v = val;
    if (v->expire_ms != KV_NO_EXPIRE) dict_delete(&kv->volatile_keys, src, slen, NULL);
    unlink_key(kv, dst, dlen);
    struct dict_entry *e = dict_add(&kv->keys, dst, dlen, v, NULL);
    ASSERT(e);
    e->mark = kv->snap_mark & 1;
    if (v->expire_ms != KV_NO_EXPIRE) dict_add(&kv->volatile_keys, dst, dlen, e, NULL);
    event(kv, KV_EVENT_NEW, dst, dlen);
    modified(kv, src, slen);
    modified(kv, dst, dlen);
    return 0;
}

/* --- iteration --- */

struct visit {
    kv_visit_fn *fn;
    void *ud;
};

static void visit_entry(void *ud, struct dict_entry *e)
{
    struct visit *vi = ud;
    vi->fn(vi->ud, e->key, e->key_len, e->val);
}

void kv_foreach(struct kv *kv, kv_visit_fn *fn, void *ud)
{
    struct visit vi = {fn, ud};
    dict_foreach(&kv->keys, visit_entry, &vi);
}

/* --- live snapshots --- */

void kv_snapshot_begin(struct kv *kv, const struct kv_saver *saver)
{
    ASSERT(!kv->saver && saver);
    kv->snap_mark ^= 1; /* every entry is now unsaved */
    kv->saver = saver;
}

static void mark_visit(void *kv, struct dict_entry *e)
{
    e->mark = ((struct kv *)kv)->snap_mark & 1;
}

void kv_snapshot_end(struct kv *kv, int complete)
{
    kv->saver = NULL;
    /* Left unsaved, an entry would count as saved in the next snapshot. */
    if (!complete) dict_foreach(&kv->keys, mark_visit, kv);
}

void kv_snapshot_walk_init(const struct kv *kv, struct dict_walk *w)
{
    dict_walk_init(&kv->keys, w);
}

int kv_snapshot_walk(struct kv *kv, struct dict_walk *w, uint64_t buckets, dict_visit_fn *fn,
                     void *ud)
{
    return dict_walk(&kv->keys, w, buckets, fn, ud);
}

/* --- digests --- */

/* The digest mixes in Redis's type number (OBJ_STRING ... OBJ_HASH), which
 * enum kv_type shares. */
_Static_assert(KV_STRING == 0 && KV_LIST == 1 && KV_SET == 2 && KV_ZSET == 3 && KV_HASH == 4,
               "enum kv_type numbers a type as Redis does");

void kv_digest_value(const struct kv *kv, const struct kv_val *v, unsigned char out[DIGEST_LEN])
{
    const unsigned char type_be[4] = {0, 0, 0, (unsigned char)v->type};
    digest_mix(out, type_be, sizeof type_be);
    if (v->type == KV_STRING) {
        digest_mix(out, v->data, v->len);
    } else {
        const struct kv_type_ops *ops = kv->common->types[v->type];
        ASSERT(ops && ops->digest && "a stored value of a type without a digest");
        ops->digest(kv_val_obj(v), out);
    }
    if (v->expire_ms != KV_NO_EXPIRE) digest_xor(out, "!!expire!!", 10);
}

struct dataset {
    const struct kv *kv;
    unsigned char *sum;
};

/* One key: its name mixed, then its value; xored into the sum, so the
 * dict's order does not show. */
static void digest_key(void *ud, const char *key, size_t klen, const struct kv_val *v)
{
    struct dataset *ds = ud;
    unsigned char d[DIGEST_LEN] = {0};
    digest_mix(d, key, klen);
    kv_digest_value(ds->kv, v, d);
    digest_xor(ds->sum, d, DIGEST_LEN);
}

/* Redis mixes in the number of a database holding keys before the xor of
 * its keys' digests. */
void kv_digest_into(struct kv *kv, unsigned char out[DIGEST_LEN])
{
    if (kv_size(kv) == 0) return;
    ASSERT(kv->id >= 0);
    uint32_t id = (uint32_t)kv->id;
    const unsigned char db_be[4] = {(unsigned char)(id >> 24), (unsigned char)(id >> 16),
                                    (unsigned char)(id >> 8), (unsigned char)id};
    digest_mix(out, db_be, sizeof db_be);
    struct dataset ds = {kv, out};
    kv_foreach(kv, digest_key, &ds);
}

void kv_digest(struct kv *kv, unsigned char out[DIGEST_LEN])
{
    memset(out, 0, DIGEST_LEN);
    kv_digest_into(kv, out);
}

uint64_t kv_scan(struct kv *kv, uint64_t cursor, kv_visit_fn *fn, void *ud)
{
    struct visit vi = {fn, ud};
    return dict_scan(&kv->keys, cursor, visit_entry, &vi);
}

static uint64_t next_rand(void *ud)
{
    return util_rand64(&((struct kv *)ud)->common->rng);
}

struct first_live {
    int64_t now_ms;
    struct dict_entry *found;
};

static void find_first_live(void *ud, struct dict_entry *e)
{
    struct first_live *f = ud;
    if (!f->found && !kv_val_expired(e->val, f->now_ms)) f->found = e;
}

const char *kv_random_key(struct kv *kv, int64_t now_ms, size_t *len)
{
    struct dict_entry *e = NULL;
    for (int i = 0; i < RANDOM_TRIES; i++) {
        e = dict_random(&kv->keys, next_rand, kv);
        if (!e) return NULL;
        if (!kv_val_expired(e->val, now_ms)) break;
        e = NULL;
    }
    if (!e) {
        /* Almost everything is expired but not yet deleted (reads cannot
         * delete): a Redis master would have deleted the expired keys, so
         * answer as it would, with a live key or none, in one bounded walk. */
        struct first_live f = {now_ms, NULL};
        uint64_t cursor = 0;
        do {
            cursor = dict_scan(&kv->keys, cursor, find_first_live, &f);
        } while (cursor && !f.found);
        e = f.found;
        if (!e) return NULL;
    }
    *len = e->key_len;
    return e->key;
}

size_t kv_sample(struct kv *kv, int volatile_only, size_t n, struct dict_entry **out)
{
    struct dict *d = volatile_only ? &kv->volatile_keys : &kv->keys;
    size_t got;
    if (n == 1) { /* a single draw: uniform over buckets (the random policies) */
        out[0] = dict_random(d, next_rand, kv);
        got = out[0] != NULL;
    } else {
        got = dict_sample(d, n, out, next_rand, kv);
    }
    if (volatile_only) /* volatile_keys: key -> kv.keys entry */
        for (size_t i = 0; i < got; i++)
            out[i] = out[i]->val;
    return got;
}

struct sampler {
    struct kv *kv;
    int64_t now_ms;
    size_t keys; /* keys in the current bucket (counting pass) */
    kv_key_fn *fn;
    void *ud;
    uint64_t ttl_sum, ttl_samples; /* of the keys not expired (kv.avg_ttl) */
};

static void count_key(void *ud, struct dict_entry *e)
{
    (void)e;
    ((struct sampler *)ud)->keys++;
}

static void sample_key(void *ud, struct dict_entry *ve)
{
    struct sampler *s = ud;
    struct dict_entry *e = ve->val;
    const struct kv_val *v = e->val;
    if (kv_val_expired(v, s->now_ms)) {
        s->fn(s->ud, e->key, e->key_len);
    } else {
        s->ttl_sum += (uint64_t)(v->expire_ms - s->now_ms);
        s->ttl_samples++;
    }
}

/* Redis's estimate of a database's average TTL: the samples' average,
 * weighted 2% against the estimate so far (the first one taken whole). */
static void update_avg_ttl(struct kv *kv, const struct sampler *s)
{
    if (!s->ttl_samples) return;
    uint64_t avg = s->ttl_sum / s->ttl_samples;
    if (kv->avg_ttl == 0) kv->avg_ttl = avg;
    kv->avg_ttl = kv->avg_ttl / 50 * 49 + avg / 50;
}

size_t kv_expired_sample(struct kv *kv, int64_t now_ms, size_t sample_max, kv_key_fn *fn, void *ud)
{
    struct dict *d = &kv->volatile_keys;
    struct sampler s = {kv, now_ms, 0, fn, ud, 0, 0};
    size_t examined = 0, empty_max = sample_max * SAMPLE_EMPTY_BUCKETS, empty = 0;
    if (dict_size(d) == 0) return 0;
    while (examined < sample_max && empty < empty_max) {
        /* Count the bucket first: it is visited whole or not at all, so fn
         * is never called more than sample_max times and no expired key is
         * skipped by a cursor that moved past it. */
        s.keys = 0;
        dict_scan(d, kv->expire_cursor, count_key, &s);
        if (s.keys == 0) empty++;
        if (examined > 0 && examined + s.keys > sample_max) break;
        kv->expire_cursor = dict_scan(d, kv->expire_cursor, sample_key, &s);
        examined += s.keys;
        if (kv->expire_cursor == 0) break; /* a full pass: let the caller decide */
    }
    update_avg_ttl(kv, &s);
    return examined;
}
