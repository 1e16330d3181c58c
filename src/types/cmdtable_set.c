/*
 * src/types/cmdtable_set.c - the set commands' rows of the command table (see
 * cmd.h for the columns; arity, flags, keys and ACL categories are Redis
 * 7.0's). Handlers: src/types/t_set.c, src/types/t_set_ops.c.
 */
#include "cmd/cmd.h"
#include "types/t_set.h"
#include "cmd/rows.h"

const struct command cmd_table_set[] = {
    {"sadd", -3, W | OOM | F | CMD_MEMBER_ARG, 1, 1, 1, cmd_sadd, "set", "1.0.0",
     "Adds one or more members to a set. Creates the key if it doesn't exist.",
     "key member [member ...]", "write set fast", NULL, .key_flags = "RW insert"},
    {"srem", -3, W | F | CMD_ABSENT_NOOP | CMD_MEMBER_ARG, 1, 1, 1, cmd_srem, "set", "1.0.0",
     "Removes one or more members from a set. Deletes the set if the last member was removed.",
     "key member [member ...]", "write set fast", NULL, .key_flags = "RW delete"},
    {"scard", 2, R | F, 1, 1, 1, cmd_scard, "set", "1.0.0",
     "Returns the number of members in a set.", "key", "read set fast", NULL, .key_flags = "RO"},
    {"sismember", 3, R | F, 1, 1, 1, cmd_sismember, "set", "1.0.0",
     "Determines whether a member belongs to a set.", "key member", "read set fast", NULL,
     .key_flags = "RO"},
    {"smismember", -3, R | F, 1, 1, 1, cmd_smismember, "set", "6.2.0",
     "Determines whether multiple members belong to a set.", "key member [member ...]",
     "read set fast", NULL, .key_flags = "RO access"},
    {"smembers", 2, R | CMD_UNORDERED, 1, 1, 1, cmd_smembers, "set", "1.0.0",
     "Returns all members of a set.", "key", "read set slow", NULL, .key_flags = "RO access"},
    {"spop", -2, W | F | CMD_RANDOM | CMD_ABSENT_NOOP, 1, 1, 1, cmd_spop, "set", "1.0.0",
     "Returns one or more random members from a set after removing them. Deletes the set if the "
     "last member was popped.",
     "key [count]", "write set fast", NULL, .key_flags = "RW access delete"},
    {"srandmember", -2, R | CMD_RANDOM, 1, 1, 1, cmd_srandmember, "set", "1.0.0",
     "Get one or multiple random members from a set", "key [count]", "read set slow", NULL,
     .key_flags = "RO access"},
    {"smove", 4, W | F | CMD_MEMBER_LAST, 1, 2, 1, cmd_smove, "set", "1.0.0",
     "Moves a member from one set to another.", "source destination member", "write set fast", NULL,
     .key_flags = "RW access delete|RW insert"},
    {"sinter", -2, R | CMD_UNORDERED, 1, -1, 1, cmd_sinter, "set", "1.0.0",
     "Returns the intersect of multiple sets.", "key [key ...]", "read set slow", NULL,
     .key_flags = "RO access"},
    {"sintercard", -3, R, 0, 0, 0, cmd_sintercard, "set", "7.0.0",
     "Returns the number of members of the intersect of multiple sets.",
     "numkeys:integer key [key ...] [LIMIT limit:integer]", "read set slow", NULL, NULL,
     t_set_sintercard_keys, .key_flags = "RO access"},
    {"sinterstore", -3, W | OOM, 1, -1, 1, cmd_sinterstore, "set", "1.0.0",
     "Stores the intersect of multiple sets in a key.", "destination key [key ...]",
     "write set slow", NULL, .key_flags = "RW update|RO access"},
    {"sunion", -2, R | CMD_UNORDERED, 1, -1, 1, cmd_sunion, "set", "1.0.0",
     "Returns the union of multiple sets.", "key [key ...]", "read set slow", NULL,
     .key_flags = "RO access"},
    {"sunionstore", -3, W | OOM, 1, -1, 1, cmd_sunionstore, "set", "1.0.0",
     "Stores the union of multiple sets in a key.", "destination key [key ...]", "write set slow",
     NULL, .key_flags = "OW update|RO access"},
    {"sdiff", -2, R | CMD_UNORDERED, 1, -1, 1, cmd_sdiff, "set", "1.0.0",
     "Returns the difference of multiple sets.", "key [key ...]", "read set slow", NULL,
     .key_flags = "RO access"},
    {"sdiffstore", -3, W | OOM, 1, -1, 1, cmd_sdiffstore, "set", "1.0.0",
     "Stores the difference of multiple sets in a key.", "destination key [key ...]",
     "write set slow", NULL, .key_flags = "OW update|RO access"},
    {"sscan", -3, R | CMD_RANDOM, 1, 1, 1, cmd_sscan, "set", "2.8.0",
     "Iterates over members of a set.", "key cursor [MATCH pattern] [COUNT count]", "read set slow",
     NULL, .key_flags = "RO access"},
    CMD_ROWS_END,
};
