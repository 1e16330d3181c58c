/*
 * src/transport/transport_out.c - part of the transport module (src/transport/transport.h): what
 * goes out on a peer link (src/transport/transport.c opens it and authenticates it):
 * RAFT.MSG framing and PING, the per-peer queue and its limits, and writing
 * now (transport_flush(), transport_drain()). A message is handed to the
 * link (src/transport/transport_link.c) whole, without a copy when the
 * caller gives its buffer up (transport_send_framed_owned()); the link
 * writes it as the socket takes it, at a cost proportional to its size.
 */
#include <errno.h>
#include <poll.h>
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

void transport_msg_reply(struct peer *p, const char *frame, size_t len)
{
    if (frame[0] != '-') return;
    p->errors++;
    LOG_VERBOSE("%s %" PRIu64 " replied with an error: %.*s", p->t->label, p->id,
                (int)(len > 2 ? len - 3 : 0), frame + 1);
}

void transport_pend_push(struct peer *p, enum pend_kind kind, uint64_t cost)
{
    *(struct pend *)fifo_push(&p->pend) = (struct pend){.kind = (uint8_t)kind, .cost = cost};
    p->pending_bytes += cost;
}

void transport_queue_cmd(struct peer *p, enum pend_kind kind, int argc, const char **argv,
                         const size_t *argvlen, uint64_t cost)
{
    ASSERT(p->link != NULL && argc <= 8); /* the live link; RAFT.AUTH has the most */
    struct resp_arg a[8];
    for (int i = 0; i < argc; i++)
        a[i] = (struct resp_arg){argv[i], argvlen[i]};
    rlink_send_argv(p->link, argc, a);
    transport_pend_push(p, kind, cost);
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

/* The peer to send to, if a command costing cost may go now (the error
 * into *rc otherwise, counted as a drop). */
static struct peer *admit(struct transport *t, uint64_t to, uint64_t cost, int *rc)
{
    struct peer *p = transport_find_peer(t, to, NULL);
    if (!p) {
        *rc = TRANSPORT_ENOPEER;
        return NULL;
    }
    if (p->state != TRANSPORT_CONNECTED || !p->link) {
        p->dropped++;
        *rc = TRANSPORT_ENOTCONN;
        return NULL;
    }
    if (transport_queue_full(&t->lim, (uint32_t)fifo_len(&p->pend), p->pending_bytes, cost)) {
        p->dropped++;
        *rc = TRANSPORT_EFULL;
        return NULL;
    }
    return p;
}

/* A command was queued on p's live link. */
static void queued(struct peer *p, int was_idle)
{
    p->sent++;
    p->unflushed = 1;
    if (was_idle && p->t->lim.reply_timeout_ms) transport_arm(p, p->t->lim.reply_timeout_ms);
}

/* transport_send_framed(), taking cmd when `owned` is set. */
static int send_framed(struct transport *t, uint64_t to, const char *cmd, size_t cmd_len,
                       size_t len, char *owned)
{
    uint64_t cost = (uint64_t)len + TRANSPORT_CMD_OVERHEAD_BYTES;
    int rc = TRANSPORT_OK;
    struct peer *p = admit(t, to, cost, &rc);
    if (!p) {
        free(owned);
        return rc;
    }
    int was_idle = fifo_len(&p->pend) == 0;
    if (owned)
        rlink_send_owned(p->link, owned, cmd_len);
    else
        rlink_send_bytes(p->link, cmd, cmd_len);
    transport_pend_push(p, PEND_MSG, cost);
    queued(p, was_idle);
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
    if (p->state != TRANSPORT_CONNECTED || !p->link) return TRANSPORT_ENOTCONN;
    if (transport_queue_full(&t->lim, (uint32_t)fifo_len(&p->pend), p->pending_bytes,
                             TRANSPORT_CMD_OVERHEAD_BYTES))
        return TRANSPORT_EFULL;
    int was_idle = fifo_len(&p->pend) == 0;
    transport_queue_cmd(p, PEND_MSG, 1, (const char *[]){"PING"}, (size_t[]){4},
                        TRANSPORT_CMD_OVERHEAD_BYTES);
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
    if (argc < 1 || argc > 8) return TRANSPORT_EINVAL;
    uint64_t bytes = 0; /* charged as a RAFT.MSG payload is */
    for (int i = 0; i < argc; i++)
        bytes += lens[i];
    int rc = TRANSPORT_OK;
    struct peer *p = admit(t, to, bytes + TRANSPORT_CMD_OVERHEAD_BYTES, &rc);
    if (!p) return rc;
    int was_idle = fifo_len(&p->pend) == 0;
    transport_queue_cmd(p, PEND_MSG, argc, argv, lens, bytes + TRANSPORT_CMD_OVERHEAD_BYTES);
    queued(p, was_idle);
    return TRANSPORT_OK;
}

int transport_send(struct transport *t, uint64_t to, const void *payload, size_t len)
{
    char head[TRANSPORT_FRAME_HEAD_MAX];
    size_t hl = transport_frame_head(t, len, head);
    char *cmd = util_xmalloc(hl + len + 2);
    memcpy(cmd, head, hl);
    if (len) memcpy(cmd + hl, payload, len);
    memcpy(cmd + hl + len, "\r\n", 2);
    return transport_send_framed_owned(t, to, cmd, hl + len + 2, len);
}

void transport_flush(struct transport *t)
{
    for (size_t i = 0; i < t->n_peers; i++) {
        struct peer *p = t->peers[i];
        /* A write error loses the link (lost_cb) and frees it. */
        if (p->state != TRANSPORT_CONNECTED || !p->link) continue;
        if (!p->unflushed && rlink_pending(p->link) == 0) continue;
        p->unflushed = 0;
        rlink_flush(p->link);
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
            if (p->link && p->state == TRANSPORT_CONNECTED && rlink_pending(p->link) > 0)
                fds[n++] = (struct pollfd){.fd = rlink_fd(p->link), .events = POLLOUT};
        }
        int64_t left_us = deadline_us - clock_mono_us();
        if (n == 0 || left_us <= 0) return;
        if (poll(fds, n, (int)(left_us / 1000) + 1) < 0 && errno != EINTR) return;
    }
}
