/*
 * src/server/proxy.c - what a follower forwards to the leader and how the replies
 * reach their clients in order (see proxy.h). The links themselves are the
 * transport's.
 */
#include <stdlib.h>

#include "raft/raft_assert.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "base/log.h"
#include "base/util.h"
#include "node/node.h"
#include "server/aclstate.h"
#include "server/proxy.h"
#include "server/maint.h"
#include "server/server.h"
#include "server/tracking.h"
#include "transport/transport.h"
#include "node/waiters.h"

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
    c->proxied_relayed++;
    if (c->tracking_state) tracking_release(c->srv, c); /* what waited for this reply */
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

/* The reply to an UNWATCH the client did not send (src/server/multi.h:
 * DISCARD, an EXEC refused here): nobody's. */
static void unwatch_replied(void *ud, const char *resp, size_t len)
{
    (void)ud;
    (void)resp;
    (void)len;
}

int proxy_may_follow(const struct client *c, const struct command *cmd)
{
    if (cmd->flags & CMD_BLOCKING) return 0; /* it goes once the others are in */
    if (cmd->flags & CMD_WRITE) return 1;
    return (cmd->flags & CMD_READONLY) && !(c->flags & CLIENT_READONLY);
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

/* EXEC of c's queue (CLIENT_MULTI). */
static int is_exec(const struct client *c, const struct command *cmd)
{
    return (cmd->flags & CMD_EXEC) && (c->flags & CLIENT_MULTI);
}

/* Forwarded only on the client's own link (proxy.h, SESSIONS). */
static int needs_session(const struct client *c, const struct command *cmd)
{
    return (cmd->flags & CMD_BLOCKING) || cmd->proxy == CMD_PROXY_WATCH ||
           cmd->proxy == CMD_PROXY_OWN_LINK ||
           (cmd->proxy == CMD_PROXY_UNWATCH && c->proxy_session);
}

/* The follower proxy is on for c: raft-follower-proxy, or c asked for
 * maintenance notifications (it is moved, never redirected: src/server/maint.h). */
static int proxy_on(const struct server *srv, const struct client *c)
{
    return srv->cfg.raft_follower_proxy || (c->maint & MAINT_ON);
}

int proxy_takes(const struct server *srv, const struct client *c, const struct command *cmd)
{
    if (!proxy_on(srv, c)) return 0;
    if (is_exec(c, cmd))
        return c->proxy_watch_link && !(c->flags & (CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS));
    if (c->flags & CLIENT_MULTI) return 0; /* WATCH inside MULTI: refused here */
    return !(cmd->flags & CMD_BLOCKING) && needs_session(c, cmd); /* blocking: a write's route */
}

/* The database c is in after its queue runs: where its last SELECT that
 * will succeed moves it (src/sm/sm.c logs the same moves). */
static int db_after_queue(const struct client *c)
{
    int db = c->db;
    for (int i = 0; i < c->mstate.count; i++) {
        const struct multi_cmd *q = &c->mstate.cmds[i];
        const struct command *parent;
        db = cmd_select_target(cmd_lookup(q->argv, q->argc, &parent), q->argc, q->argv, db,
                               c->srv->dbs.n);
    }
    return db;
}

/* c's EXEC as one unit: MULTI, the queued commands, EXEC; *n of them in a
 * new array (the caller frees it). */
static struct transport_cmd *exec_unit(const struct client *c, int argc,
                                       const struct resp_arg *argv, int *n)
{
    static const struct resp_arg multi = {"MULTI", 5};
    *n = c->mstate.count + 2;
    struct transport_cmd *u = util_xmalloc((size_t)*n * sizeof *u);
    u[0] = (struct transport_cmd){1, &multi};
    for (int i = 0; i < c->mstate.count; i++)
        u[i + 1] = (struct transport_cmd){c->mstate.cmds[i].argc, c->mstate.cmds[i].argv};
    u[*n - 1] = (struct transport_cmd){argc, argv};
    return u;
}

/* The callback for c's command: its kind (a failure's text) and its CLIENT
 * REPLY decision. */
static transport_reply_fn *callback_for(const struct client *c, const struct command *cmd, int exec)
{
    uint32_t flags = exec ? c->mstate.cmd_flags : cmd->flags;
    int w = (flags & CMD_WRITE) != 0;
    if (c->reply_muted) return w ? write_replied_muted : read_replied_muted;
    return w ? write_replied : read_replied;
}

static int forward(struct server *srv, struct transport *tr, uint64_t leader, struct client *c,
                   const struct command *cmd, int argc, const struct resp_arg *argv)
{
    long long ms = srv->cfg.raft_request_timeout_ms + LINK_SLACK_MS;
    transport_set_forward(tr, srv->cfg.requirepass.ptr, srv->cfg.requirepass.len,
                          ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
    if (needs_session(c, cmd) && !c->proxy_session) c->proxy_session = transport_session_new(tr);
    struct transport_fwd_ctx ctx = {.session = c->proxy_session,
                                    .db = c->db,
                                    .proto = c->out.proto,
                                    .blocking = (cmd->flags & CMD_BLOCKING) ||
                                                cmd->proxy == CMD_PROXY_OWN_LINK};
    int exec = is_exec(c, cmd);
    transport_reply_fn *cb = callback_for(c, cmd, exec);
    if (!exec) {
        /* a restricted ACL user's script: the leader checks it as the user */
        struct resp_arg *as = aclstate_as_script(c, cmd, &argc, argv);
        struct transport_cmd one = {argc, as ? as : argv};
        int rc = transport_forward(tr, leader, &ctx, &one, 1, cb, c);
        free(as);
        return rc;
    }
    int n;
    struct transport_cmd *unit = exec_unit(c, argc, argv, &n);
    int rc = transport_forward(tr, leader, &ctx, unit, n, cb, c);
    free(unit);
    return rc;
}

/* What the leader knows of c once cmd went: the watch its WATCH set, its
 * UNWATCH or EXEC cleared, the database its transaction's SELECTs moved it
 * to (set now: what it sends next goes there too). */
static void forwarded(struct client *c, const struct command *cmd)
{
    if (cmd->proxy == CMD_PROXY_WATCH)
        c->proxy_watch_link = transport_session_link(c->proxy_session);
    if (cmd->proxy == CMD_PROXY_UNWATCH) c->proxy_watch_link = 0;
    if (is_exec(c, cmd)) {
        c->proxy_watch_link = 0; /* EXEC unwatches, as in Redis */
        c->db = db_after_queue(c);
    }
    c->pending_proxied++;
    if (is_read(cmd) && cmd_is_keyless(cmd)) c->flags |= CLIENT_LEADER_READS;
}

/* EXEC cannot keep the promise of c's watches: those kept here (this node
 * led when they were set) the leader never saw, and a watch the leader
 * kept went with the session connection it was on. Fails as a watched key
 * that changed (a null reply), which the client retries. */
static int watch_lost(const struct client *c)
{
    if (c->watched_count) return 1;
    return c->proxy_watch_link && c->proxy_watch_link != transport_session_link(c->proxy_session);
}

int proxy_route(struct server *srv, struct transport *tr, uint64_t leader, struct client *c,
                const struct command *cmd, int argc, const struct resp_arg *argv)
{
    int stateful = is_exec(c, cmd) || needs_session(c, cmd);
    int on = leader && (proxy_on(srv, c) || (!stateful && leader_read(c, cmd)));
    if (!on) return c->pending_proxied ? NODE_WAIT : PROXY_DECLINED;
    if (c->pending_proxied && stateful) return NODE_WAIT; /* its reply follows theirs */
    if (is_exec(c, cmd) && watch_lost(c)) {
        resp_add_null_array(&c->out);
        return NODE_REPLIED; /* the transaction and the watches end (src/server/dispatch.c) */
    }
    int rc = forward(srv, tr, leader, c, cmd, argc, argv);
    switch (rc) {
    case TRANSPORT_OK:
        forwarded(c, cmd);
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

void proxy_unwatch(struct client *c)
{
    if (!c->proxy_watch_link) return;
    uint64_t link = c->proxy_watch_link;
    c->proxy_watch_link = 0;
    if (link != transport_session_link(c->proxy_session)) return; /* gone with its connection */
    static const struct resp_arg unwatch = {"UNWATCH", 7};
    struct transport_cmd one = {1, &unwatch};
    struct transport_fwd_ctx ctx = {
        .session = c->proxy_session, .db = c->db, .proto = c->out.proto};
    struct transport *tr = node_links(c->srv->node);
    /* Not sent (the queue is full): the watch stays, on a connection only
     * this client uses, and ends with its next EXEC or with it. */
    transport_forward(tr, node_leader(c->srv->node), &ctx, &one, 1, unwatch_replied, NULL);
}

void proxy_client_gone(struct server *srv, struct client *c)
{
    transport_forward_cancel_ud(node_links(srv->node), c);
    transport_session_free(c->proxy_session);
    c->proxy_session = NULL;
    c->proxy_watch_link = 0;
}

void proxy_leader_changed(struct server *srv, uint64_t leader)
{
    if (leader) transport_forward_retarget(node_links(srv->node), leader);
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
