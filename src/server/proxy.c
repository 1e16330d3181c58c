/*
 * src/server/proxy.c - what a follower forwards to the leader and how the replies
 * reach their clients in order (see proxy.h). The link itself is the
 * transport's.
 */
#include <stdlib.h>

#include "raft/raft_assert.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "base/log.h"
#include "node/node.h"
#include "server/proxy.h"
#include "server/server.h"
#include "transport/transport.h"
#include "node/waiters.h"

#define ARGS_ON_STACK 16
/* The leader answers a write it cannot commit with -TIMEOUT after
 * raft-request-timeout-ms; the link waits this much longer for it. */
#define LINK_SLACK_MS 2000

/* A forwarded command's reply (or failure) arrived: relay it, then wake the
 * client (src/node/waiters.h) to run what it held back. Runs from the loop
 * (transport.h), never inside the client's own command processing. */
static void relay(struct client *c, const char *resp, size_t len, const char *fail, int muted)
{
    if (!muted) { /* else CLIENT REPLY OFF/SKIP held when the command was forwarded */
        if (resp)
            resp_add_raw(&c->out, resp, len);
        else
            resp_add_error(&c->out, fail);
    }
    ASSERT(c->pending_proxied > 0); /* counted when it was forwarded */
    c->pending_proxied--;
    waiters_wake(&c->srv->waiters, c);
}

/* One callback per kind of command and CLIENT REPLY decision: the link
 * holds only the callback and the client, so the decision taken when the
 * command was forwarded travels as the choice of callback. */
static void write_replied(void *ud, const char *resp, size_t len)
{
    relay(ud, resp, len, WAITERS_WRITE_TIMEOUT, 0);
}

static void read_replied(void *ud, const char *resp, size_t len)
{
    relay(ud, resp, len, WAITERS_READ_TIMEOUT, 0);
}

static void write_replied_muted(void *ud, const char *resp, size_t len)
{
    relay(ud, resp, len, WAITERS_WRITE_TIMEOUT, 1);
}

static void read_replied_muted(void *ud, const char *resp, size_t len)
{
    relay(ud, resp, len, WAITERS_READ_TIMEOUT, 1);
}

int proxy_may_follow(const struct client *c, const struct command *cmd)
{
    if (cmd->flags & CMD_BLOCKING) return 0; /* not forwarded: it waits, then -MOVED */
    if (cmd->flags & CMD_WRITE) return 1;
    return (cmd->flags & CMD_READONLY) && !(c->flags & CLIENT_READONLY);
}

static int forward(struct server *srv, struct transport *tr, uint64_t leader, struct client *c,
                   const struct command *cmd, int argc, const struct resp_arg *argv)
{
    const char *av_stack[ARGS_ON_STACK];
    size_t lens_stack[ARGS_ON_STACK];
    const char **av = av_stack;
    size_t *lens = lens_stack;
    if (argc > ARGS_ON_STACK) {
        av = malloc((size_t)argc * sizeof *av);
        lens = malloc((size_t)argc * sizeof *lens);
        if (!av || !lens) abort();
    }
    for (int i = 0; i < argc; i++) {
        av[i] = argv[i].ptr;
        lens[i] = argv[i].len;
    }
    long long ms = srv->cfg.raft_request_timeout_ms + LINK_SLACK_MS;
    transport_set_forward(tr, srv->cfg.requirepass.ptr, srv->cfg.requirepass.len,
                          ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
    int w = (cmd->flags & CMD_WRITE) != 0;
    transport_reply_fn *cb = c->reply_muted ? (w ? write_replied_muted : read_replied_muted)
                                            : (w ? write_replied : read_replied);
    int rc = transport_forward(tr, leader, c->db, argc, av, lens, cb, c);
    if (av != av_stack) {
        free(av);
        free(lens);
    }
    return rc;
}

static int is_read(const struct command *cmd)
{
    return (cmd->flags & CMD_READONLY) && !(cmd->flags & CMD_WRITE);
}

/* Forwarded whatever raft-follower-proxy says (proxy.h, KEYSPACE READS). */
static int leader_read(const struct client *c, const struct command *cmd)
{
    return is_read(cmd) && (cmd_is_keyless(cmd) || (c->flags & CLIENT_LEADER_READS));
}

int proxy_route(struct server *srv, struct transport *tr, uint64_t leader, struct client *c,
                const struct command *cmd, int argc, const struct resp_arg *argv)
{
    int on = (srv->cfg.raft_follower_proxy || leader_read(c, cmd)) && leader &&
             !(cmd->flags & (CMD_EXEC | CMD_BLOCKING));
    if (!on) return c->pending_proxied ? NODE_WAIT : PROXY_DECLINED;
    int rc = forward(srv, tr, leader, c, cmd, argc, argv);
    switch (rc) {
    case TRANSPORT_OK:
        c->pending_proxied++;
        if (is_read(cmd) && cmd_is_keyless(cmd)) c->flags |= CLIENT_LEADER_READS;
        return NODE_REPLIED;
    case TRANSPORT_EFULL:
        if (c->pending_proxied) return NODE_WAIT; /* retried when its own replies come */
        resp_add_error(&c->out, "TRYAGAIN too many commands in flight to the leader");
        return NODE_REPLIED;
    case TRANSPORT_ENOTCONN:
        if (c->pending_proxied) return NODE_WAIT;
        resp_add_error(&c->out, "TRYAGAIN the leader is not reachable");
        return NODE_REPLIED;
    default: /* the leader has no known address: as without the proxy */
        return c->pending_proxied ? NODE_WAIT : PROXY_DECLINED;
    }
}

void proxy_client_gone(struct server *srv, struct client *c)
{
    transport_forward_cancel_ud(node_links(srv->node), c);
}

void proxy_select(struct cmd_ctx *c)
{
    ASSERT(c->client && c->selected); /* a connection's own command */
    int db = cmd_db_index(&c->argv[1], c->dbs->n);
    if (db < 0) {
        LOG_WARNING("A proxy link selected database '%.*s', but this node has %d (databases): "
                    "closing it; every node of a cluster needs the same databases",
                    (int)(c->argv[1].len > 32 ? 32 : c->argv[1].len), c->argv[1].ptr, c->dbs->n);
        client_close_asap(c->client);
        return;
    }
    *c->selected = db;
}
