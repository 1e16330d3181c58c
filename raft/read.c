/*
 * raft/read.c - linearizable reads without log writes: ReadIndex (§6.4).
 *
 * 1. The leader must have committed an entry of its term (else RAFT_ENOTREADY): only
 *    then is its commit index at least every index committed before the read began.
 * 2. The read is bound to that commit index and to a heartbeat round number.
 * 3. A round is broadcast once (at the next raft_ready() or heartbeat tick), however
 *    many reads wait on it; when a majority of voters has acknowledged a round >= the
 *    read's, the leader was still leader when the read arrived, and the read is
 *    released as (ctx, index) in rd.reads.
 * 4. The driver serves it once its applied index reaches index.
 * Lease mode (RAFT_READ_LEASE) skips step 3 while the leader holds a lease: when a
 * majority acknowledged a round sent at tick t, none of them will vote for another
 * server before their own t + election_ticks (§4.2.3 rule in raft.c), so no other
 * leader can exist before then; the leader answers reads at once until
 * t + election_ticks - 2 (two ticks of margin for clock drift, the assumption stated in
 * raft.h), and falls back to a ReadIndex round otherwise, and for the rest of a term in which
 * a transfer began (a TimeoutNow election ignores leases).
 * Follower reads (raft.h, READS): a follower queues its reads in the same ring, each
 * with the batch number read_round held when it was issued; raft_read_flush() sends
 * the batch in one READ_INDEX to the leader and starts the next. The leader queues the
 * request as a read of its own marked with the asker (pending_read.from) and, where it
 * would release it, answers READ_INDEX_RESP instead; the follower releases every batch
 * up to the answered one at the answer's index.
 */
#include <stdlib.h>
#include "raft_assert.h"
#include "raft_int.h"

static void release_as(struct raft *r, uint64_t ctx, raft_index index, bool failed)
{
    if (r->n_out_reads == r->cap_out_reads) {
        uint32_t cap = r->cap_out_reads ? r->cap_out_reads * 2 : 16;
        struct raft_read_state *o = realloc(r->out_reads, cap * sizeof(*o));
        if (!o) return; /* the read is lost; the driver times it out */
        r->out_reads = o;
        r->cap_out_reads = cap;
    }
    r->out_reads[r->n_out_reads++] = (struct raft_read_state){ctx, index, failed};
}

static void release(struct raft *r, uint64_t ctx, raft_index index)
{
    release_as(r, ctx, index, false);
}

/* The leader's answer to a follower's batch ctx: its index, or a refusal. */
static void answer(struct raft *r, raft_id to, uint64_t ctx, raft_index index, bool reject)
{
    struct raft_msg *o = raft_msg_new(r, RAFT_MSG_READ_INDEX_RESP, to);
    if (!o) return; /* the asker's driver times its reads out */
    o->ctx = ctx;
    o->index = reject ? 0 : index;
    o->reject = reject;
}

static int queue(struct raft *r, uint64_t ctx, raft_index index, raft_id from)
{
    if (r->n_reads == r->cap_reads) return RAFT_EBUSY;
    uint32_t slot = (r->reads_head + r->n_reads) % r->cap_reads;
    r->reads[slot] = (struct pending_read){ctx, index, r->read_round, from};
    r->n_reads++;
    r->read_bcast = true;
    return 0;
}

/* The leader binds a read (its own: from 0; a follower's batch) to its commit index. */
static int leader_read(struct raft *r, uint64_t ctx, raft_id from)
{
    if (rlog_term(&r->log, r->commit) != r->term) return RAFT_ENOTREADY;
    bool alone = raft_n_voters(r) == 1 && raft_is_voter(r, r->id);
    bool leased = r->cfg.read_mode == RAFT_READ_LEASE && r->ticks < r->lease_until &&
                  r->lease_off_term != r->term;
    if (!leased && !alone) return queue(r, ctx, r->commit, from);
    if (from) {
        answer(r, from, ctx, r->commit, false);
        return 0;
    }
    if (r->n_out_reads >= r->cfg.max_pending_reads) return RAFT_EBUSY;
    release(r, ctx, r->commit);
    return 0;
}

int raft_read_index(struct raft *r, uint64_t ctx)
{
    if (r->role == RAFT_LEADER) return leader_read(r, ctx, 0);
    if (r->role != RAFT_FOLLOWER || r->leader == 0) return RAFT_ENOTLEADER;
    return queue(r, ctx, 0, r->id); /* sent to the leader at the next raft_ready() */
}

void raft_read_handle_request(struct raft *r, const struct raft_msg *m)
{
    if (r->role != RAFT_LEADER || leader_read(r, m->ctx, m->from) != 0)
        answer(r, m->from, m->ctx, 0, true);
}

void raft_read_handle_response(struct raft *r, const struct raft_msg *m)
{
    uint64_t round = m->ctx - r->read_base; /* wraps: an answer of an earlier life is huge */
    if (r->role != RAFT_FOLLOWER || m->from != r->leader || round >= r->read_round) return;
    while (r->n_reads && r->reads[r->reads_head].round <= round) {
        struct pending_read *p = &r->reads[r->reads_head];
        ASSERT(p->from == r->id);
        release_as(r, p->ctx, m->index, m->reject);
        r->reads_head = (r->reads_head + 1) % r->cap_reads;
        r->n_reads--;
    }
}

/* Called before a batch is handed out: one heartbeat round for all waiting reads (a
 * follower: one request to its leader for the reads issued since the last). */
void raft_read_flush(struct raft *r)
{
    if (!r->read_bcast) return;
    if (r->role == RAFT_FOLLOWER && r->leader) {
        struct raft_msg *o = raft_msg_new(r, RAFT_MSG_READ_INDEX, r->leader);
        if (!o) return; /* sent with the next read or batch */
        r->read_bcast = false;
        o->ctx = r->read_base + r->read_round++;
        return;
    }
    if (r->role != RAFT_LEADER) return;
    r->read_bcast = false;
    r->heartbeat_elapsed = 0;
    raft_repl_bcast_heartbeat(r, r->read_round++);
}

void raft_read_on_ack(struct raft *r)
{
    uint64_t acked = raft_quorum_read_ack(r);
    if (acked > 0 && acked != UINT64_MAX && acked + 64 > r->read_round) {
        uint64_t until = r->round_tick[acked % 64] + r->cfg.election_ticks - 2;
        if (until > r->lease_until) r->lease_until = until;
    }
    while (r->n_reads && r->reads[r->reads_head].round <= acked) {
        struct pending_read *p = &r->reads[r->reads_head];
        if (p->from)
            answer(r, p->from, p->ctx, p->index, false);
        else
            release(r, p->ctx, p->index);
        r->reads_head = (r->reads_head + 1) % r->cap_reads;
        r->n_reads--;
    }
}

/* A change of role, term or leader: a follower's own reads fail (the leader they
 * waited for may never answer); a leader's are dropped (its driver fails them as it
 * loses leadership), and the followers' asked of it end at their change of leader or
 * their driver's timeout. */
void raft_read_reset(struct raft *r)
{
    for (uint32_t i = 0; i < r->n_reads; i++) {
        const struct pending_read *p = &r->reads[(r->reads_head + i) % r->cap_reads];
        if (p->from == r->id) release_as(r, p->ctx, 0, true);
    }
    r->n_reads = 0;
    r->reads_head = 0;
    r->read_bcast = false;
}
