/*
 * src/storage/storage.c - the Raft log, hard state and configuration in SQLite.
 *
 * Owns the one SQLite connection of the process (with src/storage/storage_open.c,
 * which opens it and reads the file as found, the only files that include
 * sqlite3.h). Contract, schema and invariants: storage.h.
 *
 * Layout of this file: error helpers, statement helpers, and the write
 * paths, which all go through one transaction each and keep the in-memory
 * copy of what is stored (hard state, snapshot, last index) in step only
 * after COMMIT succeeded; then the identity rows.
 */
#include "base/clock.h"
#include "storage/storage.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "storage/storage_int.h"
#include "storage/storage_vfs.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* Work one trim statement does, in units of one byte of entry data plus
 * TRIM_ROW_UNITS per row: adapted between these (storage_trim). Deleting a
 * row frees its overflow pages one by one, so the cost follows the bytes as
 * much as the rows: a count of rows alone, grown over small entries, once
 * took 150 ms over a stretch of 60 KB ones and held the loop past an
 * election timeout. */
#define TRIM_ROW_UNITS 256
#define TRIM_UNITS_MIN 4096
#define TRIM_UNITS_MAX (64u << 20)
#define TRIM_ROWS_MAX 65536

/* Pages one incremental vacuum step frees: adapted between these. */
#define VACUUM_PAGES_MIN 16
#define VACUUM_PAGES_MAX 65536

/* ------------------------------------------------------------ errors */

/* The connection's last error. Damage found by SQLite is the file's fault
 * (EBADFILE); everything else is an operating error. */
int storage_sql_error(struct storage *s, const char *what, char *err, size_t errlen)
{
    int code = sqlite3_extended_errcode(s->db);
    int primary = code & 0xff;
    const char *hint = "";
    char sys[128] = "";

    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        hint = " (not a raftcache data file, or a damaged one)";
    else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        hint = " (is another raftcache process using this dir?)";
    /* SQLite records errno reliably only for a failed open (later calls may
     * overwrite errno before it reads it). */
    if (primary == SQLITE_CANTOPEN && sqlite3_system_errno(s->db))
        snprintf(sys, sizeof sys, " (%s)", strerror(sqlite3_system_errno(s->db)));
    return util_fail(err, errlen,
                     primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT ? STORAGE_EBADFILE
                                                                           : STORAGE_EIO,
                     "%s: %s: %s%s%s", s->path, what, sqlite3_errmsg(s->db), sys, hint);
}

/* ------------------------------------------------------------ statements */

/* Runs a prepared statement that returns no rows, then resets it. */
static int step_done(struct storage *s, sqlite3_stmt *st, const char *what, char *err,
                     size_t errlen)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : storage_sql_error(s, what, err, errlen);
    sqlite3_reset(st);
    return ret;
}

/* Writes out what the VFS still holds (src/storage/storage_vfs.h), which is
 * nothing when SQLite's own calls ended as they do (a commit frame and a
 * checkpoint flush themselves): a failure here is an operating error. */
static int vfs_flush(struct storage *s, const char *what, char *err, size_t errlen)
{
    int rc = storage_vfs_flush(s->vfs);
    if (rc == SQLITE_OK) return 0;
    return util_fail(err, errlen, STORAGE_EIO, "%s: %s: %s", s->path, what, sqlite3_errstr(rc));
}

int storage_exec(struct storage *s, const char *sql, char *err, size_t errlen)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return storage_sql_error(s, sql, err, errlen);
    return vfs_flush(s, sql, err, errlen);
}

/* First column of the first row of a one-off query, as an integer or text. */
int storage_query_one(struct storage *s, const char *sql, int64_t *num, char *text, size_t textlen,
                      char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int ret;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return storage_sql_error(s, sql, err, errlen);
    if (sqlite3_step(st) != SQLITE_ROW) {
        ret = storage_sql_error(s, sql, err, errlen);
    } else {
        if (num) *num = sqlite3_column_int64(st, 0);
        if (text) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(text, textlen, "%s", t ? (const char *)t : "");
        }
        ret = 0;
    }
    sqlite3_finalize(st);
    return ret;
}

/* ----------------------------------------------------------------- reads */

/* Room for one more entry of len bytes in r (its data pointers are set at the end). */
static int range_reserve(struct storage_range *r, size_t used, uint64_t len)
{
    if (r->n == r->cap_entries) {
        uint32_t cap = r->cap_entries ? r->cap_entries * 2 : 64;
        struct raft_entry *e = realloc(r->entries, cap * sizeof *e);
        if (!e) return -1;
        r->entries = e;
        r->cap_entries = cap;
    }
    if (used + len > r->cap_data) {
        size_t cap = r->cap_data ? r->cap_data : 4096;
        while (cap < used + len)
            cap *= 2;
        uint8_t *d = realloc(r->data, cap);
        if (!d) return -1;
        r->data = d;
        r->cap_data = cap;
    }
    ASSERT(r->n < r->cap_entries && used + len <= r->cap_data);
    return 0;
}

int storage_read(struct storage *s, raft_index from, raft_index last, uint32_t max_bytes,
                 uint32_t max_entries, struct storage_range *out, char *err, size_t errlen)
{
    out->n = 0;
    if (from <= s->snap_index || from > s->last_index || last < from) return 0;
    sqlite3_stmt *q = s->stmt[ST_LOG_READ];
    sqlite3_bind_int64(q, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)last);
    size_t used = 0;
    int rc = SQLITE_DONE, ret = 0;
    while (out->n < max_entries && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(q, 3); /* before _bytes(), as SQLite asks */
        uint64_t len = (uint64_t)sqlite3_column_bytes(q, 3);
        raft_index idx = (raft_index)sqlite3_column_int64(q, 0);
        int64_t type = sqlite3_column_int64(q, 2);
        if (out->n > 0 && used + len > max_bytes) break;
        if (idx != from + out->n || type < 0 || type > RAFT_ENTRY_CONF) {
            ret = util_fail(err, errlen, STORAGE_EBADFILE, "%s: damaged log at index %llu", s->path,
                            (unsigned long long)(from + out->n));
            break;
        }
        if ((len && !blob) || range_reserve(out, used, len) != 0) {
            ret = util_fail(err, errlen, STORAGE_EIO, "%s: out of memory reading the log", s->path);
            break;
        }
        out->entries[out->n++] = (struct raft_entry){(raft_term)sqlite3_column_int64(q, 1), idx,
                                                     (uint32_t)type, (uint32_t)len, NULL};
        if (len) memcpy(out->data + used, blob, len);
        used += len;
    }
    if (ret == 0 && out->n < max_entries && rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = storage_sql_error(s, "reading log", err, errlen);
    sqlite3_reset(q);
    if (ret) {
        out->n = 0;
        return ret;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < out->n; off += out->entries[i++].len)
        out->entries[i].data = out->entries[i].len ? out->data + off : NULL;
    ASSERT(off == used && out->n <= max_entries);
    return 0;
}

void storage_range_free(struct storage_range *r)
{
    free(r->entries);
    free(r->data);
    memset(r, 0, sizeof *r);
}

static int meta_set(struct storage *s, enum meta_key k, uint64_t v, char *err, size_t errlen)
{
    ASSERT(!sqlite3_get_autocommit(s->db)); /* inside the caller's transaction */
    sqlite3_stmt *st = s->stmt[ST_META_SET];
    sqlite3_bind_text(st, 1, storage_meta_names[k], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
    return step_done(s, st, "updating meta", err, errlen);
}

static int tx_begin(struct storage *s, char *err, size_t errlen)
{
    return step_done(s, s->stmt[ST_BEGIN], "BEGIN", err, errlen);
}

/* COMMIT, and what the VFS still holds written out: a storage call leaves
 * nothing pending (src/storage/storage_vfs.h). */
static int commit(struct storage *s, char *err, size_t errlen)
{
    if (step_done(s, s->stmt[ST_COMMIT], "COMMIT", err, errlen) ||
        vfs_flush(s, "COMMIT", err, errlen))
        return STORAGE_EIO;
    s->written++;
    return 0;
}

static void note_sync(struct storage *s, uint64_t us)
{
    s->fsync_count++;
    s->fsync_total_us += us;
    if (us > s->fsync_max_us) s->fsync_max_us = us;
    s->fsync_last_us = us;
}

/* COMMIT is where the fsyncs happen (synchronous=FULL): its time is the
 * fsync latency RAFT.INFO reports. With deferred syncs the commit only
 * writes: storage_save() leaves the sync to its caller, and the other
 * transactions that promise durability (durable = true) sync here. */
static int tx_commit(struct storage *s, bool durable, char *err, size_t errlen)
{
    int64_t t0 = clock_mono_us();
    if (commit(s, err, errlen)) return STORAGE_EIO;
    if (s->sync_level == SYNC_FULL) note_sync(s, (uint64_t)(clock_mono_us() - t0));
    if (durable && s->fsync && s->deferred) return storage_sync(s, err, errlen);
    return 0;
}

/* After a failed step: undo whatever the transaction wrote (SQLite may have
 * rolled back already, e.g. after an I/O error during COMMIT). */
static void tx_abort(struct storage *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->stmt[ST_ROLLBACK]);
        sqlite3_reset(s->stmt[ST_ROLLBACK]);
    }
}

/* ------------------------------------------------------------ writing */

static int write_snapshot(struct storage *s, const struct raft_snapshot_meta *m, char *err,
                          size_t errlen)
{
    ASSERT(m->conf.n <= RAFT_MAX_NODES);
    int rc = meta_set(s, MK_SNAP_INDEX, m->index, err, errlen);
    if (rc == 0) rc = meta_set(s, MK_SNAP_TERM, m->term, err, errlen);
    if (rc == 0 && !s->has_conf) rc = meta_set(s, MK_HAS_CONF, 1, err, errlen);
    if (rc == 0) rc = step_done(s, s->stmt[ST_CONF_CLEAR], "clearing conf", err, errlen);
    for (uint32_t i = 0; i < m->conf.n && rc == 0; i++) {
        sqlite3_stmt *st = s->stmt[ST_CONF_ADD];
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)m->conf.s[i].id);
        sqlite3_bind_int64(st, 3, m->conf.s[i].voter ? 1 : 0);
        const char *addr = m->conf.s[i].addr;
        const char *nul = memchr(addr, '\0', RAFT_ADDR_MAX);
        ASSERT(nul); /* raft.h: an address is NUL-terminated */
        sqlite3_bind_text(st, 4, addr, (int)(nul - addr), SQLITE_STATIC);
        rc = step_done(s, st, "writing conf", err, errlen);
    }
    return rc;
}

/* An entry of BLOB_WRITE_MIN to BLOB_WRITE_MAX bytes is inserted as a
 * zero-filled blob whose pages then receive its bytes (write_blob): bound as
 * a blob, SQLite first builds the whole row in a transient buffer (a large
 * allocation and one more copy of every logged byte: 13% of the server's
 * CPU under a pipelined LPUSH load) before copying it into pages. Smaller
 * entries skip the blob handle's own cost. Larger ones (a single big
 * command; batches stop at 1 MB, src/sm/sm.h) do not fit in SQLite's page
 * cache: their zero pages would be spilled to the WAL, read back and written
 * again, which costs more than the copy it saves (a 100 MB SET timed out
 * under the sanitizers). */
#define BLOB_WRITE_MIN (16 * 1024)
#define BLOB_WRITE_MAX (1024 * 1024)
/* Writes e's data into the zero-filled blob of its just-inserted row. */
static int write_blob(struct storage *s, const struct raft_entry *e, char *err, size_t errlen)
{
    sqlite3_blob *b = NULL;
    int rc = sqlite3_blob_open(s->db, "main", "log", "data", (sqlite3_int64)e->index, 1, &b);
    if (rc == SQLITE_OK) rc = sqlite3_blob_write(b, e->data, (int)e->len, 0);
    if (rc != SQLITE_OK) {
        int ret = storage_sql_error(s, "writing an entry into the log", err, errlen);
        sqlite3_blob_close(b);
        return ret;
    }
    if (sqlite3_blob_close(b) != SQLITE_OK)
        return storage_sql_error(s, "writing an entry into the log", err, errlen);
    return 0;
}

/* Deletes the conflicting suffix (stored entries from e[0].index on), then
 * appends. `last` is the last stored index at this point of the transaction. */
static int write_entries(struct storage *s, const struct raft_entry *e, uint32_t n, raft_index last,
                         char *err, size_t errlen)
{
    ASSERT(n > 0 && !sqlite3_get_autocommit(s->db)); /* appends happen in a transaction */
    if (e[0].index <= last) {
        sqlite3_stmt *st = s->stmt[ST_LOG_TRUNCATE];
        sqlite3_bind_int64(st, 1, (sqlite3_int64)e[0].index);
        int rc = step_done(s, st, "truncating the log", err, errlen);
        if (rc) return rc;
    }
    sqlite3_stmt *ins = s->stmt[ST_LOG_INSERT];
    for (uint32_t i = 0; i < n; i++) {
        ASSERT(e[i].len == 0 || e[i].data != NULL);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)e[i].index);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)e[i].term);
        sqlite3_bind_int64(ins, 3, e[i].type);
        bool blob = e[i].len >= BLOB_WRITE_MIN && e[i].len <= BLOB_WRITE_MAX;
        if (blob)
            sqlite3_bind_zeroblob64(ins, 4, e[i].len);
        else /* never NULL, even for an empty entry: the column is NOT NULL */
            sqlite3_bind_blob64(ins, 4, e[i].len ? (const void *)e[i].data : "", e[i].len,
                                SQLITE_STATIC);
        int rc = step_done(s, ins, "appending to the log", err, errlen);
        if (rc == 0 && blob) rc = write_blob(s, &e[i], err, errlen);
        if (rc) return rc;
    }
    return 0;
}

static int write_hard_state(struct storage *s, const struct raft_hard_state *hs, char *err,
                            size_t errlen)
{
    int rc = 0;
    if (hs->term != s->hs.term) rc = meta_set(s, MK_TERM, hs->term, err, errlen);
    if (rc == 0 && hs->vote != s->hs.vote) rc = meta_set(s, MK_VOTE, hs->vote, err, errlen);
    if (rc == 0 && hs->commit != s->hs.commit) rc = meta_set(s, MK_COMMIT, hs->commit, err, errlen);
    return rc;
}

/* Programmer errors: the batch would break the log's invariants. */
static void check_batch(const struct storage *s, const struct storage_batch *b)
{
    raft_index snap = s->snap_index, last = s->last_index;
    if (b->snapshot) {
        ASSERT(b->snapshot->index >= s->snap_index);
        snap = last = b->snapshot->index;
    }
    if (b->n_entries) {
        raft_term term = b->hs ? b->hs->term : s->hs.term;
        ASSERT(b->entries != NULL);
        ASSERT(b->entries[0].index > snap && b->entries[0].index <= last + 1);
        for (uint32_t i = 0; i < b->n_entries; i++) {
            ASSERT(i == 0 || b->entries[i].index == b->entries[i - 1].index + 1);
            ASSERT(b->entries[i].term <= term); /* else load would call the file damaged */
        }
    }
}

/* PRAGMA synchronous for the next transactions: durable ones (a batch, a
 * compaction, an identity row) or not (storage_hs_due's commit index, a
 * trim, a vacuum step). Those need no fsync of their own, but they run at
 * NORMAL, never OFF: a transaction may run SQLite's automatic checkpoint,
 * which copies the WAL into the database and lets the next writer start
 * the WAL over, and only at NORMAL or FULL does the checkpoint sync the
 * WAL before and the database after. At OFF it synced neither, so a power
 * loss after the WAL started over could take acknowledged entries with it.
 * Executed, never kept prepared: SQLite applies this pragma when it is
 * prepared, so a prepared copy changes the setting behind the caller's
 * back. */
int storage_set_sync_level(struct storage *s, bool durable, char *err, size_t errlen)
{
    static const char *const sql[] = {"PRAGMA synchronous=OFF", "PRAGMA synchronous=NORMAL",
                                      "PRAGMA synchronous=FULL"};
    int level = !s->fsync ? SYNC_OFF : durable && !s->deferred ? SYNC_FULL : SYNC_NORMAL;
    ASSERT(level >= 0 && (size_t)level < sizeof sql / sizeof *sql);
    if (level == s->sync_level) return 0;
    int rc = storage_exec(s, sql[level], err, errlen);
    s->sync_level = rc == 0 ? level : -1; /* unknown after a failure: set again next time */
    return rc;
}

int storage_save(struct storage *s, const struct storage_batch *b, char *err, size_t errlen)
{
    check_batch(s, b);
    bool hs_changed = storage_hs_due(b, &s->hs);
    if (!b->snapshot && b->n_entries == 0 && !hs_changed) return 0;
    /* Only the commit index moved: Raft needs no durability for it (a
     * restart from an older one learns the newer one again), so this
     * transaction skips the fsync. WAL frames are appended in order, so the
     * next synced commit makes it durable too. */
    bool lazy = s->fsync && storage_commit_only(b, &s->hs);
    if (lazy) {
        int rc = storage_set_sync_level(s, false, err, errlen);
        if (rc == 0) rc = tx_begin(s, err, errlen);
        if (rc == 0) rc = write_hard_state(s, b->hs, err, errlen);
        if (rc == 0) rc = commit(s, err, errlen);
        if (rc) tx_abort(s);
        int rc2 = storage_set_sync_level(s, true, err, errlen);
        if (rc || rc2) return STORAGE_EIO;
        s->hs = *b->hs;
        return 0;
    }

    raft_index last = s->last_index;
    int rc = tx_begin(s, err, errlen);
    if (rc) return rc;
    if (b->snapshot) {
        /* Entries above the new base go now (they may conflict with what
         * follows it); those at or below it are trimmed later. */
        sqlite3_stmt *st = s->stmt[ST_LOG_TRUNCATE];
        sqlite3_bind_int64(st, 1, (sqlite3_int64)b->snapshot->index + 1);
        rc = step_done(s, st, "dropping the log", err, errlen);
        if (rc == 0) rc = write_snapshot(s, b->snapshot, err, errlen);
        last = b->snapshot->index;
    }
    if (rc == 0 && b->n_entries) rc = write_entries(s, b->entries, b->n_entries, last, err, errlen);
    if (rc == 0 && hs_changed) rc = write_hard_state(s, b->hs, err, errlen);
    if (rc == 0) rc = tx_commit(s, false, err, errlen);
    if (rc) {
        tx_abort(s);
        return rc;
    }
    if (b->snapshot) {
        s->snap_index = b->snapshot->index;
        s->snap_term = b->snapshot->term;
        s->has_conf = true;
        if (s->trim_lo > s->last_index) s->trim_lo = s->last_index + 1; /* rows only up to there */
    }
    s->last_index = b->n_entries ? b->entries[b->n_entries - 1].index : last;
    ASSERT(s->snap_index <= s->last_index);
    if (hs_changed) s->hs = *b->hs;
    return 0;
}

int storage_compact(struct storage *s, const struct raft_snapshot_meta *meta, char *err,
                    size_t errlen)
{
    ASSERT(meta->index > s->snap_index && meta->index <= s->last_index);
    int rc = tx_begin(s, err, errlen);
    if (rc) return rc;
    rc = write_snapshot(s, meta, err, errlen);
    if (rc == 0) rc = tx_commit(s, true, err, errlen);
    if (rc) {
        tx_abort(s);
        return rc;
    }
    s->snap_index = meta->index;
    s->snap_term = meta->term;
    s->has_conf = true;
    return 0;
}

static bool rows_pending(const struct storage *s)
{
    return s->trim_lo <= s->snap_index;
}

/* Free pages are to be given back now: the vacuum delay has passed. */
static bool vacuum_ready(const struct storage *s)
{
    return s->vacuum_due && clock_mono_us() - s->trimmed_us >= (int64_t)s->vacuum_delay_ms * 1000;
}

bool storage_trim_pending(const struct storage *s)
{
    return rows_pending(s) || vacuum_ready(s);
}

/* The last row of the next trim chunk: rows from trim_lo on, up to
 * snap_index, until they add up to `units` of work (at least one row). */
static int trim_chunk_end(struct storage *s, uint32_t units, raft_index *upto, char *err,
                          size_t errlen)
{
    ASSERT(s->trim_lo <= s->snap_index && units > 0); /* rows_pending() */
    sqlite3_stmt *st = s->stmt[ST_LOG_SIZES];
    raft_index last = s->snap_index;
    if (last - s->trim_lo >= TRIM_ROWS_MAX) last = s->trim_lo + TRIM_ROWS_MAX - 1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)s->trim_lo);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)last);
    uint64_t work = 0;
    int rc;
    *upto = last; /* rows missing from the range (never stored) cost nothing */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        work += TRIM_ROW_UNITS + (uint64_t)sqlite3_column_int64(st, 1);
        if (work >= units) {
            *upto = (raft_index)sqlite3_column_int64(st, 0);
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return storage_sql_error(s, "sizing a trim of the log", err, errlen);
    return 0;
}

/* Deletes compacted rows trim_lo .. upto in one transaction, without an
 * fsync: they are below the recorded base, so a crash that brings them back
 * only leaves them for the next trim. */
static int trim_chunk(struct storage *s, raft_index upto, char *err, size_t errlen)
{
    sqlite3_stmt *st = s->stmt[ST_LOG_DROP_UPTO];
    int rc = storage_set_sync_level(s, false, err, errlen);
    if (rc == 0) rc = tx_begin(s, err, errlen);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)upto);
        rc = step_done(s, st, "trimming the log", err, errlen);
    }
    if (rc == 0) rc = commit(s, err, errlen);
    if (rc) tx_abort(s);
    int rc2 = storage_set_sync_level(s, true, err, errlen);
    return rc || rc2 ? STORAGE_EIO : 0;
}

/* The file's free pages (its freelist), or -1 if they cannot be read. */
static int64_t free_pages(struct storage *s)
{
    int64_t n = -1;
    char err[128];
    return storage_query_one(s, "PRAGMA freelist_count", &n, NULL, 0, err, sizeof err) == 0 ? n
                                                                                            : -1;
}

/* One step of incremental vacuum: up to `pages` free pages leave the file
 * (the pages above them are moved down first), in one transaction without
 * an fsync, like a trim: the file's content does not change, and the next
 * synced transaction makes the step durable (WAL order). */
static int vacuum_step(struct storage *s, uint32_t pages, char *err, size_t errlen)
{
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%u)", pages);
    int rc = storage_set_sync_level(s, false, err, errlen);
    if (rc == 0) rc = storage_exec(s, sql, err, errlen);
    int rc2 = storage_set_sync_level(s, true, err, errlen);
    return rc || rc2 ? STORAGE_EIO : 0;
}

/* Adapts a per-chunk count so that a chunk takes about a quarter of the
 * budget, whatever the size of the rows or pages. */
static void adapt(uint32_t *count, int64_t took_us, uint32_t budget_us, uint32_t lo, uint32_t hi)
{
    if (took_us * 4 < (int64_t)budget_us && *count < hi)
        *count *= 2;
    else if (took_us * 2 > (int64_t)budget_us && *count > lo)
        *count /= 2;
}

int storage_trim(struct storage *s, uint32_t budget_us, char *err, size_t errlen)
{
    int64_t start = clock_mono_us();
    if (s->trim_units == 0) s->trim_units = TRIM_UNITS_MIN;
    if (s->vacuum_pages == 0) s->vacuum_pages = VACUUM_PAGES_MIN;
    while (rows_pending(s)) {
        raft_index upto;
        int64_t t0 = clock_mono_us();
        int rc = trim_chunk_end(s, s->trim_units, &upto, err, errlen);
        if (rc == 0) rc = trim_chunk(s, upto, err, errlen);
        if (rc) return rc;
        s->trim_lo = upto + 1;
        adapt(&s->trim_units, clock_mono_us() - t0, budget_us, TRIM_UNITS_MIN, TRIM_UNITS_MAX);
        if (!rows_pending(s)) {
            int64_t f = free_pages(s);
            s->vacuum_due = f >= VACUUM_START_PAGES;
            s->trimmed_us = clock_mono_us();
        }
        if (clock_mono_us() - start >= (int64_t)budget_us) return 0;
    }
    while (vacuum_ready(s)) {
        int64_t f = free_pages(s);
        if (f <= VACUUM_KEEP_PAGES) {
            /* The file shrinks when the WAL is checkpointed into it; the
             * WAL (a few MB: SQLite checkpoints every 1000 pages) starts
             * over empty. */
            s->vacuum_due = false;
            return storage_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)", err, errlen);
        }
        uint32_t pages = s->vacuum_pages;
        if ((int64_t)pages > f - VACUUM_KEEP_PAGES) pages = (uint32_t)(f - VACUUM_KEEP_PAGES);
        int64_t t0 = clock_mono_us();
        int rc = vacuum_step(s, pages, err, errlen);
        if (rc) return rc;
        s->vacuumed_pages += pages;
        adapt(&s->vacuum_pages, clock_mono_us() - t0, budget_us, VACUUM_PAGES_MIN,
              VACUUM_PAGES_MAX);
        if (clock_mono_us() - start >= (int64_t)budget_us) break;
    }
    return 0;
}

void storage_set_vacuum_delay(struct storage *s, uint32_t ms)
{
    s->vacuum_delay_ms = ms;
}

int storage_set_fsync(struct storage *s, int on, char *err, size_t errlen)
{
    int was = s->fsync;
    s->fsync = on ? 1 : 0;
    int rc = storage_set_sync_level(s, true, err, errlen);
    if (rc) s->fsync = was;
    return rc;
}

/* ------------------------------------------------------------ deferred sync */

int storage_defer_sync(struct storage *s, char *err, size_t errlen)
{
    if (s->deferred) return 0;
    char wal[4096];
    if (util_path_suffixed(wal, sizeof wal, s->path, "-wal") != 0)
        return util_fail(err, errlen, STORAGE_EIO, "%s-wal: path too long", s->path);
    /* The database is open in WAL mode with exclusive locking: its WAL
     * exists from open to close, under this name (storage_open.c). */
    int fd = open(wal, O_RDWR | O_CLOEXEC);
    int own = fd < 0 ? -1 : open(wal, O_RDWR | O_CLOEXEC);
    if (own < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return util_fail(err, errlen, STORAGE_EIO, "%s: open: %s", wal, strerror(e));
    }
    s->wal_fd = fd;
    s->own_wal_fd = own;
    s->deferred = true;
    int rc = storage_set_sync_level(s, true, err, errlen);
    if (rc) {
        s->deferred = false;
        close(fd);
        close(own);
        s->wal_fd = s->own_wal_fd = -1;
    }
    return rc;
}

int storage_sync_fd(const struct storage *s)
{
    return s->deferred ? s->wal_fd : -1;
}

uint64_t storage_written(const struct storage *s)
{
    return s->written;
}

void storage_synced(struct storage *s, uint64_t mark, const struct storage_sync_times *t)
{
    (void)mark; /* durable already: the caller's thread synced the file */
    if (t->count == 0) return;
    s->fsync_count += t->count;
    s->fsync_total_us += t->total_us;
    if (t->max_us > s->fsync_max_us) s->fsync_max_us = t->max_us;
    s->fsync_last_us = t->last_us;
}

int storage_sync(struct storage *s, char *err, size_t errlen)
{
    if (!s->deferred) return 0;
    int64_t t0 = clock_mono_us();
    if (fdatasync(s->own_wal_fd) != 0)
        return util_fail(err, errlen, STORAGE_EIO, "%s-wal: fdatasync: %s", s->path,
                         strerror(errno));
    note_sync(s, (uint64_t)(clock_mono_us() - t0));
    return 0;
}

int storage_synchronous(struct storage *s)
{
    int64_t v;
    char err[128];
    return storage_query_one(s, "PRAGMA synchronous", &v, NULL, 0, err, sizeof err) == 0 ? (int)v
                                                                                         : -1;
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static uint64_t file_size_suffixed(const char *path, const char *suffix)
{
    char p[4096];
    return util_path_suffixed(p, sizeof p, path, suffix) == 0 ? file_size(p) : 0;
}

size_t storage_memory_bytes(void)
{
    sqlite3_int64 n = sqlite3_memory_used();
    return n > 0 ? (size_t)n : 0;
}

void storage_stats(const struct storage *s, struct storage_stats *st)
{
    st->fsync_count = s->fsync_count;
    st->fsync_total_us = s->fsync_total_us;
    st->fsync_max_us = s->fsync_max_us;
    st->fsync_last_us = s->fsync_last_us;
    st->first_index = s->snap_index + 1;
    st->last_index = s->last_index;
    st->log_entries = s->last_index - s->snap_index;
    st->file_bytes = file_size(s->path) + file_size_suffixed(s->path, "-wal");
    st->vacuumed_bytes = s->vacuumed_pages * s->page_size;
    struct storage_vfs_counts c;
    storage_vfs_counts(s->vfs, &c);
    st->file_writes = c.writes;
    st->file_write_calls = c.write_calls;
    st->file_reads = c.reads;
    st->file_read_calls = c.read_calls;
}

/* ------------------------------------------------------------ identity */

uint64_t storage_incarnation(const struct storage *s)
{
    return s->incarnation;
}

bool storage_recovering(const struct storage *s)
{
    return s->recovering;
}

int storage_set_recovering(struct storage *s, bool on, char *err, size_t errlen)
{
    if (on == s->recovering) return 0;
    int rc = tx_begin(s, err, errlen);
    if (rc == 0) rc = meta_set(s, MK_RECOVERING, on ? 1 : 0, err, errlen);
    if (rc == 0) rc = tx_commit(s, true, err, errlen);
    if (rc) {
        tx_abort(s);
        return STORAGE_EIO;
    }
    s->recovering = on;
    return 0;
}

int storage_peer_incarnation(struct storage *s, uint64_t id, uint64_t *inc, char *err,
                             size_t errlen)
{
    sqlite3_stmt *st = s->stmt[ST_PEER_GET];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    int rc = sqlite3_step(st);
    int ret = 0;
    *inc = 0;
    if (rc == SQLITE_ROW)
        *inc = (uint64_t)sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        ret = storage_sql_error(s, "reading peers", err, errlen);
    sqlite3_reset(st);
    return ret;
}

int storage_set_peer_incarnation(struct storage *s, uint64_t id, uint64_t inc, char *err,
                                 size_t errlen)
{
    sqlite3_stmt *st = s->stmt[inc ? ST_PEER_SET : ST_PEER_FORGET];
    int rc = tx_begin(s, err, errlen);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        if (inc) sqlite3_bind_int64(st, 2, (sqlite3_int64)inc);
        rc = step_done(s, st, "writing peers", err, errlen);
    }
    if (rc == 0) rc = tx_commit(s, true, err, errlen);
    if (rc) {
        tx_abort(s);
        return STORAGE_EIO;
    }
    return 0;
}
