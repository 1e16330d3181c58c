/*
 * tests/unit/test_storage.c - the Raft log store (src/storage.c) as the
 * server sees it: what it saved comes back exactly after a close, a kill -9
 * or a compaction, files that are not this node's store are refused, and a
 * store of the previous schema version is upgraded in place.
 *
 * Entries are generated from (index, term), so a test only keeps the term of
 * each index (struct model) and checks every loaded byte against it. Each
 * test works in its own mkdtemp directory, removed at teardown. The last test
 * is a benchmark: it prints throughput and never fails on time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h> /* to build and inspect files as other versions leave them */

#include "../../src/storage.h"
#include "../../src/storage_wal.h"

#define MAX_INDEX 4096
#define DATA_MAX 300
#define NODE 7

/* What the log should hold: term[i] for snap < i <= last. */
struct model {
    raft_term term[MAX_INDEX + 1];
    raft_index snap, last;
};

struct fx {
    char dir[64];
    char err[512];
    struct storage *s;
    struct model m;
    /* scratch for building batches */
    struct raft_entry ents[1024];
    uint8_t data[1024][DATA_MAX];
};

/* ------------------------------------------------------------ helpers */

/* Binary data that depends on (index, term): zero bytes included, lengths
 * 0..DATA_MAX-1, so an entry read back with another term or index shows. */
static uint32_t fill_data(raft_index idx, raft_term term, uint8_t *buf)
{
    uint32_t len = (uint32_t)((idx * 37 + term * 11) % DATA_MAX);
    for (uint32_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(idx * 31 + term * 7 + j * 13);
    return len;
}

/* Fills f->ents with [from, from + n) of `term` and records them in the model
 * (as the store should after the batch: a suffix from `from` replaced). */
static const struct raft_entry *make_entries(struct fx *f, raft_index from, uint32_t n,
                                             raft_term term)
{
    assert_true(n <= 1024 && from + n - 1 <= MAX_INDEX);
    for (uint32_t i = 0; i < n; i++) {
        raft_index idx = from + i;
        f->ents[i] = (struct raft_entry){
            .index = idx, .term = term, .type = (uint32_t)(idx % 3), .data = f->data[i]};
        f->ents[i].len = fill_data(idx, term, f->data[i]);
        f->m.term[idx] = term;
    }
    f->m.last = from + n - 1;
    return f->ents;
}

static void save(struct fx *f, const struct raft_snapshot_meta *snap, const struct raft_entry *e,
                 uint32_t n, const struct raft_hard_state *hs)
{
    struct storage_batch b = {.snapshot = snap, .n_entries = n, .entries = e, .hs = hs};
    int rc = storage_save(f->s, &b, f->err, sizeof f->err);
    if (rc) fail_msg("storage_save: %d %s", rc, f->err);
}

static void append(struct fx *f, raft_index from, uint32_t n, raft_term term)
{
    struct raft_hard_state hs = {.term = term, .vote = 1, .commit = 0};
    save(f, NULL, make_entries(f, from, n, term), n, &hs);
}

static void open_store(struct fx *f)
{
    int rc = storage_open(&f->s, f->dir, NODE, 1, f->err, sizeof f->err);
    if (rc) fail_msg("storage_open: %d %s", rc, f->err);
}

static void reopen(struct fx *f)
{
    storage_close(f->s);
    f->s = NULL;
    open_store(f);
}

/* Loads and checks every entry, byte for byte, against the model. */
static void check_log(struct fx *f, struct storage_state *st)
{
    uint8_t want[DATA_MAX];
    int rc = storage_load(f->s, st, f->err, sizeof f->err);
    if (rc) fail_msg("storage_load: %d %s", rc, f->err);
    assert_int_equal(st->snap.index, f->m.snap);
    assert_int_equal(st->n_entries, f->m.last - f->m.snap);
    for (uint32_t i = 0; i < st->n_entries; i++) {
        const struct raft_entry *e = &st->entries[i];
        raft_index idx = f->m.snap + 1 + i;
        assert_int_equal(e->index, idx);
        assert_int_equal(e->term, f->m.term[idx]);
        assert_int_equal(e->type, idx % 3);
        uint32_t len = fill_data(idx, e->term, want);
        assert_int_equal(e->len, len);
        if (len) assert_memory_equal(e->data, want, len);
    }
    struct storage_stats ss;
    storage_stats(f->s, &ss);
    assert_int_equal(ss.first_index, f->m.snap + 1);
    assert_int_equal(ss.last_index, f->m.last);
    assert_int_equal(ss.log_entries, f->m.last - f->m.snap);
}

static void check_log_free(struct fx *f)
{
    struct storage_state st;
    check_log(f, &st);
    storage_state_free(&st);
}

/* RAFT_ADDR_MAX - 1 characters: the longest address there is. */
static const char ADDR_MAX[] = "[2001:db8:85a3:8d3:1319:8a2e:370:7348]:6379.some-more-bytes.xyz";

static struct raft_conf three_nodes(void)
{
    struct raft_conf c = {.n = 3};
    c.s[0] = (struct raft_server){.id = 3, .voter = true};
    strcpy(c.s[0].addr, "10.0.0.3:6379");
    c.s[1] = (struct raft_server){.id = NODE, .voter = true};
    strcpy(c.s[1].addr, ADDR_MAX);
    c.s[2] = (struct raft_server){.id = 1, .voter = false}; /* address unknown: "" */
    return c;
}

static void assert_conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++) {
        assert_int_equal(a->s[i].id, b->s[i].id);
        assert_int_equal(a->s[i].voter, b->s[i].voter);
        assert_string_equal(a->s[i].addr, b->s[i].addr);
    }
}

static void file_path(const struct fx *f, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", f->dir, STORAGE_FILE_NAME);
}

/* Overwrites bytes of the database file at off. */
static void patch_file(const struct fx *f, long off, const void *bytes, size_t n)
{
    char path[128];
    file_path(f, path, sizeof path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void patch_be32(const struct fx *f, long off, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    patch_file(f, off, b, 4);
}

/* Opening must fail with `code` and a message naming the file. */
static void expect_refused(struct fx *f, uint64_t node, int code, const char *needle)
{
    char path[128];
    struct storage *s = (struct storage *)1;
    file_path(f, path, sizeof path);
    int rc = storage_open(&s, f->dir, node, 1, f->err, sizeof f->err);
    assert_int_equal(rc, code);
    assert_null(s);
    if (!strstr(f->err, path) || !strstr(f->err, needle))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", f->err, path, needle);
    printf("  refused: %s\n", f->err);
}

/* Runs SQL on the closed store file with a connection of its own. */
static void run_sql(const struct fx *f, const char *sql)
{
    char path[128];
    sqlite3 *db = NULL;
    char *msg = NULL;
    file_path(f, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* An integer that a query on the closed store file returns. */
static int64_t query_int(const struct fx *f, const char *sql)
{
    char path[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    file_path(f, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/rc-storage-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    storage_close(f->s);
    chmod(f->dir, 0700);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

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
    hs.commit = 5;
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
    hs.commit = 8;
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

/* ------------------------------------------------------------ crashes */

#define CRASH_BATCH 64
#define CRASH_BATCHES 40

/* Child: saves batches, reporting each one's last index once storage_save
 * returned, then waits for the parent's SIGKILL (which may come earlier): no
 * close, no exit handlers. Never returns; a failure shows as an exit code. */
static void crash_child(struct fx *f, int wfd)
{
    struct storage *s;
    if (storage_open(&s, f->dir, NODE, 1, f->err, sizeof f->err)) _exit(2);
    for (int b = 0; b < CRASH_BATCHES; b++) {
        raft_index from = (raft_index)b * CRASH_BATCH + 1;
        struct raft_hard_state hs = {.term = 1, .vote = NODE, .commit = from + CRASH_BATCH - 1};
        struct storage_batch batch = {
            .entries = make_entries(f, from, CRASH_BATCH, 1), .n_entries = CRASH_BATCH, .hs = &hs};
        if (storage_save(s, &batch, f->err, sizeof f->err)) _exit(3);
        uint64_t acked = hs.commit;
        if (write(wfd, &acked, sizeof acked) != sizeof acked) _exit(4);
    }
    for (;;)
        pause();
}

/* Runs the child and kill -9s it after kill_after acknowledgements. Then every acknowledged entry
 * must be there, and batches must be whole: the hard state's commit (saved with the batch) is the
 * last index. */
static void crash_run(struct fx *f, int kill_after)
{
    int p[2], status;
    uint64_t acked = 0, v;
    int acks = 0;
    struct storage_state st;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        crash_child(f, p[1]);
    }
    close(p[1]);
    while (read(p[0], &v, sizeof v) == sizeof v) {
        acked = v;
        if (++acks == kill_after) kill(pid, SIGKILL);
    }
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("child did not die of SIGKILL (status %#x)", status);

    open_store(f);
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    raft_index last = st.n_entries;
    assert_true(last >= acked);
    assert_int_equal(last % CRASH_BATCH, 0);
    assert_int_equal(st.hs.commit, last);
    storage_state_free(&st);
    for (raft_index i = 1; i <= last; i++)
        f->m.term[i] = 1;
    f->m.last = last;
    check_log_free(f);
    printf("  crash after %d acknowledged batches: %llu entries acknowledged, %llu found\n", acks,
           (unsigned long long)acked, (unsigned long long)last);
}

static void test_crash_after_last_ack(void **state)
{
    crash_run(*state, CRASH_BATCHES);
}

static void test_crash_kill_9(void **state)
{
    crash_run(*state, 10);
}

/* ------------------------------------------------------------ WAL check */

/* kill -9 after every batch was acknowledged: the WAL holds them all. */
static uint64_t crash_leaving_wal(struct fx *f)
{
    int p[2], status;
    uint64_t acked = 0, v;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        crash_child(f, p[1]);
    }
    close(p[1]);
    int acks = 0;
    while (read(p[0], &v, sizeof v) == sizeof v) {
        acked = v;
        if (++acks == CRASH_BATCHES) kill(pid, SIGKILL);
    }
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return acked;
}

/* One flipped byte in a WAL frame in the middle: SQLite silently drops every
 * transaction after it (the acknowledged entries are gone); the check sees
 * frames of the current generation after the damaged one. */
static void test_wal_damage_detected(void **state)
{
    struct fx *f = *state;
    uint64_t acked = crash_leaving_wal(f);
    char db[128];
    snprintf(db, sizeof db, "%s/%s", f->dir, STORAGE_FILE_NAME);
    struct storage_wal_report r;
    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    assert_true(r.present);
    assert_false(storage_wal_damaged(&r)); /* an intact WAL after kill -9 */
    assert_int_equal(r.first_bad, 0);
    assert_true(r.frames > 10);
    assert_int_equal(r.kept, r.frames);

    uint64_t frame = r.frames / 2; /* 0-based; flip a byte of its page */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", db);
    int fd = open(wal, O_RDWR);
    assert_true(fd >= 0);
    off_t at = 32 + (off_t)frame * (24 + 4096) + 24 + 100;
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);

    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    assert_true(storage_wal_damaged(&r));
    assert_int_equal(r.first_bad, frame + 1);
    assert_true(r.torn);
    assert_true(r.lost > 0 && r.lost_commits > 0);
    assert_true(r.kept <= frame);
    assert_int_equal(storage_wal_keep_copy(db, f->err, sizeof f->err), 0);
    char copy[180];
    snprintf(copy, sizeof copy, "%s-wal.damaged", db);
    assert_int_equal(access(copy, R_OK), 0);

    /* What SQLite makes of it: a shorter log, without a word. */
    struct storage_state st;
    open_store(f);
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    assert_true(st.n_entries < acked);
    printf("  acknowledged %llu entries, SQLite kept %u; the check saw %llu lost frames "
           "(%llu commits)\n",
           (unsigned long long)acked, st.n_entries, (unsigned long long)r.lost,
           (unsigned long long)r.lost_commits);
    storage_state_free(&st);
}

/* ------------------------------------------------------------ identity */

/* The incarnation is drawn once and kept; another store gets another one.
 * Peers' incarnations and the recovering mark survive a reopen. */
static void test_incarnation_and_peers(void **state)
{
    struct fx *f = *state;
    open_store(f);
    uint64_t inc = storage_incarnation(f->s);
    assert_true(inc > 0);
    assert_false(storage_recovering(f->s));
    uint64_t got = 1;
    assert_int_equal(storage_peer_incarnation(f->s, 3, &got, f->err, sizeof f->err), 0);
    assert_int_equal(got, 0);
    assert_int_equal(storage_set_peer_incarnation(f->s, 3, 12345, f->err, sizeof f->err), 0);
    assert_int_equal(storage_set_peer_incarnation(f->s, 4, 777, f->err, sizeof f->err), 0);
    assert_int_equal(storage_set_peer_incarnation(f->s, 4, 0, f->err, sizeof f->err), 0);
    assert_int_equal(storage_set_recovering(f->s, true, f->err, sizeof f->err), 0);
    reopen(f);
    assert_int_equal(storage_incarnation(f->s), inc);
    assert_true(storage_recovering(f->s));
    assert_int_equal(storage_peer_incarnation(f->s, 3, &got, f->err, sizeof f->err), 0);
    assert_int_equal(got, 12345);
    assert_int_equal(storage_peer_incarnation(f->s, 4, &got, f->err, sizeof f->err), 0);
    assert_int_equal(got, 0);
    assert_int_equal(storage_set_recovering(f->s, false, f->err, sizeof f->err), 0);
    reopen(f);
    assert_false(storage_recovering(f->s));
    /* A wiped dir: a new store, a new incarnation. */
    storage_close(f->s);
    f->s = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", f->dir, STORAGE_FILE_NAME);
    assert_int_equal(unlink(path), 0);
    open_store(f);
    assert_true(storage_incarnation(f->s) > 0);
    assert_int_not_equal(storage_incarnation(f->s), inc);
}

/* ------------------------------------------------------------ benchmark */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(struct fx *f, const char *name, int fsync, uint32_t per_batch, int batches)
{
    struct storage_stats ss;
    static uint8_t payload[100];
    raft_index from = f->m.last + 1;
    assert_int_equal(storage_set_fsync(f->s, fsync, f->err, sizeof f->err), 0);
    storage_stats(f->s, &ss);
    uint64_t fs0 = ss.fsync_count, us0 = ss.fsync_total_us;

    double t0 = now_s();
    for (int b = 0; b < batches; b++) {
        for (uint32_t i = 0; i < per_batch; i++)
            f->ents[i] = (struct raft_entry){
                .index = from + i, .term = 1, .len = sizeof payload, .data = payload};
        struct raft_hard_state hs = {.term = 1, .vote = NODE, .commit = from + per_batch - 1};
        save(f, NULL, f->ents, per_batch, &hs);
        from += per_batch;
    }
    double dt = now_s() - t0;
    storage_stats(f->s, &ss);
    uint64_t nfs = ss.fsync_count - fs0;
    printf("  bench %-26s %6d batches x %3u: %9.0f entries/s, %5.0f batches/s, %llu fsyncs, "
           "avg commit %llu us\n",
           name, batches, per_batch, batches * per_batch / dt, batches / dt,
           (unsigned long long)nfs,
           (unsigned long long)(nfs ? (ss.fsync_total_us - us0) / nfs : 0));
    f->m.last = from - 1;
}

static void test_bench_batches(void **state)
{
    struct fx *f = *state;
    open_store(f);
    bench(f, "512 x 100 B, fsync on", 1, 512, 40);
    bench(f, "512 x 100 B, fsync off", 0, 512, 40);
    bench(f, "1 x 100 B, fsync on", 1, 1, 100);
    struct storage_stats ss;
    storage_stats(f->s, &ss);
    assert_int_equal(ss.log_entries, 40 * 512 * 2 + 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conf_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_conf_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_conflicting_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_state_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_and_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_after_compact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synchronous_follows_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_toggle, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_crash_after_last_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_kill_9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_damage_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incarnation_and_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bench_batches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
