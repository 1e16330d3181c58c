/*
 * src/rdb/cmd_dump.c - DUMP and RESTORE (see cmd_dump.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc64.h"
#include "base/le.h"
#include "base/util.h"
#include "cmd/cmdarg.h"
#include "cmd/rows.h"
#include "rdb/cmd_dump.h"
#include "rdb/rdb_io.h"
#include "rdb/rdb_load.h"
#include "rdb/rdb_value.h"

void rdb_dump_payload(struct text *out, const struct kv_val *v)
{
    size_t start = out->len;
    rdb_put_value(out, v, 1);
    unsigned char footer[10];
    footer[0] = RDB_VERSION & 0xff;
    footer[1] = (RDB_VERSION >> 8) & 0xff;
    text_put(out, (const char *)footer, 2);
    le_put64(footer, crc64(0, out->p + start, out->len - start));
    text_put(out, (const char *)footer, 8);
}

static void cmd_dump(struct cmd_ctx *c)
{
    const struct kv_val *v = kv_lookup_peek(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    struct text payload = {0};
    rdb_dump_payload(&payload, v);
    resp_add_bulk(c->out, payload.p, payload.len);
    free(text_take(&payload));
}

int rdb_payload_check(const void *payload, size_t len)
{
    const unsigned char *p = payload;
    if (len < RDB_FOOTER_LEN) return -1;
    const unsigned char *footer = p + len - RDB_FOOTER_LEN;
    if ((footer[0] | (unsigned)footer[1] << 8) > RDB_VERSION) return -1;
    return crc64(0, p, len - 8) == le_get64(footer + 2) ? 0 : -1;
}

/* RESTORE's options after the payload. */
struct restore_opts {
    int replace, absttl;
    long long idle, freq; /* -1: not given */
};

/* argv[4..] into o; else replies Redis's error and returns -1. IDLETIME
 * and FREQ exclude each other, as in Redis (the second is a syntax error). */
static int restore_opts(struct cmd_ctx *c, struct restore_opts *o)
{
    *o = (struct restore_opts){0, 0, -1, -1};
    for (int j = 4; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        int more = j + 1 < c->argc;
        if (cmd_arg_is(a, "replace")) {
            o->replace = 1;
        } else if (cmd_arg_is(a, "absttl")) {
            o->absttl = 1;
        } else if (cmd_arg_is(a, "idletime") && more && o->freq == -1) {
            if (cmd_arg_ll(c, ++j, &o->idle) < 0) return -1;
            if (o->idle < 0) {
                resp_add_error(c->out, "ERR Invalid IDLETIME value, must be >= 0");
                return -1;
            }
        } else if (cmd_arg_is(a, "freq") && more && o->idle == -1) {
            if (cmd_arg_ll(c, ++j, &o->freq) < 0) return -1;
            if (o->freq < 0 || o->freq > 255) {
                resp_add_error(c->out, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return -1;
            }
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* A value's type byte and body (len bytes at p, nothing after them) under
 * the keyspace's limits: 0 and *val, or -1 (the reason to the debug log). */
static int decode_body(struct cmd_ctx *c, const char *p, size_t len, struct rdb_value *val)
{
    struct rdb_in in;
    char err[128];
    rdb_in_init(&in, p, len, c->kv->common->max_value_len);
    if (rdb_get_value(&in, &c->kv->common->limits, val, err, sizeof err) == 0 && in.p == in.end)
        return 0;
    rdb_value_free(val);
    return -1;
}

/* The payload's value; else replies Redis's error and returns -1. */
static int restore_value(struct cmd_ctx *c, struct rdb_value *val)
{
    const struct resp_arg *p = &c->argv[3];
    if (rdb_payload_check(p->ptr, p->len) != 0) {
        resp_add_error(c->out, "ERR DUMP payload version or checksum are wrong");
        return -1;
    }
    if (decode_body(c, p->ptr, p->len - RDB_FOOTER_LEN, val) == 0) return 0;
    resp_add_error(c->out, "ERR Bad data format");
    return -1;
}

/* The restored value stored as key with expire_ms; val is handed over. */
static void restore_store(struct cmd_ctx *c, const struct resp_arg *key, struct rdb_value *val,
                          int64_t expire_ms, const struct restore_opts *o)
{
    if (val->type == KV_STRING)
        kv_set(c->kv, key->ptr, key->len, val->str, val->len, expire_ms, c->now_ms);
    else
        kv_set_obj(c->kv, key->ptr, key->len, val->type, val->obj, expire_ms, c->now_ms);
    if (val->type != KV_STRING) val->obj = NULL;
    rdb_value_free(val);
    struct kv_val *v = kv_lookup_notouch(c->kv, key->ptr, key->len, c->now_ms);
    if (v) kv_val_set_access(c->kv, v, o->idle, (int)o->freq);
    cmd_notify(c, NOTIFY_GENERIC, "restore", key);
}

/* val (handed over) as key, expiring at the absolute ttl_ms (0: never),
 * the key deleted first with REPLACE. A TTL already past creates nothing.
 * Returns 1 if the key was stored. */
static int restore_put(struct cmd_ctx *c, const struct resp_arg *key, struct rdb_value *val,
                       long long ttl_ms, const struct restore_opts *o)
{
    int deleted = o->replace && kv_delete(c->kv, key->ptr, key->len, c->now_ms);
    if (ttl_ms && ttl_ms <= c->now_ms) {
        rdb_value_free(val);
        if (deleted) cmd_notify(c, NOTIFY_GENERIC, "del", key);
        return 0;
    }
    restore_store(c, key, val, ttl_ms ? ttl_ms : KV_NO_EXPIRE, o);
    return 1;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], with
 * Redis 7.0's checks in its order. A TTL already past (ABSTTL) creates
 * nothing and replies OK, deleting the key REPLACE named. */
static void cmd_restore(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct restore_opts o;
    long long ttl;
    if (restore_opts(c, &o) < 0) return;
    if (!o.replace && kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0)) {
        resp_add_error(c->out, "BUSYKEY Target key name already exists.");
        return;
    }
    if (cmd_arg_ll(c, 2, &ttl) < 0) return;
    if (ttl < 0 || (ttl && !o.absttl && ttl > INT64_MAX - c->now_ms)) {
        resp_add_error(c->out, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    struct rdb_value val;
    if (restore_value(c, &val) < 0) return;
    if (ttl && !o.absttl) ttl += c->now_ms;
    restore_put(c, key, &val, ttl, &o);
    resp_add_simple(c->out, "OK");
}

/* RAFTCACHE.IMPORT replace (key expire body)...: the records of a dump.rdb
 * (src/server/import.h), each as RESTORE key expire body-with-footer
 * ABSTTL [REPLACE] would store it (expire -1: none). Without REPLACE a key
 * that exists is left as it is (a client wrote it during the import).
 * Replies the number of keys stored; nobody reads it but the debug log. */
static void cmd_import_records(struct cmd_ctx *c)
{
    if (!c->applying || (c->argc - 2) % RDB_IMPORT_ARGS_PER_KEY != 0) {
        resp_add_error(c->out, "ERR RAFTCACHE.IMPORT is internal");
        return;
    }
    struct restore_opts o = {cmd_arg_is(&c->argv[1], "1"), 1, -1, -1};
    long long stored = 0;
    for (int j = 2; j < c->argc; j += RDB_IMPORT_ARGS_PER_KEY) {
        const struct resp_arg *key = &c->argv[j], *body = &c->argv[j + 2];
        long long expire;
        if (!util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &expire)) continue;
        if (!o.replace && kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0)) continue;
        struct rdb_value val;
        if (decode_body(c, body->ptr, body->len, &val) != 0) continue; /* checked on the leader */
        stored += restore_put(c, key, &val, expire < 0 ? 0 : expire == 0 ? 1 : expire, &o);
    }
    resp_add_int(c->out, stored);
}

/* RESTORE with a relative TTL goes to the log with the absolute one and
 * ABSTTL (cmd.h cmd_rewrite_fn), as Redis propagates it. */
static int rewrite_restore(int argc, const struct resp_arg *argv, int64_t now_ms,
                           struct resp_arg *out, char *scratch, size_t scratch_len)
{
    long long ttl;
    if (!util_str2ll(argv[2].ptr, argv[2].len, &ttl) || ttl <= 0 || ttl > INT64_MAX - now_ms)
        return 0;
    for (int j = 4; j < argc; j++)
        if (cmd_arg_is(&argv[j], "absttl")) return 0;
    memcpy(out, argv, (size_t)argc * sizeof *argv);
    out[2] = (struct resp_arg){scratch, util_ll2str(scratch, scratch_len, now_ms + ttl)};
    out[argc] = (struct resp_arg){"ABSTTL", 6};
    return argc + 1;
}

const struct command cmd_table_dump[] = {
    {"dump", 2, R | CMD_RANDOM, 1, 1, 1, cmd_dump, "generic", "2.6.0",
     "Returns a serialized representation of the value stored at a key.", "key",
     "keyspace read slow", NULL, .key_flags = "RO access"},
    {"restore", -4, W | OOM, 1, 1, 1, cmd_restore, "generic", "2.6.0",
     "Creates a key from the serialized representation of a value.",
     "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
     "keyspace write slow dangerous", NULL, rewrite_restore, .key_flags = "OW update"},
    /* what a Redis Cluster node's MIGRATE sends: RESTORE here, where every
     * slot is this cluster's (no ASK redirection to honour) */
    {"restore-asking", -4, W | OOM, 1, 1, 1, cmd_restore, "server", "3.0.0",
     "An internal command for migrating keys in a cluster.",
     "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]",
     "keyspace write slow dangerous", NULL, rewrite_restore, .key_flags = "OW update"},
    {"raftcache.import", -5, W | NS | CMD_INTERNAL | CMD_HOUSEKEEPING, 2, -1,
     RDB_IMPORT_ARGS_PER_KEY, cmd_import_records, "raft", "0.1.0",
     "Stores records of a dump.rdb RAFT.IMPORT reads (internal).",
     "0|1 key expire value [key expire value ...]", "write", NULL},
    CMD_ROWS_END,
};
