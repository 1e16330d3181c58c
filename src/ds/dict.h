/*
 * src/ds/dict.h - hash table keyed by binary strings, with incremental rehash.
 *
 * Owns: its buckets and entries; each entry holds a private copy of the key
 * (inline, NUL-terminated after key_len bytes) and a borrowed-by-the-dict
 * value pointer that the caller owns (the dict never frees values except via
 * the free callback passed to dict_clear/dict_free).
 *
 * Growth never stalls the event loop: the table doubles (or halves when under
 * 1/8 full) by allocating a second table and moving buckets a few at a time —
 * one step on every insert/find/delete, plus dict_rehash_steps() called by the
 * server's cron with a budget. Lookups consult both tables while rehashing.
 *
 * Hashing is seeded (dict_init): which keys collide depends on the seed, so
 * bucket chains stay short for sequential or adversarially-similar keys.  It
 * is a fast mixing hash, not a keyed PRF like SipHash.
 *
 * Sizes: tables are powers of two, at least 4 buckets; a table grows (doubles)
 * when an insert finds used >= size, and shrinks only through
 * dict_maybe_shrink().  Each entry is a single allocation of 20 bytes + key
 * + 1.  Allocation failure aborts the process (memory exhaustion is fatal to
 * the server, as in Redis).
 *
 * dict_scan() implements a stateless cursor (reverse-binary increment over the
 * bucket index) that returns every key present for the whole scan at least
 * once, even across grows, shrinks and rehashing; keys may repeat.
 *
 * Entry pointers stay valid until that key is deleted or the dict cleared;
 * rehashing moves entries between tables without reallocating them.
 *
 * Keys are (pointer, length) byte strings and may contain NUL bytes; the key
 * pointer must be non-NULL even when the length is 0.
 */
#ifndef DICT_H
#define DICT_H

#include <stddef.h>
#include <stdint.h>

struct dict_entry {
    struct dict_entry *next;
    void *val;             /* caller-owned; may be replaced in place */
    uint32_t key_len : 31; /* keys are limited to 2 GiB - 1 (bulk limit is lower) */
    uint32_t
        mark : 1; /* the owner's bit (src/keyspace/kv.h: saved by a live snapshot); 0 when added */
    char key[];   /* key_len bytes + NUL */
};

#define DICT_KEY_MAX 0x7fffffffu /* a key is shorter */

struct dict_table {
    struct dict_entry **buckets;
    uint64_t size_mask; /* size - 1; size is a power of two (0 buckets: mask 0, NULL) */
    uint64_t used;
};

/* Whether a table of `bytes` more may be allocated now (a memory limit). */
typedef int dict_may_grow_fn(void *ud, size_t bytes);

struct dict {
    struct dict_table t[2];
    int64_t rehash_idx; /* -1 when not rehashing, else next bucket of t[0] to move */
    uint64_t seed;
    unsigned pause_rehash; /* >0 while a caller iterates with dict_foreach */
    /* Optional (NULL: always): asked before the table doubles while it holds
     * at most DICT_MAX_LOAD_PERMILLE / 1000 entries per bucket; refused, it
     * stays and its chains lengthen (as Redis's dictExpandAllowed, so that
     * a doubling never pushes a full cache past maxmemory). */
    dict_may_grow_fn *may_grow;
    void *may_grow_ud;
};
#define DICT_MAX_LOAD_PERMILLE 1618

/* Releases a value the dict hands back (dict_free/dict_clear). */
typedef void dict_free_fn(void *val);
/* Called with each visited entry.  It may replace e->val, look keys up, and
 * delete e itself (only e: the visitor reads e->next before the call); it
 * must not add keys.  Rehashing is paused for the duration of the visit. */
typedef void dict_visit_fn(void *ud, struct dict_entry *e);

/* Makes an empty dict; allocates nothing until the first dict_add.  Any seed
 * works; production dicts should use a random one. */
void dict_init(struct dict *d, uint64_t seed);
/* Frees every entry (calling free_val on each value if non-NULL) and the
 * tables.  Must not be called from inside a visit. */
void dict_free(struct dict *d, dict_free_fn *free_val);
/* Same as dict_free, leaves an empty usable dict with the same seed. */
void dict_clear(struct dict *d, dict_free_fn *free_val);

static inline uint64_t dict_size(const struct dict *d)
{
    return d->t[0].used + d->t[1].used;
}
/* Buckets allocated in both tables (the bucket arrays' pointers). */
static inline uint64_t dict_slots(const struct dict *d)
{
    uint64_t n = 0;
    for (int i = 0; i < 2; i++)
        if (d->t[i].buckets) n += d->t[i].size_mask + 1;
    return n;
}
static inline int dict_is_rehashing(const struct dict *d)
{
    return d->rehash_idx != -1;
}

/* The seeded 64-bit hash of key; tables index with its low bits. */
uint64_t dict_hash(const struct dict *d, const void *key, size_t len);
/* The entry for key, or NULL.  Performs one rehash step (unless paused). */
struct dict_entry *dict_find(struct dict *d, const void *key, size_t len);
/* The entry for key, or NULL, changing nothing (no rehash step): for hints
 * (src/keyspace/kv.c's kv_prefetch_member) that must not move the table. */
struct dict_entry *dict_peek(const struct dict *d, const void *key, size_t len);
/* Adds key -> val, copying the key (len < 2^32 - 1).  Returns the new entry,
 * or NULL if the key exists already (then *existing, if non-NULL, is set to
 * it and val is not stored).  Performs one rehash step and may start a grow. */
struct dict_entry *dict_add(struct dict *d, const void *key, size_t len, void *val,
                            struct dict_entry **existing);
/*
 * Memory-access hints for a caller about to look up a run of keys (a batch
 * of commands): a lookup in a large table waits on up to three cache misses
 * (bucket slot, entry, value), which a caller can overlap by issuing, for
 * keys a few positions ahead, DICT_PREFETCH_BUCKET first, DICT_PREFETCH_ENTRY
 * once that has had time to land, then DICT_PREFETCH_VALUE. Hints only: they
 * never change the dict or fault, whatever the table holds.
 */
enum dict_prefetch_stage { DICT_PREFETCH_BUCKET, DICT_PREFETCH_ENTRY, DICT_PREFETCH_VALUE };
void dict_prefetch(const struct dict *d, const void *key, size_t len,
                   enum dict_prefetch_stage stage);
/* dict_prefetch for a key whose dict_hash the caller keeps (a key fetched in
 * stages is hashed once). */
void dict_prefetch_hashed(const struct dict *d, uint64_t hash, enum dict_prefetch_stage stage);
/* Removes key. Returns 1 and stores its value in *val_out (if non-NULL) so the
 * caller can free it; 0 if absent.  Performs one rehash step; never shrinks
 * (that is dict_maybe_shrink's job). */
int dict_delete(struct dict *d, const void *key, size_t len, void **val_out);

/* Does up to n bucket moves, each visiting at most 10 empty buckets; returns
 * 1 if rehashing is still in progress.  Does nothing while paused. */
int dict_rehash_steps(struct dict *d, int n);
/* Starts a shrink if the table has more than 4 buckets and is under 1/8
 * full (called from the cron).  No-op while rehashing or paused. */
void dict_maybe_shrink(struct dict *d);

/* Visits the bucket(s) at cursor, returns the next cursor (0 when done).
 * Start with cursor 0.  Every key present from the first call to the last
 * is visited at least once, whatever grows, shrinks and rehash steps happen
 * between calls; keys may be visited more than once, and keys added or
 * deleted meanwhile may or may not be. */
uint64_t dict_scan(struct dict *d, uint64_t cursor, dict_visit_fn *fn, void *ud);
/* Visits every entry exactly once, in no particular order. */
void dict_foreach(struct dict *d, dict_visit_fn *fn, void *ud);

/* A resumable walk that, between dict_walk_init and the call that returns
 * 1, visits every entry present all along at least once (entries may
 * repeat), whatever happens to the dict between calls. While the table
 * keeps its size and no rehash runs, buckets are visited in index order
 * with dict_foreach's prefetching of the entries, not of the values (a
 * table of millions of keys is otherwise a cache miss per bucket and per
 * entry; the live snapshot's walk reads entries only); if the table is being
 * rehashed at the start, or its shape changes meanwhile, the walk goes on
 * as a dict_scan from cursor 0, which survives anything. dict_walk visits
 * about `buckets` buckets and returns 1 once the walk is over. */
struct dict_walk {
    uint64_t pos;       /* linear: the next bucket; scan: the cursor */
    uint64_t size_mask; /* linear: the table's, at the start */
    int scanning;
    int started; /* scan: a first call was made (cursor 0 means done after it) */
};
void dict_walk_init(const struct dict *d, struct dict_walk *w);
int dict_walk(struct dict *d, struct dict_walk *w, uint64_t buckets, dict_visit_fn *fn, void *ud);
/* A random entry, or NULL if empty: a uniformly chosen non-empty bucket, then
 * a uniformly chosen entry of its chain (so not exactly uniform over keys).
 * rnd(rnd_ud) must return 64 uniformly random bits per call. */
struct dict_entry *dict_random(struct dict *d, uint64_t (*rnd)(void *), void *rnd_ud);
/* Up to n distinct entries into out, for sampling (eviction): the chains of
 * consecutive buckets from a random one, so that the bucket array is read
 * a cache line at a time instead of one miss per draw (Redis's
 * dictGetSomeKeys does the same). Far from uniform over a single call, fair
 * over many. Returns how many it found: at least one unless the dict is
 * empty, and fewer than n when it holds fewer or they are scattered (about
 * 10 buckets are looked at per entry wanted). */
size_t dict_sample(struct dict *d, size_t n, struct dict_entry **out, uint64_t (*rnd)(void *),
                   void *rnd_ud);

/* Bytes used by the bucket arrays (not entries). */
size_t dict_table_bytes(const struct dict *d);

#endif
