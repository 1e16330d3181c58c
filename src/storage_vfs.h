/*
 * src/storage_vfs.h - a pass-through SQLite VFS that lets the server work
 * during a long write.
 *
 * Writing a large entry (hundreds of megabytes) to the Raft log takes
 * SQLite seconds inside one sqlite3_step() or COMMIT, during which the event
 * loop cannot run (and deleting it, when the log is compacted, reads it all
 * back). This VFS forwards every call to the default VFS and, from inside
 * the file reads, writes and syncs, calls a hook at most once per interval:
 * the storage's owner uses it to push already queued bytes to the peers'
 * sockets (src/transport.h, transport_flush()), so that a large message keeps
 * flowing to the followers while the leader writes its own copy.
 *
 * The hook runs on the caller's thread, in the middle of an SQLite call: it
 * must not call into SQLite (nor into the storage module) and must not block.
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

/* Unregisters and frees v (NULL is fine); every file opened through it must
 * be closed. */
void storage_vfs_free(struct storage_vfs *v);

#endif
