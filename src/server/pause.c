/*
 * src/server/pause.c - CLIENT PAUSE's state and postponed clients (see pause.h).
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "cmd/client.h"
#include "server/pause.h"
#include "base/util.h"
#include "node/waiters.h"

void pause_init(struct pause *p)
{
    memset(p, 0, sizeof *p);
}

void pause_free(struct pause *p)
{
    free(p->postponed);
    memset(p, 0, sizeof *p);
}

void pause_start(struct pause *p, int64_t end_ms, int all)
{
    if (end_ms < 1) end_ms = 1; /* a deadline in the past still pauses until the next tick */
    if (p->end_ms == 0) {
        p->end_ms = end_ms;
        p->all = all;
        return;
    }
    if (end_ms > p->end_ms) p->end_ms = end_ms;
    if (all) p->all = 1;
}

void pause_stop(struct pause *p, struct waiters *w)
{
    p->end_ms = 0;
    p->all = 0;
    for (size_t i = 0; i < p->n; i++) {
        client_hold_to(p->postponed[i], HOLD_BEHIND);
        waiters_wake(w, p->postponed[i]);
    }
    p->n = 0;
}

void pause_cron(struct pause *p, struct waiters *w, int64_t now_ms)
{
    if (p->end_ms != 0 && p->end_ms <= now_ms) pause_stop(p, w);
}

void pause_postpone(struct pause *p, struct client *c)
{
    ASSERT(c->hold == HOLD_NONE);
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->postponed = util_xrealloc(p->postponed, p->cap * sizeof *p->postponed);
    }
    p->postponed[p->n++] = c;
    client_hold_to(c, HOLD_PAUSED);
}

void pause_client_gone(struct pause *p, struct client *c)
{
    if (c->hold != HOLD_PAUSED) return;
    for (size_t i = 0; i < p->n; i++) {
        if (p->postponed[i] != c) continue;
        memmove(p->postponed + i, p->postponed + i + 1, (p->n - i - 1) * sizeof *p->postponed);
        p->n--;
        return;
    }
}
