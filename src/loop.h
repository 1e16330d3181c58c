/*
 * src/loop.h - private glue between src/server.c (the loop) and src/conn.c
 * (connections). The only header besides those two files that names libev.
 */
#ifndef LOOP_H
#define LOOP_H

#include <ev.h>
#include "server.h"

#define SERVER_LISTEN_MAX 16

struct server_io {
    struct ev_loop *loop;
    ev_io listeners[SERVER_LISTEN_MAX];
    int n_listen;
    ev_timer cron;
    ev_timer raft_tick;
    ev_prepare before_sleep;
    ev_idle more; /* active while woken clients are left: the loop must not block */
    ev_signal sigterm, sigint;
    /* src/conn.c: accepting paused while descriptors ran out */
    ev_timer accept_resume;
    int64_t accept_error_logged_ms; /* when the last such error was logged */
    uint64_t accept_errors_unlogged;
    /* src/conn.c: connections accepted over maxclients that may still send
     * RAFT.AUTH (CLIENT_OVER_LIMIT, not yet rejected), oldest first */
    struct client *pending_peers[CONN_PENDING_PEERS_MAX];
    int n_pending_peers;
};

/* src/conn.c */
/* Fits maxclients to the descriptor limit (fdlimit.h) and sets up accepting.
 * Called before any descriptor of the node is opened. Returns 0, or -1 with
 * the reason in err when not even the server's own descriptors fit. */
int conn_init(struct server *srv, char *err, size_t errlen);
/* Fits RLIMIT_NOFILE to cfg.maxclients. At start (starting = 1) a
 * maxclients that does not fit is lowered, with Redis's warnings; at CONFIG
 * SET (starting = 0) it is refused: -1 with Redis's reason in err. */
int conn_fit_maxclients(struct server *srv, int starting, char *err, size_t errlen);
void conn_accept_cb(struct ev_loop *loop, ev_io *w, int revents);
/* Writes every pending client's output; frees clients marked CLOSE_ASAP. */
void conn_flush_pending(struct server *srv);
/* Writes the woken clients' replies (src/waiters.h) now, with every other
 * pending output, running no command: the driver's flush_replies. */
void conn_flush_replies(struct server *srv);
/* Takes every woken client: its reply is flushed before the loop sleeps and
 * the commands it sent meanwhile run now. Returns how many were taken. */
size_t conn_resume_woken(struct server *srv);
/* Idle timeouts and output-limit (soft) enforcement; called by the cron. */
void conn_cron(struct server *srv, int64_t now_ms);
/* Closes every client (shutdown). */
void conn_close_all(struct server *srv);

#endif
