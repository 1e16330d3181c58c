/*
 * tests/nodesim/fake_storage.c - src/storage.h and src/storage_wal.h in
 * memory: each node's store is its struct w_disk in the world, which
 * outlives the node. A save is durable when it returns (synchronous=FULL);
 * a crash point may make the process die inside one, before anything of
 * the batch is stored (world.h, crash_in_save).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/storage.h"
#include "../../src/storage_wal.h"
#include "world.h"

struct storage {
    uint64_t id;
    struct w_disk *d;
    struct storage_stats stats;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

void w_disk_wipe(struct w_disk *d)
{
    for (uint64_t i = 0; i < d->n; i++)
        free(d->ents[i].data);
    free(d->ents);
    memset(d, 0, sizeof *d);
}

static uint64_t last_index(const struct w_disk *d)
{
    return d->snap.index + d->n;
}

int storage_open(struct storage **out, const char *dir, uint64_t node_id, int fsync, char *err,
                 size_t errlen)
{
    (void)dir;
    (void)fsync;
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
    struct storage *s = xmalloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->id = node_id;
    s->d = d;
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

static void drop_from(struct w_disk *d, uint64_t index)
{
    while (d->n > 0 && d->ents[d->n - 1].index >= index) {
        d->n--;
        free(d->ents[d->n].data);
    }
}

static void append(struct w_disk *d, const struct raft_entry *e)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->ents = realloc(d->ents, d->cap * sizeof *d->ents);
        if (!d->ents) abort();
    }
    struct w_entry *w = &d->ents[d->n++];
    *w = (struct w_entry){e->term, e->index, e->type, e->len, xmalloc(e->len)};
    if (e->len) memcpy(w->data, e->data, e->len);
}

int storage_save(struct storage *s, const struct storage_batch *b, char *err, size_t errlen)
{
    struct w_disk *d = s->d;
    if (!b->snapshot && !b->n_entries && !b->hs) return 0;
    if (W->crash_in_save == s->id && W->crash_jmp) {
        W->crash_in_save = 0;
        longjmp(*W->crash_jmp, 1); /* the process dies inside the write: nothing stored */
    }
    if (b->snapshot) {
        drop_from(d, 0);
        d->snap = *b->snapshot;
    }
    if (b->n_entries) {
        uint64_t first = b->entries[0].index;
        if (first <= d->snap.index || first > last_index(d) + 1) {
            snprintf(err, errlen, "entries from %llu do not follow the log (%llu..%llu)",
                     (unsigned long long)first, (unsigned long long)d->snap.index,
                     (unsigned long long)last_index(d));
            return STORAGE_EIO;
        }
        drop_from(d, first);
        for (uint32_t i = 0; i < b->n_entries; i++)
            append(d, &b->entries[i]);
        if (W->on_save) W->on_save(W, s->id, b->entries, b->n_entries);
    }
    if (b->hs) d->hs = *b->hs;
    d->saved = true;
    s->stats.fsync_count++;
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
    for (uint64_t i = 0; i < k; i++)
        free(d->ents[i].data);
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
    (void)s;
    (void)on;
    (void)err;
    (void)errlen;
    return 0;
}

int storage_synchronous(struct storage *s)
{
    (void)s;
    return 2;
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

bool storage_wal_damaged(const struct storage_wal_report *r)
{
    (void)r;
    return false;
}

int storage_wal_check(const char *db_path, struct storage_wal_report *r, char *err, size_t errlen)
{
    (void)db_path;
    (void)err;
    (void)errlen;
    memset(r, 0, sizeof *r); /* no WAL file: nothing SQLite would drop */
    return 0;
}

int storage_wal_keep_copy(const char *db_path, char *err, size_t errlen)
{
    (void)db_path;
    (void)err;
    (void)errlen;
    return 0;
}
