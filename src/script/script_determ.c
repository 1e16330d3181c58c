/*
 * src/script/script_determ.c - what makes a run that may write a pure function of
 * its log entry and the replicated state (script.h; docs/design.md,
 * "Scripts replay the same everywhere"). Such a run executes on every node
 * when its entry is applied; whatever Lua would answer from a node's
 * memory layout or heap history is replaced or refused here:
 *   - tostring() of a table, function, coroutine or userdata without
 *     __tostring names it by the order the run first showed it (an
 *     address otherwise);
 *   - pairs(), next() and table.foreach() walk keys in one canonical order
 *     (numbers ascending, then strings bytewise, then false, true), never
 *     the table's layout, and refuse a key of any other type; the walk's
 *     work is charged to the run's instruction budget;
 *   - no table of the run is weak (what a weak table holds depends on when
 *     the node's collector ran): setmetatable() refuses a metatable with
 *     __mode and guards the one it sets against gaining __mode later (a
 *     __newindex that refuses the key, on the metatable or, when it has a
 *     metatable of its own without __newindex, on that one), rawset()
 *     refuses the key, and collectgarbage() and gcinfo() are refused. The collector runs
 *     as usual: stopping it for the run made a loop that builds a string
 *     byte by byte hold every intermediate string (2 GB for 60,000 bytes);
 *   - the cjson settings a script may change are put back before every
 *     run (any run, on any node), so no run sees another's;
 *   - cjson.encode and cmsgpack.pack walk their tables in Lua's own order
 *     (lua_next): they are given copies filled in canonical order, whose
 *     layout is then the same on every node;
 *   - replies of CMD_UNORDERED commands are sorted (script_determ_sort_reply).
 * A read-only run (not applying, EVAL_RO, no-writes) keeps Lua's own
 * behaviour: it runs on one node and changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "raft/raft_assert.h"
#include "script/script_int.h"
#include "base/util.h"

static const char ids_key = 'i';   /* registry: object -> id, for the run */
static const char cjson_key = 'j'; /* registry: {setter, saved values} list */
static const char dirty_key = 'd'; /* registry: true once a cjson setter took arguments */

/* The run in progress when it may write, else NULL. */
static struct script_run *writing_run(lua_State *L)
{
    struct script_engine *e = script_engine_of(L);
    struct script_run *run = e ? e->run : NULL;
    return run && run->ctx && !run->read_only ? run : NULL;
}

/* --- tostring --- */

static int det_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    int t = lua_type(L, 1);
    int by_id = (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD || t == LUA_TUSERDATA) &&
                writing_run(L) && !luaL_getmetafield(L, 1, "__tostring");
    if (!by_id) {
        lua_settop(L, 1);
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_insert(L, 1);
        lua_call(L, 1, 1);
        return 1;
    }
    lua_pushlightuserdata(L, (void *)&ids_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    ASSERT(lua_istable(L, -1));
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    lua_Number id = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (id == 0) {
        lua_pushliteral(L, "n");
        lua_rawget(L, -2);
        id = lua_tonumber(L, -1) + 1;
        lua_pop(L, 1);
        lua_pushliteral(L, "n");
        lua_pushnumber(L, id);
        lua_rawset(L, -3);
        lua_pushvalue(L, 1);
        lua_pushnumber(L, id);
        lua_rawset(L, -3);
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s: 0x%08llx", lua_typename(L, t), (unsigned long long)id);
    lua_pushstring(L, buf);
    return 1;
}

/* --- canonical key order --- */

struct key_ref {
    int rank; /* 0 number, 1 string, 2 boolean */
    lua_Number num;
    const char *s;
    size_t len;
    int idx; /* in the table of keys, 1-based */
};

static int key_cmp(const void *pa, const void *pb)
{
    const struct key_ref *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    if (a->rank == 1) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, n);
        if (c) return c;
        return a->len < b->len ? -1 : a->len > b->len;
    }
    return a->num < b->num ? -1 : a->num > b->num;
}

/* The key at idx as a key_ref; raises for a key whose order would be its
 * address. */
static void key_of(lua_State *L, int idx, struct key_ref *k)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        *k = (struct key_ref){.rank = 0, .num = lua_tonumber(L, idx)};
        return;
    case LUA_TSTRING:
        k->rank = 1;
        k->s = lua_tolstring(L, idx, &k->len);
        return;
    case LUA_TBOOLEAN:
        *k = (struct key_ref){.rank = 2, .num = lua_toboolean(L, idx)};
        return;
    default:
        luaL_error(L,
                   "a table with a %s as key cannot be walked (pairs, next, table.foreach, "
                   "cjson.encode, cmsgpack.pack) in a script that writes: its order would "
                   "differ between nodes",
                   luaL_typename(L, idx));
    }
}

/* Pushes an array of the keys of the table at t (an absolute index) in
 * canonical order. */
static void push_sorted_keys(lua_State *L, int t, struct script_run *run)
{
    lua_newtable(L);
    int keys = lua_gettop(L);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (n == INT32_MAX - 1) luaL_error(L, "table too large to walk");
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    script_charge(L, run, (uint64_t)n);
    if (n == 0) return;
    struct key_ref *refs = lua_newuserdata(L, (size_t)n * sizeof *refs);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, keys, i + 1);
        key_of(L, -1, &refs[i]);
        refs[i].idx = i + 1;
        lua_pop(L, 1); /* the string stays anchored in keys */
    }
    qsort(refs, (size_t)n, sizeof *refs, key_cmp);
    script_charge(L, run, (uint64_t)n * 8);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, keys, refs[i].idx);
        lua_rawseti(L, -2, i + 1);
    }
    lua_replace(L, keys);
    lua_pop(L, 1); /* refs */
}

/* The iterator pairs() returns: upvalues the sorted keys and the position;
 * a key removed during the walk is skipped, as next() skips it. */
static int sorted_iter(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int pos = (int)lua_tointeger(L, lua_upvalueindex(2));
    for (;;) {
        lua_rawgeti(L, lua_upvalueindex(1), ++pos);
        if (lua_isnil(L, -1)) return 1;
        lua_pushvalue(L, -1);
        lua_rawget(L, 1);
        if (!lua_isnil(L, -1)) break;
        lua_pop(L, 2);
    }
    lua_pushinteger(L, pos);
    lua_replace(L, lua_upvalueindex(2));
    return 2;
}

static int det_pairs(lua_State *L)
{
    struct script_run *run = writing_run(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!run) {
        lua_pushvalue(L, lua_upvalueindex(1)); /* Lua's next */
        lua_pushvalue(L, 1);
        lua_pushnil(L);
        return 3;
    }
    lua_settop(L, 1);
    push_sorted_keys(L, 1, run);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, sorted_iter, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* next(t, k): the key after k in canonical order, found by one pass over
 * the table (no state is kept between calls, so any use of next() works). */
static int det_next(lua_State *L)
{
    struct script_run *run = writing_run(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (!run) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_insert(L, 1);
        lua_call(L, 2, LUA_MULTRET);
        return lua_gettop(L);
    }
    struct key_ref after = {.rank = -1}, best = {.rank = 3}, k;
    if (!lua_isnil(L, 2)) key_of(L, 2, &after);
    int found = 0;
    size_t n = 0;
    lua_pushnil(L); /* 3: best key */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        n++;
        lua_pop(L, 1);
        key_of(L, -1, &k);
        if ((after.rank < 0 || key_cmp(&k, &after) > 0) && (!found || key_cmp(&k, &best) < 0)) {
            found = 1;
            lua_pushvalue(L, -1);
            lua_replace(L, 3);
            key_of(L, 3, &best); /* points into the anchored copy */
        }
    }
    script_charge(L, run, (uint64_t)n);
    if (!found) return 1;
    lua_settop(L, 3);
    lua_pushvalue(L, 3);
    lua_rawget(L, 1);
    return 2;
}

/* table.foreach(t, f) in canonical order. */
static int det_foreach(lua_State *L)
{
    struct script_run *run = writing_run(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!run) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_insert(L, 1);
        lua_call(L, lua_gettop(L) - 1, 1);
        return 1;
    }
    lua_settop(L, 2);
    push_sorted_keys(L, 1, run);
    for (int i = 1;; i++) {
        lua_rawgeti(L, 3, i);
        if (lua_isnil(L, -1)) return 0;
        lua_pushvalue(L, 2);
        lua_insert(L, -2);
        lua_pushvalue(L, -1);
        lua_rawget(L, 1);
        lua_call(L, 2, 1);
        if (!lua_isnil(L, -1)) return 1;
        lua_pop(L, 1);
    }
}

/* --- the collector --- */

/* collectgarbage() and gcinfo() (Lua 5.1's older name for
 * collectgarbage('count')); upvalue 2 is the name. */
static int det_collectgarbage(lua_State *L)
{
    if (writing_run(L))
        return luaL_error(L,
                          "%s() is not allowed in a script that writes: what it reports and does "
                          "depends on the node's memory history",
                          lua_tostring(L, lua_upvalueindex(2)));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

#define WEAK_REFUSED                                                                               \
    "weak tables (__mode) are not allowed in a script that writes: what they lose depends on "     \
    "when the node's collector runs"

static int is_mode_key(lua_State *L, int idx)
{
    size_t len;
    const char *k = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &len) : NULL;
    return k && len == 6 && memcmp(k, "__mode", 6) == 0;
}

/* The guard's __newindex(t, k, v): a plain rawset, but for __mode. */
static int guard_newindex(lua_State *L)
{
    if (is_mode_key(L, 2)) return luaL_error(L, WEAK_REFUSED);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

/* Makes the metatable at mt unable to gain __mode by assignment: a key it
 * lacks is assigned through its own metatable's __newindex, which is then
 * the guard, or the script's own (a table of it takes the assignment
 * instead; a function of it can only rawset, refused below). */
static void guard_metatable(lua_State *L, int mt)
{
    if (!lua_getmetatable(L, mt)) {
        lua_newtable(L);
        lua_pushcfunction(L, guard_newindex);
        lua_setfield(L, -2, "__newindex");
        lua_setmetatable(L, mt);
        return;
    }
    lua_pushliteral(L, "__newindex");
    lua_rawget(L, -2);
    int has = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!has) {
        lua_pushliteral(L, "__newindex");
        lua_pushcfunction(L, guard_newindex);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
}

static int det_setmetatable(lua_State *L)
{
    if (writing_run(L) && lua_istable(L, 2)) {
        lua_pushliteral(L, "__mode");
        lua_rawget(L, 2);
        if (!lua_isnil(L, -1)) return luaL_error(L, WEAK_REFUSED);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    /* Set (the sandbox's setmetatable refuses protected tables first). */
    if (writing_run(L) && lua_istable(L, 1) && lua_getmetatable(L, 1)) {
        if (lua_istable(L, -1)) guard_metatable(L, lua_gettop(L));
        lua_pop(L, 1);
    }
    return 1;
}

static int det_rawset(lua_State *L)
{
    if (writing_run(L) && is_mode_key(L, 2)) return luaL_error(L, WEAK_REFUSED);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* --- cjson's settings --- */

/* A cjson setter called with arguments marks the settings dirty, so the
 * next run puts them back. */
static int cjson_setter(lua_State *L)
{
    if (lua_gettop(L) > 0) {
        lua_pushlightuserdata(L, (void *)&dirty_key);
        lua_pushboolean(L, 1);
        lua_rawset(L, LUA_REGISTRYINDEX);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static const char *const cjson_setters[] = {
    "encode_sparse_array",     "encode_max_depth",   "decode_max_depth",
    "encode_number_precision", "encode_keep_buffer", "encode_invalid_numbers",
    "decode_invalid_numbers",
};

/* Wraps cjson's setters (cjson on top of the stack, the real table) and
 * keeps each one's defaults, read by calling it without arguments. */
static void wrap_cjson(lua_State *L)
{
    int cj = lua_gettop(L);
    lua_pushlightuserdata(L, (void *)&cjson_key);
    lua_newtable(L);
    int saved = lua_gettop(L);
    int n = 0;
    for (size_t i = 0; i < sizeof cjson_setters / sizeof *cjson_setters; i++) {
        lua_getfield(L, cj, cjson_setters[i]);
        if (!lua_isfunction(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        int fn = lua_gettop(L);
        lua_newtable(L); /* {fn, defaults...} */
        lua_pushvalue(L, fn);
        lua_rawseti(L, -2, 1);
        int top = lua_gettop(L);
        lua_pushvalue(L, fn);
        lua_call(L, 0, LUA_MULTRET);
        int nres = lua_gettop(L) - top;
        for (int r = nres; r >= 1; r--)
            lua_rawseti(L, top, r + 1);
        lua_rawseti(L, saved, ++n);
        lua_pushcclosure(L, cjson_setter, 1); /* fn is its upvalue */
        lua_setfield(L, cj, cjson_setters[i]);
    }
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/* Puts cjson's settings back to their defaults if a script changed them. */
static void reset_cjson(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&dirty_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    int dirty = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!dirty) return;
    lua_pushlightuserdata(L, (void *)&cjson_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    for (int i = 1;; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_isnil(L, -1)) break;
        int entry = lua_gettop(L);
        int nvals = (int)lua_objlen(L, entry);
        for (int v = 1; v <= nvals; v++)
            lua_rawgeti(L, entry, v);
        lua_call(L, nvals - 1, 0);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    lua_pushlightuserdata(L, (void *)&dirty_key);
    lua_pushboolean(L, 0);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/* --- install, begin, end --- */

/* --- encoders: cjson.encode, cmsgpack.pack --- */

/* Deeper than any encoder goes (cjson stops at 1000 levels, cmsgpack at 16). */
#define COPY_DEPTH_MAX 1001

/* Pushes a copy of the value at idx (an absolute index) whose tables,
 * nested ones included, were filled by inserting their keys in canonical
 * order; each table is copied once (memo, an absolute index, maps an
 * original to its copy, so cycles and shared tables stay so) and keeps its
 * metatable. A walk of the copy in Lua's own order (the encoders' lua_next)
 * then sees the same order on every node; a walk of the original might not,
 * once a key hashed by address passed through the table. Below
 * COPY_DEPTH_MAX levels the originals are kept. */
static void push_canonical(lua_State *L, int idx, int memo, int depth, struct script_run *run)
{
    if (lua_type(L, idx) != LUA_TTABLE || depth > COPY_DEPTH_MAX) {
        lua_pushvalue(L, idx);
        return;
    }
    lua_pushvalue(L, idx);
    lua_rawget(L, memo);
    if (!lua_isnil(L, -1)) return;
    lua_pop(L, 1);
    luaL_checkstack(L, 8, "table too deep to encode");
    lua_newtable(L);
    int copy = lua_gettop(L);
    if (lua_getmetatable(L, idx)) lua_setmetatable(L, copy);
    lua_pushvalue(L, idx);
    lua_pushvalue(L, copy);
    lua_rawset(L, memo);
    push_sorted_keys(L, idx, run);
    int keys = lua_gettop(L);
    for (int i = 1;; i++) {
        lua_rawgeti(L, keys, i);
        if (lua_isnil(L, -1)) break;
        lua_pushvalue(L, -1);
        lua_rawget(L, idx);
        push_canonical(L, lua_gettop(L), memo, depth + 1, run);
        lua_remove(L, -2); /* the original value */
        lua_rawset(L, copy);
    }
    lua_pop(L, 2); /* the nil, the keys */
}

/* An encoder (the upvalue) called on canonical copies of its arguments in
 * a run that may write; as it is otherwise. */
static int det_encoder(lua_State *L)
{
    struct script_run *run = writing_run(L);
    int n = lua_gettop(L);
    if (run) {
        lua_newtable(L);
        int memo = n + 1;
        for (int i = 1; i <= n; i++) {
            push_canonical(L, i, memo, 1, run);
            lua_replace(L, i);
        }
        lua_settop(L, n);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* Replaces global name (or field name of the global table lib) with fn,
 * whose upvalue is the function it replaces. */
static void wrap(lua_State *L, const char *lib, const char *name, lua_CFunction fn)
{
    if (lib)
        lua_getglobal(L, lib);
    else
        lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_getfield(L, -1, name);
    ASSERT(lua_isfunction(L, -1));
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void script_determ_install(lua_State *L)
{
    wrap(L, NULL, "tostring", det_tostring);
    wrap(L, NULL, "next", det_next);
    lua_getglobal(L, "next");
    lua_getupvalue(L, -1, 1); /* Lua's next, for pairs in a read-only run */
    lua_pushcclosure(L, det_pairs, 1);
    lua_setglobal(L, "pairs");
    lua_pop(L, 1);
    wrap(L, "table", "foreach", det_foreach);
    static const char *const gc_names[] = {"collectgarbage", "gcinfo"};
    for (size_t i = 0; i < sizeof gc_names / sizeof *gc_names; i++) {
        lua_getglobal(L, gc_names[i]);
        lua_pushstring(L, gc_names[i]);
        lua_pushcclosure(L, det_collectgarbage, 2);
        lua_setglobal(L, gc_names[i]);
    }
    wrap(L, NULL, "setmetatable", det_setmetatable);
    wrap(L, NULL, "rawset", det_rawset);
    lua_getglobal(L, "cjson");
    wrap_cjson(L);
    lua_pop(L, 1);
    wrap(L, "cjson", "encode", det_encoder);
    wrap(L, "cmsgpack", "pack", det_encoder);
}

void script_determ_begin(lua_State *L, const struct script_run *run)
{
    reset_cjson(L);
    if (!run->ctx || run->read_only) return;
    lua_pushlightuserdata(L, (void *)&ids_key);
    lua_newtable(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void script_determ_end(lua_State *L, const struct script_run *run)
{
    if (!run->ctx || run->read_only) return;
    lua_pushlightuserdata(L, (void *)&ids_key);
    lua_pushnil(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/* --- replies of CMD_UNORDERED commands --- */

struct elem {
    const char *start; /* the element's bytes (one or a pair) */
    size_t bytes;
    const char *payload; /* the first one's string, for ordering */
    size_t len;
};

/* Parses one bulk or simple string at p (end e): its payload and the next
 * element's start, or NULL if it is something else. */
static const char *scan_string(const char *p, const char *e, const char **s, size_t *len)
{
    const char *crlf = memchr(p, '\r', (size_t)(e - p));
    if (!crlf || crlf + 1 >= e) return NULL;
    if (*p == '+') {
        *s = p + 1;
        *len = (size_t)(crlf - p - 1);
        return crlf + 2;
    }
    if (*p != '$') return NULL;
    long n = strtol(p + 1, NULL, 10);
    if (n < 0 || (size_t)(e - crlf - 2) < (size_t)n + 2) return NULL;
    *s = crlf + 2;
    *len = (size_t)n;
    return crlf + 2 + n + 2;
}

static int elem_cmp(const void *pa, const void *pb)
{
    const struct elem *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->payload, b->payload, n);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

void script_determ_sort_reply(struct resp_out *out, int resp)
{
    const char *p = out->data, *e = out->data + out->len;
    if (out->len < 4 || (p[0] != '*' && p[0] != '~' && p[0] != '%')) return;
    int group = p[0] == '%' ? 2 : 1; /* a map's pairs move together */
    long count = strtol(p + 1, NULL, 10);
    const char *q = memchr(p, '\n', out->len);
    if (count < 0 || !q || (count <= 1 && (p[0] == '*' || resp == 3)))
        return; /* nothing to sort, and already in the script's protocol */
    struct elem *v = util_xmalloc((size_t)(count + 1) * sizeof *v);
    q++;
    const char *first = q;
    for (long i = 0; i < count; i++) {
        v[i].start = q;
        for (int g = 0; g < group && q; g++) {
            const char *s = NULL;
            size_t len = 0;
            q = scan_string(q, e, &s, &len);
            if (g == 0) v[i].payload = s, v[i].len = len;
        }
        if (!q) { /* not a flat list of strings: left as it is */
            free(v);
            return;
        }
        v[i].bytes = (size_t)(q - v[i].start);
    }
    size_t head = (size_t)(first - out->data);
    qsort(v, (size_t)count, sizeof *v, elem_cmp);
    char *sorted = util_xmalloc(out->len + 32);
    size_t at;
    if (resp == 2) /* the command ran over RESP3 so that pairs show: back to a flat array */
        at = (size_t)snprintf(sorted, 32, "*%ld\r\n", count * group);
    else
        memcpy(sorted, out->data, at = head);
    for (long i = 0; i < count; i++) {
        memcpy(sorted + at, v[i].start, v[i].bytes);
        at += v[i].bytes;
    }
    free(v);
    resp_out_clear(out);
    resp_add_raw(out, sorted, at);
    free(sorted);
}
