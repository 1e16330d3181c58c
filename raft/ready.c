/*
 * raft/ready.c - the output side: raft_has_ready(), raft_ready(), raft_advance(), and
 * read-only introspection.
 *
 * A batch hands out, by pointer into core-owned memory, what the driver must persist,
 * send and apply (see the contract in raft.h). raft_advance() is the driver's
 * acknowledgement: only then does the core consider the entries durable (the leader
 * counts itself towards commitment from that moment, §10.2.1), the committed entries
 * applied, and the borrowed memory free to reuse.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_int.h"
#include "raft_assert.h"

static bool hs_changed(const struct raft *r)
{
    return r->term != r->prev_hs.term || r->vote != r->prev_hs.vote ||
           r->commit != r->prev_hs.commit;
}

/* The last committed entry the driver may apply: with asynchronous writes, only entries
 * it has acknowledged as written (a batch never asks to apply what a crash could still
 * erase from this node's own log). */
static raft_index apply_limit(const struct raft *r)
{
    if (!r->cfg.async_persist || r->commit <= r->log.persisted) return r->commit;
    return r->log.persisted;
}

bool raft_has_ready(const struct raft *r)
{
    return hs_changed(r) || r->role != r->prev_role || r->leader != r->prev_leader || r->n_msgs ||
           r->log.unstable <= rlog_last(&r->log) || apply_limit(r) > r->applied || r->n_out_reads ||
           r->n_snap_reqs || r->n_log_reqs || r->in_chunk_pending ||
           ((r->read_bcast || r->commit_bcast) && r->role == RAFT_LEADER) ||
           (r->read_bcast && r->role == RAFT_FOLLOWER && r->leader);
}

void raft_ready(struct raft *r, struct raft_ready *rd)
{
    /* One AppendEntries per follower carries this round's new entries and the latest
     * commit index; an empty one goes only to a follower with no entries to receive. */
    if ((r->bcast_pending || r->commit_bcast) && r->role == RAFT_LEADER)
        raft_repl_bcast_append(r, r->commit_bcast);
    r->bcast_pending = false;
    r->commit_bcast = false;
    raft_read_flush(r);
    memset(rd, 0, sizeof(*rd));
    rd->hard_state_changed = hs_changed(r);
    rd->hard_state = (struct raft_hard_state){r->term, r->vote, r->commit};
    rd->soft_state_changed = r->role != r->prev_role || r->leader != r->prev_leader;
    rd->role = r->role;
    rd->leader = r->leader;
    rd->snap_chunk = r->in_chunk_pending ? &r->in_chunk : NULL;
    r->ready_chunk = r->in_chunk_pending;
    raft_index last = rlog_last(&r->log);
    if (r->log.unstable <= last) {
        rd->entries = rlog_at(&r->log, r->log.unstable);
        rd->n_entries = (uint32_t)(last - r->log.unstable + 1);
    }
    r->ready_last = last;
    rd->msgs = r->msgs;
    rd->n_msgs = r->n_msgs;
    r->ready_applied = r->applied;
    raft_index upto = apply_limit(r);
    if (upto > r->applied) {
        rd->committed = rlog_at(&r->log, r->applied + 1);
        rd->n_committed = (uint32_t)(upto - r->applied);
        r->ready_applied = upto;
    }
    rd->reads = r->out_reads;
    rd->n_reads = r->n_out_reads;
    rd->snap_reqs = r->snap_reqs;
    rd->n_snap_reqs = r->n_snap_reqs;
    rd->log_reqs = r->log_reqs;
    rd->n_log_reqs = r->n_log_reqs;
    r->prev_hs = rd->hard_state;
    r->prev_role = r->role;
    r->prev_leader = r->leader;
    r->in_ready = true;
}

/* The leader counts its own log towards commitment (§10.2.1) once persisted moved. */
static void persisted_to(struct raft *r, raft_index index)
{
    if (index <= r->log.persisted) return;
    r->log.persisted = index;
    if (r->role == RAFT_LEADER && raft_repl_maybe_commit(r)) r->commit_bcast = true;
}

/* Everything but the persistence of the batch's entries and hard state. */
static void finish_batch(struct raft *r)
{
    r->in_ready = false;
    /* The driver applied what the ready handed it: committed entries only, in order. */
    ASSERT(r->ready_applied >= r->applied && r->ready_applied <= r->commit);
    r->log.unstable = r->ready_last + 1;
    r->applied = r->ready_applied;
    r->n_msgs = 0;
    for (struct ent_block *b = r->blocks; b; b = b->next)
        b->used = 0;
    for (uint32_t i = 0; i < r->n_bufs; i++)
        free(r->bufs[i]);
    r->n_bufs = 0;
    r->n_snap_reqs = 0;
    r->n_log_reqs = 0;
    r->n_out_reads = 0;
    r->in_chunk_pending = false;
    rlog_release_garbage(&r->log);
}

void raft_advance(struct raft *r)
{
    if (!r->in_ready) return;
    finish_batch(r);
    persisted_to(r, r->ready_last); /* this batch, and every earlier one */
}

void raft_advance_async(struct raft *r)
{
    if (!r->in_ready) return;
    ASSERT(r->cfg.async_persist && !r->ready_chunk);
    finish_batch(r);
}

void raft_persisted(struct raft *r, raft_index index, raft_term term)
{
    ASSERT(!r->in_ready);
    /* A write of entries since truncated (a new leader overwrote them) or replaced by a
     * snapshot is stale: the entry at index is not the one written, or not handed out. */
    if (index <= r->log.persisted || index >= r->log.unstable || rlog_term(&r->log, index) != term)
        return;
    persisted_to(r, index);
}

raft_id raft_id_of(const struct raft *r)
{
    return r->id;
}

enum raft_role raft_role_of(const struct raft *r)
{
    return r->role;
}

raft_id raft_leader(const struct raft *r)
{
    return r->leader;
}

raft_id raft_transfer_target(const struct raft *r)
{
    return r->role == RAFT_LEADER ? r->transferee : 0;
}

raft_term raft_term_of(const struct raft *r)
{
    return r->term;
}

raft_index raft_commit_index(const struct raft *r)
{
    return r->commit;
}

raft_index raft_applied_index(const struct raft *r)
{
    return r->applied;
}

raft_index raft_last_index(const struct raft *r)
{
    return rlog_last(&r->log);
}

raft_index raft_first_index(const struct raft *r)
{
    return r->log.snap_index + 1;
}

raft_term raft_log_term(const struct raft *r, raft_index index)
{
    return rlog_term(&r->log, index);
}

const struct raft_entry *raft_log_entry(const struct raft *r, raft_index index)
{
    return rlog_at(&r->log, index);
}

const struct raft_conf *raft_conf_of(const struct raft *r)
{
    return &r->conf;
}

int raft_progress(const struct raft *r, raft_id id, raft_index *match)
{
    if (r->role != RAFT_LEADER) return RAFT_ENOTLEADER;
    for (uint32_t i = 0; i < r->n_prs; i++) {
        if (r->prs[i].id == id) {
            *match = id == r->id ? r->log.persisted : r->prs[i].match;
            return 0;
        }
    }
    return RAFT_EINVAL;
}

const char *raft_strerror(int err)
{
    switch (err) {
    case RAFT_OK:
        return "ok";
    case RAFT_ENOTLEADER:
        return "not the leader";
    case RAFT_EBUSY:
        return "busy: a change or transfer is in flight, or a queue is full";
    case RAFT_ETOOBIG:
        return "entry too big";
    case RAFT_EINVAL:
        return "invalid argument";
    case RAFT_ENOMEM:
        return "out of memory";
    case RAFT_ENOTREADY:
        return "leader has not committed an entry of its term yet";
    case RAFT_EMALFORMED:
        return "malformed message";
    case RAFT_EUNSAFE:
        return "the new voters would not have a responsive majority";
    case RAFT_EREFUSED:
        return "message refused";
    }
    return "unknown error";
}
