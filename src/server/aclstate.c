/*
 * src/server/aclstate.c - the users a node enforces and how they become
 * the cluster's (src/server/aclstate.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl/acl.h"
#include "base/log.h"
#include "base/util.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "raft/raft_assert.h"
#include "server/aclstate.h"
#include "server/acllog.h"
#include "server/pubsub.h"
#include "server/server.h"

#define NO_ACLFILE                                                                                 \
    "This Redis instance is not configured to use an ACL file. You may want to specify users "     \
    "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "      \
    "configuration file set) in order to store users in the Redis configuration."

const char *aclstate_file_path(const struct config *cfg, char *buf, size_t cap)
{
    if (cfg->aclfile[0] == '/' || !cfg->dir[0]) return cfg->aclfile;
    int n = snprintf(buf, cap, "%s/%s", cfg->dir, cfg->aclfile);
    return n > 0 && (size_t)n < cap ? buf : cfg->aclfile;
}

char *aclstate_read_file(const struct config *cfg, size_t *len, char *err, size_t errlen)
{
    char pbuf[4096];
    const char *name = cfg->aclfile;
    int fd = open(aclstate_file_path(cfg, pbuf, sizeof pbuf), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        util_fail(err, errlen, -1, "Error loading ACLs, opening file '%s': %s", name,
                  strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > ACLSTATE_FILE_MAX) {
        util_fail(err, errlen, -1, "Error loading ACLs, opening file '%s': %s", name,
                  S_ISREG(st.st_mode) ? "larger than 64 MB" : "not a regular file");
        close(fd);
        return NULL;
    }
    char *buf = util_xmalloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Default's password from requirepass, as Redis's ACLUpdateDefaultUserPassword. */
static void default_password(struct acl *a, const struct config_secret *pw)
{
    char err[512];
    struct resp_arg ops[2] = {{"nopass", 6}, {NULL, 0}};
    int n = 1;
    char *gt = NULL;
    if (pw->len) {
        gt = util_xmalloc(pw->len + 1);
        gt[0] = '>';
        memcpy(gt + 1, pw->ptr, pw->len);
        ops[0] = (struct resp_arg){"resetpass", 9};
        ops[1] = (struct resp_arg){gt, pw->len + 1};
        n = 2;
    }
    int rc = acl_setuser(a, "default", 7, n, ops, 0, err, sizeof err);
    ASSERT(rc == 0);
    free(gt);
}

/* The users the configuration makes, or NULL with the reason. */
static struct acl *configured(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->aclfile[0] && cfg->acl_users_count) {
        util_fail(err, errlen, -1,
                  "Configuring Redis with users defined in redis.conf and at the same setting an "
                  "ACL file path is invalid. This setup is very likely to lead to configuration "
                  "errors and security holes, please define either an ACL file or declare users "
                  "directly in your redis.conf, but not both.");
        return NULL;
    }
    if (cfg->aclfile[0]) {
        size_t len;
        char *text = aclstate_read_file(cfg, &len, err, errlen);
        if (!text) return NULL;
        char *errors = NULL;
        struct acl *a = acl_parse_file(text, len, cfg->aclfile, cfg->acl_pubsub_default, &errors);
        free(text);
        if (!a) util_fail(err, errlen, -1, "%s", errors);
        free(errors);
        if (a) default_password(a, &cfg->requirepass);
        return a;
    }
    struct acl *a = acl_new();
    default_password(a, &cfg->requirepass);
    for (int i = 0; i < cfg->acl_users_count; i++) {
        const struct config_user_line *l = &cfg->acl_users[i];
        struct resp_arg *w = util_xmalloc((size_t)l->argc * sizeof *w);
        for (int j = 0; j < l->argc; j++)
            w[j] = (struct resp_arg){l->argv[j], strlen(l->argv[j])};
        char why[512];
        int dup = 0;
        for (int k = 0; k < i && !dup; k++)
            dup = !strcmp(cfg->acl_users[k].argv[0], l->argv[0]);
        int rc = dup ? util_fail(why, sizeof why, -1,
                                 "Duplicate user found. A user can only be defined once in "
                                 "config files")
                     : acl_defuser(a, w[0].ptr, w[0].len, l->argc - 1, w + 1,
                                   cfg->acl_pubsub_default, why, sizeof why);
        free(w);
        if (rc != 0) {
            util_fail(err, errlen, -1, "Error in user declaration '%.128s': %s", l->argv[0], why);
            acl_free(a);
            return NULL;
        }
    }
    return a;
}

static void set_user(struct client *c, struct acl_user *u, int authed)
{
    c->user = u;
    c->user_name = u ? acl_user_name(u, NULL) : NULL;
    if (authed)
        c->flags |= CLIENT_AUTHED;
    else
        c->flags &= ~CLIENT_AUTHED;
}

static struct acl_user *default_user(const struct server *srv)
{
    struct acl_user *u = acl_user(srv->acl, "default", 7);
    ASSERT(u != NULL); /* default is never removed */
    return u;
}

int aclstate_init(struct server *srv, char *err, size_t errlen)
{
    acllog_init(&srv->acllog);
    srv->acl = configured(&srv->cfg, err, errlen);
    if (!srv->acl) return -1;
    srv->acl_configured = acl_file_text(srv->acl, NULL);
    srv->acl_from_log = 0;
    return 0;
}

void aclstate_free(struct server *srv)
{
    acl_free(srv->acl);
    srv->acl = NULL;
    free(srv->acl_configured);
    srv->acl_configured = NULL;
    acllog_free(&srv->acllog);
}

int aclstate_default_nopass(const struct server *srv)
{
    return acl_user_nopass(default_user(srv));
}

void aclstate_client_start(struct server *srv, struct client *c)
{
    struct acl_user *d = default_user(srv);
    set_user(c, d, acl_user_enabled(d) && acl_user_nopass(d));
}

static void log_denial(struct server *srv, struct client *c, int reason, int context,
                       const char *object, size_t object_len, const char *username,
                       size_t username_len)
{
    char cinfo[1024];
    client_format_info(c, cinfo, sizeof cinfo, server_now_ms());
    acllog_add(&srv->acllog, reason, context, object, object_len, username, username_len, cinfo,
               server_now_ms(), srv->cfg.acllog_max_len);
}

int aclstate_auth(struct server *srv, struct client *c, const struct resp_arg *cmdword,
                  const struct resp_arg *user, const struct resp_arg *pass)
{
    const char *name = user ? user->ptr : "default";
    size_t len = user ? user->len : 7;
    struct acl_user *u = acl_user(srv->acl, name, len);
    if (u && acl_user_enabled(u) && acl_password_ok(u, pass->ptr, pass->len)) {
        if (!(c->flags & CLIENT_PEER)) set_user(c, u, 1); /* a peer stays no user */
        return 0;
    }
    log_denial(srv, c, ACL_DENIED_AUTH, (c->flags & CLIENT_MULTI) ? ACLLOG_MULTI : ACLLOG_TOPLEVEL,
               cmdword->ptr, cmdword->len, name, len);
    return -1;
}

void aclstate_script_denied(void *ud, struct client *c, int reason, const struct resp_arg *object)
{
    struct server *srv = ud;
    size_t ulen = 0;
    const char *uname = c->user ? acl_user_name(c->user, &ulen) : "";
    log_denial(srv, c, reason, ACLLOG_LUA, object->ptr, object->len, uname, ulen);
}

int aclstate_check(struct server *srv, struct client *c, const struct command *cmd, int argc,
                   const struct resp_arg *argv, int context, char *err, size_t errlen)
{
    if (!c->user || (c->flags & CLIENT_PEER) || acl_user_unrestricted(c->user)) return ACL_OK;
    int pos = 0;
    enum acl_result r = acl_check(c->user, cmd, argc, argv, &pos);
    if (r == ACL_OK) return ACL_OK;
    size_t ulen;
    const char *uname = acl_user_name(c->user, &ulen);
    if (r == ACL_DENIED_CMD)
        log_denial(srv, c, (int)r, context, cmd->name, strlen(cmd->name), uname, ulen);
    else
        log_denial(srv, c, (int)r, context, argv[pos].ptr, argv[pos].len, uname, ulen);
    if (r == ACL_DENIED_CMD)
        util_fail(err, errlen, -1, "NOPERM this user has no permissions to run the '%s' command",
                  cmd->name);
    else
        util_fail(err, errlen, -1,
                  "NOPERM this user has no permissions to access one of the %s used as "
                  "arguments",
                  r == ACL_DENIED_KEY ? "keys" : "channels");
    return (int)r;
}

int aclstate_exec_check(struct server *srv, struct client *c, const struct command *cmd, int argc,
                        const struct resp_arg *argv, char *err, size_t errlen)
{
    char why[256];
    int r = aclstate_check(srv, c, cmd, argc, argv, ACLLOG_MULTI, why, sizeof why);
    if (r == ACL_OK) return 0;
    return util_fail(err, errlen, -1,
                     "NOPERM ACLs rules changed between the moment the transaction was "
                     "accumulated and the EXEC call. This command is no longer allowed for the "
                     "following reason: %s",
                     r == ACL_DENIED_CMD   ? "no permission to execute the command or subcommand"
                     : r == ACL_DENIED_KEY ? "no permission to touch the specified keys"
                                           : "no permission to access one of the channels used "
                                             "as arguments");
}

/* ------------------------------------------------------------ the log */

static int word_is(const struct resp_arg *a, const char *w)
{
    return a->len == strlen(w) && !strncasecmp(a->ptr, w, a->len);
}

/* ACL LOAD's file, read and checked here: its text, or NULL with the
 * error (without its code) in err. */
static char *load_payload(struct server *srv, size_t *len, char *err, size_t errlen)
{
    if (!srv->cfg.aclfile[0]) {
        util_fail(err, errlen, -1, "%s", NO_ACLFILE);
        return NULL;
    }
    char why[1024];
    char *text = aclstate_read_file(&srv->cfg, len, why, sizeof why);
    if (!text) {
        util_fail(err, errlen, -1, "%s", why);
        return NULL;
    }
    char *errors = NULL;
    struct acl *a =
        acl_parse_file(text, *len, srv->cfg.aclfile, srv->cfg.acl_pubsub_default, &errors);
    if (!a) {
        util_fail(err, errlen, -1, "%s", errors);
        free(errors);
        free(text);
        return NULL;
    }
    acl_free(a);
    return text;
}

int aclstate_wrap(struct server *srv, int argc, const struct resp_arg *argv,
                  struct aclstate_wrapped *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    size_t plen = 0;
    int is_acl = argc >= 2 && word_is(&argv[0], "acl");
    if (is_acl && word_is(&argv[1], "load")) {
        w->payload = load_payload(srv, &plen, err, errlen);
        if (!w->payload) return -1;
    } else if (is_acl && word_is(&argv[1], "save") && !srv->cfg.aclfile[0]) {
        return util_fail(err, errlen, -1, "%s", NO_ACLFILE);
    } else if (!is_acl) { /* CONFIG SET: requirepass alone */
        for (int i = 2; i + 1 < argc; i += 2)
            if (!word_is(&argv[i], "requirepass"))
                return util_fail(err, errlen, -1,
                                 "requirepass changes the default user on every node, through "
                                 "the Raft log: set it in a CONFIG SET of its own");
    }
    size_t flen = 0;
    if (!srv->acl_from_log) w->first = acl_file_text(srv->acl, &flen);
    w->argc = argc + 4;
    w->argv = util_xmalloc((size_t)w->argc * sizeof *w->argv);
    w->argv[0] = (struct resp_arg){"raftcache.acl", 13};
    w->argv[1] = (struct resp_arg){srv->cfg.acl_pubsub_default ? "1" : "0", 1};
    w->argv[2] = (struct resp_arg){w->first ? w->first : "", flen};
    w->argv[3] = (struct resp_arg){w->payload ? w->payload : "", plen};
    memcpy(w->argv + 4, argv, (size_t)argc * sizeof *argv);
    return 0;
}

int aclstate_as(const struct client *c, struct resp_arg out[2])
{
    if (!c->user || (c->flags & CLIENT_PEER) || acl_user_unrestricted(c->user)) return 0;
    out[0] = (struct resp_arg){"raftcache.as", 12};
    out[1].ptr = acl_user_name(c->user, &out[1].len);
    return 2;
}

struct resp_arg *aclstate_as_script(const struct client *c, const struct command *cmd, int *argc,
                                    const struct resp_arg *argv)
{
    struct resp_arg pre[2];
    if (!cmd || !((cmd->flags & CMD_SCRIPT) || cmd->runs_script)) return NULL;
    int n = aclstate_as(c, pre);
    if (!n) return NULL;
    struct resp_arg *w = util_xmalloc(((size_t)*argc + 2) * sizeof *w);
    memcpy(w, pre, sizeof pre);
    memcpy(w + n, argv, (size_t)*argc * sizeof *w);
    *argc += n;
    return w;
}

void aclstate_wrapped_free(struct aclstate_wrapped *w)
{
    free(w->argv);
    free(w->first);
    free(w->payload);
    memset(w, 0, sizeof *w);
}

/* ----------------------------------------------------------- applying */

void aclstate_user_gone(struct server *srv, struct acl_user *u)
{
    struct acl_user *d = default_user(srv);
    ASSERT(u != d);
    for (struct client *c = srv->clients; c; c = c->next) {
        if (c->user != u) continue;
        set_user(c, d, 0); /* nothing it may still run is u's */
        client_close_after_reply(c);
    }
}

struct sub_check {
    const struct acl_user *u;
    int pattern, denied;
};

static void check_name(void *ud, const char *name, size_t len)
{
    struct sub_check *k = ud;
    if (!k->denied && !acl_user_may_subscribe(k->u, name, len, k->pattern)) k->denied = 1;
}

/* A subscriber whose user no longer allows one of its channels is closed. */
static void check_subscriber(struct client *c)
{
    if (!c->user || !(c->n_subs[0] + c->n_subs[1] + c->n_subs[2])) return;
    struct sub_check k = {c->user, 0, 0};
    for (int kind = 0; kind < PUBSUB_KINDS && !k.denied; kind++) {
        k.pattern = kind == PUBSUB_PATTERN;
        pubsub_client_names(c, (enum pubsub_kind)kind, check_name, &k);
    }
    if (k.denied) client_close_after_reply(c);
}

void aclstate_user_changed(struct server *srv, struct acl_user *u)
{
    for (struct client *c = srv->clients; c; c = c->next)
        if (c->user == u) check_subscriber(c);
}

void aclstate_replace(struct server *srv, struct acl *from, int drop_all)
{
    struct acl_user *d = default_user(srv);
    for (struct client *c = srv->clients; c; c = c->next)
        if (c->user && c->user != d && (drop_all || acl_replace_drops(from, c->user)))
            aclstate_user_gone(srv, c->user);
    acl_replace(srv->acl, from);
    acl_free(from);
    for (struct client *c = srv->clients; c; c = c->next)
        check_subscriber(c);
}

void aclstate_adopt(struct server *srv, const char *text, size_t len)
{
    if (srv->acl_from_log) return;
    srv->acl_from_log = 1;
    char *errors = NULL;
    struct acl *a = acl_parse_file(text, len, "(the leader's users)", 0, &errors);
    if (!a) { /* every node parses the same text the same way */
        LOG_WARNING("ACL: the users the log carries do not load (%s): the node keeps its own",
                    errors);
        free(errors);
        return;
    }
    aclstate_replace(srv, a, 0);
    LOG_NOTICE("ACL: the users are the cluster's from now on, set through the Raft log (%zu "
               "users); the node's user directives and aclfile no longer apply",
               acl_count(srv->acl));
}

void aclstate_requirepass(struct server *srv)
{
    default_password(srv->acl, &srv->cfg.requirepass);
}

/* ---------------------------------------------------------- snapshots */

char *aclstate_snapshot_text(const struct server *srv, size_t *len)
{
    return srv->acl_from_log ? acl_file_text(srv->acl, len) : NULL;
}

int aclstate_snapshot_load(struct server *srv, const char *text, size_t len, char *err,
                           size_t errlen)
{
    char *errors = NULL;
    struct acl *a = acl_parse_file(text, len, "(snapshot)", 0, &errors);
    if (!a) {
        util_fail(err, errlen, -1, "the ACL users do not load: %s", errors);
        free(errors);
        return -1;
    }
    aclstate_replace(srv, a, 0);
    srv->acl_from_log = 1;
    return 0;
}

void aclstate_reset(struct server *srv)
{
    char *errors = NULL;
    const char *text = srv->acl_configured;
    struct acl *a = acl_parse_file(text, strlen(text), "(configured)", 0, &errors);
    ASSERT(a != NULL); /* written by acl_file_text() at start */
    free(errors);
    aclstate_replace(srv, a, 0);
    srv->acl_from_log = 0;
}
