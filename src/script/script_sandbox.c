/*
 * src/script/script_sandbox.c - the Lua state scripts see (script.h): which
 * libraries are there and how they are made read-only.
 *
 * Debian's Lua 5.1 has no read-only tables (Redis patches its Lua for
 * them), so protection is built from proxies: each library a script sees
 * (string, table, math, coroutine, cjson, bit, struct, cmsgpack, redis) is
 * an empty table whose metatable reads through to the real one and refuses
 * writes; the globals table scripts run with is such a proxy of the real
 * globals, which in turn raise an error when an undefined name is read.
 * getmetatable() on a proxy (or on a string) gives a read-only proxy of its
 * metatable (whose __index is the proxy again), and the wrapped
 * setmetatable() and rawset() refuse protected tables, so no script can
 * reach a real table to change it. A proxy's
 * reads are plain table lookups chained by __index (no C call), so a
 * global or library access costs two lookups instead of one.
 *
 * Also: print, dofile, loadfile, setfenv, getfenv and newproxy are
 * removed; loadstring and load refuse precompiled (binary) chunks, whose
 * loader trusts its input; pcall returns an error table's message string,
 * as Redis 7.0's does; unpack and bit.tohex are replaced by versions
 * without the overflows Debian's builds still have.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>
#include <lua-bitop.h>
#include <lua-cjson.h>

#include "script/lua_libs.h"
#include "script/script_int.h"
#include "raft/raft_assert.h"

static const char protected_key = 'p'; /* registry: weak set of protected tables */
static const char setmetatable_key = 's';
static const char rawset_key = 'r';

static int readonly_error(lua_State *L)
{
    return luaL_error(L, "Attempt to modify a readonly table");
}

int script_sandbox_undefined(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      name ? name : "?");
}

static int is_protected(lua_State *L, int idx)
{
    if (!lua_istable(L, idx)) return 0;
    lua_pushlightuserdata(L, (void *)&protected_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    int p = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return p;
}

static void mark_protected(lua_State *L, int idx)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_pushlightuserdata(L, (void *)&protected_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Replaces the table on top with a read-only proxy of it. getmetatable()
 * on the proxy shows a read-only table whose __index is the proxy itself,
 * never the real table (which would let a script write to it). */
static void make_proxy(lua_State *L)
{
    int real = lua_gettop(L);
    lua_newtable(L); /* the proxy */
    lua_newtable(L); /* its metatable */
    lua_pushvalue(L, real);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_newtable(L); /* what getmetatable() shows */
    lua_newtable(L); /* its metatable */
    lua_newtable(L); /* what it reads through to */
    lua_pushvalue(L, real + 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    mark_protected(L, -1);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    mark_protected(L, -1);
    lua_replace(L, real);
}

void script_sandbox_protect(lua_State *L)
{
    make_proxy(L);
}

static int sandbox_setmetatable(lua_State *L)
{
    if (is_protected(L, 1)) return readonly_error(L);
    lua_pushlightuserdata(L, (void *)&setmetatable_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sandbox_rawset(lua_State *L)
{
    if (is_protected(L, 1)) return readonly_error(L);
    lua_pushlightuserdata(L, (void *)&rawset_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Compiles a source chunk (never a binary one) with the sandbox's globals. */
static int load_chunk(lua_State *L, const char *s, size_t len, const char *name)
{
    if (len > 0 && s[0] == LUA_SIGNATURE[0]) {
        lua_pushnil(L);
        lua_pushstring(L, "binary chunks are not allowed");
        return 2;
    }
    if (luaL_loadbuffer(L, s, len, name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int sandbox_loadstring(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    return load_chunk(L, s, len, luaL_optstring(L, 2, s));
}

/* load(f [, name]): f's pieces joined, then as loadstring. */
#define LOAD_PIECES_MAX 1000000
static int sandbox_load(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char *name = luaL_optstring(L, 2, "=(load)");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < LOAD_PIECES_MAX; i++) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    return load_chunk(L, s, len, name);
}

/* Redis 7.0's pcall: an error table with an err field comes back as its
 * message string. */
static int sandbox_pcall(lua_State *L)
{
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1))
                lua_replace(L, -2);
            else
                lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

/* unpack(t [, i [, j]]): Lua 5.1's computes the count j - i + 1 in int,
 * which overflows for extreme bounds and then reads far outside the stack;
 * this one counts in 64 bits and refuses what the stack cannot hold. */
static int sandbox_unpack(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int i = luaL_optint(L, 2, 1);
    int e = luaL_opt(L, luaL_checkint, 3, (int)lua_objlen(L, 1));
    if (i > e) return 0;
    int64_t n = (int64_t)e - i + 1;
    if (n >= INT32_MAX || !lua_checkstack(L, (int)n))
        return luaL_error(L, "too many results to unpack");
    for (int64_t k = i; k <= e; k++)
        lua_rawgeti(L, 1, (int)k);
    return (int)n;
}

/* The 32 bits of a number as the bit library takes them (rounded to
 * nearest, modulo 2^32), without its undefined conversions. */
static uint32_t bit_arg(lua_State *L, int idx)
{
    union {
        lua_Number d;
        uint64_t u;
    } v;
    v.d = luaL_checknumber(L, idx) + 6755399441055744.0; /* 2^52 + 2^51 */
    return (uint32_t)v.u;
}

/* bit.tohex(x [, n]): Debian's bit library negates n, which overflows for
 * -2^31 and writes outside its buffer; this one clamps first. */
static int sandbox_tohex(lua_State *L)
{
    uint32_t x = bit_arg(L, 1);
    int64_t n = lua_isnone(L, 2) ? 8 : (int64_t)(int32_t)bit_arg(L, 2);
    const char *digits = "0123456789abcdef";
    if (n < 0) {
        n = -n;
        digits = "0123456789ABCDEF";
    }
    if (n > 8) n = 8;
    char buf[8];
    for (int64_t i = n - 1; i >= 0; i--) {
        buf[i] = digits[x & 15];
        x >>= 4;
    }
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (name[0])
        lua_setglobal(L, name); /* some register themselves, some not */
    else
        lua_pop(L, 1);
}

static void set_global_fn(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushcfunction(L, fn);
    lua_setglobal(L, name);
}

/* Keeps the base library's f in the registry under key, for a wrapper. */
static void keep_original(lua_State *L, const char *name, const char *key)
{
    lua_pushlightuserdata(L, (void *)key);
    lua_getglobal(L, name);
    ASSERT(lua_isfunction(L, -1)); /* the base library was opened first */
    lua_rawset(L, LUA_REGISTRYINDEX);
}

static void load_libraries(lua_State *L)
{
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, "cjson", luaopen_cjson);
    open_lib(L, "struct", luaopen_struct);
    open_lib(L, "cmsgpack", luaopen_cmsgpack);
    open_lib(L, "bit", luaopen_bit);
    lua_getglobal(L, "bit");
    lua_pushcfunction(L, sandbox_tohex);
    lua_setfield(L, -2, "tohex");
    lua_pop(L, 1);
    static const char *const removed[] = {"print",   "dofile",   "loadfile", "setfenv",
                                          "getfenv", "newproxy", "module",   "require"};
    for (size_t i = 0; i < sizeof removed / sizeof *removed; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    keep_original(L, "setmetatable", &setmetatable_key);
    keep_original(L, "rawset", &rawset_key);
    set_global_fn(L, "setmetatable", sandbox_setmetatable);
    set_global_fn(L, "rawset", sandbox_rawset);
    set_global_fn(L, "loadstring", sandbox_loadstring);
    set_global_fn(L, "load", sandbox_load);
    set_global_fn(L, "pcall", sandbox_pcall);
    set_global_fn(L, "unpack", sandbox_unpack);
}

/* Each library global becomes a read-only proxy of itself. */
static void protect_libraries(lua_State *L)
{
    static const char *const libs[] = {"string", "table",  "math",     "coroutine", "cjson",
                                       "bit",    "struct", "cmsgpack", "redis"};
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++) {
        lua_getglobal(L, libs[i]);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        make_proxy(L);
        lua_setglobal(L, libs[i]);
    }
    /* Strings' metatable: its __index is the (real) string library. */
    lua_pushliteral(L, "");
    int has_mt = lua_getmetatable(L, -1);
    ASSERT(has_mt); /* the string library sets strings' metatable */
    lua_getglobal(L, "string");
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -1);
    make_proxy(L);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

/* The globals scripts run with become a read-only proxy of the real ones,
 * which raise an error when an undefined name is read. */
static void protect_globals(lua_State *L)
{
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_newtable(L);
    lua_pushcfunction(L, script_sandbox_undefined);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    make_proxy(L); /* real, proxy */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "_G");
    lua_replace(L, LUA_GLOBALSINDEX);
    lua_pop(L, 1);
}

void script_sandbox_build(lua_State *L)
{
    int top = lua_gettop(L);
    lua_pushlightuserdata(L, (void *)&protected_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    ASSERT(lua_isnil(L, -1)); /* once per Lua state */
    lua_pop(L, 1);
    lua_pushlightuserdata(L, (void *)&protected_key);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    load_libraries(L);
    script_bounds_install(L);
    script_match_install(L);
    script_redis_register(L);
    script_determ_install(L);
    protect_libraries(L);
    protect_globals(L);
    ASSERT(lua_gettop(L) == top);
}
