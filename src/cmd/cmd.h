/*
 * src/cmd/cmd.h - the command table and the context every command handler gets.
 *
 * One declarative table (src/servercmd/cmdtable.c) lists every command: name, arity,
 * flags, key positions, handler, documentation. The dispatcher (src/server/dispatch.c)
 * does, once for all commands: lookup, arity, authentication, MULTI queueing,
 * and routing writes through the state-machine apply path (src/sm/sm.h). Handlers
 * never repeat those checks.
 *
 * Handlers of CMD_WRITE commands run inside the apply path: they must be
 * deterministic functions of (keyspace, argv, c->now_ms, c->rng). They read
 * no clock, no randomness but c->rng (seeded by the state machine from the
 * entry and the command's place in it, so every replica draws the same
 * numbers) and no client state (c->client may be NULL: nobody waits for the
 * reply on this node). Their reply goes to c->out either way. Each says
 * what it changed with cmd_notify() (Redis's keyspace notifications: event
 * names and classes are Redis 7.0's), after the change.
 *
 * Handlers of read commands run against the local keyspace with
 * c->now_ms = the wall clock; they never modify the keyspace (an expired key
 * is reported absent, and is deleted later by an apply, never by a read).
 */
#ifndef CMD_H
#define CMD_H

#include <stddef.h>
#include <stdint.h>
#include "resp/parser.h"
#include "resp/writer.h"
#include "cmd/monitor.h"
#include "keyspace/notify.h"

struct kv;
struct kv_dbs;
struct client;
struct server;

/* The Redis version whose behaviour raftcache follows (INFO, HELLO, scripts'
 * REDIS_VERSION), and the same as 0x00MMmmpp. */
#define REDIS_COMPAT_VERSION "7.0.15"
#define REDIS_COMPAT_VERSION_NUM 0x0007000f

struct kv_val;

/* Longest ID text a cmd_block_after resolves an ID to (a NUL included). */
#define CMD_BLOCK_ID_MAX 48

/* A wait for what comes after an ID (XREAD, XREADGROUP BLOCK), not for
 * elements to take: key i's ID is argv[ids_first + i]. A value that is
 * ready wakes every client waiting on it, since serving one takes nothing
 * away. */
struct cmd_block_after {
    /* 1 if the call (argv) has an answer now for the key whose ID is
     * argv[id]: v (NULL: the key is absent; of any type) holds something
     * after the ID, or its absence is an answer (XREADGROUP's error). */
    int (*ready)(const struct kv_val *v, const struct resp_arg *argv, int id);
    /* The ID the call waits after, fixed when it blocks: argv[id] itself,
     * or for an ID that names "the last one now" ($) that one's text,
     * written into buf, on v (NULL: the key is absent). */
    struct resp_arg (*resolve)(const struct kv_val *v, const struct resp_arg *argv, int id,
                               char buf[CMD_BLOCK_ID_MAX]);
};

/* What a blocking command that found nothing to serve waits for
 * (src/server/blocked.h): argv[first_key .. first_key + nkeys) to hold a non-empty
 * value of `type` (or, with after, something after each key's ID), for
 * timeout_ms (0: forever); when it times out it gets a null array
 * (null_array) or a null bulk. */
struct cmd_block {
    int first_key, nkeys;
    uint8_t type; /* enum kv_type */
    uint8_t null_array;
    int64_t timeout_ms;
    const struct cmd_block_after *after; /* NULL: waits for elements */
    int ids_first;
};

struct acl_user;

struct cmd_ctx {
    int argc;
    const struct resp_arg *argv; /* borrowed for the duration of the call */
    struct resp_out *out;        /* the reply goes here */
    struct kv *kv;               /* the database the command runs in */
    struct kv_dbs *dbs;          /* every database (FLUSHALL, DEBUG DIGEST); kv is one of them */
    /* In: the selected database SELECT changes -- the client's, or a
     * script's own -- or NULL where nothing is selected (an apply with no
     * client waiting: the entry names each command's database). */
    int *selected;
    int64_t now_ms;        /* entry time (writes) or wall clock (reads) */
    struct client *client; /* NULL when no local client waits (apply) */
    struct server *srv;
    uint64_t rng; /* PRNG state (util_rand64): seeded per command */
    int applying; /* 1 in the apply path (src/sm/sm.c): a read with a
                   * writes hook may change the keyspace there only */
    /* Blocking commands (CMD_BLOCKING, src/server/blocked.h). In: may_block, a
     * client outside a transaction waits for this call (applied): finding
     * nothing to serve, the handler blocks (cmd_block_on) instead of
     * replying; probe, the dispatcher only asks what the call waits for:
     * the handler checks its arguments (replying their error) and stops at
     * cmd_block_probe, touching no key. Out: blocked, and on what. */
    int may_block;
    int probe;
    /* In: the call serves a client woken from blocking (applied through
     * RAFTCACHE.SERVE): a key it waits on holding another type counts as
     * empty, as Redis serves a blocked client only from a key of its type. */
    int serving;
    /* In: the call comes from a script (redis.call): SORT without sorting
     * orders a set's elements, as Redis does for scripts. */
    int in_script;
    /* In: the leader was over maxmemory when it proposed this script
     * (RAFTCACHE.OOM): the script's deny-oom commands are refused until it
     * has written, as Redis refuses them. */
    int over_memory;
    int blocked;
    struct cmd_block block;
    /* Keyspace notifications (src/keyspace/notify.h): the classes this call fires,
     * notify->mask in the apply path, 0 elsewhere (a read never fires). */
    unsigned notify_mask;
    const struct notify *notify;
    /* Where cmd_call() counts this call: a wrapper (RAFTCACHE.SERVE,
     * RAFTCACHE.OOM) runs the command it wraps with cmd_call() too, so
     * that the command is counted (and slow-logged) as itself. */
    struct monitor *monitor;
    /* In: 1 + the id of the command cmd_call() counts this call as (the
     * command a client sent, applied in another form: src/cmd/client.h,
     * REPLY_TAG_AS); 0: the command itself. */
    int counted_as;
    /* Out: a script this call ran called a read command, so its declared
     * keys count as read (client-side caching, src/server/tracking.h, as
     * Redis counts them). */
    int script_read;
    /* In: the call is an ACL write applied from RAFTCACHE.ACL: the
     * proposing node's acl-pubsub-default and ACL LOAD's file
     * (src/server/aclstate.h); NULL elsewhere. */
    const struct cmd_acl_apply *acl;
    /* In: the ACL user the call runs as, whose permissions a script's
     * commands are checked against (src/acl/acl.h): the client's for a
     * call run here, RAFTCACHE.AS's for a script applied from the log
     * (src/server/aclstate.h); NULL: nothing restricts it. */
    const struct acl_user *user;
};

struct cmd_acl_apply {
    int pubsub_all;
    const char *payload;
    size_t payload_len;
};

/* A write changed key: fires event (of class type, enum notify_class) as
 * Redis's notifyKeyspaceEvent, to this node's subscribers. One test when
 * the class is off. */
void cmd_notify_fire(const struct cmd_ctx *c, unsigned type, const char *event,
                     const struct resp_arg *key);
static inline void cmd_notify(const struct cmd_ctx *c, unsigned type, const char *event,
                              const struct resp_arg *key)
{
    if (c->notify_mask & type) cmd_notify_fire(c, type, event, key);
}

/* The same for key of database db, which is not the call's (MOVE's and
 * COPY ... DB's destination). */
static inline void cmd_notify_db(const struct cmd_ctx *c, int db, unsigned type, const char *event,
                                 const struct resp_arg *key)
{
    if (c->notify_mask & type) notify_fire(c->notify, db, type, event, key->ptr, key->len);
}

/* A blocking command's handler calls it once its arguments are checked,
 * before it looks at a key: returns 1 when probing (the call's block is
 * set: the handler returns), else 0. */
int cmd_block_probe(struct cmd_ctx *c, const struct cmd_block *b);
/* Called by a blocking command's handler that found nothing to serve:
 * blocks the caller when it may (nothing is replied), else replies the
 * command's null reply, as Redis does inside MULTI. */
void cmd_block_on(struct cmd_ctx *c, const struct cmd_block *b);

typedef void cmd_proc(struct cmd_ctx *c);

enum cmd_flags {
    CMD_WRITE = 1u << 0,    /* changes the keyspace: goes through the log */
    CMD_READONLY = 1u << 1, /* reads the keyspace */
    CMD_ADMIN = 1u << 2,
    CMD_NOAUTH = 1u << 3,  /* allowed before AUTH (AUTH, HELLO, QUIT, ...) */
    CMD_NOQUEUE = 1u << 4, /* runs at once inside MULTI (EXEC, DISCARD...), not queued */
    CMD_DENYOOM = 1u << 5, /* refused when over maxmemory */
    CMD_FAST = 1u << 6,
    CMD_LOADING = 1u << 7, /* allowed while loading */
    CMD_STALE = 1u << 8,
    CMD_NOSCRIPT = 1u << 9,
    CMD_SENTINEL = 1u << 10,
    CMD_KEYLESS_WRITE = 1u << 11, /* write with no key (FLUSHALL...) */
    CMD_CONTAINER = 1u << 12,     /* has subcommands: dispatch on argv[1] */
    CMD_SKIP_SLOWLOG = 1u << 13,
    CMD_ALLOW_BUSY = 1u << 14,
    CMD_NO_MULTI = 1u << 15, /* refused inside MULTI ("Command not allowed inside a transaction") */
    CMD_PEER_AUTH = 1u << 16,   /* a Raft peer proves itself: runs even for CLIENT_PROTECTED */
    CMD_INTERNAL = 1u << 17,    /* the peer protocol: runs, but COMMAND and its subcommands
                                 * (so redis-cli's completion and hints) never show it */
    CMD_RANDOM = 1u << 18,      /* its reply may differ between calls on the same data
                                 * (SRANDMEMBER, SPOP): COMMAND's nondeterministic_output */
    CMD_UNORDERED = 1u << 19,   /* replies elements in no defined order (SMEMBERS, HGETALL):
                                 * COMMAND's nondeterministic_output_order */
    CMD_EXEC = 1u << 20,        /* EXEC: routed by the flags of the queued commands */
    CMD_BLOCKING = 1u << 21,    /* may block the client (BLPOP and friends, src/server/blocked.h) */
    CMD_ABSENT_NOOP = 1u << 22, /* a write that changes nothing when every key it names is
                                 * absent (SPOP, DEL, ...): src/server/dispatch.c serves such a
                                 * call on the leader as a linearizable read, no entry */
    CMD_MEMBER_ARG = 1u << 23,  /* argv[2] is looked up in the key's value (HSET's field,
                                 * SADD's first member): prefetched when applied (src/sm/sm.c) */
    CMD_MEMBER_LAST = 1u << 24, /* likewise the last argument (ZADD's, ZINCRBY's member) */
    CMD_SUBSCRIBED = 1u << 25,  /* may run while the client is subscribed over RESP2
                                 * ((P|S)(UN)SUBSCRIBE, PING, QUIT, RESET) */
    CMD_PUBSUB = 1u << 26,      /* a pub/sub command (COMMAND's "pubsub" flag) */
    CMD_SCRIPT = 1u << 27,      /* runs a script that may write (EVAL, EVALSHA): proposed
                                 * over maxmemory, it is wrapped in RAFTCACHE.OOM so that
                                 * the script's deny-oom commands fail on every node */
    CMD_MAY_REPLICATE = 1u << 28,     /* not a write, but has effects beyond this node or the
                                       * keyspace (PUBLISH, PFCOUNT): CLIENT PAUSE WRITE holds
                                       * it back, as Redis's may-replicate */
    CMD_NO_MANDATORY_KEYS = 1u << 29, /* may name no key (EVAL, FCALL: numkeys 0): COMMAND
                                       * GETKEYS finding none replies an empty array */
    CMD_PROTECTED = 1u << 30,         /* DEBUG: refused unless enable-debug-command allows
                                       * the client (src/server/dispatch.c); COMMAND hides the
                                       * flag, as Redis does */
    CMD_HOUSEKEEPING = 1u << 31,      /* the leader's own log-only write (RAFTCACHE.EVICT): applied
                                       * without counting as a command (commandstats, the slow
                                       * log, total_commands_processed), as expiry entries */
};

/* Rewrites a write into its deterministic form for the log, at now_ms on the
 * leader (relative TTLs made absolute): fills out_argv (room for argc +
 * CMD_REWRITE_EXTRA entries) with arguments pointing into argv, static
 * strings and scratch (>= 64 bytes), and returns the new argc; returns 0 to
 * keep argv unchanged (also when argv is invalid: the apply then replies
 * Redis's error from the original arguments). */
#define CMD_REWRITE_EXTRA 2
#define CMD_REWRITE_ARGC_MAX 16 /* longer commands are never rewritten */
typedef int cmd_rewrite_fn(int argc, const struct resp_arg *argv, int64_t now_ms,
                           struct resp_arg *out_argv, char *scratch, size_t scratch_len);
/* The argv indexes of the keys of a call whose keys move (ZUNIONSTORE's
 * numkeys, SORT's STORE): at most max of them in idx; returns their count
 * (0 when the arguments are malformed: the handler replies the error). */
typedef int cmd_getkeys_fn(int argc, const struct resp_arg *argv, int *idx, int max);
/* For a read that sometimes changes the keyspace (PFCOUNT storing the
 * cardinality it computed, as Redis): 1 if this call would, judged on the
 * leader's keyspace at now_ms. Such a call goes through the log like a
 * write and changes the value on every replica when applied
 * (cmd_ctx.applying); otherwise it runs as a read and changes nothing. */
typedef int cmd_writes_fn(struct kv *kv, int argc, const struct resp_arg *argv, int64_t now_ms);

/* For a command whose calls differ in kind (EVAL: a script declaring
 * no-writes is a read): the flags this call is routed by, from the row's
 * (flags) and the node's state (srv, opaque here). */
typedef uint32_t cmd_call_flags_fn(struct server *srv, int argc, const struct resp_arg *argv,
                                   uint32_t flags);

/* A follower's proxy (src/server/proxy.h) forwards what reads or writes the
 * keyspace; for the connection state a command changes that lives on the
 * leader once forwarded, a row says more. */
enum cmd_proxy {
    CMD_PROXY_FLAGS = 0,    /* by its flags alone */
    CMD_PROXY_WATCH = 1,    /* WATCH: the leader watches, on the client's own link */
    CMD_PROXY_UNWATCH = 2,  /* UNWATCH: forwarded to a client's own link when it has one */
    CMD_PROXY_OWN_LINK = 3, /* WAIT, WAITAOF: on the client's own link (the leader counts the
                             * link's last write, and it may wait) */
};

/* 1 if the call changes the users every node enforces: proposed wrapped
 * in RAFTCACHE.ACL (src/server/aclstate.h). */
typedef int cmd_acl_write_fn(int argc, const struct resp_arg *argv);

/* The flags of a call's keys, as key_flags writes one spec's (below). */
typedef const char *cmd_key_flags_fn(int argc, const struct resp_arg *argv);

struct command {
    const char *name; /* lower case; "config|get" style for subcommands */
    int arity;        /* Redis convention: N exact, -N at least N (incl. name) */
    uint32_t flags;
    int first_key, last_key, key_step; /* 0 0 0 when keyless; last -1 = argc-1 */
    cmd_proc *proc;                    /* NULL for a container */
    const char *group;                 /* COMMAND DOCS group: string, keyspace, server, ... */
    const char *since;
    const char *summary;
    /* The arguments as Redis 7.0 documents them, without the command name, e.g.
     * "key value [NX|XX]:condition [GET]"; NULL when there are none. COMMAND DOCS
     * turns it into "arguments" (src/servercmd/cmd_command.c), which redis-cli shows as hints.
     *   UPPER      a token: alone a pure-token, before one item that item's token
     *              (the first of a group's alternative takes the rest as a block)
     *   lower      an argument; type inferred from the name (key, newkey, source,
     *              destination, key1.. -> key; pattern; seconds, count... -> integer;
     *              unix-time-* -> unix-time; else string); "name:type" overrides
     *   [x] <x>    optional / required group; "|" inside splits it into a oneof,
     *              several items make a block; "]:name" / ">:name" names the group
     *   x [x ...]  repeated ("multiple"); several items repeat as one block;
     *              a leading token repeated with them ("GET x [GET x ...]") is
     *              the token of the rest (one item or a block): "multiple_token"
     * A group's name defaults to its members' names joined with '_'. */
    const char *syntax;
    const char *acl;                   /* space-separated ACL categories without '@' */
    const struct command *subcommands; /* NULL-name terminated, or NULL */
    cmd_rewrite_fn *rewrite;           /* NULL: the command goes to the log as sent */
    cmd_getkeys_fn *getkeys;           /* NULL: the keys are first_key..last_key by key_step;
                                        * else the hook finds them (first_key as Redis's row) */
    cmd_writes_fn *writes;             /* NULL, or a read's test for a call that writes */
    cmd_call_flags_fn *call_flags;     /* NULL: every call has the row's flags */
    enum cmd_proxy proxy;              /* what a follower's proxy does with it beyond its flags */
    /* Redis 7.0's flags of its key specs, in order, '|' between specs
     * ("RW access delete|RW insert"): the n-th key a call names has the
     * n-th spec's flags, the last spec's for every key after (COMMAND INFO,
     * COMMAND GETKEYSANDFLAGS). NULL: RW for a write, RO otherwise. */
    const char *key_flags;
    /* For a command whose keys' flags depend on its arguments (Redis's
     * variable_flags: SET with GET, BITFIELD with only GETs): the flags of
     * this call's keys. NULL: key_flags says. */
    cmd_key_flags_fn *key_flags_call;
    /* 1 for a command that runs a script (EVAL, FCALL and their variants):
     * its keys are read only if the script calls a read command
     * (cmd_ctx.script_read), whatever the row's flags say. */
    uint8_t runs_script;
    /* NULL, or whether a call changes the ACL users (ACL SETUSER, CONFIG
     * SET requirepass): the node that proposes it wraps it in RAFTCACHE.ACL
     * (src/server/aclstate.h). Such a row is CMD_WRITE, or its call_flags
     * say so for the calls it covers. */
    cmd_acl_write_fn *acl_write;
    /* 1 for RAFTCACHE.AS: a script (argv[2..]) behind the ACL user it runs
     * as, proposed as a script is (src/server/dispatch.c). */
    uint8_t wraps_script;
};

/* The registry (src/cmd/registry.c) knows no row: it is handed the groups
 * of rows once at start-up (src/servercmd/cmdtable.c's cmdtable_init(),
 * before any lookup), each a NULL-name terminated array kept beside its
 * handlers, and builds the name index and the dense ids; it is read-only
 * afterwards. A unit test hands it just the groups it tests. */
void cmd_table_init(const struct command *const *groups, size_t n);
/* Case-insensitive lookup of argv[0]; for containers also resolves argv[1].
 * Returns NULL if unknown. *parent gets the container (or NULL). */
const struct command *cmd_lookup(const struct resp_arg *argv, int argc,
                                 const struct command **parent);
const struct command *cmd_lookup_name(const char *name, size_t len);
/* Number of top-level commands COMMAND shows (CMD_INTERNAL ones excluded). */
int cmd_count(void);
/* Dense ids over every command and subcommand, for per-command statistics;
 * ids 0 .. cmd_top_count() - 1 are the top-level commands (internal ones
 * included). */
int cmd_id(const struct command *cmd);
int cmd_top_count(void);
int cmd_id_count(void);
const struct command *cmd_by_id(int id);

/* Validates a command for MULTI queueing or execution: lookup + arity.
 * Returns the command, or NULL after writing Redis's error reply to out
 * (unknown command or subcommand, wrong number of arguments). */
/* Redis's "ERR unknown command '<name>', with args beginning with: ..." */
void cmd_reply_unknown(struct resp_out *out, int argc, const struct resp_arg *argv);
const struct command *cmd_resolve(int argc, const struct resp_arg *argv, struct resp_out *out);
/* cmd_resolve()'s checks of a command looked up already (cmd_lookup()). */
const struct command *cmd_check(const struct command *cmd, int argc, const struct resp_arg *argv,
                                struct resp_out *out);
/* Runs cmd's handler on ctx and tells mon (src/cmd/monitor.h) about the call:
 * its time, whether it failed (a reply starting with '-'), its arguments
 * and client for the slow log. The time runs from *mark_us, when given
 * (the end of the command before it in a batch: one clock read per
 * command), and *mark_us becomes the end of this one. */
void cmd_call(const struct command *cmd, struct cmd_ctx *ctx, struct monitor *mon,
              int64_t *mark_us);
/* 1 if a argc satisfies arity. */
static inline int cmd_arity_ok(const struct command *cmd, int argc)
{
    return cmd->arity >= 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* The key arguments of a call: argv[*first], argv[*first + *step], ... up to
 * argv[*last] (never past argc - 1). Returns 0 when the call names none. */
static inline int cmd_key_range(const struct command *cmd, int argc, int *first, int *last,
                                int *step)
{
    if (cmd->first_key <= 0 || cmd->first_key >= argc) return 0;
    int l = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    *first = cmd->first_key;
    *last = l < argc ? l : argc - 1;
    *step = cmd->key_step > 0 ? cmd->key_step : 1;
    return 1;
}

/* 1 if the command names no key at all (DBSIZE, KEYS): a command whose keys
 * move (getkeys) is keyed even though its row says first_key 0, as Redis's. */
static inline int cmd_is_keyless(const struct command *cmd)
{
    return cmd->first_key == 0 && !cmd->getkeys;
}

/* The argv indexes of a call's keys (getkeys, or the first/last/step
 * range), at most max; returns their count. */
int cmd_get_keys(const struct command *cmd, int argc, const struct resp_arg *argv, int *idx,
                 int max);

/* --- handlers, grouped by the file that implements them --- */
/* The handlers of src/types/ that are named outside their files (their rows
 * are at the end of their files, the types' groups in src/types/typetable.h).
 * src/types/cmd_keys.c: RAFTCACHE.EVICT's handler, a row of the server's;
 * KEYS, which the unit tests call */
cmd_proc cmd_evict, cmd_keys;
/* src/types/cmd_object.c: MEMORY USAGE, in the server's MEMORY rows */
cmd_proc cmd_memory_usage;
/* src/servercmd/cmd_memory.c */
cmd_proc cmd_memory_stats, cmd_memory_doctor, cmd_memory_malloc_stats, cmd_memory_purge,
    cmd_memory_help;
/* src/types/cmd_expire.c: the SET family's TTL rewrites (rows in
 * src/types/cmd_string.c); EXPIRE, called by the unit tests */
cmd_proc cmd_expire;
cmd_rewrite_fn cmd_rewrite_set, cmd_rewrite_getex, cmd_rewrite_setex, cmd_rewrite_psetex;
cmd_key_flags_fn cmd_set_key_flags;
/* src/servercmd/cmd_conn.c (connection and server introspection) */
cmd_proc cmd_ping, cmd_echo, cmd_quit, cmd_hello, cmd_auth, cmd_select, cmd_reset, cmd_client_id,
    cmd_client_setname, cmd_client_getname, cmd_client_setinfo, cmd_client_list, cmd_client_info,
    cmd_client_kill, cmd_client_unblock, cmd_client_help, cmd_time, cmd_shutdown;
/* src/servercmd/cmd_client.c */
cmd_proc cmd_monitor, cmd_client_reply, cmd_client_pause, cmd_client_unpause, cmd_client_no_evict,
    cmd_client_maint_notifications;
/* src/servercmd/cmd_tracking.c */
cmd_proc cmd_client_tracking, cmd_client_caching, cmd_client_getredir, cmd_client_trackinginfo;
/* src/servercmd/cmd_info.c: cmd_info; src/servercmd/cmd_command.c: the COMMAND family */
cmd_proc cmd_info, cmd_command, cmd_command_count, cmd_command_info, cmd_command_docs,
    cmd_command_list, cmd_command_getkeys, cmd_command_getkeysandflags, cmd_command_help;
/* src/servercmd/cmd_config.c */
cmd_proc cmd_config_get, cmd_config_set, cmd_config_resetstat, cmd_config_rewrite, cmd_config_help;
cmd_acl_write_fn cmd_config_set_acl_write;
cmd_call_flags_fn cmd_config_set_call_flags;
/* src/servercmd/cmd_cluster.c */
cmd_proc cmd_raft_info, cmd_raft_auth, cmd_raft_msg, cmd_cluster_slots, cmd_cluster_shards,
    cmd_cluster_nodes, cmd_cluster_info, cmd_cluster_myid, cmd_cluster_keyslot, cmd_cluster_help,
    cmd_asking, cmd_readonly, cmd_readwrite, cmd_raft_readonly, cmd_raft_debug_compact,
    cmd_raft_debug_help;
/* src/servercmd/cmd_role.c */
cmd_proc cmd_role, cmd_wait, cmd_waitaof;
/* src/servercmd/cmd_sentinel.c */
cmd_proc cmd_sentinel_masters, cmd_sentinel_master, cmd_sentinel_replicas, cmd_sentinel_sentinels,
    cmd_sentinel_get_master_addr, cmd_sentinel_myid, cmd_sentinel_ckquorum, cmd_sentinel_help;
/* src/servercmd/cmd_raft.c */
cmd_proc cmd_raft_node_add, cmd_raft_node_remove, cmd_raft_node_help, cmd_raft_cluster_join,
    cmd_raft_cluster_help, cmd_raft_transfer_leader, cmd_raft_import;
/* src/servercmd/cmdtable.c: RAFTCACHE.SERVE cmd arg...: the call of a client woken
 * from blocking, as the leader proposes it (src/server/blocked.h); internal. */
cmd_proc cmd_serve_blocked;
cmd_getkeys_fn cmd_serve_blocked_keys;
/* src/server/multi.c */
cmd_proc cmd_multi, cmd_exec, cmd_discard, cmd_watch, cmd_unwatch;

/* Shared reply texts (Redis's exact wording). */
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_NO_KEY "ERR no such key"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"

#endif
