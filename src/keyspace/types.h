/*
 * src/keyspace/types.h - the contract between the keyspace (src/keyspace/kv.h) and the data
 * type modules (src/types/t_hash.c, src/types/t_set.c, src/types/t_zset.c, ...).
 *
 * The keyspace owns values and their lifetime: it creates the struct kv_val
 * holding a type's object pointer, frees it on delete/overwrite/flush (big
 * ones off the loop, src/base/lazyfree.h), copies it for COPY, and hands it to the
 * snapshot. The type module owns the object's representation and encodings:
 * what the pointer points to, how it converts between a compact and a large
 * encoding, how it is serialized. A type module knows nothing of Raft,
 * connections or the log; its commands are ordinary handlers (src/cmd/cmd.h).
 *
 * Determinism: every function here is a pure function of the object (and the
 * limits passed in). Writes that need randomness take it from the PRNG the
 * state machine seeds per command (cmd_ctx.rng), and choose among elements
 * in an order that does not depend on hash seeds or rehashing, so that every
 * replica removes the same members.
 */
#ifndef TYPES_H
#define TYPES_H

#include <stddef.h>
#include <stdint.h>
#include "keyspace/digest.h"

/* Encoding thresholds (Redis's directive names, src/config/config.c). A value
 * converts from its compact encoding to the large one when it passes one;
 * it never converts back (as Redis). Read by the type modules through
 * struct kv_common.limits; changing them affects values written afterwards (the
 * list settings: lists created afterwards, src/ds/quicklist.h). */
struct kv_limits {
    uint64_t hash_max_listpack_entries; /* hash-max-listpack-entries (512) */
    uint64_t hash_max_listpack_value;   /* hash-max-listpack-value (64) */
    uint64_t set_max_intset_entries;    /* set-max-intset-entries (512) */
    uint64_t zset_max_listpack_entries; /* zset-max-listpack-entries (128) */
    uint64_t zset_max_listpack_value;   /* zset-max-listpack-value (64) */
    uint64_t hll_sparse_max_bytes;      /* hll-sparse-max-bytes (3000) */
    int64_t list_max_listpack_size;     /* list-max-listpack-size (-2): a list's fill */
    uint64_t list_compress_depth;       /* list-compress-depth (0) */
};

/* Redis's defaults (the config directives' defaults too). */
extern const struct kv_limits kv_limits_default;

/* Receives serialized bytes (snapshot writer). */
typedef void type_put_fn(void *ud, const void *p, size_t n);
/* Rebuilds an object from a snapshot payload (struct kv_type_ops.load). */
typedef void *type_load_fn(const unsigned char *p, size_t len, const struct kv_limits *lim,
                           char *err, size_t errlen);

struct kv_type_ops {
    const char *name; /* TYPE and SCAN ... TYPE: "hash", "set", "zset", "list" */
    /* OBJECT ENCODING: Redis's name of obj's current encoding ("listpack",
     * "hashtable", "intset", "skiplist"). */
    const char *(*encoding)(const void *obj);
    /* Frees obj and everything it owns. May run on another thread
     * (lazyfree): it must touch nothing but obj. */
    void (*free)(void *obj);
    /* A deep copy (COPY), same encoding. Never NULL (allocation aborts). */
    void *(*dup)(const void *obj);
    /* Elements (fields, members): decides whether freeing is deferred. */
    size_t (*length)(const void *obj);
    /* Bytes the object uses (MEMORY USAGE): exact for compact encodings,
     * estimated from up to `samples` elements for large ones (0: all). */
    size_t (*memory)(const void *obj, size_t samples);
    /* The dict of obj's members (fields), or NULL when obj is compact or the
     * op absent: where a member's lookup will miss the cache, for
     * kv_prefetch_member (src/keyspace/kv.h). */
    struct dict *(*members)(const void *obj);
    /* Snapshot: writes obj as bytes through put; load() rebuilds an object
     * from exactly those bytes (choosing its encoding with lim) or returns
     * NULL with a reason in err when they are malformed. save() must write
     * elements in an order that makes load() rebuild an object on which
     * every later write behaves as on the original (src/types/t_set.c's order),
     * and the same bytes each time it is called on an unchanged object (the
     * snapshot writer may call it twice: to learn the length, then to write). */
    void (*save)(const void *obj, type_put_fn *put, void *ud);
    /* Optional: the bytes save() would write, without writing them (else
     * the writer runs save() to count them). */
    uint64_t (*saved_len)(const void *obj);
    /* Optional: a twin of obj for a live snapshot (src/sm/snaplive.h), made
     * without copying obj's elements: an object holding them as they are
     * now, which later writes to obj leave as it is. save() and free()
     * take it; nothing changes it; it may be read and freed on another
     * thread than obj's, while obj changes. NULL when obj cannot have one
     * now (the snapshot then saves obj at once). */
    void *(*share)(void *obj);
    /* With share: the bytes that twins of the type alone hold now (their
     * objects changed or let go of them), all objects together. */
    size_t (*twin_only_bytes)(void);
    type_load_fn *load;
    /* Optional: load() for a payload written by snapshot format 3 or 4,
     * when the type's payload changed since (the list's, in format 5);
     * NULL: load() reads those too. */
    type_load_fn *load_v4;
    /* DEBUG DIGEST: adds obj's elements to the accumulator d as Redis 7.0
     * does for the type (src/keyspace/digest.h): a list's mixed head to tail, a
     * set's members xored, a hash's fields and a sorted set's members
     * (with the score as "%.17g") xored as pairs. Same data, same bytes:
     * the encoding does not show. */
    void (*digest)(const void *obj, unsigned char d[DIGEST_LEN]);
};

/* Payload framing shared by every type's save() and load(): counts as u32,
 * 64-bit numbers as u64, strings as u32 length + bytes, doubles as their 8
 * bytes (IEEE 754), all little-endian. A reader never reads past its end: each get returns -1
 * instead, and load() reports the payload malformed. */
void type_put_u32(type_put_fn *put, void *ud, uint32_t v);
void type_put_u64(type_put_fn *put, void *ud, uint64_t v);
void type_put_str(type_put_fn *put, void *ud, const char *p, size_t len);
void type_put_f64(type_put_fn *put, void *ud, double v);

struct type_reader {
    const unsigned char *p;
    size_t len, off;
};
int type_get_u32(struct type_reader *r, uint32_t *v);
int type_get_u64(struct type_reader *r, uint64_t *v);
int type_get_str(struct type_reader *r, const char **s, size_t *len);
int type_get_f64(struct type_reader *r, double *v);
/* The element count opening a payload: -1 (reason in err) when it is 0 or
 * when the payload is too short for that many elements of min_bytes each. */
int type_get_count(struct type_reader *r, size_t min_bytes, uint32_t *count, char *err,
                   size_t errlen);
/* 0 if the reader consumed the whole payload, else -1 with the reason. */
int type_get_end(const struct type_reader *r, char *err, size_t errlen);

#endif
