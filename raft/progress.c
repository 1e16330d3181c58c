/*
 * raft/progress.c - the leader's per-peer replication state (§3.5) and quorum math.
 *
 * A peer is in one of three states: PROBE (we do not know where its log ends: send one
 * AppendEntries, wait for its answer, one per heartbeat), REPLICATE (pipelining: up to
 * max_inflight_msgs AppendEntries in flight, tracked in a ring of their last indexes)
 * and SNAPSHOT (it needs compacted entries: an InstallSnapshot transfer is under way).
 * The progress table is kept parallel to the configuration, rebuilt when it changes; a
 * leader appends, after the members, the servers a change removed, until they hold the
 * entry removing them (raft_pr_rebuild).
 */
#include <stdlib.h>
#include <string.h>
#include "raft_int.h"
#include "raft_assert.h"

void raft_pr_reset(struct progress *p, raft_index last)
{
    raft_id id = p->id;
    bool voter = p->voter;
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->voter = voter;
    p->next = last + 1;
    p->state = PR_PROBE;
}

/* Whether the old entry p is kept, as departed, when the configuration changes: only on
 * a leader (whose log the removed server still needs), never for itself. */
static bool keep_departed(const struct raft *r, const struct progress *p)
{
    return r->role == RAFT_LEADER && p->id != r->id && raft_conf_find(&r->conf, p->id) < 0;
}

/* Rebuilds r->prs to follow r->conf, keeping the state of servers still present. On a
 * leader, servers the change removed stay behind the members, marked departed_at: a
 * removed server only learns of its removal from the entry that removes it, which it
 * would otherwise never receive (the change takes effect on append, §4.1). A departed
 * server added back starts afresh, as any server added: what it acknowledged, and when
 * it last answered, belong to the server removed, which may not be the one added (the
 * operator may have replaced it with an empty one under the same id). Kept, they made it
 * look caught up before it ever answered, and it was promoted at the next heartbeat. */
int raft_pr_rebuild(struct raft *r)
{
    uint32_t n_departed = 0;
    for (uint32_t i = 0; i < r->n_prs; i++)
        n_departed += keep_departed(r, &r->prs[i]);
    if (n_departed > RAFT_MAX_NODES) n_departed = RAFT_MAX_NODES;
    uint32_t n = r->conf.n + n_departed;
    struct progress *np = calloc(n ? n : 1, sizeof(*np));
    if (!np) return RAFT_ENOMEM;
    for (uint32_t i = 0; i < r->conf.n; i++) {
        const struct raft_server *s = &r->conf.s[i];
        struct progress *old = r->prs ? raft_pr(r, s->id) : NULL;
        if (old && !old->departed_at) {
            np[i] = *old;
        } else {
            np[i].id = s->id;
            raft_pr_reset(&np[i], rlog_last(&r->log));
            np[i].recent_active = true; /* do not let a fresh peer trip CheckQuorum */
        }
        np[i].voter = s->voter;
    }
    uint32_t k = r->conf.n;
    for (uint32_t i = 0; i < r->n_prs && k < n; i++) {
        if (!keep_departed(r, &r->prs[i])) continue;
        np[k] = r->prs[i];
        np[k].voter = false;
        if (!np[k].departed_at) np[k].departed_at = r->conf_index;
        k++;
    }
    free(r->prs);
    r->prs = np;
    r->n_prs = k;
    return 0;
}

void raft_pr_heard(struct raft *r, struct progress *p)
{
    p->recent_active = true;
    p->heard_tick = r->ticks + 1;
}

/* It answered this leader within the last election timeout. */
bool raft_pr_responsive(const struct raft *r, const struct progress *p)
{
    return p->heard_tick != 0 && r->ticks + 1 - p->heard_tick <= r->cfg.election_ticks;
}

/* Leader: forgets a departed server once its removal committed and it either holds the
 * entry removing it, or stopped answering, or would need a snapshot (not worth sending
 * to a server that is gone). */
void raft_pr_prune_departed(struct raft *r)
{
    uint32_t k = r->conf.n;
    for (uint32_t i = r->conf.n; i < r->n_prs; i++) {
        const struct progress *p = &r->prs[i];
        bool done =
            p->departed_at <= r->commit &&
            (p->match >= p->departed_at || !raft_pr_responsive(r, p) || p->state == PR_SNAPSHOT);
        if (!done) r->prs[k++] = *p;
    }
    r->n_prs = k;
}

bool raft_inflight_full(const struct raft *r, const struct progress *p)
{
    return p->in_count >= r->cfg.max_inflight_msgs;
}

void raft_inflight_add(struct progress *p, raft_index last)
{
    /* The window is bounded and ordered: raft_inflight_free_to() frees a prefix. */
    ASSERT(p->in_count < RAFT_MAX_INFLIGHT);
    ASSERT(p->in_count == 0 ||
           p->inflight[(p->in_start + p->in_count - 1) % RAFT_MAX_INFLIGHT] <= last);
    uint32_t slot = (p->in_start + p->in_count) % RAFT_MAX_INFLIGHT;
    p->inflight[slot] = last;
    p->in_count++;
}

/* An acknowledgement up to index frees every message ending at or before it. */
void raft_inflight_free_to(struct progress *p, raft_index index)
{
    while (p->in_count && p->inflight[p->in_start] <= index) {
        p->in_start = (p->in_start + 1) % RAFT_MAX_INFLIGHT;
        p->in_count--;
    }
}

void raft_inflight_free_first(struct progress *p)
{
    if (p->in_count) {
        p->in_start = (p->in_start + 1) % RAFT_MAX_INFLIGHT;
        p->in_count--;
    }
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The quorum-th largest of one value per voter: the largest v such that a majority of
 * voters have a value >= v. The leader's own value is passed in for itself. */
static uint64_t quorum_value(const struct raft *r, size_t field_off, uint64_t self_value)
{
    uint64_t v[RAFT_MAX_NODES];
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->conf.n; i++) {
        if (!r->prs[i].voter) continue;
        if (r->prs[i].id == r->id)
            v[n++] = self_value;
        else if (r->prs[i].recovering)
            v[n++] = 0; /* it may have lost what it acknowledged, and terms it saw */
        else
            memcpy(&v[n++], (const char *)&r->prs[i] + field_off, sizeof(uint64_t));
    }
    if (n == 0) return 0;
    qsort(v, n, sizeof(v[0]), cmp_desc);
    return v[n / 2];
}

/* Self counts with what the driver has persisted (§10.2.1): entries handed out but not
 * yet acknowledged as written do not. */
raft_index raft_quorum_match(const struct raft *r)
{
    raft_index self = r->log.persisted;
    if (self > rlog_last(&r->log)) self = rlog_last(&r->log);
    return quorum_value(r, offsetof(struct progress, match), self);
}

uint64_t raft_quorum_read_ack(const struct raft *r)
{
    return quorum_value(r, offsetof(struct progress, read_ack), UINT64_MAX);
}
