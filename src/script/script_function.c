/*
 * src/script/script_function.c - libraries on the engine (see script.h): the
 * environment a library's code runs in when it is loaded,
 * redis.register_function, and running a library's function.
 *
 * The load environment. Functions defined by a library's code keep, as
 * Lua 5.1 closures do, the globals table their chunk ran with, and they
 * must later see the globals every script sees. So a load does not give
 * its chunk another table: for the time of the load, the globals proxy's
 * __index (what reads fall through to) is pointed at the load
 * environment instead of the real globals, and put back after. That
 * environment is read-only and has one name, `redis`: a read-only table
 * with register_function, log, the LOG_* levels and the version; reading
 * anything else raises "Script attempted to access nonexistent global
 * variable", as in Redis, so math.random, redis.call or getmetatable are
 * out of reach while a library loads (its code must register the same
 * functions on every node).
 *
 * register_function works only during a load (e->load): a function that
 * kept a reference to the load's redis table and calls it later gets
 * Redis's error. It collects what it is given into the load's array; the
 * caller (src/script/function.c) owns the result.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "raft/raft_assert.h"
#include "cmd/cmd.h"
#include "script/script_int.h"
#include "base/util.h"

static const char load_env_key = 'l'; /* registry: the load environment */

struct script_load {
    struct script_lib_fn *fns;
    size_t n, cap;
    /* Running the code of a library already loaded, for one of its
     * functions (a fresh instance): only that callback is kept. */
    const char *want;
    int want_ref;
};

/* register_function's arguments, once read, sit in these stack slots. */
enum { SLOT_NAME = 2, SLOT_CALLBACK, SLOT_DESC };

static int raise_error(lua_State *L, const char *msg)
{
    script_push_error(L, msg, strlen(msg));
    return lua_error(L);
}

/* The flags in the array at idx into *flags; -1 on one Redis does not know. */
static int read_flags(lua_State *L, int idx, uint32_t *flags)
{
    for (int j = 1;; j++) {
        lua_rawgeti(L, idx, j);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        int found = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *s = lua_tostring(L, -1), *name;
            uint32_t f;
            for (size_t i = 0; !found && (name = script_flag_at(i, &f)) != NULL; i++)
                if (strcasecmp(name, s) == 0) {
                    *flags |= f;
                    found = 1;
                }
        }
        lua_pop(L, 1);
        if (!found) return -1;
    }
}

/* One named argument (key at -2, value at -1) into its slot; the value is
 * popped. NULL, or Redis's error. */
static const char *read_named_arg(lua_State *L, uint32_t *flags)
{
    if (lua_type(L, -2) != LUA_TSTRING) {
        if (lua_type(L, -2) == LUA_TNUMBER)
            return "unknown argument given to redis.register_function";
        return "named argument key given to redis.register_function is not a string";
    }
    const char *key = lua_tostring(L, -2);
    int slot = 0;
    if (strcasecmp(key, "function_name") == 0) {
        if (!lua_isstring(L, -1))
            return "function_name argument given to redis.register_function must be a string";
        slot = SLOT_NAME;
    } else if (strcasecmp(key, "description") == 0) {
        if (!lua_isstring(L, -1))
            return "description argument given to redis.register_function must be a string";
        slot = SLOT_DESC;
    } else if (strcasecmp(key, "callback") == 0) {
        if (!lua_isfunction(L, -1))
            return "callback argument given to redis.register_function must be a function";
        slot = SLOT_CALLBACK;
    } else if (strcasecmp(key, "flags") == 0) {
        if (!lua_istable(L, -1))
            return "flags argument to redis.register_function must be a table representing "
                   "function flags";
        if (read_flags(L, lua_gettop(L), flags) < 0) return "unknown flag given";
    } else {
        return "unknown argument given to redis.register_function";
    }
    if (slot)
        lua_replace(L, slot);
    else
        lua_pop(L, 1);
    return NULL;
}

/* register_function{function_name=, callback=, flags=, description=}. */
static const char *read_named(lua_State *L, uint32_t *flags)
{
    if (!lua_istable(L, 1))
        return "calling redis.register_function with a single argument is only applicable to "
               "Lua table (representing named arguments).";
    lua_settop(L, SLOT_DESC);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *err = read_named_arg(L, flags);
        if (err) return err;
    }
    if (lua_isnil(L, SLOT_NAME)) return "redis.register_function must get a function name argument";
    if (lua_isnil(L, SLOT_CALLBACK)) return "redis.register_function must get a callback argument";
    return NULL;
}

/* register_function(name, callback). */
static const char *read_positional(lua_State *L)
{
    if (!lua_isstring(L, 1)) return "first argument to redis.register_function must be a string";
    if (!lua_isfunction(L, 2))
        return "second argument to redis.register_function must be a function";
    lua_settop(L, 2);
    lua_pushvalue(L, 2); /* SLOT_CALLBACK */
    lua_pushvalue(L, 1);
    lua_replace(L, SLOT_NAME);
    lua_pushnil(L); /* SLOT_DESC */
    return NULL;
}

static int register_function(lua_State *L)
{
    struct script_load *ld = script_engine_of(L)->load;
    if (!ld)
        return raise_error(L,
                           "redis.register_function can only be called on FUNCTION LOAD command");
    int argc = lua_gettop(L);
    if (argc < 1 || argc > 2)
        return raise_error(L, "wrong number of arguments to redis.register_function");
    uint32_t flags = 0;
    const char *err = argc == 1 ? read_named(L, &flags) : read_positional(L);
    if (err) return raise_error(L, err);
    size_t len, desc_len = 0;
    const char *name = lua_tolstring(L, SLOT_NAME, &len);
    const char *desc = lua_isnil(L, SLOT_DESC) ? NULL : lua_tolstring(L, SLOT_DESC, &desc_len);
    if (!script_name_valid(name, len))
        return raise_error(L,
                           "Library names can only contain letters, numbers, or underscores(_) and "
                           "must be at least one character long");
    if (ld->want) {
        if (ld->want_ref == LUA_NOREF && strcasecmp(ld->want, name) == 0) {
            lua_pushvalue(L, SLOT_CALLBACK);
            ld->want_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        }
        return 0;
    }
    for (size_t i = 0; i < ld->n; i++)
        if (strcasecmp(ld->fns[i].name, name) == 0)
            return raise_error(L, "Function already exists in the library");
    if (ld->n == SCRIPT_LIB_FUNCTIONS_MAX)
        return raise_error(L, "too many functions registered by one library");
    lua_pushvalue(L, SLOT_CALLBACK);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX); /* before any allocation: it may raise */
    if (ld->n == ld->cap) {
        ld->cap = ld->cap ? 2 * ld->cap : 4;
        ld->fns = util_xrealloc(ld->fns, ld->cap * sizeof *ld->fns);
    }
    ld->fns[ld->n++] = (struct script_lib_fn){
        .name = util_xmemdup(name, len),
        .desc = desc ? util_xmemdup(desc, desc_len) : NULL,
        .flags = flags,
        .fn_ref = ref,
    };
    return 0;
}

/* Reading a name the table on top does not hold raises Redis's error. */
static void set_undefined_metatable(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, script_sandbox_undefined);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

void script_function_env_build(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&load_env_key);
    lua_newtable(L); /* the load's globals */
    script_redis_push_load_api(L);
    lua_pushcfunction(L, register_function);
    lua_setfield(L, -2, "register_function");
    set_undefined_metatable(L);
    script_sandbox_protect(L);
    lua_setfield(L, -2, "redis");
    set_undefined_metatable(L);
    script_sandbox_protect(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void script_lib_fn_free(struct script_engine *e, struct script_lib_fn *f)
{
    luaL_unref(e->L, LUA_REGISTRYINDEX, f->fn_ref);
    luaL_unref(e->L, LUA_REGISTRYINDEX, f->chunk_ref);
    luaL_unref(e->L, LUA_REGISTRYINDEX, f->state_ref);
    free(f->name);
    free(f->desc);
}

/* The error object a failed load left on top, as Redis words it. */
static void reply_load_error(lua_State *L, struct resp_out *err)
{
    int table = lua_istable(L, -1);
    if (table) {
        lua_pushliteral(L, "err");
        lua_rawget(L, -2);
    } else {
        lua_pushvalue(L, -1);
    }
    const char *msg = lua_tostring(L, -1);
    if (!msg)
        resp_add_error(err, "ERR Error registering functions: ERR unknown error");
    else
        resp_add_errorf(err, "ERR Error registering functions: %s%s", table ? "" : "ERR ", msg);
    lua_pop(L, 1);
}

/* Runs the compiled chunk on top (popped) with the load environment
 * behind the globals; lua_pcall's status, the error object on top when
 * it failed. */
static int run_in_load_env(struct script_engine *e, struct script_load *ld)
{
    lua_State *L = e->L;
    int chunk = lua_gettop(L);
    lua_getmetatable(L, LUA_GLOBALSINDEX);
    int mt = lua_gettop(L);
    lua_getfield(L, mt, "__index"); /* the real globals */
    lua_pushlightuserdata(L, (void *)&load_env_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_setfield(L, mt, "__index");
    lua_pushvalue(L, chunk);
    struct script_run run = {.sha = "", .resp = 2, .loading = 1, .in_log = 1};
    e->load = ld;
    int status = script_pcall(e, &run, 0, 0, 0);
    e->load = NULL;
    lua_pushvalue(L, mt + 1);
    lua_setfield(L, mt, "__index");
    if (status != 0) lua_replace(L, chunk); /* the error object */
    lua_settop(L, status != 0 ? chunk : chunk - 1);
    return status;
}

/* Upvalues a library's function may reach, and what bounds the walk. */
#define STATE_DEPTH_MAX 64
#define STATE_UPVALUES_MAX 4096

/* Appends to the list at `list` (absolute; its count in field n) a
 * (closure, index, value) triple for every upvalue of the Lua function at
 * fn and of the functions those hold, each function once (seen). Returns
 * 0 when one holds a table, userdata or coroutine (state a call may change
 * in place), or the walk passes its bounds. */
static int collect_state(lua_State *L, int fn, int list, int seen, int depth)
{
    if (lua_iscfunction(L, fn)) return 1; /* its upvalues are out of a script's reach */
    lua_pushvalue(L, fn);
    lua_rawget(L, seen);
    int visited = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (visited) return 1;
    if (depth > STATE_DEPTH_MAX || !lua_checkstack(L, 8)) return 0;
    lua_pushvalue(L, fn);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);
    for (int i = 1; lua_getupvalue(L, fn, i); i++) {
        int v = lua_gettop(L), t = lua_type(L, v);
        lua_getfield(L, list, "n");
        int n = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (t == LUA_TTABLE || t == LUA_TUSERDATA || t == LUA_TTHREAD || t == LUA_TLIGHTUSERDATA ||
            n >= STATE_UPVALUES_MAX * 3)
            return 0;
        lua_pushvalue(L, fn);
        lua_rawseti(L, list, n + 1);
        lua_pushinteger(L, i);
        lua_rawseti(L, list, n + 2);
        lua_pushvalue(L, v);
        lua_rawseti(L, list, n + 3);
        lua_pushinteger(L, n + 3);
        lua_setfield(L, list, "n");
        if (t == LUA_TFUNCTION && !collect_state(L, v, list, seen, depth + 1)) return 0;
        lua_settop(L, v - 1);
    }
    return 1;
}

/* f->state_ref: the upvalues f's callback reaches, as loaded, or LUA_NOREF
 * when they cannot simply be put back. */
static void note_state(lua_State *L, struct script_lib_fn *f)
{
    int base = lua_gettop(L);
    f->state_ref = LUA_NOREF;
    if (!lua_checkstack(L, 8)) return;
    lua_newtable(L);
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->fn_ref);
    if (collect_state(L, base + 3, base + 1, base + 2, 0)) {
        lua_pushvalue(L, base + 1);
        f->state_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_settop(L, base);
}

/* Puts the upvalues f's callback reaches back to their values at the
 * load's end. */
static void restore_state(lua_State *L, const struct script_lib_fn *f)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->state_ref);
    int list = lua_gettop(L);
    lua_getfield(L, list, "n");
    int n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    for (int k = 1; k <= n; k += 3) {
        lua_rawgeti(L, list, k);
        lua_rawgeti(L, list, k + 2);
        lua_rawgeti(L, list, k + 1);
        int idx = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        const char *name = lua_setupvalue(L, -2, idx);
        ASSERT(name != NULL);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

int script_library_run(struct script_engine *e, const char *code, size_t len,
                       struct script_lib_fn **fns, size_t *nfns, struct resp_out *err)
{
    lua_State *L = e->L;
    ASSERT(!e->run && !e->load);
    if (!lua_checkstack(L, 16)) {
        resp_add_error(err, "ERR reached lua stack limit");
        return -1;
    }
    int base = lua_gettop(L);
    if (script_load_source(L, code, len, "@user_function") != 0) {
        resp_add_errorf(err, "ERR Error compiling function: %s", lua_tostring(L, -1));
        lua_settop(L, base);
        return -1;
    }
    lua_pushvalue(L, -1);
    int chunk_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    struct script_load ld = {0};
    int status = run_in_load_env(e, &ld);
    for (size_t i = 0; i < ld.n; i++) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, chunk_ref);
        ld.fns[i].chunk_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        ld.fns[i].state_ref = LUA_NOREF;
        if (status == 0) note_state(L, &ld.fns[i]);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, chunk_ref);
    if (status != 0) {
        reply_load_error(L, err);
        lua_settop(L, base);
        for (size_t i = 0; i < ld.n; i++)
            script_lib_fn_free(e, &ld.fns[i]);
        free(ld.fns);
        return -1;
    }
    lua_settop(L, base);
    if (ld.n == 0) {
        resp_add_error(err, "ERR No functions registered");
        free(ld.fns);
        return -1;
    }
    *fns = ld.fns;
    *nfns = ld.n;
    return 0;
}

/* f's callback in a fresh instance of its library (a registry ref), or
 * LUA_NOREF with the error replied to out. */
static int fresh_instance(struct script_engine *e, const struct script_lib_fn *f,
                          struct resp_out *out)
{
    lua_State *L = e->L;
    if (!lua_checkstack(L, 16)) {
        resp_add_error(out, "ERR reached lua stack limit");
        return LUA_NOREF;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->chunk_ref);
    struct script_load ld = {.want = f->name, .want_ref = LUA_NOREF};
    if (run_in_load_env(e, &ld) != 0) {
        reply_load_error(L, out);
        lua_pop(L, 1);
        luaL_unref(L, LUA_REGISTRYINDEX, ld.want_ref);
        return LUA_NOREF;
    }
    ASSERT(ld.n == 0);
    /* The same code in the same environment registers the same functions. */
    if (ld.want_ref == LUA_NOREF) resp_add_error(out, "ERR Function not found");
    return ld.want_ref;
}

void script_run_function(struct script_engine *e, struct cmd_ctx *c, const struct script_lib_fn *f,
                         const struct script_args *a)
{
    struct script_fn sf = {f->fn_ref, f->name, f->flags, 0};
    int writes = !a->read_only && c->applying && !(f->flags & SCRIPT_FLAG_NO_WRITES);
    if (!writes || f->state_ref != LUA_NOREF) {
        if (writes) restore_state(e->L, f);
        script_call_fn(e, c, &sf, a);
        return;
    }
    sf.fn_ref = fresh_instance(e, f, c->out);
    if (sf.fn_ref == LUA_NOREF) return;
    script_call_fn(e, c, &sf, a);
    luaL_unref(e->L, LUA_REGISTRYINDEX, sf.fn_ref);
}
