/*
 * src/net/conn.c - client connections on the libev loop.
 *
 * Owns: accepting sockets, reading into the query buffer, feeding the RESP
 * parser, handing each complete command to the dispatcher, flushing replies
 * (once per loop iteration, from the before-sleep hook, for every client with
 * pending output), the per-client limits (query buffer, output buffer hard and
 * soft limits, idle timeout, maxclients), protected mode and freeing clients.
 *
 * MAXCLIENTS AND DESCRIPTORS. maxclients bounds clients, not peer links
 * (client.h's CLIENT_NOT_A_CLIENT). At start the descriptor limit is raised to
 * maxclients + CONN_RESERVED_FDS, or maxclients lowered to fit it, as Redis
 * does. Peer links share the client port, so a connection accepted while
 * maxclients clients are connected is not refused at once: it may still be a
 * peer (a node reconnecting must not be locked out by clients). Its first
 * command must be a RAFT.AUTH that is accepted; anything else, or nothing
 * within CONN_HANDSHAKE_MS, gets "-ERR max number of clients reached" and
 * the connection is closed. At most CONN_PENDING_PEERS_MAX such connections
 * wait at a time, in a room of their own: when it is full, the oldest one is
 * given its last chance (what it sent is read and run) and, unless that made
 * it a peer, rejected to make way for the new one. So connections that never
 * authenticate cannot hold the room a reconnecting peer needs, and the
 * CONN_PEER_LINKS_MAX authenticated links are counted apart. The rejected
 * ones keep their descriptors until the next flush: once as many are on
 * their way out as the room holds, accepting waits for that flush (the
 * listen backlog keeps the rest), which bounds their descriptors. When
 * accept() fails for want of descriptors (EMFILE, ENFILE) accepting pauses
 * for ACCEPT_PAUSE_MS instead of retrying at once (the listener stays
 * readable: a level-triggered loop would spin), and the error is logged at
 * most once per ACCEPT_LOG_PERIOD_MS.
 *
 * TLS. A connection accepted on tls-port carries a struct tls_conn: its
 * handshake, reads and writes are src/net/conn_tls.c's.
 *
 * A client is freed only from conn_flush_pending(), never from inside one of
 * its own commands or callbacks: closing means setting CLIENT_CLOSE_ASAP and
 * putting it on the pending list.
 *
 * ARRIVAL ORDER. The read callbacks of clients only read; the commands
 * that arrived are run once per iteration (conn_process_readable, first
 * thing before sleeping) in the order the kernel reported the sockets
 * readable, as Redis does -- libev calls back in the reverse order. Peer
 * links and connections that may still prove to be one run at once. Clients whose
 * commands arrive together are then served in the order they sent them:
 * two BLPOPs block first come, first served (src/server/blocked.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "cmd/monitor.h"
#include "net/conn.h"
#include "net/conn_int.h"
#include "server/server.h"
#include "net/server_io.h"
#include "server/aclstate.h"
#include "server/dispatch.h"
#include "base/log.h"
#include "server/multi.h"
#include "node/node.h"
#include "raft/raft.h"
#include "base/fdlimit.h"
#include "transport/transport.h"
#include "base/util.h"
#include "node/waiters.h"
#include "tls/tls.h"
#include "raft/raft_assert.h"

#define READ_CHUNK 16384 /* bytes read per call, like Redis */
/* An unauthenticated client's pending replies: as Redis, whose client keeps
 * 16 KB of replies in a buffer of its own before 1 KB more closes it. */
#define UNAUTH_OUTPUT_MAX_BYTES (16384 + 1024)
#define QBUF_SHRINK_KEEP (64 * 1024) /* idle query buffers above this are freed */
/* A drained reply buffer above this is freed: what a client keeps between
 * replies is at most Redis's 16 KB reply buffer. More would count against
 * maxmemory for nothing, and messages that eviction itself causes (the
 * invalidations of client-side caching, 10 KB for a 1 KB key tracked by
 * ten clients) would make it evict more each round (tests/integration/
 * test_tracking.py, the feedback loop). */
#define OBUF_SHRINK_KEEP (16 * 1024)
/* Pending output past which a client's pipeline waits for it to drain: a
 * pipeline of GETs of 100 MB values then copies one value per loop
 * iteration instead of holding the loop (and the Raft timers) for all. */
#define OUT_YIELD_BYTES (16u << 20)
#define ACCEPT_MAX_PER_EVENT 1000
#define ACCEPT_PAUSE_MS 100        /* accepting paused this long when descriptors ran out */
#define ACCEPT_LOG_PERIOD_MS 10000 /* that error logged at most once per period */
/* An over-limit or protected connection's time to present RAFT.AUTH: a peer
 * sends it as soon as it connects. */
#define CONN_HANDSHAKE_MS 2000
#define ERR_MAXCLIENTS "ERR max number of clients reached"

/* Descriptors the node holds besides client connections: Redis's 32 for the
 * process itself (stdio, log file, listeners, the loop's own, SQLite's
 * database, WAL and shared-memory files, snapshot files), the inbound peer links, and the outbound
 * ones (a Raft link and a pub/sub link to each other member, the proxy link, the one-shot
 * requests). */
#define CONN_RESERVED_FDS                                                                          \
    (32 + CONN_PEER_LINKS_MAX + 2 * CONN_PENDING_PEERS_MAX + 2 * RAFT_MAX_NODES +                  \
     TRANSPORT_CALLS_MAX)

_Static_assert(CONN_PEER_LINKS_MAX >= 3 * (RAFT_MAX_NODES - 1) + TRANSPORT_CALLS_MAX,
               "room for every other member's Raft, proxy and pub/sub links and a joiner's "
               "requests");

/* A closing client's input is no longer read: with a level-triggered
 * watcher, unread input would wake the loop at every iteration until the
 * last reply is flushed. */
static void stop_reading(struct client *c)
{
    ev_io_stop(c->srv->io->loop, &conn_of(c)->rio);
}

/* "ip:port"; a Unix socket's client, which has no name of its own, is
 * the socket's path and port 0 on both ends, as Redis shows it. */
static void format_addr(int fd, char *buf, size_t cap, int local)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int rc = local ? getsockname(fd, (struct sockaddr *)&ss, &len)
                   : getpeername(fd, (struct sockaddr *)&ss, &len);
    if (rc == 0 && ss.ss_family == AF_UNIX && !local) {
        format_addr(fd, buf, cap, 1);
        return;
    }
    if (rc == 0 && ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *u = (const struct sockaddr_un *)&ss;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                       ? strnlen(u->sun_path, len - offsetof(struct sockaddr_un, sun_path))
                       : 0;
        snprintf(buf, cap, "%.*s:0", (int)n, u->sun_path);
        return;
    }
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (rc == 0 && ss.ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        port = ntohs(s->sin_port);
    } else if (rc == 0 && ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        port = ntohs(s->sin6_port);
    }
    snprintf(buf, cap, "%s:%d", ip, port);
}

static void set_socket_options(struct server *srv, int fd, int unix_socket)
{
    if (unix_socket) return; /* TCP's options only */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (srv->cfg.tcp_keepalive > 0) {
        int idle = (int)srv->cfg.tcp_keepalive;
        int intvl = idle / 3 > 0 ? idle / 3 : 1, cnt = 3;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    }
}

/* ---------------------------------------------------------- protected mode
 *
 * Redis 7.0's rule: with protected-mode yes (the default) and a default
 * user without a password (nopass: no requirepass, and no ACL rule gave
 * it one), only clients on the loopback interface are served; any other
 * gets the -DENIED error below and is disconnected, so a node bound to a
 * public address without a password is not open to the network. Raft peers
 * on other hosts still have to reach the node: when raft-secret is set, such
 * a connection is kept until its first command, which must be a RAFT.AUTH
 * that succeeds (CMD_PEER_AUTH): anything else gets -DENIED and the close, a
 * refused RAFT.AUTH its error, then -DENIED and the close, and a connection
 * that sends nothing for CONN_HANDSHAKE_MS -DENIED, so that no one on
 * another host can hold connections (or try secrets over one) where Redis
 * would hold none.
 * Without raft-secret no peer could authenticate, and the connection is
 * refused at accept as redis-server does; on tls-port, as soon as its TLS
 * handshake is done (src/net/conn_tls.c), as redis-server does too. The text is Redis's, without
 * its advice to run CONFIG REWRITE, which raftcache does not implement. */
static const char protected_denied[] =
    "DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    "same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. 2) Alternatively you can just disable the protected mode by "
    "editing the Redis configuration file, and setting the protected mode option to 'no', and "
    "then restarting the server. 3) If you started the server manually just for testing, "
    "restart it with the '--protected-mode no' option. 4) Setup a an authentication password "
    "for the default user. NOTE: You only need to do one of the above things in order for the "
    "server to start accepting connections from the outside.";

/* 127.0.0.0/8, ::1, or 127.x mapped into IPv6 (the dual-stack listener of
 * "bind *"). An address that cannot be read counts as remote. */
static int peer_is_loopback(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) return 0;
    if (ss.ss_family == AF_UNIX) return 1;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family != AF_INET6) return 0;
    const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static int protected_applies(const struct server *srv, int loopback)
{
    return srv->cfg.protected_mode && aclstate_default_nopass(srv) && !loopback;
}

void client_deny_protected(struct client *c)
{
    resp_add_error(&c->out, protected_denied);
    c->srv->stats.rejected_connections++;
    client_close_after_reply(c);
}

/* At accept, when no peer could authenticate anyway: as redis-server. */
static void deny_at_accept(struct server *srv, int fd)
{
    char msg[sizeof protected_denied + 3];
    int n = snprintf(msg, sizeof msg, "-%s\r\n", protected_denied);
    ssize_t ignored = write(fd, msg, (size_t)n);
    (void)ignored;
    close(fd);
    srv->stats.rejected_connections++;
}

/* ---------------------------------------------------------------- clients */

static void read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void write_cb(struct ev_loop *loop, ev_io *w, int revents);

/* Takes c out of the room of connections waiting to present RAFT.AUTH over
 * maxclients (struct server_io), if it is there. */
static void pending_remove(struct client *c)
{
    struct server_io *io = c->srv->io;
    for (int i = 0; i < io->n_pending_peers; i++) {
        if (io->pending_peers[i] != c) continue;
        /* Only an over-limit connection enters the room; RAFT.AUTH may
         * have made it a peer since (server_client_become_peer()). */
        ASSERT(c->flags & (CLIENT_OVER_LIMIT | CLIENT_PEER));
        io->n_pending_peers--;
        memmove(&io->pending_peers[i], &io->pending_peers[i + 1],
                (size_t)(io->n_pending_peers - i) * sizeof io->pending_peers[0]);
        return;
    }
}

/* flags: CLIENT_PROTECTED, CLIENT_OVER_LIMIT and/or CLIENT_LOCAL, or 0.
 * tls: accepted on tls-port. */
static void client_create(struct server *srv, int fd, uint32_t flags, int tls)
{
    ASSERT(fd >= 0);
    struct conn *cn = calloc(1, sizeof *cn);
    if (!cn) {
        close(fd);
        return;
    }
    if (tls && !(cn->tls = tls_conn_accept(srv->tls, fd))) {
        LOG_WARNING("TLS: cannot set up a connection (out of memory?)");
        free(cn);
        close(fd);
        return;
    }
    cn->tls_handshaking = tls;
    struct client *c = &cn->c;
    struct resp_limits lim = {
        .bulk_len_max = (size_t)srv->cfg.proto_max_bulk_len,
        .args_max = 1024 * 1024,
        .inline_len_max = 64 * 1024,
    };
    c->id = ++srv->next_client_id;
    c->srv = srv;
    c->pending_head = &srv->pending;
    c->fixed_bytes = sizeof *cn;
    c->fd = fd;
    c->ctime_ms = c->last_interaction_ms = server_now_ms();
    c->flags = flags;
    /* It runs as the default user. A protected client is not authenticated:
     * the parser keeps its limits for unauthenticated input until RAFT.AUTH
     * makes it a peer. */
    aclstate_client_start(srv, c);
    if (flags & CLIENT_PROTECTED) c->flags &= ~CLIENT_AUTHED;
    resp_parser_init(&c->parser, &lim);
    resp_out_init(&c->out, 2);
    c->out.on_error = monitor_error_hook; /* INFO errorstats */
    c->out.on_error_ud = &srv->monitor;
    format_addr(fd, c->addr, sizeof c->addr, 0);
    format_addr(fd, c->laddr, sizeof c->laddr, 1);
    server_client_add(srv, c);
    (*server_count_of(c->srv, c))++;
    if (flags & CLIENT_OVER_LIMIT) {
        struct server_io *io = srv->io;
        ASSERT(io->n_pending_peers < CONN_PENDING_PEERS_MAX); /* admission() made room */
        io->pending_peers[io->n_pending_peers++] = c;
    }
    ev_io_init(&cn->rio, read_cb, fd, EV_READ);
    ev_io_init(&cn->wio, write_cb, fd, EV_WRITE);
    cn->rio.data = cn->wio.data = c;
    ev_io_start(srv->io->loop, &cn->rio);
    LOG_VERBOSE("Accepted %s", c->addr);
}

static void client_free(struct client *c)
{
    struct server *srv = c->srv;
    struct conn *cn = conn_of(c);
    if (c->flags & CLIENT_READABLE)
        for (size_t i = 0; i < srv->io->n_readable; i++)
            if (srv->io->readable[i] == c) srv->io->readable[i] = NULL;
    ev_io_stop(srv->io->loop, &cn->rio);
    ev_io_stop(srv->io->loop, &cn->wio);
    dispatch_client_gone(c);
    /* Taken off the pending list by conn_flush_pending(), and put back on it
     * by nothing since: a client on it must not be freed. */
    ASSERT(!(c->flags & CLIENT_PENDING_WRITE));
    pending_remove(c);
    server_client_remove(srv, c);
    ASSERT(*server_count_of(c->srv, c) > 0); /* counted once, by client_create() */
    (*server_count_of(c->srv, c))--;
    tls_conn_free(cn->tls);
    close(c->fd);
    resp_parser_free(&c->parser);
    resp_out_free(&c->out);
    free(c->qbuf);
    free(c->name);
    free(c->lib_name);
    free(c->renamed_argv);
    free(c->lib_ver);
    free(cn->held.offs);
    free(cn->held.argv);
    free(cn);
}

int conn_fit_maxclients(struct server *srv, int starting, char *err, size_t errlen)
{
    long long asked = srv->cfg.maxclients;
    struct fdlimit_fit f;
    if (fdlimit_fit(asked, CONN_RESERVED_FDS, &f) == 0) {
        if (f.limit != f.old_limit)
            LOG_NOTICE("Increased maximum number of open files to %llu (it was originally set "
                       "to %llu).",
                       (unsigned long long)f.limit, (unsigned long long)f.old_limit);
        return 0;
    }
    if (f.getrlimit_failed)
        LOG_WARNING("Unable to obtain the current NOFILE limit (%s), assuming %d and setting the "
                    "max clients configuration accordingly.",
                    strerror(f.raise_errno), FDLIMIT_ASSUMED);
    if (f.maxclients <= 0) {
        snprintf(err, errlen,
                 "Your current 'ulimit -n' of %llu is not enough for the server to start. Please "
                 "increase your open file limit to at least %llu. Exiting.",
                 (unsigned long long)f.limit, (unsigned long long)f.wanted);
        return -1;
    }
    if (!f.getrlimit_failed) {
        LOG_WARNING("You requested maxclients of %lld requiring at least %llu max file "
                    "descriptors.",
                    asked, (unsigned long long)f.wanted);
        LOG_WARNING("Server can't set maximum open files to %llu because of OS error: %s.",
                    (unsigned long long)f.wanted, strerror(f.raise_errno));
        LOG_WARNING("Current maximum open files is %llu. maxclients has been reduced to %lld to "
                    "compensate for low ulimit. If you need higher maxclients increase "
                    "'ulimit -n'.",
                    (unsigned long long)f.limit, f.maxclients);
    }
    if (starting) {
        srv->cfg.maxclients = f.maxclients;
        return 0;
    }
    LOG_WARNING("Failed applying new configuration. Possibly related to new maxclients setting. "
                "Restoring previous settings.");
    snprintf(err, errlen,
             "The operating system is not able to handle the specified number of clients, try "
             "with %lld",
             f.maxclients);
    return -1;
}

static void accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents);

int conn_init(struct server *srv, char *err, size_t errlen)
{
    struct server_io *io = srv->io;
    ASSERT(io && io->loop); /* loop_init() made the loop first */
    ev_init(&io->accept_resume, accept_resume_cb);
    io->accept_resume.data = srv;
    return conn_fit_maxclients(srv, 1, err, errlen);
}

static void accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct server_io *io = ((struct server *)w->data)->io;
    for (int i = 0; i < io->n_listen; i++)
        ev_io_start(loop, &io->listeners[i]);
}

/* accept() failed and the pending connection stays queued (no descriptor
 * left, no kernel memory): the listener stays readable, so stop watching it
 * for ACCEPT_PAUSE_MS rather than failing again at every loop iteration. */
static void pause_accepting(struct server *srv, int err)
{
    struct server_io *io = srv->io;
    int64_t now_ms = clock_mono_us() / 1000;
    io->accept_errors_unlogged++;
    if (!io->accept_error_logged_ms ||
        now_ms - io->accept_error_logged_ms >= ACCEPT_LOG_PERIOD_MS) {
        LOG_WARNING("Accepting client connection: %s (%llu time(s) since last logged); "
                    "accepting paused for %d ms each time. Check 'ulimit -n' and maxclients "
                    "(%lld).",
                    strerror(err), (unsigned long long)io->accept_errors_unlogged, ACCEPT_PAUSE_MS,
                    srv->cfg.maxclients);
        io->accept_error_logged_ms = now_ms;
        io->accept_errors_unlogged = 0;
    }
    for (int i = 0; i < io->n_listen; i++)
        ev_io_stop(io->loop, &io->listeners[i]);
    ev_timer_set(&io->accept_resume, ACCEPT_PAUSE_MS / 1000.0, 0.0);
    ev_timer_start(io->loop, &io->accept_resume);
}

static void make_pending_room(struct server *srv);

/* The flags a new connection starts with: beyond maxclients it may still be
 * a peer link, and waits in the pending room (made if it is full). */
static uint32_t admission(struct server *srv)
{
    if (srv->client_count < (uint64_t)srv->cfg.maxclients) return 0;
    if (srv->io->n_pending_peers >= CONN_PENDING_PEERS_MAX) make_pending_room(srv);
    return CLIENT_OVER_LIMIT;
}

void conn_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct server *srv = w->data;
    for (int i = 0; i < ACCEPT_MAX_PER_EVENT; i++) {
        if (srv->over_limit_count >= 2 * CONN_PENDING_PEERS_MAX) return; /* see the top */
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) pause_accepting(srv, errno);
            return;
        }
        srv->stats.connections_received++;
        int local = peer_is_loopback(fd);
        int protected = protected_applies(srv, local);
        int tls = srv->io->listener_tls[w - srv->io->listeners];
        if (protected && !srv->cfg.raft_secret.len && !tls) {
            deny_at_accept(srv, fd); /* a TLS client reads it after its handshake */
            continue;
        }
        int unix_socket = srv->io->unix_listener == w;
        uint32_t flags =
            admission(srv) | (local ? CLIENT_LOCAL : 0) | (unix_socket ? CLIENT_UNIX_SOCKET : 0);
        set_socket_options(srv, fd, unix_socket);
        client_create(srv, fd, flags | (protected ? CLIENT_PROTECTED : 0), tls);
    }
}

/* An over-limit connection that is not a peer link: the error, then close. */
static void reject_over_limit(struct client *c)
{
    pending_remove(c);
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    resp_add_error(&c->out, ERR_MAXCLIENTS);
    c->srv->stats.rejected_connections++;
    client_close_after_reply(c);
}

/* The pending room is full: its oldest connection has its last chance (what
 * it sent is read and run now; a peer sends RAFT.AUTH as soon as it is
 * connected) and leaves the room either as a peer link or rejected. */
static void make_pending_room(struct server *srv)
{
    ASSERT(srv->io->n_pending_peers > 0); /* called when the room is full */
    struct client *c = srv->io->pending_peers[0];
    read_cb(srv->io->loop, &conn_of(c)->rio, EV_READ);
    if (c->flags & CLIENT_OVER_LIMIT) reject_over_limit(c);
    ASSERT(srv->io->n_pending_peers < CONN_PENDING_PEERS_MAX);
}

/* Over maxclients, a connection may only prove to be a peer link: the wire
 * protocol (transport.h) makes RAFT.AUTH the first command of every link. */
static int is_peer_handshake(int argc, const struct resp_arg *argv)
{
    static const char name[] = "raft.auth";
    return argc >= 1 && argv[0].len == sizeof name - 1 &&
           strncasecmp(argv[0].ptr, name, sizeof name - 1) == 0;
}

/* Enforces the output buffer limits after a command added to the reply.
 * The clock is read only for a buffer over its soft limit: this runs after
 * every command of a pipeline. */
static void check_output_limits(struct client *c)
{
    struct server *srv = c->srv;
    struct conn *cn = conn_of(c);
    size_t used = resp_out_pending(&c->out);
    long long hard = srv->cfg.obuf_hard_limit, soft = srv->cfg.obuf_soft_limit;
    long long soft_s = srv->cfg.obuf_soft_seconds;
    if (c->flags & CLIENT_PUBSUB) { /* Redis's pubsub class (a monitor is a normal client) */
        hard = srv->cfg.obuf_pubsub.hard_bytes;
        soft = srv->cfg.obuf_pubsub.soft_bytes;
        soft_s = srv->cfg.obuf_pubsub.soft_seconds;
    }
    /* A client that has not authenticated gets nothing but errors, and may
     * hold no more than UNAUTH_OUTPUT_MAX_BYTES of them: one pipelining
     * commands without reading its replies would otherwise make the server
     * hold them all, up to the hard limit, before knowing the password. */
    if (!(c->flags & (CLIENT_AUTHED | CLIENT_PEER)) && used > UNAUTH_OUTPUT_MAX_BYTES) {
        hard = (long long)UNAUTH_OUTPUT_MAX_BYTES;
        soft = 0;
    }
    int over_hard = hard > 0 && used > (size_t)hard;
    int over_soft = 0;
    if (soft > 0 && used > (size_t)soft) {
        int64_t now_ms = server_now_ms();
        if (!cn->soft_limit_since_ms) cn->soft_limit_since_ms = now_ms;
        over_soft = now_ms - cn->soft_limit_since_ms >= soft_s * 1000;
    } else {
        cn->soft_limit_since_ms = 0;
    }
    if ((over_hard || over_soft) && !(c->flags & CLIENT_CLOSE_ASAP)) {
        LOG_WARNING("Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of "
                    "output buffer limits.",
                    (unsigned long long)c->id, c->addr);
        srv->stats.output_limit_disconnections++;
        resp_out_clear(&c->out);
        client_close_asap(c);
    }
}

static void protocol_error(struct client *c)
{
    resp_add_errorf(&c->out, "ERR %s", c->parser.errmsg);
    LOG_VERBOSE("Protocol error (%s) from client: id=%llu addr=%s", c->parser.errmsg,
                (unsigned long long)c->id, c->addr);
    c->srv->stats.protocol_errors++;
    client_close_after_reply(c);
}

/* An empty query buffer grown by a large command is freed, not kept for a
 * client that may never send another one (Redis's querybuf shrinking). */
static void release_large_qbuf(struct client *c)
{
    if (c->qlen == 0 && c->qcap > QBUF_SHRINK_KEEP) {
        free(c->qbuf);
        c->qbuf = NULL;
        c->qcap = 0;
    }
}

static void hold_args(struct client *c, int argc, const struct resp_arg *argv, const char *start,
                      size_t len)
{
    struct held_args *h = &conn_of(c)->held;
    /* The command waits at the head of what is left of the query buffer. */
    ASSERT(start >= c->qbuf && start + len <= c->qbuf + c->qlen);
    h->argc = argc;
    h->len = len;
    h->is_inline = resp_parser_is_inline(&c->parser);
    if (h->is_inline) return;
    if ((size_t)argc > h->cap) {
        h->offs = util_xrealloc(h->offs, (size_t)argc * sizeof *h->offs);
        h->argv = util_xrealloc(h->argv, (size_t)argc * sizeof *h->argv);
        h->cap = (size_t)argc;
    }
    for (int i = 0; i < argc; i++) {
        h->offs[i] = (size_t)(argv[i].ptr - start);
        h->argv[i].len = argv[i].len;
    }
}

/* Takes up the held command: its arguments (a multibulk's are set where
 * they are now by the caller). */
static const struct resp_arg *take_held_args(struct client *c)
{
    struct held_args *h = &conn_of(c)->held;
    h->argc = 0;
    return h->is_inline ? c->parser.argv : h->argv;
}

/* Parses and runs every complete command in the query buffer. */
/* Puts c on the list of clients whose input is run before the loop sleeps
 * (ARRIVAL ORDER above), once. */
static void queue_readable(struct client *c)
{
    if (c->flags & CLIENT_READABLE) return;
    struct server_io *io = c->srv->io;
    if (io->n_readable == io->readable_cap) {
        io->readable_cap = io->readable_cap ? 2 * io->readable_cap : 64;
        io->readable = util_xrealloc(io->readable, io->readable_cap * sizeof *io->readable);
    }
    ASSERT(io->n_readable < io->readable_cap);
    io->readable[io->n_readable++] = c;
    c->flags |= CLIENT_READABLE;
}

static void process_input(struct client *c)
{
    size_t off = 0;
    struct dispatch_ahead ahead;
    dispatch_ahead_start(&ahead, c, c->qbuf, c->qlen);
    while (!(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) && off < c->qlen) {
        /* A pipeline whose replies pile up yields the loop after a command:
         * the rest runs once the output drained (flush_client). */
        if (off > 0 && resp_out_pending(&c->out) >= OUT_YIELD_BYTES && !(c->flags & CLIENT_PEER)) {
            c->flags |= CLIENT_OUT_YIELD;
            break;
        }
        size_t consumed = 0;
        int argc;
        const struct resp_arg *argv;
        struct held_args *h = &conn_of(c)->held;
        if (h->argc) { /* it waited: taken up as it was parsed (off is 0) */
            ASSERT(off == 0 && h->len <= c->qlen);
            argc = h->argc;
            consumed = h->len;
            argv = take_held_args(c);
            for (int i = 0; !h->is_inline && i < argc; i++)
                h->argv[i].ptr = c->qbuf + h->offs[i];
        } else {
            c->parser.limits.unauthenticated = !(c->flags & (CLIENT_AUTHED | CLIENT_PEER));
            enum resp_parse_status st =
                resp_parser_feed(&c->parser, c->qbuf + off, c->qlen - off, &consumed);
            if (st == RESP_PARSE_NEED_MORE) {
                off += consumed;
                break;
            }
            if (st == RESP_PARSE_ERROR) {
                protocol_error(c);
                break;
            }
            argc = (int)c->parser.argc;
            argv = c->parser.argv;
        }
        dispatch_ahead_step(&ahead);
        c->cur_cmd_end = c->in_received - c->qlen + off + consumed;
        if ((c->flags & CLIENT_OVER_LIMIT) && !is_peer_handshake(argc, argv)) {
            reject_over_limit(c);
            break;
        }
        uint32_t over_limit = c->flags & CLIENT_OVER_LIMIT;
        enum dispatch_result r = dispatch_command(c, argc, argv);
        if (over_limit && (c->flags & CLIENT_PEER)) pending_remove(c); /* RAFT.AUTH accepted */
        if (r == DISPATCH_WAIT) {
            /* Left in the buffer, taken up as parsed when the client is woken. */
            hold_args(c, argc, argv, c->qbuf + off, consumed);
            break;
        }
        if (r == DISPATCH_DENIED) client_deny_protected(c);
        off += consumed;
        /* RAFT.AUTH refused: its error goes out, then the connection closes
         * (denied, if protected mode let it in: one try per connection). */
        if (c->flags & CLIENT_OVER_LIMIT)
            client_close_after_reply(c);
        else if ((c->flags & CLIENT_PROTECTED) &&
                 !(c->flags & (CLIENT_PEER | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)))
            client_deny_protected(c);
        check_output_limits(c);
    }
    ASSERT(off <= c->qlen); /* the parser consumes only what it was given */
    if (off == c->qlen) {
        c->qlen = 0;
        release_large_qbuf(c); /* a large value was copied into the log by now */
    } else if (off > 0) {
        memmove(c->qbuf, c->qbuf + off, c->qlen - off);
        c->qlen -= off;
    }
    if (resp_out_pending(&c->out) > 0) client_mark_pending(c);
}

/* A bulk's header announces its length before its bytes, and the buffer is
 * sized for the whole bulk (one allocation, no copies) only up to this far
 * ahead of what has arrived; past it the buffer grows by doubling as the
 * bytes come. A header alone (up to proto-max-bulk-len, 4gb at most) then
 * holds no more than this: it cannot make used_memory jump past maxmemory,
 * nor ask the allocator for more than it has. */
#define BULK_RESERVE_AHEAD_BYTES (64u << 20)

/* Makes room for the next read; returns how many bytes to read. A buffer
 * that already holds the rest of the pending bulk is not grown: the tail of
 * a 100 MB value must not double a buffer sized for it (that made a SET
 * under maxmemory fail with -OOM when its last bytes arrived alone). */
static size_t reserve_read(struct client *c)
{
    ASSERT(c->qlen <= c->qcap); /* the room below is c->qcap - c->qlen */
    size_t want = resp_parser_want(&c->parser);
    if (want > 0 && c->qcap - c->qlen >= want) return c->qcap - c->qlen;
    size_t chunk = want > READ_CHUNK ? want : READ_CHUNK;
    size_t ahead = c->qlen > BULK_RESERVE_AHEAD_BYTES ? c->qlen : BULK_RESERVE_AHEAD_BYTES;
    if (chunk > ahead) chunk = ahead;
    if (c->qcap - c->qlen < chunk) {
        size_t ncap = c->qlen + chunk;
        if (ncap < c->qcap * 2 && want <= READ_CHUNK) ncap = c->qcap * 2;
        char *n = util_xrealloc(c->qbuf, ncap);
        c->qbuf = n;
        c->qcap = ncap;
    }
    ASSERT(c->qcap > c->qlen); /* a read of 0 bytes would mean the peer closed */
    return c->qcap - c->qlen;
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct client *c = w->data;
    struct server *srv = c->srv;
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    struct conn *cn = conn_of(c);
    if (cn->tls_handshaking && !conn_tls_handshake_step(c)) return;
    if (cn->tls_write_blocked) { /* the input a write waited for has come */
        cn->tls_write_blocked = 0;
        client_mark_pending(c);
    }
    /* While a script is busy (src/script/script.h) only clients are answered:
     * neither its own client (whose command is running) nor the peer links
     * (Raft waits) are read. */
    const struct client *running;
    if (server_script_busy(srv, &running) &&
        (c == running || (c->flags & (CLIENT_PEER | CLIENT_OVER_LIMIT | CLIENT_PROTECTED))))
        return;
    size_t room = reserve_read(c);
    ssize_t n =
        cn->tls ? conn_tls_read(c, c->qbuf + c->qlen, room) : read(c->fd, c->qbuf + c->qlen, room);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    srv->stats.reads_processed++;
    if (n <= 0) {
        if (n < 0)
            LOG_VERBOSE("Reading from client: %s", strerror(errno));
        else
            LOG_VERBOSE("Client closed connection id=%llu addr=%s", (unsigned long long)c->id,
                        c->addr);
        client_close_asap(c);
        return;
    }
    c->qlen += (size_t)n;
    c->in_received += (uint64_t)n;
    srv->stats.net_input_bytes += (uint64_t)n;
    c->last_interaction_ms = server_now_ms();
    /* A large Raft message takes many reads: each one shows its sender alive. */
    if ((c->flags & (CLIENT_PEER | CLIENT_PUBSUB_LINK)) == CLIENT_PEER)
        node_receiving(srv->node, c->peer_id);
    if (srv->cfg.client_query_buffer_limit > 0 &&
        c->qlen > (size_t)srv->cfg.client_query_buffer_limit) {
        LOG_WARNING("Closing client that reached max query buffer length: id=%llu addr=%s "
                    "(qbuf initial bytes: %.32s)",
                    (unsigned long long)c->id, c->addr, c->qbuf);
        client_close_asap(c);
        return;
    }
    /* Peer links, and connections that may still prove to be one, are read
     * at once: a RAFT.AUTH must be taken before the accepts of the same
     * iteration fill the room it holds (CONN_PENDING_PEERS_MAX). */
    if (c->flags & (CLIENT_PEER | CLIENT_OVER_LIMIT | CLIENT_PROTECTED)) {
        process_input(c);
        return;
    }
    queue_readable(c);
}

void conn_process_readable(struct server *srv)
{
    struct server_io *io = srv->io;
    while (io->n_readable) {
        struct client *c = io->readable[--io->n_readable];
        if (!c) continue;
        ASSERT(c->flags & CLIENT_READABLE); /* queue_readable() set it; only this clears it */
        c->flags &= ~CLIENT_READABLE;
        conn_resume(c);
    }
}

void conn_resume(struct client *c)
{
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return;
    process_input(c);
}

/* Writes as much pending output as the socket takes. Returns -1 on error. */
static int write_out(struct client *c)
{
    if (resp_out_pending(&c->out) > 0) c->srv->stats.writes_processed++;
    while (resp_out_pending(&c->out) > 0) {
        const char *p = c->out.data + c->out.pos;
        size_t len = resp_out_pending(&c->out);
        ssize_t n = conn_of(c)->tls ? conn_tls_write(c, p, len) : write(c->fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            LOG_VERBOSE("Error writing to client: %s", strerror(errno));
            return -1;
        }
        resp_out_consume(&c->out, (size_t)n);
        c->srv->stats.net_output_bytes += (uint64_t)n;
    }
    resp_out_shrink(&c->out, OBUF_SHRINK_KEEP);
    return 0;
}

/* Flushes one client; returns 1 if it must be freed now. */
static int flush_client(struct client *c)
{
    struct conn *cn = conn_of(c);
    if (c->flags & CLIENT_CLOSE_ASAP) return 1;
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) stop_reading(c);
    if (write_out(c) < 0) return 1;
    if ((c->flags & CLIENT_OUT_YIELD) && resp_out_pending(&c->out) < OUT_YIELD_BYTES) {
        c->flags &= ~CLIENT_OUT_YIELD;
        queue_readable(c);
        ev_idle_start(c->srv->io->loop, &c->srv->io->more); /* run it without waiting */
    }
    if (resp_out_pending(&c->out) > 0) {
        /* a subscriber's messages, a monitor's lines, pile up without
         * commands of its own */
        if (c->flags & (CLIENT_PUBSUB | CLIENT_MONITOR)) check_output_limits(c);
        /* closed for it: client_close_asap() put it back on the pending
         * list, where it is freed when taken again (not now: it is linked) */
        if (c->flags & CLIENT_CLOSE_ASAP) return 0;
        /* A TLS write that waits for input is resumed by the read
         * watcher: writability would spin. */
        if (cn->tls_write_blocked) return 0;
        ev_io_start(c->srv->io->loop, &cn->wio);
        return 0;
    }
    if (!cn->tls_read_blocked && !cn->tls_handshaking) ev_io_stop(c->srv->io->loop, &cn->wio);
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) return 1;
    release_large_qbuf(c);
    return 0;
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct client *c = w->data;
    struct conn *cn = conn_of(c);
    if (cn->tls_handshaking || cn->tls_read_blocked) {
        /* the handshake's next step, or a read that waited for room */
        cn->tls_read_blocked = 0;
        if (resp_out_pending(&c->out) == 0) ev_io_stop(loop, &cn->wio);
        read_cb(loop, &cn->rio, EV_READ);
        return;
    }
    client_mark_pending(c); /* the before-sleep hook does the writing */
}

void conn_flush_pending(struct server *srv)
{
    /* Inside a busy script no client is freed: the run holds its own
     * client's cmd_ctx and, for a run from the log, the applying entry holds
     * every client of its batch (src/node/waiters.h, waiters_entry) and writes
     * their replies after the script. Those to close stay pending, closed
     * at the first pass after the run. */
    int busy = server_script_busy(srv, NULL);
    struct client *keep = NULL;
    while (srv->pending) {
        struct client *c = srv->pending;
        ASSERT(c->flags & CLIENT_PENDING_WRITE); /* client_mark_pending() put it there */
        srv->pending = c->pending_next;
        c->pending_next = NULL;
        c->flags &= ~CLIENT_PENDING_WRITE;
        if (!flush_client(c)) continue;
        if (!busy) {
            client_free(c);
            continue;
        }
        c->flags |= CLIENT_PENDING_WRITE;
        c->pending_next = keep;
        keep = c;
    }
    srv->pending = keep;
}

void conn_cron(struct server *srv, int64_t now_ms)
{
    long long idle_ms = srv->cfg.timeout * 1000;
    for (struct client *c = srv->clients; c; c = c->next) {
        int closing = (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) != 0;
        int handshake_over = !closing && now_ms - c->ctime_ms >= CONN_HANDSHAKE_MS;
        if ((c->flags & CLIENT_OVER_LIMIT) && handshake_over) {
            reject_over_limit(c);
            continue;
        }
        if ((c->flags & CLIENT_PROTECTED) && !(c->flags & CLIENT_PEER) && handshake_over) {
            client_deny_protected(c);
            continue;
        }
        if (!closing && conn_tls_handshake_expired(c, now_ms)) continue;
        /* As Redis: a subscriber, a monitor, a client blocked on keys or
         * held back by CLIENT PAUSE is waiting on purpose, not idle. */
        int waiting = (c->flags & (CLIENT_PUBSUB | CLIENT_MONITOR)) || c->hold == HOLD_PAUSED ||
                      c->blocked || client_in_log(c);
        if (idle_ms > 0 && !waiting && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_NOT_A_CLIENT)) &&
            now_ms - c->last_interaction_ms > idle_ms) {
            LOG_VERBOSE("Closing idle client id=%llu", (unsigned long long)c->id);
            client_close_asap(c);
            continue;
        }
        if (resp_out_pending(&c->out) > 0) check_output_limits(c);
    }
}

void conn_close_all(struct server *srv)
{
    for (struct client *c = srv->clients; c; c = c->next) {
        write_out(c); /* best effort: the replies already computed */
        client_close_asap(c);
    }
    conn_flush_pending(srv);
}

/* Marks the woken clients' replies for flushing, without taking them. */
static void mark_woken(struct server *srv)
{
    size_t n;
    struct client *const *woken = waiters_woken(&srv->waiters, &n);
    for (size_t i = 0; i < n; i++)
        if (woken[i]) client_mark_pending(woken[i]);
}

void conn_flush_replies(struct server *srv)
{
    mark_woken(srv);
    conn_flush_pending(srv);
}

size_t conn_resume_woken(struct server *srv)
{
    size_t n = 0;
    struct client *c;
    while ((c = waiters_next_woken(&srv->waiters))) {
        client_mark_pending(c);
        conn_resume(c);
        n++;
    }
    return n;
}
