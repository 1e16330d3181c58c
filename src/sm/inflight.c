/*
 * src/sm/inflight.c - writes on their way through the log (see inflight.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sm/inflight.h"
#include "base/util.h"
#include "raft/raft_assert.h"

void inflight_init(struct inflight *f)
{
    memset(f, 0, sizeof *f);
    f->last = util_xcalloc(INFLIGHT_BUCKETS, sizeof *f->last);
    f->staged = util_xcalloc(INFLIGHT_BUCKETS, sizeof *f->staged);
    f->gen = 1;
}

void inflight_free(struct inflight *f)
{
    free(f->last);
    free(f->staged);
    free(f->open);
    memset(f, 0, sizeof *f);
}

void inflight_stage_key(struct inflight *f, const char *key, size_t len)
{
    unsigned b = util_key_slot(key, len);
    ASSERT(b < INFLIGHT_BUCKETS && f->gen != 0);
    if (f->staged[b] == f->gen) return;
    f->staged[b] = f->gen;
    if (f->n_open == f->cap_open) {
        f->cap_open = f->cap_open ? 2 * f->cap_open : 64;
        f->open = util_xrealloc(f->open, f->cap_open * sizeof *f->open);
    }
    f->open[f->n_open++] = b;
    ASSERT(f->n_open <= INFLIGHT_BUCKETS); /* each bucket staged once a generation */
}

void inflight_stage_all(struct inflight *f)
{
    f->open_all = true;
}

void inflight_proposed(struct inflight *f, uint64_t index)
{
    if (index) {
        for (uint32_t i = 0; i < f->n_open; i++)
            if (f->last[f->open[i]] < index) f->last[f->open[i]] = index;
        if (f->open_all) inflight_all(f, index);
    }
    f->n_open = 0;
    f->open_all = false;
    /* A new generation unstages every bucket at once; on wrap-around, clear. */
    if (++f->gen == 0) {
        memset(f->staged, 0, INFLIGHT_BUCKETS * sizeof *f->staged);
        f->gen = 1;
    }
}

void inflight_all(struct inflight *f, uint64_t index)
{
    if (f->all < index) f->all = index;
}

bool inflight_busy(const struct inflight *f, const char *key, size_t len, uint64_t applied)
{
    unsigned b = util_key_slot(key, len);
    return f->open_all || f->staged[b] == f->gen || f->all > applied || f->last[b] > applied;
}
