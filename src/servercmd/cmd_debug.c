/*
 * src/servercmd/cmd_debug.c - DEBUG (see cmd_debug.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "cmd/rows.h"
#include "ds/quicklist.h"
#include "keyspace/dbs.h"
#include "keyspace/digest.h"
#include "keyspace/kv.h"
#include "raft/raft_assert.h"
#include "rdb/rdb_value.h"
#include "servercmd/cmd_debug.h"

static void reply_digest(struct cmd_ctx *c, const unsigned char d[DIGEST_LEN])
{
    char hex[DIGEST_HEX_LEN + 1];
    digest_hex(d, hex);
    resp_add_simple(c->out, hex);
}

static void debug_digest(struct cmd_ctx *c)
{
    unsigned char sum[DIGEST_LEN];
    ASSERT(c->dbs);
    kv_dbs_digest(c->dbs, sum);
    reply_digest(c, sum);
}

/* DEBUG DIGEST-VALUE key...: one digest per key, of its value alone
 * (zeros when not stored). */
static void debug_digest_value(struct cmd_ctx *c)
{
    resp_add_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        unsigned char d[DIGEST_LEN] = {0};
        const struct kv_val *v = kv_lookup_stored(c->kv, c->argv[j].ptr, c->argv[j].len);
        if (v) kv_digest_value(c->kv, v, d);
        reply_digest(c, d);
    }
}

/* DEBUG SLEEP seconds: the whole node sleeps (Redis's: a number as strtod
 * reads it, fractions allowed; one it cannot read sleeps 0). */
static void debug_sleep(struct cmd_ctx *c)
{
    char buf[64];
    size_t n = c->argv[2].len < sizeof buf - 1 ? c->argv[2].len : sizeof buf - 1;
    memcpy(buf, c->argv[2].ptr, n);
    buf[n] = 0;
    double s = strtod(buf, NULL);
    if (isfinite(s) && s > 0) {
        if (s > 1e9) s = 1e9; /* some 31 years: time_t holds it */
        struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
    resp_add_simple(c->out, "OK");
}

/* DEBUG OBJECT key: Redis 7.0's line about the stored value (an expired
 * key not yet deleted included): its address, encoding, the length of its
 * RDB serialization (the type byte aside, compressed as DUMP compresses),
 * its access record and, for a list, its nodes. raftcache shares no
 * value, so the reference count is always 1. */
static void debug_object(struct cmd_ctx *c)
{
    const struct kv_val *v = kv_lookup_stored(c->kv, c->argv[2].ptr, c->argv[2].len);
    if (!v) {
        resp_add_error(c->out, ERR_NO_KEY);
        return;
    }
    struct text body = {0};
    rdb_put_value(&body, v, 1);
    char extra[160] = "";
    if (v->type == KV_LIST) {
        const struct quicklist *ql = kv_val_obj(v);
        snprintf(extra, sizeof extra,
                 " ql_nodes:%zu ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d "
                 "ql_uncompressed_size:%zu",
                 ql->nodes, ql->nodes ? (double)ql->count / (double)ql->nodes : 0.0, ql->fill,
                 ql->depth != 0, ql_listpack_bytes(ql));
    }
    char line[400];
    snprintf(line, sizeof line,
             "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u "
             "lru_seconds_idle:%llu%s",
             (const void *)v, kv_encoding_name(c->kv, v), body.len - 1, (unsigned)v->lru,
             (unsigned long long)kv_idle_seconds(c->kv, v), extra);
    free(text_take(&body));
    resp_add_simple(c->out, line);
}

static void debug_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "HELP",
        "    Prints this help.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

static void cmd_debug(struct cmd_ctx *c)
{
    const struct resp_arg *sub = &c->argv[1];
    if (c->argc == 2 && cmd_arg_is(sub, "help")) {
        debug_help(c);
    } else if (c->argc == 2 && cmd_arg_is(sub, "digest")) {
        debug_digest(c);
    } else if (cmd_arg_is(sub, "digest-value")) {
        debug_digest_value(c);
    } else if (c->argc == 3 && cmd_arg_is(sub, "object")) {
        debug_object(c);
    } else if (c->argc == 3 && cmd_arg_is(sub, "sleep")) {
        debug_sleep(c);
    } else {
        resp_add_errorf(c->out,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                        "DEBUG HELP.",
                        (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
    }
}

/* DEBUG's row (src/cmd/cmd.h has the columns; arity, flags, keys and ACL
 * categories are Redis 7.0's). */
const struct command cmd_table_debug[] = {
    {"debug", -2, ADM | NS | LD | ST | CMD_PROTECTED, 0, 0, 0, cmd_debug, "server", "1.0.0",
     "A container for debugging commands", NULL, "admin slow dangerous", NULL},
    CMD_ROWS_END,
};
