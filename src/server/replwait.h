/*
 * src/server/replwait.h - WAIT and WAITAOF: clients waiting until enough
 * followers (and, for WAITAOF, this node's disk) hold their last write.
 *
 * WAIT numreplicas timeout answers how many followers have acknowledged the
 * log up to the client's last write (client.last_write_index; the commit
 * index when it wrote nothing here, so a client that only reads learns how
 * many followers are up to date). Every acknowledged write is already on a
 * majority: WAIT for fewer followers than that returns at once. Asking for
 * more waits until they have it or the timeout (ms; 0: forever) passes, and
 * answers the count then, as Redis. Only followers this leader is
 * connected to count.
 *
 * WAITAOF numlocal numreplicas timeout (Redis 7.2) answers [local,
 * replicas]: local is 1 once this node's log is fsynced up to that write,
 * replicas the followers that acknowledged it, each of which fsyncs before
 * it acknowledges when raft-log-fsync is on (the same on every node). With
 * raft-log-fsync off nothing is fsynced: numlocal 1 is refused with
 * Redis's error for a server without an AOF, and replicas count 0.
 *
 * A waiting client's reply comes later, as a forwarded command's does
 * (client.waiting_acks holds its next commands, src/server/dispatch.c;
 * answering it wakes it, src/node/waiters.h). replwait_check() runs after
 * each round of the driver and from the cron (the timeouts, at hz). When
 * the node stops leading, each waiting client gets the counts it had seen.
 * A CLIENT REPLY OFF/SKIP decision taken when the command ran holds for
 * its late reply. Bounded by the clients: one entry per waiting client.
 */
#ifndef REPLWAIT_H
#define REPLWAIT_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct node;
struct resp_out;
struct waiters;

/* What a WAIT or WAITAOF asks, and the most it has seen. */
struct replwait_ask {
    uint64_t index;          /* the log index it asks about */
    long long want_replicas; /* followers */
    int want_local;          /* WAITAOF's numlocal (0 or 1); -1: WAIT */
    int fsync;               /* raft-log-fsync was on: followers' acks are fsyncs */
    int replicas, local;     /* counted so far */
};

struct replwait_entry {
    struct client *c;
    struct replwait_ask ask;
    int64_t deadline_ms; /* 0: none */
    int muted;           /* its reply is dropped (CLIENT REPLY) */
};

struct replwait {
    struct replwait_entry *v;
    size_t n, cap;
};

void replwait_init(struct replwait *w);
void replwait_free(struct replwait *w);

/* Counts, on n, what a asks about (keeping the most seen): 1 when it is
 * satisfied, 0 when not yet, -1 when n does not lead (a keeps its last
 * counts). */
int replwait_count(const struct node *n, struct replwait_ask *a);
/* a's reply: WAIT's count, or WAITAOF's [local, replicas]. */
void replwait_reply(struct resp_out *out, const struct replwait_ask *a);

/* c waits for a (counted, not satisfied); deadline_ms 0: no timeout. c
 * must not be waiting already. */
void replwait_add(struct replwait *w, struct client *c, const struct replwait_ask *a,
                  int64_t deadline_ms);
/* Answers the clients whose asks are now satisfied on n, whose deadline is
 * at or before now_ms, or all of them when n no longer leads; each
 * answered one is woken in waiters. */
void replwait_check(struct replwait *w, const struct node *n, struct waiters *waiters,
                    int64_t now_ms);
/* c is about to be freed. */
void replwait_client_gone(struct replwait *w, struct client *c);

#endif
