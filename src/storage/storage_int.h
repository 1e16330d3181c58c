/*
 * src/storage/storage_int.h - private to the storage module's files (src/storage/storage.c:
 * the statement helpers and the write transactions; src/storage/storage_open.c:
 * opening, recognising and reading a data file): the handle's state and the
 * helpers both use. Nothing else includes it; the rest of the server uses
 * storage.h, which documents the module.
 */
#ifndef STORAGE_INT_H
#define STORAGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

/* SQLite's handles, by their struct names: this header leaves sqlite3.h to
 * the storage files. */
struct sqlite3;
struct sqlite3_stmt;

/* Statements of the write paths, prepared once at open (their SQL:
 * src/storage/storage_open.c). */
enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_LOG_INSERT,
    ST_LOG_TRUNCATE,
    ST_LOG_DROP_UPTO,
    ST_META_SET,
    ST_CONF_CLEAR,
    ST_CONF_ADD,
    ST_PEER_GET,
    ST_PEER_SET,
    ST_PEER_FORGET,
    ST_LOG_READ,
    ST_LOG_SIZES,
    ST_COUNT
};

/* Rows of the meta table; every one exists from creation on (their names:
 * storage_meta_names). */
enum meta_key {
    MK_NODE_ID,
    MK_TERM,
    MK_VOTE,
    MK_COMMIT,
    MK_SNAP_INDEX,
    MK_SNAP_TERM,
    MK_HAS_CONF,
    MK_INCARNATION,
    MK_RECOVERING,
    MK_COUNT
};

extern const char *const storage_meta_names[MK_COUNT];

/* The file is shrunk (incremental vacuum, storage_trim) once its free pages
 * are at least this many (4 MB of 4 KB pages), down to VACUUM_KEEP_PAGES: a
 * little room that the next entries reuse instead of growing the file again
 * at once. */
#define VACUUM_START_PAGES 1024
#define VACUUM_KEEP_PAGES 256
/* How long the pages a trim freed are left for new entries before the rest
 * is given back (storage_set_vacuum_delay). While writes keep coming, the
 * entries appended after a compaction take the freed pages (SQLite allocates
 * from the free list first); a vacuum right away would instead move those
 * new entries' pages down into the hole, one page at a time through the WAL
 * and the checkpoint, only for the file to grow again. Under a steady write
 * load that moved about 40% of the logged bytes a second time. */
#define VACUUM_DELAY_MS 5000

/* PRAGMA synchronous levels (storage_set_sync_level). */
enum { SYNC_OFF = 0, SYNC_NORMAL = 1, SYNC_FULL = 2 };

struct storage {
    struct sqlite3 *db;
    struct storage_vfs *vfs; /* the one db was opened with; NULL: the default */
    char *path;              /* dir/raftcache.db, for messages */
    uint64_t node_id;
    int fsync;
    int sync_level; /* the connection's PRAGMA synchronous (SYNC_*), -1 unknown */
    /* Deferred syncs (storage_defer_sync): batches are committed without an
     * fsync and the WAL, opened again, is synced apart: wal_fd by another
     * thread (storage_sync_fd), own_wal_fd by storage_sync(). */
    bool deferred;
    int wal_fd, own_wal_fd;
    uint64_t written; /* transactions committed since open (storage_written) */
    struct sqlite3_stmt *stmt[ST_COUNT];
    /* What is stored, kept in step with the database after each COMMIT. */
    struct raft_hard_state hs;
    raft_index snap_index;
    raft_term snap_term;
    bool has_conf;         /* a configuration was ever recorded */
    raft_index last_index; /* snap_index when the log is empty */
    uint64_t incarnation;  /* IDENTITY in storage.h */
    bool recovering;       /* storage_set_recovering() */
    /* Rows trim_lo .. snap_index are compacted but may still be stored:
     * storage_trim() deletes them a bounded chunk at a time. */
    raft_index trim_lo;
    uint32_t trim_units; /* work per trim statement (storage_trim), adapted to its cost */
    /* After a trim, free pages are given back to the file system by
     * incremental vacuum steps (storage_trim) while vacuum_due, once
     * vacuum_delay_ms passed since trimmed_us (clock_mono_us: when the
     * trim's last rows went; long ago for free pages found at open). */
    bool vacuum_due;
    int64_t trimmed_us;
    uint32_t vacuum_delay_ms;
    uint32_t vacuum_pages;   /* pages per step, adapted to their cost */
    uint64_t vacuumed_pages; /* pages given back since open (INFO) */
    uint64_t page_size;      /* the file's, in bytes */
    uint64_t fsync_count, fsync_total_us, fsync_max_us, fsync_last_us;
    char *copy_dir; /* storage_open_readonly's private copy, removed at close; NULL: none */
};

/* The connection's last error, about `what`: STORAGE_EBADFILE for damage
 * SQLite found in the file, STORAGE_EIO for anything else. */
int storage_sql_error(struct storage *s, const char *what, char *err, size_t errlen);
/* Sets PRAGMA synchronous for the next transactions, durable ones or not:
 * OFF with fsync off; FULL for durable ones with fsync on (NORMAL once syncs
 * are deferred); NORMAL for the others (storage.c says why never OFF).
 * Executes only when the level changes. */
int storage_set_sync_level(struct storage *s, bool durable, char *err, size_t errlen);
/* Runs SQL that returns no rows (one statement or several). */
int storage_exec(struct storage *s, const char *sql, char *err, size_t errlen);
/* First column of the first row of a one-off query, into *num (as an
 * integer) and/or text[0..textlen) (as text); either may be NULL. */
int storage_query_one(struct storage *s, const char *sql, int64_t *num, char *text, size_t textlen,
                      char *err, size_t errlen);

/* storage_open_readonly's file work (src/storage/storage_ro.c): whether a
 * process holds SQLite's locks on db_path (STORAGE_EIO naming it, else 0);
 * a copy of dir's database and WAL in a new directory under TMPDIR
 * (*copy_dir, the caller's to free, set as soon as the directory exists);
 * and the removal of such a copy. */
int storage_ro_in_use(const char *db_path, char *err, size_t errlen);
int storage_ro_copy(const char *dir, char **copy_dir, char *err, size_t errlen);
void storage_ro_remove_copy(const char *copy_dir);

#endif
