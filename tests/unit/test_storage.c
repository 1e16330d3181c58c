/*
 * tests/unit/test_storage.c - the Raft log store (src/storage/storage.c) as the
 * server sees it: what it saved comes back exactly after a close or a
 * compaction (crashes: test_storage_safety.c), files that are not this
 * node's store are refused, and a store of the previous schema version is
 * upgraded in place.
 *
 * Entries are generated from (index, term), so a test only keeps the term of
 * each index (struct model) and checks every loaded byte against it. Each
 * test works in its own mkdtemp directory, removed at teardown. The log
 * store's throughput with fsync on and off is a benchmark of its own (make
 * bench-fsync, tests/bench/bench_fsync.c), not a unit test.
 */
#include "storage_fixture.h"

/* ------------------------------------------------------------ round trips */

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    struct storage_state st;
    open_store(f);
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    assert_true(st.fresh);
    assert_int_equal(st.n_entries, 0);
    assert_int_equal(st.hs.term, 0);
    storage_state_free(&st);

    /* First boot: the initial configuration, the first entries, a vote. */
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    struct raft_hard_state hs = {.term = 2, .vote = 3, .commit = 4};
    save(f, &boot, make_entries(f, 1, 50, 2), 50, &hs);

    for (int pass = 0; pass < 2; pass++) {
        check_log(f, &st);
        assert_false(st.fresh);
        assert_int_equal(st.hs.term, 2);
        assert_int_equal(st.hs.vote, 3);
        assert_int_equal(st.hs.commit, 4);
        assert_int_equal(st.snap.term, 0);
        assert_conf_equal(&st.snap.conf, &boot.conf);
        storage_state_free(&st);
        reopen(f); /* the second pass reads what a restart finds */
    }
}

/* Entries around the size from which the data is written through a blob
 * handle (16 KB), and one of 3 MB (past its 1 MB limit), come back byte for byte,
 * mixed with small ones in one batch, and after a conflicting suffix
 * replaced some of them. */
static void test_large_entries_round_trip(void **state)
{
    struct fx *f = *state;
    static const uint32_t lens[] = {16383, 16384, 0, 16385, 5, 3u << 20, 65536};
    enum { N = sizeof lens / sizeof lens[0] };
    uint8_t *data[N];
    struct raft_entry e[N];
    for (uint32_t i = 0; i < N; i++) {
        data[i] = malloc(lens[i] + 1);
        assert_non_null(data[i]);
        for (uint32_t j = 0; j < lens[i]; j++)
            data[i][j] = (uint8_t)(j * 7 + i * 31 + (j >> 12));
        e[i] = (struct raft_entry){
            .index = i + 1, .term = 1, .type = 0, .data = data[i], .len = lens[i]};
    }
    open_store(f);
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    struct raft_hard_state hs = {.term = 1};
    save(f, &boot, e, N, &hs);
    for (uint32_t i = 3; i < N; i++) /* the last four again, with other bytes */
        data[i][0] ^= 0xff;
    save(f, NULL, e + 3, N - 3, &hs);
    reopen(f);
    struct storage_state st;
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    assert_int_equal(st.n_entries, N);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(st.entries[i].index, i + 1);
        assert_int_equal(st.entries[i].len, lens[i]);
        if (lens[i]) assert_memory_equal(st.entries[i].data, data[i], lens[i]);
    }
    storage_state_free(&st);
    for (uint32_t i = 0; i < N; i++)
        free(data[i]);
}

/* Addresses of every length, "" and RAFT_ADDR_MAX - 1 bytes included, come
 * back as written, through a first boot, a compaction and a restart. */
static void test_conf_addresses(void **state)
{
    struct fx *f = *state;
    struct storage_state st;
    open_store(f);
    assert_int_equal(strlen(ADDR_MAX), RAFT_ADDR_MAX - 1);
    struct raft_snapshot_meta boot = {.conf = {.n = RAFT_MAX_NODES}};
    for (uint32_t i = 0; i < RAFT_MAX_NODES; i++) {
        boot.conf.s[i].id = 100 + i;
        boot.conf.s[i].voter = i % 2;
        size_t len = i + 1 == RAFT_MAX_NODES ? RAFT_ADDR_MAX - 1 : i * 4; /* 0, 4, .. 56, 63 */
        memcpy(boot.conf.s[i].addr, ADDR_MAX, len);
    }
    struct raft_hard_state hs = {.term = 1, .vote = 0, .commit = 0};
    save(f, &boot, make_entries(f, 1, 5, 1), 5, &hs);
    reopen(f);
    check_log(f, &st);
    assert_conf_equal(&st.snap.conf, &boot.conf);
    assert_string_equal(st.snap.conf.s[0].addr, "");
    assert_string_equal(st.snap.conf.s[RAFT_MAX_NODES - 1].addr, ADDR_MAX);
    storage_state_free(&st);

    struct raft_snapshot_meta meta = {.index = 3, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    f->m.snap = 3;
    reopen(f);
    check_log(f, &st);
    assert_conf_equal(&st.snap.conf, &meta.conf);
    storage_state_free(&st);
}

/* A damaged address (too long, holding a NUL, not text) is refused at load. */
static void test_damaged_conf_address(void **state)
{
    struct fx *f = *state;
    struct storage_state st;
    static const char *const damage[] = {
        "UPDATE conf SET addr = printf('%064d', 1) WHERE id = 3",          /* RAFT_ADDR_MAX bytes */
        "UPDATE conf SET addr = CAST(x'3a00313233' AS TEXT) WHERE id = 3", /* ":\0123" */
        "UPDATE conf SET addr = x'3a313233' WHERE id = 3",                 /* a blob */
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        open_store(f);
        struct raft_snapshot_meta boot = {.conf = three_nodes()};
        save(f, &boot, NULL, 0, NULL);
        storage_close(f->s);
        f->s = NULL;
        run_sql(f, damage[i]);
        open_store(f);
        assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), STORAGE_EBADFILE);
        assert_non_null(strstr(f->err, "damaged configuration (server 3)"));
        storage_state_free(&st);
        storage_close(f->s);
        f->s = NULL;
    }
}

static void test_truncate_conflicting_suffix(void **state)
{
    struct fx *f = *state;
    open_store(f);
    append(f, 1, 20, 1);
    append(f, 12, 5, 2); /* replaces 12..20 with 12..16 */
    check_log_free(f);
    append(f, 17, 3, 2); /* plain append at last + 1 */
    append(f, 1, 4, 3);  /* replaces the whole log */
    check_log_free(f);
    reopen(f);
    check_log_free(f);
}

/* The commit index alone is stored once it has moved STORAGE_COMMIT_STEP
 * past the stored one; a change of term or vote stores it with them. */
static void test_commit_index_by_steps(void **state)
{
    struct fx *f = *state;
    struct storage_state st;
    open_store(f);
    append(f, 1, 10, 1); /* term 1, vote 1, commit 0 */
    struct raft_hard_state hs = {.term = 1, .vote = 1, .commit = 10};
    save(f, NULL, make_entries(f, 11, 5, 1), 5, &hs);
    hs.commit = 15;
    save(f, NULL, NULL, 0, &hs);
    reopen(f);
    check_log(f, &st);
    assert_int_equal(st.hs.commit, 0);
    assert_int_equal(st.n_entries, 15);
    storage_state_free(&st);

    hs.commit = STORAGE_COMMIT_STEP;
    save(f, NULL, NULL, 0, &hs);
    hs.commit = STORAGE_COMMIT_STEP + 1;
    save(f, NULL, make_entries(f, 16, 1, 1), 1, &hs);
    reopen(f);
    check_log(f, &st);
    assert_int_equal(st.hs.commit, STORAGE_COMMIT_STEP);
    storage_state_free(&st);

    hs.term = 2;
    save(f, NULL, NULL, 0, &hs);
    reopen(f);
    check_log(f, &st);
    assert_int_equal(st.hs.term, 2);
    assert_int_equal(st.hs.commit, STORAGE_COMMIT_STEP + 1);
    storage_state_free(&st);
}

static void test_hard_state_only(void **state)
{
    struct fx *f = *state;
    struct storage_state st;
    struct storage_stats ss;
    open_store(f);
    append(f, 1, 3, 1);
    storage_stats(f->s, &ss);
    uint64_t fsyncs = ss.fsync_count;

    struct raft_hard_state hs = {.term = 5, .vote = 0, .commit = 2};
    save(f, NULL, NULL, 0, &hs);
    hs.vote = 9;
    save(f, NULL, NULL, 0, &hs);
    save(f, NULL, NULL, 0, &hs); /* unchanged: nothing to write */
    save(f, NULL, NULL, 0, NULL);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.fsync_count, fsyncs + 2);

    reopen(f);
    check_log(f, &st);
    assert_int_equal(st.hs.term, 5);
    assert_int_equal(st.hs.vote, 9);
    assert_int_equal(st.hs.commit, 2);
    assert_int_equal(st.n_entries, 3);
    assert_false(st.fresh);
    storage_state_free(&st);
}

static void test_compact_and_install(void **state)
{
    struct fx *f = *state;
    struct storage_state st;
    open_store(f);
    append(f, 1, 20, 1);
    append(f, 21, 10, 2);

    struct raft_snapshot_meta meta = {.index = 24, .term = 2, .conf = three_nodes()};
    meta.conf.s[2].voter = true;
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    f->m.snap = 24;
    reopen(f);
    check_log(f, &st);
    assert_int_equal(st.snap.term, 2);
    assert_conf_equal(&st.snap.conf, &meta.conf);
    storage_state_free(&st);

    append(f, 31, 5, 3); /* the log goes on after a compaction */
    meta.index = 35, meta.term = 3;
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    f->m.snap = 35;
    check_log_free(f); /* empty log: first 36, last 35 */

    /* A snapshot from the leader replaces the log; entries follow in the
     * same batch. */
    append(f, 36, 10, 3);
    struct raft_snapshot_meta inst = {.index = 100, .term = 4, .conf = three_nodes()};
    struct raft_hard_state hs = {.term = 4, .vote = 0, .commit = 100};
    f->m.snap = 100;
    save(f, &inst, make_entries(f, 101, 3, 4), 3, &hs);
    reopen(f);
    check_log(f, &st);
    assert_int_equal(st.snap.term, 4);
    assert_int_equal(st.hs.commit, 100);
    storage_state_free(&st);
}

/* Compaction records the new base at once and leaves the old rows to
 * storage_trim(): they are never loaded, are found again (still pending)
 * after a restart, and go in chunks, each call doing at least one. A
 * snapshot installed on top of pending rows keeps them pending. */
static void test_trim_after_compact(void **state)
{
    struct fx *f = *state;
    open_store(f);
    append(f, 1, 50, 1);
    struct raft_snapshot_meta meta = {.index = 40, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    f->m.snap = 40;
    assert_true(storage_trim_pending(f->s));
    check_log_free(f);
    reopen(f);
    check_log_free(f);
    assert_true(storage_trim_pending(f->s));
    assert_int_equal(storage_trim(f->s, 1, f->err, sizeof f->err), 0); /* one chunk at least */
    check_log_free(f);

    struct raft_snapshot_meta inst = {.index = 60, .term = 2, .conf = three_nodes()};
    struct raft_hard_state hs = {.term = 2, .vote = 0, .commit = 60};
    f->m.snap = 60;
    save(f, &inst, make_entries(f, 61, 2, 2), 2, &hs);
    check_log_free(f);
    int calls = 0;
    while (storage_trim_pending(f->s)) {
        assert_int_equal(storage_trim(f->s, 1, f->err, sizeof f->err), 0);
        assert_true(++calls <= 60);
    }
    check_log_free(f);
    storage_close(f->s);
    f->s = NULL;
    assert_int_equal(query_int(f, "SELECT count(*) FROM log"), 2);
    assert_int_equal(query_int(f, "SELECT min(idx) FROM log"), 61);
    open_store(f);
    assert_false(storage_trim_pending(f->s));
    check_log_free(f);
}

/* Writes n entries of `size` bytes each from index `from` (term 1). */
static void append_big(struct fx *f, raft_index from, uint32_t n, size_t size,
                       const struct raft_snapshot_meta *snap)
{
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    memset(buf, 0xab, size);
    struct raft_entry e = {.term = 1, .type = 0, .data = buf, .len = (uint32_t)size};
    struct raft_hard_state hs = {.term = 1, .vote = 0, .commit = 0};
    for (uint32_t i = 0; i < n; i++) {
        e.index = from + i;
        save(f, i == 0 ? snap : NULL, &e, 1, &hs);
    }
    free(buf);
}

/* Trimmed rows give their pages back to the file system: after a log of
 * 12.5 MB is compacted down to its last 8 entries (0.5 MB), storage_trim()
 * goes on until the file is about that size. A file made without
 * incremental vacuum (an older store) is converted at open. */
static void test_vacuum_after_trim(void **state)
{
    struct fx *f = *state;
    open_store(f);
    storage_close(f->s);
    f->s = NULL;
    run_sql(f, "PRAGMA auto_vacuum=NONE; VACUUM");
    assert_int_equal(query_int(f, "PRAGMA auto_vacuum"), 0);
    open_store(f);
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    append_big(f, 1, 200, 64 << 10, &boot);
    storage_close(f->s);
    f->s = NULL;
    assert_int_equal(query_int(f, "PRAGMA auto_vacuum"), 2); /* converted at open */
    int64_t peak = query_int(f, "PRAGMA page_count");
    assert_true(peak > 200 * 16);
    open_store(f);
    storage_set_vacuum_delay(f->s, 0);
    struct raft_snapshot_meta meta = {.index = 192, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    int calls = 0;
    while (storage_trim_pending(f->s)) {
        assert_int_equal(storage_trim(f->s, 1000, f->err, sizeof f->err), 0);
        assert_true(++calls <= 10000);
    }
    storage_close(f->s);
    f->s = NULL;
    int64_t pages = query_int(f, "PRAGMA page_count");
    assert_true(query_int(f, "PRAGMA freelist_count") <= 256);
    assert_true(pages < 8 * 17 + 256 + 64); /* 8 entries of 16+ pages, the slack, the rest */
    assert_int_equal(query_int(f, "SELECT count(*) FROM log"), 8);
}

/* A trim writes the pages that list the freed ones, not the freed pages
 * themselves (secure_delete=FAST; SQLite builds that default to ON would
 * write each freed page again as zeros): deleting 192 entries of 17 pages
 * each takes far fewer page writes than the 3264 pages it frees. */
static void test_trim_does_not_rewrite_freed_pages(void **state)
{
    struct fx *f = *state;
    open_store(f);
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    append_big(f, 1, 200, 64 << 10, &boot);
    storage_set_vacuum_delay(f->s, 600000);
    struct raft_snapshot_meta meta = {.index = 192, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    struct storage_stats before, after;
    storage_stats(f->s, &before);
    int calls = 0;
    while (storage_trim_pending(f->s)) {
        assert_int_equal(storage_trim(f->s, 1000, f->err, sizeof f->err), 0);
        assert_true(++calls <= 10000);
    }
    storage_stats(f->s, &after);
    assert_int_equal(after.vacuumed_bytes, 0);
    assert_true(after.file_writes - before.file_writes < 192 * 17 / 4);
    storage_close(f->s);
    f->s = NULL;
    assert_int_equal(query_int(f, "SELECT count(*) FROM log"), 8);
}

/* The pages a trim frees go to the entries appended next, not back to the
 * file system at once: 100 entries of 64 KB after a compaction of 192 fit
 * in the freed pages (the file does not grow) and nothing is vacuumed
 * during the delay. Free pages found at open are given back at once. */
static void test_freed_pages_reused_before_vacuum(void **state)
{
    struct fx *f = *state;
    open_store(f);
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    append_big(f, 1, 200, 64 << 10, &boot);
    storage_close(f->s);
    f->s = NULL;
    int64_t peak = query_int(f, "PRAGMA page_count");
    open_store(f);
    storage_set_vacuum_delay(f->s, 600000);
    struct raft_snapshot_meta meta = {.index = 192, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    int calls = 0;
    while (storage_trim_pending(f->s)) { /* the rows go; the vacuum waits */
        assert_int_equal(storage_trim(f->s, 1000, f->err, sizeof f->err), 0);
        assert_true(++calls <= 10000);
    }
    append_big(f, 201, 100, 64 << 10, NULL);
    assert_false(storage_trim_pending(f->s));
    assert_int_equal(storage_trim(f->s, 1000, f->err, sizeof f->err), 0); /* not due: no-op */
    struct storage_stats st;
    storage_stats(f->s, &st);
    assert_int_equal(st.vacuumed_bytes, 0);
    storage_close(f->s);
    f->s = NULL;
    assert_true(query_int(f, "PRAGMA page_count") <= peak);
    assert_true(query_int(f, "PRAGMA freelist_count") >= 1024); /* 92 x 17 pages still free */
    open_store(f); /* the default delay, but found at open: given back now */
    assert_true(storage_trim_pending(f->s));
    calls = 0;
    while (storage_trim_pending(f->s)) {
        assert_int_equal(storage_trim(f->s, 1000, f->err, sizeof f->err), 0);
        assert_true(++calls <= 10000);
    }
    storage_stats(f->s, &st);
    assert_true(st.vacuumed_bytes > 0);
    storage_close(f->s);
    f->s = NULL;
    assert_true(query_int(f, "PRAGMA freelist_count") <= 256);
    assert_int_equal(query_int(f, "SELECT count(*) FROM log"), 108);
}

/* A trim chunk is sized by the bytes it frees as well as by its rows: with
 * a budget no chunk fits in (1 us), each call deletes one chunk of the least
 * work, which is 16 rows of 16 bytes (256 + 16 units each, 4096 units at
 * least) but a single 64 KB row. A count of rows alone, grown over small
 * entries, once deleted 2048 rows of 60 KB in one statement (150 ms). */
static void test_trim_chunks_by_bytes(void **state)
{
    struct fx *f = *state;
    open_store(f);
    assert_int_equal(storage_set_fsync(f->s, 0, f->err, sizeof f->err), 0);
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    append_big(f, 1, 1600, 16, &boot);
    append_big(f, 1601, 8, 64 << 10, NULL);
    struct raft_snapshot_meta meta = {.index = 1600, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    int calls = 0;
    while (storage_trim_pending(f->s)) {
        assert_int_equal(storage_trim(f->s, 1, f->err, sizeof f->err), 0);
        assert_true(++calls <= 1600);
    }
    assert_int_equal(calls, 100);
    meta.index = 1604;
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    calls = 0;
    while (storage_trim_pending(f->s)) {
        assert_int_equal(storage_trim(f->s, 1, f->err, sizeof f->err), 0);
        assert_true(++calls <= 1600);
    }
    assert_int_equal(calls, 4);
    storage_close(f->s);
    f->s = NULL;
    assert_int_equal(query_int(f, "SELECT count(*) FROM log"), 4);
    assert_int_equal(query_int(f, "SELECT min(idx) FROM log"), 1605);
}

/* raft-log-fsync decides PRAGMA synchronous, and nothing else changes it:
 * not preparing statements at open, not an unsynced commit-index write, not
 * trimming (regression: a prepared "PRAGMA synchronous=FULL" took effect at
 * open and made every commit fsync with raft-log-fsync no). */
static void test_synchronous_follows_fsync(void **state)
{
    struct fx *f = *state;
    assert_int_equal(storage_open(&f->s, f->dir, NODE, 0, f->err, sizeof f->err), 0);
    assert_int_equal(storage_synchronous(f->s), 0);
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    struct raft_hard_state hs = {.term = 1, .vote = 0, .commit = 0};
    save(f, &boot, make_entries(f, 1, 10, 1), 10, &hs);
    hs.commit = STORAGE_COMMIT_STEP;
    save(f, NULL, NULL, 0, &hs); /* commit index only */
    assert_int_equal(storage_synchronous(f->s), 0);
    struct raft_snapshot_meta meta = {.index = 5, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    f->m.snap = 5;
    while (storage_trim_pending(f->s))
        assert_int_equal(storage_trim(f->s, 1000, f->err, sizeof f->err), 0);
    assert_int_equal(storage_synchronous(f->s), 0);
    assert_int_equal(storage_set_fsync(f->s, 1, f->err, sizeof f->err), 0);
    assert_int_equal(storage_synchronous(f->s), 2);
    hs.commit = 2 * STORAGE_COMMIT_STEP;
    save(f, NULL, NULL, 0, &hs); /* unsynced, then FULL again */
    assert_int_equal(storage_synchronous(f->s), 2);
    storage_close(f->s);
    f->s = NULL;
    open_store(f); /* fsync on */
    assert_int_equal(storage_synchronous(f->s), 2);
}

static void test_fsync_toggle(void **state)
{
    struct fx *f = *state;
    struct storage_stats ss;
    open_store(f);
    append(f, 1, 2, 1);
    assert_int_equal(storage_set_fsync(f->s, 0, f->err, sizeof f->err), 0);
    append(f, 3, 2, 1);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.fsync_count, 1); /* the first batch only */
    assert_int_equal(storage_set_fsync(f->s, 1, f->err, sizeof f->err), 0);
    append(f, 5, 2, 1);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.fsync_count, 2);
    assert_true(ss.fsync_max_us <= ss.fsync_total_us);
    check_log_free(f);
}

/* Deferred syncs (storage.h, DEFERRED SYNC): saves commit at NORMAL without
 * an fsync of their own and count as written; storage_sync() and a sync
 * reported by another thread are what the fsync counters count; the other
 * durable writes still sync; what was saved reads back after a reopen. */
static void test_deferred_sync(void **state)
{
    struct fx *f = *state;
    struct storage_stats ss;
    open_store(f);
    append(f, 1, 2, 1);
    assert_int_equal(storage_sync_fd(f->s), -1);
    assert_int_equal(storage_defer_sync(f->s, f->err, sizeof f->err), 0);
    assert_int_equal(storage_synchronous(f->s), 1);
    int fd = storage_sync_fd(f->s);
    assert_true(fd >= 0);
    storage_stats(f->s, &ss);
    uint64_t count = ss.fsync_count, written = storage_written(f->s);
    append(f, 3, 2, 1);
    append(f, 5, 2, 1);
    assert_int_equal(storage_written(f->s), written + 2);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.fsync_count, count);
    assert_int_equal(fdatasync(fd), 0); /* what the sync thread does */
    struct storage_sync_times t = {.count = 2, .total_us = 30, .max_us = 20, .last_us = 10};
    storage_synced(f->s, storage_written(f->s), &t);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.fsync_count, count + 2);
    assert_int_equal(ss.fsync_last_us, 10);
    assert_true(ss.fsync_max_us >= 20);
    assert_int_equal(storage_sync(f->s, f->err, sizeof f->err), 0);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.fsync_count, count + 3);
    struct raft_snapshot_meta meta = {.index = 2, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.fsync_count, count + 4); /* a compaction syncs itself */
    assert_int_equal(storage_set_fsync(f->s, 0, f->err, sizeof f->err), 0);
    assert_int_equal(storage_synchronous(f->s), 0);
    assert_int_equal(storage_set_fsync(f->s, 1, f->err, sizeof f->err), 0);
    assert_int_equal(storage_synchronous(f->s), 1);
    f->m.snap = 2;
    struct storage_state st;
    reopen(f);
    check_log(f, &st);
    assert_int_equal(st.n_entries, 4);
    storage_state_free(&st);
}

/* Copies file name of f->dir into dir as it is now. */
static void copy_file(const struct fx *f, const char *dir, const char *name)
{
    char from[160], to[160], buf[65536];
    snprintf(from, sizeof from, "%s/%s", f->dir, name);
    snprintf(to, sizeof to, "%s/%s", dir, name);
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    close(out);
}

/* The VFS merges SQLite's page-sized writes (src/storage/storage_vfs.h), and yet
 * every batch storage_save() returned is in the files when it returns:
 * the files copied at that moment (what a kill -9 leaves, fsync off)
 * open elsewhere with the whole log. */
/* Sequential reads are served from the read-ahead window: the checkpoints
 * of 40 entries of 256 KB read each WAL page once, in far fewer system
 * reads; reading the entries back after a restart, and deleting them in a
 * trim, return and free exactly what was written. */
static void test_reads_ahead(void **state)
{
    struct fx *f = *state;
    enum { N = 40, LEN = 256 << 10 };
    uint8_t *buf = malloc(LEN);
    assert_non_null(buf);
    open_store(f);
    assert_int_equal(storage_set_fsync(f->s, 0, f->err, sizeof f->err), 0);
    struct storage_stats before, after;
    storage_stats(f->s, &before);
    struct raft_snapshot_meta boot = {.conf = three_nodes()};
    struct raft_hard_state hs = {.term = 1};
    for (uint32_t i = 1; i <= N; i++) {
        for (uint32_t j = 0; j < LEN; j++)
            buf[j] = (uint8_t)(i * 131 + j * 7 + (j >> 9));
        struct raft_entry e = {.index = i, .term = 1, .data = buf, .len = LEN};
        save(f, i == 1 ? &boot : NULL, &e, 1, &hs);
    }
    storage_stats(f->s, &after);
    uint64_t reads = after.file_reads - before.file_reads;
    uint64_t calls = after.file_read_calls - before.file_read_calls;
    printf("  %llu reads in %llu calls\n", (unsigned long long)reads, (unsigned long long)calls);
    assert_true(reads > 1000 && calls * 8 < reads);

    reopen(f);
    struct storage_range r = {0};
    assert_int_equal(storage_read(f->s, 1, N, UINT32_MAX, N, &r, f->err, sizeof f->err), 0);
    assert_int_equal(r.n, N);
    for (uint32_t i = 1; i <= N; i++) {
        for (uint32_t j = 0; j < LEN; j++)
            buf[j] = (uint8_t)(i * 131 + j * 7 + (j >> 9));
        assert_int_equal(r.entries[i - 1].len, LEN);
        assert_memory_equal(r.entries[i - 1].data, buf, LEN);
    }
    storage_range_free(&r);
    struct raft_snapshot_meta meta = {.index = N - 1, .term = 1, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    storage_set_vacuum_delay(f->s, 0);
    int loops = 0;
    while (storage_trim_pending(f->s)) {
        assert_int_equal(storage_trim(f->s, 1000, f->err, sizeof f->err), 0);
        assert_true(++loops <= 10000);
    }
    reopen(f);
    assert_int_equal(storage_read(f->s, N, N, UINT32_MAX, 1, &r, f->err, sizeof f->err), 0);
    assert_int_equal(r.n, 1);
    assert_memory_equal(r.entries[0].data, buf, LEN);
    storage_range_free(&r);
    storage_close(f->s);
    f->s = NULL;
    assert_int_equal(query_int(f, "SELECT count(*) FROM log"), 1);
    free(buf);
}

static void test_writes_merged_and_in_files(void **state)
{
    struct fx *f = *state;
    open_store(f);
    assert_int_equal(storage_set_fsync(f->s, 0, f->err, sizeof f->err), 0);
    struct storage_stats before, after;
    storage_stats(f->s, &before);
    for (raft_index i = 1; i <= 3000; i += 1000)
        append(f, i, 1000, 1);
    storage_stats(f->s, &after);
    uint64_t writes = after.file_writes - before.file_writes;
    uint64_t calls = after.file_write_calls - before.file_write_calls;
    printf("  %llu writes in %llu calls\n", (unsigned long long)writes, (unsigned long long)calls);
    assert_true(writes > 200 && calls * 8 < writes);

    char copy[96];
    snprintf(copy, sizeof copy, "%s/copy", f->dir);
    assert_int_equal(mkdir(copy, 0700), 0);
    copy_file(f, copy, STORAGE_FILE_NAME);
    copy_file(f, copy, STORAGE_FILE_NAME "-wal");
    struct storage *orig = f->s;
    assert_int_equal(storage_open(&f->s, copy, NODE, 0, f->err, sizeof f->err), 0);
    check_log_free(f);
    storage_close(f->s);
    f->s = orig;
    check_log_free(f);
}

/* A write that fails (here: the file size limit, as a full disk would) is
 * reported and leaves the store exactly as before, still usable. */
static void test_write_error_rolls_back(void **state)
{
    struct fx *f = *state;
    struct rlimit old, lim;
    open_store(f);
    append(f, 1, 10, 1);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of a signal */
    lim = old;
    lim.rlim_cur = 64 << 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct raft_hard_state hs = {.term = 2, .vote = 2, .commit = 10};
    struct storage_batch b = {
        .entries = make_entries(f, 11, 1000, 2), .n_entries = 1000, .hs = &hs};
    int rc = storage_save(f->s, &b, f->err, sizeof f->err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, STORAGE_EIO);
    assert_non_null(strstr(f->err, STORAGE_FILE_NAME));
    printf("  write failed: %s\n", f->err);

    f->m.last = 10;
    struct storage_state st;
    check_log(f, &st); /* nothing of the batch, old hard state */
    assert_int_equal(st.hs.term, 1);
    storage_state_free(&st);
    append(f, 11, 5, 2);
    reopen(f);
    check_log_free(f);
}

/* ------------------------------------------------------------ upgrades */

/* What a raftcache of schema version 1 left: no conf.addr column. */
static const char v1_file_sql[] =
    "BEGIN;PRAGMA application_id=1382446147;PRAGMA user_version=1;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE conf(pos INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE,"
    " voter INTEGER NOT NULL);"
    "CREATE TABLE log(idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL,"
    " data BLOB NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('term', 3), ('vote', 3), ('commit_index', 11),"
    " ('snap_index', 10), ('snap_term', 2), ('has_conf', 1), ('node_id', %d);"
    "INSERT INTO conf(pos, id, voter) VALUES(0, 3, 1), (1, 7, 1), (2, 1, 0);"
    "INSERT INTO log(idx, term, type, data) VALUES(11, 2, 0, x'0102'), (12, 3, 1, x'');"
    "COMMIT;";

static void make_v1_file(const struct fx *f, uint64_t node)
{
    char sql[sizeof v1_file_sql + 32];
    assert_int_equal(STORAGE_APPLICATION_ID, 1382446147);
    snprintf(sql, sizeof sql, v1_file_sql, (int)node);
    run_sql(f, sql);
}

/* A version 1 store opens: its conf gets empty addresses, everything else is
 * as it was, and the file is now of this version, addresses writable. */
static void test_upgrade_from_v1(void **state)
{
    struct fx *f = *state;
    struct storage_state st;
    make_v1_file(f, NODE);
    assert_int_equal(query_int(f, "PRAGMA user_version"), 1);

    open_store(f);
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    assert_false(st.fresh);
    assert_int_equal(st.hs.term, 3);
    assert_int_equal(st.hs.vote, 3);
    assert_int_equal(st.hs.commit, 11);
    assert_int_equal(st.snap.index, 10);
    assert_int_equal(st.snap.term, 2);
    struct raft_conf want = three_nodes();
    for (uint32_t i = 0; i < want.n; i++)
        memset(want.s[i].addr, 0, RAFT_ADDR_MAX);
    assert_conf_equal(&st.snap.conf, &want);
    assert_int_equal(st.n_entries, 2);
    assert_int_equal(st.entries[0].index, 11);
    assert_int_equal(st.entries[0].len, 2);
    assert_memory_equal(st.entries[0].data, "\x01\x02", 2);
    assert_int_equal(st.entries[1].type, 1);
    storage_state_free(&st);
    storage_close(f->s);
    f->s = NULL;
    assert_int_equal(query_int(f, "PRAGMA user_version"), STORAGE_SCHEMA_VERSION);

    /* addresses are stored from now on */
    open_store(f);
    struct raft_snapshot_meta meta = {.index = 11, .term = 2, .conf = three_nodes()};
    assert_int_equal(storage_compact(f->s, &meta, f->err, sizeof f->err), 0);
    reopen(f);
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    assert_conf_equal(&st.snap.conf, &meta.conf);
    assert_int_equal(st.n_entries, 1);
    storage_state_free(&st);
}

/* A version 1 store of another node is refused as it is, not upgraded. */
static void test_upgrade_refused_for_another_node(void **state)
{
    struct fx *f = *state;
    make_v1_file(f, NODE + 1);
    expect_refused(f, NODE, STORAGE_EBADFILE, "node 8");
    assert_int_equal(query_int(f, "PRAGMA user_version"), 1);
    assert_int_equal(query_int(f, "SELECT count(*) FROM pragma_table_info('conf')"), 3);
}

/* ------------------------------------------------------------ refusals */

static void test_garbage_file(void **state)
{
    struct fx *f = *state;
    uint8_t junk[4096], after[4096];
    char path[128];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    file_path(f, path, sizeof path);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);

    expect_refused(f, NODE, STORAGE_EBADFILE, "not a database");
    fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, after, sizeof after), (ssize_t)sizeof after);
    close(fd);
    assert_memory_equal(junk, after, sizeof junk); /* left as found */
}

static void test_foreign_database(void **state)
{
    struct fx *f = *state;
    char path[128], cmd[512];
    open_store(f);
    append(f, 1, 5, 1);
    storage_close(f->s);
    f->s = NULL;

    /* SQLite header: application_id at byte 68, user_version at byte 60. */
    patch_be32(f, 68, 0x12345678);
    expect_refused(f, NODE, STORAGE_EBADFILE, "application_id");
    patch_be32(f, 68, 0); /* a generic SQLite database with tables */
    expect_refused(f, NODE, STORAGE_EBADFILE, "not a raftcache data file");
    patch_be32(f, 68, STORAGE_APPLICATION_ID);
    patch_be32(f, 60, STORAGE_SCHEMA_VERSION + 1);
    expect_refused(f, NODE, STORAGE_EBADFILE, "newer raftcache");
    patch_be32(f, 60, 0); /* older than any version */
    expect_refused(f, NODE, STORAGE_EBADFILE, "schema version 0");
    patch_be32(f, 60, STORAGE_SCHEMA_VERSION);
    open_store(f); /* restored: ours again */
    check_log_free(f);
    storage_close(f->s);
    f->s = NULL;

    /* An extra table needs SQL; the sqlite3 shell is optional. */
    file_path(f, path, sizeof path);
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'CREATE TABLE extra(x)' 2>/dev/null", path);
    if (system("command -v sqlite3 >/dev/null 2>&1") == 0 && system(cmd) == 0)
        expect_refused(f, NODE, STORAGE_EBADFILE, "unexpected schema");
}

static void test_damaged_database(void **state)
{
    struct fx *f = *state;
    uint8_t junk[4096];
    open_store(f);
    for (raft_index i = 1; i <= 2000; i += 500)
        append(f, i, 500, 1);
    storage_close(f->s);
    f->s = NULL;
    /* Pages 2 and 3 (4 KiB pages) hold b-tree nodes of our tables. */
    memset(junk, 0xa5, sizeof junk);
    patch_file(f, 4096, junk, sizeof junk);
    patch_file(f, 8192, junk, sizeof junk);
    expect_refused(f, NODE, STORAGE_EBADFILE, "damaged");
}

static void test_wrong_node_id(void **state)
{
    struct fx *f = *state;
    open_store(f);
    storage_close(f->s);
    f->s = NULL;
    expect_refused(f, NODE + 1, STORAGE_EBADFILE, "node 7");
}

static void test_unusable_dir(void **state)
{
    struct fx *f = *state;
    char file[128], sub[160];
    struct storage *s = NULL;

    /* A path through a regular file can never become a directory. */
    snprintf(file, sizeof file, "%s/plain", f->dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(sub, sizeof sub, "%s/data", file);
    assert_int_equal(storage_open(&s, sub, NODE, 1, f->err, sizeof f->err), STORAGE_EIO);
    assert_null(s);
    assert_non_null(strstr(f->err, file));
    printf("  refused: %s\n", f->err);

    /* The database's name taken by a directory. */
    snprintf(sub, sizeof sub, "%s/d", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(file, sizeof file, "%s/d/%s", f->dir, STORAGE_FILE_NAME);
    assert_int_equal(mkdir(file, 0700), 0);
    assert_int_equal(storage_open(&s, sub, NODE, 1, f->err, sizeof f->err), STORAGE_EIO);
    assert_null(s);
    assert_non_null(strstr(f->err, file));
    printf("  refused: %s\n", f->err);

    /* Missing directories are created, parents included. */
    snprintf(sub, sizeof sub, "%s/a/b/c", f->dir);
    assert_int_equal(storage_open(&s, sub, NODE, 1, f->err, sizeof f->err), 0);
    storage_close(s);
}

static void test_read_only_dir(void **state)
{
    struct fx *f = *state;
    struct storage *s = NULL;
    if (geteuid() == 0) skip(); /* root writes anywhere */
    assert_int_equal(chmod(f->dir, 0500), 0);
    assert_int_equal(storage_open(&s, f->dir, NODE, 1, f->err, sizeof f->err), STORAGE_EIO);
    assert_null(s);
    assert_non_null(strstr(f->err, f->dir));
    printf("  refused: %s\n", f->err);
}

static void test_second_opener_refused(void **state)
{
    struct fx *f = *state;
    struct storage *s = NULL;
    open_store(f);
    append(f, 1, 3, 1);
    assert_int_equal(storage_open(&s, f->dir, NODE, 1, f->err, sizeof f->err), STORAGE_EIO);
    assert_null(s);
    assert_non_null(strstr(f->err, "locked"));
    printf("  refused: %s\n", f->err);
    check_log_free(f); /* the owner is unaffected */
}

/* ------------------------------------------------- batches, fsync on and off */

/* Batches of 512 entries with fsync on, then off, then single entries with
 * fsync on: every entry is stored, and only the batches written with fsync
 * on count an fsync. (Their throughput: make bench-fsync,
 * tests/bench/bench_fsync.c.) */
static void save_batches(struct fx *f, int fsync, uint32_t per_batch, int batches)
{
    static uint8_t payload[100];
    raft_index from = f->m.last + 1;
    assert_int_equal(storage_set_fsync(f->s, fsync, f->err, sizeof f->err), 0);
    for (int b = 0; b < batches; b++) {
        for (uint32_t i = 0; i < per_batch; i++)
            f->ents[i] = (struct raft_entry){
                .index = from + i, .term = 1, .len = sizeof payload, .data = payload};
        struct raft_hard_state hs = {.term = 1, .vote = NODE, .commit = from + per_batch - 1};
        save(f, NULL, f->ents, per_batch, &hs);
        from += per_batch;
    }
    f->m.last = from - 1;
}

static void test_batches_with_fsync_on_and_off(void **state)
{
    struct fx *f = *state;
    struct storage_stats ss;
    open_store(f);
    storage_stats(f->s, &ss);
    uint64_t fsyncs = ss.fsync_count;
    save_batches(f, 1, 512, 4);
    save_batches(f, 0, 512, 4);
    save_batches(f, 1, 1, 10);
    storage_stats(f->s, &ss);
    assert_int_equal(ss.log_entries, 4 * 512 * 2 + 10);
    assert_int_equal(ss.fsync_count, fsyncs + 4 + 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_index_by_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_entries_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conf_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_conf_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_conflicting_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_state_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_and_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_after_compact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vacuum_after_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freed_pages_reused_before_vacuum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_does_not_rewrite_freed_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_chunks_by_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synchronous_follows_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_toggle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes_merged_and_in_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_refused_for_another_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_node_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_opener_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_with_fsync_on_and_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
