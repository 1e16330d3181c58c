/*
 * src/server/memstats.h - where the memory goes: Redis 7.0's breakdown of
 * used_memory into overhead (what the server needs to run and to hold keys)
 * and dataset (the keys' and values' own bytes), with the peak, the startup
 * figure and the allocator's pages. One reading serves INFO memory, MEMORY
 * STATS and MEMORY DOCTOR, so their figures agree.
 *
 * Every figure is measured, none is guessed; what raftcache has no part for
 * is 0 where Redis also says 0 for it (no replication backlog, no replicas'
 * buffers, no AOF buffer, no slot-to-keys index). The Raft peer links'
 * memory is mem_cluster_links, outside the overhead as the Raft log is. The Raft log's
 * memory, which used_memory leaves out (src/server/memory.h), is reported after
 * Redis's fields: its entries held in memory (raft-log-max-memory),
 * `raft_log`, and SQLite's memory (its page cache of the log's file),
 * `raft_storage`.
 *
 * The per-key overheads are computed from counts, as Redis computes them:
 * the main dict's entry headers, bucket arrays and value headers, and the
 * expires dict's entry headers and buckets; the key bytes count as dataset.
 */
#ifndef MEMSTATS_H
#define MEMSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "base/info.h"
#include "server/server.h"

struct memstats {
    size_t used;              /* used_memory (src/server/memory.h) */
    struct server_memory mem; /* allocator pages, RSS, peak, startup */
    size_t clients_normal;    /* client connections' buffers and structs */
    uint64_t clients;         /* those clients (not Raft peer links) */
    size_t lua_caches;        /* EVAL's script cache */
    size_t functions_caches;  /* the function libraries' code */
    size_t raft_log;          /* the Raft log's entries held in memory */
    size_t raft_storage;      /* SQLite's memory (page cache, statements) */
    size_t cluster_links;     /* peer links: inbound connections, and bytes queued to peers */
    uint64_t keys, volatile_keys;
    size_t ht_main, ht_expires; /* db.0's dict overheads */
    size_t overhead_total;      /* every part above, startup included */
    size_t dataset;             /* used - overhead_total (0 if below) */
    size_t net;                 /* used - startup, at least 1 */
};

/* Reads every figure now (the allocator's statistics merged, /proc read,
 * the clients walked: at most maxclients of them). */
void memstats_read(struct server *srv, struct memstats *m);

/* Helpers of the derived figures, as Redis prints them. */
double memstats_dataset_perc(const struct memstats *m);
double memstats_peak_perc(const struct memstats *m);
size_t memstats_bytes_per_key(const struct memstats *m);

/* MEMORY DOCTOR's report on m, in Redis 7.0's words, appended to t.
 * cached_scripts is the EVAL script cache's count. */
void memstats_doctor(const struct memstats *m, size_t cached_scripts, struct info_text *t);

#endif
