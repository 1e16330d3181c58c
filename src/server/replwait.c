/*
 * src/server/replwait.c - clients waiting in WAIT (see replwait.h).
 */
#include <stdlib.h>

#include "raft/raft_assert.h"
#include "base/util.h"
#include "cmd/client.h"
#include "node/node.h"
#include "node/waiters.h"
#include "server/replwait.h"

void replwait_init(struct replwait *w)
{
    w->v = NULL;
    w->n = w->cap = 0;
}

void replwait_free(struct replwait *w)
{
    free(w->v);
    replwait_init(w);
}

void replwait_add(struct replwait *w, struct client *c, uint64_t index, long long want,
                  int64_t deadline_ms, int seen)
{
    ASSERT(!c->waiting_acks); /* one WAIT at a time: its next commands wait for it */
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        w->v = util_xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = (struct replwait_entry){.c = c,
                                           .index = index,
                                           .want = want,
                                           .deadline_ms = deadline_ms,
                                           .seen = seen,
                                           .muted = c->reply_muted};
    c->waiting_acks = 1;
}

/* Entry i is answered with its count and leaves the list. */
static void answer(struct replwait *w, struct waiters *waiters, size_t i, int count)
{
    struct replwait_entry e = w->v[i];
    w->v[i] = w->v[--w->n];
    if (!e.muted) resp_add_int(&e.c->out, count);
    ASSERT(e.c->waiting_acks);
    e.c->waiting_acks = 0;
    waiters_wake(waiters, e.c);
}

void replwait_check(struct replwait *w, const struct node *n, struct waiters *waiters,
                    int64_t now_ms)
{
    size_t i = 0;
    while (i < w->n) {
        struct replwait_entry *e = &w->v[i];
        int count = node_replicas_at(n, e->index);
        if (count > e->seen) e->seen = count;
        if (count < 0 || e->seen >= e->want || (e->deadline_ms && now_ms >= e->deadline_ms))
            answer(w, waiters, i, e->seen); /* i now holds the last entry: checked next */
        else
            i++;
    }
}

void replwait_client_gone(struct replwait *w, struct client *c)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i].c == c) {
            w->v[i] = w->v[--w->n];
            c->waiting_acks = 0;
            return;
        }
}
