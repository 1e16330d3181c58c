/*
 * src/transport.c - outbound peer connections over hiredis async on libev.
 * The contract (wire protocol, delivery, limits) is in transport.h.
 *
 * The only file that includes hiredis. Each peer owns at most one
 * redisAsyncContext (a "link") and one libev timer whose meaning follows the
 * peer's state: the back-off delay when disconnected, the connect timeout when
 * connecting, the reply timeout when connected with commands pending.
 *
 * Lifetime rule that keeps hiredis's callbacks safe: a link is detached
 * (p->ac = NULL) before it is freed, and every hiredis callback first checks
 * ac == p->ac, so the callbacks hiredis runs while tearing a link down (pending
 * replies with a NULL reply, the disconnect callback) see a stale link and do
 * nothing. A peer is freed only after its link, so ac->data never dangles.
 * redisAsyncFree() called from inside a reply callback is deferred by hiredis
 * until that callback returns, which is what makes dropping a link from its
 * own reply callback (a refused RAFT.AUTH) safe.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "log.h"
#include "transport.h"
#include "util.h"

struct peer {
    struct transport *t;
    uint64_t id;
    char host[TRANSPORT_HOST_MAX];
    int port;
    enum transport_state state;
    redisAsyncContext *ac; /* the live link; NULL when disconnected */
    ev_timer timer;        /* back-off / connect timeout / reply timeout, by state */
    uint32_t backoff_ms;   /* delay before the next retry */
    uint32_t pending_cmds;
    uint64_t pending_bytes;
    int64_t event_us; /* monotonic time of the last connection event */
    int authed;       /* the live link's RAFT.AUTH was accepted */
    int down_logged;  /* a failure was logged at notice since the last success */
    int auth_refused; /* the last RAFT.AUTH got an error (log it once) */
    uint64_t sent, dropped, errors, connects;
};

struct transport {
    struct ev_loop *loop;
    uint64_t self_id;
    char self_str[24]; /* self_id in decimal, as sent on the wire */
    char *secret;
    size_t secret_len;
    struct transport_limits lim;
    struct peer **peers; /* pointers: the embedded ev_timer must never move */
    size_t n_peers, cap_peers;
};

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) abort();
    return p;
}

static struct peer *find_peer(const struct transport *t, uint64_t id, size_t *pos)
{
    for (size_t i = 0; i < t->n_peers; i++) {
        if (t->peers[i]->id != id) continue;
        if (pos) *pos = i;
        return t->peers[i];
    }
    return NULL;
}

/* (Re)starts the peer's timer as a one-shot of ms milliseconds. */
static void arm(struct peer *p, uint32_t ms)
{
    ev_timer_stop(p->t->loop, &p->timer);
    ev_timer_set(&p->timer, (double)ms / 1000.0, 0.0);
    ev_timer_start(p->t->loop, &p->timer);
}

static void mark_event(struct peer *p)
{
    p->event_us = util_monotonic_us();
}

/* Detaches and frees the live link, if any. Pending commands are forgotten:
 * their callbacks, run by hiredis now or when the current callback returns,
 * see a stale link. */
static void link_close(struct peer *p)
{
    redisAsyncContext *ac = p->ac;
    if (!ac) return;
    p->ac = NULL;
    p->pending_cmds = 0;
    p->pending_bytes = 0;
    redisAsyncFree(ac);
}

/* The peer has no link now: wait out the back-off, then try again. */
static void schedule_retry(struct peer *p)
{
    const struct transport_limits *lim = &p->t->lim;
    assert(p->ac == NULL);
    if (p->state == TRANSPORT_CONNECTED) mark_event(p);
    p->state = TRANSPORT_DISCONNECTED;
    p->pending_cmds = 0;
    p->pending_bytes = 0;
    arm(p, p->backoff_ms);
    p->backoff_ms =
        p->backoff_ms > lim->backoff_max_ms / 2 ? lim->backoff_max_ms : p->backoff_ms * 2;
}

/* Logs a failed attempt at notice the first time after a success, then at
 * verbose, so a peer that stays down does not flood the log. */
static void log_failure(struct peer *p, const char *why)
{
    if (!p->down_logged)
        LOG_NOTICE("Peer %" PRIu64 " not reachable (%s:%d): %s; retrying with back-off", p->id,
                   p->host, p->port, why);
    else
        LOG_VERBOSE("Peer %" PRIu64 " not reachable (%s:%d): %s", p->id, p->host, p->port, why);
    p->down_logged = 1;
}

/* The link broke or was given up: log, close, retry. Only the loss of a
 * working (authenticated) link is news; failed attempts go to log_failure. */
static void link_lost(struct peer *p, const char *why)
{
    if (p->authed) {
        LOG_NOTICE("Peer %" PRIu64 " disconnected (%s:%d): %s", p->id, p->host, p->port, why);
        p->down_logged = 1;
    } else {
        log_failure(p, why);
    }
    p->authed = 0;
    link_close(p);
    schedule_retry(p);
}

static void connect_cb(const redisAsyncContext *ac, int status)
{
    struct peer *p = ac->data;
    if (ac != p->ac) return;
    if (status != REDIS_OK) {
        /* hiredis frees the context when this callback returns. */
        p->ac = NULL;
        log_failure(p, ac->c.errstr);
        schedule_retry(p);
        return;
    }
    p->state = TRANSPORT_CONNECTED;
    p->connects++;
    mark_event(p);
    redisEnableKeepAlive(&p->ac->c);
    LOG_VERBOSE("Peer %" PRIu64 " TCP connected (%s:%d)", p->id, p->host, p->port);
    /* RAFT.AUTH is pending: from now on the timer waits for replies. */
    if (p->t->lim.reply_timeout_ms)
        arm(p, p->t->lim.reply_timeout_ms);
    else
        ev_timer_stop(p->t->loop, &p->timer);
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct peer *p = ac->data;
    if (ac != p->ac) return; /* we closed it ourselves */
    /* hiredis frees the context when this callback returns. */
    p->ac = NULL;
    link_lost(p, ac->c.errstr[0] ? ac->c.errstr : "connection closed");
}

/* Bookkeeping common to every reply of the live link. Returns the peer, or
 * NULL for a reply that does not count (teardown or a stale link). */
static struct peer *reply_taken(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct peer *p = ac->data;
    if (!reply || ac != p->ac) return NULL;
    uint64_t cost = (uint64_t)(uintptr_t)privdata;
    assert(p->pending_cmds > 0 && p->pending_bytes >= cost);
    p->pending_cmds--;
    p->pending_bytes -= cost;
    /* The reply timeout measures silence while something is owed. */
    if (p->pending_cmds == 0)
        ev_timer_stop(p->t->loop, &p->timer);
    else if (p->t->lim.reply_timeout_ms)
        arm(p, p->t->lim.reply_timeout_ms);
    return p;
}

static void auth_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct peer *p = reply_taken(ac, r, privdata);
    if (!p) return;
    const redisReply *reply = r;
    if (reply->type != REDIS_REPLY_ERROR) {
        LOG_NOTICE("Peer %" PRIu64 " connected (%s:%d)", p->id, p->host, p->port);
        p->authed = 1;
        p->down_logged = 0;
        p->auth_refused = 0;
        p->backoff_ms = p->t->lim.backoff_min_ms;
        return;
    }
    p->errors++;
    if (!p->auth_refused)
        LOG_WARNING("Peer %" PRIu64 " (%s:%d) refused RAFT.AUTH: %s; retrying with back-off", p->id,
                    p->host, p->port, reply->str);
    else
        LOG_VERBOSE("Peer %" PRIu64 " refused RAFT.AUTH: %s", p->id, reply->str);
    p->auth_refused = 1;
    p->down_logged = 1; /* the warning said it all */
    link_lost(p, "RAFT.AUTH refused");
}

static void msg_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct peer *p = reply_taken(ac, r, privdata);
    if (!p) return;
    const redisReply *reply = r;
    if (reply->type == REDIS_REPLY_ERROR) {
        p->errors++;
        LOG_VERBOSE("Peer %" PRIu64 " replied to RAFT.MSG: %s", p->id, reply->str);
    }
}

/* Queues one command on the live link; cost is what it adds to pending_bytes. */
static int queue_cmd(struct peer *p, redisCallbackFn *fn, const char *name, const char *a1,
                     size_t a1_len, const void *a2, size_t a2_len, uint64_t cost)
{
    const char *argv[3] = {name, a1, a2 ? (const char *)a2 : ""};
    size_t argvlen[3] = {strlen(name), a1_len, a2_len};
    if (redisAsyncCommandArgv(p->ac, fn, (void *)(uintptr_t)cost, 3, argv, argvlen) != REDIS_OK)
        return -1;
    p->pending_cmds++;
    p->pending_bytes += cost;
    return 0;
}

/* Starts a connection attempt; RAFT.AUTH is queued before connect completes
 * so it is the first thing the peer reads. */
static void link_open(struct peer *p)
{
    struct transport *t = p->t;
    assert(p->ac == NULL);
    redisAsyncContext *ac = redisAsyncConnect(p->host, p->port);
    if (!ac) abort(); /* allocation failure */
    if (ac->err) {
        /* Failed before any I/O (e.g. unresolvable host): never attached. */
        char why[sizeof ac->c.errstr];
        memcpy(why, ac->c.errstr, sizeof why);
        redisAsyncFree(ac);
        log_failure(p, why);
        schedule_retry(p);
        return;
    }
    ac->data = p;
    p->ac = ac;
    p->state = TRANSPORT_CONNECTING;
    if (redisLibevAttach(t->loop, ac) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, connect_cb) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, disconnect_cb) != REDIS_OK ||
        queue_cmd(p, auth_reply_cb, "RAFT.AUTH", t->secret, t->secret_len, t->self_str,
                  strlen(t->self_str), TRANSPORT_CMD_OVERHEAD_BYTES + t->secret_len) != 0)
        abort(); /* only fails on a fresh context if memory ran out */
    arm(p, t->lim.connect_timeout_ms);
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
                                   const struct transport_limits *lim)
{
    static const struct transport_limits defaults = TRANSPORT_LIMITS_DEFAULT;
    assert(loop && self_id > 0 && secret);
    struct transport *t = xcalloc(1, sizeof *t);
    t->loop = loop;
    t->self_id = self_id;
    snprintf(t->self_str, sizeof t->self_str, "%" PRIu64, self_id);
    t->secret_len = strlen(secret);
    t->secret = xcalloc(1, t->secret_len + 1);
    memcpy(t->secret, secret, t->secret_len);
    t->lim = lim ? *lim : defaults;
    assert(valid_limits(&t->lim));
    return t;
}

static void peer_free(struct peer *p)
{
    ev_timer_stop(p->t->loop, &p->timer);
    link_close(p);
    free(p);
}

void transport_free(struct transport *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_peers; i++)
        peer_free(t->peers[i]);
    free(t->peers);
    explicit_bzero(t->secret, t->secret_len);
    free(t->secret);
    free(t);
}

static struct peer *peer_add(struct transport *t, uint64_t id)
{
    if (t->n_peers == t->cap_peers) {
        size_t cap = t->cap_peers ? t->cap_peers * 2 : 8;
        struct peer **grown = realloc(t->peers, cap * sizeof *grown);
        if (!grown) abort();
        t->peers = grown;
        t->cap_peers = cap;
    }
    struct peer *p = xcalloc(1, sizeof *p);
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
    struct peer *p = find_peer(t, id, NULL);
    if (p && p->port == port && strcmp(p->host, host) == 0) return TRANSPORT_OK;
    if (!p) {
        p = peer_add(t, id);
    } else {
        LOG_NOTICE("Peer %" PRIu64 " moves from %s:%d to %s:%d", id, p->host, p->port, host, port);
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
    struct peer *p = find_peer(t, id, &pos);
    if (!p) return;
    if (p->state == TRANSPORT_CONNECTED)
        LOG_NOTICE("Peer %" PRIu64 " removed; closing its connection", id);
    peer_free(p);
    t->peers[pos] = t->peers[--t->n_peers];
}

int transport_send(struct transport *t, uint64_t to, const void *payload, size_t len)
{
    struct peer *p = find_peer(t, to, NULL);
    if (!p) return TRANSPORT_ENOPEER;
    if (p->state != TRANSPORT_CONNECTED) {
        p->dropped++;
        return TRANSPORT_ENOTCONN;
    }
    const struct transport_limits *lim = &t->lim;
    uint64_t cost = (uint64_t)len + TRANSPORT_CMD_OVERHEAD_BYTES;
    /* Admit one message of any size into an empty queue, so that a message
     * above pending_bytes_max delays the next ones instead of never going. */
    int bytes_full = p->pending_bytes > 0 && (p->pending_bytes >= lim->pending_bytes_max ||
                                              cost > lim->pending_bytes_max - p->pending_bytes);
    if (p->pending_cmds >= lim->pending_cmds_max || bytes_full) {
        p->dropped++;
        return TRANSPORT_EFULL;
    }
    int was_idle = p->pending_cmds == 0;
    if (queue_cmd(p, msg_reply_cb, "RAFT.MSG", t->self_str, strlen(t->self_str), payload, len,
                  cost) != 0) {
        p->dropped++;
        return TRANSPORT_ENOTCONN;
    }
    p->sent++;
    if (was_idle && lim->reply_timeout_ms) arm(p, lim->reply_timeout_ms);
    return TRANSPORT_OK;
}

int transport_peer_info(const struct transport *t, uint64_t id, struct transport_peer_info *info)
{
    const struct peer *p = find_peer(t, id, NULL);
    if (!p) return TRANSPORT_ENOPEER;
    memset(info, 0, sizeof *info);
    info->id = p->id;
    memcpy(info->host, p->host, sizeof info->host);
    info->port = p->port;
    info->state = p->state;
    info->last_conn_secs = (util_monotonic_us() - p->event_us) / 1000000;
    info->sent = p->sent;
    info->dropped = p->dropped;
    info->errors = p->errors;
    info->connects = p->connects;
    info->pending_cmds = p->pending_cmds;
    info->pending_bytes = p->pending_bytes;
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
