/*
 * src/transport/transport_call.c - part of the transport module (src/transport/transport.h):
 * one-shot requests (transport_call()), each on a link of its own
 * (src/transport/transport_link.c, TLS when the peer links are) to any
 * address, for a node that is not a peer yet. The reply reaches the caller
 * as the bytes the other node wrote.
 *
 * A failure seen inside one of the link's callbacks is delivered by the
 * call's timer, on a later loop iteration: the caller's callback may then
 * start, cancel or free what it likes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "base/log.h"
#include "base/util.h"
#include "transport/transport.h"
#include "transport/transport_int.h"

/* One one-shot request, from transport_call() to its callback. */
struct call {
    struct transport *t;
    struct rlink *link; /* the request's link; NULL once failed */
    int auth_pending;   /* RAFT.AUTH's reply comes first */
    ev_timer timer;     /* the request's timeout; then delivers a failure */
    transport_reply_fn *cb;
    void *ud;
    char addr[TRANSPORT_HOST_MAX + 8]; /* "host:port", for the log */
};

/* Forgets c and closes its link. */
static void call_free(struct call *c)
{
    struct transport *t = c->t;
    for (size_t i = 0; i < t->n_calls; i++)
        if (t->calls[i] == c) {
            t->calls[i] = t->calls[--t->n_calls];
            break;
        }
    ev_timer_stop(t->loop, &c->timer);
    struct rlink *l = c->link;
    c->link = NULL;
    rlink_close(l); /* deferred by the link when inside its callback */
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

static void call_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct call *c = w->data;
    if (c->link) call_log_failure(c, "no reply within the timeout");
    call_finish(c, NULL, 0);
}

static void call_connected(void *ud)
{
    (void)ud;
}

/* The link is lost (it frees itself): the failure waits for the loop. */
static void call_lost(void *ud, const char *why)
{
    struct call *c = ud;
    call_log_failure(c, why);
    c->link = NULL;
    call_arm(c, 0);
}

static void call_frame(void *ud, const char *frame, size_t len)
{
    struct call *c = ud;
    if (c->auth_pending) {
        c->auth_pending = 0;
        if (frame[0] != '-') return;
        /* The other node's reason reaches the caller as an error reply: a
         * wrong raft-secret is worth more than "no reply" to an operator. */
        char why[256];
        int n = snprintf(why, sizeof why, "-RAFT.AUTH refused: %.*s\r\n",
                         (int)(len > 3 ? (len - 3 < 200 ? len - 3 : 200) : 0), frame + 1);
        call_log_failure(c, why + 1);
        call_finish(c, why, n > 0 && (size_t)n < sizeof why ? (size_t)n : sizeof why - 1);
        return;
    }
    call_finish(c, frame, len);
}

static const struct rlink_ops call_ops = {call_connected, call_frame, call_lost};

int transport_call(struct transport *t, const char *host, int port, int argc, const char **argv,
                   const size_t *lens, uint32_t timeout_ms, transport_reply_fn *cb, void *ud)
{
    size_t host_len = host ? strlen(host) : 0;
    if (argc < 1 || argc > TRANSPORT_CALL_ARGS_MAX || !argv || !lens || !cb || timeout_ms == 0 ||
        host_len == 0 || host_len >= TRANSPORT_HOST_MAX || port < 1 || port > 65535)
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
    c->link = rlink_open(t->loop, host, port, t->tls, &call_ops, c);
    if (!c->link) { /* failed before any I/O (e.g. unresolvable host) */
        call_log_failure(c, "cannot connect (address or socket)");
        call_arm(c, 0);
        return TRANSPORT_OK;
    }
    if (t->secret_len > 0) {
        struct resp_arg auth[3] = {
            {"RAFT.AUTH", 9}, {t->secret, t->secret_len}, {t->self_str, strlen(t->self_str)}};
        rlink_send_argv(c->link, 3, auth);
        c->auth_pending = 1;
    }
    struct resp_arg a[TRANSPORT_CALL_ARGS_MAX];
    for (int i = 0; i < argc; i++)
        a[i] = (struct resp_arg){argv[i], lens[i]};
    rlink_send_argv(c->link, argc, a);
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
