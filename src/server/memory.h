/*
 * src/server/memory.h - what maxmemory counts, and the server's side of eviction.
 *
 * used_memory (memory_used) is the bytes the program holds (src/base/alloc.h's
 * exact counter) less the Raft log's memory (node_mem_log: the entries the
 * consensus core keeps, bounded by raft-log-max-memory once applied, and
 * SQLite's page cache and statements). Those are the replication log's
 * working memory, reported on their own (INFO mem_raft_log and mem_raft_storage,
 * RAFT.INFO log_memory_bytes), as Redis leaves its Lua VM out of
 * used_memory: a cache limited to maxmemory holds maxmemory of data,
 * clients and scripts, whatever the log is doing, and the process's RSS is
 * that plus the log's bounded share.
 *
 * Eviction compares with maxmemory what used_memory counts less, as Redis's
 * mem_not_counted_for_evict leaves out its replicas' buffers, the bytes
 * queued to the peers (a slow follower's backlog, which grows with the very
 * entries eviction writes) and a snapshot's buffers waiting for its writer
 * thread (src/sm/snaplive.h: up to a copy of the keys changed before it saved
 * them, the part a forked child's copy-on-write pages would have held),
 * and less the bytes the keys already proposed for eviction will free
 * (src/sm/evict.h).
 */
#ifndef MEMORY_H
#define MEMORY_H

#include <stddef.h>
#include <stdint.h>

struct server;

/* INFO used_memory: exact, cheap enough for every write. */
size_t memory_used(const struct server *srv);
/* The Raft log's memory used_memory leaves out: its entries (INFO
 * mem_raft_log) and SQLite's (mem_raft_storage). */
size_t memory_raft_log(const struct server *srv);
/* used_memory's largest value seen: sampled by memory_cron (hz times a
 * second, so a shorter peak may be missed, as Redis samples in its cron)
 * and by memory_sample_peak's callers (INFO, MEMORY STATS). */
size_t memory_sample_peak(struct server *srv);

/* Whether the keyspace's tables may grow by `bytes` now (src/ds/dict.h's
 * may_grow, ud = the server): not when that would take used_memory past
 * maxmemory, as Redis's dictExpandAllowed. */
int memory_may_grow(void *srv, size_t bytes);

/* Before a command that may grow memory (CMD_DENYOOM, a MULTI with one, a
 * script): with maxmemory set and more in use than it, the leader evicts
 * under an eviction policy (staging the deletions ahead of the command).
 * Returns 1 if the command must be refused with -OOM: over maxmemory under
 * noeviction, or nothing was left to evict. A follower evicts nothing:
 * under an eviction policy the leader decides (writes are redirected or
 * forwarded there anyway). */
int memory_refuses(struct server *srv);
/* Before a read on the leader, as Redis evicts before every command: over
 * maxmemory under an eviction policy, stages an eviction round. Returns 1
 * if it proposed any deletion (the read then goes through the log behind
 * them, src/server/dispatch.c), else 0. */
int memory_evicts_first(struct server *srv);

/* The cron's share: the same without a command (maxmemory lowered, a round
 * that ran out of time), and, on every node, whether memory is over
 * maxmemory (server.mem_over_maxmemory, INFO and RAFT.INFO; logged when it
 * turns): a follower over it keeps every key it applies and says so. */
void memory_cron(struct server *srv);

#endif
