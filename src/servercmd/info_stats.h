/*
 * src/servercmd/info_stats.h - INFO's Persistence and Stats sections
 * (the rest of INFO is src/servercmd/cmd_info.c), with Redis 7.0's fields
 * in its order. docs/monitoring.md tells how each maps onto raftcache:
 *
 * - Persistence: the rdb_* fields describe the Raft snapshots
 *   (src/node/node.h's node_snapshot_info); the aof_* and fork fields are
 *   what redis-server reports with appendonly no and no child process,
 *   since the Raft log is not an AOF and snapshots are written by a thread.
 * - Stats: the counters of struct server_stats (src/server/server.h), the
 *   instantaneous rates sampled by server_stats_cron(); the fields of
 *   features raftcache has not (Redis replication, forks, active defrag,
 *   client tracking, I/O threads) are the zeros redis-server reports
 *   without them.
 */
#ifndef INFO_STATS_H
#define INFO_STATS_H

#include "base/info.h"

struct server;

void info_section_persistence(struct info_text *t, struct server *srv);
void info_section_stats(struct info_text *t, struct server *srv);

#endif
