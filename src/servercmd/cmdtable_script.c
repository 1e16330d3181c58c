/*
 * src/servercmd/cmdtable_script.c - the scripting commands' rows of the command table
 * (see cmd.h for the columns; arity, keys, ACL categories, summaries and
 * arguments are Redis 7.0's). Handlers: src/servercmd/cmd_script.c.
 *
 * EVAL and EVALSHA are flagged writes (Redis: may-replicate): a script
 * without a shebang may write, so the call goes through the log; the
 * call_flags hook makes a script declaring no-writes a read, and one
 * declaring neither no-writes nor allow-oom deny-oom (Redis: a script
 * without a shebang is not refused over maxmemory, its deny-oom commands
 * are: RAFTCACHE.OOM). SCRIPT LOAD
 * and SCRIPT FLUSH change the replicated cache: writes without keys.
 */
#include "servercmd/cmd_script.h"
#include "cmd/rows.h"

#define KW CMD_KEYLESS_WRITE
#define NMK CMD_NO_MANDATORY_KEYS

static const struct command script_subcommands[] = {
    {"script|debug", 3, NS, 0, 0, 0, cmd_script_debug, "scripting", "3.2.0",
     "Set the debug mode for executed scripts.", "<YES|SYNC|NO>:mode", "slow scripting", NULL},
    {"script|exists", -3, NS, 0, 0, 0, cmd_script_exists, "scripting", "2.6.0",
     "Check existence of scripts in the script cache.", "sha1 [sha1 ...]", "slow scripting", NULL},
    {"script|flush", -2, W | KW | NS, 0, 0, 0, cmd_script_flush, "scripting", "2.6.0",
     "Remove all the scripts from the script cache.", "[ASYNC|SYNC]:async", "slow scripting", NULL},
    {"script|help", 2, LD | ST, 0, 0, 0, cmd_script_help, "scripting", "5.0.0",
     "Show helpful text about the different subcommands", NULL, "slow scripting", NULL},
    {"script|kill", 2, NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_script_kill, "scripting", "2.6.0",
     "Kill the script currently in execution.", NULL, "slow scripting", NULL},
    {"script|load", 3, W | KW | NS | ST, 0, 0, 0, cmd_script_load, "scripting", "2.6.0",
     "Load the specified Lua script into the script cache.", "script", "slow scripting", NULL},
    CMD_ROWS_END,
};

const struct command cmd_table_script[] = {
    {"eval", -3, W | NS | ST | CMD_SCRIPT | NMK, 0, 0, 0, cmd_eval, "scripting", "2.6.0",
     "Execute a Lua script server side", "script numkeys:integer [key [key ...]] [arg [arg ...]]",
     "slow scripting", NULL, NULL, cmd_eval_keys, NULL, cmd_eval_call_flags,
     .key_flags = "RW access update", .runs_script = 1},
    {"evalsha", -3, W | NS | ST | CMD_SCRIPT | NMK, 0, 0, 0, cmd_evalsha, "scripting", "2.6.0",
     "Execute a Lua script server side", "sha1 numkeys:integer [key [key ...]] [arg [arg ...]]",
     "slow scripting", NULL, NULL, cmd_eval_keys, NULL, cmd_eval_call_flags,
     .key_flags = "RW access update", .runs_script = 1},
    {"eval_ro", -3, R | NS | ST | NMK, 0, 0, 0, cmd_eval_ro, "scripting", "7.0.0",
     "Execute a read-only Lua script server side",
     "script numkeys:integer [key [key ...]] [arg [arg ...]]", "slow scripting", NULL, NULL,
     cmd_eval_keys, .key_flags = "RO access", .runs_script = 1},
    {"evalsha_ro", -3, R | NS | ST | NMK, 0, 0, 0, cmd_evalsha_ro, "scripting", "7.0.0",
     "Execute a read-only Lua script server side",
     "sha1 numkeys:integer [key [key ...]] [arg [arg ...]]", "slow scripting", NULL, NULL,
     cmd_eval_keys, .key_flags = "RO access", .runs_script = 1},
    {"script", -2, CMD_CONTAINER, 0, 0, 0, NULL, "scripting", "2.6.0",
     "A container for Lua scripts management commands", NULL, "slow", script_subcommands},
    {"raftcache.oom", -4, W | NS | CMD_INTERNAL, 0, 0, 0, cmd_script_over_memory, "raft", "0.1.0",
     "A script the leader proposed while over maxmemory (internal).",
     "command script numkeys:integer [key [key ...]] [arg [arg ...]]", "write slow scripting", NULL,
     NULL, cmd_script_over_memory_keys},
    CMD_ROWS_END,
};
