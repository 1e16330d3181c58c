/*
 * src/types/cmdtable_hash.c - the hash commands' rows of the command table (see
 * cmd.h for the columns; arity, flags, keys and ACL categories are Redis
 * 7.0's). Handlers: src/types/t_hash.c.
 */
#include "cmd/cmd.h"
#include "types/t_hash.h"
#include "cmd/rows.h"

const struct command cmd_table_hash[] = {
    {"hset", -4, W | OOM | F | CMD_MEMBER_ARG, 1, 1, 1, cmd_hset, "hash", "2.0.0",
     "Creates or modifies the value of a field in a hash.", "key field value [field value ...]",
     "write hash fast", NULL, .key_flags = "RW update"},
    {"hsetnx", 4, W | OOM | F | CMD_MEMBER_ARG, 1, 1, 1, cmd_hsetnx, "hash", "2.0.0",
     "Sets the value of a field in a hash only when the field doesn't exist.", "key field value",
     "write hash fast", NULL, .key_flags = "RW insert"},
    {"hmset", -4, W | OOM | F | CMD_MEMBER_ARG, 1, 1, 1, cmd_hmset, "hash", "2.0.0",
     "Sets the values of multiple fields.", "key field value [field value ...]", "write hash fast",
     NULL, .key_flags = "RW update"},
    {"hget", 3, R | F, 1, 1, 1, cmd_hget, "hash", "2.0.0",
     "Returns the value of a field in a hash.", "key field", "read hash fast", NULL,
     .key_flags = "RO access"},
    {"hmget", -3, R | F, 1, 1, 1, cmd_hmget, "hash", "2.0.0",
     "Returns the values of all fields in a hash.", "key field [field ...]", "read hash fast", NULL,
     .key_flags = "RO access"},
    {"hdel", -3, W | F | CMD_ABSENT_NOOP | CMD_MEMBER_ARG, 1, 1, 1, cmd_hdel, "hash", "2.0.0",
     "Deletes one or more fields and their values from a hash. Deletes the hash if no fields "
     "remain.",
     "key field [field ...]", "write hash fast", NULL, .key_flags = "RW delete"},
    {"hlen", 2, R | F, 1, 1, 1, cmd_hlen, "hash", "2.0.0",
     "Returns the number of fields in a hash.", "key", "read hash fast", NULL, .key_flags = "RO"},
    {"hstrlen", 3, R | F, 1, 1, 1, cmd_hstrlen, "hash", "3.2.0",
     "Returns the length of the value of a field.", "key field", "read hash fast", NULL,
     .key_flags = "RO"},
    {"hexists", 3, R | F, 1, 1, 1, cmd_hexists, "hash", "2.0.0",
     "Determines whether a field exists in a hash.", "key field", "read hash fast", NULL,
     .key_flags = "RO"},
    {"hkeys", 2, R | CMD_UNORDERED, 1, 1, 1, cmd_hkeys, "hash", "2.0.0",
     "Returns all fields in a hash.", "key", "read hash slow", NULL, .key_flags = "RO access"},
    {"hvals", 2, R | CMD_UNORDERED, 1, 1, 1, cmd_hvals, "hash", "2.0.0",
     "Returns all values in a hash.", "key", "read hash slow", NULL, .key_flags = "RO access"},
    {"hgetall", 2, R | CMD_UNORDERED, 1, 1, 1, cmd_hgetall, "hash", "2.0.0",
     "Returns all fields and values in a hash.", "key", "read hash slow", NULL,
     .key_flags = "RO access"},
    {"hincrby", 4, W | OOM | F | CMD_MEMBER_ARG, 1, 1, 1, cmd_hincrby, "hash", "2.0.0",
     "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if "
     "the field doesn't exist.",
     "key field increment", "write hash fast", NULL, .key_flags = "RW access update"},
    {"hincrbyfloat", 4, W | OOM | F | CMD_MEMBER_ARG, 1, 1, 1, cmd_hincrbyfloat, "hash", "2.6.0",
     "Increments the floating point value of a field by a number. Uses 0 as initial value if the "
     "field doesn't exist.",
     "key field increment:double", "write hash fast", NULL, .key_flags = "RW access update"},
    {"hrandfield", -2, R | CMD_RANDOM, 1, 1, 1, cmd_hrandfield, "hash", "6.2.0",
     "Returns one or more random fields from a hash.", "key [count [WITHVALUES]]:options",
     "read hash slow", NULL, .key_flags = "RO access"},
    {"hscan", -3, R | CMD_RANDOM, 1, 1, 1, cmd_hscan, "hash", "2.8.0",
     "Iterates over fields and values of a hash.", "key cursor [MATCH pattern] [COUNT count]",
     "read hash slow", NULL, .key_flags = "RO access"},
    CMD_ROWS_END,
};
