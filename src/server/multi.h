/*
 * src/server/multi.h - MULTI/EXEC transactions and WATCH (optimistic locking).
 *
 * Queue: MULTI makes the dispatcher queue commands (owned copies) in the
 * client's multi_state. EXEC of a queue holding a write becomes ONE state
 * machine entry (atomic on every node); a read-only queue runs locally.
 *
 * Watch index: srv->watched maps a key's name to the list of its watchers
 * (struct watched_key, which says which database's key it watches), each
 * also linked from its client. The keyspace's
 * on_modify hook marks every watcher of a changed key CLIENT_DIRTY_CAS, so
 * EXEC fails with a null reply. As in Redis 7.0, a key that was already
 * logically expired when watched does not dirty its watchers by being
 * deleted (it was absent and stays absent), and a watched key that expires
 * between WATCH and EXEC fails the EXEC.
 *
 * Replication: the check runs on the leader when EXEC is proposed, against
 * the applied keyspace, so it also fails the EXEC when a watched key has a
 * write staged or in the log ahead of it and not applied yet
 * (src/sm/inflight.h); such a write would otherwise land between the check and
 * the EXEC's apply and be overwritten. Only EXECs that passed reach the log,
 * so every replica applies the same thing. The check is conservative: a
 * write to another key of the same hash slot, or in flight since before the
 * WATCH, fails it too (the client retries, as after any WATCH failure).
 */
#ifndef MULTI_H
#define MULTI_H

#include "cmd/client.h"
#include "cmd/cmd.h"

struct server;

void multi_init(struct server *srv);
void multi_free(struct server *srv);
/* Appends a copy of argv to the client's queue. */
void multi_queue(struct client *c, const struct command *cmd, int argc,
                 const struct resp_arg *argv);
/* Drops the queue and the MULTI flags (not the watches). */
void multi_discard(struct client *c);
/* EXEC taken up, before it runs here or is forwarded: each queued command
 * checked again against c's ACL user (replaced by RAFTCACHE.DENIED when
 * no longer allowed) and a restricted user's scripts put behind
 * RAFTCACHE.AS (src/server/aclstate.h). Once per transaction. */
void multi_exec_prepare(struct client *c);
/* Drops queue and watches: RESET, and before the client is freed. */
void multi_client_reset(struct client *c);
/* Forgets every key the client watches. */
void multi_unwatch_all(struct client *c);
/* The keyspace's hooks (src/keyspace/kv.h): key of database db changed;
 * database db is about to be flushed. They dirty the watchers of those keys
 * of that database (a watch remembers the database its client had
 * selected, as in Redis). */
void multi_key_changed(struct server *srv, int db, const char *key, size_t len);
void multi_flushed(struct server *srv, int db);
/* Databases a and b are about to trade keys (SWAPDB): a watch dirties its
 * client when its key exists on either side, as Redis 7.0's
 * touchAllWatchedKeysInDb, but a key that was expired when watched and is
 * expired (or absent) after stays unchanged. */
void multi_swapped(struct server *srv, int a, int b);

#endif
