/*
 * src/keyspace/expiring.c - keys proposed for expiry and not applied yet (see
 * expiring.h).
 */
#include <stdlib.h>
#include <string.h>

#include "keyspace/dbkey.h"
#include "keyspace/expiring.h"
#include "raft/raft_assert.h"
#include "base/util.h"

void expiring_init(struct expiring *x, uint64_t seed, size_t max_keys)
{
    memset(x, 0, sizeof *x);
    dict_init(&x->keys, seed);
    x->max_keys = max_keys;
}

void expiring_free(struct expiring *x)
{
    dict_free(&x->keys, NULL);
    free(x->queue);
    memset(x, 0, sizeof *x);
}

bool expiring_has(struct expiring *x, int db, const char *key, size_t len)
{
    struct db_key k;
    db_key_make(&k, db, key, len);
    bool held = dict_find(&x->keys, k.p, k.len) != NULL;
    db_key_free(&k);
    return held;
}

size_t expiring_count(const struct expiring *x)
{
    return x->len - x->head;
}

bool expiring_full(const struct expiring *x)
{
    return expiring_count(x) >= x->max_keys;
}

/* Room for one more item at the tail: slide the live items to the front,
 * or grow (never beyond max_keys items). */
static void queue_reserve(struct expiring *x)
{
    if (x->len < x->cap) return;
    if (x->head > 0) {
        memmove(x->queue, x->queue + x->head, (x->len - x->head) * sizeof *x->queue);
        x->len -= x->head;
        x->head = 0;
        return;
    }
    size_t ncap = x->cap ? 2 * x->cap : 64;
    if (ncap > x->max_keys) ncap = x->max_keys;
    ASSERT(ncap > x->cap);
    struct expiring_item *q = util_xrealloc(x->queue, ncap * sizeof *q);
    x->queue = q;
    x->cap = ncap;
}

const char *expiring_add(struct expiring *x, int db, const char *key, size_t len, uint64_t bytes)
{
    ASSERT(!expiring_full(x));
    struct db_key k;
    db_key_make(&k, db, key, len);
    struct dict_entry *e = dict_add(&x->keys, k.p, k.len, NULL, NULL);
    db_key_free(&k);
    ASSERT(e != NULL); /* held keys are never added twice */
    queue_reserve(x);
    x->queue[x->len++] = (struct expiring_item){0, e, bytes};
    x->staged++;
    x->bytes += bytes;
    return e->key + DB_KEY_PREFIX;
}

static void release(struct expiring *x, struct expiring_item *it)
{
    int found = dict_delete(&x->keys, it->key->key, it->key->key_len, NULL);
    ASSERT(found);
    (void)found;
    ASSERT(x->bytes >= it->bytes);
    x->bytes -= it->bytes;
}

void expiring_proposed(struct expiring *x, uint64_t index)
{
    ASSERT(x->staged <= expiring_count(x));
    if (index == 0) {
        while (x->staged) {
            release(x, &x->queue[--x->len]);
            x->staged--;
        }
        return;
    }
    ASSERT(x->len == x->head || x->len - x->staged == x->head ||
           x->queue[x->len - x->staged - 1].index <= index);
    for (size_t i = x->len - x->staged; i < x->len; i++)
        x->queue[i].index = index;
    x->staged = 0;
}

void expiring_applied(struct expiring *x, uint64_t applied)
{
    while (x->head < x->len - x->staged && x->queue[x->head].index <= applied)
        release(x, &x->queue[x->head++]);
    ASSERT(x->head <= x->len);
    if (x->head == x->len) x->head = x->len = 0;
    dict_maybe_shrink(&x->keys);
}

void expiring_reset(struct expiring *x)
{
    dict_clear(&x->keys, NULL);
    free(x->queue);
    x->queue = NULL;
    x->head = x->len = x->cap = x->staged = 0;
    x->bytes = 0;
}
