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
 */
#include <stdlib.h>
#include "raft_int.h"

static void release(struct raft *r, uint64_t ctx, raft_index index)
{
    if (r->n_out_reads == r->cap_out_reads) {
        uint32_t cap = r->cap_out_reads ? r->cap_out_reads * 2 : 16;
        struct raft_read_state *o = realloc(r->out_reads, cap * sizeof(*o));
        if (!o) return; /* the read is lost; the driver times it out */
        r->out_reads = o;
        r->cap_out_reads = cap;
    }
    r->out_reads[r->n_out_reads++] = (struct raft_read_state){ctx, index};
}

int raft_read_index(struct raft *r, uint64_t ctx)
{
    if (r->role != RAFT_LEADER) return RAFT_ENOTLEADER;
    if (rlog_term(&r->log, r->commit) != r->term) return RAFT_ENOTREADY;
    bool alone = raft_n_voters(r) == 1 && raft_is_voter(r, r->id);
    bool leased = r->cfg.read_mode == RAFT_READ_LEASE && r->ticks < r->lease_until &&
                  r->lease_off_term != r->term;
    if (leased || alone) {
        if (r->n_out_reads >= r->cfg.max_pending_reads) return RAFT_EBUSY;
        release(r, ctx, r->commit);
        return 0;
    }
    if (r->n_reads == r->cap_reads) return RAFT_EBUSY;
    uint32_t slot = (r->reads_head + r->n_reads) % r->cap_reads;
    r->reads[slot] = (struct pending_read){ctx, r->commit, r->read_round};
    r->n_reads++;
    r->read_bcast = true;
    return 0;
}

/* Called before a batch is handed out: one heartbeat round for all waiting reads. */
void raft_read_flush(struct raft *r)
{
    if (!r->read_bcast || r->role != RAFT_LEADER) return;
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
        release(r, p->ctx, p->index);
        r->reads_head = (r->reads_head + 1) % r->cap_reads;
        r->n_reads--;
    }
}

void raft_read_reset(struct raft *r)
{
    r->n_reads = 0;
    r->reads_head = 0;
    r->read_bcast = false;
}
