/*
 * src/servercmd/cmd_function.c - the function commands (see cmd_function.h).
 */
#include <stdlib.h>
#include <string.h>

#include "servercmd/cmd_function.h"
#include "servercmd/cmd_script.h"
#include "cmd/cmdarg.h"
#include "script/function.h"
#include "base/glob.h"
#include "script/script.h"
#include "server/server.h"
#include "base/util.h"

/* Redis's reply to a subcommand given too many arguments. */
static void reply_syntax_error(struct cmd_ctx *c)
{
    resp_add_errorf(c->out,
                    "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                    "FUNCTION HELP.",
                    (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr);
}

/* FUNCTION LOAD [REPLACE] code */
void cmd_function_load(struct cmd_ctx *c)
{
    int replace = 0, i = 2;
    for (; i < c->argc - 1; i++) {
        if (!cmd_arg_is(&c->argv[i], "replace")) {
            resp_add_errorf(c->out, "ERR Unknown option given: %.*s",
                            (int)(c->argv[i].len > 128 ? 128 : c->argv[i].len), c->argv[i].ptr);
            return;
        }
        replace = 1;
    }
    const char *name;
    if (function_load(c->srv->functions, c->argv[i].ptr, c->argv[i].len, replace, c->out, &name) ==
        0)
        resp_add_bulk_cstr(c->out, name);
}

/* FUNCTION DELETE library */
void cmd_function_delete(struct cmd_ctx *c)
{
    if (function_delete(c->srv->functions, c->argv[2].ptr, c->argv[2].len) < 0)
        resp_add_error(c->out, "ERR Library not found");
    else
        resp_add_simple(c->out, "OK");
}

/* FUNCTION FLUSH [ASYNC|SYNC]: both free at once (libraries are small). */
void cmd_function_flush(struct cmd_ctx *c)
{
    if (c->argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (c->argc == 3 && !cmd_arg_is(&c->argv[2], "sync") && !cmd_arg_is(&c->argv[2], "async")) {
        resp_add_error(c->out, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    function_flush(c->srv->functions);
    resp_add_simple(c->out, "OK");
}

/* FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE] */
void cmd_function_restore(struct cmd_ctx *c)
{
    if (c->argc > 4) {
        reply_syntax_error(c);
        return;
    }
    enum function_restore_policy policy = FUNCTION_RESTORE_APPEND;
    if (c->argc == 4) {
        if (cmd_arg_is(&c->argv[3], "append")) {
            policy = FUNCTION_RESTORE_APPEND;
        } else if (cmd_arg_is(&c->argv[3], "replace")) {
            policy = FUNCTION_RESTORE_REPLACE;
        } else if (cmd_arg_is(&c->argv[3], "flush")) {
            policy = FUNCTION_RESTORE_FLUSH;
        } else {
            resp_add_error(c->out, "ERR Wrong restore policy given, value should be either "
                                   "FLUSH, APPEND or REPLACE.");
            return;
        }
    }
    if (function_restore(c->srv->functions, c->argv[2].ptr, c->argv[2].len, policy, c->out) == 0)
        resp_add_simple(c->out, "OK");
}

void cmd_function_dump(struct cmd_ctx *c)
{
    size_t len;
    char *p = function_dump(c->srv->functions, &len);
    resp_add_bulk(c->out, p, len);
    free(p);
}

struct list_ctx {
    struct resp_out *out;
    const struct resp_arg *pattern; /* NULL: every library */
    int with_code;
    long count;
};

static void reply_fn_flags(struct resp_out *out, uint32_t flags)
{
    uint32_t f;
    long n = 0;
    for (size_t i = 0; script_flag_at(i, &f); i++)
        n += (flags & f) != 0;
    resp_add_set_len(out, n);
    const char *name;
    for (size_t i = 0; (name = script_flag_at(i, &f)) != NULL; i++)
        if (flags & f) resp_add_simple(out, name);
}

static void list_visit(void *ud, const struct function_lib *lib)
{
    struct list_ctx *l = ud;
    struct resp_out *out = l->out;
    if (l->pattern &&
        !glob_match(l->pattern->ptr, l->pattern->len, lib->name, strlen(lib->name), 1))
        return;
    l->count++;
    resp_add_map_len(out, l->with_code ? 4 : 3);
    resp_add_bulk_cstr(out, "library_name");
    resp_add_bulk_cstr(out, lib->name);
    resp_add_bulk_cstr(out, "engine");
    resp_add_bulk_cstr(out, "LUA");
    resp_add_bulk_cstr(out, "functions");
    resp_add_array_len(out, (long)lib->nfns);
    for (size_t i = 0; i < lib->nfns; i++) {
        const struct script_lib_fn *f = &lib->fns[i];
        resp_add_map_len(out, 3);
        resp_add_bulk_cstr(out, "name");
        resp_add_bulk_cstr(out, f->name);
        resp_add_bulk_cstr(out, "description");
        if (f->desc)
            resp_add_bulk_cstr(out, f->desc);
        else
            resp_add_null(out);
        resp_add_bulk_cstr(out, "flags");
        reply_fn_flags(out, f->flags);
    }
    if (l->with_code) {
        resp_add_bulk_cstr(out, "library_code");
        resp_add_bulk(out, lib->code, lib->code_len);
    }
}

/* FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE] */
void cmd_function_list(struct cmd_ctx *c)
{
    struct list_ctx l = {c->out, NULL, 0, 0};
    for (int i = 2; i < c->argc; i++) {
        if (!l.with_code && cmd_arg_is(&c->argv[i], "withcode")) {
            l.with_code = 1;
            continue;
        }
        if (!l.pattern && cmd_arg_is(&c->argv[i], "libraryname")) {
            if (i == c->argc - 1) {
                resp_add_error(c->out, "ERR library name argument was not given");
                return;
            }
            l.pattern = &c->argv[++i];
            continue;
        }
        resp_add_errorf(c->out, "ERR Unknown argument %.*s",
                        (int)(c->argv[i].len > 128 ? 128 : c->argv[i].len), c->argv[i].ptr);
        return;
    }
    struct function_registry *r = c->srv->functions;
    if (!l.pattern) {
        resp_add_array_len(c->out, (long)function_lib_count(r));
        function_each_lib(r, list_visit, &l);
        return;
    }
    resp_deferred d = resp_add_deferred(c->out);
    function_each_lib(r, list_visit, &l);
    resp_set_deferred_array_len(c->out, d, l.count);
}

/* Nothing runs while a command is read, so running_script is always nil. */
void cmd_function_stats(struct cmd_ctx *c)
{
    struct function_registry *r = c->srv->functions;
    resp_add_map_len(c->out, 2);
    resp_add_bulk_cstr(c->out, "running_script");
    resp_add_null(c->out);
    resp_add_bulk_cstr(c->out, "engines");
    resp_add_map_len(c->out, 1);
    resp_add_bulk_cstr(c->out, "LUA");
    resp_add_map_len(c->out, 2);
    resp_add_bulk_cstr(c->out, "libraries_count");
    resp_add_int(c->out, (long long)function_lib_count(r));
    resp_add_bulk_cstr(c->out, "functions_count");
    resp_add_int(c->out, (long long)function_fn_count(r));
}

/* As SCRIPT KILL: only a busy function outside the log (a read) stops. */
void cmd_function_kill(struct cmd_ctx *c)
{
    cmd_script_kill_in(c, c->srv->fn_scripts);
}

void cmd_function_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running (always nil here) and the",
        "    engines: libraries and functions loaded.",
        "KILL",
        "    Kill the current running function (none can be running when it is read).",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
        "replace the old",
        "      libraries with the new libraries (notice that even on this option there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

static void fcall_generic(struct cmd_ctx *c, int read_only)
{
    const struct script_lib_fn *f =
        function_find(c->srv->functions, c->argv[1].ptr, c->argv[1].len);
    if (!f) {
        resp_add_error(c->out, "ERR Function not found");
        return;
    }
    long long n;
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &n)) {
        resp_add_error(c->out, "ERR Bad number of keys provided");
        return;
    }
    struct script_args a;
    if (cmd_script_args(c, n, read_only, &a) < 0) return;
    script_run_function(c->srv->fn_scripts, c, f, &a);
}

void cmd_fcall(struct cmd_ctx *c)
{
    fcall_generic(c, 0);
}

void cmd_fcall_ro(struct cmd_ctx *c)
{
    fcall_generic(c, 1);
}

uint32_t cmd_fcall_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                              uint32_t flags)
{
    if (argc < 2) return flags;
    const struct script_lib_fn *f = function_find(srv->functions, argv[1].ptr, argv[1].len);
    return f ? cmd_script_route_flags(f->flags, flags) : flags;
}
