/*
 * src/types/sort.h - SORT and SORT_RO (src/types/sort.c) over lists, sets and sorted
 * sets; rows in src/types/cmdtable_sort.c. SORT ... STORE writes a list.
 */
#ifndef SORT_H
#define SORT_H

#include "cmd/cmd.h"

cmd_proc cmd_sort, cmd_sort_ro;
cmd_getkeys_fn cmd_sort_keys, cmd_sort_ro_keys;
extern const struct command cmd_table_sort[];

#endif
