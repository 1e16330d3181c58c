/*
 * src/net/supervise.h - the process among others: running in the
 * background (daemonize), the pid file, and telling a supervisor when the
 * node is ready or stopping (supervised), as redis-server 7.0 does.
 *
 * - supervise_start(), once, before any thread or event loop exists:
 *   works out the supervision (supervised auto: systemd when NOTIFY_SOCKET
 *   is set, upstart when UPSTART_JOB is), forks into the background when
 *   daemonize is yes and no supervisor runs the node (the parent exits 0,
 *   the child leaves the terminal's session and its standard streams go to
 *   /dev/null), and writes the pid file (pidfile, or
 *   SUPERVISE_DEFAULT_PIDFILE for a daemonized node). A pid file that
 *   cannot be written is logged, not fatal, as in Redis.
 * - supervise_ready() once the node listens: systemd gets "STATUS=Ready to
 *   accept connections" and "READY=1"; an upstart job stops itself with
 *   SIGSTOP (upstart's "expect stop").
 * - supervise_stop() as the node shuts down: systemd gets "STOPPING=1";
 *   the pid file this process wrote is removed.
 *
 * systemd's notification is one datagram to the AF_UNIX socket named by
 * NOTIFY_SOCKET (a path, or '@' for the abstract namespace), as
 * sd_notify(3) sends it: no libsystemd is needed. A failed notification is
 * logged once at warning level.
 *
 * State: one process, so one static struct private to supervise.c.
 */
#ifndef SUPERVISE_H
#define SUPERVISE_H

#include <stddef.h>

struct config;

#define SUPERVISE_DEFAULT_PIDFILE "/var/run/raftcache.pid"

/* Returns 0; -1 with err filled when the fork fails. */
int supervise_start(const struct config *cfg, char *err, size_t errlen);
void supervise_ready(void);
void supervise_stop(void);
/* systemd's STATUS= line (msg without "STATUS="); nothing when not
 * supervised by systemd. */
void supervise_status(const char *msg);

#endif
