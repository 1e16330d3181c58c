/*
 * src/sm/evict.c - the leader's choice of keys to evict (see evict.h).
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "base/clock.h"
#include "config/config.h"
#include "sm/evict.h"
#include "keyspace/expiring.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "sm/sm.h"
#include "base/util.h"

#define SAMPLES_MAX 64      /* maxmemory-samples' upper bound */
#define MEMORY_SAMPLES 5    /* elements sampled to size an aggregate (MEMORY USAGE's default) */
#define CHECK_TIME_EVERY 16 /* keys chosen between two readings of the clock */
#define CHOOSE_ROUNDS 64    /* draws (or pool refills) before nothing is eligible */

void evict_init(struct evict *ev)
{
    memset(ev, 0, sizeof *ev);
}

void evict_reset(struct evict *ev)
{
    for (size_t i = 0; i < ev->n_pool; i++)
        free(ev->pool[i].heap);
    ev->n_pool = 0;
}

static const char *cand_key(const struct evict_candidate *c)
{
    return c->heap ? c->heap : c->inline_key;
}

void evict_free(struct evict *ev)
{
    evict_reset(ev);
}

uint64_t evict_counted(uint64_t used, uint64_t not_counted, uint64_t on_the_way)
{
    uint64_t off = not_counted + on_the_way;
    return used > off ? used - off : 0;
}

uint64_t evict_time_limit_us(unsigned tenacity)
{
    if (tenacity <= 10) return 50ull * tenacity;
    if (tenacity < 100) {
        /* Redis's 500 us * 1.15^(tenacity - 10), by repeated multiplication */
        double us = 500.0;
        for (unsigned i = 10; i < tenacity; i++)
            us *= 1.15;
        return (uint64_t)us;
    }
    return UINT64_MAX;
}

static int policy_volatile(int policy)
{
    return policy == CONFIG_MAXMEMORY_VOLATILE_LRU || policy == CONFIG_MAXMEMORY_VOLATILE_LFU ||
           policy == CONFIG_MAXMEMORY_VOLATILE_RANDOM || policy == CONFIG_MAXMEMORY_VOLATILE_TTL;
}

static int policy_random(int policy)
{
    return policy == CONFIG_MAXMEMORY_ALLKEYS_RANDOM || policy == CONFIG_MAXMEMORY_VOLATILE_RANDOM;
}

/* Higher: a better candidate. */
static uint64_t score(const struct kv *kv, const struct kv_val *v, int policy)
{
    switch (policy) {
    case CONFIG_MAXMEMORY_ALLKEYS_LFU:
    case CONFIG_MAXMEMORY_VOLATILE_LFU:
        return 255 - kv_lfu_counter(kv, v);
    case CONFIG_MAXMEMORY_VOLATILE_TTL:
        ASSERT(v->expire_ms != KV_NO_EXPIRE); /* volatile: only keys with a TTL */
        return UINT64_MAX - (uint64_t)v->expire_ms;
    default:
        return kv_idle_seconds(kv, v);
    }
}

static int in_pool(const struct evict *ev, int db, const char *key, size_t len)
{
    for (size_t i = 0; i < ev->n_pool; i++) {
        const struct evict_candidate *c = &ev->pool[i];
        if (c->db == db && c->len == len && memcmp(cand_key(c), key, len) == 0) return 1;
    }
    return 0;
}

/* Keeps the EVICT_POOL_SIZE best candidates seen, ascending by score: a
 * full pool drops its worst for a better one. */
static void pool_insert(struct evict *ev, uint64_t sc, int db, const char *key, size_t len)
{
    size_t k = 0;
    while (k < ev->n_pool && ev->pool[k].score < sc)
        k++;
    if (ev->n_pool == EVICT_POOL_SIZE) {
        if (k == 0) return; /* worse than everything kept */
        free(ev->pool[0].heap);
        memmove(ev->pool, ev->pool + 1, (k - 1) * sizeof *ev->pool);
        k--;
    } else {
        memmove(ev->pool + k + 1, ev->pool + k, (ev->n_pool - k) * sizeof *ev->pool);
        ev->n_pool++;
    }
    ASSERT(k < ev->n_pool && ev->n_pool <= EVICT_POOL_SIZE);
    struct evict_candidate *c = &ev->pool[k];
    c->score = sc;
    c->db = db;
    c->len = len;
    c->heap = len > EVICT_KEY_INLINE ? util_xmalloc(len) : NULL;
    memcpy(c->heap ? c->heap : c->inline_key, key, len);
    /* ascending by score: the worst kept is pool[0] */
    ASSERT((k == 0 || ev->pool[k - 1].score <= sc) &&
           (k + 1 == ev->n_pool || sc <= ev->pool[k + 1].score));
}

/* Whether a candidate of score sc would not enter the pool (full, and it
 * scores no better than the worst kept). */
static int pool_rejects(const struct evict *ev, uint64_t sc)
{
    return ev->n_pool == EVICT_POOL_SIZE && sc <= ev->pool[0].score;
}

static void pool_remove(struct evict *ev, size_t k)
{
    ASSERT(k < ev->n_pool);
    free(ev->pool[k].heap);
    memmove(ev->pool + k, ev->pool + k + 1, (ev->n_pool - k - 1) * sizeof *ev->pool);
    ev->n_pool--;
}

/* Whether the stored key e may be chosen: alive, within the policy's keys,
 * not on its way out already. */
static int entry_eligible(const struct dict_entry *e, int db, struct expiring *x, int volatile_only,
                          int64_t now_ms)
{
    const struct kv_val *v = e->val;
    if (kv_val_expired(v, now_ms)) return 0; /* the expiry cycle's */
    if (volatile_only && v->expire_ms == KV_NO_EXPIRE) return 0;
    return !expiring_has(x, db, e->key, e->key_len);
}

/* The entry of key if it is still stored in kv and may be evicted, else
 * NULL. */
static struct dict_entry *eligible(struct kv *kv, struct expiring *x, const char *key, size_t len,
                                   int volatile_only, int64_t now_ms)
{
    struct dict_entry *e = dict_find(&kv->keys, key, len);
    return e && entry_eligible(e, kv->id, x, volatile_only, now_ms) ? e : NULL;
}

/* Keys a policy may take from kv: all, or those with a TTL. */
static uint64_t keys_for(const struct kv *kv, int vol)
{
    return vol ? kv_volatile_count(kv) : kv_size(kv);
}

/* Samples of kv into the pool (Redis's evictionPoolPopulate). */
static void populate(struct evict *ev, struct kv *kv, struct expiring *x,
                     const struct evict_params *p, int vol)
{
    struct dict_entry *sample[SAMPLES_MAX];
    unsigned want = p->samples < SAMPLES_MAX ? p->samples : SAMPLES_MAX;
    size_t n = kv_sample(kv, vol, want, sample);
    for (size_t i = 0; i < n; i++) /* scoring reads them: one wait for all */
        __builtin_prefetch(sample[i]->val);
    for (size_t i = 0; i < n; i++) {
        struct dict_entry *e = sample[i];
        uint64_t sc = score(kv, e->val, p->policy);
        if (pool_rejects(ev, sc) || !entry_eligible(e, kv->id, x, vol, p->now_ms) ||
            in_pool(ev, kv->id, e->key, e->key_len))
            continue;
        pool_insert(ev, sc, kv->id, e->key, e->key_len);
    }
}

/* Samples of every database with keys into the pool, then the pick: the
 * best candidate still eligible (taken out of the pool, *db its
 * database), or NULL if none is. */
static struct dict_entry *choose_pooled(struct evict *ev, const struct kv_dbs *dbs,
                                        struct expiring *x, const struct evict_params *p, int vol,
                                        int *db)
{
    for (int i = 0; i < dbs->n; i++)
        if (keys_for(kv_db(dbs, i), vol)) populate(ev, kv_db(dbs, i), x, p, vol);
    while (ev->n_pool) {
        struct evict_candidate *c = &ev->pool[ev->n_pool - 1];
        *db = c->db;
        struct dict_entry *e = eligible(kv_db(dbs, c->db), x, cand_key(c), c->len, vol, p->now_ms);
        pool_remove(ev, ev->n_pool - 1);
        if (e) return e;
    }
    return NULL;
}

/* The random policies' draw: a key of the next database in turn that has
 * any (Redis's next_db), or NULL when none has. */
static struct dict_entry *choose_random(struct evict *ev, const struct kv_dbs *dbs,
                                        struct expiring *x, const struct evict_params *p, int vol,
                                        int *db)
{
    for (int i = 0; i < dbs->n; i++) {
        struct kv *kv = kv_db(dbs, (ev->next_db + i) % dbs->n);
        struct dict_entry *e;
        if (kv_sample(kv, vol, 1, &e) == 0) continue;
        ev->next_db = (kv->id + 1) % dbs->n;
        *db = kv->id;
        return entry_eligible(e, kv->id, x, vol, p->now_ms) ? e : NULL;
    }
    return NULL;
}

static uint64_t keys_in_all(const struct kv_dbs *dbs, int vol)
{
    uint64_t n = 0;
    for (int i = 0; i < dbs->n; i++)
        n += keys_for(kv_db(dbs, i), vol);
    return n;
}

/* The next key to evict (*db its database), or NULL when none can be
 * found. Keys already on their way out are skipped, and while a round's
 * deletions are not yet applied they may be a good share of the keyspace:
 * draws are retried (CHOOSE_ROUNDS times) before concluding that nothing
 * is left. */
static struct dict_entry *choose(struct evict *ev, const struct kv_dbs *dbs, struct expiring *x,
                                 const struct evict_params *p, int *db)
{
    int vol = policy_volatile(p->policy);
    for (unsigned round = 0; round < CHOOSE_ROUNDS; round++) {
        struct dict_entry *e = policy_random(p->policy) ? choose_random(ev, dbs, x, p, vol, db)
                                                        : choose_pooled(ev, dbs, x, p, vol, db);
        if (e) return e;
        if (keys_in_all(dbs, vol) == 0) return NULL;
    }
    return NULL;
}

/* The command the round built last: RAFTCACHE.EVICT, its scope (volatile:
 * delete only keys that still have a TTL), then r->n keys. Returns its argc,
 * 0 when it holds no key. */
static int batch_command(struct evict_round *r)
{
    static const char name[] = "raftcache.evict";
    const char *scope = r->vol ? "volatile" : "allkeys";
    if (!r->n) return 0;
    r->argv[0] = (struct resp_arg){name, sizeof name - 1};
    r->argv[1] = (struct resp_arg){scope, strlen(scope)};
    int argc = 2 + r->n;
    r->n = 0;
    return argc;
}

void evict_round_begin(struct evict_round *r, struct evict *ev, struct sm *sm,
                       const struct evict_params *p)
{
    memset(r, 0, sizeof *r);
    r->ev = ev;
    r->sm = sm;
    r->p = p;
    r->result = EVICT_OK;
    if (p->counted <= p->maxmemory) {
        r->over = 1;
        return;
    }
    if (p->policy == CONFIG_MAXMEMORY_NOEVICTION) {
        r->result = EVICT_FAIL;
        r->over = 1;
        return;
    }
    r->start = clock_mono_us();
    r->limit_us = evict_time_limit_us(p->tenacity);
    r->to_free = p->counted - p->maxmemory;
    r->vol = policy_volatile(p->policy);
}

/* Chooses one more key into the command being built: 0 when the round is
 * over (r->result says why), or when the key chosen is of another
 * database than the command's (r->has_next: it begins the next one). */
static int choose_one(struct evict_round *r)
{
    struct expiring *x = &r->sm->expiring;
    if (r->freed >= r->to_free) return 0;
    if (expiring_full(x)) { /* room comes back as entries apply */
        r->result = EVICT_RUNNING;
        return 0;
    }
    int db = 0;
    struct dict_entry *e = choose(r->ev, r->sm->env.dbs, x, r->p, &db);
    if (!e) {
        r->result = EVICT_FAIL;
        return 0;
    }
    struct kv *kv = kv_db(r->sm->env.dbs, db);
    uint64_t bytes = kv_memory_usage(kv, e->val, e->key_len, MEMORY_SAMPLES);
    struct resp_arg a = {expiring_add(x, db, e->key, e->key_len, bytes), e->key_len};
    r->freed += bytes;
    if (r->n > 0 && db != r->db) { /* another database's: the next command's */
        r->next = a;
        r->next_db = db;
        r->has_next = 1;
        return 0;
    }
    r->db = db;
    r->argv[2 + r->n++] = a;
    if (r->chosen++ % CHECK_TIME_EVERY == CHECK_TIME_EVERY - 1 &&
        (uint64_t)(clock_mono_us() - r->start) > r->limit_us) {
        if (r->freed < r->to_free) r->result = EVICT_RUNNING;
        return 0;
    }
    return 1;
}

int evict_round_next(struct evict_round *r, const struct resp_arg **argv, int *db)
{
    *argv = r->argv;
    if (r->has_next) { /* chosen last time, of another database than that command's */
        r->has_next = 0;
        r->db = r->next_db;
        r->argv[2 + r->n++] = r->next;
    }
    while (!r->over && !r->has_next && r->n < EVICT_ENTRY_KEYS)
        if (!choose_one(r) && !r->has_next) r->over = 1;
    *db = r->db;
    return batch_command(r);
}
