/*
 * src/server/replica.h - one replica of the keyspace, wired and without sockets:
 * the keyspace, the state machine, the waiters and the Raft driver of a
 * struct server, and the background work they need (active expiry, the
 * LRU clock, incremental rehash). The event loop (src/net/loop.c) builds one
 * per process around its listeners and timers; the node simulator
 * (tests/nodesim) builds several in one process around a simulated network.
 */
#ifndef REPLICA_H
#define REPLICA_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct ev_loop;

/* Keyspace, state machine, waiters and watch index from srv->cfg (loaded)
 * and srv->monitor (initialised); seed drives every local random choice. No
 * I/O. */
void replica_init(struct server *srv, uint64_t seed);
/* Opens the Raft log and starts the driver (src/node/node.h): its peer links run
 * on loop; flush_replies is the driver's up-call (struct node_env), called
 * with srv. Returns 0, or -1 with err filled. */
int replica_start(struct server *srv, struct ev_loop *loop, void (*flush_replies)(void *ud),
                  char *err, size_t errlen);
/* The same, for the node simulator: snapshots walk a fixed share a round
 * (node_env.snapshot_wait). */
int replica_start_simulated(struct server *srv, void (*flush_replies)(void *ud), char *err,
                            size_t errlen);
/* Without the log or the driver: what replica_start() sets up before the
 * log is read (the users, whose ACL writes the log holds, and the command
 * renames), for a tool that loads a snapshot and applies entries itself
 * (src/server/restore.h); srv->node stays NULL. 0, or -1 with err filled. */
int replica_start_offline(struct server *srv, char *err, size_t errlen);
/* The cron's share (hz times a second): the LRU clock, incremental rehash,
 * and, on the leader, active expiry: expired keys sampled like Redis's slow
 * cycle and proposed for deletion, each key once while its proposal is in
 * the log (src/keyspace/expiring.h). */
void replica_cron(struct server *srv);
/* Keyspace notifications from now on: flags as notify-keyspace-events
 * (src/keyspace/notify.h), for the write handlers and the keyspace's own events. */
void replica_set_notify(struct server *srv, unsigned flags);
/* After the driver applied entries (and from the cron): wakes the clients
 * blocked on keys that filled (src/server/blocked.h); a node that stopped leading
 * lets every blocked client go once it knows the new leader, or after two
 * election timeouts without one (each runs its command again, and gets
 * -MOVED, or -CLUSTERDOWN). */
void replica_wake_blocked(struct server *srv);
/* The encoding thresholds of srv->cfg, for the type modules (src/keyspace/types.h). */
void replica_apply_limits(struct server *srv);
/* Stops the driver and frees everything replica_init() and replica_start()
 * built. */
void replica_free(struct server *srv);

#endif
