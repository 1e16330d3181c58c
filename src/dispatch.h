/*
 * src/dispatch.h - the one place every client command goes through.
 *
 * dispatch_command() does, in order and once for all commands: lookup
 * (unknown command / subcommand errors), arity, authentication, MULTI
 * queueing, the maxmemory (OOM) refusal of DENYOOM commands, then runs the
 * command: writes through the state machine (src/sm.h), everything else
 * directly against the local keyspace with the wall clock.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

#include "client.h"
#include "cmd.h"

enum dispatch_result {
    DISPATCH_DONE = 0, /* handled (replied now, or the reply comes when applied) */
    DISPATCH_WAIT = 1, /* not run: leave it in the input, the client is resumed later */
};
enum dispatch_result dispatch_command(struct client *c, int argc, const struct resp_arg *argv);

/* Runs cmd's handler for argv with the given clock and reply buffer, local
 * randomness and statistics: reads, and a transaction's queue run locally.
 * (The state machine calls the command layer itself: src/sm.c.) */
void dispatch_call(struct server *srv, struct client *c, const struct command *cmd, int argc,
                   const struct resp_arg *argv, int64_t now_ms, struct resp_out *out);

/* 1 if maxmemory is set and the allocator reports more in use. */
int dispatch_over_maxmemory(struct server *srv);

#endif
