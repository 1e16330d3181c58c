/*
 * src/server/blocked.h - clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD
 * BLOCK, ...):
 * which client waits on which keys, in which order, until when, and which
 * of them to wake when a key they wait on fills.
 *
 * The protocol (docs/design.md, "Blocking commands"):
 *   - a blocking command that finds nothing to serve, run for a client
 *     outside a transaction (cmd_ctx.may_block), replies nothing and fills
 *     cmd_ctx.block. The dispatcher (src/server/dispatch.c) adds the client here
 *     and holds the command (client.held_cmd): the client runs nothing else
 *     until it is answered, as in Redis;
 *   - a write proposed on the leader takes with it, in the same entry, the
 *     calls of the first clients waiting on the keys it writes
 *     (blocked_take): applied together, a push and the pops it serves are
 *     one step on every replica, as in Redis, where blocked clients are
 *     served before the next command runs;
 *   - every change to a key is reported (blocked_key_changed, from the
 *     keyspace's on_modify hook). After the driver applied what it could,
 *     blocked_serve_ready() looks at the keys that changed: a key holding a
 *     value of the type a client waits for, with n elements, wakes the
 *     first n clients waiting on it (first blocked, first served) that are
 *     not woken already; a stream holding entries after the ID an XREAD
 *     waits on wakes that client, however many they are (reading takes
 *     nothing away). A woken client runs its held command again: on
 *     the leader it goes through the log as a write, so the element a
 *     client receives is removed on every replica before it is answered;
 *     if another client's pop took the elements first, it blocks again
 *     where it was in the queue;
 *   - a client leaves when its command is answered: served (blocked_remove
 *     by the dispatcher), timed out (blocked_expire writes the command's
 *     null reply), CLIENT UNBLOCK (blocked_unblock), gone
 *     (blocked_client_gone), or leadership lost (blocked_release_all: every
 *     waiting client runs its command again, which a follower answers
 *     -MOVED / -CLUSTERDOWN, so the client retries on the new leader).
 *
 * A client woken and not answered yet (its pop in the log) is answered by
 * the log, not here: its timeout or an unblock waits for the pop's outcome,
 * so an element is never popped for a client that was told it got nothing.
 *
 * Only a leader ever holds blocked clients (a follower answers blocking
 * commands -MOVED): the index is empty elsewhere, and the on_modify hook
 * costs one test. Single-threaded; clients are borrowed.
 */
#ifndef BLOCKED_H
#define BLOCKED_H

#include <stddef.h>
#include <stdint.h>

#include "ds/dict.h"

struct client;
struct cmd_block;
struct kv;
struct resp_arg;
struct waiters;

struct blocked_client; /* one client's wait (private) */
struct blocked_key;    /* one key's queue of waits (private) */

struct blocked {
    struct waiters *waiters; /* where woken and answered clients go */
    struct dict keys;        /* key -> struct blocked_key * */
    struct blocked_client *all;
    size_t n_clients; /* INFO blocked_clients */
    struct blocked_key **ready;
    size_t n_ready, ready_cap;
    int64_t leaderless_since_ms; /* src/server/replica.c: since this node stopped leading, 0 */
    /* Where a call answered here (timed out, CLIENT UNBLOCK) is counted,
     * as Redis counts it then (src/cmd/monitor.h); NULL: nowhere. */
    struct monitor *monitor;
};

/* The blocked clients with a timeout (INFO clients_in_timeout_table). */
size_t blocked_with_timeout(const struct blocked *b);

void blocked_init(struct blocked *b, struct waiters *w, uint64_t seed);
void blocked_free(struct blocked *b);

/* c waits on the keys blk names in argv (duplicates count once) in kv, its
 * database, for at most blk->timeout_ms (0: forever) from now_ms; a wait for what comes
 * after IDs (blk->after) keeps the IDs as resolved on kv now ($: the last
 * one). A client waiting already (it was woken, and found the keys emptied
 * by another client) keeps its place, its IDs and its deadline and waits
 * again. */
void blocked_add(struct blocked *b, struct client *c, const struct cmd_block *blk, int argc,
                 const struct resp_arg *argv, struct kv *kv, int64_t now_ms);
/* Whether c's blocking call, which waits for blk, must block rather than go
 * through the log, judged on kv at now_ms: yes when no key it waits on
 * holds a value; no when one holds another type (its error comes from the
 * log); otherwise yes when other clients wait on such a key and c is not
 * queued itself yet (those who came first are served first). A wait for
 * what comes after IDs blocks unless a key holds something after its ID. */
int blocked_must_wait(struct blocked *b, const struct client *c, const struct cmd_block *blk,
                      const struct resp_arg *argv, struct kv *kv, int64_t now_ms);
/* 1 if c is blocked and not woken: it runs nothing until it is. */
int blocked_waiting(const struct client *c);
/* The call blocked client c holds (a copy, valid while c is blocked) and
 * what it waits for. */
const struct resp_arg *blocked_call(const struct client *c, int *argc,
                                    const struct cmd_block **blk);
/* Takes the first (at most max) clients waiting on key of database db and
 * not woken, in queue order, into out, marked woken: the caller proposes
 * their calls (they keep their place until answered). Returns how many. */
size_t blocked_take(struct blocked *b, int db, const char *key, size_t len, size_t max,
                    struct client **out);
/* c's command was answered (served, or an error): it waits no more. */
void blocked_remove(struct blocked *b, struct client *c);

/* The keyspace's on_modify hook: key of database db changed. */
void blocked_key_changed(struct blocked *b, int db, const char *key, size_t len);
/* Database db was emptied (FLUSHDB; -1: every database): every key waited
 * on there changed. */
void blocked_all_keys_changed(struct blocked *b, int db);
/* Wakes the clients the changed keys can serve (see above), judged on the
 * databases db[] (indexed by number) at now_ms. */
void blocked_serve_ready(struct blocked *b, struct kv *const *db, int64_t now_ms);

/* Answers, with their command's null reply, the waiting clients whose
 * deadline is at or before now_ms. */
void blocked_expire(struct blocked *b, int64_t now_ms);
/* CLIENT UNBLOCK: 0 if c is not blocked. A waiting client is answered now:
 * with its null reply, or with err when err is not NULL. A woken one is
 * answered so when its pop finds nothing (blocked_add then answers it). */
int blocked_unblock(struct blocked *b, struct client *c, const char *err);
/* Leadership lost: every client leaves; the waiting ones are woken to run
 * their command again (the woken ones are answered by the log). */
void blocked_release_all(struct blocked *b);
/* c is about to be freed. */
void blocked_client_gone(struct blocked *b, struct client *c);

#endif
