/*
 * src/types/t_hash.h - the hash type: its encodings and its commands.
 *
 * A hash object (the pointer kept in struct kv_val, src/keyspace/kv.h) is either
 *   - "listpack": the listpack itself (src/ds/listpack.h), field, value, field,
 *     value... in insertion order; one allocation for the whole hash, used
 *     while it has at most hash-max-listpack-entries fields and no field or
 *     value longer than hash-max-listpack-value bytes;
 *   - "hashtable": a struct dict (src/ds/dict.h) field -> value (a length and
 *     the bytes in one allocation), with the pointer's lowest bit set as its
 *     tag (allocations are at least 2-aligned, so a listpack's never is).
 * A hash converts to hashtable once it passes a limit and never back, as
 * Redis. An empty hash never exists: the last HDEL deletes the key.
 *
 * Determinism: no hash write draws randomness, and no write depends on the
 * order of a hashtable (which differs between nodes: each dict has its own
 * seed). HRANDFIELD is a read and uses the caller's PRNG.
 *
 * Commands (Redis 7.0): HSET HSETNX HMSET HGET HMGET HDEL HLEN HSTRLEN
 * HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN; their
 * rows are in src/types/cmdtable_hash.c.
 */
#ifndef T_HASH_H
#define T_HASH_H

#include <stddef.h>

#include "cmd/cmd.h"
#include "ds/listpack.h"
#include "keyspace/types.h"

extern const struct kv_type_ops t_hash_ops;

/* Looks field up in a hash object: 1 and its value (*val, *vlen; into buf
 * for a listpack integer; valid until the hash changes), or 0. For SORT's
 * "key->field" patterns. */
int t_hash_get(const void *hash, const char *field, size_t flen, const char **val, size_t *vlen,
               char buf[LP_INTBUF]);

/* Every field and value of a hash object (listpack: in order; hashtable:
 * the table's order, which is this node's own), for DUMP (src/rdb/). */
typedef void t_hash_pair_fn(void *ud, const char *f, size_t flen, const char *v, size_t vlen);
void t_hash_foreach(const void *hash, t_hash_pair_fn *fn, void *ud);

/* A new empty hash object (a listpack), and a field set in one, converted
 * past the limits as HSET converts it: 1 if the field is new, 0 if it
 * was there. For RESTORE (src/rdb/). */
void *t_hash_new(void);
int t_hash_set(void **hash, const struct kv_limits *lim, const char *f, size_t flen, const char *v,
               size_t vlen);

cmd_proc cmd_hset, cmd_hsetnx, cmd_hmset, cmd_hget, cmd_hmget, cmd_hdel, cmd_hlen, cmd_hstrlen,
    cmd_hexists, cmd_hkeys, cmd_hvals, cmd_hgetall, cmd_hincrby, cmd_hincrbyfloat, cmd_hrandfield,
    cmd_hscan;

extern const struct command cmd_table_hash[];

#endif
