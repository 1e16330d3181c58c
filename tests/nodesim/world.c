/*
 * tests/nodesim/world.c - the world's clock, PRNG and network (world.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "world.h"

struct world *W;

/* The epoch the simulated wall clock starts at: 2026-01-01. */
#define WALL_BASE_US 1767225600000000LL

int64_t clock_us(void)
{
    return WALL_BASE_US + W->now_us;
}

int64_t clock_ms(void)
{
    return clock_us() / 1000;
}

int64_t clock_mono_us(void)
{
    return W->now_us;
}

uint64_t w_rand(struct world *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t w_below(struct world *w, uint32_t n)
{
    return n ? (uint32_t)(w_rand(w) % n) : 0;
}

bool w_chance(struct world *w, uint32_t per_mille)
{
    return w_below(w, 1000) < per_mille;
}

bool w_reachable(const struct world *w, uint64_t from, uint64_t to)
{
    return to >= 1 && to <= W_NODES_MAX && w->srv[to] && !w->cut[from][to];
}

void w_send(struct world *w, uint64_t from, uint64_t to, enum w_msg_kind kind, const void *data,
            size_t len)
{
    w->msgs_sent++;
    if (!w_reachable(w, from, to) || w_chance(w, w->loss_pm)) {
        w->msgs_lost++;
        return;
    }
    if (w->nq == w->capq) {
        w->capq = w->capq ? 2 * w->capq : 256;
        w->q = realloc(w->q, w->capq * sizeof *w->q);
        if (!w->q) abort();
    }
    struct w_msg *m = &w->q[w->nq++];
    uint32_t span = w->delay_max_us - w->delay_min_us;
    m->at_us = w->now_us + w->delay_min_us + w_below(w, span + 1);
    m->seq = ++w->seq;
    m->from = from;
    m->to = to;
    m->to_life = w->life[to];
    m->kind = kind;
    m->len = len;
    m->data = NULL;
    if (len) {
        m->data = malloc(len);
        if (!m->data) abort();
        memcpy(m->data, data, len);
    }
}
