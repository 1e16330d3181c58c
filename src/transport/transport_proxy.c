/*
 * src/transport/transport_proxy.c - part of the transport module (src/transport/transport.h): the
 * proxy link, one connection to the leader that carries the commands a
 * follower forwards (transport_forward()) and brings their replies back, in
 * order, re-encoded. Its callbacks follow the peer links' lifetime rule
 * (src/transport/transport.c): the link is detached (fwd.ac = NULL) before it is freed
 * and every callback first checks ac == fwd.ac.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "resp/writer.h"
#include "base/log.h"
#include "transport/transport.h"
#include "transport/transport_int.h"
#include "raft/raft_assert.h"
#include "base/util.h"

/* One forwarded command, from transport_forward() to its callback. */
struct fwd {
    transport_reply_fn *cb; /* NULL once cancelled */
    void *ud;
    uint64_t cost;
};

static struct fwd *fwd_at(struct fwd_link *l, size_t i)
{
    return &l->q[(l->head + i) % l->cap];
}

static void fwd_push(struct fwd_link *l, const struct fwd *f)
{
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        struct fwd *n = util_xmalloc(ncap * sizeof *n);
        for (size_t i = 0; i < l->len; i++)
            n[i] = *fwd_at(l, i);
        free(l->q);
        l->q = n;
        l->head = 0;
        l->cap = ncap;
    }
    *fwd_at(l, l->len++) = *f;
    l->bytes += f->cost;
    ASSERT(l->len <= l->cap && l->bytes >= f->cost);
}

static struct fwd fwd_pop(struct fwd_link *l)
{
    ASSERT(l->len > 0);
    struct fwd f = *fwd_at(l, 0);
    l->head = (l->head + 1) % l->cap;
    l->len--;
    ASSERT(l->bytes >= f.cost); /* the queue's byte count never goes negative */
    l->bytes -= f.cost;
    return f;
}

static void fwd_arm(struct transport *t, uint32_t ms)
{
    ev_timer_stop(t->loop, &t->fwd.timer);
    ev_timer_set(&t->fwd.timer, (double)ms / 1000.0, 0.0);
    ev_timer_start(t->loop, &t->fwd.timer);
}

/* Calls back every failed entry, in order. The state is re-read after each
 * callback, which may forward (appending) or lose the link again. */
static void deliver_failed(struct transport *t)
{
    struct fwd_link *l = &t->fwd;
    ev_timer_stop(t->loop, &l->deliver);
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

/* Detaches the live link; every command pending on it fails (delivered from
 * the loop). hiredis_frees: we are inside its connect/disconnect callback,
 * which frees the context itself. hiredis's callbacks for the detached link
 * see a stale context and do nothing. */
static void fwd_lost(struct transport *t, const char *why, int hiredis_frees)
{
    struct fwd_link *l = &t->fwd;
    redisAsyncContext *ac = l->ac;
    if (!ac) return;
    size_t lost = l->len - l->n_failed;
    if (lost)
        LOG_NOTICE("Proxy link to leader %" PRIu64 " lost (%s): %zu forwarded commands fail",
                   l->leader_id, why, lost);
    else
        LOG_VERBOSE("Proxy link to leader %" PRIu64 " closed (%s)", l->leader_id, why);
    l->ac = NULL;
    l->connected = 0;
    l->leader_id = 0;
    l->n_failed = l->len;
    ev_timer_stop(t->loop, &l->timer);
    if (!hiredis_frees) redisAsyncFree(ac);
    if (l->n_failed) {
        ev_timer_set(&l->deliver, 0.0, 0.0);
        ev_timer_start(t->loop, &l->deliver);
    }
}

static void fwd_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct transport *t = w->data;
    fwd_lost(t, t->fwd.connected ? "no reply within the forward timeout" : "connect timeout", 0);
}

static void fwd_connect_cb(const redisAsyncContext *ac, int status)
{
    struct transport *t = ac->data;
    struct fwd_link *l = &t->fwd;
    if (ac != l->ac) return;
    if (status != REDIS_OK) {
        fwd_lost(t, ac->c.errstr, 1);
        return;
    }
    l->connected = 1;
    redisEnableKeepAlive(&l->ac->c);
    if (l->len > l->n_failed)
        fwd_arm(t, l->timeout_ms);
    else
        ev_timer_stop(t->loop, &l->timer);
}

static void fwd_disconnect_cb(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct transport *t = ac->data;
    if (ac != t->fwd.ac) return;
    fwd_lost(t, ac->c.errstr[0] ? ac->c.errstr : "connection closed", 1);
}

static void fwd_auth_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    struct transport *t = ac->data;
    const redisReply *reply = r;
    if (!reply || ac != t->fwd.ac || reply->type != REDIS_REPLY_ERROR) return;
    LOG_WARNING("Proxy link to leader %" PRIu64 ": AUTH refused: %s", t->fwd.leader_id, reply->str);
    fwd_lost(t, "AUTH refused", 0);
}

static void fwd_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    struct transport *t = ac->data;
    struct fwd_link *l = &t->fwd;
    if (!r || ac != l->ac) return;
    deliver_failed(t);       /* earlier commands first: order holds across links */
    if (ac != l->ac) return; /* a callback lost this link: r's command failed too */
    struct fwd f = fwd_pop(l);
    if (l->len == 0)
        ev_timer_stop(t->loop, &l->timer);
    else
        fwd_arm(t, l->timeout_ms);
    resp_out_clear(&l->enc);
    if (transport_reply_encode(r, &l->enc) != 0) {
        resp_out_clear(&l->enc);
        resp_add_error(&l->enc, "ERR the leader's reply could not be relayed");
    }
    if (f.cb) f.cb(f.ud, l->enc.data, l->enc.len);
    resp_out_clear(&l->enc);
    resp_out_shrink(&l->enc, 64 * 1024);
}

/* Starts a link to peer p. RAFT.AUTH goes first when raft-secret is set:
 * the leader then knows the link for a peer's (not one of its clients, not
 * held to maxclients); then AUTH when a password is set. */
static int fwd_open(struct transport *t, const struct peer *p)
{
    struct fwd_link *l = &t->fwd;
    redisAsyncContext *ac = redisAsyncConnect(p->host, p->port);
    if (!ac) abort();
    if (ac->err) {
        LOG_VERBOSE("Proxy link to leader %" PRIu64 " (%s:%d): %s", p->id, p->host, p->port,
                    ac->c.errstr);
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = t;
    l->ac = ac;
    l->leader_id = p->id;
    l->connected = 0;
    l->db = 0;
    if (redisLibevAttach(t->loop, ac) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, fwd_connect_cb) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, fwd_disconnect_cb) != REDIS_OK)
        abort();
    if (t->secret_len > 0) {
        const char *argv[3] = {"RAFT.AUTH", t->secret, t->self_str};
        size_t lens[3] = {9, t->secret_len, strlen(t->self_str)};
        if (redisAsyncCommandArgv(ac, fwd_auth_cb, NULL, 3, argv, lens) != REDIS_OK) abort();
    }
    if (l->password_len) {
        const char *argv[2] = {"AUTH", l->password};
        size_t lens[2] = {4, l->password_len};
        if (redisAsyncCommandArgv(ac, fwd_auth_cb, NULL, 2, argv, lens) != REDIS_OK) abort();
    }
    fwd_arm(t, t->lim.connect_timeout_ms);
    return 0;
}

/* argv sent on l in database db: alone when the link's side on the leader
 * has db selected, else behind RAFTCACHE.SELECT db in the same buffer (it
 * replies nothing, so the one callback gets the command's reply). */
static int fwd_send(struct fwd_link *l, int db, int argc, const char **argv, const size_t *lens)
{
    if (db == l->db) return redisAsyncCommandArgv(l->ac, fwd_reply_cb, NULL, argc, argv, lens);
    char n[16];
    const char *sel[2] = {"RAFTCACHE.SELECT", n};
    size_t sel_lens[2] = {16, (size_t)snprintf(n, sizeof n, "%d", db)};
    char *a = NULL, *b = NULL;
    int alen = redisFormatCommandArgv(&a, 2, sel, sel_lens);
    int blen = redisFormatCommandArgv(&b, argc, argv, lens);
    int rc = REDIS_ERR;
    if (alen > 0 && blen > 0) {
        char *both = util_xmalloc((size_t)alen + (size_t)blen);
        memcpy(both, a, (size_t)alen);
        memcpy(both + alen, b, (size_t)blen);
        rc = redisAsyncFormattedCommand(l->ac, fwd_reply_cb, NULL, both,
                                        (size_t)alen + (size_t)blen);
        free(both);
    }
    redisFreeCommand(a);
    redisFreeCommand(b);
    if (rc == REDIS_OK) l->db = db;
    return rc;
}

int transport_forward(struct transport *t, uint64_t leader_id, int db, int argc, const char **argv,
                      const size_t *lens, transport_reply_fn *cb, void *ud)
{
    struct fwd_link *l = &t->fwd;
    if (argc < 1 || !cb) return TRANSPORT_EINVAL;
    const struct peer *p = transport_find_peer(t, leader_id, NULL);
    if (!p) return TRANSPORT_ENOPEER;
    uint64_t cost = TRANSPORT_CMD_OVERHEAD_BYTES;
    for (int i = 0; i < argc; i++)
        cost += lens[i];
    if (transport_queue_full(&t->lim, l->len, l->bytes, cost)) return TRANSPORT_EFULL;
    if (l->ac && l->leader_id != leader_id) fwd_lost(t, "the leader changed", 0);
    if (!l->ac && fwd_open(t, p) != 0) return TRANSPORT_ENOTCONN;
    if (fwd_send(l, db, argc, argv, lens) != REDIS_OK) return TRANSPORT_ENOTCONN;
    int was_idle = l->len == l->n_failed;
    struct fwd f = {.cb = cb, .ud = ud, .cost = cost};
    fwd_push(l, &f);
    if (was_idle && l->connected) fwd_arm(t, l->timeout_ms);
    return TRANSPORT_OK;
}

void transport_forward_cancel_ud(struct transport *t, const void *ud)
{
    struct fwd_link *l = &t->fwd;
    for (size_t i = 0; i < l->len; i++) {
        struct fwd *f = fwd_at(l, i);
        if (f->ud == ud) f->cb = NULL;
    }
}

uint32_t transport_forward_pending(const struct transport *t)
{
    return (uint32_t)t->fwd.len;
}

void transport_set_forward(struct transport *t, const char *password, size_t password_len,
                           uint32_t timeout_ms)
{
    struct fwd_link *l = &t->fwd;
    ASSERT(timeout_ms > 0 && (password || password_len == 0));
    l->timeout_ms = timeout_ms;
    if (password_len == l->password_len &&
        memcmp(password ? password : "", l->password, password_len) == 0)
        return;
    explicit_bzero(l->password, l->password_len);
    free(l->password);
    l->password = util_xcalloc(1, password_len + 1);
    if (password_len) memcpy(l->password, password, password_len);
    l->password_len = password_len;
}

void transport_fwd_init(struct transport *t)
{
    struct fwd_link *l = &t->fwd;
    ev_init(&l->timer, fwd_timer_cb);
    l->timer.data = t;
    ev_init(&l->deliver, deliver_cb);
    l->deliver.data = t;
    l->password = util_xcalloc(1, 1);
    l->timeout_ms = t->lim.reply_timeout_ms ? t->lim.reply_timeout_ms : 15000;
    resp_out_init(&l->enc, 2);
}

/* Shutdown: pending forwards are dropped without callbacks. */
void transport_fwd_free(struct transport *t)
{
    struct fwd_link *l = &t->fwd;
    ev_timer_stop(t->loop, &l->timer);
    ev_timer_stop(t->loop, &l->deliver);
    redisAsyncContext *ac = l->ac;
    l->ac = NULL;
    if (ac) redisAsyncFree(ac);
    free(l->q);
    explicit_bzero(l->password, l->password_len);
    free(l->password);
    resp_out_free(&l->enc);
}

void transport_fwd_peer_changed(struct transport *t, uint64_t id)
{
    if (t->fwd.ac && t->fwd.leader_id == id) fwd_lost(t, "the leader's address changed", 0);
}
