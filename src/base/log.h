/*
 * src/base/log.h - the process log: Redis-style lines on stdout or in a file.
 *
 * A line looks like Redis's:
 *
 *     12345:M 21 Nov 2026 16:03:00.123 * Ready to accept connections
 *
 * pid, role char, local time with milliseconds, level char ('.' debug,
 * '-' verbose, '*' notice, '#' warning), message. The role char is set by the
 * server as the node's Raft role changes ('M' leader, 'S' follower, 'C'
 * candidate; 'M' until told otherwise).
 *
 * A log file moved or removed (logrotate without copytruncate) is noticed
 * at the next line, which goes into a new file at the same path: the
 * path is compared with the open file before every line (one stat()). If
 * the new file cannot be opened, lines go on into the old one.
 *
 * Each line reaches the kernel in one write() call, and a log file is opened
 * O_APPEND, so lines from this process (and from others appending to the same
 * file) never interleave mid-line. A message longer than LOG_LINE_MAX is
 * truncated. Logging never changes errno, so callers may log strerror(errno)
 * and still test errno afterwards.
 *
 * State: the process has one log, so its state (level, fd, role) is one static
 * struct private to log.c. Logging works before log_init(): it then writes
 * notice and above to stdout.
 */
#ifndef LOG_H
#define LOG_H

/* Ordered by severity; config.h's loglevel directive stores these values. */
enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_VERBOSE = 1,
    LOG_LEVEL_NOTICE = 2,
    LOG_LEVEL_WARNING = 3,
};

#define LOG_LINE_MAX 1024 /* bytes of one line, prefix and newline included */

/* Sets the level and the destination: path NULL or "" means stdout, otherwise
 * the file is created if missing and appended to. A previous log file is
 * closed. Returns 0, or -1 with errno set (the log then stays as it was). */
int log_init(int level, const char *path);

/* Closes a log file opened by log_init() and returns to stdout. */
void log_close(void);

/* Messages below level are dropped. Levels outside the enum are clamped. */
void log_set_level(int level);

/* 1 if a message of this level would be written. */
int log_enabled(int level);

/* The role char printed after the pid. */
void log_set_role(char role);
/* The number printed in place of the pid (0: the pid), for a process that
 * runs several nodes (tests/nodesim: the node id). */
void log_set_source(long source);

/* Formats and writes one line if level is enabled. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The macros skip formatting the arguments when the level is disabled. */
#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if (log_enabled(level)) log_msg(level, __VA_ARGS__);                                       \
    } while (0)
#define LOG_DEBUG(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_VERBOSE(...) LOG_AT(LOG_LEVEL_VERBOSE, __VA_ARGS__)
#define LOG_NOTICE(...) LOG_AT(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define LOG_WARNING(...) LOG_AT(LOG_LEVEL_WARNING, __VA_ARGS__)

#endif
