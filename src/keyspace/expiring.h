/*
 * src/keyspace/expiring.h - the keys the leader has proposed for expiry or eviction
 * and not yet seen applied, and the bytes their deletion should free.
 *
 * The active expiry cycle (src/net/loop.c) finds expired keys in the applied
 * keyspace, but a key it proposes to delete stays there until the entry
 * commits and is applied: a round, a commit or an fsync later. Without a
 * record of what is already on its way, every sampling round of every cycle
 * finds the same key again and proposes it again, filling the log with
 * copies of one deletion. The cycle therefore skips the keys held here.
 *
 * A key is held from the moment it joins an expiry entry until the log has
 * applied that entry (expiring_applied), or until the proposal is known to
 * be lost: the log refused it (expiring_proposed with index 0) or this node
 * stopped leading (expiring_reset; an entry of an earlier term may have
 * been replaced, and a new leader starts from nothing). Then the key may be
 * proposed again if it is still there.
 *
 * Use, per expiry entry: expiring_add() for each key while the entry is
 * built (it returns the held copy of the key, which stays valid until the
 * key is released), then expiring_proposed(index) once the entry has its
 * log index.
 *
 * Memory: at most max_keys keys (a copy of each in a dict, plus 16 bytes in
 * the release queue). expiring_full() tells the cycle to stop collecting;
 * the room comes back as entries apply.
 */
#ifndef EXPIRING_H
#define EXPIRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds/dict.h"

struct expiring_item {
    uint64_t index;         /* log index of its entry; 0 while being built */
    struct dict_entry *key; /* in `keys`, which owns the copy */
    uint64_t bytes;         /* what deleting it should free (eviction's estimate) */
};

struct expiring {
    struct dict keys;            /* the held keys (values unused) */
    struct expiring_item *queue; /* in proposal order: indexes never decrease */
    size_t head, len, cap;       /* live items are queue[head .. len) */
    size_t staged;               /* the last `staged` items await their index */
    size_t max_keys;
    uint64_t bytes; /* sum of the held items' bytes */
};

void expiring_init(struct expiring *x, uint64_t seed, size_t max_keys);
void expiring_free(struct expiring *x);

/* 1 if key of database db is held: proposed (or being proposed) and not
 * released. */
bool expiring_has(struct expiring *x, int db, const char *key, size_t len);
/* Keys held now, and whether no more may be added. */
size_t expiring_count(const struct expiring *x);
bool expiring_full(const struct expiring *x);
/* The bytes the held keys' deletions should free (their expiring_add's). */
static inline uint64_t expiring_bytes(const struct expiring *x)
{
    return x->bytes;
}
/*
 * Holds key of database db for the entry being built (it must not be held already, and
 * the set must not be full); bytes: what its deletion should free (0 for
 * expiry). Returns the held copy of the key bytes, valid until the key is
 * released.
 */
const char *expiring_add(struct expiring *x, int db, const char *key, size_t len, uint64_t bytes);
/* The entry holding the keys added since the last call got log index
 * `index`; 0 means the log refused it, and they are released now. */
void expiring_proposed(struct expiring *x, uint64_t index);
/* Releases the keys of every entry up to index `applied`. */
void expiring_applied(struct expiring *x, uint64_t applied);
/* Releases every key (leadership gained or lost). */
void expiring_reset(struct expiring *x);

#endif
