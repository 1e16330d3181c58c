/*
 * src/net/loop.c - the event loop of one node (see loop.h): listeners, cron,
 * before-sleep, signals, the wiring of the driver and the state machine, and
 * the hooks through which CONFIG SET reaches the running server.
 *
 * The loop is single-threaded. Each iteration: libev runs the I/O callbacks
 * (reads parse and execute commands, appending replies), then the prepare
 * watcher (before sleep) flushes every client with pending output in one
 * place. The cron timer (hz times per second) does the bounded background
 * work: incremental rehash, active expiry, client timeouts.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "servercmd/cmd_sentinel.h"
#include "cmd/monitor.h"
#include "net/conn.h"
#include "net/loop.h"
#include "server/import.h"
#include "server/replof.h"
#include "server/server.h"
#include "server/shutdown.h"
#include "server/tracking.h"
#include "net/server_io.h"
#include "net/supervise.h"
#include "storage/storage.h"
#include "base/log.h"
#include "node/node.h"
#include "server/replica.h"
#include "script/script.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* Opens a listening socket on host:port; returns the fd or -1 (errno set).
 * An IPv6 socket takes IPv4 connections too only when dual_stack is set (an
 * explicit IPv6 address is IPv6 only, as in Redis, so "bind 0.0.0.0 ::"
 * works). */
static int open_listener(const char *host, const char *port, int backlog, int dual_stack)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
    struct addrinfo *res;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, v6only = !dual_stack;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd >= 0 && res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    if (fd >= 0 && (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, backlog) < 0)) {
        int saved = errno;
        close(fd);
        fd = -1;
        errno = saved;
    }
    freeaddrinfo(res);
    return fd;
}

/* Listening failed for want of the address or of its protocol on this host:
 * as in Redis 7.0, an optional ("-") address is skipped when the host does
 * not have it, and any address when the host lacks its protocol. */
static int listen_skippable(int err, int optional)
{
    return (optional && err == EADDRNOTAVAIL) || err == EAFNOSUPPORT || err == EPFNOSUPPORT ||
           err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT || err == ENOPROTOOPT;
}

/* "*" means every interface: an IPv6 dual-stack socket, or IPv4 only on a
 * host without IPv6. */
static int listen_one(struct server *srv, const char *addr, long long portnum, int tls, char *err,
                      size_t errlen)
{
    struct server_io *io = srv->io;
    if (io->n_listen == SERVER_LISTEN_MAX) {
        snprintf(err, errlen, "Too many bind addresses (max %d)", SERVER_LISTEN_MAX);
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%lld", portnum);
    int optional = addr[0] == '-';
    addr += optional;
    int backlog = (int)srv->cfg.tcp_backlog, any = strcmp(addr, "*") == 0;
    int fd = open_listener(any ? "::" : addr, port, backlog, any);
    if (fd < 0 && any) fd = open_listener("0.0.0.0", port, backlog, 0);
    if (fd < 0 && listen_skippable(errno, optional)) {
        LOG_WARNING("Could not create server %s listening socket %s:%s: %s (skipped)",
                    tls ? "TLS" : "TCP", addr, port, strerror(errno));
        return 0;
    }
    if (fd < 0) {
        snprintf(err, errlen, "Could not create server %s listening socket %s:%s: %s",
                 tls ? "TLS" : "TCP", addr, port, strerror(errno));
        return -1;
    }
    io->listener_tls[io->n_listen] = tls;
    ev_io *w = &io->listeners[io->n_listen++];
    ev_io_init(w, conn_accept_cb, fd, EV_READ);
    w->data = srv;
    ev_io_start(io->loop, w);
    return 0;
}

/* The unixsocket: a stale socket file of an earlier run is removed first
 * (as Redis does), the new one gets unixsocketperm, and the file is
 * removed again at exit (loop_run). */
static int listen_unix(struct server *srv, char *err, size_t errlen)
{
    const char *path = srv->cfg.unixsocket;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen,
                 "Failed opening Unix socket: unix socket path too long (%zu), must be under %zu",
                 strlen(path), sizeof sa.sun_path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path));
    struct server_io *io = srv->io;
    ASSERT(io->n_listen < SERVER_LISTEN_MAX); /* room for one past bind's */
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        (srv->cfg.unixsocketperm && chmod(path, (mode_t)srv->cfg.unixsocketperm) < 0) ||
        listen(fd, (int)srv->cfg.tcp_backlog) < 0) {
        snprintf(err, errlen, "Failed opening Unix socket: %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    ev_io *w = &io->listeners[io->n_listen++];
    ev_io_init(w, conn_accept_cb, fd, EV_READ);
    w->data = srv;
    ev_io_start(io->loop, w);
    io->unix_listener = w;
    return 0;
}

/* ---------------------------------------------- CONFIG SET side effects */

/* The apply hooks of src/config/config.h: each makes a directive's new value take
 * effect in the running server (ud is the server); the directives carry
 * their tag in config_defs[]. */

static int apply_maxclients(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    return conn_fit_maxclients(ud, 0, err, errlen);
}

/* The running cron timer takes the new period. */
static int apply_hz(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    struct server *srv = ud;
    (void)err;
    (void)errlen;
    ASSERT(cfg->hz > 0); /* config.c's range for hz starts at 1 */
    if (srv->io) {
        srv->io->cron.repeat = 1.0 / (double)cfg->hz;
        ev_timer_again(srv->io->loop, &srv->io->cron);
    }
    return 0;
}

static int apply_raft_log_fsync(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    node_set_fsync(((struct server *)ud)->node, cfg->raft_log_fsync);
    return 0;
}

static int apply_loglevel(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    (void)ud;
    (void)err;
    (void)errlen;
    log_set_level(cfg->loglevel);
    return 0;
}

static int apply_encoding_limits(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    replica_apply_limits(ud);
    return 0;
}

/* The keyspace's value limit and every client's parser; peers keep the
 * largest Raft message. */
static int apply_proto_max_bulk_len(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    struct server *srv = ud;
    (void)err;
    (void)errlen;
    srv->dbs.common.max_value_len = (size_t)cfg->proto_max_bulk_len;
    for (struct client *c = srv->clients; c; c = c->next)
        if (!(c->flags & CLIENT_PEER))
            c->parser.limits.bulk_len_max = (size_t)cfg->proto_max_bulk_len;
    return 0;
}

/* The classes of keyspace notification the apply path fires from now on. */
static int apply_notify(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    struct server *srv = ud;
    (void)err;
    (void)errlen;
    replica_set_notify(srv, cfg->notify_keyspace_events);
    return 0;
}

/* While a script is busy (src/script/script.h): one pass of the loop, which
 * answers clients -BUSY (or runs their SCRIPT KILL) and nothing else (see
 * before_sleep_cb and the timers). A run from the log runs on every node,
 * each about as long, so the others are told this node is alive rather
 * than left to elect or depose a leader over it: a new leader would have
 * to apply the same entry first. A read-only run is not: it may be stuck
 * until SCRIPT KILL, and a leader stuck in it should be replaced. */
static void serve_while_busy(void *ud)
{
    struct server *srv = ud;
    ASSERT(server_script_busy(srv, NULL)); /* src/script/script.c calls it only while busy */
    if (script_busy_in_log(srv->scripts) || script_busy_in_log(srv->fn_scripts))
        node_busy_keepalive(srv->node);
    ev_run(srv->io->loop, EVRUN_NOWAIT);
}

static int apply_script_busy(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    struct server *srv = ud;
    (void)err;
    (void)errlen;
    script_set_busy(srv->scripts, cfg->busy_reply_threshold, serve_while_busy, srv);
    script_set_busy(srv->fn_scripts, cfg->busy_reply_threshold, serve_while_busy, srv);
    return 0;
}

static int apply_monitor(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    struct server *srv = ud;
    (void)err;
    (void)errlen;
    monitor_configure(&srv->monitor, cfg);
    return 0;
}

/* A tls-* directive changed: new connections get contexts built from it;
 * the value is refused (and the contexts kept) if they cannot be built. */
static int apply_tls(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    return conn_tls_configure(ud, 0, err, errlen);
}

static void register_config_hooks(struct server *srv)
{
    static const struct {
        enum config_apply what;
        config_apply_fn *fn;
    } hooks[] = {
        {CONFIG_APPLY_MAXCLIENTS, apply_maxclients},
        {CONFIG_APPLY_HZ, apply_hz},
        {CONFIG_APPLY_RAFT_LOG_FSYNC, apply_raft_log_fsync},
        {CONFIG_APPLY_LOGLEVEL, apply_loglevel},
        {CONFIG_APPLY_ENCODING_LIMITS, apply_encoding_limits},
        {CONFIG_APPLY_ACCESS, apply_encoding_limits},
        {CONFIG_APPLY_PROTO_MAX_BULK_LEN, apply_proto_max_bulk_len},
        {CONFIG_APPLY_NOTIFY, apply_notify},
        {CONFIG_APPLY_SCRIPT_BUSY, apply_script_busy},
        {CONFIG_APPLY_MONITOR, apply_monitor},
        {CONFIG_APPLY_TLS, apply_tls},
    };
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        config_set_apply_hook(&srv->cfg, hooks[i].what, hooks[i].fn, srv);
}

static void cron_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct server *srv = w->data;
    if (server_script_busy(srv, NULL)) return; /* the script's keyspace stays as it is */
    int64_t now = server_now_ms();
    replica_cron(srv);
    server_stats_cron(srv);
    conn_cron(srv, now);
    conn_tls_cron(srv, now);
}

static void raft_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct server *srv = w->data;
    if (server_script_busy(srv, NULL)) return; /* Raft waits, as peers' messages do */
    node_tick(srv->node);
    /* The next tick is a whole period after this one ended, never at once:
     * after a stall (a long fsync, a trim step) the ticks it made overdue
     * would otherwise run back to back before the peers' answers to the
     * heartbeats they send are read, and a leader would count a quorum
     * check without them and step down. */
    ev_now_update(loop);
    ev_timer_again(loop, w);
}

/* Rounds of (driver, woken clients) per loop iteration at most, so that
 * sockets are served between them; what is left is taken at the next
 * iteration, which then polls without blocking (the `more` idle watcher). */
#define WAKE_ROUNDS_MAX 64

static void more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents; /* its being active is what counts: before_sleep does the work */
}

/* How soon the loop looks again at a snapshot waiting for its thread (the
 * thread does not wake it): about what the thread takes for the work the
 * walk may hand it ahead. */
#define SNAP_POLL_S 0.001

static void snap_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents; /* the wake-up is what counts: before_sleep does the work */
}

/* One place per loop iteration: the Raft batch (persist, send, apply); the
 * clients it answered run the commands they sent meanwhile, whose writes
 * the next round proposes; then every client's output. */
/* The latency monitor's raft-fsync event: the latest commit of the log,
 * looked at after each pass of the driver (one commit a pass, mostly). */
static void sample_fsync(struct server *srv)
{
    if (srv->monitor.threshold_ms <= 0) return;
    struct storage_stats st;
    node_storage_stats(srv->node, &st);
    if (st.fsync_count == srv->io->fsyncs_seen) return;
    srv->io->fsyncs_seen = st.fsync_count;
    monitor_event(&srv->monitor, "raft-fsync", (int64_t)(st.fsync_last_us / 1000));
}

/* SHUTDOWN NOSAVE while a script from the log is busy: the process ends
 * here, inside the entry's apply, as Redis ends inside its script. Nothing
 * durable holds the half-applied entry: the keyspace lives in memory only;
 * the applied index is not persisted; a snapshot is written from what the
 * walk hands its thread, and the walk only steps between entries (not while
 * busy), into a file published by rename, so a half-written one is never
 * loaded. The entry is in the durable log, so a restart replays it whole
 * from the last snapshot, as every other node applies it. */
static void exit_amid_entry(struct server *srv)
{
    (void)srv;
    LOG_WARNING("SHUTDOWN NOSAVE while a script from the log runs: exiting without finishing "
                "it (the log replays it on restart)");
    LOG_WARNING("raftcache is now ready to exit, bye bye...");
    fflush(NULL);
    _exit(0);
}

static void before_sleep_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    struct server *srv = w->data;
    if (server_script_busy(srv, NULL)) { /* a pass inside a busy script: clients only */
        conn_process_readable(srv);
        conn_flush_pending(srv);
        if (srv->shutdown_requested && server_script_kill(srv) == -2) exit_amid_entry(srv);
        return;
    }
    conn_process_readable(srv);
    ASSERT(srv->io->n_readable == 0); /* arrived input runs before the driver's round */
    int round = 0;
    while (round < WAKE_ROUNDS_MAX) {
        node_process_ready(srv->node);
        sample_fsync(srv);
        replica_wake_blocked(srv);
        round++;
        if (conn_resume_woken(srv) == 0) break;
    }
    sentinel_leader_watch(srv); /* before the flush: its closes go with it */
    struct persist_env env = server_persist_env(srv);
    bool bgsave_walking = persist_progress(&env); /* a BGSAVE's slice (src/server/persist.h) */
    bool importing = import_step(srv);            /* its entries go at the next round */
    replof_step(srv);                             /* REPLICAOF's link (src/server/replof.h) */
    if (round == WAKE_ROUNDS_MAX || bgsave_walking || node_snapshot_walking(srv->node) || importing)
        ev_idle_start(srv->io->loop, &srv->io->more);
    else
        ev_idle_stop(srv->io->loop, &srv->io->more);
    if (node_snapshot_waiting(srv->node) && !ev_is_active(&srv->io->snap_poll)) {
        ev_timer_set(&srv->io->snap_poll, SNAP_POLL_S, 0.0);
        ev_timer_start(srv->io->loop, &srv->io->snap_poll);
    }
    tracking_before_sleep(srv); /* BCAST messages: this iteration's changes */
    conn_flush_pending(srv);
    if (server_shutdown_due(srv)) ev_break(srv->io->loop, EVBREAK_ALL);
}

/* The driver's up-calls (src/node/node.h's struct node_env). */
static void flush_replies(void *ud)
{
    conn_flush_replies(ud);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct server *srv = w->data;
    ASSERT(w->signum == SIGINT || w->signum == SIGTERM); /* the two loop_init() watches */
    LOG_WARNING("Received %s scheduling shutdown...", w->signum == SIGINT ? "SIGINT" : "SIGTERM");
    (void)loop;
    server_request_shutdown(srv, 1);
}

/* SIGHUP: ignored, as Redis ignores it; said in the log, so that an
 * operator who sent it to reopen the log file learns that nothing needs it
 * (src/base/log.h reopens a moved log file by itself). */
static void sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop, (void)w, (void)revents;
    LOG_NOTICE("Received SIGHUP: ignored (the log file is reopened by itself after a rotation)");
}

static void make_run_id(struct server *srv)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 40; i++)
        srv->run_id[i] = hex[util_rand64(&srv->rng) & 15];
    srv->run_id[40] = 0;
}

int loop_init(struct server *srv, char *err, size_t errlen)
{
    replica_init(srv, (uint64_t)clock_us() ^ ((uint64_t)getpid() << 32));
    make_run_id(srv);
    ASSERT(srv->io == NULL && "the loop is set up once");
    register_config_hooks(srv);
    monitor_configure(&srv->monitor, &srv->cfg);
    script_set_busy(srv->scripts, srv->cfg.busy_reply_threshold, serve_while_busy, srv);
    script_set_busy(srv->fn_scripts, srv->cfg.busy_reply_threshold, serve_while_busy, srv);
    srv->io = util_xcalloc(1, sizeof *srv->io);
    struct server_io *io = srv->io;
    /* Not ev_default_loop(): that one takes SIGCHLD for itself. */
    io->loop = ev_loop_new(EVFLAG_AUTO);
    if (!io->loop) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* until the loop watches it, below */
    if (conn_init(srv, err, errlen) < 0) return -1;
    /* Before the data loads: a bad certificate stops the start at once. */
    if (conn_tls_configure(srv, 1, err, errlen) < 0) return -1;
    server_memory_mark_startup(); /* before the storage and the data it loads */
    if (replica_start(srv, io->loop, flush_replies, err, errlen) < 0) return -1;
    ev_timer_init(&io->raft_tick, raft_tick_cb, 0.0, node_tick_seconds(srv->node));
    io->raft_tick.data = srv;
    ev_timer_again(io->loop, &io->raft_tick);
    for (int i = 0; srv->cfg.port && i < srv->cfg.bind_count; i++)
        if (listen_one(srv, srv->cfg.bind[i], srv->cfg.port, 0, err, errlen) < 0) return -1;
    for (int i = 0; srv->cfg.tls_port && i < srv->cfg.bind_count; i++)
        if (listen_one(srv, srv->cfg.bind[i], srv->cfg.tls_port, 1, err, errlen) < 0) return -1;
    if (srv->cfg.unixsocket[0] && listen_unix(srv, err, errlen) < 0) return -1;
    if (io->n_listen == 0) {
        snprintf(err, errlen, "Configured to not listen anywhere, exiting.");
        return -1;
    }
    ASSERT(srv->cfg.hz > 0);
    ev_timer_init(&io->cron, cron_cb, 0.0, 1.0 / (double)srv->cfg.hz);
    io->cron.data = srv;
    ev_timer_again(io->loop, &io->cron);
    ev_prepare_init(&io->before_sleep, before_sleep_cb);
    io->before_sleep.data = srv;
    ev_prepare_start(io->loop, &io->before_sleep);
    ev_idle_init(&io->more, more_cb);
    ev_timer_init(&io->snap_poll, snap_poll_cb, SNAP_POLL_S, 0.0);
    ev_signal_init(&io->sigterm, signal_cb, SIGTERM);
    ev_signal_init(&io->sigint, signal_cb, SIGINT);
    io->sigterm.data = io->sigint.data = srv;
    ev_signal_start(io->loop, &io->sigterm);
    ev_signal_start(io->loop, &io->sigint);
    ev_signal_init(&io->sighup, sighup_cb, SIGHUP);
    ev_signal_start(io->loop, &io->sighup);
    return 0;
}

int loop_run(struct server *srv)
{
    ASSERT(srv->io && srv->io->n_listen > 0); /* loop_init() succeeded */
    LOG_NOTICE("Ready to accept connections tcp");
    if (srv->tls) LOG_NOTICE("Ready to accept connections tls");
    if (srv->io->unix_listener)
        LOG_NOTICE("The server is now ready to accept connections at %s", srv->cfg.unixsocket);
    supervise_ready();
    ev_run(srv->io->loop, 0);
    supervise_status("shutting down");
    struct server_io *io = srv->io;
    for (int i = 0; i < io->n_listen; i++) {
        ev_io_stop(io->loop, &io->listeners[i]);
        close(io->listeners[i].fd);
    }
    if (io->unix_listener) {
        LOG_NOTICE("Removing the unix socket file.");
        if (unlink(srv->cfg.unixsocket) != 0)
            LOG_WARNING("Error removing the unix socket file: %s", strerror(errno));
    }
    conn_close_all(srv);
    tls_ctx_free(srv->tls);
    srv->tls = NULL;
    LOG_WARNING("raftcache is now ready to exit, bye bye...");
    return 0;
}

void loop_free(struct server *srv)
{
    import_free(srv);
    replica_free(srv);
    if (srv->io && srv->io->loop) ev_loop_destroy(srv->io->loop);
    if (srv->io) free(srv->io->readable);
    free(srv->io);
    srv->io = NULL;
}
