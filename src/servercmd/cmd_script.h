/*
 * src/servercmd/cmd_script.h - the scripting commands (Redis 7.0's): EVAL, EVALSHA,
 * EVAL_RO, EVALSHA_RO and SCRIPT's subcommands, on src/script/script.h's engine.
 * Their rows: src/servercmd/cmdtable_script.c.
 *
 * EVAL and EVALSHA are writes: they go through the log and run on every
 * node when applied, unless the script's shebang says no-writes
 * (cmd_script_call_flags tells the dispatcher, which then runs the call as
 * a read). EVAL_RO and EVALSHA_RO are reads. SCRIPT LOAD and SCRIPT FLUSH
 * change the replicated cache: writes without keys. SCRIPT EXISTS reads the
 * node's cache.
 */
#ifndef CMD_SCRIPT_H
#define CMD_SCRIPT_H

#include "cmd/cmd.h"

extern const struct command cmd_table_script[];

void cmd_eval(struct cmd_ctx *c);
void cmd_evalsha(struct cmd_ctx *c);
void cmd_eval_ro(struct cmd_ctx *c);
void cmd_evalsha_ro(struct cmd_ctx *c);
void cmd_script_load(struct cmd_ctx *c);
void cmd_script_exists(struct cmd_ctx *c);
void cmd_script_flush(struct cmd_ctx *c);
void cmd_script_kill(struct cmd_ctx *c);
/* The keys and arguments of an EVAL- or FCALL-style call (argv[2] is
 * numkeys, already parsed): 0, or -1 after Redis's error for a numkeys out
 * of range. */
struct script_args;
int cmd_script_args(struct cmd_ctx *c, long long numkeys, int read_only, struct script_args *a);
/* SCRIPT KILL's (or FUNCTION KILL's) reply, stopping e's busy run. */
struct script_engine;
void cmd_script_kill_in(struct cmd_ctx *c, struct script_engine *e);
void cmd_script_debug(struct cmd_ctx *c);
void cmd_script_help(struct cmd_ctx *c);
/* RAFTCACHE.OOM <EVAL|EVALSHA ...>: the call, run with cmd_ctx.over_memory
 * (internal: only the leader writes it, into the log), and its keys. */
void cmd_script_over_memory(struct cmd_ctx *c);
int cmd_script_over_memory_keys(int argc, const struct resp_arg *argv, int *idx, int max);

/* EVAL's keys: numkeys (argv[2]) keys from argv[3] (cmd_getkeys_fn). */
int cmd_eval_keys(int argc, const struct resp_arg *argv, int *idx, int max);
/* The flags of an EVAL or EVALSHA call whose script declares its own
 * (cmd_call_flags_fn): a no-writes script is a read. */
uint32_t cmd_eval_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                             uint32_t flags);
/* The flags a call of a script or function declaring sflags (enum
 * script_flag) is routed by, from its row's: a write unless no-writes
 * (then a read), refused over maxmemory unless no-writes or allow-oom,
 * served stale when allow-stale (with no-writes: run on any node, on its
 * applied data, without a quorum round). */
uint32_t cmd_script_route_flags(uint32_t sflags, uint32_t flags);

#endif
