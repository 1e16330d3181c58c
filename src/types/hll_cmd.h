/*
 * src/types/hll_cmd.h - the HyperLogLog commands (src/types/hll_cmd.c): PFADD PFCOUNT
 * PFMERGE PFDEBUG PFSELFTEST, rows in src/types/cmdtable_hll.c. The values are
 * strings in Redis's representation (src/ds/hyperloglog.h).
 */
#ifndef HLL_CMD_H
#define HLL_CMD_H

#include "cmd/cmd.h"

cmd_proc cmd_pfadd, cmd_pfcount, cmd_pfmerge, cmd_pfdebug, cmd_pfselftest;
cmd_writes_fn cmd_pfcount_writes;
extern const struct command cmd_table_hll[];

#endif
