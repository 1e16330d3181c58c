/*
 * src/server/monitors.h - MONITOR: the clients that watch every command this node
 * runs for its clients, and the line each command becomes.
 *
 * Where commands are fed (Redis feeds them when call() runs them): the node
 * that received a client's command feeds it when it dispatches it -- runs
 * it, proposes it to the log, or forwards it to the leader (the follower
 * proxy) -- so a monitor on a follower sees the commands of that follower's
 * clients, and a monitor on the leader those of the leader's clients. Peer
 * links (Raft, the proxy's link, pub/sub links) feed nothing, and replicas
 * applying the log feed nothing: every command shows once, on the node its
 * client talks to. The commands a script runs are fed where the script runs
 * for its client (the node whose client waits for the script's entry, or
 * runs the read-only script), as `[0 lua]`, after the script's own line.
 * Commands refused before they run (unknown, wrong arity, NOAUTH, -MOVED)
 * are not fed, nor admin commands (CONFIG, CLIENT LIST, MONITOR, ...:
 * monitors_skips). A command is fed when it is dispatched, before it runs,
 * so EVAL and FCALL show before the commands their script runs, as Redis
 * shows them. Inside MULTI, commands are fed when EXEC is dispatched,
 * then EXEC itself (only EXEC when the transaction is refused). A blocking
 * command is fed once, not again when its client is woken.
 *
 * Line format (Redis 7.0's): `+<sec>.<usec> [0 <ip:port>] "cmd" "arg" ...`,
 * each argument quoted and escaped as Redis's sdscatrepr does, AUTH's and
 * HELLO ... AUTH's secrets shown as "(redacted)".
 *
 * Cost: with no monitor attached, monitors_active() is one load and test;
 * nothing is formatted. Monitors are borrowed: monitors_remove() runs before
 * one is freed (the "client gone" hook and RESET).
 */
#ifndef MONITORS_H
#define MONITORS_H

#include <stddef.h>
#include <stdint.h>
#include "resp/parser.h"

struct client;
struct command;

/* Monitors at most: one beyond is refused ("ERR max number of monitors
 * reached"), a bound on the formatting work each command costs. */
#define MONITORS_MAX 1024

struct monitors {
    struct client **v; /* borrowed, in attach order */
    size_t n, cap;
};

void monitors_init(struct monitors *m);
void monitors_free(struct monitors *m);

static inline int monitors_active(const struct monitors *m)
{
    return m->n != 0;
}

/* Attaches c (it gets flag CLIENT_MONITOR). Returns 0, or -1 when
 * MONITORS_MAX monitors are attached; a monitor already attached stays. */
int monitors_add(struct monitors *m, struct client *c);
/* Detaches c if it is a monitor (clears CLIENT_MONITOR). */
void monitors_remove(struct monitors *m, struct client *c);

/* 1 if cmd is never fed (Redis's rule: admin commands are too dangerous
 * to show). */
int monitors_skips(const struct command *cmd);

/* Streams argv to every monitor as run by src (NULL: a script, `[0 lua]`),
 * at the wall clock. */
void monitors_feed(struct monitors *m, const struct client *src, int argc,
                   const struct resp_arg *argv);

#endif
