/*
 * src/storage/storage_open.c - part of the storage module (src/storage/storage.h): opening a
 * data dir and recognising what is in it. Creates the dirs and the database,
 * refuses a file that is not ours, is damaged or belongs to another node,
 * creates or upgrades the schema, loads the cached copy of the stored state
 * and, for storage_load(), the log itself; and closes. Everything here reads
 * the file as found and checks it against the invariants of storage.h.
 * With src/storage/storage.c, the only files that include sqlite3.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/alloc.h"
#include "storage/storage.h"
#include "base/util.h"
#include "storage/storage_int.h"
#include "storage/storage_vfs.h"
#include "raft/raft_assert.h"

/* SQL of the statements of enum stmt_id. */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_LOG_INSERT] = "INSERT INTO log(idx, term, type, data) VALUES(?1, ?2, ?3, ?4)",
    [ST_LOG_TRUNCATE] = "DELETE FROM log WHERE idx >= ?1",
    [ST_LOG_DROP_UPTO] = "DELETE FROM log WHERE idx <= ?1",
    [ST_META_SET] = "UPDATE meta SET value = ?2 WHERE key = ?1",
    [ST_CONF_CLEAR] = "DELETE FROM conf",
    [ST_CONF_ADD] = "INSERT INTO conf(pos, id, voter, addr) VALUES(?1, ?2, ?3, ?4)",
    [ST_PEER_GET] = "SELECT incarnation FROM peers WHERE id = ?1",
    [ST_PEER_SET] = "INSERT OR REPLACE INTO peers(id, incarnation) VALUES(?1, ?2)",
    [ST_PEER_FORGET] = "DELETE FROM peers WHERE id = ?1",
    [ST_LOG_READ] =
        "SELECT idx, term, type, data FROM log WHERE idx >= ?1 AND idx <= ?2 ORDER BY idx",
    /* length() reads a blob's size from the record header, not its pages. */
    [ST_LOG_SIZES] = "SELECT idx, length(data) FROM log WHERE idx >= ?1 AND idx <= ?2 ORDER BY idx",
};

const char *const storage_meta_names[MK_COUNT] = {
    [MK_NODE_ID] = "node_id",
    [MK_TERM] = "term",
    [MK_VOTE] = "vote",
    [MK_COMMIT] = "commit_index",
    [MK_SNAP_INDEX] = "snap_index",
    [MK_SNAP_TERM] = "snap_term",
    [MK_HAS_CONF] = "has_conf",
    [MK_INCARNATION] = "incarnation",
    [MK_RECOVERING] = "recovering",
};

/* A random positive 63-bit incarnation, from SQLite's generator (seeded by
 * the OS's randomness). */
#define INCARNATION_SQL "(random() & 0x7fffffffffffffff) | 1"

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE conf(pos INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE,"
    " voter INTEGER NOT NULL, addr TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE log(idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL,"
    " data BLOB NOT NULL);"
    "CREATE TABLE peers(id INTEGER PRIMARY KEY, incarnation INTEGER NOT NULL);"
    "INSERT INTO meta(key, value) VALUES('term', 0), ('vote', 0), ('commit_index', 0),"
    " ('snap_index', 0), ('snap_term', 0), ('has_conf', 0), ('recovering', 0),"
    " ('incarnation', " INCARNATION_SQL ");";

/* Upgrades from each older schema version v (index v) to v + 1, run in one
 * transaction with the user_version bump. Version 1 had no conf.addr: its
 * servers get "" (unknown), as a configuration entry of that era decodes.
 * Version 2 had no incarnation: the store draws one now (its peers learn it
 * at the next RAFT.AUTH, like a new member's). */
#define SCHEMA_VERSION_MIN 1 /* the oldest version storage_open() upgrades */
static const char *const upgrade_sql[STORAGE_SCHEMA_VERSION] = {
    [1] = "ALTER TABLE conf ADD COLUMN addr TEXT NOT NULL DEFAULT '';",
    [2] = "CREATE TABLE peers(id INTEGER PRIMARY KEY, incarnation INTEGER NOT NULL);"
          "INSERT INTO meta(key, value) VALUES('recovering', 0),"
          " ('incarnation', " INCARNATION_SQL ");",
};
/* Tables of each schema version (verify_file). */
static const int schema_tables[STORAGE_SCHEMA_VERSION + 1] = {[1] = 3, [2] = 3, [3] = 4};

/* A second process on the same dir fails fast instead of waiting: exclusive
 * locking means the lock is never released while the owner lives. */
#define BUSY_TIMEOUT_MS 50

/* Pages of a new database. Measured with make bench-cluster (pages really
 * that size: a database keeps the size it had when it entered WAL mode):
 * 16 KiB and 64 KiB pages were no faster for pipelined writes and 64 KiB
 * pages slowed unpipelined ones by a fifth (every commit writes whole
 * pages), so SQLite's usual 4 KiB; large batch entries overflow into
 * chained pages. */
#define PAGE_SIZE_STR "4096"
/* A huge batch grows the WAL; cap what stays on disk after a checkpoint. */
#define WAL_SIZE_LIMIT_BYTES (64 << 20)
/* Freed pages are not overwritten with zeros. Some builds of SQLite
 * (Debian's among them) default to secure_delete=ON, which zeroes every page
 * a DELETE frees: a trim after a snapshot then writes the whole compacted log
 * again, once into the WAL and once more at the checkpoint (2M pipelined
 * LPUSH, 254 MB of entries: 850 MB written to the two files with it, 570 MB
 * with FAST). FAST still clears deleted content inside pages that are
 * written anyway; the bytes of a trimmed entry stay in a free page until a
 * new entry reuses it or the vacuum gives it back (src/storage/storage_int.h), as a
 * rewritten AOF's old bytes do on Redis's disk. */
#define SECURE_DELETE_SQL "PRAGMA secure_delete=FAST"

/* ------------------------------------------------------------ opening */

/* fsync of a directory makes the names created in it durable. Some file
 * systems refuse it (EINVAL): they need nothing. */
static int fsync_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return util_fail(err, errlen, STORAGE_EIO, "%s: open: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc && saved != EINVAL)
        return util_fail(err, errlen, STORAGE_EIO, "%s: fsync: %s", dir, strerror(saved));
    return 0;
}

/* mkdir -p dir; each directory created is made durable in its parent. */
static int make_dirs(const char *dir, int durable, char *err, size_t errlen)
{
    size_t len = strlen(dir);
    char *p = malloc(len + 1);
    struct stat sb;
    int ret = 0;

    if (!p) return util_fail(err, errlen, STORAGE_EIO, "%s: out of memory", dir);
    memcpy(p, dir, len + 1);
    for (size_t i = 1; i <= len && ret == 0; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) == 0) {
            if (durable) {
                char *slash = strrchr(p, '/');
                const char *parent = slash == NULL ? "." : slash == p ? "/" : p;
                if (slash && slash != p) *slash = '\0';
                ret = fsync_dir(parent, err, errlen);
                if (slash && slash != p) *slash = '/';
            }
        } else if (errno != EEXIST) {
            ret = util_fail(err, errlen, STORAGE_EIO, "%s: cannot create directory: %s", p,
                            strerror(errno));
        }
        p[i] = c;
    }
    free(p);
    if (ret) return ret;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return util_fail(err, errlen, STORAGE_EIO, "%s: not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return util_fail(err, errlen, STORAGE_EIO, "%s: directory not writable: %s", dir,
                         strerror(errno));
    return 0;
}

/* SQLite's allocations go to the process's allocator through these, so
 * that sqlite3_memory_used() (storage_memory_used) counts the blocks as
 * they really are, size class included, and SQLite uses all of each. */
static void *sq_malloc(int n)
{
    return malloc((size_t)n);
}
static void sq_free(void *p)
{
    free(p);
}
static void *sq_realloc(void *p, int n)
{
    return realloc(p, (size_t)n);
}
static int sq_size(void *p)
{
    return (int)alloc_block_size(p);
}
static int sq_roundup(int n)
{
    return (int)alloc_size_class((size_t)n);
}
static int sq_init(void *ud)
{
    (void)ud;
    return SQLITE_OK;
}
static void sq_shutdown(void *ud)
{
    (void)ud;
}

/* Once, before SQLite initializes: a later call is refused (MISUSE), and
 * SQLite then keeps its own allocator, which is only a loss of accuracy. */
static void use_process_allocator(void)
{
    static int done;
    static const sqlite3_mem_methods methods = {sq_malloc,  sq_free, sq_realloc,  sq_size,
                                                sq_roundup, sq_init, sq_shutdown, NULL};
    if (done) return;
    done = 1;
    sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}

static int open_db(struct storage *s, const char *dir, char *err, size_t errlen)
{
    use_process_allocator();
    size_t n = strlen(dir) + 1 + sizeof STORAGE_FILE_NAME;
    s->path = malloc(n);
    if (!s->path) return util_fail(err, errlen, STORAGE_EIO, "%s: out of memory", dir);
    snprintf(s->path, n, "%s/%s", dir, STORAGE_FILE_NAME);

    s->vfs = storage_vfs_create();
    int rc = sqlite3_open_v2(s->path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             s->vfs ? storage_vfs_name(s->vfs) : NULL);
    if (rc != SQLITE_OK) {
        if (!s->db) return util_fail(err, errlen, STORAGE_EIO, "%s: out of memory", s->path);
        return storage_sql_error(s, "cannot open", err, errlen);
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* A read-only file opens read-only without an error; we must write. */
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return util_fail(err, errlen, STORAGE_EIO, "%s: file is read-only", s->path);
    /* Before the first read: the lock taken then is kept until close, so no
     * second process can use the file, and WAL needs no -shm file. */
    return storage_exec(s, "PRAGMA locking_mode=EXCLUSIVE", err, errlen);
}

/* Decides whether the file is a new store (*fresh) or claims to be ours, of
 * schema *version (this build's or an older one it upgrades). Nothing is
 * written before this says yes. */
static int recognise(struct storage *s, bool *fresh, int64_t *version, char *err, size_t errlen)
{
    int64_t app_id, objects;
    /* The first read: a file that is not a database fails here. */
    int rc = storage_query_one(s, "PRAGMA application_id", &app_id, NULL, 0, err, errlen);
    if (rc == 0) rc = storage_query_one(s, "PRAGMA user_version", version, NULL, 0, err, errlen);
    if (rc == 0)
        rc = storage_query_one(s, "SELECT count(*) FROM sqlite_schema", &objects, NULL, 0, err,
                               errlen);
    if (rc) return rc;

    *fresh = app_id == 0 && *version == 0 && objects == 0;
    if (*fresh) return 0;
    if (app_id != STORAGE_APPLICATION_ID)
        return util_fail(err, errlen, STORAGE_EBADFILE,
                         "%s: not a raftcache data file (an SQLite database with application_id "
                         "%#x, expected %#x); move it away or choose another dir",
                         s->path, (unsigned)app_id, (unsigned)STORAGE_APPLICATION_ID);
    if (*version < SCHEMA_VERSION_MIN || *version > STORAGE_SCHEMA_VERSION)
        return util_fail(err, errlen, STORAGE_EBADFILE,
                         "%s: schema version %lld, this raftcache reads versions %d to %d%s",
                         s->path, (long long)*version, SCHEMA_VERSION_MIN, STORAGE_SCHEMA_VERSION,
                         *version > STORAGE_SCHEMA_VERSION ? " (written by a newer raftcache?)"
                                                           : "");
    return 0;
}

/* PRAGMA quick_check's verdict: "ok", or its first problems joined by "; "
 * (the first row of a report only names the database). */
static int quick_check(struct storage *s, char *res, size_t cap, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    size_t len = 0;
    int rc;

    res[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(3)", -1, &st, NULL) != SQLITE_OK)
        return storage_sql_error(s, "quick_check", err, errlen);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < cap) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        int n = snprintf(res + len, cap - len, "%s%s", len ? "; " : "", t ? (const char *)t : "");
        len += n > 0 ? (size_t)n : 0;
    }
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW
                  ? 0
                  : storage_sql_error(s, "quick_check", err, errlen);
    sqlite3_finalize(st);
    return ret;
}

/* An existing file of ours: undamaged, and nothing but our tables. */
static int verify_file(struct storage *s, int64_t version, char *err, size_t errlen)
{
    char res[256];
    int64_t ours, all;
    int rc = quick_check(s, res, sizeof res, err, errlen);
    if (rc) return rc;
    if (strcmp(res, "ok") != 0)
        return util_fail(err, errlen, STORAGE_EBADFILE, "%s: damaged database: %s", s->path, res);

    rc = storage_query_one(s,
                           "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                           " AND name IN ('meta', 'conf', 'log', 'peers')",
                           &ours, NULL, 0, err, errlen);
    if (rc == 0)
        rc = storage_query_one(s,
                               "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%'"
                               " ESCAPE '\\'",
                               &all, NULL, 0, err, errlen);
    if (rc) return rc;
    int want = schema_tables[version];
    if (ours != want || all != want)
        return util_fail(err, errlen, STORAGE_EBADFILE,
                         "%s: unexpected schema (%lld of %d raftcache tables, %lld objects)",
                         s->path, (long long)ours, want, (long long)all);
    return 0;
}

static int set_pragmas(struct storage *s, char *err, size_t errlen)
{
    char mode[16];
    char sql[64];
    int rc = storage_query_one(s, "PRAGMA journal_mode=WAL", NULL, mode, sizeof mode, err, errlen);
    if (rc) return rc;
    if (strcmp(mode, "wal") != 0)
        return util_fail(err, errlen, STORAGE_EIO, "%s: cannot switch to WAL mode (got %s)",
                         s->path, mode);
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%d", WAL_SIZE_LIMIT_BYTES);
    rc = storage_query_one(s, sql, NULL, NULL, 0, err, errlen);
    if (rc == 0) rc = storage_query_one(s, SECURE_DELETE_SQL, NULL, NULL, 0, err, errlen);
    s->sync_level = -1;
    if (rc == 0) rc = storage_set_sync_level(s, true, err, errlen);
    return rc;
}

/* One transaction: a crash leaves either nothing (a fresh store again) or a
 * complete, recognisable store. */
static int create_schema(struct storage *s, const char *dir, char *err, size_t errlen)
{
    char sql[sizeof schema_sql + 256];
    snprintf(sql, sizeof sql,
             "BEGIN;PRAGMA application_id=%d;PRAGMA user_version=%d;%s"
             "INSERT INTO meta(key, value) VALUES('node_id', %lld);COMMIT;",
             STORAGE_APPLICATION_ID, STORAGE_SCHEMA_VERSION, schema_sql, (long long)s->node_id);
    int rc = storage_exec(s, sql, err, errlen);
    if (rc) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    /* The database file's own name must survive a power loss too. */
    return s->fsync ? fsync_dir(dir, err, errlen) : 0;
}

/* Brings a verified file of an older schema version to this one, in one
 * transaction: a crash leaves it at its old version, upgraded again at the
 * next open. Only after verify_file(), set_pragmas() (durable when fsync is
 * on) and read_state() (this node's file), before prepare_all() (the
 * statements name the new columns). */
static int upgrade_schema(struct storage *s, int64_t version, char *err, size_t errlen)
{
    int rc = storage_exec(s, "BEGIN IMMEDIATE", err, errlen);
    for (int64_t v = version; v < STORAGE_SCHEMA_VERSION && rc == 0; v++)
        rc = storage_exec(s, upgrade_sql[v], err, errlen);
    if (rc == 0) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", STORAGE_SCHEMA_VERSION);
        rc = storage_exec(s, sql, err, errlen);
    }
    if (rc == 0) rc = storage_exec(s, "COMMIT", err, errlen);
    if (rc) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* A file created before the log gave pages back (auto_vacuum NONE) is
 * rebuilt once with incremental vacuum on: VACUUM copies the database
 * through the WAL, which is then emptied into it. Either way, free pages
 * found at open (a crash before a trim's vacuum ended) are given back by the
 * next storage_trim() calls. */
static int enable_vacuum(struct storage *s, char *err, size_t errlen)
{
    int64_t mode = 0, free_pages = 0;
    int rc = storage_query_one(s, "PRAGMA auto_vacuum", &mode, NULL, 0, err, errlen);
    if (rc == 0 && mode != 2) {
        rc = storage_exec(s, "PRAGMA auto_vacuum=INCREMENTAL;VACUUM", err, errlen);
        if (rc == 0) rc = storage_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)", err, errlen);
    }
    if (rc == 0)
        rc = storage_query_one(s, "PRAGMA freelist_count", &free_pages, NULL, 0, err, errlen);
    if (rc == 0) s->vacuum_due = free_pages >= VACUUM_START_PAGES;
    return rc;
}

static int prepare_all(struct storage *s, char *err, size_t errlen)
{
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK)
            return storage_sql_error(s, stmt_sql[i], err, errlen);
    }
    return 0;
}

/* ------------------------------------------------------------ reading */

/* Every key below `required` must be there (the keys of later schema
 * versions come after those of earlier ones). */
static int read_meta(struct storage *s, int64_t v[MK_COUNT], int required, char *err, size_t errlen)
{
    bool seen[MK_COUNT] = {false};
    sqlite3_stmt *st = NULL;
    int rc, ret = 0;

    if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM meta", -1, &st, NULL) != SQLITE_OK)
        return storage_sql_error(s, "reading meta", err, errlen);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && ret == 0) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        for (int k = 0; k < MK_COUNT && key; k++) {
            if (strcmp(key, storage_meta_names[k]) != 0) continue;
            if (sqlite3_column_type(st, 1) != SQLITE_INTEGER)
                ret = util_fail(err, errlen, STORAGE_EBADFILE,
                                "%s: damaged: meta %s is not an integer", s->path, key);
            v[k] = sqlite3_column_int64(st, 1);
            seen[k] = true;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE) ret = storage_sql_error(s, "reading meta", err, errlen);
    sqlite3_finalize(st);
    for (int k = 0; k < required && ret == 0; k++)
        if (!seen[k])
            ret = util_fail(err, errlen, STORAGE_EBADFILE, "%s: damaged: meta %s missing", s->path,
                            storage_meta_names[k]);
    return ret;
}

/* Loads the cached copy of what is stored and checks the node id and that
 * the log starts right after the snapshot without gaps. */
static int read_state(struct storage *s, int64_t version, char *err, size_t errlen)
{
    int64_t v[MK_COUNT] = {0};
    int64_t count, lo, hi;
    int rc = read_meta(s, v, version >= 3 ? MK_COUNT : MK_INCARNATION, err, errlen);
    if (rc) return rc;
    if (s->node_id == 0 && v[MK_NODE_ID] > 0) s->node_id = (uint64_t)v[MK_NODE_ID]; /* a reader */
    if ((uint64_t)v[MK_NODE_ID] != s->node_id)
        return util_fail(err, errlen, STORAGE_EBADFILE,
                         "%s: belongs to node %llu, this is node %llu (wrong dir or node-id?)",
                         s->path, (unsigned long long)v[MK_NODE_ID],
                         (unsigned long long)s->node_id);
    s->hs.term = (raft_term)v[MK_TERM];
    s->hs.vote = (raft_id)v[MK_VOTE];
    s->hs.commit = (raft_index)v[MK_COMMIT];
    s->snap_index = (raft_index)v[MK_SNAP_INDEX];
    s->snap_term = (raft_term)v[MK_SNAP_TERM];
    s->has_conf = v[MK_HAS_CONF] != 0;
    s->incarnation = (uint64_t)v[MK_INCARNATION]; /* 0 before version 3: drawn by the upgrade */
    s->recovering = v[MK_RECOVERING] != 0;
    if (version >= 3 && v[MK_INCARNATION] <= 0)
        return util_fail(err, errlen, STORAGE_EBADFILE, "%s: damaged: meta incarnation is %lld",
                         s->path, (long long)v[MK_INCARNATION]);

    /* Rows at or below the snapshot index are compacted ones not trimmed
     * yet (storage_trim): never loaded, deleted later. */
    int64_t below;
    char q[3][96];
    snprintf(q[0], sizeof q[0], "SELECT count(*) FROM log WHERE idx > %llu",
             (unsigned long long)s->snap_index);
    snprintf(q[1], sizeof q[1], "SELECT coalesce(min(idx), 0) FROM log WHERE idx > %llu",
             (unsigned long long)s->snap_index);
    snprintf(q[2], sizeof q[2], "SELECT coalesce(min(idx), 0) FROM log");
    rc = storage_query_one(s, q[0], &count, NULL, 0, err, errlen);
    if (rc == 0) rc = storage_query_one(s, q[1], &lo, NULL, 0, err, errlen);
    if (rc == 0)
        rc = storage_query_one(s, "SELECT coalesce(max(idx), 0) FROM log", &hi, NULL, 0, err,
                               errlen);
    if (rc == 0) rc = storage_query_one(s, q[2], &below, NULL, 0, err, errlen);
    if (rc) return rc;
    s->trim_lo =
        below > 0 && (uint64_t)below <= s->snap_index ? (raft_index)below : s->snap_index + 1;
    if (count == 0) {
        s->last_index = s->snap_index;
        return 0;
    }
    if ((uint64_t)lo != s->snap_index + 1 || hi - lo + 1 != count)
        return util_fail(
            err, errlen, STORAGE_EBADFILE,
            "%s: damaged log: %lld entries from %lld to %lld, expected a run from %llu", s->path,
            (long long)count, (long long)lo, (long long)hi, (unsigned long long)s->snap_index + 1);
    s->last_index = (raft_index)hi;
    return 0;
}

static int load_conf(struct storage *s, struct raft_conf *c, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = 0;

    memset(c, 0, sizeof *c);
    if (sqlite3_prepare_v2(s->db, "SELECT id, voter, addr FROM conf ORDER BY pos", -1, &st, NULL) !=
        SQLITE_OK)
        return storage_sql_error(s, "reading conf", err, errlen);
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), voter = sqlite3_column_int64(st, 1);
        bool text = sqlite3_column_type(st, 2) == SQLITE_TEXT; /* before any conversion */
        const char *addr = (const char *)sqlite3_column_text(st, 2);
        size_t addr_len = addr ? (size_t)sqlite3_column_bytes(st, 2) : 0;
        /* An address must fit with its NUL and hold no NUL of its own. */
        if (c->n == RAFT_MAX_NODES || id == 0 || (voter != 0 && voter != 1) || !text || !addr ||
            addr_len >= RAFT_ADDR_MAX || strlen(addr) != addr_len) {
            ret = util_fail(err, errlen, STORAGE_EBADFILE,
                            "%s: damaged configuration (server %lld)", s->path, (long long)id);
        } else {
            struct raft_server *sv = &c->s[c->n++]; /* zeroed above */
            sv->id = (raft_id)id;
            sv->voter = voter == 1;
            memcpy(sv->addr, addr, addr_len);
        }
    }
    if (ret == 0 && rc != SQLITE_DONE) ret = storage_sql_error(s, "reading conf", err, errlen);
    sqlite3_finalize(st);
    return ret;
}

/* Checks one stored entry against the invariants of storage.h. */
static int check_entry(struct storage *s, sqlite3_stmt *st, raft_index want, raft_term prev_term,
                       char *err, size_t errlen)
{
    int64_t idx = sqlite3_column_int64(st, 0), term = sqlite3_column_int64(st, 1),
            type = sqlite3_column_int64(st, 2);
    const char *why = NULL;

    if ((raft_index)idx != want)
        why = "index out of sequence";
    else if ((raft_term)term < prev_term)
        why = "term goes down";
    else if ((raft_term)term > s->hs.term)
        why = "term above the current term";
    else if (type < RAFT_ENTRY_NORMAL || type > RAFT_ENTRY_CONF)
        why = "unknown entry type";
    else if (sqlite3_column_type(st, 3) != SQLITE_BLOB)
        why = "data is not a blob";
    if (why)
        return util_fail(err, errlen, STORAGE_EBADFILE, "%s: damaged log at index %lld: %s",
                         s->path, (long long)idx, why);
    return 0;
}

/* Every entry, with its data copied into one block sized beforehand. */
static int load_entries(struct storage *s, struct storage_state *st, char *err, size_t errlen)
{
    int64_t total;
    uint64_t count = s->last_index - s->snap_index, n = 0, off = 0;
    sqlite3_stmt *q = NULL;
    int rc, ret;

    char sum_sql[96];
    snprintf(sum_sql, sizeof sum_sql,
             "SELECT coalesce(sum(length(data)), 0) FROM log WHERE idx > %llu",
             (unsigned long long)s->snap_index);
    ret = storage_query_one(s, sum_sql, &total, NULL, 0, err, errlen);
    if (ret) return ret;
    if (count > UINT32_MAX)
        return util_fail(err, errlen, STORAGE_EBADFILE, "%s: %llu log entries, more than supported",
                         s->path, (unsigned long long)count);
    st->entries = calloc(count ? count : 1, sizeof *st->entries);
    st->data = malloc(total ? (size_t)total : 1);
    if (!st->entries || !st->data)
        return util_fail(err, errlen, STORAGE_EIO, "%s: out of memory loading %llu entries",
                         s->path, (unsigned long long)count);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT idx, term, type, data FROM log WHERE idx > ?1 ORDER BY idx", -1,
                           &q, NULL) != SQLITE_OK)
        return storage_sql_error(s, "reading log", err, errlen);
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->snap_index);
    raft_term prev = s->snap_term;
    while (ret == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        ret = check_entry(s, q, s->snap_index + 1 + n, prev, err, errlen);
        const void *blob = sqlite3_column_blob(q, 3); /* before _bytes(), as SQLite asks */
        uint64_t len = (uint64_t)sqlite3_column_bytes(q, 3);
        if (ret == 0 && len && !blob)
            ret = util_fail(err, errlen, STORAGE_EIO, "%s: out of memory reading the log", s->path);
        if (ret == 0 && (n == count || off + len > (uint64_t)total))
            ret = util_fail(err, errlen, STORAGE_EBADFILE, "%s: damaged log: changed while read",
                            s->path);
        if (ret) break;
        struct raft_entry *e = &st->entries[n++];
        e->index = (raft_index)sqlite3_column_int64(q, 0);
        e->term = prev = (raft_term)sqlite3_column_int64(q, 1);
        e->type = (uint32_t)sqlite3_column_int64(q, 2);
        e->len = (uint32_t)len;
        e->data = st->data + off;
        if (len) memcpy(st->data + off, blob, len);
        off += len;
    }
    if (ret == 0 && rc != SQLITE_DONE) ret = storage_sql_error(s, "reading log", err, errlen);
    if (ret == 0 && n != count)
        ret = util_fail(err, errlen, STORAGE_EBADFILE, "%s: damaged log: %llu of %llu entries",
                        s->path, (unsigned long long)n, (unsigned long long)count);
    sqlite3_finalize(q);
    st->n_entries = (uint32_t)n;
    return ret;
}

static int load_state(struct storage *s, struct storage_state *st, bool entries, char *err,
                      size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->hs = s->hs;
    st->snap.index = s->snap_index;
    st->snap.term = s->snap_term;
    int rc = load_conf(s, &st->snap.conf, err, errlen);
    if (rc == 0 && entries) rc = load_entries(s, st, err, errlen);
    if (rc) {
        storage_state_free(st);
        return rc;
    }
    st->fresh = !s->has_conf && s->hs.term == 0 && s->snap_index == 0 && s->last_index == 0;
    return 0;
}

int storage_load(struct storage *s, struct storage_state *st, char *err, size_t errlen)
{
    return load_state(s, st, true, err, errlen);
}

int storage_load_head(struct storage *s, struct storage_state *st, char *err, size_t errlen)
{
    return load_state(s, st, false, err, errlen);
}

void storage_state_free(struct storage_state *st)
{
    free(st->entries);
    free(st->data);
    memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------ open/close */

int storage_open(struct storage **out, const char *dir, uint64_t node_id, int fsync, char *err,
                 size_t errlen)
{
    ASSERT(out && dir && node_id != 0);
    *out = NULL;
    struct storage *s = calloc(1, sizeof *s);
    if (!s) return util_fail(err, errlen, STORAGE_EIO, "%s: out of memory", dir);
    s->node_id = node_id;
    s->fsync = fsync ? 1 : 0;
    s->wal_fd = s->own_wal_fd = -1;
    s->vacuum_delay_ms = VACUUM_DELAY_MS;
    s->trimmed_us = INT64_MIN / 2; /* free pages found at open go at once */

    bool fresh = false;
    int64_t version = 0;
    int rc = make_dirs(dir, s->fsync, err, errlen);
    if (rc == 0) rc = open_db(s, dir, err, errlen);
    if (rc == 0) rc = recognise(s, &fresh, &version, err, errlen);
    /* Checked before anything is written: a damaged file stays as found. */
    if (rc == 0 && !fresh) rc = verify_file(s, version, err, errlen);
    /* The page size must be set before WAL mode: a database in WAL mode
     * keeps the size it was created with. */
    if (rc == 0 && fresh)
        rc = storage_exec(s, "PRAGMA page_size=" PAGE_SIZE_STR ";PRAGMA auto_vacuum=INCREMENTAL",
                          err, errlen);
    if (rc == 0) rc = set_pragmas(s, err, errlen);
    if (rc == 0 && fresh) rc = create_schema(s, dir, err, errlen);
    /* Another node's file, or a damaged log, is refused before any upgrade. */
    if (rc == 0) rc = read_state(s, fresh ? STORAGE_SCHEMA_VERSION : version, err, errlen);
    /* SQLite replays the WAL up to its first bad frame (a damaged one, or one
     * cut by a crash) and then writes its next frames over it, but the later
     * frames stay in the file with the current salts until the WAL starts
     * over: after another crash, the WAL check (storage_wal.h) would find
     * them behind the new frames and report damage that was already reported
     * (and overwrite the copy kept of it). So what SQLite kept goes into the
     * database now and the WAL is emptied: each start checks only what was
     * written since the last one. */
    if (rc == 0 && !fresh) rc = storage_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)", err, errlen);
    if (rc == 0 && !fresh && version < STORAGE_SCHEMA_VERSION)
        rc = upgrade_schema(s, version, err, errlen);
    if (rc == 0 && !fresh) rc = enable_vacuum(s, err, errlen);
    if (rc == 0) {
        int64_t size = 0;
        rc = storage_query_one(s, "PRAGMA page_size", &size, NULL, 0, err, errlen);
        s->page_size = (uint64_t)size;
    }
    if (rc == 0 && s->incarnation == 0) {
        int64_t inc = 0;
        rc = storage_query_one(s, "SELECT value FROM meta WHERE key = 'incarnation'", &inc, NULL, 0,
                               err, errlen);
        s->incarnation = (uint64_t)inc;
        ASSERT(rc != 0 || inc > 0);
    }
    if (rc == 0) rc = prepare_all(s, err, errlen);
    if (rc) {
        storage_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The file at s->path read as it is: immutable (no lock, no journal, no
 * WAL: storage_ro.c says when that is right). */
static int open_immutable(struct storage *s, char *err, size_t errlen)
{
    use_process_allocator();
    char uri[4200];
    if (snprintf(uri, sizeof uri, "file:%s?immutable=1", s->path) >= (int)sizeof uri)
        return util_fail(err, errlen, STORAGE_EIO, "%s: path too long", s->path);
    for (const char *p = s->path; *p; p++) /* a URI's reserved characters */
        if (*p == '?' || *p == '#' || *p == '%')
            return util_fail(err, errlen, STORAGE_EIO,
                             "%s: the path holds '%c': copy the dir "
                             "to another path",
                             s->path, *p);
    int rc = sqlite3_open_v2(uri, &s->db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (!s->db) return util_fail(err, errlen, STORAGE_EIO, "%s: out of memory", s->path);
        return storage_sql_error(s, "cannot open", err, errlen);
    }
    sqlite3_extended_result_codes(s->db, 1);
    return 0;
}

/* The WAL beside dir's database holds frames: it must be replayed (a copy). */
static bool wal_has_frames(const char *dir)
{
    char wal[4096];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s/%s-wal", dir, STORAGE_FILE_NAME);
    return stat(wal, &sb) == 0 && sb.st_size > 0;
}

/* Opens the database of dir, or of its private copy, read-only. */
static int open_reader(struct storage *s, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    struct stat sb;
    if (snprintf(path, sizeof path, "%s/%s", dir, STORAGE_FILE_NAME) >= (int)sizeof path)
        return util_fail(err, errlen, STORAGE_EIO, "%s: path too long", dir);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return util_fail(err, errlen, STORAGE_EBADFILE, "%s: no such directory", dir);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
        return util_fail(err, errlen, STORAGE_EBADFILE,
                         "%s: not a raftcache data dir (no %s in it, or an empty one)", dir,
                         STORAGE_FILE_NAME);
    int rc = storage_ro_in_use(path, err, errlen);
    if (rc) return rc;
    if (!wal_has_frames(dir)) {
        s->path = util_xmemdup(path, strlen(path) + 1);
        return open_immutable(s, err, errlen);
    }
    rc = storage_ro_copy(dir, &s->copy_dir, err, errlen);
    if (rc == 0) rc = open_db(s, s->copy_dir, err, errlen);
    return rc;
}

int storage_open_readonly(struct storage **out, const char *dir, char *err, size_t errlen)
{
    ASSERT(out && dir);
    *out = NULL;
    struct storage *s = util_xcalloc(1, sizeof *s);
    s->wal_fd = s->own_wal_fd = -1;
    bool fresh = false;
    int64_t version = 0;
    int rc = open_reader(s, dir, err, errlen);
    if (rc == 0) rc = recognise(s, &fresh, &version, err, errlen);
    if (rc == 0 && fresh)
        rc = util_fail(err, errlen, STORAGE_EBADFILE, "%s: an empty database, no Raft state",
                       s->path);
    if (rc == 0) rc = verify_file(s, version, err, errlen);
    if (rc == 0) rc = read_state(s, version, err, errlen);
    if (rc == 0)
        rc = sqlite3_prepare_v3(s->db, stmt_sql[ST_LOG_READ], -1, SQLITE_PREPARE_PERSISTENT,
                                &s->stmt[ST_LOG_READ], NULL) == SQLITE_OK
                 ? 0
                 : storage_sql_error(s, stmt_sql[ST_LOG_READ], err, errlen);
    if (rc) {
        storage_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

uint64_t storage_node_id(const struct storage *s)
{
    return s->node_id;
}

void storage_close(struct storage *s)
{
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    /* Every statement is finalized, so this closes (and checkpoints) now. */
    sqlite3_close(s->db);
    if (s->wal_fd >= 0) close(s->wal_fd);
    if (s->own_wal_fd >= 0) close(s->own_wal_fd);
    storage_vfs_free(s->vfs);
    if (s->copy_dir) storage_ro_remove_copy(s->copy_dir);
    free(s->copy_dir);
    free(s->path);
    free(s);
}

void storage_set_progress(struct storage *s, void (*fn)(void *ud), void *ud, uint32_t interval_ms)
{
    if (s->vfs) storage_vfs_set_hook(s->vfs, fn, ud, interval_ms);
}
