/*
 * src/node/waiters.h - completions: which client waits for what, and which
 * clients were answered and may go on.
 *
 * The Raft driver (src/node/node.c) feeds it; the connection layer drains it.
 * Nothing here touches a socket, so the driver never calls up:
 *   - a write waits for the log entry its command went into: its index and
 *     the term it was proposed in (a different entry at that index means it
 *     was lost), with a deadline. The writes of the open batch are *staged*
 *     first (no index yet) and get the batch's index when it is proposed;
 *   - a linearizable read waits for its ReadIndex round (a context number),
 *     then for the keyspace to reach the index the leader confirmed; it
 *     covers the client's input up to a barrier (client.read_cleared_end);
 *   - CLIENT REPLY OFF/SKIP: a write waiter keeps the client's decision for
 *     its command (client.reply_muted when it was staged or added): its
 *     reply, error or not, is dropped even when the client has dispatched
 *     other commands since (a pipeline after CLIENT REPLY SKIP). A read
 *     waits as its client's current command, whose decision stays put;
 *   - answering a waiter writes its error, if any, to the client's output,
 *     updates the client's counters (pending_writes, waiting_read) and puts
 *     the client on the *woken* list. A read answered with an error has had
 *     its reply: its held command moves to HOLD_ANSWERED (src/cmd/client.h),
 *     which tells the dispatcher to drop it instead of running it again. The connection layer takes
 * the woken clients when the driver is done (waiters_next_woken), flushes their replies and runs
 * the commands they sent meanwhile.
 *
 * Clients blocked on keys (BLPOP) are src/server/blocked.h's, woken here too; a
 * blocking command in the log is a write like any other, except that it is
 * held by its client until answered (HOLD_IN_LOG, src/cmd/client.h). A script's entry
 * will be a write like any other. Any module that answers a client
 * asynchronously (the follower proxy, RAFT.CLUSTER JOIN, blocked clients)
 * wakes it here instead of calling the connection layer.
 *
 * Errors are Redis's: -TIMEOUT not committed yet / -TIMEOUT no quorum for
 * read (docs/protocol.md). Single-threaded; clients are borrowed, and
 * waiters_client_gone() must be called before one is freed.
 */
#ifndef WAITERS_H
#define WAITERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/fifo.h"

struct client;

#define WAITERS_WRITE_TIMEOUT "TIMEOUT not committed yet"
#define WAITERS_READ_TIMEOUT "TIMEOUT no quorum for read"

struct waiters {
    struct fifo writes;     /* struct write_waiter, in index order */
    struct fifo reads;      /* struct read_waiter, in arrival order */
    struct client **staged; /* one per command of the open batch (NULL: gone) */
    uint32_t *staged_tags;  /* per staged command: its reply tag (client.h) */
    size_t n_staged, staged_cap;
    struct client **entry; /* the clients of the entry being applied */
    uint32_t *entry_tags;  /* per entry waiter: its reply tag */
    size_t entry_cap;
    struct client **woken; /* answered, to be resumed; [woken_head, n_woken) */
    size_t woken_head, n_woken, woken_cap;
    struct client **parked; /* waiting to know where writes go (NULL: gone) */
    size_t n_parked, parked_cap;
};

void waiters_init(struct waiters *w);
void waiters_free(struct waiters *w);

/* ---- writes ---- */

/* c's write joined the open batch: it is pending from now on (c NULL: a
 * write of the node's own, whose reply nobody reads, or a transaction's
 * stand-in for one of its commands, src/sm/sm.h). Its reply
 * tag is REPLY_TAG_MUTED if c->reply_muted is set now, plus tag_as
 * (REPLY_TAG_AS, or 0). */
void waiters_stage(struct waiters *w, struct client *c, uint32_t tag_as);
/* The staged writes, in batch order (entries may be NULL: gone), and
 * each one's reply tag (same order). */
struct client *const *waiters_staged(const struct waiters *w, size_t *n);
const uint32_t *waiters_staged_tags(const struct waiters *w);
/* The batch was proposed at index in term: its staged writes wait for it
 * (a NULL one keeps its position: reply i goes to the i-th command). */
void waiters_staged_proposed(struct waiters *w, uint64_t index, uint64_t term, int64_t deadline_ms);
/* The batch was refused and each staged client got its error: they are
 * pending no more, and are woken. */
void waiters_staged_refused(struct waiters *w);
/* c waits for the entry at index, proposed in term. Indexes never go back.
 * Its reply is dropped if c->reply_muted is set now. */
void waiters_add_write(struct waiters *w, struct client *c, uint64_t index, uint64_t term,
                       int64_t deadline_ms);
/* Moves every waiting write's deadline by ms (a large entry ahead of them). */
void waiters_delay_writes(struct waiters *w, int64_t ms);
/* Before the entry at index (of term) is applied: answers -TIMEOUT the
 * writes waiting for earlier indexes (those entries were skipped: already
 * in a snapshot) and those waiting for this index whose entry was proposed
 * in another term (another entry replaced it), then returns how many wait
 * for this one and sets *clients to them, in proposal order, NULL for one
 * gone. Valid until waiters_entry_applied(). */
size_t waiters_entry(struct waiters *w, uint64_t index, uint64_t term,
                     struct client *const **clients);
/* Per waiter of that entry (same order and validity): its reply tag. */
const uint32_t *waiters_entry_tags(const struct waiters *w);
/* After that entry was applied (replies written to the non-NULL clients):
 * answers its k waiters, -TIMEOUT for those whose entry was replaced. */
void waiters_entry_applied(struct waiters *w, size_t k);

/* ---- reads ---- */

/* c waits for the ReadIndex round ctx; when served, its reads up to barrier
 * (its input position) may run. */
void waiters_add_read(struct waiters *w, struct client *c, uint64_t ctx, uint64_t barrier,
                      int64_t deadline_ms);
/* The round ctx confirmed index: the read may run once it is applied. */
void waiters_read_released(struct waiters *w, uint64_t ctx, uint64_t index);
/* A follower's round ctx was not confirmed by the leader: its client runs
 * the reads it covered again, on the leader (client.read_failed_end). */
void waiters_read_failed(struct waiters *w, uint64_t ctx);
/* Serves, in order, the released reads whose index is applied. */
void waiters_serve_reads(struct waiters *w, uint64_t applied);

/* ---- both ---- */

/* Leadership lost: every read lost its quorum, and every pending write
 * beyond index committed may or may not commit: all are answered -TIMEOUT
 * now. The writes up to committed stay: their entries are committed and
 * will be applied here, where they get their replies (a leader that removed
 * itself commits the change before it holds the entry on its own disk, and
 * applies it only after). */
void waiters_leadership_lost(struct waiters *w, uint64_t committed);
/* Answers -TIMEOUT the writes waiting for entries after index: this log no
 * longer holds theirs (a node leading again after a handover whose writes
 * it kept, src/node/node.c's role_changed). */
void waiters_writes_lost_after(struct waiters *w, uint64_t index);
/* Answers -TIMEOUT the waits whose deadline is at or before now_ms. */
void waiters_expire(struct waiters *w, int64_t now_ms);
/* c is about to be freed: it is forgotten everywhere. */
void waiters_client_gone(struct waiters *w, struct client *c);

/* ---- parked clients ---- */

/* c's command waits, unanswered, until the node knows where writes go (a
 * leadership transfer under way: src/node/node.h, node_route); c once. */
void waiters_park(struct waiters *w, struct client *c);
/* How many are parked (gone ones included). */
size_t waiters_parked(const struct waiters *w);
/* Wakes every parked client: each runs its command again. */
void waiters_unpark(struct waiters *w);

/* ---- woken clients ---- */

/* c was answered asynchronously (its reply is in c->out): wake it. */
void waiters_wake(struct waiters *w, struct client *c);
/* The clients woken and not taken yet, without taking them. */
struct client *const *waiters_woken(const struct waiters *w, size_t *n);
/* Takes the next woken client, oldest first; NULL when none is left. A
 * client may come more than once. */
struct client *waiters_next_woken(struct waiters *w);

#endif
