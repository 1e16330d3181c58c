/*
 * src/servercmd/cmd_acl.c - ACL and its subcommands (Redis 7.0's replies and
 * error texts), RAFTCACHE.ACL (the wrapper an ACL write is applied from),
 * and their rows of the command table.
 *
 * ACL SETUSER, DELUSER, LOAD and SAVE run only as applied from the log,
 * inside RAFTCACHE.ACL (src/server/aclstate.h): the dispatcher wraps them.
 * The others read this node's users or ACL LOG and run where they are
 * sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "acl/acl.h"
#include "base/log.h"
#include "base/util.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "cmd/rows.h"
#include "server/aclstate.h"
#include "server/acllog.h"
#include "server/server.h"
#include "servercmd/cmd_acl.h"

#define GENPASS_MAX_BITS 4096

/* The write runs only as applied from RAFTCACHE.ACL. */
static int applied(struct cmd_ctx *c)
{
    if (c->acl) return 1;
    resp_add_error(c->out, "ERR an ACL write goes through the Raft log (RAFTCACHE.ACL)");
    return 0;
}

void cmd_acl_setuser(struct cmd_ctx *c)
{
    if (!applied(c)) return;
    char err[1024];
    struct server *srv = c->srv;
    if (acl_setuser(srv->acl, c->argv[2].ptr, c->argv[2].len, c->argc - 3, c->argv + 3,
                    c->acl->pubsub_all, err, sizeof err) != 0) {
        resp_add_errorf(c->out, "ERR %s", err);
        return;
    }
    aclstate_user_changed(srv, acl_user(srv->acl, c->argv[2].ptr, c->argv[2].len));
    resp_add_simple(c->out, "OK");
}

void cmd_acl_deluser(struct cmd_ctx *c)
{
    if (!applied(c)) return;
    for (int i = 2; i < c->argc; i++)
        if (c->argv[i].len == 7 && !memcmp(c->argv[i].ptr, "default", 7)) { /* as strcmp */
            resp_add_error(c->out, "ERR The 'default' user cannot be removed");
            return;
        }
    long long deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        struct acl_user *u = acl_user(c->srv->acl, c->argv[i].ptr, c->argv[i].len);
        if (!u) continue;
        aclstate_user_gone(c->srv, u);
        deleted += acl_deluser(c->srv->acl, c->argv[i].ptr, c->argv[i].len) == 0;
    }
    resp_add_int(c->out, deleted);
}

void cmd_acl_load(struct cmd_ctx *c)
{
    if (!applied(c)) return;
    char *errors = NULL;
    struct acl *a = acl_parse_file(c->acl->payload, c->acl->payload_len, c->srv->cfg.aclfile,
                                   c->acl->pubsub_all, &errors);
    if (!a) { /* the proposing node checked it: only a payload it did not write */
        resp_add_errorf(c->out, "ERR %s", errors);
        free(errors);
        return;
    }
    aclstate_replace(c->srv, a, 1);
    resp_add_simple(c->out, "OK");
}

/* Writes the users to the aclfile: a file beside it, fsynced, renamed. */
static int save_file(const struct server *srv)
{
    char buf[4096];
    const char *path = aclstate_file_path(&srv->cfg, buf, sizeof buf);
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) return -1;
    size_t len;
    char *text = acl_file_text(srv->acl, &len);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t off = 0;
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    int ok = fd >= 0 && off == len && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        LOG_WARNING("Failed to save the ACL users to '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    explicit_bzero(text, len);
    free(text);
    return ok ? 0 : -1;
}

void cmd_acl_save(struct cmd_ctx *c)
{
    if (!applied(c)) return;
    if (!c->srv->cfg.aclfile[0]) { /* this node has none, unlike the leader */
        LOG_WARNING("ACL SAVE applied, but this node has no aclfile: nothing written");
        resp_add_error(c->out, "ERR This Redis instance is not configured to use an ACL file.");
        return;
    }
    if (save_file(c->srv) != 0) {
        resp_add_error(c->out, "ERR There was an error trying to save the ACLs. Please check the "
                               "server logs for more information");
        return;
    }
    resp_add_simple(c->out, "OK");
}

/* ------------------------------------------------------------- readers */

/* Redis's reply to a subcommand called with the wrong arguments: the
 * subcommand as the client wrote it. */
static void syntax_error(struct cmd_ctx *c)
{
    resp_add_errorf(c->out,
                    "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try ACL HELP.",
                    (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr);
}

struct flag_out {
    struct resp_out *out;
    long n;
};

static void put_flag(void *ud, const char *flag)
{
    struct flag_out *f = ud;
    resp_add_bulk_cstr(f->out, flag);
    f->n++;
}

/* commands, keys, channels of selector i: a map's three pairs. */
static void selector_pairs(struct resp_out *o, const struct acl_user *u, int i)
{
    char *commands, *keys, *channels;
    acl_describe_selector(u, i, &commands, &keys, &channels);
    resp_add_bulk_cstr(o, "commands");
    resp_add_bulk_cstr(o, commands);
    resp_add_bulk_cstr(o, "keys");
    resp_add_bulk_cstr(o, keys);
    resp_add_bulk_cstr(o, "channels");
    resp_add_bulk_cstr(o, channels);
    free(commands);
    free(keys);
    free(channels);
}

void cmd_acl_getuser(struct cmd_ctx *c)
{
    const struct acl_user *u = acl_user(c->srv->acl, c->argv[2].ptr, c->argv[2].len);
    if (!u) {
        resp_add_null(c->out);
        return;
    }
    resp_add_map_len(c->out, 6);
    resp_add_bulk_cstr(c->out, "flags");
    resp_deferred d = resp_add_deferred(c->out);
    struct flag_out f = {c->out, 0};
    acl_each_flag(u, put_flag, &f);
    resp_set_deferred_set_len(c->out, d, f.n);
    resp_add_bulk_cstr(c->out, "passwords");
    resp_add_array_len(c->out, (long)acl_password_count(u));
    for (size_t i = 0; i < acl_password_count(u); i++)
        resp_add_bulk_cstr(c->out, acl_password_at(u, i));
    selector_pairs(c->out, u, 0);
    resp_add_bulk_cstr(c->out, "selectors");
    resp_add_array_len(c->out, acl_selector_count(u) - 1);
    for (int i = 1; i < acl_selector_count(u); i++) {
        resp_add_map_len(c->out, 3);
        selector_pairs(c->out, u, i);
    }
}

static void list_users(struct cmd_ctx *c, int names_only)
{
    const struct acl *a = c->srv->acl;
    resp_add_array_len(c->out, (long)acl_count(a));
    for (size_t i = 0; i < acl_count(a); i++) {
        size_t nlen, dlen;
        const struct acl_user *u = acl_user_at(a, i);
        const char *name = acl_user_name(u, &nlen);
        if (names_only) {
            resp_add_bulk(c->out, name, nlen);
            continue;
        }
        char *d = acl_describe(u, &dlen);
        char *line = util_xmalloc(5 + nlen + 1 + dlen);
        memcpy(line, "user ", 5);
        memcpy(line + 5, name, nlen);
        line[5 + nlen] = ' ';
        memcpy(line + 6 + nlen, d, dlen);
        resp_add_bulk(c->out, line, 6 + nlen + dlen);
        free(line);
        free(d);
    }
}

void cmd_acl_list(struct cmd_ctx *c)
{
    list_users(c, 0);
}

void cmd_acl_users(struct cmd_ctx *c)
{
    list_users(c, 1);
}

void cmd_acl_whoami(struct cmd_ctx *c)
{
    if (c->client && c->client->user_name)
        resp_add_bulk_cstr(c->out, c->client->user_name);
    else
        resp_add_null(c->out);
}

static void cat_commands(struct cmd_ctx *c, int cat)
{
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int id = 0; id < cmd_id_count(); id++) {
        const struct command *cmd = cmd_by_id(id);
        if (!(cmd->flags & CMD_INTERNAL) && acl_command_in_category(cmd, cat)) {
            resp_add_bulk_cstr(c->out, cmd->name);
            n++;
        }
    }
    resp_set_deferred_array_len(c->out, d, n);
}

void cmd_acl_cat(struct cmd_ctx *c)
{
    if (c->argc == 2) {
        resp_add_array_len(c->out, acl_category_count());
        for (int i = 0; i < acl_category_count(); i++)
            resp_add_bulk_cstr(c->out, acl_category_name(i));
        return;
    }
    if (c->argc > 3) {
        syntax_error(c);
        return;
    }
    int cat = acl_category_find(c->argv[2].ptr, c->argv[2].len);
    if (cat < 0) {
        resp_add_errorf(c->out, "ERR Unknown category '%.*s'",
                        (int)(c->argv[2].len > 128 ? 128 : c->argv[2].len), c->argv[2].ptr);
        return;
    }
    cat_commands(c, cat);
}

void cmd_acl_genpass(struct cmd_ctx *c)
{
    long long bits = 256;
    if (c->argc > 3) {
        syntax_error(c);
        return;
    }
    if (c->argc == 3 && cmd_arg_ll(c, 2, &bits) < 0) return;
    if (bits <= 0 || bits > GENPASS_MAX_BITS) {
        resp_add_errorf(c->out,
                        "ERR ACL GENPASS argument must be the number of bits for the output "
                        "password, a positive number up to %d",
                        GENPASS_MAX_BITS);
        return;
    }
    size_t chars = (size_t)(bits + 3) / 4;
    unsigned char raw[GENPASS_MAX_BITS / 8];
    size_t got = 0;
    while (got < (chars + 1) / 2) {
        ssize_t r = getrandom(raw + got, (chars + 1) / 2 - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            resp_add_error(c->out, "ERR no random bytes from the kernel");
            return;
        }
        got += (size_t)r;
    }
    char pass[GENPASS_MAX_BITS / 4];
    util_hex(pass, raw, chars);
    resp_add_bulk(c->out, pass, chars);
    explicit_bzero(raw, sizeof raw);
}

static const char *reason_name(int r)
{
    switch (r) {
    case ACL_DENIED_CMD:
        return "command";
    case ACL_DENIED_KEY:
        return "key";
    case ACL_DENIED_CHANNEL:
        return "channel";
    case ACL_DENIED_AUTH:
        return "auth";
    default:
        return "unknown";
    }
}

static const char *context_name(int ctx)
{
    return ctx == ACLLOG_TOPLEVEL ? "toplevel"
           : ctx == ACLLOG_MULTI  ? "multi"
           : ctx == ACLLOG_LUA    ? "lua"
                                  : "unknown";
}

static void log_entry(struct resp_out *o, const struct acllog_entry *e, int64_t now)
{
    resp_add_map_len(o, 7);
    resp_add_bulk_cstr(o, "count");
    resp_add_int(o, (long long)e->count);
    resp_add_bulk_cstr(o, "reason");
    resp_add_bulk_cstr(o, reason_name(e->reason));
    resp_add_bulk_cstr(o, "context");
    resp_add_bulk_cstr(o, context_name(e->context));
    resp_add_bulk_cstr(o, "object");
    resp_add_bulk(o, e->object, e->object_len);
    resp_add_bulk_cstr(o, "username");
    resp_add_bulk(o, e->username, e->username_len);
    resp_add_bulk_cstr(o, "age-seconds");
    resp_add_double(o, (double)(now - e->ctime_ms) / 1000);
    resp_add_bulk_cstr(o, "client-info");
    resp_add_bulk_cstr(o, e->cinfo);
}

void cmd_acl_log(struct cmd_ctx *c)
{
    long long count = 10;
    if (c->argc > 3) {
        syntax_error(c);
        return;
    }
    if (c->argc == 3 && cmd_arg_is(&c->argv[2], "reset")) {
        acllog_reset(&c->srv->acllog);
        resp_add_simple(c->out, "OK");
        return;
    }
    if (c->argc == 3 && cmd_arg_ll(c, 2, &count) < 0) return;
    if (count < 0) count = 0;
    const struct acllog *l = &c->srv->acllog;
    if ((size_t)count > acllog_count(l)) count = (long long)acllog_count(l);
    int64_t now = server_now_ms();
    resp_add_array_len(c->out, count);
    for (long long i = 0; i < count; i++)
        log_entry(c->out, acllog_at(l, (size_t)i), now);
}

void cmd_acl_dryrun(struct cmd_ctx *c)
{
    const struct acl_user *u = acl_user(c->srv->acl, c->argv[2].ptr, c->argv[2].len);
    if (!u) {
        resp_add_errorf(c->out, "ERR User '%.*s' not found",
                        (int)(c->argv[2].len > 128 ? 128 : c->argv[2].len), c->argv[2].ptr);
        return;
    }
    int argc = c->argc - 3;
    const struct resp_arg *argv = c->argv + 3;
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    if (!cmd || (cmd->flags & CMD_CONTAINER) || (cmd->flags & CMD_INTERNAL)) {
        resp_add_errorf(c->out, "ERR Command '%.*s' not found",
                        (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr);
        return;
    }
    if (!cmd_arity_ok(cmd, argc)) {
        resp_add_errorf(c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    int pos = 0;
    enum acl_result r = acl_check(u, cmd, argc, argv, &pos);
    char msg[512];
    if (r == ACL_OK) {
        resp_add_simple(c->out, "OK");
        return;
    }
    if (r == ACL_DENIED_CMD)
        snprintf(msg, sizeof msg, "This user has no permissions to run the '%s' command",
                 cmd->name);
    else
        snprintf(msg, sizeof msg, "This user has no permissions to access the '%.*s' %s",
                 (int)(argv[pos].len > 256 ? 256 : argv[pos].len), argv[pos].ptr,
                 r == ACL_DENIED_KEY ? "key" : "channel");
    resp_add_bulk_cstr(c->out, msg);
}

void cmd_acl_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the "
        "command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

/* RAFTCACHE.ACL pubsub first payload command...: an ACL write as the
 * proposing node wrapped it (src/server/aclstate.h). */
void cmd_raftcache_acl(struct cmd_ctx *c)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(c->argv + 4, c->argc - 4, &parent);
    if (!c->applying || !cmd || !cmd->acl_write || !cmd_arity_ok(cmd, c->argc - 4)) {
        resp_add_error(c->out, "ERR RAFTCACHE.ACL is internal");
        return;
    }
    aclstate_adopt(c->srv, c->argv[2].ptr, c->argv[2].len);
    struct cmd_acl_apply a = {
        .pubsub_all = c->argv[1].len == 1 && c->argv[1].ptr[0] == '1',
        .payload = c->argv[3].ptr,
        .payload_len = c->argv[3].len,
    };
    struct cmd_ctx inner = *c;
    inner.argc -= 4;
    inner.argv += 4;
    inner.acl = &a;
    cmd_call(cmd, &inner, c->monitor, NULL);
}

/* The script RAFTCACHE.AS runs: EVAL, FCALL and the like, or RAFTCACHE.OOM
 * wrapping one. */
static const struct command *as_inner(int argc, const struct resp_arg *argv)
{
    if (argc < 3) return NULL;
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv + 2, argc - 2, &parent);
    int ok = cmd &&
             ((cmd->flags & CMD_SCRIPT) || cmd->runs_script || !strcmp(cmd->name, "raftcache.oom"));
    return ok && cmd_arity_ok(cmd, argc - 2) ? cmd : NULL;
}

/* RAFTCACHE.AS user command...: a script proposed for a client whose ACL
 * user is restricted; its commands are checked against that user as the
 * log has it at this entry (src/server/aclstate.h). */
void cmd_raftcache_as(struct cmd_ctx *c)
{
    const struct command *cmd = as_inner(c->argc, c->argv);
    if (!c->applying || !cmd) {
        resp_add_error(c->out, "ERR RAFTCACHE.AS is internal");
        return;
    }
    const struct acl_user *u = acl_user(c->srv->acl, c->argv[1].ptr, c->argv[1].len);
    if (!u) {
        resp_add_error(c->out, "NOPERM the user executing the script was deleted");
        return;
    }
    struct cmd_ctx inner = *c;
    inner.argc -= 2;
    inner.argv += 2;
    inner.user = u;
    cmd_call(cmd, &inner, c->monitor, NULL);
}

/* RAFTCACHE.DENIED error: a queued command EXEC found no longer allowed
 * (src/server/aclstate.h, TRANSACTIONS): its place in EXEC's reply is the
 * error, on every node. */
void cmd_raftcache_denied(struct cmd_ctx *c)
{
    if (!c->applying && !(c->client && (c->client->flags & CLIENT_MULTI))) {
        resp_add_error(c->out, "ERR RAFTCACHE.DENIED is internal");
        return;
    }
    resp_add_errorf(c->out, "%.*s", (int)c->argv[1].len, c->argv[1].ptr);
}

int cmd_raftcache_as_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    const struct command *cmd = as_inner(argc, argv);
    int n = cmd ? cmd_get_keys(cmd, argc - 2, argv + 2, idx, max) : 0;
    for (int i = 0; i < n; i++)
        idx[i] += 2;
    return n;
}

/* ACL SETUSER, DELUSER, LOAD and SAVE are ACL writes, every call. */
static int always(int argc, const struct resp_arg *argv)
{
    (void)argc;
    (void)argv;
    return 1;
}

#define ACL_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SENTINEL)
#define ACL_ADMIN (CMD_ADMIN | ACL_FLAGS)
#define ACL_WRITE (ACL_ADMIN | CMD_WRITE | CMD_KEYLESS_WRITE)

static const struct command acl_subcommands[] = {
    {"acl|cat", -2, ACL_FLAGS, 0, 0, 0, cmd_acl_cat, "server", "6.0.0",
     "Lists the ACL categories, or the commands inside a category.", "[categoryname]", "slow",
     NULL},
    {"acl|deluser", -3, ACL_WRITE, 0, 0, 0, cmd_acl_deluser, "server", "6.0.0",
     "Deletes ACL users, and terminates their connections.", "username [username ...]",
     "admin slow dangerous", NULL, .acl_write = always},
    {"acl|dryrun", -4, ACL_ADMIN, 0, 0, 0, cmd_acl_dryrun, "server", "7.0.0",
     "Simulates the execution of a command by a user, without executing the command.",
     "username command [arg [arg ...]]", "admin slow dangerous", NULL},
    {"acl|genpass", -2, ACL_FLAGS | CMD_RANDOM, 0, 0, 0, cmd_acl_genpass, "server", "6.0.0",
     "Generates a pseudorandom, secure password that can be used to identify ACL users.",
     "[bits:integer]", "slow", NULL},
    {"acl|getuser", 3, ACL_ADMIN, 0, 0, 0, cmd_acl_getuser, "server", "6.0.0",
     "Lists the ACL rules of a user.", "username", "admin slow dangerous", NULL},
    {"acl|help", 2, CMD_LOADING | CMD_STALE | CMD_SENTINEL, 0, 0, 0, cmd_acl_help, "server",
     "6.0.0", "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    {"acl|list", 2, ACL_ADMIN, 0, 0, 0, cmd_acl_list, "server", "6.0.0",
     "Dumps the effective rules in ACL file format.", NULL, "admin slow dangerous", NULL},
    {"acl|load", 2, ACL_WRITE, 0, 0, 0, cmd_acl_load, "server", "6.0.0",
     "Reloads the rules from the configured ACL file.", NULL, "admin slow dangerous", NULL,
     .acl_write = always},
    {"acl|log", -2, ACL_ADMIN | CMD_RANDOM, 0, 0, 0, cmd_acl_log, "server", "6.0.0",
     "Lists recent security events generated due to ACL rules.", "[count:integer|RESET]",
     "admin slow dangerous", NULL},
    {"acl|save", 2, ACL_WRITE, 0, 0, 0, cmd_acl_save, "server", "6.0.0",
     "Saves the effective ACL rules in the configured ACL file.", NULL, "admin slow dangerous",
     NULL, .acl_write = always},
    {"acl|setuser", -3, ACL_WRITE, 0, 0, 0, cmd_acl_setuser, "server", "6.0.0",
     "Creates and modifies an ACL user and its rules.", "username [rule [rule ...]]",
     "admin slow dangerous", NULL, .acl_write = always},
    {"acl|users", 2, ACL_ADMIN, 0, 0, 0, cmd_acl_users, "server", "6.0.0", "Lists all ACL users.",
     NULL, "admin slow dangerous", NULL},
    {"acl|whoami", 2, ACL_FLAGS, 0, 0, 0, cmd_acl_whoami, "server", "6.0.0",
     "Returns the authenticated username of the current connection.", NULL, "slow", NULL},
    CMD_ROWS_END,
};

const struct command cmd_table_acl[] = {
    {"acl", -2, CMD_CONTAINER | CMD_SENTINEL, 0, 0, 0, NULL, "server", "6.0.0",
     "A container for Access List Control commands.", NULL, "slow", acl_subcommands},
    {"raftcache.acl", -6, CMD_WRITE | CMD_KEYLESS_WRITE | CMD_NOSCRIPT | CMD_INTERNAL | LD | ST, 0,
     0, 0, cmd_raftcache_acl, "raft", "0.1.0",
     "An ACL write as the node that proposed it wrapped it (internal).",
     "pubsub first payload command [arg [arg ...]]", "admin slow dangerous", NULL},
    {"raftcache.denied", 2, CMD_WRITE | CMD_KEYLESS_WRITE | CMD_NOSCRIPT | CMD_INTERNAL, 0, 0, 0,
     cmd_raftcache_denied, "raft", "0.1.0",
     "A queued command EXEC found no longer allowed: its error (internal).", "error", "slow", NULL},
    {"raftcache.as", -4, CMD_WRITE | CMD_NOSCRIPT | CMD_INTERNAL, 0, 0, 0, cmd_raftcache_as, "raft",
     "0.1.0", "A script run for a restricted ACL user, checked as that user (internal).",
     "username command [arg [arg ...]]", "slow scripting", NULL, NULL, cmd_raftcache_as_keys,
     .wraps_script = 1},
    CMD_ROWS_END,
};
