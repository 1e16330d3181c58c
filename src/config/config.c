/*
 * src/config/config.c - the directive table, its value types and everything that
 * writes or reads a struct config once it exists: defaults, checks, the
 * advertised address. The multi-word values' parsers are config_special.c's;
 * CONFIG SET and CONFIG GET are config_set.c's; reading config files and the
 * command line is config_load.c's; the helpers they share are declared in
 * config_int.h.
 *
 * Every value enters through config_set_words(): defaults, file lines,
 * command-line overrides, CONFIG SET and the rollback of a failed CONFIG
 * SET. So they all accept and refuse exactly the same text, and a formatted
 * value always parses back to itself (the rollback relies on that).
 *
 * Each setter is all-or-nothing for its own directive: it parses into locals
 * and only then replaces the stored value, so a refused value leaves the
 * config as it was.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/config_int.h"
#include "keyspace/dbs.h"
#include "base/log.h"
#include "base/util.h"
#include "raft/raft_assert.h"

_Static_assert(LOG_LEVEL_DEBUG == 0 && LOG_LEVEL_WARNING == 3, "loglevel_names[] follows log.h");

/* ---------------------------------------------------------------- helpers */

char *config_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(util_xmalloc(n), s, n);
}

void config_out_printf(struct config_out *o, const char *fmt, ...)
{
    size_t room = o->n < o->len ? o->len - o->n : 0;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(room ? o->buf + o->n : NULL, room, fmt, ap);
    va_end(ap);
    if (w > 0) o->n += (size_t)w;
}

struct config_out config_out_start(char *buf, size_t len)
{
    if (len) buf[0] = '\0';
    return (struct config_out){buf, len, 0};
}

#define FIELD(c, d, type) ((type *)(void *)((char *)(c) + (d)->offset))
#define CFIELD(c, d, type) ((const type *)(const void *)((const char *)(c) + (d)->offset))

/* ------------------------------------------------------- splitting words */

static char unescape(char ch)
{
    static const char from[] = "nrtba", to[] = "\n\r\t\b\a";
    const char *p = ch ? strchr(from, ch) : NULL;
    return p ? to[p - from] : ch;
}

/* One word starting at *pp, as Redis's sdssplitargs reads it: quotes may
 * start mid-word, a closing quote must end the word. -1 on bad quoting. */
static int split_one(const char **pp, char **outp)
{
    const char *p = *pp;
    char *out = *outp;
    char quote = 0;
    for (;;) {
        if (quote == '"' && p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
            isxdigit((unsigned char)p[3])) {
            char hex[3] = {p[2], p[3], '\0'};
            *out++ = (char)strtol(hex, NULL, 16);
            p += 4;
        } else if (quote == '"' && p[0] == '\\' && p[1]) {
            *out++ = unescape(p[1]);
            p += 2;
        } else if (quote == '\'' && p[0] == '\\' && p[1] == '\'') {
            *out++ = '\'';
            p += 2;
        } else if (quote && *p == quote) {
            if (p[1] && !isspace((unsigned char)p[1])) return -1;
            p++;
            break;
        } else if (quote) {
            if (!*p) return -1;
            *out++ = *p++;
        } else if (!*p || isspace((unsigned char)*p)) {
            break;
        } else if (*p == '"' || *p == '\'') {
            quote = *p++;
        } else {
            *out++ = *p++;
        }
    }
    *pp = p;
    *outp = out;
    return 0;
}

int config_split_words(const char *s, struct config_words *w, char *err, size_t errlen)
{
    w->argc = 0;
    w->buf = util_xmalloc(2 * strlen(s) + 2);
    char *out = w->buf;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s) return 0;
        if (w->argc == CONFIG_ARGS_MAX)
            return util_fail(err, errlen, CONFIG_ERR_VALUE, "more than %d arguments on one line",
                             CONFIG_ARGS_MAX);
        char *start = out;
        w->argv[w->argc] = start;
        w->lens[w->argc++] = 0;
        if (split_one(&s, &out) < 0)
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "Unbalanced quotes in configuration line");
        w->lens[w->argc - 1] = (size_t)(out - start);
        *out++ = '\0';
    }
}

void config_words_free(struct config_words *w)
{
    free(w->buf);
}

/* ------------------------------------------------------ the scalar types */

static int set_bool(struct config *c, const struct config_def *d, const char *v, char *err,
                    size_t errlen)
{
    ASSERT(d->type == CONFIG_BOOL);
    int b = !strcasecmp(v, "yes") ? 1 : !strcasecmp(v, "no") ? 0 : -1;
    if (b < 0) return util_fail(err, errlen, CONFIG_ERR_VALUE, "argument must be 'yes' or 'no'");
    *FIELD(c, d, int) = b;
    return 0;
}

int config_parse_memory(const char *v, long long *out)
{
    return v[0] != '-' && util_memtoll(v, strlen(v), out);
}

static int set_number(struct config *c, const struct config_def *d, const char *v, char *err,
                      size_t errlen)
{
    ASSERT((d->type == CONFIG_INT || d->type == CONFIG_MEMORY) && d->min <= d->max);
    long long n;
    if (d->type == CONFIG_MEMORY) {
        if (!config_parse_memory(v, &n))
            return util_fail(err, errlen, CONFIG_ERR_VALUE, "argument must be a memory value");
    } else if (!util_str2ll(v, strlen(v), &n)) {
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "argument couldn't be parsed into an integer");
    } else if (d->check) {
        int rc = d->check(v, err, errlen);
        if (rc) return rc;
    }
    if (n < d->min || n > d->max)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "argument must be between %lld and %lld inclusive", d->min, d->max);
    *FIELD(c, d, long long) = n;
    return 0;
}

static int set_string(struct config *c, const struct config_def *d, const char *v, char *err,
                      size_t errlen)
{
    ASSERT(d->type == CONFIG_STRING);
    if (d->check) {
        int rc = d->check(v, err, errlen);
        if (rc) return rc;
    }
    char **slot = FIELD(c, d, char *);
    char *copy = config_xstrdup(v);
    free(*slot);
    *slot = copy;
    return 0;
}

/* Any bytes, as given; the old secret is wiped before its memory is freed. */
static void free_secret(struct config_secret *s)
{
    if (!s->ptr) return;
    explicit_bzero(s->ptr, s->len);
    free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
}

static int set_secret(struct config *c, const struct config_def *d, const char *v, size_t len)
{
    ASSERT(d->type == CONFIG_SECRET && v != NULL);
    struct config_secret *slot = FIELD(c, d, struct config_secret);
    char *copy = util_xmalloc(len + 1);
    memcpy(copy, v, len);
    copy[len] = '\0';
    free_secret(slot);
    slot->ptr = copy;
    slot->len = len;
    return 0;
}

static int set_enum(struct config *c, const struct config_def *d, const char *v, char *err,
                    size_t errlen)
{
    ASSERT(d->type == CONFIG_ENUM && d->enum_names != NULL);
    for (int i = 0; d->enum_names[i]; i++) {
        if (!strcasecmp(v, d->enum_names[i])) {
            *FIELD(c, d, int) = i;
            return 0;
        }
    }
    struct config_out o = config_out_start(err, errlen);
    config_out_printf(&o, "argument(s) must be one of the following: ");
    for (int i = 0; d->enum_names[i]; i++)
        config_out_printf(&o, "%s%s", i ? ", " : "", d->enum_names[i]);
    return CONFIG_ERR_VALUE;
}

/* Text values are used as C strings: a NUL byte inside one would silently
 * cut it short, so it is refused (lens NULL: C strings already). */
static int refuse_nul(int argc, const char *const *argv, const size_t *lens, char *err,
                      size_t errlen)
{
    for (int i = 0; lens && i < argc; i++)
        if (memchr(argv[i], '\0', lens[i]))
            return util_fail(err, errlen, CONFIG_ERR_VALUE, "argument must not contain a NUL byte");
    return 0;
}

/* The one way a value gets in (see the top of the file). */
int config_set_words(struct config *c, const struct config_def *d, int argc,
                     const char *const *argv, const size_t *lens, char *err, size_t errlen)
{
    int multi = (d->flags & CONFIG_MULTI_ARG) != 0;
    if (!multi && argc != 1)
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "wrong number of arguments");
    if (d->type == CONFIG_SECRET)
        return set_secret(c, d, argv[0], lens ? lens[0] : strlen(argv[0]));
    int rc = refuse_nul(argc, argv, lens, err, errlen);
    if (rc) return rc;
    if (multi && argc == 1 && argv[0][0]) {
        /* One word for a list ("bind 'a b'", CONFIG SET bind "a b"): split it,
         * as Redis does; an empty word stays one empty argument (save ""). */
        ASSERT(d->special != NULL); /* a multi-word directive is a special one */
        struct config_words w;
        rc = config_split_words(argv[0], &w, err, errlen);
        if (rc == 0) rc = refuse_nul(w.argc, (const char *const *)w.argv, w.lens, err, errlen);
        if (rc == 0) rc = d->special->set(c, d, w.argc, (const char *const *)w.argv, err, errlen);
        config_words_free(&w);
        return rc;
    }
    switch (d->type) {
    case CONFIG_BOOL:
        return set_bool(c, d, argv[0], err, errlen);
    case CONFIG_INT:
    case CONFIG_MEMORY:
        return set_number(c, d, argv[0], err, errlen);
    case CONFIG_STRING:
        return set_string(c, d, argv[0], err, errlen);
    case CONFIG_ENUM:
        return set_enum(c, d, argv[0], err, errlen);
    case CONFIG_SPECIAL:
        return d->special->set(c, d, argc, argv, err, errlen);
    case CONFIG_SECRET:
        break; /* set above */
    }
    ASSERT_UNREACHABLE("unknown config type");
}

/* ------------------------------------------------------------- the table */

/* Indexed by enum log_level. */
static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};
/* Indexed by enum config_maxmemory_policy. */
static const char *const maxmemory_policy_names[] = {
    "noeviction",      "allkeys-lru",  "allkeys-lfu",
    "allkeys-random",  "volatile-lru", "volatile-lfu",
    "volatile-random", "volatile-ttl", NULL};
const char *config_maxmemory_policy_name(int policy)
{
    size_t n = sizeof maxmemory_policy_names / sizeof maxmemory_policy_names[0] - 1;
    return policy >= 0 && (size_t)policy < n ? maxmemory_policy_names[policy] : "unknown";
}

/* Indexed by enum config_protected_action. */
static const char *const protected_action_names[] = {"no", "yes", "local", NULL};
static const char *const supervised_names[] = {"no", "upstart", "systemd", "auto", NULL};
/* Indexed by enum config_tls_auth. */
static const char *const tls_auth_names[] = {"no", "yes", "optional", NULL};
static const char *const pubsub_default_names[] = {"resetchannels", "allchannels", NULL};
/* Indexed by enum config_read_mode. */
static const char *const read_mode_names[] = {"linearizable", "lease", NULL};

#define OFF(field) offsetof(struct config, field)
#define IMM CONFIG_IMMUTABLE
/* Positional, in struct config_def's order: name, type, offset, default,
 * min, max, enum names, flags, special, check, doc and, only where CONFIG
 * SET has a side effect, the apply tag (omitted: CONFIG_APPLY_NONE). The
 * DEF_ macros of the types that take a tag pass "doc[, apply]" through. */
#define ROW(...)                                                                                   \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define DEF_BOOL(n, f, d, fl, ...)                                                                 \
    ROW(n, CONFIG_BOOL, OFF(f), d, 0, 0, NULL, fl, NULL, NULL, __VA_ARGS__)
#define DEF_INT(n, f, d, lo, hi, fl, ...)                                                          \
    ROW(n, CONFIG_INT, OFF(f), d, lo, hi, NULL, fl, NULL, NULL, __VA_ARGS__)
#define DEF_MEM(n, f, d, lo, fl, ...)                                                              \
    ROW(n, CONFIG_MEMORY, OFF(f), d, lo, LLONG_MAX, NULL, fl, NULL, NULL, __VA_ARGS__)
#define DEF_MEM_MAX(n, f, d, lo, hi, fl, ...)                                                      \
    ROW(n, CONFIG_MEMORY, OFF(f), d, lo, hi, NULL, fl, NULL, NULL, __VA_ARGS__)
#define DEF_STR(n, f, d, chk, fl, ...)                                                             \
    ROW(n, CONFIG_STRING, OFF(f), d, 0, 0, NULL, fl, NULL, chk, __VA_ARGS__)
#define DEF_SECRET(n, f, fl, doc) ROW(n, CONFIG_SECRET, OFF(f), "", 0, 0, NULL, fl, NULL, NULL, doc)
#define DEF_ENUM(n, f, d, names, fl, ...)                                                          \
    ROW(n, CONFIG_ENUM, OFF(f), d, 0, 0, names, fl, NULL, NULL, __VA_ARGS__)
#define DEF_SPECIAL(n, d, sp, fl, ...)                                                             \
    ROW(n, CONFIG_SPECIAL, 0, d, 0, 0, NULL, fl, &sp, NULL, __VA_ARGS__)

#define MB (1024LL * 1024)

const struct config_def config_defs[] = {
    DEF_SPECIAL("bind", "127.0.0.1", config_bind_special, IMM | CONFIG_MULTI_ARG,
                "addresses to listen on (numeric IPv4/IPv6, or * for all)"),
    ROW("port", CONFIG_INT, OFF(port), "6379", 0, 65535, NULL, IMM, NULL, NULL,
        "client port; Raft peers use the same port (tls-port with tls-cluster yes); 0: none, "
        "with tls-cluster yes only"),
    DEF_INT("tcp-backlog", tcp_backlog, "511", 0, INT_MAX, IMM, "listen() backlog"),
    DEF_STR("unixsocket", unixsocket, "", NULL, IMM,
            "a Unix socket clients may connect to besides the port; empty = none"),
    DEF_SPECIAL("unixsocketperm", "0", config_perm_special, IMM,
                "the Unix socket's permissions, in octal; 0 = as the umask leaves them"),
    DEF_INT("tcp-keepalive", tcp_keepalive, "300", 0, INT_MAX, 0,
            "seconds between TCP keepalive probes to clients; 0 = off"),
    DEF_INT("timeout", timeout, "0", 0, INT_MAX, 0,
            "close a client idle this many seconds; 0 = never"),
    DEF_INT("maxclients", maxclients, "10000", 1, UINT_MAX, 0, "most simultaneous clients",
            CONFIG_APPLY_MAXCLIENTS),
    DEF_STR("dir", dir, "./data", config_check_dir, IMM,
            "data directory (created if missing); holds the SQLite file(s)"),
    DEF_STR("dbfilename", dbfilename, "dump.rdb", config_check_dbfilename, 0,
            "the file in dir that SAVE and BGSAVE write (a Redis 7.0 dump.rdb)"),
    DEF_INT("node-id", node_id, "1", 1, LLONG_MAX, IMM,
            "this node's id, a positive integer unique in the cluster"),
    DEF_SPECIAL("cluster-members", "", config_members_special, IMM | CONFIG_MULTI_ARG,
                "ID=HOST:PORT ... for first boot only; empty = this node alone"),
    DEF_STR("advertise-addr", advertise_addr, "", config_check_advertise, IMM,
            "HOST:PORT other nodes and MOVED replies use; empty = first bind address:port"),
    DEF_BOOL("protected-mode", protected_mode, "yes", 0,
             "without requirepass, clients not on the loopback interface get -DENIED; Raft "
             "peers may still authenticate with raft-secret"),
    DEF_ENUM("enable-debug-command", enable_debug_command, "no", protected_action_names, IMM,
             "who may run DEBUG (DIGEST, DIGEST-VALUE): no one (no), every client (yes), or "
             "clients on the loopback interface (local)"),
    DEF_SECRET("requirepass", requirepass, CONFIG_SENSITIVE,
               "the default user's password (any bytes); empty = nopass"),
    DEF_SECRET("masterauth", masterauth, CONFIG_SENSITIVE,
               "the password REPLICAOF's link sends to the Redis master (AUTH); empty = none"),
    DEF_STR("masteruser", masteruser, "", NULL, 0,
            "the ACL user REPLICAOF's link authenticates as with masterauth; empty = AUTH "
            "<masterauth> alone"),
    DEF_INT("repl-timeout", repl_timeout, "60", 1, INT_MAX, 0,
            "seconds of silence after which REPLICAOF's link to its master is closed and "
            "opened again"),
    DEF_SPECIAL("user", "", config_user_special,
                IMM | CONFIG_MULTI_ARG | CONFIG_UNREADABLE | CONFIG_SENSITIVE | CONFIG_REPEATED,
                "an ACL user: user <name> [rules ...], one directive a user (not with aclfile)"),
    DEF_SPECIAL("rename-command", "", config_rename_special,
                IMM | CONFIG_MULTI_ARG | CONFIG_UNREADABLE | CONFIG_REPEATED,
                "rename-command <command> <new name>: clients of this node call the command by "
                "the new name only (\"\" takes it away); the log, scripts and ACL rules keep "
                "its own name"),
    DEF_STR("aclfile", aclfile, "", NULL, IMM,
            "file of ACL users (user <name> rules...), read at start and by ACL LOAD, "
            "written by ACL SAVE; empty = none"),
    DEF_INT("acllog-max-len", acllog_max_len, "128", 0, LLONG_MAX, 0,
            "failed logins and denied commands ACL LOG keeps"),
    DEF_ENUM("acl-pubsub-default", acl_pubsub_default, "resetchannels", pubsub_default_names, 0,
             "the channels a new ACL user reaches: none (resetchannels) or all (allchannels)"),
    DEF_SECRET("raft-secret", raft_secret, IMM | CONFIG_SENSITIVE | CONFIG_UNREADABLE,
               "shared secret peers must present (any bytes; never shown by CONFIG GET); "
               "empty = peer commands refused"),
    ROW("tls-port", CONFIG_INT, OFF(tls_port), "0", 0, 65535, NULL, IMM, NULL, NULL,
        "a port of its own for TLS clients, beside port; 0 = none (docs/security.md)"),
    DEF_STR("tls-cert-file", tls_cert_file, "", NULL, 0,
            "the node's certificate (PEM), presented to TLS clients", CONFIG_APPLY_TLS),
    DEF_STR("tls-key-file", tls_key_file, "", NULL, 0, "tls-cert-file's private key (PEM)",
            CONFIG_APPLY_TLS),
    ROW("tls-key-file-pass", CONFIG_SECRET, OFF(tls_key_file_pass), "", 0, 0, NULL,
        CONFIG_SENSITIVE, NULL, NULL, "tls-key-file's passphrase, if it is encrypted",
        CONFIG_APPLY_TLS),
    DEF_STR("tls-client-cert-file", tls_client_cert_file, "", NULL, 0,
            "the certificate the node presents when it dials TLS (peer links, once they speak "
            "TLS); empty = tls-cert-file",
            CONFIG_APPLY_TLS),
    DEF_STR("tls-client-key-file", tls_client_key_file, "", NULL, 0,
            "tls-client-cert-file's private key", CONFIG_APPLY_TLS),
    ROW("tls-client-key-file-pass", CONFIG_SECRET, OFF(tls_client_key_file_pass), "", 0, 0, NULL,
        CONFIG_SENSITIVE, NULL, NULL, "tls-client-key-file's passphrase", CONFIG_APPLY_TLS),
    DEF_STR("tls-ca-cert-file", tls_ca_cert_file, "", NULL, 0,
            "CA certificates (PEM) that client certificates must be signed by", CONFIG_APPLY_TLS),
    DEF_STR("tls-ca-cert-dir", tls_ca_cert_dir, "", NULL, 0,
            "a directory of CA certificates (c_rehash layout), with or instead of "
            "tls-ca-cert-file",
            CONFIG_APPLY_TLS),
    DEF_STR("tls-dh-params-file", tls_dh_params_file, "", NULL, 0,
            "DH parameters (PEM) for DHE ciphers; empty = OpenSSL's built-in ones",
            CONFIG_APPLY_TLS),
    DEF_ENUM("tls-auth-clients", tls_auth_clients, "yes", tls_auth_names, 0,
             "TLS clients must present a certificate the CA signed (yes), may (optional) or are "
             "not asked (no)",
             CONFIG_APPLY_TLS),
    DEF_STR("tls-protocols", tls_protocols, "", config_check_tls_protocols, 0,
            "TLS versions accepted, among TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; empty = TLSv1.2 TLSv1.3",
            CONFIG_APPLY_TLS),
    DEF_STR("tls-ciphers", tls_ciphers, "", NULL, 0,
            "TLSv1.2 and older cipher list (OpenSSL syntax); empty = OpenSSL's default",
            CONFIG_APPLY_TLS),
    DEF_STR("tls-ciphersuites", tls_ciphersuites, "", NULL, 0,
            "TLSv1.3 cipher suites (OpenSSL syntax); empty = OpenSSL's default", CONFIG_APPLY_TLS),
    DEF_BOOL("tls-prefer-server-ciphers", tls_prefer_server_ciphers, "no", 0,
             "choose the cipher by the node's order, not the client's", CONFIG_APPLY_TLS),
    DEF_BOOL("tls-session-caching", tls_session_caching, "yes", 0,
             "let TLS clients resume sessions (an abbreviated handshake)", CONFIG_APPLY_TLS),
    DEF_INT("tls-session-cache-size", tls_session_cache_size, "20480", 1, INT_MAX, 0,
            "TLS sessions cached at most", CONFIG_APPLY_TLS),
    DEF_INT("tls-session-cache-timeout", tls_session_cache_timeout, "300", 1, INT_MAX, 0,
            "seconds a cached TLS session may be resumed", CONFIG_APPLY_TLS),
    DEF_BOOL("tls-cluster", tls_cluster, "no", IMM,
             "every link between nodes (Raft, pub/sub, the follower proxy, joins) speaks TLS to "
             "the members' tls-port, with certificates both ways; cluster-members and "
             "advertise-addr then name tls-ports"),
    DEF_BOOL("tls-replication", tls_replication, "no", IMM,
             "Redis's name for the links between nodes: must equal tls-cluster"),
    DEF_INT("tls-auto-reload-interval", tls_auto_reload_interval, "0", 0, INT_MAX, 0,
            "seconds between looks at the TLS files: a changed one is loaded without a "
            "restart; 0 = never (CONFIG SET of a tls-* directive always reloads)"),
    DEF_ENUM("loglevel", loglevel, "notice", loglevel_names, 0, "debug, verbose, notice or warning",
             CONFIG_APPLY_LOGLEVEL),
    DEF_STR("logfile", logfile, "", NULL, IMM, "log file path; empty = stdout"),
    DEF_BOOL("always-show-logo", always_show_logo, "no", IMM,
             "at start, log a banner with the version, the port and the pid (Redis's logo has "
             "the same \" PID: \" line, which Redis's test suite reads)"),
    DEF_BOOL("daemonize", daemonize, "no", IMM,
             "run in the background (fork, detach, standard streams to /dev/null); ignored "
             "when supervised"),
    DEF_STR("pidfile", pidfile, "", NULL, IMM,
            "file the process id is written to at start and removed at exit; empty: none, "
            "or /var/run/raftcache.pid for a daemonized node"),
    DEF_ENUM("supervised", supervised, "no", supervised_names, IMM,
             "no, upstart, systemd or auto: tell the supervisor when the node is ready"),
    /* At most PROTO_MAX_BULK_LEN_MAX: sizes derived from it (a bulk plus
     * its framing, a value grown by APPEND) never come near overflow, where
     * Redis takes up to LLONG_MAX and aborts on a header that large. */
    DEF_MEM_MAX("proto-max-bulk-len", proto_max_bulk_len, "512mb", MB, PROTO_MAX_BULK_LEN_MAX, 0,
                "largest bulk string a client may send", CONFIG_APPLY_PROTO_MAX_BULK_LEN),
    DEF_MEM("client-query-buffer-limit", client_query_buffer_limit, "1gb", MB, 0,
            "a client whose unparsed input exceeds this is closed"),
    DEF_SPECIAL(
        "client-output-buffer-limit", "normal 1gb 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60",
        config_obuf_special, CONFIG_MULTI_ARG,
        "CLASS HARD SOFT SOFT-SECONDS ...; normal (capped at 1gb by default) and pubsub apply"),
    DEF_INT("hz", hz, "10", 1, 500, 0, "background task frequency (expiry, timeouts) per second",
            CONFIG_APPLY_HZ),
    DEF_MEM("maxmemory", maxmemory, "0", 0, 0,
            "memory limit in bytes (used_memory, less the Raft log's and peer buffers' excess); "
            "0 = none",
            CONFIG_APPLY_ACCESS),
    DEF_ENUM("maxmemory-policy", maxmemory_policy, "noeviction", maxmemory_policy_names, 0,
             "over maxmemory: noeviction refuses writes (-OOM); the others have the leader "
             "evict keys (allkeys-/volatile- lru, lfu, random; volatile-ttl)",
             CONFIG_APPLY_ACCESS),
    DEF_INT("maxmemory-samples", maxmemory_samples, "5", 1, 64, 0,
            "keys sampled for each eviction choice (more: closer to true LRU/LFU, slower)"),
    DEF_INT("maxmemory-eviction-tenacity", maxmemory_eviction_tenacity, "10", 0, 100, 0,
            "how long one eviction round may run before the writes go on (10 = 500 us; 100 = "
            "until enough is freed)"),
    DEF_INT("tracking-table-max-keys", tracking_table_max_keys, "1000000", 0, LLONG_MAX, 0,
            "client-side caching: keys remembered for CLIENT TRACKING clients at most; past it, "
            "random ones are invalidated (0 = no limit)"),
    DEF_INT("lfu-log-factor", lfu_log_factor, "10", 0, INT_MAX, 0,
            "how many accesses it takes to raise an LFU counter (logarithmic)",
            CONFIG_APPLY_ACCESS),
    DEF_INT("lfu-decay-time", lfu_decay_time, "1", 0, INT_MAX, 0,
            "minutes idle per LFU counter decrement; 0 = never decays", CONFIG_APPLY_ACCESS),
    DEF_SPECIAL("notify-keyspace-events", "", config_notify_special, 0,
                "keyspace notifications to publish (Redis's K E g $ l s h z x e t m d n A); "
                "empty = none",
                CONFIG_APPLY_NOTIFY),
    DEF_INT("databases", databases, "16", 1, KV_DBS_MAX, IMM,
            "numbered databases (SELECT 0 to N-1); every node of a cluster needs the same"),
    DEF_INT("hash-max-listpack-entries", hash_max_listpack_entries, "512", 0, LLONG_MAX, 0,
            "a hash with more fields than this leaves its compact listpack encoding",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("hash-max-listpack-value", hash_max_listpack_value, "64", 0, LLONG_MAX, 0,
            "a hash with a field or value longer than this (bytes) leaves listpack",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("hash-max-ziplist-entries", hash_max_listpack_entries, "512", 0, LLONG_MAX, 0,
            "Redis's older name of hash-max-listpack-entries (the same setting)",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("hash-max-ziplist-value", hash_max_listpack_value, "64", 0, LLONG_MAX, 0,
            "Redis's older name of hash-max-listpack-value (the same setting)",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("set-max-intset-entries", set_max_intset_entries, "512", 0, LLONG_MAX, 0,
            "a set of integers with more members than this leaves its intset encoding",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("zset-max-listpack-entries", zset_max_listpack_entries, "128", 0, LLONG_MAX, 0,
            "a sorted set with more members than this leaves listpack for a skiplist",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("zset-max-listpack-value", zset_max_listpack_value, "64", 0, LLONG_MAX, 0,
            "a sorted set with a member longer than this (bytes) leaves listpack",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("zset-max-ziplist-entries", zset_max_listpack_entries, "128", 0, LLONG_MAX, 0,
            "Redis's older name of zset-max-listpack-entries (the same setting)",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("zset-max-ziplist-value", zset_max_listpack_value, "64", 0, LLONG_MAX, 0,
            "Redis's older name of zset-max-listpack-value (the same setting)",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_MEM("hll-sparse-max-bytes", hll_sparse_max_bytes, "3000", 0, 0,
            "a HyperLogLog whose sparse form would grow past this many bytes turns dense",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("list-max-listpack-size", list_max_listpack_size, "-2", INT_MIN, INT_MAX, 0,
            "a list node's limit: N > 0 elements (and 8 KB), -1..-5 4/8/16/32/64 KB; for lists "
            "created afterwards",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("list-max-ziplist-size", list_max_listpack_size, "-2", INT_MIN, INT_MAX, 0,
            "Redis's older name of list-max-listpack-size (the same setting)",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("list-compress-depth", list_compress_depth, "0", 0, INT_MAX, 0,
            "list nodes kept uncompressed at each end; the inner ones are LZF-compressed; 0 = "
            "none; for lists created afterwards",
            CONFIG_APPLY_ENCODING_LIMITS),
    DEF_INT("raft-election-timeout-ms", raft_election_timeout_ms, "1000", 10, 3600000, IMM,
            "a follower that hears no leader for this long starts an election"),
    DEF_INT("raft-heartbeat-ms", raft_heartbeat_ms, "100", 1, 3600000, IMM,
            "leader heartbeat interval; must be below the election timeout"),
    DEF_INT("busy-reply-threshold", busy_reply_threshold, "5000", 0, LLONG_MAX, 0,
            "ms after which a script outside the log (a read) is busy: other clients get -BUSY "
            "and SCRIPT KILL may stop it; 0 = never",
            CONFIG_APPLY_SCRIPT_BUSY),
    DEF_INT("lua-time-limit", busy_reply_threshold, "5000", 0, LLONG_MAX, 0,
            "Redis's older name of busy-reply-threshold (the same setting)",
            CONFIG_APPLY_SCRIPT_BUSY),
    DEF_INT("lua-replicated-budget", lua_replicated_budget, "100000000", 0, LLONG_MAX, IMM,
            "Lua instructions one script run may execute (0 = unbounded); a script over it fails "
            "the same way on every node, so every node must have the same value"),
    DEF_INT("raft-snapshot-threshold", raft_snapshot_threshold, "100000", 1, LLONG_MAX, 0,
            "applied entries after which a node snapshots its keyspace (while it runs) and "
            "compacts its log"),
    DEF_MEM("raft-snapshot-log-min-size", raft_snapshot_log_min_size, "64mb", 1, 0,
            "log bytes applied since the last snapshot below which the size rule "
            "(raft-snapshot-log-percentage) never takes one"),
    DEF_INT("raft-snapshot-log-percentage", raft_snapshot_log_percentage, "100", 1, 1000000, 0,
            "a snapshot is also taken once the log applied since the last one reaches this "
            "percentage of that snapshot's size (and raft-snapshot-log-min-size)"),
    DEF_MEM("raft-log-max-memory", raft_log_max_memory, "4mb", 0, 0,
            "bytes of applied Raft log entries a node keeps in memory; older ones are read "
            "back from disk for a follower that needs them"),
    DEF_BOOL("raft-log-fsync", raft_log_fsync, "yes", 0,
             "fsync the Raft log before acknowledging; no breaks the durability promise",
             CONFIG_APPLY_RAFT_LOG_FSYNC),
    DEF_BOOL("raft-start-from-snapshot", raft_start_from_snapshot, "no", IMM,
             "start when dir holds snapshot.rcs but no Raft log, as a node that does not vote "
             "until it caught up with a leader; no: refuse to start"),
    DEF_ENUM("raft-read-mode", raft_read_mode, "linearizable", read_mode_names, IMM,
             "linearizable (quorum-confirmed reads) or lease (clock-dependent)"),
    DEF_BOOL("raft-follower-proxy", raft_follower_proxy, "no", 0,
             "a follower forwards writes and linearizable reads to the leader instead of "
             "replying -MOVED (for clients that cannot follow MOVED)"),
    DEF_STR("sentinel-master-name", sentinel_master_name, "mymaster", config_check_sentinel_name, 0,
            "the master name SENTINEL commands answer for (the Raft leader)"),
    DEF_BOOL("stepdown-close-clients", stepdown_close_clients, "yes", 0,
             "a leader that steps down closes its clients' connections (not subscribers, "
             "READONLY or blocked ones), so that Sentinel-mode clients find the new leader"),
    DEF_INT("raft-max-inflight-msgs", raft_max_inflight_msgs, "64", 1, 256, IMM,
            "append messages in flight to one peer"),
    DEF_INT("raft-max-entries-per-msg", raft_max_entries_per_msg, "512", 1, 4096, IMM,
            "log entries in one append message"),
    DEF_INT("raft-request-timeout-ms", raft_request_timeout_ms, "5000", 1, 3600000, 0,
            "a write not committed this long replies -TIMEOUT"),
    DEF_INT("slowlog-log-slower-than", slowlog_log_slower_than, "10000", -1, LLONG_MAX, 0,
            "SLOWLOG keeps commands whose execution took at least this many microseconds; "
            "-1 = none, 0 = all",
            CONFIG_APPLY_MONITOR),
    DEF_INT("slowlog-max-len", slowlog_max_len, "128", 0, LONG_MAX, 0,
            "entries SLOWLOG keeps (the oldest go first)", CONFIG_APPLY_MONITOR),
    DEF_INT("latency-monitor-threshold", latency_monitor_threshold, "0", 0, LLONG_MAX, 0,
            "LATENCY samples events (commands, Raft log fsyncs, expiry cycles) that took at "
            "least this many milliseconds; 0 = off",
            CONFIG_APPLY_MONITOR),
    DEF_BOOL("latency-tracking", latency_tracking, "yes", 0,
             "per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM)",
             CONFIG_APPLY_MONITOR),
    DEF_SPECIAL("latency-tracking-info-percentiles", "50 99 99.9", config_percentiles_special,
                CONFIG_MULTI_ARG, "the percentiles INFO latencystats reports"),
};

const int config_defs_count = (int)(sizeof config_defs / sizeof config_defs[0]);

/* ------------------------------------------------------------- lifecycle */

const struct config_def *config_lookup(const char *name)
{
    for (int i = 0; i < config_defs_count; i++)
        if (!strcasecmp(name, config_defs[i].name)) return &config_defs[i];
    return config_redis_lookup(name);
}

void config_init_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (int i = 0; i < config_defs_count; i++) {
        const struct config_def *d = &config_defs[i];
        char why[CONFIG_REASON_MAX];
        int rc = config_set_words(c, d, 1, &d->default_text, NULL, why, sizeof why);
        ASSERT(rc == 0 && "a default in config_defs[] must parse"); /* programmer error */
        (void)rc;
    }
}

void config_free(struct config *c)
{
    for (int i = 0; i < config_defs_count; i++) {
        const struct config_def *d = &config_defs[i];
        if (d->type == CONFIG_STRING) {
            char **slot = FIELD(c, d, char *);
            free(*slot);
            *slot = NULL;
        } else if (d->type == CONFIG_SECRET) {
            free_secret(FIELD(c, d, struct config_secret));
        } else if (d->type == CONFIG_SPECIAL && d->special->free) {
            d->special->free(c);
        }
    }
    config_redis_free(c);
    free(c->port_origin);
    c->port_origin = NULL;
}

void config_set_apply_hook(struct config *c, enum config_apply what, config_apply_fn *fn, void *ud)
{
    ASSERT(what > CONFIG_APPLY_NONE && what < CONFIG_APPLY_COUNT); /* programmer error */
    c->hooks[what] = (struct config_hook){fn, ud};
}

int config_format_value(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    switch (d->type) {
    case CONFIG_BOOL:
        return snprintf(buf, len, "%s", *CFIELD(c, d, int) ? "yes" : "no");
    case CONFIG_INT:
    case CONFIG_MEMORY:
        return snprintf(buf, len, "%lld", *CFIELD(c, d, long long));
    case CONFIG_STRING:
        return snprintf(buf, len, "%s", *CFIELD(c, d, char *));
    case CONFIG_ENUM:
        return snprintf(buf, len, "%s", d->enum_names[*CFIELD(c, d, int)]);
    case CONFIG_SPECIAL:
        return d->special->format(c, d, buf, len);
    case CONFIG_SECRET: {
        const struct config_secret *s = CFIELD(c, d, struct config_secret);
        if (len) {
            size_t n = s->len < len - 1 ? s->len : len - 1;
            memcpy(buf, s->ptr, n);
            buf[n] = '\0';
        }
        return (int)s->len;
    }
    }
    ASSERT_UNREACHABLE("unknown config type");
}

int config_check(const struct config *c, char *err, size_t errlen)
{
    /* node-id may be absent from cluster-members: such a node is not a
     * voter of the initial configuration and waits to be added (RAFT.NODE
     * ADD on the cluster's leader). */
    if (c->raft_heartbeat_ms >= c->raft_election_timeout_ms)
        return util_fail(
            err, errlen, CONFIG_ERR_VALUE,
            "raft-heartbeat-ms (%lld) must be less than raft-election-timeout-ms (%lld)",
            c->raft_heartbeat_ms, c->raft_election_timeout_ms);
    /* Peers authenticate with raft-secret and refuse each other without it:
     * such a cluster would start and never elect a leader. */
    for (int i = 0; i < c->members_count && c->raft_secret.len == 0; i++)
        if (c->members[i].id != c->node_id)
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "cluster-members names other nodes but raft-secret is empty: "
                             "peers could not authenticate to each other; set raft-secret, "
                             "the same on every node");
    if (c->tls_cluster != c->tls_replication)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "tls-cluster and tls-replication must be equal: both name the links "
                         "between the nodes of a raftcache cluster");
    if (c->tls_cluster && !c->tls_port)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "tls-cluster yes needs tls-port: the peers dial it");
    if (c->tls_cluster && c->tls_auth_clients == CONFIG_TLS_AUTH_NO)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "tls-cluster yes needs tls-auth-clients yes or optional: a peer proves "
                         "itself with a certificate the CA signed");
    if (c->port == 0 && !c->tls_cluster)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "%s%sport 0 would disable the TCP listener, which Raft peers and "
                         "redirected clients need (unless tls-cluster yes moves them to "
                         "tls-port): use a port between 1 and 65535",
                         c->port_origin ? c->port_origin : "", c->port_origin ? "\n" : "");
    if (c->tls_port && c->tls_port == c->port)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "tls-port (%lld) must differ from port: the peers and plain clients "
                         "need port",
                         c->tls_port);
    return 0;
}

void config_advertise(const struct config *c, char host[CONFIG_HOST_MAX], int *port)
{
    char why[CONFIG_REASON_MAX];
    if (c->advertise_addr[0] && config_parse_hostport(c->advertise_addr, strlen(c->advertise_addr),
                                                      host, port, why, sizeof why) == 0)
        return;
    const char *b = c->bind[0] + (c->bind[0][0] == '-');
    snprintf(host, CONFIG_HOST_MAX, "%s", strcmp(b, "*") ? b : "127.0.0.1");
    *port = (int)(c->tls_cluster ? c->tls_port : c->port);
}
