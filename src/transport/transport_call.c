/*
 * src/transport/transport_call.c - part of the transport module (src/transport/transport.h):
 * one-shot requests (transport_call()), each on a link of its own to any
 * address, for a node that is not a peer yet.
 *
 * Unlike a peer link's (src/transport/transport.c), a request's ac->data points at the
 * call (struct call), which clears it before freeing the link itself, so the
 * callbacks hiredis runs during that free find no call. When hiredis frees a link on its own (after
 * a failed connect or a disconnect) the call outlives it: the failure is
 * delivered by the call's timer, on a later loop iteration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "resp/writer.h"
#include "base/log.h"
#include "base/util.h"
#include "transport/transport.h"
#include "transport/transport_int.h"

/* One one-shot request, from transport_call() to its callback. */
struct call {
    struct transport *t;
    redisAsyncContext *ac; /* the request's link; NULL once failed */
    ev_timer timer;        /* the request's timeout; then delivers a failure */
    transport_reply_fn *cb;
    void *ud;
    char addr[TRANSPORT_HOST_MAX + 8]; /* "host:port", for the log */
};

/* Forgets c and closes its link (if not already handed to hiredis). */
static void call_free(struct call *c)
{
    struct transport *t = c->t;
    for (size_t i = 0; i < t->n_calls; i++)
        if (t->calls[i] == c) {
            t->calls[i] = t->calls[--t->n_calls];
            break;
        }
    ev_timer_stop(t->loop, &c->timer);
    redisAsyncContext *ac = c->ac;
    if (ac) {
        c->ac = NULL;
        ac->data = NULL; /* deferred by hiredis when inside its callback */
        redisAsyncFree(ac);
    }
    free(c);
}

/* Frees c, then calls back: the callback may call, cancel or free t. */
static void call_finish(struct call *c, const char *resp, size_t len)
{
    transport_reply_fn *cb = c->cb;
    void *ud = c->ud;
    call_free(c);
    cb(ud, resp, len);
}

static void call_arm(struct call *c, uint32_t ms)
{
    ev_timer_stop(c->t->loop, &c->timer);
    ev_timer_set(&c->timer, (double)ms / 1000.0, 0.0);
    ev_timer_start(c->t->loop, &c->timer);
}

static void call_log_failure(const struct call *c, const char *why)
{
    LOG_NOTICE("Request to %s failed: %s", c->addr, why);
}

/* Inside hiredis's connect or disconnect callback, which frees the link when
 * it returns: the failure waits for the loop. */
static void call_lost(struct call *c, const char *why)
{
    call_log_failure(c, why);
    c->ac = NULL;
    call_arm(c, 0);
}

static void call_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct call *c = w->data;
    if (c->ac) call_log_failure(c, "no reply within the timeout");
    call_finish(c, NULL, 0);
}

static struct call *call_of(const redisAsyncContext *ac)
{
    struct call *c = ac->data;
    return c && c->ac == ac ? c : NULL;
}

static void call_connect_cb(const redisAsyncContext *ac, int status)
{
    struct call *c = call_of(ac);
    if (c && status != REDIS_OK) call_lost(c, ac->c.errstr);
}

static void call_disconnect_cb(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct call *c = call_of(ac);
    if (c) call_lost(c, ac->c.errstr[0] ? ac->c.errstr : "connection closed");
}

static void call_auth_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    const redisReply *reply = r;
    struct call *c = reply ? call_of(ac) : NULL;
    if (!c || reply->type != REDIS_REPLY_ERROR) return;
    /* The other node's reason reaches the caller as an error reply: a
     * wrong raft-secret is worth more than "no reply" to an operator. */
    char why[256];
    int n = snprintf(why, sizeof why, "-RAFT.AUTH refused: %s\r\n", reply->str);
    call_log_failure(c, why + 1);
    call_finish(c, why, n > 0 && (size_t)n < sizeof why ? (size_t)n : sizeof why - 1);
}

static void call_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)privdata;
    struct call *c = r ? call_of(ac) : NULL;
    if (!c) return;
    struct resp_out enc;
    resp_out_init(&enc, 2);
    if (transport_reply_encode(r, &enc) == 0) {
        call_finish(c, enc.data, enc.len);
    } else {
        call_log_failure(c, "the reply could not be re-encoded");
        call_finish(c, NULL, 0);
    }
    resp_out_free(&enc);
}

int transport_call(struct transport *t, const char *host, int port, int argc, const char **argv,
                   const size_t *lens, uint32_t timeout_ms, transport_reply_fn *cb, void *ud)
{
    size_t host_len = host ? strlen(host) : 0;
    if (argc < 1 || !argv || !lens || !cb || timeout_ms == 0 || host_len == 0 ||
        host_len >= TRANSPORT_HOST_MAX || port < 1 || port > 65535)
        return TRANSPORT_EINVAL;
    if (t->n_calls == TRANSPORT_CALLS_MAX) return TRANSPORT_EFULL;
    struct call *c = util_xcalloc(1, sizeof *c);
    c->t = t;
    c->cb = cb;
    c->ud = ud;
    snprintf(c->addr, sizeof c->addr, "%s:%d", host, port);
    ev_init(&c->timer, call_timer_cb);
    c->timer.data = c;
    t->calls[t->n_calls++] = c;
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (!ac) abort(); /* allocation failure */
    if (ac->err) {    /* failed before any I/O (e.g. unresolvable host) */
        call_lost(c, ac->c.errstr);
        redisAsyncFree(ac);
        return TRANSPORT_OK;
    }
    ac->data = c;
    c->ac = ac;
    const char *auth[3] = {"RAFT.AUTH", t->secret, t->self_str};
    size_t auth_lens[3] = {9, t->secret_len, strlen(t->self_str)};
    if (redisLibevAttach(t->loop, ac) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, call_connect_cb) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, call_disconnect_cb) != REDIS_OK ||
        (t->secret_len > 0 &&
         redisAsyncCommandArgv(ac, call_auth_cb, NULL, 3, auth, auth_lens) != REDIS_OK) ||
        redisAsyncCommandArgv(ac, call_reply_cb, NULL, argc, argv, lens) != REDIS_OK)
        abort(); /* only fails on a fresh context if memory ran out */
    call_arm(c, timeout_ms);
    return TRANSPORT_OK;
}

void transport_call_cancel_ud(struct transport *t, const void *ud)
{
    for (size_t i = t->n_calls; i-- > 0;)
        if (t->calls[i]->ud == ud) call_free(t->calls[i]);
}

/* Shutdown: requests in flight are dropped without callbacks. */
void transport_calls_free(struct transport *t)
{
    while (t->n_calls > 0)
        call_free(t->calls[t->n_calls - 1]);
}
