/*
 * src/script/script_conv.c - a called command's reply as Lua values, and a
 * script's Lua result as a reply, with Redis 7.0's mapping (see
 * script_int.h):
 *   RESP -> Lua   integer: number; bulk: string; null bulk or array
 *                 (RESP2): false; array: table; status: {ok = s}; error:
 *                 {err = s}; RESP3 null: nil; map: {map = {k = v}}; set:
 *                 {set = {m = true}}; boolean; double: {double = n}; big
 *                 number: {big_number = s}; verbatim: {verbatim_string =
 *                 {format = f, string = s}}.
 *   Lua -> RESP   string: bulk; number: integer (truncated); true: 1 (or
 *                 RESP3 true); false: null (or RESP3 false); table with
 *                 err / ok / double / big_number / verbatim_string / map /
 *                 set: that reply; other table: the array of t[1], t[2],
 *                 ... up to the first nil; anything else: null.
 * The reply parsed here was written by this server's command handlers, so
 * it is well formed; the parser still checks every length and bounds its
 * depth, and a malformed reply becomes an error value rather than a crash.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "script/script_int.h"
#include "base/util.h"

#define REPLY_DEPTH_MAX 128 /* nesting of arrays, maps and sets in a reply */

struct reader {
    const char *p, *end;
};

/* The line at r->p (after its type byte): [*s, *s + *n); moves past its CRLF. */
static int read_line(struct reader *r, const char **s, size_t *n)
{
    const char *start = r->p + 1;
    const char *cr = memchr(start, '\r', (size_t)(r->end - start));
    if (!cr || cr + 1 >= r->end || cr[1] != '\n') return -1;
    *s = start;
    *n = (size_t)(cr - start);
    r->p = cr + 2;
    return 0;
}

static int read_count(struct reader *r, long long *v)
{
    const char *s;
    size_t n;
    if (read_line(r, &s, &n) < 0 || !util_str2ll(s, n, v)) return -1;
    return 0;
}

/* A bulk's payload of length n at r->p, followed by CRLF. */
static int read_payload(struct reader *r, long long n, const char **s)
{
    if (n < 0 || n > r->end - r->p - 2 || r->p[n] != '\r' || r->p[n + 1] != '\n') return -1;
    *s = r->p;
    r->p += n + 2;
    return 0;
}

/* Pushes {field = the string s[0..n)}. */
static void push_field_table(lua_State *L, const char *field, const char *s, size_t n)
{
    lua_newtable(L);
    lua_pushstring(L, field);
    lua_pushlstring(L, s, n);
    lua_settable(L, -3);
}

static int push_value(lua_State *L, struct reader *r, int depth);

/* count elements into the table on top: an array (1..n), a map's pairs or
 * a set's members (key = true). */
static int push_elements(lua_State *L, struct reader *r, long long count, char type, int depth)
{
    for (long long i = 0; i < count; i++) {
        if (type == '*' || type == '>') {
            if (push_value(L, r, depth + 1) < 0) return -1;
            lua_rawseti(L, -2, (int)(i + 1));
            continue;
        }
        if (push_value(L, r, depth + 1) < 0) return -1;
        if (type == '%') {
            if (push_value(L, r, depth + 1) < 0) return -1;
        } else {
            lua_pushboolean(L, 1);
        }
        lua_settable(L, -3);
    }
    return 0;
}

static int push_aggregate(lua_State *L, struct reader *r, char type, int depth)
{
    long long count;
    if (depth >= REPLY_DEPTH_MAX || read_count(r, &count) < 0) return -1;
    if (count < 0) { /* a RESP2 null array */
        lua_pushboolean(L, 0);
        return 0;
    }
    if (count > (r->end - r->p) / 3 + 1 || !lua_checkstack(L, 4)) return -1;
    if (type == '%' || type == '~') {
        lua_newtable(L);
        lua_pushstring(L, type == '%' ? "map" : "set");
    }
    lua_createtable(L, type == '*' || type == '>' ? (int)count : 0, 0);
    if (push_elements(L, r, count, type, depth) < 0) return -1;
    if (type == '%' || type == '~') lua_settable(L, -3);
    return 0;
}

static int push_bulk(lua_State *L, struct reader *r, char type)
{
    long long n;
    const char *s;
    if (read_count(r, &n) < 0) return -1;
    if (n == -1 && type == '$') {
        lua_pushboolean(L, 0);
        return 0;
    }
    if (read_payload(r, n, &s) < 0) return -1;
    if (type == '$') {
        lua_pushlstring(L, s, (size_t)n);
        return 0;
    }
    if (n < 4 || s[3] != ':') return -1; /* verbatim: "fmt:text" */
    lua_newtable(L);
    lua_pushstring(L, "verbatim_string");
    lua_newtable(L);
    lua_pushstring(L, "format");
    lua_pushlstring(L, s, 3);
    lua_settable(L, -3);
    lua_pushstring(L, "string");
    lua_pushlstring(L, s + 4, (size_t)n - 4);
    lua_settable(L, -3);
    lua_settable(L, -3);
    return 0;
}

static int push_line_value(lua_State *L, struct reader *r, char type)
{
    const char *s;
    size_t n;
    if (read_line(r, &s, &n) < 0) return -1;
    long long v;
    double d;
    switch (type) {
    case '+':
        push_field_table(L, "ok", s, n);
        return 0;
    case '-':
        push_field_table(L, "err", s, n);
        return 0;
    case ':':
        if (!util_str2ll(s, n, &v)) return -1;
        lua_pushnumber(L, (lua_Number)v);
        return 0;
    case '_':
        lua_pushnil(L);
        return 0;
    case '#':
        if (n != 1 || (s[0] != 't' && s[0] != 'f')) return -1;
        lua_pushboolean(L, s[0] == 't');
        return 0;
    case ',':
        if (!util_str2d(s, n, &d)) return -1;
        lua_newtable(L);
        lua_pushstring(L, "double");
        lua_pushnumber(L, d);
        lua_settable(L, -3);
        return 0;
    case '(':
        push_field_table(L, "big_number", s, n);
        return 0;
    default:
        return -1;
    }
}

static int push_value(lua_State *L, struct reader *r, int depth)
{
    if (r->p >= r->end || !lua_checkstack(L, 6)) return -1;
    char type = r->p[0];
    switch (type) {
    case '*':
    case '%':
    case '~':
    case '>':
        return push_aggregate(L, r, type, depth);
    case '$':
    case '=':
        return push_bulk(L, r, type);
    case '|': /* an attribute: skipped, the value follows */
        if (push_aggregate(L, r, '%', depth) < 0) return -1;
        lua_pop(L, 1);
        return push_value(L, r, depth);
    default:
        return push_line_value(L, r, type);
    }
}

int script_reply_to_lua(lua_State *L, const char *buf, size_t len)
{
    struct reader r = {buf, buf + len};
    int top = lua_gettop(L);
    if (push_value(L, &r, 0) == 0 && r.p == r.end) return 0;
    lua_settop(L, top);
    if (!lua_checkstack(L, 4)) return -1;
    static const char bad[] = "ERR malformed reply from a command called by the script";
    push_field_table(L, "err", bad, sizeof bad - 1);
    return 0;
}

void script_push_error(lua_State *L, const char *msg, size_t len)
{
    while (len > 0 && (msg[len - 1] == '\r' || msg[len - 1] == '\n'))
        len--;
    luaL_Buffer b;
    lua_newtable(L);
    lua_pushstring(L, "err");
    luaL_buffinit(L, &b);
    if (len > 0 && msg[0] == '-') {
        const char *sp = memchr(msg, ' ', len);
        if (!sp) {
            luaL_addstring(&b, "ERR ");
            luaL_addlstring(&b, msg + 1, len - 1);
        } else {
            luaL_addlstring(&b, msg + 1, len - 1); /* "CODE message" as it was */
        }
    } else {
        luaL_addstring(&b, "ERR ");
        luaL_addlstring(&b, msg, len);
    }
    luaL_pushresult(&b);
    lua_settable(L, -3);
}

/* t[field] of the table on top, pushed; its Lua type returned. */
static int get_field(lua_State *L, const char *field)
{
    lua_pushstring(L, field);
    lua_rawget(L, -2);
    return lua_type(L, -1);
}

/* A status or error line: CR and LF would end it early. */
static void add_line_safe(struct resp_out *out, int error, const char *s, size_t n)
{
    char *copy = util_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        copy[i] = (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') ? ' ' : s[i];
    copy[n] = '\0';
    if (error)
        resp_add_error(out, copy[0] ? copy : "ERR");
    else
        resp_add_simple(out, copy);
    free(copy);
}

static void add_big_number(struct resp_out *out, const char *s, size_t n)
{
    if (out->proto != 3) {
        resp_add_bulk(out, s, n);
        return;
    }
    char *line = util_xmalloc(n + 3);
    line[0] = '(';
    for (size_t i = 0; i < n; i++)
        line[i + 1] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    memcpy(line + n + 1, "\r\n", 2);
    resp_add_raw(out, line, n + 3);
    free(line);
}

/* The table on top is {verbatim_string = {format =, string =}}: 1 if it
 * was replied (the inner values popped), else 0 with the stack as it was. */
static int add_verbatim(lua_State *L, struct resp_out *out)
{
    if (get_field(L, "verbatim_string") != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    int done = 0;
    if (get_field(L, "format") == LUA_TSTRING) {
        size_t flen, slen;
        const char *fmt = lua_tolstring(L, -1, &flen);
        lua_pushstring(L, "string");
        lua_rawget(L, -3);
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &slen) : NULL;
        if (s && flen == 3) {
            resp_add_verbatim(out, s, slen, fmt);
            done = 1;
        } else if (s) {
            resp_add_bulk(out, s, slen);
            done = 1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return done;
}

/* A conversion in progress: its start in out and what it has used of the
 * limits (script_int.h); the first limit passed sets failed, and nothing
 * more is written. */
struct conv {
    struct resp_out *out;
    int resp;
    int depth;
    size_t elements; /* values replied so far, nested ones included */
    size_t start;
    const char *failed; /* the error to reply instead of it all */
};

static void lua_to_reply(lua_State *L, struct conv *cv);

/* A number as an integer reply: truncated, saturated (a cast of a double
 * out of range is undefined), NaN as 0. */
static long long number_to_ll(lua_Number d)
{
    if (d != d) return 0;
    if (d >= 9223372036854775807.0) return LLONG_MAX;
    if (d <= -9223372036854775808.0) return LLONG_MIN;
    return (long long)d;
}

/* The map or set table on top (its field pushed above the outer table). */
static void add_map_or_set(lua_State *L, struct conv *cv, int map)
{
    struct resp_out *out = cv->out;
    resp_deferred d = resp_add_deferred(out);
    long n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) { /* table, key, value */
        if (cv->failed) {
            lua_pop(L, 2);
            break;
        }
        lua_pushvalue(L, -2);
        lua_to_reply(L, cv); /* a copy of the key: lua_next needs it */
        if (map)
            lua_to_reply(L, cv); /* the value */
        else
            lua_pop(L, 1); /* a member's value (true) */
        n++;
    }
    if (map)
        resp_set_deferred_map_len(out, d, n);
    else
        resp_set_deferred_set_len(out, d, n);
}

/* The special forms of a table; 1 if the table on top was one (replied). */
static int add_special_table(lua_State *L, struct conv *cv)
{
    struct resp_out *out = cv->out;
    size_t n;
    if (get_field(L, "err") == LUA_TSTRING) {
        const char *s = lua_tolstring(L, -1, &n);
        /* An error a command called by the script replied was counted
         * then (INFO errorstats): passed on, it is not counted again. */
        lua_pushstring(L, "ignore_error_stats_update");
        lua_rawget(L, -3); /* the table, under the message */
        int counted = lua_toboolean(L, -1);
        lua_pop(L, 1);
        void (*hook)(void *, const char *, size_t) = out->on_error;
        if (counted) out->on_error = NULL;
        add_line_safe(out, 1, s, n);
        out->on_error = hook;
        lua_pop(L, 1);
        return 1;
    }
    lua_pop(L, 1);
    if (get_field(L, "ok") == LUA_TSTRING) {
        const char *s = lua_tolstring(L, -1, &n);
        add_line_safe(out, 0, s, n);
        lua_pop(L, 1);
        return 1;
    }
    lua_pop(L, 1);
    if (get_field(L, "double") == LUA_TNUMBER) {
        resp_add_double(out, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return 1;
    }
    lua_pop(L, 1);
    if (get_field(L, "big_number") == LUA_TSTRING) {
        const char *s = lua_tolstring(L, -1, &n);
        add_big_number(out, s, n);
        lua_pop(L, 1);
        return 1;
    }
    lua_pop(L, 1);
    if (add_verbatim(L, out)) return 1;
    for (int map = 1; map >= 0; map--) {
        if (get_field(L, map ? "map" : "set") == LUA_TTABLE) {
            add_map_or_set(L, cv, map);
            lua_pop(L, 1);
            return 1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

static void add_array(lua_State *L, struct conv *cv)
{
    struct resp_out *out = cv->out;
    resp_deferred d = resp_add_deferred(out);
    long n = 0;
    while (!cv->failed) {
        lua_rawgeti(L, -1, (int)(n + 1));
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        lua_to_reply(L, cv);
        n++;
    }
    resp_set_deferred_array_len(out, d, n);
}

/* Whether the value on top may be replied: the depth and the size so far
 * within the limits (the first one passed recorded in cv->failed). */
static int within_limits(struct conv *cv)
{
    if (cv->failed) return 0;
    if (cv->depth > SCRIPT_REPLY_DEPTH_MAX)
        cv->failed = "ERR reached lua stack limit";
    else if (++cv->elements > SCRIPT_REPLY_ELEMENTS_MAX ||
             cv->out->len - cv->start > SCRIPT_REPLY_BYTES_MAX)
        cv->failed = "ERR script reply too large";
    return cv->failed == NULL;
}

/* Replies the value on top of the stack and pops it. Recursive, but to
 * SCRIPT_REPLY_DEPTH_MAX levels at most. */
static void lua_to_reply(lua_State *L, struct conv *cv)
{
    struct resp_out *out = cv->out;
    if (!within_limits(cv)) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_checkstack(L, 6)) {
        resp_add_error(out, "ERR reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    size_t n;
    const char *s;
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, -1, &n);
        resp_add_bulk(out, s, n);
        break;
    case LUA_TBOOLEAN:
        if (cv->resp == 3)
            resp_add_bool(out, lua_toboolean(L, -1));
        else if (lua_toboolean(L, -1))
            resp_add_int(out, 1);
        else
            resp_add_null(out);
        break;
    case LUA_TNUMBER:
        resp_add_int(out, number_to_ll(lua_tonumber(L, -1)));
        break;
    case LUA_TTABLE:
        cv->depth++;
        if (!add_special_table(L, cv)) add_array(L, cv);
        cv->depth--;
        break;
    default:
        resp_add_null(out);
        break;
    }
    lua_pop(L, 1);
}

void script_lua_to_reply(lua_State *L, struct resp_out *out, int resp)
{
    struct conv cv = {out, resp, 0, 0, out->len, NULL};
    lua_to_reply(L, &cv);
    if (!cv.failed) return;
    out->len = cv.start; /* nothing of it was sent: the loop sends between events */
    resp_add_error(out, cv.failed);
}
