/*
 * src/node.c - the Raft driver (see node.h); snapshots live in src/node_snap.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../raft/raft.h"
#include "log.h"
#include "node.h"
#include "node_int.h"
#include "../raft/raft_assert.h"
#include "proxy.h"
#include "server.h"
#include "sm.h"
#include "storage.h"
#include "transport.h"
#include "util.h"

#define FIFO_INIT 64
/* Share of the loop's time spent deleting compacted log rows
 * (storage_trim), in every Raft tick: 1/TRIM_SHARE_DIV of a tick period. */
#define TRIM_SHARE_DIV 20

/* A client waiting for the entry at `index` (proposed in `term`) to apply.
 * A batch entry has one waiter per command, consecutive in the FIFO. */
struct write_waiter {
    raft_index index;
    raft_term term;
    struct client *c; /* NULL once answered (timeout) or gone */
    int64_t deadline_ms;
};

/* A client waiting for a ReadIndex round; covers its input up to `barrier`. */
struct read_waiter {
    uint64_t ctx;
    struct client *c;
    uint64_t barrier; /* stream position: reads ending at or before it may run */
    raft_index index; /* valid once released */
    int released;
    int64_t deadline_ms;
};

/* ------------------------------------------------------------ fifo helpers */

static void fifo_init(struct fifo *f, size_t item_size)
{
    memset(f, 0, sizeof *f);
    f->item_size = item_size;
}

static void *fifo_at(struct fifo *f, size_t i)
{
    return f->items + ((f->head + i) % f->cap) * f->item_size;
}

static void *fifo_push(struct fifo *f)
{
    if (f->len == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : FIFO_INIT;
        char *n = util_xmalloc(ncap * f->item_size);
        for (size_t i = 0; i < f->len; i++)
            memcpy(n + i * f->item_size, fifo_at(f, i), f->item_size);
        free(f->items);
        f->items = n;
        f->head = 0;
        f->cap = ncap;
    }
    void *slot = fifo_at(f, f->len++);
    memset(slot, 0, f->item_size);
    return slot;
}

static void fifo_pop(struct fifo *f)
{
    f->head = (f->head + 1) % f->cap;
    f->len--;
}

/* ------------------------------------------------------------- addressing */

static unsigned cmd_slot(const struct command *cmd, int argc, const struct resp_arg *argv)
{
    int first;
    if (!cmd || cmd_get_keys(cmd, argc, argv, &first, 1) == 0) return 0;
    return util_key_slot(argv[first].ptr, argv[first].len);
}

void node_reply_not_leader(struct server *srv, struct client *c, unsigned slot)
{
    char host[CONFIG_HOST_MAX];
    int port;
    if (!srv->node->leader ||
        node_member_addr(srv, srv->node->leader, host, sizeof host, &port) != 0) {
        resp_add_error(&c->out, "CLUSTERDOWN No raft leader");
        return;
    }
    int v6 = strchr(host, ':') != NULL;
    resp_add_errorf(&c->out, "MOVED %u %s%s%s:%d", slot, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

void node_reply_moved(struct server *srv, struct client *c)
{
    node_reply_not_leader(srv, c, 0);
}

/* ------------------------------------------------------------ client wakes */

/* Makes room for `need` client pointers in *arr. */
static void clients_reserve(struct client ***arr, size_t *cap, size_t need)
{
    if (need <= *cap) return;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    struct client **a = util_xrealloc(*arr, ncap * sizeof **arr);
    *arr = a;
    *cap = ncap;
}

void node_want_resume(struct node *n, struct client *c)
{
    if (!c) return;
    clients_reserve(&n->resume, &n->resume_cap, n->n_resume + 1);
    n->resume[n->n_resume++] = c;
}

static void resume_clients(struct server *srv)
{
    struct node *n = srv->node;
    for (size_t i = 0; i < n->n_resume; i++) {
        struct client *c = n->resume[i];
        if (c) conn_resume(c);
    }
    n->n_resume = 0;
}

static void answer_write(struct node *n, struct write_waiter *w, const char *err)
{
    if (!w->c) return;
    if (err) resp_add_error(&w->c->out, err);
    w->c->pending_writes--;
    client_mark_pending(w->c);
    node_want_resume(n, w->c);
    w->c = NULL;
}

static void answer_read(struct node *n, struct read_waiter *w, const char *err)
{
    if (!w->c) return;
    if (err)
        resp_add_error(&w->c->out, err);
    else
        w->c->read_cleared_end = w->barrier;
    w->c->waiting_read = 0;
    client_mark_pending(w->c);
    node_want_resume(n, w->c);
    w->c = NULL;
}

/* Leadership lost: every pending write may or may not commit; every pending
 * read has lost its quorum. Answer them all now (SPEC: -TIMEOUT). */
static void fail_pending(struct node *n)
{
    for (size_t i = 0; i < n->writes.len; i++)
        answer_write(n, fifo_at(&n->writes, i), "TIMEOUT not committed yet");
    for (size_t i = 0; i < n->reads.len; i++)
        answer_read(n, fifo_at(&n->reads, i), "TIMEOUT no quorum for read");
    n->writes.len = n->reads.len = 0;
}

/* --------------------------------------------------------------- routing */

enum node_route node_route(struct server *srv, struct client *c, const struct command *cmd,
                           int argc, const struct resp_arg *argv, int is_write, int is_read)
{
    struct node *n = srv->node;
    int leader = n->role == RAFT_LEADER;
    if (c->waiting_read) return NODE_WAIT;
    if (c->pending_writes > 0 && !(is_write && leader)) return NODE_WAIT;
    if (!is_write && !is_read) return NODE_EXEC;
    if (!node_has_cluster(srv)) {
        resp_add_error(&c->out, "NOCLUSTER this node is waiting to be added to a cluster "
                                "(RAFT.CLUSTER JOIN)");
        return NODE_REPLIED;
    }
    if (node_removed(srv)) {
        resp_add_error(&c->out, "NOCLUSTER this node was removed from the cluster");
        return NODE_REPLIED;
    }
    if (!leader) {
        if (is_read && (c->flags & CLIENT_READONLY)) {
            /* A node that lost state holds not even a stale copy of the
             * cluster's data until it caught up (docs/storage-safety.md). */
            if (!raft_recovering(n->raft)) return NODE_EXEC;
            resp_add_error(&c->out, "CLUSTERDOWN this node is recovering lost Raft state "
                                    "(RAFT.INFO)");
            return NODE_REPLIED;
        }
        int pr = proxy_route(srv, n->tr, n->leader, c, cmd, argc, argv);
        if (pr != PROXY_DECLINED) return (enum node_route)pr;
        node_reply_not_leader(srv, c, cmd_slot(cmd, argc, argv));
        return NODE_REPLIED;
    }
    if (is_write || c->cur_cmd_end <= c->read_cleared_end) return NODE_EXEC;
    uint64_t ctx = ++n->next_ctx;
    int rc = raft_read_index(n->raft, ctx);
    if (rc == RAFT_ENOTREADY) {
        resp_add_error(&c->out, "CLUSTERDOWN No raft leader");
        return NODE_REPLIED;
    }
    if (rc != 0) {
        resp_add_error(&c->out, "TIMEOUT no quorum for read");
        return NODE_REPLIED;
    }
    struct read_waiter *w = fifo_push(&n->reads);
    w->ctx = ctx;
    w->c = c;
    w->barrier = c->in_received;
    w->deadline_ms = server_now_ms() + srv->cfg.raft_request_timeout_ms;
    c->waiting_read = 1;
    return NODE_WAIT;
}

/* The reply to a proposal the core refused. */
static void reply_refused(struct server *srv, struct client *c, int rc)
{
    if (rc == RAFT_ENOTLEADER)
        node_reply_not_leader(srv, c, 0);
    else if (rc == RAFT_ETOOBIG)
        resp_add_error(&c->out, "ERR write too large for the log");
    else
        resp_add_errorf(&c->out, "TRYAGAIN raft: %s", raft_strerror(rc));
}

/* The encoding buffer is kept for messages up to this size; one that
 * carried a larger entry is handed to the link (which would otherwise copy
 * it), so the largest value ever replicated does not stay allocated. */
#define ENC_KEEP_BYTES (1u << 20)

/* Above this, copying an entry (proposing, encoding, applying it) takes long
 * enough that the peers should hear from us first. */
#define BIG_ENTRY_BYTES (2 * ENC_KEEP_BYTES)

/* Before a step that keeps the loop busy for a while: the peers hear from
 * us now (raft_receiving() on their side), so that the step's time counts
 * from here, not from our last heartbeat or answer. */
static void ping_peers(struct node *n)
{
    /* Nobody to reassure without a leader: pinging every peer (to = 0) would
     * pass for a leader's liveness with followers that still take us for
     * theirs. */
    if (n->role != RAFT_LEADER && n->leader == 0) return;
    transport_ping(n->tr, n->role == RAFT_LEADER ? 0 : n->leader);
    transport_flush(n->tr);
}

/* A write's deadline: raft-request-timeout-ms, plus the time a large entry
 * takes to reach the followers and be written on each node, which is not a
 * lack of quorum: 1 ms per WRITE_ALLOWANCE_BYTES_PER_MS (16 MB a second). */
#define WRITE_ALLOWANCE_BYTES_PER_MS (16u << 10)

static int64_t sum_parts(const struct raft_part *parts, uint32_t n_parts)
{
    int64_t bytes = 0;
    for (uint32_t i = 0; i < n_parts; i++)
        bytes += parts[i].len;
    return bytes;
}

/* A write proposed at index of `bytes` bytes: returns the bytes of the large
 * writes it waits for, itself included (a write commits after those ahead
 * of it in the log), for its deadline. The writes already waiting get the
 * large one's allowance too: they may travel in the same AppendEntries, and
 * the loop is busy with it (copying, sending, writing) either way. Every
 * deadline moves by the same amount, so they stay in log order. */
static int64_t bytes_ahead(struct node *n, raft_index index, int64_t bytes)
{
    if (n->applied >= n->big_index) n->big_bytes = 0;
    if (bytes > BIG_ENTRY_BYTES) {
        n->big_bytes += bytes;
        n->big_index = index;
        for (size_t i = 0; i < n->writes.len; i++) {
            struct write_waiter *w = fifo_at(&n->writes, i);
            w->deadline_ms += bytes / WRITE_ALLOWANCE_BYTES_PER_MS;
        }
    }
    return n->big_bytes;
}

void node_add_waiter(struct server *srv, struct client *c, raft_index index, int64_t bytes)
{
    struct node *n = srv->node;
    /* Waiters are answered from the head as entries apply: their indexes never go back. */
    ASSERT(index > n->applied);
    ASSERT(n->writes.len == 0 ||
           ((struct write_waiter *)fifo_at(&n->writes, n->writes.len - 1))->index <= index);
    struct write_waiter *w = fifo_push(&n->writes);
    w->index = index;
    w->term = raft_term_of(n->raft);
    w->c = c;
    w->deadline_ms =
        server_now_ms() + srv->cfg.raft_request_timeout_ms + bytes / WRITE_ALLOWANCE_BYTES_PER_MS;
}

uint64_t node_propose(struct server *srv, struct client *c, const struct raft_part *parts,
                      uint32_t n_parts)
{
    struct node *n = srv->node;
    raft_index index = 0;
    if (sum_parts(parts, n_parts) > BIG_ENTRY_BYTES) ping_peers(n); /* copying it takes a while */
    int rc = raft_propose_parts(n->raft, parts, n_parts, &index);
    if (rc != 0) index = 0;
    if (!c) return index;
    if (rc != 0) {
        reply_refused(srv, c, rc);
        return 0;
    }
    node_add_waiter(srv, c, index, bytes_ahead(n, index, sum_parts(parts, n_parts)));
    c->pending_writes++;
    return index;
}

void node_stage(struct server *srv, struct client *c)
{
    struct node *n = srv->node;
    clients_reserve(&n->staged, &n->staged_cap, n->n_staged + 1);
    n->staged[n->n_staged++] = c;
    c->pending_writes++;
}

uint64_t node_propose_staged(struct server *srv, const struct raft_part *parts, uint32_t n_parts)
{
    struct node *n = srv->node;
    raft_index index = 0;
    int64_t bytes = sum_parts(parts, n_parts);
    if (bytes > BIG_ENTRY_BYTES) ping_peers(n); /* copying it takes a while */
    int rc = raft_propose_parts(n->raft, parts, n_parts, &index);
    if (rc == 0) bytes = bytes_ahead(n, index, bytes);
    for (size_t i = 0; i < n->n_staged; i++) {
        struct client *c = n->staged[i];
        if (rc == 0) {
            node_add_waiter(srv, c, index, bytes); /* c NULL: keeps reply i at position i */
        } else if (c) {
            reply_refused(srv, c, rc);
            c->pending_writes--;
            client_mark_pending(c);
            node_want_resume(n, c);
        }
    }
    n->n_staged = 0;
    return rc == 0 ? index : 0;
}

/* -------------------------------------------------------------- messages */

/* The message is encoded straight into its framed RAFT.MSG command, which
 * the link copies (or, when large, takes) for its output. */
static void send_msg(struct node *n, const struct raft_msg *m)
{
    size_t len = raft_encoded_size(m);
    char head[TRANSPORT_FRAME_HEAD_MAX];
    size_t hl = transport_frame_head(n->tr, len, head), need = hl + len + 2;
    if (need > BIG_ENTRY_BYTES) ping_peers(n); /* encoding it takes a while */
    if (need > n->enc_cap) {
        free(n->enc);
        n->enc_cap = need > ENC_KEEP_BYTES ? need : 2 * need;
        n->enc = util_xmalloc(n->enc_cap);
    }
    memcpy(n->enc, head, hl);
    memcpy(n->enc + hl + len, "\r\n", 2);
    /* A buffer too big to keep goes to the link instead of a copy of it. */
    int big = n->enc_cap > BIG_ENTRY_BYTES;
    if (raft_encode(m, n->enc + hl, len) != len) {
        LOG_WARNING("Raft message of type %d to %llu too large to encode", m->type,
                    (unsigned long long)m->to);
        if (big) free(n->enc);
    } else if (big) {
        transport_send_framed_owned(n->tr, m->to, (char *)n->enc, need, len);
    } else {
        transport_send_framed(n->tr, m->to, (const char *)n->enc, need, len);
    }
    if (big) {
        n->enc = NULL;
        n->enc_cap = 0;
        transport_flush(n->tr); /* its first bytes go before the next is encoded */
        n->sent_big = 1;
    }
}

/* Sends, and writes to the sockets at once: the leader's AppendEntries reach
 * the followers before its own fsync starts, so the two overlap (§10.2.1). */
static void send_msgs(struct node *n, const struct raft_ready *rd, int persisted)
{
    for (uint32_t i = 0; i < rd->n_msgs; i++)
        if (rd->msgs[i].must_persist_first == persisted) send_msg(n, &rd->msgs[i]);
    transport_flush(n->tr);
}

int node_receive(struct server *srv, uint64_t from, const uint8_t *msg, size_t len, char *err,
                 size_t errlen)
{
    struct node *n = srv->node;
    struct raft_msg m;
    if (raft_decode(msg, len, &m, n->dec_ents, RAFT_MAX_MSG_ENTRIES) != 0) {
        snprintf(err, errlen, "malformed raft message (%zu bytes)", len);
        return -1;
    }
    if (m.from != from) {
        snprintf(err, errlen, "raft message from %llu on the link of node %llu",
                 (unsigned long long)m.from, (unsigned long long)from);
        return -1;
    }
    if (raft_step(n->raft, &m) != 0) {
        snprintf(err, errlen, "raft message not for this node");
        return -1;
    }
    node_view_heard(n, from);
    return 0;
}

void node_receiving(struct server *srv, uint64_t from)
{
    raft_receiving(srv->node->raft, (raft_id)from);
    transport_heard(srv->node->tr, from);
}

/* ------------------------------------------------------------- applying */

void node_fatal(const char *what, const char *err)
{
    LOG_WARNING("%s: %s. Exiting: a node that cannot persist its log must not vote or "
                "acknowledge writes.",
                what, err);
    exit(1);
}

static void apply_one(struct server *srv, const struct raft_entry *e)
{
    struct node *n = srv->node;
    /* Already in the keyspace: loaded from a snapshot newer than the stored
     * log's base (snapshot.h, crash points 2 and 5). Committed entries are
     * the same everywhere, so these are exactly what the snapshot holds. */
    if (e->index <= n->applied) return;
    ASSERT(e->index == n->applied + 1); /* the keyspace takes every entry, in order */
    while (n->writes.len) {             /* waiters of indexes we skipped */
        struct write_waiter *head = fifo_at(&n->writes, 0);
        if (head->index >= e->index) break;
        answer_write(n, head, "TIMEOUT not committed yet");
        fifo_pop(&n->writes);
    }
    /* This entry's waiters; theirs only if it is still the entry they
     * proposed (same term: Log Matching), otherwise it replaced theirs. */
    size_t k = 0;
    while (k < n->writes.len && ((struct write_waiter *)fifo_at(&n->writes, k))->index == e->index)
        k++;
    clients_reserve(&n->appliers, &n->appliers_cap, k);
    for (size_t i = 0; i < k; i++) {
        struct write_waiter *w = fifo_at(&n->writes, i);
        n->appliers[i] = w->term == e->term ? w->c : NULL;
    }
    if (e->type == RAFT_ENTRY_NORMAL) {
        char err[160];
        if (e->len > BIG_ENTRY_BYTES) ping_peers(n); /* applying it takes a while */
        if (sm_apply(srv, e->index, n->appliers, k, (const char *)e->data, e->len, err,
                     sizeof err) < 0)
            node_fatal("Corrupt committed log entry", err);
        n->normal_applied++;
    } else if (e->type == RAFT_ENTRY_CONF) {
        struct raft_conf old = n->conf_applied;
        if (raft_conf_decode(e->data, e->len, &n->conf_applied) == 0) {
            n->conf_dirty = true;
            node_safety_conf_applied(srv, &old, &n->conf_applied, e->index);
        }
        if (k > 0 && n->appliers[0]) /* RAFT.NODE ADD/REMOVE */
            resp_add_simple(&n->appliers[0]->out, "OK");
    }
    for (size_t i = 0; i < k; i++) {
        answer_write(n, fifo_at(&n->writes, 0),
                     n->appliers[i] ? NULL : "TIMEOUT not committed yet");
        fifo_pop(&n->writes);
    }
    n->applied = e->index;
    n->applied_bytes += e->len;
}

static void release_reads(struct node *n, const struct raft_ready *rd)
{
    for (uint32_t i = 0; i < rd->n_reads; i++)
        for (size_t k = 0; k < n->reads.len; k++) {
            struct read_waiter *w = fifo_at(&n->reads, k);
            if (w->ctx != rd->reads[i].ctx) continue;
            w->released = 1;
            w->index = rd->reads[i].index;
            break;
        }
    while (n->reads.len) {
        struct read_waiter *w = fifo_at(&n->reads, 0);
        if (w->c && (!w->released || w->index > n->applied)) break;
        answer_read(n, w, NULL);
        fifo_pop(&n->reads);
    }
}

static void role_changed(struct server *srv, const struct raft_ready *rd)
{
    struct node *n = srv->node;
    int was_leader = n->role == RAFT_LEADER;
    n->role = rd->role;
    n->leader = rd->leader;
    node_view_role_changed(n, rd->leader);
    static const char *const names[] = {"follower", "pre-candidate", "candidate", "leader"};
    log_set_role(n->role == RAFT_LEADER ? 'M' : 'S');
    if (n->role == RAFT_LEADER && !was_leader) sm_leader_started(srv, raft_last_index(n->raft));
    LOG_NOTICE("Raft: %s at term %llu, leader %llu", names[n->role],
               (unsigned long long)raft_term_of(n->raft), (unsigned long long)n->leader);
    if (was_leader && n->role != RAFT_LEADER) fail_pending(n);
}

/* A leader applies the committed entries it already holds on disk (those
 * before this batch's new ones) before writing the batch, and sends their
 * replies: the clients hear back one fsync earlier and send their next
 * commands meanwhile. Changes nothing for the core: committed entries are
 * durable on a majority, and these on this node too. A follower keeps the
 * core's order, so that its acknowledgement goes out first. Returns how many
 * of rd->committed it applied. */
static uint32_t apply_before_save(struct server *srv, const struct raft_ready *rd)
{
    if (rd->role != RAFT_LEADER || rd->n_committed == 0) return 0;
    raft_index first_new = rd->n_entries ? rd->entries[0].index : UINT64_MAX;
    uint32_t k = 0;
    while (k < rd->n_committed && rd->committed[k].index < first_new)
        apply_one(srv, &rd->committed[k++]);
    if (k) server_flush_clients(srv); /* nothing in there calls the core */
    return k;
}

static void process_one(struct server *srv, struct raft_ready *rd)
{
    struct node *n = srv->node;
    char err[256];
    send_msgs(n, rd, 0);
    /* raft.h's order: the snapshot chunk first (an installed snapshot's data
     * is durable before the batch records it as the log's base). */
    bool installed = rd->snap_chunk && node_snap_install(srv, rd->snap_chunk);
    struct storage_batch b = {
        .snapshot = installed ? &rd->snap_chunk->meta : NULL,
        .n_entries = rd->n_entries,
        .entries = rd->entries,
        .hs = rd->hard_state_changed ? &rd->hard_state : NULL,
    };
    uint32_t done = apply_before_save(srv, rd);
    n->ping_us = util_monotonic_us(); /* flush_peers(): pings only if the write takes long */
    /* A large AppendEntries goes out whole before the leader's own write, so
     * that the followers write theirs at the same time, not after it: each
     * then answers within an election timeout of the leader's resuming. */
    if (rd->role == RAFT_LEADER && n->sent_big) {
        transport_drain(n->tr, (uint32_t)srv->cfg.raft_election_timeout_ms / 2);
        n->sent_big = 0;
    }
    if (storage_save(n->st, &b, err, sizeof err) != 0) node_fatal("Writing the Raft log", err);
    if (installed) node_snap_installed(srv, rd->snap_chunk);
    if (rd->hard_state_changed) n->hs = rd->hard_state;
    send_msgs(n, rd, 1);
    /* Committed entries first: they are committed whatever the role became
     * (a leader that removed itself answers RAFT.NODE REMOVE, then steps
     * down and fails what is still pending). */
    for (uint32_t i = done; i < rd->n_committed; i++)
        apply_one(srv, &rd->committed[i]);
    release_reads(n, rd);
    if (rd->soft_state_changed) role_changed(srv, rd);
    if (n->conf_dirty || memcmp(&n->conf_seen, raft_conf_of(n->raft), sizeof n->conf_seen) != 0)
        node_sync_peers(srv);
    node_snap_queue(n, rd);
    node_log_queue(n, rd);
}

void node_process_ready(struct server *srv)
{
    struct node *n = srv->node;
    /* Bounded: each round either empties the ready or makes progress. */
    for (int round = 0; round < 64; round++) {
        sm_flush(srv); /* the writes clients sent since the last round */
        if (!raft_has_ready(n->raft)) break;
        struct raft_ready rd;
        raft_ready(n->raft, &rd);
        process_one(srv, &rd);
        raft_advance(n->raft);
        node_snap_answer(srv); /* raft.h: snapshot and log requests after raft_advance() */
        node_log_answer(srv);
        resume_clients(srv);
    }
    node_log_release(srv);
    node_snap_after_ready(srv);
    node_safety_after_ready(srv);
}

/* -------------------------------------------------------------- timeouts */

void node_tick(struct server *srv)
{
    struct node *n = srv->node;
    raft_tick(n->raft);
    node_safety_tick(srv);
    if (storage_trim_pending(n->st)) {
        char err[256];
        uint32_t budget_us = (uint32_t)(srv->cfg.raft_heartbeat_ms * 1000 / TRIM_SHARE_DIV);
        if (storage_trim(n->st, budget_us ? budget_us : 1, err, sizeof err) != 0)
            node_fatal("Trimming the compacted Raft log", err);
    }
    int64_t now = server_now_ms();
    for (size_t i = 0; i < n->writes.len; i++) {
        struct write_waiter *w = fifo_at(&n->writes, i);
        if (w->c && w->deadline_ms <= now) answer_write(n, w, "TIMEOUT not committed yet");
    }
    while (n->reads.len) {
        struct read_waiter *w = fifo_at(&n->reads, 0);
        if (w->c && w->deadline_ms > now) break;
        answer_read(n, w, "TIMEOUT no quorum for read");
        fifo_pop(&n->reads);
    }
    resume_clients(srv);
}

void node_client_gone(struct server *srv, struct client *c)
{
    struct node *n = srv->node;
    transport_forward_cancel_ud(n->tr, c);
    for (size_t i = 0; i < n->writes.len; i++) {
        struct write_waiter *w = fifo_at(&n->writes, i);
        if (w->c == c) w->c = NULL;
    }
    for (size_t i = 0; i < n->reads.len; i++) {
        struct read_waiter *w = fifo_at(&n->reads, i);
        if (w->c == c) w->c = NULL;
    }
    for (size_t i = 0; i < n->n_resume; i++)
        if (n->resume[i] == c) n->resume[i] = NULL;
    for (size_t i = 0; i < n->n_staged; i++)
        if (n->staged[i] == c) n->staged[i] = NULL;
    node_join_client_gone(srv, c);
}

const struct raft *node_core(const struct server *srv)
{
    return srv->node->raft;
}

const struct transport *node_transport(const struct server *srv)
{
    return srv->node->tr;
}

void node_storage_stats(const struct server *srv, struct storage_stats *st)
{
    storage_stats(srv->node->st, st);
}

const struct raft_hard_state *node_hard_state(const struct server *srv)
{
    return &srv->node->hs;
}

uint64_t node_applied(const struct server *srv)
{
    return srv->node->applied;
}

void node_set_fsync(struct server *srv, int on)
{
    char err[256];
    if (storage_set_fsync(srv->node->st, on, err, sizeof err) != 0)
        LOG_WARNING("Could not change raft-log-fsync: %s", err);
}

int node_is_leader(const struct server *srv)
{
    return srv->node->role == RAFT_LEADER;
}

double node_tick_seconds(const struct server *srv)
{
    return (double)srv->cfg.raft_heartbeat_ms / 1000.0;
}

/* ------------------------------------------------------------ start, stop */

/* The configuration of a first boot: cluster-members, or this node alone. */
static void initial_conf(const struct server *srv, struct raft_conf *conf)
{
    memset(conf, 0, sizeof *conf);
    for (int i = 0; i < srv->cfg.members_count && conf->n < RAFT_MAX_NODES; i++) {
        const struct config_member *m = &srv->cfg.members[i];
        conf->s[conf->n].id = (raft_id)m->id;
        conf->s[conf->n].voter = true;
        if (node_format_addr(m->host, m->port, conf->s[conf->n++].addr, RAFT_ADDR_MAX) != 0)
            LOG_WARNING("Address of member %lld too long to record; cluster-members keeps "
                        "serving it",
                        m->id);
    }
    if (conf->n == 0) {
        char host[CONFIG_HOST_MAX];
        int port;
        config_advertise(&srv->cfg, host, &port);
        conf->s[0].id = (raft_id)srv->cfg.node_id;
        conf->s[0].voter = true;
        if (node_format_addr(host, port, conf->s[0].addr, RAFT_ADDR_MAX) != 0)
            conf->s[0].addr[0] = 0; /* too long to record: advertise-addr serves it */
        conf->n = 1;
    }
}

void node_make_raft_config(const struct server *srv, struct raft_config *rc)
{
    raft_config_default(rc);
    long long ratio = srv->cfg.raft_election_timeout_ms / srv->cfg.raft_heartbeat_ms;
    rc->id = (raft_id)srv->cfg.node_id;
    rc->heartbeat_ticks = 1;
    rc->election_ticks = ratio < 2 ? 2 : (uint32_t)ratio;
    rc->max_inflight_msgs = (uint32_t)srv->cfg.raft_max_inflight_msgs;
    rc->max_entries_per_msg = (uint32_t)srv->cfg.raft_max_entries_per_msg;
    if (rc->max_inflight_msgs > RAFT_MAX_INFLIGHT) rc->max_inflight_msgs = RAFT_MAX_INFLIGHT;
    if (rc->max_entries_per_msg > RAFT_MAX_MSG_ENTRIES)
        rc->max_entries_per_msg = RAFT_MAX_MSG_ENTRIES;
    rc->read_mode = srv->cfg.raft_read_mode == CONFIG_READ_LEASE ? RAFT_READ_LEASE : RAFT_READ_SAFE;
    /* A write carries a value of up to proto-max-bulk-len plus its command. */
    rc->max_entry_bytes = RAFT_CODEC_MAX_ENTRY;
}

/* A lone voter needs no election timeout to know it wins: tick until it
 * leads (bounded by two election timeouts' worth of ticks). */
static void elect_alone(struct server *srv, uint32_t election_ticks)
{
    struct node *n = srv->node;
    const struct raft_conf *conf = raft_conf_of(n->raft);
    if (conf->n != 1 || conf->s[0].id != (raft_id)srv->cfg.node_id || !conf->s[0].voter) return;
    for (uint32_t i = 0; i < 2 * election_ticks + 2 && n->role != RAFT_LEADER; i++) {
        raft_tick(n->raft);
        node_process_ready(srv);
    }
}

/* Called from inside long log writes (storage_set_progress()): the peers'
 * queued messages keep flowing, so a large AppendEntries reaches the
 * followers while the leader writes its own copy, and the bytes arriving
 * keep their election timers quiet (raft_receiving()). */
#define PUMP_INTERVAL_MS 2

static void flush_peers(void *ud)
{
    struct node *n = ud;
    /* A node stuck in a long write says it is alive, once per heartbeat
     * interval: a follower to its leader (it cannot answer heartbeats before
     * it is done, and CheckQuorum would step the leader down), a leader to
     * its followers (it cannot send heartbeats, and their election timers
     * would fire): raft_receiving() on the other side. */
    int64_t now = util_monotonic_us();
    if (now - n->ping_us >= n->ping_every_us) {
        ping_peers(n);
        n->ping_us = now;
    }
    transport_flush(n->tr); /* a no-op when ping_peers flushed */
}

/* First boot: record the initial configuration before anything else, so a
 * restart finds the same members (cluster-members is read once). A snapshot
 * already there lost its log: refused, or its base. */
static int first_boot(struct server *srv, struct storage_state *st, bool *lost, char *err,
                      size_t errlen)
{
    initial_conf(srv, &st->snap.conf);
    int rc = node_safety_fresh_snapshot(srv, st, err, errlen);
    *lost |= rc > 0;
    struct storage_batch b = {.snapshot = &st->snap, .hs = &st->hs};
    if (rc < 0 || storage_save(srv->node->st, &b, err, errlen) != 0) return -1;
    return 0;
}

/* Hands the stored state to the Raft core, after telling the driver every
 * configuration it holds, oldest first. */
static int restore_core(struct server *srv, const struct storage_state *st, char *err,
                        size_t errlen)
{
    node_note_conf(srv, &st->snap.conf);
    for (uint32_t i = 0; i < st->n_entries; i++) {
        struct raft_conf c;
        if (st->entries[i].type == RAFT_ENTRY_CONF &&
            raft_conf_decode(st->entries[i].data, st->entries[i].len, &c) == 0)
            node_note_conf(srv, &c);
    }
    int rc = raft_restore(srv->node->raft, &st->hs, &st->snap, st->entries, st->n_entries);
    if (rc != 0) {
        snprintf(err, errlen, "Raft state in %s is inconsistent: %s", srv->cfg.dir,
                 raft_strerror(rc));
        return -1;
    }
    LOG_NOTICE("Raft log loaded: term %llu, commit %llu, %u entries after index %llu",
               (unsigned long long)st->hs.term, (unsigned long long)st->hs.commit, st->n_entries,
               (unsigned long long)st->snap.index);
    return 0;
}

/* *lost: the node may have lost state it had acknowledged (node_safety.c). */
static int open_log(struct server *srv, bool *lost, char *err, size_t errlen)
{
    struct node *n = srv->node;
    struct storage_state st;
    *lost = node_safety_check_wal(srv);
    if (storage_open(&n->st, srv->cfg.dir, (uint64_t)srv->cfg.node_id, srv->cfg.raft_log_fsync, err,
                     errlen) != 0 ||
        storage_load(n->st, &st, err, errlen) != 0)
        return -1;
    int rc = st.fresh ? first_boot(srv, &st, lost, err, errlen) : 0;
    if (rc == 0) rc = node_snap_restore(srv, &st.snap, err, errlen);
    if (rc == 0) rc = restore_core(srv, &st, err, errlen);
    storage_state_free(&st);
    return rc == 0 ? 0 : -1;
}

int node_init(struct server *srv, struct ev_loop *loop, char *err, size_t errlen)
{
    struct node *n = util_xcalloc(1, sizeof *n);
    srv->node = n;
    fifo_init(&n->writes, sizeof(struct write_waiter));
    fifo_init(&n->reads, sizeof(struct read_waiter));
    n->dec_ents = util_xmalloc(RAFT_MAX_MSG_ENTRIES * sizeof *n->dec_ents);
    struct raft_config rc;
    node_make_raft_config(srv, &rc);
    rc.seed = util_rand64(&srv->rng);
    if (raft_create(&rc, &n->raft) != 0) {
        snprintf(err, errlen, "Invalid Raft settings (election/heartbeat/limits)");
        return -1;
    }
    bool lost;
    if (open_log(srv, &lost, err, errlen) != 0) return -1;
    /* A peer's queue must hold at least one largest message. */
    struct transport_limits lim = TRANSPORT_LIMITS_DEFAULT;
    lim.pending_bytes_max = 2ull * RAFT_CODEC_MAX_MSG;
    n->tr = transport_create(loop, (uint64_t)srv->cfg.node_id, srv->cfg.raft_secret.ptr,
                             srv->cfg.raft_secret.len, &lim);
    n->ping_every_us = srv->cfg.raft_heartbeat_ms * 1000;
    storage_set_progress(n->st, flush_peers, n, PUMP_INTERVAL_MS);
    char host[CONFIG_HOST_MAX], addr[RAFT_ADDR_MAX];
    int port;
    config_advertise(&srv->cfg, host, &port);
    if (node_format_addr(host, port, addr, sizeof addr) == 0) transport_set_self_addr(n->tr, addr);
    n->conf_applied = *raft_conf_of(n->raft);
    node_safety_start(srv, lost);
    node_sync_peers(srv);
    elect_alone(srv, rc.election_ticks);
    return 0;
}

void node_free(struct server *srv)
{
    struct node *n = srv->node;
    if (!n) return;
    node_snap_free(srv);
    node_log_free(n);
    node_join_free(srv);
    if (n->st) storage_set_progress(n->st, NULL, NULL, 0); /* it flushes n->tr */
    if (n->tr) transport_free(n->tr);
    if (n->st) storage_close(n->st);
    raft_free(n->raft);
    free(n->writes.items);
    free(n->reads.items);
    free(n->enc);
    free(n->dec_ents);
    free(n->resume);
    free(n->staged);
    free(n->appliers);
    free(n);
    srv->node = NULL;
}
