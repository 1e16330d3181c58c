/*
 * src/node/node_write.c - asynchronous log writes: the driver's side of
 * raft/raft.h's ASYNCHRONOUS WRITES, with src/storage/logsync.h's thread.
 *
 * A batch is committed to the log without an fsync (src/storage/storage.h,
 * DEFERRED SYNC) and its sync is asked of the sync thread; the batch's
 * messages that must wait for its durability (votes, AppendEntries
 * responses: must_persist_first) are encoded and kept here, in order. When
 * the thread reports a sync, every batch written before it sends what it
 * kept and its last entry is acknowledged to the core (raft_persisted), at
 * the top of the next ready round. Meanwhile the loop goes on: a leader
 * builds and sends the next AppendEntries and applies what the followers
 * made committed; a follower takes the next AppendEntries. With no thread
 * (it could not start), raft-log-fsync no, or a batch that installs a
 * snapshot, the batch is synchronous: storage_sync() on the loop, after
 * which every kept message goes and raft_advance() acknowledges all.
 *
 * While answers wait, a follower pings its leader every tick (node_tick):
 * its loop runs on, so a slow disk would otherwise look like a lost follower
 * to the leader's quorum check, whose own loop runs on too.
 *
 * Bounded: at most NODE_HELD_MAX batches or NODE_HELD_BYTES_MAX bytes of
 * kept messages wait; beyond, the next batch is synchronous (a stalled
 * disk stalls the loop instead of growing the queue).
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "storage/logsync.h"
#include "node/node_int.h"
#include "transport/transport.h"
#include "base/util.h"

#define NODE_HELD_MAX 4096
#define NODE_HELD_BYTES_MAX (16u << 20)

/* A kept message's header in the buffer, before its framed command. */
struct held_msg {
    uint64_t to;
    uint64_t cmd_len, len; /* transport_send_framed()'s */
};

void node_writes_start(struct node *n)
{
    fifo_init(&n->writes.q, sizeof(struct node_held));
    char err[256];
    if (storage_defer_sync(n->st, err, sizeof err) != 0) {
        LOG_WARNING("Raft log syncs stay on the event loop: %s", err);
        return;
    }
    n->writes.ls = logsync_start(n->env.loop, n->st);
    if (!n->writes.ls) LOG_WARNING("Raft log syncs stay on the event loop: no sync thread");
}

void node_writes_free(struct node *n)
{
    logsync_stop(n->writes.ls);
    fifo_free(&n->writes.q);
    free(n->writes.buf);
    memset(&n->writes, 0, sizeof n->writes);
}

/* The latest mark known durable: from the thread, or a sync on the loop
 * (node_write_settle), whichever is later. */
static uint64_t synced_mark(struct node *n)
{
    struct node_writes *w = &n->writes;
    uint64_t mark;
    char err[256];
    if (logsync_poll(w->ls, &mark, err, sizeof err) != 0) node_fatal("Syncing the Raft log", err);
    if (mark > w->synced) w->synced = mark;
    return w->synced;
}

bool node_write_async(const struct node *n, const struct raft_ready *rd)
{
    const struct node_writes *w = &n->writes;
    return w->ls && n->cfg->raft_log_fsync && !rd->snap_chunk && fifo_len(&w->q) < NODE_HELD_MAX &&
           w->buf_len - w->buf_head < NODE_HELD_BYTES_MAX;
}

/* Drops the messages already sent from the buffer's front. */
static void buf_compact(struct node_writes *w)
{
    if (!w->buf_head) return;
    memmove(w->buf, w->buf + w->buf_head, w->buf_len - w->buf_head);
    for (size_t i = 0; i < fifo_len(&w->q); i++)
        ((struct node_held *)fifo_at(&w->q, i))->msgs_end -= w->buf_head;
    w->buf_len -= w->buf_head;
    w->buf_head = 0;
}

static void buf_reserve(struct node_writes *w, size_t more)
{
    if (w->buf_len + more <= w->buf_cap) return;
    buf_compact(w);
    if (w->buf_len + more <= w->buf_cap) return;
    size_t cap = w->buf_cap ? 2 * w->buf_cap : 4096;
    while (cap < w->buf_len + more)
        cap *= 2;
    w->buf = util_xrealloc(w->buf, cap);
    w->buf_cap = cap;
}

static void keep_msg(struct node *n, const struct raft_msg *m)
{
    struct node_writes *w = &n->writes;
    size_t len = raft_encoded_size(m);
    char head[TRANSPORT_FRAME_HEAD_MAX];
    size_t hl = transport_frame_head(n->tr, len, head);
    struct held_msg h = {m->to, hl + len + 2, len};
    buf_reserve(w, sizeof h + h.cmd_len);
    uint8_t *p = w->buf + w->buf_len;
    if (raft_encode(m, p + sizeof h + hl, len) != len) {
        LOG_WARNING("Raft message of type %d to %llu too large to encode", m->type,
                    (unsigned long long)m->to);
        return;
    }
    memcpy(p, &h, sizeof h);
    memcpy(p + sizeof h, head, hl);
    memcpy(p + sizeof h + hl + len, "\r\n", 2);
    w->buf_len += sizeof h + h.cmd_len;
}

static void send_kept(struct node *n, size_t upto)
{
    struct node_writes *w = &n->writes;
    while (w->buf_head < upto) {
        struct held_msg h;
        memcpy(&h, w->buf + w->buf_head, sizeof h);
        transport_send_framed(n->tr, h.to, (const char *)w->buf + w->buf_head + sizeof h, h.cmd_len,
                              h.len);
        w->buf_head += sizeof h + h.cmd_len;
    }
    if (w->buf_head == w->buf_len) buf_compact(w); /* no copy: it is empty */
}

void node_write_hold(struct node *n, const struct raft_ready *rd)
{
    struct node_writes *w = &n->writes;
    uint64_t mark = storage_written(n->st);
    if (mark > w->requested) {
        logsync_request(w->ls, mark);
        w->requested = mark;
    }
    if (fifo_len(&w->q) == 0 && rd->n_entries == 0 &&
        mark <= synced_mark(n)) { /* nothing waits: send now */
        for (uint32_t i = 0; i < rd->n_msgs; i++)
            if (rd->msgs[i].must_persist_first) node_send_msg(n, &rd->msgs[i]);
        transport_flush(n->tr);
        return;
    }
    for (uint32_t i = 0; i < rd->n_msgs; i++)
        if (rd->msgs[i].must_persist_first) keep_msg(n, &rd->msgs[i]);
    const struct raft_entry *last = rd->n_entries ? &rd->entries[rd->n_entries - 1] : NULL;
    *(struct node_held *)fifo_push(&w->q) = (struct node_held){
        .mark = mark,
        .index = last ? last->index : 0,
        .term = last ? last->term : 0,
        .msgs_end = w->buf_len,
    };
}

void node_write_settle(struct node *n)
{
    struct node_writes *w = &n->writes;
    if (!n->cfg->raft_log_fsync && fifo_len(&w->q) == 0) return;
    char err[256];
    if (storage_sync(n->st, err, sizeof err) != 0) node_fatal("Syncing the Raft log", err);
    size_t end = w->buf_len;
    fifo_truncate(&w->q, 0);
    send_kept(n, end);
    w->requested = w->synced = storage_written(n->st); /* the thread need not */
    transport_flush(n->tr);
}

void node_write_poll(struct node *n)
{
    struct node_writes *w = &n->writes;
    if (!w->ls || fifo_len(&w->q) == 0) return;
    uint64_t synced = synced_mark(n);
    bool sent = false;
    while (fifo_len(&w->q) && ((struct node_held *)fifo_at(&w->q, 0))->mark <= synced) {
        struct node_held h = *(struct node_held *)fifo_at(&w->q, 0);
        fifo_pop(&w->q);
        sent |= h.msgs_end > w->buf_head;
        send_kept(n, h.msgs_end);
        if (h.index) raft_persisted(n->raft, h.index, h.term);
    }
    if (sent) transport_flush(n->tr);
}
