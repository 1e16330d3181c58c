/*
 * src/server/proxy.h - raft-follower-proxy: a follower forwards the commands it
 * would answer with -MOVED (writes and linearizable reads) to the leader and
 * relays the replies, for clients that cannot follow MOVED.
 *
 * The forwarding itself (one connection to the leader, separate from the
 * Raft peer links, AUTH with requirepass, reply re-encoding, limits) is the
 * transport's (src/transport/transport.h, "Follower proxy link"); this file decides
 * what is forwarded and keeps each client's replies in request order.
 *
 * ORDER. A client may have several commands forwarded at once (a pipeline
 * costs one round trip, and the leader commits its writes together): the
 * link answers them in order. While c->pending_proxied > 0, the dispatcher
 * (src/server/dispatch.c) holds back every command that would not be forwarded too
 * -- local commands, READONLY reads, MULTI, and anything at all once this
 * node leads or knows no leader -- until the replies are in, so no reply
 * overtakes an earlier one.
 *
 * DATABASES. A command runs on the leader in the database its client
 * selected here: the link carries it (proxy_select below).
 *
 * REPLIES. The leader's reply, byte for byte as RESP2 (a RESP3 client gets
 * RESP2 shapes for forwarded commands). When the link fails first, the
 * command's fate is unknown: a write gets "-TIMEOUT not committed yet", a
 * read "-TIMEOUT no quorum for read" (docs/cluster-replies.md: the replies for the same
 * uncertainty on a leader). Too many commands in flight to the leader:
 * "-TRYAGAIN ..." at once; the leader's address not reachable at all:
 * "-TRYAGAIN ...".
 *
 * KEYSPACE READS are forwarded even without raft-follower-proxy: a read
 * naming no key (DBSIZE, KEYS, SCAN, RANDOMKEY) is about the whole keyspace,
 * and -MOVED 0 would leave tools that do not follow redirects (redis-cli
 * --scan, --bigkeys, scripts running DBSIZE) with nothing. Once one was
 * forwarded, the client is reading the leader's keyspace (a SCAN cursor is
 * the leader's), so its later reads are forwarded too (CLIENT_LEADER_READS,
 * until READWRITE or RESET): the keys it found are read where they were
 * found, linearizably. Its writes still get -MOVED (without the proxy).
 *
 * NOT FORWARDED: transactions (EXEC of a queue holding a write or a read
 * still replies -MOVED on a follower), blocking commands (BLPOP...: one
 * waiting on the shared link would hold up every command behind it; they
 * reply -MOVED, and clients block on the leader, src/server/blocked.h), reads of READONLY clients
 * (served locally, possibly stale), and every command that neither reads nor writes the keyspace
 * (answered by this node).
 */
#ifndef PROXY_H
#define PROXY_H

#include <stdint.h>

struct server;
struct client;
struct command;
struct resp_arg;
struct transport;

/* proxy_route() did not take the command: reply -MOVED/-CLUSTERDOWN as
 * without the proxy. */
#define PROXY_DECLINED (-1)

/* Called by the dispatcher (src/server/dispatch.c) on a follower for a write or a linearizable
 * read, with the leader it knows (0: none). Returns NODE_REPLIED when the command was forwarded
 * (the reply comes later; c->pending_proxied counts it) or refused with an error reply, NODE_WAIT
 * when c must wait for earlier forwarded replies first, or PROXY_DECLINED. */
int proxy_route(struct server *srv, struct transport *tr, uint64_t leader, struct client *c,
                const struct command *cmd, int argc, const struct resp_arg *argv);

/* 1 if cmd, from c, could be forwarded behind c's pending ones (a write, or
 * a read of a non-READONLY client); the dispatcher holds anything else back
 * while c->pending_proxied > 0. */
int proxy_may_follow(const struct client *c, const struct command *cmd);

/* c is about to be freed: replies still coming for it are dropped. */
void proxy_client_gone(struct server *srv, struct client *c);

/* RAFTCACHE.SELECT index, the leader's side of a proxy link's database
 * switch (a follower sends it in front of a command of another database
 * than the link's last, src/transport/transport.h): selects the database
 * and replies nothing, so the follower's one callback gets the command's
 * reply; the dispatcher runs it at once rather than behind the link's
 * pending writes, which took their database when proposed. An index this
 * node does not have closes the connection before the command behind it
 * runs: the follower's commands fail as on any lost link (every node of a
 * cluster needs the same `databases`). */
void proxy_select(struct cmd_ctx *c);

#endif
