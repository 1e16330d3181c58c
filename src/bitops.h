/*
 * src/bitops.h - bitmap commands on string values (src/bitops.c): SETBIT
 * GETBIT BITCOUNT BITPOS BITOP, Redis 7.0's replies. Rows in
 * src/cmdtable_bitops.c. BITFIELD is not offered yet.
 */
#ifndef BITOPS_H
#define BITOPS_H

#include "cmd.h"

cmd_proc cmd_setbit, cmd_getbit, cmd_bitcount, cmd_bitpos, cmd_bitop;
extern const struct command cmd_table_bitops[];

#endif
