/*
 * src/script/script_redis.c - the `redis` table scripts call (redis.call,
 * redis.pcall, redis.error_reply, ...) and math.random, as Redis 7.0 has
 * them (see script.h for how a called command runs).
 *
 * Errors follow Redis: redis.call raises the error table {err = "CODE
 * message"} of a failed command (redis.pcall returns it); checks that fail
 * before a command runs (unknown command, not allowed from scripts, a
 * write in a read-only script) give the same kind of table.
 *
 * math.random and math.randomseed draw from the run's own PRNG (seeded by
 * the log entry when the script writes, src/sm/sm.h), never from libc, so
 * every replica draws the same numbers; Lua's algorithm for the ranges.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "acl/acl.h"
#include "cmd/cmd.h"
#include "cmd/monitor.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "base/log.h"
#include "script/script_int.h"
#include "base/util.h"

static const char engine_key = 'e'; /* registry: the engine, light userdata */

struct script_engine *script_engine_of(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&engine_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    struct script_engine *e = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return e;
}

/* The script run in progress; NULL between runs and while a library
 * loads (whose environment offers none of what needs a run). */
static struct script_run *current_run(lua_State *L)
{
    struct script_engine *e = script_engine_of(L);
    return e && e->run && e->run->ctx ? e->run : NULL;
}

/* Pushes Redis's error table for msg; raises it when raise is set. */
static int fail(lua_State *L, int raise, const char *msg)
{
    script_push_error(L, msg, strlen(msg));
    return raise ? lua_error(L) : 1;
}

/* Builds e->argv from the Lua arguments (numbers as %.17g, as Redis).
 * Returns 0, or -1 when one is neither a string nor a number. */
#define NUM_ARG_BYTES 32
static int build_argv(struct script_engine *e, lua_State *L, int argc)
{
    if ((size_t)argc > e->argv_cap) {
        e->argv = util_xrealloc(e->argv, (size_t)argc * sizeof *e->argv);
        e->argv_cap = (size_t)argc;
    }
    if ((size_t)argc * NUM_ARG_BYTES > e->arg_buf_cap) {
        e->arg_buf_cap = (size_t)argc * NUM_ARG_BYTES;
        e->arg_buf = util_xrealloc(e->arg_buf, e->arg_buf_cap);
    }
    for (int i = 0; i < argc; i++) {
        int t = lua_type(L, i + 1);
        if (t == LUA_TNUMBER) {
            char *b = e->arg_buf + (size_t)i * NUM_ARG_BYTES;
            int n = snprintf(b, NUM_ARG_BYTES, "%.17g", (double)lua_tonumber(L, i + 1));
            e->argv[i] = (struct resp_arg){b, (size_t)n};
        } else if (t == LUA_TSTRING) {
            e->argv[i].ptr = lua_tolstring(L, i + 1, &e->argv[i].len);
        } else {
            return -1;
        }
    }
    return 0;
}

/* Why the run's ACL user may not run cmd (Redis's texts), or NULL; the
 * denial goes to ACL LOG where the client is. */
static const char *acl_refusal(struct script_engine *e, struct script_run *run,
                               const struct command *cmd, const struct resp_arg *argv, int argc)
{
    const struct acl_user *u = run->ctx->user;
    if (!u || acl_user_unrestricted(u)) return NULL;
    int pos = 0;
    enum acl_result r = acl_check(u, cmd, argc, argv, &pos);
    if (r == ACL_OK) return NULL;
    if (e->acl_fn && run->ctx->client) {
        struct resp_arg name = {cmd->name, strlen(cmd->name)};
        e->acl_fn(e->acl_ud, run->ctx->client, (int)r, r == ACL_DENIED_CMD ? &name : &argv[pos]);
    }
    switch (r) {
    case ACL_DENIED_CMD:
        return "The user executing the script can't run this command or subcommand";
    case ACL_DENIED_KEY:
        return "The user executing the script can't access at least one of the keys mentioned "
               "in the command arguments";
    case ACL_DENIED_CHANNEL:
        return "The user executing the script can't publish to the channel mentioned in the "
               "command";
    default:
        return "The user executing the script lacking the permissions for the command";
    }
}

/* Why the script may not run the command in e->argv (*cmdp, when
 * known), or NULL. */
static const char *refusal(struct script_engine *e, struct script_run *run,
                           const struct resp_arg *argv, int argc, const struct command **cmdp,
                           uint32_t *flagsp)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    if (!cmd || !cmd->proc || ((cmd->flags & CMD_CONTAINER) && argc >= 2))
        return "Unknown Redis command called from script";
    *cmdp = cmd;
    if (!cmd_arity_ok(cmd, argc)) return "Wrong number of args calling Redis command from script";
    uint32_t flags = cmd->flags | (parent ? parent->flags : 0);
    *flagsp = flags;
    if (flags & (CMD_NOSCRIPT | CMD_INTERNAL))
        return "This Redis command is not allowed from script";
    if ((flags & (CMD_WRITE | CMD_MAY_REPLICATE)) && run->read_only) /* as Redis: PUBLISH too */
        return "Write commands are not allowed from read-only scripts.";
    /* A random write (SPOP) draws from the entry's seed (sub.rng below) over
     * replicated state, so it is the same everywhere; a random or node-local
     * read is not, and what the script writes from it would differ. */
    if ((flags & CMD_RANDOM) && !(flags & CMD_WRITE) && run->ctx->applying && !run->read_only)
        return "This Redis command is not allowed in a script that writes: its reply differs "
               "between nodes (nondeterministic output). Use it in a read-only script (EVAL_RO, "
               "flags=no-writes).";
    if ((flags & CMD_DENYOOM) && run->ctx->over_memory && !run->wrote &&
        !(run->flags & SCRIPT_FLAG_ALLOW_OOM))
        return "-OOM command not allowed when used memory > 'maxmemory'.";
    return acl_refusal(e, run, cmd, argv, argc);
}

/* Runs the command in e->argv: NULL with its reply in e->reply, or the
 * reason it may not run, counted as the error of a rejected call (as Redis
 * counts it, when the script sees it: raised or returned, it is not
 * counted again). */
static const char *exec_command(struct script_engine *e, struct script_run *run, int argc)
{
    const struct command *cmd = NULL;
    uint32_t flags = 0;
    const char *why = refusal(e, run, e->argv, argc, &cmd, &flags);
    if (why) {
        if (why[0] == '-')
            monitor_error(e->stats, why + 1, strlen(why + 1));
        else
            monitor_error(e->stats, "ERR", 3);
        if (cmd) monitor_rejected(e->stats, cmd_id(cmd));
        return why;
    }
    if (e->call_fn && run->ctx->client) e->call_fn(e->call_ud, argc, e->argv);
    uint64_t seed = run->ctx->rng ^ (++run->calls * 0x9e3779b97f4a7c15ULL);
    struct cmd_ctx sub = {
        .argc = argc,
        .argv = e->argv,
        .out = &e->reply,
        .kv = kv_db(run->ctx->dbs, run->db),
        .dbs = run->ctx->dbs,
        .selected = &run->db, /* the script's own: the caller's stays (Redis 7.0) */
        .now_ms = run->ctx->now_ms,
        .srv = run->ctx->srv,
        .rng = util_rand64(&seed),
        .applying = run->ctx->applying && !run->read_only,
        .in_script = 1,
        /* a script's writes fire their events, as in Redis */
        .notify_mask = run->ctx->notify_mask,
        .notify = run->ctx->notify,
    };
    int sort = (flags & CMD_UNORDERED) && sub.applying;
    if (sort) e->reply.proto = 3; /* pairs (HGETALL) show as a map */
    cmd_call(cmd, &sub, e->stats, NULL);
    if (sort) {
        script_determ_sort_reply(&e->reply, run->resp);
        e->reply.proto = run->resp;
    }
    if (flags & CMD_WRITE) run->wrote = 1;
    if (flags & CMD_READONLY) run->ctx->script_read = 1; /* its declared keys were read */
    return NULL;
}

static int redis_command(lua_State *L, int raise)
{
    struct script_engine *e = script_engine_of(L);
    struct script_run *run = current_run(L);
    if (!run) return fail(L, 1, "redis.call/pcall can only be called inside a script invocation");
    int argc = lua_gettop(L);
    if (argc == 0)
        return fail(L, raise, "Please specify at least one argument for this redis lib call");
    if (build_argv(e, L, argc) < 0) {
        lua_settop(L, 0);
        return fail(L, raise, "Lua redis lib command arguments must be strings or integers");
    }
    resp_out_clear(&e->reply);
    e->reply.proto = run->resp;
    const char *err = exec_command(e, run, argc);
    lua_settop(L, 0); /* the arguments were used; room for the result */
    if (err) {
        script_push_error(L, err, strlen(err));
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ignore_error_stats_update");
        return raise ? lua_error(L) : 1;
    }
    int is_error = e->reply.len > 0 && e->reply.data[0] == '-';
    if (script_reply_to_lua(L, e->reply.data, e->reply.len) < 0)
        return luaL_error(L, "reached lua stack limit");
    if (is_error && lua_istable(L, -1)) { /* counted when the command replied it */
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ignore_error_stats_update");
    }
    resp_out_clear(&e->reply);
    resp_out_shrink(&e->reply, 64 * 1024);
    return raise && is_error ? lua_error(L) : 1;
}

static int redis_call(lua_State *L)
{
    return redis_command(L, 1);
}

static int redis_pcall(lua_State *L)
{
    return redis_command(L, 0);
}

static int redis_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) return fail(L, 1, "wrong number of arguments");
    size_t len = 0;
    const char *s = lua_tolstring(L, 1, &len);
    char hex[SHA1_HEX_LEN + 1];
    sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int single_field_table(lua_State *L, const char *field)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING)
        return fail(L, 0, "wrong number or type of arguments");
    lua_newtable(L);
    lua_pushstring(L, field);
    lua_pushvalue(L, -3);
    lua_settable(L, -3);
    return 1;
}

static int redis_status_reply(lua_State *L)
{
    return single_field_table(L, "ok");
}

static int redis_error_reply(lua_State *L)
{
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING)
        return fail(L, 0, "wrong number or type of arguments");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    if (len > 0 && s[0] == '-') {
        script_push_error(L, s, len);
        return 1;
    }
    lua_pushliteral(L, "-");
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    s = lua_tolstring(L, -1, &len);
    script_push_error(L, s, len);
    return 1;
}

static int redis_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) return fail(L, 1, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return fail(L, 1, "First argument must be a number (log level).");
    lua_Number level = lua_tonumber(L, 1);
    if (level < LOG_LEVEL_DEBUG || level > LOG_LEVEL_WARNING)
        return fail(L, 1, "Invalid debug level.");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 2; i <= argc; i++) {
        size_t len;
        const char *s = lua_tolstring(L, i, &len);
        if (!s) continue;
        if (i > 2) luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, len);
    }
    luaL_pushresult(&b);
    log_msg((int)level, "%s", lua_tostring(L, -1));
    return 0;
}

static int redis_setresp(lua_State *L)
{
    struct script_run *run = current_run(L);
    if (!run) return fail(L, 1, "redis.setresp can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return fail(L, 1, "redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, 1);
    if (resp != 2 && resp != 3) return fail(L, 1, "RESP version must be 2 or 3.");
    run->resp = resp;
    return 0;
}

/* Accepted for compatibility: the log replicates the script itself, so
 * what Redis would propagate of its effects is moot. */
#define REPL_ALL 3
static int redis_set_repl(lua_State *L)
{
    if (!current_run(L))
        return fail(L, 1, "redis.set_repl can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return fail(L, 1, "redis.set_repl() requires two arguments.");
    lua_Number flags = lua_tonumber(L, 1);
    if (flags < 0 || flags > REPL_ALL || flags != floor(flags))
        return fail(
            L, 1, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    return 0;
}

static int redis_replicate_commands(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

/* The script debugger (SCRIPT DEBUG) is not offered: no breakpoint stops. */
static int redis_breakpoint(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}

static int redis_debug(lua_State *L)
{
    (void)L;
    return 0;
}

/* No ACL users: the caller may run any command that exists. */
static int redis_acl_check_cmd(lua_State *L)
{
    struct script_engine *e = script_engine_of(L);
    struct script_run *run = current_run(L);
    if (!run)
        return fail(L, 1, "redis.acl_check_cmd can only be called inside a script invocation");
    int argc = lua_gettop(L);
    if (argc == 0)
        return fail(L, 1, "Please specify at least one argument for this redis lib call");
    if (build_argv(e, L, argc) < 0)
        return fail(L, 1, "Lua redis lib command arguments must be strings or integers");
    const struct command *parent;
    const struct command *cmd = cmd_lookup(e->argv, argc, &parent);
    if (!cmd || !cmd->proc || (cmd->flags & CMD_INTERNAL))
        return fail(L, 1, "Invalid command passed to redis.acl_check_cmd()");
    /* as the run's ACL user (cmd_ctx.user; none: nothing restricts it) */
    const struct acl_user *u = run->ctx ? run->ctx->user : NULL;
    int pos;
    lua_pushboolean(L, !u || acl_check(u, cmd, argc, e->argv, &pos) == ACL_OK);
    return 1;
}

/* [0, 1) from the run's PRNG (53 random bits). */
static lua_Number next_random(struct script_run *run)
{
    return (lua_Number)(util_rand64(&run->rng) >> 11) / 9007199254740992.0;
}

static int math_random(lua_State *L)
{
    struct script_run *run = current_run(L);
    if (!run) return luaL_error(L, "math.random can only be called inside a script invocation");
    lua_Number r = next_random(run);
    int lo = 1, hi;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        return 1;
    case 1:
        hi = luaL_checkint(L, 1);
        break;
    case 2:
        lo = luaL_checkint(L, 1);
        hi = luaL_checkint(L, 2);
        break;
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    luaL_argcheck(L, lo <= hi, lua_gettop(L), "interval is empty");
    lua_pushnumber(L, floor(r * ((lua_Number)hi - lo + 1)) + lo);
    return 1;
}

static int math_randomseed(lua_State *L)
{
    struct script_run *run = current_run(L);
    if (!run) return luaL_error(L, "math.randomseed can only be called inside a script invocation");
    long long seed = (long long)luaL_checkint(L, 1);
    uint64_t s = (uint64_t)seed * 0x9e3779b97f4a7c15ULL + 1;
    run->rng = util_rand64(&s);
    return 0;
}

static void set_number(lua_State *L, const char *name, lua_Number v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, name);
}

/* The log levels and the version, in the table on top. */
static void set_constants(lua_State *L)
{
    set_number(L, "LOG_DEBUG", LOG_LEVEL_DEBUG);
    set_number(L, "LOG_VERBOSE", LOG_LEVEL_VERBOSE);
    set_number(L, "LOG_NOTICE", LOG_LEVEL_NOTICE);
    set_number(L, "LOG_WARNING", LOG_LEVEL_WARNING);
    set_number(L, "REDIS_VERSION_NUM", REDIS_COMPAT_VERSION_NUM);
    lua_pushstring(L, REDIS_COMPAT_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
}

void script_redis_push_load_api(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, redis_log);
    lua_setfield(L, -2, "log");
    set_constants(L);
}

void script_redis_register(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"call", redis_call},
        {"pcall", redis_pcall},
        {"sha1hex", redis_sha1hex},
        {"error_reply", redis_error_reply},
        {"status_reply", redis_status_reply},
        {"log", redis_log},
        {"setresp", redis_setresp},
        {"set_repl", redis_set_repl},
        {"replicate_commands", redis_replicate_commands},
        {"breakpoint", redis_breakpoint},
        {"debug", redis_debug},
        {"acl_check_cmd", redis_acl_check_cmd},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    set_constants(L);
    set_number(L, "REPL_NONE", 0);
    set_number(L, "REPL_AOF", 1);
    set_number(L, "REPL_SLAVE", 2);
    set_number(L, "REPL_REPLICA", 2);
    set_number(L, "REPL_ALL", REPL_ALL);
    lua_setglobal(L, "redis");
    lua_getglobal(L, "math");
    lua_pushcfunction(L, math_random);
    lua_setfield(L, -2, "random");
    lua_pushcfunction(L, math_randomseed);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
}

void script_redis_set_engine(lua_State *L, struct script_engine *e)
{
    lua_pushlightuserdata(L, (void *)&engine_key);
    lua_pushlightuserdata(L, e);
    lua_rawset(L, LUA_REGISTRYINDEX);
}
