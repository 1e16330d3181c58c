/*
 * src/net/supervise.c - daemonize, the pid file and supervisor
 * notifications; see src/net/supervise.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "config/config.h"
#include "net/supervise.h"

static struct {
    int mode;           /* enum config_supervised: NO, UPSTART or SYSTEMD once decided */
    char pidfile[4096]; /* written by this process; "" when none */
    int notify_failed;  /* a systemd notification failed (logged once) */
} sv;

/* One sd_notify(3) datagram to NOTIFY_SOCKET. Returns 0, or -1. */
static int notify_systemd(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = path ? strlen(path) : 0;
    if (n < 2 || n >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) return -1;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@') sa.sun_path[0] = 0; /* the abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    ssize_t rc = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    int e = errno;
    close(fd);
    errno = e;
    return rc == (ssize_t)strlen(msg) ? 0 : -1;
}

static void tell_systemd(const char *msg)
{
    if (sv.mode != CONFIG_SUPERVISED_SYSTEMD) return;
    if (notify_systemd(msg) == 0 || sv.notify_failed) return;
    sv.notify_failed = 1;
    LOG_WARNING("systemd supervision error: cannot notify NOTIFY_SOCKET '%s': %s",
                getenv("NOTIFY_SOCKET") ? getenv("NOTIFY_SOCKET") : "", strerror(errno));
}

/* supervised auto, upstart, systemd: what applies in this environment. */
static int decide_mode(int wanted)
{
    if (wanted == CONFIG_SUPERVISED_AUTO) {
        if (getenv("UPSTART_JOB")) return CONFIG_SUPERVISED_UPSTART;
        return getenv("NOTIFY_SOCKET") ? CONFIG_SUPERVISED_SYSTEMD : CONFIG_SUPERVISED_NO;
    }
    if (wanted == CONFIG_SUPERVISED_UPSTART && !getenv("UPSTART_JOB")) {
        LOG_WARNING("upstart supervision requested, but UPSTART_JOB not found!");
        return CONFIG_SUPERVISED_NO;
    }
    if (wanted == CONFIG_SUPERVISED_SYSTEMD && !getenv("NOTIFY_SOCKET")) {
        LOG_WARNING("systemd supervision requested, but NOTIFY_SOCKET not found!");
        return CONFIG_SUPERVISED_NO;
    }
    return wanted;
}

static int daemonize(char *err, size_t errlen)
{
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "daemonize: fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) _exit(0); /* the parent: the child carries on */
    setsid();
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
    return 0;
}

static void write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        LOG_WARNING("Failed to write PID file '%s': %s", path, strerror(errno));
        return;
    }
    snprintf(sv.pidfile, sizeof sv.pidfile, "%s", path);
}

int supervise_start(const struct config *cfg, char *err, size_t errlen)
{
    sv.mode = decide_mode(cfg->supervised);
    if (sv.mode == CONFIG_SUPERVISED_SYSTEMD) {
        LOG_NOTICE("Supervised by systemd. Please make sure you set appropriate values for "
                   "TimeoutStartSec and TimeoutStopSec in your service unit.");
        tell_systemd("STATUS=raftcache is loading...\n");
    }
    int background = cfg->daemonize && sv.mode == CONFIG_SUPERVISED_NO;
    if (background && daemonize(err, errlen) < 0) return -1;
    if (cfg->pidfile[0] || background)
        write_pidfile(cfg->pidfile[0] ? cfg->pidfile : SUPERVISE_DEFAULT_PIDFILE);
    return 0;
}

void supervise_status(const char *msg)
{
    char line[512];
    snprintf(line, sizeof line, "STATUS=%s\n", msg);
    tell_systemd(line);
}

void supervise_ready(void)
{
    if (sv.mode == CONFIG_SUPERVISED_UPSTART) {
        LOG_NOTICE("supervised by upstart, will stop to signal readiness.");
        raise(SIGSTOP);
        unsetenv("UPSTART_JOB");
        sv.mode = CONFIG_SUPERVISED_NO;
        return;
    }
    supervise_status("Ready to accept connections");
    tell_systemd("READY=1\n");
}

void supervise_stop(void)
{
    tell_systemd("STOPPING=1\n");
    if (sv.pidfile[0] && unlink(sv.pidfile) != 0 && errno != ENOENT)
        LOG_WARNING("Failed to remove PID file '%s': %s", sv.pidfile, strerror(errno));
    sv.pidfile[0] = 0;
}
