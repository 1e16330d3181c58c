/*
 * src/config/config.h - the server configuration: one declarative table of
 * directives serving the config file, command-line overrides, CONFIG GET and
 * CONFIG SET.
 *
 * Every directive is a row of config_defs[] (src/config/config.c): its name, type,
 * where its value lives in struct config, its default as text, its bounds,
 * flags and a one-line description. Defaults are set by parsing the default
 * text through the same code as a config file line, so there is one parser
 * per type and no second copy of any default. conf/raftcache.conf documents
 * every row. The module is src/config/config.c (the table, CONFIG SET and GET) and
 * src/config/config_load.c (config files and the command line).
 *
 * Ownership: struct config owns its strings and arrays. After
 * config_init_defaults() every string field is non-NULL (possibly ""). A
 * pointer read from a struct config stays valid until that directive is set
 * again (CONFIG SET) or config_free(); immutable directives therefore keep
 * their pointers for the life of the process.
 *
 * Values are binary-safe where it matters: secrets (requirepass,
 * raft-secret) are struct config_secret, bytes and a length, so a password
 * may hold any byte, NUL included (a config file writes it "\x00"), and is
 * compared by length. Every other value is text: a value holding a NUL byte
 * is refused rather than silently cut short.
 *
 * Return codes: 0 (CONFIG_OK) or one of the negative enum config_status
 * values; the human text goes into the caller's err buffer (always
 * NUL-terminated when errlen > 0).
 *
 * Apply hooks: most values are read where they are used, so storing one is
 * all CONFIG SET needs to do. A directive whose new value must also reach
 * running state (a timer, the log level, clients' parser limits) carries an
 * enum config_apply tag in its row; rows of one setting (an alias, the
 * encoding thresholds) share a tag. The owner of that state registers one
 * config_apply_fn per tag with config_set_apply_hook(); this module knows
 * the tags only, never what a hook does. The contract:
 *   - only config_set_multi() (and config_set()) runs hooks, after every
 *     value was set and config_check() passed: once per directive named,
 *     in argument order, for each whose tag has a hook. Loading files and
 *     the command line never does (the server reads the whole config when
 *     it starts);
 *   - a hook reads the new value from cfg and returns 0, or -1 with the
 *     reason in err when the server cannot take it. CONFIG SET then fails:
 *     every directive gets its old value back and the hooks of the
 *     directives already applied, the refusing one included, run again
 *     (their result ignored), so running state follows the old values;
 *   - so a hook must be idempotent and must accept the value that was in
 *     effect before the CONFIG SET.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#include "raft/raft.h"

enum config_status {
    CONFIG_OK = 0,
    CONFIG_ERR_UNKNOWN = -1,   /* no such directive (or wrong argument count) */
    CONFIG_ERR_IMMUTABLE = -2, /* CONFIG SET of a directive fixed at start */
    CONFIG_ERR_DUPLICATE = -3, /* one CONFIG SET names a directive twice */
    CONFIG_ERR_VALUE = -4,     /* the value was refused */
    CONFIG_ERR_IO = -5,        /* a config file could not be read */
};

enum config_type {
    CONFIG_BOOL,    /* int: 1 yes, 0 no */
    CONFIG_INT,     /* long long in [min, max] */
    CONFIG_MEMORY,  /* long long bytes in [min, max]; "1gb", "100k" accepted */
    CONFIG_STRING,  /* malloc'd char *, never NULL; no NUL byte inside */
    CONFIG_SECRET,  /* struct config_secret: any bytes, NUL included */
    CONFIG_ENUM,    /* int: index into enum_names */
    CONFIG_SPECIAL, /* own parser and formatter (lists, compound values) */
};

enum config_flags {
    CONFIG_IMMUTABLE = 1u << 0,  /* set at start only; CONFIG SET refuses it */
    CONFIG_SENSITIVE = 1u << 1,  /* a secret: callers redact it in logs and MONITOR */
    CONFIG_MULTI_ARG = 1u << 2,  /* takes several words ("bind a b"); one word is split */
    CONFIG_UNREADABLE = 1u << 3, /* never returned by CONFIG GET (raft-secret) */
    CONFIG_REPEATED = 1u << 4,   /* each line adds one ("user"): CONFIG REWRITE keeps the lines */
};

/* Redis's eviction policies (src/sm/evict.h): noeviction refuses writes over
 * maxmemory (-OOM); the others have the leader evict keys. */
enum config_maxmemory_policy {
    CONFIG_MAXMEMORY_NOEVICTION,
    CONFIG_MAXMEMORY_ALLKEYS_LRU,
    CONFIG_MAXMEMORY_ALLKEYS_LFU,
    CONFIG_MAXMEMORY_ALLKEYS_RANDOM,
    CONFIG_MAXMEMORY_VOLATILE_LRU,
    CONFIG_MAXMEMORY_VOLATILE_LFU,
    CONFIG_MAXMEMORY_VOLATILE_RANDOM,
    CONFIG_MAXMEMORY_VOLATILE_TTL,
};

/* The directive's name for a policy ("allkeys-lru"): INFO maxmemory_policy. */
const char *config_maxmemory_policy_name(int policy);

/* enable-debug-command (Redis's protected actions): DEBUG is refused to
 * every client (NO), allowed to all (YES), or to loopback clients only
 * (LOCAL, CLIENT_LOCAL). */
enum config_protected_action {
    CONFIG_PROTECTED_NO = 0,
    CONFIG_PROTECTED_YES = 1,
    CONFIG_PROTECTED_LOCAL = 2,
};

/* supervised (Redis's): how the node tells a supervisor it is ready
 * (src/net/supervise.h). AUTO picks SYSTEMD when NOTIFY_SOCKET is set,
 * UPSTART when UPSTART_JOB is. */
enum config_supervised {
    CONFIG_SUPERVISED_NO = 0,
    CONFIG_SUPERVISED_UPSTART = 1,
    CONFIG_SUPERVISED_SYSTEMD = 2,
    CONFIG_SUPERVISED_AUTO = 3,
};

enum config_read_mode {
    CONFIG_READ_LINEARIZABLE, /* every read confirms leadership (ReadIndex) */
    CONFIG_READ_LEASE,        /* reads trust a leader lease (clock-dependent) */
};

/* Entries in "cluster-members": a Raft configuration's limit, refused above
 * rather than dropped. */
#define CONFIG_MEMBERS_MAX RAFT_MAX_NODES
#define CONFIG_REDIS_DEFS_MAX 160    /* rows of config_redis_defs[] (src/config/config_redis.c) */
#define CONFIG_BIND_MAX 16           /* addresses in "bind" (the server's listener limit) */
#define CONFIG_HOST_MAX 256          /* bytes of a host name, NUL included */
#define CONFIG_SENTINEL_NAME_MAX 128 /* bytes of sentinel-master-name, NUL excluded */
#define CONFIG_INCLUDE_DEPTH 16      /* nested "include" files before we call it a cycle */
#define CONFIG_LINE_MAX 65536        /* bytes of one config file line */
#define CONFIG_ARGS_MAX 1024         /* words on one config file line */
#define CONFIG_PERCENTILES_MAX 16    /* latency-tracking-info-percentiles */

/* One "ID=HOST:PORT" of cluster-members. */
struct config_member {
    long long id;
    char host[CONFIG_HOST_MAX]; /* without IPv6 brackets */
    int port;
};

/* One class of client-output-buffer-limit (Redis semantics; 0 = no limit). */
struct config_obuf_limit {
    long long hard_bytes, soft_bytes, soft_seconds;
};

/* A secret as given: len bytes at ptr, which may include NUL bytes. ptr is
 * malloc'd, never NULL, and NUL-terminated after len bytes (so an empty
 * secret is ""); len == 0 means "not set". Compare with util_secret_eq(). */
struct config_secret {
    char *ptr;
    size_t len;
};

/* What CONFIG SET of a directive must do beyond storing the value: the tag
 * of its row (struct config_def), naming the hook that runs (see the top of
 * this file). The rows say which directives carry which tag. */
/* tls-auth-clients: whether a TLS client must present a certificate the CA
 * signed (yes), may (optional: checked if presented) or is not asked (no). */
enum config_tls_auth { CONFIG_TLS_AUTH_NO = 0, CONFIG_TLS_AUTH_YES, CONFIG_TLS_AUTH_OPTIONAL };

enum config_apply {
    CONFIG_APPLY_NONE = 0,           /* nothing: the value is read where it is used */
    CONFIG_APPLY_MAXCLIENTS,         /* the descriptor limit; may refuse the value */
    CONFIG_APPLY_HZ,                 /* the cron timer's period */
    CONFIG_APPLY_RAFT_LOG_FSYNC,     /* whether the Raft log is fsynced */
    CONFIG_APPLY_LOGLEVEL,           /* the logger's level */
    CONFIG_APPLY_ENCODING_LIMITS,    /* the keyspace's small-value encoding thresholds */
    CONFIG_APPLY_PROTO_MAX_BULK_LEN, /* the largest value, in the keyspace and client parsers */
    CONFIG_APPLY_NOTIFY,             /* the keyspace notifications the apply path fires */
    CONFIG_APPLY_SCRIPT_BUSY,        /* when a script outside the log turns busy */
    CONFIG_APPLY_MONITOR,            /* the slow log's and the latency monitor's settings */
    CONFIG_APPLY_ACCESS,             /* how the keyspace keeps access data (LRU or LFU) */
    CONFIG_APPLY_TLS,                /* the TLS contexts, rebuilt; may refuse the files */
    CONFIG_APPLY_COUNT
};

struct config;

/* An apply hook: makes cfg's new value take effect; returns 0, or -1 with
 * the reason in err when the server cannot take it (see the top of this
 * file). ud is what config_set_apply_hook() was given. */
typedef int config_apply_fn(void *ud, const struct config *cfg, char *err, size_t errlen);

/* A registered hook (config_set_apply_hook). */
struct config_hook {
    config_apply_fn *fn; /* NULL: none */
    void *ud;
};

/* proto-max-bulk-len's ceiling, 4gb. A write larger than the log's largest
 * entry (RAFT_CODEC_MAX_ENTRY, 640 MB) is refused anyway ("write too large
 * for the log"); the ceiling leaves room for values APPEND or SETRANGE grow
 * while keeping every size derived from the directive far from overflow. */
#define PROTO_MAX_BULK_LEN_MAX (4LL << 30)

/* One "user" directive: its words after "user" (the name, then rules). */
struct config_user_line {
    int argc;
    char **argv;
};
#define CONFIG_USERS_MAX 10000 /* "user" directives at most */

/* One "rename-command" directive (src/cmd/rename.h applies them, in file
 * order, when the server starts). */
struct config_rename {
    char *from, *to; /* to "" takes the command away */
    char *origin;    /* FATAL CONFIG FILE ERROR's file, line and text; NULL from argv */
};
#define CONFIG_RENAMES_MAX 1024 /* "rename-command" directives at most */

struct config {
    /* network */
    char *bind[CONFIG_BIND_MAX];
    int bind_count; /* >= 1 */
    long long port;
    /* Where port's value came from, "file:line\n>>> 'port 0'" (or the
     * command line argument), for config_check()'s refusal of port 0,
     * which depends on tls-cluster; NULL: the default. */
    char *port_origin;
    long long tcp_backlog;
    long long tcp_keepalive; /* seconds; 0 = off */
    long long timeout;       /* idle client timeout in seconds; 0 = never */
    long long maxclients;
    /* node and cluster */
    char *dir;
    char *dbfilename; /* a file name in dir, never a path (SAVE, BGSAVE) */
    long long node_id;
    struct config_member *members; /* malloc'd; NULL when members_count == 0 */
    int members_count;             /* 0 = this node alone */
    char *advertise_addr;          /* "" = first bind address and port */
    /* requirepass: len 0 = no AUTH needed; raft_secret: len 0 = peer
     * commands refused */
    struct config_secret requirepass;
    struct config_secret raft_secret;
    /* REPLICAOF's link to a Redis master (src/server/replof.h) */
    struct config_secret masterauth;
    char *masteruser; /* "" = AUTH <masterauth> alone */
    long long repl_timeout;
    int protected_mode; /* without requirepass, only loopback clients (src/net/conn.c) */
    /* ACL (src/acl/acl.h; src/server/aclstate.h makes the users of them):
     * the "user" directives in file order, or the aclfile ("" = none) */
    struct config_user_line *acl_users;
    int acl_users_count;
    struct config_rename *renames; /* the rename-command directives in file order */
    int renames_count;
    char *aclfile;
    long long acllog_max_len; /* ACL LOG's entries at most */
    int acl_pubsub_default;   /* 1: new users reach every channel (allchannels) */
    int enable_debug_command; /* enum config_protected_action: who may run DEBUG */
    /* logging */
    int loglevel;             /* enum log_level (src/base/log.h) */
    char *logfile;            /* "" = stdout */
    char *unixsocket;         /* "" = none: the path of a Unix socket clients may use */
    long long unixsocketperm; /* its mode bits, 0 = as the umask leaves them */
    /* Redis directives kept but not applied (config_redis_defs): the
     * value a file, the command line or CONFIG SET gave; NULL: default */
    char *redis_values[CONFIG_REDIS_DEFS_MAX];
    /* the process (src/net/supervise.h) */
    int daemonize;        /* detach into the background (unless supervised) */
    int always_show_logo; /* the start-up banner: version, port, pid */
    char *pidfile;        /* "" = none (a daemonized node then writes Redis's default) */
    int supervised;       /* enum config_supervised */
    /* limits */
    long long proto_max_bulk_len; /* <= PROTO_MAX_BULK_LEN_MAX */
    long long client_query_buffer_limit;
    long long obuf_hard_limit, obuf_soft_limit, obuf_soft_seconds; /* normal clients */
    /* replica and pubsub classes: raftcache has no such clients; kept so that
     * client-output-buffer-limit round-trips through CONFIG SET/GET as in Redis */
    struct config_obuf_limit obuf_replica, obuf_pubsub;
    long long hz;
    long long maxmemory;                   /* bytes; 0 = no limit */
    int maxmemory_policy;                  /* enum config_maxmemory_policy */
    long long maxmemory_samples;           /* keys sampled per eviction choice */
    long long tracking_table_max_keys;     /* CLIENT TRACKING's key table, at most (0: none) */
    long long maxmemory_eviction_tenacity; /* 0..100: time an eviction round may take */
    long long lfu_log_factor, lfu_decay_time;
    long long databases;             /* numbered databases, 1..KV_DBS_MAX */
    unsigned notify_keyspace_events; /* src/keyspace/notify.h's flags; 0 = none */
    /* encodings of small values (src/keyspace/types.h struct kv_limits) */
    long long hash_max_listpack_entries, hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries, zset_max_listpack_value;
    long long hll_sparse_max_bytes;
    long long list_max_listpack_size, list_compress_depth;
    /* raft */
    long long raft_election_timeout_ms;
    long long raft_heartbeat_ms;
    long long busy_reply_threshold;         /* ms; a read's script turns busy after it */
    long long lua_replicated_budget;        /* Lua instructions per script run; 0 = unbounded */
    long long raft_snapshot_threshold;      /* applied entries between snapshots */
    long long raft_snapshot_log_min_size;   /* bytes: the size rule's floor */
    long long raft_log_max_memory;          /* bytes of applied entries kept in memory */
    long long raft_snapshot_log_percentage; /* of the last snapshot's size */
    int raft_log_fsync;
    int raft_read_mode;         /* enum config_read_mode */
    int raft_follower_proxy;    /* followers forward instead of -MOVED (src/server/proxy.h) */
    char *sentinel_master_name; /* the name SENTINEL commands know the leader by */
    int stepdown_close_clients; /* a leader that steps down closes clients (cmd_sentinel.h) */
    long long raft_max_inflight_msgs;
    long long raft_max_entries_per_msg;
    long long raft_request_timeout_ms;
    /* start on snapshot.rcs without raftcache.db (docs/storage-safety.md) */
    int raft_start_from_snapshot;
    /* TLS (src/tls/tls.h): a port of its own beside port; "" = not set */
    long long tls_port; /* 0 = none */
    char *tls_cert_file, *tls_key_file, *tls_client_cert_file, *tls_client_key_file;
    struct config_secret tls_key_file_pass, tls_client_key_file_pass;
    char *tls_ca_cert_file, *tls_ca_cert_dir, *tls_dh_params_file;
    int tls_auth_clients; /* enum config_tls_auth */
    char *tls_protocols;  /* "" = TLSv1.2 TLSv1.3 */
    char *tls_ciphers, *tls_ciphersuites;
    int tls_prefer_server_ciphers, tls_session_caching;
    long long tls_session_cache_size, tls_session_cache_timeout;
    long long tls_auto_reload_interval; /* seconds between looks at the files; 0 = never */
    int tls_cluster;                    /* the links between nodes speak TLS, to tls-port */
    int tls_replication; /* the same links (Redis's name for them): equal to tls_cluster */
    /* monitoring (src/cmd/monitor.h) */
    long long slowlog_log_slower_than; /* us; < 0 = off */
    long long slowlog_max_len;
    long long latency_monitor_threshold; /* ms; 0 = off */
    int latency_tracking;
    double latency_percentiles[CONFIG_PERCENTILES_MAX]; /* INFO latencystats */
    int latency_percentiles_count;
    /* CONFIG SET apply hooks, indexed by enum config_apply */
    struct config_hook hooks[CONFIG_APPLY_COUNT];
};

struct config_special;

/* A row of the directive table. */
struct config_def {
    const char *name; /* lower case */
    enum config_type type;
    size_t offset; /* of the field in struct config (unused by SPECIAL) */
    const char *default_text;
    long long min, max; /* INT, MEMORY */
    /* ENUM: NULL-terminated; index = stored value. A single name marks a Redis
     * directive of which only that value is implemented: a refusal says so,
     * with doc as the reason, instead of listing the one name. */
    const char *const *enum_names;
    unsigned flags;                       /* enum config_flags */
    const struct config_special *special; /* SPECIAL only: its parser and formatter */
    int (*check)(const char *value, char *err, size_t errlen); /* STRING, INT: optional validator */
    const char *doc;         /* one line; conf/raftcache.conf says more */
    enum config_apply apply; /* the hook CONFIG SET runs; CONFIG_APPLY_NONE for most */
};

extern const struct config_def config_defs[];
extern const int config_defs_count;

/* Redis 7.0's directives raftcache accepts without applying them, or
 * refuses with the reason (src/config/config_redis.c, docs/redis-conf.md):
 * config_lookup(), config_set*() and config_get() know them as well. */
extern const struct config_def config_redis_defs[];
extern const int config_redis_defs_count;
const struct config_def *config_redis_lookup(const char *name);
/* Calls fn with each line (at most max bytes, 256 to 1024) that lists the
 * directives a file or the command line set among those, by reason: for
 * the start-up log. */
typedef void config_report_fn(void *ud, const char *line);
void config_redis_report(const struct config *c, size_t max, config_report_fn *fn, void *ud);
/* Frees their values (config_free() calls it). */
void config_redis_free(struct config *c);

/* Fills c with every default, no apply hook registered. c's previous
 * contents are ignored (not freed). */
void config_init_defaults(struct config *c);

/* Frees every owned string and array; c may be initialised again after. */
void config_free(struct config *c);

/* Registers fn (NULL: none) as the hook of every directive tagged what
 * (not CONFIG_APPLY_NONE), replacing any before; config_set*() calls
 * fn(ud, c, ...) as the top of this file says. */
void config_set_apply_hook(struct config *c, enum config_apply what, config_apply_fn *fn, void *ud);

/* Case-insensitive lookup; NULL if there is no such directive. */
const struct config_def *config_lookup(const char *name);

/*
 * Loads a redis.conf-style file on top of c: one "directive arg..." per line,
 * '#' comments, blank lines, "..." (with \n \r \t \b \a \xHH \\ \" escapes)
 * and '...' (with \') quoting, names case-insensitive, later lines win.
 * "include PATH" loads another file at that point; a relative PATH is taken
 * from the directory of the file that includes it (not from the cwd), and
 * includes nest at most CONFIG_INCLUDE_DEPTH deep (a cycle hits that bound).
 *
 * On failure, err holds a block for the operator, like Redis's:
 *     *** FATAL CONFIG FILE ERROR ***
 *     path:line
 *     >>> 'the offending line'
 *     reason
 * and returns CONFIG_ERR_IO, CONFIG_ERR_UNKNOWN or CONFIG_ERR_VALUE. Lines
 * before the bad one stay applied: the caller is expected to exit.
 */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Loads a command line "prog [CONFIG-FILE] [--directive value ...]" as main()
 * receives it (argv[0] is skipped). A first argument not starting with "--"
 * is a config file, loaded first; then every "--directive" takes the
 * arguments up to the next "--..." as its values ("--save" with none gets
 * one empty value, as in Redis). A single value of a MULTI_ARG directive is
 * split into words: --bind "127.0.0.1 ::1". "--include PATH" is relative to
 * the cwd. Ends with config_check(). Errors are reported like
 * config_load_file()'s, located as "command line argument N" (N indexes argv).
 * This is all main() needs: on failure, print err and exit non-zero.
 */
int config_load_args(struct config *c, int argc, char **argv, char *err, size_t errlen);

/*
 * Rules spanning several directives (node-id listed in cluster-members,
 * heartbeat shorter than the election timeout). config_load_file() does not
 * apply them, because the command line may fix what the file says;
 * config_load_args() (the whole start-up configuration) and config_set*() do.
 */
int config_check(const struct config *c, char *err, size_t errlen);

/*
 * CONFIG SET name value [name value ...]: all or nothing. value_lens gives
 * each value's length (values are binary-safe: a secret may hold NUL bytes);
 * NULL means every value is a NUL-terminated string. Every name is looked
 * up and checked (unknown, immutable, duplicate) before any value is set;
 * values are then set in order and, if one is refused or the result breaks
 * config_check(), every directive set so far gets its old value back.
 * On failure err holds the exact Redis 7 error reply text (without the
 * leading '-'), e.g.
 *   ERR Unknown option or number of arguments for CONFIG SET - 'foo'
 *   ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config
 *   ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between ...
 * On success the apply hooks run, once per directive that has one, in
 * argument order. If one refuses (e.g. maxclients beyond what the
 * descriptor limit allows), every directive gets its old value back, the
 * hooks run again for the ones already applied, and err holds
 *   ERR CONFIG SET failed (possibly related to argument 'maxclients') - <reason>
 */
int config_set_multi(struct config *c, int n, const char *const *names, const char *const *values,
                     const size_t *value_lens, char *err, size_t errlen);

/* config_set_multi() with one pair. */
int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen);

/* Called by config_get() for each match; value is value_len bytes (a secret
 * may hold NUL bytes; it is NUL-terminated after them too). Both strings live
 * only during the call. */
typedef void config_get_fn(void *ud, const char *name, const char *value, size_t value_len);

/*
 * CONFIG GET pattern [pattern ...]: calls fn(ud, name, value) once per
 * directive matching any of the npat glob patterns (case-insensitive), in
 * table order. Values are formatted as Redis does: bools yes/no, memory in
 * bytes, enums by name, lists space-separated, secrets as their bytes.
 * CONFIG_UNREADABLE directives (raft-secret) never match: no pattern
 * returns them.
 */
void config_get(const struct config *c, int npat, const char *const *patterns,
                const size_t *pattern_lens, config_get_fn *fn, void *ud);

/* CONFIG REWRITE: c's values written into the file at path, as Redis 7.0
 * rewrites (src/config/config_rewrite.c): other lines kept, a directive's
 * first line rewritten and its others dropped, changed directives the file
 * lacks appended; the file replaced atomically. Returns 0, or
 * CONFIG_ERR_IO with the reason in err (the file then is as it was). */
int config_rewrite(const struct config *c, const char *path, char *err, size_t errlen);

/* Formats def's current value into buf (NUL-terminated when len > 0).
 * Returns the full length, which may exceed len - 1 (like snprintf); a
 * secret is copied as it is, so its length is the returned one, not
 * strlen(buf). */
int config_format_value(const struct config *c, const struct config_def *def, char *buf,
                        size_t len);

/*
 * Parses "HOST:PORT" (HOST may be "[v6addr]"): host gets the host without
 * brackets, port a value in 1..65535. Returns 0, or CONFIG_ERR_VALUE with the
 * reason in err. The rule cluster-members and advertise-addr use, exported
 * for commands taking a peer address (RAFT.NODE ADD, RAFT.CLUSTER JOIN).
 */
int config_parse_hostport(const char *s, size_t len, char host[CONFIG_HOST_MAX], int *port,
                          char *err, size_t errlen);

/* The address this node tells others: advertise-addr when set, otherwise the
 * first bind address ("*" means 127.0.0.1) and port. */
void config_advertise(const struct config *c, char host[CONFIG_HOST_MAX], int *port);

#endif
