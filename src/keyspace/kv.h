/*
 * src/keyspace/kv.h - the keyspace: one database of binary-safe string values with
 * optional absolute expiry times, on top of struct dict (src/ds/dict.h).
 * A node's databases (SELECT) are one struct kv each, sharing one struct
 * kv_common: the settings, clocks, stats and hooks.
 *
 * Owns: every key (copied into its dict entry) and every value (one
 * struct kv_val allocation per key, header and bytes together). Keys with a
 * TTL are also indexed in a second dict, `volatile_keys` (key -> the main
 * dict's entry, which stays put while the key lives), so the active expiry
 * sampler only ever looks at keys that can expire, as Redis's expires dict.
 *
 * Time: nothing here reads a clock. Every lookup takes now_ms, and a key
 * whose expire_ms <= now_ms is logically absent.
 *   - Read lookups (kv_lookup_read, kv_exists) never change the keyspace:
 *     they only hide an expired key. Read commands run on any node with the
 *     local wall clock, so they must not diverge the replicas.
 *   - Write lookups and every mutator first delete an expired key they meet
 *     (counting expired_keys, firing on_modify), like Redis's
 *     lookupKeyWrite. They run in the deterministic apply path, where now_ms
 *     is the log entry's timestamp, so every replica deletes the same keys.
 *
 * Hooks: on_modify(key) fires AFTER every change to a key (set, overwrite,
 * delete, TTL change, deletion of an expired key, both names of a rename);
 * on_ready(key) when kv_signal_ready is called;
 * on_flush fires BEFORE kv_flush empties the keyspace (the WATCH index needs
 * to see what was there); on_event (keyspace notifications, src/keyspace/notify.h)
 * fires KV_EVENT_EXPIRED when a write lookup, a mutator or
 * kv_delete_if_expired deletes an expired key, and KV_EVENT_NEW when a key
 * that did not logically exist gets a value (a rename's destination
 * always, as Redis re-adds it), as Redis's "expired" and "new", for the
 * events whose bit (1 << ev) is set in event_mask: with none wanted, an
 * event costs one test. Hooks must not modify the keyspace.
 *
 * Borrowed pointers: a struct kv_val * returned by a lookup is valid until
 * the next call that may modify the keyspace (any non-const kv_ call except
 * kv_lookup_read / kv_exists / kv_physically_exists).
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ds/dict.h"
#include "keyspace/digest.h"
#include "keyspace/types.h"

#define KV_NO_EXPIRE (-1) /* kv_val.expire_ms of a persistent key */
#define KV_KEEP_TTL (-2)  /* kv_set: keep the key's current expire_ms */

/* A value's type (TYPE, WRONGTYPE). Strings live inside struct kv_val; every
 * other type is an object owned by its type module (src/keyspace/types.h), held in
 * kv_val.data as one pointer. The numbers are those of snapshot records
 * (src/sm/snapshot.h): they never change meaning. */
enum kv_type {
    KV_STRING = 0,
    KV_LIST = 1,
    KV_SET = 2,
    KV_ZSET = 3,
    KV_HASH = 4,
    KV_STREAM = 5,
    KV_TYPE_COUNT = 6,
};

/* String encodings (kv_val.enc of a KV_STRING): Redis's names. "int" is
 * not stored: OBJECT ENCODING reports it for an EMBSTR/RAW value whose bytes
 * are a canonical 64-bit integer that was not grown in place. */
enum kv_string_enc { KV_ENC_EMBSTR = 0, KV_ENC_RAW = 1 };
#define KV_EMBSTR_MAX 44 /* longest value Redis keeps "embstr" */

#define KV_LRU_BITS 24
#define KV_LRU_MAX ((1u << KV_LRU_BITS) - 1)

/*
 * Access metadata, in a value's 24 `lru` bits, as Redis keeps it: with an
 * LRU policy (or none), kv_common.lru_clock at the last access; with an *-lfu
 * maxmemory-policy (kv_common.access.lfu), Redis's LFU: the minutes (mod 2^16) of
 * the counter's last decay in the high 16 bits and a logarithmic access
 * counter in the low 8. A new value's counter starts at KV_LFU_INIT; an
 * access first decays it by one per lfu-decay-time minutes idle, then adds
 * one with probability 1 / ((counter - KV_LFU_INIT) * lfu-log-factor + 1).
 * Local to each node (never in the log, never in a snapshot): the leader's
 * reads and applied writes feed the figures its eviction decides with.
 */
#define KV_LFU_INIT 5
struct kv_access {
    int lfu;                 /* an *-lfu maxmemory-policy: `lru` holds LFU data */
    int evicts_by_access;    /* maxmemory set, with an LRU or LFU policy */
    uint32_t lfu_log_factor; /* lfu-log-factor */
    uint32_t lfu_decay_time; /* lfu-decay-time: minutes per decrement; 0 = none */
};

/* One value: header and bytes in one allocation. A string's bytes are
 * data[0..len); the allocation's usable size past that (malloc_usable_size)
 * is spare room for APPEND/SETRANGE growth. Another type keeps its object
 * pointer in data (kv_val_obj) and len 0. A stored expire_ms is always
 * positive (commands validate it), so -1 is free to mean "none". */
struct kv_val {
    int64_t expire_ms; /* absolute Unix ms, or KV_NO_EXPIRE */
    uint32_t len;      /* string bytes; 0 for other types */
    uint32_t type : 4; /* enum kv_type */
    uint32_t enc : 4;  /* the type's encoding (kv_type_ops.encodings) */
    uint32_t lru : 24; /* kv_common.lru_clock at the last access (OBJECT IDLETIME) */
    char data[];
};

/* The object of a non-string value. */
static inline void *kv_val_obj(const struct kv_val *v)
{
    void *p;
    memcpy(&p, v->data, sizeof p);
    return p;
}

/* 1 if v is logically absent at now_ms. */
static inline int kv_val_expired(const struct kv_val *v, int64_t now_ms)
{
    return v->expire_ms != KV_NO_EXPIRE && v->expire_ms <= now_ms;
}

typedef void kv_key_fn(void *ud, const char *key, size_t len);

enum kv_event { KV_EVENT_NEW, KV_EVENT_EXPIRED, KV_EVENT_EVICTED };

/*
 * A live snapshot (src/sm/snaplive.h) writes the keyspace as it was when it
 * began while commands go on changing it. Between kv_snapshot_begin and
 * kv_snapshot_end, an entry of kv.keys whose mark differs from kv.snap_mark
 * is not saved yet: before any change to it (a mutator, a write lookup, a
 * deletion, a rename of either name, a flush), and before any lookup that
 * hands out a non-const pointer to its value, kv calls saver->save(e), which
 * writes the entry as it is and sets e->mark = kv.snap_mark. Entries added
 * meanwhile get snap_mark at once: they were not there when it began. So the
 * snapshot holds exactly the entries of its start, each as it was then,
 * whatever happens meanwhile, and each once.
 *
 * A saver may mark an entry saved and leave the reading of it to another
 * thread (src/base/handoff.h). While saver->handed is non-zero, kv calls
 * saver->settle(e) before it changes a saved entry as it would call save
 * for an unsaved one; settle returns once no other thread reads e.
 */
struct kv_saver {
    void (*save)(void *ud, struct dict_entry *e);
    void (*settle)(void *ud, struct dict_entry *e);
    void *ud;
    unsigned handed; /* entries may be read elsewhere: settle before changing one */
};

/*
 * What every database of a node shares: the type modules, the settings,
 * the clocks of the access metadata, the stats INFO reports (Redis's are
 * server-wide) and the hooks. One per node; each struct kv points at it.
 */
struct kv_common {
    /* The type modules by enum kv_type, NULL for KV_STRING (the keyspace's
     * own) and for types not offered: given to kv_common_init() by its owner
     * (src/types/typetable.h), so that the keyspace depends on the contract
     * (src/keyspace/types.h) and not on the modules that implement it. */
    const struct kv_type_ops *const *types;
    uint64_t rng;            /* PRNG state for RANDOMKEY (local reads only) */
    size_t max_value_len;    /* proto-max-bulk-len: APPEND/SETRANGE limit */
    struct kv_limits limits; /* encoding thresholds for the type modules */
    uint32_t lru_clock;      /* seconds, mod 2^24: set by the server's cron */
    uint32_t lfu_minutes;    /* minutes, mod 2^16: set by the server's cron */
    struct kv_access access; /* how `lru` is kept: set by the owner (maxmemory-policy) */
    /* stats (INFO) */
    uint64_t keyspace_hits, keyspace_misses, expired_keys, evicted_keys;
    /* keys changed (each on_modify) and keys flushed: Redis's dirty counter
     * (INFO rdb_changes_since_last_save), one per key a write changes */
    uint64_t changes;
    /* hooks (WATCH); may be NULL; db is the database's number (kv.id) */
    void (*on_modify)(void *ud, int db, const char *key, size_t len);
    void (*on_ready)(void *ud, int db, const char *key, size_t len); /* kv_signal_ready */
    void (*on_flush)(void *ud, int db);
    void (*on_event)(void *ud, int db, enum kv_event ev, const char *key, size_t len);
    void (*on_swap)(void *ud, int a, int b); /* databases a and b are about to trade keys */
    unsigned event_mask;                     /* 1 << enum kv_event: the events on_event gets */
    void *hook_ud;
};

/* One database: its keys, and what is tied to them. */
struct kv {
    struct kv_common *common;  /* borrowed: outlives the database */
    int id;                    /* the database's number (SELECT) */
    struct dict keys;          /* key -> struct kv_val * */
    struct dict volatile_keys; /* key -> struct dict_entry * of `keys` */
    uint64_t expire_cursor;    /* resumable dict_scan cursor of the sampler */
    uint64_t avg_ttl;          /* ms: the sampler's estimate (INFO keyspace; 0 where none runs) */
    /* the live snapshot in progress, or NULL (struct kv_saver) */
    const struct kv_saver *saver;
    unsigned snap_mark; /* 0 or 1: the mark of a saved entry */
};

/* Default settings, zero stats, no hooks; seed starts the PRNG. */
void kv_common_init(struct kv_common *common, const struct kv_type_ops *const *types,
                    uint64_t seed);
/* An empty database numbered id, sharing common; seed lays out its
 * tables. */
void kv_init(struct kv *kv, struct kv_common *common, int id, uint64_t seed);
/* Asks may_grow before either dict of keys doubles (src/ds/dict.h): the
 * owner's memory limit. */
void kv_set_may_grow(struct kv *kv, dict_may_grow_fn *may_grow, void *ud);
/* Frees every key and value, waiting for the lazyfree thread to finish
 * what it was given (src/base/lazyfree.h). */
void kv_free(struct kv *kv);
/* Deletes every key (on_flush fires first). Stats are kept. */
void kv_flush(struct kv *kv);
void kv_reset_stats(struct kv_common *common);
/* Incremental rehash and shrink of both dicts; called by the server timer. */
void kv_cron(struct kv *kv);

/* Physical counts: keys logically expired but not yet deleted are included,
 * as in Redis's DBSIZE and INFO keyspace. */
uint64_t kv_size(const struct kv *kv);
uint64_t kv_volatile_count(const struct kv *kv);

/* --- lookups --- */

/* Read lookup: the value, or NULL if absent or expired at now_ms. Counts
 * keyspace_hits / keyspace_misses. Never modifies the keyspace. */
struct kv_val *kv_lookup_read(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* Like kv_lookup_read without counting stats: 1 if the key logically exists. */
int kv_exists(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* 1 if the key is stored, expired or not (WATCH bookkeeping). */
int kv_physically_exists(struct kv *kv, const char *key, size_t len);
/* The value stored for key, logically expired or not, or NULL: what the
 * node holds, without stats or LRU (DEBUG DIGEST-VALUE, as Redis's reads
 * of its dict). Borrowed like a lookup's. */
const struct kv_val *kv_lookup_stored(struct kv *kv, const char *key, size_t len);

enum kv_lookup_flags {
    KV_LOOKUP_STATS = 1u << 0, /* count hits/misses (Redis read lookups in write commands) */
};
/* Write lookup: deletes the key first if expired at now_ms, then returns its
 * value or NULL. flags: KV_LOOKUP_STATS or 0. */
struct kv_val *kv_lookup_write(struct kv *kv, const char *key, size_t len, int64_t now_ms,
                               unsigned flags);
/* A hint that key will be looked up soon (dict_prefetch's stages). */
static inline void kv_prefetch(const struct kv *kv, const char *key, size_t len,
                               enum dict_prefetch_stage stage)
{
    dict_prefetch(&kv->keys, key, len, stage);
}
/* kv_prefetch in stages with the key hashed once: hash = kv_key_hash(). */
static inline uint64_t kv_key_hash(const struct kv *kv, const char *key, size_t len)
{
    return dict_hash(&kv->keys, key, len);
}
static inline void kv_prefetch_hashed(const struct kv *kv, uint64_t hash,
                                      enum dict_prefetch_stage stage)
{
    dict_prefetch_hashed(&kv->keys, hash, stage);
}

/* A hint that member (a hash field, a set or sorted-set member) of key's
 * value will be looked up soon: dict_prefetch's stages on the value's
 * member dict, if it has one. Reads the keyspace's lines for key, so their
 * prefetch (kv_prefetch) should come a few commands earlier. Changes
 * nothing. */
void kv_prefetch_member(const struct kv *kv, const char *key, size_t klen, const char *member,
                        size_t mlen, enum dict_prefetch_stage stage);

/* Like kv_lookup_read without touching the value's LRU clock (TYPE, as
 * Redis's LOOKUP_NOTOUCH); hits and misses are counted. */
struct kv_val *kv_lookup_notouch(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* Like kv_lookup_read without stats and without touching the value's LRU
 * clock (OBJECT, TYPE-free introspection). */
struct kv_val *kv_lookup_peek(struct kv *kv, const char *key, size_t len, int64_t now_ms);

/* The name TYPE replies for v ("string", "hash", ...). */
const char *kv_type_name(const struct kv *kv, const struct kv_val *v);
/* OBJECT ENCODING's name for v. */
const char *kv_encoding_name(const struct kv *kv, const struct kv_val *v);
/* Seconds since v was last accessed (OBJECT IDLETIME), from kv_common.lru_clock;
 * meaningful while kv_common.access.lfu is 0. */
uint64_t kv_idle_seconds(const struct kv *kv, const struct kv_val *v);
/* v's LFU counter decayed to now, without storing it (OBJECT FREQ);
 * meaningful while kv_common.access.lfu is 1. */
unsigned kv_lfu_counter(const struct kv *kv, const struct kv_val *v);
/* RESTORE's IDLETIME and FREQ (Redis's objectSetLRUOrLFU): under an LRU
 * policy (or none), v as last accessed idle_s seconds ago; under an *-lfu
 * policy, v's counter set to freq (0..255), decayed from now on. -1: not
 * given; the one the policy does not use is ignored, as Redis ignores it. */
void kv_val_set_access(const struct kv *kv, struct kv_val *v, long long idle_s, int freq);
/* Bytes v takes with its key (MEMORY USAGE); samples as kv_type_ops.memory. */
size_t kv_memory_usage(const struct kv *kv, const struct kv_val *v, size_t klen, size_t samples);

/* --- mutators (write path only) --- */

/*
 * Stores obj (of type, a module's object: ownership passes to the keyspace)
 * as key's value, replacing any value (freed). expire_ms as kv_set. Fires
 * on_modify. Returns 1 if the key was created.
 */
int kv_set_obj(struct kv *kv, const char *key, size_t klen, enum kv_type type, void *obj,
               int64_t expire_ms, int64_t now_ms);
/* A type module replaced its object in place (a conversion reallocated it). */
static inline void kv_val_set_obj(struct kv_val *v, void *obj)
{
    memcpy(v->data, &obj, sizeof obj);
}
/* Fires on_modify for key: a command changed a value in place (HSET, SADD...
 * on an existing key), as Redis's signalModifiedKey. */
void kv_modified(struct kv *kv, const char *key, size_t len);
/* Fires on_ready for key: a change clients blocked on it must look at,
 * though the key was not modified (XGROUP DESTROY), as Redis's
 * signalKeyAsReady. */
void kv_signal_ready(struct kv *kv, const char *key, size_t len);
/* A deep copy of v (COPY) stored as dst, replacing it; TTL as expire_ms. */
void kv_copy(struct kv *kv, const struct kv_val *v, const char *dst, size_t dlen, int64_t expire_ms,
             int64_t now_ms);

/*
 * Sets key to a copy of val[0..vlen) (vlen < 4 GiB), a string whatever
 * the key held before. expire_ms is the new
 * absolute expiry, KV_NO_EXPIRE to make the key persistent, or KV_KEEP_TTL
 * to keep the current one. An expired previous value is deleted first.
 * val must not point into the keyspace's own copy of key.
 * Returns 1 if the key was created, 0 if an existing value was replaced.
 */
int kv_set(struct kv *kv, const char *key, size_t klen, const void *val, size_t vlen,
           int64_t expire_ms, int64_t now_ms);
/*
 * Resizes key's string value to new_len bytes (bytes past the old length are
 * zeroed), keeping its TTL; creates an empty persistent key if absent. The
 * caller has checked that an existing value is a string.
 * Returns the value's bytes for the caller to fill [0, new_len) before its
 * next kv_ call. Growth is geometric so repeated APPENDs stay O(1) amortized.
 */
char *kv_resize(struct kv *kv, const char *key, size_t klen, size_t new_len, int64_t now_ms);
/* Deletes key. Returns 1 if a live key was deleted, 0 if it was absent or
 * expired (an expired key is still removed and counted in expired_keys). */
int kv_delete(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* Deletes key only if it is expired at now_ms (SM_ENTRY_EXPIRE entries).
 * Returns 1 if deleted. */
int kv_delete_if_expired(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* Deletes key for the leader's eviction (an eviction entry, src/sm/evict.h):
 * a live key is deleted, counted in evicted_keys and fires KV_EVENT_EVICTED;
 * with volatile_only, only if it still has a TTL (a write between the
 * leader's choice and this entry may have made it persistent, and a
 * volatile-* policy never evicts a persistent key). An expired key is
 * deleted as expired. Returns 1 if a live key was evicted. */
int kv_evict(struct kv *kv, const char *key, size_t len, int volatile_only, int64_t now_ms);
/* Sets (expire_ms > 0) or removes (KV_NO_EXPIRE) the TTL of key, which the
 * caller has looked up for writing. Returns 1 if the key is stored (and was
 * changed), 0 otherwise. kv_persist returns 1 only if a TTL was removed. */
int kv_set_expire(struct kv *kv, const char *key, size_t len, int64_t expire_ms);
int kv_persist(struct kv *kv, const char *key, size_t len);
/*
 * Moves src's value and TTL to dst, replacing dst (src != dst, both already
 * looked up for writing by the caller). Returns 0, or -1 if src is absent.
 */
int kv_rename(struct kv *kv, const char *src, size_t slen, const char *dst, size_t dlen);

/* --- digests (DEBUG DIGEST, src/keyspace/digest.h) --- */

/* Redis 7.0's digest of v's value, started from out as Redis's
 * xorObjectDigest (out zeroed: DEBUG DIGEST-VALUE): its type number, its
 * contents as the type's digest op mixes them, and a marker when it has a
 * TTL (the time does not count). */
void kv_digest_value(const struct kv *kv, const struct kv_val *v, unsigned char out[DIGEST_LEN]);
/* Redis 7.0's digest of this database as DEBUG DIGEST adds it to out:
 * nothing when no key is stored; else the database's number mixed in, then
 * the digest of every stored key (expired ones included, as Redis sees its
 * dict) with its value xored in. Two databases with the same number, keys,
 * values and TTL presence add the same, whatever their encodings and their
 * dicts' order: redis-server's DEBUG DIGEST for the same data in the
 * same database. */
void kv_digest_into(struct kv *kv, unsigned char out[DIGEST_LEN]);
/* kv_digest_into from zeros: the digest of a node whose only keys are
 * these. */
void kv_digest(struct kv *kv, unsigned char out[DIGEST_LEN]);

/* --- iteration --- */

/* Visits every stored key (expired ones included) with its value; fn must
 * not modify the keyspace. For snapshots and KEYS. */
/* Live snapshots (struct kv_saver): begin makes every entry unsaved and
 * installs saver; end removes it (complete = every entry of the start was
 * saved; else the marks are reset in one pass, so that none counts as saved
 * in the next snapshot). kv_snapshot_walk is dict_walk over the entries (w
 * from dict_walk_init on kv.keys), for the snapshot's own walk: fn must save
 * an unsaved entry and skip a saved one. */
void kv_snapshot_begin(struct kv *kv, const struct kv_saver *saver);
void kv_snapshot_end(struct kv *kv, int complete);
void kv_snapshot_walk_init(const struct kv *kv, struct dict_walk *w);
int kv_snapshot_walk(struct kv *kv, struct dict_walk *w, uint64_t buckets, dict_visit_fn *fn,
                     void *ud);
static inline int kv_entry_saved(const struct kv *kv, const struct dict_entry *e)
{
    return e->mark == (kv->snap_mark & 1);
}

typedef void kv_visit_fn(void *ud, const char *key, size_t klen, const struct kv_val *v);
void kv_foreach(struct kv *kv, kv_visit_fn *fn, void *ud);
/* One SCAN step: visits the bucket(s) at cursor like dict_scan (same
 * guarantees) and returns the next cursor, 0 when the scan is complete. */
uint64_t kv_scan(struct kv *kv, uint64_t cursor, kv_visit_fn *fn, void *ud);
/*
 * A random key alive at now_ms, or NULL if none: a few random draws, then a
 * bounded walk (so a keyspace of expired keys never loops forever). Returns
 * the key bytes (NUL-terminated, borrowed like a lookup) and *len.
 */
const char *kv_random_key(struct kv *kv, int64_t now_ms, size_t *len);
/* Up to n distinct stored keys (with volatile_only, keys with a TTL): one
 * drawn at random for n = 1, else a run of neighbours in the table from a
 * random place (dict_sample: a few cache misses for the lot, as Redis's
 * eviction samples); their entries of kv.keys (key bytes, and the struct
 * kv_val * as val) into out[]; returns how many (0: none stored). Borrowed
 * like a lookup's. For the eviction's sampling (local to the leader:
 * kv_common.rng). */
size_t kv_sample(struct kv *kv, int volatile_only, size_t n, struct dict_entry **out);
/*
 * Active expiry sampler: examines about sample_max volatile keys, resuming
 * where the previous call stopped, and calls fn(ud, key, len) for each one
 * expired at now_ms. Buckets are taken whole, so fn is called at most
 * sample_max times unless one bucket alone holds more. Deletes nothing: the server
 * turns the keys into an expire entry. key pointers stay valid until the key
 * is deleted. The keys not expired update kv.avg_ttl, as Redis's cycle
 * does. Returns the number of keys examined (0: nothing volatile, or
 * only empty buckets were visited in this call).
 */
size_t kv_expired_sample(struct kv *kv, int64_t now_ms, size_t sample_max, kv_key_fn *fn, void *ud);

#endif
