/*
 * src/server/call.h - running a resolved command locally: what the dispatcher
 * (src/server/dispatch.c) does for a read and EXEC (src/server/multi.c) for each queued
 * command of a transaction that needs no log entry. The state machine
 * (src/sm/sm.c) runs the commands of log entries itself, with the entry's
 * clock and randomness.
 */
#ifndef CALL_H
#define CALL_H

#include <stdint.h>
#include "resp/parser.h"
#include "resp/writer.h"

struct server;
struct client;
struct command;
struct cmd_block;

/* Runs cmd's handler for argv with the given clock and reply buffer, local
 * randomness (a read may draw random numbers freely) and statistics.
 * blk non-NULL: a blocking command is only probed (cmd_ctx.probe): it
 * checks its arguments, replying their error (returns 0), or returns 1 and
 * fills *blk with what it waits for, touching no key (src/server/blocked.h). */
int call_command(struct server *srv, struct client *c, const struct command *cmd, int argc,
                 const struct resp_arg *argv, int64_t now_ms, struct resp_out *out,
                 struct cmd_block *blk);

#endif
