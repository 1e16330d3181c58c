/*
 * src/dict.h - hash table keyed by binary strings, with incremental rehash.
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
 * Hashing is seeded (dict_init) so that an attacker cannot choose colliding keys.
 *
 * dict_scan() implements a stateless cursor (reverse-binary increment over the
 * bucket index) that returns every key present for the whole scan at least
 * once, even across grows, shrinks and rehashing; keys may repeat.
 *
 * Entry pointers stay valid until that key is deleted or the dict cleared;
 * rehashing moves entries between tables without reallocating them.
 */
#ifndef DICT_H
#define DICT_H

#include <stddef.h>
#include <stdint.h>

struct dict_entry {
    struct dict_entry *next;
    void *val;        /* caller-owned; may be replaced in place */
    uint32_t key_len; /* keys are limited to 4 GiB - 1 (bulk limit is lower) */
    char key[];       /* key_len bytes + NUL */
};

struct dict_table {
    struct dict_entry **buckets;
    uint64_t size_mask; /* size - 1; size is a power of two (0 buckets: mask 0, NULL) */
    uint64_t used;
};

struct dict {
    struct dict_table t[2];
    int64_t rehash_idx; /* -1 when not rehashing, else next bucket of t[0] to move */
    uint64_t seed;
    unsigned pause_rehash; /* >0 while a caller iterates with dict_foreach */
};

typedef void dict_free_fn(void *val);
typedef void dict_visit_fn(void *ud, struct dict_entry *e);

void dict_init(struct dict *d, uint64_t seed);
/* Frees every entry (calling free_val on each value if non-NULL) and the tables. */
void dict_free(struct dict *d, dict_free_fn *free_val);
/* Same as dict_free, leaves an empty usable dict. */
void dict_clear(struct dict *d, dict_free_fn *free_val);

static inline uint64_t dict_size(const struct dict *d) { return d->t[0].used + d->t[1].used; }
static inline int dict_is_rehashing(const struct dict *d) { return d->rehash_idx != -1; }

uint64_t dict_hash(const struct dict *d, const void *key, size_t len);
struct dict_entry *dict_find(struct dict *d, const void *key, size_t len);
/* Adds key -> val. Returns the new entry, or NULL if the key exists already
 * (then *existing, if non-NULL, is set to it). */
struct dict_entry *dict_add(struct dict *d, const void *key, size_t len, void *val,
                            struct dict_entry **existing);
/* Removes key. Returns 1 and stores its value in *val_out (if non-NULL) so the
 * caller can free it; 0 if absent. */
int dict_delete(struct dict *d, const void *key, size_t len, void **val_out);

/* Does up to n bucket moves; returns 1 if rehashing is still in progress. */
int dict_rehash_steps(struct dict *d, int n);
/* Starts a shrink if the table is under 1/8 full (called from the cron). */
void dict_maybe_shrink(struct dict *d);

/* Visits the bucket(s) at cursor, returns the next cursor (0 when done). */
uint64_t dict_scan(struct dict *d, uint64_t cursor, dict_visit_fn *fn, void *ud);
/* Visits every entry once; fn must not add or delete keys. */
void dict_foreach(struct dict *d, dict_visit_fn *fn, void *ud);
/* A uniformly-chosen-bucket random entry, or NULL if empty; r is random bits
 * from the caller. */
struct dict_entry *dict_random(struct dict *d, uint64_t (*rnd)(void *), void *rnd_ud);

/* Approximate bytes used by the table arrays (not entries). */
size_t dict_table_bytes(const struct dict *d);

#endif
