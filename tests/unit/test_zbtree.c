/*
 * tests/unit/test_zbtree.c - the sorted set's B+tree (src/ds/zbtree.c) against
 * a plain sorted array: random insertions, deletions and rescores, with
 * every invariant checked (zbt_check) and every query compared.
 *
 * What a user would notice if these failed: a large sorted set (over 128
 * members) whose ZRANGE misses or repeats members, whose ZRANK or ZCOUNT is
 * off by some, or a server that crashes on ZREM once the set shrinks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ds/dict.h"
#include "base/util.h"
#include "ds/zbtree.h"

#define MAX_MEMBERS 4000

struct model {
    struct zbt t;
    struct dict d;                       /* the members' entries */
    struct dict_entry *ent[MAX_MEMBERS]; /* by member id, NULL if absent */
    double score[MAX_MEMBERS];
    struct zbt_elem sorted[MAX_MEMBERS]; /* the model's order */
    size_t n;
    uint64_t rng;
};

static int cmp_elem(const void *a, const void *b)
{
    const struct zbt_elem *x = a, *y = b;
    return zbt_cmp(x->score, x->e, y->score, y->e);
}

static void model_sort(struct model *m)
{
    m->n = 0;
    for (int i = 0; i < MAX_MEMBERS; i++)
        if (m->ent[i]) m->sorted[m->n++] = (struct zbt_elem){m->score[i], m->ent[i]};
    qsort(m->sorted, m->n, sizeof m->sorted[0], cmp_elem);
}

static double draw_score(struct model *m)
{
    uint64_t r = util_rand64(&m->rng);
    switch (r % 4) {
    case 0:
        return 0; /* ties: ordered by member */
    case 1:
        return (double)(r >> 8 & 7);
    default:
        return (double)(int64_t)(r >> 16) / 1e6;
    }
}

static void insert(struct model *m, int id)
{
    char key[16];
    int len = snprintf(key, sizeof key, "m%d", id);
    m->ent[id] = dict_add(&m->d, key, (size_t)len, NULL, NULL);
    m->score[id] = draw_score(m);
    zbt_insert(&m->t, m->score[id], m->ent[id]);
}

static void delete (struct model *m, int id)
{
    zbt_delete(&m->t, m->score[id], m->ent[id]);
    dict_delete(&m->d, m->ent[id]->key, m->ent[id]->key_len, NULL);
    m->ent[id] = NULL;
}

static int below(const struct zbt_elem *x, const void *arg)
{
    return x->score < *(const double *)arg;
}

/* The tree answers every query as the model does. */
static void compare(struct model *m)
{
    const char *err = zbt_check(&m->t);
    assert_null(err);
    model_sort(m);
    assert_int_equal(zbt_len(&m->t), m->n);
    size_t i = 0; /* forward walk */
    for (struct zbt_pos p = zbt_at(&m->t, 0); p.leaf; zbt_next(&p), i++) {
        assert_true(i < m->n);
        assert_ptr_equal(zbt_get(&p)->e, m->sorted[i].e);
    }
    assert_int_equal(i, m->n);
    if (m->n) { /* backward walk */
        i = m->n;
        for (struct zbt_pos p = zbt_at(&m->t, m->n - 1); p.leaf; zbt_prev(&p))
            assert_ptr_equal(zbt_get(&p)->e, m->sorted[--i].e);
        assert_int_equal(i, 0);
    }
    assert_null(zbt_at(&m->t, m->n).leaf);
    for (int k = 0; k < 20 && m->n; k++) {
        size_t r = util_rand64(&m->rng) % m->n;
        assert_int_equal(zbt_rank(&m->t, m->sorted[r].score, m->sorted[r].e), r);
        struct zbt_pos p = zbt_at(&m->t, r);
        assert_ptr_equal(zbt_get(&p)->e, m->sorted[r].e);
        double bound = draw_score(m);
        size_t want = 0;
        while (want < m->n && m->sorted[want].score < bound)
            want++;
        assert_int_equal(zbt_count_while(&m->t, below, &bound), want);
    }
}

static void run_seed(uint64_t seed, int members, int ops)
{
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->rng = seed;
    zbt_init(&m->t);
    dict_init(&m->d, seed);
    for (int op = 0; op < ops; op++) {
        int id = (int)(util_rand64(&m->rng) % (uint64_t)members);
        /* phases: grow, churn, shrink to empty (merges all the way up) */
        int phase = op * 3 / ops, r = (int)(util_rand64(&m->rng) % 10);
        if (!m->ent[id]) {
            if (phase < 2 || r == 0) insert(m, id);
        } else if (phase == 1 && r < 5) { /* rescore */
            delete (m, id);
            insert(m, id);
        } else if (phase > 0 || r == 0) {
            delete (m, id);
        }
        if (op % 997 == 0) compare(m);
    }
    compare(m);
    for (int id = 0; id < members; id++)
        if (m->ent[id]) delete (m, id);
    compare(m);
    assert_int_equal(m->t.height, 0);
    zbt_free(&m->t);
    dict_free(&m->d, NULL);
    free(m);
}

static void test_random_against_model(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++)
        run_seed(seed, seed % 2 ? MAX_MEMBERS : 300, 30000);
}

/* Ascending and descending insertion fill leaves from one side: splits at
 * either end, and deleting in the same order merges from one side. */
static void test_sequential(void **state)
{
    (void)state;
    struct zbt t;
    struct dict d;
    zbt_init(&t);
    dict_init(&d, 7);
    struct dict_entry *e[3000];
    for (int i = 0; i < 3000; i++) {
        char key[16];
        int len = snprintf(key, sizeof key, "k%05d", i);
        e[i] = dict_add(&d, key, (size_t)len, NULL, NULL);
        zbt_insert(&t, i % 2 ? (double)i : (double)(6000 - i), e[i]);
    }
    assert_null(zbt_check(&t));
    assert_true(t.height >= 2);
    for (int i = 0; i < 3000; i++) {
        zbt_delete(&t, i % 2 ? (double)i : (double)(6000 - i), e[i]);
        if (i % 100 == 0) assert_null(zbt_check(&t));
    }
    assert_null(zbt_check(&t));
    assert_int_equal(zbt_len(&t), 0);
    assert_null(zbt_at(&t, 0).leaf);
    zbt_free(&t);
    dict_free(&d, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_sequential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
