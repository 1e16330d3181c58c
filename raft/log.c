/*
 * raft/log.c - the log after the last snapshot: released entries as term runs, the
 * rest in memory.
 *
 * The driver stores every entry; the core keeps in memory only those after `base`
 * (raft_log_release() moves base forward over applied, persisted entries). Of a
 * released entry only its term is kept, as runs (terms change rarely), so every term
 * from the snapshot index on stays known: consistency checks, conflict hints and
 * snapshot metas never need the driver. In-memory entries sit in one array (indexes
 * base+1 .. last); data is copied into
 * reference-counted 64 KiB slabs so the hot path costs no malloc per entry. An entry
 * larger than a slab gets an allocation of its own, which no later entry shares, so
 * it is freed as soon as the entry is dropped. Dropped
 * references (truncation, compaction) go to a garbage list released at raft_advance(),
 * which is what lets raft_ready() and queued messages borrow entry data safely.
 * Terms never decrease along a log (Fig. 3.1: a leader appends entries of its own term
 * only), which makes conflict-hint searches a binary search.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_int.h"
#include "raft_assert.h"

int rlog_init(struct rlog *l)
{
    memset(l, 0, sizeof(*l));
    l->unstable = 1;
    return 0;
}

static void slab_unref(struct rlog *l, struct slab *s)
{
    if (s && --s->refs == 0) {
        l->slab_bytes -= sizeof(*s) + s->cap;
        free(s);
    }
}

static int garbage_push(struct rlog *l, struct slab *s)
{
    if (!s) return 0;
    if (l->n_garbage == l->cap_garbage) {
        uint32_t cap = l->cap_garbage ? l->cap_garbage * 2 : 64;
        struct slab **g = realloc(l->garbage, cap * sizeof(*g));
        if (!g) { /* cannot defer: keep the reference, leaking one slab is safer */
            return RAFT_ENOMEM;
        }
        l->garbage = g;
        l->cap_garbage = cap;
    }
    l->garbage[l->n_garbage++] = s;
    return 0;
}

void rlog_release_garbage(struct rlog *l)
{
    for (uint32_t i = 0; i < l->n_garbage; i++)
        slab_unref(l, l->garbage[i]);
    l->n_garbage = 0;
}

void rlog_destroy(struct rlog *l)
{
    rlog_release_garbage(l);
    for (uint64_t i = 0; i < l->n; i++)
        slab_unref(l, l->slabs[l->start + i]);
    slab_unref(l, l->cur);
    free(l->ents);
    free(l->slabs);
    free(l->garbage);
    free(l->runs);
    memset(l, 0, sizeof(*l));
}

raft_index rlog_last(const struct rlog *l)
{
    return l->base + l->n;
}

struct raft_entry *rlog_at(const struct rlog *l, raft_index i)
{
    if (i <= l->base || i > rlog_last(l)) return NULL;
    return &l->ents[l->start + (i - l->base - 1)];
}

bool rlog_term_known(const struct rlog *l, raft_index i)
{
    return i >= l->snap_index && i <= rlog_last(l);
}

/* Term of released index i (snap_index < i < base): the last run starting at or
 * before it. */
static raft_term run_term(const struct rlog *l, raft_index i)
{
    uint32_t lo = 0, hi = l->n_runs; /* answer: the last run with first <= i */
    ASSERT(l->n_runs > 0 && l->runs[0].first <= i);
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->runs[mid].first <= i)
            lo = mid;
        else
            hi = mid;
    }
    return l->runs[lo].term;
}

raft_term rlog_term(const struct rlog *l, raft_index i)
{
    if (i == l->snap_index) return l->snap_term;
    if (i == l->base) return l->base_term;
    if (i > l->snap_index && i < l->base) return run_term(l, i);
    struct raft_entry *e = rlog_at(l, i);
    return e ? e->term : 0;
}

raft_term rlog_last_term(const struct rlog *l)
{
    return rlog_term(l, rlog_last(l));
}

static int grow(struct rlog *l)
{
    if (l->start > 0 && l->start >= l->cap / 2) { /* slide down, amortized O(1) */
        memmove(l->ents, l->ents + l->start, l->n * sizeof(*l->ents));
        memmove(l->slabs, l->slabs + l->start, l->n * sizeof(*l->slabs));
        l->start = 0;
        return 0;
    }
    uint64_t cap = l->cap ? l->cap * 2 : 256;
    struct raft_entry *e = realloc(l->ents, cap * sizeof(*e));
    if (!e) return RAFT_ENOMEM;
    l->ents = e;
    struct slab **s = realloc(l->slabs, cap * sizeof(*s));
    if (!s) return RAFT_ENOMEM;
    l->slabs = s;
    l->cap = cap;
    return 0;
}

/* Copies the parts (len bytes in all) into the current slab (a new one if it is full). */
static int copy_data(struct rlog *l, const struct raft_part *parts, uint32_t n_parts, uint32_t len,
                     const uint8_t **out, struct slab **slab)
{
    if (len == 0) {
        *out = NULL;
        *slab = NULL;
        return 0;
    }
    struct slab *s = l->cur;
    if (!s || s->cap - s->used < len) {
        uint32_t cap = len > SLAB_DATA ? len : SLAB_DATA;
        s = malloc(sizeof(*s) + cap);
        if (!s) return RAFT_ENOMEM;
        l->slab_bytes += sizeof(*s) + cap;
        s->refs = 0;
        s->used = 0;
        s->cap = cap;
        if (len <= SLAB_DATA) { /* shared by the next small entries */
            s->refs = 1;
            slab_unref(l, l->cur);
            l->cur = s;
        }
    }
    uint8_t *p = s->bytes + s->used;
    for (uint32_t i = 0, off = 0; i < n_parts; off += parts[i++].len)
        if (parts[i].len) memcpy(p + off, parts[i].data, parts[i].len);
    s->used += (len + 7u) & ~7u;
    if (s->used > s->cap) s->used = s->cap;
    s->refs++;
    *out = p;
    *slab = s;
    return 0;
}

int rlog_append_parts(struct rlog *l, raft_term term, uint32_t type, const struct raft_part *parts,
                      uint32_t n_parts, uint32_t len)
{
    ASSERT(term >= rlog_last_term(l));
    if (l->start + l->n == l->cap && grow(l) != 0) return RAFT_ENOMEM;
    struct raft_entry *e = &l->ents[l->start + l->n];
    struct slab **sp = &l->slabs[l->start + l->n];
    if (copy_data(l, parts, n_parts, len, &e->data, sp) != 0) return RAFT_ENOMEM;
    e->term = term;
    e->index = rlog_last(l) + 1;
    e->type = type;
    e->len = len;
    l->n++;
    l->bytes += len;
    return 0;
}

int rlog_append(struct rlog *l, raft_term term, uint32_t type, const void *data, uint32_t len)
{
    struct raft_part part = {data, len};
    return rlog_append_parts(l, term, type, &part, 1, len);
}

void rlog_truncate(struct rlog *l, raft_index from)
{
    ASSERT(from > l->base);
    while (rlog_last(l) >= from) {
        l->n--;
        l->bytes -= l->ents[l->start + l->n].len;
        if (garbage_push(l, l->slabs[l->start + l->n]) != 0)
            l->slabs[l->start + l->n] = NULL; /* leaked: memory pressure only */
    }
    if (l->unstable > from) l->unstable = from;
    if (l->persisted >= from) l->persisted = from - 1;
}

/* After the array lost its head: reuse it from the start when empty, and give memory
 * back when it holds far fewer entries than it can (a log that was long once, after a
 * restart or a lagging follower, must not pin its peak for good). */
static void after_drop(struct rlog *l)
{
    if (l->n == 0) l->start = 0;
    if (l->cap <= 1024 || l->n >= l->cap / 4) return;
    memmove(l->ents, l->ents + l->start, l->n * sizeof(*l->ents));
    memmove(l->slabs, l->slabs + l->start, l->n * sizeof(*l->slabs));
    l->start = 0;
    uint64_t cap = l->cap / 2;
    struct raft_entry *e = realloc(l->ents, cap * sizeof(*e));
    if (e) l->ents = e; /* a failed shrink keeps the larger block */
    struct slab **s = realloc(l->slabs, cap * sizeof(*s));
    if (s) l->slabs = s;
    if (e && s) l->cap = cap;
}

/* Drops the k in-memory entries after base from memory (their slab references go to
 * the garbage list) and moves base past them. */
static void drop_head(struct rlog *l, uint64_t k)
{
    for (uint64_t i = 0; i < k; i++) {
        l->bytes -= l->ents[l->start + i].len;
        garbage_push(l, l->slabs[l->start + i]);
    }
    if (k) {
        l->base_term = l->ents[l->start + k - 1].term;
        l->base += k;
    }
    l->start += k;
    l->n -= k;
    after_drop(l);
}

static int push_run(struct rlog *l, raft_index first, raft_term term)
{
    if (l->n_runs == l->cap_runs) {
        if (l->cap_runs == RLOG_MAX_RUNS) return RAFT_EBUSY;
        uint32_t cap = l->cap_runs ? l->cap_runs * 2 : 8;
        struct term_run *r = realloc(l->runs, cap * sizeof(*r));
        if (!r) return RAFT_ENOMEM;
        l->runs = r;
        l->cap_runs = cap;
    }
    l->runs[l->n_runs++] = (struct term_run){first, term};
    return 0;
}

raft_index rlog_release(struct rlog *l, raft_index upto)
{
    ASSERT(upto <= rlog_last(l));
    uint64_t k = 0;
    for (raft_index i = l->base + 1; i <= upto; i++, k++) {
        raft_term t = l->ents[l->start + k].term;
        bool new_run = l->n_runs == 0 || l->runs[l->n_runs - 1].term != t;
        if (new_run && push_run(l, i, t) != 0) break;
    }
    drop_head(l, k);
    return l->base;
}

void rlog_compact(struct rlog *l, raft_index upto, raft_term term)
{
    ASSERT(upto <= rlog_last(l) && upto > l->snap_index);
    if (upto >= l->base) { /* drops every run, and entries up to upto */
        drop_head(l, upto - l->base);
        l->n_runs = 0;
    } else { /* only released entries go: drop the runs below upto + 1 */
        uint32_t k = 0;
        while (k + 1 < l->n_runs && l->runs[k + 1].first <= upto + 1)
            k++;
        memmove(l->runs, l->runs + k, (l->n_runs - k) * sizeof(*l->runs));
        l->n_runs -= k;
        l->runs[0].first = upto + 1;
    }
    l->snap_index = upto;
    l->snap_term = term;
    if (l->unstable <= upto) l->unstable = upto + 1;
    if (l->persisted < upto) l->persisted = upto;
}

void rlog_reset(struct rlog *l, raft_index index, raft_term term)
{
    drop_head(l, l->n);
    l->n_runs = 0;
    l->snap_index = l->base = index;
    l->snap_term = l->base_term = term;
    l->unstable = index + 1;
    l->persisted = index;
}

/* Largest index <= hint whose term is <= term, never below the snapshot index
 * (fast back-off, §5.3 of the Raft paper's "optimization" note; terms are monotone). */
raft_index rlog_find_term_le(const struct rlog *l, raft_index hint, raft_term term)
{
    if (hint > rlog_last(l)) hint = rlog_last(l);
    if (hint <= l->snap_index) return hint;
    raft_index lo = l->snap_index, hi = hint; /* answer in [lo, hi] */
    if (rlog_term(l, hi) <= term) return hi;
    while (hi - lo > 1) { /* invariant: term(lo) <= term or lo == snap, term(hi) > term */
        raft_index mid = lo + (hi - lo) / 2;
        if (rlog_term(l, mid) <= term)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}
