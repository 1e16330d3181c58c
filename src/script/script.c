/*
 * src/script/script.c - the scripting engine (see script.h): the Lua state, the
 * replicated script cache, shebang flags and running a script.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "base/clock.h"
#include "cmd/monitor.h"
#include "raft/raft_assert.h"
#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "base/log.h"
#include "script/script_int.h"
#include "base/util.h"

static const char globals_key = 'g'; /* registry: the real globals (KEYS, ARGV go there) */

/* Lua's allocator: malloc's, but no single block may exceed
 * SCRIPT_LUA_BLOCK_MAX. A string or table past it fails with Lua's "not
 * enough memory" error, the same on every node (the limit does not depend
 * on the memory a node has left), and no string reaches the sizes at which
 * the cjson library's int arithmetic overflows. Shrinking never fails. */
static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (nsize > osize && nsize > SCRIPT_LUA_BLOCK_MAX) return NULL;
    return realloc(ptr, nsize);
}

static int lua_panic(lua_State *L)
{
    log_msg(LOG_LEVEL_WARNING, "Lua error outside a protected call: %s", lua_tostring(L, -1));
    abort();
}

/* A fresh sandboxed Lua state for e. */
static void open_state(struct script_engine *e)
{
    e->L = lua_newstate(lua_alloc, e); /* ud: the engine, for script_bounds.c */
    if (!e->L) abort();
    lua_atpanic(e->L, lua_panic);
    script_redis_set_engine(e->L, e);
    lua_pushlightuserdata(e->L, (void *)&globals_key);
    lua_pushvalue(e->L, LUA_GLOBALSINDEX);
    lua_rawset(e->L, LUA_REGISTRYINDEX);
    script_sandbox_build(e->L);
    script_function_env_build(e->L);
    ASSERT(lua_gettop(e->L) == 0); /* the setup leaves the stack as it found it */
}

struct script_engine *script_engine_new(struct monitor *stats)
{
    struct script_engine *e = util_xcalloc(1, sizeof *e);
    e->stats = stats;
    e->budget = SCRIPT_BUDGET_DEFAULT;
    dict_init(&e->cache, 0x5c1a7e);
    resp_out_init(&e->reply, 2);
    /* The errors of the commands scripts call count where they arise. */
    e->reply.on_error = monitor_error_hook;
    e->reply.on_error_ud = stats;
    open_state(e);
    return e;
}

static void free_script(void *v)
{
    free(v);
}

void script_engine_free(struct script_engine *e)
{
    if (!e) return;
    lua_close(e->L);
    dict_free(&e->cache, free_script);
    resp_out_free(&e->reply);
    free(e->argv);
    free(e->arg_buf);
    free(e);
}

void script_set_budget(struct script_engine *e, uint64_t instructions)
{
    e->budget = instructions;
}

/* --- shebang --- */

static const struct {
    const char *name;
    uint32_t flag;
} shebang_flags[] = {
    {"no-writes", SCRIPT_FLAG_NO_WRITES},
    {"allow-oom", SCRIPT_FLAG_ALLOW_OOM},
    {"allow-stale", SCRIPT_FLAG_ALLOW_STALE},
    {"no-cluster", SCRIPT_FLAG_NO_CLUSTER},
    {"allow-cross-slot-keys", SCRIPT_FLAG_ALLOW_CROSS_SLOT},
};

const char *script_flag_at(size_t i, uint32_t *flag)
{
    if (i >= sizeof shebang_flags / sizeof *shebang_flags) return NULL;
    *flag = shebang_flags[i].flag;
    return shebang_flags[i].name;
}

int script_name_valid(const char *s, size_t len)
{
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return 0;
    return 1;
}

/* The comma-separated flags in s[0..n) into *flags. */
static int parse_flag_list(const char *s, size_t n, uint32_t *flags, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t k = 0, count = sizeof shebang_flags / sizeof *shebang_flags;
        for (; k < count; k++)
            if (strlen(shebang_flags[k].name) == j - i &&
                memcmp(shebang_flags[k].name, s + i, j - i) == 0)
                break;
        if (k == count && j > i) {
            snprintf(err, errlen, "ERR Unexpected flag in script shebang: %.*s", (int)(j - i),
                     s + i);
            return -1;
        }
        if (k < count) *flags |= shebang_flags[k].flag;
        i = j + 1;
    }
    return 0;
}

int script_parse_shebang(const char *body, size_t len, uint32_t *flags, size_t *skip, char *err,
                         size_t errlen)
{
    *flags = 0;
    *skip = 0;
    if (len < 2 || body[0] != '#' || body[1] != '!') {
        *flags = SCRIPT_FLAG_EVAL_COMPAT;
        return 0;
    }
    const char *nl = memchr(body, '\n', len);
    size_t line = nl ? (size_t)(nl - body) : len;
    *skip = line;
    size_t i = 2, end = line;
    size_t w = i;
    while (w < end && body[w] != ' ')
        w++;
    if (w - i != 3 || memcmp(body + i, "lua", 3) != 0) {
        snprintf(err, errlen, "ERR Unexpected engine in script shebang: %.*s", (int)w, body);
        return -1;
    }
    for (i = w; i < end;) {
        while (i < end && body[i] == ' ')
            i++;
        size_t j = i;
        while (j < end && body[j] != ' ')
            j++;
        if (j == i) break;
        if (j - i >= 6 && memcmp(body + i, "flags=", 6) == 0) {
            if (parse_flag_list(body + i + 6, j - i - 6, flags, err, errlen) < 0) return -1;
        } else {
            snprintf(err, errlen, "ERR Unknown lua shebang option: %.*s", (int)(j - i), body + i);
            return -1;
        }
        i = j;
    }
    return 0;
}

/* --- the cache --- */

/* sha (any case) in lower case into out; 0, or -1 if it is not 40 characters. */
static int normalize_sha(const char *sha, size_t len, char out[SHA1_HEX_LEN + 1])
{
    if (len != SHA1_HEX_LEN) return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)sha[i]);
    out[len] = '\0';
    return 0;
}

static struct script *cache_find(const struct script_engine *e, const char *sha, size_t len)
{
    char key[SHA1_HEX_LEN + 1];
    if (normalize_sha(sha, len, key) < 0) return NULL;
    struct dict_entry *de = dict_peek(&e->cache, key, SHA1_HEX_LEN);
    return de ? de->val : NULL;
}

int script_cache_has(const struct script_engine *e, const char *sha, size_t len, uint32_t *flags)
{
    struct script *s = cache_find(e, sha, len);
    if (s && flags) *flags = s->flags;
    return s != NULL;
}

/* Compiles body into a function referenced from the registry; NULL (and the
 * error reply in out) if it does not compile. The caller owns the result. */
static struct script *compile(struct script_engine *e, const char *body, size_t len,
                              const char *sha, struct resp_out *out)
{
    char err[256];
    uint32_t flags;
    size_t skip;
    if (script_parse_shebang(body, len, &flags, &skip, err, sizeof err) < 0) {
        resp_add_error(out, err);
        return NULL;
    }
    lua_State *L = e->L;
    /* The shebang line is skipped, its newline kept: line numbers hold. */
    if (script_load_source(L, body + skip, len - skip, "@user_script") != 0) {
        resp_add_errorf(out, "ERR Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return NULL;
    }
    struct script *s = util_xmalloc(sizeof *s + len + 1);
    memcpy(s->sha, sha, SHA1_HEX_LEN + 1);
    s->flags = flags;
    s->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->len = len;
    memcpy(s->body, body, len);
    s->body[len] = '\0';
    return s;
}

static void release(struct script_engine *e, struct script *s)
{
    luaL_unref(e->L, LUA_REGISTRYINDEX, s->fn_ref);
    free(s);
}

int script_cache_add(struct script_engine *e, const char *body, size_t len,
                     char sha_out[SHA1_HEX_LEN + 1], struct resp_out *out)
{
    sha1_hex(body, len, sha_out);
    if (cache_find(e, sha_out, SHA1_HEX_LEN)) return 0;
    struct script *s = compile(e, body, len, sha_out, out);
    if (!s) return -1;
    dict_add(&e->cache, s->sha, SHA1_HEX_LEN, s, NULL);
    e->cache_bytes += sizeof *s + len + 1;
    return 0;
}

void script_cache_flush(struct script_engine *e)
{
    ASSERT(!e->run);
    dict_clear(&e->cache, free_script);
    e->cache_bytes = 0;
    /* A new Lua state, as Redis starts: whatever scripts grew (string
     * table, stack, library state such as cjson's settings) is gone. The
     * engine of the function libraries is another one (src/script/function.h). */
    lua_close(e->L);
    open_state(e);
    ASSERT(dict_size(&e->cache) == 0 && e->cache_bytes == 0);
}

size_t script_cache_count(const struct script_engine *e)
{
    return (size_t)dict_size(&e->cache);
}

size_t script_cache_bytes(const struct script_engine *e)
{
    return e->cache_bytes;
}

size_t script_lua_bytes(const struct script_engine *e)
{
    return (size_t)lua_gc(e->L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(e->L, LUA_GCCOUNTB, 0);
}

struct each_ctx {
    int (*fn)(void *ud, const char *body, size_t len);
    void *ud;
    int stop;
};

static void each_visit(void *ud, struct dict_entry *de)
{
    struct each_ctx *c = ud;
    const struct script *s = de->val;
    if (!c->stop) c->stop = c->fn(c->ud, s->body, s->len);
}

int script_cache_each(const struct script_engine *e,
                      int (*fn)(void *ud, const char *body, size_t len), void *ud)
{
    struct each_ctx c = {fn, ud, 0};
    dict_foreach((struct dict *)&e->cache, each_visit, &c);
    return c.stop;
}

/* --- running --- */

/* Raises the error msg ("ERR " is added) of a run that must stop (over
 * budget, killed); the hook
 * then fires on every instruction, so a pcall in the script cannot swallow
 * the error for long. */
static void count_hook(lua_State *L, lua_Debug *ar);

static void stop_run(lua_State *L, struct script_run *run, const char *msg)
{
    if (!run->over_budget) lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    run->hooks_left = 1;
    run->over_budget = 1;
    script_push_error(L, msg, strlen(msg));
    lua_error(L);
}

/* The count hook, every SCRIPT_HOOK_PERIOD instructions. Any run turns busy
 * past the threshold and then serves other clients (-BUSY) from here; a run
 * outside the log stops when killed; a run from the log counts its budget
 * in hook calls (the same on every node). Being busy changes nothing the
 * script sees, so a run from the log stays deterministic. */
static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct script_engine *e = script_engine_of(L);
    struct script_run *run = e->run;
    if (!run) return;
    /* A hook script_charge() forced stands for the work charged, not for a
     * period of instructions (those since the last hook go uncounted: at
     * most one period for each period's worth of work). */
    uint64_t ticks = run->forced ? 0 : 1;
    if (run->forced && !run->over_budget) {
        run->forced = 0;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, SCRIPT_HOOK_PERIOD);
    }
    ticks += run->work / SCRIPT_HOOK_PERIOD;
    run->work %= SCRIPT_HOOK_PERIOD;
    if (!e->busy && e->busy_threshold_ms > 0 && e->busy_fn &&
        clock_mono_us() / 1000 - run->start_ms >= e->busy_threshold_ms) {
        e->busy = 1;
        log_msg(LOG_LEVEL_WARNING,
                "Slow script detected: still in execution after %lld milliseconds. You can "
                "try killing the script using the SCRIPT KILL command. Script name is: %s.",
                (long long)(clock_mono_us() / 1000 - run->start_ms), run->sha);
    }
    if (e->busy && !run->killed && e->busy_fn) e->busy_fn(e->busy_ud);
    if (!run->in_log) {
        if (run->killed) stop_run(L, run, "Script killed by user with SCRIPT KILL...");
        return;
    }
    ASSERT(!run->killed); /* script_kill() refuses a run from the log */
    if (run->hooks_left == 0) return;
    if (!run->over_budget && ticks < run->hooks_left) {
        run->hooks_left -= ticks;
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg,
             run->loading ? "FUNCTION LOAD timeout: the library's code ran over the budget of "
                            "%llu Lua instructions (lua-replicated-budget; every 16 bytes of "
                            "string built count as one)"
                          : "Script exceeded its budget of %llu Lua instructions "
                            "(lua-replicated-budget; every 16 bytes of string built count as "
                            "one)",
             (unsigned long long)e->budget);
    stop_run(L, run, msg);
}

int script_charge(lua_State *L, struct script_run *run, uint64_t units)
{
    if (!run->hooked) return 0;
    if (run->over_budget) return 1;
    run->work += units;
    if (run->work >= SCRIPT_HOOK_PERIOD && !run->forced) {
        run->forced = 1;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    }
    return run->forced;
}

void script_checkpoint(lua_State *L)
{
    count_hook(L, NULL);
}

void script_set_busy(struct script_engine *e, int64_t threshold_ms, void (*serve)(void *ud),
                     void *ud)
{
    e->busy_threshold_ms = threshold_ms;
    e->busy_fn = serve;
    e->busy_ud = ud;
}

void script_set_call_hook(struct script_engine *e,
                          void (*fn)(void *ud, int argc, const struct resp_arg *argv), void *ud)
{
    e->call_fn = fn;
    e->call_ud = ud;
}

void script_set_acl_hook(struct script_engine *e,
                         void (*fn)(void *ud, struct client *c, int reason,
                                    const struct resp_arg *object),
                         void *ud)
{
    e->acl_fn = fn;
    e->acl_ud = ud;
}

int script_busy(const struct script_engine *e, const struct client **client)
{
    if (client) *client = e->busy && e->run && e->run->ctx ? e->run->ctx->client : NULL;
    return e->busy;
}

int script_busy_in_log(const struct script_engine *e)
{
    return e->busy && e->run && e->run->in_log;
}

int script_kill(struct script_engine *e)
{
    if (!e->busy || !e->run) return -1;
    if (e->run->in_log) return -2;
    e->run->killed = 1;
    return 0;
}

/* pcall's message handler: the error as Redis's table {err =, source =,
 * line =}, naming the script's line (the caller's, when a C function such
 * as error() or redis.call() raised it). The table is a new plain one,
 * its fields read raw from a table the script raised: that table's
 * metamethods must not run, least of all when the reply is built after
 * the run, where nothing would catch their errors. */
static int error_handler(lua_State *L)
{
    lua_Debug ar;
    int have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar);
    if (have && strcmp(ar.what, "C") == 0)
        have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "Sl", &ar);
    lua_settop(L, 1);
    lua_newtable(L);
    if (lua_istable(L, 1)) {
        static const char *const fields[] = {"err", "ignore_error_stats_update"};
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
            lua_pushstring(L, fields[i]);
            lua_rawget(L, 1);
            lua_setfield(L, 2, fields[i]);
        }
    } else {
        const char *msg = lua_tostring(L, 1);
        lua_pushfstring(L, "ERR %s", msg ? msg : "(error object is not a string)");
        lua_setfield(L, 2, "err");
    }
    if (have) {
        lua_pushstring(L, ar.source);
        lua_setfield(L, 2, "source");
        lua_pushnumber(L, ar.currentline);
        lua_setfield(L, 2, "line");
    }
    return 1;
}

/* The error object on top (a table from error_handler, or a string when
 * Lua failed outside it) as the run's error reply. */
static void reply_error(lua_State *L, struct resp_out *out, const char *sha)
{
    if (!lua_istable(L, -1)) {
        const char *msg = lua_tostring(L, -1);
        resp_add_errorf(out, "ERR Error running script %s, %.100s", sha,
                        msg ? msg : "execution failure");
        return;
    }
    lua_getfield(L, -1, "ignore_error_stats_update");
    int counted = lua_toboolean(L, -1); /* where it arose (INFO errorstats) */
    lua_pop(L, 1);
    lua_getfield(L, -1, "err");
    lua_getfield(L, -2, "source");
    lua_getfield(L, -3, "line");
    const char *err = lua_tostring(L, -3);
    const char *source = lua_tostring(L, -2);
    const char *line = lua_tostring(L, -1);
    if (!err) err = "ERR unknown error";
    void (*hook)(void *, const char *, size_t) = out->on_error;
    if (counted) out->on_error = NULL;
    if (source && line)
        resp_add_errorf(out, "%s script: %s, on %s:%s.", err, sha, source, line);
    else
        resp_add_errorf(out, "%s", err);
    out->on_error = hook;
    lua_pop(L, 3);
}

/* Lua collects in small steps every this many runs, so a full cycle does
 * not land inside one command. */
#define GC_STEP_RUNS 50

/* Pushes an array of n strings. */
static void push_array(lua_State *L, const struct resp_arg *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].ptr, v[i].len);
        lua_rawseti(L, -2, i + 1);
    }
}

/* Sets the real globals' name to the value on top (popped). */
static void set_real_global(lua_State *L, const char *name)
{
    lua_pushlightuserdata(L, (void *)&globals_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

int script_pcall(struct script_engine *e, struct script_run *run, int nargs, int nresults,
                 int errfunc)
{
    ASSERT(!e->run);
    lua_State *L = e->L;
    run->hooks_left =
        run->in_log && e->budget ? (e->budget + SCRIPT_HOOK_PERIOD - 1) / SCRIPT_HOOK_PERIOD : 0;
    run->over_budget = 0;
    run->forced = 0;
    run->work = 0;
    run->start_ms = clock_mono_us() / 1000;
    e->run = run;
    run->hooked = (run->in_log && run->hooks_left != 0) || (e->busy_threshold_ms > 0 && e->busy_fn);
    if (run->hooked) lua_sethook(L, count_hook, LUA_MASKCOUNT, SCRIPT_HOOK_PERIOD);
    ASSERT(run->hooked ? lua_gethook(L) == count_hook : lua_gethook(L) == NULL);
    script_determ_begin(L, run);
    int status = lua_pcall(L, nargs, nresults, errfunc);
    ASSERT(e->run == run); /* no other run started inside this one */
    script_determ_end(L, run);
    lua_sethook(L, NULL, 0, 0);
    e->run = NULL;
    e->busy = 0;
    return status;
}

void script_call_fn(struct script_engine *e, struct cmd_ctx *c, const struct script_fn *f,
                    const struct script_args *a)
{
    lua_State *L = e->L;
    int declared = !(f->flags & SCRIPT_FLAG_EVAL_COMPAT);
    int ro_run = a->read_only || !c->applying || (declared && (f->flags & SCRIPT_FLAG_NO_WRITES));
    if (a->read_only && declared && !(f->flags & SCRIPT_FLAG_NO_WRITES)) {
        resp_add_error(c->out, "ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    if (!lua_checkstack(L, 8)) {
        resp_add_error(c->out, "ERR reached lua stack limit");
        return;
    }
    struct script_run run = {
        .ctx = c,
        .db = c->kv->id,
        .sha = f->name,
        .read_only = ro_run,
        .flags = f->flags,
        .resp = 2,
        .rng = c->rng,
        .in_log = c->applying,
    };
    int base = lua_gettop(L);
    lua_pushcfunction(L, error_handler);
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->fn_ref);
    push_array(L, a->keys, a->nkeys);
    push_array(L, a->args, a->nargs);
    int nargs = 2;
    if (f->eval_mode) { /* EVAL: KEYS and ARGV are globals */
        set_real_global(L, "ARGV");
        set_real_global(L, "KEYS");
        nargs = 0;
    }
    if (script_pcall(e, &run, nargs, 1, base + 1) != 0)
        reply_error(L, c->out, f->name);
    else
        script_lua_to_reply(L, c->out, run.resp);
    ASSERT(e->run == NULL);
    lua_settop(L, base);
    if (f->eval_mode) { /* gone after the run: a library's function sees none (as in Redis),
                         * nor what a read-only run on this node alone left there */
        lua_pushnil(L);
        set_real_global(L, "KEYS");
        lua_pushnil(L);
        set_real_global(L, "ARGV");
    }
    if (++e->runs % GC_STEP_RUNS == 0) lua_gc(L, LUA_GCSTEP, GC_STEP_RUNS);
}

static void run_script(struct script_engine *e, struct cmd_ctx *c, const struct script *s,
                       const struct script_args *a)
{
    struct script_fn f = {s->fn_ref, s->sha, s->flags, 1};
    script_call_fn(e, c, &f, a);
}

void script_run_sha(struct script_engine *e, struct cmd_ctx *c, const char *sha, size_t sha_len,
                    const struct script_args *a)
{
    struct script *s = cache_find(e, sha, sha_len);
    if (!s) {
        resp_add_error(c->out, "NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    run_script(e, c, s, a);
}

void script_run_body(struct script_engine *e, struct cmd_ctx *c, const char *body, size_t len,
                     const struct script_args *a)
{
    char sha[SHA1_HEX_LEN + 1];
    sha1_hex(body, len, sha);
    struct script *s = cache_find(e, sha, SHA1_HEX_LEN);
    if (s) {
        run_script(e, c, s, a);
        return;
    }
    if (c->applying) {
        if (script_cache_add(e, body, len, sha, c->out) == 0)
            run_script(e, c, cache_find(e, sha, SHA1_HEX_LEN), a);
        return;
    }
    s = compile(e, body, len, sha, c->out); /* a read: the cache changes only through the log */
    if (!s) return;
    run_script(e, c, s, a);
    release(e, s);
}
