/*
 * src/servercmd/cmdtable.c - the declarative command table (see cmd.h).
 *
 * Arity, flags and key positions are Redis 7.0's, so clients that read
 * COMMAND (redis-py cluster mode, redis-cli hints) see what they expect.
 * A command absent from this table does not exist in raftcache.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "base/clock.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "rdb/cmd_dump.h"
#include "servercmd/cmdtable.h"
#include "types/typetable.h"
#include "servercmd/cmd_pubsub.h"
#include "servercmd/cmd_function.h"
#include "servercmd/cmd_acl.h"
#include "servercmd/cmd_debug.h"
#include "servercmd/cmd_migrate.h"
#include "servercmd/cmd_replof.h"
#include "servercmd/cmd_save.h"
#include "servercmd/cmd_monitor.h"
#include "servercmd/cmd_script.h"
#include "server/proxy.h"
#include "base/util.h"
#include "raft/raft_assert.h"
#include "cmd/rows.h"

/* CLIENT KILL's new-style filters (Redis 7.0): the old form is a lone ip:port;
 * the new one is one or more of these, written "x [x ...]" as Redis does. */
#define CLIENT_KILL_FILTERS                                                                        \
    "<[ID client-id]|[TYPE <NORMAL|MASTER|SLAVE|REPLICA|PUBSUB>]|[USER username]|"                 \
    "[ADDR ip:port]|[LADDR ip:port]|[SKIPME yes/no]>:new-format"

/* name arity flags first last step proc group since summary syntax acl subcommands */
static const struct command client_subcommands[] = {
    {"client|id", 2, NS | LD | ST, 0, 0, 0, cmd_client_id, "connection", "5.0.0",
     "Returns the unique client ID of the connection.", NULL, "slow connection", NULL},
    {"client|setname", 3, NS | LD | ST, 0, 0, 0, cmd_client_setname, "connection", "2.6.9",
     "Sets the connection name.", "connection-name", "slow connection", NULL},
    {"client|getname", 2, NS | LD | ST, 0, 0, 0, cmd_client_getname, "connection", "2.6.9",
     "Returns the name of the connection.", NULL, "slow connection", NULL},
    {"client|setinfo", 4, NS | LD | ST, 0, 0, 0, cmd_client_setinfo, "connection", "7.2.0",
     "Sets information specific to the client or connection.",
     "<LIB-NAME libname|LIB-VER libver>:attr", "slow connection", NULL},
    {"client|list", -2, ADM | NS | LD | ST, 0, 0, 0, cmd_client_list, "connection", "2.4.0",
     "Lists open connections.",
     "[TYPE <NORMAL|MASTER|REPLICA|PUBSUB>] [ID client-id [client-id ...]]",
     "admin slow dangerous connection", NULL},
    {"client|info", 2, NS | LD | ST, 0, 0, 0, cmd_client_info, "connection", "6.2.0",
     "Returns information about the connection.", NULL, "slow connection", NULL},
    {"client|kill", -3, ADM | NS | LD | ST, 0, 0, 0, cmd_client_kill, "connection", "2.4.0",
     "Terminates open connections.",
     "<ip:port|" CLIENT_KILL_FILTERS " [" CLIENT_KILL_FILTERS " ...]>:filter",
     "admin slow dangerous connection", NULL},
    {"client|unblock", -3, ADM | NS | LD | ST, 0, 0, 0, cmd_client_unblock, "connection", "5.0.0",
     "Unblocks a client blocked by a blocking command from a different connection.",
     "client-id:integer [TIMEOUT|ERROR]:unblock-type", "admin slow dangerous connection", NULL},
    {"client|reply", 3, NS | LD | ST, 0, 0, 0, cmd_client_reply, "connection", "3.2.0",
     "Instructs the server whether to reply to commands.", "<ON|OFF|SKIP>:action",
     "slow connection", NULL},
    {"client|pause", -3, ADM | NS | LD | ST, 0, 0, 0, cmd_client_pause, "connection", "3.0.0",
     "Suspends commands processing.", "timeout:integer [WRITE|ALL]:mode",
     "admin slow dangerous connection", NULL},
    {"client|unpause", 2, ADM | NS | LD | ST, 0, 0, 0, cmd_client_unpause, "connection", "6.2.0",
     "Resumes processing commands from paused clients.", NULL, "admin slow dangerous connection",
     NULL},
    {"client|no-evict", 3, ADM | NS | LD | ST, 0, 0, 0, cmd_client_no_evict, "connection", "7.0.0",
     "Sets the client eviction mode of the connection.", "<ON|OFF>:enabled",
     "admin slow dangerous connection", NULL},
    {"client|maint_notifications", -3, NS | LD | ST, 0, 0, 0, cmd_client_maint_notifications,
     "connection", "0.1.0",
     "Enables or disables maintenance notifications (smart client handoff) for the connection.",
     "<ON|OFF>:status [MOVING-ENDPOINT-TYPE <INTERNAL-IP|INTERNAL-FQDN|EXTERNAL-IP|EXTERNAL-FQDN|"
     "NONE>:type]",
     "slow connection", NULL},
    {"client|tracking", -3, NS | LD | ST, 0, 0, 0, cmd_client_tracking, "connection", "6.0.0",
     "Controls server-assisted client-side caching for the connection.",
     "<ON|OFF>:status [REDIRECT client-id:integer] [PREFIX prefix [PREFIX prefix ...]] [BCAST] "
     "[OPTIN] [OPTOUT] [NOLOOP]",
     "slow connection", NULL},
    {"client|caching", 3, NS | LD | ST, 0, 0, 0, cmd_client_caching, "connection", "6.0.0",
     "Instructs the server whether to track the keys in the next request.", "<YES|NO>:mode",
     "slow connection", NULL},
    {"client|getredir", 2, NS | LD | ST, 0, 0, 0, cmd_client_getredir, "connection", "6.0.0",
     "Returns the client ID to which the connection's tracking notifications are redirected.", NULL,
     "slow connection", NULL},
    {"client|trackinginfo", 2, NS | LD | ST, 0, 0, 0, cmd_client_trackinginfo, "connection",
     "6.2.0", "Returns information about server-assisted client-side caching for the connection.",
     NULL, "slow connection", NULL},
    {"client|help", 2, LD | ST, 0, 0, 0, cmd_client_help, "connection", "5.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow connection", NULL},
    CMD_ROWS_END,
};

static const struct command command_subcommands[] = {
    {"command|count", 2, LD | ST, 0, 0, 0, cmd_command_count, "server", "2.8.13",
     "Returns a count of commands.", NULL, "slow connection", NULL},
    {"command|info", -2, LD | ST, 0, 0, 0, cmd_command_info, "server", "2.8.13",
     "Returns information about one, multiple or all commands.",
     "[command-name [command-name ...]]", "slow connection", NULL},
    {"command|docs", -2, LD | ST, 0, 0, 0, cmd_command_docs, "server", "7.0.0",
     "Returns documentary information about one, multiple or all commands.",
     "[command-name [command-name ...]]", "slow connection", NULL},
    {"command|list", -2, LD | ST, 0, 0, 0, cmd_command_list, "server", "7.0.0",
     "Returns a list of command names.",
     "[FILTERBY <MODULE module-name|ACLCAT category|PATTERN pattern>:filterby]", "slow connection",
     NULL},
    {"command|getkeys", -4, LD | ST, 0, 0, 0, cmd_command_getkeys, "server", "2.8.13",
     "Extracts the key names from an arbitrary command.", "command [arg [arg ...]]",
     "slow connection", NULL},
    {"command|getkeysandflags", -4, LD | ST, 0, 0, 0, cmd_command_getkeysandflags, "server",
     "7.0.0", "Extracts the key names and access flags for an arbitrary command.",
     "command [arg [arg ...]]", "slow connection", NULL},
    {"command|help", 2, LD | ST, 0, 0, 0, cmd_command_help, "server", "5.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow connection", NULL},
    CMD_ROWS_END,
};

/* Sentinel's commands for clients (src/servercmd/cmd_sentinel.h); the leader is the
 * master of sentinel-master-name. */
static const struct command sentinel_subcommands[] = {
    {"sentinel|masters", 2, ADM | NS | LD | ST, 0, 0, 0, cmd_sentinel_masters, "sentinel", "2.8.4",
     "Returns a list of monitored masters.", NULL, "admin slow dangerous", NULL},
    {"sentinel|master", 3, ADM | NS | LD | ST, 0, 0, 0, cmd_sentinel_master, "sentinel", "2.8.4",
     "Returns the state of a master.", "master-name", "admin slow dangerous", NULL},
    {"sentinel|replicas", 3, ADM | NS | LD | ST, 0, 0, 0, cmd_sentinel_replicas, "sentinel",
     "5.0.0", "Returns a list of the monitored replicas.", "master-name", "admin slow dangerous",
     NULL},
    {"sentinel|slaves", 3, ADM | NS | LD | ST, 0, 0, 0, cmd_sentinel_replicas, "sentinel", "2.8.0",
     "Returns a list of the monitored replicas (deprecated name).", "master-name",
     "admin slow dangerous", NULL},
    {"sentinel|sentinels", 3, ADM | NS | LD | ST, 0, 0, 0, cmd_sentinel_sentinels, "sentinel",
     "2.8.4", "Returns a list of Sentinel instances.", "master-name", "admin slow dangerous", NULL},
    {"sentinel|get-master-addr-by-name", 3, ADM | NS | LD | ST, 0, 0, 0,
     cmd_sentinel_get_master_addr, "sentinel", "2.8.4",
     "Returns the port and address of a master instance.", "master-name", "admin slow dangerous",
     NULL},
    {"sentinel|myid", 2, ADM | NS | LD | ST, 0, 0, 0, cmd_sentinel_myid, "sentinel", "6.2.0",
     "Returns the Sentinel instance ID.", NULL, "admin slow dangerous", NULL},
    {"sentinel|ckquorum", 3, ADM | NS | LD | ST, 0, 0, 0, cmd_sentinel_ckquorum, "sentinel",
     "2.8.4", "Checks for a Redis Sentinel quorum.", "master-name", "admin slow dangerous", NULL},
    {"sentinel|help", 2, LD | ST, 0, 0, 0, cmd_sentinel_help, "sentinel", "6.2.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

static const struct command config_subcommands[] = {
    {"config|get", -3, ADM | NS | LD | ST, 0, 0, 0, cmd_config_get, "server", "2.0.0",
     "Returns the effective values of configuration parameters.", "parameter [parameter ...]",
     "admin slow dangerous", NULL},
    {"config|set", -4, ADM | NS | LD | ST, 0, 0, 0, cmd_config_set, "server", "2.0.0",
     "Sets configuration parameters in-flight.", "parameter value [parameter value ...]",
     "admin slow dangerous", NULL, .call_flags = cmd_config_set_call_flags,
     .acl_write = cmd_config_set_acl_write},
    {"config|resetstat", 2, ADM | NS | LD | ST, 0, 0, 0, cmd_config_resetstat, "server", "2.0.0",
     "Resets the server's statistics.", NULL, "admin slow dangerous", NULL},
    {"config|rewrite", 2, ADM | NS | LD | ST, 0, 0, 0, cmd_config_rewrite, "server", "2.8.0",
     "Persists the effective configuration to file.", NULL, "admin slow dangerous", NULL},
    {"config|help", 2, LD | ST, 0, 0, 0, cmd_config_help, "server", "5.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

static const struct command cluster_subcommands[] = {
    {"cluster|slots", 2, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_cluster_slots, "cluster", "3.0.0",
     "Returns the mapping of cluster slots to nodes.", NULL, "slow", NULL},
    {"cluster|shards", 2, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_cluster_shards, "cluster", "7.0.0",
     "Returns the mapping of cluster slots to shards.", NULL, "slow", NULL},
    {"cluster|nodes", 2, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_cluster_nodes, "cluster", "3.0.0",
     "Returns the cluster configuration for a node.", NULL, "slow", NULL},
    {"cluster|info", 2, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_cluster_info, "cluster", "3.0.0",
     "Returns information about the state of a node.", NULL, "slow", NULL},
    {"cluster|myid", 2, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_cluster_myid, "cluster", "3.0.0",
     "Returns the ID of a node.", NULL, "slow", NULL},
    {"cluster|keyslot", 3, LD | ST, 0, 0, 0, cmd_cluster_keyslot, "cluster", "3.0.0",
     "Returns the hash slot for a key.", "key:string", "slow", NULL},
    {"cluster|help", 2, LD | ST, 0, 0, 0, cmd_cluster_help, "cluster", "5.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

static const struct command raft_debug_subcommands[] = {
    {"raft.debug|compact", 2, ADM | NS | NOM, 0, 0, 0, cmd_raft_debug_compact, "raft", "0.1.0",
     "Starts a background snapshot now and compacts the log up to it once it is durable.", NULL,
     "admin slow dangerous", NULL},
    {"raft.debug|help", 2, LD | ST, 0, 0, 0, cmd_raft_debug_help, "raft", "0.1.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

static const struct command raft_node_subcommands[] = {
    {"raft.node|add", 4, ADM | NS | NOM, 0, 0, 0, cmd_raft_node_add, "raft", "0.1.0",
     "Adds a node as a learner, promoted to voter once caught up (leader only).", "id host:port",
     "admin slow", NULL},
    {"raft.node|remove", 3, ADM | NS | NOM, 0, 0, 0, cmd_raft_node_remove, "raft", "0.1.0",
     "Removes a node from the cluster, the leader included (leader only).", "id", "admin slow",
     NULL},
    {"raft.node|help", 2, LD | ST, 0, 0, 0, cmd_raft_node_help, "raft", "0.1.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

static const struct command raft_cluster_subcommands[] = {
    {"raft.cluster|join", -3, ADM | NS | NOM, 0, 0, 0, cmd_raft_cluster_join, "raft", "0.1.0",
     "Asks the cluster at the given addresses to add this fresh node.", "host:port [host:port ...]",
     "admin slow", NULL},
    {"raft.cluster|help", 2, LD | ST, 0, 0, 0, cmd_raft_cluster_help, "raft", "0.1.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

static const struct command memory_subcommands[] = {
    {"memory|doctor", 2, CMD_RANDOM, 0, 0, 0, cmd_memory_doctor, "server", "4.0.0",
     "Outputs memory problems report", NULL, "slow", NULL},
    {"memory|malloc-stats", 2, CMD_RANDOM, 0, 0, 0, cmd_memory_malloc_stats, "server", "4.0.0",
     "Show allocator internal stats", NULL, "slow", NULL},
    {"memory|stats", 2, CMD_RANDOM, 0, 0, 0, cmd_memory_stats, "server", "4.0.0",
     "Show memory usage details", NULL, "slow", NULL},
    {"memory|usage", -3, R | CMD_RANDOM, 2, 2, 1, cmd_memory_usage, "server", "4.0.0",
     "Estimates the memory usage of a key.", "key [SAMPLES count]", "read slow", NULL,
     .key_flags = "RO"},
    {"memory|purge", 2, 0, 0, 0, 0, cmd_memory_purge, "server", "4.0.0",
     "Asks the allocator to release memory.", NULL, "slow", NULL},
    {"memory|help", 2, LD | ST, 0, 0, 0, cmd_memory_help, "server", "4.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

static const struct command cmd_table_core[] = {
    /* connection */
    {"ping", -1, F | LD | ST | SUB, 0, 0, 0, cmd_ping, "connection", "1.0.0",
     "Returns the server's liveliness response.", "[message]", "fast connection", NULL},
    {"echo", 2, F | LD | ST, 0, 0, 0, cmd_echo, "connection", "1.0.0", "Returns the given string.",
     "message", "fast connection", NULL},
    {"quit", -1, NOA | F | LD | ST | NOQ | SUB | NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_quit,
     "connection", "1.0.0", "Closes the connection.", NULL, "fast connection", NULL},
    {"hello", -1, NOA | F | LD | ST | NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_hello, "connection",
     "6.0.0", "Handshakes with the Redis server.",
     "[protover [AUTH username password] [SETNAME clientname]]:arguments", "fast connection", NULL},
    {"auth", -2, NOA | F | LD | ST | NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_auth, "connection", "1.0.0",
     "Authenticates the connection.", "[username] password", "fast connection", NULL},
    {"select", 2, F | LD | ST, 0, 0, 0, cmd_select, "connection", "1.0.0",
     "Changes the selected database.", "index", "fast connection", NULL},
    {"monitor", 1, ADM | NS | LD | ST, 0, 0, 0, cmd_monitor, "server", "1.0.0",
     "Listens for all requests received by the server in real-time.", NULL, "admin slow dangerous",
     NULL},
    {"reset", 1, NOA | F | LD | ST | NS | NOQ | SUB | CMD_ALLOW_BUSY, 0, 0, 0, cmd_reset,
     "connection", "6.2.0", "Resets the connection.", NULL, "fast connection", NULL},
    {"client", -2, CMD_CONTAINER, 0, 0, 0, NULL, "connection", "2.4.0",
     "A container for client connection commands.", NULL, "slow", client_subcommands},

    /* server */
    {"memory", -2, CMD_CONTAINER, 0, 0, 0, NULL, "server", "4.0.0",
     "A container for memory diagnostics commands.", NULL, "slow", memory_subcommands},
    {"command", -1, LD | ST | CMD_CONTAINER, 0, 0, 0, cmd_command, "server", "2.8.13",
     "Returns detailed information about all commands.", NULL, "slow connection",
     command_subcommands},
    {"config", -2, CMD_CONTAINER, 0, 0, 0, NULL, "server", "2.0.0",
     "A container for server configuration commands.", NULL, "slow", config_subcommands},
    {"info", -1, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_info, "server", "1.0.0",
     "Returns information and statistics about the server.", "[section [section ...]]",
     "slow dangerous", NULL},
    {"wait", 3, NS, 0, 0, 0, cmd_wait, "generic", "3.0.0",
     "Blocks until the asynchronous replication of all preceding write commands sent by the "
     "connection is completed.",
     "numreplicas:integer timeout:integer", "slow connection", NULL, .proxy = CMD_PROXY_OWN_LINK},
    {"waitaof", 4, NS, 0, 0, 0, cmd_waitaof, "generic", "7.2.0",
     "Blocks until all of the preceding write commands sent by the connection are written to the "
     "append-only file of the master and/or replicas.",
     "numlocal:integer numreplicas:integer timeout:integer", "slow connection", NULL,
     .proxy = CMD_PROXY_OWN_LINK},
    {"role", 1, NS | LD | ST | F | CMD_SENTINEL, 0, 0, 0, cmd_role, "server", "2.8.12",
     "Return the role of the instance in the context of replication", NULL, "admin fast dangerous",
     NULL},
    {"time", 1, F | LD | ST, 0, 0, 0, cmd_time, "server", "2.6.0", "Returns the server time.", NULL,
     "fast", NULL},
    {"shutdown", -1, ADM | NS | LD | ST | NOM | CMD_ALLOW_BUSY, 0, 0, 0, cmd_shutdown, "server",
     "1.0.0", "Stops the server: closes clients and listeners, then exits 0.",
     "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]", "admin slow dangerous", NULL},

    {"sentinel", -2, CMD_CONTAINER, 0, 0, 0, NULL, "sentinel", "2.8.4",
     "A container for Redis Sentinel commands.", NULL, "slow", sentinel_subcommands},

    /* cluster */
    {"cluster", -2, CMD_CONTAINER, 0, 0, 0, NULL, "cluster", "3.0.0",
     "A container for Redis Cluster commands.", NULL, "slow", cluster_subcommands},
    {"asking", 1, F, 0, 0, 0, cmd_asking, "cluster", "3.0.0",
     "Sent by cluster clients after an -ASK redirect", NULL, "fast connection", NULL},
    {"readonly", 1, F | LD | ST, 0, 0, 0, cmd_readonly, "cluster", "3.0.0",
     "Enables read-only queries for a connection to a replica node.", NULL, "fast connection",
     NULL},
    {"readwrite", 1, F | LD | ST, 0, 0, 0, cmd_readwrite, "cluster", "3.0.0",
     "Enables read-write queries for a connection to a replica node.", NULL, "fast connection",
     NULL},
    {"raft.readonly", 1, F | LD | ST, 0, 0, 0, cmd_raft_readonly, "raft", "0.1.0",
     "Enables linearizable reads on a follower for the connection (READONLY's are stale).", NULL,
     "fast connection", NULL},
    {"raft.info", 1, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_raft_info, "raft", "0.1.0",
     "Returns the node's Raft state: role, leader, term, peers, log and snapshot.", NULL, "slow",
     NULL},
    {"raft.debug", -2, CMD_CONTAINER, 0, 0, 0, NULL, "raft", "0.1.0",
     "A container for Raft debugging commands.", NULL, "slow", raft_debug_subcommands},
    {"raft.node", -2, CMD_CONTAINER, 0, 0, 0, NULL, "raft", "0.1.0",
     "A container for cluster membership commands.", NULL, "slow", raft_node_subcommands},
    {"raft.cluster", -2, CMD_CONTAINER, 0, 0, 0, NULL, "raft", "0.1.0",
     "A container for commands run on a node joining a cluster.", NULL, "slow",
     raft_cluster_subcommands},
    {"raft.transfer_leader", -1, ADM | NS | NOM, 0, 0, 0, cmd_raft_transfer_leader, "raft", "0.1.0",
     "Hands leadership to another voting node (leader only).", "[id]", "admin slow", NULL},
    {"raft.import", -2, ADM | NS | NOM, 0, 0, 0, cmd_raft_import, "raft", "0.1.0",
     "Loads a dump.rdb from the leader's disk into the cluster through the log, in the "
     "background (leader only; progress in INFO persistence's import_* fields).",
     "path [REPLACE]", "admin slow dangerous", NULL},
    {"raft.auth", -3, NOA | F | LD | ST | NS | CMD_PEER_AUTH | CMD_INTERNAL, 0, 0, 0, cmd_raft_auth,
     "raft", "0.1.0", "Identifies a connection as a cluster peer with the raft-secret.",
     "secret node-id [host:port]", "fast", NULL},
    {"raft.msg", 3, NOA | F | LD | ST | NS | CMD_INTERNAL, 0, 0, 0, cmd_raft_msg, "raft", "0.1.0",
     "Delivers an encoded Raft message from a peer (after RAFT.AUTH).", "node-id payload", "fast",
     NULL},
    {"raftcache.evict", -3, CMD_WRITE | NS | CMD_INTERNAL | CMD_HOUSEKEEPING, 2, -1, 1, cmd_evict,
     "raft", "0.1.0",
     "Keys the leader evicts over maxmemory, as every replica deletes them (internal).",
     "allkeys|volatile key [key ...]", "write", NULL},
    {"raftcache.select", 2, F | LD | ST | NS | CMD_INTERNAL, 0, 0, 0, proxy_select, "raft", "0.1.0",
     "Selects a proxy link's database, replying nothing (internal).", "index", "fast", NULL},
    {"raftcache.serve", -3, CMD_WRITE | CMD_BLOCKING | NS | CMD_INTERNAL, 0, 0, 0,
     cmd_serve_blocked, "raft", "0.1.0",
     "The call of a client woken from blocking, as the leader logs it (internal).",
     "command arg [arg ...]", "write slow blocking", NULL, NULL, cmd_serve_blocked_keys},

    /* transactions */
    {"multi", 1, NOQ | F | LD | ST | NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_multi, "transactions",
     "1.2.0", "Starts a transaction.", NULL, "fast transaction", NULL},
    {"exec", 1, NOQ | LD | ST | NS | CMD_EXEC | CMD_SKIP_SLOWLOG, 0, 0, 0, cmd_exec, "transactions",
     "1.2.0", "Executes all commands in a transaction.", NULL, "slow transaction", NULL},
    {"discard", 1, NOQ | F | LD | ST | NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_discard, "transactions",
     "2.0.0", "Discards a transaction.", NULL, "fast transaction", NULL},
    {"watch", -2, NOQ | F | LD | ST | NS | CMD_ALLOW_BUSY, 1, -1, 1, cmd_watch, "transactions",
     "2.2.0", "Monitors changes to keys to determine the execution of a transaction.",
     "key [key ...]", "fast transaction", NULL, .proxy = CMD_PROXY_WATCH, .key_flags = "RO"},
    {"unwatch", 1, F | LD | ST | NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_unwatch, "transactions", "2.2.0",
     "Forgets about watched keys of a transaction.", NULL, "fast transaction", NULL,
     .proxy = CMD_PROXY_UNWATCH},

    CMD_ROWS_END,
};
/* The blocking command a RAFTCACHE.SERVE call wraps, or NULL. */
static const struct command *served(int argc, const struct resp_arg *argv)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv + 1, argc - 1, &parent);
    if (!cmd || !(cmd->flags & CMD_BLOCKING) || (cmd->flags & CMD_INTERNAL)) return NULL;
    return cmd_arity_ok(cmd, argc - 1) ? cmd : NULL;
}

void cmd_serve_blocked(struct cmd_ctx *c)
{
    const struct command *cmd = served(c->argc, c->argv);
    if (!c->applying || !cmd) { /* only the leader writes it, into the log */
        resp_add_error(c->out, "ERR RAFTCACHE.SERVE is internal");
        return;
    }
    struct cmd_ctx inner = *c;
    inner.argc--;
    inner.argv++;
    inner.serving = 1;
    cmd_call(cmd, &inner, c->monitor, NULL);
    c->rng = inner.rng;
    c->blocked = inner.blocked;
    c->block = inner.block;
}

int cmd_serve_blocked_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    const struct command *cmd = served(argc, argv);
    int n = cmd ? cmd_get_keys(cmd, argc - 1, argv + 1, idx, max) : 0;
    for (int i = 0; i < n; i++)
        idx[i]++;
    return n;
}

/* The server's groups of top-level commands, each a NULL-name terminated
 * array (cmd_table_core above; the script, function, pub/sub and monitor
 * groups beside their handlers); the types' come from their table
 * (src/types/typetable.h). A new group is one line here. */
static const struct command *const groups[] = {
    cmd_table_core,    cmd_table_pubsub, cmd_table_script, cmd_table_function,
    cmd_table_monitor, cmd_table_acl,    cmd_table_dump,   cmd_table_migrate,
    cmd_table_debug,   cmd_table_save,   cmd_table_replof,
};
#define N_GROUPS (sizeof groups / sizeof groups[0])
#define GROUPS_MAX 32

void cmdtable_init(void)
{
    const struct command *all[GROUPS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < N_GROUPS; i++)
        all[n++] = groups[i];
    ASSERT(n + type_command_group_count <= GROUPS_MAX);
    for (size_t i = 0; i < type_command_group_count; i++)
        all[n++] = type_command_groups[i];
    cmd_table_init(all, n);
}
