/*
 * tests/unit/test_script.c - the scripting engine (src/script/script.h) on a
 * keyspace of its own: SHA-1, shebang flags, the reply conversions both
 * ways (RESP2 and RESP3), redis.call against the keyspace, the sandbox,
 * the replicated cache (a read never adds to it), and determinism: the
 * same script with the same entry seed writes and answers the same on two
 * engines, budget failures included.
 *
 * What a user would notice if these failed: replicas that diverge after a
 * script (different random numbers, a budget that stops at different
 * points), scripts that read or change each other's globals, a script
 * cache that differs between nodes, replies that differ from Redis's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "script/script.h"
#include "cmd_fixture.h"
#include "script_fixture.h"
#include "servercmd/cmdtable.h"

static const char *eval(struct sfx *s, const char *body)
{
    return eval_on(s->e, s->f, body, 1, 7, NULL, NULL);
}

static void test_sha1(void **state)
{
    (void)state;
    char hex[SHA1_HEX_LEN + 1];
    sha1_hex("", 0, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex("Pizza & Mandolino", 17, hex);
    assert_string_equal(hex, "74822d82031af7493c20eefa13bd07ec4fada82f");
    char block[200];
    memset(block, 'a', sizeof block); /* several blocks, padding into a new one */
    sha1_hex(block, 56, hex);
    assert_string_equal(hex, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    sha1_hex(block, 200, hex);
    assert_string_equal(hex, "e61cfffe0d9195a525fc6cf06ca2d77119c24a40");
}

static void test_shebang(void **state)
{
    (void)state;
    uint32_t flags;
    size_t skip;
    char err[128];
    assert_int_equal(script_parse_shebang("return 1", 8, &flags, &skip, err, sizeof err), 0);
    assert_int_equal(flags, SCRIPT_FLAG_EVAL_COMPAT);
    const char *b = "#!lua flags=no-writes,allow-oom\nreturn 1";
    assert_int_equal(script_parse_shebang(b, strlen(b), &flags, &skip, err, sizeof err), 0);
    assert_int_equal(flags, SCRIPT_FLAG_NO_WRITES | SCRIPT_FLAG_ALLOW_OOM);
    assert_int_equal(skip, 31); /* the newline stays: line numbers hold */
    b = "#!lua flags=no-writes,bogus\n";
    assert_int_equal(script_parse_shebang(b, strlen(b), &flags, &skip, err, sizeof err), -1);
    assert_string_equal(err, "ERR Unexpected flag in script shebang: bogus");
    b = "#!lua name=x\n";
    assert_int_equal(script_parse_shebang(b, strlen(b), &flags, &skip, err, sizeof err), -1);
    assert_string_equal(err, "ERR Unknown lua shebang option: name=x");
    b = "#!tcl\n";
    assert_int_equal(script_parse_shebang(b, strlen(b), &flags, &skip, err, sizeof err), -1);
    assert_string_equal(err, "ERR Unexpected engine in script shebang: #!tcl");
}

static void test_lua_to_reply(void **state)
{
    struct sfx *s = *state;
    assert_string_equal(eval(s, "return {1, 'a', {ok='fine'}, false, true, 3.9, -2.5}"),
                        "*7\r\n:1\r\n$1\r\na\r\n+fine\r\n$-1\r\n:1\r\n:3\r\n:-2\r\n");
    assert_string_equal(eval(s, "return {1, nil, 2}"), "*1\r\n:1\r\n");
    assert_string_equal(eval(s, "return {err='MY code\\r\\nx'}"), "-MY code  x\r\n");
    assert_string_equal(eval(s, "return redis.error_reply('boom')"), "-ERR boom\r\n");
    assert_string_equal(eval(s, "return {double=1.5}"), "$3\r\n1.5\r\n");
    assert_string_equal(eval(s, "return nil"), "$-1\r\n");
    assert_string_equal(eval(s, "return 1e300"), ":9223372036854775807\r\n");
    s->f->out.proto = 3;
    assert_string_equal(eval(s, "redis.setresp(3); return {true, false, {double=0.5}}"),
                        "*3\r\n#t\r\n#f\r\n,0.5\r\n");
    assert_string_equal(eval(s, "return {map={a=1}}"), "%1\r\n$1\r\na\r\n:1\r\n");
    assert_string_equal(eval(s, "return {set={x=true}}"), "~1\r\n$1\r\nx\r\n");
    assert_string_equal(eval(s, "return {big_number='123'}"), "(123\r\n");
    s->f->out.proto = 2;
}

static void test_reply_to_lua(void **state)
{
    struct sfx *s = *state;
    assert_string_equal(eval(s, "return redis.call('set', 'k', 'v')"), "+OK\r\n");
    assert_string_equal(eval(s, "return redis.call('get', 'k')"), "$1\r\nv\r\n");
    assert_string_equal(eval(s, "return redis.call('get', 'nokey') == false"), ":1\r\n");
    assert_string_equal(eval(s, "return type(redis.call('set', 'k', 'w'))"), "$5\r\ntable\r\n");
    assert_string_equal(eval(s, "redis.call('hset', 'h', 'f', 'x'); "
                                "redis.setresp(3); local m = redis.call('hgetall', 'h'); "
                                "return m['map']['f']"),
                        "$1\r\nx\r\n");
    assert_string_equal(eval(s, "redis.setresp(3); return redis.call('get', 'nokey') == nil"),
                        ":1\r\n");
    assert_string_equal(eval(s, "return redis.pcall('incr', 'h')['err']"),
                        "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value"
                        "\r\n");
    const char *r = eval(s, "return redis.call('incr', 'h')");
    assert_non_null(strstr(r, "-WRONGTYPE Operation against a key holding the wrong kind of "
                              "value script: "));
    assert_non_null(strstr(r, ", on @user_script:1.\r\n"));
    assert_non_null(strstr(eval(s, "return redis.call('eval', 'return 1', 0)"),
                           "This Redis command is not allowed from script"));
    assert_non_null(strstr(eval(s, "return redis.call('blpop', 'l', 0)"),
                           "This Redis command is not allowed from script"));
}

static void test_sandbox(void **state)
{
    struct sfx *s = *state;
    const char *refused[] = {"x = 1",
                             "setmetatable(_G, {})",
                             "getmetatable(_G).__index = {}",
                             "redis.call = nil",
                             "string.len = nil",
                             "rawset(_G, 'x', 1)",
                             "getmetatable('').__index = {}",
                             "cmsgpack.pack = nil"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (!strstr(eval(s, refused[i]), "Attempt to modify a readonly table"))
            fail_msg("not refused: %s -> %s", refused[i], s->f->out.data);
    assert_non_null(strstr(eval(s, "return os"), "nonexistent global variable 'os'"));
    assert_non_null(strstr(eval(s, "return loadstring(string.dump(function() end))()"),
                           "attempt to call a nil value"));
    assert_string_equal(eval(s, "return loadstring('return 5')()"), ":5\r\n");
    assert_non_null(
        strstr(eval(s, "return unpack({}, -2147483648, 2147483647)"), "too many results"));
    assert_string_equal(eval(s, "return bit.tohex(65535, -2147483648)"), "$8\r\n0000FFFF\r\n");
    /* pcall cannot smuggle a global either */
    assert_non_null(strstr(eval(s, "local ok, e = pcall(function() y = 1 end) return e"),
                           "Attempt to modify a readonly table"));
}

/* A reply past a limit is one error, with nothing of it before. */
static void test_reply_limits(void **state)
{
    struct sfx *s = *state;
    assert_string_equal(eval(s, "local t = {} t[1] = {t} t[2] = t return t"),
                        "-ERR reached lua stack limit\r\n");
    assert_string_equal(eval(s, "local t = {} for i = 1, 1001 do t = {t} end return t"),
                        "-ERR reached lua stack limit\r\n");
    const char *r = eval(s, "local t = {} for i = 1, 999 do t = {t} end return t");
    assert_int_equal(strncmp(r, "*1\r\n*1\r\n", 8), 0);
    assert_string_equal(eval(s, "local t = {} for i = 1, 60 do t = {t, t} end return t"),
                        "-ERR script reply too large\r\n");
    assert_string_equal(eval(s, "local t = {} t.map = {a = t} return t"),
                        "-ERR reached lua stack limit\r\n");
}

/* Library calls whose work grows with an argument, refused up front. */
static void test_call_bounds(void **state)
{
    struct sfx *s = *state;
    assert_non_null(strstr(eval(s, "return table.insert({}, -2147483648, 1)"),
                           "bad argument #2 to 'insert' (position out of bounds)"));
    assert_non_null(strstr(eval(s, "return table.insert({1}, 3, 1)"), "position out of bounds"));
    assert_string_equal(eval(s, "local t = {1} table.insert(t, 2, 'x') table.insert(t, 1, 'y') "
                                "table.insert(t, 'z') return t"),
                        "*4\r\n$1\r\ny\r\n:1\r\n$1\r\nx\r\n$1\r\nz\r\n");
    assert_non_null(strstr(eval(s, "return string.rep('x', 2^31)"), "resulting string too large"));
    assert_string_equal(eval(s, "return string.rep('ab', 2)"), "$4\r\nabab\r\n");
    /* a binary chunk is refused as EVAL's body as Redis 7.0 refuses it */
    assert_string_equal(eval(s, "\x1bLuaQ"),
                        "-ERR Error compiling script (new function): "
                        "user_script:1: unexpected symbol near 'char(27)'\r\n");
}

/* Strings built count toward the budget by their length, whether or not
 * the engine still holds an equal string: `s = s .. 'x'` in a loop ends
 * after about 8000 turns of a 2M budget (330000 by instructions alone,
 * quadratic in bytes copied), at the same turn on an engine whose heap
 * holds every one of those strings already. */
static void test_string_budget(void **state)
{
    struct sfx *s = *state;
    struct sfx *other;
    s_setup((void **)&other);
    script_set_budget(s->e, 2000000);
    script_set_budget(other->e, 2000000);
    eval_on(other->e, other->f,
            "local t, s = {}, '' for i = 1, 20000 do s = s .. 'x' t[i] = s end "
            "redis.call('set', 'held', #t) return 1",
            1, 1, NULL, NULL);
    const char *body = "local s, n = '', 0 while true do s = s .. 'x' n = n + 1 "
                       "if n % 100 == 0 then redis.call('set', KEYS[1], n) end end";
    const char *keys[] = {"n", NULL};
    char a[512], b[512];
    snprintf(a, sizeof a, "%s", eval_on(s->e, s->f, body, 1, 3, keys, NULL));
    snprintf(b, sizeof b, "%s", eval_on(other->e, other->f, body, 1, 3, keys, NULL));
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "every 16 bytes of string built count as one"));
    snprintf(a, sizeof a, "%s", run(s->f, "GET n"));
    snprintf(b, sizeof b, "%s", run(other->f, "GET n"));
    assert_string_equal(a, b);
    long turns = strtol(strchr(a, '\n') + 1, NULL, 10);
    assert_true(turns > 1000 && turns < 20000);
    /* one instruction that copies 64 MB at a turn ends at the next one */
    assert_non_null(strstr(eval(s, "local s = string.rep('x', 2^26) local n = 0 "
                                   "while true do local t = s .. 'y' n = n + 1 end"),
                           "exceeded its budget"));
    s_teardown((void **)&other);
}

/* Library calls whose work grows with their arguments are charged for it:
 * each loop below does seconds to minutes of work per 2M instructions
 * without the charge, and ends on the budget with it. */
static void test_call_charges(void **state)
{
    struct sfx *s = *state;
    script_set_budget(s->e, 2000000);
    static const char *const loops[] = {
        "local t = {} for i = 1, 10000 do t[i] = i end while true do table.sort(t) end",
        "local t = {} for i = 1, 10000 do t[i] = '' end while true do table.concat(t) end",
        "while true do string.rep('', 1000000) end",
        "local s = '[' .. string.rep('0,', 100000) .. '0]' while true do cjson.decode(s) end",
        "local s = cmsgpack.pack(string.rep('x', 100000)) while true do cmsgpack.unpack(s) end",
        ("local t = {} for i = 1, 10000 do t[i] = i end "
         "while true do table.insert(t, 1, 0) table.remove(t, 1) end"),
    };
    for (size_t i = 0; i < sizeof loops / sizeof *loops; i++)
        assert_non_null(strstr(eval(s, loops[i]), "exceeded its budget"));
    assert_string_equal(eval(s, "local t = {3, 1, 2} table.sort(t) table.remove(t, 1) "
                                "return table.concat(t, ',') .. cjson.decode('[7]')[1]"),
                        "$4\r\n2,37\r\n");
}

static void test_cache_changes_only_when_applied(void **state)
{
    struct sfx *s = *state;
    char sha[SHA1_HEX_LEN + 1];
    const char *body = "return 'cached'";
    sha1_hex(body, strlen(body), sha);
    eval_on(s->e, s->f, body, 0, 1, NULL, NULL); /* a read: compiled for one run */
    assert_string_equal(s->f->out.data, "$6\r\ncached\r\n");
    assert_false(script_cache_has(s->e, sha, SHA1_HEX_LEN, NULL));
    eval_on(s->e, s->f, body, 1, 1, NULL, NULL);
    assert_true(script_cache_has(s->e, sha, SHA1_HEX_LEN, NULL));
    for (char *p = sha; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
    assert_true(script_cache_has(s->e, sha, SHA1_HEX_LEN, NULL));
    assert_int_equal(script_cache_count(s->e), 1);
    resp_out_clear(&s->f->out);
    assert_int_equal(script_cache_add(s->e, "return +", 8, sha, &s->f->out), -1);
    assert_non_null(strstr(s->f->out.data, "Error compiling script (new function)"));
    script_cache_flush(s->e);
    assert_int_equal(script_cache_count(s->e), 0);
}

/* Two engines (two replicas) run the same script with the same entry seed:
 * the same writes, the same reply, the budget failure at the same point. */
static void test_replicas_agree(void **state)
{
    struct sfx *s = *state;
    struct sfx *other;
    s_setup((void **)&other);
    const char *body = "for i = 1, 5 do redis.call('rpush', KEYS[1], tostring(math.random())) end "
                       "redis.call('set', KEYS[2], redis.call('time')[1]) "
                       "local n = 0 while true do n = n + 1 redis.call('set', KEYS[3], n) end";
    const char *keys[] = {"l", "t", "n", NULL};
    script_set_budget(s->e, 2000000);
    script_set_budget(other->e, 2000000);
    char a[512], b[512];
    snprintf(a, sizeof a, "%s", eval_on(s->e, s->f, body, 1, 99, keys, NULL));
    snprintf(b, sizeof b, "%s", eval_on(other->e, other->f, body, 1, 99, keys, NULL));
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "Script exceeded its budget of 2000000 Lua instructions"));
    const char *reads[] = {"LRANGE l 0 -1", "GET t", "GET n"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "%s", run(s->f, reads[i]));
        snprintf(b, sizeof b, "%s", run(other->f, reads[i]));
        assert_string_equal(a, b);
    }
    assert_string_equal(run(s->f, "GET t"), "$10\r\n1700000000\r\n"); /* the entry's clock */
    /* another seed draws other numbers */
    snprintf(a, sizeof a, "%s", eval_on(s->e, s->f, "return tostring(math.random())", 1, 1, 0, 0));
    snprintf(b, sizeof b, "%s", eval_on(s->e, s->f, "return tostring(math.random())", 1, 2, 0, 0));
    assert_string_not_equal(a, b);
    s_teardown((void **)&other);
}

/* A run that may write shows no address: tostring() numbers what it shows
 * in order, the same on two engines (two replicas). */
static void test_determ_tostring(void **state)
{
    struct sfx *s = *state;
    const char *body = "local t = {} return tostring(t) .. ',' .. tostring(t) .. ',' .. "
                       "tostring(function() end) .. ',' .. tostring(coroutine.create("
                       "function() end)) .. ',' .. tostring(setmetatable({}, {__tostring = "
                       "function() return 'mine' end}))";
    assert_string_equal(eval(s, body), "$80\r\ntable: 0x00000001,table: 0x00000001,function: "
                                       "0x00000002,thread: 0x00000003,mine\r\n");
    assert_string_equal(eval(s, "return tostring({})"), "$17\r\ntable: 0x00000001\r\n");
}

/* pairs, next and table.foreach walk keys in canonical order, never the
 * layout; a key whose order would be its address is refused. */
static void test_determ_pairs(void **state)
{
    struct sfx *s = *state;
    const char *mk = "local t = {10, 20, b = 1, a = 2, [true] = 3, [1.5] = 4, [false] = 5, "
                     "ab = 6} local junk = {} for i = 1, 40 do junk[{}] = i end "
                     "for k in pairs(junk) do end local o = {} ";
    const char *want = "$25\r\n1 1.5 2 a ab b false true\r\n";
    char body[1024];
    snprintf(body, sizeof body, "%s%s", mk,
             "for k, v in pairs(t) do o[#o + 1] = tostring(k) end return table.concat(o, ' ')");
    assert_non_null(strstr(eval(s, body), "cannot be walked")); /* junk's table keys */
    mk = "local t = {10, 20, b = 1, a = 2, [true] = 3, [1.5] = 4, [false] = 5, ab = 6} "
         "local o = {} ";
    snprintf(body, sizeof body, "%s%s", mk,
             "for k, v in pairs(t) do o[#o + 1] = tostring(k) end return table.concat(o, ' ')");
    assert_string_equal(eval(s, body), want);
    snprintf(body, sizeof body, "%s%s", mk,
             "local k = next(t) while k ~= nil do o[#o + 1] = tostring(k) k = next(t, k) end "
             "return table.concat(o, ' ')");
    assert_string_equal(eval(s, body), want);
    snprintf(body, sizeof body, "%s%s", mk,
             "table.foreach(t, function(k) o[#o + 1] = tostring(k) end) "
             "return table.concat(o, ' ')");
    assert_string_equal(eval(s, body), want);
    /* a string-keyed table that once held table keys: still canonical */
    assert_string_equal(
        eval(s,
             "local t, ks = {}, {} for i = 1, 30 do ks[i] = {} t[ks[i]] = 1 end "
             "for i = 1, 30 do t[ks[i]] = nil end for i = 1, 5 do t['k' .. i] = i end local o = {} "
             "for k in pairs(t) do o[#o + 1] = k end return table.concat(o)"),
        "$10\r\nk1k2k3k4k5\r\n");
}

/* The collector's state shows nowhere in a run that writes; a read keeps
 * Lua's own behaviour. */
static void test_determ_gc(void **state)
{
    struct sfx *s = *state;
    assert_non_null(strstr(eval(s, "return collectgarbage('count')"), "collectgarbage() is not"));
    assert_non_null(strstr(eval(s, "return gcinfo()"), "gcinfo() is not"));
    assert_string_equal(eval_on(s->e, s->f, "return gcinfo() > 0", 0, 7, 0, 0), ":1\r\n");
    assert_non_null(
        strstr(eval(s, "setmetatable({}, {__mode = 'k'})"), "weak tables (__mode) are not"));
    assert_string_equal(eval_on(s->e, s->f, "return collectgarbage('count') > 0", 0, 7, 0, 0),
                        ":1\r\n");
    /* __mode set after setmetatable, by assignment (also through a
     * metatable that has a metatable of its own) or by rawset: refused */
    const char *later[] = {
        "local mt = {} local w = setmetatable({}, mt) mt.__mode = 'v'",
        ("local base = {} local mt = setmetatable({}, {__index = base}) "
         "local w = setmetatable({}, mt) mt.__mode = 'k'"),
        "local mt = {} local w = setmetatable({}, mt) rawset(mt, '__mode', 'k')",
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        assert_non_null(strstr(eval(s, later[i]), "weak tables (__mode) are not"));
    /* The guard changes nothing else: a class's methods added after the
     * fact, inheritance through __index */
    assert_string_equal(eval(s, "local C = {} C.__index = C local o = setmetatable({}, C) "
                                "function C.get(self) return 7 end C.x = 5 "
                                "local D = setmetatable({}, {__index = C}) D.__index = D "
                                "local p = setmetatable({}, D) return o:get() + p:get() + p.x"),
                        ":19\r\n");
}

/* cjson's settings are put back before every run. */
static void test_determ_cjson(void **state)
{
    struct sfx *s = *state;
    assert_string_equal(eval(s, "cjson.encode_number_precision(2) cjson.encode_max_depth(1) "
                                "return cjson.encode(3.14159)"),
                        "$3\r\n3.1\r\n");
    assert_string_equal(eval(s, "return cjson.encode({{3.14159}})"), "$11\r\n[[3.14159]]\r\n");
    eval_on(s->e, s->f, "cjson.encode_number_precision(3) return 1", 0, 7, 0, 0);
    assert_string_equal(eval(s, "return cjson.encode(3.14159)"), "$7\r\n3.14159\r\n");
}

/* cjson.encode and cmsgpack.pack walk tables in Lua's own order: a table
 * whose keys once collided with keys hashed by address encodes, in a run
 * that writes, as the same keys inserted in canonical order do, on every
 * engine; cycles stay cycles (cjson's depth error). */
static void test_determ_encoders(void **state)
{
    struct sfx *s = *state;
    struct sfx *other;
    s_setup((void **)&other);
    const char *body =
        "local t, ks = {}, {} for i = 1, 40 do ks[i] = {} t[ks[i]] = 1 end "
        "for i = 1, 40 do t['k' .. i] = {i, n = i} end for i = 1, 40 do t[ks[i]] = nil end "
        "local c = {} for i = 1, 40 do c['k' .. i] = {i, n = i} end "
        "local sorted = {} for k in pairs(c) do sorted[#sorted + 1] = k end "
        "local fresh = {} for _, k in ipairs(sorted) do fresh[k] = {c[k][1], n = c[k].n} end "
        "assert(cjson.encode(t) == cjson.encode(fresh), 'cjson order') "
        "assert(cmsgpack.pack(t, 1) == cmsgpack.pack(fresh, 1), 'cmsgpack order') "
        "redis.call('set', KEYS[1], cjson.encode(t)) return cmsgpack.pack(t)";
    const char *keys[] = {"enc", NULL};
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", eval_on(s->e, s->f, body, 1, 5, keys, NULL));
    eval(other, "local j = {} for i = 1, 500 do j[i] = {} end return 1"); /* another heap */
    snprintf(b, sizeof b, "%s", eval_on(other->e, other->f, body, 1, 5, keys, NULL));
    assert_string_equal(a, b);
    assert_int_equal(a[0], '$');
    snprintf(a, sizeof a, "%s", run(s->f, "GET enc"));
    snprintf(b, sizeof b, "%s", run(other->f, "GET enc"));
    assert_string_equal(a, b);
    assert_non_null(strstr(eval(s, "local t = {} t.self = t return cjson.encode(t)"),
                           "Cannot serialise, excessive nesting"));
    assert_non_null(strstr(eval(s, "return cjson.encode({[{}] = 1})"), "cannot be walked"));
    s_teardown((void **)&other);
}

/* Commands called from a run that writes: unordered replies sorted,
 * random or node-local ones refused; a read runs them as they are. */
static void test_determ_commands(void **state)
{
    struct sfx *s = *state;
    run(s->f, "SADD s c a b");
    run(s->f, "HSET h b 2 a 1 c 3");
    assert_string_equal(eval(s, "return redis.call('smembers', 's')"),
                        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_string_equal(eval(s, "return redis.call('hgetall', 'h')"),
                        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    assert_string_equal(eval(s, "return redis.call('keys', '*')"), "*2\r\n$1\r\nh\r\n$1\r\ns\r\n");
    assert_string_equal(eval(s, "redis.setresp(3) return redis.call('hgetall', 'h')['map']['b']"),
                        "$1\r\n2\r\n");
    run(s->f, "HSET one f v");
    assert_string_equal(eval(s, "return redis.call('hgetall', 'one')[2]"), "$1\r\nv\r\n");
    assert_string_equal(eval(s, "return #redis.call('smembers', 'none')"), ":0\r\n");
    assert_non_null(
        strstr(eval(s, "return redis.call('randomkey')"), "not allowed in a script that writes"));
    assert_non_null(strstr(eval(s, "return redis.call('srandmember', 's')"),
                           "not allowed in a script that writes"));
    assert_string_equal(eval_on(s->e, s->f, "return type(redis.call('randomkey'))", 0, 7, 0, 0),
                        "$6\r\nstring\r\n");
}

int main(void)
{
    cmdtable_init();
#define T(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_sha1),           T(test_shebang),
        T(test_lua_to_reply),   T(test_reply_to_lua),
        T(test_sandbox),        T(test_cache_changes_only_when_applied),
        T(test_replicas_agree), T(test_determ_tostring),
        T(test_determ_pairs),   T(test_determ_gc),
        T(test_determ_cjson),   T(test_determ_commands),
        T(test_reply_limits),   T(test_call_bounds),
        T(test_string_budget),  T(test_determ_encoders),
        T(test_call_charges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
