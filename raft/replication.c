/*
 * raft/replication.c - log replication (§3.5), heartbeats, commitment (§3.6.2).
 *
 * Flow control per follower (see progress.c): PROBE sends one AppendEntries at a time;
 * REPLICATE pipelines up to max_inflight_msgs of them, each batching up to
 * max_entries_per_msg entries / max_bytes_per_msg bytes. A rejection carries a
 * conflict hint (hint index, hint term): the follower's last index at or below the
 * probed one whose term is <= the probed term; the leader jumps straight to its own
 * last index at or below the hint with a term <= hint term, skipping a whole term of
 * mismatching entries per round trip instead of one entry.
 */
#include "raft_int.h"
#include "raft_assert.h"

/* How many entries from index `from` fit one message. */
static uint32_t batch_len(const struct raft *r, raft_index from)
{
    raft_index last = rlog_last(&r->log);
    uint64_t bytes = 0;
    uint32_t n = 0;
    while (from + n <= last && n < r->cfg.max_entries_per_msg) {
        const struct raft_entry *e = rlog_at(&r->log, from + n);
        if (n > 0 && bytes + e->len > r->cfg.max_bytes_per_msg) break;
        bytes += e->len;
        n++;
    }
    return n;
}

bool raft_repl_may_send(const struct raft *r, const struct progress *p)
{
    return !(p->state == PR_SNAPSHOT || (p->state == PR_PROBE && p->probe_sent) ||
             (p->state == PR_REPLICATE && raft_inflight_full(r, p)));
}

struct raft_msg *raft_repl_append_msg(struct raft *r, struct progress *p, raft_index prev,
                                      struct raft_entry *ents, uint32_t n)
{
    struct raft_msg *m = raft_msg_new(r, RAFT_MSG_APPEND, p->id);
    if (!m) return NULL;
    m->index = prev;
    m->log_term = rlog_term(&r->log, prev);
    m->commit = r->commit;
    p->commit_sent = r->commit;
    m->n_entries = n;
    m->entries = ents;
    if (p->state == PR_REPLICATE && n) {
        p->next += n;
        raft_inflight_add(p, p->next - 1);
    } else if (p->state == PR_PROBE) {
        p->probe_sent = true;
    }
    return m;
}

/* Sends the next AppendEntries to p if flow control allows. Returns true if a message
 * carrying entries went out (callers loop on it to fill the pipeline). */
bool raft_repl_send_append(struct raft *r, struct progress *p, bool send_empty)
{
    ASSERT(r->role == RAFT_LEADER);
    ASSERT(p->id != r->id);
    ASSERT(p->match < p->next);
    if (!raft_repl_may_send(r, p)) return false;
    raft_index prev = p->next - 1;
    if (!rlog_term_known(&r->log, prev)) { /* compacted away: needs a snapshot (§5) */
        raft_snap_start(r, p);
        return false;
    }
    if (p->next <= r->log.base) /* released: the driver reads them back (release.c) */
        return raft_repl_request_entries(r, p);
    uint32_t n = batch_len(r, p->next);
    if (n == 0 && !send_empty) return false;
    struct raft_entry *ents = n ? raft_msg_entries(r, n) : NULL;
    if (n && !ents) return false;
    for (uint32_t i = 0; i < n; i++)
        ents[i] = *rlog_at(&r->log, p->next + i);
    return raft_repl_append_msg(r, p, prev, ents, n) && n > 0;
}

/* Whether p needs an empty AppendEntries to learn the commit index: it was not sent it,
 * and no entries are on their way to it (their acknowledgement will be answered with
 * the next entries, or with this empty message then: raft_repl_handle_append_resp). */
static bool commit_untold(const struct raft *r, const struct progress *p)
{
    return p->commit_sent < r->commit && !(p->state == PR_REPLICATE && p->in_count > 0);
}

void raft_repl_bcast_append(struct raft *r, bool tell_commit)
{
    for (uint32_t i = 0; i < r->n_prs; i++) {
        struct progress *p = &r->prs[i];
        if (p->id == r->id) continue;
        if (raft_repl_send_append(r, p, tell_commit && commit_untold(r, p)))
            while (p->state == PR_REPLICATE && raft_repl_send_append(r, p, false))
                ;
    }
}

void raft_repl_bcast_heartbeat(struct raft *r, uint64_t ctx)
{
    r->round_tick[ctx % 64] = r->ticks;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        struct progress *p = &r->prs[i];
        if (p->id == r->id) continue;
        struct raft_msg *m = raft_msg_new(r, RAFT_MSG_HEARTBEAT, p->id);
        if (!m) continue;
        /* Only what the follower is known to match may be declared committed to it. */
        m->commit = p->match < r->commit ? p->match : r->commit;
        m->ctx = ctx;
    }
}

static bool quorum_active(struct raft *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        struct progress *p = &r->prs[i];
        if (p->voter && (p->id == r->id || p->recent_active)) n++;
        if (p->id != r->id) p->recent_active = false;
    }
    return n >= raft_quorum(r);
}

void raft_repl_tick_leader(struct raft *r)
{
    ASSERT(r->role == RAFT_LEADER);
    r->heartbeat_elapsed++;
    r->election_elapsed++;
    if (r->election_elapsed >= r->cfg.election_ticks) {
        r->election_elapsed = 0;
        /* CheckQuorum (§6.2): a leader that has not heard from a majority within an
         * election timeout steps down, so clients are redirected and lease reads stay
         * safe. */
        if (r->cfg.check_quorum && !quorum_active(r)) {
            raft_become_follower(r, r->term, 0);
            return;
        }
        r->transferee = 0; /* §3.10: a transfer not done within a timeout is aborted */
    }
    if (r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
        r->heartbeat_elapsed = 0;
        r->read_bcast = false;
        raft_repl_bcast_heartbeat(r, r->read_round++);
        raft_member_tick(r);
    }
    raft_snap_tick(r);
    raft_repl_load_tick(r);
}

void raft_repl_commit_to(struct raft *r, raft_index commit)
{
    if (commit > rlog_last(&r->log)) commit = rlog_last(&r->log);
    if (commit <= r->commit) return;
    /* Only entries this log holds may commit, and never below what was applied. */
    ASSERT(commit > r->applied && rlog_term_known(&r->log, commit));
    r->commit = commit;
    raft_member_on_commit(r);
}

/* §3.6.2 / Fig. 3.7: commit the largest index a majority of voters store, but only if
 * that entry is of the current term; earlier entries then commit with it. */
bool raft_repl_maybe_commit(struct raft *r)
{
    ASSERT(r->role == RAFT_LEADER);
    raft_index q = raft_quorum_match(r);
    if (q <= r->commit || rlog_term(&r->log, q) != r->term) return false;
    raft_repl_commit_to(r, q);
    /* A committed change may have removed this leader (§4.2.2): it stepped down, and
     * sends nothing more as a leader. */
    return r->role == RAFT_LEADER;
}

static void reply(struct raft *r, const struct raft_msg *m, bool reject, raft_index index)
{
    struct raft_msg *o = raft_msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
    if (!o) return;
    o->reject = reject;
    o->index = index;
    o->recovering = r->recovering;
    if (reject) {
        /* fast back-off hint: our last index <= the probed one with term <= its term */
        raft_index h = index < rlog_last(&r->log) ? index : rlog_last(&r->log);
        o->hint = rlog_find_term_le(&r->log, h, m->log_term);
        o->hint_term = rlog_term(&r->log, o->hint);
    }
}

/* Fig. 3.1 AppendEntries receiver: consistency check on (prev index, prev term);
 * delete a conflicting suffix (never a committed entry); append what is new; advance
 * commit to min(leader commit, index of last new entry). */
void raft_repl_handle_append(struct raft *r, const struct raft_msg *m)
{
    /* Entries are consecutive after (index, log_term), of terms from log_term up to the
     * leader's (raft_step() refused anything else: check.c). */
    if (m->index < r->commit) { /* stale or duplicate: all of it is committed here */
        reply(r, m, false, r->commit);
        return;
    }
    if (!rlog_term_known(&r->log, m->index) || rlog_term(&r->log, m->index) != m->log_term) {
        reply(r, m, true, m->index);
        return;
    }
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];
        if (e->index <= rlog_last(&r->log)) {
            if (rlog_term(&r->log, e->index) == e->term) continue;
            if (e->index <= r->commit)
                return; /* would delete a committed entry: impossible from a correct
                           leader (State Machine Safety); refuse rather than obey */
            rlog_truncate(&r->log, e->index);
            if (r->conf_index >= e->index) raft_member_recompute(r);
        }
        if (rlog_append(&r->log, e->term, e->type, e->data, e->len) != 0)
            return; /* out of memory: no reply, the leader will retry */
        if (e->type == RAFT_ENTRY_CONF) raft_member_on_append(r, rlog_at(&r->log, e->index));
    }
    raft_index last_new = m->index + m->n_entries;
    raft_repl_commit_to(r, m->commit < last_new ? m->commit : last_new);
    if (r->recovering && r->recover_term != m->term) {
        /* The first AppendEntries of this leader: what it had committed then may be
         * all it will ever commit, if a newer term it does not know of exists. */
        r->recover_term = m->term;
        r->recover_floor = m->commit;
    }
    if (r->recovering && m->commit > r->recover_floor && last_new >= m->commit &&
        rlog_term(&r->log, m->commit) == m->term) {
        /* Caught up (see raft_set_recovering()): the leader committed an entry of its
         * term since we first heard from it, with a majority that did not count us, so
         * it was the leader of the newest term then, and we hold every entry ever
         * committed. The vote for this leader closes its term to any other candidate. */
        r->recovering = false;
        r->vote = m->from;
    }
    reply(r, m, false, last_new);
}

/* p's log no longer holds what it acknowledged (raft.h, A LOG THAT WENT BACKWARDS): its
 * match index is a promise it cannot keep. Probe again from `from`. */
static void forget_match(struct raft *r, struct progress *p, raft_index from)
{
    uint64_t read_ack = p->read_ack;
    raft_pr_reset(p, from);
    p->read_ack = read_ack;
    p->recent_active = true;
    raft_repl_send_append(r, p, true);
}

void raft_repl_handle_append_resp(struct raft *r, const struct raft_msg *m)
{
    ASSERT(r->role == RAFT_LEADER); /* raft_step() dispatches answers to leaders only */
    struct progress *p = raft_pr(r, m->from);
    if (!p || m->index > rlog_last(&r->log)) return;
    raft_pr_heard(r, p);
    p->recovering = m->recovering;
    if (m->reject && m->index <= p->match && m->recovering && p->state != PR_SNAPSHOT) {
        /* Its log went sideways: it lost entries it had acknowledged (a damaged WAL), and
         * holds others at or below its match index (ones a newer leader had replaced).
         * Replies come in order, so a rejection at or below the match index is not one
         * that crossed the acknowledgement. */
        forget_match(r, p, m->index);
        return;
    }
    if (m->reject) {
        if (m->index <= p->match || (p->state == PR_PROBE && m->index != p->next - 1) ||
            p->state == PR_SNAPSHOT)
            return; /* stale */
        raft_index h = rlog_find_term_le(&r->log, m->hint, m->hint_term);
        raft_index next = h + 1 < m->index ? h + 1 : m->index;
        p->next = next > p->match + 1 ? next : p->match + 1;
        p->state = PR_PROBE;
        p->probe_sent = false;
        p->in_count = 0;
        raft_repl_send_append(r, p, true);
        return;
    }
    bool advanced = m->index > p->match;
    if (advanced) p->match = m->index;
    if (p->next <= p->match) p->next = p->match + 1;
    raft_inflight_free_to(p, m->index);
    if (p->state == PR_PROBE) {
        p->state = PR_REPLICATE;
        p->next = p->match + 1;
        p->probe_sent = false;
        p->in_count = 0;
    } else if (p->state == PR_SNAPSHOT && p->match >= p->snap_index) {
        p->state = PR_PROBE;
        p->next = p->match + 1;
        p->probe_sent = false;
    }
    if (m->recovering && p->match == rlog_last(&r->log) && r->commit == p->match &&
        rlog_append(&r->log, r->term, RAFT_ENTRY_NOOP, NULL, 0) == 0) {
        /* A recovering follower holds our whole log but counts as caught up only
         * once we commit something of our term after it first heard from us
         * (raft_set_recovering()): in an idle cluster, a no-op gives it that. */
        raft_repl_bcast_append(r, false);
        return;
    }
    /* Followers hear of a commit at raft_ready(), with whatever else the round sends. */
    if (advanced && raft_repl_maybe_commit(r)) r->commit_bcast = true;
    if (r->role != RAFT_LEADER) return; /* the committed entry removed this leader */
    while (raft_repl_send_append(r, p, false) && p->state == PR_REPLICATE)
        ;
    if (commit_untold(r, p)) r->commit_bcast = true;
    raft_member_check_transfer(r, p);
}

void raft_repl_handle_heartbeat(struct raft *r, const struct raft_msg *m)
{
    /* A heartbeat's commit index assumes our log matches the leader's up to what it
     * counts as our match; a recovering log may hold other entries there (from a
     * leader a newer term deposed): it commits only what AppendEntries verified. */
    if (!r->recovering) raft_repl_commit_to(r, m->commit);
    struct raft_msg *o = raft_msg_new(r, RAFT_MSG_HEARTBEAT_RESP, m->from);
    if (!o) return;
    o->ctx = m->ctx;
    if (m->commit > rlog_last(&r->log) && !r->recovering)
        raft_set_recovering(r); /* we lost entries we had acknowledged: no vote until caught up */
    o->recovering = r->recovering;
    if (r->recovering) {
        /* The leader believes we match beyond our log's end: we lost entries we had
         * acknowledged. Say where our log ends (see raft.h, A LOG THAT WENT BACKWARDS).
         * A recovering server says it too: the AppendEntries it prompts lets it catch up
         * even when the leader has nothing new to send. */
        o->reject = true;
        o->index = rlog_last(&r->log);
    }
}

void raft_repl_handle_heartbeat_resp(struct raft *r, const struct raft_msg *m)
{
    struct progress *p = raft_pr(r, m->from);
    if (!p) return;
    raft_pr_heard(r, p);
    p->probe_sent = false;
    p->recovering = m->recovering;
    if (m->ctx > p->read_ack && m->ctx < r->read_round) {
        p->read_ack = m->ctx;
        raft_read_on_ack(r);
    }
    if (m->reject && m->index < p->match) {
        /* Its log went backwards: its match index no longer holds. Probe from its end. */
        forget_match(r, p, m->index);
        return;
    }
    if (p->state == PR_REPLICATE && raft_inflight_full(r, p)) raft_inflight_free_first(p);
    if (p->match < rlog_last(&r->log) || m->reject) raft_repl_send_append(r, p, true);
}
