/*
 * tests/unit/test_raft_fixture.h - a tiny hand-driven cluster for the raft unit tests.
 *
 * Nodes 1..n (index i holds id i+1). Messages are deep-copied through the codec into a
 * queue and delivered only when the test says so (fx_deliver / fx_flush), optionally
 * through a cut[from][to] filter. The driver loop follows raft.h's contract; applied
 * entries, released reads and a trivial snapshot ("SNAP" + index) are recorded.
 * Header-only on purpose: each test binary includes it once.
 */
#ifndef TEST_RAFT_FIXTURE_H
#define TEST_RAFT_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <cmocka.h>
#include "../../raft/raft.h"

#define FX_MAX 6
#define FX_QMAX 4096
#define FX_LOGMAX 1024 /* entries a node's store keeps (indexes 1..FX_LOGMAX-1) */

/* A stored entry (the store keeps every persisted entry; compaction is not modelled). */
struct fx_stored {
    raft_term term;
    uint32_t type, len;
    uint8_t *data;
};

struct fx_pkt {
    int from, to;
    uint8_t *buf;
    size_t len;
};

struct fx_node {
    struct raft *r;
    uint64_t applied;      /* last applied index */
    uint64_t n_applied;    /* normal entries applied */
    uint64_t last_value;   /* data of the last normal entry, as u64 */
    uint64_t read_ctx[64]; /* released reads */
    raft_index read_idx[64];
    bool read_failed[64];
    int n_reads;
    uint8_t snap[64]; /* this node's snapshot bytes */
    uint32_t snap_len;
    raft_index snap_index;
    uint8_t in[64];
    uint32_t in_len;
    int installed;
    struct raft_conf snap_conf; /* meta.conf of the last installed snapshot */
    struct fx_stored *log;      /* log[i]: the persisted entry at index i */
    raft_index log_last;
};

struct fx {
    int n;
    struct fx_node nd[FX_MAX];
    struct fx_pkt q[FX_QMAX];
    int nq;
    bool cut[FX_MAX][FX_MAX];
    int sent_by_type[RAFT_MSG_TYPE_END];
    int log_reqs;      /* rd.log_reqs answered from a store */
    bool log_reqs_off; /* leave rd.log_reqs unanswered */
};

static inline void fx_config(struct raft_config *c, raft_id id)
{
    raft_config_default(c);
    c->id = id;
    c->seed = id * 77;
    c->snapshot_chunk_bytes = 8;
}

/* The address the fixture gives server id ("fx-<id>:<id * 1000>"). */
static inline const char *fx_addr(raft_id id)
{
    static char buf[RAFT_ADDR_MAX];
    snprintf(buf, sizeof(buf), "fx-%llu:%llu", (unsigned long long)id,
             (unsigned long long)id * 1000);
    return buf;
}

/* n nodes, the first `voters` of them are the initial voters, with fx_addr() addresses;
 * the others start empty (waiting to be added). tweak, if set, edits each node's config. */
static inline void fx_init(struct fx *f, int n, int voters, void (*tweak)(struct raft_config *))
{
    memset(f, 0, sizeof(*f));
    f->n = n;
    for (int i = 0; i < n; i++) {
        struct raft_config c;
        fx_config(&c, (raft_id)i + 1);
        if (tweak) tweak(&c);
        assert_int_equal(raft_create(&c, &f->nd[i].r), 0);
        struct raft_hard_state hs = {0, 0, 0};
        struct raft_snapshot_meta meta;
        memset(&meta, 0, sizeof(meta));
        if (i < voters) {
            meta.conf.n = (uint32_t)voters;
            for (int k = 0; k < voters; k++) {
                meta.conf.s[k] = (struct raft_server){.id = (raft_id)k + 1, .voter = true};
                strcpy(meta.conf.s[k].addr, fx_addr((raft_id)k + 1));
            }
        }
        assert_int_equal(raft_restore(f->nd[i].r, &hs, &meta, NULL, 0), 0);
        f->nd[i].log = calloc(FX_LOGMAX, sizeof(struct fx_stored));
    }
}

/* Same servers in the same order, with the same roles and addresses. */
static inline void fx_assert_conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
    assert_int_equal(a->n, b->n);
    for (uint32_t k = 0; k < a->n; k++) {
        assert_int_equal(a->s[k].id, b->s[k].id);
        assert_int_equal(a->s[k].voter, b->s[k].voter);
        assert_string_equal(a->s[k].addr, b->s[k].addr);
    }
}

static inline void fx_free(struct fx *f)
{
    for (int i = 0; i < f->n; i++) {
        raft_free(f->nd[i].r);
        for (int k = 0; f->nd[i].log && k < FX_LOGMAX; k++)
            free(f->nd[i].log[k].data);
        free(f->nd[i].log);
    }
    for (int i = 0; i < f->nq; i++)
        free(f->q[i].buf);
}

static inline void fx_send(struct fx *f, int from, const struct raft_msg *m)
{
    int to = (int)m->to - 1;
    f->sent_by_type[m->type]++;
    if (to < 0 || to >= f->n || f->cut[from][to] || f->nq == FX_QMAX) return;
    size_t len = raft_encoded_size(m);
    uint8_t *buf = malloc(len);
    assert_int_equal(raft_encode(m, buf, len), len);
    f->q[f->nq++] = (struct fx_pkt){from, to, buf, len};
}

static inline void fx_chunk(struct fx *f, int i, const struct raft_snap_chunk *c)
{
    struct fx_node *nd = &f->nd[i];
    if (c->offset == 0) nd->in_len = 0;
    assert_int_equal(c->offset, nd->in_len);
    assert_true(nd->in_len + c->len <= sizeof(nd->in));
    memcpy(nd->in + nd->in_len, c->data, c->len);
    nd->in_len += c->len;
    if (c->done) {
        memcpy(nd->snap, nd->in, nd->in_len);
        nd->snap_len = nd->in_len;
        nd->snap_index = c->meta.index;
        nd->snap_conf = c->meta.conf;
        nd->applied = c->meta.index;
        nd->installed++;
    }
}

static inline void fx_persist(struct fx_node *nd, const struct raft_ready *rd)
{
    for (uint32_t k = 0; k < rd->n_entries; k++) {
        const struct raft_entry *e = &rd->entries[k];
        assert_true(e->index < FX_LOGMAX);
        struct fx_stored *s = &nd->log[e->index];
        s->term = e->term;
        s->type = e->type;
        s->len = e->len;
        free(s->data);
        s->data = malloc(e->len ? e->len : 1);
        if (e->len) memcpy(s->data, e->data, e->len);
        nd->log_last = e->index;
    }
}

/* Answers a request for released entries from node i's store. */
static inline void fx_log_req(struct fx *f, int i, const struct raft_log_req *q)
{
    static struct raft_entry ents[RAFT_MAX_MSG_ENTRIES];
    struct fx_node *nd = &f->nd[i];
    uint32_t n = 0;
    uint64_t bytes = 0;
    for (raft_index k = q->prev + 1; k <= q->last && k <= nd->log_last; k++) {
        const struct fx_stored *s = &nd->log[k];
        if (n > 0 && bytes + s->len > q->max_bytes) break;
        ents[n++] = (struct raft_entry){s->term, k, s->type, s->len, s->data};
        bytes += s->len;
    }
    f->log_reqs++;
    assert_int_equal(raft_log_entries(nd->r, q->to, q->prev, ents, n), 0);
}

/* One ready batch of node i, per the contract: send early, persist, send, apply. */
static inline void fx_ready(struct fx *f, int i)
{
    struct fx_node *nd = &f->nd[i];
    struct raft_ready rd;
    raft_ready(nd->r, &rd);
    if (rd.snap_chunk) fx_chunk(f, i, rd.snap_chunk);
    fx_persist(nd, &rd);
    for (uint32_t k = 0; k < rd.n_msgs; k++)
        fx_send(f, i, &rd.msgs[k]);
    for (uint32_t k = 0; k < rd.n_committed; k++) {
        const struct raft_entry *e = &rd.committed[k];
        assert_int_equal(e->index, nd->applied + 1);
        nd->applied = e->index;
        if (e->type == RAFT_ENTRY_NORMAL) {
            nd->n_applied++;
            nd->last_value = 0;
            if (e->len) memcpy(&nd->last_value, e->data, e->len < 8 ? e->len : 8);
        }
    }
    for (uint32_t k = 0; k < rd.n_reads && nd->n_reads < 64; k++) {
        nd->read_ctx[nd->n_reads] = rd.reads[k].ctx;
        nd->read_failed[nd->n_reads] = rd.reads[k].failed;
        nd->read_idx[nd->n_reads++] = rd.reads[k].index;
    }
    struct raft_snap_req reqs[FX_MAX];
    uint32_t nr = rd.n_snap_reqs < FX_MAX ? rd.n_snap_reqs : FX_MAX;
    if (nr) memcpy(reqs, rd.snap_reqs, nr * sizeof(reqs[0]));
    struct raft_log_req lreqs[2 * FX_MAX];
    uint32_t nl = rd.n_log_reqs < 2 * FX_MAX ? rd.n_log_reqs : 2 * FX_MAX;
    if (nl) memcpy(lreqs, rd.log_reqs, nl * sizeof(lreqs[0]));
    raft_advance(nd->r);
    for (uint32_t k = 0; k < nl && !f->log_reqs_off; k++)
        fx_log_req(f, i, &lreqs[k]);
    for (uint32_t k = 0; k < nr; k++) {
        const struct raft_snap_req *q = &reqs[k];
        uint32_t left = nd->snap_len - (uint32_t)q->offset;
        uint32_t len = left < q->max_len ? left : q->max_len;
        assert_int_equal(raft_snapshot_chunk(nd->r, q->to, q->index, q->offset,
                                             nd->snap + q->offset, len,
                                             q->offset + len == nd->snap_len),
                         0);
    }
}

static inline void fx_readies(struct fx *f)
{
    for (int i = 0; i < f->n; i++)
        while (raft_has_ready(f->nd[i].r))
            fx_ready(f, i);
}

/* Delivers what is queued now (not what that produces). Returns packets delivered. */
static inline int fx_deliver(struct fx *f)
{
    int n = f->nq;
    struct fx_pkt *batch = malloc(sizeof(struct fx_pkt) * (size_t)(n + 1));
    memcpy(batch, f->q, sizeof(struct fx_pkt) * (size_t)n);
    f->nq = 0;
    static struct raft_entry ents[RAFT_MAX_MSG_ENTRIES];
    for (int k = 0; k < n; k++) {
        struct raft_msg m;
        assert_int_equal(raft_decode(batch[k].buf, batch[k].len, &m, ents, RAFT_MAX_MSG_ENTRIES),
                         0);
        if (!f->cut[batch[k].from][batch[k].to]) raft_step(f->nd[batch[k].to].r, &m);
        free(batch[k].buf);
    }
    free(batch);
    return n;
}

/* Runs readies and deliveries until nothing moves (bounded). */
static inline void fx_flush(struct fx *f)
{
    for (int round = 0; round < 1000; round++) {
        fx_readies(f);
        if (fx_deliver(f) == 0) return;
    }
    fail_msg("fx_flush: cluster did not quiesce");
}

static inline void fx_tick(struct fx *f, int i, int ticks)
{
    for (int t = 0; t < ticks; t++)
        raft_tick(f->nd[i].r);
}

/* Ticks every node once, then flushes; `rounds` times. */
static inline void fx_run(struct fx *f, int rounds)
{
    for (int t = 0; t < rounds; t++) {
        for (int i = 0; i < f->n; i++)
            raft_tick(f->nd[i].r);
        fx_flush(f);
    }
}

/* Makes node i campaign now (a TimeoutNow as if from a transferring leader). Before
 * any election (term 0) no leader exists to send one (the core refuses a message of
 * term 0): node i is ticked alone until its election timeout makes it stand. */
static inline void fx_campaign(struct fx *f, int i)
{
    if (raft_term_of(f->nd[i].r) == 0) {
        for (int k = 0; k < 1000 && raft_role_of(f->nd[i].r) == RAFT_FOLLOWER; k++)
            raft_tick(f->nd[i].r);
        assert_int_not_equal(raft_role_of(f->nd[i].r), RAFT_FOLLOWER);
        fx_flush(f);
        return;
    }
    struct raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_TIMEOUT_NOW;
    m.from = i == 0 ? 2 : 1;
    m.to = (raft_id)i + 1;
    m.term = raft_term_of(f->nd[i].r);
    raft_step(f->nd[i].r, &m);
    fx_flush(f);
}

static inline uint64_t fx_propose(struct fx *f, int i, uint64_t v)
{
    raft_index idx = 0;
    assert_int_equal(raft_propose(f->nd[i].r, &v, 8, &idx), 0);
    return idx;
}

/* Node i proposes the values 1..n. */
static inline void fx_propose_n(struct fx *f, int i, int n)
{
    for (int v = 1; v <= n; v++)
        fx_propose(f, i, (uint64_t)v);
}

static inline void fx_isolate(struct fx *f, int i, bool on)
{
    for (int k = 0; k < f->n; k++)
        f->cut[i][k] = f->cut[k][i] = on;
}

/* Steps m into node i and returns how many messages of `type` its next batch holds,
 * copying the first into *out (entries not kept). */
static inline int fx_step_reply(struct fx *f, int i, const struct raft_msg *m, uint8_t type,
                                struct raft_msg *out)
{
    if (out) memset(out, 0, sizeof(*out));
    raft_step(f->nd[i].r, m);
    struct raft_ready rd;
    raft_ready(f->nd[i].r, &rd);
    int n = 0;
    for (uint32_t k = 0; k < rd.n_msgs; k++) {
        if (rd.msgs[k].type != type) continue;
        if (n++ == 0 && out) {
            *out = rd.msgs[k];
            out->entries = NULL;
        }
    }
    raft_advance(f->nd[i].r);
    return n;
}

static inline struct raft_msg fx_msg(uint8_t type, raft_id from, raft_id to, raft_term term)
{
    struct raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

/* Builds an APPEND from `from` (term t) with prev (pi, pt) and entries of given terms. */
static inline struct raft_msg fx_append(raft_id from, raft_id to, raft_term t, raft_index pi,
                                        raft_term pt, raft_index commit, struct raft_entry *ents,
                                        const raft_term *terms, uint32_t n)
{
    struct raft_msg m = fx_msg(RAFT_MSG_APPEND, from, to, t);
    m.index = pi;
    m.log_term = pt;
    m.commit = commit;
    for (uint32_t i = 0; i < n; i++)
        ents[i] = (struct raft_entry){terms[i], pi + 1 + i, RAFT_ENTRY_NORMAL, 0, NULL};
    m.entries = ents;
    m.n_entries = n;
    return m;
}

#endif
