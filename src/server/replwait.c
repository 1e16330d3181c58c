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

int replwait_count(const struct node *n, struct replwait_ask *a)
{
    int replicas = node_replicas_at(n, a->index);
    int local = node_persisted_at(n, a->index);
    if (replicas < 0 || local < 0) return -1;
    if (a->want_local >= 0 && !a->fsync) replicas = local = 0; /* nothing is fsynced */
    if (replicas > a->replicas) a->replicas = replicas;
    if (local > a->local) a->local = local;
    return a->replicas >= a->want_replicas && a->local >= a->want_local;
}

void replwait_reply(struct resp_out *out, const struct replwait_ask *a)
{
    if (a->want_local < 0) {
        resp_add_int(out, a->replicas);
        return;
    }
    resp_add_array_len(out, 2);
    resp_add_int(out, a->local);
    resp_add_int(out, a->replicas);
}

void replwait_add(struct replwait *w, struct client *c, const struct replwait_ask *a,
                  int64_t deadline_ms)
{
    ASSERT(!c->waiting_acks); /* one at a time: its next commands wait for it */
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 8;
        w->v = util_xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = (struct replwait_entry){
        .c = c, .ask = *a, .deadline_ms = deadline_ms, .muted = c->reply_muted};
    c->waiting_acks = 1;
}

/* Entry i is answered and leaves the list. */
static void answer(struct replwait *w, struct waiters *waiters, size_t i)
{
    struct replwait_entry e = w->v[i];
    w->v[i] = w->v[--w->n];
    if (!e.muted) replwait_reply(&e.c->out, &e.ask);
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
        int done = replwait_count(n, &e->ask);
        if (done != 0 || (e->deadline_ms && now_ms >= e->deadline_ms))
            answer(w, waiters, i); /* i now holds the last entry: checked next */
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
