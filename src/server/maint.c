/*
 * src/server/maint.c - maintenance notifications (see maint.h).
 */
#include "server/maint.h"

#include <stdio.h>
#include <string.h>

#include "cmd/client.h"
#include "node/node.h"
#include "server/server.h"

/* Notifications are RESP3 pushes: a client back on RESP2 (HELLO 2) hears
 * none (its commands are still forwarded). */
static int hears(const struct client *c)
{
    return c->out.proto >= 3;
}

/* The one shard the notifications name. */
static const char SHARD[] = "0";

/* Seconds a client is told the move or the handover takes at most. */
static long long handover_seconds(const struct server *srv)
{
    long long ms = SERVER_HANDOVER_TIMEOUTS * srv->cfg.raft_election_timeout_ms;
    return ms / 1000 + 1;
}

static void push_head(struct server *srv, struct client *c, const char *kind, long n)
{
    struct resp_out *o = client_push_out(c);
    resp_add_push_len(o, n);
    resp_add_bulk_cstr(o, kind);
    resp_add_int(o, (long long)++srv->maint_seq);
}

static void push_shards(struct client *c)
{
    struct resp_out *o = client_push_out(c);
    resp_add_array_len(o, 1);
    resp_add_bulk(o, SHARD, sizeof SHARD - 1);
    client_mark_pending(c);
}

/* 1 if c is to be moved to the leader: it asked (and hears pushes), it
 * does not read here on purpose, and this node, not leading, would not
 * keep it. */
static int must_move(const struct server *srv, const struct client *c)
{
    if (!(c->maint & MAINT_ON) || (c->flags & (CLIENT_READONLY | CLIENT_NOT_A_CLIENT)) || !hears(c))
        return 0;
    if (node_is_leader(srv->node)) return 0;
    return !srv->cfg.raft_follower_proxy || srv->shutdown_requested != SERVER_SHUTDOWN_NONE;
}

/* Tells c to go to the leader at host:port, once. */
static void move(struct server *srv, struct client *c, const char *host, int port)
{
    if ((c->maint & MAINT_MOVED) || !hears(c)) return;
    c->maint |= MAINT_MOVED;
    push_head(srv, c, "MOVING", 4);
    struct resp_out *o = client_push_out(c);
    resp_add_int(o, handover_seconds(srv));
    if (c->maint & MAINT_NO_ENDPOINT) {
        resp_add_null(o);
    } else {
        char addr[CONFIG_HOST_MAX + 16];
        int n = snprintf(addr, sizeof addr, "%s:%d", host, port);
        resp_add_bulk(o, addr, (size_t)n);
    }
    client_mark_pending(c);
}

/* Moves every client that must go, if the leader's address is known. */
static void move_all(struct server *srv)
{
    uint64_t leader = node_leader(srv->node);
    char host[CONFIG_HOST_MAX];
    int port;
    if (!leader || node_member_addr(srv->node, leader, host, sizeof host, &port) != 0) return;
    for (struct client *c = srv->clients; c; c = c->next)
        if (must_move(srv, c)) move(srv, c, host, port);
}

void maint_client_on(struct server *srv, struct client *c)
{
    c->maint &= (uint8_t)~MAINT_MOVED;
    uint64_t leader = node_leader(srv->node);
    char host[CONFIG_HOST_MAX];
    int port;
    if (must_move(srv, c) && leader &&
        node_member_addr(srv->node, leader, host, sizeof host, &port) == 0)
        move(srv, c, host, port);
}

void maint_handover_begins(struct server *srv)
{
    for (struct client *c = srv->clients; c; c = c->next) {
        if (!(c->maint & MAINT_ON) || (c->flags & CLIENT_NOT_A_CLIENT) || !hears(c)) continue;
        c->maint |= MAINT_FAILING;
        push_head(srv, c, "FAILING_OVER", 4);
        resp_add_int(client_push_out(c), handover_seconds(srv));
        push_shards(c);
    }
}

void maint_leader_changed(struct server *srv)
{
    /* a client moved before is told again: the leader it went to is gone */
    for (struct client *c = srv->clients; c; c = c->next)
        c->maint &= (uint8_t)~MAINT_MOVED;
    move_all(srv);
    if (!node_leader(srv->node)) return; /* the handover is not over yet */
    for (struct client *c = srv->clients; c; c = c->next) {
        if (!(c->maint & MAINT_FAILING)) continue;
        c->maint &= (uint8_t)~MAINT_FAILING;
        if (!hears(c)) continue;
        push_head(srv, c, "FAILED_OVER", 3);
        push_shards(c);
    }
}

void maint_shutdown_begins(struct server *srv)
{
    move_all(srv);
}

int maint_clients_remain(struct server *srv)
{
    for (struct client *c = srv->clients; c; c = c->next)
        if (must_move(srv, c)) return 1;
    return 0;
}
