/*
 * src/script/script_bounds.c - limits on what one call of a C library function
 * can make a script do. Lua's instruction count (the run's budget, see
 * script.h) sees a call to a C function as one instruction, so work or
 * output that grows with an argument inside one call escapes it; the
 * wrappers here refuse such arguments up front, from the arguments alone,
 * so a refused call fails at the same point on every node, and charge
 * the work an accepted call will do (sorting, shifting, joining, decoding)
 * to the run's budget before it is done (script_charge). The limits are
 * in script_int.h.
 *
 * Building strings is work no argument check sees: `s = s .. 'x'` in a
 * loop is four instructions a turn that copy ever more bytes (quadratic
 * time under a budget of instructions). Every string Lua makes passes
 * through one constructor, luaS_newlstr, concatenation (a VM instruction,
 * not a function) included: the link wraps it (-Wl,--wrap, Lua linked
 * statically; see the Makefile), and the wrapper charges the run its
 * length. The length is charged whether or not Lua finds the string
 * already interned: whether it does depends on when a node's collector
 * ran, so counting allocations would differ between nodes; counting what
 * the script asks for does not.
 */
#include <string.h>

#include <lauxlib.h>

#include "script/script_int.h"

/* Lua's internal string constructor (lstring.c; Lua 5.1 is frozen, and a
 * build where it is missing fails to link). Its result type is internal:
 * only its address is passed on. */
void *__real_luaS_newlstr(lua_State *L, const char *str, size_t len);
void *__wrap_luaS_newlstr(lua_State *L, const char *str, size_t len);

void *__wrap_luaS_newlstr(lua_State *L, const char *str, size_t len)
{
    if (len >= SCRIPT_BYTES_PER_UNIT) {
        void *ud;
        lua_getallocf(L, &ud); /* reads a field: no stack, no allocation */
        struct script_engine *e = ud;
        if (e && e->run) script_charge(L, e->run, len / SCRIPT_BYTES_PER_UNIT);
    }
    return __real_luaS_newlstr(L, str, len);
}

/* Charges units to the run in progress, if any, and stops the run here,
 * before the work, when that passes its budget (or SCRIPT KILL came). */
static void charge_call(lua_State *L, lua_Number units)
{
    struct script_engine *e = script_engine_of(L);
    if (!e || !e->run || !(units > 0)) return;
    uint64_t u = units >= 0x1p62 ? (uint64_t)1 << 62 : (uint64_t)units;
    if (script_charge(L, e->run, u)) script_checkpoint(L);
}

/* Calls the wrapped function (upvalue 1) with this call's arguments. */
static int call_wrapped(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* table.insert(t, [pos,] v): Lua 5.1 shifts every slot between #t + 1
 * and pos, whatever pos is (a position of -2^31 is 2^31 moves in one
 * call). A position outside [1, #t + 1] is refused with Lua 5.3's text;
 * the shift is charged. */
static int bounds_table_insert(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int n = (int)lua_objlen(L, 1);
    if (lua_gettop(L) == 3) {
        lua_Number pos = luaL_checknumber(L, 2);
        if (!(pos >= 1 && pos <= (lua_Number)n + 1))
            return luaL_argerror(L, 2, "position out of bounds");
        charge_call(L, (lua_Number)n + 1 - pos);
    }
    call_wrapped(L);
    return 0;
}

/* string.rep(s, n): the result's size is known before it is built, and
 * its n rounds are charged (an empty s makes no bytes, only rounds). */
static int bounds_string_rep(lua_State *L)
{
    size_t len;
    luaL_checklstring(L, 1, &len);
    lua_Number n = luaL_checknumber(L, 2);
    if (n > 0 && len > 0 && (lua_Number)len * n > (lua_Number)SCRIPT_STRING_MAX)
        return luaL_error(L, "resulting string too large");
    charge_call(L, n);
    return call_wrapped(L);
}

/* The work of a call, from its arguments, in instructions. */
enum call_cost {
    COST_SORT,   /* table.sort(t): n log n comparisons */
    COST_REMOVE, /* table.remove(t [, pos]): the slots after pos shift */
    COST_CONCAT, /* table.concat(t [, sep [, i [, j]]]): j - i + 1 pieces */
    COST_DECODE, /* cjson.decode(s), cmsgpack.unpack(s): a quarter per byte */
};

static lua_Number cost_of(lua_State *L, enum call_cost kind)
{
    int t = lua_type(L, 1);
    lua_Number n = t == LUA_TTABLE ? (lua_Number)lua_objlen(L, 1) : 0;
    switch (kind) {
    case COST_SORT: {
        lua_Number rounds = 1;
        for (lua_Number m = n; m > 1; m /= 2)
            rounds++;
        return n * rounds;
    }
    case COST_REMOVE:
        return lua_isnumber(L, 2) ? n + 1 - lua_tonumber(L, 2) : 0;
    case COST_CONCAT: {
        lua_Number i = lua_isnumber(L, 3) ? lua_tonumber(L, 3) : 1;
        lua_Number j = lua_isnumber(L, 4) ? lua_tonumber(L, 4) : n;
        return j - i + 1;
    }
    case COST_DECODE:
        return t == LUA_TSTRING ? (lua_Number)lua_objlen(L, 1) / 4 : 0;
    }
    return 0;
}

/* A library function (upvalue 1) whose work grows with its arguments:
 * charged (upvalue 2, an enum call_cost) before it runs. Arguments the
 * function refuses cost nothing: it raises its own error. */
static int bounds_charged(lua_State *L)
{
    charge_call(L, cost_of(L, (enum call_cost)lua_tointeger(L, lua_upvalueindex(2))));
    return call_wrapped(L);
}

static void wrap_charged(lua_State *L, const char *lib, const char *name, enum call_cost kind)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, name);
    lua_pushinteger(L, kind);
    lua_pushcclosure(L, bounds_charged, 2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* Replaces lib.name (lib a global table) with a closure of wrap whose
 * upvalue is the original function. */
static void wrap_field(lua_State *L, const char *lib, const char *name, lua_CFunction wrap)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, wrap, 1);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void script_bounds_install(lua_State *L)
{
    wrap_field(L, "table", "insert", bounds_table_insert);
    wrap_field(L, "string", "rep", bounds_string_rep);
    wrap_charged(L, "table", "sort", COST_SORT);
    wrap_charged(L, "table", "remove", COST_REMOVE);
    wrap_charged(L, "table", "concat", COST_CONCAT);
    wrap_charged(L, "cjson", "decode", COST_DECODE);
    wrap_charged(L, "cmsgpack", "unpack", COST_DECODE);
}

int script_load_source(lua_State *L, const char *s, size_t len, const char *chunkname)
{
    if (len > 0 && s[0] == LUA_SIGNATURE[0]) {
        /* What the lexer says of a source starting with that byte (ESC),
         * as Redis 7.0, whose Lua has no binary loader, says it. */
        lua_pushfstring(L, "%s:1: unexpected symbol near 'char(%d)'", chunkname + 1,
                        (int)(unsigned char)s[0]);
        return LUA_ERRSYNTAX;
    }
    return luaL_loadbuffer(L, s, len, chunkname);
}
