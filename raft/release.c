/*
 * raft/release.c - a log whose memory is bounded: releasing applied entries, and reading
 * them back from the driver for a follower that needs them.
 *
 * The driver stores every entry until its snapshot compacts it, so the core need not
 * hold them all: raft_log_release() lets it drop the oldest ones that are applied and
 * persisted (keeping their terms, raft/log.c, and the configurations among them). Only
 * a leader ever needs released data again, to send it to a follower that lags behind
 * it; raft_repl_send_append() then asks the driver (rd.log_reqs, one request per
 * follower at a time, answered with raft_log_entries()), as it asks for snapshot chunks
 * when the entries are compacted altogether. Nothing else reads entry data at or below
 * the base: entries to persist and to apply are newer than it by construction.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_int.h"

/* Records the configuration entries among base+1..upto; returns how far release may go
 * (before the first configuration entry that finds the list full). */
static raft_index keep_confs(struct raft *r, raft_index upto)
{
    for (raft_index i = r->log.base + 1; i <= upto; i++) {
        const struct raft_entry *e = rlog_at(&r->log, i);
        if (e->type != RAFT_ENTRY_CONF) continue;
        struct raft_conf c;
        if (raft_conf_decode(e->data, e->len, &c) != 0)
            continue; /* ignored when appended too (raft_member_on_append) */
        if (r->n_rel_confs == RAFT_MAX_RELEASED_CONFS) return i - 1;
        if (!r->rel_confs) {
            r->rel_confs = malloc(RAFT_MAX_RELEASED_CONFS * sizeof(*r->rel_confs));
            if (!r->rel_confs) return i - 1;
        }
        r->rel_confs[r->n_rel_confs++] = (struct released_conf){i, c};
    }
    return upto;
}

uint64_t raft_log_release(struct raft *r, uint64_t keep_bytes)
{
    struct rlog *l = &r->log;
    if (r->in_ready || l->bytes <= keep_bytes) return 0;
    raft_index limit = r->applied < l->persisted ? r->applied : l->persisted;
    raft_index upto = l->base;
    uint64_t bytes = l->bytes;
    while (upto < limit && bytes > keep_bytes)
        bytes -= rlog_at(l, ++upto)->len;
    if (upto == l->base) return 0;
    raft_index before = l->base;
    raft_index base = rlog_release(l, keep_confs(r, upto));
    while (r->n_rel_confs && r->rel_confs[r->n_rel_confs - 1].index > base)
        r->n_rel_confs--; /* not released after all (the term runs were full) */
    if (r->n_msgs == 0)   /* nothing borrows the data: free it now (raft_snapshot_taken) */
        rlog_release_garbage(l);
    return base - before;
}

void raft_log_mem(const struct raft *r, raft_index *first, uint64_t *entries, uint64_t *bytes)
{
    if (first) *first = r->log.base + 1;
    if (entries) *entries = r->log.n;
    if (bytes) *bytes = r->log.bytes;
}

uint64_t raft_log_footprint(const struct raft *r)
{
    const struct rlog *l = &r->log;
    return l->slab_bytes + l->cap * (sizeof(*l->ents) + sizeof(*l->slabs)) +
           (uint64_t)l->cap_garbage * sizeof(*l->garbage);
}

/* Leader: p needs released entries from p->next on. Asks the driver for them (one
 * request per follower at a time); returns false: nothing was sent yet. */
bool raft_repl_request_entries(struct raft *r, struct progress *p)
{
    if (p->load_outstanding) return false;
    if (r->n_log_reqs == r->cap_log_reqs) {
        uint32_t cap = r->cap_log_reqs ? r->cap_log_reqs * 2 : 4;
        struct raft_log_req *q = realloc(r->log_reqs, cap * sizeof(*q));
        if (!q) return false; /* the next heartbeat answer asks again */
        r->log_reqs = q;
        r->cap_log_reqs = cap;
    }
    raft_index prev = p->next - 1, last = prev + r->cfg.max_entries_per_msg;
    if (last > r->log.base) last = r->log.base;
    r->log_reqs[r->n_log_reqs++] =
        (struct raft_log_req){p->id, prev, last, r->cfg.max_bytes_per_msg};
    p->load_outstanding = true;
    p->load_idle_ticks = 0;
    return false;
}

/* A lost answer (a driver that never calls back) must not stall the follower for good. */
void raft_repl_load_tick(struct raft *r)
{
    for (uint32_t i = 0; i < r->n_prs; i++) {
        struct progress *p = &r->prs[i];
        if (p->load_outstanding && ++p->load_idle_ticks >= 2 * r->cfg.election_ticks)
            p->load_outstanding = false;
    }
}

/* Whether ents[0..n) are the entries prev+1.. this log holds: same indexes and terms. */
static bool entries_match(const struct raft *r, raft_index prev, const struct raft_entry *ents,
                          uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        raft_index idx = prev + 1 + i;
        if (ents[i].index != idx || idx > rlog_last(&r->log) ||
            ents[i].term != rlog_term(&r->log, idx) || ents[i].type > RAFT_ENTRY_CONF ||
            (ents[i].len && !ents[i].data))
            return false;
    }
    return true;
}

/* Copies ents into one buffer freed at advance and sends them to p as an AppendEntries
 * after prev. */
static int send_loaded(struct raft *r, struct progress *p, raft_index prev,
                       const struct raft_entry *ents, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += ents[i].len;
    if (total > UINT32_MAX) return RAFT_EINVAL;
    uint8_t *buf = raft_buf_alloc(r, (uint32_t)total);
    struct raft_entry *copy = buf ? raft_msg_entries(r, n) : NULL;
    if (!copy) return RAFT_ENOMEM;
    for (uint32_t i = 0, off = 0; i < n; off += ents[i++].len) {
        copy[i] = ents[i];
        copy[i].data = ents[i].len ? buf + off : NULL;
        if (ents[i].len) memcpy(buf + off, ents[i].data, ents[i].len);
    }
    return raft_repl_append_msg(r, p, prev, copy, n) ? 0 : RAFT_ENOMEM;
}

int raft_log_entries(struct raft *r, raft_id to, raft_index prev, const struct raft_entry *ents,
                     uint32_t n)
{
    if (r->in_ready) return RAFT_EINVAL;
    struct progress *p = r->role == RAFT_LEADER ? raft_pr(r, to) : NULL;
    if (!p || !p->load_outstanding) return 0; /* no longer asked for */
    p->load_outstanding = false;
    if (prev < r->log.snap_index) return 0; /* compacted meanwhile: a snapshot follows */
    if (n > r->cfg.max_entries_per_msg) n = r->cfg.max_entries_per_msg;
    if (!entries_match(r, prev, ents, n)) return RAFT_EINVAL;
    if (n == 0) return 0; /* the driver could not read them: the next heartbeat answer retries */
    if (prev == p->next - 1 && raft_repl_may_send(r, p)) {
        int rc = send_loaded(r, p, prev, ents, n);
        if (rc != 0) return rc;
    }
    /* ask for what follows (or again, after a stale answer) */
    while (raft_repl_send_append(r, p, false) && p->state == PR_REPLICATE)
        ;
    return 0;
}
