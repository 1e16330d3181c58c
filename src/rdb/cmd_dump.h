/*
 * src/rdb/cmd_dump.h - DUMP and RESTORE, with Redis 7.0's DUMP payload: a
 * value's RDB object encoding (src/rdb/rdb_value.h: every type, streams
 * included), then RDB version 10 and the CRC-64 of both, little-endian.
 *
 * DUMP is a read: it runs where reads run and touches no LRU clock. It
 * compresses as Redis does with rdbcompression yes, its default (the
 * directive is accepted, not applied: docs/redis-conf.md).
 *
 * RESTORE is a write through the log like any other: the leader rewrites
 * a relative TTL as an absolute one with ABSTTL, and every node decodes
 * the payload when it applies the entry (src/rdb/rdb_load.h: checked whole
 * under the node's limits, as sanitize-dump-payload yes), so a payload one
 * node refuses every node refuses, with Redis's errors: "DUMP payload
 * version or checksum are wrong" for the footer, "Bad data format" for
 * the body (trailing bytes included). IDLETIME and FREQ set each node's
 * own access record (src/keyspace/kv.h), which the log never carries.
 */
#ifndef CMD_DUMP_H
#define CMD_DUMP_H

#include <stddef.h>

#include "base/text.h"
#include "cmd/cmd.h"
#include "keyspace/kv.h"

/* v's DUMP payload appended to out (every type has one). */
void rdb_dump_payload(struct text *out, const struct kv_val *v);

/* The DUMP payload footer: the RDB version (2 bytes) and the CRC-64. */
#define RDB_FOOTER_LEN 10
/* 0 if payload ends in a footer whose version this node reads (at most
 * RDB_VERSION) and whose CRC-64 matches, as Redis's verifyDumpPayload;
 * else -1. */
int rdb_payload_check(const void *payload, size_t len);

/* RAFTCACHE.IMPORT, RAFT.IMPORT's entries (src/server/import.h):
 * RAFTCACHE.IMPORT <replace: 0|1> then, per key, its name, its absolute
 * expiry in ms (-1: none) and its value as a DUMP payload holds it without
 * the footer (the type byte and the body). Each is stored as RESTORE ...
 * ABSTTL [REPLACE] stores it, on every node; without REPLACE a key that
 * exists when the entry is applied is left as it is. */
#define RDB_IMPORT_ARGS_PER_KEY 3

extern const struct command cmd_table_dump[];

#endif
