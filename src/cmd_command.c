/*
 * src/cmd_command.c - COMMAND and its subcommands: the command table as
 * clients read it (redis-py's cluster client, redis-cli hints, tooling).
 *
 * Everything is derived from cmd_table (src/cmdtable.c); nothing here is a
 * second copy of what the table says.
 */
#include <string.h>
#include <strings.h>

#include "dispatch.h"
#include "glob.h"
#include "server.h"

static int arg_is(const struct resp_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static const struct {
    uint32_t flag;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},     {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},     {CMD_NOSCRIPT, "noscript"}, {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},     {CMD_FAST, "fast"},         {CMD_NOAUTH, "no_auth"},
    {CMD_NO_MULTI, "no_multi"},
};

static void add_flags(struct resp_out *o, const struct command *cmd)
{
    resp_deferred d = resp_add_deferred(o);
    long n = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
        if (!(cmd->flags & flag_names[i].flag)) continue;
        resp_add_simple(o, flag_names[i].name);
        n++;
    }
    resp_set_deferred_set_len(o, d, n);
}

/* ACL categories: the table's space-separated words, each as "@word". */
static void add_acl(struct resp_out *o, const struct command *cmd)
{
    resp_deferred d = resp_add_deferred(o);
    long n = 0;
    const char *p = cmd->acl ? cmd->acl : "";
    while (*p) {
        size_t len = strcspn(p, " ");
        char word[40];
        if (len > 0 && len < sizeof word - 1) {
            word[0] = '@';
            memcpy(word + 1, p, len);
            word[len + 1] = 0;
            resp_add_simple(o, word);
            n++;
        }
        p += len;
        while (*p == ' ') p++;
    }
    resp_set_deferred_set_len(o, d, n);
}

static void add_command_info(struct resp_out *o, const struct command *cmd)
{
    resp_add_array_len(o, 10);
    resp_add_bulk_cstr(o, cmd->name);
    resp_add_int(o, cmd->arity);
    add_flags(o, cmd);
    resp_add_int(o, cmd->first_key);
    resp_add_int(o, cmd->last_key);
    resp_add_int(o, cmd->key_step);
    add_acl(o, cmd);
    resp_add_set_len(o, 0); /* tips */
    resp_add_array_len(o, 0); /* key specs: first/last/step describe our keys fully */
    long nsub = 0;
    for (const struct command *s = cmd->subcommands; s && s->name; s++) nsub++;
    resp_add_array_len(o, nsub);
    for (const struct command *s = cmd->subcommands; s && s->name; s++) add_command_info(o, s);
}

void cmd_command(struct cmd_ctx *c)
{
    resp_add_array_len(c->out, cmd_count());
    for (const struct command *cmd = cmd_table; cmd->name; cmd++) add_command_info(c->out, cmd);
}

void cmd_command_count(struct cmd_ctx *c)
{
    resp_add_int(c->out, cmd_count());
}

/* Finds "name" or "container|sub" by its full name. */
static const struct command *find_full_name(const struct resp_arg *a)
{
    const char *bar = memchr(a->ptr, '|', a->len);
    if (!bar) return cmd_lookup_name(a->ptr, a->len);
    const struct command *parent = cmd_lookup_name(a->ptr, (size_t)(bar - a->ptr));
    if (!parent) return NULL;
    for (const struct command *s = parent->subcommands; s && s->name; s++)
        if (strlen(s->name) == a->len && strncasecmp(s->name, a->ptr, a->len) == 0) return s;
    return NULL;
}

void cmd_command_info(struct cmd_ctx *c)
{
    if (c->argc == 2) {
        cmd_command(c);
        return;
    }
    resp_add_array_len(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const struct command *cmd = find_full_name(&c->argv[i]);
        if (cmd) add_command_info(c->out, cmd);
        else resp_add_null_array(c->out);
    }
}

static void add_docs(struct resp_out *o, const struct command *cmd)
{
    long nsub = 0;
    for (const struct command *s = cmd->subcommands; s && s->name; s++) nsub++;
    resp_add_map_len(o, nsub ? 4 : 3);
    resp_add_bulk_cstr(o, "summary");
    resp_add_bulk_cstr(o, cmd->summary);
    resp_add_bulk_cstr(o, "since");
    resp_add_bulk_cstr(o, cmd->since);
    resp_add_bulk_cstr(o, "group");
    resp_add_bulk_cstr(o, cmd->group);
    if (!nsub) return;
    resp_add_bulk_cstr(o, "subcommands");
    resp_add_map_len(o, nsub);
    for (const struct command *s = cmd->subcommands; s && s->name; s++) {
        resp_add_bulk_cstr(o, s->name);
        add_docs(o, s);
    }
}

void cmd_command_docs(struct cmd_ctx *c)
{
    if (c->argc == 2) {
        resp_add_map_len(c->out, cmd_count());
        for (const struct command *cmd = cmd_table; cmd->name; cmd++) {
            resp_add_bulk_cstr(c->out, cmd->name);
            add_docs(c->out, cmd);
        }
        return;
    }
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int i = 2; i < c->argc; i++) {
        const struct command *cmd = find_full_name(&c->argv[i]);
        if (!cmd) continue; /* Redis omits unknown names */
        resp_add_bulk_cstr(c->out, cmd->name);
        add_docs(c->out, cmd);
        n++;
    }
    resp_set_deferred_map_len(c->out, d, n);
}

/* 1 if cmd passes COMMAND LIST's filter (argv[3], argv[4]). */
static int list_filter(struct cmd_ctx *c, const struct command *cmd)
{
    if (c->argc == 2) return 1;
    const struct resp_arg *kind = &c->argv[3], *val = &c->argv[4];
    if (arg_is(kind, "MODULE")) return 0; /* no modules */
    if (arg_is(kind, "PATTERN"))
        return glob_match(val->ptr, val->len, cmd->name, strlen(cmd->name), 1);
    /* ACLCAT: a whole word of the acl field */
    const char *p = cmd->acl ? cmd->acl : "";
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len == val->len && strncasecmp(p, val->ptr, len) == 0) return 1;
        p += len;
        while (*p == ' ') p++;
    }
    return 0;
}

void cmd_command_list(struct cmd_ctx *c)
{
    if (c->argc != 2 && (c->argc != 5 || !arg_is(&c->argv[2], "FILTERBY") ||
                         !(arg_is(&c->argv[3], "MODULE") || arg_is(&c->argv[3], "ACLCAT") ||
                           arg_is(&c->argv[3], "PATTERN")))) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int id = 0; id < cmd_id_count(); id++) {
        const struct command *cmd = cmd_by_id(id);
        if (!list_filter(c, cmd)) continue;
        resp_add_bulk_cstr(c->out, cmd->name);
        n++;
    }
    resp_set_deferred_array_len(c->out, d, n);
}

void cmd_command_getkeys(struct cmd_ctx *c)
{
    int argc = c->argc - 2;
    const struct resp_arg *argv = c->argv + 2;
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    if (!cmd || (cmd->flags & CMD_CONTAINER)) {
        resp_add_error(c->out, "ERR Invalid command specified");
        return;
    }
    if (!cmd_arity_ok(cmd, argc)) {
        resp_add_error(c->out, "ERR Invalid number of arguments specified for command");
        return;
    }
    if (cmd->first_key == 0) {
        resp_add_error(c->out, "ERR The command has no key arguments");
        return;
    }
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int i = cmd->first_key; i <= last && i < argc; i += cmd->key_step) {
        resp_add_bulk(c->out, argv[i].ptr, argv[i].len);
        n++;
    }
    resp_set_deferred_array_len(c->out, d, n);
}

void cmd_command_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
        "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple commands.",
        "GETKEYS <full-command>",
        "    Return the keys from a full command.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
