/*
 * src/script/lua_libs.h - the `struct` and `cmsgpack` Lua libraries that Redis 7.0
 * offers to scripts and that Debian does not package (cjson and bit come
 * from Debian; see the Makefile). Our own implementations, written to give
 * scripts what they observe under Redis 7.0: the same bytes out, the same
 * values back, the same errors for the same bad input.
 *
 * Each luaopen_* function builds its library table, stores it in the global
 * of the same name (`struct`, `cmsgpack`) and returns it (one result on the
 * stack), whether called directly from C or through lua_call() as Redis's
 * loader does. Neither keeps any state outside the lua_State, so several
 * states can use them at once.
 *
 * struct (Roberto Ierusalimschy's library): struct.pack(fmt, ...),
 * struct.unpack(fmt, data[, pos]) -> values..., next_pos (1-based),
 * struct.size(fmt). Format: '<' little endian, '>' big endian (default: the
 * machine's), '!n' maximum alignment n (a power of 2; bare '!' is the
 * natural one, 8 here), 'x' a zero byte, 'b/B' char, 'h/H' short, 'l/L'
 * long, 'T' size_t, 'i/I' int or 'in/In' an n-byte integer (n <= 32), 'f'
 * float, 'd' double, 's' zero-terminated string, 'c' one char, 'cn' n chars
 * (pack: 'c0' is the whole string; unpack: 'c0' takes its length from the
 * number just unpacked), ' ' ignored. Lua numbers are doubles, so integers
 * travel through 64 bits: beyond 8 bytes a packed integer is padded with
 * zero bytes and an unpacked one keeps its 8 least significant bytes.
 *
 * cmsgpack (lua-cmsgpack 0.4.0 as bundled in Redis): cmsgpack.pack(v, ...)
 * encodes each argument and concatenates them; cmsgpack.unpack(s) returns
 * every value in s; cmsgpack.unpack_one(s[, off]) and
 * cmsgpack.unpack_limit(s, n[, off]) return the 0-based offset of what is
 * left (-1 when nothing is) and then at most 1 or n values. Encoding: an
 * integral number within int64 takes the smallest integer format, other
 * numbers a float32 when exact, else a float64; a table whose keys are
 * exactly 1..n is an array, any other table a map; nil and values of other
 * types (functions, userdata, threads) become nil. Decoding reads every
 * type Redis's copy reads: nil, booleans, all integer and float formats,
 * str8/16/32 and fixstr, arrays and maps. Like Redis 7.0's copy it rejects
 * bin 8/16/32, ext and fixext (and 0xc1) as "Bad data format in input.", and
 * a uint64 at or above 2^63 comes back negative (wrapped to int64), as Redis
 * returns it.
 *
 * Limits: tables nested deeper than CMSGPACK_NESTING_MAX (16, Redis's
 * LUACMSGPACK_MAX_NESTING) encode as nil, so self-referencing tables
 * terminate; packing stops with an error past CMSGPACK_PACK_BYTES_MAX (a
 * limit Redis lacks: its copy would grow until memory runs out). Decoding
 * uses no recursion: like Redis's copy it stops with "stack overflow (...)"
 * when the Lua stack of the call (LUAI_MAXCSTACK, 8000 slots) is full:
 * about 8000 values returned at once, arrays nested about 4000 deep, maps
 * up to 8000 (CMSGPACK_DEPTH_MAX bounds its explicit stack). Truncated or
 * malformed input, whether to cmsgpack.unpack* or struct.unpack, raises a
 * Lua error and never reads outside the string.
 *
 * Where the originals rely on C behaviour that is undefined (converting a
 * number out of the 64-bit range to an integer in struct.pack and 'c0',
 * sign-extending a struct integer wider than 8 bytes), we give what Redis
 * 7.0 on x86-64 gives, with defined C: numbers pack truncated toward zero
 * inside [-2^63, 2^64), as 0 at or above 2^64 (and +inf), as 2^63 below
 * -2^63 (and -inf, NaN); an 'in' field of 9 to 15 bytes is sign-extended
 * from bit (8n - 1) mod 64, as the CPU's shift makes it.
 *
 * Other differences from Redis: the cmsgpack table carries _NAME, _VERSION
 * and _DESCRIPTION but not _COPYRIGHT. Making the tables read-only is the
 * sandbox's job, not theirs.
 */
#ifndef LUA_LIBS_H
#define LUA_LIBS_H

/* Deepest table cmsgpack.pack encodes; a table below it becomes nil. */
#define CMSGPACK_NESTING_MAX 16
/* Deepest nesting of arrays and maps cmsgpack.unpack* could reach: each
 * level holds a slot of the Lua stack, which fills first (LUAI_MAXCSTACK). */
#define CMSGPACK_DEPTH_MAX 8000
/* Largest string cmsgpack.pack produces (Redis's default proto-max-bulk-len:
 * nothing larger could be returned or stored anyway). */
#define CMSGPACK_PACK_BYTES_MAX (512u * 1024u * 1024u)

struct lua_State;

/* Opens `struct`: sets the global and returns the table (1 result). */
int luaopen_struct(struct lua_State *L);

/* Opens `cmsgpack`: sets the global and returns the table (1 result). */
int luaopen_cmsgpack(struct lua_State *L);

#endif
