/*
 * tests/unit/storage_fixture.h - what test_storage.c and
 * test_storage_safety.c share: a store in its own mkdtemp directory (struct
 * fx, setup/teardown), entries generated from (index, term) and checked
 * against a model of the terms each index must hold, and helpers that build
 * or damage files as other versions or crashes leave them. Helpers are
 * static and marked unused: each test file uses a part of them.
 */
#ifndef STORAGE_FIXTURE_H
#define STORAGE_FIXTURE_H

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

#include "storage/storage.h"
#include "storage/storage_wal.h"

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
__attribute__((unused)) static uint32_t fill_data(raft_index idx, raft_term term, uint8_t *buf)
{
    uint32_t len = (uint32_t)((idx * 37 + term * 11) % DATA_MAX);
    for (uint32_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(idx * 31 + term * 7 + j * 13);
    return len;
}

/* Fills f->ents with [from, from + n) of `term` and records them in the model
 * (as the store should after the batch: a suffix from `from` replaced). */
__attribute__((unused)) static const struct raft_entry *make_entries(struct fx *f, raft_index from,
                                                                     uint32_t n, raft_term term)
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

__attribute__((unused)) static void save(struct fx *f, const struct raft_snapshot_meta *snap,
                                         const struct raft_entry *e, uint32_t n,
                                         const struct raft_hard_state *hs)
{
    struct storage_batch b = {.snapshot = snap, .n_entries = n, .entries = e, .hs = hs};
    int rc = storage_save(f->s, &b, f->err, sizeof f->err);
    if (rc) fail_msg("storage_save: %d %s", rc, f->err);
}

__attribute__((unused)) static void append(struct fx *f, raft_index from, uint32_t n,
                                           raft_term term)
{
    struct raft_hard_state hs = {.term = term, .vote = 1, .commit = 0};
    save(f, NULL, make_entries(f, from, n, term), n, &hs);
}

__attribute__((unused)) static void open_store(struct fx *f)
{
    int rc = storage_open(&f->s, f->dir, NODE, 1, f->err, sizeof f->err);
    if (rc) fail_msg("storage_open: %d %s", rc, f->err);
}

__attribute__((unused)) static void reopen(struct fx *f)
{
    storage_close(f->s);
    f->s = NULL;
    open_store(f);
}

/* Loads and checks every entry, byte for byte, against the model. */
__attribute__((unused)) static void check_log(struct fx *f, struct storage_state *st)
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

__attribute__((unused)) static void check_log_free(struct fx *f)
{
    struct storage_state st;
    check_log(f, &st);
    storage_state_free(&st);
}

/* RAFT_ADDR_MAX - 1 characters: the longest address there is. */
__attribute__((unused)) static const char ADDR_MAX[] =
    "[2001:db8:85a3:8d3:1319:8a2e:370:7348]:6379.some-more-bytes.xyz";

__attribute__((unused)) static struct raft_conf three_nodes(void)
{
    struct raft_conf c = {.n = 3};
    c.s[0] = (struct raft_server){.id = 3, .voter = true};
    strcpy(c.s[0].addr, "10.0.0.3:6379");
    c.s[1] = (struct raft_server){.id = NODE, .voter = true};
    strcpy(c.s[1].addr, ADDR_MAX);
    c.s[2] = (struct raft_server){.id = 1, .voter = false}; /* address unknown: "" */
    return c;
}

__attribute__((unused)) static void assert_conf_equal(const struct raft_conf *a,
                                                      const struct raft_conf *b)
{
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++) {
        assert_int_equal(a->s[i].id, b->s[i].id);
        assert_int_equal(a->s[i].voter, b->s[i].voter);
        assert_string_equal(a->s[i].addr, b->s[i].addr);
    }
}

__attribute__((unused)) static void file_path(const struct fx *f, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", f->dir, STORAGE_FILE_NAME);
}

/* Overwrites bytes of the database file at off. */
__attribute__((unused)) static void patch_file(const struct fx *f, long off, const void *bytes,
                                               size_t n)
{
    char path[128];
    file_path(f, path, sizeof path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

__attribute__((unused)) static void patch_be32(const struct fx *f, long off, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    patch_file(f, off, b, 4);
}

/* Opening must fail with `code` and a message naming the file. */
__attribute__((unused)) static void expect_refused(struct fx *f, uint64_t node, int code,
                                                   const char *needle)
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
__attribute__((unused)) static void run_sql(const struct fx *f, const char *sql)
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
__attribute__((unused)) static int64_t query_int(const struct fx *f, const char *sql)
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

__attribute__((unused)) static int rm_one(const char *path, const struct stat *sb, int flag,
                                          struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

__attribute__((unused)) static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/rc-storage-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) return -1;
    *state = f;
    return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
    struct fx *f = *state;
    storage_close(f->s);
    chmod(f->dir, 0700);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

#endif
