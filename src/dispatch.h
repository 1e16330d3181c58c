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
    DISPATCH_DONE = 0,   /* handled (replied now, or the reply comes when applied) */
    DISPATCH_WAIT = 1,   /* not run: leave it in the input, the client is resumed later */
    DISPATCH_DENIED = 2, /* protected mode refuses the client (src/conn.c closes it) */
};
enum dispatch_result dispatch_command(struct client *c, int argc, const struct resp_arg *argv);

/* The one "client gone" hook: c is about to be freed (src/conn.c); every
 * layer below forgets it (its transaction and watches, forwarded commands,
 * a JOIN it waits for, the writes and reads it waits for). */
void dispatch_client_gone(struct client *c);

#endif
