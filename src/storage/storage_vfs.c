/*
 * src/storage/storage_vfs.c - the pass-through VFS of storage_vfs.h.
 *
 * A file opened through it is a struct vfile followed by the default VFS's
 * own file object (szOsFile bytes), to which every method forwards.
 *
 * Write combining (see the header): the VFS holds one pending run of bytes,
 * for one file, at consecutive offsets. Every call other than a write that
 * extends the run, a read of another file, a memory barrier and the two
 * pure queries (sector size and device characteristics) first writes the
 * run out, so the files
 * see the same changes in the same order as without the buffer, some of
 * them merged.
 *
 * Read-ahead (see the header): one window of bytes read ahead, for one file.
 * A read that continues the file's previous one (at its end, or past a WAL
 * frame header) fills the window from its offset; later reads inside the
 * window are copied from it. Any write, truncation or close of that file
 * drops the window, so a read never sees bytes older than the file's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/clock.h"
#include "storage/storage_vfs.h"
#include "base/util.h"

/* The pending run: at most this many bytes (SQLite writes a page, or a
 * 24-byte WAL frame header, at a time). SQLite's unix VFS writes at most
 * 128 KiB - 1 bytes per call (it masks the length with 0x1ffff and reports
 * the rest as a full disk), so a run stays under that. */
#define RUN_MAX_BYTES (124 * 1024)
#define WAL_FRAME_HEADER_BYTES 24
/* The read-ahead window. */
#define AHEAD_MAX_BYTES (124 * 1024)

struct vfile;

struct storage_vfs {
    sqlite3_vfs vfs; /* pAppData points back here */
    sqlite3_vfs *base;
    char name[48];
    storage_vfs_hook *fn;
    void *ud;
    int64_t every_us, last_us;
    struct vfile *run_file; /* the pending run's file; NULL: none pending */
    sqlite3_int64 run_off;  /* where the run starts in it */
    size_t run_len;
    unsigned char *run;        /* RUN_MAX_BYTES; NULL: write through (no memory) */
    uint64_t writes, syscalls; /* xWrite calls taken, writes made of them */
    struct vfile *ahead_file;  /* the read-ahead window's file; NULL: none */
    sqlite3_int64 ahead_off;   /* the window: ahead_len bytes from here */
    sqlite3_int64 ahead_len;
    unsigned char *ahead;       /* AHEAD_MAX_BYTES; NULL: no read-ahead (no memory) */
    uint64_t reads, read_calls; /* xRead calls taken, reads made of them */
};

struct vfile {
    sqlite3_file base;
    struct storage_vfs *v;
    sqlite3_file *real;     /* right after this struct */
    int wal;                /* a WAL file: its commit frames are written through */
    int commit_page;        /* the next write is the page of a commit frame */
    sqlite3_int64 read_end; /* where the last read of this file ended */
};

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((struct vfile *)f)->real;
}

static void maybe_hook(struct vfile *p)
{
    struct storage_vfs *v = p->v;
    if (!v->fn) return;
    int64_t now = clock_mono_us();
    if (now - v->last_us < v->every_us) return;
    v->last_us = now;
    v->fn(v->ud);
}

/* Writes the pending run out (one call to the default VFS) and empties it
 * whatever the outcome: SQLite hears of a failure from the call that asked
 * for the flush, which belongs to the same operation as the run's writes
 * (a commit's frames are flushed inside the commit, a checkpoint's pages
 * before it truncates the database), and undoes that operation. */
static int write_through(struct vfile *p, const void *buf, int n, sqlite3_int64 off)
{
    p->v->syscalls++;
    return p->real->pMethods->xWrite(p->real, buf, n, off);
}

static int run_flush(struct storage_vfs *v)
{
    if (!v->run_file) return SQLITE_OK;
    int rc = write_through(v->run_file, v->run, (int)v->run_len, v->run_off);
    v->run_file = NULL;
    v->run_len = 0;
    return rc;
}

static int flush_of(sqlite3_file *f)
{
    return run_flush(((struct vfile *)f)->v);
}

/* The file changes (or goes): its read-ahead window, if any, is stale. */
static void ahead_drop(struct vfile *p)
{
    if (p->v->ahead_file == p) p->v->ahead_file = NULL;
}

static int f_close(sqlite3_file *f)
{
    ahead_drop((struct vfile *)f);
    int rc = flush_of(f);
    int rc2 = real_of(f)->pMethods->xClose(real_of(f));
    return rc != SQLITE_OK ? rc : rc2;
}

static int read_through(struct vfile *p, void *buf, int n, sqlite3_int64 off)
{
    p->v->read_calls++;
    return p->real->pMethods->xRead(p->real, buf, n, off);
}

/* Fills the window from off of p's file: AHEAD_MAX_BYTES, or up to the
 * end of the file (a short read holds the bytes up to it). 0 or -1. */
static int ahead_fill(struct vfile *p, sqlite3_int64 off)
{
    struct storage_vfs *v = p->v;
    sqlite3_int64 len = AHEAD_MAX_BYTES, size;
    int rc = read_through(p, v->ahead, AHEAD_MAX_BYTES, off);
    if (rc == SQLITE_IOERR_SHORT_READ &&
        p->real->pMethods->xFileSize(p->real, &size) == SQLITE_OK && size > off &&
        size - off < len) {
        len = size - off;
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) return -1;
    v->ahead_file = p;
    v->ahead_off = off;
    v->ahead_len = len;
    return 0;
}

/* Serves [off, off + n) from the window, filling it first when the read
 * continues the file's previous one. 1: served; 0: read it directly (a
 * window that cannot hold it, or whose read failed: the direct read gives
 * SQLite the short read or the error of its own range). */
static int ahead_read(struct vfile *p, void *buf, int n, sqlite3_int64 off)
{
    struct storage_vfs *v = p->v;
    if (!v->ahead || n <= 0 || n > AHEAD_MAX_BYTES) return 0;
    int inside =
        v->ahead_file == p && off >= v->ahead_off && off + n <= v->ahead_off + v->ahead_len;
    if (!inside) {
        int continues = off >= p->read_end && off - p->read_end <= WAL_FRAME_HEADER_BYTES;
        if (!continues) return 0;
        ahead_drop(p);
        if (ahead_fill(p, off) != 0 || off + n > v->ahead_off + v->ahead_len) return 0;
    }
    memcpy(buf, v->ahead + (off - v->ahead_off), (size_t)n);
    return 1;
}

/* Reads too: deleting a large row reads its whole overflow chain. A read
 * of another file than the run's neither sees nor changes the run's bytes,
 * so it leaves the run pending: a checkpoint, which reads a frame from the
 * WAL and writes its page to the database in turn, then writes the
 * database in runs. */
static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    struct vfile *p = (struct vfile *)f;
    int rc = p->v->run_file == p ? run_flush(p->v) : SQLITE_OK;
    if (rc != SQLITE_OK) return rc;
    p->v->reads++;
    if (!ahead_read(p, buf, n, off)) rc = read_through(p, buf, n, off);
    p->read_end = off + n;
    maybe_hook(p);
    return rc;
}

/* Whether buf, written at off of a WAL file, is the header of a commit
 * frame: its bytes 4..7 (the database size after the commit, big-endian)
 * are not zero. The WAL's own header is 32 bytes and frames follow it. */
static int is_commit_header(const struct vfile *p, const unsigned char *buf, int n,
                            sqlite3_int64 off)
{
    return p->wal && n == WAL_FRAME_HEADER_BYTES && off >= 32 &&
           (buf[4] | buf[5] | buf[6] | buf[7]) != 0;
}

/* Adds buf to the run (which it extends, or starts), and writes the run
 * out at once after the page of a commit frame. */
static int run_add(struct vfile *p, const void *buf, int n, sqlite3_int64 off)
{
    struct storage_vfs *v = p->v;
    if (!v->run_file) {
        v->run_file = p;
        v->run_off = off;
    }
    memcpy(v->run + v->run_len, buf, (size_t)n);
    v->run_len += (size_t)n;
    /* A commit is in the file when SQLite's write of its frame returns: a
     * failure then fails the commit, which SQLite rolls back. */
    int rc = p->commit_page ? run_flush(v) : SQLITE_OK;
    p->commit_page = is_commit_header(p, buf, n, off);
    return rc;
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    struct vfile *p = (struct vfile *)f;
    struct storage_vfs *v = p->v;
    int rc = SQLITE_OK;
    v->writes++;
    ahead_drop(p);
    int extends = v->run_file == p && v->run_off + (sqlite3_int64)v->run_len == off;
    if (v->run_file && (!extends || v->run_len + (size_t)n > RUN_MAX_BYTES)) rc = run_flush(v);
    if (rc == SQLITE_OK)
        rc = v->run && n > 0 && (size_t)n <= RUN_MAX_BYTES ? run_add(p, buf, n, off)
                                                           : write_through(p, buf, n, off);
    maybe_hook(p);
    return rc;
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    ahead_drop((struct vfile *)f);
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xTruncate(real_of(f), size);
}

/* A sync may take long and cannot be split: the hook runs before and after. */
static int f_sync(sqlite3_file *f, int flags)
{
    int rc = flush_of(f);
    if (rc != SQLITE_OK) return rc;
    maybe_hook((struct vfile *)f);
    rc = real_of(f)->pMethods->xSync(real_of(f), flags);
    maybe_hook((struct vfile *)f);
    return rc;
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int f_lock(sqlite3_file *f, int level)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xLock(real_of(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int f_device(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xShmMap(real_of(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

/* A memory barrier changes no file: the run stays pending (and a failed
 * flush could not be reported from here). */
static void f_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFetch(real_of(f), off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    int rc = flush_of(f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

/* Version 3 methods; a version 1 or 2 file gets the same table with a lower
 * iVersion (see v_open), so SQLite never calls what it lacks. */
static const sqlite3_io_methods methods_v[3] = {
#define METHODS(ver)                                                                               \
    {                                                                                              \
        ver, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock,               \
            f_check_reserved, f_control, f_sector, f_device, f_shm_map, f_shm_lock, f_shm_barrier, \
            f_shm_unmap, f_fetch, f_unfetch                                                        \
    }
    METHODS(1),
    METHODS(2),
    METHODS(3),
#undef METHODS
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    struct storage_vfs *v = vfs->pAppData;
    struct vfile *p = (struct vfile *)f;
    int rc = run_flush(v);
    if (rc != SQLITE_OK) return rc;
    p->v = v;
    p->real = (sqlite3_file *)(p + 1);
    p->wal = (flags & SQLITE_OPEN_WAL) != 0;
    p->commit_page = 0;
    p->read_end = -1;
    rc = v->base->xOpen(v->base, name, p->real, flags, out);
    const sqlite3_io_methods *m = p->real->pMethods;
    /* No methods: SQLite will not call xClose, on ours either. */
    if (!m)
        p->base.pMethods = NULL;
    else
        p->base.pMethods = &methods_v[m->iVersion >= 3 ? 2 : m->iVersion < 1 ? 0 : m->iVersion - 1];
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    struct storage_vfs *v = vfs->pAppData;
    int rc = run_flush(v);
    return rc != SQLITE_OK ? rc : v->base->xDelete(v->base, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    struct storage_vfs *v = vfs->pAppData;
    int rc = run_flush(v);
    return rc != SQLITE_OK ? rc : v->base->xAccess(v->base, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    sqlite3_vfs *b = ((struct storage_vfs *)vfs->pAppData)->base;
    return b->xFullPathname(b, name, n, out);
}

struct storage_vfs *storage_vfs_create(void)
{
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    if (!base) return NULL;
    struct storage_vfs *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->base = base;
    v->run = malloc(RUN_MAX_BYTES);     /* without it, every write goes through */
    v->ahead = malloc(AHEAD_MAX_BYTES); /* without it, every read goes through */
    snprintf(v->name, sizeof v->name, "raftcache-%p", (void *)v);
    /* The other methods (randomness, time, sleep, ...) ignore their vfs
     * argument in SQLite's own VFSes and are taken as they are. */
    v->vfs = *base;
    v->vfs.pNext = NULL;
    v->vfs.szOsFile = (int)sizeof(struct vfile) + base->szOsFile;
    v->vfs.zName = v->name;
    v->vfs.pAppData = v;
    v->vfs.xOpen = v_open;
    v->vfs.xDelete = v_delete;
    v->vfs.xAccess = v_access;
    v->vfs.xFullPathname = v_full_pathname;
    if (sqlite3_vfs_register(&v->vfs, 0) != SQLITE_OK) {
        free(v);
        return NULL;
    }
    return v;
}

const char *storage_vfs_name(const struct storage_vfs *v)
{
    return v->name;
}

void storage_vfs_set_hook(struct storage_vfs *v, storage_vfs_hook *fn, void *ud,
                          uint32_t interval_ms)
{
    v->fn = fn;
    v->ud = ud;
    v->every_us = (int64_t)interval_ms * 1000;
    v->last_us = clock_mono_us();
}

int storage_vfs_flush(struct storage_vfs *v)
{
    return v ? run_flush(v) : SQLITE_OK;
}

void storage_vfs_counts(const struct storage_vfs *v, struct storage_vfs_counts *c)
{
    c->writes = v ? v->writes : 0;
    c->write_calls = v ? v->syscalls : 0;
    c->reads = v ? v->reads : 0;
    c->read_calls = v ? v->read_calls : 0;
}

void storage_vfs_free(struct storage_vfs *v)
{
    if (!v) return;
    sqlite3_vfs_unregister(&v->vfs);
    free(v->run);
    free(v->ahead);
    free(v);
}
