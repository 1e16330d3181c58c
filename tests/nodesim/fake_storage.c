/*
 * tests/nodesim/fake_storage.c - src/storage/storage.h in memory: each node's store
 * is its struct w_disk in the world, which outlives the node.
 *
 * Each call that writes is one transaction, as in src/storage/storage.c, and is
 * synced or not as src/storage/storage.c syncs it: with fsync on, every one is
 * committed with an fsync except a save that only moves the commit index,
 * and, once syncs are deferred (storage_defer_sync), every save: those
 * become durable when the driver's sync of them completes (storage_sync,
 * or storage_synced from the simulated sync thread, fake_logsync.c).
 * (storage_trim's unsynced transactions have nothing to do here:
 * compaction frees the rows at once, and rows below the base are never
 * loaded anyway.) A transaction is durable against kill -9 when it
 * returns; against power loss only once it or a later one is synced. Every
 * transaction since the store was opened (and after its first save) goes
 * into the store's journal (world.h) with what it replaced, so w_disk_power_loss() and
 * w_disk_damage() can take the store back to an earlier transaction boundary: always a prefix of
 * what was committed, as SQLite replays its WAL up to a point and never half a transaction. A crash
 * point may make the process die inside a save, before anything of the batch is stored (world.h,
 * crash_in_save).
 *
 * A damaged WAL is also a file: w_disk_damage() writes dir/raftcache.db-wal
 * in SQLite's WAL format (a valid frame, one that fails its checksum, then
 * one commit frame per dropped transaction), which the server's own
 * src/storage/storage_wal.c reads at the next start (src/node/node_safety.c) exactly as
 * it would read SQLite's. storage_open() then plays SQLite and
 * src/storage/storage_open.c: what is left is replayed and checkpointed into the
 * database, and the WAL emptied (the file goes, and the journal: a later
 * fault reaches back to this open at most).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/storage.h"
#include "world.h"

struct storage {
    uint64_t id;
    struct w_disk *d;
    bool fsync;
    bool deferred; /* storage_defer_sync() */
    struct storage_stats stats;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* ------------------------------------------------------------ journal */

static void tx_free(struct w_tx *t)
{
    for (uint64_t i = 0; i < t->n_tail; i++)
        free(t->tail[i].data);
    for (uint64_t i = 0; i < t->n_head; i++)
        free(t->head[i].data);
    free(t->tail);
    free(t->head);
    memset(t, 0, sizeof *t);
}

static void journal_clear(struct w_disk *d)
{
    for (uint32_t i = 0; i < d->j_n; i++)
        tx_free(&d->journal[(d->j_first + i) % W_JOURNAL_MAX]);
    d->j_first = d->j_n = 0;
}

/* A new transaction on d, recording the state it replaces (NULL before the
 * first save: a store goes back to no earlier point than that). The oldest
 * one is forgotten when the journal is full: it is beyond undoing now. */
static struct w_tx *tx_begin(struct w_disk *d, bool synced)
{
    if (!d->saved) return NULL;
    if (!d->journal) {
        d->journal = calloc(W_JOURNAL_MAX, sizeof *d->journal);
        if (!d->journal) abort();
    }
    if (d->j_n == W_JOURNAL_MAX) {
        tx_free(&d->journal[d->j_first]);
        d->j_first = (d->j_first + 1) % W_JOURNAL_MAX;
        d->j_n--;
    }
    struct w_tx *t = &d->journal[(d->j_first + d->j_n++) % W_JOURNAL_MAX];
    memset(t, 0, sizeof *t);
    t->synced = synced;
    t->no = ++d->tx_no;
    t->saved = d->saved;
    t->recovering = d->recovering;
    t->hs = d->hs;
    t->snap = d->snap;
    memcpy(t->peer_inc, d->peer_inc, sizeof t->peer_inc);
    return t;
}

static void ents_reserve(struct w_disk *d, uint64_t n)
{
    if (n <= d->cap) return;
    while (d->cap < n)
        d->cap = d->cap ? 2 * d->cap : 64;
    d->ents = realloc(d->ents, d->cap * sizeof *d->ents);
    if (!d->ents) abort();
}

/* Undoes the newest transaction of d's journal. */
static void tx_undo(struct w_disk *d)
{
    struct w_tx *t = &d->journal[(d->j_first + d->j_n - 1) % W_JOURNAL_MAX];
    for (uint64_t i = 0; i < t->appended; i++)
        free(d->ents[--d->n].data);
    ents_reserve(d, d->n + t->n_tail + t->n_head);
    if (t->n_tail) memcpy(d->ents + d->n, t->tail, t->n_tail * sizeof *t->tail);
    d->n += t->n_tail;
    if (t->n_head) {
        memmove(d->ents + t->n_head, d->ents, d->n * sizeof *d->ents);
        memcpy(d->ents, t->head, t->n_head * sizeof *t->head);
        d->n += t->n_head;
    }
    free(t->tail); /* the entries' data is the store's again */
    free(t->head);
    d->saved = t->saved;
    d->recovering = t->recovering;
    d->hs = t->hs;
    d->snap = t->snap;
    memcpy(d->peer_inc, t->peer_inc, sizeof d->peer_inc);
    memset(t, 0, sizeof *t);
    d->j_n--;
}

void w_disk_wipe(struct w_disk *d)
{
    journal_clear(d);
    free(d->journal);
    for (uint64_t i = 0; i < d->n; i++)
        free(d->ents[i].data);
    free(d->ents);
    memset(d, 0, sizeof *d);
}

uint32_t w_disk_power_loss(struct w_disk *d)
{
    uint32_t lost = 0;
    while (d->j_n && !d->journal[(d->j_first + d->j_n - 1) % W_JOURNAL_MAX].synced) {
        tx_undo(d);
        lost++;
    }
    return lost;
}

uint32_t w_disk_since_snapshot(const struct w_disk *d)
{
    uint64_t after = d->snap.index; /* the base after the transaction looked at */
    for (uint32_t k = 1; k <= d->j_n; k++) {
        const struct w_tx *t = &d->journal[(d->j_first + d->j_n - k) % W_JOURNAL_MAX];
        if (t->snap.index != after) return k;
        after = t->snap.index;
    }
    return 0;
}

/* ------------------------------------------------- a damaged WAL file */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* SQLite's WAL checksum over little-endian words (magic 0x377f0682). */
static void wal_sum(const uint8_t *p, size_t n, uint32_t s[2])
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint32_t x0 = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                      (uint32_t)p[i + 3] << 24;
        uint32_t x1 = (uint32_t)p[i + 4] | (uint32_t)p[i + 5] << 8 | (uint32_t)p[i + 6] << 16 |
                      (uint32_t)p[i + 7] << 24;
        s[0] += x0 + s[1];
        s[1] += x1 + s[0];
    }
}

#define WAL_PAGE 512

/* dir/raftcache.db-wal: one frame SQLite keeps (a commit), one that fails
 * its checksum (a byte of its page flipped after the sum), then `lost`
 * commit frames of the same generation: SQLite stops at the bad one. */
static int write_damaged_wal(const char *dir, uint32_t lost)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s-wal", dir, STORAGE_FILE_NAME);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint8_t h[32], fh[24], page[WAL_PAGE];
    uint32_t s[2] = {0, 0};
    put_be32(h, 0x377f0682u);
    put_be32(h + 4, 3007000);
    put_be32(h + 8, WAL_PAGE);
    put_be32(h + 12, 0);
    put_be32(h + 16, (uint32_t)w_rand(W));
    put_be32(h + 20, (uint32_t)w_rand(W));
    wal_sum(h, 24, s);
    put_be32(h + 24, s[0]);
    put_be32(h + 28, s[1]);
    int ok = fwrite(h, 1, sizeof h, f) == sizeof h;
    for (uint32_t frame = 0; frame < 2 + lost && ok; frame++) {
        for (size_t i = 0; i < sizeof page; i++)
            page[i] = (uint8_t)w_rand(W);
        put_be32(fh, 1 + frame % 4);          /* page number */
        put_be32(fh + 4, frame != 1 ? 4 : 0); /* database size after a commit, else 0 */
        memcpy(fh + 8, h + 16, 8);            /* the header's salts: this generation */
        wal_sum(fh, 8, s);
        wal_sum(page, sizeof page, s);
        put_be32(fh + 16, s[0]);
        put_be32(fh + 20, s[1]);
        if (frame == 1) page[100] ^= 0x10; /* damaged on disk */
        ok = fwrite(fh, 1, sizeof fh, f) == sizeof fh &&
             fwrite(page, 1, sizeof page, f) == sizeof page;
    }
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

uint32_t w_disk_damage(struct w_disk *d, uint32_t k, const char *dir)
{
    uint32_t lost = 0;
    while (lost < k && d->j_n) {
        tx_undo(d);
        lost++;
    }
    if (lost && write_damaged_wal(dir, lost) != 0) abort();
    return lost;
}

/* ------------------------------------------------------------ storage.h */

static uint64_t last_index(const struct w_disk *d)
{
    return d->snap.index + d->n;
}

int storage_open(struct storage **out, const char *dir, uint64_t node_id, int fsync, char *err,
                 size_t errlen)
{
    if (node_id == 0 || node_id > W_NODES_MAX) {
        snprintf(err, errlen, "node id %llu out of the simulation", (unsigned long long)node_id);
        *out = NULL;
        return STORAGE_EIO;
    }
    struct w_disk *d = &W->disks[node_id];
    if (!d->exists) {
        d->exists = true;
        d->incarnation = w_rand(W) | 1;
    }
    /* SQLite replays the WAL up to its first bad frame, and src/storage/storage_open.c
     * checkpoints what it kept into the database and empties the WAL: what
     * was written before this open is beyond undoing (and synced). */
    char wal[512];
    snprintf(wal, sizeof wal, "%s/%s-wal", dir, STORAGE_FILE_NAME);
    unlink(wal);
    journal_clear(d);
    struct storage *s = xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->id = node_id;
    s->d = d;
    s->fsync = fsync != 0;
    *out = s;
    return 0;
}

void storage_close(struct storage *s)
{
    free(s);
}

void storage_set_progress(struct storage *s, void (*fn)(void *ud), void *ud, uint32_t interval_ms)
{
    (void)s;
    (void)fn;
    (void)ud;
    (void)interval_ms; /* saves take no time here: nothing to keep going meanwhile */
}

int storage_load(struct storage *s, struct storage_state *st, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const struct w_disk *d = s->d;
    memset(st, 0, sizeof *st);
    st->fresh = !d->saved;
    st->hs = d->hs;
    st->snap = d->snap;
    st->n_entries = (uint32_t)d->n;
    size_t bytes = 0;
    for (uint64_t i = 0; i < d->n; i++)
        bytes += d->ents[i].len;
    st->entries = xmalloc(d->n * sizeof *st->entries);
    st->data = xmalloc(bytes);
    size_t off = 0;
    for (uint64_t i = 0; i < d->n; i++) {
        const struct w_entry *e = &d->ents[i];
        if (e->len) memcpy(st->data + off, e->data, e->len);
        st->entries[i] = (struct raft_entry){e->term, e->index, e->type, e->len, st->data + off};
        off += e->len;
    }
    return 0;
}

void storage_state_free(struct storage_state *st)
{
    free(st->entries);
    free(st->data);
    memset(st, 0, sizeof *st);
}

/* Deletes the stored entries from index on; t keeps them (NULL: freed). */
static void drop_from(struct w_disk *d, struct w_tx *t, uint64_t index)
{
    uint64_t keep = d->n;
    while (keep > 0 && d->ents[keep - 1].index >= index)
        keep--;
    uint64_t k = d->n - keep;
    if (k == 0) return;
    if (!t) {
        for (uint64_t i = keep; i < d->n; i++)
            free(d->ents[i].data);
    } else { /* before what an earlier step of t deleted */
        t->tail = realloc(t->tail, (t->n_tail + k) * sizeof *t->tail);
        if (!t->tail) abort();
        memmove(t->tail + k, t->tail, t->n_tail * sizeof *t->tail);
        memcpy(t->tail, d->ents + keep, k * sizeof *t->tail);
        t->n_tail += k;
    }
    d->n = keep;
}

static void append(struct w_disk *d, struct w_tx *t, const struct raft_entry *e)
{
    ents_reserve(d, d->n + 1);
    if (t) t->appended++;
    struct w_entry *w = &d->ents[d->n++];
    *w = (struct w_entry){e->term, e->index, e->type, e->len, xmalloc(e->len)};
    if (e->len) memcpy(w->data, e->data, e->len);
}

int storage_save(struct storage *s, const struct storage_batch *b, char *err, size_t errlen)
{
    struct w_disk *d = s->d;
    bool hs_changed = storage_hs_due(b, &d->hs);
    if (!b->snapshot && !b->n_entries && !hs_changed) return 0;
    if (W->crash_in_save == s->id && W->crash_jmp) {
        W->crash_in_save = 0;
        longjmp(*W->crash_jmp, 1); /* the process dies inside the write: nothing stored */
    }
    uint64_t base = b->snapshot ? b->snapshot->index : d->snap.index;
    uint64_t last = b->snapshot ? base : last_index(d);
    if (b->n_entries && (b->entries[0].index <= base || b->entries[0].index > last + 1)) {
        snprintf(err, errlen, "entries from %llu do not follow the log (%llu..%llu)",
                 (unsigned long long)b->entries[0].index, (unsigned long long)base,
                 (unsigned long long)last);
        return STORAGE_EIO;
    }
    bool synced = s->fsync && !s->deferred && !storage_commit_only(b, &d->hs);
    struct w_tx *t = tx_begin(d, synced);
    if (b->snapshot) {
        drop_from(d, t, 0);
        d->snap = *b->snapshot;
    }
    if (b->n_entries) {
        drop_from(d, t, b->entries[0].index);
        for (uint32_t i = 0; i < b->n_entries; i++)
            append(d, t, &b->entries[i]);
        if (W->on_save) W->on_save(W, s->id, b->entries, b->n_entries);
    }
    if (hs_changed) d->hs = *b->hs;
    d->saved = true;
    if (synced) s->stats.fsync_count++;
    return 0;
}

int storage_compact(struct storage *s, const struct raft_snapshot_meta *meta, char *err,
                    size_t errlen)
{
    struct w_disk *d = s->d;
    if (meta->index <= d->snap.index || meta->index > last_index(d)) {
        snprintf(err, errlen, "compaction to %llu outside the log",
                 (unsigned long long)meta->index);
        return STORAGE_EIO;
    }
    uint64_t k = meta->index - d->snap.index;
    struct w_tx *t = tx_begin(d, s->fsync);
    if (t) {
        t->head = xmalloc(k * sizeof *t->head);
        memcpy(t->head, d->ents, k * sizeof *t->head);
        t->n_head = k;
    } else {
        for (uint64_t i = 0; i < k; i++)
            free(d->ents[i].data);
    }
    if (s->fsync) s->stats.fsync_count++;
    memmove(d->ents, d->ents + k, (d->n - k) * sizeof *d->ents);
    d->n -= k;
    d->snap = *meta;
    return 0;
}

int storage_read(struct storage *s, raft_index from, raft_index last, uint32_t max_bytes,
                 uint32_t max_entries, struct storage_range *out, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const struct w_disk *d = s->d;
    out->n = 0;
    if (from <= d->snap.index || from > last_index(d)) return 0;
    if (last > last_index(d)) last = last_index(d);
    size_t bytes = 0;
    uint32_t n = 0;
    for (raft_index i = from; i <= last && n < max_entries; i++, n++) {
        size_t len = d->ents[i - d->snap.index - 1].len;
        if (n > 0 && bytes + len > max_bytes) break;
        bytes += len;
    }
    if (n > out->cap_entries) {
        out->entries = realloc(out->entries, n * sizeof *out->entries);
        out->cap_entries = n;
    }
    if (bytes > out->cap_data) {
        out->data = realloc(out->data, bytes);
        out->cap_data = bytes;
    }
    if ((n && !out->entries) || (bytes && !out->data)) abort();
    size_t off = 0;
    for (uint32_t k = 0; k < n; k++) {
        const struct w_entry *e = &d->ents[from + k - d->snap.index - 1];
        if (e->len) memcpy(out->data + off, e->data, e->len);
        out->entries[k] = (struct raft_entry){e->term, e->index, e->type, e->len, out->data + off};
        off += e->len;
    }
    out->n = n;
    return 0;
}

void storage_range_free(struct storage_range *r)
{
    free(r->entries);
    free(r->data);
    memset(r, 0, sizeof *r);
}

bool storage_trim_pending(const struct storage *s)
{
    (void)s;
    return false; /* compaction frees the rows at once */
}

int storage_trim(struct storage *s, uint32_t budget_us, char *err, size_t errlen)
{
    (void)s;
    (void)budget_us;
    (void)err;
    (void)errlen;
    return 0;
}

int storage_set_fsync(struct storage *s, int on, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    s->fsync = on != 0;
    return 0;
}

int storage_synchronous(struct storage *s)
{
    return !s->fsync ? 0 : s->deferred ? 1 : 2;
}

/* ------------------------------------------------------------ deferred sync */

int storage_defer_sync(struct storage *s, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    s->deferred = true;
    return 0;
}

int storage_sync_fd(const struct storage *s)
{
    return s->deferred ? 0 : -1; /* fake_logsync.c syncs no file */
}

uint64_t storage_written(const struct storage *s)
{
    return s->d->tx_no;
}

/* The journal's transactions up to number `upto` are synced: the newest of
 * them is marked (power loss keeps it and everything before it). */
static void mark_synced(struct w_disk *d, uint64_t upto)
{
    for (uint32_t k = d->j_n; k > 0; k--) {
        struct w_tx *t = &d->journal[(d->j_first + k - 1) % W_JOURNAL_MAX];
        if (t->no <= upto) {
            t->synced = true;
            return;
        }
    }
}

void storage_synced(struct storage *s, uint64_t mark, const struct storage_sync_times *t)
{
    mark_synced(s->d, mark);
    s->stats.fsync_count += t->count;
}

int storage_sync(struct storage *s, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    if (!s->deferred) return 0;
    mark_synced(s->d, s->d->tx_no);
    s->stats.fsync_count++;
    return 0;
}

uint64_t storage_incarnation(const struct storage *s)
{
    return s->d->incarnation;
}

bool storage_recovering(const struct storage *s)
{
    return s->d->recovering;
}

int storage_set_recovering(struct storage *s, bool on, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    if (on == s->d->recovering) return 0;
    tx_begin(s->d, s->fsync);
    if (s->fsync) s->stats.fsync_count++;
    s->d->recovering = on;
    return 0;
}

int storage_peer_incarnation(struct storage *s, uint64_t id, uint64_t *inc, char *err,
                             size_t errlen)
{
    (void)err;
    (void)errlen;
    *inc = id <= W_NODES_MAX ? s->d->peer_inc[id] : 0;
    return 0;
}

int storage_set_peer_incarnation(struct storage *s, uint64_t id, uint64_t inc, char *err,
                                 size_t errlen)
{
    (void)err;
    (void)errlen;
    tx_begin(s->d, s->fsync);
    if (s->fsync) s->stats.fsync_count++;
    if (id <= W_NODES_MAX) s->d->peer_inc[id] = inc;
    return 0;
}

void storage_stats(const struct storage *s, struct storage_stats *st)
{
    *st = s->stats;
    st->first_index = s->d->snap.index + 1;
    st->last_index = last_index(s->d);
    st->log_entries = s->d->n;
}

/* No SQLite here: the fake store's memory is the simulator's, not a node's. */
size_t storage_memory_bytes(void)
{
    return 0;
}
