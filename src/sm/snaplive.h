/*
 * src/sm/snaplive.h - a live snapshot: the keyspace written to a snapshot file
 * as of one applied index while the node goes on applying and serving,
 * with no fork.
 *
 * HOW: snaplive_start() marks every entry unsaved (kv_snapshot_begin,
 * struct kv_saver in src/keyspace/kv.h), copies the extras (script cache, function
 * libraries: small) and starts a writer thread. From then on two things
 * save entries, each at most once: the walk, a slice per snaplive_step()
 * call (a dict_scan cursor over the keyspace, skipping saved entries), and
 * the keyspace itself, which saves any unsaved entry before it changes or
 * hands out a pointer to it. The walk only marks each entry it finds and
 * hands it to the thread in a batch (src/base/handoff.h), which encodes it (a
 * string up to 64 KB, THREAD_STRING_MAX; it leaves other values to the loop, which
 * saves them when the batch comes back); an entry about to change while its
 * batch is out is claimed back by the loop first (kv_saver.settle) and
 * saved by it as it is. A save on the loop encodes the entry (src/
 * snapshot.h, WRITING) into 256 KB chunks, which go to the thread in order
 * with the batches; the thread makes one stream of both, checksums it and
 * writes it (O_DIRECT where the file system takes it). A value of
 * SNAPLIVE_TWIN_MIN_BYTES or more whose type makes twins (kv_type_ops.share:
 * a list, src/ds/quicklist.h ql_share) is saved as a twin instead, in
 * O(its nodes): the value and the twin share their buffers, copied only as
 * the value changes them. When the walk ends, the loop hands its last chunk
 * to the thread, which fills it on with the twins' records and the extras,
 * writes the trailer and fsyncs; snaplive_poll() then says done. Publishing
 * the file (rename) is the caller's, as before.
 *
 * WHAT IT HOLDS: exactly the entries present at the start, each as it was
 * then: an entry changed, renamed or deleted meanwhile was saved just
 * before, one added meanwhile is marked saved when added. The header's key
 * count is the keyspace's size at the start; a walk that ends with another
 * number of records fails the snapshot (a keyspace bug, never a file with
 * a wrong count).
 *
 * COST, against a forked child: the loop pays for visiting each entry and
 * for encoding the values the thread leaves to it or that change first
 * (big lists aside: their nodes are copied as they change), the thread for
 * encoding strings and twins and for the writes. Nothing pays for a fork's page
 * table copy, nor for the copy-on-write fault the parent took on each page
 * it wrote after a fork (one per page even once the child had exited).
 * Measured on a 2M-element list of 100-byte values (206 MB): encoding and
 * writing in-process took 44 ms of user and 72 ms of system time, where the
 * forked child took 350-380 ms of CPU.
 *
 * MEMORY: chunks waiting for the thread. The walk stops adding once
 * SNAPLIVE_QUEUE_BYTES wait, or once HANDED_MAX (8) batches are out (it goes
 * on when the thread gives one back: snaplive_waiting tells the caller to
 * look again soon); saves forced by changes never wait (a write is
 * not delayed by the disk), so in the worst case (every entry changed before
 * the walk reached it, faster than the disk) the queue holds a copy of the
 * keyspace, the same bound as a fork's copy-on-write. Twins hold what their
 * values let go of or changed meanwhile (counted in snaplive_buffer_bytes),
 * until the snapshot is freed and its thread has ended.
 *
 * Single-threaded use from the event loop; the thread touches the chunks,
 * the file, and the entries of the slots it took (src/base/handoff.h). The two
 * share no lock (the thread runs at
 * SCHED_IDLE, and a lock it held while the scheduler left it off the CPU
 * would stall the loop): lock-free queues and semaphores. The loop waits
 * for the thread only where it asks to (snaplive_poll's wait, a step of
 * budget 0, the simulator's step), never on snaplive_free().
 */
#ifndef SNAPLIVE_H
#define SNAPLIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv;
struct snapshot_extra;
struct snaplive;

#define SNAPLIVE_QUEUE_BYTES (8u << 20)
/* A value whose type makes twins (kv_type_ops.share) and whose payload
 * holds at least this many bytes is saved as a twin. */
#define SNAPLIVE_TWIN_MIN_BYTES (256u << 10)
/* Sets that bound for the snapshots started afterwards (the node simulator
 * takes every list as a twin in half its runs: 0). */
void snaplive_twin_min_bytes(uint64_t bytes);

/* Begins a snapshot of the databases db[0..ndbs) as of index/term into
 * path (created or truncated): db[i]'s keys are written as database i's,
 * whatever SWAPDB does to the array meanwhile (each keyspace object keeps
 * its saver). extra is copied now. NULL with err filled if the file cannot
 * be opened or the thread started; the databases are then untouched. */
struct snaplive *snaplive_start(const char *path, struct kv *const *db, int ndbs,
                                const struct snapshot_extra *extra, uint64_t index, uint64_t term,
                                char *err, size_t errlen);

/* Walks on for about budget_us microseconds (0: to the end of the walk,
 * waiting for room in the queue), stopping early when the queue is full. */
void snaplive_step(struct snaplive *s, int64_t budget_us);

/* Walks `buckets` buckets of the keyspace's table, waiting for room in the
 * queue when it is full: a step that does not depend on time (the node
 * simulator's). */
void snaplive_step_buckets(struct snaplive *s, uint32_t buckets);

/* Whether snaplive_step() has work it can do now: the walk is not over and
 * the queue has room. */
bool snaplive_walking(const struct snaplive *s);
/* Whether the walk has work it cannot do before the thread moves on (its
 * queue is full, or it waits for batches the thread encodes): the caller
 * polls again soon, as the thread does not wake it. */
bool snaplive_waiting(const struct snaplive *s);
/* Whether the walk is over (only the thread's writes may remain). */
bool snaplive_walked(const struct snaplive *s);

/* 0 while running; 1 once the file is written and fsynced; -1 if it failed
 * (err filled). With wait, blocks until it is not 0 (walking to the end
 * first). Once it returned non-zero it keeps returning the same. */
int snaplive_poll(struct snaplive *s, bool wait, char *err, size_t errlen);

/* How the entries were saved so far, besides by the loop as they changed
 * before the walk reached them: encoded by the thread; claimed back by the
 * loop from a batch when about to change; left by the thread to the loop
 * (another type than a string, or a long one); taken back by the loop at
 * the walk's end from a thread starved of CPU. */
struct snaplive_counts {
    uint64_t by_thread, claimed, deferred, stolen;
};
struct snaplive_counts snaplive_counts(const struct snaplive *s);

/* Memory held for the file: chunks waiting for the thread, spare ones, the
 * ones being filled, the batches, and the buffers twins alone hold (kv_type_ops.
 * twin_only_bytes: those of every snapshot not reaped yet). */
uint64_t snaplive_buffer_bytes(const struct snaplive *s);

/* Stops and lets go. A snapshot not written (unfinished or failed) is
 * abandoned: the keyspace's marks are reset and the file is deleted at
 * once; the thread, which may still hold it open, leaves when it next runs.
 * What the two share is freed by the calling thread, now if the thread has
 * ended, else by a later snaplive_reap(). A written file is left to the
 * caller to publish. NULL is fine. */
void snaplive_free(struct snaplive *s);

/* Frees the snapshots this thread let go of whose thread has ended since;
 * returns how many still wait. Cheap when there are none: call it now and
 * then (the node does, each round of its loop). */
unsigned snaplive_reap(void);

#endif
