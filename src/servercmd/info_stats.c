/*
 * src/servercmd/info_stats.c - INFO persistence and stats (see info_stats.h).
 */
#include "servercmd/info_stats.h"

#include "node/node.h"
#include "server/import.h"
#include "server/server.h"
#include "server/tracking.h"
#include "transport/transport.h"

/* Redis's rdb_* fields, of the Raft snapshots and the dump.rdb files
 * (src/server/persist.h: both are saves). rdb_changes_since_last_save counts
 * the keys changed since the last snapshot was taken or installed or the
 * last dump.rdb began, as
 * Redis's dirty counter does for most commands (one per key a write
 * changes, none for a write that changes nothing; every key a flush
 * empties). loading is 0: a node loads its snapshot and log, and a
 * snapshot from the leader, before it answers anything. */
static void rdb_fields(struct info_text *t, const struct node_snapshot_info *si)
{
    info_addf(t,
              "rdb_changes_since_last_save:%llu\r\nrdb_bgsave_in_progress:%d\r\n"
              "rdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\n"
              "rdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\n"
              "rdb_saves:%llu\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\n"
              "rdb_last_load_keys_loaded:0\r\n",
              (unsigned long long)si->changes_since, si->in_progress ? 1 : 0,
              (long long)(si->last_done_ms / 1000), si->last_failed ? "err" : "ok",
              si->created ? (long long)(si->last_duration_ms / 1000) : -1LL,
              si->in_progress ? (long long)(si->current_ms / 1000) : -1LL,
              (unsigned long long)si->created);
}

/* current_cow_* and current_fork_perc: no fork, no copy-on-write (Redis's
 * zeros without a child). current_save_keys_*: the live snapshot's walk does
 * not count keys the way Redis's child does; Redis's zeros outside a save. */
void info_section_persistence(struct info_text *t, struct server *srv)
{
    struct node_snapshot_info si;
    node_snapshot_info(srv->node, &si);
    struct persist_env env = server_persist_env(srv);
    persist_merge_info(&env, &si);
    info_addf(t, "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n"
                 "current_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n"
                 "current_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n");
    rdb_fields(t, &si);
    import_info(srv, t); /* RAFT.IMPORT's (src/server/import.h) */
    /* As redis-server with appendonly no reports them: the Raft log is no AOF. */
    info_addf(t, "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
                 "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n"
                 "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n"
                 "aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\n"
                 "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\n"
                 "module_fork_last_cow_size:0\r\n");
}

/* Up to rejected_connections. total_net_repl_*: there is no Redis
 * replication stream (the Raft links' bytes are in total_net_*). */
static void stats_traffic(struct info_text *t, struct server *srv)
{
    const struct server_stats *s = &srv->stats;
    info_addf(t,
              "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
              "instantaneous_ops_per_sec:%lld\r\ntotal_net_input_bytes:%llu\r\n"
              "total_net_output_bytes:%llu\r\ntotal_net_repl_input_bytes:0\r\n"
              "total_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:%.2f\r\n"
              "instantaneous_output_kbps:%.2f\r\ninstantaneous_input_repl_kbps:0.00\r\n"
              "instantaneous_output_repl_kbps:0.00\r\nrejected_connections:%llu\r\n",
              (unsigned long long)s->connections_received,
              (unsigned long long)server_commands_processed(srv),
              (long long)instmetric_rate(&s->inst_ops), (unsigned long long)s->net_input_bytes,
              (unsigned long long)s->net_output_bytes, instmetric_rate(&s->inst_input) / 1024,
              instmetric_rate(&s->inst_output) / 1024, (unsigned long long)s->rejected_connections);
}

/* sync_*: no Redis replication. The expire cycle's figures are the leader's
 * (src/server/replica.c: followers do not sample). The eviction timers are
 * not measured yet: Redis's zeros. */
static void stats_keys(struct info_text *t, struct server *srv)
{
    const struct kv_common *k = &srv->dbs.common;
    info_addf(t,
              "sync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:%llu\r\n"
              "expired_stale_perc:%.2f\r\nexpired_time_cap_reached_count:%llu\r\n"
              "expire_cycle_cpu_milliseconds:%llu\r\nevicted_keys:%llu\r\nevicted_clients:0\r\n"
              "total_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\n"
              "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\npubsub_channels:%zu\r\n"
              "pubsub_patterns:%zu\r\npubsubshard_channels:%zu\r\n",
              (unsigned long long)k->expired_keys, srv->stats.expired_stale_perc * 100,
              (unsigned long long)srv->stats.expire_time_cap_reached,
              (unsigned long long)(srv->stats.expire_cycle_us / 1000),
              (unsigned long long)k->evicted_keys, (unsigned long long)k->keyspace_hits,
              (unsigned long long)k->keyspace_misses, pubsub_count(&srv->pubsub, PUBSUB_CHANNEL),
              pubsub_count(&srv->pubsub, PUBSUB_PATTERN), pubsub_count(&srv->pubsub, PUBSUB_SHARD));
}

/* No fork (snapshots are written by a thread), no active defrag, no I/O
 * threads: Redis's zeros without them. The reply buffer's resizes are not
 * counted. MIGRATE's kept connections are the transport's
 * (src/transport/transport.h). */
void info_section_stats(struct info_text *t, struct server *srv)
{
    const struct server_stats *s = &srv->stats;
    stats_traffic(t, srv);
    stats_keys(t, srv);
    info_addf(t,
              "latest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:%zu\r\n"
              "slave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\n"
              "active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\n"
              "total_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\n"
              "tracking_total_keys:%llu\r\ntracking_total_items:%llu\r\n"
              "tracking_total_prefixes:%llu\r\n"
              "client_output_buffer_limit_disconnections:%llu\r\ntotal_protocol_errors:%llu\r\n"
              "unexpected_error_replies:0\r\ntotal_error_replies:%llu\r\n"
              "dump_payload_sanitizations:0\r\ntotal_reads_processed:%llu\r\n"
              "total_writes_processed:%llu\r\nio_threaded_reads_processed:0\r\n"
              "io_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\n"
              "reply_buffer_expands:0\r\n",
              transport_pipe_idle(node_links(srv->node)),
              (unsigned long long)tracking_keys(srv->tracking),
              (unsigned long long)tracking_items(srv->tracking),
              (unsigned long long)tracking_prefixes(srv->tracking),
              (unsigned long long)s->output_limit_disconnections,
              (unsigned long long)s->protocol_errors,
              (unsigned long long)srv->monitor.total_error_replies,
              (unsigned long long)s->reads_processed, (unsigned long long)s->writes_processed);
}
