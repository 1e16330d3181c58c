/*
 * src/transport/transport.c - outbound peer connections (src/transport/transport_link.c's
 * links, plain or TLS, on libev): the peer links (the peer table; connecting,
 * back-off and timeouts), RAFT.AUTH and the incarnation exchange. The
 * contract (wire protocol, delivery, limits) is in transport.h; what goes
 * out on a link (the queue, RAFT.MSG framing and sending) is in
 * src/transport/transport_out.c, the proxy link in
 * src/transport/transport_proxy.c, one-shot requests in
 * src/transport/transport_call.c, the state they share in
 * src/transport/transport_int.h.
 *
 * Each peer owns at most one link and one libev timer whose meaning follows
 * the peer's state: the back-off delay when disconnected, the connect
 * timeout when connecting (the TLS handshake included), the reply timeout
 * when connected with commands pending. Replies come in the order the
 * commands went: each frame answers the oldest pending command (p->pend).
 * A link's callbacks name the peer; the peer forgets its link before
 * closing it, and a link closed inside its own callback is freed when that
 * returns (transport_link.c), so dropping a link from its own reply (a
 * refused RAFT.AUTH) is safe.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "base/clock.h"
#include "base/log.h"
#include "transport/transport.h"
#include "transport/transport_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"
#include "tls/tls.h"

#define TIMER_LATE_US 500000 /* a timer this late means the loop was blocked */
static void queue_auth(struct peer *p);

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

struct peer *transport_find_peer(const struct transport *t, uint64_t id, size_t *pos)
{
    for (size_t i = 0; i < t->n_peers; i++) {
        if (t->peers[i]->id != id) continue;
        if (pos) *pos = i;
        return t->peers[i];
    }
    return NULL;
}

/* (Re)starts the peer's timer as a one-shot of ms milliseconds from now
 * (which may be inside a long step of the loop: its clock is refreshed). */
void transport_arm(struct peer *p, uint32_t ms)
{
    ev_now_update(p->t->loop);
    p->due_us = clock_mono_us() + (int64_t)ms * 1000;
    ev_timer_stop(p->t->loop, &p->timer);
    ev_timer_set(&p->timer, (double)ms / 1000.0, 0.0);
    ev_timer_start(p->t->loop, &p->timer);
}

/* The reply timeout restarted on a reply or on bytes arriving: a timer
 * armed less than REARM_SLACK_US ago is left as it is (the timeout measures
 * silence of seconds; re-arming at every message costs the loop a clock
 * update and two timer-heap operations per message). */
#define REARM_SLACK_US 100000

static void rearm_reply(struct peer *p)
{
    uint32_t ms = p->t->lim.reply_timeout_ms;
    if (!ms) return;
    if (p->due_us - clock_mono_us() > (int64_t)ms * 1000 - REARM_SLACK_US &&
        ev_is_active(&p->timer))
        return;
    transport_arm(p, ms);
}

static void mark_event(struct peer *p)
{
    p->event_us = clock_mono_us();
}

/* Detaches and frees the live link, if any. Pending commands are forgotten. */
static void link_close(struct peer *p)
{
    /* What it presented was this link's: the next one may reach another
     * process (restarted, its dir wiped) that has not answered yet, and a
     * stale one would be taken for the peer's incarnation by a node that
     * forgot it (node_safety.c: a member added back with a new store). */
    p->seen_inc = 0;
    p->peer_recovering = 0;
    fifo_truncate(&p->pend, 0);
    p->pending_bytes = 0;
    struct rlink *l = p->link;
    if (!l) return;
    p->link = NULL;
    rlink_close(l);
}

/* The peer has no link now: wait out the back-off, then try again. */
static void schedule_retry(struct peer *p)
{
    const struct transport_limits *lim = &p->t->lim;
    ASSERT(p->link == NULL);
    fifo_truncate(&p->pend, 0);
    if (p->state == TRANSPORT_CONNECTED) mark_event(p);
    p->state = TRANSPORT_DISCONNECTED;
    p->pending_bytes = 0;
    transport_arm(p, p->backoff_ms);
    p->backoff_ms =
        p->backoff_ms > lim->backoff_max_ms / 2 ? lim->backoff_max_ms : p->backoff_ms * 2;
}

/* Logs a failed attempt at notice the first time after a success, then at
 * verbose, so a peer that stays down does not flood the log. */
static void log_failure(struct peer *p, const char *why)
{
    if (!p->down_logged)
        LOG_NOTICE("%s %" PRIu64 " not reachable (%s:%d): %s; retrying with back-off", p->t->label,
                   p->id, p->host, p->port, why);
    else
        LOG_VERBOSE("%s %" PRIu64 " not reachable (%s:%d): %s", p->t->label, p->id, p->host,
                    p->port, why);
    p->down_logged = 1;
}

/* The link broke or was given up: log, close, retry. Only the loss of a
 * working (authenticated) link is news; failed attempts go to log_failure. */
static void link_lost(struct peer *p, const char *why)
{
    if (p->authed) {
        LOG_NOTICE("%s %" PRIu64 " disconnected (%s:%d): %s", p->t->label, p->id, p->host, p->port,
                   why);
        p->down_logged = 1;
    } else {
        log_failure(p, why);
    }
    p->authed = 0;
    link_close(p);
    schedule_retry(p);
}

static void connected_cb(void *ud)
{
    struct peer *p = ud;
    ASSERT(p->state == TRANSPORT_CONNECTING); /* set with p->link by link_open() */
    p->state = TRANSPORT_CONNECTED;
    p->connects++;
    mark_event(p);
    LOG_VERBOSE("%s %" PRIu64 " %s connected (%s:%d)", p->t->label, p->id,
                p->t->tls ? "TLS" : "TCP", p->host, p->port);
    /* RAFT.AUTH is pending: from now on the timer waits for replies. */
    if (p->t->lim.reply_timeout_ms)
        transport_arm(p, p->t->lim.reply_timeout_ms);
    else
        ev_timer_stop(p->t->loop, &p->timer);
}

static void lost_cb(void *ud, const char *why)
{
    struct peer *p = ud;
    p->link = NULL; /* it frees itself when this returns */
    link_lost(p, why);
}

enum pend_kind transport_reply_taken(struct peer *p)
{
    ASSERT(fifo_len(&p->pend) > 0); /* frame_cb() checked */
    struct pend q = *(struct pend *)fifo_at(&p->pend, 0);
    fifo_pop(&p->pend);
    ASSERT(p->pending_bytes >= q.cost);
    p->pending_bytes -= q.cost;
    /* The reply timeout measures silence while something is owed. */
    if (fifo_len(&p->pend) == 0)
        ev_timer_stop(p->t->loop, &p->timer);
    else
        rearm_reply(p);
    return (enum pend_kind)q.kind;
}

/* The peer answered RAFT.AUTH with an incarnation other than the one it had:
 * it lost its state. Refused like a failed RAFT.AUTH. */
static void inc_mismatch(struct peer *p)
{
    p->inc_mismatches++;
    if (!p->auth_refused)
        LOG_WARNING("%s %" PRIu64 " (%s:%d) presents incarnation %" PRIu64 ", it had %" PRIu64
                    ": it lost its Raft state; not talking to it (see RAFT.INFO)",
                    p->t->label, p->id, p->host, p->port, p->seen_inc, p->expect_inc);
    p->auth_refused = 1;
    p->down_logged = 1;
    link_lost(p, "incarnation changed");
}

/* The reply to RAFT.AUTH: frame is one whole RESP frame. */
static void auth_reply(struct peer *p, const char *frame, size_t len)
{
    char line[256]; /* its text, without the type byte and CRLF */
    size_t n = len >= 3 ? len - 3 : 0;
    if (n >= sizeof line) n = sizeof line - 1;
    memcpy(line, frame + 1, n);
    line[n] = '\0';
    int is_error = frame[0] == '-';
    if (frame[0] == '+' && strncmp(line, "OK ", 3) == 0) {
        char *end;
        unsigned long long inc = strtoull(line + 3, &end, 10);
        p->seen_inc = inc;
        p->peer_recovering = strcmp(end, " recovering") == 0;
        /* A peer that knows it lost its state and catches up before voting
         * may come back with a new incarnation. */
        if (p->expect_inc && inc != p->expect_inc && !p->peer_recovering) {
            p->errors++;
            inc_mismatch(p);
            return;
        }
    }
    if (!is_error && p->authed) return; /* a repeated RAFT.AUTH */
    if (!is_error) {
        LOG_NOTICE("%s %" PRIu64 " connected (%s:%d)", p->t->label, p->id, p->host, p->port);
        /* It took our incarnation on our word that we recover: once we no
         * longer do, say so (queue_auth() claims it no more). */
        int reauth = p->refusing_lost_state && !p->t->recovering;
        p->refusing_lost_state = 0;
        p->authed = 1;
        p->down_logged = 0;
        p->auth_refused = 0;
        p->backoff_ms = p->t->lim.backoff_min_ms;
        if (reauth) queue_auth(p);
        return;
    }
    p->errors++;
    if (strncmp(line, "LOSTSTATE", 9) == 0) {
        p->lost_state_refusals++;
        p->t->lost_state_refusals++;
        p->refusing_lost_state = 1;
    }
    if (!p->auth_refused)
        LOG_WARNING("%s %" PRIu64 " (%s:%d) refused RAFT.AUTH: %s; retrying with back-off",
                    p->t->label, p->id, p->host, p->port, line);
    else
        LOG_VERBOSE("%s %" PRIu64 " refused RAFT.AUTH: %s", p->t->label, p->id, line);
    p->auth_refused = 1;
    p->down_logged = 1; /* the warning said it all */
    link_lost(p, "RAFT.AUTH refused");
}

static void frame_cb(void *ud, const char *frame, size_t len)
{
    struct peer *p = ud;
    if (fifo_len(&p->pend) == 0) { /* transport.h: nothing unsolicited */
        p->errors++;
        link_lost(p, "a reply nothing asked for");
        return;
    }
    if (transport_reply_taken(p) == PEND_AUTH)
        auth_reply(p, frame, len);
    else
        transport_msg_reply(p, frame, len);
}

static const struct rlink_ops peer_ops = {connected_cb, frame_cb, lost_cb};

/* Queues RAFT.AUTH on the live link. */
static void queue_auth(struct peer *p)
{
    struct transport *t = p->t;
    /* A peer that refused our incarnation hears "recovering" until it took it. */
    int claim = t->recovering || p->refusing_lost_state;
    int argc = t->inc_str[0] ? (claim ? 6 : 5) : t->self_addr[0] ? 4 : 3;
    transport_queue_cmd(p, PEND_AUTH, argc,
                        (const char *[]){"RAFT.AUTH", t->secret, t->self_str, t->self_addr,
                                         t->inc_str, "recovering"},
                        (size_t[]){9, t->secret_len, strlen(t->self_str), strlen(t->self_addr),
                                   strlen(t->inc_str), 10},
                        TRANSPORT_CMD_OVERHEAD_BYTES + t->secret_len);
}

/* Starts a connection attempt; RAFT.AUTH is queued before connect completes
 * so it is the first thing the peer reads. */
static void link_open(struct peer *p)
{
    struct transport *t = p->t;
    ASSERT(p->link == NULL);
    p->link = rlink_open(t->loop, p->host, p->port, t->tls, &peer_ops, p);
    if (!p->link) { /* failed before any I/O (e.g. unresolvable host) */
        log_failure(p, "cannot connect (address or socket)");
        schedule_retry(p);
        return;
    }
    p->state = TRANSPORT_CONNECTING;
    queue_auth(p);
    transport_arm(p, t->lim.connect_timeout_ms);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct peer *p = w->data;
    switch (p->state) {
    case TRANSPORT_DISCONNECTED:
        link_open(p);
        break;
    case TRANSPORT_CONNECTING:
        link_lost(p, "connect timeout");
        break;
    case TRANSPORT_CONNECTED:
        /* Fired late: the loop was busy (a long log write) and read nothing
         * meanwhile, so the silence was not measured; replies may be waiting
         * in the socket. Measure again, from now. */
        if (clock_mono_us() > p->due_us + TIMER_LATE_US) {
            transport_arm(p, p->t->lim.reply_timeout_ms);
            break;
        }
        link_lost(p, "no reply within the reply timeout");
        break;
    }
}

static int valid_limits(const struct transport_limits *lim)
{
    return lim->pending_cmds_max > 0 && lim->pending_bytes_max > 0 && lim->connect_timeout_ms > 0 &&
           lim->backoff_min_ms > 0 && lim->backoff_max_ms >= lim->backoff_min_ms;
}

struct transport *transport_create(struct ev_loop *loop, uint64_t self_id, const char *secret,
                                   size_t secret_len, const struct transport_limits *lim)
{
    static const struct transport_limits defaults = TRANSPORT_LIMITS_DEFAULT;
    ASSERT(loop && self_id > 0 && secret);
    struct transport *t = util_xcalloc(1, sizeof *t);
    t->loop = loop;
    t->self_id = self_id;
    t->label = "Peer";
    snprintf(t->self_str, sizeof t->self_str, "%" PRIu64, self_id);
    t->secret_len = secret_len;
    t->secret = util_xcalloc(1, t->secret_len + 1);
    memcpy(t->secret, secret, t->secret_len);
    t->lim = lim ? *lim : defaults;
    ASSERT(valid_limits(&t->lim));
    transport_fwd_init(t);
    return t;
}

static void peer_free(struct peer *p)
{
    ev_timer_stop(p->t->loop, &p->timer);
    link_close(p);
    fifo_free(&p->pend);
    free(p);
}

void transport_free(struct transport *t)
{
    if (!t) return;
    transport_calls_free(t);
    transport_fwd_free(t);
    for (size_t i = 0; i < t->n_peers; i++)
        peer_free(t->peers[i]);
    free(t->peers);
    explicit_bzero(t->secret, t->secret_len);
    free(t->secret);
    tls_ctx_free(t->tls);
    free(t);
}

void transport_set_tls(struct transport *t, struct tls_ctx *ctx)
{
    if (ctx) tls_ctx_ref(ctx);
    tls_ctx_free(t->tls);
    t->tls = ctx;
}

void transport_set_label(struct transport *t, const char *label)
{
    t->label = label;
}

void transport_set_self_addr(struct transport *t, const char *addr)
{
    snprintf(t->self_addr, sizeof t->self_addr, "%s", addr ? addr : "");
}

static struct peer *peer_add(struct transport *t, uint64_t id)
{
    if (t->n_peers == t->cap_peers) {
        size_t cap = t->cap_peers ? t->cap_peers * 2 : 8;
        struct peer **grown = util_xrealloc(t->peers, cap * sizeof *grown);
        t->peers = grown;
        t->cap_peers = cap;
    }
    struct peer *p = util_xcalloc(1, sizeof *p);
    fifo_init(&p->pend, sizeof(struct pend));
    p->t = t;
    p->id = id;
    ev_init(&p->timer, timer_cb);
    p->timer.data = p;
    mark_event(p);
    t->peers[t->n_peers++] = p;
    return p;
}

int transport_set_peer(struct transport *t, uint64_t id, const char *host, int port)
{
    size_t host_len = host ? strlen(host) : 0;
    if (id == 0 || id == t->self_id || host_len == 0 || host_len >= TRANSPORT_HOST_MAX ||
        port < 1 || port > 65535)
        return TRANSPORT_EINVAL;
    struct peer *p = transport_find_peer(t, id, NULL);
    if (p && p->port == port && strcmp(p->host, host) == 0) return TRANSPORT_OK;
    if (!p) {
        p = peer_add(t, id);
    } else {
        LOG_NOTICE("%s %" PRIu64 " moves from %s:%d to %s:%d", t->label, id, p->host, p->port, host,
                   port);
        transport_fwd_peer_changed(t, id);
        ev_timer_stop(t->loop, &p->timer);
        link_close(p);
        if (p->state == TRANSPORT_CONNECTED) mark_event(p);
        p->authed = 0;
    }
    memcpy(p->host, host, host_len + 1);
    p->port = port;
    p->state = TRANSPORT_DISCONNECTED;
    p->down_logged = 0;
    p->auth_refused = 0;
    p->backoff_ms = t->lim.backoff_min_ms;
    link_open(p);
    return TRANSPORT_OK;
}

void transport_remove_peer(struct transport *t, uint64_t id)
{
    size_t pos;
    struct peer *p = transport_find_peer(t, id, &pos);
    if (!p) return;
    if (p->state == TRANSPORT_CONNECTED)
        LOG_NOTICE("%s %" PRIu64 " removed; closing its connection", t->label, id);
    transport_fwd_peer_changed(t, id);
    peer_free(p);
    t->peers[pos] = t->peers[--t->n_peers];
}

void transport_heard(struct transport *t, uint64_t id)
{
    struct peer *p = transport_find_peer(t, id, NULL);
    if (p && p->link && fifo_len(&p->pend) > 0) rearm_reply(p);
}

uint64_t transport_pending_bytes(const struct transport *t)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < t->n_peers; i++)
        sum += t->peers[i]->pending_bytes;
    return sum;
}

int transport_peer_info(const struct transport *t, uint64_t id, struct transport_peer_info *info)
{
    const struct peer *p = transport_find_peer(t, id, NULL);
    if (!p) return TRANSPORT_ENOPEER;
    memset(info, 0, sizeof *info);
    info->id = p->id;
    memcpy(info->host, p->host, sizeof info->host);
    info->port = p->port;
    info->state = p->state;
    info->last_conn_ms = (clock_mono_us() - p->event_us) / 1000;
    info->last_conn_secs = info->last_conn_ms / 1000;
    info->sent = p->sent;
    info->dropped = p->dropped;
    info->errors = p->errors;
    info->connects = p->connects;
    info->pending_cmds = (uint32_t)fifo_len(&p->pend);
    info->pending_bytes = p->pending_bytes;
    info->incarnation = p->seen_inc;
    info->inc_mismatches = p->inc_mismatches;
    info->lost_state_refusals = p->lost_state_refusals;
    info->refusing_lost_state = p->refusing_lost_state;
    info->peer_recovering = p->peer_recovering;
    return TRANSPORT_OK;
}

uint64_t transport_lost_state_refusals(const struct transport *t)
{
    return t->lost_state_refusals;
}

void transport_set_incarnation(struct transport *t, uint64_t inc)
{
    if (inc)
        snprintf(t->inc_str, sizeof t->inc_str, "%" PRIu64, inc);
    else
        t->inc_str[0] = '\0';
}

void transport_set_recovering(struct transport *t, int on)
{
    if (t->recovering == !!on) return;
    t->recovering = !!on;
    for (size_t i = 0; i < t->n_peers; i++) {
        struct peer *p = t->peers[i];
        if (p->link && p->state == TRANSPORT_CONNECTED) queue_auth(p);
    }
}

int transport_expect_incarnation(struct transport *t, uint64_t id, uint64_t inc)
{
    struct peer *p = transport_find_peer(t, id, NULL);
    if (!p) return TRANSPORT_ENOPEER;
    if (p->expect_inc != inc) {
        p->expect_inc = inc;
        p->inc_mismatches = 0;
    }
    if (inc && p->authed && p->seen_inc && p->seen_inc != inc && !p->peer_recovering)
        inc_mismatch(p);
    return TRANSPORT_OK;
}

const char *transport_strerror(int err)
{
    switch (err) {
    case TRANSPORT_OK:
        return "ok";
    case TRANSPORT_ENOPEER:
        return "unknown peer";
    case TRANSPORT_ENOTCONN:
        return "peer not connected";
    case TRANSPORT_EFULL:
        return "peer queue full";
    case TRANSPORT_EINVAL:
        return "invalid argument";
    }
    return "unknown transport error";
}
