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
#include "../../raft/raft.h"
#include "check.h"
#include "sim.h"

#define MAXN 7
#define SNAP_PAD 100

struct dent {
    raft_term term;
    uint32_t type, len;
    uint8_t *data;
};

struct pread {
    uint64_t ctx;
    raft_index index;
};

struct node {
    int idx;
    raft_id id;
    struct raft *r;
    bool up;
    uint32_t lives;
    /* durable store */
    struct raft_hard_state hs;
    struct raft_snapshot_meta meta;
    uint8_t *snap;
    uint32_t snap_len;
    struct dent *log; /* meta.index + 1 .. */
    uint64_t n_log, cap_log;
    /* volatile */
    uint8_t *in_snap;
    uint32_t in_len;
    uint64_t sm_index, sm_hash;
    raft_index life_commit;
    bool was_leader;
    raft_term was_term;
    struct pread *reads;
    uint32_t n_reads, cap_reads;
};

struct pkt {
    uint64_t at;
    int from, to;
    uint8_t *buf;
    size_t len;
};

struct sim {
    const struct sim_opts *o;
    struct sim_stats *st;
    uint64_t rng, now;
    int n;
    struct node nodes[MAXN];
    struct raft_config cfg;
    struct pkt *q;
    size_t nq, capq;
    bool blocked[MAXN][MAXN];
    bool faults;
    uint32_t drop_pm, dup_pm, crash_pm, midcrash_pm, part_pm, heal_pm, max_delay; /* ‰ */
    struct chk *chk;
    uint64_t next_val;
    uint64_t *read_start; /* by ctx */
    uint64_t n_ctx, cap_ctx;
    uint64_t marker;      /* liveness proposal value, 0 until proposed */
    bool marker_applied;
    char *err;
    size_t errlen;
    bool failed;
};

static struct raft_entry g_ents[RAFT_MAX_MSG_ENTRIES];

static uint64_t rnd(struct sim *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rn(struct sim *s, uint32_t n)
{
    return n ? (uint32_t)(rnd(s) % n) : 0;
}

static bool chance(struct sim *s, uint32_t per_mille)
{
    return rn(s, 1000) < per_mille;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    return p;
}

static void failf(struct sim *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    int k = snprintf(s->err, s->errlen, "t=%llu: ", (unsigned long long)s->now);
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < s->errlen)
        vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

static void vlog(struct sim *s, const char *fmt, ...)
{
    if (!s->o->verbose && !s->o->trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%5llu] ", (unsigned long long)s->now);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static void chk_ok(struct sim *s, int rc)
{
    if (rc != 0)
        failf(s, "%s", chk_error(s->chk));
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
        vlog(s, "send %d->%d type %d term %llu index %llu log_term %llu commit %llu n %u "
                "reject %d hint %llu/%llu ctx %llu offset %llu", from, to, m->type,
             (unsigned long long)m->term, (unsigned long long)m->index,
             (unsigned long long)m->log_term, (unsigned long long)m->commit, m->n_entries,
             m->reject, (unsigned long long)m->hint, (unsigned long long)m->hint_term,
             (unsigned long long)m->ctx, (unsigned long long)m->offset);
    if (to < 0 || to >= s->n)
        return;
    if (s->faults && (s->blocked[from][to] || chance(s, s->drop_pm)))
        return;
    size_t len = raft_encoded_size(m);
    int copies = s->faults && chance(s, s->dup_pm) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        uint8_t *buf = xmalloc(len);
        if (raft_encode(m, buf, len) != len) {
            failf(s, "encode failed for message type %d", m->type);
            free(buf);
            return;
        }
        if (s->nq == s->capq) {
            s->capq = s->capq ? s->capq * 2 : 256;
            s->q = xrealloc(s->q, s->capq * sizeof(*s->q));
        }
        uint32_t delay = s->faults ? 1 + rn(s, s->max_delay) : 1; /* healed: FIFO links */
        s->q[s->nq++] = (struct pkt){s->now + delay, from, to, buf, len};
    }
}

static int node_step(struct sim *s, struct node *nd, const struct pkt *p)
{
    struct raft_msg m;
    if (raft_decode(p->buf, p->len, &m, g_ents, RAFT_MAX_MSG_ENTRIES) != 0) {
        failf(s, "decode failed for a message from node %d", p->from);
        return -1;
    }
    return raft_step(nd->r, &m);
}

static void deliver(struct sim *s)
{
    /* stable partition: due packets (in send order) to a batch, the rest stay queued */
    struct pkt *batch = xmalloc((s->nq + 1) * sizeof(*batch));
    size_t due = 0, keep = 0;
    for (size_t i = 0; i < s->nq; i++) {
        if (s->q[i].at <= s->now)
            batch[due++] = s->q[i];
        else
            s->q[keep++] = s->q[i];
    }
    s->nq = keep;
    for (size_t i = s->faults ? due : 0; i > 1; i--) { /* faults: deliver in any order */
        size_t j = rn(s, (uint32_t)i);
        struct pkt t = batch[i - 1];
        batch[i - 1] = batch[j];
        batch[j] = t;
    }
    for (size_t i = 0; i < due; i++) {
        struct pkt *p = &batch[i];
        struct node *nd = &s->nodes[p->to];
        if (!s->failed && nd->up && !(s->faults && s->blocked[p->from][p->to]))
            node_step(s, nd, p);
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
        nd->log = xrealloc(nd->log, nd->cap_log * sizeof(*nd->log));
    }
    struct dent *d = &nd->log[nd->n_log++];
    d->term = e->term;
    d->type = e->type;
    d->len = e->len;
    d->data = xmalloc(e->len);
    if (e->len)
        memcpy(d->data, e->data, e->len);
}

static void store_compact(struct node *nd, raft_index upto)
{
    uint64_t k = upto - nd->meta.index;
    if (k > nd->n_log)
        k = nd->n_log;
    for (uint64_t i = 0; i < k; i++)
        free(nd->log[i].data);
    memmove(nd->log, nd->log + k, (nd->n_log - k) * sizeof(*nd->log));
    nd->n_log -= k;
}

static uint32_t snap_encode(uint64_t index, uint64_t hash, uint8_t **out)
{
    uint32_t len = 16 + SNAP_PAD + (uint32_t)(index % 37);
    uint8_t *b = xmalloc(len);
    memcpy(b, &index, 8);
    memcpy(b + 8, &hash, 8);
    for (uint32_t i = 16; i < len; i++)
        b[i] = (uint8_t)(hash >> (i % 8 * 8)) ^ (uint8_t)i;
    *out = b;
    return len;
}

static int snap_decode(const uint8_t *b, uint32_t len, uint64_t *index, uint64_t *hash)
{
    if (len < 16)
        return -1;
    memcpy(index, b, 8);
    memcpy(hash, b + 8, 8);
    uint8_t *ref;
    uint32_t rlen = snap_encode(*index, *hash, &ref);
    int ok = rlen == len && memcmp(ref, b, len) == 0;
    free(ref);
    return ok ? 0 : -1;
}

static void serve_reads(struct sim *s, struct node *nd)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < nd->n_reads; i++) {
        if (nd->reads[i].index <= nd->sm_index) {
            chk_ok(s, chk_read(s->chk, nd->idx, s->read_start[nd->reads[i].ctx], nd->sm_index));
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
    chk_ok(s, chk_apply(s->chk, nd->idx, e->index, v));
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
    if (c->offset == 0)
        nd->in_len = 0;
    if (c->offset != nd->in_len) {
        failf(s, "node %d got snapshot chunk at %llu, expected %u", nd->idx,
              (unsigned long long)c->offset, nd->in_len);
        return;
    }
    nd->in_snap = xrealloc(nd->in_snap, nd->in_len + c->len);
    memcpy(nd->in_snap + nd->in_len, c->data, c->len);
    nd->in_len += c->len;
    if (!c->done)
        return;
    uint64_t index, hash;
    if (snap_decode(nd->in_snap, nd->in_len, &index, &hash) != 0 || index != c->meta.index) {
        failf(s, "node %d received a corrupt snapshot", nd->idx);
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
    chk_ok(s, chk_sm_reset(s->chk, nd->idx, index, hash));
    s->st->snapshots_installed++;
    vlog(s, "node %d installed snapshot at %llu", nd->idx, (unsigned long long)index);
}

static void persist_entries(struct sim *s, struct node *nd, const struct raft_ready *rd)
{
    if (!rd->n_entries)
        return;
    raft_index first = rd->entries ? rd->entries[0].index : 0;
    if (!first) {
        failf(s, "node %d was handed %u entries without data", nd->idx, rd->n_entries);
        return;
    }
    store_truncate(nd, first);
    uint64_t *terms = xmalloc(rd->n_entries * sizeof(uint64_t));
    uint64_t *vals = xmalloc(rd->n_entries * sizeof(uint64_t));
    for (uint32_t i = 0; i < rd->n_entries; i++) {
        const struct raft_entry *e = &rd->entries[i];
        if (e->index != first + i)
            failf(s, "node %d: ready entries not consecutive", nd->idx);
        store_append(nd, e);
        terms[i] = e->term;
        vals[i] = entry_value(e->term, e->type, e->data, e->len);
    }
    bool as_leader = rd->role == RAFT_LEADER && nd->was_leader &&
                     nd->was_term == rd->hard_state.term;
    chk_ok(s, chk_log_append(s->chk, nd->idx, as_leader, first, rd->n_entries, terms, vals));
    free(terms);
    free(vals);
}

static void crash(struct sim *s, struct node *nd, const char *why)
{
    vlog(s, "node %d crashes (%s)", nd->idx, why);
    raft_free(nd->r);
    nd->r = NULL;
    nd->up = false;
    nd->n_reads = 0;
    nd->in_len = 0;
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
    if (rc != 0)
        failf(s, "raft_snapshot_chunk: %s", raft_strerror(rc));
}

/* One ready batch, driven exactly as raft.h's contract says. */
static void node_ready(struct sim *s, struct node *nd)
{
    struct raft_ready rd;
    raft_ready(nd->r, &rd);
    for (uint32_t i = 0; i < rd.n_msgs; i++)
        if (!rd.msgs[i].must_persist_first)
            net_send(s, nd->idx, &rd.msgs[i]);
    if (s->faults && chance(s, s->midcrash_pm)) {
        crash(s, nd, "before persisting its batch");
        return;
    }
    if (rd.snap_chunk)
        store_chunk(s, nd, rd.snap_chunk);
    persist_entries(s, nd, &rd);
    if (rd.hard_state_changed)
        nd->hs = rd.hard_state;
    chk_ok(s, chk_commit(s->chk, nd->idx, nd->hs.commit, nd->hs.term, false));
    for (uint32_t i = 0; i < rd.n_msgs; i++)
        if (rd.msgs[i].must_persist_first)
            net_send(s, nd->idx, &rd.msgs[i]);
    for (uint32_t i = 0; i < rd.n_committed && !s->failed; i++) {
        if (!rd.committed || rd.committed[i].index != nd->sm_index + 1) {
            failf(s, "node %d was handed committed entry %llu to apply after %llu", nd->idx,
                  rd.committed ? (unsigned long long)rd.committed[i].index : 0ull,
                  (unsigned long long)nd->sm_index);
            break;
        }
        apply_entry(s, nd, &rd.committed[i]);
    }
    for (uint32_t i = 0; i < rd.n_reads; i++) {
        if (nd->n_reads == nd->cap_reads) {
            nd->cap_reads = nd->cap_reads ? nd->cap_reads * 2 : 16;
            nd->reads = xrealloc(nd->reads, nd->cap_reads * sizeof(*nd->reads));
        }
        nd->reads[nd->n_reads++] = (struct pread){rd.reads[i].ctx, rd.reads[i].index};
    }
    serve_reads(s, nd);
    if (rd.soft_state_changed && rd.role == RAFT_LEADER) {
        s->st->elections++;
        vlog(s, "node %d leads term %llu", nd->idx, (unsigned long long)rd.hard_state.term);
    }
    if (rd.soft_state_changed && rd.role != RAFT_LEADER)
        nd->n_reads = 0; /* pending reads fail when leadership is lost */
    nd->was_leader = rd.role == RAFT_LEADER;
    nd->was_term = rd.hard_state.term;
    struct raft_snap_req reqs[MAXN];
    uint32_t n_reqs = rd.n_snap_reqs < MAXN ? rd.n_snap_reqs : MAXN;
    if (n_reqs)
        memcpy(reqs, rd.snap_reqs, n_reqs * sizeof(reqs[0]));
    raft_advance(nd->r);
    for (uint32_t i = 0; i < n_reqs; i++)
        answer_snap_req(s, nd, &reqs[i]);
}

/* ---- lifecycle ---- */

static void node_start(struct sim *s, struct node *nd)
{
    struct raft_config c = s->cfg;
    c.id = nd->id;
    c.seed = s->o->seed * 131 + (uint64_t)nd->idx * 7919 + nd->lives++;
    if (raft_create(&c, &nd->r) != 0) {
        failf(s, "raft_create failed");
        return;
    }
    struct raft_entry *ents = xmalloc((nd->n_log + 1) * sizeof(*ents));
    for (uint64_t i = 0; i < nd->n_log; i++)
        ents[i] = (struct raft_entry){nd->log[i].term, nd->meta.index + 1 + i, nd->log[i].type,
                                      nd->log[i].len, nd->log[i].data};
    int rc = raft_restore(nd->r, &nd->hs, &nd->meta, ents, (uint32_t)nd->n_log);
    free(ents);
    if (rc != 0) {
        failf(s, "raft_restore of node %d: %s", nd->idx, raft_strerror(rc));
        return;
    }
    nd->up = true;
    nd->sm_index = 0;
    nd->sm_hash = 0;
    if (nd->meta.index && snap_decode(nd->snap, nd->snap_len, &nd->sm_index, &nd->sm_hash))
        failf(s, "node %d: stored snapshot corrupt", nd->idx);
    chk_ok(s, chk_sm_reset(s->chk, nd->idx, nd->sm_index, nd->sm_hash));
    nd->life_commit = raft_commit_index(nd->r);
    chk_ok(s, chk_commit(s->chk, nd->idx, nd->life_commit, nd->hs.term, true));
    nd->was_leader = false;
}

static void node_destroy(struct node *nd)
{
    raft_free(nd->r);
    store_truncate(nd, 0);
    free(nd->log);
    free(nd->snap);
    free(nd->in_snap);
    free(nd->reads);
}

/* ---- client and operator events ---- */

static struct node *find_leader(struct sim *s)
{
    struct node *best = NULL;
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (nd->up && raft_role_of(nd->r) == RAFT_LEADER &&
            (!best || raft_term_of(nd->r) > raft_term_of(best->r)))
            best = nd;
    }
    return best;
}

static struct node *random_up(struct sim *s)
{
    int k = (int)rn(s, (uint32_t)s->n);
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[(k + i) % s->n];
        if (nd->up)
            return nd;
    }
    return NULL;
}

static bool propose(struct sim *s, struct node *l, uint64_t v)
{
    if (raft_propose(l->r, &v, 8, NULL) != 0)
        return false;
    s->st->proposals++;
    return true;
}

static void read_start(struct sim *s, struct node *l)
{
    if (s->n_ctx == s->cap_ctx) {
        s->cap_ctx = s->cap_ctx ? s->cap_ctx * 2 : 256;
        s->read_start = xrealloc(s->read_start, s->cap_ctx * sizeof(uint64_t));
    }
    uint64_t ctx = s->n_ctx;
    s->read_start[s->n_ctx++] = chk_max_commit(s->chk);
    raft_read_index(l->r, ctx);
}

static void conf_change(struct sim *s, struct node *l)
{
    raft_id id = 1 + rn(s, (uint32_t)s->n);
    const struct raft_conf *c = raft_conf_of(l->r);
    int at = raft_conf_find(c, id);
    uint32_t voters = 0;
    for (uint32_t i = 0; i < c->n; i++)
        voters += c->s[i].voter;
    int type = at < 0 ? RAFT_CC_ADD_LEARNER
                      : !c->s[at].voter && chance(s, 500) ? RAFT_CC_PROMOTE : RAFT_CC_REMOVE;
    if (type == RAFT_CC_REMOVE && c->s[at].voter && voters <= 2)
        return;
    if (raft_propose_conf_change(l->r, type, id, NULL) == 0) {
        s->st->conf_changes++;
        vlog(s, "leader %d proposes change %d for node %llu", l->idx, type,
             (unsigned long long)id - 1);
    }
}

static void take_snapshot(struct sim *s, struct node *nd)
{
    if (nd->sm_index < nd->meta.index + 4)
        return;
    struct raft_snapshot_meta meta;
    int rc = raft_snapshot_taken(nd->r, nd->sm_index, &meta);
    if (rc != 0) {
        failf(s, "raft_snapshot_taken(%llu) on node %d: %s", (unsigned long long)nd->sm_index,
              nd->idx, raft_strerror(rc));
        return;
    }
    free(nd->snap);
    nd->snap_len = snap_encode(nd->sm_index, nd->sm_hash, &nd->snap);
    store_compact(nd, meta.index);
    nd->meta = meta;
}

static void partition(struct sim *s)
{
    memset(s->blocked, 0, sizeof(s->blocked));
    uint32_t kind = rn(s, 4);
    if (kind == 0) { /* symmetric split into two random groups */
        uint32_t side = (uint32_t)rnd(s);
        for (int a = 0; a < s->n; a++)
            for (int b = 0; b < s->n; b++)
                s->blocked[a][b] = ((side >> a) & 1) != ((side >> b) & 1);
    } else if (kind == 1) { /* one-way: a few directed links */
        for (int k = 0; k < 1 + (int)rn(s, 3); k++)
            s->blocked[rn(s, (uint32_t)s->n)][rn(s, (uint32_t)s->n)] = true;
    } else { /* isolate one node, often the leader */
        struct node *l = find_leader(s);
        int x = kind == 3 && l ? l->idx : (int)rn(s, (uint32_t)s->n);
        for (int b = 0; b < s->n; b++)
            s->blocked[x][b] = s->blocked[b][x] = true;
    }
    vlog(s, "partition kind %u", kind);
}

static void fault_events(struct sim *s)
{
    struct node *l = find_leader(s);
    if (l && chance(s, 10))
        conf_change(s, l);
    if (l && chance(s, 5)) {
        raft_id t = 1 + rn(s, (uint32_t)s->n);
        if (raft_transfer_leader(l->r, t) == 0) {
            s->st->transfers++;
            vlog(s, "leader %d transfers to %llu", l->idx, (unsigned long long)t - 1);
        }
    }
    struct node *nd = random_up(s);
    if (nd && chance(s, s->crash_pm))
        crash(s, nd, "random");
    int k = (int)rn(s, (uint32_t)s->n);
    if (!s->nodes[k].up && chance(s, 60)) {
        vlog(s, "node %d restarts", k);
        node_start(s, &s->nodes[k]);
    }
    if (chance(s, s->part_pm))
        partition(s);
    if (chance(s, s->heal_pm))
        memset(s->blocked, 0, sizeof(s->blocked));
}

static void client_events(struct sim *s)
{
    struct node *l = find_leader(s);
    if (l && chance(s, s->faults ? 400 : 100)) {
        int burst = 1 + (int)rn(s, 4);
        for (int i = 0; i < burst; i++)
            propose(s, l, ++s->next_val);
    }
    for (int i = 0; i < s->n; i++) { /* any node that believes it leads gets reads */
        struct node *nd = &s->nodes[i];
        if (nd->up && raft_role_of(nd->r) == RAFT_LEADER && chance(s, 150))
            read_start(s, nd);
    }
    struct node *nd = random_up(s);
    if (nd && chance(s, 40))
        take_snapshot(s, nd);
}

/* ---- the run ---- */

static void check_nodes(struct sim *s)
{
    for (int i = 0; i < s->n && !s->failed; i++) {
        struct node *nd = &s->nodes[i];
        if (!nd->up)
            continue;
        raft_index c = raft_commit_index(nd->r);
        if (c < nd->life_commit)
            failf(s, "commit index of node %d went back from %llu to %llu", i,
                  (unsigned long long)nd->life_commit, (unsigned long long)c);
        nd->life_commit = c;
        if (raft_role_of(nd->r) != RAFT_LEADER)
            continue;
        raft_term t = raft_term_of(nd->r);
        chk_ok(s, chk_leader(s->chk, i, t));
        uint64_t must = chk_must_hold(s->chk, t);
        bool covered = must < raft_first_index(nd->r);
        chk_ok(s, chk_leader_complete(s->chk, i, must, raft_log_term(nd->r, must), covered));
    }
}

static void tick(struct sim *s)
{
    s->now++;
    for (int i = 0; i < s->n; i++)
        if (s->nodes[i].up)
            raft_tick(s->nodes[i].r);
    deliver(s);
    for (int i = 0; i < s->n && !s->failed; i++) {
        struct node *nd = &s->nodes[i];
        for (int k = 0; k < 4 && nd->up && raft_has_ready(nd->r) && !s->failed; k++)
            node_ready(s, nd);
    }
    check_nodes(s);
}

static void setup(struct sim *s)
{
    s->n = s->o->nodes ? s->o->nodes : 3 + (int)rn(s, 5);
    raft_config_default(&s->cfg);
    s->cfg.election_ticks = 10;
    s->cfg.heartbeat_ticks = 1 + rn(s, 3);
    s->cfg.pre_vote = !chance(s, 250);
    s->cfg.check_quorum = !chance(s, 250);
    s->cfg.max_inflight_msgs = 1 + rn(s, 8);
    s->cfg.max_entries_per_msg = 4 + rn(s, 60);
    s->cfg.max_bytes_per_msg = 8 * (4 + rn(s, 128));
    s->cfg.snapshot_chunk_bytes = 16 + rn(s, 64);
    s->cfg.promote_lag_entries = rn(s, 8);
    s->cfg.auto_promote = !chance(s, 200);
    if (chance(s, 250)) { /* lease reads: linearizable under the sim's perfect clocks */
        s->cfg.read_mode = RAFT_READ_LEASE;
        s->cfg.check_quorum = true;
    }
    s->drop_pm = rn(s, 150);
    s->dup_pm = rn(s, 100);
    switch (rn(s, 3)) { /* a fault profile per seed */
    case 0: /* crash-heavy: many crashes, many of them between early sends and disk */
        s->crash_pm = rn(s, 25);
        s->midcrash_pm = rn(s, 50);
        s->part_pm = 5;
        s->heal_pm = 25;
        break;
    case 1: /* partition-heavy: long partitions, stale leaders, few crashes */
        s->crash_pm = rn(s, 3);
        s->midcrash_pm = rn(s, 3);
        s->part_pm = 10 + rn(s, 20);
        s->heal_pm = 5 + rn(s, 10);
        break;
    default: /* mixed */
        s->crash_pm = rn(s, 15);
        s->midcrash_pm = rn(s, 10);
        s->part_pm = 15;
        s->heal_pm = 25;
        break;
    }
    s->max_delay = 1 + rn(s, 6);
    int voters = s->n - (int)rn(s, 2); /* sometimes one node starts outside, to be added */
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        nd->idx = i;
        nd->id = (raft_id)i + 1;
        if (i < voters) {
            nd->meta.conf.n = (uint32_t)voters;
            for (int k = 0; k < voters; k++)
                nd->meta.conf.s[k] = (struct raft_server){(raft_id)k + 1, true};
        }
        node_start(s, nd);
    }
}

/* Healed: everything up, no faults; a leader must emerge and commit a new entry. */
static void liveness(struct sim *s)
{
    s->faults = false;
    memset(s->blocked, 0, sizeof(s->blocked));
    for (int i = 0; i < s->n && !s->failed; i++)
        if (!s->nodes[i].up)
            node_start(s, &s->nodes[i]);
    struct node *proposer = NULL;
    raft_term proposed_term = 0;
    for (int t = 0; t < s->o->live_steps && !s->failed; t++) {
        if (s->marker_applied)
            return;
        struct node *l = find_leader(s);
        if (l && (l != proposer || raft_term_of(l->r) != proposed_term)) {
            s->marker = (1ull << 62) | s->now;
            if (propose(s, l, s->marker)) { /* refused during a transfer: retry */
                proposer = l;
                proposed_term = raft_term_of(l->r);
            }
        }
        client_events(s);
        tick(s);
    }
    for (int i = 0; i < s->n && !s->marker_applied; i++) {
        struct node *nd = &s->nodes[i];
        const struct raft_conf *c = raft_conf_of(nd->r);
        char cs[128] = "";
        for (uint32_t k = 0; k < c->n; k++)
            snprintf(cs + strlen(cs), sizeof(cs) - strlen(cs), "%llu%s ",
                     (unsigned long long)c->s[k].id - 1, c->s[k].voter ? "" : "(l)");
        vlog(s, "node %d: role %d term %llu leader %llu commit %llu last %llu (term %llu) "
                "conf [%s]", i, raft_role_of(nd->r), (unsigned long long)raft_term_of(nd->r),
             (unsigned long long)raft_leader(nd->r), (unsigned long long)raft_commit_index(nd->r),
             (unsigned long long)raft_last_index(nd->r),
             (unsigned long long)raft_log_term(nd->r, raft_last_index(nd->r)), cs);
    }
    if (!s->failed && !s->marker_applied)
        failf(s, "liveness: no proposal committed within %d ticks after healing",
              s->o->live_steps);
}

int sim_run(const struct sim_opts *o, struct sim_stats *st, char *err, size_t errlen)
{
    struct sim *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->o = o;
    s->st = st;
    s->rng = o->seed * 0x2545f4914f6cdd1dull + 1;
    s->err = err;
    s->errlen = errlen;
    s->chk = chk_new();
    s->faults = true;
    setup(s);
    for (int t = 0; t < o->fault_steps && !s->failed; t++) {
        fault_events(s);
        client_events(s);
        tick(s);
    }
    if (!s->failed)
        liveness(s);
    int rc = s->failed ? -1 : 0;
    for (int i = 0; i < s->n; i++)
        node_destroy(&s->nodes[i]);
    for (size_t i = 0; i < s->nq; i++)
        free(s->q[i].buf);
    free(s->q);
    free(s->read_start);
    chk_free(s->chk);
    free(s);
    return rc;
}
