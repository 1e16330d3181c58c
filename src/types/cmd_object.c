/*
 * src/types/cmd_object.c - OBJECT and MEMORY USAGE: what the keyspace knows about
 * one value (its encoding, idle time, size), for every type, as Redis 7.0
 * replies. These are reads: they never touch a value's LRU clock. The
 * other MEMORY subcommands, which concern the server and no key, are in
 * src/servercmd/cmd_memory.c.
 */
#include <limits.h>

#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "base/util.h"
#include "cmd/rows.h"

#define MEMORY_SAMPLES_DEFAULT 5
#define SHARED_INTEGERS 10000 /* Redis shares the integers 0..9999 */
#define SHARED_REFCOUNT 2147483647

/* The live value at argv[2], or NULL after replying null. */
static const struct kv_val *peek(struct cmd_ctx *c)
{
    const struct kv_val *v = kv_lookup_peek(c->kv, c->argv[2].ptr, c->argv[2].len, c->now_ms);
    if (!v) resp_add_null(c->out);
    return v;
}

static void cmd_object_encoding(struct cmd_ctx *c)
{
    const struct kv_val *v = peek(c);
    if (v) resp_add_bulk_cstr(c->out, kv_encoding_name(c->kv, v));
}

/* raftcache shares no values, but redis-server reports its shared integers
 * (0..9999, unless maxmemory with an LRU/LFU policy needs per-key metadata) as referenced
 * INT_MAX times; tools and tests read that, so it is reported the same. */
static void cmd_object_refcount(struct cmd_ctx *c)
{
    const struct kv_val *v = peek(c);
    if (!v) return;
    long long n;
    int shared = !c->kv->common->access.evicts_by_access && v->type == KV_STRING &&
                 v->enc != KV_ENC_RAW && util_str2ll(v->data, v->len, &n) && n >= 0 &&
                 n < SHARED_INTEGERS;
    resp_add_int(c->out, shared ? SHARED_REFCOUNT : 1);
}

#define POLICY_SWITCH_NOTE                                                                         \
    "Please note that when switching between policies at runtime LRU and LFU data will take "      \
    "some time to adjust."

static void cmd_object_idletime(struct cmd_ctx *c)
{
    const struct kv_val *v = peek(c);
    if (!v) return;
    if (c->kv->common->access.lfu) {
        resp_add_error(
            c->out,
            "ERR An LFU maxmemory policy is selected, idle time not tracked. " POLICY_SWITCH_NOTE);
        return;
    }
    resp_add_int(c->out, (long long)kv_idle_seconds(c->kv, v));
}

/* The access frequency an *-lfu policy keeps (src/keyspace/kv.h), decayed to now. */
static void cmd_object_freq(struct cmd_ctx *c)
{
    const struct kv_val *v = peek(c);
    if (!v) return;
    if (!c->kv->common->access.lfu) {
        resp_add_error(c->out, "ERR An LFU maxmemory policy is not selected, access frequency not "
                               "tracked. " POLICY_SWITCH_NOTE);
        return;
    }
    resp_add_int(c->out, (long long)kv_lfu_counter(c->kv, v));
}

static void cmd_object_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

void cmd_memory_usage(struct cmd_ctx *c)
{
    long long samples = MEMORY_SAMPLES_DEFAULT;
    for (int j = 3; j < c->argc; j++) {
        if (cmd_arg_is(&c->argv[j], "samples") && j + 1 < c->argc) {
            if (cmd_arg_ll(c, ++j, &samples) < 0) return;
            if (samples < 0) {
                resp_add_error(c->out, ERR_SYNTAX);
                return;
            }
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return;
        }
    }
    const struct kv_val *v = peek(c);
    if (v)
        resp_add_int(c->out, (long long)kv_memory_usage(c->kv, v, c->argv[2].len, (size_t)samples));
}

static const struct command object_subcommands[] = {
    {"object|encoding", 3, R, 2, 2, 1, cmd_object_encoding, "generic", "2.2.3",
     "Returns the internal encoding of a Redis object.", "key", "keyspace read slow", NULL,
     .key_flags = "RO"},
    {"object|refcount", 3, R, 2, 2, 1, cmd_object_refcount, "generic", "2.2.3",
     "Returns the reference count of a value of a key.", "key", "keyspace read slow", NULL,
     .key_flags = "RO"},
    {"object|idletime", 3, R | CMD_RANDOM, 2, 2, 1, cmd_object_idletime, "generic", "2.2.3",
     "Returns the time since the last access to a Redis object.", "key", "keyspace read slow", NULL,
     .key_flags = "RO"},
    {"object|freq", 3, R | CMD_RANDOM, 2, 2, 1, cmd_object_freq, "generic", "4.0.0",
     "Returns the logarithmic access frequency counter of a Redis object.", "key",
     "keyspace read slow", NULL, .key_flags = "RO"},
    {"object|help", 2, LD | ST, 0, 0, 0, cmd_object_help, "generic", "6.2.0",
     "Returns helpful text about the different subcommands.", NULL, "keyspace slow", NULL},
    CMD_ROWS_END,
};

/* OBJECT's row (src/cmd/cmd.h has the columns; arity, flags, keys and ACL
 * categories are Redis 7.0's). */
const struct command cmd_table_object[] = {
    {"object", -2, CMD_CONTAINER, 0, 0, 0, NULL, "generic", "2.2.3",
     "A container for object introspection commands.", NULL, "slow", object_subcommands},
    CMD_ROWS_END,
};
