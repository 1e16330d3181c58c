/*
 * src/transport/transport_link.c - part of the transport module
 * (src/transport/transport.h): a raw RESP client connection (struct rlink)
 * that sends bytes as given and hands back each reply's bytes as they came,
 * cut by resp/frame.h, without decoding them. The proxy links
 * (src/transport/transport_proxy.c) relay replies through it byte for byte:
 * RESP3 types, attributes and error texts reach the client as the leader
 * wrote them, which hiredis 0.14 (RESP2 only) could not read.
 *
 * Lifetime: the owner calls rlink_close(); inside a callback of this link the
 * close only marks it, and the event handler frees it when the callback
 * returns, so a callback may close its own link.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "raft/raft_assert.h"
#include "resp/frame.h"
#include "transport/transport_int.h"

#define READ_CHUNK (16 * 1024)
#define KEEPALIVE_S 15

struct rlink {
    struct ev_loop *loop;
    const struct rlink_ops *ops;
    void *ud;
    int fd;
    int connected;
    int in_cb;  /* a callback of this link is running */
    int closed; /* rlink_close() was called inside one */
    ev_io rio, wio;
    char *in; /* unconsumed input: in[0..in_len) */
    size_t in_len, in_cap;
    struct resp_out out; /* bytes not written yet */
    struct resp_frame frame;
};

static int open_socket(const char *host, int port, int *fd)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) return -1;
    int s = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s >= 0 && connect(s, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0) return -1;
    int one = 1, idle = KEEPALIVE_S;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    *fd = s;
    return 0;
}

static void free_link(struct rlink *l)
{
    ev_io_stop(l->loop, &l->rio);
    ev_io_stop(l->loop, &l->wio);
    if (l->fd >= 0) close(l->fd);
    free(l->in);
    resp_out_free(&l->out);
    free(l);
}

void rlink_close(struct rlink *l)
{
    if (!l) return;
    if (l->in_cb) {
        l->closed = 1;
        ev_io_stop(l->loop, &l->rio);
        ev_io_stop(l->loop, &l->wio);
        return;
    }
    free_link(l);
}

/* Runs the lost callback; the link is dead after it either way. */
static void lost(struct rlink *l, const char *why)
{
    l->in_cb++;
    l->ops->lost(l->ud, why);
    l->in_cb--;
    free_link(l); /* the owner forgot it in `lost` */
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rlink *l = w->data;
    if (!l->connected) {
        int err = 0;
        socklen_t n = sizeof err;
        if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0) err = errno;
        if (err) {
            lost(l, strerror(err));
            return;
        }
        l->connected = 1;
        ev_io_start(l->loop, &l->rio);
        l->in_cb++;
        l->ops->connected(l->ud);
        l->in_cb--;
        if (l->closed) {
            free_link(l);
            return;
        }
    }
    size_t pending = resp_out_pending(&l->out);
    if (pending) {
        ssize_t n = write(l->fd, l->out.data, pending);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            lost(l, strerror(errno));
            return;
        }
        if (n > 0) resp_out_consume(&l->out, (size_t)n);
    }
    if (resp_out_pending(&l->out) == 0) {
        ev_io_stop(l->loop, &l->wio);
        resp_out_shrink(&l->out, 64 * 1024);
    }
}

/* Hands over every complete frame in l->in. 0, or -1 when the link died. */
static int deliver_frames(struct rlink *l)
{
    size_t start = 0;
    for (;;) {
        size_t len = 0;
        enum resp_frame_status st =
            resp_frame_feed(&l->frame, l->in + start, l->in_len - start, &len);
        if (st == RESP_FRAME_ERROR) {
            lost(l, l->frame.errmsg);
            return -1;
        }
        if (st == RESP_FRAME_MORE) break;
        l->in_cb++;
        l->ops->frame(l->ud, l->in + start, len);
        l->in_cb--;
        if (l->closed) {
            free_link(l);
            return -1;
        }
        start += len;
    }
    if (start) {
        memmove(l->in, l->in + start, l->in_len - start);
        l->in_len -= start;
    }
    if (l->in_len == 0 && l->in_cap > 4 * READ_CHUNK) {
        free(l->in);
        l->in = NULL;
        l->in_cap = 0;
    }
    return 0;
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rlink *l = w->data;
    if (l->in_cap - l->in_len < READ_CHUNK) {
        size_t want = l->in_len + (l->frame.body > READ_CHUNK ? l->frame.body : READ_CHUNK);
        l->in_cap = want > l->in_cap * 2 ? want : l->in_cap * 2;
        l->in = util_xrealloc(l->in, l->in_cap);
    }
    ssize_t n = read(l->fd, l->in + l->in_len, l->in_cap - l->in_len);
    if (n == 0) {
        lost(l, "connection closed");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) lost(l, strerror(errno));
        return;
    }
    l->in_len += (size_t)n;
    deliver_frames(l);
}

struct rlink *rlink_open(struct ev_loop *loop, const char *host, int port,
                         const struct rlink_ops *ops, void *ud)
{
    ASSERT(ops && ops->frame && ops->lost && ops->connected);
    int fd = -1;
    if (open_socket(host, port, &fd) != 0) return NULL;
    struct rlink *l = util_xcalloc(1, sizeof *l);
    l->loop = loop;
    l->ops = ops;
    l->ud = ud;
    l->fd = fd;
    resp_out_init(&l->out, 2);
    resp_frame_reset(&l->frame);
    ev_io_init(&l->rio, read_cb, fd, EV_READ);
    ev_io_init(&l->wio, write_cb, fd, EV_WRITE);
    l->rio.data = l;
    l->wio.data = l;
    ev_io_start(loop, &l->wio); /* writable: connected (or refused) */
    return l;
}

static void want_write(struct rlink *l)
{
    if (l->connected && !ev_is_active(&l->wio)) ev_io_start(l->loop, &l->wio);
}

void rlink_send_argv(struct rlink *l, int argc, const struct resp_arg *argv)
{
    ASSERT(argc > 0);
    resp_add_array_len(&l->out, argc);
    for (int i = 0; i < argc; i++)
        resp_add_bulk(&l->out, argv[i].ptr, argv[i].len);
    want_write(l);
}

int rlink_connected(const struct rlink *l)
{
    return l->connected;
}
