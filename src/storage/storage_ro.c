/*
 * src/storage/storage_ro.c - part of the storage module (src/storage/storage.h):
 * the file work of storage_open_readonly(), which must leave the data dir
 * exactly as it found it. SQLite cannot read a database in WAL mode without
 * writing beside it (a read-only connection creates -shm and -wal files, and
 * replays the WAL into memory it shares through them), so:
 *   - a file whose WAL is absent or empty (a node stopped cleanly: closing
 *     checkpoints and deletes the WAL) is read in place, opened immutable
 *     (storage_open.c): no lock, no journal, nothing written;
 *   - a file with frames in its WAL (a node killed, or a copy of a running
 *     one) is copied with its WAL into a private directory under TMPDIR,
 *     and the copy is opened: SQLite replays the WAL there. The copy is
 *     removed at storage_close().
 * A dir still in use by a raftcache process is refused: SQLite's locks on
 * the file are looked at first (storage_ro_in_use).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "storage/storage.h"
#include "storage/storage_int.h"

/* SQLite's lock bytes in a database file (its file format: the pending
 * byte at 1 GiB, the reserved byte after it, then 510 shared bytes). A
 * node's connection (locking_mode=EXCLUSIVE) holds a write lock there for
 * its whole life. */
#define SQLITE_LOCK_FIRST 0x40000000
#define SQLITE_LOCK_BYTES 512

#define COPY_CHUNK (1u << 20)

int storage_ro_in_use(const char *db_path, char *err, size_t errlen)
{
    int fd = open(db_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return util_fail(err, errlen, STORAGE_EIO, "%s: cannot open: %s", db_path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK,
                       .l_whence = SEEK_SET,
                       .l_start = SQLITE_LOCK_FIRST,
                       .l_len = SQLITE_LOCK_BYTES};
    int rc = fcntl(fd, F_GETLK, &fl);
    int saved = errno;
    close(fd); /* before SQLite opens the file: closing drops this process's locks on it */
    if (rc != 0)
        return util_fail(err, errlen, STORAGE_EIO, "%s: cannot look at its locks: %s", db_path,
                         strerror(saved));
    if (fl.l_type != F_UNLCK)
        return util_fail(err, errlen, STORAGE_EIO,
                         "%s is in use by process %ld (a running raftcache?): stop the node, "
                         "or copy its dir while it is stopped, and restore from that",
                         db_path, (long)fl.l_pid);
    return 0;
}

/* src -> dst, a new file (O_EXCL), whole. */
static int copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return util_fail(err, errlen, STORAGE_EIO, "%s: cannot open: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int saved = errno;
        close(in);
        return util_fail(err, errlen, STORAGE_EIO, "%s: cannot create: %s", dst, strerror(saved));
    }
    char *buf = util_xmalloc(COPY_CHUNK);
    int ret = 0;
    for (;;) {
        ssize_t n = read(in, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ret = util_fail(err, errlen, STORAGE_EIO, "%s: read: %s", src, strerror(errno));
        if (n <= 0) break;
        for (ssize_t done = 0; done < n && ret == 0;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0)
                ret = util_fail(err, errlen, STORAGE_EIO, "%s: write: %s", dst, strerror(errno));
            else
                done += w;
        }
        if (ret) break;
    }
    free(buf);
    close(in);
    if (close(out) != 0 && ret == 0)
        ret = util_fail(err, errlen, STORAGE_EIO, "%s: write: %s", dst, strerror(errno));
    return ret;
}

int storage_ro_copy(const char *dir, char **copy_dir, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096], src[4096], dst[4096];
    if (snprintf(tmpl, sizeof tmpl, "%s/raftcache-restore-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
        (int)sizeof tmpl)
        return util_fail(err, errlen, STORAGE_EIO, "TMPDIR: path too long");
    if (!mkdtemp(tmpl))
        return util_fail(err, errlen, STORAGE_EIO,
                         "cannot create a directory for a copy of %s/%s in %s: %s", dir,
                         STORAGE_FILE_NAME, tmp && *tmp ? tmp : "/tmp", strerror(errno));
    *copy_dir = util_xmemdup(tmpl, strlen(tmpl) + 1);
    static const char *const names[] = {STORAGE_FILE_NAME, STORAGE_FILE_NAME "-wal"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (snprintf(src, sizeof src, "%s/%s", dir, names[i]) >= (int)sizeof src ||
            snprintf(dst, sizeof dst, "%s/%s", tmpl, names[i]) >= (int)sizeof dst)
            return util_fail(err, errlen, STORAGE_EIO, "%s: path too long", dir);
        int rc = copy_file(src, dst, err, errlen);
        if (rc) return rc;
    }
    return 0;
}

void storage_ro_remove_copy(const char *copy_dir)
{
    DIR *d = opendir(copy_dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            if (snprintf(path, sizeof path, "%s/%s", copy_dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(copy_dir);
}
