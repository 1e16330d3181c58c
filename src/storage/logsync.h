/*
 * src/storage/logsync.h - the Raft log's sync thread: fdatasync of the log's WAL
 * off the event loop (src/storage/storage.h, DEFERRED SYNC).
 *
 * The driver (src/node/node.c) commits each ready batch without an fsync, asks
 * this thread to sync with logsync_request(mark), where mark is
 * storage_written() after the batch, and goes on building, sending and
 * applying the next batches while the disk works. The thread syncs the
 * latest mark asked for (one fdatasync covers every batch written before
 * it starts: group commit across batches), then wakes the loop; the driver
 * collects what completed with logsync_poll() at the top of its ready loop,
 * outside any batch, as the Raft core's contract asks (raft/raft.h,
 * ASYNCHRONOUS WRITES).
 *
 * Threads: logsync_start/request/poll/stop are called on the loop's thread
 * only; the sync thread does nothing but fdatasync() on the descriptor and
 * wake the loop (ev_async). A failed fdatasync is reported once
 * and the thread stops syncing: the caller must exit (after a failed fsync
 * the kernel may have dropped the pages it could not write).
 */
#ifndef LOGSYNC_H
#define LOGSYNC_H

#include <stdint.h>

#include "storage/storage.h"

struct ev_loop;
struct logsync;

/* Starts the thread for s's WAL (storage_sync_fd(s), which must be valid).
 * NULL if it cannot start: the caller keeps syncing on its own thread. */
struct logsync *logsync_start(struct ev_loop *loop, struct storage *s);

/* Everything storage_written() counted up to mark is to be made durable.
 * Marks only grow; asking again for one already asked is a no-op. */
void logsync_request(struct logsync *ls, uint64_t mark);

/* The highest mark synced so far (0 if none) into *mark; the syncs made
 * since the last poll are added to s's fsync counters (storage_synced).
 * Returns 0, or -1 with err filled if a sync failed. */
int logsync_poll(struct logsync *ls, uint64_t *mark, char *err, size_t errlen);

/* Stops the thread (waiting for a sync in progress) and frees ls. NULL is
 * fine. */
void logsync_stop(struct logsync *ls);

#endif
