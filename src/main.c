/*
 * src/main.c - process entry: configuration, logging, data directory, then
 * the server loop. Every configuration error is reported before any socket
 * is opened, with a non-zero exit.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "config/config.h"
#include "net/loop.h"
#include "net/supervise.h"
#include "server/restore.h"
#include "server/server.h"
#include "base/util.h"
#include "servercmd/cmdtable.h"

#define RAFTCACHE_VERSION "0.1.0"

/* mkdir -p: the data directory is created if missing. */
static int make_dir(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, errlen, "dir '%s': path too long", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char saved = *p;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "Can't create data directory '%s': %s", buf, strerror(errno));
            return -1;
        }
        *p = saved;
        if (!saved) break;
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || access(path, W_OK) < 0) {
        snprintf(err, errlen, "Data directory '%s' is not a writable directory", path);
        return -1;
    }
    return 0;
}

static void log_report_line(void *ud, const char *line)
{
    (void)ud;
    LOG_NOTICE("%s", line);
}

static void usage(void)
{
    fprintf(stderr, "Usage: raftcache [/path/to/raftcache.conf] [--directive value ...]\n"
                    "       raftcache [/path/to/raftcache.conf] --restore-rdb DIR\n"
                    "                 (--until <unix-ms> | --until-index N) [--out FILE]\n"
                    "                 [--uncommitted] [--directive value ...]\n"
                    "           writes a stopped node's keyspace as of a past moment as a\n"
                    "           dump.rdb (default ./dump.rdb); DIR is only read\n"
                    "           (docs/operations.md, Point-in-time restore)\n"
                    "       raftcache -v | --version\n"
                    "       raftcache -h | --help\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("raftcache v=%s\n", RAFTCACHE_VERSION);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    if (restore_requested(argc, argv)) {
        cmdtable_init();
        return restore_main(argc, argv);
    }
    static struct server srv; /* one per process; static only to keep it off the stack */
    static char err[8192];
    char conf_path[PATH_MAX];
    config_init_defaults(&srv.cfg);
    if (config_load_args(&srv.cfg, argc, argv, err, sizeof err) != CONFIG_OK ||
        config_check(&srv.cfg, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0 && realpath(argv[1], conf_path))
        srv.config_file = conf_path;
    srv.executable = argv[0];
    if (log_init(srv.cfg.loglevel, srv.cfg.logfile[0] ? srv.cfg.logfile : NULL) != 0) {
        fprintf(stderr, "Can't open the log file '%s': %s\n", srv.cfg.logfile, strerror(errno));
        return 1;
    }
    config_redis_report(&srv.cfg, LOG_LINE_MAX - 64, log_report_line, NULL);
    if (supervise_start(&srv.cfg, err, sizeof err) < 0) {
        LOG_WARNING("%s", err);
        return 1;
    }
    if (make_dir(srv.cfg.dir, err, sizeof err) < 0) {
        LOG_WARNING("%s", err);
        supervise_stop();
        return 1;
    }
    cmdtable_init();
    monitor_init(&srv.monitor, cmd_id_count());
    LOG_NOTICE("raftcache %s starting, pid=%ld, node-id=%lld", RAFTCACHE_VERSION, (long)getpid(),
               srv.cfg.node_id);
    if (srv.cfg.always_show_logo)
        LOG_NOTICE("raftcache %s, Redis %s protocol, a Raft node: Port: %lld, PID: %ld",
                   RAFTCACHE_VERSION, REDIS_COMPAT_VERSION, srv.cfg.port, (long)getpid());
    if (loop_init(&srv, err, sizeof err) < 0) {
        LOG_WARNING("%s", err);
        supervise_stop();
        return 1;
    }
    LOG_NOTICE("Node started, listening on port %lld", srv.cfg.port);
    int rc = loop_run(&srv);
    supervise_stop();
    loop_free(&srv);
    monitor_free(&srv.monitor);
    config_free(&srv.cfg);
    log_close();
    return rc;
}
