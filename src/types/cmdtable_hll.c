/*
 * src/types/cmdtable_hll.c - the HyperLogLog commands' rows of the command table
 * (see cmd.h for the columns; Redis 7.0's arity, flags, keys and ACL
 * categories). Handlers: src/types/hll_cmd.c. PFCOUNT is a read, as in Redis's
 * table, with a writes hook for the calls that store a stale cache.
 */
#include "cmd/cmd.h"
#include "types/hll_cmd.h"
#include "cmd/rows.h"

const struct command cmd_table_hll[] = {
    {"pfadd", -2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, cmd_pfadd, "hyperloglog", "2.8.9",
     "Adds the specified elements to the specified HyperLogLog.", "key [element [element ...]]",
     "write hyperloglog fast", NULL, .key_flags = "RW insert"},
    {"pfcount", -2, CMD_READONLY | CMD_MAY_REPLICATE, 1, -1, 1, cmd_pfcount, "hyperloglog", "2.8.9",
     "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
     "key [key ...]", "read hyperloglog slow", NULL, .writes = cmd_pfcount_writes,
     .key_flags = "RW access"},
    {"pfmerge", -2, CMD_WRITE | CMD_DENYOOM, 1, -1, 1, cmd_pfmerge, "hyperloglog", "2.8.9",
     "Merge N different HyperLogLogs into a single one.",
     "destkey:key sourcekey:key [sourcekey:key ...]", "write hyperloglog slow", NULL,
     .key_flags = "RW access insert|RO access"},
    {"pfdebug", 3, CMD_WRITE | CMD_DENYOOM | CMD_ADMIN, 2, 2, 1, cmd_pfdebug, "hyperloglog",
     "2.8.9", "Internal commands for debugging HyperLogLog values", "subcommand:string key",
     "write hyperloglog admin slow dangerous", NULL, .key_flags = "RW access"},
    {"pfselftest", 1, CMD_ADMIN, 0, 0, 0, cmd_pfselftest, "hyperloglog", "2.8.9",
     "An internal command for testing HyperLogLog values", NULL, "hyperloglog admin slow dangerous",
     NULL},
    CMD_ROWS_END,
};
