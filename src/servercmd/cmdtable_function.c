/*
 * src/servercmd/cmdtable_function.c - the function commands' rows of the command
 * table (see cmd.h for the columns; arity, keys, ACL categories, summaries
 * and arguments are Redis 7.0's). Handlers: src/servercmd/cmd_function.c.
 *
 * FUNCTION LOAD, DELETE, FLUSH and RESTORE change the replicated library
 * registry: writes without keys. FUNCTION LIST, DUMP and STATS are
 * neither writes nor keyed reads: they run on the node asked. FCALL is
 * flagged a write (Redis: may-replicate); the call_flags hook makes a call
 * of a no-writes function a read.
 */
#include "servercmd/cmd_function.h"
#include "servercmd/cmd_script.h"
#include "cmd/rows.h"

#define KW CMD_KEYLESS_WRITE
#define NMK CMD_NO_MANDATORY_KEYS
#define BUSY CMD_ALLOW_BUSY

static const struct command function_subcommands[] = {
    {"function|delete", 3, W | KW | NS, 0, 0, 0, cmd_function_delete, "scripting", "7.0.0",
     "Deletes a library and its functions.", "library-name", "write slow scripting", NULL},
    {"function|dump", 2, NS, 0, 0, 0, cmd_function_dump, "scripting", "7.0.0",
     "Dumps all libraries into a serialized binary payload.", NULL, "slow scripting", NULL},
    {"function|flush", -2, W | KW | NS, 0, 0, 0, cmd_function_flush, "scripting", "7.0.0",
     "Deletes all libraries and functions.", "[ASYNC|SYNC]:flush-type", "write slow scripting",
     NULL},
    {"function|help", 2, LD | ST, 0, 0, 0, cmd_function_help, "scripting", "7.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow scripting", NULL},
    {"function|kill", 2, NS | BUSY, 0, 0, 0, cmd_function_kill, "scripting", "7.0.0",
     "Terminates a function during execution.", NULL, "slow scripting", NULL},
    {"function|list", -2, NS, 0, 0, 0, cmd_function_list, "scripting", "7.0.0",
     "Returns information about all libraries.", "[LIBRARYNAME library-name-pattern] [WITHCODE]",
     "slow scripting", NULL},
    {"function|load", -3, W | KW | OOM | NS, 0, 0, 0, cmd_function_load, "scripting", "7.0.0",
     "Creates a library.", "[REPLACE] function-code", "write slow scripting", NULL},
    {"function|restore", -3, W | KW | OOM | NS, 0, 0, 0, cmd_function_restore, "scripting", "7.0.0",
     "Restores all libraries from a payload.", "serialized-value [FLUSH|APPEND|REPLACE]:policy",
     "write slow scripting", NULL},
    {"function|stats", 2, NS | BUSY, 0, 0, 0, cmd_function_stats, "scripting", "7.0.0",
     "Returns information about a function during execution.", NULL, "slow scripting", NULL},
    CMD_ROWS_END,
};

const struct command cmd_table_function[] = {
    {"fcall", -3, W | NS | ST | NMK, 0, 0, 0, cmd_fcall, "scripting", "7.0.0",
     "Invokes a function.", "function numkeys:integer [key [key ...]] [arg [arg ...]]",
     "slow scripting", NULL, NULL, cmd_eval_keys, NULL, cmd_fcall_call_flags,
     .key_flags = "RW access update", .runs_script = 1},
    {"fcall_ro", -3, R | NS | ST | NMK, 0, 0, 0, cmd_fcall_ro, "scripting", "7.0.0",
     "Invokes a read-only function.", "function numkeys:integer [key [key ...]] [arg [arg ...]]",
     "slow scripting", NULL, NULL, cmd_eval_keys, .key_flags = "RO access", .runs_script = 1},
    {"function", -2, CMD_CONTAINER, 0, 0, 0, NULL, "scripting", "7.0.0",
     "A container for function commands.", NULL, "slow", function_subcommands},
    CMD_ROWS_END,
};
