/*
 * src/sm/snapshot_write.c - writing snapshot files (snapshot.h, WRITING): the
 * encoder that turns the header, records and extras into the format's
 * bytes, chunk by chunk, and the file those chunks go to (checksum, direct
 * or paced writes, trailer, fsync). snapshot_write() joins the two in one
 * call; a live snapshot (src/sm/snaplive.h) encodes on the event loop and
 * writes on its own thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyspace/kv.h"
#include "base/le.h"
#include "sm/snapshot.h"
#include "sm/snapshot_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

int snapshot_pwrite_full(int fd, const void *data, size_t n, uint64_t off)
{
    size_t put = 0;
    while (put < n) {
        ssize_t k = pwrite(fd, (const char *)data + put, n - put, (off_t)(off + put));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        put += (size_t)k;
    }
    return 0;
}

/* ------------------------------------------------------------------- file */

/* Whole chunks bypass the page cache where the file system allows it
 * (O_DIRECT, from a buffer aligned for it): copying every byte of a
 * snapshot into the page cache was 39% of a snapshot's CPU time (2M-element
 * list, 206 MB), and the copy would only push other files' pages out. The
 * last, partial chunk and the trailer go through the page cache, and the
 * final fsync makes the whole file durable either way.
 *
 * A chunk that goes through the page cache is on disk before the next one
 * is written (sync_file_range: wait for the previous writeback, start this
 * one, wait for it; data only, no journal commit, unlike fdatasync), so the
 * final fsync finds nothing left and the disk queue never holds more than
 * one chunk of the snapshot. The Raft logs' fsyncs share that disk and wait
 * behind whatever is queued: measured here (virtio disk, ~1.2 GB/s, ~0.2 ms
 * per small fsync), writeback started in 4 MB bursts doubled the clients'
 * p95 write latency during a snapshot, a final fsync of a whole 126 MB file
 * stalled log fsyncs for ~200 ms, and fdatasync()s every few MB (Redis's
 * rdb-save-incremental-fsync) were worse still. */

int snapshot_file_open(struct snapshot_file *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    checksum_init(&f->sum);
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0600);
    f->direct = f->fd >= 0;
    if (f->fd < 0 && errno == EINVAL) /* no O_DIRECT here (tmpfs) */
        f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f->fd < 0) return util_fail(err, errlen, SNAPSHOT_EIO, "%s: %s", path, strerror(errno));
    return 0;
}

/* Leaves O_DIRECT: the rest of the file goes through the page cache. */
static int file_buffered(struct snapshot_file *f)
{
    int flags = fcntl(f->fd, F_GETFL);
    if (flags < 0 || fcntl(f->fd, F_SETFL, flags & ~O_DIRECT) < 0) return -1;
    f->direct = 0;
    return 0;
}

/* Straight from the chunk when it is whole and O_DIRECT holds, else through
 * the page cache. A file system that took O_DIRECT at open may still
 * refuse such a write (EINVAL): that chunk and the rest then go through the
 * page cache. */
static int file_write(struct snapshot_file *f, const unsigned char *chunk, size_t len)
{
    if (f->direct && len % SNAPSHOT_CHUNK_ALIGN == 0) {
        if (snapshot_pwrite_full(f->fd, chunk, len, f->flushed) == 0) return 0;
        if (errno != EINVAL) return -1;
    }
    if (f->direct && file_buffered(f) != 0) return -1;
    if (snapshot_pwrite_full(f->fd, chunk, len, f->flushed) != 0) return -1;
    /* An error here shows again at the final fsync. */
    (void)sync_file_range(f->fd, (off_t)f->flushed, (off_t)len,
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                              SYNC_FILE_RANGE_WAIT_AFTER);
    return 0;
}

void snapshot_file_put(struct snapshot_file *f, const unsigned char *chunk, size_t len)
{
    if (f->failed || len == 0) return;
    checksum_update(&f->sum, chunk, len);
    if (file_write(f, chunk, len) != 0) {
        f->failed = errno ? errno : EIO;
        return;
    }
    f->flushed += len;
}

int snapshot_file_close(struct snapshot_file *f, const char *path, char *err, size_t errlen)
{
    unsigned char trailer[SNAPSHOT_TRAILER_LEN];
    memcpy(trailer, TRAILER_MAGIC, 8);
    le_put64(trailer + 8, checksum_final(&f->sum));
    if (!f->failed && f->direct && file_buffered(f) != 0) f->failed = errno ? errno : EIO;
    if (!f->failed && snapshot_pwrite_full(f->fd, trailer, sizeof trailer, f->flushed) != 0)
        f->failed = errno ? errno : EIO;
    if (!f->failed && fsync(f->fd) != 0) f->failed = errno;
    if (close(f->fd) != 0 && !f->failed) f->failed = errno ? errno : EIO;
    f->fd = -1;
    if (f->failed)
        return util_fail(err, errlen, SNAPSHOT_EIO, "writing %s: %s", path, strerror(f->failed));
    return 0;
}

void snapshot_file_abandon(struct snapshot_file *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}

/* ---------------------------------------------------------------- encoder */

unsigned char *snapshot_chunk_new(void)
{
    void *p = NULL;
    if (posix_memalign(&p, SNAPSHOT_CHUNK_ALIGN, SNAPSHOT_CHUNK_BYTES) != 0) return NULL;
    return p;
}

void snapshot_enc_init(struct snapshot_enc *e, const struct kv_type_ops *const *types,
                       unsigned char *chunk, snapshot_emit_fn *emit, void *ud)
{
    memset(e, 0, sizeof *e);
    e->types = types;
    e->chunk = chunk;
    e->emit = emit;
    e->ud = ud;
}

static void enc_put(struct snapshot_enc *e, const void *p, size_t n)
{
    const unsigned char *src = p;
    while (n > 0) {
        size_t take = SNAPSHOT_CHUNK_BYTES - e->used;
        if (take > n) take = n;
        memcpy(e->chunk + e->used, src, take);
        e->used += take;
        src += take;
        n -= take;
        if (e->used == SNAPSHOT_CHUNK_BYTES) {
            e->chunk = e->emit(e->ud, e->chunk, e->used);
            e->used = 0;
        }
    }
}

void snapshot_enc_header(struct snapshot_enc *e, uint64_t index, uint64_t term, uint64_t count,
                         bool other_dbs)
{
    unsigned char head[SNAPSHOT_HEADER_LEN];
    memcpy(head, HEADER_MAGIC, 8);
    le_put32(head + 8, other_dbs ? SNAPSHOT_VERSION : SNAPSHOT_VERSION_ONE_DB);
    le_put32(head + 12, 0);
    le_put64(head + 16, index);
    le_put64(head + 24, term);
    le_put64(head + 32, count);
    enc_put(e, head, sizeof head);
}

/* type_put_fn: counts the bytes a value's save() writes (ud: a uint64_t). */
static void count_put(void *ud, const void *p, size_t n)
{
    (void)p;
    *(uint64_t *)ud += n;
}

/* type_put_fn: a value's bytes into the chunks. */
static void stream_put(void *ud, const void *p, size_t n)
{
    enc_put(ud, p, n);
}

/* A record: its head, the key, then the value. A non-string value's length
 * for the head comes from its type's saved_len(), or else from a first run
 * of its save() (which writes the same bytes for the same object) that only
 * counts; the value then goes straight into the chunks, so that a list of
 * hundreds of megabytes never needs a buffer of its size. */
void snapshot_enc_record(struct snapshot_enc *e, int db, const char *key, size_t klen,
                         const struct kv_val *v)
{
    ASSERT(db >= 0 && (unsigned)v->type < SNAPSHOT_TYPE_HAS_DB);
    uint64_t vlen;
    if (v->type == KV_STRING) {
        vlen = v->len;
    } else {
        const struct kv_type_ops *ops = e->types[v->type];
        if (ops->saved_len) {
            vlen = ops->saved_len(kv_val_obj(v));
        } else {
            vlen = 0;
            ops->save(kv_val_obj(v), count_put, &vlen);
        }
    }
    unsigned char head[RECORD_HEAD_LEN_V3 + 4], *p = head;
    *p++ = (unsigned char)(v->type | (db ? SNAPSHOT_TYPE_HAS_DB : 0));
    if (db) {
        le_put32(p, (uint32_t)db);
        p += 4;
    }
    le_put32(p, (uint32_t)klen);
    le_put64(p + 4, vlen);
    le_put64(p + 12, (uint64_t)v->expire_ms);
    enc_put(e, head, (size_t)(p + 20 - head));
    enc_put(e, key, klen);
    if (v->type == KV_STRING)
        enc_put(e, v->data, vlen);
    else
        e->types[v->type]->save(kv_val_obj(v), stream_put, e);
    e->records++;
}

/* An extra record (snapshot_extra_put_fn). */
static void put_extra(void *ev, uint8_t kind, const void *data, size_t len)
{
    struct snapshot_enc *e = ev;
    ASSERT(kind >= 1 && kind <= SNAPSHOT_EXTRA_KIND_MAX && len <= SNAPSHOT_EXTRA_BYTES_MAX);
    unsigned char head[9];
    head[0] = kind;
    le_put64(head + 1, (uint64_t)len);
    enc_put(e, head, sizeof head);
    enc_put(e, data, len);
}

void snapshot_enc_extras(struct snapshot_enc *e, const struct snapshot_extra *extra)
{
    if (extra && extra->save) extra->save(extra->ud, put_extra, e);
    unsigned char end[9] = {0};
    enc_put(e, end, sizeof end);
}

void snapshot_enc_bytes(struct snapshot_enc *e, const void *p, size_t n)
{
    enc_put(e, p, n);
}

void snapshot_enc_flush(struct snapshot_enc *e)
{
    if (e->used == 0) return;
    e->chunk = e->emit(e->ud, e->chunk, e->used);
    e->used = 0;
}

unsigned char *snapshot_enc_end(struct snapshot_enc *e)
{
    unsigned char *chunk = e->chunk;
    e->chunk = e->emit(e->ud, chunk, e->used);
    e->used = 0;
    return e->chunk;
}

/* -------------------------------------------------------------- in one go */

/* snapshot_emit_fn of snapshot_write: each chunk to the file, the buffer
 * reused. */
static unsigned char *emit_to_file(void *f, unsigned char *chunk, size_t len)
{
    snapshot_file_put(f, chunk, len);
    return chunk;
}

struct record_visit {
    struct snapshot_enc *e;
    int db;
};

static void record_visit(void *ud, const char *key, size_t klen, const struct kv_val *v)
{
    struct record_visit *rv = ud;
    snapshot_enc_record(rv->e, rv->db, key, klen, v);
}

int snapshot_write(const char *path, struct kv *const *db, int ndbs,
                   const struct snapshot_extra *extra, uint64_t index, uint64_t term, char *err,
                   size_t errlen)
{
    ASSERT(ndbs >= 1);
    unsigned char *chunk = snapshot_chunk_new();
    if (!chunk) return util_fail(err, errlen, SNAPSHOT_EIO, "%s: out of memory", path);
    struct snapshot_file f;
    int rc = snapshot_file_open(&f, path, err, errlen);
    if (rc != 0) {
        free(chunk);
        return rc;
    }
    struct snapshot_enc e;
    snapshot_enc_init(&e, db[0]->common->types, chunk, emit_to_file, &f);
    uint64_t count = 0;
    for (int i = 0; i < ndbs; i++)
        count += kv_size(db[i]);
    snapshot_enc_header(&e, index, term, count, count > kv_size(db[0]));
    for (int i = 0; i < ndbs; i++) {
        struct record_visit rv = {&e, i};
        kv_foreach(db[i], record_visit, &rv);
    }
    snapshot_enc_extras(&e, extra);
    free(snapshot_enc_end(&e));
    rc = snapshot_file_close(&f, path, err, errlen);
    if (rc != 0) return rc;
    /* kv_foreach visits exactly kv_size() keys; a mismatch is a kv bug. */
    if (e.records != count)
        return util_fail(err, errlen, SNAPSHOT_EIO, "%s: wrote %llu keys, keyspace holds %llu",
                         path, (unsigned long long)e.records, (unsigned long long)count);
    return 0;
}
