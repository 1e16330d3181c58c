/*
 * src/storage/storage.h - durable Raft state: the log, the hard state and the cluster
 * configuration, in one SQLite database, dir/raftcache.db.
 *
 * This module is the only user of SQLite in the project. It stores what the
 * Raft core (raft/raft.h) hands the driver to persist and gives it back at
 * start-up for raft_restore(); it knows nothing of the state machine, whose
 * data lives in memory and is rebuilt by re-applying committed entries after
 * the snapshot (the snapshot data itself is stored by the snapshot module,
 * not here).
 *
 * DURABILITY. storage_save() writes everything one ready batch hands over
 * (installed snapshot, entries, hard state) in ONE transaction: group commit,
 * one fsync per batch however many client commands the batch carries. With
 * fsync on (raft-log-fsync yes, the default) the database is in WAL mode with
 * synchronous=FULL, so a transaction whose call returned 0 survives kill -9
 * and power loss; a transaction interrupted by a crash is rolled back as a
 * whole at the next open, never half applied. With fsync off
 * (synchronous=OFF) a returned batch survives kill -9 (it is in the page
 * cache) but not power loss: that breaks the SPEC's durability promise and is
 * the operator's choice. A batch that only moves the commit index is written
 * without an fsync even with fsync on: Raft does not need the commit index
 * to be durable (a node restarted with an older one learns it again), and
 * the next synced transaction makes it durable anyway (WAL order). For the
 * same reason the commit index is stored only once it has moved
 * STORAGE_COMMIT_STEP entries past the stored one, or with a change of term,
 * vote or snapshot: storing every move cost a node that commits as it
 * writes (a leader) a second transaction per batch, or the meta table's
 * page in each. A restarted node applies the log up to the stored index,
 * then learns the rest from the leader (a node alone: from its own first
 * commit), as after any crash.
 * Transactions that need no fsync of their own (that commit index, a trim,
 * a vacuum step) run at synchronous=NORMAL, not OFF: SQLite's automatic
 * checkpoint may run inside any of them, and at OFF it would sync neither
 * the WAL nor the database (storage.c).
 *
 * DEFERRED SYNC (storage_defer_sync()). The fsync of a batch is the
 * longest part of its write, and on the caller's thread nothing else
 * happens meanwhile. After storage_defer_sync(), storage_save() commits at
 * synchronous=NORMAL: the batch is in the WAL file (it survives kill -9)
 * but durable against power loss only once the WAL is synced, which its
 * caller does apart: storage_sync() on its own thread, or fdatasync() of
 * storage_sync_fd() on another thread, reported back with storage_synced().
 * A sync makes every transaction committed before it started durable (the
 * WAL is one file, replayed as a prefix; SQLite's checkpoints sync the WAL
 * before copying it into the database, and the database before the WAL
 * starts over). The other writes that promise durability (storage_compact,
 * the identity rows) still sync before they return.
 *
 * SQLite treats a WAL frame that fails its checksum as the end of the WAL and
 * silently drops what follows: src/storage/storage_wal.h checks the WAL before this
 * module opens the database (the caller's job, src/node/node_safety.c).
 *
 * INVARIANTS of the stored log (checked at open and load; a violation means
 * a damaged file and is refused):
 *   - the log holds exactly the entries snap.index + 1 .. last index, with no
 *     gap; rows at or below the snapshot index are compacted ones that
 *     storage_trim() has not deleted yet, and are never loaded;
 *   - terms never decrease along the log, none is below the snapshot's term
 *     (when there is a snapshot) and none is above the hard state's term;
 *   - entry types are those of enum raft_entry_type.
 * The callers keep them by passing what the core hands out; breaking them
 * (a gap, an index at or below the snapshot) is a programmer error and
 * asserts.
 *
 * RECOGNISING OUR FILE. A database is used only if its PRAGMA application_id
 * is STORAGE_APPLICATION_ID, its PRAGMA user_version is STORAGE_SCHEMA_VERSION
 * or an older version listed below, it holds exactly our tables, it passes
 * PRAGMA quick_check and it was created for the same node id. Anything else (a
 * file that is not a database, another application's database, a newer or
 * unknown schema, damage, another node's data dir) is refused with
 * STORAGE_EBADFILE and a message naming the file: a node must never start on
 * state that is not its own. A file of an older version is upgraded in place
 * at open, in one transaction (a crash leaves it at its old version, upgraded
 * at the next open); a raftcache of the older version then refuses it. A
 * missing or empty file is a new store. The database is opened in exclusive
 * locking mode, so a second process on the same dir is refused too
 * (STORAGE_EIO, "database is locked").
 *
 * Schema (version 3):
 *   meta(key TEXT PRIMARY KEY, value)  node_id, term, vote, commit_index,
 *                                      snap_index, snap_term, has_conf, incarnation,
 *                                      recovering (integers; has_conf: a configuration
 *                                      was ever recorded; incarnation: see IDENTITY;
 *                                      recovering: 0 or 1, storage_set_recovering())
 *   conf(pos INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, voter INTEGER NOT NULL,
 *        addr TEXT NOT NULL DEFAULT '')
 *                                      the configuration at the snapshot index,
 *                                      one row per server, in raft_conf order;
 *                                      addr: struct raft_server.addr ("" = unknown,
 *                                      shorter than RAFT_ADDR_MAX bytes, no NUL)
 *   log(idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL)
 *   peers(id INTEGER PRIMARY KEY, incarnation INTEGER NOT NULL)
 *                                      the incarnation each peer presented (IDENTITY)
 * Older versions, upgraded at open:
 *   1: conf had no addr column; its servers load with addr "". (Configuration
 *      entries in the log keep the format they were written in; the core reads
 *      both, see raft_conf_decode().)
 *   2: no peers table, no incarnation or recovering rows: the upgrade draws
 *      an incarnation and records no peer.
 *
 * IDENTITY. A store draws a random incarnation (a positive 63-bit number)
 * when it is created and keeps it for its whole life: a node whose dir was
 * wiped (or replaced) comes back under its old node id with another
 * incarnation. Peers present theirs on RAFT.AUTH and each node remembers, in
 * the peers table, the incarnation each peer id presented, so that it can
 * refuse a peer that lost the state it had acknowledged (see
 * docs/storage-safety.md).
 * The configuration is rows, not raft_conf_encode() bytes, so that the server
 * needs no part of the core to read its own file (and an operator can read it
 * with the sqlite3 shell).
 *
 * ERRORS. Every function that can fail returns 0 or a negative STORAGE_E*
 * code and writes a one-line, NUL-terminated reason naming the file into
 * err[0..errlen) (err may be NULL when errlen is 0). An operating error
 * (STORAGE_EIO: disk full, I/O error, permissions) leaves the store as it was
 * before the call: the transaction is rolled back and nothing of the batch is
 * stored; the server's policy decides what to do (it exits: a node that
 * cannot persist must not acknowledge anything). Any call may also return
 * STORAGE_EBADFILE if SQLite finds the file damaged while using it.
 *
 * Single-threaded: one struct storage is used by one thread (another may
 * only fdatasync storage_sync_fd()).
 */
#ifndef STORAGE_H
#define STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "raft/raft.h"

#define STORAGE_FILE_NAME "raftcache.db"
#define STORAGE_APPLICATION_ID 0x52667443 /* "RftC": PRAGMA application_id of our files */
#define STORAGE_SCHEMA_VERSION 3          /* PRAGMA user_version this build reads and writes */
#define STORAGE_COMMIT_STEP 1024          /* see DURABILITY above */

enum {
    STORAGE_OK = 0,
    STORAGE_EIO = -1,      /* an operating error: SQLite or the OS failed; err says why */
    STORAGE_EBADFILE = -2, /* the file is damaged, foreign, of another schema or node */
};

struct storage;

/* What storage_load() hands back. Owned by the caller; release with
 * storage_state_free(). */
struct storage_state {
    bool fresh;                     /* nothing was ever saved: no configuration, no snapshot,
                                       term 0, no entries - first boot */
    struct raft_hard_state hs;      /* zeros on a fresh store */
    struct raft_snapshot_meta snap; /* index 0 = no snapshot; conf = the configuration
                                       at snap.index (the initial one at index 0) */
    uint32_t n_entries;
    struct raft_entry *entries; /* snap.index + 1 .. snap.index + n_entries, in order */
    uint8_t *data;              /* one block holding every entries[i].data */
};

/* One ready batch to persist, in the order raft.h's contract lists. */
struct storage_batch {
    /* NULL, or a snapshot that becomes the log's base: the WHOLE stored log is
     * dropped and *snapshot recorded (index, term, configuration). Used for a
     * snapshot installed from the leader (rd.snap_chunk with done), whose data
     * must already be durable, and at first boot with {0, 0, initial members}
     * to record the initial configuration. Its index must not be below the
     * stored snapshot's. */
    const struct raft_snapshot_meta *snapshot;
    /* Entries with consecutive indexes. Every stored entry with an index
     * >= entries[0].index is deleted first (a conflicting suffix), then these
     * are appended. entries[0].index must lie in snap.index + 1 .. last + 1.
     * Data is borrowed for the call. */
    uint32_t n_entries;
    const struct raft_entry *entries;
    /* NULL = unchanged. Written only if it differs from the stored one, and
     * the commit index alone only in steps (storage_hs_due). */
    const struct raft_hard_state *hs;
};

/* Whether a batch's hard state is written, against the stored one *stored:
 * a new term or vote always; the commit index alone once it reaches
 * STORAGE_COMMIT_STEP past the stored one, or with a snapshot (DURABILITY
 * above). src/storage/storage.c and the node simulator's storage both follow it. */
static inline bool storage_hs_due(const struct storage_batch *b,
                                  const struct raft_hard_state *stored)
{
    if (!b->hs) return false;
    if (b->hs->term != stored->term || b->hs->vote != stored->vote) return true;
    if (b->hs->commit == stored->commit) return false;
    return b->snapshot || b->hs->commit >= stored->commit + STORAGE_COMMIT_STEP;
}

/* A batch that only moves the commit index (no snapshot, no entries, the
 * same term and vote): written without an fsync even with fsync on. */
static inline bool storage_commit_only(const struct storage_batch *b,
                                       const struct raft_hard_state *stored)
{
    return !b->snapshot && b->n_entries == 0 && b->hs && b->hs->term == stored->term &&
           b->hs->vote == stored->vote;
}

struct storage_stats {
    uint64_t fsync_count;    /* committed write transactions while fsync was on */
    uint64_t fsync_total_us; /* time spent in their COMMIT */
    uint64_t fsync_max_us;
    uint64_t fsync_last_us;    /* the latest one's */
    uint64_t log_entries;      /* stored entries: last_index - first_index + 1 */
    uint64_t first_index;      /* snapshot index + 1, even when the log is empty */
    uint64_t last_index;       /* last stored index; the snapshot index when the log is empty */
    uint64_t file_bytes;       /* raftcache.db and its WAL on disk, now */
    uint64_t vacuumed_bytes;   /* given back to the file system since open (storage_trim) */
    uint64_t file_writes;      /* writes SQLite made to its files since open */
    uint64_t file_write_calls; /* the system writes they were merged into (storage_vfs.h) */
    uint64_t file_reads;       /* reads SQLite made of its files since open */
    uint64_t file_read_calls;  /* the system reads made for them (read-ahead: storage_vfs.h) */
};

/*
 * Opens (creating it if missing) dir/raftcache.db for node node_id (!= 0).
 * dir and its missing parents are created (mode 0700). fsync: 1 = durable
 * commits (synchronous=FULL), 0 = synchronous=OFF. Verifies the file,
 * checkpoints its WAL into it and empties the WAL (what SQLite replayed is in
 * the database from then on, and the next start's WAL check sees only what
 * was written after this one), then upgrades an older schema, as described
 * above. On success *out is a store
 * to release with storage_close(). Returns 0; STORAGE_EBADFILE (the file is
 * not ours or is damaged: the node must not start on it); STORAGE_EIO (cannot
 * create dir or file, read-only, locked by another process, I/O error). On
 * failure *out is NULL.
 */
int storage_open(struct storage **out, const char *dir, uint64_t node_id, int fsync, char *err,
                 size_t errlen);

/*
 * READ-ONLY, for an offline reader of a stopped node's dir (src/server/restore.h):
 * opens dir/raftcache.db without changing anything in dir - no file created,
 * written, locked or upgraded, no dir created - and without knowing the node
 * id (the file's is adopted: storage_node_id). The file is recognised and
 * verified as storage_open() does (an older schema is read as it is). A
 * database whose WAL holds frames (a node killed rather than stopped) is
 * first copied with its WAL into a new directory under TMPDIR (or /tmp),
 * where SQLite replays the WAL; the copy goes at storage_close(). Only
 * storage_load(), storage_load_head(), storage_read(), storage_stats(),
 * storage_node_id() and storage_close() may be called on it. Returns 0;
 * STORAGE_EBADFILE (no such dir, no raftcache.db in it, not ours, damaged,
 * empty); STORAGE_EIO (a raftcache process holds the file's locks: it is
 * running; no room for the copy; I/O error).
 */
int storage_open_readonly(struct storage **out, const char *dir, char *err, size_t errlen);

/* The node id the file belongs to. */
uint64_t storage_node_id(const struct storage *s);

/* Closes the database (checkpointing the WAL into the main file). NULL is fine. */
void storage_close(struct storage *s);

/* From now on, long writes (a large entry, a checkpoint) call fn(ud) from
 * inside, at most once per interval_ms, so the caller can keep other work
 * going meanwhile (src/storage/storage_vfs.h: fn must not call the storage, nor
 * block). fn NULL: never. Without the hook (its VFS could not be set up at
 * open), nothing is called. */
void storage_set_progress(struct storage *s, void (*fn)(void *ud), void *ud, uint32_t interval_ms);

/*
 * Reads everything raft_restore() needs into *st: hard state, snapshot meta
 * with its configuration, and every stored entry with its data. Returns 0;
 * STORAGE_EBADFILE if the stored state breaks an invariant above (*st is then
 * empty); STORAGE_EIO (read error, out of memory). *st needs
 * storage_state_free() after a 0 return; after an error it is safe to free too.
 */
int storage_load(struct storage *s, struct storage_state *st, char *err, size_t errlen);

/* storage_load() without the entries (n_entries 0; *st still needs
 * storage_state_free()): for a reader that pages through the log with
 * storage_read() in bounded memory. */
int storage_load_head(struct storage *s, struct storage_state *st, char *err, size_t errlen);

/* Frees what storage_load() allocated and zeroes *st. */
void storage_state_free(struct storage_state *st);

/*
 * Persists one ready batch in one transaction (see struct storage_batch): the
 * snapshot, then the entries, then the hard state. A batch with nothing to
 * change returns 0 without touching the disk. Returns 0 once the batch is
 * committed (durable when fsync is on), or STORAGE_EIO with nothing of the
 * batch stored.
 */
int storage_save(struct storage *s, const struct storage_batch *b, char *err, size_t errlen);

/*
 * Local log compaction after the driver took a snapshot of its state machine
 * up to meta->index (raft_snapshot_taken() filled *meta): records *meta as the
 * log's base, in one transaction. The entries up to meta->index are from then
 * on compacted: never loaded again, and deleted by storage_trim() a bounded
 * chunk at a time (deleting a large log in one statement would stall the
 * event loop for as long as it takes). The snapshot's data must already be
 * durable. meta->index must be above the stored snapshot index and at most
 * the last stored index. Returns 0 or STORAGE_EIO (nothing changed).
 */
int storage_compact(struct storage *s, const struct raft_snapshot_meta *meta, char *err,
                    size_t errlen);

/* Entries read back from the log (storage_read): the caller's, reused from
 * one call to the next; release with storage_range_free(). entries[i].data
 * points into data and stays valid until the next call with this range. */
struct storage_range {
    uint32_t n;
    struct raft_entry *entries;
    uint8_t *data;
    uint32_t cap_entries;
    size_t cap_data;
};

/*
 * Reads the stored entries from .. last into *out, in order, stopping before
 * the one that would take their data past max_bytes (the first is read
 * whatever its size) or after max_entries. Reads nothing (out->n = 0) when
 * `from` is compacted (at or below the snapshot index) or beyond the last
 * entry. For a leader sending released entries to a follower (raft.h, LOG
 * MEMORY). Returns 0; STORAGE_EIO (read error, out of memory); STORAGE_EBADFILE
 * (a row that breaks an invariant: a gap, a bad type). Never writes.
 */
int storage_read(struct storage *s, raft_index from, raft_index last, uint32_t max_bytes,
                 uint32_t max_entries, struct storage_range *out, char *err, size_t errlen);
void storage_range_free(struct storage_range *r);

/* Compacted rows are waiting to be deleted (after storage_compact(), an
 * installed snapshot, or a restart that found some), or the pages they
 * freed to be given back to the file system now. */
bool storage_trim_pending(const struct storage *s);
/* Deletes compacted rows for about budget_us microseconds (at least one
 * chunk), in transactions without an fsync (a crash that brings rows back
 * leaves them for a later trim; they are below the base and never loaded).
 * The pages they free are left to the entries appended next for the vacuum
 * delay (5 s, storage_set_vacuum_delay): under a write load the log reuses
 * them instead of growing the file. After it, when at least 4 MB of the file
 * is still free, gives the free pages back to the file system in
 * incremental vacuum steps, within the same budget per call, so that the
 * file shrinks to about the live log (a load can leave it hundreds of
 * megabytes larger). Free pages found at open are given back without delay.
 * Returns 0 or STORAGE_EIO. */
int storage_trim(struct storage *s, uint32_t budget_us, char *err, size_t errlen);
/* The vacuum delay above, in milliseconds (tests; 0: at once). */
void storage_set_vacuum_delay(struct storage *s, uint32_t ms);

/* CONFIG SET raft-log-fsync: 1 = synchronous=FULL (NORMAL with deferred
 * syncs), 0 = synchronous=OFF, from the next transaction on. Returns 0 or
 * STORAGE_EIO (setting unchanged). */
int storage_set_fsync(struct storage *s, int on, char *err, size_t errlen);

/* DEFERRED SYNC (above): from now on storage_save() leaves the fsync to the
 * caller. Opens the WAL twice more: once for storage_sync_fd(), once for
 * storage_sync(). Linux reports a write-back error to each open file once,
 * at its next fsync: with a descriptor each, the other thread's sync and
 * this thread's both hear of an error that happened before they started,
 * whichever of them runs first. Returns 0 or STORAGE_EIO (nothing changed:
 * saves keep syncing themselves). */
int storage_defer_sync(struct storage *s, char *err, size_t errlen);

/* The WAL's file descriptor for another thread's fdatasync() (its only
 * use); -1 before storage_defer_sync(). Valid until storage_close(). */
int storage_sync_fd(const struct storage *s);

/* Transactions committed since open: a mark that a sync started later
 * covers (storage_synced). */
uint64_t storage_written(const struct storage *s);

/* Syncs of storage_sync_fd() another thread made, for the fsync counters. */
struct storage_sync_times {
    uint64_t count, total_us, max_us, last_us;
};

/* Another thread's fdatasync() of storage_sync_fd(), started once
 * storage_written() was at least mark, returned: t counts it (and any
 * earlier ones not reported yet). Call on the storage's thread. */
void storage_synced(struct storage *s, uint64_t mark, const struct storage_sync_times *t);

/* Syncs the WAL on this thread: everything committed so far is durable.
 * No-op without deferred syncs. Returns 0 or STORAGE_EIO (the node must stop:
 * after a failed fsync the kernel may have dropped the unwritten pages). */
int storage_sync(struct storage *s, char *err, size_t errlen);

/* The connection's PRAGMA synchronous right now (0 OFF, 1 NORMAL, 2 FULL), or -1 if
 * it cannot be read: what raft-log-fsync must have set (unit tests). */
int storage_synchronous(struct storage *s);

/* This store's incarnation (IDENTITY); O(1). */
uint64_t storage_incarnation(const struct storage *s);

/* The "recovering" mark: this node may have lost state it had acknowledged and
 * must not vote until it has caught up (raft_set_recovering()); it survives
 * restarts until cleared. storage_set_recovering() writes it durably in its
 * own transaction; 0 or STORAGE_EIO (unchanged). */
bool storage_recovering(const struct storage *s);
int storage_set_recovering(struct storage *s, bool on, char *err, size_t errlen);

/* The incarnation recorded for peer id (*inc 0: none). 0 or STORAGE_EIO. */
int storage_peer_incarnation(struct storage *s, uint64_t id, uint64_t *inc, char *err,
                             size_t errlen);
/* Records (inc != 0) or forgets (inc 0) peer id's incarnation, durably, in
 * its own transaction. 0 or STORAGE_EIO (unchanged). */
int storage_set_peer_incarnation(struct storage *s, uint64_t id, uint64_t inc, char *err,
                                 size_t errlen);

/* Counters for RAFT.INFO; O(1), no I/O. */
void storage_stats(const struct storage *s, struct storage_stats *st);

/* Bytes SQLite holds in memory for the whole process (its page caches,
 * statements and schema: sqlite3_memory_used, counted by block size since
 * SQLite allocates through the process's allocator): the Raft log's share
 * that used_memory leaves out (src/server/memory.h), MEMORY STATS' raft.storage. */
size_t storage_memory_bytes(void);

#endif
