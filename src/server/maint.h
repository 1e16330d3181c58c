/*
 * src/server/maint.h - maintenance notifications (the "smart client
 * handoff" of Redis 8's CLIENT MAINT_NOTIFICATIONS, which node-redis 5.12+
 * and 6, redis-py 6+, go-redis and Lettuce ask for over RESP3): a client
 * that asked is told where the leader is when it must go there, and is
 * never answered -MOVED meanwhile.
 *
 * The pushes (RESP3 only, as the clients read them):
 *   FAILING_OVER <seq> <seconds> <shards>  the leader hands its leadership
 *                                          over (RAFT.TRANSFER_LEADER,
 *                                          SHUTDOWN): relax your timeouts
 *   MOVING <seq> <seconds> <host:port>     go to the leader at host:port
 *                                          (a null instead of the address
 *                                          for moving-endpoint-type none)
 *   FAILED_OVER <seq> <shards>             the handover is over
 * seq grows with every push of the node; <shards> is the one shard.
 *
 * Who is moved: a notification client of a node that does not lead, but
 * not one that reads there on purpose (READONLY), when the node would not
 * keep it: raft-follower-proxy is off, or the node is shutting down. It is
 * told when it turns notifications on, when a new leader is known, and
 * when its node starts shutting down. Until it goes, the node forwards its
 * commands to the leader as the follower proxy does (src/server/proxy.h),
 * whatever raft-follower-proxy says: its in-flight commands are answered,
 * not redirected. With the proxy on a client stays where it is, which
 * keeps it up through the leader's kill -9; moving it would tie it to the
 * leader's address (the clients remember the address they were moved to).
 *
 * A node that shuts down (SHUTDOWN, SIGTERM) with notification clients
 * hands the leadership over first when it leads (src/server/server.h), then
 * moves them and keeps serving until they have left or
 * SERVER_HANDOVER_TIMEOUTS election timeouts have passed: a rolling
 * restart costs them no error.
 *
 * State: the per-client flags (struct client.maint, MAINT_* in
 * src/cmd/client.h) and the node's
 * sequence number; nothing is replicated. Single-threaded.
 */
#ifndef MAINT_H
#define MAINT_H

#include <stdint.h>

struct server;
struct client;

/* CLIENT MAINT_NOTIFICATIONS ON: c is told from now on (and at once, when
 * it must go). */
void maint_client_on(struct server *srv, struct client *c);
/* The leader starts handing its leadership over: its notification clients
 * are told FAILING_OVER. */
void maint_handover_begins(struct server *srv);
/* A new leader is known (src/servercmd/cmd_sentinel.c watches): the
 * clients that must go are told where, and FAILED_OVER ends a handover. */
void maint_leader_changed(struct server *srv);
/* The node starts shutting down: its clients are moved (by the time it no
 * longer leads). */
void maint_shutdown_begins(struct server *srv);
/* 1 while a client the node moved (or must move) is still connected: a
 * shutdown waits for it. */
int maint_clients_remain(struct server *srv);
#endif
