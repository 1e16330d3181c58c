/*
 * src/types/cmdtable_sort.c - SORT and SORT_RO's rows of the command table (see
 * cmd.h for the columns; Redis 7.0's arity, flags, keys and ACL
 * categories). Handlers: src/types/sort.c. SORT is a write, as in Redis's table,
 * for its STORE option; its keys come from cmd_sort_keys (SORT_RO's from
 * cmd_sort_ro_keys). key_flags are those of the keys the hooks find (the
 * sorted key, then STORE's), not of Redis's three specs, whose second is
 * for the BY and GET patterns, which name no key here.
 */
#include "cmd/cmd.h"
#include "types/sort.h"
#include "cmd/rows.h"

const struct command cmd_table_sort[] = {
    {"sort", -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, cmd_sort, "generic", "1.0.0",
     "Sort the elements in a list, set or sorted set",
     "key [BY pattern] [LIMIT offset count]:limit [GET pattern [GET pattern ...]] "
     "[ASC|DESC]:order [ALPHA]:sorting [STORE destination]",
     "write set sortedset list slow dangerous", NULL, .getkeys = cmd_sort_keys,
     .key_flags = "RO access|OW update"},
    {"sort_ro", -2, CMD_READONLY, 1, 1, 1, cmd_sort_ro, "generic", "7.0.0",
     "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
     "key [BY pattern] [LIMIT offset count]:limit [GET pattern [GET pattern ...]] "
     "[ASC|DESC]:order [ALPHA]:sorting",
     "read set sortedset list slow dangerous", NULL, .getkeys = cmd_sort_ro_keys,
     .key_flags = "RO access"},
    CMD_ROWS_END,
};
