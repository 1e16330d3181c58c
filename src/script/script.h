/*
 * src/script/script.h - Lua scripting (EVAL and friends): the script cache and
 * running a script against the keyspace.
 *
 * One Lua 5.1 state per node, sandboxed as Redis 7.0's: the libraries
 * scripts use (base without file access, string, table, math, cjson, bit,
 * struct, cmsgpack, the redis table), globals read-only (a script can
 * neither create a global nor change a library: "Attempt to modify a
 * readonly table"), reading an undefined global an error, binary chunks
 * refused by loadstring, and no os, io, debug or package.
 *
 * Scripts in the log. A script that may write is one log entry (EVAL or
 * EVALSHA with its arguments) whose handler runs here on every node when
 * the entry is applied (cmd_ctx.applying), so:
 *   - its clock is the entry's (cmd_ctx.now_ms: TIME inside it, TTLs) and
 *     math.random draws from a PRNG seeded by the entry (cmd_ctx.rng):
 *     every replica computes the same writes and the same reply;
 *   - nothing else a run that may write observes comes from the node's
 *     Lua heap: tostring, pairs/next order, the collector, library
 *     settings and node-dependent command replies are made deterministic
 *     or refused (src/script/script_determ.c, docs/design.md);
 *   - the cache (sha -> body) is replicated state: EVAL and SCRIPT LOAD add
 *     to it and SCRIPT FLUSH empties it only when applied, so an EVALSHA
 *     finds the same scripts on every node; snapshots carry it;
 *   - a runaway script cannot be killed on one node only (the replicas
 *     would diverge): every run is bounded by a budget of Lua instructions
 *     (script_engine.budget, the lua-replicated-budget directive), counted
 *     the same way everywhere. A script over it fails with an error, on
 *     every node at the same instruction; the writes it made before stay,
 *     as the writes before any script error stay in Redis.
 *   - a run longer than busy-reply-threshold makes the node busy as a
 *     read-only one does (script_set_busy()), but cannot be killed: other
 *     clients get -BUSY, SCRIPT KILL -UNKILLABLE; nothing in the busy pass
 *     may run Raft or apply (docs/design.md, "A slow script from the log
 *     turns busy too", says why the cluster keeps its leader and why
 *     SHUTDOWN NOSAVE inside the apply is safe).
 * A read-only run (EVAL_RO, EVALSHA_RO, a script flagged no-writes) runs
 * like any read, on the node's keyspace as it is: a write command in it is
 * refused; it never adds to the cache (a body it compiled is dropped after
 * the run), since the cache must only change through the log.
 *
 * Commands a script calls (redis.call / redis.pcall) run through the
 * command table like a client's, without the dispatcher: they run in the
 * script's context (its clock, its randomness, applying or not), never
 * block (a blocking command answers as if it timed out), and commands
 * flagged CMD_NOSCRIPT are refused (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BZPOPMIN and BZPOPMAX among them, as in Redis 7.0).
 *
 * Libraries (FUNCTION LOAD, src/script/function.h keeps the registry): a
 * library's code runs once, when it is loaded, in a narrow environment
 * where the only global is a `redis` table holding register_function, log,
 * the LOG_* levels and the version; it registers functions, which are kept
 * in the Lua registry and later run by FCALL with their keys and arguments
 * as their two parameters, in the globals every script sees. A load is
 * bounded by the same budget as a run, so it ends at the same instruction
 * on every node.
 *
 * Single-threaded; one script (or one library load) runs at a time.
 */
#ifndef SCRIPT_H
#define SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "resp/parser.h"
#include "resp/writer.h"
#include "base/sha1.h"

struct client;
struct cmd_ctx;
struct monitor;
struct script_engine;

/* A script's flags, from its shebang line ("#!lua flags=no-writes,..."). */
enum script_flag {
    SCRIPT_FLAG_NO_WRITES = 1u << 0,
    SCRIPT_FLAG_ALLOW_OOM = 1u << 1,
    SCRIPT_FLAG_ALLOW_STALE = 1u << 2,
    SCRIPT_FLAG_NO_CLUSTER = 1u << 3,
    SCRIPT_FLAG_ALLOW_CROSS_SLOT = 1u << 4,
    SCRIPT_FLAG_EVAL_COMPAT = 1u << 5, /* no shebang: Redis 6's behaviour */
};

/* Lua instructions one run may execute until script_set_budget() says
 * otherwise (the lua-replicated-budget directive's default). */
#define SCRIPT_BUDGET_DEFAULT 100000000ULL

/* A new engine; commands scripts call are counted in mon (src/cmd/monitor.h,
 * borrowed for the engine's life), and so are their error replies. Aborts
 * if Lua cannot start. */
struct script_engine *script_engine_new(struct monitor *mon);
void script_engine_free(struct script_engine *e);
/* Instructions a run from the log may execute (0: unbounded). Takes
 * effect from the next run. */
void script_set_budget(struct script_engine *e, uint64_t instructions);

/* A run longer than threshold_ms (busy-reply-threshold; 0: never) makes
 * the engine busy, and serve(ud) is called every few milliseconds until it
 * ends, to answer other clients (-BUSY, SCRIPT KILL, SHUTDOWN NOSAVE).
 * Runs outside the log (reads: EVAL_RO, no-writes scripts) are not bounded
 * by the budget but, as in Redis, can be stopped by SCRIPT KILL. A run from
 * the log turns busy too (a slow writing script must not leave every other
 * client without a reply) but cannot be stopped: it runs on, to its end or
 * its budget, as on every other node. serve() must not apply, run Raft or
 * touch the keyspace: the keyspace is half-way through an entry. */
void script_set_busy(struct script_engine *e, int64_t threshold_ms, void (*serve)(void *ud),
                     void *ud);
/* Called with each command a script runs for a client of this node (the
 * run's cmd_ctx.client is set: the client waits for it here), before the
 * command runs: MONITOR's `[0 lua]` lines (src/server/monitors.h). NULL: none. */
void script_set_call_hook(struct script_engine *e,
                          void (*fn)(void *ud, int argc, const struct resp_arg *argv), void *ud);
/* A command a script called was denied by the ACL user the run is for
 * (cmd_ctx.user): called on the node of the client it runs for (the run's
 * cmd_ctx.client is set), with the reason (enum acl_result) and the
 * command's name or the key or channel refused: ACL LOG's entry, context
 * "lua" (src/server/acllog.h). NULL: none. */
void script_set_acl_hook(struct script_engine *e,
                         void (*fn)(void *ud, struct client *c, int reason,
                                    const struct resp_arg *object),
                         void *ud);
/* 1 while a script is busy; *client gets the client it runs for (NULL
 * when none, never NULL for a busy run outside the log). */
int script_busy(const struct script_engine *e, const struct client **client);
/* 1 while the busy run is one from the log (it cannot be killed). */
int script_busy_in_log(const struct script_engine *e);
/* Redis 7.0's reply to SCRIPT KILL / FUNCTION KILL of such a run, and the
 * -BUSY replies while a script or a function is busy. */
#define SCRIPT_UNKILLABLE_ERR                                                                      \
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "    \
    "either wait the script termination or kill the server in a hard way using the SHUTDOWN "      \
    "NOSAVE command."
#define SCRIPT_BUSY_ERR                                                                            \
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
#define SCRIPT_BUSY_FUNCTION_ERR                                                                   \
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
/* SCRIPT KILL / FUNCTION KILL: stops the busy script (it fails with
 * "Script killed by user with SCRIPT KILL..."). 0, -1 if none is busy, or
 * -2 if the busy run is from the log (unkillable: it already wrote, or may,
 * and stopping it on this node alone would make the replicas diverge). */
int script_kill(struct script_engine *e);

/* Parses body's shebang line into *flags (SCRIPT_FLAG_EVAL_COMPAT when
 * there is none); *skip gets the bytes to skip before the Lua code (the
 * shebang line without its newline). 0, or -1 with Redis's error in err. */
int script_parse_shebang(const char *body, size_t len, uint32_t *flags, size_t *skip, char *err,
                         size_t errlen);

/* The cache. Names are 40 hex digits, matched without regard to case. */
/* Compiles body and adds it under its sha (written to sha_out) unless it is
 * there already. 0, or -1 with the error reply (a compile or shebang error)
 * written to out. */
int script_cache_add(struct script_engine *e, const char *body, size_t len,
                     char sha_out[SHA1_HEX_LEN + 1], struct resp_out *out);
/* 1 if the cache holds sha; *flags gets its flags when flags is not NULL. */
int script_cache_has(const struct script_engine *e, const char *sha, size_t len, uint32_t *flags);
void script_cache_flush(struct script_engine *e);
size_t script_cache_count(const struct script_engine *e);
/* Bytes held by the cached bodies, and by the Lua state. */
size_t script_cache_bytes(const struct script_engine *e);
size_t script_lua_bytes(const struct script_engine *e);
/* Calls fn for each cached script (snapshots); stops early when fn returns non-zero. */
int script_cache_each(const struct script_engine *e,
                      int (*fn)(void *ud, const char *body, size_t len), void *ud);

/* What a run gets besides its context. */
struct script_args {
    const struct resp_arg *keys, *args;
    int nkeys, nargs;
    int read_only; /* EVAL_RO / EVALSHA_RO: write commands refused */
};

/* Runs the cached script sha (EVALSHA) for c: the reply (or -NOSCRIPT)
 * goes to c->out. */
void script_run_sha(struct script_engine *e, struct cmd_ctx *c, const char *sha, size_t sha_len,
                    const struct script_args *a);
/* Runs body (EVAL): cached first when c is applying, compiled for this run
 * only otherwise. */
void script_run_body(struct script_engine *e, struct cmd_ctx *c, const char *body, size_t len,
                     const struct script_args *a);

/* --- libraries (src/script/script_function.c) --- */

/* A function a library registered: the engine holds its Lua function (a
 * registry reference) until script_lib_fn_free(). */
struct script_lib_fn {
    char *name;     /* as registered (owned) */
    char *desc;     /* the description, or NULL (owned) */
    uint32_t flags; /* enum script_flag, from the flags given at registration */
    int fn_ref;
    int chunk_ref; /* the library's compiled code: a writing call runs it anew */
    int state_ref; /* or puts back these upvalues first; LUA_NOREF: runs it anew */
};

/* Functions one library may register. */
#define SCRIPT_LIB_FUNCTIONS_MAX 10000

/* 1 if s[0..len) is a valid library or function name: at least one
 * character, each a letter, a digit or '_'. */
int script_name_valid(const char *s, size_t len);
/* The i-th flag of Redis's flag list (in FUNCTION LIST's order) into
 * *flag, and its name; NULL past the last. */
const char *script_flag_at(size_t i, uint32_t *flag);

/* Runs a library's code (code[0..len): what follows the shebang line,
 * that line's newline first, so line numbers hold) in the load
 * environment. 0 with the functions it registered in *fns (at least one;
 * *nfns of them; the caller owns the array and each function:
 * script_lib_fn_free then free), or -1 with Redis's error reply
 * ("Error compiling function: ...", "Error registering functions: ...",
 * "No functions registered") written to err. */
int script_library_run(struct script_engine *e, const char *code, size_t len,
                       struct script_lib_fn **fns, size_t *nfns, struct resp_out *err);
/* Releases f's Lua function and its strings (not f itself). */
void script_lib_fn_free(struct script_engine *e, struct script_lib_fn *f);
/* Runs a library's function (FCALL, FCALL_RO) for c, as script_run_sha
 * runs a script: keys and args are its two parameters. A call that may
 * write sees its library as loaded: whatever a library keeps in its
 * upvalues lives only in memory, and a node restarted or installing a
 * snapshot would start it afresh while the others would not. So no
 * writing call sees what an earlier call left there, on any node: when
 * every upvalue the function reaches holds a plain value or a function,
 * they are put back to their values at the load's end before the call;
 * when one holds a table (which a call may fill), the library's code runs
 * again and the call goes to that fresh instance's function. A read-only
 * call uses the loaded instance as it is. */
void script_run_function(struct script_engine *e, struct cmd_ctx *c, const struct script_lib_fn *f,
                         const struct script_args *a);

#endif
