/*
 * src/storage_vfs.c - the pass-through VFS of storage_vfs.h.
 *
 * A file opened through it is a struct vfile followed by the default VFS's
 * own file object (szOsFile bytes), to which every method forwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "storage_vfs.h"
#include "util.h"

struct storage_vfs {
    sqlite3_vfs vfs; /* pAppData points back here */
    sqlite3_vfs *base;
    char name[48];
    storage_vfs_hook *fn;
    void *ud;
    int64_t every_us, last_us;
};

struct vfile {
    sqlite3_file base;
    struct storage_vfs *v;
    sqlite3_file *real; /* right after this struct */
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

static int f_close(sqlite3_file *f)
{
    return real_of(f)->pMethods->xClose(real_of(f));
}

/* Reads too: deleting a large row reads its whole overflow chain. */
static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    int rc = real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
    maybe_hook((struct vfile *)f);
    return rc;
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    int rc = real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
    maybe_hook((struct vfile *)f);
    return rc;
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

/* A sync may take long and cannot be split: the hook runs before and after. */
static int f_sync(sqlite3_file *f, int flags)
{
    maybe_hook((struct vfile *)f);
    int rc = real_of(f)->pMethods->xSync(real_of(f), flags);
    maybe_hook((struct vfile *)f);
    return rc;
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int f_lock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
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
    return real_of(f)->pMethods->xShmMap(real_of(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return real_of(f)->pMethods->xFetch(real_of(f), off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
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
    p->v = v;
    p->real = (sqlite3_file *)(p + 1);
    int rc = v->base->xOpen(v->base, name, p->real, flags, out);
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
    sqlite3_vfs *b = ((struct storage_vfs *)vfs->pAppData)->base;
    return b->xDelete(b, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    sqlite3_vfs *b = ((struct storage_vfs *)vfs->pAppData)->base;
    return b->xAccess(b, name, flags, out);
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

void storage_vfs_free(struct storage_vfs *v)
{
    if (!v) return;
    sqlite3_vfs_unregister(&v->vfs);
    free(v);
}
