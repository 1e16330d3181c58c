/*
 * raft/snapshot.c - log compaction and InstallSnapshot (§5.1, Fig. 5.3).
 *
 * The core never holds snapshot bytes for long: the leader asks the driver for one
 * single chunk (rd.snap_reqs, answered by raft_snapshot_chunk()), sends it, and asks for the
 * next when the follower acknowledges it; so at most one chunk per follower is in
 * flight. A transfer that hears nothing for two election timeouts restarts at offset 0.
 * The follower accepts chunks strictly in order (offset 0 always restarts), hands each
 * to the driver (rd.snap_chunk) and, on the last, resets its log to the snapshot.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_int.h"
#include "raft_assert.h"

int raft_snapshot_taken(struct raft *r, raft_index index, struct raft_snapshot_meta *meta)
{
    if (index > r->applied || index <= r->log.snap_index) return RAFT_EINVAL;
    struct raft_conf c;
    raft_member_conf_at(r, index, &c);
    raft_term term = rlog_term(&r->log, index);
    rlog_compact(&r->log, index, term);
    uint32_t k = 0; /* released configurations at or below index are the snapshot's now */
    while (k < r->n_rel_confs && r->rel_confs[k].index <= index)
        k++;
    if (k) {
        memmove(r->rel_confs, r->rel_confs + k, (r->n_rel_confs - k) * sizeof(*r->rel_confs));
        r->n_rel_confs -= k;
    }
    /* Outside ready/advance nothing borrows entry data but queued messages: without
     * them, the dropped entries are freed now rather than at the next advance, which an
     * idle server may not see for long, and a large entry would stay allocated. */
    if (r->n_msgs == 0) rlog_release_garbage(&r->log);
    r->snap_conf = c;
    if (meta) {
        meta->index = index;
        meta->term = term;
        meta->conf = c;
    }
    return 0;
}

static void request_chunk(struct raft *r, struct progress *p)
{
    if (r->n_snap_reqs == r->cap_snap_reqs) {
        uint32_t cap = r->cap_snap_reqs ? r->cap_snap_reqs * 2 : 4;
        struct raft_snap_req *q = realloc(r->snap_reqs, cap * sizeof(*q));
        if (!q) return; /* the idle timeout will retry */
        r->snap_reqs = q;
        r->cap_snap_reqs = cap;
    }
    r->snap_reqs[r->n_snap_reqs++] =
        (struct raft_snap_req){p->id, p->snap_index, p->snap_offset, r->cfg.snapshot_chunk_bytes};
    p->snap_outstanding = true;
    p->snap_idle_ticks = 0;
}

/* Leader: p needs entries we compacted; send it our current snapshot. */
void raft_snap_start(struct raft *r, struct progress *p)
{
    ASSERT(r->role == RAFT_LEADER && p->id != r->id);
    p->state = PR_SNAPSHOT;
    p->snap_index = r->log.snap_index;
    p->snap_term = r->log.snap_term;
    p->snap_offset = 0;
    p->in_count = 0;
    request_chunk(r, p);
}

void raft_snap_tick(struct raft *r)
{
    for (uint32_t i = 0; i < r->n_prs; i++) {
        struct progress *p = &r->prs[i];
        if (p->state == PR_SNAPSHOT && ++p->snap_idle_ticks >= 2 * r->cfg.election_ticks)
            raft_snap_start(r, p);
    }
}

int raft_snapshot_chunk(struct raft *r, raft_id to, raft_index index, uint64_t offset,
                        const void *data, uint32_t len, bool done)
{
    if (len > r->cfg.snapshot_chunk_bytes) return RAFT_EINVAL;
    struct progress *p = r->role == RAFT_LEADER ? raft_pr(r, to) : NULL;
    if (!p || p->state != PR_SNAPSHOT || p->snap_index != index || p->snap_offset != offset)
        return 0;                     /* the transfer moved on */
    if (index != r->log.snap_index) { /* a newer snapshot replaced it */
        raft_snap_start(r, p);
        return 0;
    }
    const uint8_t *copy = raft_buf_keep(r, data, len);
    struct raft_msg *m = copy ? raft_msg_new(r, RAFT_MSG_SNAPSHOT, to) : NULL;
    if (!m) return RAFT_ENOMEM;
    m->index = index;
    m->log_term = p->snap_term;
    m->offset = offset;
    m->chunk = copy;
    m->chunk_len = len;
    m->done = done;
    m->conf = r->snap_conf;
    p->snap_idle_ticks = 0;
    return 0;
}

void raft_snapshot_failed(struct raft *r, raft_id to)
{
    struct progress *p = r->role == RAFT_LEADER ? raft_pr(r, to) : NULL;
    if (p && p->state == PR_SNAPSHOT) raft_snap_start(r, p);
}

void raft_snap_handle_resp(struct raft *r, const struct raft_msg *m)
{
    struct progress *p = raft_pr(r, m->from);
    if (!p) return;
    raft_pr_heard(r, p);
    if (p->state != PR_SNAPSHOT || m->index != p->snap_index) return;
    if (m->done) { /* installed (or already had it): resume replication after it */
        if (p->match < m->index) p->match = m->index;
        p->next = p->match + 1;
        p->state = PR_PROBE;
        p->probe_sent = false;
        raft_repl_send_append(r, p, true);
        return;
    }
    if (m->offset <= p->snap_offset && !m->reject) return; /* duplicate or stale acknowledgement */
    if (m->reject && m->offset != 0)
        return; /* out of order: the idle timeout restarts if we are really stuck */
    p->snap_offset = m->offset;
    request_chunk(r, p);
}

static void respond(struct raft *r, const struct raft_msg *m, bool done, bool reject)
{
    struct raft_msg *o = raft_msg_new(r, RAFT_MSG_SNAPSHOT_RESP, m->from);
    if (!o) return;
    o->index = m->index;
    o->offset = r->recv_offset;
    o->done = done;
    o->reject = reject;
}

/* Fig. 5.3 receiver, chunked. */
static void install(struct raft *r, const struct raft_msg *m)
{
    rlog_reset(&r->log, m->index, m->log_term);
    r->n_rel_confs = 0;
    r->snap_conf = m->conf;
    r->conf = m->conf;
    r->conf_index = m->index;
    raft_pr_rebuild(r);
    r->commit = m->index;
    r->applied = m->index;
}

void raft_snap_handle(struct raft *r, const struct raft_msg *m)
{
    /* Fig. 5.3 step 6: we already hold the snapshot's last entry: keep our log. */
    if (m->index <= r->commit ||
        (rlog_term_known(&r->log, m->index) && rlog_term(&r->log, m->index) == m->log_term)) {
        raft_repl_commit_to(r, m->index);
        respond(r, m, true, false);
        return;
    }
    if (r->in_chunk_pending) return; /* one chunk per batch; the leader retries */
    if (!raft_conf_valid(&m->conf))
        return; /* never sent by a correct leader (the codec refuses it too) */
    if (m->offset == 0) {
        r->recv_index = m->index;
        r->recv_term = m->log_term;
        r->recv_offset = 0;
    }
    if (m->index != r->recv_index || m->log_term != r->recv_term || m->offset != r->recv_offset) {
        if (m->index != r->recv_index) r->recv_offset = 0;
        respond(r, m, false, true);
        return;
    }
    uint8_t *buf = realloc(r->in_chunk_buf, m->chunk_len ? m->chunk_len : 1);
    if (!buf) return;
    memcpy(buf, m->chunk, m->chunk_len);
    r->in_chunk_buf = buf;
    r->in_chunk = (struct raft_snap_chunk){
        {m->index, m->log_term, m->conf}, m->offset, m->chunk_len, buf, m->done};
    r->in_chunk_pending = true;
    r->recv_offset += m->chunk_len;
    if (m->done) install(r, m);
    respond(r, m, m->done, false);
}
