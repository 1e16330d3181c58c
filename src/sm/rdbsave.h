/*
 * src/sm/rdbsave.h - the keyspace and the function libraries written as a
 * dump.rdb (src/rdb/rdb_file.h): at once (SAVE, a SYNC's full resync), or
 * live (BGSAVE) while the node goes on applying and serving, with no fork.
 *
 * AT ONCE: rdbsave_all() writes every database in order, each key as it is
 * now; the caller blocks meanwhile, as Redis's SAVE does.
 *
 * LIVE: the pattern of the Raft snapshots (src/sm/snaplive.h), on the same
 * keyspace hooks (struct kv_saver, src/keyspace/kv.h). rdbsave_start()
 * marks every entry unsaved and writes the header and the libraries as
 * they are now; from then on two things write entries, each once: the
 * walk, a slice per rdbsave_step() (database by database, skipping saved
 * entries), and the keyspace itself, which saves an unsaved entry just
 * before it changes, is deleted or renamed, or its value is handed out for
 * writing. Entries added meanwhile count as saved. So the file holds
 * exactly the entries present at the start, each as it was then: a point
 * in time, the applied index of the start, whatever is written during the
 * save. The cost on the loop is the encoding of each entry (about what
 * Redis's forked child spends, here in slices of the loop's time) and
 * nothing else is copied: no value is duplicated to be saved later.
 * The bytes go to the file in pieces of RDBSAVE_WRITE_BYTES as they are
 * made (page cache writes); the fsync, the rename to its name and the
 * directory's fsync run on a thread of their own once the walk is over,
 * so the loop never waits for the disk's flush.
 *
 * ONE AT A TIME: the keyspace has one saver slot, which a Raft snapshot in
 * progress also takes (rdbsave_busy tells): the two never run at once; the
 * caller waits for the slot (BGSAVE SCHEDULE) and the node does not start a
 * snapshot while a live save runs (src/node/node_snap.c).
 *
 * FILES: written as dir/temp-<pid>-<n>.rdb, fsynced, renamed to dir/name
 * and the directory fsynced (Redis's order): dir/name is always a whole
 * file. A failed or abandoned save deletes its temporary file.
 *
 * MEMORY: the bytes made and not yet written: one piece, except that
 * saves forced by writes never wait (a write is not delayed), each adding
 * its entry's encoding until the next write of the buffer.
 *
 * Single-threaded use from the event loop; only the finishing thread runs
 * elsewhere, on the file alone.
 */
#ifndef RDBSAVE_H
#define RDBSAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/text.h"
#include "rdb/rdb_file.h"

struct kv;
struct function_registry;
struct rdbsave;

#define RDBSAVE_WRITE_BYTES (1u << 20) /* written to the file once this many wait */

/* What a dump.rdb is made of: the databases db[0..ndbs) (db[i] is written
 * as database i) and the function libraries of fns (NULL: none). */
struct rdbsave_source {
    struct kv *const *db;
    int ndbs;
    const struct function_registry *fns;
    struct rdb_file_aux aux;
    int compress; /* rdbcompression */
};

/* Writes the whole file into out, calling drain(ud, out) whenever out holds
 * RDBSAVE_WRITE_BYTES or more and once at the end (drain takes bytes away
 * by setting out->len; NULL: the whole file stays in out). Returns the keys
 * written. */
typedef void rdbsave_drain_fn(void *ud, struct text *out);
uint64_t rdbsave_all(const struct rdbsave_source *src, struct text *out, rdbsave_drain_fn *drain,
                     void *ud);

/* rdbsave_all into dir/name, fsynced and published (FILES). 0, or -1 with
 * the reason in err. */
int rdbsave_file(const struct rdbsave_source *src, const char *dir, const char *name, char *err,
                 size_t errlen);

/* Whether the keyspace's saver slot is taken (a live save or a Raft
 * snapshot is in progress). */
bool rdbsave_busy(struct kv *const *db, int ndbs);

/* Begins a live save of src into dir/name; NULL with err filled if the
 * temporary file cannot be created. The slot must be free (rdbsave_busy). */
struct rdbsave *rdbsave_start(const struct rdbsave_source *src, const char *dir, const char *name,
                              char *err, size_t errlen);
/* Walks on for about budget_us microseconds (0: to the end). */
void rdbsave_step(struct rdbsave *s, int64_t budget_us);
/* Whether the walk has work left (the caller keeps the loop turning). */
bool rdbsave_walking(const struct rdbsave *s);
/* 0 while running; 1 once dir/name is written, fsynced and published; -1 if
 * it failed (err filled). Once non-zero, it keeps returning the same. */
int rdbsave_poll(struct rdbsave *s, char *err, size_t errlen);
/* Keys written so far. */
uint64_t rdbsave_keys(const struct rdbsave *s);
/* Stops and lets go: an unfinished save releases the slot (the marks are
 * reset) and its temporary file is deleted; waits for the finishing thread
 * if it runs. NULL is fine. */
void rdbsave_free(struct rdbsave *s);

#endif
