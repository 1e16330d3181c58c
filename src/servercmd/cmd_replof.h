/*
 * src/servercmd/cmd_replof.h - REPLICAOF host port | NO ONE (and SLAVEOF,
 * its older name), as Redis 7.0 parses and answers them, and the log's
 * RAFTCACHE.REPLSYNC and RAFTCACHE.REPLAPPLY (src/server/replof.h says
 * what each does to the replicated state).
 *
 * REPLICAOF is Redis's admin command, routed as a write: it goes through
 * the log, so every node holds the same state, and answers once applied.
 * RAFTCACHE.REPLAPPLY runs the master's write commands in order, in the
 * database the stream selected, with the entry's clock; a command the
 * registry does not know or that is not a write (PUBLISH: this cluster's
 * subscribers do not hear the master's messages) is skipped, the same on
 * every node.
 */
#ifndef CMD_REPLOF_H
#define CMD_REPLOF_H

#include "cmd/cmd.h"

extern const struct command cmd_table_replof[];

#endif
