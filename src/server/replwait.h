/*
 * src/server/replwait.h - WAIT: clients waiting until enough followers hold
 * their last write.
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
 * A waiting client's reply comes later, as a forwarded command's does
 * (client.waiting_acks holds its next commands, src/server/dispatch.c;
 * answering it wakes it, src/node/waiters.h). replwait_check() runs after
 * each round of the driver and from the cron (the timeouts, at hz). When
 * the node stops leading, each waiting client gets the count it had seen.
 * A CLIENT REPLY OFF/SKIP decision taken when WAIT ran holds for its late
 * reply. Bounded by the clients: one entry per waiting client.
 */
#ifndef REPLWAIT_H
#define REPLWAIT_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct node;
struct waiters;

struct replwait_entry {
    struct client *c;
    uint64_t index;      /* the log index it waits for */
    long long want;      /* followers it asked for */
    int64_t deadline_ms; /* 0: none */
    int seen;            /* the largest count seen so far */
    int muted;           /* its reply is dropped (CLIENT REPLY) */
};

struct replwait {
    struct replwait_entry *v;
    size_t n, cap;
};

void replwait_init(struct replwait *w);
void replwait_free(struct replwait *w);

/* c waits (its WAIT found fewer than `want` followers holding index, which
 * counted `seen`); deadline_ms 0: no timeout. c must not be waiting already. */
void replwait_add(struct replwait *w, struct client *c, uint64_t index, long long want,
                  int64_t deadline_ms, int seen);
/* Answers the clients whose followers (as n counts them) now suffice,
 * whose deadline is at or before now_ms, or all of them when n no longer
 * leads; each answered one is woken in waiters. */
void replwait_check(struct replwait *w, const struct node *n, struct waiters *waiters,
                    int64_t now_ms);
/* c is about to be freed. */
void replwait_client_gone(struct replwait *w, struct client *c);

#endif
