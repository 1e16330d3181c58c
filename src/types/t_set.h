/*
 * src/types/t_set.h - the set type: its encodings and its commands.
 *
 * A set object (the pointer kept in struct kv_val, src/keyspace/kv.h) is either
 *   - "intset": a sorted array of integers in one allocation (u32 count |
 *     u32 width | count x width bytes), the width 2, 4 or 8 bytes growing as
 *     needed; used while every member is a canonical 64-bit integer and the
 *     set has at most set-max-intset-entries members;
 *   - "hashtable": a struct dict (src/ds/dict.h) member -> index, plus a dense
 *     array of the dict's entries; the pointer carries a tag in its lowest
 *     bit. A set converts to hashtable once and never back, as Redis.
 * An empty set never exists: the last SREM/SPOP deletes the key.
 *
 * CANONICAL ORDER, and why: SPOP is a write that picks members at random,
 * and every replica must remove the same ones although each node's dicts
 * have their own hash seeds and rehash at their own pace. So a set has an
 * order that depends only on the writes it received: an intset's sorted
 * order; a hashtable's array, where an added member goes to the end and a
 * removed one is replaced by the last. SPOP draws positions in that order
 * from the command's PRNG (cmd_ctx.rng, seeded by the log entry); SMEMBERS,
 * SSCAN of an intset and everything that builds a set from sets (stores,
 * SMOVE, the conversion to hashtable, the snapshot payload and its load)
 * follow it. Consequence for operators: set-max-intset-entries must be the
 * same on every node of a cluster (a node with another threshold would hold
 * a set in the other encoding, in the other order, and pop other members).
 *
 * Commands (Redis 7.0): SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SPOP
 * SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF
 * SDIFFSTORE SSCAN; rows in src/types/cmdtable_set.c. The set algebra lives in
 * src/types/t_set_ops.c.
 */
#ifndef T_SET_H
#define T_SET_H

#include <stddef.h>

#include "cmd/cmd.h"
#include "keyspace/types.h"

extern const struct kv_type_ops t_set_ops;

/* Every member of a set object, in canonical order. fn must not change the
 * set; p is valid for the call only. */
typedef void t_set_member_fn(void *ud, const char *p, size_t len);
void t_set_foreach(const void *set, t_set_member_fn *fn, void *ud);
size_t t_set_size(const void *set);
int t_set_contains(const void *set, const char *p, size_t len);
/* A new empty set object (an intset), and adding to one: *set may move.
 * Returns 1 if p was added, 0 if it was there. */
void *t_set_new(void);
int t_set_add(void **set, const struct kv_limits *lim, const char *p, size_t len);
void t_set_free(void *set);

cmd_proc cmd_sadd, cmd_srem, cmd_scard, cmd_sismember, cmd_smismember, cmd_smembers, cmd_spop,
    cmd_srandmember, cmd_smove, cmd_sinter, cmd_sintercard, cmd_sinterstore, cmd_sunion,
    cmd_sunionstore, cmd_sdiff, cmd_sdiffstore, cmd_sscan;
cmd_getkeys_fn t_set_sintercard_keys;

extern const struct command cmd_table_set[];

#endif
