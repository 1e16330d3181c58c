/*
 * tests/nodesim/fake_transport.c - src/transport/transport.h over the simulated
 * network (world.h). A peer link comes up the way RAFT.AUTH brings it up:
 * the receiving node judges the sender's incarnation (node_peer_auth) and
 * answers with its own, which the sender checks against what it expects;
 * a refused sender says "recovering" on its next tries, as the real link
 * does after -LOSTSTATE. Like the real transport, a node keeps trying to
 * link up with every member, messages or not (w_transport_connect, every
 * step), so members learn each other's incarnations from the start.
 * Messages then travel through the world's queue.
 * The follower proxy and one-shot calls (RAFT.CLUSTER JOIN) are not
 * simulated: they report TRANSPORT_ENOTCONN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "base/log.h"
#include "node/node.h"
#include "server/server.h"
#include "transport/transport.h"
#include "world.h"

#define RETRY_US 100000 /* the back-off between link attempts */

struct peer {
    bool present;
    bool up;
    uint64_t up_life; /* the peer's life the link was authenticated with */
    bool say_recovering;
    uint64_t expected;
    int64_t retry_at_us;
    struct transport_peer_info info;
};

struct transport {
    uint64_t self;
    char self_host[64]; /* what RAFT.AUTH tells the receiver (transport_set_self_addr) */
    int self_port;
    uint64_t inc;
    int recovering;
    uint64_t lost_state_refusals;
    struct peer peers[W_NODES_MAX + 1];
};

struct transport *transport_create(struct ev_loop *loop, uint64_t self_id, const char *secret,
                                   size_t secret_len, const struct transport_limits *lim)
{
    (void)loop;
    (void)secret;
    (void)secret_len;
    (void)lim;
    struct transport *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->self = self_id;
    /* a node's first transport carries Raft; its second, the pub/sub links
     * (not simulated: transport_send_command), is never the world's */
    if (self_id <= W_NODES_MAX && !W->tr[self_id]) W->tr[self_id] = t;
    return t;
}

void transport_free(struct transport *t)
{
    if (!t) return;
    if (t->self <= W_NODES_MAX && W->tr[t->self] == t) W->tr[t->self] = NULL;
    free(t);
}

void transport_set_label(struct transport *t, const char *label)
{
    (void)t, (void)label;
}

/* The world's links carry no bytes: nothing to encrypt (the simulated nodes
 * run without tls-cluster). */
void transport_set_tls(struct transport *t, struct tls_ctx *ctx)
{
    (void)t;
    if (ctx) abort();
}

void transport_set_self_addr(struct transport *t, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof t->self_host) return;
    snprintf(t->self_host, sizeof t->self_host, "%.*s", (int)(colon - addr), addr);
    t->self_port = atoi(colon + 1);
}

uint64_t transport_lost_state_refusals(const struct transport *t)
{
    return t->lost_state_refusals;
}

void transport_set_incarnation(struct transport *t, uint64_t inc)
{
    t->inc = inc;
}

void transport_set_recovering(struct transport *t, int on)
{
    t->recovering = on;
}

static struct peer *peer_of(struct transport *t, uint64_t id)
{
    return id && id <= W_NODES_MAX && id != t->self && t->peers[id].present ? &t->peers[id] : NULL;
}

int transport_expect_incarnation(struct transport *t, uint64_t id, uint64_t inc)
{
    struct peer *p = peer_of(t, id);
    if (!p) return TRANSPORT_ENOPEER;
    p->expected = inc;
    if (p->up && inc && p->info.incarnation && p->info.incarnation != inc &&
        !p->info.peer_recovering) {
        p->up = false; /* it presented another one: dropped */
        p->info.inc_mismatches++;
        p->info.incarnation = 0;
        p->info.peer_recovering = 0;
    }
    return 0;
}

int transport_set_peer(struct transport *t, uint64_t id, const char *host, int port)
{
    if (id == 0 || id > W_NODES_MAX || id == t->self) return TRANSPORT_EINVAL;
    struct peer *p = &t->peers[id];
    if (!p->present) {
        memset(p, 0, sizeof *p);
        p->present = true;
        p->info.id = id;
        p->info.state = TRANSPORT_DISCONNECTED;
    }
    snprintf(p->info.host, sizeof p->info.host, "%s", host);
    p->info.port = port;
    return 0;
}

void transport_remove_peer(struct transport *t, uint64_t id)
{
    if (id && id <= W_NODES_MAX) memset(&t->peers[id], 0, sizeof t->peers[id]);
}

/* The link to p is up, or is brought up now (RAFT.AUTH and its answer). */
static bool link_up(struct transport *t, uint64_t id, struct peer *p)
{
    if (p->up && p->up_life == W->life[id] && W->srv[id]) return true;
    p->up = false;
    p->info.state = TRANSPORT_DISCONNECTED;
    p->info.incarnation = 0; /* as the real link: what it presented goes with it */
    p->info.peer_recovering = 0;
    if (W->now_us < p->retry_at_us || !w_reachable(W, t->self, id) || !W->tr[id]) return false;
    p->retry_at_us = W->now_us + RETRY_US;
    char err[256];
    bool recovering = t->recovering || p->say_recovering;
    log_set_source((long)id); /* the receiver judges */
    int refused = node_peer_auth(W->srv[id]->node, t->self, t->inc, recovering, err, sizeof err);
    log_set_source((long)t->self);
    if (getenv("NODESIM_TRACE_AUTH"))
        printf("[%6lld] auth %llu -> %llu inc %llu%s: %s\n", (long long)(W->now_us / 1000),
               (unsigned long long)t->self, (unsigned long long)id, (unsigned long long)t->inc,
               recovering ? " recovering" : "", refused ? "refused" : "ok");
    if (refused) {
        p->info.errors++;
        p->info.lost_state_refusals++;
        t->lost_state_refusals++;
        p->info.refusing_lost_state = 1;
        p->say_recovering = true;
        return false;
    }
    if (t->self_host[0]) { /* as cmd_raft_auth: the receiver learns where to answer */
        log_set_source((long)id);
        node_learn_peer(W->srv[id]->node, t->self, t->self_host, t->self_port);
        log_set_source((long)t->self);
    }
    const struct transport *them = W->tr[id];
    p->info.refusing_lost_state = 0;
    p->say_recovering = false;
    p->info.incarnation = them->inc;
    p->info.peer_recovering = them->recovering;
    if (p->expected && them->inc != p->expected && !them->recovering) {
        if (getenv("NODESIM_TRACE_AUTH"))
            printf("[%6lld] link %llu -> %llu dropped: it presents %llu, %llu expected\n",
                   (long long)(W->now_us / 1000), (unsigned long long)t->self,
                   (unsigned long long)id, (unsigned long long)them->inc,
                   (unsigned long long)p->expected);
        p->info.inc_mismatches++;
        p->info.incarnation = 0;
        p->info.peer_recovering = 0;
        return false;
    }
    p->up = true;
    p->up_life = W->life[id];
    p->info.state = TRANSPORT_CONNECTED;
    p->info.connects++;
    p->info.last_conn_ms = W->now_us / 1000;
    return true;
}

void w_transport_connect(struct transport *t)
{
    for (uint64_t id = 1; id <= W_NODES_MAX; id++) {
        struct peer *p = peer_of(t, id);
        if (p) link_up(t, id, p);
    }
}

static int send_kind(struct transport *t, uint64_t to, enum w_msg_kind kind, const void *data,
                     size_t len)
{
    struct peer *p = peer_of(t, to);
    if (!p) return TRANSPORT_ENOPEER;
    if (!link_up(t, to, p)) {
        p->info.dropped++;
        return TRANSPORT_ENOTCONN;
    }
    p->info.sent++;
    w_send(W, t->self, to, kind, data, len);
    return TRANSPORT_OK;
}

int transport_send_command(struct transport *t, uint64_t to, int argc, const char **argv,
                           const size_t *lens)
{
    (void)t, (void)to, (void)argc, (void)argv, (void)lens;
    return TRANSPORT_OK; /* pub/sub messages between nodes: not simulated */
}

int transport_send(struct transport *t, uint64_t to, const void *payload, size_t len)
{
    return send_kind(t, to, W_MSG_RAFT, payload, len);
}

size_t transport_frame_head(const struct transport *t, size_t len,
                            char head[TRANSPORT_FRAME_HEAD_MAX])
{
    (void)t;
    int n = snprintf(head, TRANSPORT_FRAME_HEAD_MAX, "*3\r\n$8\r\nRAFT.MSG\r\n$1\r\n0\r\n$%zu\r\n",
                     len);
    return (size_t)n;
}

int transport_send_framed(struct transport *t, uint64_t to, const char *cmd, size_t cmd_len,
                          size_t len)
{
    return transport_send(t, to, cmd + cmd_len - 2 - len, len);
}

int transport_send_framed_owned(struct transport *t, uint64_t to, char *cmd, size_t cmd_len,
                                size_t len)
{
    int rc = transport_send_framed(t, to, cmd, cmd_len, len);
    free(cmd);
    return rc;
}

void transport_flush(struct transport *t)
{
    (void)t;
}

int transport_ping(struct transport *t, uint64_t to)
{
    if (to) return send_kind(t, to, W_MSG_PING, NULL, 0);
    for (uint64_t id = 1; id <= W_NODES_MAX; id++)
        if (peer_of(t, id)) send_kind(t, id, W_MSG_PING, NULL, 0);
    return TRANSPORT_OK;
}

void transport_heard(struct transport *t, uint64_t id)
{
    (void)t;
    (void)id;
}

void transport_drain(struct transport *t, uint32_t timeout_ms)
{
    (void)t;
    (void)timeout_ms;
}

/* Simulated links queue nothing in memory a node could count (src/server/memory.h). */
uint64_t transport_pending_bytes(const struct transport *t)
{
    (void)t;
    return 0;
}

int transport_peer_info(const struct transport *t, uint64_t id, struct transport_peer_info *info)
{
    if (id == 0 || id > W_NODES_MAX || !t->peers[id].present) return TRANSPORT_ENOPEER;
    const struct peer *p = &t->peers[id];
    *info = p->info;
    info->last_conn_secs = (W->now_us / 1000 - info->last_conn_ms) / 1000;
    if (!(p->up && p->up_life == W->life[id] && W->srv[id])) {
        /* no live link: what the peer presented was an earlier link's
         * (src/transport/transport.c forgets it when the link goes) */
        info->state = TRANSPORT_DISCONNECTED;
        info->incarnation = 0;
        info->peer_recovering = 0;
    }
    return 0;
}

const char *transport_strerror(int err)
{
    switch (err) {
    case TRANSPORT_OK:
        return "ok";
    case TRANSPORT_ENOPEER:
        return "no such peer";
    case TRANSPORT_ENOTCONN:
        return "not connected";
    case TRANSPORT_EFULL:
        return "queue full";
    default:
        return "invalid argument";
    }
}

void transport_set_forward(struct transport *t, const char *password, size_t password_len,
                           uint32_t timeout_ms)
{
    (void)t;
    (void)password;
    (void)password_len;
    (void)timeout_ms;
}

int transport_forward(struct transport *t, uint64_t leader_id, const struct transport_fwd_ctx *ctx,
                      const struct transport_cmd *cmds, int ncmds, transport_reply_fn *cb, void *ud)
{
    (void)t;
    (void)leader_id;
    (void)ctx;
    (void)cmds;
    (void)ncmds;
    (void)cb;
    (void)ud;
    return TRANSPORT_ENOTCONN;
}

struct transport_session *transport_session_new(struct transport *t)
{
    (void)t;
    return NULL;
}

void transport_session_free(struct transport_session *s)
{
    (void)s;
}

uint64_t transport_session_link(const struct transport_session *s)
{
    (void)s;
    return 0;
}

void transport_forward_retarget(struct transport *t, uint64_t leader_id)
{
    (void)t;
    (void)leader_id;
}

void transport_forward_cancel_ud(struct transport *t, const void *ud)
{
    (void)t;
    (void)ud;
}

uint32_t transport_forward_pending(const struct transport *t)
{
    (void)t;
    return 0;
}

int transport_call(struct transport *t, const char *host, int port, int argc, const char **argv,
                   const size_t *lens, uint32_t timeout_ms, transport_reply_fn *cb, void *ud)
{
    (void)t;
    (void)host;
    (void)port;
    (void)argc;
    (void)argv;
    (void)lens;
    (void)timeout_ms;
    (void)cb;
    (void)ud;
    return TRANSPORT_ENOTCONN;
}

/* MIGRATE's pipelines reach no other server in the simulation. */
int transport_call_pipeline(struct transport *t, const char *host, int port,
                            const struct transport_cmd *cmds, int ncmds, uint32_t timeout_ms,
                            transport_replies_fn *cb, void *ud)
{
    (void)t;
    (void)host;
    (void)port;
    (void)cmds;
    (void)ncmds;
    (void)timeout_ms;
    (void)cb;
    (void)ud;
    return TRANSPORT_ENOTCONN;
}

size_t transport_pipe_idle(const struct transport *t)
{
    (void)t;
    return 0;
}

void transport_call_cancel_ud(struct transport *t, const void *ud)
{
    (void)t;
    (void)ud;
}

/* REPLICAOF's link: the simulated world has no Redis master to dial (the
 * link's attempt fails as an unresolvable address does). */
struct transport_stream *transport_stream_open(struct transport *t, const char *host, int port,
                                               const struct transport_stream_ops *ops, void *ud)
{
    (void)t;
    (void)host;
    (void)port;
    (void)ops;
    (void)ud;
    return NULL;
}

void transport_stream_send(struct transport_stream *s, int argc, const struct resp_arg *argv)
{
    (void)s;
    (void)argc;
    (void)argv;
}

void transport_stream_pause(struct transport_stream *s, int paused)
{
    (void)s;
    (void)paused;
}

void transport_stream_close(struct transport_stream *s)
{
    (void)s;
}
