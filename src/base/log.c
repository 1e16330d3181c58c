/*
 * src/base/log.c - the process log (see log.h for the line format and guarantees).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

/* The one log of the process. fd is STDOUT_FILENO or a file we opened
 * from path, which was then the file (dev, ino). lock: a line's check,
 * reopen and write, so that no thread writes to an fd another closed. */
static struct {
    int level;
    int fd;
    char role;
    long source;         /* printed in place of the pid when not 0 */
    char path[PATH_MAX]; /* "" for stdout */
    dev_t dev;
    ino_t ino;
    pthread_mutex_t lock;
} the_log = {LOG_LEVEL_NOTICE, STDOUT_FILENO, 'M', 0, "", 0, 0, PTHREAD_MUTEX_INITIALIZER};

/* Opens path for appending; its identity in *st. -1 on failure (errno). */
static int open_log(const char *path, struct stat *st)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The log file was moved or removed (logrotate) since it was opened: the
 * path is opened again, created if need be. If that fails (descriptors
 * exhausted, the directory gone), lines go on into the old file: nothing
 * is lost, and the next line tries again. Called with the lock held. */
static void reopen_if_moved(void)
{
    if (!the_log.path[0]) return;
    struct stat st;
    if (stat(the_log.path, &st) == 0 && st.st_dev == the_log.dev && st.st_ino == the_log.ino)
        return;
    int fd = open_log(the_log.path, &st);
    if (fd < 0) return;
    close(the_log.fd);
    the_log.fd = fd;
    the_log.dev = st.st_dev;
    the_log.ino = st.st_ino;
}

static int clamp_level(int level)
{
    if (level < LOG_LEVEL_DEBUG) return LOG_LEVEL_DEBUG;
    if (level > LOG_LEVEL_WARNING) return LOG_LEVEL_WARNING;
    return level;
}

int log_init(int level, const char *path)
{
    int fd = STDOUT_FILENO;
    struct stat st = {0};
    if (path && path[0]) {
        if (strlen(path) >= sizeof the_log.path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        fd = open_log(path, &st);
        if (fd < 0) return -1;
    }
    log_close();
    pthread_mutex_lock(&the_log.lock);
    the_log.fd = fd;
    snprintf(the_log.path, sizeof the_log.path, "%s", fd == STDOUT_FILENO ? "" : path);
    the_log.dev = st.st_dev;
    the_log.ino = st.st_ino;
    the_log.level = clamp_level(level);
    pthread_mutex_unlock(&the_log.lock);
    return 0;
}

void log_close(void)
{
    pthread_mutex_lock(&the_log.lock);
    if (the_log.fd != STDOUT_FILENO) close(the_log.fd);
    the_log.fd = STDOUT_FILENO;
    the_log.path[0] = 0;
    pthread_mutex_unlock(&the_log.lock);
}

void log_set_level(int level)
{
    the_log.level = clamp_level(level);
}

int log_enabled(int level)
{
    return level >= the_log.level;
}

void log_set_source(long source)
{
    the_log.source = source;
}

void log_set_role(char role)
{
    the_log.role = role;
}

/* "pid:R dd Mon yyyy hh:mm:ss.mmm C " into buf; returns its length. */
static size_t format_prefix(char *buf, size_t len, int level)
{
    static const char level_chars[] = ".-*#";
    int64_t us = clock_us();
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    char when[64];
    size_t n = strftime(when, sizeof when, "%d %b %Y %H:%M:%S", &tm);
    when[n] = '\0';
    long source = the_log.source ? the_log.source : (long)getpid();
    int w = snprintf(buf, len, "%ld:%c %s.%03d %c ", source, the_log.role, when,
                     (int)(us / 1000 % 1000), level_chars[clamp_level(level)]);
    if (w < 0) return 0;
    return (size_t)w < len ? (size_t)w : len - 1;
}

void log_msg(int level, const char *fmt, ...)
{
    if (!log_enabled(level)) return;
    int saved_errno = errno;
    char line[LOG_LINE_MAX];
    size_t n = format_prefix(line, sizeof line, level);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    /* Truncated text ends one byte early; the '\n' then replaces the NUL. */
    if (m > 0) n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
    line[n++] = '\n';
    /* One write() per line: a short write (disk full) is dropped, not retried,
     * because a retry could interleave with another writer's line. */
    ssize_t rc;
    pthread_mutex_lock(&the_log.lock);
    reopen_if_moved();
    do {
        rc = write(the_log.fd, line, n);
    } while (rc < 0 && errno == EINTR);
    pthread_mutex_unlock(&the_log.lock);
    errno = saved_errno;
}
