/*
 * tests/unit/test_snaplive.c - live snapshots (src/sm/snaplive.c): while a
 * snapshot is walked a slice at a time, random changes go on (overwrites,
 * new keys, deletions, renames both ways, TTL changes, list pushes and pops
 * through write lookups, a flush); the file then loads into exactly the
 * keyspace of the start (same digest, same size), its extras are those of
 * the start, every entry ends saved, and an abandoned snapshot leaves no
 * entry counted as saved in the next one, nor its file. Snapshots dropped
 * while their thread still writes never delay nor spoil the next one on the
 * same path. Big lists are saved as twins (copy on write), and the file
 * still holds them as they were at the start. Many seeds.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "ds/quicklist.h"
#include "sm/snaplive.h"
#include "sm/snapshot.h"
#include "types/typetable.h"
#include "base/util.h"
#include "under_asan.h"

/* One database, as the snapshot functions take them: an array and its length. */
#define ONE(db) (struct kv *[]){db}, 1

#define NKEYS 3000
#ifdef UNDER_ASAN
#define SEEDS 6 /* the plain build runs all 24 (tests/unit/under_asan.h) */
#else
#define SEEDS 24
#endif
#define KEYSPACE 5000 /* keys are drawn from k0 .. k4999: new ones appear */

struct fx {
    char dir[64];
    char path[128];
    struct kv_common kvc; /* the settings, stats and hooks of kv */
    struct kv kv;
    char err[512];
    uint64_t rng;
    char extra_now[32];            /* the extra record's current text */
    char extra_got[64];            /* what a load read back */
    int twins_seen;                /* steps at which twins alone held buffers */
    struct snaplive_counts counts; /* summed over the snapshots run_to_end ran */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_snaplive.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/snap.tmp", f->dir);
    kv_common_init(&f->kvc, type_table, 7);
    kv_init(&f->kv, &f->kvc, 0, 7);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    kv_free(&f->kv);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void extra_save(void *ud, snapshot_extra_put_fn *put, void *w)
{
    const struct fx *f = ud;
    put(w, 1, f->extra_now, strlen(f->extra_now));
}

static int extra_load(void *ud, uint8_t kind, const void *data, size_t len, char *err,
                      size_t errlen)
{
    (void)err;
    (void)errlen;
    struct fx *f = ud;
    snprintf(f->extra_got, sizeof f->extra_got, "%u:%.*s", kind, (int)len, (const char *)data);
    return 0;
}

static size_t key_of(uint64_t i, char *buf)
{
    return (size_t)snprintf(buf, 32, "k%llu", (unsigned long long)i);
}

static void set_string(struct fx *f, uint64_t i)
{
    char key[32], val[300];
    size_t vl = util_rand_below(&f->rng, sizeof val);
    for (size_t k = 0; k < vl; k++)
        val[k] = (char)util_rand64(&f->rng);
    int64_t exp = util_rand_below(&f->rng, 4) == 0 ? 1800000000000LL : KV_NO_EXPIRE;
    kv_set(&f->kv, key, key_of(i, key), val, vl, exp, 0);
}

static void set_list(struct fx *f, uint64_t i)
{
    char key[32], el[40];
    struct quicklist *ql = ql_new(-2, 0);
    uint64_t n = 1 + util_rand_below(&f->rng, 300);
    for (uint64_t k = 0; k < n; k++)
        ql_push(ql, QL_TAIL, el, (size_t)snprintf(el, sizeof el, "e%llu", (unsigned long long)k));
    kv_set_obj(&f->kv, key, key_of(i, key), KV_LIST, ql, KV_NO_EXPIRE, 0);
}

static void fill(struct fx *f)
{
    for (uint64_t i = 0; i < NKEYS; i++) {
        if (i % 5 == 0)
            set_list(f, i);
        else
            set_string(f, i);
    }
}

/* One random change, or a read lookup, of a random key. */
static void change(struct fx *f)
{
    char key[32], other[32];
    uint64_t i = util_rand_below(&f->rng, KEYSPACE);
    size_t kl = key_of(i, key);
    switch (util_rand_below(&f->rng, 9)) {
    case 0:
        set_string(f, i);
        break;
    case 1:
        set_list(f, i);
        break;
    case 2:
        kv_delete(&f->kv, key, kl, 0);
        break;
    case 3: {
        size_t ol = key_of(util_rand_below(&f->rng, KEYSPACE), other);
        if (kv_exists(&f->kv, key, kl, 0)) kv_rename(&f->kv, key, kl, other, ol);
        break;
    }
    case 4:
        kv_set_expire(&f->kv, key, kl, 1900000000000LL + (int64_t)i);
        break;
    case 5:
        kv_persist(&f->kv, key, kl);
        break;
    case 6: { /* in place, through a write lookup, as the list commands do */
        struct kv_val *v = kv_lookup_write(&f->kv, key, kl, 0, 0);
        if (v && v->type == KV_LIST) {
            struct quicklist *ql = kv_val_obj(v);
            ql_push(ql, QL_HEAD, "pushed", 6);
            ql_delete_range(ql, ql->count - 1, 1);
            ql_push(ql, QL_TAIL, "tail", 4);
            size_t mid = ql->count / 2;
            ql_replace(ql, mid, "replaced", 8);
            ql_delete_range(ql, mid / 2, util_rand_below(&f->rng, 1 + ql->count / 4));
        }
        break;
    }
    case 7: { /* in place through a string's bytes */
        char *p = kv_resize(&f->kv, key, kl, 8, 0);
        memcpy(p, "resized!", 8);
        break;
    }
    default:
        (void)kv_lookup_read(&f->kv, key, kl, 0);
        break;
    }
}

static void digest_of(struct kv *kv, unsigned char out[DIGEST_LEN])
{
    kv_digest(kv, out);
}

/* Loads f->path into a fresh keyspace and compares it with want/size. */
static void expect_file_holds(struct fx *f, const unsigned char want[DIGEST_LEN], uint64_t size,
                              const char *extra)
{
    struct kv_common back_common;
    struct kv back;
    kv_common_init(&back_common, type_table, 3);
    kv_init(&back, &back_common, 0, 3);
    struct snapshot_extra ex = {extra_save, extra_load, f};
    struct snapshot_header h;
    f->extra_got[0] = 0;
    int rc = snapshot_load(f->path, ONE(&back), &ex, &h, f->err, sizeof f->err);
    if (rc != 0) print_error("%s\n", f->err);
    assert_int_equal(rc, 0);
    assert_int_equal(h.index, 77);
    assert_int_equal(h.term, 3);
    assert_int_equal(kv_size(&back), size);
    unsigned char got[DIGEST_LEN];
    digest_of(&back, got);
    assert_memory_equal(got, want, DIGEST_LEN);
    assert_string_equal(f->extra_got, extra);
    kv_free(&back);
}

static void all_saved_visit(void *ud, struct dict_entry *e)
{
    assert_true(kv_entry_saved(ud, e));
}

static void expect_all_saved(struct kv *kv)
{
    struct dict_walk w;
    kv_snapshot_walk_init(kv, &w);
    while (!kv_snapshot_walk(kv, &w, 100, all_saved_visit, kv)) {
    }
}

static struct snaplive *start(struct fx *f)
{
    struct snapshot_extra ex = {extra_save, extra_load, f};
    struct snaplive *s = snaplive_start(f->path, ONE(&f->kv), &ex, 77, 3, f->err, sizeof f->err);
    assert_non_null(s);
    return s;
}

/* Changes between slices of the walk (a flush before slice flush_at, if
 * any) until the file is written; the thread's last writes may outlast the
 * walk, changes going on meanwhile. */
static void run_to_end(struct fx *f, struct snaplive *s, int changes_per_step, int flush_at)
{
    for (int step = 0; step < 100000; step++) {
        if (snaplive_poll(s, false, f->err, sizeof f->err) != 0) break;
        if (step == flush_at) kv_flush(&f->kv);
        for (int k = 0; k < changes_per_step; k++)
            change(f);
        f->twins_seen +=
            ql_twin_only_bytes() > 0 && snaplive_buffer_bytes(s) >= ql_twin_only_bytes();
        snaplive_step(s, 1);
    }
    assert_int_equal(snaplive_poll(s, true, f->err, sizeof f->err), 1);
    struct snaplive_counts c = snaplive_counts(s);
    f->counts.by_thread += c.by_thread;
    f->counts.claimed += c.claimed;
    f->counts.deferred += c.deferred;
}

/* Lists of 330 KB or so at every 250th key: saved as twins (above
 * SNAPLIVE_TWIN_MIN_BYTES), written by the thread at the end. */
static void add_big_lists(struct fx *f)
{
    char key[32], el[100];
    memset(el, 'L', sizeof el);
    for (uint64_t i = 0; i < KEYSPACE; i += 250) {
        struct quicklist *ql = ql_new(-2, i % 500 ? 0 : 1);
        for (int k = 0; k < 4000; k++) {
            el[0] = (char)('a' + k % 26);
            ql_push(ql, QL_TAIL, el, 60 + (size_t)(k % 40));
        }
        kv_set_obj(&f->kv, key, key_of(i, key), KV_LIST, ql, KV_NO_EXPIRE, 0);
    }
}

/* One seeded snapshot: the keyspace filled (big lists added when asked),
 * changed between slices of the walk, then the file checked against the
 * keyspace and extras of the start. */
static void snapshot_while_changing(struct fx *f, uint64_t seed, bool big_lists,
                                    int changes_per_step, int flush_at)
{
    f->rng = seed;
    kv_flush(&f->kv);
    fill(f);
    if (big_lists) add_big_lists(f);
    snprintf(f->extra_now, sizeof f->extra_now, "start%llu", (unsigned long long)seed);
    unsigned char want[DIGEST_LEN];
    digest_of(&f->kv, want);
    uint64_t size = kv_size(&f->kv);
    struct snaplive *s = start(f);
    snprintf(f->extra_now, sizeof f->extra_now, "changed");
    run_to_end(f, s, changes_per_step, flush_at);
    snaplive_free(s);
    expect_all_saved(&f->kv);
    char extra[64];
    snprintf(extra, sizeof extra, "1:start%llu", (unsigned long long)seed);
    expect_file_holds(f, want, size, extra);
}

static void test_changes_during_the_walk(void **state)
{
    struct fx *f = *state;
    memset(&f->counts, 0, sizeof f->counts);
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
        snapshot_while_changing(f, seed, false, 1 + (int)(seed % 7) * 5,
                                seed % 4 == 0 ? (int)seed : -1);
    /* Every way an entry is saved was taken: by the thread from a batch,
     * claimed back by a change, left to the loop (lists). */
    assert_true(f->counts.by_thread > 0);
    assert_true(f->counts.claimed > 0);
    assert_true(f->counts.deferred > 0);
}

/* Frees what the snapshots let go of, once their threads ended. */
static void reap_all(void)
{
    for (int i = 0; i < 20000 && snaplive_reap() > 0; i++)
        usleep(1000);
    assert_int_equal(snaplive_reap(), 0);
}

/* Big lists are saved as twins while changes go on (in place through write
 * lookups, overwrites, renames, deletions, some freed on the lazyfree
 * thread, a flush): the file holds the keyspace of the start, and the
 * buffers the twins alone held (counted for the snapshot, not the
 * keyspace) are freed with the snapshot. */
static void test_big_lists_as_twins(void **state)
{
    struct fx *f = *state;
    f->twins_seen = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        snapshot_while_changing(f, 500 + seed, true, 20, seed == 6 ? 5 : -1);
        reap_all();
        assert_int_equal(ql_twin_only_bytes(), 0);
    }
    assert_true(f->twins_seen > 0); /* the twins were taken, and changed away from */
}

static void test_abandoned_then_whole(void **state)
{
    struct fx *f = *state;
    f->rng = 99;
    fill(f);
    snprintf(f->extra_now, sizeof f->extra_now, "x");
    struct snaplive *s = start(f);
    for (int k = 0; k < 10; k++) {
        change(f);
        snaplive_step(s, 1);
    }
    snaplive_free(s); /* half walked: its saved entries must not count next time */
    assert_int_not_equal(access(f->path, F_OK), 0); /* its file is gone */
    unsigned char want[DIGEST_LEN];
    digest_of(&f->kv, want);
    uint64_t size = kv_size(&f->kv);
    s = start(f);
    run_to_end(f, s, 3, -1);
    snaplive_free(s);
    expect_file_holds(f, want, size, "1:x");
}

/* n values of three quarters of a chunk each. */
static void add_big_values(struct fx *f, int n)
{
    size_t big_len = 3 * SNAPSHOT_CHUNK_BYTES / 4;
    char *big = calloc(1, big_len);
    assert_non_null(big);
    for (int i = 0; i < n; i++) {
        char key[16];
        big[i] = 'x';
        kv_set(&f->kv, key, (size_t)snprintf(key, sizeof key, "big%d", i), big, big_len,
               KV_NO_EXPIRE, 0);
    }
    free(big);
}

/* What a snapshot allocates is freed on the thread that started it (the
 * writer thread frees nothing): used_memory, the tracked threads'
 * allocations less their frees (src/base/alloc.h), comes back to where it was
 * after a snapshot written and after one dropped mid-way. */
static void test_memory_comes_back(void **state)
{
    struct fx *f = *state;
    f->rng = 7;
    fill(f);
    add_big_values(f, 80); /* 60 chunks: beyond the spares kept */
    snprintf(f->extra_now, sizeof f->extra_now, "m");
    size_t before = alloc_used();
    for (int round = 0; round < 2; round++) {
        struct snaplive *s = start(f);
        if (round == 0)
            assert_int_equal(snaplive_poll(s, true, f->err, sizeof f->err), 1);
        else
            snaplive_step(s, 100);
        snaplive_free(s);
        reap_all();
        size_t after = alloc_used();
        assert_true(after <= before + 64 * 1024);
    }
}

/* Snapshots dropped while their thread still has chunks to write, each
 * followed at once by another on the same path: the thread of a dropped
 * one is never waited for, and nothing it still writes reaches the file of
 * the one that is finished. */
static void test_dropped_while_writing(void **state)
{
    struct fx *f = *state;
    f->rng = 42;
    fill(f);
    add_big_values(f, 40); /* 30 chunks' worth */
    snprintf(f->extra_now, sizeof f->extra_now, "d");
    for (int round = 0; round < 40; round++) {
        struct snaplive *s = start(f);
        for (int k = 0; k < round % 5; k++) {
            change(f);
            snaplive_step(s, 50);
        }
        snaplive_free(s);
    }
    unsigned char want[DIGEST_LEN];
    digest_of(&f->kv, want);
    uint64_t size = kv_size(&f->kv);
    struct snaplive *s = start(f);
    run_to_end(f, s, 3, -1);
    snaplive_free(s);
    reap_all();
    expect_file_holds(f, want, size, "1:d");
}

static void test_quiet_keyspace_in_one_call(void **state)
{
    struct fx *f = *state;
    f->rng = 5;
    fill(f);
    snprintf(f->extra_now, sizeof f->extra_now, "q");
    unsigned char want[DIGEST_LEN];
    digest_of(&f->kv, want);
    struct snaplive *s = start(f);
    assert_int_equal(snaplive_poll(s, true, f->err, sizeof f->err), 1);
    assert_int_equal(snaplive_poll(s, false, f->err, sizeof f->err), 1);
    assert_false(snaplive_walking(s));
    snaplive_free(s);
    expect_file_holds(f, want, NKEYS, "1:q");
    /* As long as the one-call writer's file (the order of records differs). */
    char one[160];
    snprintf(one, sizeof one, "%s/one.tmp", f->dir);
    struct snapshot_extra ex = {extra_save, extra_load, f};
    assert_int_equal(snapshot_write(one, ONE(&f->kv), &ex, 77, 3, f->err, sizeof f->err), 0);
    struct stat sa, sb;
    assert_int_equal(stat(f->path, &sa), 0);
    assert_int_equal(stat(one, &sb), 0);
    assert_int_equal(sa.st_size, sb.st_size);
    unlink(one);
}

/* The writer thread gets no CPU: the process is on one CPU that the loop
 * never leaves (it walks without sleeping), and the thread runs at
 * SCHED_IDLE. The walk still ends, the loop taking back what the starved
 * thread held, and changes go on meanwhile; the file holds the start. */
static void test_starved_thread(void **state)
{
    struct fx *f = *state;
    cpu_set_t all, one;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    CPU_ZERO(&one);
    CPU_SET((size_t)sched_getcpu(), &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0); /* the thread inherits it */
    uint64_t stolen = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        f->rng = seed;
        kv_flush(&f->kv);
        fill(f);
        snprintf(f->extra_now, sizeof f->extra_now, "s%llu", (unsigned long long)seed);
        unsigned char want[DIGEST_LEN];
        digest_of(&f->kv, want);
        uint64_t size = kv_size(&f->kv);
        struct snaplive *s = start(f);
        while (!snaplive_walked(s)) {
            change(f);
            snaplive_step(s, 100);
        }
        stolen += snaplive_counts(s).stolen;
        assert_int_equal(snaplive_poll(s, true, f->err, sizeof f->err), 1);
        snaplive_free(s);
        char extra[64];
        snprintf(extra, sizeof extra, "1:s%llu", (unsigned long long)seed);
        expect_file_holds(f, want, size, extra);
    }
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
    assert_true(stolen > 0);
}

static void test_unwritable_path(void **state)
{
    struct fx *f = *state;
    struct snapshot_extra ex = {extra_save, extra_load, f};
    assert_null(snaplive_start("/nonexistent-dir/x/snap.tmp", ONE(&f->kv), &ex, 1, 1, f->err,
                               sizeof f->err));
    assert_non_null(strstr(f->err, "/nonexistent-dir/x/snap.tmp"));
    assert_null(f->kv.saver); /* untouched */
}

/* ------------------------------------------------------------- databases */

#define NDBS 3

static void put_key(struct kv *kv, const char *key, uint64_t i)
{
    char val[32];
    kv_set(kv, key, strlen(key), val,
           (size_t)snprintf(val, sizeof val, "v%llu", (unsigned long long)i), KV_NO_EXPIRE, 0);
}

/* Keys in three databases, the same names in some, and a list big enough
 * to be saved as a twin in database 1. */
static void fill_databases(struct kv *const *db)
{
    char key[32];
    for (uint64_t i = 0; i < 1200; i++) {
        snprintf(key, sizeof key, "k%llu", (unsigned long long)i);
        put_key(db[i % NDBS], key, i);
        if (i % 7 == 0) put_key(db[(i + 1) % NDBS], key, i + 1000000);
    }
    struct quicklist *ql = ql_new(-2, 0);
    char el[100];
    memset(el, 'L', sizeof el);
    for (int k = 0; k < 4000; k++)
        ql_push(ql, QL_TAIL, el, sizeof el);
    kv_set_obj(db[1], "big", 3, KV_LIST, ql, KV_NO_EXPIRE, 0);
}

/* A live snapshot of three databases holds each as it was at the start,
 * under its number then: meanwhile the databases' objects trade places
 * (SWAPDB), a key moves from one to another (MOVE), one is flushed
 * (FLUSHDB) and others are written. */
static void test_databases_as_at_the_start(void **state)
{
    struct fx *f = *state;
    struct kv_dbs dbs, back;
    kv_dbs_init(&dbs, type_table, NDBS, 11);
    kv_dbs_init(&back, type_table, NDBS, 12);
    struct kv *db[NDBS] = {dbs.db[0], dbs.db[1], dbs.db[2]};
    fill_databases(db);
    unsigned char want[NDBS][DIGEST_LEN];
    uint64_t size[NDBS];
    for (int i = 0; i < NDBS; i++) {
        kv_digest(db[i], want[i]);
        size[i] = kv_size(db[i]);
    }
    struct snaplive *s = snaplive_start(f->path, db, NDBS, NULL, 77, 3, f->err, sizeof f->err);
    assert_non_null(s);
    for (int step = 0; snaplive_poll(s, false, f->err, sizeof f->err) == 0; step++) {
        if (step == 1) { /* SWAPDB 1 2: the slots change, not the objects */
            struct kv *t = db[1];
            db[1] = db[2];
            db[2] = t;
        }
        if (step == 2) { /* MOVE k3 from database 0 to 1 (now the old 2) */
            const struct kv_val *v = kv_lookup_stored(db[0], "k3", 2);
            assert_non_null(v);
            kv_delete(db[0], "k3", 2, 0);
            put_key(db[1], "k3", 3);
        }
        if (step == 3) kv_flush(db[2]); /* FLUSHDB of the old database 1 */
        char key[32];
        snprintf(key, sizeof key, "k%d", step * 3);
        put_key(db[step % NDBS], key, (uint64_t)step);
        kv_delete(db[(step + 1) % NDBS], key, strlen(key), 0);
        snaplive_step_buckets(s, 8);
    }
    assert_int_equal(snaplive_poll(s, true, f->err, sizeof f->err), 1);
    snaplive_free(s);

    struct snapshot_header h;
    int rc = snapshot_load(f->path, back.db, NDBS, NULL, &h, f->err, sizeof f->err);
    if (rc != 0) print_error("%s\n", f->err);
    assert_int_equal(rc, 0);
    for (int i = 0; i < NDBS; i++) {
        unsigned char got[DIGEST_LEN];
        kv_digest(back.db[i], got);
        assert_int_equal(kv_size(back.db[i]), size[i]);
        assert_memory_equal(got, want[i], DIGEST_LEN);
    }
    /* a node with fewer databases refuses it, naming the directive */
    assert_int_equal(snapshot_verify(f->path, type_table, 2, &h, f->err, sizeof f->err),
                     SNAPSHOT_EBADFILE);
    assert_non_null(strstr(f->err, "holds keys of database 2, but this node has 2 (databases)"));
    kv_dbs_free(&dbs);
    kv_dbs_free(&back);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_changes_during_the_walk),   T(test_abandoned_then_whole),
        T(test_dropped_while_writing),     T(test_quiet_keyspace_in_one_call),
        T(test_unwritable_path),           T(test_memory_comes_back),
        T(test_big_lists_as_twins),        T(test_starved_thread),
        T(test_databases_as_at_the_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
