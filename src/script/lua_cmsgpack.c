/*
 * src/script/lua_cmsgpack.c - the `cmsgpack` library of scripts: MessagePack
 * encoding and decoding of Lua values (src/script/lua_libs.h says what it offers
 * and where it parts from Redis's copy).
 *
 * Encoding writes into a buffer held by a full userdata on the Lua stack, so
 * that an error raised halfway (memory, the size limit) leaks nothing: the
 * collector takes the buffer. It recurses over tables, at most
 * CMSGPACK_NESTING_MAX + 1 levels deep.
 *
 * Decoding reads from a cursor that checks every length against what is
 * left before touching a byte, and nests with an explicit stack of frames
 * (one per open array or map) instead of recursion. Tables are built with
 * the very operations Redis's copy uses (an empty table, then one raw set per
 * element in input order, nil values included) so that what scripts can see
 * of a table's layout, such as #t of an array holding nils or the order
 * pairs() walks a map in, is the same.
 */
#include <lua.h>
#include <lauxlib.h>

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "script/lua_libs.h"

#define TWO_POW_63 9223372036854775808.0
/* The Lua stack of one C call holds LUAI_MAXCSTACK (8000) slots. Decoding
 * asks for slots exactly where Redis's copy does, with the same messages,
 * so scripts hit the same "stack overflow (...)" error at the same point:
 * past about 8000 values returned at once or containers nested about 4000
 * (arrays) to 8000 (maps) deep. */
#define STACK_MSG "too many return values at once; use unpack_one or unpack_limit instead."
#define STACK_MSG_ARRAY "in function mp_decode_to_lua_array"
#define STACK_MSG_OFFSET "in function mp_unpack_full"

/* ------------------------------------------------------------------------
 * Output buffer
 * ------------------------------------------------------------------------ */

struct mp_out {
    lua_State *L;
    int slot; /* stack index of the userdata holding the bytes */
    unsigned char *p;
    size_t len;
    size_t cap;
};

static void out_init(lua_State *L, struct mp_out *out)
{
    out->L = L;
    out->cap = 64;
    out->len = 0;
    out->p = lua_newuserdata(L, out->cap);
    out->slot = lua_gettop(L);
}

/* Makes room for n more bytes: a larger userdata replaces the old one in
 * its stack slot. */
static void out_reserve(struct mp_out *out, size_t n)
{
    size_t cap;
    unsigned char *p;

    if (n <= out->cap - out->len) return;
    if (n > CMSGPACK_PACK_BYTES_MAX - out->len)
        luaL_error(out->L, "MessagePack pack output larger than %d bytes.",
                   (int)CMSGPACK_PACK_BYTES_MAX);
    cap = out->cap;
    while (cap - out->len < n)
        cap = cap > CMSGPACK_PACK_BYTES_MAX / 2 ? CMSGPACK_PACK_BYTES_MAX : cap * 2;
    p = lua_newuserdata(out->L, cap);
    memcpy(p, out->p, out->len);
    lua_replace(out->L, out->slot);
    out->p = p;
    out->cap = cap;
}

static void out_bytes(struct mp_out *out, const void *p, size_t n)
{
    out_reserve(out, n);
    memcpy(out->p + out->len, p, n);
    out->len += n;
}

static void out_byte(struct mp_out *out, unsigned char b)
{
    out_bytes(out, &b, 1);
}

/* A tag byte followed by the nbytes low bytes of v, most significant first
 * (MessagePack is big endian throughout). */
static void out_tagged(struct mp_out *out, unsigned char tag, uint64_t v, size_t nbytes)
{
    unsigned char b[9];

    b[0] = tag;
    for (size_t i = 0; i < nbytes; i++)
        b[nbytes - i] = (unsigned char)(v >> (8 * i));
    out_bytes(out, b, nbytes + 1);
}

/* ------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------ */

static void encode_int(struct mp_out *out, int64_t n)
{
    uint64_t u = (uint64_t)n;

    if (n >= 0) {
        if (n <= 0x7f)
            out_byte(out, (unsigned char)n);
        else if (n <= 0xff)
            out_tagged(out, 0xcc, u, 1);
        else if (n <= 0xffff)
            out_tagged(out, 0xcd, u, 2);
        else if (n <= 0xffffffffLL)
            out_tagged(out, 0xce, u, 4);
        else
            out_tagged(out, 0xcf, u, 8);
    } else {
        if (n >= -32)
            out_byte(out, (unsigned char)(u & 0xff));
        else if (n >= INT8_MIN)
            out_tagged(out, 0xd0, u, 1);
        else if (n >= INT16_MIN)
            out_tagged(out, 0xd1, u, 2);
        else if (n >= INT32_MIN)
            out_tagged(out, 0xd2, u, 4);
        else
            out_tagged(out, 0xd3, u, 8);
    }
}

/* Whether d survives a round trip through float; infinities do, NaN does
 * not (it compares unequal to itself), nor does anything beyond FLT_MAX. */
static int exact_as_float(double d)
{
    if (isinf(d)) return 1;
    if (isnan(d) || d > FLT_MAX || d < -FLT_MAX) return 0;
    return (double)(float)d == d;
}

static void encode_number(struct mp_out *out, lua_Number n)
{
    double d = (double)n;
    uint32_t f32;
    uint64_t f64;

    if (d >= -TWO_POW_63 && d < TWO_POW_63 && d == floor(d)) {
        encode_int(out, (int64_t)d);
    } else if (exact_as_float(d)) {
        float f = (float)d;
        memcpy(&f32, &f, sizeof(f32));
        out_tagged(out, 0xca, f32, 4);
    } else {
        memcpy(&f64, &d, sizeof(f64));
        out_tagged(out, 0xcb, f64, 8);
    }
}

static void encode_string(struct mp_out *out, const char *s, size_t len)
{
    if (len < 32)
        out_byte(out, (unsigned char)(0xa0 | len));
    else if (len <= 0xff)
        out_tagged(out, 0xd9, len, 1);
    else if (len <= 0xffff)
        out_tagged(out, 0xda, len, 2);
    else if (len <= 0xffffffffu)
        out_tagged(out, 0xdb, len, 4);
    else
        luaL_error(out->L, "MessagePack pack output larger than %d bytes.",
                   (int)CMSGPACK_PACK_BYTES_MAX);
    out_bytes(out, s, len);
}

/* Header of an array (map 0) or a map (map 1) of n elements or pairs. */
static void encode_container(struct mp_out *out, int map, size_t n)
{
    if (n <= 15)
        out_byte(out, (unsigned char)((map ? 0x80 : 0x90) | n));
    else if (n <= 0xffff)
        out_tagged(out, map ? 0xde : 0xdc, n, 2);
    else if (n <= 0xffffffffu)
        out_tagged(out, map ? 0xdf : 0xdd, n, 4);
    else
        luaL_error(out->L, "MessagePack pack output larger than %d bytes.",
                   (int)CMSGPACK_PACK_BYTES_MAX);
}

/* Whether the table on top has exactly the keys 1..n (no other key, no
 * hole), n being its number of keys; sets *n. Keys must be numbers that
 * are positive integers within int, as the original checks them. */
static int table_is_array(lua_State *L, size_t *n)
{
    size_t count = 0;
    double max = 0;
    int ok = 1;

    lua_pushnil(L);
    while (lua_next(L, -2)) {
        double k;
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            ok = 0;
        } else {
            k = (double)lua_tonumber(L, -1);
            if (!(k > 0 && k <= INT_MAX && k == floor(k)))
                ok = 0;
            else if (k > max)
                max = k;
        }
        if (!ok) {
            lua_pop(L, 1);
            break;
        }
        count++;
    }
    *n = count;
    return ok && max == (double)count;
}

static void encode_value(struct mp_out *out, int level);

/* Encodes the table on top (left in place). */
static void encode_table(struct mp_out *out, int level)
{
    lua_State *L = out->L;
    size_t n;

    luaL_checkstack(L, 4, "in cmsgpack.pack");
    if (table_is_array(L, &n)) {
        encode_container(out, 0, n);
        for (size_t i = 1; i <= n; i++) {
            lua_pushnumber(L, (lua_Number)i);
            lua_rawget(L, -2);
            encode_value(out, level + 1);
            lua_pop(L, 1);
        }
        return;
    }
    n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        n++;
    }
    encode_container(out, 1, n);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        encode_value(out, level + 1); /* the key */
        lua_pop(L, 1);
        encode_value(out, level + 1); /* the value */
        lua_pop(L, 1);
    }
}

/* Encodes the value on top of the stack (left in place). level is the
 * nesting of the tables around it; a table at CMSGPACK_NESTING_MAX is nil. */
static void encode_value(struct mp_out *out, int level)
{
    lua_State *L = out->L;
    const char *s;
    size_t len;

    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, -1, &len);
        encode_string(out, s, len);
        break;
    case LUA_TBOOLEAN:
        out_byte(out, lua_toboolean(L, -1) ? 0xc3 : 0xc2);
        break;
    case LUA_TNUMBER:
        encode_number(out, lua_tonumber(L, -1));
        break;
    case LUA_TTABLE:
        if (level < CMSGPACK_NESTING_MAX) {
            encode_table(out, level);
            break;
        }
        out_byte(out, 0xc0);
        break;
    default:
        out_byte(out, 0xc0);
        break;
    }
}

static int mp_pack(lua_State *L)
{
    int nargs = lua_gettop(L);
    struct mp_out out;

    if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    out_init(L, &out);
    for (int i = 1; i <= nargs; i++) {
        luaL_checkstack(L, 1, "in cmsgpack.pack");
        lua_pushvalue(L, i);
        encode_value(&out, 0);
        lua_pop(L, 1);
    }
    lua_pushlstring(L, (const char *)out.p, out.len);
    return 1;
}

/* ------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------ */

struct mp_in {
    const unsigned char *p;
    size_t left;
};

/* What read_item() found, or why it failed. */
enum {
    ITEM_VALUE = 0, /* a complete value, pushed */
    ITEM_ARRAY = 1, /* an array header; *count elements follow */
    ITEM_MAP = 2,   /* a map header; *count pairs follow */
    ERR_EOF = -1,
    ERR_FORMAT = -2,
    ERR_DEPTH = -3,
};

/* One array or map being filled; its table is on the Lua stack, and above
 * it the index of the array element being read, or the key of the map pair
 * whose value is being read. */
struct mp_frame {
    uint32_t left; /* elements (or pairs) still to come */
    unsigned char is_map;
    unsigned char has_key; /* a map's key waits on the stack for its value */
};

static void in_skip(struct mp_in *in, size_t n)
{
    in->p += n;
    in->left -= n;
}

/* The nbytes big-endian bytes after the tag; consumes both. 0, or ERR_EOF
 * (nothing consumed). */
static int read_be(struct mp_in *in, size_t nbytes, uint64_t *v)
{
    if (in->left < 1 + nbytes) return ERR_EOF;
    *v = 0;
    for (size_t i = 1; i <= nbytes; i++)
        *v = (*v << 8) | in->p[i];
    in_skip(in, 1 + nbytes);
    return 0;
}

static int64_t bits_to_int64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX) return (int64_t)v;
    return -(int64_t)(UINT64_MAX - v) - 1;
}

/* An integer of nbytes after the tag; a signed one is sign-extended. A
 * uint64 is read as int64, as Redis's copy hands it to Lua. */
static int read_int(lua_State *L, struct mp_in *in, size_t nbytes, int is_signed)
{
    uint64_t v;

    if (read_be(in, nbytes, &v) != 0) return ERR_EOF;
    if (is_signed && nbytes < 8) {
        uint64_t sign = (uint64_t)1 << (nbytes * 8 - 1);
        if (v & sign) v |= ~(sign - 1);
    }
    lua_pushnumber(L, (lua_Number)bits_to_int64(v));
    return ITEM_VALUE;
}

static int read_float(lua_State *L, struct mp_in *in, int is_double)
{
    uint64_t v;

    if (read_be(in, is_double ? 8 : 4, &v) != 0) return ERR_EOF;
    if (is_double) {
        double d;
        memcpy(&d, &v, sizeof(d));
        lua_pushnumber(L, (lua_Number)d);
    } else {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof(f));
        lua_pushnumber(L, (lua_Number)f);
    }
    return ITEM_VALUE;
}

/* A string whose length takes nbytes after the tag (0: in the tag). */
static int read_str(lua_State *L, struct mp_in *in, size_t nbytes, size_t fixlen)
{
    uint64_t len = fixlen;
    size_t hdr = 1 + nbytes;

    if (in->left < hdr) return ERR_EOF;
    for (size_t i = 1; i <= nbytes; i++)
        len = (len << 8) | in->p[i];
    if (len > in->left - hdr) return ERR_EOF;
    lua_pushlstring(L, (const char *)in->p + hdr, (size_t)len);
    in_skip(in, hdr + (size_t)len);
    return ITEM_VALUE;
}

/* An array or map header with a count of nbytes after the tag. */
static int read_container(struct mp_in *in, size_t nbytes, int kind, uint32_t *count)
{
    uint64_t n;

    if (read_be(in, nbytes, &n) != 0) return ERR_EOF;
    *count = (uint32_t)n;
    return kind;
}

static int read_constant(lua_State *L, struct mp_in *in, unsigned char tag)
{
    if (tag == 0xc0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, tag == 0xc3);
    in_skip(in, 1);
    return ITEM_VALUE;
}

/* Reads the item at the cursor: pushes a scalar, or returns an array's or
 * map's element count in *count (its table is not pushed yet). */
static int read_item(lua_State *L, struct mp_in *in, uint32_t *count)
{
    unsigned char tag;

    if (in->left == 0) return ERR_EOF;
    tag = in->p[0];
    if (tag <= 0x7f || tag >= 0xe0) { /* positive or negative fixint */
        lua_pushnumber(L, tag <= 0x7f ? (lua_Number)tag : (lua_Number)((int)tag - 256));
        in_skip(in, 1);
        return ITEM_VALUE;
    }
    if ((tag & 0xe0) == 0xa0) return read_str(L, in, 0, tag & 0x1f);
    if ((tag & 0xf0) == 0x90 || (tag & 0xf0) == 0x80) {
        *count = tag & 0x0f;
        in_skip(in, 1);
        return (tag & 0xf0) == 0x90 ? ITEM_ARRAY : ITEM_MAP;
    }
    switch (tag) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
        return read_constant(L, in, tag);
    case 0xca:
    case 0xcb:
        return read_float(L, in, tag == 0xcb);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        return read_int(L, in, (size_t)1 << (tag - 0xcc), 0);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        return read_int(L, in, (size_t)1 << (tag - 0xd0), 1);
    case 0xd9:
    case 0xda:
    case 0xdb:
        return read_str(L, in, (size_t)1 << (tag - 0xd9), 0);
    case 0xdc:
    case 0xdd:
        return read_container(in, tag == 0xdc ? 2 : 4, ITEM_ARRAY, count);
    case 0xde:
    case 0xdf:
        return read_container(in, tag == 0xde ? 2 : 4, ITEM_MAP, count);
    default: /* 0xc1, bin, ext and fixext: Redis's copy rejects them too */
        return ERR_FORMAT;
    }
}

/* Stores the complete value on top into the open container below it.
 * Returns 1 when that container is now complete. */
static int attach(lua_State *L, struct mp_frame *f)
{
    lua_Number index;

    if (f->is_map && !f->has_key) {
        f->has_key = 1; /* the key waits for its value */
        return 0;
    }
    index = lua_tonumber(L, -2); /* meaningful for arrays only */
    /* table, index or key, value: raises on a nil or NaN key, as Redis's
     * copy does */
    lua_rawset(L, -3);
    f->has_key = 0;
    if (--f->left == 0) return 1;
    if (!f->is_map) lua_pushnumber(L, index + 1);
    return 0;
}

/* Pushes the table of an array or map of count elements; opens a frame
 * for it unless it is empty (then it is a complete value: returns 0). */
static int open_container(lua_State *L, int kind, uint32_t count, struct mp_frame *f)
{
    lua_newtable(L);
    if (kind == ITEM_ARRAY) luaL_checkstack(L, 1, STACK_MSG_ARRAY);
    if (count == 0) return 0;
    *f = (struct mp_frame){count, kind == ITEM_MAP, 0};
    if (kind == ITEM_ARRAY) lua_pushnumber(L, 1);
    return 1;
}

/* Decodes one complete value at the cursor and leaves it on the stack.
 * Returns 0 or an ERR_ code. */
static int decode_one(lua_State *L, struct mp_in *in)
{
    struct mp_frame frames[CMSGPACK_DEPTH_MAX];
    int depth = 0;

    for (;;) {
        uint32_t count = 0;
        int kind;

        if (in->left == 0) /* before the stack check, as in Redis's copy */
            return ERR_EOF;
        luaL_checkstack(L, 1, STACK_MSG);
        kind = read_item(L, in, &count);
        if (kind < 0) return kind;
        if (kind != ITEM_VALUE) {
            /* Each open frame holds a stack slot: the Lua stack's limit
             * stops the nesting first; this only guards the array. */
            if (depth == CMSGPACK_DEPTH_MAX) return ERR_DEPTH;
            if (open_container(L, kind, count, &frames[depth])) {
                depth++;
                continue;
            }
        }
        while (depth > 0 && attach(L, &frames[depth - 1]))
            depth--;
        if (depth == 0) return 0;
    }
}

/* Decodes up to limit values of argument 1 from byte offset; limit and
 * offset both 0 mean every value, returned without the offset. */
static int unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int decode_all = limit == 0 && offset == 0;
    struct mp_in in;
    int cnt;

    /* Redis's message reports the input length as the limit; kept. */
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                          (int)offset, (int)len);
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset,
                          (int)len);
    if (decode_all) limit = INT_MAX;
    in.p = (const unsigned char *)s + offset;
    in.left = len - (size_t)offset;
    for (cnt = 0; in.left > 0 && cnt < limit; cnt++) {
        int rc = decode_one(L, &in);
        if (rc == ERR_EOF) return luaL_error(L, "Missing bytes in input.");
        if (rc == ERR_FORMAT) return luaL_error(L, "Bad data format in input.");
        if (rc == ERR_DEPTH)
            return luaL_error(L, "Nesting deeper than %d in input.", CMSGPACK_DEPTH_MAX);
    }
    if (decode_all) return cnt;
    luaL_checkstack(L, 1, STACK_MSG_OFFSET);
    lua_pushinteger(L, in.left == 0 ? -1 : (lua_Integer)(len - in.left));
    lua_insert(L, 2);
    return cnt + 1;
}

static int mp_unpack(lua_State *L)
{
    return unpack_full(L, 0, 0);
}

/* Keeps argument 1 alone on the stack, so that results start at 2. */
static void keep_first_arg(lua_State *L)
{
    if (lua_gettop(L) > 1) lua_settop(L, 1);
}

static int mp_unpack_one(lua_State *L)
{
    lua_Integer offset = luaL_optinteger(L, 2, 0);

    keep_first_arg(L);
    return unpack_full(L, 1, offset);
}

static int mp_unpack_limit(lua_State *L)
{
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);

    keep_first_arg(L);
    return unpack_full(L, limit, offset);
}

static const luaL_Reg cmsgpack_functions[] = {
    {"pack", mp_pack},
    {"unpack", mp_unpack},
    {"unpack_one", mp_unpack_one},
    {"unpack_limit", mp_unpack_limit},
    {NULL, NULL},
};

int luaopen_cmsgpack(lua_State *L)
{
    lua_newtable(L);
    for (const luaL_Reg *r = cmsgpack_functions; r->name != NULL; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "MessagePack for Lua scripts (raftcache)");
    lua_setfield(L, -2, "_DESCRIPTION");
    lua_pushvalue(L, -1);
    lua_setglobal(L, "cmsgpack");
    return 1;
}
