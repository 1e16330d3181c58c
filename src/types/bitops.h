/*
 * src/types/bitops.h - bitmap commands on string values (src/types/bitops.c): SETBIT
 * GETBIT BITCOUNT BITPOS BITOP, Redis 7.0's replies; BITFIELD and
 * BITFIELD_RO (src/types/bitfield.c). Rows in src/types/cmdtable_bitops.c.
 */
#ifndef BITOPS_H
#define BITOPS_H

#include "cmd/cmd.h"

cmd_proc cmd_setbit, cmd_getbit, cmd_bitcount, cmd_bitpos, cmd_bitop, cmd_bitfield, cmd_bitfield_ro;
/* BITFIELD's key: only read when every operation is a GET (OVERFLOW
 * between them), as Redis's key flags for BITFIELD tell. */
cmd_key_flags_fn cmd_bitfield_key_flags;
extern const struct command cmd_table_bitops[];

#endif
