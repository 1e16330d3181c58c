/*
 * src/servercmd/cmd_config.c - CONFIG GET / SET / RESETSTAT / HELP, driven by the
 * directive table of src/config/config.h (no directive is named here).
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "config/config.h"
#include "server/aclstate.h"
#include "server/server.h"
#include "cmd/monitor.h"
#include "base/util.h"
#include "cmd/cmdarg.h"

struct get_ctx {
    struct resp_out *out;
    long n;
};

static void add_pair(void *ud, const char *name, const char *value, size_t value_len)
{
    struct get_ctx *g = ud;
    resp_add_bulk_cstr(g->out, name);
    resp_add_bulk(g->out, value, value_len); /* binary-safe: a password may hold NULs */
    g->n++;
}

/* The argument arrays below are on the heap: a command may carry up to the
 * parser's args_max (about a million) arguments, far more than a stack. */
void cmd_config_get(struct cmd_ctx *c)
{
    int npat = c->argc - 2;
    const char **pats = calloc((size_t)npat, sizeof *pats);
    size_t *lens = calloc((size_t)npat, sizeof *lens);
    if (!pats || !lens) abort();
    for (int i = 0; i < npat; i++) {
        pats[i] = c->argv[i + 2].ptr;
        lens[i] = c->argv[i + 2].len;
    }
    struct get_ctx g = {c->out, 0};
    resp_deferred d = resp_add_deferred(c->out);
    config_get(&c->srv->cfg, npat, pats, lens, add_pair, &g);
    resp_set_deferred_map_len(c->out, d, g.n);
    free(pats);
    free(lens);
}

/* NUL-terminated copies of argv[from..]: names are C strings; values keep
 * their lengths too (a secret may hold NUL bytes). */
static char **cstr_copies(const struct cmd_ctx *c, int from)
{
    int n = c->argc - from;
    char **v = util_xcalloc((size_t)n, sizeof *v);
    for (int i = 0; i < n; i++) {
        const struct resp_arg *a = &c->argv[from + i];
        v[i] = util_xmalloc(a->len + 1);
        memcpy(v[i], a->ptr, a->len);
        v[i][a->len] = 0;
    }
    return v;
}

void cmd_config_set(struct cmd_ctx *c)
{
    if ((c->argc - 2) % 2 != 0) { /* Redis 7.0: an odd count is a syntax error */
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    int pairs = (c->argc - 2) / 2;
    char **words = cstr_copies(c, 2);
    const char **names = calloc((size_t)pairs, sizeof *names);
    const char **values = calloc((size_t)pairs, sizeof *values);
    size_t *lens = calloc((size_t)pairs, sizeof *lens);
    if (!names || !values || !lens) abort();
    for (int i = 0; i < pairs; i++) {
        names[i] = words[2 * i];
        values[i] = words[2 * i + 1];
        lens[i] = c->argv[2 + 2 * i + 1].len;
    }
    char err[512];
    if (config_set_multi(&c->srv->cfg, pairs, names, values, lens, err, sizeof err) == CONFIG_OK) {
        if (c->acl) aclstate_requirepass(c->srv); /* applied on every node: the default user */
        resp_add_simple(c->out, "OK");
        for (int i = 0; i < pairs; i++) { /* a Redis directive raftcache does not apply */
            const struct config_def *d = config_redis_lookup(names[i]);
            if (d) LOG_NOTICE("CONFIG SET %s: accepted, not applied (%s)", d->name, d->doc);
        }
    } else
        resp_add_error(c->out, err);
    for (int i = 0; i < 2 * pairs; i++)
        free(words[i]);
    free(words);
    free(names);
    free(values);
    free(lens);
}

/* CONFIG SET requirepass sets the default user's password: on every node,
 * through the log (src/server/aclstate.h), routed as a write. */
int cmd_config_set_acl_write(int argc, const struct resp_arg *argv)
{
    for (int i = 2; i < argc; i += 2)
        if (cmd_arg_is(&argv[i], "requirepass")) return 1;
    return 0;
}

uint32_t cmd_config_set_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                                   uint32_t flags)
{
    (void)srv;
    return cmd_config_set_acl_write(argc, argv) ? flags | CMD_WRITE | CMD_KEYLESS_WRITE : flags;
}

/* CONFIG REWRITE: the running configuration into the file the node
 * started from (config_rewrite(): comments and order kept). */
void cmd_config_rewrite(struct cmd_ctx *c)
{
    const char *path = c->srv->config_file;
    if (!path) {
        resp_add_error(c->out, "ERR The server is running without a config file");
        return;
    }
    char err[512];
    if (config_rewrite(&c->srv->cfg, path, err, sizeof err) != 0) {
        LOG_WARNING("CONFIG REWRITE failed: %s", err);
        resp_add_errorf(c->out, "ERR Rewriting config file: %s", err);
        return;
    }
    LOG_NOTICE("CONFIG REWRITE executed with success.");
    resp_add_simple(c->out, "OK");
}

void cmd_config_resetstat(struct cmd_ctx *c)
{
    struct server *srv = c->srv;
    memset(&srv->stats, 0, sizeof srv->stats);
    monitor_reset_stats(&srv->monitor);
    kv_reset_stats(&srv->dbs.common);
    resp_add_simple(c->out, "OK");
}

void cmd_config_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
