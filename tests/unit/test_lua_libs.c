/*
 * tests/unit/test_lua_libs.c - the `struct` and `cmsgpack` Lua libraries
 * (src/script/lua_libs.h).
 *
 * Every case runs Lua in a fresh lua_State with the standard libraries and
 * both of ours opened the way Redis's script loader opens them. Expected
 * bytes and values are what Redis 7.0 answers to the same script (its
 * scripting.tcl cases included), so a failure is an incompatibility a
 * script would notice. Hostile inputs must raise a Lua error, never crash
 * or read out of bounds (run this binary under valgrind or ASan to check
 * the second part).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "script/lua_libs.h"

/* Helpers every snippet can use: hex(s), unhex(h), and eq(a, b), a deep
 * comparison of plain values and tables. */
static const char prelude[] =
    "function hex(s)\n"
    "  return (string.gsub(s, '.', function(c) return string.format('%02x', c:byte()) end))\n"
    "end\n"
    "function unhex(h)\n"
    "  h = string.gsub(h, ' ', '')\n"
    "  return (string.gsub(h, '..', function(x) return string.char(tonumber(x, 16)) end))\n"
    "end\n"
    "function eq(a, b)\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not eq(v, b[k]) then return false end end\n"
    "  for k, v in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n";

static void open_lib(lua_State *L, lua_CFunction open, const char *name)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();

    assert_non_null(L);
    luaL_openlibs(L);
    open_lib(L, luaopen_struct, "struct");
    open_lib(L, luaopen_cmsgpack, "cmsgpack");
    if (luaL_dostring(L, prelude) != 0) fail_msg("prelude: %s", lua_tostring(L, -1));
    return L;
}

/* Runs code, which must succeed (its asserts included). */
static void lua_ok(const char *code)
{
    lua_State *L = new_state();

    if (luaL_dostring(L, code) != 0) fail_msg("%s\n  raised: %s", code, lua_tostring(L, -1));
    lua_close(L);
}

/* Runs code, which must return the string want. */
static void lua_eq(const char *code, const char *want)
{
    lua_State *L = new_state();

    if (luaL_dostring(L, code) != 0) fail_msg("%s\n  raised: %s", code, lua_tostring(L, -1));
    if (!lua_isstring(L, -1) || strcmp(lua_tostring(L, -1), want) != 0)
        fail_msg("%s\n  returned: %s\n  expected: %s", code, lua_tostring(L, -1), want);
    lua_close(L);
}

/* Runs code, which must raise an error whose message contains want. */
static void lua_err(const char *code, const char *want)
{
    lua_State *L = new_state();
    const char *msg;

    if (luaL_dostring(L, code) == 0)
        fail_msg("%s\n  succeeded; expected an error with: %s", code, want);
    msg = lua_tostring(L, -1);
    if (msg == NULL || strstr(msg, want) == NULL)
        fail_msg("%s\n  raised: %s\n  expected: %s", code, msg ? msg : "(not a string)", want);
    lua_close(L);
}

/* ------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------ */

static void test_open_sets_globals(void **state)
{
    lua_State *L = luaL_newstate();

    (void)state;
    luaL_openlibs(L);
    /* Called from C as well as through lua_call: one result, the global. */
    assert_int_equal(luaopen_struct(L), 1);
    assert_int_equal(lua_type(L, -1), LUA_TTABLE);
    lua_getglobal(L, "struct");
    assert_true(lua_rawequal(L, -1, -2));
    lua_settop(L, 0);
    assert_int_equal(luaopen_cmsgpack(L), 1);
    assert_int_equal(lua_type(L, -1), LUA_TTABLE);
    lua_getglobal(L, "cmsgpack");
    assert_true(lua_rawequal(L, -1, -2));
    lua_close(L);

    lua_ok("assert(type(struct.pack) == 'function' and type(struct.unpack) == 'function')\n"
           "assert(type(struct.size) == 'function')\n"
           "for _, f in ipairs({'pack', 'unpack', 'unpack_one', 'unpack_limit'}) do\n"
           "  assert(type(cmsgpack[f]) == 'function', f)\n"
           "end\n"
           "assert(cmsgpack._NAME == 'cmsgpack' and cmsgpack._VERSION == 'lua-cmsgpack 0.4.0')");
}

/* ------------------------------------------------------------------------
 * cmsgpack: encoding
 * ------------------------------------------------------------------------ */

static void test_pack_integers(void **state)
{
    (void)state;
    /* Each boundary of the smallest-format rule, on both sides. */
    lua_eq("return hex(cmsgpack.pack(0, 127, 128, 255, 256, 65535, 65536))",
           "007fcc80ccffcd0100cdffffce00010000");
    lua_eq("return hex(cmsgpack.pack(4294967295, 4294967296, 2^53))",
           "ceffffffffcf0000000100000000cf0020000000000000");
    lua_eq("return hex(cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769))",
           "ffe0d0dfd080d1ff7fd18000d2ffff7fff");
    lua_eq("return hex(cmsgpack.pack(-2147483648, -2147483649, -2^63))",
           "d280000000d3ffffffff7fffffffd38000000000000000");
    /* scripting.tcl: "cmsgpack can pack negative int64?" */
    lua_eq("return hex(cmsgpack.pack(-1099511627776))", "d3ffffff0000000000");
    /* -0 is integral: it packs as 0. */
    lua_eq("return hex(cmsgpack.pack(-0.0))", "00");
}

static void test_pack_floats(void **state)
{
    (void)state;
    /* scripting.tcl: "cmsgpack can pack double?" */
    lua_eq("return hex(cmsgpack.pack(0.1))", "cb3fb999999999999a");
    /* Exact as a float: float32. */
    lua_eq("return hex(cmsgpack.pack(0.5, 1.5, -2.25))", "ca3f000000ca3fc00000cac0100000");
    lua_eq("return hex(cmsgpack.pack(1/0, -1/0))", "ca7f800000caff800000");
    /* Integral but beyond int64: a float when exact, else a double. */
    lua_eq("return hex(cmsgpack.pack(2^63, 2^64))", "ca5f000000ca5f800000");
    lua_eq("return hex(cmsgpack.pack(1e300))", "cb7e37e43c8800759c");
    lua_eq("return hex(cmsgpack.pack(1e-45))", "cb3696d601ad376ab9");
    lua_ok("local s = cmsgpack.pack(0/0)\n"
           "assert(#s == 9 and s:byte(1) == 0xcb)\n"
           "local n = cmsgpack.unpack(s)\n"
           "assert(n ~= n)");
}

static void test_pack_strings(void **state)
{
    (void)state;
    lua_eq("return hex(cmsgpack.pack(''))", "a0");
    lua_eq("return hex(cmsgpack.pack('abc'))", "a3616263");
    /* The header of each length, then a round trip of each. */
    lua_eq("local out = {}\n"
           "for _, n in ipairs({0, 31, 32, 255, 256, 65535, 65536}) do\n"
           "  local s = string.rep('x', n)\n"
           "  local p = cmsgpack.pack(s)\n"
           "  out[#out + 1] = hex(p:sub(1, #p - n))\n"
           "  assert(cmsgpack.unpack(p) == s, n)\n"
           "end\n"
           "return table.concat(out, ' ')",
           "a0 bf d920 d9ff da0100 daffff db00010000");
    lua_ok("local s = string.char(0, 1, 255, 0) .. 'x'\n"
           "assert(cmsgpack.unpack(cmsgpack.pack(s)) == s)");
}

static void test_pack_other_values(void **state)
{
    (void)state;
    lua_eq("return hex(cmsgpack.pack(nil, true, false))", "c0c3c2");
    /* Functions, threads and userdata have no MessagePack form: nil. */
    lua_eq("return hex(cmsgpack.pack(print, coroutine.create(function() end), io.stdout))",
           "c0c0c0");
    /* Several arguments are concatenated encodings. */
    lua_eq("return hex(cmsgpack.pack(1, 'a', {2}))", "01a1619102");
    lua_err("cmsgpack.pack()", "MessagePack pack needs input.");
}

static void test_pack_tables(void **state)
{
    (void)state;
    lua_eq("return hex(cmsgpack.pack({}))", "90");
    lua_eq("return hex(cmsgpack.pack({1, 2, 3}))", "93010203");
    lua_eq("return hex(cmsgpack.pack({true, false}))", "92c3c2");
    /* Holes or other keys make a map. */
    lua_eq("return hex(cmsgpack.pack({1, nil, 3}))", "8201010303");
    lua_eq("return hex(cmsgpack.pack({[1] = 1, [3] = 3}))", "8201010303");
    lua_eq("return hex(cmsgpack.pack({a = 1}))", "81a16101");
    lua_eq("return hex(cmsgpack.pack({[1.5] = 1}))", "81ca3fc0000001");
    lua_eq("return hex(cmsgpack.pack({[0] = 1}))", "810001");
    /* Array keys must fit an int. */
    lua_eq("return hex(cmsgpack.pack({[2^31 - 1] = 1}))", "81ce7fffffff01");
    lua_eq("return hex(cmsgpack.pack({[2^31] = 1}))", "81ce8000000001");
    /* 16 elements take an array 16 header; a 17th non-index key a map 16. */
    lua_eq("local t = {}\n"
           "for i = 1, 16 do t[i] = i end\n"
           "local a = hex(cmsgpack.pack(t))\n"
           "t.x = 'x'\n"
           "return a .. ' ' .. hex(cmsgpack.pack(t):sub(1, 3))",
           "dc00100102030405060708090a0b0c0d0e0f10 de0011");
    lua_eq("local t = {}\n"
           "for i = 1, 70000 do t[i] = i end\n"
           "local s = cmsgpack.pack(t)\n"
           "return hex(s:sub(1, 5))",
           "dd00011170");
    lua_eq("local t = {}\n"
           "for i = 1, 70000 do t['k' .. i] = i end\n"
           "local s = cmsgpack.pack(t)\n"
           "return hex(s:sub(1, 5))",
           "df00011170");
}

static void test_pack_nesting_limit(void **state)
{
    (void)state;
    /* 16 nested tables encode, the 17th becomes nil. */
    lua_eq("local t = {}\n"
           "local c = t\n"
           "for i = 1, 20 do c[1] = {} c = c[1] end\n"
           "return hex(cmsgpack.pack(t))",
           "91919191919191919191919191919191c0");
    lua_ok("local t = {}\n"
           "local c = t\n"
           "for i = 1, 20 do c.k = {} c = c.k end\n"
           "local d = cmsgpack.unpack(cmsgpack.pack(t))\n"
           "for i = 1, 15 do d = d.k end\n"
           "assert(type(d) == 'table' and d.k == nil)");
    /* A table that holds itself, as key and value. */
    lua_ok("local t = {}\n"
           "t[t] = t\n"
           "local s = cmsgpack.pack(t)\n"
           "assert(s:sub(1, 2) == '\\129\\129' and s:sub(-2) == '\\192\\192')");
}

/* scripting.tcl: "cmsgpack can pack and unpack circular references?" */
static void test_pack_circular_as_redis(void **state)
{
    (void)state;
    lua_eq("local a = {x = nil, y = 5}\n"
           "local b = {x = a}\n"
           "a.x = b\n"
           "return hex(cmsgpack.pack(a))",
           "82a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a178"
           "82a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a178c0");
    lua_ok("local a = {x = nil, y = 5}\n"
           "local b = {x = a}\n"
           "a.x = b\n"
           "local re = cmsgpack.unpack(cmsgpack.pack(a))\n"
           "assert(re and re.x and re.y == 5)\n"
           "assert(re.x.x.y == re.y)\n"
           "assert(re.x.x.x.x.y == re.y)\n"
           "assert(re.x.x.x.x.x.x.x.x.x.x.y == re.y)\n"
           "assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.y == re.y)\n"
           "assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x)\n"
           "assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x == nil)");
}

/* ------------------------------------------------------------------------
 * cmsgpack: decoding
 * ------------------------------------------------------------------------ */

static void test_round_trip_numbers(void **state)
{
    (void)state;
    lua_ok("local ns = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296,\n"
           "  2^53, 2^62, 2^63, 2^64, -1, -32, -33, -128, -129, -32768, -32769,\n"
           "  -2147483648, -2147483649, -2^53, -2^63, 0.1, -0.1, 0.5, 1.5, 1e300,\n"
           "  -1e300, 1e-300, 3.4028234663852886e38, 1/0, -1/0, 123456.789}\n"
           "local s = cmsgpack.pack(unpack(ns))\n"
           "local back = {cmsgpack.unpack(s)}\n"
           "assert(#back == #ns)\n"
           "for i, n in ipairs(ns) do assert(back[i] == n, tostring(n)) end");
}

static void test_unpack_every_type(void **state)
{
    (void)state;
    lua_ok("local v = {cmsgpack.unpack(unhex('c0 c2 c3 7f e0 ff'))}\n"
           "assert(select('#', cmsgpack.unpack(unhex('c0c2c3'))) == 3)\n"
           "assert(v[1] == nil and v[2] == false and v[3] == true)\n"
           "assert(v[4] == 127 and v[5] == -32 and v[6] == -1)");
    lua_ok("assert(cmsgpack.unpack(unhex('ccff')) == 255)\n"
           "assert(cmsgpack.unpack(unhex('cdffff')) == 65535)\n"
           "assert(cmsgpack.unpack(unhex('ceffffffff')) == 4294967295)\n"
           "assert(cmsgpack.unpack(unhex('cf7fffffffffffffff')) == 2^63 - 1)\n"
           "assert(cmsgpack.unpack(unhex('d080')) == -128)\n"
           "assert(cmsgpack.unpack(unhex('d1ff80')) == -128)\n"
           "assert(cmsgpack.unpack(unhex('d2ffffffff')) == -1)\n"
           "assert(cmsgpack.unpack(unhex('d38000000000000000')) == -2^63)\n"
           "assert(cmsgpack.unpack(unhex('ca3fc00000')) == 1.5)\n"
           "assert(cmsgpack.unpack(unhex('cb3fb999999999999a')) == 0.1)");
    /* A uint64 at or above 2^63 comes back wrapped, as in Redis. */
    lua_ok("assert(cmsgpack.unpack(unhex('cfffffffffffffffff')) == -1)\n"
           "assert(cmsgpack.unpack(unhex('cf8000000000000000')) == -2^63)");
    lua_ok("assert(cmsgpack.unpack(unhex('a3616263')) == 'abc')\n"
           "assert(cmsgpack.unpack(unhex('d903616263')) == 'abc')\n"
           "assert(cmsgpack.unpack(unhex('da0003616263')) == 'abc')\n"
           "assert(cmsgpack.unpack(unhex('db00000003616263')) == 'abc')\n"
           "assert(eq(cmsgpack.unpack(unhex('dc0002 01 02')), {1, 2}))\n"
           "assert(eq(cmsgpack.unpack(unhex('dd00000002 01 02')), {1, 2}))\n"
           "assert(eq(cmsgpack.unpack(unhex('de0001 a161 01')), {a = 1}))\n"
           "assert(eq(cmsgpack.unpack(unhex('df00000001 a161 01')), {a = 1}))\n"
           "assert(eq(cmsgpack.unpack(unhex('90')), {}))\n"
           "assert(eq(cmsgpack.unpack(unhex('80')), {}))");
    /* Nils inside an array are holes; a map's nil value drops the key. */
    lua_ok("local t = cmsgpack.unpack(unhex('93 01 c0 03'))\n"
           "assert(t[1] == 1 and t[2] == nil and t[3] == 3)\n"
           "assert(eq(cmsgpack.unpack(unhex('82 01 c0 02 02')), {[2] = 2}))");
    /* A number argument is read as its decimal string, as in Redis. */
    lua_eq("return table.concat({cmsgpack.unpack(123)}, ',')", "49,50,51");
    lua_eq("return tostring(select('#', cmsgpack.unpack('')))", "0");
}

static void test_round_trip_tables(void **state)
{
    (void)state;
    lua_ok("local t = {a = {b = {c = {1, 2, {x = 'y'}}}}, z = false, [7] = 'seven',\n"
           "  arr = {1, 'two', 3.5, {}, true}, [1.5] = 'f', [true] = 'yes'}\n"
           "assert(eq(cmsgpack.unpack(cmsgpack.pack(t)), t))");
    lua_ok("local m = {}\n"
           "for i = 1, 1000 do m['k' .. i] = i * 1.5 end\n"
           "for i = 1, 1000 do m[i * 3] = tostring(i) end\n"
           "assert(eq(cmsgpack.unpack(cmsgpack.pack(m)), m))");
}

/* scripting.tcl: "cmsgpack pack/unpack smoke test". */
static void test_smoke_as_redis(void **state)
{
    (void)state;
    lua_ok("local s30, s250 = string.rep('x', 30), string.rep('x', 250)\n"
           "local s65530, s100k = string.rep('x', 65530), string.rep('x', 100000)\n"
           "local big_a, big_m = {}, {}\n"
           "for i = 1, 100000 do big_a[i] = i; big_m[tostring(i)] = i end\n"
           "local map = {s1 = s30, s2 = s250, s3 = s65530, s4 = s100k, d1 = 0.1,\n"
           "  i1 = 1, i2 = 250, i3 = 65530, i4 = 100000, i5 = 2^40, i6 = -1, i7 = -120,\n"
           "  i8 = -32000, i9 = -100000, i10 = -3147483648, a1 = {1, 2, 3, 4, 5},\n"
           "  a2 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18},\n"
           "  a3 = big_a, m1 = {a = 1, b = 2}, m2 = big_m, b1 = false, b2 = true, n = nil}\n"
           "local enc = cmsgpack.pack(map)\n"
           "assert(eq(cmsgpack.unpack(enc), map))\n"
           "local off, one = cmsgpack.unpack_one(enc, 0)\n"
           "assert(eq(one, map) and off == -1)\n"
           "local multi = cmsgpack.pack(s30, s250, s65530, s100k)\n"
           "local o, v = cmsgpack.unpack_limit(multi, 1, 0)\n"
           "assert(v == s30 and o == 31)\n"
           "o, v = cmsgpack.unpack_limit(multi, 1, o)\n"
           "assert(v == s250)\n"
           "o, v = cmsgpack.unpack_limit(multi, 1, o)\n"
           "assert(v == s65530)\n"
           "o, v = cmsgpack.unpack_limit(multi, 1, o)\n"
           "assert(v == s100k and o == -1)");
}

static void test_unpack_offsets(void **state)
{
    (void)state;
    /* Results: the next 0-based offset (-1 at the end), then the values. */
    lua_eq("return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}, ',')", "1,1");
    lua_eq("return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}, ',')", "2,2");
    lua_eq("return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}, ',')", "-1,3");
    lua_eq("return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}, ',')", "-1");
    lua_eq("return table.concat({cmsgpack.unpack_one('')}, ',')", "-1");
    lua_eq("return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}, ',')", "2,1,2");
    lua_eq("return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}, ',')",
           "-1,2,3");
    lua_eq("return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 9, 1)}, ',')",
           "-1,2,3");
    /* Limit 0 with offset 0 means everything, without an offset. */
    lua_eq("return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}, ',')", "1,2,3");
    lua_eq("return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}, ',')", "1");
    /* Extra arguments do not show among the results. */
    lua_eq("return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2), 1, 1, 'x')}, ',')",
           "-1,2");
    lua_eq("return table.concat({cmsgpack.unpack(cmsgpack.pack(1, 2), 'x')}, ',')", "1,2");
    lua_err("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)",
            "Invalid request to unpack with offset of -1 and limit of 3.");
    lua_err("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1, 1)",
            "Invalid request to unpack with offset of 1 and limit of 3.");
    lua_err("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)",
            "Start offset 4 greater than input length 3.");
    lua_err("cmsgpack.unpack_one('x', 'y')",
            "bad argument #2 to 'unpack_one' (number expected, got string)");
    lua_err("cmsgpack.unpack_limit('x')",
            "bad argument #2 to 'unpack_limit' (number expected, got no value)");
    lua_err("cmsgpack.unpack()", "bad argument #1 to 'unpack' (string expected, got no value)");
}

static void test_unpack_hostile(void **state)
{
    (void)state;
    /* Every proper prefix of a valid encoding is missing bytes. */
    lua_ok("local s = cmsgpack.pack({a = {1, 2.5, 'xyz', {b = true}}, [3] = 0.1, c = -70000,\n"
           "  d = string.rep('q', 300), e = 2^40, f = -2^40, g = {[1] = false}})\n"
           "for n = 1, #s - 1 do\n"
           "  local ok, err = pcall(cmsgpack.unpack, s:sub(1, n))\n"
           "  assert(not ok and err:find('Missing bytes in input.', 1, true), n)\n"
           "end");
    /* Declared lengths far beyond the input. */
    lua_err("cmsgpack.unpack(unhex('dbffffffff61'))", "Missing bytes in input.");
    lua_err("cmsgpack.unpack(unhex('daffff61'))", "Missing bytes in input.");
    lua_err("cmsgpack.unpack(unhex('d9ff61'))", "Missing bytes in input.");
    lua_err("cmsgpack.unpack(unhex('ddffffffff01'))", "Missing bytes in input.");
    lua_err("cmsgpack.unpack(unhex('dfffffffff0101'))", "Missing bytes in input.");
    lua_err("cmsgpack.unpack(unhex('cb000000'))", "Missing bytes in input.");
    lua_err("cmsgpack.unpack_one(unhex('92 01'), 0)", "Missing bytes in input.");
    /* Types Redis's copy does not read: 0xc1, bin, ext, fixext. */
    const char *bad[] = {"c1",         "c4036162",   "c5000161", "c600000001", "c70101ff",
                         "c8000101ff", "c900000001", "d401ff",   "d5010000",   "d8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char code[128];
        snprintf(code, sizeof(code), "cmsgpack.unpack(unhex('%s'))", bad[i]);
        lua_err(code, "Bad data format in input.");
    }
    lua_err("cmsgpack.unpack(unhex('92 01 c1'))", "Bad data format in input.");
    /* Keys a Lua table cannot hold. */
    lua_err("cmsgpack.unpack(unhex('81 c0 01'))", "table index is nil");
    lua_err("cmsgpack.unpack(unhex('81 cb7ff8000000000000 01'))", "table index is NaN");
}

static void test_unpack_stack_limits(void **state)
{
    (void)state;
    /* About 8000 values at once fill the Lua stack, as in Redis. */
    lua_eq("return tostring(select('#', cmsgpack.unpack(string.rep('\\1', 7999))))", "7999");
    lua_err("cmsgpack.unpack(string.rep('\\1', 8000))",
            "stack overflow (too many return values at once; use unpack_one or unpack_limit "
            "instead.)");
    lua_err("cmsgpack.unpack_limit(string.rep('\\1', 7999), 9000)",
            "stack overflow (in function mp_unpack_full)");
    /* Nesting: arrays about 4000 deep, maps 8000; then an error, never a
     * crash. */
    lua_ok("local t = cmsgpack.unpack(string.rep('\\145', 3999) .. '\\1')\n"
           "for i = 1, 3999 do t = t[1] end\n"
           "assert(t == 1)");
    lua_err("cmsgpack.unpack(string.rep('\\145', 4000) .. '\\1')",
            "stack overflow (in function mp_decode_to_lua_array)");
    lua_err("cmsgpack.unpack(string.rep('\\145', 100000) .. '\\1')", "stack overflow");
    lua_err("cmsgpack.unpack(string.rep('\\129', 7998) .. '\\1')", "Missing bytes in input.");
    lua_err("cmsgpack.unpack(string.rep('\\129', 7999) .. '\\1')", "stack overflow");
    lua_err("cmsgpack.unpack(string.rep('\\129\\1', 100000))", "stack overflow");
}

/* Deterministic garbage: decoding must raise or succeed, nothing else (the
 * out-of-bounds part is valgrind's or ASan's to see). */
static void test_unpack_garbage(void **state)
{
    (void)state;
    lua_ok("local x = 12345\n"
           "local function rnd(n) x = (x * 1103515245 + 12345) % 2147483648 return x % n end\n"
           "local ok_count = 0\n"
           "for i = 1, 3000 do\n"
           "  local b = {}\n"
           "  for j = 1, rnd(24) + 1 do b[j] = string.char(rnd(256)) end\n"
           "  local s = table.concat(b)\n"
           "  if pcall(cmsgpack.unpack, s) then ok_count = ok_count + 1 end\n"
           "  pcall(cmsgpack.unpack_limit, s, rnd(3), rnd(#s + 1))\n"
           "  pcall(struct.unpack, s, s, rnd(4) + 1)\n"
           "  pcall(struct.unpack, 'c0 i3 s >d <f !4 h', s)\n"
           "end\n"
           "assert(ok_count > 100)");
}

/* ------------------------------------------------------------------------
 * struct
 * ------------------------------------------------------------------------ */

#define ALL_FORMATS "bBhHlLTiIfd"
#define ALL_VALUES "-1, 255, -2, 65535, -3, 4, 5, -6, 7, 1.5, 2.25"

static void test_struct_pack_formats(void **state)
{
    (void)state;
    lua_eq("return hex(struct.pack('<" ALL_FORMATS "', " ALL_VALUES "))",
           "fffffeffffff"
           "fdffffffffffffff0400000000000000"
           "0500000000000000"
           "faffffff07000000"
           "0000c03f0000000000000240");
    lua_eq("return hex(struct.pack('>" ALL_FORMATS "', " ALL_VALUES "))",
           "fffffffeffff"
           "fffffffffffffffd0000000000000004"
           "0000000000000005"
           "fffffffa00000007"
           "3fc000004002000000000000");
    /* '!' aligns each field to its size, at most 8 here. */
    lua_eq("return hex(struct.pack('!<" ALL_FORMATS "', " ALL_VALUES "))",
           "fffffeffffff0000"
           "fdffffffffffffff0400000000000000"
           "0500000000000000"
           "faffffff07000000"
           "0000c03f00000000"
           "0000000000000240");
    /* The default order is the machine's (little endian here). */
    lua_ok("assert(struct.pack('" ALL_FORMATS "', " ALL_VALUES ") ==\n"
           "  struct.pack('<" ALL_FORMATS "', " ALL_VALUES "))");
    lua_eq("return hex(struct.pack('!2 <b i b d', 1, 2, 3, 4))",
           "01000200000003000000000000001040");
    lua_eq("return hex(struct.pack('!8 >b i3 b i5', 1, 2, 3, 4))", "010000000002030000000004");
    lua_eq("return hex(struct.pack('x b x x h', 1, 2))", "000100000200");
    lua_eq("return hex(struct.pack('<  > i', 1))", "00000001");
    lua_eq("return hex(struct.pack(''))", "");
    /* A NUL byte ends the format. */
    lua_eq("return hex(struct.pack('<i\\0i', 1, 2))", "01000000");
}

static void test_struct_pack_integers(void **state)
{
    (void)state;
    lua_eq("return hex(struct.pack('<i1i2i3i4i5i6i7i8', -1, -2, -3, -4, -5, -6, -7, -8))",
           "ff"
           "feff"
           "fdffff"
           "fcffffff"
           "fbffffffff"
           "faffffffffff"
           "f9ffffffffffff"
           "f8ffffffffffffff");
    lua_eq("return hex(struct.pack('>i1i2i3', -1, 258, -3))", "ff"
                                                              "0102"
                                                              "fffffd");
    /* Wider than 8 bytes: zero bytes beyond the 8th. */
    lua_eq("return hex(struct.pack('<i9 >i16', -1, -2))", "ffffffffffffffff00"
                                                          "0000000000000000fffffffffffffffe");
    lua_eq("return hex(struct.pack('>I9', 1))", "000000000000000001");
    lua_eq("return hex(struct.pack('I0', 1))", "");
    /* Truncation toward zero and wrap-around, as the original's casts. */
    lua_eq("return hex(struct.pack('<i', 1.7)) .. hex(struct.pack('<i', -1.7))",
           "01000000ffffffff");
    lua_eq("return hex(struct.pack('<b', 300)) .. hex(struct.pack('<B', -1))", "2cff");
    lua_eq("return hex(struct.pack('<i', 2^32 + 5))", "05000000");
    lua_eq("return hex(struct.pack('<I8', 2^63)) .. ' ' .. hex(struct.pack('<i8', -2^63))",
           "0000000000000080 0000000000000080");
    /* Outside the 64-bit range: what Redis's casts give on x86-64. */
    lua_eq("return hex(struct.pack('>L', 0/0)) .. ' ' .. hex(struct.pack('>L', 1/0)) .. ' ' ..\n"
           "  hex(struct.pack('>L', -1/0)) .. ' ' .. hex(struct.pack('>L', 2^64 + 2^20)) ..\n"
           "  ' ' .. hex(struct.pack('>l', -1e300)) .. ' ' .. hex(struct.pack('>L', 2^63 + 2048))",
           "8000000000000000 0000000000000000 8000000000000000 0000000000000000 "
           "8000000000000000 8000000000000800");
    /* Numeric strings are numbers. */
    lua_eq("return hex(struct.pack('<i', '12'))", "0c000000");
}

static void test_struct_pack_floats_and_strings(void **state)
{
    (void)state;
    lua_eq("return hex(struct.pack('>f', 0.1)) .. ' ' .. hex(struct.pack('>d', 0.1))",
           "3dcccccd 3fb999999999999a");
    lua_eq("return hex(struct.pack('<f', 1e300)) .. hex(struct.pack('<f', -1e300))",
           "0000807f000080ff");
    lua_eq("return hex(struct.pack('>d', -0.0))", "8000000000000000");
    lua_eq("return hex(struct.pack('s', 'abc')) .. ' ' .. hex(struct.pack('s', ''))",
           "61626300 00");
    lua_eq("return hex(struct.pack('s', 'a\\0b'))", "61006200");
    lua_eq("return hex(struct.pack('c0', 'abc')) .. hex(struct.pack('c2', 'abc'))", "6162636162");
    lua_eq("return hex(struct.pack('c', 'abc')) .. hex(struct.pack('c0', ''))", "61");
    lua_eq("return hex(struct.pack('c0', 12))", "3132");
}

static void test_struct_unpack(void **state)
{
    (void)state;
    lua_eq("return table.concat({struct.unpack('<" ALL_FORMATS "',\n"
           "  struct.pack('<" ALL_FORMATS "', " ALL_VALUES "))}, ',')",
           "-1,255,-2,65535,-3,4,5,-6,7,1.5,2.25,51");
    lua_eq("return table.concat({struct.unpack('>" ALL_FORMATS "',\n"
           "  struct.pack('>" ALL_FORMATS "', " ALL_VALUES "))}, ',')",
           "-1,255,-2,65535,-3,4,5,-6,7,1.5,2.25,51");
    lua_eq("return table.concat({struct.unpack('!" ALL_FORMATS "',\n"
           "  struct.pack('!" ALL_FORMATS "', " ALL_VALUES "))}, ',')",
           "-1,255,-2,65535,-3,4,5,-6,7,1.5,2.25,57");
    lua_eq("local s = struct.pack('<i1i2i3i4i5i6i7i8', -1, -2, -3, -4, -5, -6, -7, -8)\n"
           "return table.concat({struct.unpack('<i1i2i3i4i5i6i7i8', s)}, ',')",
           "-1,-2,-3,-4,-5,-6,-7,-8,37");
    lua_eq("local s = struct.pack('>i1i2i3i4', -1, -2, -3, -4)\n"
           "return table.concat({struct.unpack('>I1I2I3I4', s)}, ',')",
           "255,65534,16777213,4294967292,11");
    lua_eq("return table.concat({struct.unpack('<I9I16', struct.pack('<I9I16', 1, 2))}, ',')",
           "1,2,26");
    lua_eq("return tostring(struct.unpack('<i16', unhex('ffffffffffffffff0000000000000000')))",
           "-1");
    lua_eq("return tostring(struct.unpack('<I8', unhex('ffffffffffffffff')) == 2^64)", "true");
    /* Signed and 9 to 15 bytes wide: sign bit (8n - 1) mod 64, as Redis. */
    lua_eq("return table.concat({struct.unpack('<i9 <i12 <i15 >i16', unhex(\n"
           "  '80ffffffffffffff00' .. '00000080000000000000ffff' ..\n"
           "  '0100000000000000ffffffffffffff' .. 'ffffffffffffffff7fffffffffffffff'))}, ',')",
           "-128,-2147483648,1,9.2233720368548e+18,53");
    /* 'c0' after a length of 2^64 reads nothing, as Redis does. */
    lua_eq("return table.concat({struct.unpack('d c0', struct.pack('d', 2^64) .. 'abc')}, ',')",
           ",9");
    lua_eq("return table.concat({struct.unpack('>f <d', struct.pack('>f <d', 0.5, 0.1))}, ',')",
           "0.5,0.1,13");
    /* Strings: 's' up to a NUL; 'c0' takes its length from the number
     * just unpacked and replaces it. */
    lua_eq("return table.concat({struct.unpack('s s', 'abc\\0de\\0f')}, ',')", "abc,de,8");
    lua_eq("return table.concat({struct.unpack('b c0', '\\3abcd')}, ',')", "abc,5");
    lua_eq("return table.concat({struct.unpack('c1 c0', '3abcd')}, ',')", "abc,5");
    lua_eq("return table.concat({struct.unpack('c2 x c', 'abcd')}, ',')", "ab,d,5");
    /* The start position is 1-based; the last result is the next one. */
    lua_eq("return table.concat({struct.unpack('c', 'abc', 3)}, ',')", "c,4");
    lua_eq("return table.concat({struct.unpack('!4 b i', 'a\\0\\0\\0\\1\\0\\0\\0')}, ',')",
           "97,1,9");
    lua_eq("return table.concat({struct.unpack('!8 d', string.rep('\\0', 16), 2)}, ',')", "0,17");
    lua_eq("return tostring(struct.unpack('', 'abc', 9))", "9");
    lua_eq("return tostring(struct.unpack('i0', 'ab'))", "0");
}

static void test_struct_size(void **state)
{
    (void)state;
    lua_eq("return table.concat({struct.size('" ALL_FORMATS "'), struct.size('!" ALL_FORMATS "'),\n"
           "  struct.size('!4 b i b d b h'), struct.size('!8 b i3 b i5'), struct.size('<>'),\n"
           "  struct.size('c'), struct.size('c10'), struct.size('x'), struct.size('')}, ',')",
           "50,56,24,12,0,1,10,1,0");
    /* Unknown letters and digits count as nothing in size (not in pack). */
    lua_eq("return table.concat({struct.size('z'), struct.size('5'), struct.size('bzb')}, ',')",
           "0,0,2");
    lua_err("struct.size('s')", "bad argument #1 to 'size' (option 's' has no fixed size)");
    lua_err("struct.size('c0')", "bad argument #1 to 'size' (option 'c0' has no fixed size)");
    lua_err("struct.size('@')", "bad argument #1 to 'size' (invalid format option '@')");
}

static void test_struct_errors(void **state)
{
    (void)state;
    lua_err("struct.pack('z', 1)", "bad argument #1 to 'pack' (invalid format option 'z')");
    lua_err("struct.pack('b5', 1)", "invalid format option '5'");
    lua_err("struct.pack('!3', 1)", "alignment 3 is not a power of 2");
    lua_err("struct.pack('!0', 1)", "alignment 0 is not a power of 2");
    lua_err("struct.pack('i33', 1)", "integral size 33 is larger than limit of 32");
    lua_err("struct.size('i33')", "integral size 33 is larger than limit of 32");
    lua_err("struct.pack('i99999999999', 1)", "integral size overflow");
    lua_err("struct.pack('c99999999999', 'a')", "integral size overflow");
    lua_err("struct.pack('i', 'x')", "bad argument #2 to 'pack' (number expected, got string)");
    lua_err("struct.pack('i')", "bad argument #2 to 'pack' (number expected, got nil)");
    /* As the original, the argument after the short string is named. */
    lua_err("struct.pack('b c5', 1, 'abc')", "bad argument #4 to 'pack' (string too short)");
    lua_err("struct.pack()", "bad argument #1 to 'pack' (string expected, got no value)");
    lua_err("struct.unpack('b')", "bad argument #2 to 'unpack' (string expected, got no value)");
    lua_err("struct.unpack('b', '')", "bad argument #2 to 'unpack' (data string too short)");
    lua_err("struct.unpack('i', 'abc')", "data string too short");
    lua_err("struct.unpack('!4 b i', 'a\\0\\0\\0\\1\\0\\0')", "data string too short");
    lua_err("struct.unpack('c', 'abc', 4)", "data string too short");
    lua_err("struct.unpack('<', 'abc', 5)", "data string too short");
    lua_err("struct.unpack('b', 'abc', -1)", "data string too short");
    lua_err("struct.unpack('b c0', '\\9abcd')", "data string too short");
    lua_err("struct.unpack('b c0', '\\255abcd')", "data string too short");
    lua_err("struct.unpack('c0', 'abc')", "format 'c0' needs a previous size");
    lua_err("struct.unpack('c1 c0', 'xabcd')", "format 'c0' needs a previous size");
    lua_err("struct.unpack('s', 'abc')", "unfinished string in data");
    lua_err("struct.unpack('s', 'abc\\0', 5)", "unfinished string in data");
    lua_err("struct.unpack('b', 'abc', 0)",
            "bad argument #3 to 'unpack' (offset must be 1 or greater)");
    lua_err("struct.unpack('i', 'abcd', 'x')",
            "bad argument #3 to 'unpack' (number expected, got string)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_sets_globals),
        cmocka_unit_test(test_pack_integers),
        cmocka_unit_test(test_pack_floats),
        cmocka_unit_test(test_pack_strings),
        cmocka_unit_test(test_pack_other_values),
        cmocka_unit_test(test_pack_tables),
        cmocka_unit_test(test_pack_nesting_limit),
        cmocka_unit_test(test_pack_circular_as_redis),
        cmocka_unit_test(test_round_trip_numbers),
        cmocka_unit_test(test_unpack_every_type),
        cmocka_unit_test(test_round_trip_tables),
        cmocka_unit_test(test_smoke_as_redis),
        cmocka_unit_test(test_unpack_offsets),
        cmocka_unit_test(test_unpack_hostile),
        cmocka_unit_test(test_unpack_stack_limits),
        cmocka_unit_test(test_unpack_garbage),
        cmocka_unit_test(test_struct_pack_formats),
        cmocka_unit_test(test_struct_pack_integers),
        cmocka_unit_test(test_struct_pack_floats_and_strings),
        cmocka_unit_test(test_struct_unpack),
        cmocka_unit_test(test_struct_size),
        cmocka_unit_test(test_struct_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
