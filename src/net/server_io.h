/*
 * src/net/server_io.h - the event loop's watchers (struct server_io, which
 * struct server holds as an opaque pointer), shared by src/net/loop.c (the
 * loop) and src/net/conn.c (connections). The only src/ header that names
 * libev, and only those two files include it.
 */
#ifndef SERVER_IO_H
#define SERVER_IO_H

#include <ev.h>
#include "cmd/client.h"
#include "config/config.h"

/* every bind address on port and on tls-port, and the unixsocket */
#define SERVER_LISTEN_MAX (2 * CONFIG_BIND_MAX + 1)

struct server_io {
    struct ev_loop *loop;
    ev_io listeners[SERVER_LISTEN_MAX];
    int n_listen;
    ev_io *unix_listener;                /* the unixsocket's, one of listeners; NULL when none */
    int listener_tls[SERVER_LISTEN_MAX]; /* listeners[i] is on tls-port */
    unsigned char tls_refused[32]; /* src/net/conn_tls.c: the files last refused (logged once) */
    ev_timer cron;
    ev_timer raft_tick;
    ev_prepare before_sleep;
    ev_idle more;         /* active while woken clients are left: the loop must not block */
    ev_timer snap_poll;   /* a snapshot waits for its thread: back soon (node_snapshot_waiting) */
    uint64_t fsyncs_seen; /* the log's commits the latency monitor has looked at */
    ev_signal sigterm, sigint, sighup;
    /* src/net/conn.c: accepting paused while descriptors ran out */
    ev_timer accept_resume;
    int64_t accept_error_logged_ms; /* when the last such error was logged */
    uint64_t accept_errors_unlogged;
    /* src/net/conn.c: connections accepted over maxclients that may still send
     * RAFT.AUTH (CLIENT_OVER_LIMIT, not yet rejected), oldest first */
    struct client *pending_peers[CONN_PENDING_PEERS_MAX];
    int n_pending_peers;
    /* src/net/conn.c: clients whose input arrived this iteration, in the order
     * libev called back (the reverse of the kernel's), NULL once freed */
    struct client **readable;
    size_t n_readable, readable_cap;
};

#endif
