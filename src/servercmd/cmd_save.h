/*
 * src/servercmd/cmd_save.h - SAVE, BGSAVE [SCHEDULE], LASTSAVE (this node's
 * dump.rdb: src/server/persist.h), and SYNC, PSYNC and REPLCONF as far as
 * `redis-cli --rdb FILE` and `redis-cli --cluster backup` need them.
 *
 * SYNC and PSYNC answer a full resync and close the connection: SYNC with
 * "$<len>\r\n" and a dump.rdb of the node's applied keyspace as of now (the
 * disk-based form every redis-cli reads), PSYNC with "+FULLRESYNC <run id>
 * 0\r\n" first. The file is made at once on the loop, in memory, as SAVE
 * makes it. There is no replication stream after it: raftcache's replicas
 * are its Raft group's members. A redis-server pointed at raftcache with
 * REPLICAOF announces itself with REPLCONF listening-port, and its SYNC and
 * PSYNC are then refused with an error saying so (its log shows it; it
 * never loads a file and then waits for a stream that never comes).
 *
 * REPLCONF answers +OK to listening-port, ip-address, capa, rdb-only and
 * rdb-filter-only with an empty filter (the whole file); ACK and GETACK
 * get no reply (Redis's); rdb-filter-only functions (redis-cli
 * --functions-rdb) is refused.
 */
#ifndef CMD_SAVE_H
#define CMD_SAVE_H

#include "cmd/cmd.h"

extern const struct command cmd_table_save[];

#endif
