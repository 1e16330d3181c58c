/*
 * src/transport/transport_link.c - part of the transport module
 * (src/transport/transport.h): a raw RESP client connection (struct rlink),
 * plain or TLS, that sends bytes as given and hands back each reply's bytes
 * as they came, cut by resp/frame.h, without decoding them. Every outbound
 * link of the node is one: the peer links and the pub/sub links
 * (src/transport/transport.c), one-shot requests
 * (src/transport/transport_call.c) and the proxy links
 * (src/transport/transport_proxy.c), which relay replies byte for byte: RESP3
 * types, attributes and error texts reach the client as the leader wrote
 * them.
 *
 * OUTPUT is a queue of segments written in order: small sends are copied
 * into the last segment (so a burst of messages leaves in few writes and,
 * over TLS, few records); a large one is kept as its own segment, taken
 * without a copy when the caller hands its buffer over (rlink_send_owned).
 * A partial write costs nothing but an offset: a message of N bytes is
 * written in time proportional to N whatever the socket takes at a time.
 * Plain links write with writev() up to WRITEV_MAX segments at once.
 *
 * TLS (a tls context given to rlink_open): once TCP connects, the handshake
 * runs on the loop (src/tls/tls.h: the server's certificate must be signed
 * by the CA); the link counts as connected, and `connected` is called, only
 * when it is done. A failed handshake is a lost link.
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
#include <sys/uio.h>
#include <unistd.h>

#include "base/util.h"
#include "raft/raft_assert.h"
#include "resp/frame.h"
#include "tls/tls.h"
#include "transport/transport_int.h"

#define READ_CHUNK (16 * 1024)
#define KEEPALIVE_S 15
#define SEG_SMALL (64 * 1024) /* sends up to this are copied into the last segment */
#define SEG_MIN_CAP (16 * 1024)
#define WRITEV_MAX 16

struct seg {
    char *data; /* owned */
    size_t len, cap, off;
};

struct rlink {
    struct ev_loop *loop;
    const struct rlink_ops *ops;
    void *ud;
    int fd;
    int tcp_up;           /* the TCP connect completed */
    int connected;        /* and the TLS handshake, on a TLS link */
    int in_cb;            /* a callback of this link is running */
    int closed;           /* rlink_close() was called inside one */
    int paused;           /* rlink_pause(): reading stopped */
    struct tls_conn *tls; /* a TLS link's; NULL on a plain one */
    struct tls_ctx *tls_ctx;
    int tls_write_wants_read; /* a TLS write waits for input */
    ev_io rio, wio;
    char *in; /* unconsumed input: in[0..in_len) */
    size_t in_len, in_cap;
    struct fifo segs;        /* struct seg: pending output, oldest first */
    uint64_t pending;        /* bytes queued and not written */
    struct resp_out scratch; /* rlink_send_argv's framing */
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

static struct seg *seg_at(const struct rlink *l, size_t i)
{
    return fifo_at(&l->segs, i);
}

static void free_link(struct rlink *l)
{
    ev_io_stop(l->loop, &l->rio);
    ev_io_stop(l->loop, &l->wio);
    tls_conn_free(l->tls);
    tls_ctx_free(l->tls_ctx);
    if (l->fd >= 0) close(l->fd);
    for (size_t i = 0; i < fifo_len(&l->segs); i++)
        free(seg_at(l, i)->data);
    fifo_free(&l->segs);
    free(l->in);
    resp_out_free(&l->scratch);
    free(l);
}

void rlink_rebind(struct rlink *l, const struct rlink_ops *ops, void *ud)
{
    l->ops = ops;
    l->ud = ud;
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

/* ------------------------------------------------------------- output */

static struct seg *seg_push(struct rlink *l)
{
    return fifo_push(&l->segs);
}

static void want_write(struct rlink *l)
{
    if (l->connected && !l->tls_write_wants_read && !ev_is_active(&l->wio))
        ev_io_start(l->loop, &l->wio);
}

void rlink_send_bytes(struct rlink *l, const char *p, size_t len)
{
    if (!len) return;
    struct seg *tail = fifo_len(&l->segs) ? seg_at(l, fifo_len(&l->segs) - 1) : NULL;
    if (len <= SEG_SMALL && tail && tail->cap - tail->len >= len) {
        memcpy(tail->data + tail->len, p, len);
        tail->len += len;
    } else {
        struct seg *s = seg_push(l);
        s->cap = len < SEG_MIN_CAP ? SEG_MIN_CAP : len;
        s->data = util_xmalloc(s->cap);
        memcpy(s->data, p, len);
        s->len = len;
    }
    l->pending += len;
    want_write(l);
}

void rlink_send_owned(struct rlink *l, char *p, size_t len)
{
    if (len <= SEG_SMALL) {
        rlink_send_bytes(l, p, len);
        free(p);
        return;
    }
    struct seg *s = seg_push(l);
    s->data = p;
    s->len = s->cap = len;
    l->pending += len;
    want_write(l);
}

void rlink_send_argv(struct rlink *l, int argc, const struct resp_arg *argv)
{
    ASSERT(argc > 0);
    resp_add_array_len(&l->scratch, argc);
    for (int i = 0; i < argc; i++)
        resp_add_bulk(&l->scratch, argv[i].ptr, argv[i].len);
    rlink_send_bytes(l, l->scratch.data, l->scratch.len);
    resp_out_consume(&l->scratch, l->scratch.len);
    resp_out_shrink(&l->scratch, SEG_MIN_CAP);
}

/* Marks n bytes written. */
static void consume(struct rlink *l, size_t n)
{
    ASSERT(n <= l->pending);
    l->pending -= n;
    while (n > 0) {
        struct seg *s = seg_at(l, 0);
        size_t left = s->len - s->off;
        size_t k = n < left ? n : left;
        s->off += k;
        n -= k;
        if (s->off < s->len) break;
        free(s->data);
        fifo_pop(&l->segs);
    }
}

/* One write of what is queued: bytes taken, 0 when the socket is full, -1
 * on a broken link (why set). */
static ssize_t write_some(struct rlink *l, const char **why)
{
    if (l->tls) {
        struct seg *s = seg_at(l, 0);
        int st;
        static char err[256];
        size_t n = tls_conn_write(l->tls, s->data + s->off, s->len - s->off, &st, err, sizeof err);
        if (n > 0) return (ssize_t)n;
        if (st == TLS_WANT_READ) l->tls_write_wants_read = 1;
        if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) return 0;
        *why = st == TLS_CLOSED ? "connection closed" : err;
        return -1;
    }
    struct iovec iov[WRITEV_MAX];
    int n = 0;
    for (size_t i = 0; i < fifo_len(&l->segs) && n < WRITEV_MAX; i++, n++) {
        struct seg *s = seg_at(l, i);
        iov[n] = (struct iovec){s->data + s->off, s->len - s->off};
    }
    ssize_t w = writev(l->fd, iov, n);
    if (w >= 0) return w;
    if (errno == EAGAIN || errno == EINTR) return 0;
    *why = strerror(errno);
    return -1;
}

int rlink_flush(struct rlink *l)
{
    if (!l->connected) return 0; /* it goes once connected */
    while (l->pending > 0 && !l->tls_write_wants_read) {
        const char *why = NULL;
        ssize_t n = write_some(l, &why);
        if (n < 0) {
            lost(l, why);
            return -1;
        }
        if (n == 0) break;
        consume(l, (size_t)n);
    }
    if (l->pending == 0 || l->tls_write_wants_read)
        ev_io_stop(l->loop, &l->wio);
    else if (!ev_is_active(&l->wio))
        ev_io_start(l->loop, &l->wio);
    return 0;
}

uint64_t rlink_pending(const struct rlink *l)
{
    return l->pending;
}

int rlink_fd(const struct rlink *l)
{
    return l->fd;
}

/* ---------------------------------------------------------- connecting */

/* Connected at last (TCP, and TLS when asked): the owner hears of it, and
 * what it queued meanwhile goes. */
static void now_connected(struct rlink *l)
{
    l->connected = 1;
    if (!l->paused) ev_io_start(l->loop, &l->rio);
    l->in_cb++;
    l->ops->connected(l->ud);
    l->in_cb--;
    if (l->closed) {
        free_link(l);
        return;
    }
    rlink_flush(l);
}

/* A TLS link's handshake, one step. */
static void handshake_step(struct rlink *l)
{
    char err[256];
    int st = tls_conn_handshake(l->tls, err, sizeof err);
    if (st == TLS_OK) {
        ev_io_stop(l->loop, &l->wio);
        now_connected(l);
        return;
    }
    if (st == TLS_WANT_READ) {
        ev_io_stop(l->loop, &l->wio);
        ev_io_start(l->loop, &l->rio);
        return;
    }
    if (st == TLS_WANT_WRITE) {
        ev_io_start(l->loop, &l->wio);
        return;
    }
    char why[300];
    snprintf(why, sizeof why, "TLS handshake: %s", err);
    lost(l, why);
}

static void tcp_up(struct rlink *l)
{
    int err = 0;
    socklen_t n = sizeof err;
    if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0) err = errno;
    if (err) {
        lost(l, strerror(err));
        return;
    }
    l->tcp_up = 1;
    if (!l->tls_ctx) {
        now_connected(l);
        return;
    }
    l->tls = tls_conn_connect(l->tls_ctx, l->fd);
    if (!l->tls) {
        lost(l, "TLS: cannot set up the connection");
        return;
    }
    handshake_step(l);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rlink *l = w->data;
    if (!l->tcp_up) {
        tcp_up(l);
        return;
    }
    if (!l->connected) {
        handshake_step(l);
        return;
    }
    rlink_flush(l);
}

/* --------------------------------------------------------------- input */

/* A raw link's input to its owner: how much of it was consumed. */
static size_t deliver_bytes(struct rlink *l)
{
    l->in_cb++;
    size_t used = l->ops->bytes(l->ud, l->in, l->in_len);
    l->in_cb--;
    ASSERT(used <= l->in_len);
    return used;
}

/* Hands over every complete frame in l->in (a raw link's bytes). 0, or -1
 * when the link died. */
static int deliver_frames(struct rlink *l)
{
    size_t start = 0;
    if (l->ops->bytes && !l->paused) {
        start = deliver_bytes(l);
        if (l->closed) {
            free_link(l);
            return -1;
        }
    }
    while (!l->ops->bytes) {
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

/* One read into l->in: bytes read, 0 when nothing is there, -1 when the
 * link is lost (why set). */
static ssize_t read_some(struct rlink *l, const char **why)
{
    if (l->in_cap - l->in_len < READ_CHUNK) {
        size_t want = l->in_len + (l->frame.body > READ_CHUNK ? l->frame.body : READ_CHUNK);
        l->in_cap = want > l->in_cap * 2 ? want : l->in_cap * 2;
        l->in = util_xrealloc(l->in, l->in_cap);
    }
    size_t room = l->in_cap - l->in_len;
    if (l->tls) {
        int st;
        static char err[256];
        size_t n = tls_conn_read(l->tls, l->in + l->in_len, room, &st, err, sizeof err);
        if (n > 0) return (ssize_t)n;
        if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) return 0;
        *why = st == TLS_CLOSED ? "connection closed" : err;
        return -1;
    }
    ssize_t n = read(l->fd, l->in + l->in_len, room);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    *why = n == 0 ? "connection closed" : strerror(errno);
    return -1;
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rlink *l = w->data;
    if (!l->connected) {
        handshake_step(l);
        return;
    }
    if (l->tls_write_wants_read) { /* the input a TLS write waited for */
        l->tls_write_wants_read = 0;
        if (rlink_flush(l) != 0) return;
    }
    /* A TLS record may hold more than a read takes: the rest is read now,
     * no readiness would announce it. */
    do {
        const char *why = NULL;
        ssize_t n = read_some(l, &why);
        if (n < 0) {
            lost(l, why);
            return;
        }
        if (n == 0) return;
        l->in_len += (size_t)n;
        if (deliver_frames(l) != 0) return;
    } while (l->tls && tls_conn_pending(l->tls) > 0);
}

struct rlink *rlink_open(struct ev_loop *loop, const char *host, int port, struct tls_ctx *tls,
                         const struct rlink_ops *ops, void *ud)
{
    ASSERT(ops && ops->frame && ops->lost && ops->connected);
    int fd = -1;
    if (open_socket(host, port, &fd) != 0) return NULL;
    struct rlink *l = util_xcalloc(1, sizeof *l);
    fifo_init(&l->segs, sizeof(struct seg));
    l->loop = loop;
    l->ops = ops;
    l->ud = ud;
    l->fd = fd;
    l->tls_ctx = tls;
    if (tls) tls_ctx_ref(tls);
    resp_out_init(&l->scratch, 2);
    resp_frame_reset(&l->frame);
    ev_io_init(&l->rio, read_cb, fd, EV_READ);
    ev_io_init(&l->wio, write_cb, fd, EV_WRITE);
    l->rio.data = l;
    l->wio.data = l;
    ev_io_start(loop, &l->wio); /* writable: connected (or refused) */
    return l;
}

int rlink_connected(const struct rlink *l)
{
    return l->connected;
}

void rlink_pause(struct rlink *l, int paused)
{
    if (l->paused == paused) return;
    l->paused = paused;
    if (!l->connected || l->closed) return;
    if (paused) {
        ev_io_stop(l->loop, &l->rio);
    } else {
        ev_io_start(l->loop, &l->rio);
        if (l->in_len > 0 && !l->in_cb) deliver_frames(l); /* what waited */
    }
}
