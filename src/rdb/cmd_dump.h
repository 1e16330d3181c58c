/*
 * src/rdb/cmd_dump.h - DUMP: a value as Redis 7.0's DUMP payload (its RDB
 * object encoding, src/rdb/rdb_value.h, then RDB version 10 and the CRC-64
 * of both, little-endian), which redis-server 7.0's RESTORE accepts. A
 * read: it runs where reads run and touches no LRU clock. Compressed as
 * Redis compresses with rdbcompression yes, its default (the directive is
 * accepted, not applied: docs/redis-conf.md).
 */
#ifndef CMD_DUMP_H
#define CMD_DUMP_H

#include <stddef.h>

#include "base/text.h"
#include "cmd/cmd.h"
#include "keyspace/kv.h"

/* v's DUMP payload appended to out: 0, or -1 (out unchanged) for a type
 * RDB is not written for yet (a stream). */
int rdb_dump_payload(struct text *out, const struct kv_val *v);

extern const struct command cmd_table_dump[];

#endif
