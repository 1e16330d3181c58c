/*
 * src/node/node_snap.c - the Raft driver's snapshots: taking one while the node
 * runs (src/sm/snaplive.h) and compacting the log when it is durable, loading
 * the latest one at
 * start, sending it to a lagging follower in chunks, installing one received
 * from the leader. The file format and the crash analysis are in
 * src/sm/snapshot.h; this file keeps the order that analysis relies on:
 *   local:   the live snapshot writes+fsyncs snapshot.tmp -> renamed to
 *            snapshot.rcs and dir fsynced -> raft_snapshot_taken() ->
 *            storage_compact() (meta recorded; the old rows are deleted
 *            later by storage_trim(), a bounded chunk per loop iteration);
 *   install: every chunk into snapshot.incoming -> last: fsync, verify,
 *            rename, fsync dir -> keyspace replaced -> storage batch with
 *            .snapshot (entries above it dropped in the same transaction,
 *            those below it left to storage_trim()).
 * The live snapshot is walked a slice and polled after each ready round
 * (the loop does not sleep while the walk has work it can do:
 * node_snapshot_walking), so no libev here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "keyspace/dbs.h"
#include "node/node.h"
#include "node/node_int.h"
#include "sm/rdbsave.h"
#include "sm/sm.h"
#include "sm/snaplive.h"
#include "sm/snapshot.h"
#include "storage/storage.h"
#include "base/util.h"

/* The walk's slice per loop iteration: long enough to move on, short
 * enough not to be seen in the clients' latency. */
#define SNAP_STEP_US 1000
/* The walk's share per round in the node simulator (node_env.snapshot_wait). */
#define SNAP_SIM_BUCKETS 4

#define SNAP_RETRY_MS 5000 /* after a failed snapshot, before the next automatic try */

/* Keys changed so far (Redis's dirty counter, src/keyspace/kv.h). */
static uint64_t keyspace_changes(const struct node *n)
{
    return n->sm->env.dbs->common.changes;
}

static raft_index core_snap_index(const struct node *n)
{
    return raft_first_index(n->raft) - 1;
}

static void path_of(const struct node *n, const char *name, char *out, size_t outlen)
{
    if (snapshot_path(out, outlen, n->cfg->dir, name) != 0)
        node_fatal("Snapshot path", "dir is too long");
}

/* ------------------------------------------------------------- restart */

int node_snap_restore(struct node *n, const struct raft_snapshot_meta *stored, char *err,
                      size_t errlen)
{
    char path[4096], why[512];
    path_of(n, SNAPSHOT_FILE_NAME, path, sizeof path);
    snapshot_remove_temps(n->cfg->dir); /* crash points 1 and 4 */
    struct snapshot_header h;
    int64_t t0 = clock_mono_us();
    int rc = sm_snapshot_load(n->sm, path, &h, why, sizeof why);
    if (rc == SNAPSHOT_ENOENT && stored->index == 0) return 0;
    if (rc == SNAPSHOT_ENOENT) {
        snprintf(err, errlen,
                 "%s is missing but the Raft log was compacted up to index %llu: the entries "
                 "it replaced are gone; restore the file or start from an empty dir",
                 path, (unsigned long long)stored->index);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "Cannot load the snapshot: %s", why);
        return -1;
    }
    if (h.index < stored->index || (h.index == stored->index && h.term != stored->term)) {
        snprintf(err, errlen,
                 "%s holds index %llu term %llu, but the Raft log was compacted up to index "
                 "%llu term %llu: the file is not this log's snapshot",
                 path, (unsigned long long)h.index, (unsigned long long)h.term,
                 (unsigned long long)stored->index, (unsigned long long)stored->term);
        return -1;
    }
    n->applied = h.index;
    n->snap.size_bytes = snapshot_file_size(n->cfg->dir);
    LOG_NOTICE("Snapshot loaded: %llu keys at index %llu term %llu in %.3f s",
               (unsigned long long)h.key_count, (unsigned long long)h.index,
               (unsigned long long)h.term, (double)(clock_mono_us() - t0) / 1e6);
    if (h.index > stored->index) {
        /* Crash points 2/5: entries up to h.index are skipped when the core
         * hands them out again; snapshot again soon so that the log's base
         * catches up with the file (and peers can be sent it). */
        LOG_NOTICE("Snapshot index %llu is above the log's base %llu (a crash before the log "
                   "was compacted): applying from %llu",
                   (unsigned long long)h.index, (unsigned long long)stored->index,
                   (unsigned long long)h.index + 1);
        n->snap.force = true;
    }
    return 0;
}

/* -------------------------------------------------------------- taking */

/* A live dump.rdb (BGSAVE, src/sm/rdbsave.h) holds the keyspace's saver
 * slot: the snapshot waits for it to end. */
static bool bgsave_running(const struct node *n)
{
    return rdbsave_busy(n->sm->env.dbs->db, n->sm->env.dbs->n);
}

static int start_live(struct node *n, char *err, size_t errlen)
{
    if (bgsave_running(n)) {
        snprintf(err, errlen, "a background save (BGSAVE) is in progress");
        return -1;
    }
    raft_index index = n->applied;
    raft_term term = raft_log_term(n->raft, index);
    if (term == 0 || index > raft_applied_index(n->raft)) {
        snprintf(err, errlen, "the log does not hold the applied index %llu yet",
                 (unsigned long long)index);
        return -1;
    }
    char tmp[4096];
    path_of(n, SNAPSHOT_TEMP_NAME, tmp, sizeof tmp);
    int64_t t0 = clock_mono_us();
    n->snap.live = sm_snapshot_start(n->sm, tmp, index, term, err, errlen);
    if (!n->snap.live) return -1;
    n->snap.live_index = index;
    n->snap.live_bytes = n->applied_bytes;
    n->snap.live_changes = keyspace_changes(n);
    n->snap.live_term = term;
    n->snap.live_start_us = t0;
    LOG_NOTICE("Background snapshot started at index %llu (%llu keys)", (unsigned long long)index,
               (unsigned long long)sm_keys(n->sm));
    return 0;
}

int node_snapshot_start(struct node *n, char *err, size_t errlen)
{
    if (n->snap.live) {
        snprintf(err, errlen, "a snapshot is already in progress");
        return -1;
    }
    if (n->applied <= core_snap_index(n)) {
        snprintf(err, errlen, "nothing to compact: no entry applied since the snapshot at %llu",
                 (unsigned long long)core_snap_index(n));
        return -1;
    }
    return start_live(n, err, errlen);
}

/* snapshot.tmp holds live_index, durably: publish it and compact. */
static void live_succeeded(struct node *n)
{
    char err[512], tmp[4096];
    path_of(n, SNAPSHOT_TEMP_NAME, tmp, sizeof tmp);
    if (n->snap.live_index <= core_snap_index(n)) {
        /* A snapshot installed from the leader meanwhile is newer. */
        unlink(tmp);
        LOG_NOTICE("Background snapshot at %llu discarded: snapshot %llu installed meanwhile",
                   (unsigned long long)n->snap.live_index, (unsigned long long)core_snap_index(n));
        return;
    }
    if (snapshot_publish(n->cfg->dir, SNAPSHOT_TEMP_NAME, err, sizeof err) != 0) {
        LOG_WARNING("Background snapshot not published: %s", err);
        unlink(tmp);
        n->snap.last_failed = true;
        n->snap.retry_after_ms = clock_ms() + SNAP_RETRY_MS;
        return;
    }
    struct raft_snapshot_meta meta;
    int64_t t0 = clock_mono_us();
    int rc = raft_snapshot_taken(n->raft, n->snap.live_index, &meta);
    int64_t t1 = clock_mono_us();
    if (rc != 0) node_fatal("raft_snapshot_taken", raft_strerror(rc));
    if (meta.term != n->snap.live_term) node_fatal("Snapshot", "term differs from the core's");
    if (storage_compact(n->st, &meta, err, sizeof err) != 0)
        node_fatal("Compacting the Raft log", err);
    int64_t t2 = clock_mono_us();
    n->snap.created++;
    n->snap.force = false;
    n->snap.size_bytes = snapshot_file_size(n->cfg->dir);
    n->snap.base_bytes = n->snap.live_bytes;
    n->snap.base_changes = n->snap.live_changes;
    n->snap.last_done_ms = clock_ms();
    n->snap.last_failed = false;
    n->snap.last_duration_ms = (uint64_t)(clock_mono_us() - n->snap.live_start_us) / 1000;
    LOG_NOTICE("Snapshot at index %llu term %llu done: %llu bytes in %llu ms; log compacted "
               "(core %.1f ms, storage %.1f ms)",
               (unsigned long long)meta.index, (unsigned long long)meta.term,
               (unsigned long long)n->snap.size_bytes, (unsigned long long)n->snap.last_duration_ms,
               (double)(t1 - t0) / 1e3, (double)(t2 - t1) / 1e3);
}

/* Drops the snapshot being taken (snaplive_free deletes its file). */
static void live_drop(struct node *n)
{
    snaplive_free(n->snap.live);
    n->snap.live = NULL;
}

static void live_progress(struct node *n)
{
    bool wait = false;
    if (!n->env.snapshot_wait) {
        snaplive_step(n->snap.live, SNAP_STEP_US);
    } else {
        /* Simulated time: a fixed share of the walk a round, so that
         * writes, kills and installs land in the middle of it by seed;
         * then the thread's end, waited for. */
        snaplive_step_buckets(n->snap.live, SNAP_SIM_BUCKETS);
        wait = snaplive_walked(n->snap.live);
    }
    char err[512];
    int r = snaplive_poll(n->snap.live, wait, err, sizeof err);
    if (r == 0) return;
    if (r > 0) {
        snaplive_free(n->snap.live);
        n->snap.live = NULL;
        live_succeeded(n);
        return;
    }
    LOG_WARNING("Snapshot at index %llu failed: %s; retrying later",
                (unsigned long long)n->snap.live_index, err);
    live_drop(n);
    n->snap.last_failed = true;
    n->snap.retry_after_ms = clock_ms() + SNAP_RETRY_MS;
}

/* Nodes apply the same log, so the rules below fire on all of them at about
 * the same moment; a cluster whose nodes all snapshot at once (each paying
 * for encoding its keyspace and writing the file) has no fast
 * majority left to commit with. So each node waits an extra quarter of the
 * rule per step of its position in the configuration (the same list on
 * every node), modulo 3: of three consecutive members at most one snapshots
 * at a time, and a 3- or 5-node cluster keeps a majority that is not
 * snapshotting. A node alone does not wait. */
#define SNAP_STAGGER_SLOTS 3
#define SNAP_STAGGER_DIV 4

static uint64_t staggered(const struct node *n, uint64_t due)
{
    const struct raft_conf *c = raft_conf_of(n->raft);
    if (c->n < 2) return due;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->s[i].id == (raft_id)n->cfg->node_id)
            return due + due / SNAP_STAGGER_DIV * (i % SNAP_STAGGER_SLOTS);
    return due;
}

/* When a snapshot is taken (conf/raftcache.conf): a forced one, or the log
 * applied since the last one holds raft-snapshot-threshold entries, or its
 * bytes reach raft-snapshot-log-percentage of the last snapshot's size and
 * raft-snapshot-log-min-size (each staggered, above). The entry rule bounds
 * the log's length; the size rule bounds its bytes (entries are batches of
 * any size, src/sm/sm.h) while keeping the work of rewriting a large keyspace
 * proportional to the writes that made the log grow, as Redis's AOF rewrite
 * does. */
static bool snapshot_due(const struct node *n, raft_index base)
{
    if (n->snap.force ||
        n->applied - base >= staggered(n, (uint64_t)n->cfg->raft_snapshot_threshold))
        return true;
    uint64_t due = n->snap.size_bytes / 100 * (uint64_t)n->cfg->raft_snapshot_log_percentage;
    if (due < (uint64_t)n->cfg->raft_snapshot_log_min_size)
        due = (uint64_t)n->cfg->raft_snapshot_log_min_size;
    return n->applied_bytes - n->snap.base_bytes >= staggered(n, due);
}

void node_snap_after_ready(struct node *n)
{
    (void)snaplive_reap();
    if (n->snap.live) {
        live_progress(n);
        return;
    }
    raft_index base = core_snap_index(n);
    if (n->applied <= base || n->applied > raft_applied_index(n->raft)) return;
    if (!snapshot_due(n, base)) return;
    if (clock_ms() < n->snap.retry_after_ms || bgsave_running(n)) return;
    char err[256];
    if (start_live(n, err, sizeof err) != 0) {
        LOG_WARNING("Cannot start a background snapshot: %s", err);
        n->snap.retry_after_ms = clock_ms() + SNAP_RETRY_MS;
    }
}

void node_snap_free(struct node *n)
{
    if (n->snap.live) live_drop(n); /* half written: useless */
    free(n->snap.chunk_buf);
    free(n->snap.reqs);
}

uint64_t node_mem_snapshot(const struct node *n)
{
    return n->snap.live ? snaplive_buffer_bytes(n->snap.live) : 0;
}

bool node_snapshot_walking(const struct node *n)
{
    return n->snap.live && snaplive_walking(n->snap.live);
}

bool node_snapshot_waiting(const struct node *n)
{
    return n->snap.live && snaplive_waiting(n->snap.live);
}

/* ------------------------------------------------------------- sending */

void node_snap_queue(struct node *n, const struct raft_ready *rd)
{
    if (rd->n_snap_reqs == 0) return;
    if (n->snap.n_reqs + rd->n_snap_reqs > n->snap.reqs_cap) {
        uint32_t cap = (n->snap.n_reqs + rd->n_snap_reqs) * 2;
        n->snap.reqs = util_xrealloc(n->snap.reqs, cap * sizeof *n->snap.reqs);
        n->snap.reqs_cap = cap;
    }
    memcpy(n->snap.reqs + n->snap.n_reqs, rd->snap_reqs, rd->n_snap_reqs * sizeof *rd->snap_reqs);
    n->snap.n_reqs += rd->n_snap_reqs;
}

void node_snap_answer(struct node *n)
{
    char path[4096], err[512];
    path_of(n, SNAPSHOT_FILE_NAME, path, sizeof path);
    for (uint32_t i = 0; i < n->snap.n_reqs; i++) {
        const struct raft_snap_req *q = &n->snap.reqs[i];
        if (q->max_len > n->snap.chunk_cap) {
            free(n->snap.chunk_buf);
            n->snap.chunk_buf = util_xmalloc(q->max_len);
            n->snap.chunk_cap = q->max_len;
        }
        uint32_t len = 0;
        bool done = false;
        int rc = snapshot_read_chunk(path, q->index, q->offset, n->snap.chunk_buf, q->max_len, &len,
                                     &done, err, sizeof err);
        if (rc == 0) {
            rc = raft_snapshot_chunk(n->raft, q->to, q->index, q->offset, n->snap.chunk_buf, len,
                                     done);
            if (rc != 0)
                LOG_WARNING("Snapshot chunk for %llu: %s", (unsigned long long)q->to,
                            raft_strerror(rc));
            continue;
        }
        LOG_WARNING("Cannot send snapshot %llu to node %llu: %s", (unsigned long long)q->index,
                    (unsigned long long)q->to, err);
        /* Restarting helps only if the core has another snapshot by now;
         * otherwise the same request would come back at once (a busy loop):
         * the transfer's own timeout retries it later, by when a local
         * snapshot has made the file and the core agree again. */
        if (q->index != core_snap_index(n)) raft_snapshot_failed(n->raft, q->to);
    }
    n->snap.n_reqs = 0;
}

/* ---------------------------------------------------------- installing */

bool node_snap_install(struct node *n, const struct raft_snap_chunk *ch)
{
    char path[4096], err[512];
    path_of(n, SNAPSHOT_INCOMING_NAME, path, sizeof path);
    if (snapshot_write_chunk(path, ch->offset, ch->data, ch->len, ch->done, err, sizeof err) != 0)
        node_fatal("Storing a snapshot chunk from the leader", err);
    if (!ch->done) return false;
    if (n->snap.live) {
        /* The leader's is newer than anything this node was writing. */
        LOG_NOTICE("Snapshot at %llu abandoned: the leader's is being installed",
                   (unsigned long long)n->snap.live_index);
        live_drop(n);
    }
    struct snapshot_header h;
    if (sm_snapshot_verify(n->sm, path, &h, err, sizeof err) != 0)
        node_fatal("Snapshot received from the leader", err);
    if (h.index != ch->meta.index || h.term != ch->meta.term)
        node_fatal("Snapshot received from the leader", "its index/term differ from the message");
    if (snapshot_publish(n->cfg->dir, SNAPSHOT_INCOMING_NAME, err, sizeof err) != 0)
        node_fatal("Installing the snapshot received from the leader", err);
    int64_t t0 = clock_mono_us();
    path_of(n, SNAPSHOT_FILE_NAME, path, sizeof path);
    if (sm_snapshot_load(n->sm, path, &h, err, sizeof err) != 0)
        node_fatal("Loading the snapshot received from the leader", err);
    LOG_NOTICE("Snapshot from the leader installed: %llu keys at index %llu term %llu "
               "(loaded in %.3f s)",
               (unsigned long long)h.key_count, (unsigned long long)h.index,
               (unsigned long long)h.term, (double)(clock_mono_us() - t0) / 1e6);
    return true;
}

void node_snap_installed(struct node *n, const struct raft_snap_chunk *ch)
{
    n->applied = ch->meta.index;
    n->snap.received++;
    n->snap.force = false;
    n->snap.size_bytes = snapshot_file_size(n->cfg->dir);
    n->snap.base_bytes = n->applied_bytes;
    n->snap.base_changes = keyspace_changes(n);
    n->snap.last_done_ms = clock_ms();
    n->conf_applied = ch->meta.conf;
    n->conf_dirty = true;
}

/* ----------------------------------------------------------- RAFT.INFO */

void node_snapshot_info(const struct node *n, struct node_snapshot_info *out)
{
    out->last_index = core_snap_index(n);
    out->last_term = raft_log_term(n->raft, out->last_index);
    out->size_bytes = n->snap.size_bytes;
    out->created = n->snap.created;
    out->received = n->snap.received;
    out->in_progress = n->snap.live != NULL;
    out->last_duration_ms = n->snap.last_duration_ms;
    out->last_done_ms = n->snap.last_done_ms;
    out->current_ms = n->snap.live ? (clock_mono_us() - n->snap.live_start_us) / 1000 : 0;
    out->last_failed = n->snap.last_failed;
    uint64_t now = keyspace_changes(n);
    out->changes_since = now > n->snap.base_changes ? now - n->snap.base_changes : 0;
}
