/*
 * src/servercmd/cmd_script.c - the scripting commands (see cmd_script.h).
 */
#include "servercmd/cmd_script.h"
#include "cmd/cmdarg.h"
#include "script/script.h"
#include "server/server.h"
#include "base/util.h"

int cmd_script_args(struct cmd_ctx *c, long long numkeys, int read_only, struct script_args *a)
{
    if (numkeys > c->argc - 3) {
        resp_add_error(c->out, "ERR Number of keys can't be greater than number of args");
        return -1;
    }
    if (numkeys < 0) {
        resp_add_error(c->out, "ERR Number of keys can't be negative");
        return -1;
    }
    *a = (struct script_args){
        .keys = c->argv + 3,
        .nkeys = (int)numkeys,
        .args = c->argv + 3 + numkeys,
        .nargs = c->argc - 3 - (int)numkeys,
        .read_only = read_only,
    };
    return 0;
}

static void eval_generic(struct cmd_ctx *c, int sha, int read_only)
{
    long long n;
    struct script_args a;
    if (cmd_arg_ll(c, 2, &n) < 0 || cmd_script_args(c, n, read_only, &a) < 0) return;
    struct script_engine *e = c->srv->scripts;
    if (sha)
        script_run_sha(e, c, c->argv[1].ptr, c->argv[1].len, &a);
    else
        script_run_body(e, c, c->argv[1].ptr, c->argv[1].len, &a);
}

void cmd_eval(struct cmd_ctx *c)
{
    eval_generic(c, 0, 0);
}

void cmd_evalsha(struct cmd_ctx *c)
{
    eval_generic(c, 1, 0);
}

void cmd_eval_ro(struct cmd_ctx *c)
{
    eval_generic(c, 0, 1);
}

void cmd_evalsha_ro(struct cmd_ctx *c)
{
    eval_generic(c, 1, 1);
}

int cmd_eval_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    long long n;
    if (argc < 3 || !util_str2ll(argv[2].ptr, argv[2].len, &n) || n <= 0 || n > argc - 3) return 0;
    int count = 0;
    for (long long i = 0; i < n && count < max; i++)
        idx[count++] = 3 + (int)i;
    return count;
}

uint32_t cmd_eval_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                             uint32_t flags)
{
    uint32_t sflags = SCRIPT_FLAG_EVAL_COMPAT;
    int sha = argv[0].len == 7; /* evalsha (EVAL's row is the other user) */
    if (argc < 2) return flags;
    if (sha) {
        if (!script_cache_has(srv->scripts, argv[1].ptr, argv[1].len, &sflags)) return flags;
    } else {
        char err[128];
        size_t skip;
        if (script_parse_shebang(argv[1].ptr, argv[1].len, &sflags, &skip, err, sizeof err) < 0)
            return flags;
    }
    if (sflags & SCRIPT_FLAG_EVAL_COMPAT) return flags;
    return cmd_script_route_flags(sflags, flags);
}

uint32_t cmd_script_route_flags(uint32_t sflags, uint32_t flags)
{
    flags &= ~(uint32_t)(CMD_WRITE | CMD_READONLY | CMD_DENYOOM | CMD_STALE);
    if (!(sflags & (SCRIPT_FLAG_ALLOW_OOM | SCRIPT_FLAG_NO_WRITES))) flags |= CMD_DENYOOM;
    /* A no-writes script that allows stale data runs where it is sent on
     * that node's applied data (a follower's may lag), as a command that
     * reads no key does: no quorum round, no -MOVED. Health checks and
     * exporters (conf/prometheus/raft-metrics.lua) read any node so. */
    if ((sflags & SCRIPT_FLAG_NO_WRITES) && (sflags & SCRIPT_FLAG_ALLOW_STALE))
        ;
    else if (sflags & SCRIPT_FLAG_NO_WRITES)
        flags |= CMD_READONLY;
    else
        flags |= CMD_WRITE;
    if (sflags & SCRIPT_FLAG_ALLOW_STALE) flags |= CMD_STALE;
    return flags;
}

/* The script command RAFTCACHE.OOM wraps, or NULL. */
static const struct command *wrapped(int argc, const struct resp_arg *argv)
{
    if (argc < 2) return NULL;
    const struct command *cmd = cmd_lookup_name(argv[1].ptr, argv[1].len);
    return cmd && (cmd->flags & CMD_SCRIPT) && cmd_arity_ok(cmd, argc - 1) ? cmd : NULL;
}

void cmd_script_over_memory(struct cmd_ctx *c)
{
    const struct command *cmd = wrapped(c->argc, c->argv);
    if (!c->applying || !cmd) {
        resp_add_error(c->out, "ERR RAFTCACHE.OOM is internal");
        return;
    }
    struct cmd_ctx inner = *c;
    inner.argc--;
    inner.argv++;
    inner.over_memory = 1;
    cmd_call(cmd, &inner, c->monitor, NULL);
}

int cmd_script_over_memory_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    int n = wrapped(argc, argv) ? cmd_eval_keys(argc - 1, argv + 1, idx, max) : 0;
    for (int i = 0; i < n; i++)
        idx[i]++;
    return n;
}

void cmd_script_load(struct cmd_ctx *c)
{
    char sha[SHA1_HEX_LEN + 1];
    if (script_cache_add(c->srv->scripts, c->argv[2].ptr, c->argv[2].len, sha, c->out) == 0)
        resp_add_bulk(c->out, sha, SHA1_HEX_LEN);
}

void cmd_script_exists(struct cmd_ctx *c)
{
    resp_add_array_len(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        resp_add_int(c->out,
                     script_cache_has(c->srv->scripts, c->argv[i].ptr, c->argv[i].len, NULL));
}

void cmd_script_flush(struct cmd_ctx *c)
{
    if (c->argc > 3 ||
        (c->argc == 3 && !cmd_arg_is(&c->argv[2], "sync") && !cmd_arg_is(&c->argv[2], "async"))) {
        resp_add_error(c->out, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    script_cache_flush(c->srv->scripts);
    resp_add_simple(c->out, "OK");
}

/* Only a busy script outside the log can be stopped (src/script/script.h): one from
 * the log runs to its end or its budget on every node alike, and is answered
 * as Redis 7.0 answers for a script that already wrote. */
void cmd_script_kill_in(struct cmd_ctx *c, struct script_engine *e)
{
    /* either KILL: Redis answers by the run's writes, not by its kind */
    int rc = script_busy_in_log(c->srv->scripts) || script_busy_in_log(c->srv->fn_scripts)
                 ? -2
                 : script_kill(e);
    if (rc == 0)
        resp_add_simple(c->out, "OK");
    else if (rc == -2)
        resp_add_error(c->out, SCRIPT_UNKILLABLE_ERR);
    else
        resp_add_error(c->out, "NOTBUSY No scripts in execution right now.");
}

void cmd_script_kill(struct cmd_ctx *c)
{
    cmd_script_kill_in(c, c->srv->scripts);
}

void cmd_script_debug(struct cmd_ctx *c)
{
    resp_add_error(c->out, "ERR SCRIPT DEBUG is not supported: raftcache has no Lua debugger");
}

void cmd_script_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed (not supported).",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
