/*
 * tests/unit/test_dict.c - the keyspace hash table.
 *
 * What a user of the server would notice if these failed: lost or phantom
 * keys across table resizes, SCAN missing keys while the keyspace grows or
 * shrinks, RANDOMKEY stuck on a few keys, a keyspace that never gives memory
 * back, or chains that degrade lookups for ordinary key names.
 *
 * All interleavings are deterministic: any randomness comes from a fixed
 * seed, so a failure replays exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/dict.h"
#include "base/util.h"

#define SEED 0x5eed5eed12345678ULL

static size_t key_name(char *buf, size_t cap, size_t i)
{
    return (size_t)snprintf(buf, cap, "key:%06zu", i);
}

static void *val_of(size_t i)
{
    return (void *)(uintptr_t)(i + 1);
}

static size_t index_of(const struct dict_entry *e)
{
    return (size_t)(uintptr_t)e->val - 1;
}

static struct dict_entry *find_i(struct dict *d, size_t i)
{
    char k[32];
    return dict_find(d, k, key_name(k, sizeof(k), i));
}

static struct dict_entry *add_i(struct dict *d, size_t i)
{
    char k[32];
    return dict_add(d, k, key_name(k, sizeof(k), i), val_of(i), NULL);
}

static int delete_i(struct dict *d, size_t i)
{
    char k[32];
    void *v = NULL;
    int ok = dict_delete(d, k, key_name(k, sizeof(k), i), &v);
    if (ok) assert_ptr_equal(v, val_of(i));
    return ok;
}

static void finish_rehash(struct dict *d)
{
    while (dict_rehash_steps(d, 100)) {
    }
}

static uint64_t table_buckets(const struct dict *d)
{
    return dict_table_bytes(d) / sizeof(struct dict_entry *);
}

/* ---- add / find / delete ---- */

static void test_add_find_delete_100k(void **state)
{
    const size_t n = 100000;
    struct dict d;

    (void)state;
    dict_init(&d, SEED);
    assert_null(find_i(&d, 1));
    assert_int_equal(dict_delete(&d, "x", 1, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        struct dict_entry *e = add_i(&d, i);
        assert_non_null(e);
        assert_int_equal(e->key_len, 10);
        assert_int_equal(e->key[10], '\0');
    }
    assert_int_equal(dict_size(&d), n);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(find_i(&d, i)->val, val_of(i));
    for (size_t i = n; i < n + 1000; i++)
        assert_null(find_i(&d, i));

    /* Duplicates are refused and the existing entry is reported. */
    struct dict_entry *existing = NULL, *orig = find_i(&d, 77);
    char k[32];
    assert_null(dict_add(&d, k, key_name(k, sizeof(k), 77), val_of(0), &existing));
    assert_ptr_equal(existing, orig);
    assert_ptr_equal(orig->val, val_of(77));
    assert_null(dict_add(&d, k, key_name(k, sizeof(k), 77), val_of(0), NULL));

    /* Delete the even keys. */
    for (size_t i = 0; i < n; i += 2)
        assert_int_equal(delete_i(&d, i), 1);
    assert_int_equal(dict_size(&d), n / 2);
    for (size_t i = 0; i < n; i++) {
        if (i % 2)
            assert_non_null(find_i(&d, i));
        else
            assert_null(find_i(&d, i));
    }
    assert_int_equal(delete_i(&d, 0), 0);

    /* Down to 10 keys: the cron's shrink gives memory back. */
    for (size_t i = 21; i < n; i += 2)
        assert_int_equal(delete_i(&d, i), 1);
    assert_int_equal(dict_size(&d), 10);
    for (int round = 0; round < 20; round++) {
        dict_maybe_shrink(&d);
        finish_rehash(&d);
    }
    assert_int_equal(table_buckets(&d), 16);
    for (size_t i = 1; i < 21; i += 2)
        assert_non_null(find_i(&d, i));
    for (size_t i = 1; i < 21; i += 2)
        assert_int_equal(delete_i(&d, i), 1);
    assert_int_equal(dict_size(&d), 0);
    dict_maybe_shrink(&d);
    finish_rehash(&d);
    assert_int_equal(table_buckets(&d), 4);
    dict_free(&d, NULL);
}

/* The table grows by doubling when full, and only when full. */
static void test_growth_policy(void **state)
{
    struct dict d;

    (void)state;
    dict_init(&d, SEED);
    assert_int_equal(dict_table_bytes(&d), 0);
    add_i(&d, 0);
    assert_int_equal(table_buckets(&d), 4);
    for (size_t i = 1; i < 4; i++)
        add_i(&d, i);
    assert_false(dict_is_rehashing(&d));
    add_i(&d, 4); /* used == size: this insert starts a grow to 8 */
    assert_true(dict_is_rehashing(&d));
    assert_int_equal(table_buckets(&d), 12);
    finish_rehash(&d);
    assert_int_equal(table_buckets(&d), 8);
    for (size_t i = 5; i < 1024; i++)
        add_i(&d, i);
    finish_rehash(&d);
    assert_int_equal(table_buckets(&d), 1024);
    add_i(&d, 1024);
    finish_rehash(&d);
    assert_int_equal(table_buckets(&d), 2048);
    dict_free(&d, NULL);
}

/* Every key stays reachable at every point of a grow and of a shrink. */
static void test_find_mid_rehash(void **state)
{
    const size_t n = 4096;
    struct dict d;
    int checks = 0;

    (void)state;
    dict_init(&d, SEED);
    for (size_t i = 0; i < n; i++)
        add_i(&d, i);
    finish_rehash(&d);
    add_i(&d, n); /* 4096 keys in 4096 buckets: starts a grow */
    assert_true(dict_is_rehashing(&d));
    while (dict_is_rehashing(&d)) {
        /* Each find is itself a rehash step; check all keys at each stage. */
        for (size_t i = 0; i <= n; i++)
            assert_ptr_equal(find_i(&d, i)->val, val_of(i));
        assert_null(find_i(&d, n + 1));
        checks++;
    }
    assert_true(checks >= 1);

    for (size_t i = 64; i <= n; i++)
        assert_int_equal(delete_i(&d, i), 1);
    dict_maybe_shrink(&d);
    assert_true(dict_is_rehashing(&d));
    while (dict_is_rehashing(&d)) {
        for (size_t i = 0; i < 64; i++)
            assert_non_null(find_i(&d, i));
        dict_rehash_steps(&d, 3);
        /* Inserting mid-shrink lands in the new table and is found too. */
        add_i(&d, 100000 + (size_t)checks);
        assert_non_null(find_i(&d, 100000 + (size_t)checks));
        checks++;
    }
    assert_int_equal(table_buckets(&d), 128);
    dict_free(&d, NULL);
}

/* dict_peek finds every key in both tables mid-rehash and never moves the
 * rehash on (a prefetch hint must not change the table). */
static void test_peek_changes_nothing(void **state)
{
    const size_t n = 4096;
    struct dict d;
    char k[32];

    (void)state;
    dict_init(&d, SEED);
    for (size_t i = 0; i <= n; i++) /* the last add starts a grow */
        add_i(&d, i);
    assert_true(dict_is_rehashing(&d));
    int64_t idx = d.rehash_idx;
    for (size_t i = 0; i <= n; i++)
        assert_ptr_equal(dict_peek(&d, k, key_name(k, sizeof(k), i))->val, val_of(i));
    assert_null(dict_peek(&d, k, key_name(k, sizeof(k), n + 1)));
    assert_int_equal(d.rehash_idx, idx);
    dict_free(&d, NULL);
    dict_init(&d, SEED);
    assert_null(dict_peek(&d, k, key_name(k, sizeof(k), 1)));
    dict_free(&d, NULL);
}

/* One step moves one bucket and looks at no more than 10 empty ones. */
static void test_rehash_step_is_bounded(void **state)
{
    struct dict d;

    (void)state;
    dict_init(&d, SEED);
    for (size_t i = 0; i < 65536; i++)
        add_i(&d, i);
    finish_rehash(&d);
    /* Keep one key from a bucket near the end, so the shrink has to walk
     * across tens of thousands of empty buckets before it is done. */
    size_t keep = 0;
    char k[32];
    while ((dict_hash(&d, k, key_name(k, sizeof(k), keep)) & 65535) < 60000)
        keep++;
    for (size_t i = 0; i < 65536; i++)
        if (i != keep) delete_i(&d, i);
    dict_maybe_shrink(&d);
    assert_true(dict_is_rehashing(&d));
    int steps = 0;
    while (dict_is_rehashing(&d)) {
        int64_t before = d.rehash_idx;
        dict_rehash_steps(&d, 1);
        if (dict_is_rehashing(&d)) assert_true(d.rehash_idx - before <= 10);
        steps++;
    }
    assert_true(steps >= 6000);
    assert_non_null(find_i(&d, keep));
    dict_free(&d, NULL);
}

/* ---- binary keys, values, clearing ---- */

static int freed;
static void count_free(void *v)
{
    freed += v != NULL;
}

static void test_binary_keys(void **state)
{
    struct dict d;
    static const char *keys[] = {"", "a", "a\0", "a\0b", "a\0c", "\0", "\0\0", "ab"};
    static const size_t lens[] = {0, 1, 2, 3, 3, 1, 2, 2};
    const size_t n = sizeof(lens) / sizeof(lens[0]);

    (void)state;
    dict_init(&d, SEED);
    for (size_t i = 0; i < n; i++)
        assert_non_null(dict_add(&d, keys[i], lens[i], val_of(i), NULL));
    assert_int_equal(dict_size(&d), n);
    for (size_t i = 0; i < n; i++) {
        struct dict_entry *e = dict_find(&d, keys[i], lens[i]);
        assert_non_null(e);
        assert_ptr_equal(e->val, val_of(i));
        assert_int_equal(e->key_len, lens[i]);
        assert_memory_equal(e->key, keys[i], lens[i] + 1); /* NUL-terminated copy */
    }
    assert_null(dict_find(&d, "a\0d", 3));
    assert_int_equal(dict_delete(&d, "a\0", 2, NULL), 1);
    assert_null(dict_find(&d, "a\0", 2));
    assert_non_null(dict_find(&d, "a", 1));
    assert_non_null(dict_find(&d, "", 0));

    /* Long keys of every length near the word size boundaries. */
    char big[300];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 1);
    for (size_t len = 1; len <= sizeof(big); len++)
        assert_non_null(dict_add(&d, big, len, val_of(len), NULL));
    for (size_t len = 1; len <= sizeof(big); len++)
        assert_ptr_equal(dict_find(&d, big, len)->val, val_of(len));

    freed = 0;
    dict_clear(&d, count_free);
    assert_int_equal(freed, (int)(n - 1 + sizeof(big)));
    assert_int_equal(dict_size(&d), 0);
    assert_int_equal(dict_table_bytes(&d), 0);
    assert_true(d.seed == SEED);
    /* Still usable after clear. */
    assert_non_null(dict_add(&d, "x", 1, NULL, NULL));
    assert_non_null(dict_find(&d, "x", 1));
    dict_free(&d, NULL);
}

/* ---- hashing ---- */

static void test_hash_seeded(void **state)
{
    struct dict a, b, a2;
    char k[32];

    (void)state;
    dict_init(&a, 1);
    dict_init(&a2, 1);
    dict_init(&b, 2);
    for (size_t i = 0; i < 1000; i++) {
        size_t n = key_name(k, sizeof(k), i);
        assert_true(dict_hash(&a, k, n) == dict_hash(&a2, k, n));
        assert_true(dict_hash(&a, k, n) != dict_hash(&b, k, n));
    }
    /* Length is part of the input: a key and its zero-padded twin differ. */
    assert_true(dict_hash(&a, "ab\0\0", 2) != dict_hash(&a, "ab\0\0", 4));
    assert_true(dict_hash(&a, "", 0) != dict_hash(&b, "", 0));
}

/*
 * Chi-square of n keys over 2^bits bins of (hash >> shift).  For a good hash
 * the statistic is close to bins - 1 with standard deviation sqrt(2*bins);
 * allow 6 deviations.
 */
static void check_spread(const struct dict *d, size_t n, const char *fmt, unsigned shift)
{
    const unsigned bits = 14;
    const size_t bins = (size_t)1 << bits;
    unsigned *count = calloc(bins, sizeof(*count));
    char k[64];

    assert_non_null(count);
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(k, sizeof(k), fmt, i);
        count[(dict_hash(d, k, (size_t)len) >> shift) & (bins - 1)]++;
    }
    double expect = (double)n / (double)bins, chi = 0;
    for (size_t b = 0; b < bins; b++)
        chi += (count[b] - expect) * (count[b] - expect) / expect;
    free(count);
    double limit = (double)bins + 6 * 181.02; /* sqrt(2 * 16384) ~= 181 */
    if (chi > limit || chi < (double)bins - 6 * 181.02)
        fprintf(stderr, "fmt=%s shift=%u chi2=%.0f limit=%.0f\n", fmt, shift, chi, limit);
    assert_true(chi < limit);
    assert_true(chi > (double)bins - 6 * 181.02); /* too even is suspicious too */
}

static void test_hash_distribution(void **state)
{
    struct dict d;
    static const char *fmts[] = {"key:%06zu", "%zu", "user:%zu:session:token", "k%zu",
                                 "object:with:a:rather:long:prefix:%zu"};

    (void)state;
    for (uint64_t seed = 0; seed < 3; seed++) {
        dict_init(&d, seed);
        for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
            check_spread(&d, 16384 * 8, fmts[f], 0);  /* the bits tables use */
            check_spread(&d, 16384 * 8, fmts[f], 40); /* and the high ones */
        }
    }
}

/* ---- scan ---- */

struct scan_log {
    unsigned char *seen;
    size_t cap;
    size_t visits;
};

static void note_visit(void *ud, struct dict_entry *e)
{
    struct scan_log *log = ud;
    size_t i = index_of(e);
    if (i < log->cap) log->seen[i] = 1;
    log->visits++;
}

/*
 * One full scan with churn between the calls.  Keys [0, stable) stay for the
 * whole scan and must all be seen; keys from `stable` on come and go.
 * mode 0: grow steadily; 1: shrink; 2: random adds, deletes, shrinks and
 * partial rehashes. With walk, the same through dict_walk (a few buckets a
 * call) instead of dict_scan.
 */
static void churn(size_t stable, int mode, uint64_t seed, int walk)
{
    struct dict d;
    struct scan_log log = {calloc(1 << 20, 1), 1 << 20, 0};
    size_t next = stable, low = stable;
    uint64_t rng = seed, cursor = 0;
    int calls = 0, done = 0;
    struct dict_walk w;

    assert_non_null(log.seen);
    dict_init(&d, seed);
    for (size_t i = 0; i < stable; i++)
        add_i(&d, i);
    if (mode == 1)
        for (; next < stable + 30000; next++)
            add_i(&d, next);
    finish_rehash(&d);
    if (walk && seed % 2) dict_rehash_steps(&d, 1); /* some walks start mid-rehash */
    dict_walk_init(&d, &w);
    do {
        if (walk)
            done = dict_walk(&d, &w, 5, note_visit, &log);
        else
            done = (cursor = dict_scan(&d, cursor, note_visit, &log)) == 0;
        calls++;
        uint64_t r = util_rand64(&rng);
        if (mode == 0) {
            /* Grow 5 doublings past the start, then let the scan finish. */
            for (int j = 0; j < 40 && next < stable * 32 + 1000; j++)
                add_i(&d, next++);
        } else if (mode == 1) {
            for (int j = 0; j < 400 && low < next; j++)
                delete_i(&d, low++);
            dict_maybe_shrink(&d);
        } else {
            int adds = (int)(r % 64), dels = (int)((r >> 8) % 64);
            for (int j = 0; j < adds; j++)
                add_i(&d, next++);
            for (int j = 0; j < dels && low < next; j++)
                delete_i(&d, low++);
            if (r & (1 << 16)) dict_maybe_shrink(&d);
            if (r & (1 << 17)) dict_rehash_steps(&d, (int)((r >> 20) % 50));
        }
        assert_true(next < log.cap);
    } while (!done);
    for (size_t i = 0; i < stable; i++) {
        if (!log.seen[i])
            fprintf(stderr, "mode %d seed %llu: key %zu never returned\n", mode,
                    (unsigned long long)seed, i);
        assert_true(log.seen[i]);
    }
    assert_true(calls > 1);
    free(log.seen);
    dict_free(&d, NULL);
}

static void scan_with_churn(size_t stable, int mode, uint64_t seed)
{
    churn(stable, mode, seed, 0);
    churn(stable, mode, seed, 1);
}

static void test_scan_static(void **state)
{
    struct dict d;
    struct scan_log log = {calloc(5000, 1), 5000, 0};
    uint64_t cursor = 0;

    (void)state;
    dict_init(&d, SEED);
    assert_int_equal(dict_scan(&d, 0, note_visit, &log), 0); /* empty dict */
    for (size_t i = 0; i < 5000; i++)
        add_i(&d, i);
    finish_rehash(&d);
    do
        cursor = dict_scan(&d, cursor, note_visit, &log);
    while (cursor != 0);
    /* Without resizes every key is returned exactly once. */
    assert_int_equal(log.visits, 5000);
    for (size_t i = 0; i < 5000; i++)
        assert_true(log.seen[i]);
    free(log.seen);
    dict_free(&d, NULL);
}

static void test_scan_while_growing(void **state)
{
    (void)state;
    scan_with_churn(2000, 0, 1);
    scan_with_churn(5, 0, 2);
}

static void test_scan_while_shrinking(void **state)
{
    (void)state;
    scan_with_churn(500, 1, 3);
    scan_with_churn(3, 1, 4);
}

static void test_scan_random_churn(void **state)
{
    (void)state;
    for (uint64_t seed = 100; seed < 140; seed++)
        scan_with_churn(1000 + seed * 13, 2, seed);
}

/* dict_walk on a quiet dict: every entry exactly once (index order), and a
 * walk of an empty dict is over at once. */
static void test_walk_static(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, SEED);
    struct dict_walk w;
    struct scan_log log = {calloc(5000, 1), 5000, 0};
    dict_walk_init(&d, &w);
    assert_int_equal(dict_walk(&d, &w, 10, note_visit, &log), 1);
    for (size_t i = 0; i < 4000; i++)
        add_i(&d, i);
    finish_rehash(&d);
    dict_walk_init(&d, &w);
    while (!dict_walk(&d, &w, 3, note_visit, &log)) {
    }
    assert_int_equal(log.visits, 4000);
    for (size_t i = 0; i < 4000; i++)
        assert_true(log.seen[i]);
    free(log.seen);
    dict_free(&d, NULL);
}

/* A scan visitor may delete the entry it is handed. */
static void delete_visited(void *ud, struct dict_entry *e)
{
    struct dict *d = ud;
    char k[32];
    memcpy(k, e->key, e->key_len + 1);
    assert_int_equal(dict_delete(d, k, strlen(k), NULL), 1);
}

static void test_scan_delete_in_visitor(void **state)
{
    struct dict d;
    uint64_t cursor = 0;

    (void)state;
    dict_init(&d, SEED);
    for (size_t i = 0; i < 3000; i++)
        add_i(&d, i);
    add_i(&d, 3000); /* mid-grow, so both tables are visited */
    do
        cursor = dict_scan(&d, cursor, delete_visited, &d);
    while (cursor != 0);
    assert_int_equal(dict_size(&d), 0);
    dict_free(&d, NULL);
}

/* ---- foreach ---- */

struct foreach_ctx {
    struct dict *d;
    unsigned char *seen;
    size_t visits;
    int check_pause;
};

static void foreach_visit(void *ud, struct dict_entry *e)
{
    struct foreach_ctx *c = ud;
    size_t i = index_of(e);
    assert_int_equal(c->seen[i], 0);
    c->seen[i] = 1;
    c->visits++;
    if (c->check_pause) {
        /* Rehashing is paused while iterating: steps and finds move nothing. */
        int64_t idx = c->d->rehash_idx;
        dict_rehash_steps(c->d, 100);
        assert_non_null(dict_find(c->d, e->key, e->key_len));
        assert_true(c->d->rehash_idx == idx);
        assert_true(c->d->pause_rehash > 0);
    }
}

static void test_foreach(void **state)
{
    struct dict d;
    struct foreach_ctx c = {&d, calloc(10000, 1), 0, 1};

    (void)state;
    dict_init(&d, SEED);
    dict_foreach(&d, foreach_visit, &c);
    assert_int_equal(c.visits, 0);
    for (size_t i = 0; i < 8192; i++)
        add_i(&d, i);
    finish_rehash(&d);
    add_i(&d, 8192);
    assert_true(dict_is_rehashing(&d));
    dict_rehash_steps(&d, 100); /* part-way: entries in both tables */
    assert_true(dict_is_rehashing(&d));
    dict_foreach(&d, foreach_visit, &c);
    assert_int_equal(c.visits, 8193);
    assert_int_equal(d.pause_rehash, 0);
    assert_true(dict_rehash_steps(&d, 1)); /* unpaused again */

    /* Deleting the visited entry is allowed. */
    for (size_t i = 0; i < 8193; i++)
        c.seen[i] = 0;
    c.visits = 0;
    c.check_pause = 0;
    dict_foreach(&d, foreach_visit, &c);
    dict_foreach(&d, delete_visited, &d);
    assert_int_equal(dict_size(&d), 0);
    free(c.seen);
    dict_free(&d, NULL);
}

/* ---- random ---- */

static uint64_t rng_cb(void *ud)
{
    return util_rand64(ud);
}

static void test_random(void **state)
{
    struct dict d;
    uint64_t rng = 99;
    unsigned char *hit = calloc(2000, 1);
    size_t distinct = 0;

    (void)state;
    dict_init(&d, SEED);
    assert_null(dict_random(&d, rng_cb, &rng));
    for (size_t i = 0; i < 1000; i++)
        add_i(&d, i);
    for (int i = 0; i < 20000; i++) {
        struct dict_entry *e = dict_random(&d, rng_cb, &rng);
        assert_non_null(e);
        size_t k = index_of(e);
        distinct += !hit[k];
        hit[k] = 1;
    }
    /* 20 draws per key: a fair picker misses almost none. */
    assert_true(distinct >= 990);

    /* Mid-rehash, both tables are candidates. */
    for (size_t i = 1000; i < 1025; i++)
        add_i(&d, i);
    assert_true(dict_is_rehashing(&d));
    memset(hit, 0, 2000);
    distinct = 0;
    for (int i = 0; i < 20000; i++) {
        size_t k = index_of(dict_random(&d, rng_cb, &rng));
        distinct += !hit[k];
        hit[k] = 1;
    }
    assert_true(distinct >= 1000);

    /* A sparse table (deletions, no shrink yet) still answers. */
    for (size_t i = 3; i < 1025; i++)
        delete_i(&d, i);
    finish_rehash(&d);
    memset(hit, 0, 2000);
    for (int i = 0; i < 3000; i++) {
        size_t k = index_of(dict_random(&d, rng_cb, &rng));
        assert_true(k < 3);
        hit[k] = 1;
    }
    assert_true(hit[0] && hit[1] && hit[2]);
    free(hit);
    dict_free(&d, NULL);
}

/* Checks one dict_sample() call of n: at least one entry and at most n,
 * all distinct; marks them in hit[] and returns how many came. */
static size_t sample_once(struct dict *d, uint64_t *rng, size_t n, unsigned char *hit)
{
    struct dict_entry *out[32];
    unsigned char seen[2000] = {0};
    size_t got = dict_sample(d, n, out, rng_cb, rng);
    assert_true(got >= 1 && got <= n);
    for (size_t i = 0; i < got; i++) {
        size_t k = index_of(out[i]);
        assert_false(seen[k]);
        seen[k] = 1;
        hit[k] = 1;
    }
    return got;
}

static size_t count_hits(const unsigned char *hit, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += hit[i];
    return c;
}

/* dict_sample(): distinct entries, up to n, at least one while anything is
 * stored; over many calls every key comes up, mid-rehash (both tables) and
 * in a table left sparse by deletions too. */
static void test_sample(void **state)
{
    struct dict d;
    struct dict_entry *out[16];
    uint64_t rng = 7;
    unsigned char *hit = calloc(2000, 1);
    size_t full = 0, calls = 2000;

    (void)state;
    dict_init(&d, SEED);
    assert_int_equal(dict_sample(&d, 5, out, rng_cb, &rng), 0);
    add_i(&d, 0);
    assert_int_equal(dict_sample(&d, 5, out, rng_cb, &rng), 1); /* no more than stored */
    for (size_t i = 1; i < 1000; i++)
        add_i(&d, i);
    for (size_t i = 0; i < calls; i++)
        full += sample_once(&d, &rng, 5, hit) == 5;
    assert_true(full >= calls * 9 / 10); /* a dense table gives what is asked */
    assert_true(count_hits(hit, 1000) >= 990);

    for (size_t i = 1000; i < 1025; i++)
        add_i(&d, i);
    assert_true(dict_is_rehashing(&d));
    memset(hit, 0, 2000);
    for (size_t i = 0; i < calls; i++)
        sample_once(&d, &rng, 16, hit);
    assert_true(count_hits(hit, 1025) >= 1000);

    for (size_t i = 3; i < 1025; i++)
        delete_i(&d, i);
    finish_rehash(&d);
    memset(hit, 0, 2000);
    for (size_t i = 0; i < calls; i++)
        sample_once(&d, &rng, 5, hit);
    assert_int_equal(count_hits(hit, 3), 3);
    assert_int_equal(count_hits(hit, 2000), 3);
    free(hit);
    dict_free(&d, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_delete_100k),
        cmocka_unit_test(test_growth_policy),
        cmocka_unit_test(test_find_mid_rehash),
        cmocka_unit_test(test_peek_changes_nothing),
        cmocka_unit_test(test_rehash_step_is_bounded),
        cmocka_unit_test(test_binary_keys),
        cmocka_unit_test(test_hash_seeded),
        cmocka_unit_test(test_hash_distribution),
        cmocka_unit_test(test_scan_static),
        cmocka_unit_test(test_scan_while_growing),
        cmocka_unit_test(test_scan_while_shrinking),
        cmocka_unit_test(test_scan_random_churn),
        cmocka_unit_test(test_scan_delete_in_visitor),
        cmocka_unit_test(test_walk_static),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
