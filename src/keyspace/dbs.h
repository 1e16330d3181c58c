/*
 * src/keyspace/dbs.h - a node's numbered databases (SELECT 0..n-1, the
 * `databases` directive): n keyspaces (src/keyspace/kv.h) and the one
 * struct kv_common they share (settings, clocks, stats, hooks).
 *
 * Owns: the struct kv_common, every struct kv and the array of pointers to
 * them. db[i] is the database SELECT i names and kv_db(dbs, i)->id == i:
 * the pointers are what SWAPDB exchanges, so that a client's next lookup
 * finds the other database's keys without anything being copied.
 *
 * The count is fixed for the node's life (`databases` is read at start):
 * every replica of a cluster must have the same, as every entry and
 * snapshot names its database by number.
 */
#ifndef DBS_H
#define DBS_H

#include <stdint.h>
#include "keyspace/digest.h"
#include "keyspace/kv.h"

#define KV_DBS_MAX 65536 /* the most databases a node may have */

struct kv_dbs {
    struct kv_common common;
    struct kv **db; /* n pointers, owned, as are the databases */
    int n;
};

/* n empty databases (1 <= n <= KV_DBS_MAX) sharing a common initialised
 * with kv_common_init(types, seed); each database's tables are laid out
 * from a seed drawn from seed. */
void kv_dbs_init(struct kv_dbs *dbs, const struct kv_type_ops *const *types, int n, uint64_t seed);
/* Frees every database (kv_free) and the array. */
void kv_dbs_free(struct kv_dbs *dbs);

/* The database SELECT i names: 0 <= i < dbs->n. */
static inline struct kv *kv_db(const struct kv_dbs *dbs, int i)
{
    return dbs->db[i];
}

/* kv_set_may_grow on every database. */
void kv_dbs_set_may_grow(struct kv_dbs *dbs, dict_may_grow_fn *may_grow, void *ud);
/* kv_cron on every database. */
void kv_dbs_cron(struct kv_dbs *dbs);
/* SWAPDB a b: the two databases trade places (their objects, and the
 * numbers the objects carry), after common.on_swap; nothing is copied. A
 * live snapshot keeps each object's keys under its number at the start. */
void kv_dbs_swap(struct kv_dbs *dbs, int a, int b);
/* kv_flush of every database (FLUSHALL). */
void kv_dbs_flush(struct kv_dbs *dbs);
/* Keys stored in every database together (expired ones included). */
uint64_t kv_dbs_size(const struct kv_dbs *dbs);
/* Redis 7.0's DEBUG DIGEST over every database, in out: for each database
 * holding keys, in order, its number mixed in, then its keys' digests
 * xored in (kv_digest_into). Zeros when nothing is stored. */
void kv_dbs_digest(const struct kv_dbs *dbs, unsigned char out[DIGEST_LEN]);

#endif
