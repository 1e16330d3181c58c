/*
 * tests/unit/test_t_stream.c - the stream type (src/types/t_stream.c): entries
 * appended across many nodes, deleted, trimmed exactly and approximately,
 * read forwards and backwards, copied, and carried through the snapshot
 * payload, all checked against a plain array of what the stream holds; and
 * consumer groups (src/types/t_stream_cg.c): pending entries delivered, moved,
 * acknowledged and dropped with their consumer, against a model of the PEL,
 * through the payload, a copy and the digest.
 *
 * What a user would notice if these failed: XRANGE / XREVRANGE missing or
 * repeating entries at node boundaries, a field read back with another
 * entry's value (shared master fields), XLEN wrong after XDEL, an
 * approximate trim that removes a partial node or differs after a restart
 * (replicas would then trim differently), IDs going back after a reload,
 * XPENDING listing an entry twice or under the wrong consumer, a restart
 * that forgets delivery counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keyspace/digest.h"
#include "keyspace/kv.h"
#include "types/t_stream.h"
#include "keyspace/types.h"
#include "base/util.h"

#define MAX_ENTRIES 3000
#define STREAM_ID_ZERO ((struct stream_id){0, 0})

/* The model: the live entries in ID order, each with its fields. */
struct m_entry {
    struct stream_id id;
    int nfields;
    int shape;    /* which field names it has */
    unsigned val; /* its values derive from this */
};
struct model {
    struct m_entry e[MAX_ENTRIES];
    size_t n;
};

static void field_text(const struct m_entry *e, int i, char *f, char *v)
{
    /* Shape 0 repeats the same names (the node's master fields, shared);
     * others differ, and some values are integers (stored as such). */
    snprintf(f, 64, e->shape == 0 ? "f%d" : "s%d-%d", i, e->shape);
    if ((e->val + (unsigned)i) % 3 == 0)
        snprintf(v, 64, "%u", e->val * 7 + (unsigned)i);
    else
        snprintf(v, 64, "v%u-%d-%.*s", e->val, i, (int)(e->val % 20), "xxxxxxxxxxxxxxxxxxxx");
}

static void append(struct stream *s, struct model *m, struct stream_id id, int nfields, int shape,
                   unsigned val)
{
    struct m_entry *e = &m->e[m->n++];
    *e = (struct m_entry){id, nfields, shape, val};
    char buf[16][2][64];
    struct resp_arg fv[32];
    for (int i = 0; i < nfields; i++) {
        field_text(e, i, buf[i][0], buf[i][1]);
        fv[2 * i] = (struct resp_arg){buf[i][0], strlen(buf[i][0])};
        fv[2 * i + 1] = (struct resp_arg){buf[i][1], strlen(buf[i][1])};
    }
    t_stream_append(s, id, (size_t)nfields, fv);
}

/* Every entry with start <= id <= end, in the given direction, read from
 * s equals the model's. */
static void check_range(const struct stream *s, const struct model *m, struct stream_id start,
                        struct stream_id end, int rev)
{
    struct stream_iter it;
    t_stream_iter_start(&it, s, start, end, rev);
    size_t lo = 0, hi = m->n;
    while (lo < m->n && stream_id_cmp(m->e[lo].id, start) < 0)
        lo++;
    while (hi > lo && stream_id_cmp(m->e[hi - 1].id, end) > 0)
        hi--;
    for (size_t k = 0; k < hi - lo; k++) {
        const struct m_entry *e = &m->e[rev ? hi - 1 - k : lo + k];
        struct stream_id id;
        size_t nf;
        assert_true(t_stream_iter_next(&it, &id, &nf));
        assert_int_equal(stream_id_cmp(id, e->id), 0);
        assert_int_equal(nf, (size_t)e->nfields);
        for (int i = 0; i < e->nfields; i++) {
            char f[64], v[64];
            field_text(e, i, f, v);
            struct stream_field got;
            t_stream_iter_field(&it, &got);
            assert_int_equal(got.flen, strlen(f));
            assert_memory_equal(got.f, f, got.flen);
            assert_int_equal(got.vlen, strlen(v));
            assert_memory_equal(got.v, v, got.vlen);
        }
    }
    struct stream_id id;
    size_t nf;
    assert_false(t_stream_iter_next(&it, &id, &nf));
}

static void check_all(const struct stream *s, const struct model *m)
{
    const struct stream_id lo = {0, 0}, hi = {UINT64_MAX, UINT64_MAX};
    assert_int_equal(t_stream_len(s), m->n);
    check_range(s, m, lo, hi, 0);
    check_range(s, m, lo, hi, 1);
    if (m->n > 2) { /* a window whose ends fall inside nodes */
        struct stream_id a = m->e[m->n / 3].id, b = m->e[2 * m->n / 3].id;
        check_range(s, m, a, b, 0);
        check_range(s, m, a, b, 1);
    }
    struct stream_meta meta;
    t_stream_meta(s, &meta);
    struct stream_id first = m->n ? m->e[0].id : lo;
    assert_int_equal(stream_id_cmp(meta.first_id, first), 0);
}

static void model_delete(struct model *m, size_t k)
{
    memmove(&m->e[k], &m->e[k + 1], (m->n - k - 1) * sizeof m->e[0]);
    m->n--;
}

/* The payload's bytes, and the stream load() rebuilds from them. */
struct buf {
    unsigned char *p;
    size_t len, cap;
};
static void put(void *ud, const void *p, size_t n)
{
    struct buf *b = ud;
    if (b->len + n > b->cap) {
        b->cap = 2 * (b->len + n);
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}
static struct stream *reload(const struct stream *s)
{
    struct buf b = {0};
    t_stream_ops.save(s, put, &b);
    struct kv_limits lim = {0};
    char err[128] = "";
    struct stream *back = t_stream_ops.load(b.p, b.len, &lim, err, sizeof err);
    if (!back) fail_msg("load refused its own payload: %s", err);
    struct buf again = {0};
    t_stream_ops.save(back, put, &again); /* the same bytes back */
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.p, b.p, b.len);
    free(again.p);
    free(b.p);
    return back;
}

static struct model *new_model(void)
{
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    return m;
}

/* Appends across many nodes (shared and own fields), deletes at random,
 * and reads everything back after each kind of change. */
static void test_append_delete_read(void **state)
{
    (void)state;
    struct stream *s = t_stream_new();
    struct model *m = new_model();
    uint64_t rng = 42;
    struct stream_id id = {1000, 0};
    for (unsigned i = 0; i < 1500; i++) {
        uint64_t r = util_rand64(&rng);
        if (r % 4 == 0)
            id.ms += 1 + r % 5000; /* gaps in time */
        else
            id.seq++;
        append(s, m, id, 1 + (int)(r % 5), (r >> 8) % 4 == 0 ? (int)(1 + r % 3) : 0,
               (unsigned)(r >> 16));
    }
    check_all(s, m);
    assert_true(t_stream_nodes(s) >= 1500 / STREAM_NODE_MAX_ENTRIES);
    for (int i = 0; i < 700; i++) {
        size_t k = util_rand64(&rng) % m->n;
        assert_true(t_stream_delete(s, m->e[k].id));
        assert_false(t_stream_delete(s, m->e[k].id)); /* a tombstone is not there */
        model_delete(m, k);
    }
    check_all(s, m);
    struct stream_meta meta;
    t_stream_meta(s, &meta);
    assert_int_equal(meta.entries_added, 1500);
    assert_int_equal(stream_id_cmp(meta.last_id, id), 0); /* never goes back */
    /* Everything deleted: empty, and the last ID stays. */
    while (m->n) {
        assert_true(t_stream_delete(s, m->e[0].id));
        model_delete(m, 0);
    }
    check_all(s, m);
    assert_int_equal(t_stream_nodes(s), 0);
    t_stream_meta(s, &meta);
    assert_int_equal(stream_id_cmp(meta.last_id, id), 0);
    t_stream_ops.free(s);
    free(m);
}

/* MAXLEN and MINID, exact and approximate (whole nodes only, never below
 * the threshold), and LIMIT. */
static void test_trim(void **state)
{
    (void)state;
    struct stream *s = t_stream_new();
    struct model *m = new_model();
    for (uint64_t i = 1; i <= 1000; i++)
        append(s, m, (struct stream_id){i, 0}, 2, 0, (unsigned)i);
    /* Approximate: nodes of 100 entries; keeping at least 950 removes none. */
    struct stream_trim t = {0, 950, {0, 0}, 1, 0};
    assert_int_equal(t_stream_trim(s, &t), 0);
    t.maxlen = 750; /* two whole nodes */
    assert_int_equal(t_stream_trim(s, &t), 200);
    for (int i = 0; i < 200; i++)
        model_delete(m, 0);
    check_all(s, m);
    /* LIMIT caps an approximate trim (whole nodes within it). */
    t = (struct stream_trim){0, 0, {0, 0}, 1, 150};
    assert_int_equal(t_stream_trim(s, &t), 100);
    for (int i = 0; i < 100; i++)
        model_delete(m, 0);
    check_all(s, m);
    /* Exact MINID inside a node. */
    t = (struct stream_trim){1, 0, {345, 0}, 0, 0};
    assert_int_equal(t_stream_trim(s, &t), 44);
    for (int i = 0; i < 44; i++)
        model_delete(m, 0);
    check_all(s, m);
    /* Exact MAXLEN down to 10. */
    t = (struct stream_trim){0, 10, {0, 0}, 0, 0};
    assert_int_equal(t_stream_trim(s, &t), m->n - 10);
    while (m->n > 10)
        model_delete(m, 0);
    check_all(s, m);
    t_stream_ops.free(s);
    free(m);
}

/* Saved and loaded (or copied), a stream holds the same entries, IDs and
 * counters, and its nodes split where the original's do: the same later
 * approximate trim removes the same entries from both. */
static void test_reload_and_copy_behave_the_same(void **state)
{
    (void)state;
    struct stream *s = t_stream_new();
    struct model *m = new_model();
    uint64_t rng = 7;
    for (uint64_t i = 1; i <= 1200; i++)
        append(s, m, (struct stream_id){i, i % 3}, 1 + (int)(i % 4), (int)(i % 7 == 0),
               (unsigned)util_rand64(&rng));
    for (int i = 0; i < 300; i++) { /* tombstones inside nodes */
        size_t k = util_rand64(&rng) % m->n;
        assert_true(t_stream_delete(s, m->e[k].id));
        model_delete(m, k);
    }
    struct stream *back = reload(s);
    struct stream *copy = t_stream_ops.dup(s);
    struct stream_meta a, b, c;
    t_stream_meta(s, &a);
    t_stream_meta(back, &b);
    t_stream_meta(copy, &c);
    assert_memory_equal(&a, &b, sizeof a);
    assert_memory_equal(&a, &c, sizeof a);
    assert_int_equal(t_stream_nodes(back), t_stream_nodes(s));
    check_all(back, m);
    check_all(copy, m);
    struct stream_trim t = {0, 500, {0, 0}, 1, 0};
    uint64_t n = t_stream_trim(s, &t);
    assert_int_equal(t_stream_trim(back, &t), n);
    assert_int_equal(t_stream_trim(copy, &t), n);
    assert_int_equal(t_stream_len(back), t_stream_len(s));
    t_stream_ops.free(s);
    t_stream_ops.free(back);
    t_stream_ops.free(copy);
    free(m);
}

/* An exact MINID trim that stops at a node's last entry, a tombstone,
 * leaves a node of tombstones only (as Redis's does): it reloads. */
static void test_reload_of_a_tombstone_node(void **state)
{
    (void)state;
    struct stream *s = t_stream_new();
    struct resp_arg fv[2] = {{"f", 1}, {"v", 1}};
    t_stream_append(s, (struct stream_id){1, 1}, 1, fv);
    t_stream_append(s, (struct stream_id){1, 2}, 1, fv);
    assert_int_equal(t_stream_delete(s, (struct stream_id){1, 2}), 1);
    struct stream_trim t = {.by_minid = 1, .minid = {1, 2}};
    assert_int_equal(t_stream_trim(s, &t), 1);
    assert_int_equal(t_stream_len(s), 0);
    assert_int_equal(t_stream_nodes(s), 1);
    struct stream *back = reload(s);
    assert_int_equal(t_stream_nodes(back), 1);
    t_stream_ops.free(back);
    t_stream_ops.free(s);
}

/* A payload cut short or with a byte changed is refused, never loaded
 * half. */
static void test_malformed_payload_refused(void **state)
{
    (void)state;
    struct stream *s = t_stream_new();
    struct model *m = new_model();
    for (uint64_t i = 1; i <= 250; i++)
        append(s, m, (struct stream_id){i, 0}, 2, 0, (unsigned)i);
    struct buf b = {0};
    t_stream_ops.save(s, put, &b);
    struct kv_limits lim = {0};
    char err[128];
    for (size_t cut = 0; cut < b.len; cut += 1 + cut / 8) {
        struct stream *x = t_stream_ops.load(b.p, cut, &lim, err, sizeof err);
        if (x) fail_msg("a payload cut at %zu of %zu loaded", cut, b.len);
    }
    free(b.p);
    t_stream_ops.free(s);
    free(m);
}

/* --- consumer groups --- */

#define M_CONSUMERS 4
#define M_GROUP_IDS 400

/* The model of one group's PEL: per entry of the stream (by index), the
 * consumer it is pending for (-1: none), its delivery count and time. */
struct m_pel {
    int who[M_GROUP_IDS];
    uint64_t count[M_GROUP_IDS];
    int64_t time[M_GROUP_IDS];
};

static void check_pel(struct stream_group *g, struct stream_consumer **cs, const struct m_pel *mp,
                      const struct stream_id *ids, size_t n)
{
    struct stream_pel_pos p;
    struct stream_nack *nack;
    struct stream_id id;
    size_t k = 0;
    t_stream_pel_seek(&g->pel_order, STREAM_ID_ZERO, &p);
    while ((nack = t_stream_pel_next(&p, &id))) {
        while (k < n && mp->who[k] < 0)
            k++;
        assert_true(k < n);
        assert_int_equal(id.ms, ids[k].ms);
        assert_int_equal(id.seq, ids[k].seq);
        assert_ptr_equal(nack->consumer, cs[mp->who[k]]);
        assert_int_equal(nack->delivery_count, mp->count[k]);
        assert_int_equal(nack->delivery_time, mp->time[k]);
        assert_ptr_equal(t_stream_pel_find(g, id), nack);
        k++;
    }
    while (k < n)
        assert_int_equal(mp->who[k++], -1);
    for (int c = 0; c < M_CONSUMERS; c++) { /* each consumer's own PEL, in order */
        size_t want = 0, got = 0;
        for (size_t i = 0; i < n; i++)
            want += mp->who[i] == c;
        t_stream_pel_seek(&cs[c]->pel, STREAM_ID_ZERO, &p);
        struct stream_id prev = STREAM_ID_ZERO;
        while ((nack = t_stream_pel_next(&p, &id))) {
            assert_ptr_equal(nack->consumer, cs[c]);
            assert_true(got == 0 || stream_id_cmp(prev, id) < 0);
            prev = id;
            got++;
        }
        assert_int_equal(got, want);
    }
}

static void digest_of(const struct stream *s, unsigned char d[DIGEST_LEN])
{
    memset(d, 0, DIGEST_LEN);
    t_stream_ops.digest(s, d);
}

/* Entries delivered, moved between consumers, acknowledged and dropped with
 * their consumer, checked against the model after every step; then the
 * groups survive the snapshot payload and a copy, and take part in the
 * digest (replicas that differ in a PEL must not compare equal). */
static void test_groups(void **state)
{
    (void)state;
    struct stream *s = t_stream_new();
    struct model *m = new_model();
    struct stream_id ids[M_GROUP_IDS];
    for (size_t i = 0; i < M_GROUP_IDS; i++) {
        ids[i] = (struct stream_id){1000 + i, i % 2};
        append(s, m, ids[i], 2, 0, (unsigned)i);
    }
    struct stream_group *g = t_stream_group_create(s, "g", 1, STREAM_ID_ZERO, 0);
    assert_non_null(g);
    assert_null(t_stream_group_create(s, "g", 1, STREAM_ID_ZERO, 0));
    assert_non_null(t_stream_group_create(s, "other", 5, ids[10], 11));
    struct stream_consumer *cs[M_CONSUMERS];
    for (int c = 0; c < M_CONSUMERS; c++) {
        char name[8];
        int len = snprintf(name, sizeof name, "c%d", c);
        cs[c] = t_stream_consumer_create(g, name, (size_t)len, 100 + c);
        assert_non_null(cs[c]);
    }
    assert_null(t_stream_consumer_create(g, "c0", 2, 0));
    struct m_pel *mp = calloc(1, sizeof *mp);
    assert_non_null(mp);
    for (size_t i = 0; i < M_GROUP_IDS; i++)
        mp->who[i] = -1;
    uint64_t rng = 11;
    for (int step = 0; step < 3000; step++) {
        size_t k = util_rand64(&rng) % M_GROUP_IDS;
        int c = (int)(util_rand64(&rng) % M_CONSUMERS);
        switch (util_rand64(&rng) % 4) {
        case 0:
        case 1: { /* delivered (again) to c, or claimed by c */
            struct stream_nack *nack = t_stream_pel_claim(g, ids[k], cs[c]);
            nack->delivery_count++;
            nack->delivery_time = step;
            mp->count[k] = mp->who[k] < 0 ? 1 : mp->count[k] + 1;
            mp->time[k] = step;
            mp->who[k] = c;
            break;
        }
        case 2: /* XACK */
            assert_int_equal(t_stream_pel_ack(g, ids[k]), mp->who[k] >= 0);
            mp->who[k] = -1;
            break;
        default:
            if (step % 97) break;
            { /* XGROUP DELCONSUMER, then the consumer comes back */
                size_t had = 0;
                for (size_t i = 0; i < M_GROUP_IDS; i++)
                    if (mp->who[i] == c) {
                        had++;
                        mp->who[i] = -1;
                    }
                char name[8];
                memcpy(name, cs[c]->name, cs[c]->name_len);
                size_t len = cs[c]->name_len;
                assert_int_equal(t_stream_consumer_delete(g, cs[c]), had);
                assert_null(t_stream_consumer(g, name, len));
                cs[c] = t_stream_consumer_create(g, name, len, step);
            }
        }
        if (step % 500 == 0) check_pel(g, cs, mp, ids, M_GROUP_IDS);
    }
    check_pel(g, cs, mp, ids, M_GROUP_IDS);

    struct stream *back = reload(s);
    struct stream *copy = t_stream_ops.dup(s);
    unsigned char d[DIGEST_LEN], d_back[DIGEST_LEN], d_copy[DIGEST_LEN];
    digest_of(s, d);
    digest_of(back, d_back);
    digest_of(copy, d_copy);
    assert_memory_equal(d, d_back, DIGEST_LEN);
    assert_memory_equal(d, d_copy, DIGEST_LEN);
    for (int which = 0; which < 2; which++) {
        struct stream *x = which ? back : copy;
        assert_int_equal(t_stream_group_count(x), 2);
        struct stream_group *xg = t_stream_group(x, "g", 1);
        assert_non_null(xg);
        struct stream_consumer *xcs[M_CONSUMERS];
        for (int c = 0; c < M_CONSUMERS; c++) {
            xcs[c] = t_stream_consumer(xg, cs[c]->name, cs[c]->name_len);
            assert_non_null(xcs[c]);
            assert_int_equal(xcs[c]->seen_time, cs[c]->seen_time);
        }
        check_pel(xg, xcs, mp, ids, M_GROUP_IDS);
        struct stream_group *o = t_stream_group(x, "other", 5);
        assert_int_equal(o->last_id.ms, ids[10].ms);
        assert_int_equal(o->entries_read, 11);
    }
    /* one acknowledgement on one side: the digests part */
    size_t k = 0;
    while (mp->who[k] < 0)
        k++;
    assert_true(t_stream_pel_ack(t_stream_group(copy, "g", 1), ids[k]));
    digest_of(copy, d_copy);
    assert_memory_not_equal(d, d_copy, DIGEST_LEN);
    /* a group's payload cut short is refused */
    struct buf b = {0};
    t_stream_ops.save(s, put, &b);
    struct kv_limits lim = {0};
    char err[128];
    for (size_t cut = b.len - 200; cut < b.len; cut++)
        assert_null(t_stream_ops.load(b.p, cut, &lim, err, sizeof err));
    free(b.p);
    assert_true(t_stream_group_destroy(s, "g", 1));
    assert_false(t_stream_group_destroy(s, "g", 1));
    assert_int_equal(t_stream_group_count(s), 1);
    t_stream_ops.free(s);
    t_stream_ops.free(back);
    t_stream_ops.free(copy);
    free(mp);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_delete_read),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_reload_and_copy_behave_the_same),
        cmocka_unit_test(test_malformed_payload_refused),
        cmocka_unit_test(test_reload_of_a_tombstone_node),
        cmocka_unit_test(test_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
