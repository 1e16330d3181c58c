/*
 * src/server/pause.h - CLIENT PAUSE: this node holds back its clients' commands
 * (all of them, or those that may write) until a deadline or CLIENT
 * UNPAUSE, as Redis 7.0 does.
 *
 * Scope: one node. A pause on the leader holds back the writes its own
 * clients send, and so, with WRITE, every write of the cluster: followers
 * answer writes -MOVED, and the keyspace commands the follower proxy
 * forwards are held like its clients' own (the proxy's link is shared: what
 * follows a held command on it waits too). Raft and pub/sub links are never
 * paused, as Redis never pauses its replicas. Entries already in the log
 * still commit and apply; a pause stops nothing inside the Raft core.
 *
 * A held command is *postponed*: the dispatcher (src/server/dispatch.c) leaves it
 * in the client's input, unchecked, and the client waits on this list with
 * no timeout (a blocking command is postponed before it blocks, so its own
 * timeout starts when it runs). When the pause ends -- its deadline passes
 * (pause_cron, every cron tick, as Redis checks it) or CLIENT UNPAUSE --
 * every postponed client is woken (src/node/waiters.h) in the order it was
 * postponed and its command is dispatched again from the start.
 *
 * A pause while paused keeps the later deadline and the stricter kind (ALL
 * over WRITE), as Redis's pauseClients(). Clients are borrowed:
 * pause_client_gone() runs before one is freed.
 */
#ifndef PAUSE_H
#define PAUSE_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct waiters;

struct pause {
    int64_t end_ms;            /* wall clock; 0: not paused */
    int all;                   /* ALL (every command), else WRITE */
    struct client **postponed; /* borrowed, in postponing order */
    size_t n, cap;
};

void pause_init(struct pause *p);
void pause_free(struct pause *p);

/* CLIENT PAUSE: pauses until end_ms (or extends, see above). */
void pause_start(struct pause *p, int64_t end_ms, int all);
/* CLIENT UNPAUSE, or the deadline passed: wakes every postponed client. */
void pause_stop(struct pause *p, struct waiters *w);
/* Ends the pause if its deadline is at or before now_ms. */
void pause_cron(struct pause *p, struct waiters *w, int64_t now_ms);

/* 1 if a command must wait: the node is paused for ALL, or for WRITE and
 * the command may write (may_write). One test when not paused. */
static inline int pause_holds(const struct pause *p, int may_write)
{
    return p->end_ms != 0 && (p->all || may_write);
}
/* c's command waits for the end of the pause (c is listed once). */
void pause_postpone(struct pause *p, struct client *c);
/* c is about to be freed: forgotten. */
void pause_client_gone(struct pause *p, struct client *c);

#endif
