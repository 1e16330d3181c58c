/*
 * src/servercmd/cmd_conn.c - connection commands: PING, ECHO, QUIT, HELLO, AUTH,
 * SELECT, RESET, CLIENT *, TIME, FUNCTION FLUSH.
 *
 * These never touch the keyspace and are never replicated: they act on the
 * calling client (c->client is always set for them) or on the local server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "acl/acl.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "base/log.h"
#include "server/aclstate.h"
#include "server/monitors.h"
#include "server/multi.h"
#include "server/server.h"
#include "server/shutdown.h"
#include "server/tracking.h"
#include "servercmd/cmd_role.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define ERR_BAD_CLIENT_NAME                                                                        \
    "ERR Client names cannot contain spaces, newlines or special characters."

#define ERR_WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."

void cmd_ping(struct cmd_ctx *c)
{
    if (c->argc > 2) {
        resp_add_error(c->out, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if (c->client && (c->client->flags & CLIENT_PUBSUB) && c->out->proto == 2) {
        resp_add_array_len(c->out, 2); /* subscribed over RESP2: Redis's array form */
        resp_add_bulk(c->out, "pong", 4);
        resp_add_bulk(c->out, c->argc == 2 ? c->argv[1].ptr : "",
                      c->argc == 2 ? c->argv[1].len : 0);
        return;
    }
    if (c->argc == 2)
        resp_add_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
    else
        resp_add_simple(c->out, "PONG");
}

void cmd_echo(struct cmd_ctx *c)
{
    resp_add_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
}

void cmd_quit(struct cmd_ctx *c)
{
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    resp_add_simple(c->out, "OK");
    client_close_after_reply(c->client);
}

void cmd_auth(struct cmd_ctx *c)
{
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    if (c->argc > 3) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    if (c->argc == 2 && aclstate_default_nopass(c->srv)) {
        resp_add_error(c->out, "ERR AUTH <password> called without any password configured "
                               "for the default user. Are you sure your configuration is "
                               "correct?");
        return;
    }
    const struct resp_arg *user = c->argc == 3 ? &c->argv[1] : NULL;
    if (aclstate_auth(c->srv, c->client, &c->argv[0], user, &c->argv[c->argc - 1]) != 0) {
        resp_add_error(c->out, ERR_WRONGPASS);
        return;
    }
    resp_add_simple(c->out, "OK");
}

/* Client names and library attributes: printable, no spaces (Redis rule). */
static int valid_name(const struct resp_arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~') return 0;
    return 1;
}

static void set_owned(char **dst, const struct resp_arg *a)
{
    free(*dst);
    *dst = NULL;
    if (a->len == 0) return;
    *dst = util_xmalloc(a->len + 1);
    memcpy(*dst, a->ptr, a->len);
    (*dst)[a->len] = 0;
}

static int set_client_name(struct cmd_ctx *c, const struct resp_arg *name)
{
    if (!valid_name(name)) {
        resp_add_error(c->out, ERR_BAD_CLIENT_NAME);
        return -1;
    }
    ASSERT(c->client); /* CLIENT SETNAME is CMD_NOSCRIPT */
    set_owned(&c->client->name, name);
    return 0;
}

static void hello_reply(struct cmd_ctx *c)
{
    resp_add_map_len(c->out, 7);
    resp_add_bulk_cstr(c->out, "server");
    resp_add_bulk_cstr(c->out, "redis");
    resp_add_bulk_cstr(c->out, "version");
    resp_add_bulk_cstr(c->out, REDIS_COMPAT_VERSION);
    resp_add_bulk_cstr(c->out, "proto");
    resp_add_int(c->out, c->out->proto);
    resp_add_bulk_cstr(c->out, "id");
    resp_add_int(c->out, (long long)c->client->id);
    resp_add_bulk_cstr(c->out, "mode");
    resp_add_bulk_cstr(c->out, role_redis_mode(c->srv));
    resp_add_bulk_cstr(c->out, "role");
    resp_add_bulk_cstr(c->out, role_hello_role(c->srv));
    resp_add_bulk_cstr(c->out, "modules");
    resp_add_array_len(c->out, 0);
}

void cmd_hello(struct cmd_ctx *c)
{
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    long long ver = 0;
    int i = 1;
    if (c->argc >= 2) {
        if (!util_str2ll(c->argv[1].ptr, c->argv[1].len, &ver)) {
            resp_add_error(c->out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            resp_add_error(c->out, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    /* Options take effect in order, as in Redis 7.0: an AUTH that succeeds
     * stands even if a later option is refused. */
    const struct resp_arg *name = NULL;
    for (; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (cmd_arg_is(&c->argv[i], "AUTH") && left >= 2) {
            if (aclstate_auth(c->srv, c->client, &c->argv[0], &c->argv[i + 1], &c->argv[i + 2])) {
                resp_add_error(c->out, ERR_WRONGPASS);
                return;
            }
            i += 2;
        } else if (cmd_arg_is(&c->argv[i], "SETNAME") && left >= 1) {
            name = &c->argv[++i];
            if (!valid_name(name)) {
                resp_add_error(c->out, ERR_BAD_CLIENT_NAME);
                return;
            }
        } else {
            resp_add_errorf(c->out, "ERR Syntax error in HELLO option '%.*s'",
                            (int)(c->argv[i].len > 128 ? 128 : c->argv[i].len), c->argv[i].ptr);
            return;
        }
    }
    if (!(c->client->flags & CLIENT_AUTHED)) {
        resp_add_error(c->out, "NOAUTH HELLO must be called with the client already "
                               "authenticated, otherwise the HELLO AUTH <user> <pass> "
                               "option can be used to authenticate the client and select the "
                               "RESP protocol version at the same time");
        return;
    }
    if (name) set_owned(&c->client->name, name);
    if (ver) c->out->proto = (int)ver;
    hello_reply(c);
}

void cmd_select(struct cmd_ctx *c)
{
    int db = cmd_arg_db(c, 1);
    if (db < 0) return;
    if (c->selected) *c->selected = db;
    resp_add_simple(c->out, "OK");
}

void cmd_reset(struct cmd_ctx *c)
{
    struct client *cl = c->client;
    ASSERT(cl); /* CMD_NOSCRIPT: only a client's own connection runs it */
    multi_client_reset(cl);
    pubsub_client_gone(&c->srv->pubsub, cl);
    tracking_disable(c->srv, cl);
    cl->maint = 0; /* maintenance notifications off, as every mode RESET ends */
    free(cl->name);
    cl->name = NULL;
    cl->db = 0;
    c->out->proto = 2;
    aclstate_client_start(c->srv, cl); /* default again, as Redis's RESET */
    cl->flags &= ~(CLIENT_LEADER_READS | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT);
    monitors_remove(&c->srv->monitors, cl);
    resp_add_simple(client_push_out(cl), "RESET"); /* heard even if replies were off */
}

void cmd_client_id(struct cmd_ctx *c)
{
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    resp_add_int(c->out, (long long)c->client->id);
}

void cmd_client_setname(struct cmd_ctx *c)
{
    if (set_client_name(c, &c->argv[2]) == 0) resp_add_simple(c->out, "OK");
}

void cmd_client_getname(struct cmd_ctx *c)
{
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    if (c->client->name)
        resp_add_bulk_cstr(c->out, c->client->name);
    else
        resp_add_null(c->out);
}

void cmd_client_setinfo(struct cmd_ctx *c)
{
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    char **dst;
    if (cmd_arg_is(&c->argv[2], "lib-name"))
        dst = &c->client->lib_name;
    else if (cmd_arg_is(&c->argv[2], "lib-ver"))
        dst = &c->client->lib_ver;
    else {
        resp_add_errorf(c->out, "ERR Unrecognized option '%.*s'",
                        (int)(c->argv[2].len > 128 ? 128 : c->argv[2].len), c->argv[2].ptr);
        return;
    }
    if (!valid_name(&c->argv[3])) {
        resp_add_errorf(c->out,
                        "ERR %.*s cannot contain spaces, newlines or special "
                        "characters.",
                        (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    set_owned(dst, &c->argv[3]);
    resp_add_simple(c->out, "OK");
}

/* Appends one CLIENT LIST line (with '\n') to a growing text buffer. */
static void append_client_line(char **text, size_t *len, size_t *cap, const struct client *cl,
                               int64_t now)
{
    char line[1024];
    size_t n = client_format_info(cl, line, sizeof line, now);
    if (*cap - *len < n + 2) {
        *cap = (*cap + n + 2) * 2;
        *text = util_xrealloc(*text, *cap);
    }
    memcpy(*text + *len, line, n);
    *len += n;
    (*text)[(*len)++] = '\n';
    ASSERT(n < sizeof line && *len <= *cap); /* client_format_info() keeps n < its cap */
}

static int parse_id(const struct resp_arg *a, unsigned long long *id)
{
    long long v;
    if (!util_str2ll(a->ptr, a->len, &v) || v <= 0) return 0;
    *id = (unsigned long long)v;
    return 1;
}

/* Redis 7.0's client types for CLIENT LIST/KILL TYPE: "normal" and
 * "pubsub" (a client subscribed to something), and "replica", "slave",
 * "master", which name no connection on this server (Raft peer links are
 * not clients); -1 after replying the error for any other. */
enum client_type { CT_NONE, CT_NORMAL, CT_PUBSUB };

static int parse_client_type(struct cmd_ctx *c, const struct resp_arg *v)
{
    if (cmd_arg_is(v, "normal")) return CT_NORMAL;
    if (cmd_arg_is(v, "pubsub")) return CT_PUBSUB;
    if (cmd_arg_is(v, "replica") || cmd_arg_is(v, "slave") || cmd_arg_is(v, "master"))
        return CT_NONE;
    resp_add_errorf(c->out, "ERR Unknown client type '%.*s'", (int)v->len, v->ptr);
    return -1;
}

/* Whether cl is of type t (0: any). */
static int client_is_type(const struct client *cl, int t)
{
    if (t == 0) return 1;
    return t == ((cl->flags & CLIENT_PUBSUB) ? CT_PUBSUB : CT_NORMAL);
}

void cmd_client_list(struct cmd_ctx *c)
{
    int64_t now = server_now_ms();
    int want_ids = 0, type = 0;
    if (c->argc == 4 && cmd_arg_is(&c->argv[2], "TYPE")) {
        type = parse_client_type(c, &c->argv[3]);
        if (type < 0) return;
        if (type == CT_NONE) {
            resp_add_verbatim(c->out, "", 0, "txt");
            return;
        }
    } else if (c->argc >= 4 && cmd_arg_is(&c->argv[2], "ID")) {
        want_ids = 1;
        for (int i = 3; i < c->argc; i++) {
            unsigned long long id;
            if (!parse_id(&c->argv[i], &id)) {
                resp_add_error(c->out, "ERR Invalid client ID");
                return;
            }
        }
    } else if (c->argc != 2) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (const struct client *cl = c->srv->clients; cl; cl = cl->next) {
        if ((cl->flags & CLIENT_NOT_A_CLIENT) || !client_is_type(cl, type)) continue;
        int match = !want_ids;
        for (int i = 3; want_ids && i < c->argc && !match; i++) {
            unsigned long long id;
            match = parse_id(&c->argv[i], &id) && id == cl->id;
        }
        if (match) append_client_line(&text, &len, &cap, cl, now);
    }
    resp_add_verbatim(c->out, text ? text : "", len, "txt");
    free(text);
}

void cmd_client_info(struct cmd_ctx *c)
{
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    char *text = NULL;
    size_t len = 0, cap = 0;
    append_client_line(&text, &len, &cap, c->client, server_now_ms());
    resp_add_verbatim(c->out, text, len, "txt");
    free(text);
}

/* One CLIENT KILL filter; an unset field matches every client. */
struct kill_filter {
    unsigned long long id;
    const struct resp_arg *addr, *laddr;
    int skipme;
    int no_type_match;           /* TYPE named a kind of client this server never has */
    int type;                    /* TYPE, 0 if not given */
    const struct acl_user *user; /* USER, NULL if not given */
};

static int parse_kill_filter(struct cmd_ctx *c, struct kill_filter *f)
{
    f->skipme = 1;
    for (int i = 2; i < c->argc; i += 2) {
        const struct resp_arg *k = &c->argv[i];
        if (i + 1 >= c->argc) return resp_add_error(c->out, ERR_SYNTAX), -1;
        const struct resp_arg *v = &c->argv[i + 1];
        if (cmd_arg_is(k, "ID")) {
            if (!parse_id(v, &f->id))
                return resp_add_error(c->out, "ERR client-id should be greater than 0"), -1;
        } else if (cmd_arg_is(k, "ADDR")) {
            f->addr = v;
        } else if (cmd_arg_is(k, "LADDR")) {
            f->laddr = v;
        } else if (cmd_arg_is(k, "SKIPME")) {
            if (cmd_arg_is(v, "yes"))
                f->skipme = 1;
            else if (cmd_arg_is(v, "no"))
                f->skipme = 0;
            else
                return resp_add_error(c->out, ERR_SYNTAX), -1;
        } else if (cmd_arg_is(k, "TYPE")) {
            int type = parse_client_type(c, v);
            if (type < 0) return -1;
            f->no_type_match = type == CT_NONE;
            f->type = type;
        } else if (cmd_arg_is(k, "USER")) {
            f->user = acl_user(c->srv->acl, v->ptr, v->len);
            if (!f->user)
                return resp_add_errorf(c->out, "ERR No such user '%.*s'",
                                       (int)(v->len > 128 ? 128 : v->len), v->ptr),
                       -1;
        } else {
            return resp_add_error(c->out, ERR_SYNTAX), -1;
        }
    }
    return 0;
}

static int str_is(const char *s, const struct resp_arg *a)
{
    return strlen(s) == a->len && memcmp(s, a->ptr, a->len) == 0;
}

static int kill_matching(struct cmd_ctx *c, const struct kill_filter *f)
{
    int killed = 0;
    if (f->no_type_match) return 0;
    for (struct client *cl = c->srv->clients; cl; cl = cl->next) {
        if (cl->flags & CLIENT_NOT_A_CLIENT) continue;
        if (f->id && cl->id != f->id) continue;
        if (!client_is_type(cl, f->type)) continue;
        if (f->addr && !str_is(cl->addr, f->addr)) continue;
        if (f->laddr && !str_is(cl->laddr, f->laddr)) continue;
        if (f->user && cl->user != f->user) continue;
        if (cl == c->client && f->skipme) continue;
        if (cl == c->client)
            client_close_after_reply(cl);
        else
            client_close_asap(cl);
        killed++;
    }
    return killed;
}

void cmd_client_kill(struct cmd_ctx *c)
{
    if (c->argc == 3) { /* old form: CLIENT KILL addr:port */
        struct kill_filter f = {.addr = &c->argv[2], .skipme = 0};
        if (kill_matching(c, &f) == 0)
            resp_add_error(c->out, "ERR No such client");
        else
            resp_add_simple(c->out, "OK");
        return;
    }
    struct kill_filter f = {0};
    if (parse_kill_filter(c, &f) < 0) return;
    resp_add_int(c->out, kill_matching(c, &f));
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client blocked on keys gets its
 * timeout reply, or an error (src/server/blocked.h). 1 if it was blocked. */
void cmd_client_unblock(struct cmd_ctx *c)
{
    long long id;
    if (cmd_arg_ll(c, 2, &id) < 0) return;
    const char *err = NULL;
    if (c->argc == 4 && cmd_arg_is(&c->argv[3], "error")) {
        err = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
    } else if (c->argc > 4 || (c->argc == 4 && !cmd_arg_is(&c->argv[3], "timeout"))) {
        resp_add_error(c->out, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        return;
    }
    struct server *srv = c->srv;
    for (struct client *cl = srv->clients; cl; cl = cl->next) {
        if (cl->id != (uint64_t)id || (cl->flags & CLIENT_NOT_A_CLIENT)) continue;
        resp_add_int(c->out, blocked_unblock(&srv->blocked, cl, err));
        return;
    }
    resp_add_int(c->out, 0);
}

void cmd_client_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, ADDR, LADDR, "
        "TYPE (NORMAL|MASTER|REPLICA|PUBSUB), USER default, SKIPME (YES|NO).",
        "LIST [options ...]",
        "    Return information about client connections. Options: "
        "TYPE (NORMAL|MASTER|REPLICA|PUBSUB), ID <id> ...",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client meta attributes.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

/* In the apply path (a script in a log entry) the time is the entry's, so
 * that a script writing it writes the same on every node. */
void cmd_time(struct cmd_ctx *c)
{
    struct timeval tv;
    if (c->applying)
        tv = (struct timeval){(time_t)(c->now_ms / 1000), (suseconds_t)(c->now_ms % 1000) * 1000};
    else
        gettimeofday(&tv, NULL);
    resp_add_array_len(c->out, 2);
    resp_add_bulk_ll(c->out, (long long)tv.tv_sec);
    resp_add_bulk_ll(c->out, (long long)tv.tv_usec);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: there is no RDB file to save,
 * so SAVE is refused rather than pretended. A leader hands its leadership
 * over first (server_request_shutdown), as Redis 7.0 waits for lagging
 * replicas; NOW or FORCE skip that, and ABORT cancels it while it runs.
 * While a script is busy only SHUTDOWN NOSAVE is taken, as in Redis 7.0
 * (the others answer -BUSY). */
void cmd_shutdown(struct cmd_ctx *c)
{
    int nosave = 0, now = 0, abort_it = 0;
    for (int i = 1; i < c->argc; i++) {
        const struct resp_arg *a = &c->argv[i];
        if (cmd_arg_is(a, "NOSAVE"))
            nosave = 1;
        else if (cmd_arg_is(a, "NOW") || cmd_arg_is(a, "FORCE"))
            now = 1;
        else if (cmd_arg_is(a, "ABORT"))
            abort_it = 1;
        else if (cmd_arg_is(a, "SAVE")) {
            resp_add_error(c->out, "ERR SHUTDOWN SAVE is not supported: raftcache writes no "
                                   "RDB file");
            return;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return;
        }
    }
    if (abort_it) {
        if (c->argc != 2) /* ABORT takes no other option, as in Redis */
            resp_add_error(c->out, ERR_SYNTAX);
        else if (server_shutdown_abort(c->srv) == 0)
            resp_add_simple(c->out, "OK");
        else
            resp_add_error(c->out, "ERR No shutdown in progress.");
        return;
    }
    if (!nosave && server_script_busy(c->srv, NULL)) {
        resp_add_error(c->out, server_script_busy_error(c->srv));
        return;
    }
    LOG_WARNING("User requested shutdown...");
    server_request_shutdown(c->srv, !now);
}
