/*
 * src/servercmd/cmd_function.h - Redis 7.0's function commands: FUNCTION's
 * subcommands, FCALL and FCALL_RO, on src/script/function.h's registry (the
 * server's srv->functions) and src/script/script.h's engine. Their rows:
 * src/servercmd/cmdtable_function.c.
 *
 * FUNCTION LOAD, DELETE, FLUSH and RESTORE change the replicated registry:
 * writes without keys, applied on every node. FUNCTION LIST, DUMP and
 * STATS read this node's registry. FCALL is a write unless its function
 * is flagged no-writes (cmd_fcall_call_flags tells the dispatcher, which
 * then runs the call as a read); FCALL_RO is a read.
 */
#ifndef CMD_FUNCTION_H
#define CMD_FUNCTION_H

#include "cmd/cmd.h"

extern const struct command cmd_table_function[];

void cmd_function_load(struct cmd_ctx *c);
void cmd_function_delete(struct cmd_ctx *c);
void cmd_function_flush(struct cmd_ctx *c);
void cmd_function_restore(struct cmd_ctx *c);
void cmd_function_dump(struct cmd_ctx *c);
void cmd_function_list(struct cmd_ctx *c);
void cmd_function_stats(struct cmd_ctx *c);
void cmd_function_kill(struct cmd_ctx *c);
void cmd_function_help(struct cmd_ctx *c);
void cmd_fcall(struct cmd_ctx *c);
void cmd_fcall_ro(struct cmd_ctx *c);

/* The flags an FCALL is routed by (cmd_call_flags_fn): its function's, as
 * an EVAL's script's; the row's when there is no such function (the call
 * then fails, the same way on every node). */
uint32_t cmd_fcall_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                              uint32_t flags);

#endif
