/*
 * raft/raft.c - lifecycle, the step dispatcher, role transitions, ready/advance.
 *
 * Term handling happens in exactly one place, at the top of raft_step() (Fig. 3.1,
 * "Rules for Servers, All Servers": a higher term makes us a follower; a lower term is
 * refused). Role dispatch happens in one switch below it. The other files implement
 * one concern each and are called from here.
 */
#include <stdlib.h>
#include <string.h>
#include "raft_int.h"
#include "raft_assert.h"

void raft_config_default(struct raft_config *c)
{
    memset(c, 0, sizeof(*c));
    c->election_ticks = 10;
    c->heartbeat_ticks = 1;
    c->pre_vote = true;
    c->check_quorum = true;
    c->max_inflight_msgs = 64;
    c->max_entries_per_msg = 1024;
    c->max_bytes_per_msg = 1u << 20;
    c->max_entry_bytes = 64u << 20;
    c->snapshot_chunk_bytes = 64u << 10;
    c->max_pending_reads = 4096;
    c->max_uncommitted = 65536;
    c->read_mode = RAFT_READ_SAFE;
    c->auto_promote = true;
    c->promote_lag_entries = 64;
}

static bool config_valid(const struct raft_config *c)
{
    return c->id != 0 && c->election_ticks >= 2 && c->heartbeat_ticks >= 1 &&
           c->heartbeat_ticks < c->election_ticks && c->max_inflight_msgs >= 1 &&
           c->max_inflight_msgs <= RAFT_MAX_INFLIGHT && c->max_entries_per_msg >= 1 &&
           c->max_entries_per_msg <= RAFT_MAX_MSG_ENTRIES && c->max_bytes_per_msg >= 1 &&
           c->max_entry_bytes >= 1 && c->max_entry_bytes <= RAFT_CODEC_MAX_ENTRY &&
           c->snapshot_chunk_bytes >= 1 && c->snapshot_chunk_bytes <= RAFT_CODEC_MAX_ENTRY &&
           c->max_pending_reads >= 1 && c->max_uncommitted >= 1 &&
           (c->read_mode == RAFT_READ_SAFE || (c->read_mode == RAFT_READ_LEASE && c->check_quorum));
}

int raft_create(const struct raft_config *c, struct raft **out)
{
    *out = NULL;
    if (!config_valid(c)) return RAFT_EINVAL;
    struct raft *r = calloc(1, sizeof(*r));
    if (!r) return RAFT_ENOMEM;
    r->cfg = *c;
    r->id = c->id;
    r->rng = c->seed ^ (0x9e3779b97f4a7c15ull * c->id);
    r->read_round = 1;
    /* not drawn from rng: the election timeouts keep their draws */
    r->read_base = raft_mix64(c->seed ^ 0x2545f4914f6cdd1dull ^ c->id);
    rlog_init(&r->log);
    r->reads = calloc(c->max_pending_reads, sizeof(*r->reads));
    r->cap_reads = c->max_pending_reads;
    if (!r->reads || raft_pr_rebuild(r) != 0) {
        raft_free(r);
        return RAFT_ENOMEM;
    }
    raft_reset_timeout(r);
    *out = r;
    return 0;
}

void raft_free(struct raft *r)
{
    if (!r) return;
    rlog_destroy(&r->log);
    for (uint32_t i = 0; i < r->n_bufs; i++)
        free(r->bufs[i]);
    for (struct ent_block *b = r->blocks, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(r->bufs);
    free(r->prs);
    free(r->reads);
    free(r->out_reads);
    free(r->msgs);
    free(r->snap_reqs);
    free(r->log_reqs);
    free(r->rel_confs);
    free(r->in_chunk_buf);
    free(r);
}

int raft_restore(struct raft *r, const struct raft_hard_state *hs,
                 const struct raft_snapshot_meta *meta, const struct raft_entry *entries,
                 uint32_t n)
{
    if (!raft_conf_valid(&meta->conf) || (meta->index == 0) != (meta->term == 0) ||
        (hs->term < meta->term))
        return RAFT_EINVAL;
    rlog_reset(&r->log, meta->index, meta->term);
    r->n_rel_confs = 0;
    r->snap_conf = meta->conf;
    r->conf = meta->conf;
    r->conf_index = meta->index;
    for (uint32_t i = 0; i < n; i++) {
        const struct raft_entry *e = &entries[i];
        if (e->index != rlog_last(&r->log) + 1 || e->term < rlog_last_term(&r->log) ||
            e->term > hs->term)
            return RAFT_EINVAL;
        if (rlog_append(&r->log, e->term, e->type, e->data, e->len) != 0) return RAFT_ENOMEM;
        if (e->type == RAFT_ENTRY_CONF) raft_member_on_append(r, rlog_at(&r->log, e->index));
    }
    r->log.unstable = rlog_last(&r->log) + 1;
    r->log.persisted = rlog_last(&r->log);
    r->term = hs->term;
    r->vote = hs->vote;
    r->commit = hs->commit;
    if (r->commit > rlog_last(&r->log)) r->commit = rlog_last(&r->log);
    if (r->commit < meta->index) r->commit = meta->index;
    r->applied = meta->index;
    r->prev_hs = (struct raft_hard_state){r->term, r->vote, r->commit};
    return raft_pr_rebuild(r);
}

void raft_set_recovering(struct raft *r)
{
    r->recovering = true;
    r->recover_term = 0;
}

bool raft_recovering(const struct raft *r)
{
    return r->recovering;
}

uint64_t raft_mix64(uint64_t z)
{
    /* splitmix64's finalizer */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t raft_rand(struct raft *r)
{
    /* splitmix64: tiny, good enough for timeouts, deterministic per seed */
    return raft_mix64(r->rng += 0x9e3779b97f4a7c15ull);
}

struct progress *raft_pr(struct raft *r, raft_id id)
{
    for (uint32_t i = 0; i < r->n_prs; i++)
        if (r->prs[i].id == id) return &r->prs[i];
    return NULL;
}

bool raft_is_voter(const struct raft *r, raft_id id)
{
    int i = raft_conf_find(&r->conf, id);
    return i >= 0 && r->conf.s[i].voter;
}

uint32_t raft_n_voters(const struct raft *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->conf.n; i++)
        n += r->conf.s[i].voter;
    return n;
}

uint32_t raft_quorum(const struct raft *r)
{
    return raft_n_voters(r) / 2 + 1;
}

/* ---- outgoing messages ---- */

struct raft_msg *raft_msg_new(struct raft *r, uint8_t type, raft_id to)
{
    if (r->n_msgs == r->cap_msgs) {
        uint32_t cap = r->cap_msgs ? r->cap_msgs * 2 : 16;
        struct raft_msg *m = realloc(r->msgs, cap * sizeof(*m));
        if (!m) return NULL; /* dropping a message is always safe in Raft */
        r->msgs = m;
        r->cap_msgs = cap;
    }
    struct raft_msg *m = &r->msgs[r->n_msgs++];
    memset(m, 0, offsetof(struct raft_msg, conf));
    m->conf.n = 0;
    m->type = type;
    m->from = r->id;
    m->to = to;
    m->term = r->term;
    /* A read's request and answer promise nothing about the log: sent at once. */
    m->must_persist_first = !(type == RAFT_MSG_APPEND || type == RAFT_MSG_HEARTBEAT ||
                              type == RAFT_MSG_SNAPSHOT || type == RAFT_MSG_TIMEOUT_NOW ||
                              type == RAFT_MSG_READ_INDEX || type == RAFT_MSG_READ_INDEX_RESP);
    return m;
}

/* n contiguous entry headers for an outgoing message, valid until advance. */
struct raft_entry *raft_msg_entries(struct raft *r, uint32_t n)
{
    struct ent_block *b = r->blocks;
    while (b && b->cap - b->used < n)
        b = b->next;
    if (!b) {
        uint32_t cap = n > 4096 ? n : 4096;
        b = malloc(sizeof(*b) + cap * sizeof(struct raft_entry));
        if (!b) return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = r->blocks;
        r->blocks = b;
    }
    struct raft_entry *e = &b->e[b->used];
    b->used += n;
    return e;
}

void *raft_buf_keep(struct raft *r, const void *data, uint32_t len)
{
    void *p = raft_buf_alloc(r, len);
    if (p && len) memcpy(p, data, len);
    return p;
}

void *raft_buf_alloc(struct raft *r, uint32_t len)
{
    if (r->n_bufs == r->cap_bufs) {
        uint32_t cap = r->cap_bufs ? r->cap_bufs * 2 : 8;
        void **b = realloc(r->bufs, cap * sizeof(*b));
        if (!b) return NULL;
        r->bufs = b;
        r->cap_bufs = cap;
    }
    void *p = malloc(len ? len : 1);
    if (!p) return NULL;
    r->bufs[r->n_bufs++] = p;
    return p;
}

/* ---- role transitions (Fig. 3.1, "Rules for Servers") ---- */

void raft_become_follower(struct raft *r, raft_term term, raft_id leader)
{
    if (term > r->term) {
        r->term = term;
        r->vote = 0;
    }
    r->role = RAFT_FOLLOWER;
    r->leader = leader;
    r->transferee = 0;
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    raft_reset_timeout(r);
    raft_read_reset(r);
}

void raft_become_candidate(struct raft *r, bool pre)
{
    if (!pre) {
        r->term++;
        r->vote = r->id;
        r->role = RAFT_CANDIDATE;
    } else {
        r->role = RAFT_PRECANDIDATE;
    }
    r->leader = 0;
    r->election_elapsed = 0;
    raft_reset_timeout(r);
    for (uint32_t i = 0; i < r->n_prs; i++)
        r->prs[i].vote = r->prs[i].id == r->id ? 1 : 0;
    raft_read_reset(r);
}

/* §3.4 and §6.4: a new leader resets every follower to probing and appends a no-op of
 * its term, which lets it commit (§3.6.2) and learn its commit index for reads. */
void raft_become_leader(struct raft *r)
{
    ASSERT(r->role == RAFT_CANDIDATE && r->vote == r->id);
    r->role = RAFT_LEADER;
    r->leader = r->id;
    r->transferee = 0;
    r->lease_until = 0;
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    r->n_prs = r->conf.n; /* servers an earlier leadership removed are not followed */
    for (uint32_t i = 0; i < r->n_prs; i++) {
        raft_pr_reset(&r->prs[i], rlog_last(&r->log));
        r->prs[i].recent_active = true;
    }
    if (rlog_append(&r->log, r->term, RAFT_ENTRY_NOOP, NULL, 0) != 0) {
        raft_become_follower(r, r->term, 0); /* cannot lead without the no-op */
        return;
    }
    raft_repl_bcast_append(r, false);
    if (raft_repl_maybe_commit(r)) raft_repl_bcast_append(r, true);
}

/* ---- inputs ---- */

void raft_tick(struct raft *r)
{
    r->ticks++;
    if (r->role == RAFT_LEADER)
        raft_repl_tick_leader(r);
    else
        raft_election_tick(r);
}

static bool from_leader(uint8_t t)
{
    return t == RAFT_MSG_APPEND || t == RAFT_MSG_HEARTBEAT || t == RAFT_MSG_SNAPSHOT;
}

enum term_verdict { TERM_GO, TERM_STOP, TERM_JUMP };

/* Fig. 3.1 "All Servers" plus §9.6 (PreVote) and §4.2.3 (disruptive servers). TERM_STOP
 * if the message must not be processed further; TERM_JUMP if its term is too far above
 * ours (raft.h, TERMS): ours moved up by RAFT_TERM_JUMP_MAX and the message is dropped. */
static enum term_verdict handle_term(struct raft *r, const struct raft_msg *m)
{
    bool vote_req = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;
    if (m->term > r->term) {
        /* §4.2.3: within an election timeout of hearing from a leader, ignore vote
         * requests entirely: they come from a server that is removed, partitioned or
         * behind, and would depose a healthy leader. A transfer's TimeoutNow election is
         * exempt. A leader ignores them too; if its own term is stale it learns so from
         * the reply its next heartbeat gets. In lease mode a freshly (re)started server
         * also waits a timeout: it may have acknowledged a lease before it crashed. */
        bool recent = r->leader != 0 ||
                      (r->cfg.read_mode == RAFT_READ_LEASE && r->ticks < r->cfg.election_ticks);
        if (vote_req && m->from == r->leader) {
            /* Our leader campaigns: it gave up leading our term for good (it cannot lead
             * it again), lease included. Forget it, so that the bytes it keeps sending
             * stop passing for a leader's liveness (raft_receiving()): otherwise we
             * would ignore its requests for ever, and never time out ourselves. */
            r->leader = 0;
            recent = false;
        }
        if (vote_req && !m->transfer && recent && r->election_elapsed < r->cfg.election_ticks)
            return TERM_STOP;
        if (m->type == RAFT_MSG_PREVOTE || (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject))
            return TERM_GO; /* PreVote never changes terms: it is m->term = ours + 1 */
        if (m->term - r->term > RAFT_TERM_JUMP_MAX) {
            /* A higher term all the same, only not all of it at once; m->term <=
             * RAFT_TERM_MAX (check.c), so ours stays below it too. */
            raft_become_follower(r, r->term + RAFT_TERM_JUMP_MAX, 0);
            return TERM_JUMP;
        }
        raft_become_follower(r, m->term, from_leader(m->type) ? m->from : 0);
        return TERM_GO;
    }
    if (m->term < r->term) {
        /* Fig. 3.1: "reply false if term < currentTerm", with our term, so a stale
         * leader steps down and a stale candidate catches up (without this reply a
         * candidate cut off by PreVote/CheckQuorum or lagging in terms never learns). */
        uint8_t resp = from_leader(m->type)          ? RAFT_MSG_APPEND_RESP
                       : m->type == RAFT_MSG_VOTE    ? RAFT_MSG_VOTE_RESP
                       : m->type == RAFT_MSG_PREVOTE ? RAFT_MSG_PREVOTE_RESP
                                                     : 0;
        struct raft_msg *o = resp ? raft_msg_new(r, resp, m->from) : NULL;
        if (o) o->reject = true;
        return TERM_STOP;
    }
    return TERM_GO;
}

static int refuse(struct raft *r, const char *why)
{
    r->refusal = why;
    return RAFT_EREFUSED;
}

int raft_step(struct raft *r, const struct raft_msg *m)
{
    if (m->to != r->id || m->from == 0 || m->from == r->id || m->type == 0 ||
        m->type >= RAFT_MSG_TYPE_END)
        return RAFT_EINVAL;
    const char *why = raft_msg_refusal(m); /* before any field is used (raft.h) */
    if (why) return refuse(r, why);
    switch (handle_term(r, m)) {
    case TERM_STOP:
        return 0;
    case TERM_JUMP:
        return refuse(r, "term more than RAFT_TERM_JUMP_MAX above ours: ours moved up by "
                         "RAFT_TERM_JUMP_MAX, the message was dropped");
    case TERM_GO:
        break;
    }
    switch (m->type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        if (r->role == RAFT_LEADER)
            return 0; /* impossible in a correct cluster (Election Safety) */
        if (r->role != RAFT_FOLLOWER || r->leader != m->from)
            raft_become_follower(r, m->term, m->from);
        r->election_elapsed = 0;
        r->asked_as_voter = false; /* a leader leads: a learner need not stand (election.c) */
        if (m->type == RAFT_MSG_APPEND)
            raft_repl_handle_append(r, m);
        else if (m->type == RAFT_MSG_HEARTBEAT)
            raft_repl_handle_heartbeat(r, m);
        else
            raft_snap_handle(r, m);
        break;
    case RAFT_MSG_APPEND_RESP:
    case RAFT_MSG_HEARTBEAT_RESP:
    case RAFT_MSG_SNAPSHOT_RESP:
        if (r->role != RAFT_LEADER) return 0;
        if (m->type == RAFT_MSG_APPEND_RESP)
            raft_repl_handle_append_resp(r, m);
        else if (m->type == RAFT_MSG_HEARTBEAT_RESP)
            raft_repl_handle_heartbeat_resp(r, m);
        else
            raft_snap_handle_resp(r, m);
        break;
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PREVOTE:
        raft_handle_vote(r, m);
        break;
    case RAFT_MSG_VOTE_RESP:
    case RAFT_MSG_PREVOTE_RESP:
        raft_handle_vote_resp(r, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        /* §3.10: start an election at once, without PreVote, flagged as a transfer. */
        if (r->role != RAFT_LEADER && raft_is_voter(r, r->id) && !r->recovering)
            raft_campaign(r, false, true);
        break;
    case RAFT_MSG_READ_INDEX:
        raft_read_handle_request(r, m);
        break;
    case RAFT_MSG_READ_INDEX_RESP:
        raft_read_handle_response(r, m);
        break;
    }
    return 0;
}

int raft_propose(struct raft *r, const void *data, uint32_t len, raft_index *index)
{
    struct raft_part part = {data, len};
    return raft_propose_parts(r, &part, 1, index);
}

int raft_propose_parts(struct raft *r, const struct raft_part *parts, uint32_t n_parts,
                       raft_index *index)
{
    if (r->role != RAFT_LEADER) return RAFT_ENOTLEADER;
    if (r->transferee || rlog_last(&r->log) - r->commit >= r->cfg.max_uncommitted)
        return RAFT_EBUSY;
    uint64_t len = 0;
    for (uint32_t i = 0; i < n_parts; i++)
        len += parts[i].len;
    if (len > r->cfg.max_entry_bytes) return RAFT_ETOOBIG;
    if (rlog_append_parts(&r->log, r->term, RAFT_ENTRY_NORMAL, parts, n_parts, (uint32_t)len) != 0)
        return RAFT_ENOMEM;
    if (index) *index = rlog_last(&r->log);
    r->bcast_pending = true; /* sent at raft_ready(): proposals batch into messages */
    return 0;
}

void raft_receiving(struct raft *r, raft_id from)
{
    if (r->role == RAFT_FOLLOWER && from != 0 && r->leader == from) r->election_elapsed = 0;
    struct progress *p = r->role == RAFT_LEADER && from != r->id ? raft_pr(r, from) : NULL;
    if (p) p->recent_active = true;
}

const char *raft_refusal(const struct raft *r)
{
    return r->refusal ? r->refusal : "";
}

uint64_t raft_campaigns_refused(const struct raft *r)
{
    return r->campaigns_refused;
}

void raft_report_unreachable(struct raft *r, raft_id to)
{
    struct progress *p = r->role == RAFT_LEADER ? raft_pr(r, to) : NULL;
    if (p && p->state == PR_REPLICATE) {
        p->state = PR_PROBE;
        p->next = p->match + 1;
        p->probe_sent = false;
        p->in_count = 0;
    }
}
