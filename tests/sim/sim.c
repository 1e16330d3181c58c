/*
 * tests/sim/sim.c - the simulated cluster: nodes, durable stores, network, faults.
 *
 * Each node is a raft core plus a fake durable store holding exactly what the driver
 * persisted per the contract in raft.h (hard state, snapshot, entries). A crash frees
 * the core and keeps only the store; a restart rebuilds the core with raft_restore().
 * Messages travel encoded (raft_encode/raft_decode), so the codec is exercised by every
 * run. The state machine is a running hash of applied entries; a snapshot carries that
 * hash plus deterministic padding, and is sent in small chunks to exercise transfers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include "sim_int.h"

static struct raft_entry g_ents[RAFT_MAX_MSG_ENTRIES];

uint64_t sim_rnd(struct sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t sim_rn(struct sim *s, uint32_t n)
{
    return n ? (uint32_t)(sim_rnd(s) % n) : 0;
}

bool sim_chance(struct sim *s, uint32_t per_mille)
{
    return sim_rn(s, 1000) < per_mille;
}

void *sim_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    return p;
}

void *sim_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    return p;
}

void sim_failf(struct sim *s, const char *fmt, ...)
{
    if (s->failed) return;
    s->failed = true;
    int k = snprintf(s->err, s->errlen, "t=%llu: ", (unsigned long long)s->now);
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < s->errlen) vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

void sim_log(struct sim *s, const char *fmt, ...)
{
    if (!s->o->verbose && !s->o->trace) return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%5llu] ", (unsigned long long)s->now);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

void sim_chk(struct sim *s, int rc)
{
    if (rc != 0) sim_failf(s, "%s", chk_error(s->chk));
}

static uint64_t entry_value(raft_term term, uint32_t type, const uint8_t *data, uint32_t len)
{
    uint64_t h = chk_mix(term, type);
    for (uint32_t i = 0; i < len; i++)
        h = chk_mix(h, data[i]);
    return chk_mix(h, len);
}

/* ---- network ---- */

static void net_send(struct sim *s, int from, const struct raft_msg *m)
{
    int to = (int)m->to - 1;
    s->st->msgs++;
    if (s->o->trace)
        sim_log(s,
                "send %d->%d type %d term %llu index %llu log_term %llu commit %llu n %u "
                "reject %d hint %llu/%llu ctx %llu offset %llu",
                from, to, m->type, (unsigned long long)m->term, (unsigned long long)m->index,
                (unsigned long long)m->log_term, (unsigned long long)m->commit, m->n_entries,
                m->reject, (unsigned long long)m->hint, (unsigned long long)m->hint_term,
                (unsigned long long)m->ctx, (unsigned long long)m->offset);
    if (to < 0 || to >= s->n) return;
    if (s->faults && (s->blocked[from][to] || sim_chance(s, s->drop_pm))) return;
    size_t len = raft_encoded_size(m);
    int copies = s->faults && sim_chance(s, s->dup_pm) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        uint8_t *buf = sim_xmalloc(len);
        if (raft_encode(m, buf, len) != len) {
            sim_failf(s, "encode failed for message type %d", m->type);
            free(buf);
            return;
        }
        if (s->nq == s->capq) {
            s->capq = s->capq ? s->capq * 2 : 256;
            s->q = sim_xrealloc(s->q, s->capq * sizeof(*s->q));
        }
        uint32_t delay = s->faults ? 1 + sim_rn(s, s->max_delay) : 1; /* healed: FIFO links */
        s->q[s->nq++] = (struct pkt){s->now + delay, from, to, buf, len};
    }
}

static int node_step(struct sim *s, struct node *nd, const struct pkt *p)
{
    struct raft_msg m;
    if (raft_decode(p->buf, p->len, &m, g_ents, RAFT_MAX_MSG_ENTRIES) != 0) {
        sim_failf(s, "decode failed for a message from node %d", p->from);
        return -1;
    }
    /* Every message here comes from a correct server: none may be refused (raft.h,
     * MESSAGES FROM THE NETWORK), nor may any term jump that far in a simulation. */
    int rc = raft_step(nd->r, &m);
    if (rc == RAFT_EREFUSED)
        sim_failf(s, "node %d refused a message of type %d from node %d: %s", p->to, m.type,
                  p->from, raft_refusal(nd->r));
    return rc;
}

void sim_deliver(struct sim *s)
{
    /* stable partition: due packets (in send order) to a batch, the rest stay queued */
    struct pkt *batch = sim_xmalloc((s->nq + 1) * sizeof(*batch));
    size_t due = 0, keep = 0;
    for (size_t i = 0; i < s->nq; i++) {
        if (s->q[i].at <= s->now)
            batch[due++] = s->q[i];
        else
            s->q[keep++] = s->q[i];
    }
    s->nq = keep;
    for (size_t i = s->faults ? due : 0; i > 1; i--) { /* faults: deliver in any order */
        size_t j = sim_rn(s, (uint32_t)i);
        struct pkt t = batch[i - 1];
        batch[i - 1] = batch[j];
        batch[j] = t;
    }
    for (size_t i = 0; i < due; i++) {
        struct pkt *p = &batch[i];
        struct node *nd = &s->nodes[p->to];
        if (!s->failed && nd->up && !(s->faults && s->blocked[p->from][p->to])) node_step(s, nd, p);
        free(p->buf);
    }
    free(batch);
}

/* ---- durable store and state machine ---- */

static void store_truncate(struct node *nd, raft_index from)
{
    while (nd->n_log && nd->meta.index + nd->n_log >= from)
        free(nd->log[--nd->n_log].data);
}

static void store_append(struct node *nd, const struct raft_entry *e)
{
    if (nd->n_log == nd->cap_log) {
        nd->cap_log = nd->cap_log ? nd->cap_log * 2 : 64;
        nd->log = sim_xrealloc(nd->log, nd->cap_log * sizeof(*nd->log));
    }
    struct dent *d = &nd->log[nd->n_log++];
    d->term = e->term;
    d->type = e->type;
    d->len = e->len;
    d->data = sim_xmalloc(e->len);
    if (e->len) memcpy(d->data, e->data, e->len);
}

void sim_store_compact(struct node *nd, raft_index upto)
{
    uint64_t k = upto - nd->meta.index;
    if (k > nd->n_log) k = nd->n_log;
    for (uint64_t i = 0; i < k; i++)
        free(nd->log[i].data);
    memmove(nd->log, nd->log + k, (nd->n_log - k) * sizeof(*nd->log));
    nd->n_log -= k;
}

uint32_t sim_snap_encode(uint64_t index, uint64_t hash, uint8_t **out)
{
    uint32_t len = 16 + SNAP_PAD + (uint32_t)(index % 37);
    uint8_t *b = sim_xmalloc(len);
    memcpy(b, &index, 8);
    memcpy(b + 8, &hash, 8);
    for (uint32_t i = 16; i < len; i++)
        b[i] = (uint8_t)(hash >> (i % 8 * 8)) ^ (uint8_t)i;
    *out = b;
    return len;
}

static int snap_decode(const uint8_t *b, uint32_t len, uint64_t *index, uint64_t *hash)
{
    if (len < 16) return -1;
    memcpy(index, b, 8);
    memcpy(hash, b + 8, 8);
    uint8_t *ref;
    uint32_t rlen = sim_snap_encode(*index, *hash, &ref);
    int ok = rlen == len && memcmp(ref, b, len) == 0;
    free(ref);
    return ok ? 0 : -1;
}

static void serve_reads(struct sim *s, struct node *nd)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < nd->n_reads; i++) {
        if (nd->reads[i].index <= nd->sm_index) {
            sim_chk(s, chk_read(s->chk, nd->idx, s->read_start[nd->reads[i].ctx], nd->sm_index));
            s->st->reads++;
        } else {
            nd->reads[k++] = nd->reads[i];
        }
    }
    nd->n_reads = k;
}

static void apply_entry(struct sim *s, struct node *nd, const struct raft_entry *e)
{
    uint64_t v = entry_value(e->term, e->type, e->data, e->len);
    sim_chk(s, chk_apply(s->chk, nd->idx, e->index, v));
    nd->sm_index = e->index;
    nd->sm_hash = chk_mix(nd->sm_hash, v);
    s->st->commits++;
    if (s->marker && e->type == RAFT_ENTRY_NORMAL && e->len == 8 &&
        memcmp(e->data, &s->marker, 8) == 0)
        s->marker_applied = true;
    serve_reads(s, nd);
}

/* The follower side of InstallSnapshot: store the chunk; on the last, install. */
static void store_chunk(struct sim *s, struct node *nd, const struct raft_snap_chunk *c)
{
    if (c->offset == 0) nd->in_len = 0;
    if (c->offset != nd->in_len) {
        sim_failf(s, "node %d got snapshot chunk at %llu, expected %u", nd->idx,
                  (unsigned long long)c->offset, nd->in_len);
        return;
    }
    nd->in_snap = sim_xrealloc(nd->in_snap, nd->in_len + c->len);
    memcpy(nd->in_snap + nd->in_len, c->data, c->len);
    nd->in_len += c->len;
    if (!c->done) return;
    uint64_t index, hash;
    if (snap_decode(nd->in_snap, nd->in_len, &index, &hash) != 0 || index != c->meta.index) {
        sim_failf(s, "node %d received a corrupt snapshot", nd->idx);
        return;
    }
    free(nd->snap);
    nd->snap = nd->in_snap;
    nd->snap_len = nd->in_len;
    nd->in_snap = NULL;
    nd->in_len = 0;
    store_truncate(nd, 0);
    nd->meta = c->meta;
    nd->sm_index = index;
    nd->sm_hash = hash;
    chk_log_reset(s->chk, nd->idx, index, hash);
    sim_chk(s, chk_sm_reset(s->chk, nd->idx, index, hash));
    s->st->snapshots_installed++;
    sim_log(s, "node %d installed snapshot at %llu", nd->idx, (unsigned long long)index);
}

/* The configuration in force on nd just before index i: the last configuration entry
 * below i in its durable log, else its snapshot's. */
static void conf_before(const struct node *nd, raft_index i, struct raft_conf *c)
{
    for (raft_index k = i - 1; k > nd->meta.index; k--) {
        const struct dent *d = &nd->log[k - nd->meta.index - 1];
        if (d->type == RAFT_ENTRY_CONF && raft_conf_decode(d->data, d->len, c) == 0) return;
    }
    *c = nd->meta.conf;
}

/* §4.2.1: a leader makes a learner a voter only once the learner has acknowledged (so
 * durably holds) entries up to within promote_lag_entries of the leader's log, and at
 * least one: a learner that never answered must never count towards commitment. A
 * learner that has since seen a newer term may have lost entries to its new leader. */
static void check_promotion(struct sim *s, const struct node *ld, const struct raft_entry *e)
{
    struct raft_conf now, before;
    if (raft_conf_decode(e->data, e->len, &now) != 0) return;
    conf_before(ld, e->index, &before);
    raft_index lag = s->cfg.promote_lag_entries;
    raft_index need = e->index - 1 > lag ? e->index - 1 - lag : 1;
    for (uint32_t k = 0; k < now.n; k++) {
        int at = raft_conf_find(&before, now.s[k].id);
        if (!now.s[k].voter || at < 0 || before.s[at].voter) continue;
        const struct node *p = &s->nodes[now.s[k].id - 1];
        raft_index last = p->meta.index + p->n_log;
        if (p->hs.term <= e->term && last < need)
            sim_failf(s, "leader %d promotes node %d at index %llu, whose log ends at %llu",
                      ld->idx, p->idx, (unsigned long long)e->index, (unsigned long long)last);
    }
}

/* Writes n entries (consecutive from ents[0].index) to the store, replacing its suffix. */
static void persist_entries(struct sim *s, struct node *nd, const struct raft_entry *ents,
                            uint32_t n, bool as_leader)
{
    if (!n) return;
    raft_index first = ents ? ents[0].index : 0;
    if (!first) {
        sim_failf(s, "node %d was handed %u entries without data", nd->idx, n);
        return;
    }
    store_truncate(nd, first);
    uint64_t *terms = sim_xmalloc(n * sizeof(uint64_t));
    uint64_t *vals = sim_xmalloc(n * sizeof(uint64_t));
    for (uint32_t i = 0; i < n; i++) {
        const struct raft_entry *e = &ents[i];
        if (e->index != first + i) sim_failf(s, "node %d: ready entries not consecutive", nd->idx);
        store_append(nd, e);
        terms[i] = e->term;
        vals[i] = entry_value(e->term, e->type, e->data, e->len);
    }
    for (uint32_t i = 0; i < n && as_leader; i++)
        if (ents[i].type == RAFT_ENTRY_CONF) check_promotion(s, nd, &ents[i]);
    sim_chk(s, chk_log_append(s->chk, nd->idx, as_leader, first, n, terms, vals));
    free(terms);
    free(vals);
}

/* What the store says is committed: its commit index, or its snapshot's, which is
 * ahead when a snapshot was taken of entries whose commit index was still being
 * written (asynchronous writes apply entries before their hard state is durable). */
static raft_index durable_commit(const struct node *nd)
{
    return nd->hs.commit > nd->meta.index ? nd->hs.commit : nd->meta.index;
}

/* ---- asynchronous writes (raft.h: ASYNCHRONOUS WRITES) ---- */

static void pwrite_free(struct pwrite *w)
{
    for (uint32_t i = 0; i < w->n; i++)
        free(w->ents[i].data);
    for (uint32_t i = 0; i < w->n_held; i++)
        free(w->held[i]);
    free(w->ents);
    free(w->held);
    free(w->held_len);
}

static void writes_lost(struct node *nd)
{
    for (uint32_t i = 0; i < nd->n_pw; i++)
        pwrite_free(&nd->pw[i]);
    nd->n_pw = 0;
}

/* Hands the batch to the "writer": a copy of its entries and hard state, and its
 * must_persist_first messages, encoded, to send once the write is durable. */
static void pwrite_push(struct sim *s, struct node *nd, const struct raft_ready *rd, bool as_leader)
{
    if (nd->n_pw == nd->cap_pw) {
        nd->cap_pw = nd->cap_pw ? nd->cap_pw * 2 : 8;
        nd->pw = sim_xrealloc(nd->pw, nd->cap_pw * sizeof(*nd->pw));
    }
    struct pwrite *w = &nd->pw[nd->n_pw++];
    memset(w, 0, sizeof(*w));
    w->first = rd->n_entries ? rd->entries[0].index : 0;
    w->n = rd->n_entries;
    w->ents = sim_xmalloc((w->n + 1) * sizeof(*w->ents));
    for (uint32_t i = 0; i < w->n; i++) {
        const struct raft_entry *e = &rd->entries[i];
        w->ents[i] = (struct dent){e->term, e->type, e->len, sim_xmalloc(e->len)};
        if (e->len) memcpy(w->ents[i].data, e->data, e->len);
    }
    w->hs_changed = rd->hard_state_changed;
    w->hs = rd->hard_state;
    w->as_leader = as_leader;
    w->recovering = raft_recovering(nd->r);
    w->held = sim_xmalloc((rd->n_msgs + 1) * sizeof(*w->held));
    w->held_len = sim_xmalloc((rd->n_msgs + 1) * sizeof(*w->held_len));
    for (uint32_t i = 0; i < rd->n_msgs; i++) {
        if (!rd->msgs[i].must_persist_first) continue;
        size_t len = raft_encoded_size(&rd->msgs[i]);
        uint8_t *buf = sim_xmalloc(len);
        if (raft_encode(&rd->msgs[i], buf, len) != len) sim_failf(s, "encode failed");
        w->held[w->n_held] = buf;
        w->held_len[w->n_held++] = len;
    }
}

/* The oldest write completes: the store takes it, the messages held back go out, and
 * (ack) the core hears of it; a synchronous batch's drain does not tell the core, its
 * raft_advance() covers every write. */
static void write_complete(struct sim *s, struct node *nd, bool ack)
{
    struct pwrite w = nd->pw[0];
    memmove(nd->pw, nd->pw + 1, (nd->n_pw - 1) * sizeof(*nd->pw));
    nd->n_pw--;
    struct raft_entry *ents = sim_xmalloc((w.n + 1) * sizeof(*ents));
    for (uint32_t i = 0; i < w.n; i++)
        ents[i] = (struct raft_entry){w.ents[i].term, w.first + i, w.ents[i].type, w.ents[i].len,
                                      w.ents[i].data};
    persist_entries(s, nd, ents, w.n, w.as_leader);
    if (w.hs_changed) nd->hs = w.hs;
    sim_chk(s, chk_commit(s->chk, nd->idx, durable_commit(nd), nd->hs.term, false));
    nd->recovering = w.recovering;
    for (uint32_t i = 0; i < w.n_held; i++) {
        struct raft_msg m;
        if (raft_decode(w.held[i], w.held_len[i], &m, g_ents, RAFT_MAX_MSG_ENTRIES) != 0)
            sim_failf(s, "decode failed for a held message");
        else
            net_send(s, nd->idx, &m);
    }
    if (ack && w.n) raft_persisted(nd->r, w.first + w.n - 1, w.ents[w.n - 1].term);
    free(ents);
    pwrite_free(&w);
}

void sim_writes_tick(struct sim *s, struct node *nd)
{
    while (nd->up && nd->n_pw && !s->failed && (!s->faults || sim_chance(s, s->write_pm)))
        write_complete(s, nd, true);
}

void sim_crash(struct sim *s, struct node *nd, const char *why)
{
    sim_log(s, "node %d crashes (%s)", nd->idx, why);
    raft_free(nd->r);
    nd->r = NULL;
    nd->up = false;
    nd->n_reads = 0;
    nd->in_len = 0;
    writes_lost(nd);
    s->st->crashes++;
}

static void answer_snap_req(struct sim *s, struct node *nd, const struct raft_snap_req *q)
{
    if (q->index != nd->meta.index || !nd->snap) {
        raft_snapshot_failed(nd->r, q->to);
        return;
    }
    uint64_t left = q->offset < nd->snap_len ? nd->snap_len - q->offset : 0;
    uint32_t len = left < q->max_len ? (uint32_t)left : q->max_len;
    int rc = raft_snapshot_chunk(nd->r, q->to, q->index, q->offset, nd->snap + q->offset, len,
                                 q->offset + len == nd->snap_len);
    if (rc != 0) sim_failf(s, "raft_snapshot_chunk: %s", raft_strerror(rc));
}

/* A leader asks for released entries: read them from the store, as a driver would,
 * sometimes failing to (an empty answer) or never answering (a lost request). */
static void answer_log_req(struct sim *s, struct node *nd, const struct raft_log_req *q)
{
    if (s->faults && sim_chance(s, s->load_fail_pm)) return;
    raft_index first = nd->meta.index + 1, end = first + nd->n_log; /* stored: [first, end) */
    struct raft_entry ents[RAFT_MAX_MSG_ENTRIES];
    uint32_t n = 0;
    uint64_t bytes = 0;
    bool fail = s->faults && sim_chance(s, s->load_fail_pm);
    for (raft_index i = q->prev + 1; !fail && i >= first && i < end && i <= q->last; i++) {
        const struct dent *d = &nd->log[i - first];
        if (n > 0 && bytes + d->len > q->max_bytes) break;
        if (n == RAFT_MAX_MSG_ENTRIES) break;
        ents[n++] = (struct raft_entry){d->term, i, d->type, d->len, d->data};
        bytes += d->len;
    }
    s->st->loaded += n;
    int rc = raft_log_entries(nd->r, q->to, q->prev, ents, n);
    if (rc != 0)
        sim_failf(s, "node %d: raft_log_entries(prev %llu, %u entries): %s", nd->idx,
                  (unsigned long long)q->prev, n, raft_strerror(rc));
}

/* One ready batch, driven exactly as raft.h's contract says. */
void sim_node_ready(struct sim *s, struct node *nd)
{
    struct raft_ready rd;
    raft_ready(nd->r, &rd);
    bool async = s->cfg.async_persist && !rd.snap_chunk && sim_chance(s, s->async_pm);
    while (!async && nd->n_pw && !s->failed) /* a synchronous batch waits for every write */
        write_complete(s, nd, false);
    for (uint32_t i = 0; i < rd.n_msgs; i++)
        if (!rd.msgs[i].must_persist_first) net_send(s, nd->idx, &rd.msgs[i]);
    if (s->faults && sim_chance(s, s->midcrash_pm)) {
        sim_crash(s, nd, "before persisting its batch");
        return;
    }
    bool as_leader = rd.role == RAFT_LEADER && nd->was_leader && nd->was_term == rd.hard_state.term;
    if (async) {
        pwrite_push(s, nd, &rd, as_leader);
    } else {
        if (rd.snap_chunk) store_chunk(s, nd, rd.snap_chunk);
        persist_entries(s, nd, rd.entries, rd.n_entries, as_leader);
        if (rd.hard_state_changed) nd->hs = rd.hard_state;
        sim_chk(s, chk_commit(s->chk, nd->idx, durable_commit(nd), nd->hs.term, false));
        for (uint32_t i = 0; i < rd.n_msgs; i++)
            if (rd.msgs[i].must_persist_first) net_send(s, nd->idx, &rd.msgs[i]);
    }
    if (async && rd.n_committed)
        sim_chk(s, chk_commit_known(s->chk, nd->idx, rd.committed[rd.n_committed - 1].index,
                                    raft_term_of(nd->r)));
    for (uint32_t i = 0; i < rd.n_committed && !s->failed; i++) {
        if (!rd.committed || rd.committed[i].index != nd->sm_index + 1) {
            sim_failf(s, "node %d was handed committed entry %llu to apply after %llu", nd->idx,
                      rd.committed ? (unsigned long long)rd.committed[i].index : 0ull,
                      (unsigned long long)nd->sm_index);
            break;
        }
        apply_entry(s, nd, &rd.committed[i]);
    }
    for (uint32_t i = 0; i < rd.n_reads; i++) {
        if (rd.reads[i].failed) { /* a follower's read its leader did not confirm */
            s->st->reads_failed++;
            continue;
        }
        if (nd->n_reads == nd->cap_reads) {
            nd->cap_reads = nd->cap_reads ? nd->cap_reads * 2 : 16;
            nd->reads = sim_xrealloc(nd->reads, nd->cap_reads * sizeof(*nd->reads));
        }
        nd->reads[nd->n_reads++] = (struct pread){rd.reads[i].ctx, rd.reads[i].index};
    }
    serve_reads(s, nd);
    /* The mark is durable, like the server's: set when the core found out itself (a
     * heartbeat beyond its log), cleared once it caught up (its vote is durable now;
     * an asynchronous batch's mark is stored with it). */
    if (!async) nd->recovering = raft_recovering(nd->r);
    if (rd.soft_state_changed && rd.role == RAFT_LEADER) {
        s->st->elections++;
        sim_log(s, "node %d leads term %llu", nd->idx, (unsigned long long)rd.hard_state.term);
    }
    if (rd.soft_state_changed && rd.role != RAFT_LEADER)
        nd->n_reads = 0; /* pending reads fail when leadership is lost */
    nd->was_leader = rd.role == RAFT_LEADER;
    nd->was_term = rd.hard_state.term;
    struct raft_snap_req reqs[MAXN];
    uint32_t n_reqs = rd.n_snap_reqs < MAXN ? rd.n_snap_reqs : MAXN;
    if (n_reqs) memcpy(reqs, rd.snap_reqs, n_reqs * sizeof(reqs[0]));
    struct raft_log_req lreqs[2 * MAXN];
    uint32_t n_lreqs = rd.n_log_reqs < 2 * MAXN ? rd.n_log_reqs : 2 * MAXN;
    if (n_lreqs) memcpy(lreqs, rd.log_reqs, n_lreqs * sizeof(lreqs[0]));
    if (async)
        raft_advance_async(nd->r);
    else
        raft_advance(nd->r);
    for (uint32_t i = 0; i < n_reqs; i++)
        answer_snap_req(s, nd, &reqs[i]);
    for (uint32_t i = 0; i < n_lreqs && !s->failed; i++)
        answer_log_req(s, nd, &lreqs[i]);
    if (sim_chance(s, s->release_pm)) {
        uint64_t released = raft_log_release(nd->r, s->release_keep);
        s->st->released += released;
    }
}

/* ---- lifecycle ---- */

void sim_node_start(struct sim *s, struct node *nd)
{
    struct raft_config c = s->cfg;
    c.id = nd->id;
    c.seed = s->o->seed * 131 + (uint64_t)nd->idx * 7919 + nd->lives++;
    if (raft_create(&c, &nd->r) != 0) {
        sim_failf(s, "raft_create failed");
        return;
    }
    struct raft_entry *ents = sim_xmalloc((nd->n_log + 1) * sizeof(*ents));
    for (uint64_t i = 0; i < nd->n_log; i++)
        ents[i] = (struct raft_entry){nd->log[i].term, nd->meta.index + 1 + i, nd->log[i].type,
                                      nd->log[i].len, nd->log[i].data};
    int rc = raft_restore(nd->r, &nd->hs, &nd->meta, ents, (uint32_t)nd->n_log);
    free(ents);
    if (rc != 0) {
        sim_failf(s, "raft_restore of node %d: %s", nd->idx, raft_strerror(rc));
        return;
    }
    if (nd->recovering) raft_set_recovering(nd->r);
    nd->up = true;
    nd->sm_index = 0;
    nd->sm_hash = 0;
    if (nd->meta.index && snap_decode(nd->snap, nd->snap_len, &nd->sm_index, &nd->sm_hash))
        sim_failf(s, "node %d: stored snapshot corrupt", nd->idx);
    sim_chk(s, chk_sm_reset(s->chk, nd->idx, nd->sm_index, nd->sm_hash));
    nd->life_commit = raft_commit_index(nd->r);
    sim_chk(s, chk_commit(s->chk, nd->idx, nd->life_commit, nd->hs.term, true));
    nd->was_leader = false;
}

/* Node's latest configuration, as a bit set of voter ids: its core's, or its store's
 * when it is down. */
static uint64_t voters_seen(struct sim *s, const struct node *nd)
{
    struct raft_conf conf = nd->meta.conf;
    if (nd->up)
        conf = *raft_conf_of(nd->r);
    else
        for (uint64_t i = 0; i < nd->n_log; i++)
            if (nd->log[i].type == RAFT_ENTRY_CONF &&
                raft_conf_decode(nd->log[i].data, nd->log[i].len, &conf) != 0)
                sim_failf(s, "node %d: stored configuration entry corrupt", nd->idx);
    uint64_t set = 0;
    for (uint32_t i = 0; i < conf.n; i++)
        if (conf.s[i].voter) set |= 1ull << conf.s[i].id;
    return set;
}

/* A damaged store (e.g. a WAL whose tail SQLite discards): the node loses its last
 * entries and its vote, and knows it (it restarts recovering). The fault is only
 * injected while every other node is whole and all nodes agree on a configuration of at
 * least three voters (and no membership change is made while a node recovers), so that a
 * majority can still elect a leader it catches up with. */
void sim_lose_tail(struct sim *s, struct node *nd)
{
    uint64_t voters = voters_seen(s, nd);
    for (int i = 0; i < s->n; i++)
        if (s->nodes[i].recovering || voters_seen(s, &s->nodes[i]) != voters) return;
    if (__builtin_popcountll(voters) < 3) return;
    if (nd->n_log == 0) return;
    /* One time in three the whole log and the hard state go, the snapshot stays (a node
     * started from its snapshot alone: its term is the snapshot's). */
    bool whole = sim_rn(s, 3) == 0;
    uint64_t lose = whole ? nd->n_log : 1 + sim_rn(s, (uint32_t)(nd->n_log < 8 ? nd->n_log : 8));
    store_truncate(nd, nd->meta.index + nd->n_log - lose + 1);
    raft_index last = nd->meta.index + nd->n_log;
    nd->hs.vote = 0;
    if (whole) nd->hs.term = nd->meta.term;
    if (nd->hs.commit > last) nd->hs.commit = last;
    nd->recovering = true;
    chk_log_lost(s->chk, nd->idx, last);
    sim_log(s, "node %d lost its last %llu entries and its vote", nd->idx,
            (unsigned long long)lose);
}

void sim_node_destroy(struct node *nd)
{
    raft_free(nd->r);
    store_truncate(nd, 0);
    free(nd->log);
    free(nd->snap);
    free(nd->in_snap);
    free(nd->reads);
    writes_lost(nd);
    free(nd->pw);
}
