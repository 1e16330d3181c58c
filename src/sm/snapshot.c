/*
 * src/sm/snapshot.c - the snapshot file: verify, load, publish, chunks (the
 * writing side is snapshot_write.c)
 * (see snapshot.h for the format and the crash analysis).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/checksum.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "base/le.h"
#include "sm/snapshot.h"
#include "sm/snapshot_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define STREAM_BUF_BYTES (1u << 20) /* reading: stdio buffer */
#define RECORD_HEAD_LEN 16          /* versions 1 and 2 */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

int snapshot_path(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static void *close_fd(void *fd)
{
    close((int)(intptr_t)fd);
    return NULL;
}

/* Closes fd on a short-lived thread of its own (at once if none starts). */
static void close_elsewhere(int fd)
{
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, close_fd, (void *)(intptr_t)fd) != 0) close(fd);
    pthread_attr_destroy(&attr);
}

/* The file replaced is held open across the rename and closed on another
 * thread: its blocks are freed when its last reference goes, which inside
 * rename() took 72 ms on the calling thread (a node's loop) for a 150 MB
 * file on ext4. */
int snapshot_publish(const char *dir, const char *tmp_name, char *err, size_t errlen)
{
    return snapshot_publish_as(dir, tmp_name, SNAPSHOT_FILE_NAME, err, errlen);
}

int snapshot_publish_as(const char *dir, const char *tmp_name, const char *name, char *err,
                        size_t errlen)
{
    char from[4096], to[4096];
    if (snapshot_path(from, sizeof from, dir, tmp_name) || snapshot_path(to, sizeof to, dir, name))
        return util_fail(err, errlen, SNAPSHOT_EIO, "%s: path too long", dir);
    int old = open(to, O_RDONLY | O_CLOEXEC);
    int rc = rename(from, to);
    int rename_errno = errno;
    if (old >= 0) close_elsewhere(old);
    if (rc != 0)
        return util_fail(err, errlen, SNAPSHOT_EIO, "rename %s to %s: %s", from, to,
                         strerror(rename_errno));
    /* The rename is durable only once the directory entry is. */
    if (fsync_dir(dir) != 0)
        return util_fail(err, errlen, SNAPSHOT_EIO, "fsync of directory %s: %s", dir,
                         strerror(errno));
    return 0;
}

/* ------------------------------------------------------------------- read */

struct reader {
    const struct kv_type_ops *const *types; /* by enum kv_type */
    FILE *f;
    const char *path;
    uint32_t version;    /* from the header; decides the checksum */
    uint64_t fnv;        /* version 1: FNV-1a 64 so far */
    struct checksum sum; /* version 2 */
    uint64_t pos, size;
    unsigned char *buf; /* one record's key and value */
    size_t cap;
    int ndbs; /* the reader's databases: a record of another is refused */
};

static void r_hash(struct reader *r, const void *p, size_t n)
{
    if (r->version == 1)
        r->fnv = fnv(r->fnv, p, n);
    else
        checksum_update(&r->sum, p, n);
}

static uint64_t r_body_hash(const struct reader *r)
{
    return r->version == 1 ? r->fnv : checksum_final(&r->sum);
}

/* Reads n bytes (not hashed). */
static int r_read(struct reader *r, void *p, size_t n, char *err, size_t errlen)
{
    if (n && fread(p, 1, n, r->f) != n) {
        if (ferror(r->f))
            return util_fail(err, errlen, SNAPSHOT_EIO, "reading %s: %s", r->path, strerror(errno));
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is truncated or corrupt at byte %llu", r->path,
                         (unsigned long long)r->pos);
    }
    r->pos += n;
    return 0;
}

/* Reads n bytes of the body (hashed). */
static int r_get(struct reader *r, void *p, size_t n, char *err, size_t errlen)
{
    int rc = r_read(r, p, n, err, errlen);
    if (rc == 0) r_hash(r, p, n);
    return rc;
}

static int read_header(struct reader *r, struct snapshot_header *h, char *err, size_t errlen)
{
    unsigned char head[SNAPSHOT_HEADER_LEN];
    if (r->size < SNAPSHOT_HEADER_LEN + SNAPSHOT_TRAILER_LEN)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is truncated (%llu bytes, shorter than header and trailer)",
                         r->path, (unsigned long long)r->size);
    int rc = r_read(r, head, sizeof head, err, errlen);
    if (rc) return rc;
    if (memcmp(head, HEADER_MAGIC, 8) != 0)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "%s is not a raftcache snapshot (bad magic)", r->path);
    uint32_t version = le_get32(head + 8);
    if (version < SNAPSHOT_VERSION_MIN || version > SNAPSHOT_VERSION || le_get32(head + 12) != 0)
        return util_fail(
            err, errlen, SNAPSHOT_EBADFILE,
            "snapshot %s has version %u (flags %u); this build reads versions %d to %d", r->path,
            version, le_get32(head + 12), SNAPSHOT_VERSION_MIN, SNAPSHOT_VERSION);
    r->version = version;
    r_hash(r, head, sizeof head);
    h->index = le_get64(head + 16);
    h->term = le_get64(head + 24);
    h->key_count = le_get64(head + 32);
    return 0;
}

/* A record as read: key at r->buf, value at r->buf + klen. */
struct record {
    int db;       /* 0 before version 6 */
    uint8_t type; /* enum kv_type; KV_STRING in versions 1 and 2 */
    uint32_t klen;
    uint64_t vlen;
    int64_t expire_ms;
};

/* Version 6's database after the type byte: 1 or more, below the reader's
 * databases. */
static int read_record_db(struct reader *r, struct record *rec, char *err, size_t errlen)
{
    unsigned char d[4];
    uint64_t at = r->pos;
    int rc = r_get(r, d, sizeof d, err, errlen);
    if (rc) return rc;
    uint32_t db = le_get32(d);
    if (db == 0 || db >= KV_DBS_MAX)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is corrupt: a record of database %u at byte %llu", r->path,
                         db, (unsigned long long)at);
    if ((int)db >= r->ndbs)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s holds keys of database %u, but this node has %d "
                         "(databases): every node of a cluster needs the same databases",
                         r->path, db, r->ndbs);
    rec->db = (int)db;
    return 0;
}

static int read_record_head(struct reader *r, struct record *rec, char *err, size_t errlen)
{
    unsigned char head[RECORD_HEAD_LEN_V3];
    rec->db = 0;
    if (r->version >= 6) { /* the type byte, then maybe a database, then the rest */
        int rc = r_get(r, head, 1, err, errlen);
        if (rc) return rc;
        if (head[0] & SNAPSHOT_TYPE_HAS_DB) {
            if ((rc = read_record_db(r, rec, err, errlen)) != 0) return rc;
            head[0] &= (unsigned char)~SNAPSHOT_TYPE_HAS_DB;
        }
    }
    size_t first = r->version >= 6 ? 1 : 0;
    size_t n = r->version >= 3 ? RECORD_HEAD_LEN_V3 : RECORD_HEAD_LEN;
    int rc = r_get(r, head + first, n - first, err, errlen);
    if (rc) return rc;
    if (r->version >= 3) {
        rec->type = head[0];
        rec->klen = le_get32(head + 1);
        rec->vlen = le_get64(head + 5);
        rec->expire_ms = (int64_t)le_get64(head + 13);
    } else {
        rec->type = KV_STRING;
        rec->klen = le_get32(head);
        rec->vlen = le_get32(head + 4);
        rec->expire_ms = (int64_t)le_get64(head + 8);
    }
    uint64_t at = r->pos - n - (rec->db ? 4 : 0);
    if (rec->type >= KV_TYPE_COUNT || (rec->type != KV_STRING && !r->types[rec->type]))
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is corrupt (or from a newer build): a value of unknown "
                         "type %u at byte %llu",
                         r->path, rec->type, (unsigned long long)at);
    /* Lengths are checked against the file before any allocation, so a
     * corrupt length can never make us allocate gigabytes. */
    if (rec->vlen > r->size || r->pos + rec->klen + rec->vlen + SNAPSHOT_TRAILER_LEN > r->size)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is truncated or corrupt: a record at byte %llu runs past "
                         "the end",
                         r->path, (unsigned long long)at);
    if (rec->type == KV_STRING && rec->vlen > UINT32_MAX)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is corrupt: a string of %llu "
                         "bytes at byte %llu",
                         r->path, (unsigned long long)rec->vlen, (unsigned long long)at);
    if (rec->expire_ms != -1 && rec->expire_ms <= 0)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is corrupt: bad expiry at %llu", r->path,
                         (unsigned long long)at);
    return 0;
}

/* One record into r->buf. */
static int read_record(struct reader *r, struct record *rec, char *err, size_t errlen)
{
    int rc = read_record_head(r, rec, err, errlen);
    if (rc) return rc;
    uint64_t need = (uint64_t)rec->klen + rec->vlen;
    if (need + 1 > r->cap) {
        unsigned char *nb = realloc(r->buf, need + 1);
        if (!nb) return util_fail(err, errlen, SNAPSHOT_EIO, "%s: out of memory", r->path);
        r->buf = nb;
        r->cap = need + 1;
    }
    return r_get(r, r->buf, need, err, errlen);
}

/* Stores the record just read into kv (NULL: only checks that a value of
 * another type decodes). now_ms 0: nothing counts as expired while loading,
 * so the keyspace is exactly the snapshot's (see the header on expired keys). */
static int store_record(struct reader *r, const struct record *rec, struct kv *const *db, char *err,
                        size_t errlen)
{
    struct kv *kv = db ? db[rec->db] : NULL;
    const char *key = (const char *)r->buf;
    const unsigned char *value = r->buf + rec->klen;
    if (rec->type == KV_STRING) {
        if (kv) kv_set(kv, key, rec->klen, value, rec->vlen, rec->expire_ms, 0);
        return 0;
    }
    const struct kv_type_ops *ops = r->types[rec->type];
    char why[160] = "";
    type_load_fn *load = r->version < 5 && ops->load_v4 ? ops->load_v4 : ops->load;
    void *obj =
        load(value, rec->vlen, kv ? &kv->common->limits : &kv_limits_default, why, sizeof why);
    if (!obj)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is corrupt: the %s at key "
                         "'%.*s' does not decode (%s)",
                         r->path, ops->name, (int)(rec->klen > 64 ? 64 : rec->klen), key, why);
    if (kv)
        kv_set_obj(kv, key, rec->klen, rec->type, obj, rec->expire_ms, 0);
    else
        ops->free(obj);
    return 0;
}

/* Version 4's extra records, each handed to extra->load (when given). */
static int read_extras(struct reader *r, const struct snapshot_extra *extra, char *err,
                       size_t errlen)
{
    for (;;) {
        unsigned char head[9];
        uint64_t at = r->pos;
        if (at + sizeof head + SNAPSHOT_TRAILER_LEN > r->size)
            return util_fail(
                err, errlen, SNAPSHOT_EBADFILE,
                "snapshot %s is truncated or corrupt: its state records run past the end", r->path);
        int rc = r_get(r, head, sizeof head, err, errlen);
        if (rc) return rc;
        uint64_t len = le_get64(head + 1);
        if (head[0] == 0 && len == 0) return 0;
        if (head[0] == 0 || head[0] > SNAPSHOT_EXTRA_KIND_MAX || len > SNAPSHOT_EXTRA_BYTES_MAX ||
            r->pos + len + SNAPSHOT_TRAILER_LEN > r->size)
            return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                             "snapshot %s is corrupt: a bad state record (kind %u, %llu bytes) "
                             "at byte %llu",
                             r->path, head[0], (unsigned long long)len, (unsigned long long)at);
        if (len + 1 > r->cap) {
            unsigned char *nb = realloc(r->buf, len + 1);
            if (!nb) return util_fail(err, errlen, SNAPSHOT_EIO, "%s: out of memory", r->path);
            r->buf = nb;
            r->cap = len + 1;
        }
        rc = r_get(r, r->buf, len, err, errlen);
        if (rc) return rc;
        char why[200] = "";
        if (extra && extra->load &&
            extra->load(extra->ud, head[0], r->buf, len, why, sizeof why) != 0)
            return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                             "snapshot %s is corrupt: the state record at byte %llu: %s", r->path,
                             (unsigned long long)at, why);
    }
}

static int read_trailer(struct reader *r, char *err, size_t errlen)
{
    if (r->pos + SNAPSHOT_TRAILER_LEN != r->size)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE,
                         "snapshot %s is corrupt: %llu bytes after its last record, expected %d",
                         r->path, (unsigned long long)(r->size - r->pos), SNAPSHOT_TRAILER_LEN);
    uint64_t body_hash = r_body_hash(r);
    unsigned char t[SNAPSHOT_TRAILER_LEN];
    int rc = r_read(r, t, sizeof t, err, errlen);
    if (rc) return rc;
    if (memcmp(t, TRAILER_MAGIC, 8) != 0)
        return util_fail(err, errlen, SNAPSHOT_EBADFILE, "snapshot %s is corrupt: no trailer",
                         r->path);
    if (le_get64(t + 8) != body_hash)
        return util_fail(
            err, errlen, SNAPSHOT_EBADFILE,
            "snapshot %s is corrupt: checksum mismatch (stored %016llx, computed %016llx)", r->path,
            (unsigned long long)le_get64(t + 8), (unsigned long long)body_hash);
    return 0;
}

static int open_reader(struct reader *r, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->fnv = FNV_OFFSET;
    checksum_init(&r->sum);
    r->f = fopen(path, "rb");
    if (!r->f)
        return util_fail(err, errlen, errno == ENOENT ? SNAPSHOT_ENOENT : SNAPSHOT_EIO, "%s: %s",
                         path, strerror(errno));
    setvbuf(r->f, NULL, _IOFBF, STREAM_BUF_BYTES);
    struct stat sb;
    if (fstat(fileno(r->f), &sb) != 0) {
        fclose(r->f);
        return util_fail(err, errlen, SNAPSHOT_EIO, "%s: %s", path, strerror(errno));
    }
    r->size = (uint64_t)sb.st_size;
    return 0;
}

/* Reads (and loads into db[0..ndbs) unless db is NULL) the whole file. */
static int read_all(const char *path, const struct kv_type_ops *const *types, struct kv *const *db,
                    int ndbs, const struct snapshot_extra *extra, struct snapshot_header *h,
                    char *err, size_t errlen)
{
    struct reader r;
    int rc = open_reader(&r, path, err, errlen);
    if (rc) return rc;
    r.types = types;
    r.ndbs = ndbs;
    rc = read_header(&r, h, err, errlen);
    for (uint64_t i = 0; rc == 0 && i < h->key_count; i++) {
        struct record rec;
        rc = read_record(&r, &rec, err, errlen);
        if (rc == 0) rc = store_record(&r, &rec, db, err, errlen);
    }
    if (rc == 0 && r.version >= 4) rc = read_extras(&r, db ? extra : NULL, err, errlen);
    if (rc == 0) rc = read_trailer(&r, err, errlen);
    free(r.buf);
    fclose(r.f);
    return rc;
}

int snapshot_verify(const char *path, const struct kv_type_ops *const *types, int ndbs,
                    struct snapshot_header *h, char *err, size_t errlen)
{
    return read_all(path, types, NULL, ndbs, NULL, h, err, errlen);
}

int snapshot_load(const char *path, struct kv *const *db, int ndbs,
                  const struct snapshot_extra *extra, struct snapshot_header *h, char *err,
                  size_t errlen)
{
    ASSERT(ndbs >= 1);
    return read_all(path, db[0]->common->types, db, ndbs, extra, h, err, errlen);
}

/* ----------------------------------------------------------------- chunks */

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    return 0;
}

int snapshot_read_chunk(const char *path, uint64_t index, uint64_t offset, void *buf,
                        uint32_t max_len, uint32_t *len, bool *done, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return util_fail(err, errlen, errno == ENOENT ? SNAPSHOT_ENOENT : SNAPSHOT_EIO, "%s: %s",
                         path, strerror(errno));
    unsigned char head[SNAPSHOT_HEADER_LEN];
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0 || pread_full(fd, head, sizeof head, 0) != 0)
        rc = util_fail(err, errlen, SNAPSHOT_EIO, "reading %s: %s", path,
                       errno ? strerror(errno) : "short file");
    else if (memcmp(head, HEADER_MAGIC, 8) != 0 || le_get64(head + 16) != index)
        rc = util_fail(err, errlen, SNAPSHOT_ESTALE, "%s does not hold snapshot %llu", path,
                       (unsigned long long)index);
    else if (offset > (uint64_t)sb.st_size)
        rc = util_fail(err, errlen, SNAPSHOT_EBADFILE, "%s: offset %llu past its end", path,
                       (unsigned long long)offset);
    if (rc == 0) {
        uint64_t left = (uint64_t)sb.st_size - offset;
        *len = left < max_len ? (uint32_t)left : max_len;
        *done = offset + *len == (uint64_t)sb.st_size;
        if (pread_full(fd, buf, *len, offset) != 0)
            rc = util_fail(err, errlen, SNAPSHOT_EIO, "reading %s at %llu: %s", path,
                           (unsigned long long)offset, errno ? strerror(errno) : "short file");
    }
    close(fd);
    return rc;
}

int snapshot_write_chunk(const char *path, uint64_t offset, const void *data, uint32_t len,
                         bool done, char *err, size_t errlen)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0);
    int fd = open(path, flags, 0600);
    if (fd < 0) return util_fail(err, errlen, SNAPSHOT_EIO, "%s: %s", path, strerror(errno));
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0) {
        rc = util_fail(err, errlen, SNAPSHOT_EIO, "%s: %s", path, strerror(errno));
    } else if ((uint64_t)sb.st_size != offset) {
        /* A gap or an overlap: chunks arrive one at a time, in order. */
        rc = util_fail(err, errlen, SNAPSHOT_EBADFILE, "%s holds %llu bytes, chunk is at %llu",
                       path, (unsigned long long)sb.st_size, (unsigned long long)offset);
    } else if (snapshot_pwrite_full(fd, data, len, offset) != 0 || (done && fsync(fd) != 0)) {
        rc = util_fail(err, errlen, SNAPSHOT_EIO, "writing %s: %s", path, strerror(errno));
    }
    close(fd);
    return rc;
}

void snapshot_remove_temps(const char *dir)
{
    char p[4096];
    if (snapshot_path(p, sizeof p, dir, SNAPSHOT_TEMP_NAME) == 0) unlink(p);
    if (snapshot_path(p, sizeof p, dir, SNAPSHOT_INCOMING_NAME) == 0) unlink(p);
}

uint64_t snapshot_file_size(const char *dir)
{
    char p[4096];
    struct stat sb;
    if (snapshot_path(p, sizeof p, dir, SNAPSHOT_FILE_NAME) != 0 || stat(p, &sb) != 0) return 0;
    return (uint64_t)sb.st_size;
}
