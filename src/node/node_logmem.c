/*
 * src/node/node_logmem.c - the driver's half of a Raft log whose memory is bounded
 * (raft/raft.h, LOG MEMORY).
 *
 * Every committed entry is in SQLite until a snapshot compacts it, so the
 * core need not hold them all in memory as well: after each ready loop the
 * node lets it release its oldest applied entries beyond
 * raft-log-max-memory bytes. A leader whose follower lags behind that window
 * asks for the released entries (rd.log_reqs); they are read back from
 * SQLite here, after raft_advance(), in bounded batches (the core asks for
 * at most one message's worth per follower at a time). Without this, a node
 * kept every entry since its last snapshot in memory next to the keyspace
 * they built - as much again as the data, right after a bulk load.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "node/node.h"
#include "node/node_int.h"
#include "storage/storage.h"
#include "transport/transport.h"
#include "base/util.h"

void node_log_queue(struct node *n, const struct raft_ready *rd)
{
    struct node_logmem *m = &n->logmem;
    if (rd->n_log_reqs == 0) return;
    if (m->n_reqs + rd->n_log_reqs > m->reqs_cap) {
        uint32_t cap = (m->n_reqs + rd->n_log_reqs) * 2;
        m->reqs = util_xrealloc(m->reqs, cap * sizeof *m->reqs);
        m->reqs_cap = cap;
    }
    memcpy(m->reqs + m->n_reqs, rd->log_reqs, rd->n_log_reqs * sizeof *rd->log_reqs);
    m->n_reqs += rd->n_log_reqs;
}

void node_log_answer(struct node *n)
{
    struct node_logmem *m = &n->logmem;
    char err[512];
    for (uint32_t i = 0; i < m->n_reqs; i++) {
        const struct raft_log_req *q = &m->reqs[i];
        int rc = storage_read(n->st, q->prev + 1, q->last, q->max_bytes, RAFT_MAX_MSG_ENTRIES,
                              &m->range, err, sizeof err);
        if (rc != 0) node_fatal("Reading the Raft log back for a follower", err);
        m->reads++;
        m->entries_read += m->range.n;
        rc = raft_log_entries(n->raft, q->to, q->prev, m->range.entries, m->range.n);
        if (rc == RAFT_EINVAL)
            node_fatal("Reading the Raft log back for a follower",
                       "the stored entries differ from the ones the log held");
        if (rc != 0)
            LOG_WARNING("Log entries for node %llu: %s", (unsigned long long)q->to,
                        raft_strerror(rc));
    }
    m->n_reqs = 0;
}

void node_log_release(struct node *n)
{
    raft_log_release(n->raft, (uint64_t)n->cfg->raft_log_max_memory);
}

void node_log_info(const struct node *n, struct node_log_info *out)
{
    raft_log_mem(n->raft, &out->mem_first_index, &out->mem_entries, &out->mem_bytes);
    out->reads = n->logmem.reads;
    out->entries_read = n->logmem.entries_read;
}

uint64_t node_mem_log(const struct node *n)
{
    /* Asked while the node starts too (the keyspace's tables grow while a
     * snapshot loads): no core or links yet is no memory of theirs. */
    return (n->raft ? raft_log_footprint(n->raft) : 0) + storage_memory_bytes();
}

uint64_t node_mem_peers(const struct node *n)
{
    return n->tr ? transport_pending_bytes(n->tr) : 0;
}

void node_log_free(struct node *n)
{
    free(n->logmem.reqs);
    storage_range_free(&n->logmem.range);
}
