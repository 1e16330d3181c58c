/*
 * src/base/log.c - the process log (see log.h for the line format and guarantees).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

/* The one log of the process. fd is STDOUT_FILENO or a file we opened. */
static struct {
    int level;
    int fd;
    char role;
    long source; /* printed in place of the pid when not 0 */
} the_log = {LOG_LEVEL_NOTICE, STDOUT_FILENO, 'M', 0};

static int clamp_level(int level)
{
    if (level < LOG_LEVEL_DEBUG) return LOG_LEVEL_DEBUG;
    if (level > LOG_LEVEL_WARNING) return LOG_LEVEL_WARNING;
    return level;
}

int log_init(int level, const char *path)
{
    int fd = STDOUT_FILENO;
    if (path && path[0]) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return -1;
    }
    log_close();
    the_log.fd = fd;
    the_log.level = clamp_level(level);
    return 0;
}

void log_close(void)
{
    if (the_log.fd != STDOUT_FILENO) close(the_log.fd);
    the_log.fd = STDOUT_FILENO;
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
    do {
        rc = write(the_log.fd, line, n);
    } while (rc < 0 && errno == EINTR);
    errno = saved_errno;
}
