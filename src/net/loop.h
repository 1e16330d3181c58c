/*
 * src/net/loop.h - the event loop of one node (src/net/loop.c): the top of the
 * server, which builds every layer from the loaded config (keyspace, state
 * machine, Raft driver, listeners), runs them, and tears them down.
 *
 * Single-threaded. Each iteration, libev runs the I/O and timer callbacks
 * (reads parse and execute commands), then the before-sleep hook: rounds of
 * the Raft driver (persist, send, apply) and of the clients it answered,
 * then every client's pending output. The cron (hz times a second) does the
 * bounded background work: incremental rehash, active expiry, client
 * timeouts.
 */
#ifndef LOOP_H
#define LOOP_H

#include <stddef.h>

struct server;

/* Builds the server from a loaded config: keyspace, state machine, Raft
 * driver, listeners, loop; and registers the config's apply hooks, through
 * which CONFIG SET reaches the running server (timers, log level, limits;
 * src/config/config.h). Returns 0, or -1 with a message in err (e.g. a port in use). */
int loop_init(struct server *srv, char *err, size_t errlen);
/* Runs the loop until SIGTERM/SIGINT or SHUTDOWN (server_request_shutdown)
 * ends it after the current iteration; returns the exit code. */
int loop_run(struct server *srv);
void loop_free(struct server *srv);

#endif
