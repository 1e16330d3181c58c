/*
 * src/server/proxy.h - raft-follower-proxy: a follower forwards the commands it
 * would answer with -MOVED (writes and linearizable reads) to the leader and
 * relays the replies, for clients that cannot follow MOVED.
 *
 * The forwarding itself (connections to the leader, separate from the Raft
 * peer links, AUTH with requirepass, replies cut but not decoded, limits)
 * is the transport's (src/transport/transport.h, "Follower proxy links");
 * this file decides what is forwarded, on which link, and keeps each
 * client's replies in request order.
 *
 * ORDER. A client may have several commands forwarded at once (a pipeline
 * costs one round trip, and the leader commits its writes together): its
 * link answers them in order. While c->pending_proxied > 0, the dispatcher
 * (src/server/dispatch.c) holds back every command that would not be forwarded too
 * -- local commands, READONLY reads, MULTI, and anything at all once this
 * node leads or knows no leader -- until the replies are in, so no reply
 * overtakes an earlier one.
 *
 * DATABASES. A command runs on the leader in the database its client
 * selected here: the link carries it (proxy_select below).
 *
 * REPLIES. The leader's reply, byte for byte as the leader wrote it for a
 * connection in the client's protocol (RESP2, or RESP3 after HELLO 3: the
 * link of its protocol carries it, src/transport/transport.h). When the
 * link fails first, the command's fate is unknown: a write gets "-TIMEOUT
 * not committed yet", a read "-TIMEOUT no quorum for read"
 * (docs/cluster-replies.md: the replies for the same uncertainty on a
 * leader). Too many commands in flight to the leader: "-TRYAGAIN ..." at
 * once; the leader's address not reachable at all: "-TRYAGAIN ...".
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
 * TRANSACTIONS. MULTI and the commands it queues are answered here (+OK,
 * +QUEUED, their argument errors, EXECABORT); EXEC goes to the leader as
 * one unit on the client's link (MULTI, the queue, EXEC: the leader's
 * MULTI and +QUEUED replies are dropped, its EXEC reply relayed), so the
 * queue runs there atomically with what it writes and reads. A queue that
 * only reads, of a READONLY client, runs here as without the proxy.
 *
 * SESSIONS. What the leader keeps per connection needs the client's own
 * link (a transport session, opened on first need, freed with the client):
 * WATCH goes there, so the leader watches the keys and its EXEC (on the
 * same link) fails when another client of any node wrote one; UNWATCH, and
 * DISCARD's unwatching, follow it there. A blocking command (BLPOP, BLMOVE,
 * BZPOPMIN, XREAD/XREADGROUP BLOCK) waits on the leader on its session,
 * answered when the leader answers it, its timeout included; a new leader
 * known closes the sessions to the old one, whose blocked commands fail as
 * above. WAIT goes there too: the leader counts the followers holding the
 * last write of that link, which carried the client's writes once it had a
 * session, and WAIT may wait. A watch cannot outlive its connection: an EXEC after the session's
 * connection changed, or of a client whose watches were kept here (this
 * node led when they were set), fails as a changed watched key (a null
 * reply) without reaching the leader. Once it has a session, every command
 * a client forwards goes on it, in order.
 *
 * NOT FORWARDED: reads of READONLY clients (served locally, possibly
 * stale), and every command that neither reads nor writes the keyspace nor
 * changes what the leader keeps for the connection (answered by this node).
 */
#ifndef PROXY_H
#define PROXY_H

#include <stdint.h>

struct server;
struct client;
struct command;
struct resp_arg;
struct transport;
struct cmd_ctx;

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

/* 1 if a follower forwards cmd for c though its flags would run it here:
 * WATCH and WAIT (outside MULTI), UNWATCH of a client that has a session, EXEC of a
 * client whose watch the leader keeps (the dispatcher routes it to the
 * leader with proxy_route()). */
int proxy_takes(const struct server *srv, const struct client *c, const struct command *cmd);

/* c's watches end (DISCARD, EXEC, UNWATCH, RESET: src/server/multi.c's
 * multi_unwatch_all()): the leader's, if it keeps some, end too (an
 * UNWATCH on c's session whose reply is nobody's). */
void proxy_unwatch(struct client *c);

/* c is about to be freed: replies still coming for it are dropped, its
 * session closed. */
void proxy_client_gone(struct server *srv, struct client *c);

/* This node learned that leader (0: none known) leads now: links to
 * another node close (src/servercmd/cmd_sentinel.c's leader watch). */
void proxy_leader_changed(struct server *srv, uint64_t leader);

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
