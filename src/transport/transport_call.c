/*
 * src/transport/transport_call.c - part of the transport module (src/transport/transport.h):
 * one-shot requests (transport_call()), each on a link of its own
 * (src/transport/transport_link.c, TLS when the peer links are) to any
 * address, for a node that is not a peer yet. The reply reaches the caller
 * as the bytes the other node wrote. A pipeline (transport_call_pipeline())
 * is the same request with several commands, for any RESP server.
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
#include "base/text.h"
#include "base/util.h"
#include "transport/transport.h"
#include "transport/transport_int.h"

/* One one-shot request or pipeline, from its start to its callback. */
struct call {
    struct transport *t;
    struct rlink *link;            /* the request's link; NULL once failed */
    int auth_pending;              /* RAFT.AUTH's reply comes first */
    int connected;                 /* the link connected once */
    ev_timer timer;                /* the request's timeout; then delivers a failure */
    transport_reply_fn *cb;        /* a one-shot request's callback, or NULL */
    transport_replies_fn *pipe_cb; /* a pipeline's */
    void *ud;
    size_t want, got;                  /* a pipeline's commands, and their replies so far */
    uint32_t timeout_ms;               /* a pipeline's wait for each reply */
    struct text in;                    /* those replies' bytes, back to back */
    size_t *ends;                      /* where each reply ends in `in` */
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
    free(text_take(&c->in));
    free(c->ends);
    free(c);
}

/* A pipeline's link kept idle for the next pipeline to its address. */
struct pipe_idle {
    struct transport *t;
    struct rlink *link;
    ev_timer timer; /* TRANSPORT_PIPE_IDLE_S unused: closed */
    char addr[TRANSPORT_HOST_MAX + 8];
};

static void idle_free(struct pipe_idle *p, int close)
{
    struct transport *t = p->t;
    for (size_t i = 0; i < t->n_idle; i++)
        if (t->idle[i] == p) {
            t->idle[i] = t->idle[--t->n_idle];
            break;
        }
    ev_timer_stop(t->loop, &p->timer);
    if (close) rlink_close(p->link);
    free(p);
}

static void idle_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    idle_free(w->data, 1);
}

static void idle_connected(void *ud)
{
    (void)ud;
}

/* A reply nobody asked for: the link is out of step, never reused. */
static void idle_frame(void *ud, const char *frame, size_t len)
{
    (void)frame;
    (void)len;
    idle_free(ud, 1);
}

static void idle_lost(void *ud, const char *why)
{
    (void)why;
    idle_free(ud, 0); /* the link frees itself */
}

static const struct rlink_ops idle_ops = {idle_connected, idle_frame, idle_lost};

/* c's link, done with, kept for the next pipeline to its address while
 * there is room (c no longer owns it). */
static void pipe_park(struct call *c)
{
    struct transport *t = c->t;
    if (!c->link || t->n_idle == TRANSPORT_PIPE_IDLE_MAX) return;
    struct pipe_idle *p = util_xcalloc(1, sizeof *p);
    p->t = t;
    p->link = c->link;
    c->link = NULL;
    memcpy(p->addr, c->addr, sizeof p->addr);
    rlink_rebind(p->link, &idle_ops, p);
    ev_timer_init(&p->timer, idle_timer_cb, TRANSPORT_PIPE_IDLE_S, 0.0);
    p->timer.data = p;
    ev_timer_start(t->loop, &p->timer);
    t->idle[t->n_idle++] = p;
}

/* A kept link to addr, taken out of the kept ones; NULL when none. */
static struct rlink *idle_take(struct transport *t, const char *addr)
{
    for (size_t i = 0; i < t->n_idle; i++) {
        struct pipe_idle *p = t->idle[i];
        if (strcmp(p->addr, addr) != 0) continue;
        struct rlink *l = p->link;
        idle_free(p, 0);
        return l;
    }
    return NULL;
}

size_t transport_pipe_idle(const struct transport *t)
{
    return t->n_idle;
}

/* A pipeline's end: c is freed (its link kept when every reply came),
 * then its replies so far go to the callback (which may call, cancel or
 * free t). */
static void pipe_finish(struct call *c, const char *why)
{
    if (!why) pipe_park(c);
    size_t n = c->got;
    size_t *ends = c->ends;
    char *in = text_take(&c->in);
    transport_replies_fn *cb = c->pipe_cb;
    void *ud = c->ud;
    c->ends = NULL;
    call_free(c);
    struct resp_arg *r = util_xcalloc(n ? n : 1, sizeof *r);
    for (size_t i = 0, at = 0; i < n; at = ends[i++])
        r[i] = (struct resp_arg){in + at, ends[i] - at};
    cb(ud, n, r, why);
    free(r);
    free(in);
    free(ends);
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
    if (c->pipe_cb)
        pipe_finish(c, c->connected ? TRANSPORT_PIPE_LOST : TRANSPORT_PIPE_CONNECT);
    else
        call_finish(c, NULL, 0);
}

static void call_connected(void *ud)
{
    struct call *c = ud;
    c->connected = 1;
}

/* One more reply of a pipeline: the last one ends it. */
static void pipe_frame(struct call *c, const char *frame, size_t len)
{
    text_put(&c->in, frame, len);
    c->ends[c->got++] = c->in.len;
    if (c->got == c->want)
        pipe_finish(c, NULL);
    else
        call_arm(c, c->timeout_ms); /* the wait for the next reply starts now */
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
    if (c->pipe_cb) {
        pipe_frame(c, frame, len);
        return;
    }
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

/* 1 if host:port may be dialed and timeout_ms is one. */
static int call_target_ok(const char *host, int port, uint32_t timeout_ms)
{
    size_t host_len = host ? strlen(host) : 0;
    return timeout_ms > 0 && host_len > 0 && host_len < TRANSPORT_HOST_MAX && port >= 1 &&
           port <= 65535;
}

/* A new call to host:port, registered, with no link yet. */
static struct call *call_new(struct transport *t, const char *host, int port, void *ud)
{
    struct call *c = util_xcalloc(1, sizeof *c);
    c->t = t;
    c->ud = ud;
    snprintf(c->addr, sizeof c->addr, "%s:%d", host, port);
    ev_init(&c->timer, call_timer_cb);
    c->timer.data = c;
    t->calls[t->n_calls++] = c;
    return c;
}

/* A new call to host:port, registered and dialing (tls NULL: plain); NULL
 * when the link cannot even start (the failure is delivered from the loop). */
static struct call *call_open(struct transport *t, const char *host, int port, struct tls_ctx *tls,
                              void *ud)
{
    struct call *c = call_new(t, host, port, ud);
    c->link = rlink_open(t->loop, host, port, tls, &call_ops, c);
    if (!c->link) { /* failed before any I/O (e.g. unresolvable host) */
        call_log_failure(c, "cannot connect (address or socket)");
        call_arm(c, 0);
        return NULL;
    }
    return c;
}

int transport_call_pipeline(struct transport *t, const char *host, int port,
                            const struct transport_cmd *cmds, int ncmds, uint32_t timeout_ms,
                            transport_replies_fn *cb, void *ud)
{
    if (ncmds < 1 || ncmds > TRANSPORT_PIPE_CMDS_MAX || !cmds || !cb ||
        !call_target_ok(host, port, timeout_ms))
        return TRANSPORT_EINVAL;
    for (int i = 0; i < ncmds; i++)
        if (cmds[i].argc < 1 || cmds[i].argc > TRANSPORT_CALL_ARGS_MAX || !cmds[i].argv)
            return TRANSPORT_EINVAL;
    if (t->n_calls == TRANSPORT_CALLS_MAX) return TRANSPORT_EFULL;
    char addr[TRANSPORT_HOST_MAX + 8];
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    struct call *c = call_new(t, host, port, ud);
    c->pipe_cb = cb;
    c->want = (size_t)ncmds;
    c->timeout_ms = timeout_ms;
    c->ends = util_xcalloc((size_t)ncmds, sizeof *c->ends);
    c->link = idle_take(t, addr);
    if (c->link) {
        rlink_rebind(c->link, &call_ops, c);
        c->connected = 1;
    } else {
        c->link = rlink_open(t->loop, host, port, NULL, &call_ops, c);
    }
    if (!c->link) { /* failed before any I/O (e.g. unresolvable host) */
        call_log_failure(c, "cannot connect (address or socket)");
        call_arm(c, 0);
        return TRANSPORT_OK;
    }
    for (int i = 0; i < ncmds; i++)
        rlink_send_argv(c->link, cmds[i].argc, cmds[i].argv);
    call_arm(c, timeout_ms);
    return TRANSPORT_OK;
}

int transport_call(struct transport *t, const char *host, int port, int argc, const char **argv,
                   const size_t *lens, uint32_t timeout_ms, transport_reply_fn *cb, void *ud)
{
    if (argc < 1 || argc > TRANSPORT_CALL_ARGS_MAX || !argv || !lens || !cb ||
        !call_target_ok(host, port, timeout_ms))
        return TRANSPORT_EINVAL;
    if (t->n_calls == TRANSPORT_CALLS_MAX) return TRANSPORT_EFULL;
    struct call *c = call_open(t, host, port, t->tls, ud);
    t->calls[t->n_calls - 1]->cb = cb;
    if (!c) return TRANSPORT_OK;
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
    while (t->n_idle > 0)
        idle_free(t->idle[t->n_idle - 1], 1);
}
