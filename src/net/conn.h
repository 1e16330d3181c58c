/*
 * src/net/conn.c's interface - connections: accepting, reading and parsing
 * input into commands for the dispatcher (src/server/dispatch.h), writing replies,
 * the per-client limits, and taking the clients the layers below answered
 * (src/node/waiters.h). Used by the loop (src/net/loop.c) and by the commands that
 * act on connections (RAFT.AUTH). Nothing below the dispatcher includes it.
 */
#ifndef CONN_H
#define CONN_H

#include <stddef.h>
#include <stdint.h>

struct server;
struct client;
struct ev_loop;
struct ev_io;

/* Fits maxclients to the descriptor limit (fdlimit.h) and sets up accepting.
 * Called before any descriptor of the node is opened. Returns 0, or -1 with
 * the reason in err when not even the server's own descriptors fit. */
int conn_init(struct server *srv, char *err, size_t errlen);
/* Fits RLIMIT_NOFILE to cfg.maxclients. At start (starting = 1) a
 * maxclients that does not fit is lowered, with Redis's warnings; at CONFIG
 * SET (starting = 0) it is refused: -1 with Redis's reason in err. */
int conn_fit_maxclients(struct server *srv, int starting, char *err, size_t errlen);
void conn_accept_cb(struct ev_loop *loop, struct ev_io *w, int revents);
/* Writes every pending client's output; frees clients marked CLOSE_ASAP. */
void conn_flush_pending(struct server *srv);
/* Writes the woken clients' replies (src/node/waiters.h) now, with every other
 * pending output, running no command: the driver's flush_replies. */
void conn_flush_replies(struct server *srv);
/* Takes every woken client: its reply is flushed before the loop sleeps and
 * the commands it sent meanwhile run now. Returns how many were taken. */
size_t conn_resume_woken(struct server *srv);
/* Runs the commands that arrived this iteration, in arrival order (see
 * src/net/conn.c); the loop calls it first thing before sleeping. */
void conn_process_readable(struct server *srv);
/* Idle timeouts and output-limit (soft) enforcement; called by the cron. */
void conn_cron(struct server *srv, int64_t now_ms);
/* Closes every client (shutdown). */
void conn_close_all(struct server *srv);

/* TLS (src/net/conn_tls.c): builds the contexts from the tls-* directives
 * and puts them in use for new connections. starting: at start-up (err is
 * the reason) or by CONFIG SET (err is Redis's text; the reason is logged).
 * Returns 0, or -1 and the contexts in use stay. Nothing without tls-port. */
int conn_tls_configure(struct server *srv, int starting, char *err, size_t errlen);
/* tls-auto-reload-interval: reloads the contexts when their files changed. */
void conn_tls_cron(struct server *srv, int64_t now_ms);

/* Runs the client's unprocessed input again (it was waiting for the log). */
void conn_resume(struct client *c);
/* Protected mode refuses c (CLIENT_PROTECTED, not a peer): Redis's -DENIED
 * error, then the connection is closed. */
void client_deny_protected(struct client *c);

#endif
