/*
 * src/server.h - the server: one node's process-wide state, the context
 * every layer is handed.
 *
 * Holds: the configuration, the keyspace, the state machine, the waiters,
 * the client list, the watch index, statistics, and (opaque here; see
 * src/server_io.h) the event loop's watchers. Built, run and torn down by
 * src/loop.c; depends only on what it embeds, so any layer may include it.
 * There is exactly one struct server per process; it is passed explicitly,
 * never reached through a global (the signal and libev callbacks get it from
 * their watcher's data pointer).
 *
 * Single-threaded: everything here runs on the libev loop thread.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdint.h>
#include "alloc.h"
#include "config.h"
#include "dict.h"
#include "kv.h"
#include "client.h"
#include "evict.h"
#include "sm.h"
#include "cmd.h"
#include "waiters.h"
#include "blocked.h"
#include "pubsub.h"
#include "notify.h"
#include "sentinel.h"
#include "monitors.h"
#include "pause.h"

struct server_stats {
    uint64_t connections_received;
    uint64_t commands_processed;
    uint64_t rejected_connections;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t output_limit_disconnections;
    uint64_t protocol_errors;
    uint64_t expire_cycles;
};

struct script_engine;
struct function_registry;
struct server_io; /* src/server_io.h: private to src/loop.c and src/conn.c (libev) */

struct server {
    struct config cfg;
    struct kv kv;
    struct sm sm;                     /* the apply path */
    struct evict evict;               /* the leader's choice of keys over maxmemory */
    uint64_t mem_not_counted;         /* bytes maxmemory does not count (src/evict.h), as of
                                       * the last check */
    int mem_over_maxmemory;           /* over maxmemory as of the cron (a follower says so) */
    size_t mem_peak;                  /* used_memory's largest sample (src/memory.h) */
    struct node *node;                /* the Raft driver (src/node.h) */
    struct waiters waiters;           /* clients waiting for the log, and those answered */
    struct blocked blocked;           /* clients blocked on keys (BLPOP...) */
    struct pubsub pubsub;             /* subscriptions of this node's clients */
    struct notify notify;             /* keyspace notifications, published to pubsub */
    struct sentinel_watch sentinel;   /* leader changes, as Sentinel tells them */
    struct monitors monitors;         /* MONITOR clients (src/monitors.h) */
    struct pause pause;               /* CLIENT PAUSE (src/pause.h) */
    struct script_engine *scripts;    /* EVAL's Lua and the script cache (src/script.h) */
    struct script_engine *fn_scripts; /* the function libraries' Lua, another state */
    struct server_io *io;             /* event loop, listeners, timers */
    /* the libraries (src/function.h), on scripts' engine */
    struct function_registry *functions;
    /* clients */
    struct client *clients;    /* doubly linked list of every connection */
    uint64_t client_count;     /* clients: connections that are not peer links */
    uint64_t peer_link_count;  /* inbound peer links (RAFT.AUTH accepted) */
    uint64_t over_limit_count; /* accepted beyond maxclients, awaiting RAFT.AUTH */
    uint64_t next_client_id;
    struct client *pending; /* clients with output to flush */
    struct dict watched;    /* key -> struct watch_list* (src/multi.c) */
    /* bookkeeping */
    struct server_stats stats;
    struct monitor monitor; /* command counters, errors, slow log, latency (monitor.h) */
    int64_t start_ms;
    uint64_t rng; /* PRNG state for local (non-replicated) choices */
    /* When the last cross-protocol attack (src/dispatch.c) was logged: once
     * a minute at most, so a flood of them cannot flood the log. */
    int64_t cross_protocol_logged_ms;
    char run_id[41];
    int shutdown_requested;
    const char *config_file; /* absolute path, or NULL */
    const char *executable;
};

/* Asks the loop (src/loop.h) to stop after the current iteration (SHUTDOWN,
 * signals). */
void server_request_shutdown(struct server *srv);

/* 1 while a script or a function is busy (src/script.h), whether it runs
 * from the log or not; *client (when not NULL) gets the client it runs for
 * (NULL for a run from the log on a node where no client waits for it). */
int server_script_busy(const struct server *srv, const struct client **client);
/* The -BUSY error other clients get meanwhile (Redis 7.0's: a function's
 * names FUNCTION KILL). Only while server_script_busy(). */
const char *server_script_busy_error(const struct server *srv);
/* Stops whichever is busy (SCRIPT KILL's effect): 0, -1 if none is busy,
 * -2 if the busy run is from the log and cannot be stopped. */
int server_script_kill(struct server *srv);

/* Local wall clock in ms (reads only; never used by applies). */
int64_t server_now_ms(void);
/* Memory figures, at most 100 ms old (read on demand, then cached). */
struct server_memory {
    struct alloc_stats alloc; /* the allocator's counters (src/alloc.h) */
    size_t rss_bytes;         /* the process's resident set (/proc/self/statm) */
    /* used_memory's largest value (src/memory.h's memory_peak): filled by
     * src/memstats.c. */
    size_t peak_bytes;
    /* used_memory when the server had set itself up, before it opened its
     * storage and loaded any data (used_memory_startup); 0 until then. */
    size_t startup_bytes;
};
void server_memory(struct server_memory *m);
/* The same, read now (INFO memory, MEMORY STATS: their parts are counted
 * now too, and must add up to this used_memory). */
void server_memory_now(struct server_memory *m);
/* Records the reading of now as startup_bytes (src/loop.c, once). */
void server_memory_mark_startup(void);

#endif
