/*
 * src/server/dispatch.h - the one place every client command goes through.
 *
 * dispatch_command() does, in order and once for all commands: lookup
 * (unknown command / subcommand errors), arity, authentication, MULTI
 * queueing, the maxmemory (OOM) refusal of DENYOOM commands, then runs the
 * command: writes through the state machine (src/sm/sm.h), everything else
 * directly against the local keyspace with the wall clock.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <stdbool.h>

#include "cmd/client.h"
#include "cmd/cmd.h"

enum dispatch_result {
    DISPATCH_DONE = 0,   /* handled (replied now, or the reply comes when applied) */
    DISPATCH_WAIT = 1,   /* not run: leave it in the input, the client is resumed later */
    DISPATCH_DENIED = 2, /* protected mode refuses the client (src/net/conn.c closes it) */
};
enum dispatch_result dispatch_command(struct client *c, int argc, const struct resp_arg *argv);

/* rename-command: the directives applied in order to srv->renames (clients'
 * names, src/cmd/rename.h) at start: 0, or -1 with Redis's error after the
 * directive's file, line and text. */
int dispatch_renames_init(struct server *srv, char *err, size_t errlen);

/*
 * Look-ahead over a client's pipelined input: the first argument (the key,
 * for most commands) of each of the next DISPATCH_AHEAD commands is fetched
 * into the CPU cache in stages (the keyspace's bucket, entry, then value:
 * src/keyspace/kv.h kv_prefetch) while the commands before it run, so the lookups of
 * a pipeline in a large keyspace overlap their cache misses instead of
 * waiting for each in turn. Hints only: what is peeked is never trusted
 * (resp_peek_arg1 in resp/parser.h), a wrong guess costs a wasted fetch. A
 * key equal to the one before it (a pipeline of LPUSHes to one list) is not
 * fetched again, and DISPATCH_AHEAD_REPEATS of them in a row end the
 * look-ahead for that input.
 *
 * Use: dispatch_ahead_start() with the input the commands will be parsed
 * from, then dispatch_ahead_step() before each command is taken up. The
 * input must stay where it is between the calls. A buffer holding one
 * command only starts nothing (nothing to overlap).
 */
#define DISPATCH_AHEAD 3
#define DISPATCH_AHEAD_REPEATS 2
struct dispatch_ahead {
    const struct kv *kv; /* NULL: nothing to look ahead at */
    const char *buf;
    size_t len, at; /* at: the next command to peek */
    /* Ring of the commands peeked: their key's hash (kv_key_hash), or
     * fetch false when there is nothing to fetch (no key, or the same key
     * as the command before). */
    uint64_t hash[DISPATCH_AHEAD + 1];
    bool fetch[DISPATCH_AHEAD + 1];
    struct resp_arg last; /* the last key peeked */
    unsigned head, n;
    unsigned repeats; /* keys in a row equal to the one before */
};
void dispatch_ahead_start(struct dispatch_ahead *a, const struct client *c, const char *buf,
                          size_t len);
void dispatch_ahead_step(struct dispatch_ahead *a);

/* The one "client gone" hook: c is about to be freed (src/net/conn.c); every
 * layer below forgets it (its transaction and watches, forwarded commands,
 * a JOIN it waits for, the writes and reads it waits for). */
void dispatch_client_gone(struct client *c);

#endif
