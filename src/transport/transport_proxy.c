/*
 * src/transport/transport_proxy.c - part of the transport module (src/transport/transport.h): the
 * proxy links that carry the commands a follower forwards
 * (transport_forward()) to the leader and bring their replies back in order,
 * byte for byte (src/transport/transport_link.c): two shared links, one per
 * client protocol, and the sessions, one client's own each.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "base/log.h"
#include "transport/transport.h"
#include "transport/transport_int.h"
#include "raft/raft_assert.h"
#include "base/util.h"

/* One forwarded command (or unit), from transport_forward() to its
 * callback; or one of the link's own commands (internal: HELLO, AUTH...),
 * whose error reply ends the link. */
struct fwd {
    transport_reply_fn *cb; /* NULL once cancelled, and for internal entries */
    void *ud;
    uint64_t cost;
    uint32_t skip;    /* replies dropped before the one delivered (a unit's first ones) */
    uint8_t blocking; /* no forward timeout while it is the oldest pending */
    uint8_t internal;
};

static struct fwd *fwd_at(struct fwd_link *l, size_t i)
{
    return fifo_at(&l->q, i);
}

static void fwd_push(struct fwd_link *l, const struct fwd *f)
{
    *(struct fwd *)fifo_push(&l->q) = *f;
    l->n_internal += f->internal;
    l->bytes += f->cost;
    ASSERT(l->bytes >= f->cost);
}

static struct fwd fwd_pop(struct fwd_link *l)
{
    struct fwd f = *fwd_at(l, 0);
    fifo_pop(&l->q);
    ASSERT(l->n_internal >= f.internal && l->bytes >= f.cost); /* counts never go negative */
    l->n_internal -= f.internal;
    l->bytes -= f.cost;
    return f;
}

/* The forward timeout runs while the oldest pending entry waits for a reply
 * it should get soon: not for a blocking command, which waits as long as
 * the leader makes it. */
static void fwd_rearm(struct fwd_link *l)
{
    struct ev_loop *loop = l->t->loop;
    if (!l->connected) return; /* the connect timeout runs */
    ev_timer_stop(loop, &l->timer);
    if (fifo_len(&l->q) == l->n_failed || fwd_at(l, l->n_failed)->blocking) return;
    ev_timer_set(&l->timer, (double)l->t->fwd.timeout_ms / 1000.0, 0.0);
    ev_timer_start(loop, &l->timer);
}

/* Calls back every failed entry, in order. The state is re-read after each
 * callback, which may forward (appending) or lose the link again. */
static void deliver_failed(struct fwd_link *l)
{
    ev_timer_stop(l->t->loop, &l->deliver);
    while (l->n_failed > 0) {
        struct fwd f = fwd_pop(l);
        l->n_failed--;
        if (f.cb) f.cb(f.ud, NULL, 0);
    }
}

static void deliver_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    deliver_failed(w->data);
}

static const char *link_kind(const struct fwd_link *l)
{
    const struct fwd_links *f = &l->t->fwd;
    return l == &f->by_proto[0] ? "RESP2" : l == &f->by_proto[1] ? "RESP3" : "session";
}

/* Forgets the live connection; every command pending on it fails (delivered
 * from the loop). Closes it unless it is already gone (inside its `lost`
 * callback, which frees it). */
static void fwd_forget(struct fwd_link *l, const char *why, int close_it)
{
    if (!l->link) return;
    size_t lost = fifo_len(&l->q) - l->n_failed;
    if (lost)
        LOG_NOTICE("Proxy link (%s) to leader %" PRIu64 " lost (%s): %zu forwarded commands fail",
                   link_kind(l), l->leader_id, why, lost);
    else
        LOG_VERBOSE("Proxy link (%s) to leader %" PRIu64 " closed (%s)", link_kind(l), l->leader_id,
                    why);
    if (close_it) rlink_close(l->link);
    l->link = NULL;
    l->link_id = 0;
    l->connected = 0;
    l->leader_id = 0;
    l->n_failed = fifo_len(&l->q);
    ev_timer_stop(l->t->loop, &l->timer);
    if (l->n_failed) {
        ev_timer_set(&l->deliver, 0.0, 0.0);
        ev_timer_start(l->t->loop, &l->deliver);
    }
}

static void fwd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fwd_link *l = w->data;
    fwd_forget(l, l->connected ? "no reply within the forward timeout" : "connect timeout", 1);
}

static void link_connected(void *ud)
{
    struct fwd_link *l = ud;
    l->connected = 1;
    fwd_rearm(l);
}

static void link_lost(void *ud, const char *why)
{
    fwd_forget(ud, why, 0);
}

/* The reply to one of the link's own commands: an error ends the link. */
static void internal_reply(struct fwd_link *l, const char *resp, size_t len)
{
    if (resp[0] != '-' && resp[0] != '!') return;
    int n = (int)(len > 200 ? 200 : len - 2);
    LOG_WARNING("Proxy link to leader %" PRIu64 ": handshake refused: %.*s", l->leader_id, n,
                resp + 1);
    fwd_forget(l, "handshake refused", 1);
}

static void link_frame(void *ud, const char *resp, size_t len)
{
    struct fwd_link *l = ud;
    deliver_failed(l);    /* earlier commands first: order holds across links */
    if (!l->link) return; /* a callback lost this link: this reply's command failed too */
    if (resp[0] == '>') { /* no push is asked for on a proxy link */
        LOG_VERBOSE("Proxy link to leader %" PRIu64 ": push message dropped", l->leader_id);
        return;
    }
    if (fifo_len(&l->q) == 0) {
        fwd_forget(l, "a reply to no command", 1);
        return;
    }
    struct fwd *head = fwd_at(l, 0);
    if (head->skip) { /* MULTI's +OK, a queued command's +QUEUED */
        head->skip--;
        return;
    }
    struct fwd f = fwd_pop(l);
    fwd_rearm(l);
    if (f.internal)
        internal_reply(l, resp, len);
    else if (f.cb)
        f.cb(f.ud, resp, len);
}

static const struct rlink_ops link_ops = {
    .connected = link_connected, .frame = link_frame, .lost = link_lost};

/* Sends one of the link's own commands, whose reply is checked, not
 * delivered. */
static void send_internal(struct fwd_link *l, int argc, const struct resp_arg *argv)
{
    rlink_send_argv(l->link, argc, argv);
    struct fwd f = {.internal = 1};
    fwd_push(l, &f);
}

/* Starts a connection to peer p. RAFT.AUTH goes first when raft-secret is
 * set: the leader then knows the link for a peer's (not one of its
 * clients, not held to maxclients, runs as no ACL user: the follower
 * checked its client's command); without it, AUTH when a password is set. */
static int fwd_open(struct fwd_link *l, const struct peer *p)
{
    struct transport *t = l->t;
    l->link = rlink_open(t->loop, p->host, p->port, t->tls, &link_ops, l);
    if (!l->link) {
        LOG_VERBOSE("Proxy link to leader %" PRIu64 " (%s:%d): cannot connect", p->id, p->host,
                    p->port);
        return -1;
    }
    l->link_id = ++t->fwd.last_link_id;
    l->leader_id = p->id;
    l->connected = 0;
    l->proto = 2;
    l->db = 0;
    if (t->secret_len > 0) { /* a peer: no ACL user restricts it there */
        struct resp_arg argv[3] = {
            {"RAFT.AUTH", 9}, {t->secret, t->secret_len}, {t->self_str, strlen(t->self_str)}};
        send_internal(l, 3, argv);
    } else if (t->fwd.password_len) {
        struct resp_arg argv[2] = {{"AUTH", 4}, {t->fwd.password, t->fwd.password_len}};
        send_internal(l, 2, argv);
    }
    ev_timer_set(&l->timer, (double)t->lim.connect_timeout_ms / 1000.0, 0.0);
    ev_timer_start(t->loop, &l->timer);
    return 0;
}

/* The leader's side of l made ready for a command of ctx: HELLO when its
 * protocol differs (a session follows its client's HELLO; its reply is
 * the link's own), RAFTCACHE.SELECT when its database does (no reply). */
static void fwd_context(struct fwd_link *l, const struct transport_fwd_ctx *ctx)
{
    if (ctx->proto != l->proto) {
        struct resp_arg hello[2] = {{"HELLO", 5}, {ctx->proto == 3 ? "3" : "2", 1}};
        send_internal(l, 2, hello);
        l->proto = ctx->proto;
    }
    if (ctx->db != l->db) {
        char n[16];
        struct resp_arg sel[2] = {{"RAFTCACHE.SELECT", 16},
                                  {n, (size_t)snprintf(n, sizeof n, "%d", ctx->db)}};
        rlink_send_argv(l->link, 2, sel);
        l->db = ctx->db;
    }
}

static struct fwd_link *link_for(struct transport *t, const struct transport_fwd_ctx *ctx)
{
    return ctx->session ? &ctx->session->l : &t->fwd.by_proto[ctx->proto - 2];
}

int transport_forward(struct transport *t, uint64_t leader_id, const struct transport_fwd_ctx *ctx,
                      const struct transport_cmd *cmds, int ncmds, transport_reply_fn *cb, void *ud)
{
    if (ncmds < 1 || !cb || (ctx->proto != 2 && ctx->proto != 3)) return TRANSPORT_EINVAL;
    for (int i = 0; i < ncmds; i++)
        if (cmds[i].argc < 1) return TRANSPORT_EINVAL;
    struct fwd_link *l = link_for(t, ctx);
    const struct peer *p = transport_find_peer(t, leader_id, NULL);
    if (!p) return TRANSPORT_ENOPEER;
    uint64_t cost = TRANSPORT_CMD_OVERHEAD_BYTES * (uint64_t)ncmds;
    for (int i = 0; i < ncmds; i++)
        for (int j = 0; j < cmds[i].argc; j++)
            cost += cmds[i].argv[j].len;
    if (transport_queue_full(&t->lim, fifo_len(&l->q) - l->n_internal, l->bytes, cost))
        return TRANSPORT_EFULL;
    if (l->link && l->leader_id != leader_id) fwd_forget(l, "the leader changed", 1);
    if (!l->link && fwd_open(l, p) != 0) return TRANSPORT_ENOTCONN;
    fwd_context(l, ctx);
    for (int i = 0; i < ncmds; i++)
        rlink_send_argv(l->link, cmds[i].argc, cmds[i].argv);
    if (ncmds > 1) l->db = -1; /* a SELECT among them moves the leader's side */
    struct fwd f = {.cb = cb,
                    .ud = ud,
                    .cost = cost,
                    .skip = (uint32_t)ncmds - 1,
                    .blocking = ctx->blocking != 0};
    fwd_push(l, &f);
    if (!ev_is_active(&l->timer)) fwd_rearm(l); /* else it runs for an older one */
    return TRANSPORT_OK;
}

static void cancel_ud(struct fwd_link *l, const void *ud)
{
    for (size_t i = 0; i < fifo_len(&l->q); i++) {
        struct fwd *f = fwd_at(l, i);
        if (f->ud == ud) f->cb = NULL;
    }
}

void transport_forward_cancel_ud(struct transport *t, const void *ud)
{
    cancel_ud(&t->fwd.by_proto[0], ud);
    cancel_ud(&t->fwd.by_proto[1], ud);
}

uint32_t transport_forward_pending(const struct transport *t)
{
    const struct fwd_link *sh = t->fwd.by_proto;
    size_t n = fifo_len(&sh[0].q) - sh[0].n_internal + fifo_len(&sh[1].q) - sh[1].n_internal;
    for (const struct fwd_link *s = t->fwd.sessions; s; s = s->next_s)
        n += fifo_len(&s->q) - s->n_internal;
    return (uint32_t)n;
}

void transport_set_forward(struct transport *t, const char *password, size_t password_len,
                           uint32_t timeout_ms)
{
    struct fwd_links *f = &t->fwd;
    ASSERT(timeout_ms > 0 && (password || password_len == 0));
    f->timeout_ms = timeout_ms;
    if (password_len == f->password_len &&
        memcmp(password ? password : "", f->password, password_len) == 0)
        return;
    explicit_bzero(f->password, f->password_len);
    free(f->password);
    f->password = util_xcalloc(1, password_len + 1);
    if (password_len) memcpy(f->password, password, password_len);
    f->password_len = password_len;
}

static void link_init(struct transport *t, struct fwd_link *l)
{
    l->t = t;
    fifo_init(&l->q, sizeof(struct fwd));
    l->proto = 2;
    ev_init(&l->timer, fwd_timer_cb);
    l->timer.data = l;
    ev_init(&l->deliver, deliver_cb);
    l->deliver.data = l;
}

/* The link goes, and with it every callback still due. */
static void link_release(struct fwd_link *l)
{
    ev_timer_stop(l->t->loop, &l->timer);
    ev_timer_stop(l->t->loop, &l->deliver);
    rlink_close(l->link);
    l->link = NULL;
    fifo_free(&l->q);
}

struct transport_session *transport_session_new(struct transport *t)
{
    struct transport_session *s = util_xcalloc(1, sizeof *s);
    link_init(t, &s->l);
    s->l.next_s = t->fwd.sessions;
    if (t->fwd.sessions) t->fwd.sessions->prev_s = &s->l;
    t->fwd.sessions = &s->l;
    t->fwd.n_sessions++;
    return s;
}

void transport_session_free(struct transport_session *s)
{
    if (!s) return;
    struct fwd_link *l = &s->l;
    struct fwd_links *f = &l->t->fwd;
    if (l->prev_s)
        l->prev_s->next_s = l->next_s;
    else
        f->sessions = l->next_s;
    if (l->next_s) l->next_s->prev_s = l->prev_s;
    ASSERT(f->n_sessions > 0);
    f->n_sessions--;
    link_release(l);
    free(s);
}

uint64_t transport_session_link(const struct transport_session *s)
{
    return s ? s->l.link_id : 0;
}

/* Closes every link, shared or session, that goes to id (to_id) or to
 * another node than id (!to_id). */
static void forget_links(struct transport *t, uint64_t id, int to_id, const char *why)
{
    struct fwd_link *shared[2] = {&t->fwd.by_proto[0], &t->fwd.by_proto[1]};
    for (int p = 0; p < 2; p++)
        if (shared[p]->link && (shared[p]->leader_id == id) == to_id) fwd_forget(shared[p], why, 1);
    for (struct fwd_link *l = t->fwd.sessions; l; l = l->next_s)
        if (l->link && (l->leader_id == id) == to_id) fwd_forget(l, why, 1);
}

void transport_forward_retarget(struct transport *t, uint64_t leader_id)
{
    forget_links(t, leader_id, 0, "a new leader is known");
}

void transport_fwd_init(struct transport *t)
{
    link_init(t, &t->fwd.by_proto[0]);
    link_init(t, &t->fwd.by_proto[1]);
    t->fwd.password = util_xcalloc(1, 1);
    t->fwd.timeout_ms = t->lim.reply_timeout_ms ? t->lim.reply_timeout_ms : 15000;
}

/* Shutdown: pending forwards are dropped without callbacks; sessions are
 * their clients' and were freed with them. */
void transport_fwd_free(struct transport *t)
{
    ASSERT(t->fwd.n_sessions == 0);
    link_release(&t->fwd.by_proto[0]);
    link_release(&t->fwd.by_proto[1]);
    explicit_bzero(t->fwd.password, t->fwd.password_len);
    free(t->fwd.password);
}

void transport_fwd_peer_changed(struct transport *t, uint64_t id)
{
    forget_links(t, id, 1, "the leader's address changed");
}
