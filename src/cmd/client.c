/*
 * src/cmd/client.c - what commands may do to a client (see client.h): mark its
 * output for flushing, ask for it to be closed, describe it. Data only: the
 * connection layer (src/net/conn.c) acts on the marks before the loop sleeps.
 */
#include <stdio.h>

#include "cmd/client.h"
#include "raft/raft_assert.h"

/* The moves enum client_hold allows, as a bit set of the states each state
 * may move to. */
#define TO(s) (1u << (s))
static const unsigned hold_moves[] = {
    [HOLD_NONE] = TO(HOLD_BEHIND) | TO(HOLD_PAUSED) | TO(HOLD_CHECKED) | TO(HOLD_IN_LOG),
    [HOLD_BEHIND] = TO(HOLD_NONE),
    [HOLD_PAUSED] = TO(HOLD_BEHIND),
    [HOLD_CHECKED] = TO(HOLD_IN_LOG) | TO(HOLD_ANSWERED) | TO(HOLD_NONE),
    [HOLD_IN_LOG] = TO(HOLD_SERVED) | TO(HOLD_CHECKED) | TO(HOLD_ANSWERED),
    [HOLD_SERVED] = TO(HOLD_ANSWERED),
    [HOLD_ANSWERED] = TO(HOLD_NONE),
};

void client_hold_to(struct client *c, enum client_hold to)
{
    ASSERT((unsigned)c->hold < sizeof hold_moves / sizeof hold_moves[0]);
    ASSERT((hold_moves[c->hold] & TO(to)) && "a held command's move enum client_hold forbids");
    if (to == HOLD_NONE) c->held_cmd = NULL;
    c->hold = to;
}

void client_mark_pending(struct client *c)
{
    if (c->flags & CLIENT_PENDING_WRITE) return;
    c->flags |= CLIENT_PENDING_WRITE;
    c->pending_next = *c->pending_head;
    *c->pending_head = c;
}

void client_close_after_reply(struct client *c)
{
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    client_mark_pending(c);
}

void client_close_asap(struct client *c)
{
    c->flags |= CLIENT_CLOSE_ASAP;
    client_mark_pending(c);
}

size_t client_format_info(const struct client *c, char *buf, size_t cap, int64_t now_ms)
{
    ASSERT(cap > 0); /* the length returned is at most cap - 1 */
    char flags[16];
    int f = 0;
    if (c->flags & CLIENT_MONITOR) flags[f++] = 'O';
    if (c->blocked || c->hold == HOLD_PAUSED) flags[f++] = 'b'; /* as Redis */
    if (c->flags & CLIENT_PUBSUB) flags[f++] = 'P';
    if (c->flags & CLIENT_MULTI) flags[f++] = 'x';
    if (c->flags & CLIENT_DIRTY_CAS) flags[f++] = 'd';
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) flags[f++] = 'c';
    if (c->flags & CLIENT_UNIX_SOCKET) flags[f++] = 'U';
    if (c->flags & CLIENT_READONLY) flags[f++] = 'r';
    if (c->flags & CLIENT_NO_EVICT) flags[f++] = 'e';
    if (c->tracking & TRACKING_ON) flags[f++] = 't';
    if (c->tracking & TRACKING_BROKEN_REDIR) flags[f++] = 'R';
    if (c->tracking & TRACKING_BCAST) flags[f++] = 'B';
    if (!f) flags[f++] = 'N';
    ASSERT(f < (int)sizeof flags);
    flags[f] = 0;
    int n = snprintf(
        buf, cap,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%u "
        "psub=%u ssub=%u multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu "
        "rbp=%zu obl=0 oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=%s redir=%lld "
        "resp=%d lib-name=%s lib-ver=%s",
        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
        (long long)((now_ms - c->ctime_ms) / 1000),
        (long long)((now_ms - c->last_interaction_ms) / 1000), flags, c->db, c->n_subs[0],
        c->n_subs[1], c->n_subs[2], (c->flags & CLIENT_MULTI) ? c->mstate.count : -1, c->qlen,
        c->qcap - c->qlen, c->qcap, c->qlen, resp_out_pending(&c->out), client_memory(c),
        c->last_cmd ? c->last_cmd : "NULL", c->user_name ? c->user_name : "",
        (c->tracking & TRACKING_ON) ? (long long)c->tracking_redirect : -1LL, c->out.proto,
        c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
    return n < 0 ? 0 : ((size_t)n >= cap ? cap - 1 : (size_t)n);
}
