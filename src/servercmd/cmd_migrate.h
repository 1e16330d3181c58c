/*
 * src/servercmd/cmd_migrate.h - MIGRATE host port key|"" db timeout [COPY]
 * [REPLACE] [AUTH password | AUTH2 username password] [KEYS key ...], as
 * Redis 7.0 parses and answers it, and RAFTCACHE.MIGRATED, the deletion
 * it leaves in the log.
 *
 * MIGRATE is Redis's write, routed as a read: the leader reads and
 * serializes the keys (DUMP's payload, src/rdb/cmd_dump.h) after a
 * ReadIndex round, so what it sends is committed; src/server/migrate.h
 * takes them to the target and back, and the log holds only the deletion
 * of what the target acknowledged. It is refused inside MULTI and scripts
 * (they run in the log, on every node: none may dial a target).
 */
#ifndef CMD_MIGRATE_H
#define CMD_MIGRATE_H

#include "cmd/cmd.h"

extern const struct command cmd_table_migrate[];

#endif
