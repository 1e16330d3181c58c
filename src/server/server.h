/*
 * src/server/server.h - the server: one node's process-wide state, the context
 * every layer is handed.
 *
 * Holds: the configuration, the keyspace, the state machine, the waiters,
 * the client list, the watch index, statistics, and (opaque here; see
 * src/net/server_io.h) the event loop's watchers. Built, run and torn down by
 * src/net/loop.c; depends only on what it embeds (src/LAYERS: the folders
 * above server/ include it).
 * There is exactly one struct server per process; it is passed explicitly,
 * never reached through a global (the signal and libev callbacks get it from
 * their watcher's data pointer).
 *
 * Single-threaded: everything here runs on the libev loop thread.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdint.h>
#include "base/alloc.h"
#include "base/instmetric.h"
#include "config/config.h"
#include "ds/dict.h"
#include "keyspace/dbs.h"
#include "server/acllog.h"
#include "server/replwait.h"
#include "keyspace/kv.h"
#include "cmd/client.h"
#include "sm/evict.h"
#include "sm/sm.h"
#include "cmd/cmd.h"
#include "cmd/rename.h"
#include "node/waiters.h"
#include "server/blocked.h"
#include "server/pubsub.h"
#include "keyspace/notify.h"
#include "server/sentinel.h"
#include "server/monitors.h"
#include "server/pause.h"
#include "server/persist.h"
#include "tls/tls.h"

struct server_stats {
    uint64_t connections_received;
    uint64_t commands_processed;
    uint64_t rejected_connections;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t output_limit_disconnections;
    uint64_t protocol_errors;
    uint64_t expire_cycles;
    uint64_t expire_time_cap_reached; /* cycles stopped by their time budget */
    uint64_t expire_cycle_us;         /* the cycles' time, summed */
    double expired_stale_perc;        /* sampled keys found expired: a moving average, 0..1 */
    uint64_t reads_processed;         /* client socket reads that returned bytes or EOF */
    uint64_t writes_processed;        /* flushes of a client's pending output */
    /* instantaneous_ops_per_sec, _input_kbps, _output_kbps: sampled by
     * server_stats_cron() */
    struct instmetric inst_ops, inst_input, inst_output;
};

struct script_engine;
struct function_registry;
struct import;
struct replof;
struct acl;
struct tracking;
struct server_io; /* src/net/server_io.h: private to src/net/loop.c and src/net/conn.c (libev) */

struct server {
    struct config cfg;
    struct kv_dbs dbs;                /* the numbered databases (SELECT) */
    int expire_next_db;               /* where the next active expiry cycle begins */
    struct sm sm;                     /* the apply path */
    struct evict evict;               /* the leader's choice of keys over maxmemory */
    uint64_t mem_not_counted;         /* bytes maxmemory does not count (src/sm/evict.h), as of
                                       * the last check */
    int mem_over_maxmemory;           /* over maxmemory as of the cron (a follower says so) */
    size_t mem_peak;                  /* used_memory's largest sample (src/server/memory.h) */
    struct node *node;                /* the Raft driver (src/node/node.h) */
    struct waiters waiters;           /* clients waiting for the log, and those answered */
    struct blocked blocked;           /* clients blocked on keys (BLPOP...) */
    struct replwait replwait;         /* clients waiting in WAIT */
    struct pubsub pubsub;             /* subscriptions of this node's clients */
    struct notify notify;             /* keyspace notifications, published to pubsub */
    struct sentinel_watch sentinel;   /* leader changes, as Sentinel tells them */
    struct monitors monitors;         /* MONITOR clients (src/server/monitors.h) */
    struct pause pause;               /* CLIENT PAUSE (src/server/pause.h) */
    struct persist persist;           /* SAVE, BGSAVE (src/server/persist.h) */
    struct tracking *tracking;        /* client-side caching (src/server/tracking.h) */
    struct script_engine *scripts;    /* EVAL's Lua and the script cache (src/script/script.h) */
    struct script_engine *fn_scripts; /* the function libraries' Lua, another state */
    struct server_io *io;             /* event loop, listeners, timers */
    /* TLS (src/tls/tls.h): the contexts new connections are made with, NULL
     * without tls-port; built and replaced by src/net/conn_tls.c */
    struct tls_ctx *tls;
    struct tls_info tls_info;    /* tls's certificates, for INFO */
    uint64_t tls_reloads;        /* contexts replaced since start */
    int64_t tls_reload_check_ms; /* tls-auto-reload-interval: the last look at the files */
    /* ACL (src/server/aclstate.h): the users in force, whether they are the
     * cluster's (set through the log) or still the configuration's, the
     * configuration's as an aclfile's text, and the node's ACL LOG */
    struct acl *acl;
    int acl_from_log;
    char *acl_configured;
    struct acllog acllog;
    struct cmd_renames renames; /* rename-command: the names clients call commands by */
    /* the libraries (src/script/function.h), on scripts' engine */
    struct function_registry *functions;
    struct import *import; /* RAFT.IMPORT's, the last or the one under way (src/server/import.h) */
    struct replof *replof; /* REPLICAOF's state and link (src/server/replof.h) */
    /* clients */
    struct client *clients;    /* doubly linked list of every connection */
    struct dict client_ids;    /* id (8 bytes) -> struct client *, every connection */
    uint64_t client_count;     /* clients: connections that are not peer links */
    uint64_t peer_link_count;  /* inbound peer links (RAFT.AUTH accepted) */
    uint64_t over_limit_count; /* accepted beyond maxclients, awaiting RAFT.AUTH */
    uint64_t next_client_id;
    uint64_t maint_seq;     /* the last maintenance notification's number (src/server/maint.h) */
    struct client *pending; /* clients with output to flush */
    struct dict watched;    /* key -> struct watch_list* (src/server/multi.c) */
    /* bookkeeping */
    struct server_stats stats;
    struct monitor monitor; /* command counters, errors, slow log, latency (monitor.h) */
    int64_t start_ms;
    uint64_t rng; /* PRNG state for local (non-replicated) choices */
    /* When the last cross-protocol attack (src/server/dispatch.c) was logged: once
     * a minute at most, so a flood of them cannot flood the log. */
    int64_t cross_protocol_logged_ms;
    char run_id[41];
    int shutdown_requested;    /* enum server_shutdown */
    int64_t handover_until_ms; /* SERVER_SHUTDOWN_HANDOVER: stop anyway at this time */
    const char *config_file;   /* absolute path, or NULL */
    const char *executable;
};

/* A shutdown in progress: none, handing the leadership over first, or
 * now (the loop, src/net/loop.h, stops after its current iteration). */
enum server_shutdown { SERVER_SHUTDOWN_NONE, SERVER_SHUTDOWN_HANDOVER, SERVER_SHUTDOWN_NOW };
/* How long a shutdown waits, in election timeouts, for the leadership to
 * move and then for the clients it moves to leave (src/server/shutdown.h). */
#define SERVER_HANDOVER_TIMEOUTS 2

/* What SAVE and BGSAVE work on (src/server/persist.h). */
struct persist_env server_persist_env(struct server *srv);

/* The client list (srv->clients) and its id index: the connection layer
 * adds a connection once it is set up and removes it before freeing it. */
void server_client_add(struct server *srv, struct client *c);
void server_client_remove(struct server *srv, struct client *c);
/* The connection numbered id (CLIENT ID), or NULL. */
struct client *server_client_by_id(struct server *srv, uint64_t id);

/* The database c has selected (SELECT). */
static inline struct kv *server_db(const struct server *srv, const struct client *c)
{
    return kv_db(&srv->dbs, c->db);
}

/* The count a connection is in: clients, inbound peer links, or connections
 * accepted beyond maxclients that may still present RAFT.AUTH. */
static inline uint64_t *server_count_of(struct server *srv, const struct client *c)
{
    if (c->flags & CLIENT_PEER) return &srv->peer_link_count;
    if (c->flags & CLIENT_OVER_LIMIT) return &srv->over_limit_count;
    return &srv->client_count;
}
/* Makes c a peer link from node peer_id (RAFT.AUTH accepted): authenticated
 * (requirepass and the unauthenticated protocol limits no longer apply, from
 * the next command on), no longer a client nor over maxclients (the
 * connection layer takes it out of its room of connections waiting to
 * present RAFT.AUTH once the command is done: src/net/conn.c). Returns 0, or
 * -1 when CONN_PEER_LINKS_MAX peer links are open already (connections still
 * waiting to present RAFT.AUTH do not count). */
int server_client_become_peer(struct server *srv, struct client *c, uint64_t peer_id);

/* 1 while a script or a function is busy (src/script/script.h), whether it runs
 * from the log or not; *client (when not NULL) gets the client it runs for
 * (NULL for a run from the log on a node where no client waits for it). */
int server_script_busy(const struct server *srv, const struct client **client);
/* The -BUSY error other clients get meanwhile (Redis 7.0's: a function's
 * names FUNCTION KILL). Only while server_script_busy(). */
const char *server_script_busy_error(const struct server *srv);
/* Stops whichever is busy (SCRIPT KILL's effect): 0, -1 if none is busy,
 * -2 if the busy run is from the log and cannot be stopped. */
int server_script_kill(struct server *srv);

/* The cron's sampling of the instantaneous rates (every INSTMETRIC_PERIOD_MS,
 * however often it is called): commands processed, bytes in, bytes out. */
void server_stats_cron(struct server *srv);
/* The commands processed: those run here plus those applied from the log
 * (INFO total_commands_processed). */
uint64_t server_commands_processed(const struct server *srv);

/* Local wall clock in ms (reads only; never used by applies). */
int64_t server_now_ms(void);
/* Memory figures, at most 100 ms old (read on demand, then cached). */
struct server_memory {
    struct alloc_stats alloc; /* the allocator's counters (src/base/alloc.h) */
    size_t rss_bytes;         /* the process's resident set (/proc/self/statm) */
    /* used_memory's largest value (src/server/memory.h's memory_peak): filled by
     * src/server/memstats.c. */
    size_t peak_bytes;
    /* used_memory when the server had set itself up, before it opened its
     * storage and loaded any data (used_memory_startup); 0 until then. */
    size_t startup_bytes;
};
void server_memory(struct server_memory *m);
/* The same, read now (INFO memory, MEMORY STATS: their parts are counted
 * now too, and must add up to this used_memory). */
void server_memory_now(struct server_memory *m);
/* Records the reading of now as startup_bytes (src/net/loop.c, once). */
void server_memory_mark_startup(void);

#endif
