/*
 * src/servercmd/cmd_debug.h - DEBUG, with the subcommands raftcache
 * offers: DIGEST and DIGEST-VALUE (Redis 7.0's digests of the dataset and
 * of values, src/keyspace/digest.h), OBJECT (Redis's line about a value,
 * its RDB length from src/rdb/rdb_value.h), SLEEP (the node stops
 * answering anyone, peers included, for that long: a test's hung server;
 * longer than the election timeout, the cluster elects another leader)
 * and HELP.
 *
 * DEBUG reads this node's own keyspace: its row is neither a read nor a
 * write, so the dispatcher runs it on any node, leader or follower, with
 * no ReadIndex round and no -MOVED, and two replicas that applied the same
 * log prefix reply the same digest. Like Redis, it sees what is stored:
 * a key kept past its expiry (not yet deleted by an expire entry) counts.
 * The dispatcher refuses it unless enable-debug-command allows the client
 * (CMD_PROTECTED).
 */
#ifndef CMD_DEBUG_H
#define CMD_DEBUG_H

#include "cmd/cmd.h"

extern const struct command cmd_table_debug[];

#endif
