/*
 * src/base/handoff.c - a batch of entries shared by the loop and a reader thread
 * (see handoff.h).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/handoff.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define MAP_BITS 11 /* twice HANDOFF_ENTRIES slots: probes stay short */
#define MAP_SLOTS (1u << MAP_BITS)
_Static_assert(MAP_SLOTS >= 2 * HANDOFF_ENTRIES, "the map keeps a load of 1/2 at most");
_Static_assert(HANDOFF_ENTRIES < UINT16_MAX, "map slots hold an index + 1 in 16 bits");

/* Spins this many times on a slot the thread holds before sleeping: the
 * thread's hold is short when it runs, but a thread the scheduler left off
 * its CPU only gets back to it once a CPU is free, which a sleeping loop
 * makes sure of. */
#define CLAIM_SPINS 2000
#define CLAIM_SLEEP_NS 20000

struct handoff_batch {
    uint32_t n;
    struct dict_entry *e[HANDOFF_ENTRIES];
    _Atomic uint8_t state[HANDOFF_ENTRIES];
    uint16_t map[MAP_SLOTS]; /* index + 1 into e; 0: empty */
};

static uint32_t home(const struct dict_entry *e)
{
    return (uint32_t)(((uintptr_t)e * 0x9E3779B97F4A7C15ull) >> (64 - MAP_BITS));
}

struct handoff_batch *handoff_new(void)
{
    struct handoff_batch *b = util_xmalloc(sizeof *b);
    handoff_reset(b);
    return b;
}

size_t handoff_batch_bytes(void)
{
    return sizeof(struct handoff_batch);
}

void handoff_free(struct handoff_batch *b)
{
    free(b);
}

void handoff_reset(struct handoff_batch *b)
{
    b->n = 0;
    memset(b->map, 0, sizeof b->map);
}

bool handoff_add(struct handoff_batch *b, struct dict_entry *e)
{
    if (b->n == HANDOFF_ENTRIES) return false;
    uint32_t i = b->n++;
    b->e[i] = e;
    atomic_store_explicit(&b->state[i], HANDOFF_HANDED, memory_order_relaxed);
    uint32_t h = home(e);
    while (b->map[h])
        h = (h + 1) & (MAP_SLOTS - 1);
    b->map[h] = (uint16_t)(i + 1);
    return true;
}

uint32_t handoff_len(const struct handoff_batch *b)
{
    return b->n;
}

struct dict_entry *handoff_take(struct handoff_batch *b, uint32_t i)
{
    uint8_t want = HANDOFF_HANDED;
    if (!atomic_compare_exchange_strong_explicit(&b->state[i], &want, HANDOFF_THREAD,
                                                 memory_order_acquire, memory_order_relaxed))
        return NULL;
    return b->e[i];
}

void handoff_prefetch(const struct handoff_batch *b, uint32_t i)
{
    __builtin_prefetch(b->e[i]); /* a hint: never faults, reads nothing */
}

void handoff_done(struct handoff_batch *b, uint32_t i, bool deferred)
{
    /* release: the loop that sees DONE/DEFERRED sees every read before it
     * finished (it may free the entry next). */
    atomic_store_explicit(&b->state[i], deferred ? HANDOFF_DEFERRED : HANDOFF_DONE,
                          memory_order_release);
}

int64_t handoff_find(const struct handoff_batch *b, const struct dict_entry *e)
{
    for (uint32_t h = home(e);; h = (h + 1) & (MAP_SLOTS - 1)) {
        uint16_t k = b->map[h];
        if (!k) return -1;
        if (b->e[k - 1] == e) return k - 1;
    }
}

static void pause_briefly(unsigned *spins)
{
    if (++*spins < CLAIM_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        return;
    }
    struct timespec ts = {0, CLAIM_SLEEP_NS};
    nanosleep(&ts, NULL);
}

bool handoff_claim(struct handoff_batch *b, uint32_t i)
{
    ASSERT(i < b->n);
    unsigned spins = 0;
    for (;;) {
        uint8_t s = atomic_load_explicit(&b->state[i], memory_order_acquire);
        if (s == HANDOFF_DONE || s == HANDOFF_LOOP) return false;
        if (s == HANDOFF_THREAD) {
            pause_briefly(&spins);
            continue;
        }
        /* HANDED or DEFERRED: the thread may take a HANDED slot meanwhile */
        if (atomic_compare_exchange_strong_explicit(&b->state[i], &s, HANDOFF_LOOP,
                                                    memory_order_acquire, memory_order_relaxed))
            return true;
    }
}

struct dict_entry *handoff_entry(const struct handoff_batch *b, uint32_t i)
{
    ASSERT(i < b->n);
    return b->e[i];
}
