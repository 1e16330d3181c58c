/*
 * tests/sim/check.c - the invariant checker and its self-test. See check.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include "check.h"

struct nlog {
    uint64_t base, base_h; /* durable log starts after base, whose prefix hash is base_h */
    uint64_t *term, *h;    /* entries base+1 .. base+n */
    uint64_t n, cap;
    uint64_t commit;
    uint64_t sm_index, sm_hash;
};

struct slot {
    uint64_t index, term, h;
};

struct chk {
    char err[512];
    uint64_t *leader_of; /* by term, node+1, 0 = none */
    uint64_t n_terms;
    struct slot *map; /* (index, term) -> prefix hash, open addressing */
    uint64_t map_cap, map_n;
    uint64_t *cterm, *ch; /* the committed history: 1..max_commit */
    uint64_t *cby;        /* upper bound of the term each index was committed in */
    uint64_t max_commit, ccap;
    struct nlog nodes[CHK_MAX_NODES];
};

static int fail(struct chk *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    return q;
}

uint64_t chk_mix(uint64_t h, uint64_t v)
{
    uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct chk *chk_new(void)
{
    struct chk *c = calloc(1, sizeof(*c));
    if (!c) exit(2);
    c->map_cap = 1024;
    c->map = calloc(c->map_cap, sizeof(*c->map));
    return c;
}

void chk_free(struct chk *c)
{
    if (!c) return;
    for (int i = 0; i < CHK_MAX_NODES; i++) {
        free(c->nodes[i].term);
        free(c->nodes[i].h);
    }
    free(c->leader_of);
    free(c->map);
    free(c->cterm);
    free(c->ch);
    free(c->cby);
    free(c);
}

const char *chk_error(const struct chk *c)
{
    return c->err;
}

uint64_t chk_max_commit(const struct chk *c)
{
    return c->max_commit;
}

int chk_leader(struct chk *c, int node, uint64_t term)
{
    if (term >= c->n_terms) {
        uint64_t n = term * 2 + 16;
        c->leader_of = xrealloc(c->leader_of, n * sizeof(uint64_t));
        memset(c->leader_of + c->n_terms, 0, (n - c->n_terms) * sizeof(uint64_t));
        c->n_terms = n;
    }
    if (c->leader_of[term] && c->leader_of[term] != (uint64_t)node + 1)
        return fail(c, "Election Safety: nodes %d and %d both leaders in term %llu",
                    (int)c->leader_of[term] - 1, node, (unsigned long long)term);
    c->leader_of[term] = (uint64_t)node + 1;
    return 0;
}

static uint64_t slot_of(uint64_t index, uint64_t term, uint64_t cap)
{
    return chk_mix(index, term) & (cap - 1);
}

static void map_grow(struct chk *c)
{
    struct slot *old = c->map;
    uint64_t oc = c->map_cap;
    c->map_cap *= 2;
    c->map = calloc(c->map_cap, sizeof(*c->map));
    for (uint64_t i = 0; i < oc; i++) {
        if (!old[i].index) continue;
        uint64_t s = slot_of(old[i].index, old[i].term, c->map_cap);
        while (c->map[s].index)
            s = (s + 1) & (c->map_cap - 1);
        c->map[s] = old[i];
    }
    free(old);
}

/* Log Matching: the first log to hold (index, term) fixes the prefix hash there. */
static int map_check(struct chk *c, uint64_t index, uint64_t term, uint64_t h)
{
    if (c->map_n * 2 >= c->map_cap) map_grow(c);
    uint64_t s = slot_of(index, term, c->map_cap);
    while (c->map[s].index) {
        if (c->map[s].index == index && c->map[s].term == term) {
            if (c->map[s].h != h)
                return fail(c,
                            "Log Matching: two logs hold (index %llu, term %llu) with "
                            "different prefixes",
                            (unsigned long long)index, (unsigned long long)term);
            return 0;
        }
        s = (s + 1) & (c->map_cap - 1);
    }
    c->map[s] = (struct slot){index, term, h};
    c->map_n++;
    return 0;
}

void chk_log_reset(struct chk *c, int node, uint64_t index, uint64_t hash)
{
    struct nlog *l = &c->nodes[node];
    l->base = index;
    l->base_h = hash;
    l->n = 0;
}

void chk_log_lost(struct chk *c, int node, uint64_t last)
{
    struct nlog *l = &c->nodes[node];
    if (last >= l->base && last < l->base + l->n) l->n = last - l->base;
}

static uint64_t nlog_h(const struct nlog *l, uint64_t i)
{
    return i == l->base ? l->base_h : l->h[i - l->base - 1];
}

int chk_log_append(struct chk *c, int node, bool as_leader, uint64_t first, uint32_t n,
                   const uint64_t *terms, const uint64_t *values)
{
    struct nlog *l = &c->nodes[node];
    uint64_t last = l->base + l->n;
    if (first <= l->base || first > last + 1)
        return fail(c, "node %d persisted entries from %llu, its log is (%llu, %llu]", node,
                    (unsigned long long)first, (unsigned long long)l->base,
                    (unsigned long long)last);
    if (as_leader && first <= last)
        return fail(c, "Leader Append-Only: leader %d overwrote its log from index %llu", node,
                    (unsigned long long)first);
    /* Truncation may drop divergent entries, never one that is committed. */
    for (uint64_t i = first; i <= last && i <= c->max_commit; i++)
        if (c->cterm[i] == l->term[i - l->base - 1] && c->ch[i] == l->h[i - l->base - 1])
            return fail(c, "State Machine Safety: node %d deleted committed index %llu", node,
                        (unsigned long long)i);
    l->n = first - l->base - 1;
    if (l->n + n > l->cap) {
        l->cap = (l->n + n) * 2;
        l->term = xrealloc(l->term, l->cap * sizeof(uint64_t));
        l->h = xrealloc(l->h, l->cap * sizeof(uint64_t));
    }
    uint64_t h = nlog_h(l, first - 1);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t idx = first + i;
        h = chk_mix(h, values[i]);
        if (map_check(c, idx, terms[i], h) != 0) return -1;
        l->term[l->n] = terms[i];
        l->h[l->n] = h;
        l->n++;
    }
    return 0;
}

static int learn_commit(struct chk *c, int node, uint64_t commit, uint64_t term)
{
    struct nlog *l = &c->nodes[node];
    if (commit > l->base + l->n)
        return fail(c, "node %d committed %llu beyond its durable log (%llu)", node,
                    (unsigned long long)commit, (unsigned long long)(l->base + l->n));
    uint64_t at = commit < c->max_commit ? commit : c->max_commit;
    if (at < l->base) at = l->base;
    if (at > 0 && at <= c->max_commit && c->ch[at] != nlog_h(l, at))
        return fail(c, "State Machine Safety: node %d committed a different entry at %llu", node,
                    (unsigned long long)at);
    if (commit <= c->max_commit) return 0;
    if (c->max_commit < l->base)
        return fail(c, "node %d holds a snapshot at %llu beyond the committed history", node,
                    (unsigned long long)l->base);
    if (commit + 1 > c->ccap) {
        c->ccap = (commit + 1) * 2;
        c->cterm = xrealloc(c->cterm, c->ccap * sizeof(uint64_t));
        c->ch = xrealloc(c->ch, c->ccap * sizeof(uint64_t));
        c->cby = xrealloc(c->cby, c->ccap * sizeof(uint64_t));
        c->cterm[0] = c->ch[0] = c->cby[0] = 0;
    }
    for (uint64_t i = c->max_commit + 1; i <= commit; i++) {
        c->cterm[i] = l->term[i - l->base - 1];
        c->ch[i] = l->h[i - l->base - 1];
        c->cby[i] = term;
    }
    c->max_commit = commit;
    return 0;
}

int chk_commit(struct chk *c, int node, uint64_t commit, uint64_t term, bool new_life)
{
    struct nlog *l = &c->nodes[node];
    if (commit < l->commit && !new_life)
        return fail(c, "commit index of node %d went back from %llu to %llu", node,
                    (unsigned long long)l->commit, (unsigned long long)commit);
    l->commit = commit;
    return learn_commit(c, node, commit, term);
}

int chk_commit_known(struct chk *c, int node, uint64_t commit, uint64_t term)
{
    return learn_commit(c, node, commit, term);
}

uint64_t chk_must_hold(const struct chk *c, uint64_t leader_term)
{
    uint64_t i = c->max_commit;
    while (i > 0 && c->cby[i] >= leader_term)
        i--;
    return i;
}

int chk_leader_complete(struct chk *c, int node, uint64_t i, uint64_t term_at_commit, bool covered)
{
    if (covered || i == 0 || term_at_commit == c->cterm[i]) return 0;
    return fail(c,
                "Leader Completeness: leader %d lacks committed index %llu (term %llu, "
                "it has term %llu)",
                node, (unsigned long long)i, (unsigned long long)c->cterm[i],
                (unsigned long long)term_at_commit);
}

int chk_sm_reset(struct chk *c, int node, uint64_t index, uint64_t hash)
{
    struct nlog *l = &c->nodes[node];
    if (index > c->max_commit || (index > 0 && c->ch[index] != hash))
        return fail(c,
                    "State Machine Safety: node %d loaded a snapshot at %llu that is not "
                    "the committed history",
                    node, (unsigned long long)index);
    l->sm_index = index;
    l->sm_hash = hash;
    return 0;
}

int chk_apply(struct chk *c, int node, uint64_t index, uint64_t value)
{
    struct nlog *l = &c->nodes[node];
    if (index != l->sm_index + 1)
        return fail(c, "node %d applied index %llu after %llu", node, (unsigned long long)index,
                    (unsigned long long)l->sm_index);
    uint64_t h = chk_mix(l->sm_hash, value);
    if (index > c->max_commit)
        return fail(c, "State Machine Safety: node %d applied uncommitted index %llu", node,
                    (unsigned long long)index);
    if (c->ch[index] != h)
        return fail(c, "State Machine Safety: node %d applied a different entry at %llu", node,
                    (unsigned long long)index);
    l->sm_index = index;
    l->sm_hash = h;
    return 0;
}

int chk_read(struct chk *c, int node, uint64_t start_commit, uint64_t served_index)
{
    if (served_index < start_commit)
        return fail(c,
                    "Linearizability: node %d served a read at index %llu that began "
                    "after index %llu had committed",
                    node, (unsigned long long)served_index, (unsigned long long)start_commit);
    return 0;
}
