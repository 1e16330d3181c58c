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
#include "types/bitops.h"
#include "types/hll_cmd.h"
#include "types/sort.h"
#include "types/t_geo.h"
#include "types/t_stream.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "servercmd/cmdtable.h"
#include "servercmd/cmd_pubsub.h"
#include "servercmd/cmd_function.h"
#include "servercmd/cmd_monitor.h"
#include "servercmd/cmd_script.h"
#include "types/t_hash.h"
#include "types/t_list.h"
#include "types/t_set.h"
#include "types/t_zset.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define OOM CMD_DENYOOM
#define ADM CMD_ADMIN
#define NOA CMD_NOAUTH
#define NOQ CMD_NOQUEUE
#define NOM CMD_NO_MULTI
#define LD CMD_LOADING
#define ST CMD_STALE
#define NS CMD_NOSCRIPT
#define SUB CMD_SUBSCRIBED

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
    {"client|help", 2, LD | ST, 0, 0, 0, cmd_client_help, "connection", "5.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow connection", NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
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
    {"command|getkeys", -3, LD | ST, 0, 0, 0, cmd_command_getkeys, "server", "2.8.13",
     "Extracts the key names from an arbitrary command.", "command [arg [arg ...]]",
     "slow connection", NULL},
    {"command|help", 2, LD | ST, 0, 0, 0, cmd_command_help, "server", "5.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow connection", NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
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
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct command config_subcommands[] = {
    {"config|get", -3, ADM | NS | LD | ST, 0, 0, 0, cmd_config_get, "server", "2.0.0",
     "Returns the effective values of configuration parameters.", "parameter [parameter ...]",
     "admin slow dangerous", NULL},
    {"config|set", -4, ADM | NS | LD | ST, 0, 0, 0, cmd_config_set, "server", "2.0.0",
     "Sets configuration parameters in-flight.", "parameter value [parameter value ...]",
     "admin slow dangerous", NULL},
    {"config|resetstat", 2, ADM | NS | LD | ST, 0, 0, 0, cmd_config_resetstat, "server", "2.0.0",
     "Resets the server's statistics.", NULL, "admin slow dangerous", NULL},
    {"config|help", 2, LD | ST, 0, 0, 0, cmd_config_help, "server", "5.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
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
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct command raft_debug_subcommands[] = {
    {"raft.debug|compact", 2, ADM | NS | NOM, 0, 0, 0, cmd_raft_debug_compact, "raft", "0.1.0",
     "Starts a background snapshot now and compacts the log up to it once it is durable.", NULL,
     "admin slow dangerous", NULL},
    {"raft.debug|help", 2, LD | ST, 0, 0, 0, cmd_raft_debug_help, "raft", "0.1.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
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
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct command raft_cluster_subcommands[] = {
    {"raft.cluster|join", -3, ADM | NS | NOM, 0, 0, 0, cmd_raft_cluster_join, "raft", "0.1.0",
     "Asks the cluster at the given addresses to add this fresh node.", "host:port [host:port ...]",
     "admin slow", NULL},
    {"raft.cluster|help", 2, LD | ST, 0, 0, 0, cmd_raft_cluster_help, "raft", "0.1.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct command object_subcommands[] = {
    {"object|encoding", 3, R, 2, 2, 1, cmd_object_encoding, "generic", "2.2.3",
     "Returns the internal encoding of a Redis object.", "key", "keyspace read slow", NULL},
    {"object|refcount", 3, R, 2, 2, 1, cmd_object_refcount, "generic", "2.2.3",
     "Returns the reference count of a value of a key.", "key", "keyspace read slow", NULL},
    {"object|idletime", 3, R | CMD_RANDOM, 2, 2, 1, cmd_object_idletime, "generic", "2.2.3",
     "Returns the time since the last access to a Redis object.", "key", "keyspace read slow",
     NULL},
    {"object|freq", 3, R | CMD_RANDOM, 2, 2, 1, cmd_object_freq, "generic", "4.0.0",
     "Returns the logarithmic access frequency counter of a Redis object.", "key",
     "keyspace read slow", NULL},
    {"object|help", 2, LD | ST, 0, 0, 0, cmd_object_help, "generic", "6.2.0",
     "Returns helpful text about the different subcommands.", NULL, "keyspace slow", NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct command memory_subcommands[] = {
    {"memory|doctor", 2, CMD_RANDOM, 0, 0, 0, cmd_memory_doctor, "server", "4.0.0",
     "Outputs memory problems report", NULL, "slow", NULL},
    {"memory|malloc-stats", 2, CMD_RANDOM, 0, 0, 0, cmd_memory_malloc_stats, "server", "4.0.0",
     "Show allocator internal stats", NULL, "slow", NULL},
    {"memory|stats", 2, CMD_RANDOM, 0, 0, 0, cmd_memory_stats, "server", "4.0.0",
     "Show memory usage details", NULL, "slow", NULL},
    {"memory|usage", -3, R | CMD_RANDOM, 2, 2, 1, cmd_memory_usage, "server", "4.0.0",
     "Estimates the memory usage of a key.", "key [SAMPLES count]", "read slow", NULL},
    {"memory|purge", 2, 0, 0, 0, 0, cmd_memory_purge, "server", "4.0.0",
     "Asks the allocator to release memory.", NULL, "slow", NULL},
    {"memory|help", 2, LD | ST, 0, 0, 0, cmd_memory_help, "server", "4.0.0",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct command cmd_table_core[] = {
    /* strings */
    {"get", 2, R | F, 1, 1, 1, cmd_get, "string", "1.0.0", "Returns the string value of a key.",
     "key", "read string fast", NULL},
    {"set", -3, W | OOM, 1, 1, 1, cmd_set, "string", "1.0.0",
     "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
     "key value [NX|XX]:condition [GET] [EX seconds|PX milliseconds|EXAT "
     "unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]:expiration",
     "write string slow", NULL, cmd_rewrite_set},
    {"setnx", 3, W | OOM | F, 1, 1, 1, cmd_setnx, "string", "1.0.0",
     "Set the string value of a key only when the key doesn't exist.", "key value",
     "write string fast", NULL},
    {"setex", 4, W | OOM, 1, 1, 1, cmd_setex, "string", "2.0.0",
     "Sets the string value and expiration time of a key.", "key seconds value",
     "write string slow", NULL, cmd_rewrite_setex},
    {"psetex", 4, W | OOM, 1, 1, 1, cmd_psetex, "string", "2.6.0",
     "Sets both string value and expiration time in milliseconds of a key.",
     "key milliseconds value", "write string slow", NULL, cmd_rewrite_psetex},
    {"getset", 3, W | OOM | F, 1, 1, 1, cmd_getset, "string", "1.0.0",
     "Returns the previous string value of a key after setting it to a new value.", "key value",
     "write string fast", NULL},
    {"getdel", 2, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_getdel, "string", "6.2.0",
     "Returns the string value of a key after deleting the key.", "key", "write string fast", NULL},
    {"getex", -2, W | F, 1, 1, 1, cmd_getex, "string", "6.2.0",
     "Returns the string value of a key after setting its expiration time.",
     "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT "
     "unix-time-milliseconds|PERSIST]:expiration",
     "write string fast", NULL, cmd_rewrite_getex},
    {"mget", -2, R | F, 1, -1, 1, cmd_mget, "string", "1.0.0",
     "Atomically returns the string values of one or more keys.", "key [key ...]",
     "read string fast", NULL},
    {"mset", -3, W | OOM, 1, -1, 2, cmd_mset, "string", "1.0.1",
     "Atomically creates or modifies the string values of one or more keys.",
     "key value [key value ...]", "write string slow", NULL},
    {"msetnx", -3, W | OOM, 1, -1, 2, cmd_msetnx, "string", "1.0.1",
     "Atomically modifies the string values of one or more keys only when all keys don't exist.",
     "key value [key value ...]", "write string slow", NULL},
    {"incr", 2, W | OOM | F, 1, 1, 1, cmd_incr, "string", "1.0.0",
     "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't "
     "exist.",
     "key", "write string fast", NULL},
    {"decr", 2, W | OOM | F, 1, 1, 1, cmd_decr, "string", "1.0.0",
     "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't "
     "exist.",
     "key", "write string fast", NULL},
    {"incrby", 3, W | OOM | F, 1, 1, 1, cmd_incrby, "string", "1.0.0",
     "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key increment", "write string fast", NULL},
    {"decrby", 3, W | OOM | F, 1, 1, 1, cmd_decrby, "string", "1.0.0",
     "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key decrement", "write string fast", NULL},
    {"incrbyfloat", 3, W | OOM | F, 1, 1, 1, cmd_incrbyfloat, "string", "2.6.0",
     "Increment the floating point value of a key by a number. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key increment:double", "write string fast", NULL},
    {"append", 3, W | OOM | F, 1, 1, 1, cmd_append, "string", "2.0.0",
     "Appends a string to the value of a key. Creates the key if it doesn't exist.", "key value",
     "write string fast", NULL},
    {"strlen", 2, R | F, 1, 1, 1, cmd_strlen, "string", "2.2.0",
     "Returns the length of a string value.", "key", "read string fast", NULL},
    {"getrange", 4, R, 1, 1, 1, cmd_getrange, "string", "2.4.0",
     "Returns a substring of the string stored at a key.", "key start end", "read string slow",
     NULL},
    {"substr", 4, R, 1, 1, 1, cmd_getrange, "string", "1.0.0",
     "Returns a substring from a string value.", "key start end", "read string slow", NULL},
    {"setrange", 4, W | OOM, 1, 1, 1, cmd_setrange, "string", "2.2.0",
     "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't "
     "exist.",
     "key offset value", "write string slow", NULL},
    {"lcs", -3, R, 1, 2, 1, cmd_lcs, "string", "7.0.0", "Finds the longest common substring.",
     "key1 key2 [LEN] [IDX] [MINMATCHLEN len:integer] [WITHMATCHLEN]", "read string slow", NULL},

    /* keyspace */
    {"del", -2, W | CMD_ABSENT_NOOP, 1, -1, 1, cmd_del, "generic", "1.0.0",
     "Deletes one or more keys.", "key [key ...]", "keyspace write slow", NULL},
    {"unlink", -2, W | F | CMD_ABSENT_NOOP, 1, -1, 1, cmd_unlink, "generic", "4.0.0",
     "Asynchronously deletes one or more keys.", "key [key ...]", "keyspace write fast", NULL},
    {"exists", -2, R | F, 1, -1, 1, cmd_exists, "generic", "1.0.0",
     "Determines whether one or more keys exist.", "key [key ...]", "keyspace read fast", NULL},
    {"keys", 2, R | CMD_UNORDERED, 0, 0, 0, cmd_keys, "generic", "1.0.0",
     "Returns all key names that match a pattern.", "pattern", "keyspace read slow dangerous",
     NULL},
    {"scan", -2, R | CMD_RANDOM, 0, 0, 0, cmd_scan, "generic", "2.8.0",
     "Iterates over the key names in the database.",
     "cursor [MATCH pattern] [COUNT count] [TYPE type]", "keyspace read slow", NULL},
    {"type", 2, R | F, 1, 1, 1, cmd_type, "generic", "1.0.0",
     "Determines the type of value stored at a key.", "key", "keyspace read fast", NULL},
    {"rename", 3, W, 1, 2, 1, cmd_rename, "generic", "1.0.0",
     "Renames a key and overwrites the destination.", "key newkey", "keyspace write slow", NULL},
    {"renamenx", 3, W | F, 1, 2, 1, cmd_renamenx, "generic", "1.0.0",
     "Renames a key only when the target key name doesn't exist.", "key newkey",
     "keyspace write fast", NULL},
    {"randomkey", 1, R | CMD_RANDOM, 0, 0, 0, cmd_randomkey, "generic", "1.0.0",
     "Returns a random key name from the database.", NULL, "keyspace read slow", NULL},
    {"touch", -2, R | F, 1, -1, 1, cmd_touch, "generic", "3.2.1",
     "Returns the number of existing keys out of those specified after updating the time they were "
     "last accessed.",
     "key [key ...]", "keyspace read fast", NULL},
    {"copy", -3, W | OOM, 1, 2, 1, cmd_copy, "generic", "6.2.0",
     "Copies the value of a key to a new key.", "source destination [DB destination-db] [REPLACE]",
     "keyspace write slow", NULL},
    {"object", -2, CMD_CONTAINER, 0, 0, 0, NULL, "generic", "2.2.3",
     "A container for object introspection commands.", NULL, "slow", object_subcommands},
    {"memory", -2, CMD_CONTAINER, 0, 0, 0, NULL, "server", "4.0.0",
     "A container for memory diagnostics commands.", NULL, "slow", memory_subcommands},
    {"dbsize", 1, R | F, 0, 0, 0, cmd_dbsize, "server", "1.0.0",
     "Returns the number of keys in the database.", NULL, "keyspace read fast", NULL},
    {"flushdb", -1, W | CMD_KEYLESS_WRITE, 0, 0, 0, cmd_flushdb, "server", "1.0.0",
     "Remove all keys from the current database.", "[ASYNC|SYNC]:async",
     "keyspace write slow dangerous", NULL},
    {"flushall", -1, W | CMD_KEYLESS_WRITE, 0, 0, 0, cmd_flushall, "server", "1.0.0",
     "Removes all keys from all databases.", "[ASYNC|SYNC]:async", "keyspace write slow dangerous",
     NULL},

    /* expiry */
    {"expire", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_expire, "generic", "1.0.0",
     "Sets the expiration time of a key in seconds.", "key seconds [NX|XX|GT|LT]:condition",
     "keyspace write fast", NULL, cmd_rewrite_expire},
    {"pexpire", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_pexpire, "generic", "2.6.0",
     "Sets the expiration time of a key in milliseconds.",
     "key milliseconds [NX|XX|GT|LT]:condition", "keyspace write fast", NULL, cmd_rewrite_pexpire},
    {"expireat", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_expireat, "generic", "1.2.0",
     "Sets the expiration time of a key to a Unix timestamp.",
     "key unix-time-seconds [NX|XX|GT|LT]:condition", "keyspace write fast", NULL},
    {"pexpireat", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_pexpireat, "generic", "2.6.0",
     "Sets the expiration time of a key to a Unix milliseconds timestamp.",
     "key unix-time-milliseconds [NX|XX|GT|LT]:condition", "keyspace write fast", NULL},
    {"ttl", 2, R | F, 1, 1, 1, cmd_ttl, "generic", "1.0.0",
     "Returns the expiration time in seconds of a key.", "key", "keyspace read fast", NULL},
    {"pttl", 2, R | F, 1, 1, 1, cmd_pttl, "generic", "2.6.0",
     "Returns the expiration time in milliseconds of a key.", "key", "keyspace read fast", NULL},
    {"expiretime", 2, R | F, 1, 1, 1, cmd_expiretime, "generic", "7.0.0",
     "Returns the expiration time of a key as a Unix timestamp.", "key", "keyspace read fast",
     NULL},
    {"pexpiretime", 2, R | F, 1, 1, 1, cmd_pexpiretime, "generic", "7.0.0",
     "Returns the expiration time of a key as a Unix milliseconds timestamp.", "key",
     "keyspace read fast", NULL},
    {"persist", 2, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_persist, "generic", "2.2.0",
     "Removes the expiration time of a key.", "key", "keyspace write fast", NULL},

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
    {"command", -1, LD | ST | CMD_CONTAINER, 0, 0, 0, cmd_command, "server", "2.8.13",
     "Returns detailed information about all commands.", NULL, "slow connection",
     command_subcommands},
    {"config", -2, CMD_CONTAINER, 0, 0, 0, NULL, "server", "2.0.0",
     "A container for server configuration commands.", NULL, "slow", config_subcommands},
    {"info", -1, LD | ST | CMD_RANDOM, 0, 0, 0, cmd_info, "server", "1.0.0",
     "Returns information and statistics about the server.", "[section [section ...]]",
     "slow dangerous", NULL},
    {"role", 1, NS | LD | ST | F | CMD_SENTINEL, 0, 0, 0, cmd_role, "server", "2.8.12",
     "Return the role of the instance in the context of replication", NULL, "admin fast dangerous",
     NULL},
    {"debug", -2, ADM | NS | LD | ST | CMD_PROTECTED, 0, 0, 0, cmd_debug, "server", "1.0.0",
     "A container for debugging commands", NULL, "admin slow dangerous", NULL},
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
    {"readonly", 1, F | LD | ST, 0, 0, 0, cmd_readonly, "cluster", "3.0.0",
     "Enables read-only queries for a connection to a replica node.", NULL, "fast connection",
     NULL},
    {"readwrite", 1, F | LD | ST, 0, 0, 0, cmd_readwrite, "cluster", "3.0.0",
     "Enables read-write queries for a connection to a replica node.", NULL, "fast connection",
     NULL},
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
     "key [key ...]", "fast transaction", NULL},
    {"unwatch", 1, F | LD | ST | NS | CMD_ALLOW_BUSY, 0, 0, 0, cmd_unwatch, "transactions", "2.2.0",
     "Forgets about watched keys of a transaction.", NULL, "fast transaction", NULL},

    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
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

/* The groups of top-level commands, each a NULL-name terminated array in
 * its own file (cmd_table_core above, a type's table beside its module). A
 * new group is one line here. */
static const struct command *const groups[] = {
    cmd_table_core,     cmd_table_hash,    cmd_table_set,  cmd_table_zset,   cmd_table_bitops,
    cmd_table_hll,      cmd_table_sort,    cmd_table_list, cmd_table_pubsub, cmd_table_script,
    cmd_table_function, cmd_table_monitor, cmd_table_geo,  cmd_table_stream,
};
#define N_GROUPS (sizeof groups / sizeof groups[0])

void cmdtable_init(void)
{
    cmd_table_init(groups, N_GROUPS);
}
