/*
 * src/types/cmdtable_bitops.c - the bitmap commands' rows of the command table
 * (see cmd.h for the columns; Redis 7.0's arity, flags, keys and ACL
 * categories). Handlers: src/types/bitops.c.
 */
#include "types/bitops.h"
#include "cmd/cmd.h"
#include "cmd/rows.h"

/* One BITFIELD operation, repeated in its syntax: a GET, or a SET or INCRBY
 * after an optional OVERFLOW (Redis's "operation" oneof and "write" block). */
#define BF_OPERATION                                                                               \
    "<GET encoding offset|<[OVERFLOW <WRAP|SAT|FAIL>]:wrap_sat_fail <SET encoding offset "         \
    "value:integer|INCRBY encoding offset increment>:write_operation>:write>:operation"

const struct command cmd_table_bitops[] = {
    {"setbit", 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, cmd_setbit, "bitmap", "2.2.0",
     "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
     "key offset value:integer", "write bitmap slow", NULL, .key_flags = "RW access update"},
    {"getbit", 3, CMD_READONLY | CMD_FAST, 1, 1, 1, cmd_getbit, "bitmap", "2.2.0",
     "Returns a bit value by offset.", "key offset", "read bitmap fast", NULL,
     .key_flags = "RO access"},
    {"bitcount", -2, CMD_READONLY, 1, 1, 1, cmd_bitcount, "bitmap", "2.6.0",
     "Counts the number of set bits (population counting) in a string.",
     "key [start end [BYTE|BIT]:unit]:range", "read bitmap slow", NULL, .key_flags = "RO access"},
    {"bitpos", -3, CMD_READONLY, 1, 1, 1, cmd_bitpos, "bitmap", "2.8.7",
     "Finds the first set (1) or clear (0) bit in a string.",
     "key bit:integer [start [end [BYTE|BIT]:unit]:end_unit_block]:range", "read bitmap slow", NULL,
     .key_flags = "RO access"},
    {"bitop", -4, CMD_WRITE | CMD_DENYOOM, 2, -1, 1, cmd_bitop, "bitmap", "2.6.0",
     "Performs bitwise operations on multiple strings, and stores the result.",
     "<AND|OR|XOR|NOT>:operation destkey key [key ...]", "write bitmap slow", NULL,
     .key_flags = "OW update|RO access"},
    {"bitfield", -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, cmd_bitfield, "bitmap", "3.2.0",
     "Perform arbitrary bitfield integer operations on strings",
     "key [" BF_OPERATION " [" BF_OPERATION " ...]]", "write bitmap slow", NULL,
     .key_flags = "RW access update variable_flags", .key_flags_call = cmd_bitfield_key_flags},
    {"bitfield_ro", -2, CMD_READONLY | CMD_FAST, 1, 1, 1, cmd_bitfield_ro, "bitmap", "6.0.0",
     "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
     "key [GET encoding offset [GET encoding offset ...]]", "read bitmap fast", NULL,
     .key_flags = "RO access"},
    CMD_ROWS_END,
};
