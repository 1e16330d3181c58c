/*
 * src/ds/dict.c - the keyspace hash table (contracts in dict.h).
 *
 * Layout: t[0] is the table in use; while it is resized, t[1] is the new
 * table and t[0]'s buckets below rehash_idx have already been moved.  New
 * keys go to t[1] during a resize, so t[0] only ever drains and the resize
 * always finishes.  Bucket arrays are powers of two so an index is a mask,
 * never a division.
 *
 * An entry is one allocation: links, value pointer, length and the key bytes
 * (plus a NUL so callers may print it).  Nothing caches the hash, which keeps
 * an entry at 20 bytes + key; the price is rehashing each key once per grow.
 */
#include "ds/dict.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "raft/raft_assert.h"

#define DICT_SIZE_MIN 4
/* A rehash step gives up after this many empty buckets, so one step is
 * bounded even in a table that was left almost empty by deletions. */
#define EMPTY_VISITS_PER_STEP 10
/* dict_random falls back to a linear walk after this many empty probes. */
#define RANDOM_PROBES_MAX 64

/* Odd 64-bit multipliers with balanced bit counts, chosen at random. */
#define HASH_K0 0xd1a6e55e9b9b1325ULL
#define HASH_K1 0xcf0c26ef4243ed53ULL
#define HASH_K2 0xde6a0a2edd70e34dULL
#define HASH_K3 0x8463513755ac0ecdULL

/* ---- allocation: the server treats running out of memory as fatal ---- */

static void *must(void *p, size_t bytes)
{
    if (p == NULL) {
        fprintf(stderr, "dict: out of memory allocating %zu bytes\n", bytes);
        abort();
    }
    return p;
}

/* ---- hashing ---- */

/* 64x64 -> 128-bit product, split into halves. */
static inline void mul128(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
#if defined(__SIZEOF_INT128__)
    unsigned __int128 r = (unsigned __int128)a * b;
    *lo = (uint64_t)r;
    *hi = (uint64_t)(r >> 64);
#else
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    *lo = (mid << 32) | (ll & 0xffffffffu);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/* Multiply, then fold the high half onto the low half: the low bits of a
 * product only see the low bits of its factors, the high half sees them all,
 * and the bucket mask keeps only low bits. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
    uint64_t lo, hi;
    mul128(a, b, &lo, &hi);
    return lo ^ hi;
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v)); /* compiles to one unaligned load */
    return v;
}

static inline uint64_t load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The last 1..7 bytes as one word, without a byte loop.  The reads overlap
 * for some lengths; that is harmless because the length is hashed too. */
static inline uint64_t load_tail(const unsigned char *p, size_t n)
{
    if (n >= 4) return load32(p) | (load32(p + n - 4) << 32);
    return ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
}

/*
 * One multiply-fold per 8-byte word, chained through a state seeded by
 * d->seed.  The state feeds every step nonlinearly, so which keys collide
 * depends on the seed.  It is a fast mixing hash, not a keyed PRF such as
 * SipHash: good against accidental clustering and casual flooding.
 */
uint64_t dict_hash(const struct dict *d, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = fold_mul(d->seed ^ HASH_K0 ^ len, HASH_K1);

    for (; len >= 8; p += 8, len -= 8)
        h = fold_mul(h ^ load64(p), HASH_K2);
    if (len > 0) h = fold_mul(h ^ load_tail(p, len), HASH_K3);
    /* A multiply by a constant is nearly linear for inputs that differ only
     * in a few low bits (short numeric keys): sequential keys would land in
     * too-regular buckets.  Multiplying h by a rotation of itself is
     * quadratic and breaks that structure. */
    return fold_mul(h ^ HASH_K0, ((h >> 32) | (h << 32)) ^ HASH_K1);
}

/* ---- tables ---- */

static inline uint64_t table_size(const struct dict_table *t)
{
    return t->buckets != NULL ? t->size_mask + 1 : 0;
}

static void table_reset(struct dict_table *t)
{
    t->buckets = NULL;
    t->size_mask = 0;
    t->used = 0;
}

/* Smallest power of two >= n, at least DICT_SIZE_MIN. */
static uint64_t size_for(uint64_t n)
{
    if (n <= DICT_SIZE_MIN) return DICT_SIZE_MIN;
    ASSERT(n <= (UINT64_C(1) << 62));
    return UINT64_C(1) << (64 - __builtin_clzll(n - 1));
}

/* Gives an empty dict its first table, or starts moving t[0] into a new
 * t[1] of the given size. */
static void start_resize(struct dict *d, uint64_t size)
{
    struct dict_table *t = d->t[0].buckets != NULL ? &d->t[1] : &d->t[0];
    size_t bytes = (size_t)size * sizeof(*t->buckets);

    ASSERT(!dict_is_rehashing(d));
    ASSERT(size != 0 && (size & (size - 1)) == 0);
    t->buckets = must(calloc((size_t)size, sizeof(*t->buckets)), bytes);
    t->size_mask = size - 1;
    t->used = 0;
    if (t == &d->t[1]) d->rehash_idx = 0;
}

/* Moves every entry of t[0]'s bucket idx into t[1]. */
static void move_bucket(struct dict *d, uint64_t idx)
{
    struct dict_table *from = &d->t[0], *to = &d->t[1];
    int shrinking = to->size_mask < from->size_mask;
    struct dict_entry *e = from->buckets[idx], *next;

    for (; e != NULL; e = next) {
        /* Shrinking keeps a subset of the index bits, so the old index
         * already says where the entry goes; growing needs the hash. */
        uint64_t h = shrinking ? idx : dict_hash(d, e->key, e->key_len);
        uint64_t j = h & to->size_mask;
        next = e->next;
        e->next = to->buckets[j];
        to->buckets[j] = e;
        from->used--;
        to->used++;
    }
    from->buckets[idx] = NULL;
}

/* Moves up to n non-empty buckets; returns 1 while a resize is unfinished. */
static int rehash(struct dict *d, int n)
{
    struct dict_table *t0 = &d->t[0];
    int64_t empty_visits = (int64_t)n * EMPTY_VISITS_PER_STEP;

    if (!dict_is_rehashing(d)) return 0;
    if (d->pause_rehash > 0) return 1;
    ASSERT(d->t[1].buckets != NULL && d->rehash_idx >= 0);
    while (n-- > 0 && t0->used != 0) {
        while (t0->buckets[d->rehash_idx] == NULL) {
            d->rehash_idx++;
            ASSERT((uint64_t)d->rehash_idx <= t0->size_mask);
            if (--empty_visits <= 0) return 1;
        }
        move_bucket(d, (uint64_t)d->rehash_idx);
        d->rehash_idx++;
    }
    if (t0->used != 0) return 1;
    ASSERT(d->t[1].used == dict_size(d));
    free(t0->buckets);
    d->t[0] = d->t[1];
    table_reset(&d->t[1]);
    d->rehash_idx = -1;
    return 0;
}

static void grow_if_needed(struct dict *d)
{
    if (dict_is_rehashing(d)) return;
    if (d->t[0].buckets == NULL)
        start_resize(d, DICT_SIZE_MIN);
    else if (d->t[0].used >= table_size(&d->t[0])) {
        uint64_t size = table_size(&d->t[0]);
        if (d->may_grow && d->t[0].used * 1000 <= size * DICT_MAX_LOAD_PERMILLE &&
            !d->may_grow(d->may_grow_ud, (size_t)(2 * size * sizeof(struct dict_entry *))))
            return;
        start_resize(d, size * 2);
    }
}

/* The link pointing at key's entry, or NULL; *which is set to the table. */
static struct dict_entry **lookup(struct dict *d, const void *key, size_t len, uint64_t h,
                                  int *which)
{
    for (int i = 0; i < 2 && d->t[i].buckets != NULL; i++) {
        struct dict_entry **link = &d->t[i].buckets[h & d->t[i].size_mask];
        for (struct dict_entry *e; (e = *link) != NULL; link = &e->next) {
            if (e->key_len == len && memcmp(e->key, key, len) == 0) {
                *which = i;
                return link;
            }
        }
    }
    return NULL;
}

/* ---- public API ---- */

void dict_init(struct dict *d, uint64_t seed)
{
    table_reset(&d->t[0]);
    table_reset(&d->t[1]);
    d->rehash_idx = -1;
    d->seed = seed;
    d->pause_rehash = 0;
    d->may_grow = NULL;
    d->may_grow_ud = NULL;
}

void dict_clear(struct dict *d, dict_free_fn *free_val)
{
    ASSERT(d->pause_rehash == 0);
    for (int i = 0; i < 2; i++) {
        struct dict_table *t = &d->t[i];
        for (uint64_t b = 0; b < table_size(t); b++) {
            struct dict_entry *e = t->buckets[b], *next;
            for (; e != NULL; e = next) {
                next = e->next;
                if (free_val != NULL) free_val(e->val);
                free(e);
            }
        }
        free(t->buckets);
    }
    dict_may_grow_fn *may_grow = d->may_grow;
    void *ud = d->may_grow_ud;
    dict_init(d, d->seed);
    d->may_grow = may_grow; /* a setting, not content */
    d->may_grow_ud = ud;
}

void dict_free(struct dict *d, dict_free_fn *free_val)
{
    dict_clear(d, free_val);
}

struct dict_entry *dict_find(struct dict *d, const void *key, size_t len)
{
    struct dict_entry **link;
    int which;

    if (dict_size(d) == 0) return NULL;
    if (dict_is_rehashing(d)) rehash(d, 1);
    link = lookup(d, key, len, dict_hash(d, key, len), &which);
    return link != NULL ? *link : NULL;
}

void dict_prefetch(const struct dict *d, const void *key, size_t len,
                   enum dict_prefetch_stage stage)
{
    if (dict_size(d) != 0) dict_prefetch_hashed(d, dict_hash(d, key, len), stage);
}

void dict_prefetch_hashed(const struct dict *d, uint64_t h, enum dict_prefetch_stage stage)
{
    if (dict_size(d) == 0) return;
    for (int i = 0; i < 2 && d->t[i].buckets != NULL; i++) {
        struct dict_entry *const *slot = &d->t[i].buckets[h & d->t[i].size_mask];
        if (stage == DICT_PREFETCH_BUCKET) {
            __builtin_prefetch(slot);
            continue;
        }
        const struct dict_entry *e = *slot;
        if (e == NULL) continue;
        /* The chain's head is the likely match (chains average ~1.5). */
        __builtin_prefetch(stage == DICT_PREFETCH_ENTRY ? (const void *)e : e->val);
    }
}

struct dict_entry *dict_peek(const struct dict *d, const void *key, size_t len)
{
    if (dict_size(d) == 0) return NULL;
    int which;
    struct dict_entry **link = lookup((struct dict *)d, key, len, dict_hash(d, key, len), &which);
    return link ? *link : NULL;
}

struct dict_entry *dict_add(struct dict *d, const void *key, size_t len, void *val,
                            struct dict_entry **existing)
{
    struct dict_entry **link, *e;
    struct dict_table *t;
    uint64_t h, idx;
    int which;

    ASSERT(len < DICT_KEY_MAX);
    if (dict_is_rehashing(d)) rehash(d, 1);
    grow_if_needed(d);
    ASSERT(d->t[0].buckets != NULL);
    h = dict_hash(d, key, len);
    link = lookup(d, key, len, h, &which);
    if (link != NULL) {
        if (existing != NULL) *existing = *link;
        return NULL;
    }
    /* Header and key in one block: offsetof, not sizeof, so the 4 bytes of
     * tail padding after key_len hold key bytes instead of nothing. */
    size_t bytes = offsetof(struct dict_entry, key) + len + 1;
    e = must(malloc(bytes), bytes);
    e->val = val;
    e->key_len = (uint32_t)len & DICT_KEY_MAX;
    e->mark = 0;
    memcpy(e->key, key, len);
    e->key[len] = '\0';
    t = &d->t[dict_is_rehashing(d) ? 1 : 0];
    idx = h & t->size_mask;
    e->next = t->buckets[idx];
    t->buckets[idx] = e;
    t->used++;
    return e;
}

int dict_delete(struct dict *d, const void *key, size_t len, void **val_out)
{
    struct dict_entry **link, *e;
    int which;

    if (dict_size(d) == 0) return 0;
    if (dict_is_rehashing(d)) rehash(d, 1);
    link = lookup(d, key, len, dict_hash(d, key, len), &which);
    if (link == NULL) return 0;
    e = *link;
    *link = e->next;
    ASSERT(d->t[which].used > 0);
    d->t[which].used--;
    if (val_out != NULL) *val_out = e->val;
    free(e);
    return 1;
}

int dict_rehash_steps(struct dict *d, int n)
{
    return rehash(d, n);
}

void dict_maybe_shrink(struct dict *d)
{
    uint64_t size = table_size(&d->t[0]), used = d->t[0].used;

    if (dict_is_rehashing(d) || d->pause_rehash > 0 || size <= DICT_SIZE_MIN) return;
    if (used * 8 >= size) return;
    ASSERT(d->t[1].buckets == NULL);
    /* +1 so the new table is not full on arrival (which would regrow it on
     * the next insert). */
    start_resize(d, size_for(used + 1));
}

/* ---- iteration ---- */

static inline uint64_t reverse_bits(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
    v = ((v >> 8) & 0x00ff00ff00ff00ffULL) | ((v & 0x00ff00ff00ff00ffULL) << 8);
    v = ((v >> 16) & 0x0000ffff0000ffffULL) | ((v & 0x0000ffff0000ffffULL) << 16);
    return (v >> 32) | (v << 32);
}

/* Increments the cursor's masked bits in reverse order (high bit first).
 * Setting the unmasked bits first lets the carry run straight out of them. */
static inline uint64_t cursor_next(uint64_t v, uint64_t mask)
{
    v |= ~mask;
    return reverse_bits(reverse_bits(v) + 1);
}

/* Visits a chain; the next link is read first so fn may delete e. */
static void visit_chain(struct dict_entry *e, dict_visit_fn *fn, void *ud)
{
    for (struct dict_entry *next; e != NULL; e = next) {
        next = e->next;
        fn(ud, e);
    }
}

/*
 * Why reverse-binary order survives resizes: bucket b of a table of size 2^n
 * splits into buckets b and b + 2^n of a table of size 2^(n+1), i.e. the new
 * index only adds a high bit.  Counting with the high bits first visits all
 * the "children" of a prefix together, so a cursor that was valid for one
 * size is valid for any other: growing never skips a bucket, shrinking can
 * only revisit some.  While rehashing, one smaller-table bucket and all its
 * expansions in the larger table are visited together.
 */
uint64_t dict_scan(struct dict *d, uint64_t cursor, dict_visit_fn *fn, void *ud)
{
    uint64_t v = cursor;

    if (dict_size(d) == 0) return 0;
    ASSERT(d->t[0].buckets != NULL);
    d->pause_rehash++;
    if (!dict_is_rehashing(d)) {
        const struct dict_table *t = &d->t[0];
        visit_chain(t->buckets[v & t->size_mask], fn, ud);
        v = cursor_next(v, t->size_mask);
    } else {
        const struct dict_table *small = &d->t[0], *large = &d->t[1];
        if (small->size_mask > large->size_mask) {
            small = &d->t[1];
            large = &d->t[0];
        }
        uint64_t m0 = small->size_mask, m1 = large->size_mask;
        visit_chain(small->buckets[v & m0], fn, ud);
        /* Walk the expansions of v & m0: the bits in m1 but not m0. */
        do {
            visit_chain(large->buckets[v & m1], fn, ud);
            v = cursor_next(v, m1);
        } while (v & (m0 ^ m1));
    }
    ASSERT(d->pause_rehash > 0);
    d->pause_rehash--;
    return v;
}

/* dict_foreach's software pipeline: the first entry of bucket b + ENTRY_AHEAD
 * is fetched, and the second entry and the value of bucket b + VALUE_AHEAD's
 * first (which has arrived by then), while bucket b is visited. A table of
 * millions of keys is otherwise a cache miss per entry and per value, one
 * after the other (what a whole-keyspace walk costs most). At a load factor
 * near 1 a third of the entries are not first in their chain; entries
 * after the second are rare and not fetched ahead. */
#define FOREACH_ENTRY_AHEAD 16
#define FOREACH_VALUE_AHEAD 8

/* Buckets [from, to) of t, with the pipeline; the values too when asked.
 * It runs on past `to` (to the table's end), so that a walk made of
 * slices finds the first buckets of its next slice fetched. */
static void visit_range(const struct dict_table *t, uint64_t from, uint64_t to, dict_visit_fn *fn,
                        void *ud, bool values)
{
    uint64_t n = table_size(t);
    for (uint64_t b = from; b < to; b++) {
        if (b + FOREACH_ENTRY_AHEAD < n && t->buckets[b + FOREACH_ENTRY_AHEAD])
            __builtin_prefetch(t->buckets[b + FOREACH_ENTRY_AHEAD]);
        const struct dict_entry *ahead =
            b + FOREACH_VALUE_AHEAD < n ? t->buckets[b + FOREACH_VALUE_AHEAD] : NULL;
        if (ahead && values) __builtin_prefetch(ahead->val);
        if (ahead && ahead->next) __builtin_prefetch(ahead->next);
        visit_chain(t->buckets[b], fn, ud);
    }
}

void dict_foreach(struct dict *d, dict_visit_fn *fn, void *ud)
{
    d->pause_rehash++;
    for (int i = 0; i < 2; i++)
        visit_range(&d->t[i], 0, table_size(&d->t[i]), fn, ud, true);
    ASSERT(d->pause_rehash > 0);
    d->pause_rehash--;
}

void dict_walk_init(const struct dict *d, struct dict_walk *w)
{
    memset(w, 0, sizeof *w);
    w->scanning = dict_is_rehashing(d);
    w->size_mask = d->t[0].size_mask;
}

int dict_walk(struct dict *d, struct dict_walk *w, uint64_t buckets, dict_visit_fn *fn, void *ud)
{
    if (!w->scanning && (dict_is_rehashing(d) || d->t[0].size_mask != w->size_mask)) {
        /* The shape changed: entries may have moved behind the position. */
        w->scanning = 1;
        w->pos = 0;
        w->started = 0;
    }
    if (!w->scanning) {
        uint64_t n = table_size(&d->t[0]);
        uint64_t to = w->pos + buckets < n ? w->pos + buckets : n;
        d->pause_rehash++;
        visit_range(&d->t[0], w->pos, to, fn, ud, false);
        d->pause_rehash--;
        w->pos = to;
        ASSERT(w->pos <= n);
        return w->pos == n;
    }
    for (uint64_t k = 0; k < buckets; k++) {
        if (w->started && w->pos == 0) return 1;
        w->started = 1;
        w->pos = dict_scan(d, w->pos, fn, ud);
    }
    return w->started && w->pos == 0;
}

/* A uniform index in [0, n) from 64 random bits, without a division. */
static inline uint64_t below(uint64_t r, uint64_t n)
{
    uint64_t lo, hi;
    mul128(r, n, &lo, &hi);
    return hi;
}

/* Bucket k of the live buckets: t[0] from `first` on, then all of t[1]. */
static struct dict_entry *live_bucket(const struct dict *d, uint64_t k, uint64_t first,
                                      uint64_t live0)
{
    return k < live0 ? d->t[0].buckets[first + k] : d->t[1].buckets[k - live0];
}

struct dict_entry *dict_random(struct dict *d, uint64_t (*rnd)(void *), void *rnd_ud)
{
    uint64_t first = dict_is_rehashing(d) ? (uint64_t)d->rehash_idx : 0;
    uint64_t live0 = table_size(&d->t[0]) - first;
    uint64_t span = live0 + table_size(&d->t[1]);
    struct dict_entry *head = NULL, *e;
    uint64_t k = 0, len = 0;

    if (dict_size(d) == 0) return NULL;
    for (int probes = 0; head == NULL && probes < RANDOM_PROBES_MAX; probes++) {
        k = below(rnd(rnd_ud), span);
        head = live_bucket(d, k, first, live0);
    }
    /* A table left sparse by deletions (not yet shrunk by the cron) could
     * take ~size probes; walk on from the last one instead.  The slight bias
     * toward buckets after long empty runs is the price of a bounded cost. */
    while (head == NULL) {
        k = k + 1 < span ? k + 1 : 0;
        head = live_bucket(d, k, first, live0);
    }
    for (e = head; e != NULL; e = e->next)
        len++;
    for (k = below(rnd(rnd_ud), len), e = head; k > 0; k--)
        e = e->next;
    return e;
}

/* A run of this many empty buckets makes dict_sample jump elsewhere. */
#define SAMPLE_EMPTY_RUN 5

size_t dict_sample(struct dict *d, size_t n, struct dict_entry **out, uint64_t (*rnd)(void *),
                   void *rnd_ud)
{
    if (dict_size(d) == 0 || n == 0) return 0;
    if (n > dict_size(d)) n = dict_size(d);
    uint64_t first = dict_is_rehashing(d) ? (uint64_t)d->rehash_idx : 0;
    uint64_t live0 = table_size(&d->t[0]) - first;
    uint64_t span = live0 + table_size(&d->t[1]);
    uint64_t k = below(rnd(rnd_ud), span), steps = 10 * (uint64_t)n, empty = 0;
    size_t got = 0;
    /* The run's entries are fetched together, not one miss after another. */
    for (uint64_t j = 0, b = k; j < n; j++, b = b + 1 < span ? b + 1 : 0) {
        const struct dict_entry *e = live_bucket(d, b, first, live0);
        if (e != NULL) __builtin_prefetch(e);
    }
    while (got < n && steps-- > 0) {
        struct dict_entry *e = live_bucket(d, k, first, live0);
        if (e == NULL && ++empty >= SAMPLE_EMPTY_RUN && empty > n) {
            k = below(rnd(rnd_ud), span);
            empty = 0;
            continue;
        }
        if (e != NULL) empty = 0;
        for (; e != NULL && got < n; e = e->next)
            out[got++] = e;
        k = k + 1 < span ? k + 1 : 0;
    }
    if (got == 0) out[got++] = dict_random(d, rnd, rnd_ud); /* sparse: one at least */
    return got;
}

size_t dict_table_bytes(const struct dict *d)
{
    return (size_t)(table_size(&d->t[0]) + table_size(&d->t[1])) * sizeof(struct dict_entry *);
}
