/*
 * tests/unit/test_script_match.c - the scripts' pattern matching
 * (src/script/script_match.c): string.find, match, gmatch and gsub as Lua 5.1
 * answers them, and a match that the run's budget stops.
 *
 * The differential test runs Lua 5.1's own functions and ours side by
 * side in one plain Lua state (no engine: nothing charged, as stock) on a
 * few thousand generated cases, from a fixed seed: patterns of up to 8
 * items from the pattern grammar (malformed ones included) on subjects of
 * up to 24 characters from a small alphabet, so that matches happen and
 * Lua's backtracking stays cheap. Results (type and value of each) and
 * error messages must be the same.
 *
 * What a user would notice if these failed: a script whose string
 * functions answer differently than on Redis, or one pattern that holds a
 * node (and every replica) for hours where it must fail on its budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lualib.h>

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "script/script.h"
#include "script/script_int.h"
#include "cmd_fixture.h"
#include "script_fixture.h"
#include "types/typetable.h"

/* Called with S (Lua's functions) and M (ours), and the number of cases;
 * returns the number of cases run, of mismatches, and a description of
 * the first few. */
static const char harness[] =
    "local S, M, cases = ...\n"
    "local seed = 20261128\n"
    "local function rnd(n) seed = (seed * 16807) % 2147483647 return seed % n + 1 end\n"
    "local function pick(t) return t[rnd(#t)] end\n"
    "local alpha = {'a','a','a','b','b','c',' ','(',')','1','A','.','-','%','_','[',']',\n"
    "  '^','$','\\0','\\n'}\n"
    "local singles = {'a','a','b','b','c','.','%a','%d','%s','%w','%l','%u','%p','%x',\n"
    "  '%c','%z','%A','%S','%W','%D','%.','%%','%(','%)','%[','%-','%q','%Z',\n"
    "  '[ab]','[^a]','[a-c]','[%a_]','[]]','[^]a]','[a-]','[-a]','[%]]','[%d%s]',\n"
    "  '[%a-z]','[b-a]','[^%s]',' ','1','-','$','^','*','?','+',']'}\n"
    "local quants = {'','','','*','+','-','?'}\n"
    "local others = {'()','%bab','%b()','%f[%a]','%f[^a]','%f[ab]','%f[%z]','%fa',\n"
    "  '%1','%2','%0','%9','%1','%b'}\n"
    "local broken = {'%','[a','[^','[%','%ba','(',')','[a%]','%f'}\n"
    "local function item(depth)\n"
    "  local r = rnd(100)\n"
    "  if r <= 66 then return pick(singles) .. pick(quants) end\n"
    "  if r <= 80 and depth < 2 then\n"
    "    local s = '('\n"
    "    for i = 1, rnd(3) - 1 do s = s .. item(depth + 1) end\n"
    "    return s .. ')'\n"
    "  end\n"
    "  if r <= 94 then return pick(others) end\n"
    "  return pick(broken)\n"
    "end\n"
    "local function pattern()\n"
    "  local p = rnd(5) == 1 and '^' or ''\n"
    "  for i = 1, rnd(8) - 1 do p = p .. item(0) end\n"
    "  if rnd(5) == 1 then p = p .. '$' end\n"
    "  return p\n"
    "end\n"
    "local function subject()\n"
    "  local t = {}\n"
    "  for i = 1, rnd(25) - 1 do t[i] = pick(alpha) end\n"
    "  return table.concat(t)\n"
    "end\n"
    "local function ser(ok, ...)\n"
    "  local out = {ok and 'ok' or 'err'}\n"
    "  for i = 1, select('#', ...) do\n"
    "    local v = select(i, ...)\n"
    "    out[#out + 1] = type(v) .. ':' ..\n"
    "      (type(v) == 'number' and string.format('%.17g', v) or tostring(v))\n"
    "  end\n"
    "  return table.concat(out, '|')\n"
    "end\n"
    "local function collect(lib, s, p)\n"
    "  local out, it = {}, lib.gmatch(s, p)\n"
    "  for n = 1, 100 do\n"
    "    local r = ser(true, it())\n"
    "    out[n] = r\n"
    "    if r == 'ok' then break end\n"
    "  end\n"
    "  return table.concat(out, ';')\n"
    "end\n"
    "local repl_t = {a = 'X', b = false, [''] = 'E', c = {}, [1] = 'one', ['('] = 7}\n"
    "local function repl_f(mode)\n"
    "  return function(...)\n"
    "    local a = ...\n"
    "    if mode == 1 then return select('#', ...) .. '<' .. tostring(a) .. '>' end\n"
    "    if mode == 2 and a == 'a' then return nil end\n"
    "    if mode == 2 and a == 'b' then return false end\n"
    "    if mode == 3 and a == 'c' then return {} end\n"
    "    if mode == 4 then return 42 end\n"
    "    return '[' .. tostring(a) .. ']'\n"
    "  end\n"
    "end\n"
    "local function repl_s()\n"
    "  local s = ''\n"
    "  for i = 1, rnd(4) - 1 do\n"
    "    s = s .. pick({'x','%0','%1','%2','%%','%a','-','%1%2','y'})\n"
    "  end\n"
    "  if rnd(10) == 1 then s = s .. '%' end\n"
    "  return s\n"
    "end\n"
    "local inits = {1, 0, -1, -3, 2, 5, 30, -30, 2.7, '2', 'x'}\n"
    "local function repl()\n"
    "  local r = rnd(20)\n"
    "  if r <= 11 then return repl_s() end\n"
    "  if r <= 14 then return repl_t end\n"
    "  if r <= 18 then return repl_f(rnd(4)) end\n"
    "  if r == 19 then return 7 end\n"
    "  return true\n"
    "end\n"
    "local run, bad, notes, kinds = 0, 0, {}, {}\n"
    "local function cmp(what, f)\n"
    "  run = run + 1\n"
    "  local a, b = f(S), f(M)\n"
    "  local kind = a:match('^err|string:(.*)$') or (a == 'ok|nil:nil' and 'no match' or "
    "'results')\n"
    "  kinds[kind] = (kinds[kind] or 0) + 1\n"
    "  if a ~= b then\n"
    "    bad = bad + 1\n"
    "    if #notes < 8 then notes[#notes + 1] = what .. '\\n  stock: ' .. a .. '\\n  ours:  ' .. b "
    "end\n"
    "  end\n"
    "end\n"
    "for c = 1, cases do\n"
    "  local s, p = subject(), pattern()\n"
    "  local init = rnd(3) == 1 and pick(inits) or nil\n"
    "  local plain = ({nil, true, false})[rnd(3)]\n"
    "  local what = string.format('%q %q', s, p)\n"
    "  cmp('find ' .. what .. ' ' .. tostring(init) .. ' ' .. tostring(plain),\n"
    "      function(L) return ser(pcall(L.find, s, p, init, plain)) end)\n"
    "  cmp('match ' .. what .. ' ' .. tostring(init),\n"
    "      function(L) return ser(pcall(L.match, s, p, init)) end)\n"
    "  cmp('gmatch ' .. what, function(L) return ser(pcall(collect, L, s, p)) end)\n"
    "  local r, n = repl(), ({nil, nil, 0, 1, 2, -1, 1.5})[rnd(7)]\n"
    "  cmp('gsub ' .. what .. ' ' .. tostring(r) .. ' ' .. tostring(n),\n"
    "      function(L) return ser(pcall(L.gsub, s, p, r, n)) end)\n"
    "end\n"
    "local k = {} for n, c in pairs(kinds) do k[#k + 1] = string.format('%6d %s', c, n) end\n"
    "table.sort(k)\n"
    "return run, bad, table.concat(notes, '\\n'), table.concat(k, '\\n')\n";

/* A plain Lua state with S = Lua's string functions and M = ours. */
static lua_State *two_libs(void)
{
    static const char *const names[] = {"find", "match", "gmatch", "gsub", "gfind"};
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    luaL_openlibs(L);
    for (int lib = 0; lib < 2; lib++) {
        if (lib == 1) script_match_install(L);
        lua_newtable(L);
        lua_getglobal(L, "string");
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            lua_getfield(L, -1, names[i]);
            lua_setfield(L, -3, names[i]);
        }
        lua_pop(L, 1);
        lua_setglobal(L, lib == 0 ? "S" : "M");
    }
    return L;
}

static void test_differential(void **state)
{
    (void)state;
    lua_State *L = two_libs();
    assert_int_equal(luaL_loadbuffer(L, harness, sizeof harness - 1, "=harness"), 0);
    lua_getglobal(L, "S");
    lua_getglobal(L, "M");
    lua_pushinteger(L, 5000);
    if (lua_pcall(L, 3, 4, 0) != 0) fail_msg("harness: %s", lua_tostring(L, -1));
    lua_Integer cases = lua_tointeger(L, -4), bad = lua_tointeger(L, -3);
    printf("differential: %ld calls compared, %ld differ; stock's outcomes:\n%s\n", (long)cases,
           (long)bad, lua_tostring(L, -1));
    if (bad) fail_msg("%ld of %ld differ:\n%s", (long)bad, (long)cases, lua_tostring(L, -2));
    assert_true(cases >= 20000);
    lua_close(L);
}

/* Runs code in a state with ours installed; it must return the string want. */
static void expect(const char *code, const char *want)
{
    lua_State *L = two_libs();
    if (luaL_dostring(L, code) != 0) fail_msg("%s\n  raised: %s", code, lua_tostring(L, -1));
    if (!lua_isstring(L, -1) || strcmp(lua_tostring(L, -1), want) != 0)
        fail_msg("%s\n  returned %s, want %s", code, lua_tostring(L, -1), want);
    lua_close(L);
}

/* Method calls on strings reach ours (the string metatable's __index is
 * the string table), gfind too; and a few hand-picked cases. */
static void test_cases(void **state)
{
    (void)state;
    expect("return tostring(('x').find == M.find and ('x').gsub == M.gsub and "
           "string.gfind ~= S.gfind and ('x').match ~= S.match)",
           "true");
    expect("return table.concat({('hello world'):find('o w')}, ',')", "5,7");
    expect("return table.concat({('hello world'):find('o', 6)}, ',')", "8,8");
    expect("return table.concat({string.find('a.b', '.', 1, true)}, ',')", "2,2");
    expect("return table.concat({string.match('key=val', '(%w+)=(%w+)')}, ',')", "key,val");
    expect("return table.concat({string.match('  x', '()x()')}, ',')", "3,4");
    expect("local t = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do "
           "t[#t + 1] = k .. v end return table.concat(t, ',')",
           "a1,b2");
    expect("return table.concat({string.gsub('hello world', '(o)', '[%1]')}, ',')",
           "hell[o] w[o]rld,2");
    expect("return table.concat({string.gsub('abc', '%w', '%0%0', 2)}, ',')", "aabbc,2");
    expect("return (string.gsub('THE (quick) fox', '%f[%a]%a+', string.lower))", "the (quick) fox");
    expect("return (string.gsub('f(a(b)c) g(d)', '%b()', '<>'))", "f<> g<>");
    expect("return select(2, pcall(string.find, 'a', '%'))", "malformed pattern (ends with '%')");
    expect("return select(2, pcall(string.find, 'a', '[a'))", "malformed pattern (missing ']')");
    expect("return select(2, pcall(string.gsub, 'a', '(a)', '%2'))", "invalid capture index");
    expect("return select(2, pcall(string.find, 'a', string.rep('()', 33)))", "too many captures");
    /* 5.1 would recurse 300 levels; we stop at 200, as 5.2 does */
    expect("return select(2, pcall(string.find, string.rep('a', 300), string.rep('a?', 300)))",
           "pattern too complex");
    expect("return (string.find(string.rep('a', 190), string.rep('a?', 190) .. '$'))", "1");
}

/* Runs body as an applied EVAL (no keys, no arguments); the reply,
 * NUL-terminated, copied into out. */
static void eval_applied(struct sfx *s, const char *body, char *out, size_t cap)
{
    snprintf(out, cap, "%s", eval_on(s->e, s->f, body, 1, 5, NULL, NULL));
}

/* Backtracking that would run for hours ends on the budget, at the same
 * point on two engines (the same reply, the same keys written before). */
static void test_budget_stops_match(void **state)
{
    struct sfx *s = *state;
    struct sfx *other;
    s_setup((void **)&other);
    script_set_budget(s->e, 2000000);
    script_set_budget(other->e, 2000000);
    static const char *const bodies[] = {
        "return string.find(string.rep('a', 28), string.rep('a*', 28) .. 'b')",
        "redis.call('set', 'k', 1) local n = 0 "
        "for w in string.rep('a', 100000):gmatch('a-b') do n = n + 1 end return n",
        "return (string.gsub(string.rep('(', 50000), '%b()', ''))",
        "local s = string.rep('a', 20) .. 'c' local n = 0 while true do "
        "n = n + 1 redis.call('set', 'n', n) s:find('a*a*a*b') end",
    };
    char a[512], b[512];
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        eval_applied(s, bodies[i], a, sizeof a);
        eval_applied(other, bodies[i], b, sizeof b);
        assert_string_equal(a, b);
        if (!strstr(a, "exceeded its budget")) fail_msg("%s\n  replied %s", bodies[i], a);
    }
    assert_string_equal(run(s->f, "GET n"), run(other->f, "GET n"));
    /* ordinary work under the same budget is untouched */
    eval_applied(s,
                 "local s = string.rep('abc ', 10000) local n = 0 "
                 "for w in s:gmatch('%a+') do n = n + 1 end "
                 "return {n, (s:gsub('b', 'x')):sub(1, 8), s:find('c a', 1, true)}",
                 a, sizeof a);
    assert_string_equal(a, "*4\r\n:10000\r\n$8\r\naxc axc \r\n:3\r\n:5\r\n");
    s_teardown((void **)&other);
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_cases),
        cmocka_unit_test_setup_teardown(test_budget_stops_match, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
