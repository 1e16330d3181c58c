/*
 * src/types/cmdtable_list.c - the list commands' rows of the command table (see
 * cmd.h for the columns; arity, flags, keys, ACL categories, summaries and
 * arguments are Redis 7.0's). Handlers: src/types/t_list.c, src/types/t_list_cmd.c,
 * src/types/t_list_block.c.
 *
 * CMD_ABSENT_NOOP: every list write but LPUSH and RPUSH changes nothing
 * when the keys it names are absent (a pop, a move from an absent source,
 * LPUSHX, LSET's "no such key", LINSERT's 0, LREM, LTRIM).
 */
#include "cmd/cmd.h"
#include "types/t_list.h"
#include "cmd/rows.h"

#define NOOP CMD_ABSENT_NOOP
#define BLK (CMD_BLOCKING | CMD_NOSCRIPT)

const struct command cmd_table_list[] = {
    {"lpush", -3, W | OOM | F, 1, 1, 1, cmd_lpush, "list", "1.0.0",
     "Prepend one or multiple elements to a list", "key element [element ...]", "write list fast",
     NULL, .key_flags = "RW insert"},
    {"rpush", -3, W | OOM | F, 1, 1, 1, cmd_rpush, "list", "1.0.0",
     "Append one or multiple elements to a list", "key element [element ...]", "write list fast",
     NULL, .key_flags = "RW insert"},
    {"lpushx", -3, W | OOM | F | NOOP, 1, 1, 1, cmd_lpushx, "list", "2.2.0",
     "Prepend an element to a list, only if the list exists", "key element [element ...]",
     "write list fast", NULL, .key_flags = "RW insert"},
    {"rpushx", -3, W | OOM | F | NOOP, 1, 1, 1, cmd_rpushx, "list", "2.2.0",
     "Append an element to a list, only if the list exists", "key element [element ...]",
     "write list fast", NULL, .key_flags = "RW insert"},
    {"lpop", -2, W | F | NOOP, 1, 1, 1, cmd_lpop, "list", "1.0.0",
     "Remove and get the first elements in a list", "key [count]", "write list fast", NULL,
     .key_flags = "RW access delete"},
    {"rpop", -2, W | F | NOOP, 1, 1, 1, cmd_rpop, "list", "1.0.0",
     "Remove and get the last elements in a list", "key [count]", "write list fast", NULL,
     .key_flags = "RW access delete"},
    {"lmpop", -4, W | NOOP, 0, 0, 0, cmd_lmpop, "list", "7.0.0", "Pop elements from a list",
     "numkeys:integer key [key ...] <LEFT|RIGHT>:where [COUNT count]", "write list slow", NULL,
     NULL, t_list_lmpop_keys, .key_flags = "RW access delete"},
    {"lmove", 5, W | OOM | NOOP, 1, 2, 1, cmd_lmove, "list", "6.2.0",
     "Pop an element from a list, push it to another list and return it",
     "source destination <LEFT|RIGHT>:wherefrom <LEFT|RIGHT>:whereto", "write list slow", NULL,
     .key_flags = "RW access delete|RW insert"},
    {"rpoplpush", 3, W | OOM | NOOP, 1, 2, 1, cmd_rpoplpush, "list", "1.2.0",
     "Remove the last element in a list, prepend it to another list and return it",
     "source destination", "write list slow", NULL, .key_flags = "RW access delete|RW insert"},
    {"llen", 2, R | F, 1, 1, 1, cmd_llen, "list", "1.0.0", "Get the length of a list", "key",
     "read list fast", NULL, .key_flags = "RO"},
    {"lrange", 4, R, 1, 1, 1, cmd_lrange, "list", "1.0.0", "Get a range of elements from a list",
     "key start stop:integer", "read list slow", NULL, .key_flags = "RO access"},
    {"lindex", 3, R, 1, 1, 1, cmd_lindex, "list", "1.0.0",
     "Get an element from a list by its index", "key index", "read list slow", NULL,
     .key_flags = "RO access"},
    {"lset", 4, W | OOM | NOOP, 1, 1, 1, cmd_lset, "list", "1.0.0",
     "Set the value of an element in a list by its index", "key index element", "write list slow",
     NULL, .key_flags = "RW update"},
    {"linsert", 5, W | OOM | NOOP, 1, 1, 1, cmd_linsert, "list", "2.2.0",
     "Insert an element before or after another element in a list",
     "key <BEFORE|AFTER>:where pivot element", "write list slow", NULL, .key_flags = "RW insert"},
    {"lrem", 4, W | NOOP, 1, 1, 1, cmd_lrem, "list", "1.0.0", "Remove elements from a list",
     "key count element", "write list slow", NULL, .key_flags = "RW delete"},
    {"ltrim", 4, W | NOOP, 1, 1, 1, cmd_ltrim, "list", "1.0.0",
     "Trim a list to the specified range", "key start stop:integer", "write list slow", NULL,
     .key_flags = "RW delete"},
    {"lpos", -3, R, 1, 1, 1, cmd_lpos, "list", "6.0.6",
     "Return the index of matching elements on a list",
     "key element [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]",
     "read list slow", NULL, .key_flags = "RO access"},
    {"blpop", -3, W | BLK | CMD_NOSCRIPT, 1, -2, 1, cmd_blpop, "list", "2.0.0",
     "Remove and get the first element in a list, or block until one is available",
     "key [key ...] timeout:double", "write list slow blocking", NULL,
     .key_flags = "RW access delete"},
    {"brpop", -3, W | BLK | CMD_NOSCRIPT, 1, -2, 1, cmd_brpop, "list", "2.0.0",
     "Remove and get the last element in a list, or block until one is available",
     "key [key ...] timeout:double", "write list slow blocking", NULL,
     .key_flags = "RW access delete"},
    {"blmpop", -5, W | CMD_BLOCKING, 0, 0, 0, cmd_blmpop, "list", "7.0.0",
     "Pop elements from a list, or block until one is available",
     "timeout:double numkeys:integer key [key ...] <LEFT|RIGHT>:where [COUNT count]",
     "write list slow blocking", NULL, NULL, t_list_blmpop_keys, .key_flags = "RW access delete"},
    {"blmove", 6, W | OOM | BLK | CMD_NOSCRIPT, 1, 2, 1, cmd_blmove, "list", "6.2.0",
     "Pop an element from a list, push it to another list and return it; or block until one is "
     "available",
     "source destination <LEFT|RIGHT>:wherefrom <LEFT|RIGHT>:whereto timeout:double",
     "write list slow blocking", NULL, .key_flags = "RW access delete|RW insert"},
    {"brpoplpush", 4, W | OOM | BLK | CMD_NOSCRIPT, 1, 2, 1, cmd_brpoplpush, "list", "2.2.0",
     "Pop an element from a list, push it to another list and return it; or block until one is "
     "available",
     "source destination timeout:double", "write list slow blocking", NULL,
     .key_flags = "RW access delete|RW insert"},
    CMD_ROWS_END,
};
