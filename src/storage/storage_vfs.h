/*
 * src/storage/storage_vfs.h - a pass-through SQLite VFS that lets the server work
 * during a long write.
 *
 * Writing a large entry (hundreds of megabytes) to the Raft log takes
 * SQLite seconds inside one sqlite3_step() or COMMIT, during which the event
 * loop cannot run (and deleting it, when the log is compacted, reads it all
 * back). This VFS forwards every call to the default VFS and, from inside
 * the file reads, writes and syncs, calls a hook at most once per interval:
 * the storage's owner uses it to push already queued bytes to the peers'
 * sockets (src/transport/transport.h, transport_flush()), so that a large message keeps
 * flowing to the followers while the leader writes its own copy.
 *
 * The hook runs on the caller's thread, in the middle of an SQLite call: it
 * must not call into SQLite (nor into the storage module) and must not block.
 *
 * WRITE COMBINING. SQLite writes a page at a time, and a WAL frame as two
 * writes (its 24-byte header, then the page): appending a large entry to the
 * log, and checkpointing it into the database, cost one system call per
 * write. This VFS keeps writes that extend each other (same file, next
 * offset) in one pending run of up to 124 KiB and writes it out in one call
 * when a write does not extend it, when it is full, and before any other
 * operation on any of its files (sync, truncate, size, lock, file control,
 * open, delete, close) except a read of a file other than the run's, which
 * cannot see the run: the files see the same changes in the same order,
 * merged. Durability is unchanged: the page of a WAL commit
 * frame (the frame header's "database size" field is not zero) is written
 * out before its write returns, so a commit SQLite reports done is in the
 * file (with fsync on, SQLite syncs after it, which flushes too), and a
 * failed write fails the operation it belongs to, which SQLite undoes. The
 * storage module calls storage_vfs_flush() when each of its calls ends
 * anyway, so nothing stays pending between them.
 *
 * READ-AHEAD. SQLite reads a page at a time too: a checkpoint copies each
 * WAL frame's page into the database with one read of the WAL each, and
 * deleting a large row reads its overflow chain page by page. A read that
 * continues the previous read of the same file (at its end, or past the
 * 24-byte header of the next WAL frame) reads 124 KiB from its offset into
 * a window, and the reads that fall inside the window are served from it.
 * Any write, truncation or close of the file drops its window first, so a
 * read returns what the file holds at that moment, as without the window. A
 * window that would reach past the end of the file, or whose read fails, is
 * not kept: the read is made as asked, with SQLite's own short-read and
 * error semantics. Random reads (a B-tree page here and there) go through
 * as they are.
 *
 * One VFS per storage (registered under a unique name, never as the
 * default); storage_vfs_free() unregisters it after the database using it
 * is closed. Only the storage file(s) include this header.
 */
#ifndef STORAGE_VFS_H
#define STORAGE_VFS_H

#include <stdint.h>

struct storage_vfs; /* private */

typedef void storage_vfs_hook(void *ud);

/* Registers a new VFS over SQLite's default one. NULL if that fails (no
 * default VFS, out of memory): the caller opens the database without it. */
struct storage_vfs *storage_vfs_create(void);

/* The name to pass to sqlite3_open_v2(). */
const char *storage_vfs_name(const struct storage_vfs *v);

/* From now on, reads, writes and syncs call fn(ud) when interval_ms passed
 * since the last call (or since this one); fn NULL: never. */
void storage_vfs_set_hook(struct storage_vfs *v, storage_vfs_hook *fn, void *ud,
                          uint32_t interval_ms);

/* Writes the pending run out, if any. Returns SQLITE_OK or the default
 * VFS's error (the run is dropped either way). v NULL: SQLITE_OK. */
int storage_vfs_flush(struct storage_vfs *v);

/* For tests and statistics: xWrite and xRead calls SQLite made, and the
 * writes and reads the default VFS was given for them (v NULL: zeros). */
struct storage_vfs_counts {
    uint64_t writes, write_calls;
    uint64_t reads, read_calls;
};
void storage_vfs_counts(const struct storage_vfs *v, struct storage_vfs_counts *c);

/* Unregisters and frees v (NULL is fine); every file opened through it must
 * be closed. */
void storage_vfs_free(struct storage_vfs *v);

#endif
