/*
 * tests/unit/test_t_list.c - the list structure (src/ds/quicklist.c) and the
 * list type (src/types/t_list.c): pushes and pops at both ends across node
 * boundaries, insertions, deletions and replacements in the middle under
 * every fill setting, LZF compression at depths 0..3 with reads and writes
 * all over the list, the snapshot payload round trip, damaged payloads,
 * copies; and the commands' replies where Redis has a rule of its own.
 *
 * Every structural test runs against a model (an array of strings) and
 * checks the quicklist's invariants (ql_verify: links, counts, node limits,
 * which nodes are compressed) after every operation.
 *
 * What a user would notice if these failed: elements lost, duplicated or
 * out of order after an LINSERT or LSET in a long list, a list that takes
 * far more memory than Redis's (nodes over their limit, nothing
 * compressed), a list changed by a snapshot and restart, a server that
 * accepts a damaged snapshot.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "ds/quicklist.h"
#include "types/t_list.h"
#include "base/util.h"
#include "cmd_fixture.h"
#include "ql_check.h"
#include "types/typetable.h"

/* --- a model: the list as an array of strings --- */

struct model {
    char **v;
    size_t *len;
    size_t n, cap;
};

static void m_insert(struct model *m, size_t at, const char *p, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
        m->len = realloc(m->len, m->cap * sizeof *m->len);
        assert_non_null(m->v);
        assert_non_null(m->len);
    }
    memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof *m->v);
    memmove(m->len + at + 1, m->len + at, (m->n - at) * sizeof *m->len);
    m->v[at] = malloc(len + 1);
    memcpy(m->v[at], p, len);
    m->len[at] = len;
    m->n++;
}

static void m_delete(struct model *m, size_t at, size_t k)
{
    for (size_t i = at; i < at + k; i++)
        free(m->v[i]);
    memmove(m->v + at, m->v + at + k, (m->n - at - k) * sizeof *m->v);
    memmove(m->len + at, m->len + at + k, (m->n - at - k) * sizeof *m->len);
    m->n -= k;
}

static void m_free(struct model *m)
{
    m_delete(m, 0, m->n);
    free(m->v);
    free(m->len);
}

static int m_eq(const struct model *m, size_t i, const char *p, size_t len)
{
    return m->len[i] == len && memcmp(m->v[i], p, len) == 0;
}

static void check(const struct quicklist *ql, const struct model *m)
{
    char err[256];
    if (ql_verify(ql, err, sizeof err) != 0) fail_msg("quicklist invariant: %s", err);
    assert_int_equal(ql->count, m->n);
    struct ql_iter it;
    const char *p;
    size_t len, i = 0;
    ql_iter_init(&it, ql, 0, 0);
    for (; ql_iter_next(&it, &p, &len); i++)
        if (!m_eq(m, i, p, len)) fail_msg("element %zu differs", i);
    ql_iter_done(&it);
    assert_int_equal(i, m->n);
    ql_iter_init(&it, ql, m->n - 1, 1);
    for (; ql_iter_next(&it, &p, &len); i--)
        if (!m_eq(m, i - 1, p, len)) fail_msg("element %zu differs walking back", i - 1);
    ql_iter_done(&it);
    assert_int_equal(i, 0);
}

/* An element of a size drawn from small integers to 10 KB, compressible or
 * not. buf holds 16 KB. */
static size_t gen(uint64_t *rng, char *buf)
{
    uint64_t kind = util_rand_below(rng, 10);
    if (kind < 3) return (size_t)snprintf(buf, 32, "%lld", (long long)util_rand64(rng) % 5000);
    size_t len = kind < 7   ? util_rand_below(rng, 40)
                 : kind < 9 ? 100 + util_rand_below(rng, 900)
                            : 5000 + util_rand_below(rng, 5000);
    int noisy = util_rand_below(rng, 2) != 0;
    for (size_t i = 0; i < len; i++)
        buf[i] = noisy ? (char)util_rand64(rng) : (char)('a' + (i / 50) % 3);
    return len;
}

static const int fills[] = {-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 16, 128};
#define N_FILLS (sizeof fills / sizeof fills[0])

/* --- structure --- */

static void test_push_pop_across_nodes(void **state)
{
    (void)state;
    char buf[32];
    for (size_t fi = 0; fi < N_FILLS; fi++) {
        struct quicklist *ql = ql_new(fills[fi], 1);
        struct model m = {0};
        for (int i = 0; i < 700; i++) {
            size_t n = (size_t)snprintf(buf, sizeof buf, "e%d", i);
            int head = i % 3 == 0;
            ql_push(ql, head ? QL_HEAD : QL_TAIL, buf, n);
            m_insert(&m, head ? 0 : m.n, buf, n);
        }
        check(ql, &m);
        if (fills[fi] > 0) assert_true(ql->nodes >= 700 / (size_t)fills[fi]);
        /* Pops at both ends through every node. */
        while (m.n) {
            int head = m.n % 2;
            ql_delete_range(ql, head ? 0 : m.n - 1, 1);
            m_delete(&m, head ? 0 : m.n - 1, 1);
            if (m.n % 37 == 0) check(ql, &m);
        }
        check(ql, &m);
        assert_int_equal(ql->nodes, 0);
        ql_free(ql);
        m_free(&m);
    }
}

/* Elements larger than a node's limit live alone; small ones share. */
static void test_large_elements_live_alone(void **state)
{
    (void)state;
    static char big[20000];
    memset(big, 'x', sizeof big);
    struct quicklist *ql = ql_new(-1, 0); /* 4 KB nodes */
    struct model m = {0};
    const size_t sizes[] = {10, 5000, 10, 10, 9000, 20000, 3, 4095, 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ql_push(ql, QL_TAIL, big, sizes[i]);
        m_insert(&m, m.n, big, sizes[i]);
        check(ql, &m);
    }
    /* 10 | 5000 | 10 10 | 9000 | 20000 | 3 4095? no: 3 + 4095 > 4 KB */
    assert_int_equal(ql->nodes, 8);
    assert_true(ql_replace(ql, 2, big, 8000));
    m_delete(&m, 2, 1);
    m_insert(&m, 2, big, 8000);
    check(ql, &m);
    assert_int_equal(ql->nodes, 9);
    ql_free(ql);
    m_free(&m);
}

/* One random operation on ql and the model. */
static void random_op(struct quicklist *ql, struct model *m, uint64_t *rng, char *buf)
{
    size_t len = gen(rng, buf);
    uint64_t op = util_rand_below(rng, 10);
    size_t at = m->n ? util_rand_below(rng, m->n) : 0;
    if (op < 3 || m->n == 0) {
        int head = util_rand_below(rng, 2) != 0;
        ql_push(ql, head ? QL_HEAD : QL_TAIL, buf, len);
        m_insert(m, head ? 0 : m->n, buf, len);
    } else if (op < 5) {
        /* An insertion before or after the first copy of a pivot. */
        int after = util_rand_below(rng, 2) != 0;
        size_t pi = 0;
        while (!m_eq(m, pi, m->v[at], m->len[at]))
            pi++;
        assert_true(ql_insert(ql, m->v[at], m->len[at], after, buf, len));
        m_insert(m, pi + (size_t)after, buf, len);
    } else if (op < 7) {
        assert_true(ql_replace(ql, at, buf, len));
        m_delete(m, at, 1);
        m_insert(m, at, buf, len);
    } else if (op < 8) {
        size_t k = util_rand_below(rng, 1 + (m->n - at) / 3);
        ql_delete_range(ql, at, k);
        m_delete(m, at, k);
    } else {
        /* LREM of an element's copies, some or all, from either end. */
        char *e = malloc(m->len[at] + 1);
        size_t elen = m->len[at];
        memcpy(e, m->v[at], elen);
        long long count = (long long)util_rand_below(rng, 4) - 2;
        size_t want = count ? (size_t)llabs(count) : SIZE_MAX, got = 0;
        for (size_t i = 0; i < m->n && got < want;) {
            size_t j = count < 0 ? m->n - 1 - i : i;
            if (m_eq(m, j, e, elen)) {
                m_delete(m, j, 1); /* what followed (or preceded) j is now at i */
                got++;
                continue;
            }
            i++;
        }
        assert_int_equal(ql_remove(ql, e, elen, count), got);
        free(e);
    }
}

static void test_random_operations_every_fill_and_depth(void **state)
{
    (void)state;
    static char buf[16384];
    for (unsigned depth = 0; depth <= 3; depth++) {
        for (size_t fi = 0; fi < N_FILLS; fi++) {
            uint64_t rng = 1000 * depth + fi;
            struct quicklist *ql = ql_new(fills[fi], depth);
            struct model m = {0};
            for (int step = 0; step < 800; step++) {
                random_op(ql, &m, &rng, buf);
                check(ql, &m);
            }
            ql_free(ql);
            m_free(&m);
        }
    }
}

static void m_copy(struct model *to, const struct model *from)
{
    memset(to, 0, sizeof *to);
    for (size_t i = 0; i < from->n; i++)
        m_insert(to, i, from->v[i], from->len[i]);
}

static void *free_on_thread(void *ql)
{
    ql_free(ql);
    return NULL;
}

/* ql_share: after the twin is taken, writes all over the list (copy on
 * write, nodes dropped, nodes compressed and decompressed as the ends move)
 * leave the twin exactly as the list was, under every fill and at depths
 * 0..2; either may be freed first, the list on another thread (lazyfree)
 * while the twin is read. One twin at a time: another is refused while it
 * exists, and taken once it is gone (the list owning its buffers again).
 * Under ASan a buffer freed twice, used after free or never freed fails. */
static void test_share_copy_on_write(void **state)
{
    (void)state;
    static char buf[16384];
    for (unsigned depth = 0; depth <= 2; depth++) {
        for (size_t fi = 0; fi < N_FILLS; fi++) {
            uint64_t rng = 7000 + 100 * depth + fi;
            struct quicklist *ql = ql_new(fills[fi], depth);
            struct model m = {0}, at_share;
            for (int round = 0; round < 3; round++) {
                for (int step = 0; step < 150; step++)
                    random_op(ql, &m, &rng, buf);
                struct quicklist *twin = ql_share(ql);
                assert_non_null(twin);
                assert_null(ql_share(ql));
                m_copy(&at_share, &m);
                check(twin, &at_share);
                for (int step = 0; step < 150; step++) {
                    random_op(ql, &m, &rng, buf);
                    if (step % 25 == 0) {
                        check(ql, &m);
                        check(twin, &at_share);
                    }
                }
                check(ql, &m);
                check(twin, &at_share);
                ql_free(twin);
                m_free(&at_share);
            }
            /* The list goes first, freed on another thread while the twin
             * is read here. */
            struct quicklist *twin = ql_share(ql);
            assert_non_null(twin);
            m_copy(&at_share, &m);
            pthread_t t;
            assert_int_equal(pthread_create(&t, NULL, free_on_thread, ql), 0);
            check(twin, &at_share);
            assert_int_equal(pthread_join(t, NULL), 0);
            check(twin, &at_share);
            ql_free(twin);
            m_free(&at_share);
            m_free(&m);
        }
    }
}

/* Inner nodes are compressed for real: reads see the same elements, and a
 * long compressible list takes a fraction of the memory. */
static void test_compression_depths(void **state)
{
    (void)state;
    char buf[600];
    memset(buf, 'q', sizeof buf);
    size_t plain_bytes = 0;
    for (unsigned depth = 0; depth <= 3; depth++) {
        struct quicklist *ql = ql_new(-2, depth);
        struct model m = {0};
        for (int i = 0; i < 2000; i++) {
            size_t n = 100 + (size_t)i % 400;
            snprintf(buf, 16, "%04d", i);
            ql_push(ql, QL_TAIL, buf, n);
            m_insert(&m, m.n, buf, n);
        }
        check(ql, &m);
        size_t want = ql->nodes > 2 * depth && depth ? ql->nodes - 2 * depth : 0;
        assert_int_equal(ql_compressed_nodes(ql), want);
        if (depth == 0)
            plain_bytes = ql_memory(ql, 0);
        else
            assert_true(ql_memory(ql, 0) < plain_bytes / 4);
        /* Reads in the middle leave the list as it was. */
        struct ql_iter it;
        const char *p;
        size_t len;
        ql_iter_init(&it, ql, 1000, 0);
        assert_true(ql_iter_next(&it, &p, &len));
        assert_true(m_eq(&m, 1000, p, len));
        ql_iter_done(&it);
        assert_int_equal(ql_compressed_nodes(ql), want);
        /* Writes in the middle decompress one node and compress it again. */
        assert_true(ql_replace(ql, 1001, "mid", 3));
        m_delete(&m, 1001, 1);
        m_insert(&m, 1001, "mid", 3);
        assert_true(ql_insert(ql, "mid", 3, 1, "after", 5));
        m_insert(&m, 1002, "after", 5);
        check(ql, &m);
        /* Pops from both ends move the boundary node by node. */
        for (int i = 0; i < 900; i++) {
            ql_delete_range(ql, 0, 1);
            m_delete(&m, 0, 1);
            ql_delete_range(ql, m.n - 1, 1);
            m_delete(&m, m.n - 1, 1);
            if (i % 25 == 0) check(ql, &m);
        }
        ql_free(ql);
        m_free(&m);
    }
}

/* A node that does not shrink by QL_COMPRESS_GAIN stays plain. */
static void test_incompressible_nodes_stay_plain(void **state)
{
    (void)state;
    uint64_t rng = 7;
    char buf[3000];
    struct quicklist *ql = ql_new(-1, 1);
    struct model m = {0};
    for (int i = 0; i < 20; i++) {
        for (size_t j = 0; j < sizeof buf; j++)
            buf[j] = (char)util_rand64(&rng);
        ql_push(ql, QL_TAIL, buf, sizeof buf);
        m_insert(&m, m.n, buf, sizeof buf);
    }
    check(ql, &m);
    assert_int_equal(ql_compressed_nodes(ql), 0);
    ql_free(ql);
    m_free(&m);
}

static void test_fill_and_depth_are_clamped(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new(-100, -4);
    assert_int_equal(ql->fill, QL_FILL_MIN);
    assert_int_equal(ql->depth, 0);
    ql_free(ql);
    ql = ql_new(1LL << 40, 1LL << 40);
    assert_int_equal(ql->fill, QL_FILL_MAX);
    assert_int_equal(ql->depth, QL_DEPTH_MAX);
    ql_free(ql);
}

static void test_dup_is_deep(void **state)
{
    (void)state;
    uint64_t rng = 99;
    static char buf[16384];
    struct quicklist *ql = ql_new(8, 2);
    struct model m = {0};
    for (int i = 0; i < 500; i++)
        random_op(ql, &m, &rng, buf);
    struct quicklist *d = ql_dup(ql);
    check(d, &m);
    assert_int_equal(d->nodes, ql->nodes);
    assert_int_equal(ql_compressed_nodes(d), ql_compressed_nodes(ql));
    ql_free(ql); /* the copy owns all of its own memory */
    check(d, &m);
    ql_free(d);
    m_free(&m);
}

/* --- the type (src/types/t_list.c) --- */

static void *roundtrip(struct fx *f, const char *key, struct fx_buf *b)
{
    struct kv_val *v = kv_lookup_peek(&f->kv, key, strlen(key), f->now);
    assert_non_null(v);
    t_list_ops.save(kv_val_obj(v), fx_buf_put, b);
    assert_int_equal(t_list_ops.saved_len(kv_val_obj(v)), b->len);
    char err[128];
    void *obj = t_list_ops.load((unsigned char *)b->data, b->len, &f->kvc.limits, err, sizeof err);
    if (!obj) fail_msg("load: %s", err);
    return obj;
}

static void test_save_load_dup(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.list_compress_depth = 1;
    f->kvc.limits.list_max_listpack_size = 3;
    EXPECT(f, "RPUSH l 1 007 -5 x \"\" 9223372036854775808 a b c d e z", ":12\r\n");
    EXPECT(f, "LREM l 1 z", ":1\r\n"); /* a node left short: loaded back as it is */
    struct fx_buf b = {NULL, 0};
    struct quicklist *ql = roundtrip(f, "l", &b);
    const struct quicklist *orig = kv_val_obj(kv_lookup_peek(&f->kv, "l", 1, f->now));
    assert_int_equal(ql->count, 11);
    assert_int_equal(ql->fill, 3);
    assert_int_equal(ql->nodes, orig->nodes);
    assert_int_equal(ql_compressed_nodes(ql), ql_compressed_nodes(orig));
    char err[128];
    assert_int_equal(ql_verify(ql, err, sizeof err), 0);
    struct fx_buf b2 = {NULL, 0};
    t_list_ops.save(ql, fx_buf_put, &b2);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    t_list_ops.free(ql);
    free(b2.data);
    /* COPY is a deep copy through dup. */
    EXPECT(f, "COPY l l2", ":1\r\n");
    EXPECT(f, "RPOP l 11",
           "*11\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"
           "$19\r\n9223372036854775808\r\n$0\r\n\r\n$1\r\nx\r\n$2\r\n-5\r\n"
           "$3\r\n007\r\n$1\r\n1\r\n");
    EXPECT(f, "EXISTS l", ":0\r\n");
    EXPECT(f, "LRANGE l2 0 2", "*3\r\n$1\r\n1\r\n$3\r\n007\r\n$2\r\n-5\r\n");
    assert_string_equal(fx_encoding(f, "l2"), "quicklist");
    free(b.data);
}

static void expect_rejected(struct fx *f, const void *p, size_t len)
{
    char err[128] = "";
    void *obj = t_list_ops.load(p, len, &f->kvc.limits, err, sizeof err);
    if (obj) fail_msg("a damaged payload of %zu bytes loaded", len);
    assert_true(err[0] != 0);
}

static void test_malformed_payloads_are_refused(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "RPUSH l a bb ccc", ":3\r\n");
    struct fx_buf b = {NULL, 0};
    void *obj = roundtrip(f, "l", &b);
    t_list_ops.free(obj);
    for (size_t cut = 0; cut < b.len; cut++)
        expect_rejected(f, b.data, cut); /* every truncation */
    char *more = malloc(b.len + 1);
    memcpy(more, b.data, b.len);
    more[b.len] = 'z';
    expect_rejected(f, more, b.len + 1); /* a trailing byte */
    /* count | nodes | node 0: length | listpack (total | count | entries) */
    static const struct {
        size_t at;
        unsigned char byte;
    } damage[] = {
        {0, 4},     /* a count past the elements */
        {0, 2},     /* a count short of them */
        {0, 0},     /* an empty list never exists */
        {4, 0},     /* no nodes */
        {4, 2},     /* a node past the payload */
        {8, 0x7f},  /* the node's length past the end */
        {12, 0x7f}, /* its listpack's length field */
        {16, 4},    /* its listpack's count */
        {20, 0xF2}, /* a byte no entry starts with */
        {22, 5},    /* the first entry's back-length */
        {21, '7'},  /* "7" as a string: not as this build writes it */
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        memcpy(more, b.data, b.len);
        assert_true((unsigned char)more[damage[i].at] != damage[i].byte);
        more[damage[i].at] = (char)damage[i].byte;
        expect_rejected(f, more, b.len);
    }
    free(more);
    free(b.data);
}

/* Compressed nodes are saved decompressed and compressed again on load. */
static void test_save_load_compressed(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.list_compress_depth = 1;
    f->kvc.limits.list_max_listpack_size = 3;
    const char *e = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "RPUSH l %s1 %s2 %s3 %s4 %s5 %s6 %s7 %s8 %s9 %s10", e, e, e, e, e, e,
             e, e, e, e);
    EXPECT(f, cmd, ":10\r\n");
    const struct quicklist *orig = kv_val_obj(kv_lookup_peek(&f->kv, "l", 1, f->now));
    assert_int_equal(ql_compressed_nodes(orig), 2);
    struct fx_buf b = {NULL, 0}, b2 = {NULL, 0};
    struct quicklist *ql = roundtrip(f, "l", &b);
    assert_int_equal(ql->nodes, 4);
    assert_int_equal(ql_compressed_nodes(ql), 2);
    char err[128];
    assert_int_equal(ql_verify(ql, err, sizeof err), 0);
    t_list_ops.save(ql, fx_buf_put, &b2);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    t_list_ops.free(ql);
    free(b.data);
    free(b2.data);
}

/* A list saved under one list-max-listpack-size and loaded under another:
 * the nodes that no longer fit are rebuilt element by element. */
static void test_load_under_another_fill(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.list_max_listpack_size = 5;
    EXPECT(f, "RPUSH l a b c d e f g h i j k", ":11\r\n");
    struct fx_buf b = {NULL, 0};
    t_list_ops.free(roundtrip(f, "l", &b));
    struct kv_limits lim = f->kvc.limits;
    lim.list_max_listpack_size = 2;
    lim.list_compress_depth = 1;
    char err[128];
    struct quicklist *ql = t_list_ops.load((unsigned char *)b.data, b.len, &lim, err, sizeof err);
    assert_non_null(ql);
    assert_int_equal(ql->count, 11);
    assert_int_equal(ql->nodes, 6);
    assert_int_equal(ql_verify(ql, err, sizeof err), 0);
    const char *const want[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    ql_check_elements(ql, want, 11);
    t_list_ops.free(ql);
    free(b.data);
}

/* The payload of snapshot formats 3 and 4 (count | elements) still loads. */
static void test_load_v4_payload(void **state)
{
    struct fx *f = *state;
    const unsigned char v4[] = {3, 0, 0,   0,   1,   0, 0, 0, 'a', 3,   0,
                                0, 0, '0', '0', '7', 2, 0, 0, 0,   '-', '5'};
    char err[128];
    struct quicklist *ql = t_list_ops.load_v4(v4, sizeof v4, &f->kvc.limits, err, sizeof err);
    assert_non_null(ql);
    assert_int_equal(ql->count, 3);
    const char *const want[] = {"a", "007", "-5"};
    ql_check_elements(ql, want, 3);
    t_list_ops.free(ql);
    for (size_t cut = 0; cut < sizeof v4; cut++)
        assert_null(t_list_ops.load_v4(v4, cut, &f->kvc.limits, err, sizeof err));
}

static void test_commands_keep_redis_rules(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "LPUSHX l a", ":0\r\n");
    EXPECT(f, "EXISTS l", ":0\r\n");
    EXPECT(f, "RPUSH l a b c", ":3\r\n");
    f->mods = 0;
    EXPECT(f, "LPOP l 0", "*0\r\n");
    assert_int_equal(f->mods, 0);
    EXPECT(f, "LTRIM l 0 -1", "+OK\r\n"); /* signals even when nothing goes */
    assert_int_equal(f->mods, 1);
    EXPECT(f, "LREM l 0 zz", ":0\r\n");
    assert_int_equal(f->mods, 1);
    EXPECT(f, "LINSERT l before zz x", ":-1\r\n");
    EXPECT(f, "LMOVE l l right left", "$1\r\nc\r\n");
    EXPECT(f, "LRANGE l 0 -1", "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(f, "LMPOP 2 none l right count 5",
           "*2\r\n$1\r\nl\r\n*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
    EXPECT(f, "EXISTS l", ":0\r\n");
    EXPECT(f, "LMPOP 1 l left", "*-1\r\n");
    EXPECT(f, "RPOPLPUSH l m", "$-1\r\n");
    EXPECT(f, "SET s v", "+OK\r\n");
    EXPECT(f, "LPOS s x",
           "-"
           "WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "RPUSH l x", ":1\r\n");
    EXPECT(f, "LMOVE l s left left",
           "-"
           "WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(f, "LLEN l", ":1\r\n"); /* nothing moved */
    EXPECT(f, "LPOS l x RANK 0",
           "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
           "or use negative to start from the end of the list\r\n");
}

/* The workers the blocking commands will call. */
static void test_workers(void **state)
{
    struct fx *f = *state;
    EXPECT(f, "RPUSH b x y", ":2\r\n");
    struct resp_arg keys[2] = {{"a", 1}, {"b", 1}};
    resp_out_clear(&f->out);
    struct cmd_ctx c = {.out = &f->out, .kv = &f->kv, .now_ms = f->now, .applying = 1};
    assert_int_equal(t_list_pop_generic(&c, keys, 2, QL_TAIL, 1, T_LIST_REPLY_KEY_ONE), 1);
    assert_int_equal(f->out.len, strlen("*2\r\n$1\r\nb\r\n$1\r\ny\r\n"));
    assert_memory_equal(f->out.data, "*2\r\n$1\r\nb\r\n$1\r\ny\r\n", f->out.len);
    assert_int_equal(t_list_pop_generic(&c, keys, 1, QL_TAIL, 1, T_LIST_REPLY_KEY_ONE), 0);
    assert_int_equal(t_list_ready(&f->kv, "b", 1, f->now), 1);
    assert_int_equal(t_list_ready(&f->kv, "a", 1, f->now), 0);
    assert_int_equal(t_list_move_generic(&c, &keys[0], &keys[1], QL_HEAD, QL_HEAD), 0);
    assert_int_equal(t_list_move_generic(&c, &keys[1], &keys[0], QL_HEAD, QL_HEAD), 1);
    assert_int_equal(t_list_ready(&f->kv, "b", 1, f->now), 0);
    assert_int_equal(t_list_ready(&f->kv, "a", 1, f->now), 1);
    EXPECT(f, "SET s v", "+OK\r\n");
    assert_int_equal(t_list_ready(&f->kv, "s", 1, f->now), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_pop_across_nodes),
        cmocka_unit_test(test_large_elements_live_alone),
        cmocka_unit_test(test_random_operations_every_fill_and_depth),
        cmocka_unit_test(test_share_copy_on_write),
        cmocka_unit_test(test_compression_depths),
        cmocka_unit_test(test_incompressible_nodes_stay_plain),
        cmocka_unit_test(test_fill_and_depth_are_clamped),
        cmocka_unit_test(test_dup_is_deep),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_save_load_dup),
        T(test_malformed_payloads_are_refused),
        T(test_save_load_compressed),
        T(test_load_under_another_fill),
        T(test_load_v4_payload),
        T(test_commands_keep_redis_rules),
        T(test_workers),
#undef T
    };
    cmd_table_init(type_command_groups, type_command_group_count);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
