/*
 * src/script/lua_struct.c - the `struct` library of scripts (src/script/lua_libs.h says
 * what it offers and where it parts from Redis's copy).
 *
 * A format is read one option at a time by the same three steps in pack,
 * unpack and size: the option's size (which may read a count after it), the
 * zero padding that aligns it (never more than 31 bytes: only integers,
 * floats and doubles align, to at most their own size), then the option
 * itself. Control options ('<', '>', '!', ' ') have size 0 and only change
 * the state. The format is a C string to Redis's copy, so a NUL byte ends
 * it here too.
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

/* Widest integer option ('i32'); wider ones raise an error. */
#define STRUCT_INT_BYTES_MAX 32

/* The natural alignment bare '!' selects: that of a double in a struct, or
 * of an int if larger, as the C compiler lays them out. */
struct align_probe {
    char c;
    double d;
};
#define NATURAL_ALIGN                                                                              \
    (offsetof(struct align_probe, d) > sizeof(int) ? offsetof(struct align_probe, d) : sizeof(int))

#define TWO_POW_63 9223372036854775808.0
#define TWO_POW_64 18446744073709551616.0

struct fmt_state {
    int little; /* 1: little endian, 0: big endian */
    size_t align;
};

static int native_little(void)
{
    const uint16_t one = 1;
    unsigned char first;

    memcpy(&first, &one, 1);
    return first == 1;
}

static void fmt_state_init(struct fmt_state *st)
{
    st->little = native_little();
    st->align = 1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The decimal count at *fmt (consumed), or dflt when there is none. Counts
 * above INT_MAX raise an error. */
static size_t read_count(lua_State *L, const char **fmt, size_t dflt)
{
    size_t n = 0;

    if (!is_digit(**fmt)) return dflt;
    while (is_digit(**fmt)) {
        size_t digit = (size_t)(**fmt - '0');
        if (n > ((size_t)INT_MAX - digit) / 10) luaL_error(L, "integral size overflow");
        n = n * 10 + digit;
        (*fmt)++;
    }
    return n;
}

/* Bytes option opt occupies (0 for control options and the sized-by-data
 * 's'); reads the count of 'c' and 'i'/'I'. */
static size_t option_size(lua_State *L, int opt, const char **fmt)
{
    size_t n;

    switch (opt) {
    case 'b':
    case 'B':
    case 'x':
        return 1;
    case 'h':
    case 'H':
        return sizeof(short);
    case 'l':
    case 'L':
        return sizeof(long);
    case 'T':
        return sizeof(size_t);
    case 'f':
        return sizeof(float);
    case 'd':
        return sizeof(double);
    case 'c':
        return read_count(L, fmt, 1);
    case 'i':
    case 'I':
        n = read_count(L, fmt, sizeof(int));
        if (n > STRUCT_INT_BYTES_MAX)
            luaL_error(L, "integral size %d is larger than limit of %d", (int)n,
                       STRUCT_INT_BYTES_MAX);
        return n;
    default:
        return 0;
    }
}

/* Zero bytes that align an option of the given size at offset pos. The
 * arithmetic is the original library's, kept for sizes that are not powers
 * of 2 ('i3') too, because scripts see its result. */
static size_t padding_for(size_t pos, const struct fmt_state *st, int opt, size_t size)
{
    if (size == 0 || opt == 'c') return 0;
    if (size > st->align) size = st->align;
    return (size - (pos & (size - 1))) & (size - 1);
}

static void apply_control(lua_State *L, int opt, const char **fmt, struct fmt_state *st)
{
    size_t a;

    switch (opt) {
    case ' ':
        return;
    case '>':
        st->little = 0;
        return;
    case '<':
        st->little = 1;
        return;
    case '!':
        a = read_count(L, fmt, NATURAL_ALIGN);
        if (a == 0 || (a & (a - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", (int)a);
        st->align = a;
        return;
    default:
        luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

/* The 64 bits the original's casts give a number (and so what Redis
 * scripts see on the x86-64 builds; C leaves the casts undefined outside
 * the target's range): truncation toward zero within [-2^63, 2^64), 0 at
 * or above 2^64, 2^63 below -2^63 and for NaN. */
static uint64_t number_to_bits(lua_Number n)
{
    double d = (double)n;

    if (isnan(d) || d < -TWO_POW_63) return (uint64_t)1 << 63;
    if (d >= TWO_POW_64) return 0;
    if (d >= TWO_POW_63) return (uint64_t)d;
    return (uint64_t)(int64_t)d;
}

static int64_t bits_to_int64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX) return (int64_t)v;
    return -(int64_t)(UINT64_MAX - v) - 1;
}

/* A double as a float the IEEE way (overflow gives an infinity), without
 * the out-of-range conversion C leaves undefined. */
static float double_to_float(double d)
{
    const double overflow = (double)FLT_MAX + ldexp(1.0, FLT_MAX_EXP - FLT_MANT_DIG - 1);

    if (d >= overflow) return HUGE_VALF;
    if (d <= -overflow) return -HUGE_VALF;
    if (d > FLT_MAX) return FLT_MAX;
    if (d < -FLT_MAX) return -FLT_MAX;
    return (float)d;
}

/* Writes the size bytes of v in the given order; bytes past the 8th are 0. */
static void put_integer(luaL_Buffer *b, uint64_t v, int little, size_t size)
{
    char out[STRUCT_INT_BYTES_MAX];

    for (size_t i = 0; i < size; i++) {
        out[little ? i : size - 1 - i] = (char)(v & 0xff);
        v >>= 8;
    }
    luaL_addlstring(b, out, size);
}

/* The integer stored in p[0..size): its 8 least significant bytes, sign
 * extended from the top bit of the field. Wider than 8 bytes, the original
 * shifts by size * 8 - 1 >= 64, undefined in C; x86-64 and arm64 both take
 * the count modulo 64, and so do we: what Redis scripts see. */
static lua_Number get_integer(const unsigned char *p, int little, int is_signed, size_t size)
{
    uint64_t v = 0;

    for (size_t i = 0; i < size; i++)
        v = (v << 8) | p[little ? size - 1 - i : i];
    if (!is_signed || size == 0) return (lua_Number)v;
    uint64_t mask = ~(uint64_t)0 << ((size * 8 - 1) % 64);
    if (v & mask) v |= mask;
    return (lua_Number)bits_to_int64(v);
}

/* Reverses n bytes in place when the wanted order is not the machine's. */
static void to_order(unsigned char *p, size_t n, int little)
{
    if (little == native_little()) return;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

static void pack_float(luaL_Buffer *b, lua_Number n, int is_double, int little)
{
    unsigned char out[sizeof(double)];
    size_t size = is_double ? sizeof(double) : sizeof(float);

    if (is_double) {
        double d = (double)n;
        memcpy(out, &d, size);
    } else {
        float f = double_to_float((double)n);
        memcpy(out, &f, size);
    }
    to_order(out, size, little);
    luaL_addlstring(b, (const char *)out, size);
}

/* Packs one option taking its value from argument *arg; returns the bytes
 * it added. */
static size_t pack_option(lua_State *L, luaL_Buffer *b, int opt, size_t size, int *arg,
                          const char **fmt, struct fmt_state *st)
{
    size_t len;
    const char *s;

    switch (opt) {
    case 'b':
    case 'B':
    case 'h':
    case 'H':
    case 'l':
    case 'L':
    case 'T':
    case 'i':
    case 'I':
        put_integer(b, number_to_bits(luaL_checknumber(L, (*arg)++)), st->little, size);
        return size;
    case 'x':
        luaL_addchar(b, '\0');
        return 1;
    case 'f':
    case 'd':
        pack_float(b, luaL_checknumber(L, (*arg)++), opt == 'd', st->little);
        return size;
    case 'c':
    case 's':
        s = luaL_checklstring(L, (*arg)++, &len);
        if (size == 0) size = len;
        /* The original names the argument after this one; so do we. */
        luaL_argcheck(L, len >= size, *arg, "string too short");
        luaL_addlstring(b, s, size);
        if (opt == 's') {
            luaL_addchar(b, '\0');
            size++;
        }
        return size;
    default:
        apply_control(L, opt, fmt, st);
        return 0;
    }
}

static int struct_pack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    struct fmt_state st;
    luaL_Buffer b;
    size_t total = 0;
    int arg = 2;

    fmt_state_init(&st);
    /* A slot between the arguments and the buffer's: a missing value is
     * then "got nil" to luaL_checknumber() as in the original, not "got no
     * value". */
    lua_pushnil(L);
    luaL_buffinit(L, &b);
    while (*fmt != '\0') {
        int opt = (unsigned char)*fmt++;
        size_t size = option_size(L, opt, &fmt);
        size_t pad = padding_for(total, &st, opt, size);

        total += pad;
        while (pad-- > 0)
            luaL_addchar(&b, '\0');
        total += pack_option(L, &b, opt, size, &arg, &fmt, &st);
    }
    luaL_pushresult(&b);
    return 1;
}

static size_t unpack_chars(lua_State *L, const char *data, size_t len, size_t pos, size_t size,
                           int *nres)
{
    if (size == 0) {
        if (*nres == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
        size = (size_t)number_to_bits(lua_tonumber(L, -1));
        lua_pop(L, 1);
        (*nres)--;
        luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
    }
    lua_pushlstring(L, data + pos, size);
    (*nres)++;
    return size;
}

static lua_Number get_float(const char *p, int is_double, int little)
{
    unsigned char in[sizeof(double)];
    size_t size = is_double ? sizeof(double) : sizeof(float);

    memcpy(in, p, size);
    to_order(in, size, little);
    if (is_double) {
        double d;
        memcpy(&d, in, size);
        return (lua_Number)d;
    } else {
        float f;
        memcpy(&f, in, size);
        return (lua_Number)f;
    }
}

/* Unpacks one option at data[pos..] (the caller checked that size bytes
 * are there); returns the bytes it consumed. */
static size_t unpack_option(lua_State *L, const char *data, size_t len, size_t pos, int opt,
                            size_t size, int *nres, const char **fmt, struct fmt_state *st)
{
    const char *end;

    switch (opt) {
    case 'b':
    case 'B':
    case 'h':
    case 'H':
    case 'l':
    case 'L':
    case 'T':
    case 'i':
    case 'I':
        lua_pushnumber(L, get_integer((const unsigned char *)data + pos, st->little,
                                      opt >= 'a' && opt <= 'z', size));
        (*nres)++;
        return size;
    case 'x':
        return size;
    case 'f':
    case 'd':
        lua_pushnumber(L, get_float(data + pos, opt == 'd', st->little));
        (*nres)++;
        return size;
    case 'c':
        return unpack_chars(L, data, len, pos, size, nres);
    case 's':
        end = memchr(data + pos, '\0', len - pos);
        if (end == NULL) luaL_error(L, "unfinished string in data");
        lua_pushlstring(L, data + pos, (size_t)(end - (data + pos)));
        (*nres)++;
        return (size_t)(end - (data + pos)) + 1;
    default:
        apply_control(L, opt, fmt, st);
        return size;
    }
}

static int struct_unpack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    /* Unsigned as in the original: a negative start wraps and then fails
     * the bounds check below like any start past the end. */
    size_t pos = (size_t)luaL_optinteger(L, 3, 1);
    struct fmt_state st;
    int nres = 0;

    luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
    pos--;
    fmt_state_init(&st);
    while (*fmt != '\0') {
        int opt = (unsigned char)*fmt++;
        size_t size = option_size(L, opt, &fmt);

        pos += padding_for(pos, &st, opt, size);
        luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        pos += unpack_option(L, data, len, pos, opt, size, &nres, &fmt, &st);
    }
    lua_pushinteger(L, (lua_Integer)(pos + 1));
    return nres + 1;
}

static int struct_size(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    struct fmt_state st;
    size_t pos = 0;

    fmt_state_init(&st);
    while (*fmt != '\0') {
        int opt = (unsigned char)*fmt++;
        size_t size = option_size(L, opt, &fmt);

        pos += padding_for(pos, &st, opt, size);
        if (opt == 's')
            luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0)
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        /* Unknown letters and digits count as size 0, as in the original. */
        if (!is_alnum(opt)) apply_control(L, opt, &fmt, &st);
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

static const luaL_Reg struct_functions[] = {
    {"pack", struct_pack},
    {"unpack", struct_unpack},
    {"size", struct_size},
    {NULL, NULL},
};

int luaopen_struct(lua_State *L)
{
    luaL_register(L, "struct", struct_functions);
    return 1;
}
