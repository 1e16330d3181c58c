/*
 * src/transport/transport_out.c - part of the transport module (src/transport/transport.h): what
 * goes out on a peer link (src/transport/transport.c opens it and authenticates it):
 * RAFT.MSG framing and PING, the per-peer queue and its limits, feeding
 * large messages to hiredis, and writing now (transport_flush(),
 * transport_drain()). Its reply callback follows the peer links' lifetime
 * rule (src/transport/transport.c) through transport_reply_taken().
 *
 * Large messages are fed to hiredis in FEED_CHUNK_BYTES pieces, topped up by
 * a prepare watcher as the socket drains: hiredis moves the rest of its
 * output buffer after every partial write, which would make one message of
 * N bytes cost time proportional to N squared (minutes at 512 MB). Commands
 * queued while one is being fed wait in the peer's backlog, in order, and
 * reach hiredis (their reply callbacks with them) once it is wholly handed
 * over, so the bytes on the wire and hiredis's callbacks stay in step.
 */
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/sds.h>

#include "base/clock.h"
#include "base/log.h"
#include "transport/transport.h"
#include "transport/transport_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define FEED_CHUNK_BYTES (1u << 20)
#define FLUSH_CHUNKS_MAX 16 /* per peer and transport_flush() */

static void msg_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct peer *p = transport_reply_taken(ac, r, privdata);
    if (!p) return;
    const redisReply *reply = r;
    if (reply->type == REDIS_REPLY_ERROR) {
        p->errors++;
        LOG_VERBOSE("%s %" PRIu64 " replied with an error: %s", p->t->label, p->id, reply->str);
    }
}

/* A command was queued on the live link; cost is what it adds to pending_bytes. */
static void count_queued(struct peer *p, uint64_t cost)
{
    p->pending_cmds++;
    p->pending_bytes += cost;
}

/* ------------------------------------------------ feeding large commands */

/* Forgets the command being fed and the backlog (the link is gone: their
 * replies will never come, and pending counts are reset by the caller). */
void transport_out_drop(struct peer *p)
{
    free(p->feeding.cmd);
    p->feeding.cmd = NULL;
    for (size_t i = 0; i < p->bl_len; i++)
        free(p->backlog[(p->bl_head + i) % p->bl_cap].cmd);
    p->bl_head = p->bl_len = 0;
}

/* Commands must wait in the backlog: one is being fed, or others wait. */
static int out_busy(const struct peer *p)
{
    return p->feeding.cmd != NULL || p->bl_len > 0;
}

/* Appends m (ownership taken) to the backlog. Bounded by pending_cmds_max,
 * which transport_send() checked. */
static void backlog_push(struct peer *p, struct outmsg m)
{
    if (p->bl_len == p->bl_cap) {
        size_t ncap = p->bl_cap ? p->bl_cap * 2 : 16;
        struct outmsg *n = util_xmalloc(ncap * sizeof *n);
        for (size_t i = 0; i < p->bl_len; i++)
            n[i] = p->backlog[(p->bl_head + i) % p->bl_cap];
        free(p->backlog);
        p->backlog = n;
        p->bl_head = 0;
        p->bl_cap = ncap;
    }
    p->backlog[(p->bl_head + p->bl_len++) % p->bl_cap] = m;
    ASSERT(p->bl_len <= p->bl_cap);
}

/* Hands m (ownership taken) to hiredis: whole if small, else its first
 * chunk, with its reply callback, the rest fed by feed(). */
static int link_append(struct peer *p, struct outmsg m)
{
    size_t first = m.len > FEED_CHUNK_BYTES ? FEED_CHUNK_BYTES : m.len;
    int rc = redisAsyncFormattedCommand(p->ac, m.fn, (void *)(uintptr_t)m.cost, m.cmd, first);
    if (rc != REDIS_OK || first == m.len) {
        free(m.cmd);
        return rc == REDIS_OK ? 0 : -1;
    }
    ASSERT(p->feeding.cmd == NULL); /* callers append only when nothing is being fed */
    p->feeding = m;
    p->fed = first;
    ev_prepare_start(p->t->loop, &p->t->feeder);
    return 0;
}

/* Tops up hiredis's output buffer from the command being fed, while it holds
 * less than half a chunk; the backlog follows once that command is handed
 * over. The rest of the buffer is moved after each partial write, so
 * keeping it small keeps a write's cost bounded. Writes when hiredis is not
 * watching the socket (its buffer was empty) or `now` is set. May lose the
 * link (p->ac NULL after). */
static void feed(struct peer *p, int now)
{
    ASSERT(p->ac != NULL && p->fed <= p->feeding.len);
    redisContext *c = &p->ac->c;
    int was_empty = sdslen(c->obuf) == 0;
    while (p->feeding.cmd && sdslen(c->obuf) < FEED_CHUNK_BYTES / 2) {
        size_t n = p->feeding.len - p->fed;
        if (n > FEED_CHUNK_BYTES) n = FEED_CHUNK_BYTES;
        if (redisAppendFormattedCommand(c, p->feeding.cmd + p->fed, n) != REDIS_OK) abort();
        p->fed += n;
        /* The peer is taking it: the reply timeout measures silence. */
        if (p->t->lim.reply_timeout_ms) transport_arm(p, p->t->lim.reply_timeout_ms);
        if (p->fed < p->feeding.len) continue;
        free(p->feeding.cmd);
        p->feeding.cmd = NULL;
        while (!p->feeding.cmd && p->bl_len > 0) {
            struct outmsg m = p->backlog[p->bl_head];
            p->bl_head = (p->bl_head + 1) % p->bl_cap;
            p->bl_len--;
            if (link_append(p, m) != 0) abort(); /* a live link only fails on OOM */
        }
    }
    /* hiredis stopped watching for writability once its buffer emptied. */
    if ((was_empty || now) && sdslen(c->obuf) > 0) redisAsyncHandleWrite(p->ac);
}

void transport_feeder_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    struct transport *t = w->data;
    int feeding = 0;
    for (size_t i = 0; i < t->n_peers; i++) {
        struct peer *p = t->peers[i];
        if (p->feeding.cmd && p->ac) feed(p, 0); /* may lose the link */
        feeding |= p->feeding.cmd != NULL;
    }
    if (!feeding) ev_prepare_stop(loop, w);
}

/* Queues one framed command on the live link: cmd is copied, or taken when
 * `owned` is set (cmd is then freed whatever the result). */
static int queue_framed(struct peer *p, redisCallbackFn *fn, const char *cmd, size_t len,
                        uint64_t cost, char *owned)
{
    ASSERT(p->ac != NULL); /* the live link */
    if (!out_busy(p) && len <= FEED_CHUNK_BYTES) {
        int rc = redisAsyncFormattedCommand(p->ac, fn, (void *)(uintptr_t)cost, cmd, len);
        free(owned);
        if (rc != REDIS_OK) return -1;
    } else {
        struct outmsg m = {.fn = fn, .cmd = owned, .len = len, .cost = cost};
        if (!m.cmd) {
            m.cmd = util_xmalloc(len ? len : 1);
            memcpy(m.cmd, cmd, len);
        }
        if (out_busy(p))
            backlog_push(p, m);
        else if (link_append(p, m) != 0)
            return -1;
    }
    count_queued(p, cost);
    return 0;
}

/* Queues one command on the live link. */
int transport_queue_cmd(struct peer *p, redisCallbackFn *fn, int argc, const char **argv,
                        const size_t *argvlen, uint64_t cost)
{
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) return -1;
    int rc = queue_framed(p, fn, cmd, (size_t)len, cost, NULL);
    redisFreeCommand(cmd);
    return rc;
}

/* Shared with the proxy link; what it admits: transport_int.h. */
int transport_queue_full(const struct transport_limits *lim, uint64_t cmds, uint64_t bytes,
                         uint64_t cost)
{
    int bytes_full =
        bytes > 0 && (bytes >= lim->pending_bytes_max || cost > lim->pending_bytes_max - bytes);
    return cmds >= lim->pending_cmds_max || bytes_full;
}

size_t transport_frame_head(const struct transport *t, size_t len,
                            char head[TRANSPORT_FRAME_HEAD_MAX])
{
    int n =
        snprintf(head, TRANSPORT_FRAME_HEAD_MAX, "*3\r\n$8\r\nRAFT.MSG\r\n$%zu\r\n%s\r\n$%zu\r\n",
                 strlen(t->self_str), t->self_str, len);
    ASSERT(n > 0 && n < TRANSPORT_FRAME_HEAD_MAX);
    return (size_t)n;
}

/* transport_send_framed(), taking cmd when `owned` is set. */
static int send_framed(struct transport *t, uint64_t to, const char *cmd, size_t cmd_len,
                       size_t len, char *owned)
{
    struct peer *p = transport_find_peer(t, to, NULL);
    if (!p) {
        free(owned);
        return TRANSPORT_ENOPEER;
    }
    if (p->state != TRANSPORT_CONNECTED) {
        free(owned);
        p->dropped++;
        return TRANSPORT_ENOTCONN;
    }
    const struct transport_limits *lim = &t->lim;
    uint64_t cost = (uint64_t)len + TRANSPORT_CMD_OVERHEAD_BYTES;
    if (transport_queue_full(lim, p->pending_cmds, p->pending_bytes, cost)) {
        free(owned);
        p->dropped++;
        return TRANSPORT_EFULL;
    }
    int was_idle = p->pending_cmds == 0;
    if (queue_framed(p, msg_reply_cb, cmd, cmd_len, cost, owned) != 0) {
        p->dropped++;
        return TRANSPORT_ENOTCONN;
    }
    p->sent++;
    p->unflushed = 1;
    if (was_idle && lim->reply_timeout_ms) transport_arm(p, lim->reply_timeout_ms);
    return TRANSPORT_OK;
}

int transport_send_framed(struct transport *t, uint64_t to, const char *cmd, size_t cmd_len,
                          size_t len)
{
    return send_framed(t, to, cmd, cmd_len, len, NULL);
}

int transport_send_framed_owned(struct transport *t, uint64_t to, char *cmd, size_t cmd_len,
                                size_t len)
{
    return send_framed(t, to, cmd, cmd_len, len, cmd);
}

static int ping(struct transport *t, struct peer *p)
{
    if (p->state != TRANSPORT_CONNECTED) return TRANSPORT_ENOTCONN;
    if (transport_queue_full(&t->lim, p->pending_cmds, p->pending_bytes,
                             TRANSPORT_CMD_OVERHEAD_BYTES))
        return TRANSPORT_EFULL;
    int was_idle = p->pending_cmds == 0;
    if (transport_queue_cmd(p, msg_reply_cb, 1, (const char *[]){"PING"}, (size_t[]){4},
                            TRANSPORT_CMD_OVERHEAD_BYTES) != 0)
        return TRANSPORT_ENOTCONN;
    p->unflushed = 1;
    if (was_idle && t->lim.reply_timeout_ms) transport_arm(p, t->lim.reply_timeout_ms);
    return TRANSPORT_OK;
}

int transport_ping(struct transport *t, uint64_t to)
{
    if (to == 0) {
        for (size_t i = 0; i < t->n_peers; i++)
            ping(t, t->peers[i]);
        return TRANSPORT_OK;
    }
    struct peer *p = transport_find_peer(t, to, NULL);
    return p ? ping(t, p) : TRANSPORT_ENOPEER;
}

int transport_send_command(struct transport *t, uint64_t to, int argc, const char **argv,
                           const size_t *lens)
{
    size_t bytes = 0; /* what send_framed() charges, as for a RAFT.MSG payload */
    for (int i = 0; i < argc; i++)
        bytes += lens[i];
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0) return TRANSPORT_EINVAL;
    int rc = send_framed(t, to, cmd, (size_t)len, bytes, NULL);
    redisFreeCommand(cmd);
    return rc;
}

int transport_send(struct transport *t, uint64_t to, const void *payload, size_t len)
{
    char head[TRANSPORT_FRAME_HEAD_MAX];
    size_t hl = transport_frame_head(t, len, head);
    char *cmd = util_xmalloc(hl + len + 2);
    memcpy(cmd, head, hl);
    if (len) memcpy(cmd + hl, payload, len);
    memcpy(cmd + hl + len, "\r\n", 2);
    int rc = transport_send_framed(t, to, cmd, hl + len + 2, len);
    free(cmd);
    return rc;
}

void transport_flush(struct transport *t)
{
    for (size_t i = 0; i < t->n_peers; i++) {
        struct peer *p = t->peers[i];
        /* Only a connected link: on a connecting one hiredis would finish the
         * connect here. A write error frees the link (disconnect_cb). */
        if (p->state != TRANSPORT_CONNECTED || !p->ac) continue;
        if (!p->unflushed && !p->feeding.cmd && sdslen(p->ac->c.obuf) == 0) continue;
        p->unflushed = 0;
        if (!p->feeding.cmd) {
            redisAsyncHandleWrite(p->ac);
            continue;
        }
        /* While the socket takes whole chunks, feed it more (bounded). */
        for (int k = 0; k < FLUSH_CHUNKS_MAX && p->ac && p->feeding.cmd; k++) {
            feed(p, 1);
            if (p->ac && sdslen(p->ac->c.obuf) > 0) break;
        }
    }
}

void transport_drain(struct transport *t, uint32_t timeout_ms)
{
    int64_t deadline_us = clock_mono_us() + (int64_t)timeout_ms * 1000;
    struct pollfd fds[TRANSPORT_DRAIN_PEERS_MAX];
    for (;;) {
        transport_flush(t);
        nfds_t n = 0;
        for (size_t i = 0; i < t->n_peers && n < TRANSPORT_DRAIN_PEERS_MAX; i++) {
            struct peer *p = t->peers[i];
            if (p->ac && p->feeding.cmd)
                fds[n++] = (struct pollfd){.fd = p->ac->c.fd, .events = POLLOUT};
        }
        int64_t left_us = deadline_us - clock_mono_us();
        if (n == 0 || left_us <= 0) return;
        if (poll(fds, n, (int)(left_us / 1000) + 1) < 0 && errno != EINTR) return;
    }
}
