/*
 * src/servercmd/cmd_debug.c - DEBUG (see cmd_debug.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
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

/* A positive count or size argument, as Redis's getPositiveLongFromObjectOrReply
 * (one error for a non-number and a negative one): 0, or -1 after replying. */
static int positive_arg(struct cmd_ctx *c, const struct resp_arg *a, long long *out)
{
    if (util_str2ll(a->ptr, a->len, out) && *out >= 0) return 0;
    resp_add_error(c->out, "ERR value is out of range, must be positive");
    return -1;
}

/* DEBUG POPULATE count [prefix [size]]: Redis's keys <prefix>:0 ..
 * <prefix>:<count - 1> ("key" by default; a name cut at 127 bytes, as
 * Redis's buffer cuts it) that do not exist yet, each the string
 * "value:<j>", cut or padded with zero bytes to size when size is given,
 * in the selected database. A write through the log (debug_call_flags):
 * every node makes the same keys when it applies the entry. A size over
 * proto-max-bulk-len is refused, as a value that large is anywhere. */
static void debug_populate(struct cmd_ctx *c)
{
    long long keys, size = 0;
    if (positive_arg(c, &c->argv[2], &keys) != 0) return;
    if (c->argc == 5 && positive_arg(c, &c->argv[4], &size) != 0) return;
    if ((unsigned long long)size > c->dbs->common.max_value_len) {
        resp_add_error(c->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
    }
    ASSERT(c->applying);
    const struct resp_arg prefix = c->argc >= 4 ? c->argv[3] : (struct resp_arg){"key", 3};
    char key[128], head[32];
    char *val = size ? calloc(1, (size_t)size) : NULL;
    if (size && !val) {
        resp_add_error(c->out, "ERR out of memory");
        return;
    }
    for (long long j = 0; j < keys; j++) {
        int klen = snprintf(key, sizeof key, "%.*s:%lld",
                            (int)(prefix.len > 127 ? 127 : prefix.len), prefix.ptr, j);
        size_t kn = klen < (int)sizeof key ? (size_t)klen : sizeof key - 1;
        if (kv_lookup_write(c->kv, key, kn, c->now_ms, 0)) continue;
        size_t hn = (size_t)snprintf(head, sizeof head, "value:%lld", j);
        if (!size) {
            kv_set(c->kv, key, kn, head, hn, KV_NO_EXPIRE, c->now_ms);
            continue;
        }
        memcpy(val, head, hn < (size_t)size ? hn : (size_t)size);
        kv_set(c->kv, key, kn, val, (size_t)size, KV_NO_EXPIRE, c->now_ms);
    }
    free(val);
    resp_add_simple(c->out, "OK");
}

/* POPULATE writes: through the log; the other subcommands read. */
static uint32_t debug_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                                 uint32_t flags)
{
    (void)srv;
    if (argc >= 3 && argc <= 5 && cmd_arg_is(&argv[1], "populate"))
        return flags | CMD_WRITE | CMD_KEYLESS_WRITE | CMD_DENYOOM;
    return flags;
}

/* The same for the apply, which runs a row without CMD_WRITE only when
 * this says the call writes (src/sm/sm.c). */
static int debug_writes(struct kv *kv, int argc, const struct resp_arg *argv, int64_t now_ms)
{
    (void)kv;
    (void)now_ms;
    return (debug_call_flags(NULL, argc, argv, 0) & CMD_WRITE) != 0;
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
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. They go through the Raft log:",
        "    every node of the cluster creates them.",
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
    } else if (c->argc >= 3 && c->argc <= 5 && cmd_arg_is(sub, "populate")) {
        debug_populate(c);
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
     "A container for debugging commands", NULL, "admin slow dangerous", NULL, NULL, NULL,
     debug_writes, debug_call_flags},
    CMD_ROWS_END,
};
