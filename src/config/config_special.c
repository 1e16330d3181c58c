/*
 * src/config/config_special.c - the directives whose values are more than one
 * number, word or string (CONFIG_SPECIAL rows of config.c's table: bind,
 * cluster-members, client-output-buffer-limit, notify-keyspace-events,
 * unixsocketperm, latency-tracking-info-percentiles, and Redis's
 * directives of which one value is implemented), and the checks of
 * single-value directives with rules of their own (host:port, dir, port,
 * the Sentinel master name). Each setter parses into locals first and
 * replaces the stored value last, as config.c's are.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/config_int.h"
#include "keyspace/notify.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* ------------------------------------------------------- host:port rules */

static int host_char_ok(unsigned char ch)
{
    return isalnum(ch) || ch == '.' || ch == '-' || ch == '_' || ch == ':' || ch == '%';
}

int config_parse_hostport(const char *s, size_t len, char host[CONFIG_HOST_MAX], int *port,
                          char *err, size_t errlen)
{
    const char *h = s, *end = s + len, *portp;
    size_t hlen;
    int shown = len > 200 ? 200 : (int)len;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= end || close[1] != ':')
            return util_fail(err, errlen, CONFIG_ERR_VALUE, "'%.*s' is not [HOST]:PORT", shown, s);
        h = s + 1;
        hlen = (size_t)(close - h);
        portp = close + 2;
    } else {
        const char *colon = NULL;
        for (const char *p = s; p < end; p++)
            if (*p == ':') colon = p;
        if (!colon)
            return util_fail(err, errlen, CONFIG_ERR_VALUE, "'%.*s' is not HOST:PORT", shown, s);
        hlen = (size_t)(colon - s);
        portp = colon + 1;
        if (memchr(s, ':', hlen))
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "'%.*s': write an IPv6 host in brackets, as [::1]:6379", shown, s);
    }
    if (hlen == 0) return util_fail(err, errlen, CONFIG_ERR_VALUE, "'%.*s' has no host", shown, s);
    if (hlen >= CONFIG_HOST_MAX)
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "host longer than %d bytes",
                         CONFIG_HOST_MAX - 1);
    for (size_t i = 0; i < hlen; i++)
        if (!host_char_ok((unsigned char)h[i]))
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "'%.*s' has a bad character in its host", shown, s);
    long long p;
    if (!util_str2ll(portp, (size_t)(end - portp), &p) || p < 1 || p > 65535)
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "'%.*s' needs a port between 1 and 65535",
                         shown, s);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

int config_check_advertise(const char *v, char *err, size_t errlen)
{
    char host[CONFIG_HOST_MAX];
    int port;
    return v[0] ? config_parse_hostport(v, strlen(v), host, &port, err, errlen) : 0;
}

/* A Sentinel master name: 1 to CONFIG_SENTINEL_NAME_MAX printable
 * characters without spaces (it is one word of +switch-master messages). */
int config_check_sentinel_name(const char *v, char *err, size_t errlen)
{
    size_t len = strlen(v);
    if (len == 0 || len > CONFIG_SENTINEL_NAME_MAX)
        return util_fail(err, errlen, -1, "must be 1 to %d characters", CONFIG_SENTINEL_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if (v[i] <= ' ' || v[i] == 0x7f)
            return util_fail(err, errlen, -1, "must not hold spaces or control characters");
    return 0;
}

int config_check_dir(const char *v, char *err, size_t errlen)
{
    return v[0] ? 0 : util_fail(err, errlen, CONFIG_ERR_VALUE, "dir can't be empty");
}

/* Redis's port 0 means "no TCP listener", leaving a node its Unix socket
 * only; a raftcache node without its port could not be reached by its Raft
 * peers nor by clients redirected to it. */

/* Redis's rule: the file is in dir; a path would write beside it. */
int config_check_dbfilename(const char *v, char *err, size_t errlen)
{
    if (!v[0]) return util_fail(err, errlen, CONFIG_ERR_VALUE, "dbfilename can't be empty");
    if (strchr(v, '/'))
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "dbfilename can't be a path, just a filename");
    return 0;
}

int config_check_tls_protocols(const char *v, char *err, size_t errlen)
{
    static const char *const known[] = {"tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"};
    while (*v) {
        size_t n = strcspn(v, " \t");
        int ok = 0;
        for (size_t i = 0; n && i < sizeof known / sizeof known[0]; i++)
            ok |= strlen(known[i]) == n && !strncasecmp(v, known[i], n);
        if (n && !ok)
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "Invalid tls-protocols specified: %.*s (use TLSv1, TLSv1.1, TLSv1.2 "
                             "and/or TLSv1.3)",
                             (int)(n > 32 ? 32 : n), v);
        v += n;
        v += strspn(v, " \t");
    }
    return 0;
}

/* ------------------------------------------------------------------ bind */

/* A leading '-' marks an optional address (Redis 7.0): skipped at start when
 * this host does not have it. */
static int valid_bind_addr(const char *s)
{
    unsigned char a[16];
    if (*s == '-') s++;
    return !strcmp(s, "*") || inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static void free_bind(struct config *c)
{
    for (int i = 0; i < c->bind_count; i++)
        free(c->bind[i]);
    c->bind_count = 0;
}

static int set_bind(struct config *c, const struct config_def *d, int argc, const char *const *argv,
                    char *err, size_t errlen)
{
    (void)d;
    if (argc == 0 || (argc == 1 && !argv[0][0]))
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "bind needs at least one address");
    if (argc > CONFIG_BIND_MAX)
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "Too many bind addresses specified.");
    for (int i = 0; i < argc; i++)
        if (!valid_bind_addr(argv[i]))
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "bind address '%.200s' is not a numeric IPv4 or IPv6 address (or *)",
                             argv[i]);
    free_bind(c);
    for (int i = 0; i < argc; i++)
        c->bind[i] = config_xstrdup(argv[i]);
    c->bind_count = argc;
    return 0;
}

static int format_bind(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    (void)d;
    struct config_out o = config_out_start(buf, len);
    for (int i = 0; i < c->bind_count; i++)
        config_out_printf(&o, "%s%s", i ? " " : "", c->bind[i]);
    return (int)o.n;
}

/* ------------------------------------------------------- cluster-members */

static int parse_member(const char *s, struct config_member *m, char *err, size_t errlen)
{
    const char *eq = strchr(s, '=');
    if (!eq)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "cluster-members entry '%.200s' is not ID=HOST:PORT", s);
    if (!util_str2ll(s, (size_t)(eq - s), &m->id) || m->id < 1)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "cluster-members entry '%.200s': the id must be a positive integer", s);
    char why[CONFIG_REASON_MAX];
    if (config_parse_hostport(eq + 1, strlen(eq + 1), m->host, &m->port, why, sizeof why))
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "cluster-members entry '%.200s': %s", s,
                         why);
    return 0;
}

static int check_member_unique(const struct config_member *ms, int i, char *err, size_t errlen)
{
    for (int j = 0; j < i; j++) {
        if (ms[j].id == ms[i].id)
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "node id %lld appears twice in cluster-members", ms[i].id);
        if (ms[j].port == ms[i].port && !strcasecmp(ms[j].host, ms[i].host))
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "address %s:%d appears twice in cluster-members", ms[i].host,
                             ms[i].port);
    }
    return 0;
}

static int set_members(struct config *c, const struct config_def *d, int argc,
                       const char *const *argv, char *err, size_t errlen)
{
    (void)d;
    if (argc == 1 && !argv[0][0]) argc = 0; /* cluster-members "" : this node alone */
    if (argc > CONFIG_MEMBERS_MAX)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "%d cluster members: a Raft configuration holds at most %d", argc,
                         CONFIG_MEMBERS_MAX);
    struct config_member *ms = argc ? util_xmalloc((size_t)argc * sizeof *ms) : NULL;
    for (int i = 0; i < argc; i++) {
        int rc = parse_member(argv[i], &ms[i], err, errlen);
        if (rc == 0) rc = check_member_unique(ms, i, err, errlen);
        if (rc) {
            free(ms);
            return rc;
        }
    }
    free(c->members);
    c->members = ms;
    c->members_count = argc;
    return 0;
}

static int format_members(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    (void)d;
    struct config_out o = config_out_start(buf, len);
    for (int i = 0; i < c->members_count; i++) {
        const struct config_member *m = &c->members[i];
        int v6 = strchr(m->host, ':') != NULL;
        config_out_printf(&o, "%s%lld=%s%s%s:%d", i ? " " : "", m->id, v6 ? "[" : "", m->host,
                          v6 ? "]" : "", m->port);
    }
    return (int)o.n;
}

static void free_members(struct config *c)
{
    free(c->members);
    c->members = NULL;
    c->members_count = 0;
}

/* -------------------------------------------- client-output-buffer-limit */

/* Class index as Redis names them: "slave" and "replica" are the same. */
static int obuf_class(const char *name)
{
    if (!strcasecmp(name, "normal")) return 0;
    if (!strcasecmp(name, "replica") || !strcasecmp(name, "slave")) return 1;
    if (!strcasecmp(name, "pubsub")) return 2;
    return -1;
}

/* Redis's syntax: one or more "class hard soft soft-seconds" groups; the
 * classes not named keep their limits. Error texts are Redis 7's. */
static int set_obuf(struct config *c, const struct config_def *d, int argc, const char *const *argv,
                    char *err, size_t errlen)
{
    (void)d;
    struct config_obuf_limit cls[3] = {
        {c->obuf_hard_limit, c->obuf_soft_limit, c->obuf_soft_seconds},
        c->obuf_replica,
        c->obuf_pubsub,
    };
    if (argc == 0 || argc % 4)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "Wrong number of arguments in buffer limit configuration.");
    for (int i = 0; i < argc; i += 4) {
        int k = obuf_class(argv[i]);
        if (k < 0)
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "Invalid client class specified in buffer limit configuration.");
        ASSERT(k < 3); /* obuf_class(): an index into cls[] */
        struct config_obuf_limit l;
        if (!config_parse_memory(argv[i + 1], &l.hard_bytes) ||
            !config_parse_memory(argv[i + 2], &l.soft_bytes) ||
            !util_str2ll(argv[i + 3], strlen(argv[i + 3]), &l.soft_seconds) || l.soft_seconds < 0)
            return util_fail(
                err, errlen, CONFIG_ERR_VALUE,
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        cls[k] = l;
    }
    c->obuf_hard_limit = cls[0].hard_bytes;
    c->obuf_soft_limit = cls[0].soft_bytes;
    c->obuf_soft_seconds = cls[0].soft_seconds;
    c->obuf_replica = cls[1];
    c->obuf_pubsub = cls[2];
    return 0;
}

/* As Redis 7's CONFIG GET prints it, "slave" included. */
static int format_obuf(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    (void)d;
    return snprintf(buf, len, "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld %lld %lld",
                    c->obuf_hard_limit, c->obuf_soft_limit, c->obuf_soft_seconds,
                    c->obuf_replica.hard_bytes, c->obuf_replica.soft_bytes,
                    c->obuf_replica.soft_seconds, c->obuf_pubsub.hard_bytes,
                    c->obuf_pubsub.soft_bytes, c->obuf_pubsub.soft_seconds);
}

/* ------------------------------------------------------ fixed directives */

/* Redis directives whose only truthful value here is their default (no
 * daemonizing, no RDB, no AOF): that value is accepted so stock configs and
 * clients work; any other is refused with the reason in the doc line. */
static int set_fixed(struct config *c, const struct config_def *d, int argc,
                     const char *const *argv, char *err, size_t errlen)
{
    (void)c;
    char joined[64];
    struct config_out o = config_out_start(joined, sizeof joined);
    for (int i = 0; i < argc; i++)
        config_out_printf(&o, "%s%s", i ? " " : "", argv[i]);
    if (o.n < sizeof joined && !strcasecmp(joined, d->default_text)) return 0;
    return util_fail(err, errlen, CONFIG_ERR_VALUE, "only \"%s\" is accepted: %s", d->default_text,
                     d->doc);
}

int config_format_fixed(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    (void)c;
    return snprintf(buf, len, "%s", d->default_text);
}

/* ------------------------------------------------ notify-keyspace-events */

/* Redis's flags ("KEA", "Ex", ...); CONFIG GET shows its canonical text. */
static int set_notify(struct config *c, const struct config_def *d, int argc,
                      const char *const *argv, char *err, size_t errlen)
{
    (void)d;
    if (argc != 1) return util_fail(err, errlen, CONFIG_ERR_VALUE, "wrong number of arguments");
    int flags = notify_flags_parse(argv[0], strlen(argv[0]));
    if (flags < 0) return util_fail(err, errlen, CONFIG_ERR_VALUE, "%s", NOTIFY_FLAGS_ERROR);
    c->notify_keyspace_events = (unsigned)flags;
    return 0;
}

static int format_notify(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    (void)d;
    char text[NOTIFY_FLAGS_TEXT_MAX];
    notify_flags_format(c->notify_keyspace_events, text);
    return snprintf(buf, len, "%s", text);
}

/* ---------------------------------------------------------- unixsocketperm */

/* Octal, 0 to 777, as Redis parses it. */
static int set_octal_perm(struct config *c, const struct config_def *d, int argc,
                          const char *const *argv, char *err, size_t errlen)
{
    (void)d;
    if (argc != 1) return util_fail(err, errlen, CONFIG_ERR_VALUE, "wrong number of arguments");
    char *end;
    errno = 0;
    long long v = strtoll(argv[0], &end, 8);
    if (!argv[0][0] || *end || errno)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "argument couldn't be parsed as an octal number");
    if (v < 0 || v > 0777)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "argument must be between 0 and 777 inclusive");
    c->unixsocketperm = v;
    return 0;
}

static int format_octal_perm(const struct config *c, const struct config_def *d, char *buf,
                             size_t len)
{
    (void)d;
    return snprintf(buf, len, "%llo", c->unixsocketperm);
}

/* ---------------------------------------- latency-tracking-info-percentiles */

/* Numbers between 0 and 100, at most CONFIG_PERCENTILES_MAX; none is fine. */
static int set_percentiles(struct config *c, const struct config_def *d, int argc,
                           const char *const *argv, char *err, size_t errlen)
{
    (void)d;
    double v[CONFIG_PERCENTILES_MAX];
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!argv[i][0]) continue; /* "" sets none */
        char *end;
        double p = strtod(argv[i], &end);
        if (*end || end == argv[i] || !(p >= 0.0 && p <= 100.0) || n == CONFIG_PERCENTILES_MAX)
            return util_fail(err, errlen, CONFIG_ERR_VALUE,
                             "Invalid latency-tracking-info-percentiles parameters");
        v[n++] = p;
    }
    memcpy(c->latency_percentiles, v, (size_t)n * sizeof v[0]);
    c->latency_percentiles_count = n;
    return 0;
}

static int format_percentiles(const struct config *c, const struct config_def *d, char *buf,
                              size_t len)
{
    (void)d;
    struct config_out o = config_out_start(buf, len);
    for (int i = 0; i < c->latency_percentiles_count; i++)
        config_out_printf(&o, "%s%g", i ? " " : "", c->latency_percentiles[i]);
    return (int)o.n;
}

/* ----------------------------------------------------------------- user */

static void free_users(struct config *c)
{
    for (int i = 0; i < c->acl_users_count; i++) {
        for (int j = 0; j < c->acl_users[i].argc; j++)
            free(c->acl_users[i].argv[j]);
        free(c->acl_users[i].argv);
    }
    free(c->acl_users);
    c->acl_users = NULL;
    c->acl_users_count = 0;
}

/* Each "user" directive adds one (the ACL module checks the rules); an
 * empty one (the default) forgets those before. */
static int set_user(struct config *c, const struct config_def *d, int argc, const char *const *argv,
                    char *err, size_t errlen)
{
    (void)d;
    if (argc == 0 || (argc == 1 && !argv[0][0])) {
        free_users(c);
        return 0;
    }
    if (c->acl_users_count >= CONFIG_USERS_MAX)
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "more than %d user directives",
                         CONFIG_USERS_MAX);
    c->acl_users =
        util_xrealloc(c->acl_users, ((size_t)c->acl_users_count + 1) * sizeof *c->acl_users);
    struct config_user_line *u = &c->acl_users[c->acl_users_count++];
    u->argc = argc;
    u->argv = util_xmalloc((size_t)argc * sizeof *u->argv);
    for (int i = 0; i < argc; i++)
        u->argv[i] = config_xstrdup(argv[i]);
    return 0;
}

static int format_users(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    (void)d;
    (void)c;
    if (len) buf[0] = '\0'; /* unreadable: rules hold passwords */
    return 0;
}

static void free_renames(struct config *c)
{
    for (int i = 0; i < c->renames_count; i++) {
        free(c->renames[i].from);
        free(c->renames[i].to);
        free(c->renames[i].origin);
    }
    free(c->renames);
    c->renames = NULL;
    c->renames_count = 0;
}

/* Each "rename-command <command> <new name>" adds one (the server applies
 * them at start, src/cmd/rename.h); an empty one (the default) forgets
 * those before. */
static int set_rename(struct config *c, const struct config_def *d, int argc,
                      const char *const *argv, char *err, size_t errlen)
{
    (void)d;
    if (argc == 0 || (argc == 1 && !argv[0][0])) {
        free_renames(c);
        return 0;
    }
    if (argc != 2)
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "rename-command takes a command and its new name (\"\" takes it away)");
    if (c->renames_count >= CONFIG_RENAMES_MAX)
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "more than %d rename-command directives",
                         CONFIG_RENAMES_MAX);
    c->renames = util_xrealloc(c->renames, ((size_t)c->renames_count + 1) * sizeof *c->renames);
    c->renames[c->renames_count++] =
        (struct config_rename){config_xstrdup(argv[0]), config_xstrdup(argv[1]), NULL};
    return 0;
}

const struct config_special config_bind_special = {set_bind, format_bind, free_bind};
const struct config_special config_user_special = {set_user, format_users, free_users};
const struct config_special config_rename_special = {set_rename, format_users, free_renames};
const struct config_special config_members_special = {set_members, format_members, free_members};
const struct config_special config_obuf_special = {set_obuf, format_obuf, NULL};
const struct config_special config_fixed_special = {set_fixed, config_format_fixed, NULL};
const struct config_special config_perm_special = {set_octal_perm, format_octal_perm, NULL};
const struct config_special config_notify_special = {set_notify, format_notify, NULL};
const struct config_special config_percentiles_special = {set_percentiles, format_percentiles,
                                                          NULL};
