/*
 * src/script/script_int.h - what the scripting files (src/script*.c) share and
 * nothing else sees: the engine's layout, the run in progress, and the
 * pieces each file provides. The public interface is src/script/script.h.
 */
#ifndef SCRIPT_INT_H
#define SCRIPT_INT_H

#include <lua.h>

#include "ds/dict.h"
#include "script/script.h"

/* A cached script: the body as sent, its flags and its compiled function
 * (a reference in the Lua registry). */
struct script {
    char sha[SHA1_HEX_LEN + 1];
    uint32_t flags;
    int fn_ref;
    size_t len;
    char body[];
};

/* The run in progress (the registry's light userdata while it runs). */
struct script_run {
    struct cmd_ctx *ctx; /* the EVAL's: keyspace, clock, applying, reply */
    int db;              /* the database its calls run in: the EVAL's, until a SELECT */
    const char *sha;     /* its name in error messages */
    int read_only;
    uint32_t flags;      /* the script's (enum script_flag) */
    int wrote;           /* a write command ran: deny-oom commands are allowed from now on */
    int resp;            /* redis.setresp(): the protocol of called commands' replies */
    uint64_t rng;        /* math.random's state */
    uint64_t calls;      /* commands called: each gets its own PRNG seed */
    uint64_t hooks_left; /* budget: count hooks still allowed; 0 = unbounded */
    int over_budget;
    int in_log;       /* applied from the log: bounded by the budget, never killed */
    int64_t start_ms; /* a run outside the log: when it started (busy-reply-threshold) */
    int killed;       /* SCRIPT KILL asked: the run fails at its next hook */
    int loading;      /* a library's load (ctx NULL): its budget error names FUNCTION LOAD */
    int hooked;       /* the count hook runs (a budget, or busy-reply-threshold) */
    int forced;       /* script_charge() asked for the hook at the next instruction */
    uint64_t work;    /* work charged by script_charge(), not yet a whole hook period */
};

struct script_load; /* a library load in progress (src/script/script_function.c) */

struct script_engine {
    lua_State *L;
    struct dict cache; /* lower-case sha -> struct script */
    size_t cache_bytes;
    struct monitor *stats;
    uint64_t budget;
    struct script_run *run;   /* NULL between runs */
    struct script_load *load; /* NULL but while a library's code runs */
    struct resp_out reply;    /* a called command's reply */
    struct resp_arg *argv;    /* a called command's arguments */
    char *arg_buf;            /* numbers converted for them */
    size_t argv_cap, arg_buf_cap;
    uint64_t runs;
    /* A run outside the log past busy_threshold_ms is busy: other clients
     * are answered -BUSY by busy_fn (called every hook period) until it
     * ends or SCRIPT KILL stops it. */
    int64_t busy_threshold_ms;
    void (*busy_fn)(void *ud);
    void *busy_ud;
    void (*call_fn)(void *ud, int argc, const struct resp_arg *argv); /* script_set_call_hook */
    void *call_ud;
    /* script_set_acl_hook */
    void (*acl_fn)(void *ud, struct client *c, int reason, const struct resp_arg *object);
    void *acl_ud;
    int busy;
};

/* A function to run: a script (EVAL: KEYS and ARGV as globals) or a
 * library's function (FCALL: keys and args as its two arguments). */
struct script_fn {
    int fn_ref;       /* the function, in the Lua registry */
    const char *name; /* the sha or function name error messages give */
    uint32_t flags;   /* enum script_flag */
    int eval_mode;
};

/* Runs f for c (clock, randomness, applying, reply: c's), bounded by the
 * budget; the reply (or the script's error) goes to c->out. A read-only
 * call (a->read_only) of a function without no-writes is refused, as
 * Redis refuses it. */
void script_call_fn(struct script_engine *e, struct cmd_ctx *c, const struct script_fn *f,
                    const struct script_args *a);

/* The largest block Lua may allocate (a string, a table's array). */
#define SCRIPT_LUA_BLOCK_MAX (256u * 1024 * 1024)

/* Instructions between two budget checks (the count hook's period). */
#define SCRIPT_HOOK_PERIOD 100000

/* Charges units of work done inside one call (a C function's loop, the
 * bytes of a string built) to run, in instructions: the budget ends the run
 * at the same point on every node, however few instructions did the work.
 * Once a hook period's worth is pending, the count hook runs before L's
 * next instruction, so SCRIPT KILL, the busy clients and the budget see it
 * without waiting for SCRIPT_HOOK_PERIOD instructions. Touches nothing but
 * run and L's hook: safe from inside Lua's own string constructor. Returns
 * nonzero when the hook is due: a C function that loops on (a pattern
 * match) calls script_checkpoint() then, since no instruction runs until
 * it returns. */
int script_charge(lua_State *L, struct script_run *run, uint64_t units);
/* The count hook's checks, now, from inside a C function: serves the busy
 * clients, and raises the run's error (SCRIPT KILL, the budget) when it
 * must stop. */
void script_checkpoint(lua_State *L);

/* The bytes of a string one instruction is worth (concatenation, string.rep,
 * table.concat, cjson...: every string a run makes is charged its length in
 * these units): about what copying 16 bytes costs next to one instruction. */
#define SCRIPT_BYTES_PER_UNIT 16

/* Calls the function below its nargs arguments on the stack (lua_pcall's
 * contract: nresults results or the error object; errfunc its message
 * handler, 0 for none) as run, bounded by the engine's budget: e->run is
 * run meanwhile. Returns lua_pcall's status. */
int script_pcall(struct script_engine *e, struct script_run *run, int nargs, int nresults,
                 int errfunc);

/* src/script/script_sandbox.c: the libraries, then everything made read-only. */
void script_sandbox_build(lua_State *L);
/* Replaces the table on top of the stack with a read-only proxy of it. */
void script_sandbox_protect(lua_State *L);
/* An __index metamethod raising "Script attempted to access nonexistent
 * global variable 'name'". */
int script_sandbox_undefined(lua_State *L);

/* src/script/script_determ.c: what makes a run that may write (run->ctx set,
 * not read_only) a pure function of its entry and the replicated state:
 * deterministic tostring, pairs, next and table.foreach, no collector,
 * no weak metatables, cjson's settings put back before every run. */
/* Wraps the base and library functions concerned; called once by the
 * sandbox, before the libraries are made read-only. */
void script_determ_install(lua_State *L);
/* Around every run (script_pcall): begin resets what a previous run may
 * have changed and, for a run that may write, stops the collector; end
 * undoes begin. */
void script_determ_begin(lua_State *L, const struct script_run *run);
void script_determ_end(lua_State *L, const struct script_run *run);
/* Sorts the reply in out of a CMD_UNORDERED command (run over RESP3: a
 * flat array, a set or a map of strings; anything else is left as it is)
 * into bytewise order of its elements (a map's by field), and writes it as
 * RESP2's flat array when resp is 2. */
void script_determ_sort_reply(struct resp_out *out, int resp);

/* src/script/script_function.c: the load environment, kept in the registry;
 * built once, after the sandbox. */
void script_function_env_build(lua_State *L);

/* src/script/script_redis.c: the redis table and math.random in the globals. */
void script_redis_register(lua_State *L);
/* Pushes a new table with what a library's load may use of the redis
 * table: log, the LOG_* levels, REDIS_VERSION and REDIS_VERSION_NUM. */
void script_redis_push_load_api(lua_State *L);
/* The engine L belongs to (set once, by script_redis_set_engine). */
struct script_engine *script_engine_of(lua_State *L);
void script_redis_set_engine(lua_State *L, struct script_engine *e);

/* src/script/script_bounds.c: what one call of a library function may do.
 * SCRIPT_STRING_MAX: the longest string string.rep may build, Redis's
 * default proto-max-bulk-len (512 MB): a longer one could not be a bulk
 * reply nor a command's argument anyway. A larger result is refused
 * ("resulting string too large") before it is built, from the arguments
 * alone, so the same on every node. */
#define SCRIPT_STRING_MAX (512ull * 1024 * 1024)
/* Wraps table.insert (a position outside [1, #t + 1] is refused, as Lua
 * 5.3 refuses it: 5.1 shifts every slot up to any position) and
 * string.rep (SCRIPT_STRING_MAX) in the globals, before they are made
 * read-only. */
void script_bounds_install(lua_State *L);
/* src/script/script_match.c: string.find, match, gmatch (gfind) and gsub with Lua
 * 5.1's patterns, whose matching is charged to the run's budget. */
void script_match_install(lua_State *L);
/* luaL_loadbuffer for source text only: a binary chunk (string.dump's
 * output, starting ESC "Lua") is refused with the syntax error Redis 7.0
 * gives, "<chunkname without '@'>:1: unexpected symbol near 'char(27)'",
 * pushed with LUA_ERRSYNTAX returned. */
int script_load_source(lua_State *L, const char *s, size_t len, const char *chunkname);

/* src/script/script_conv.c: replies to Lua values and back. */
/* Pushes the RESP reply in buf[0..len) as Lua values (Redis's mapping for
 * the given protocol). Returns 0, or -1 if the Lua stack cannot grow. */
int script_reply_to_lua(lua_State *L, const char *buf, size_t len);
/* Writes the Lua value on top of the stack to out as a reply (resp: the
 * script's redis.setresp(), for booleans), and pops it. A value nested
 * deeper than SCRIPT_REPLY_DEPTH_MAX tables (a table that holds itself
 * among them), or whose reply passes SCRIPT_REPLY_ELEMENTS_MAX values
 * (nested ones counted) or SCRIPT_REPLY_BYTES_MAX bytes (a DAG of shared
 * tables: 60 levels of {t, t} are 2^60 values), is replied as one error
 * instead, "ERR reached lua stack limit" (Redis 7.0's text for a table
 * too deep) or "ERR script reply too large": whatever of it was written
 * is dropped first, never sent half. The limits count what is written,
 * never time or memory, so every node stops at the same point.
 * 1000 levels: Redis 7.0's cjson limit (Redis's own reply stops at the
 * Lua C stack, near 2000 levels). 2^22 values: about 2 s of conversion
 * (0.5 us a value measured), the order of a whole run's default budget;
 * the largest replies of commands scripts return (LRANGE, HGETALL of
 * millions) fit. Bytes: no larger than the largest string a script may
 * build. */
#define SCRIPT_REPLY_DEPTH_MAX 1000
#define SCRIPT_REPLY_ELEMENTS_MAX ((size_t)1 << 22)
#define SCRIPT_REPLY_BYTES_MAX SCRIPT_STRING_MAX
void script_lua_to_reply(lua_State *L, struct resp_out *out, int resp);
/* Pushes Redis's error table {err = "CODE message"} for msg ("-CODE
 * message" or a bare message, which gets "ERR"). */
void script_push_error(lua_State *L, const char *msg, size_t len);

#endif
