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
    ev_signal sigterm, sigint;
};

/* src/conn.c */
void conn_accept_cb(struct ev_loop *loop, ev_io *w, int revents);
/* Writes every pending client's output; frees clients marked CLOSE_ASAP. */
void conn_flush_pending(struct server *srv);
/* Idle timeouts and output-limit (soft) enforcement; called by the cron. */
void conn_cron(struct server *srv, int64_t now_ms);
/* Closes every client (shutdown). */
void conn_close_all(struct server *srv);

#endif
