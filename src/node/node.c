/*
 * src/node/node.c - the Raft driver (see node.h); snapshots live in src/node/node_snap.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft.h"
#include "base/clock.h"
#include "cmd/client.h"
#include "base/log.h"
#include "node/node.h"
#include "node/node_int.h"
#include "raft/raft_assert.h"
#include "cmd/cmd.h"
#include "sm/sm.h"
#include "storage/storage.h"
#include "transport/transport.h"
#include "base/util.h"
#include "node/waiters.h"

/* Share of the loop's time spent deleting compacted log rows
 * (storage_trim), in every Raft tick: 1/TRIM_SHARE_DIV of a tick period. */
#define TRIM_SHARE_DIV 20

/* ------------------------------------------------------------- addressing */

void node_reply_not_leader(struct node *n, struct client *c, unsigned slot)
{
    char host[CONFIG_HOST_MAX];
    int port;
    if (!n->leader || node_member_addr(n, n->leader, host, sizeof host, &port) != 0) {
        resp_add_error(&c->out, "CLUSTERDOWN No raft leader");
        return;
    }
    int v6 = strchr(host, ':') != NULL;
    resp_add_errorf(&c->out, "MOVED %u %s%s%s:%d", slot, v6 ? "[" : "", host, v6 ? "]" : "", port);
}

void node_reply_moved(struct node *n, struct client *c)
{
    node_reply_not_leader(n, c, 0);
}

/* --------------------------------------------------------------- routing */

/* A leadership transfer (a rolling restart's handover) is under way: the
 * core refuses proposals until it is over, and then, until the new leader
 * is heard of, this node knows nobody to send clients to. Their commands
 * wait unanswered meanwhile (parked), instead of failing with TRYAGAIN or
 * CLUSTERDOWN, for at most park_until_ms. */
static int handing_over(const struct node *n)
{
    if (clock_ms() >= n->park_until_ms) return 0;
    if (n->role != RAFT_LEADER) return n->leader == 0;
    /* still transferring, or the core stepped down already (the target's
     * election reached it) and this node has not processed that yet: a
     * write staged now would only be refused */
    return raft_transfer_target(n->raft) != 0 || raft_role_of(n->raft) != RAFT_LEADER;
}

/* The parked clients go on once the handover is over (they then run their
 * command again: -MOVED to the new leader, or here if the transfer failed). */
static void unpark_when_over(struct node *n)
{
    if (waiters_parked(n->waiters) && !handing_over(n)) waiters_unpark(n->waiters);
}

enum node_route node_route(struct node *n, struct client *c, int is_write, int is_read)
{
    int leader = n->role == RAFT_LEADER;
    if (c->waiting_read) return NODE_WAIT;
    if (c->pending_writes > 0 && !(is_write && leader)) return NODE_WAIT;
    if (!is_write && !is_read) return NODE_EXEC;
    if (!node_has_cluster(n)) {
        resp_add_error(&c->out, "NOCLUSTER this node is waiting to be added to a cluster "
                                "(RAFT.CLUSTER JOIN)");
        return NODE_REPLIED;
    }
    if (node_removed(n)) {
        resp_add_error(&c->out, "NOCLUSTER this node was removed from the cluster");
        return NODE_REPLIED;
    }
    if (!(c->flags & CLIENT_READONLY && !is_write) && handing_over(n)) {
        waiters_park(n->waiters, c);
        return NODE_WAIT;
    }
    if (!leader) {
        if (!is_read || !(c->flags & CLIENT_READONLY)) return NODE_NOT_LEADER;
        /* A node that lost state holds not even a stale copy of the
         * cluster's data until it caught up (docs/storage-safety.md). */
        if (raft_recovering(n->raft)) {
            resp_add_error(&c->out, "CLUSTERDOWN this node is recovering lost Raft state "
                                    "(RAFT.INFO)");
            return NODE_REPLIED;
        }
        if (!(c->flags & CLIENT_LINEARIZABLE_READS)) return NODE_EXEC; /* stale: READONLY */
        /* a linearizable follower read: the leader's commit index, then here;
         * one the leader did not confirm goes to the leader */
        if (c->cur_cmd_end <= c->read_failed_end) return NODE_NOT_LEADER;
    }
    if (is_write || c->cur_cmd_end <= c->read_cleared_end) return NODE_EXEC;
    uint64_t ctx = ++n->next_ctx;
    int rc = raft_read_index(n->raft, ctx);
    if (rc == RAFT_ENOTLEADER) return NODE_NOT_LEADER; /* a follower that knows no leader */
    if (rc == RAFT_ENOTREADY) {
        resp_add_error(&c->out, "CLUSTERDOWN No raft leader");
        return NODE_REPLIED;
    }
    if (rc != 0) {
        resp_add_error(&c->out, WAITERS_READ_TIMEOUT);
        return NODE_REPLIED;
    }
    waiters_add_read(n->waiters, c, ctx, c->in_received,
                     clock_ms() + n->cfg->raft_request_timeout_ms);
    return NODE_WAIT;
}

int node_close_instead_of_redirect(struct node *n, struct client *c)
{
    if (!n->cfg->stepdown_close_clients || n->cfg->raft_follower_proxy || client_in_log(c) ||
        (c->maint & MAINT_ON))
        return 0;
    if (!(c->flags & CLIENT_CLOSE_WHEN_IDLE) &&
        !(c->talked_to_leader && !(c->flags & CLIENT_READONLY)))
        return 0;
    c->flags &= ~CLIENT_CLOSE_WHEN_IDLE;
    client_close_after_reply(c);
    return 1;
}

/* The reply to a proposal the core refused (a write refused because the
 * node stepped down between dispatching and proposing it never entered the
 * log: a client of the former leader is closed instead, and retries). */
static void reply_refused(struct node *n, struct client *c, int rc)
{
    if (rc == RAFT_ENOTLEADER) {
        if (!node_close_instead_of_redirect(n, c)) node_reply_not_leader(n, c, 0);
    } else if (rc == RAFT_ETOOBIG)
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
        waiters_delay_writes(n->waiters, bytes / WRITE_ALLOWANCE_BYTES_PER_MS);
    }
    return n->big_bytes;
}

static int64_t write_deadline(const struct node *n, int64_t bytes)
{
    return clock_ms() + n->cfg->raft_request_timeout_ms + bytes / WRITE_ALLOWANCE_BYTES_PER_MS;
}

void node_add_waiter(struct node *n, struct client *c, raft_index index, int64_t bytes)
{
    ASSERT(index > n->applied); /* answered as entries apply: one applied has passed */
    waiters_add_write(n->waiters, c, index, raft_term_of(n->raft), write_deadline(n, bytes));
}

/* Proposes an entry nobody waits for (expiry). Returns its index, or 0 if
 * the log refused it. */
static uint64_t propose_unwaited(struct node *n, const struct raft_part *parts, uint32_t n_parts)
{
    size_t staged;
    waiters_staged(n->waiters, &staged);
    ASSERT(staged == 0 && "nobody waits for it: the open batch went first");
    raft_index index = 0;
    if (sum_parts(parts, n_parts) > BIG_ENTRY_BYTES) ping_peers(n); /* copying it takes a while */
    return raft_propose_parts(n->raft, parts, n_parts, &index) == 0 ? index : 0;
}

/* Proposes the entry holding the writes staged since the last proposal:
 * reply i goes to the i-th staged client when it is applied; a refusal is
 * replied to each at once. Returns the entry's index, or 0. */
static uint64_t propose_staged(struct node *n, const struct raft_part *parts, uint32_t n_parts)
{
    raft_index index = 0;
    int64_t bytes = sum_parts(parts, n_parts);
    if (bytes > BIG_ENTRY_BYTES) ping_peers(n); /* copying it takes a while */
    int rc = raft_propose_parts(n->raft, parts, n_parts, &index);
    if (rc == 0) {
        bytes = bytes_ahead(n, index, bytes);
        ASSERT(index > n->applied);
        waiters_staged_proposed(n->waiters, index, raft_term_of(n->raft), write_deadline(n, bytes));
        return index;
    }
    size_t k;
    struct client *const *staged = waiters_staged(n->waiters, &k);
    const uint32_t *tags = waiters_staged_tags(n->waiters);
    for (size_t i = 0; i < k; i++)
        if (staged[i] && !(tags[i] & REPLY_TAG_MUTED)) reply_refused(n, staged[i], rc);
    waiters_staged_refused(n->waiters);
    return 0;
}

void node_write_flush(struct node *n)
{
    struct raft_part whole;
    if (!sm_batch_take(n->sm, &whole)) return;
    sm_batch_proposed(n->sm, propose_staged(n, &whole, 1));
}

/* Proposes the entry built in scratch (waited: for the clients staged). */
static void propose_scratch(struct node *n, int waited)
{
    struct raft_part *parts;
    uint32_t k = sm_scratch_take(n->sm, &parts);
    uint64_t index = waited ? propose_staged(n, parts, k) : propose_unwaited(n, parts, k);
    sm_scratch_proposed(n->sm, parts, index);
}

void node_write(struct node *n, struct client *c, int db, const struct command *cmd, int argc,
                const struct resp_arg *argv)
{
    ASSERT(!n->processing && argc > 0); /* never from inside an apply */
    struct sm_write w;
    sm_write_prepare(n->sm, db, cmd, argc, argv, &w);
    if (w.flush_first) node_write_flush(n);
    int alone = sm_write_add(n->sm, &w);
    waiters_stage(n->waiters, c, w.tag_as);
    if (alone)
        propose_scratch(n, 1);
    else if (sm_batch_full(n->sm))
        node_write_flush(n); /* full: no need to wait */
}

void node_write_multi(struct node *n, struct client *c)
{
    ASSERT(!n->processing && c && c->mstate.count >= 0);
    node_write_flush(n); /* a client's commands reach the log in the order it sent them */
    size_t room = c->mstate.count > 0 ? (size_t)c->mstate.count : 1;
    uint32_t *tags = util_xmalloc(room * sizeof *tags);
    uint32_t k = sm_build_multi(n->sm, c, tags);
    ASSERT(k == room);
    for (uint32_t i = 0; i < k; i++) /* c waits as the first command, stand-ins as the others */
        waiters_stage(n->waiters, i == 0 ? c : NULL, tags[i]);
    free(tags);
    propose_scratch(n, 1);
}

void node_write_expire(struct node *n, int db, int nkeys, const struct resp_arg *keys)
{
    ASSERT(!n->processing && nkeys > 0);
    node_write_flush(n);
    sm_build_expire(n->sm, db, nkeys, keys);
    propose_scratch(n, 0);
}

void node_write_held(struct node *n, int db, int argc, const struct resp_arg *argv)
{
    const struct command *parent;
    sm_hold_keys(n->sm);
    node_write(n, NULL, db, cmd_lookup(argv, argc, &parent), argc, argv);
}

/* -------------------------------------------------------------- messages */

/* The message is encoded straight into its framed RAFT.MSG command, which
 * the link copies (or, when large, takes) for its output. */
void node_send_msg(struct node *n, const struct raft_msg *m)
{
    ASSERT(m->to != 0 && m->to != m->from); /* the core never sends to itself */
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
        if (rd->msgs[i].must_persist_first == persisted) node_send_msg(n, &rd->msgs[i]);
    transport_flush(n->tr);
}

/* Whether a rate-limited line is due now; if not, it is counted as left out. */
static bool ratelog_due(struct node_ratelog *l, int64_t interval_ms)
{
    int64_t now = clock_mono_us() / 1000;
    if (now < l->next_ms) {
        l->left_out++;
        return false;
    }
    l->next_ms = now + interval_ms;
    return true;
}

/* A peer's message refused: logged, but never more than a line per
 * NODE_REFUSAL_LOG_MS (a broken or hostile peer may send thousands a second). */
static void log_refused(struct node *n, uint64_t from, const char *why)
{
    n->msgs_refused++;
    if (!ratelog_due(&n->refused_log, NODE_REFUSAL_LOG_MS)) return;
    LOG_WARNING("Refused a Raft message from node %llu: %s (%llu more refused in the last %d s; "
                "%llu since start)",
                (unsigned long long)from, why, (unsigned long long)n->refused_log.left_out,
                NODE_REFUSAL_LOG_MS / 1000, (unsigned long long)n->msgs_refused);
    n->refused_log.left_out = 0;
}

int node_receive(struct node *n, uint64_t from, const uint8_t *msg, size_t len, char *err,
                 size_t errlen)
{
    ASSERT(!n->processing); /* peer links are not read while an entry applies */
    struct raft_msg m;
    if (raft_decode(msg, len, &m, n->dec_ents, RAFT_MAX_MSG_ENTRIES) != 0) {
        snprintf(err, errlen, "malformed raft message (%zu bytes)", len);
        log_refused(n, from, err);
        return -1;
    }
    if (m.from != from) {
        snprintf(err, errlen, "raft message from %llu on the link of node %llu",
                 (unsigned long long)m.from, (unsigned long long)from);
        return -1;
    }
    /* A refusal of our incarnation that came in since the last tick must
     * stop this node from voting before it answers a vote request. */
    if ((m.type == RAFT_MSG_VOTE || m.type == RAFT_MSG_PREVOTE) && !raft_recovering(n->raft))
        node_safety_tick(n);
    int rc = raft_step(n->raft, &m);
    if (rc == RAFT_EREFUSED) {
        snprintf(err, errlen, "raft message refused (type %u, term %llu): %s", (unsigned)m.type,
                 (unsigned long long)m.term, raft_refusal(n->raft));
        log_refused(n, from, err);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "raft message not for this node");
        return -1;
    }
    node_view_heard(n, from);
    node_answer_peer(n, from);
    return 0;
}

uint64_t node_messages_refused(const struct node *n)
{
    return n->msgs_refused;
}

void node_receiving(struct node *n, uint64_t from)
{
    raft_receiving(n->raft, (raft_id)from);
    transport_heard(n->tr, from);
}

/* ------------------------------------------------------------- applying */

void node_fatal(const char *what, const char *err)
{
    LOG_WARNING("%s: %s. Exiting: a node that cannot persist its log must not vote or "
                "acknowledge writes.",
                what, err);
    exit(1);
}

static void apply_one(struct node *n, const struct raft_entry *e)
{
    /* Already in the keyspace: loaded from a snapshot newer than the stored
     * log's base (snapshot.h, crash points 2 and 5). Committed entries are
     * the same everywhere, so these are exactly what the snapshot holds. */
    if (e->index <= n->applied) return;
    ASSERT(e->index == n->applied + 1); /* the keyspace takes every entry, in order */
    struct client *const *clients;
    size_t k = waiters_entry(n->waiters, e->index, e->term, &clients);
    if (e->type == RAFT_ENTRY_NORMAL) {
        char err[160];
        if (e->len > BIG_ENTRY_BYTES) ping_peers(n); /* applying it takes a while */
        if (sm_apply(n->sm, e->index, clients, waiters_entry_tags(n->waiters), k,
                     (const char *)e->data, e->len, err, sizeof err) < 0)
            node_fatal("Corrupt committed log entry", err);
        n->normal_applied++;
    } else if (e->type == RAFT_ENTRY_CONF) {
        struct raft_conf old = n->conf_applied;
        if (raft_conf_decode(e->data, e->len, &n->conf_applied) == 0) {
            n->conf_dirty = true;
            node_safety_conf_applied(n, &old, &n->conf_applied, e->index);
        }
        if (k > 0 && clients[0]) /* RAFT.NODE ADD/REMOVE */
            resp_add_simple(&clients[0]->out, "OK");
    }
    waiters_entry_applied(n->waiters, k);
    n->applied = e->index;
    n->applied_bytes += e->len;
    sm_set_applied(n->sm, e->index);
}

static void release_reads(struct node *n, const struct raft_ready *rd)
{
    for (uint32_t i = 0; i < rd->n_reads; i++) {
        if (rd->reads[i].failed) {
            n->follower_reads_failed++;
            waiters_read_failed(n->waiters, rd->reads[i].ctx);
            continue;
        }
        if (n->role != RAFT_LEADER) n->follower_reads++;
        waiters_read_released(n->waiters, rd->reads[i].ctx, rd->reads[i].index);
    }
    waiters_serve_reads(n->waiters, n->applied);
}

static void role_changed(struct node *n, const struct raft_ready *rd)
{
    int was_leader = n->role == RAFT_LEADER;
    n->role = rd->role;
    n->leader = rd->leader;
    node_view_role_changed(n, rd->leader);
    static const char *const names[] = {"follower", "pre-candidate", "candidate", "leader"};
    ASSERT((size_t)n->role < sizeof names / sizeof names[0]);
    log_set_role(n->role == RAFT_LEADER ? 'M' : 'S');
    if (n->role == RAFT_LEADER && !was_leader) {
        /* writes kept past a handover whose entries are no longer in the
         * log: their indexes will be proposed again */
        waiters_writes_lost_after(n->waiters, raft_last_index(n->raft));
        sm_leader_started(n->sm, raft_last_index(n->raft));
    }
    LOG_NOTICE("Raft: %s at term %llu, leader %llu", names[n->role],
               (unsigned long long)raft_term_of(n->raft), (unsigned long long)n->leader);
    if (!was_leader || n->role == RAFT_LEADER) return;
    /* A handover this node started (node_transfer_leader) went to a node
     * that held every entry proposed here, the raft core's condition for
     * it: their writes wait to be applied as the new leader commits them,
     * rather than fail with -TIMEOUT when they succeed. A write whose entry
     * is replaced after all still gets -TIMEOUT, when that index is applied
     * or at its deadline (src/node/waiters.h). */
    raft_index keep =
        clock_ms() < n->park_until_ms ? raft_last_index(n->raft) : raft_commit_index(n->raft);
    waiters_leadership_lost(n->waiters, keep);
}

/* A leader applies the committed entries it already holds on disk (those
 * before this batch's new ones) before writing the batch, and sends their
 * replies when the write syncs: the clients hear back one fsync earlier and
 * send their next commands meanwhile. Changes nothing for the core: committed entries are
 * durable on a majority, and these on this node too. A follower keeps the
 * core's order, so that its acknowledgement goes out first. Returns how many
 * of rd->committed it applied. */
static uint32_t apply_before_save(struct node *n, const struct raft_ready *rd, bool async)
{
    if (rd->role != RAFT_LEADER || rd->n_committed == 0) return 0;
    raft_index first_new = rd->n_entries ? rd->entries[0].index : UINT64_MAX;
    uint32_t k = 0;
    while (k < rd->n_committed && rd->committed[k].index < first_new)
        apply_one(n, &rd->committed[k++]);
    ASSERT(k == 0 || n->applied == rd->committed[k - 1].index);
    /* Only a save that syncs here is worth sending them ahead of: otherwise they
     * go with the loop iteration's one write per client, where each round
     * of the iteration (a client's next write) would add a write of its own. */
    if (k && rd->n_entries && n->cfg->raft_log_fsync && !async)
        n->env.flush_replies(n->env.ud); /* nothing in there calls the core */
    return k;
}

/* One batch, in raft.h's order; asynchronous (node_write.c) when it may be.
 * Returns whether it was. */
static bool process_one(struct node *n, struct raft_ready *rd)
{
    char err[256];
    bool async = node_write_async(n, rd);
    send_msgs(n, rd, 0);
    /* raft.h's order: the snapshot chunk first (an installed snapshot's data
     * is durable before the batch records it as the log's base). */
    bool installed = rd->snap_chunk && node_snap_install(n, rd->snap_chunk);
    struct storage_batch b = {
        .snapshot = installed ? &rd->snap_chunk->meta : NULL,
        .n_entries = rd->n_entries,
        .entries = rd->entries,
        .hs = rd->hard_state_changed ? &rd->hard_state : NULL,
    };
    uint32_t done = apply_before_save(n, rd, async);
    n->ping_us = clock_mono_us(); /* flush_peers(): pings only if the write takes long */
    /* A large AppendEntries goes out whole before the leader's own write, so
     * that the followers write theirs at the same time, not after it: each
     * then answers within an election timeout of the leader's resuming. */
    if (rd->role == RAFT_LEADER && n->sent_big) {
        transport_drain(n->tr, (uint32_t)n->cfg->raft_election_timeout_ms / 2);
        n->sent_big = 0;
    }
    if (storage_save(n->st, &b, err, sizeof err) != 0) node_fatal("Writing the Raft log", err);
    if (installed) node_snap_installed(n, rd->snap_chunk);
    if (rd->hard_state_changed) n->hs = rd->hard_state;
    if (async) {
        node_write_hold(n, rd);
    } else {
        node_write_settle(n);
        send_msgs(n, rd, 1);
    }
    /* Committed entries first: they are committed whatever the role became
     * (a leader that removed itself answers RAFT.NODE REMOVE, then steps
     * down and fails what is still pending; with asynchronous writes the
     * change may commit before its entry is on this disk, and the waiter
     * stays until a later batch applies it: waiters_leadership_lost()). */
    for (uint32_t i = done; i < rd->n_committed; i++)
        apply_one(n, &rd->committed[i]);
    release_reads(n, rd);
    if (rd->soft_state_changed) role_changed(n, rd);
    if (n->conf_dirty || memcmp(&n->conf_seen, raft_conf_of(n->raft), sizeof n->conf_seen) != 0)
        node_sync_peers(n);
    node_snap_queue(n, rd);
    node_log_queue(n, rd);
    return async;
}

void node_process_ready(struct node *n)
{
    ASSERT(!n->processing); /* never from inside an apply (a busy script's pass) */
    n->processing = true;
    /* Bounded: each round either empties the ready or makes progress. */
    for (int round = 0; round < 64; round++) {
        node_write_flush(n); /* the writes clients sent since the last round */
        node_write_poll(n);  /* outside any batch */
        if (!raft_has_ready(n->raft)) break;
        struct raft_ready rd;
        raft_ready(n->raft, &rd);
        if (process_one(n, &rd))
            raft_advance_async(n->raft);
        else
            raft_advance(n->raft);
        node_snap_answer(n); /* raft.h: snapshot and log requests after raft_advance() */
        node_log_answer(n);
    }
    node_log_release(n);
    node_snap_after_ready(n);
    node_safety_after_ready(n);
    unpark_when_over(n);
    n->processing = false;
}

/* -------------------------------------------------------------- timeouts */

/* The core did not start an election: its term is at RAFT_TERM_MAX (raft.h,
 * TERMS). Nothing here can fix that; the operator can (docs/operations.md). */
static void check_exhausted(struct node *n)
{
    uint64_t refused = raft_campaigns_refused(n->raft);
    if (refused == n->campaigns_refused_seen) return;
    n->campaigns_refused_seen = refused;
    if (!ratelog_due(&n->exhausted_log, NODE_EXHAUSTED_LOG_MS)) return;
    LOG_WARNING("RAFT TERM EXHAUSTED: this node's term %llu is at the ceiling (RAFT_TERM_MAX = "
                "%llu): it starts no election, and without a leader the cluster takes no writes. "
                "See \"Recovering a cluster whose term is exhausted\" in docs/operations.md "
                "(%llu elections not started since start)",
                (unsigned long long)raft_term_of(n->raft), (unsigned long long)RAFT_TERM_MAX,
                (unsigned long long)refused);
    n->exhausted_log.left_out = 0;
}

void node_tick(struct node *n)
{
    /* A follower whose answers wait for a sync (node_write.c) says it is
     * alive meanwhile: its leader's quorum check (raft_receiving() there)
     * must not take a slow disk for a lost follower. */
    ASSERT(!n->processing);
    if (fifo_len(&n->writes.q) && n->role != RAFT_LEADER) ping_peers(n);
    raft_tick(n->raft);
    check_exhausted(n);
    node_safety_tick(n);
    if (storage_trim_pending(n->st)) {
        char err[256];
        uint32_t budget_us = (uint32_t)(n->cfg->raft_heartbeat_ms * 1000 / TRIM_SHARE_DIV);
        if (storage_trim(n->st, budget_us ? budget_us : 1, err, sizeof err) != 0)
            node_fatal("Trimming the compacted Raft log", err);
    }
    waiters_expire(n->waiters, clock_ms());
    unpark_when_over(n);
}

void node_client_gone(struct node *n, struct client *c)
{
    node_join_client_gone(n, c);
}

void node_read_stats(const struct node *n, uint64_t *confirmed, uint64_t *failed)
{
    *confirmed = n->follower_reads;
    *failed = n->follower_reads_failed;
}

struct transport *node_links(struct node *n)
{
    return n->tr;
}

uint64_t node_leader(const struct node *n)
{
    return n->leader;
}

const struct raft *node_core(const struct node *n)
{
    return n->raft;
}

const struct transport *node_transport(const struct node *n)
{
    return n->tr;
}

void node_storage_stats(const struct node *n, struct storage_stats *st)
{
    storage_stats(n->st, st);
}

const struct raft_hard_state *node_hard_state(const struct node *n)
{
    return &n->hs;
}

uint64_t node_applied(const struct node *n)
{
    return n->applied;
}

void node_set_fsync(struct node *n, int on)
{
    char err[256];
    if (storage_set_fsync(n->st, on, err, sizeof err) != 0)
        LOG_WARNING("Could not change raft-log-fsync: %s", err);
}

int node_is_leader(const struct node *n)
{
    return n->role == RAFT_LEADER;
}

double node_tick_seconds(const struct node *n)
{
    return (double)n->cfg->raft_heartbeat_ms / 1000.0;
}

/* ------------------------------------------------------------ start, stop */

/* The configuration of a first boot: cluster-members, or this node alone. */
static void initial_conf(const struct node *n, struct raft_conf *conf)
{
    memset(conf, 0, sizeof *conf);
    for (int i = 0; i < n->cfg->members_count && conf->n < RAFT_MAX_NODES; i++) {
        const struct config_member *m = &n->cfg->members[i];
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
        config_advertise(n->cfg, host, &port);
        conf->s[0].id = (raft_id)n->cfg->node_id;
        conf->s[0].voter = true;
        if (node_format_addr(host, port, conf->s[0].addr, RAFT_ADDR_MAX) != 0)
            conf->s[0].addr[0] = 0; /* too long to record: advertise-addr serves it */
        conf->n = 1;
    }
}

void node_make_raft_config(const struct node *n, struct raft_config *rc)
{
    raft_config_default(rc);
    long long ratio = n->cfg->raft_election_timeout_ms / n->cfg->raft_heartbeat_ms;
    rc->id = (raft_id)n->cfg->node_id;
    rc->heartbeat_ticks = 1;
    rc->election_ticks = ratio < 2 ? 2 : (uint32_t)ratio;
    rc->max_inflight_msgs = (uint32_t)n->cfg->raft_max_inflight_msgs;
    rc->max_entries_per_msg = (uint32_t)n->cfg->raft_max_entries_per_msg;
    if (rc->max_inflight_msgs > RAFT_MAX_INFLIGHT) rc->max_inflight_msgs = RAFT_MAX_INFLIGHT;
    if (rc->max_entries_per_msg > RAFT_MAX_MSG_ENTRIES)
        rc->max_entries_per_msg = RAFT_MAX_MSG_ENTRIES;
    rc->read_mode = n->cfg->raft_read_mode == CONFIG_READ_LEASE ? RAFT_READ_LEASE : RAFT_READ_SAFE;
    /* A write carries a value of up to proto-max-bulk-len plus its command. */
    rc->max_entry_bytes = RAFT_CODEC_MAX_ENTRY;
    rc->async_persist = true; /* node_write.c decides batch by batch */
}

/* A lone voter needs no election timeout to know it wins: tick until it
 * leads (bounded by two election timeouts' worth of ticks). */
static void elect_alone(struct node *n, uint32_t election_ticks)
{
    const struct raft_conf *conf = raft_conf_of(n->raft);
    if (conf->n != 1 || conf->s[0].id != (raft_id)n->cfg->node_id || !conf->s[0].voter) return;
    for (uint32_t i = 0; i < 2 * election_ticks + 2 && n->role != RAFT_LEADER; i++) {
        raft_tick(n->raft);
        node_process_ready(n);
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
    int64_t now = clock_mono_us();
    if (now - n->ping_us >= n->ping_every_us) {
        ping_peers(n);
        n->ping_us = now;
    }
    transport_flush(n->tr); /* a no-op when ping_peers flushed */
}

void node_busy_keepalive(struct node *n)
{
    ASSERT(n->processing); /* only from inside an apply */
    flush_peers(n);
}

/* First boot: record the initial configuration before anything else, so a
 * restart finds the same members (cluster-members is read once). A snapshot
 * already there lost its log: refused, or its base. */
static int first_boot(struct node *n, struct storage_state *st, bool *lost, char *err,
                      size_t errlen)
{
    initial_conf(n, &st->snap.conf);
    n->boot_waiting = raft_conf_find(&st->snap.conf, (raft_id)n->cfg->node_id) < 0;
    int rc = node_safety_fresh_snapshot(n, st, err, errlen);
    *lost |= rc > 0;
    struct storage_batch b = {.snapshot = &st->snap, .hs = &st->hs};
    if (rc < 0 || storage_save(n->st, &b, err, errlen) != 0) return -1;
    return 0;
}

/* Hands the stored state to the Raft core, after telling the driver every
 * configuration it holds, oldest first. */
static int restore_core(struct node *n, const struct storage_state *st, char *err, size_t errlen)
{
    node_note_conf(n, &st->snap.conf);
    for (uint32_t i = 0; i < st->n_entries; i++) {
        struct raft_conf c;
        if (st->entries[i].type == RAFT_ENTRY_CONF &&
            raft_conf_decode(st->entries[i].data, st->entries[i].len, &c) == 0)
            node_note_conf(n, &c);
    }
    n->hs = st->hs; /* durable: what RAFT.INFO and the safety checks see until it changes */
    int rc = raft_restore(n->raft, &st->hs, &st->snap, st->entries, st->n_entries);
    if (rc != 0) {
        snprintf(err, errlen, "Raft state in %s is inconsistent: %s", n->cfg->dir,
                 raft_strerror(rc));
        return -1;
    }
    LOG_NOTICE("Raft log loaded: term %llu, commit %llu, %u entries after index %llu",
               (unsigned long long)st->hs.term, (unsigned long long)st->hs.commit, st->n_entries,
               (unsigned long long)st->snap.index);
    return 0;
}

/* *lost: the node may have lost state it had acknowledged (node_safety.c). */
static int open_log(struct node *n, bool *lost, char *err, size_t errlen)
{
    struct storage_state st;
    *lost = node_safety_check_wal(n);
    if (storage_open(&n->st, n->cfg->dir, (uint64_t)n->cfg->node_id, n->cfg->raft_log_fsync, err,
                     errlen) != 0 ||
        storage_load(n->st, &st, err, errlen) != 0)
        return -1;
    int rc = st.fresh ? first_boot(n, &st, lost, err, errlen) : 0;
    if (rc == 0) rc = node_snap_restore(n, &st.snap, err, errlen);
    if (rc == 0) rc = restore_core(n, &st, err, errlen);
    storage_state_free(&st);
    return rc == 0 ? 0 : -1;
}

int node_init(struct node **np, const struct node_env *env, char *err, size_t errlen)
{
    struct node *n = util_xcalloc(1, sizeof *n);
    *np = n;
    n->env = *env;
    n->cfg = env->cfg;
    n->sm = env->sm;
    n->waiters = env->waiters;
    n->snap.last_done_ms = clock_ms(); /* as Redis: at start the data counts as saved */
    n->dec_ents = util_xmalloc(RAFT_MAX_MSG_ENTRIES * sizeof *n->dec_ents);
    struct raft_config rc;
    node_make_raft_config(n, &rc);
    rc.seed = env->seed;
    if (raft_create(&rc, &n->raft) != 0) {
        snprintf(err, errlen, "Invalid Raft settings (election/heartbeat/limits)");
        return -1;
    }
    bool lost;
    if (open_log(n, &lost, err, errlen) != 0) return -1;
    /* A peer's queue must hold at least one largest message. */
    struct transport_limits lim = TRANSPORT_LIMITS_DEFAULT;
    lim.pending_bytes_max = 2ull * RAFT_CODEC_MAX_MSG;
    n->tr = transport_create(env->loop, (uint64_t)n->cfg->node_id, n->cfg->raft_secret.ptr,
                             n->cfg->raft_secret.len, &lim);
    struct transport_limits plim = TRANSPORT_LIMITS_DEFAULT;
    plim.pending_bytes_max = PUBSUB_LINK_BYTES_MAX; /* the bound: bursts of small */
    plim.pending_cmds_max = 1u << 20;               /* messages are admitted */
    n->tr_pubsub = transport_create(env->loop, (uint64_t)n->cfg->node_id, n->cfg->raft_secret.ptr,
                                    n->cfg->raft_secret.len, &plim);
    transport_set_label(n->tr_pubsub, "Pub/sub link to peer");
    node_set_tls(n, env->tls);
    n->ping_every_us = n->cfg->raft_heartbeat_ms * 1000;
    storage_set_progress(n->st, flush_peers, n, PUMP_INTERVAL_MS);
    char host[CONFIG_HOST_MAX], addr[RAFT_ADDR_MAX];
    int port;
    config_advertise(n->cfg, host, &port);
    if (node_format_addr(host, port, addr, sizeof addr) == 0) {
        transport_set_self_addr(n->tr, addr);
        transport_set_self_addr(n->tr_pubsub, addr);
    }
    n->conf_applied = *raft_conf_of(n->raft);
    node_writes_start(n);
    node_safety_start(n, lost);
    node_sync_peers(n);
    elect_alone(n, rc.election_ticks);
    return 0;
}

void node_set_tls(struct node *n, struct tls_ctx *tls)
{
    transport_set_tls(n->tr, tls);
    transport_set_tls(n->tr_pubsub, tls);
}

void node_free(struct node *n)
{
    if (!n) return;
    node_snap_free(n);
    node_log_free(n);
    node_join_free(n);
    node_writes_free(n);
    if (n->st) storage_set_progress(n->st, NULL, NULL, 0); /* it flushes n->tr */
    if (n->tr) transport_free(n->tr);
    if (n->tr_pubsub) transport_free(n->tr_pubsub);
    if (n->st) storage_close(n->st);
    raft_free(n->raft);
    free(n->enc);
    free(n->dec_ents);
    free(n);
}
