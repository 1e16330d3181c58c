/*
 * src/servercmd/cmd_migrate.c - MIGRATE and RAFTCACHE.MIGRATED (see
 * cmd_migrate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cmd/cmdarg.h"
#include "cmd/rows.h"
#include "keyspace/kv.h"
#include "rdb/cmd_dump.h"
#include "servercmd/cmd_migrate.h"
#include "server/migrate.h"
#include "server/server.h"

/* MIGRATE's options after its fifth argument. */
struct migrate_opts {
    int copy, replace;
    const struct resp_arg *user, *password;
    int first_key, num_keys;
};

static int migrate_parse(struct cmd_ctx *c, struct migrate_opts *o)
{
    *o = (struct migrate_opts){0, 0, NULL, NULL, 3, 1};
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const struct resp_arg *a = &c->argv[j];
        if (cmd_arg_is(a, "copy")) {
            o->copy = 1;
        } else if (cmd_arg_is(a, "replace")) {
            o->replace = 1;
        } else if (cmd_arg_is(a, "auth") && more >= 1) {
            o->password = &c->argv[++j];
        } else if (cmd_arg_is(a, "auth2") && more >= 2) {
            o->user = &c->argv[++j];
            o->password = &c->argv[++j];
        } else if (cmd_arg_is(a, "keys")) {
            if (c->argv[3].len != 0) {
                resp_add_error(c->out, "ERR When using MIGRATE KEYS option, the key argument "
                                       "must be set to the empty string");
                return -1;
            }
            o->first_key = j + 1;
            o->num_keys = c->argc - j - 1;
            return 0;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* The keys of o that live here, serialized into req (as Redis: a key
 * expiring by the time it is read is left out, a TTL under 1 ms sent as
 * 1). */
static void migrate_collect(struct cmd_ctx *c, const struct migrate_opts *o,
                            struct migrate_req *req)
{
    req->keys = util_xcalloc((size_t)o->num_keys, sizeof *req->keys);
    for (int j = 0; j < o->num_keys; j++) {
        const struct resp_arg *key = &c->argv[o->first_key + j];
        const struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
        if (!v) continue;
        struct migrate_key *k = &req->keys[req->n];
        struct text payload = {0};
        rdb_dump_payload(&payload, v);
        k->plen = payload.len;
        k->payload = text_take(&payload);
        k->key = util_xmalloc(key->len + 1);
        memcpy(k->key, key->ptr, key->len);
        k->klen = key->len;
        k->expire_ms = v->expire_ms;
        k->ttl_ms = v->expire_ms == KV_NO_EXPIRE ? 0 : v->expire_ms - c->now_ms;
        if (v->expire_ms != KV_NO_EXPIRE && k->ttl_ms < 1) k->ttl_ms = 1;
        kv_digest_value(c->kv, v, k->digest);
        req->n++;
    }
}

static void cmd_migrate(struct cmd_ctx *c)
{
    struct migrate_opts o;
    long long timeout, db;
    if (!c->client || c->applying || c->in_script) {
        resp_add_error(c->out, "ERR MIGRATE is not offered inside MULTI or a script");
        return;
    }
    if (migrate_parse(c, &o) < 0 || cmd_arg_ll(c, 5, &timeout) < 0 || cmd_arg_ll(c, 4, &db) < 0)
        return;
    if (o.num_keys > MIGRATE_KEYS_MAX) {
        resp_add_errorf(c->out, "ERR MIGRATE moves at most %d keys at once", MIGRATE_KEYS_MAX);
        return;
    }
    long long port;
    const struct resp_arg *host = &c->argv[1];
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &port) || port < 1 || port > 65535 ||
        host->len == 0 || host->len >= MIGRATE_HOST_MAX) {
        resp_add_error(c->out, "IOERR error or timeout connecting to the client");
        return;
    }
    struct migrate_req req = {.port = (int)port,
                              .db = db,
                              .copy = o.copy,
                              .replace = o.replace,
                              .user = o.user,
                              .password = o.password};
    memcpy(req.host, host->ptr, host->len);
    req.timeout_ms = timeout <= 0 ? 1000 : timeout > UINT32_MAX ? UINT32_MAX : (uint32_t)timeout;
    migrate_collect(c, &o, &req);
    if (req.n == 0) {
        resp_add_simple(c->out, "NOKEY"); /* nothing to move: not an error */
        migrate_keys_free(req.keys, req.n);
        return;
    }
    migrate_start(c->srv, c->client, &req);
}

/* MIGRATE's keys: argv[3], or those after KEYS (Redis's migrateGetKeys:
 * none when KEYS comes with a key, the handler's syntax error). */
static int migrate_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    int first = 3, num = 1;
    for (int i = 6; i < argc; i++) {
        if (cmd_arg_is(&argv[i], "keys")) {
            first = i + 1;
            num = argv[3].len > 0 ? 0 : argc - first;
            break;
        }
        if (cmd_arg_is(&argv[i], "auth"))
            i++;
        else if (cmd_arg_is(&argv[i], "auth2"))
            i += 2;
    }
    int n = 0;
    for (int i = 0; i < num && n < max; i++)
        idx[n++] = first + i;
    return n;
}

/* Every key of a call has the first spec's flags, as Redis's
 * migrateGetKeys gives them (COMMAND GETKEYSANDFLAGS). */
static const char *migrate_key_flags(int argc, const struct resp_arg *argv)
{
    (void)argc;
    (void)argv;
    return "RW access delete";
}

/* MIGRATE is Redis's write (COMMAND INFO, CLIENT PAUSE WRITE hold it), but
 * is routed as a read: the leader reads the keys after a ReadIndex round
 * and proposes only the deletion (RAFTCACHE.MIGRATED). */
static uint32_t migrate_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                                   uint32_t flags)
{
    (void)srv;
    (void)argc;
    (void)argv;
    return (flags & ~(uint32_t)CMD_WRITE) | CMD_READONLY | CMD_MAY_REPLICATE;
}

/* RAFTCACHE.MIGRATED reply (key digest expire)...: each key still holding
 * the value and TTL MIGRATE sent (src/server/migrate.h) is deleted; a key
 * written meanwhile stays. Replies OK, or the error MIGRATE met (reply). */
static void cmd_migrated(struct cmd_ctx *c)
{
    if (!c->applying || (c->argc - 2) % MIGRATED_ARGS_PER_KEY != 0) {
        resp_add_error(c->out, "ERR RAFTCACHE.MIGRATED is internal");
        return;
    }
    for (int j = 2; j < c->argc; j += MIGRATED_ARGS_PER_KEY) {
        const struct resp_arg *key = &c->argv[j], *digest = &c->argv[j + 1];
        long long expire;
        if (digest->len != DIGEST_LEN ||
            !util_str2ll(c->argv[j + 2].ptr, c->argv[j + 2].len, &expire))
            continue;
        const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
        unsigned char now[DIGEST_LEN] = {0};
        if (!v || v->expire_ms != expire) continue;
        kv_digest_value(c->kv, v, now);
        if (memcmp(now, digest->ptr, DIGEST_LEN) != 0) continue;
        kv_delete(c->kv, key->ptr, key->len, c->now_ms);
        cmd_notify(c, NOTIFY_GENERIC, "del", key);
    }
    if (c->argv[1].len)
        resp_add_errorf(c->out, "%.*s", (int)c->argv[1].len, c->argv[1].ptr);
    else
        resp_add_simple(c->out, "OK");
}

const struct command cmd_table_migrate[] = {
    {"migrate", -6, W, 3, 3, 1, cmd_migrate, "generic", "2.6.0",
     "Atomically transfers a key from one Redis instance to another.",
     "host port <key|\"\">:key_or_empty_string destination-db timeout [COPY] [REPLACE] "
     "[AUTH password|AUTH2 username password]:authentication [KEYS key [key ...]]",
     "keyspace write slow dangerous", NULL, NULL, migrate_keys, .call_flags = migrate_call_flags,
     /* a follower forwards it on the client's own link: the leader holds
      * the link until the target answers, and must not hold the others' */
     .proxy = CMD_PROXY_OWN_LINK, .key_flags = "RW access delete|RW access delete incomplete",
     .key_flags_call = migrate_key_flags},
    {"raftcache.migrated", -2, W | NS | CMD_INTERNAL | CMD_HOUSEKEEPING, 2, -1,
     MIGRATED_ARGS_PER_KEY, cmd_migrated, "raft", "0.1.0",
     "Deletes the keys MIGRATE moved, if unchanged since (internal).",
     "reply [key digest expire ...]", "write", NULL},
    CMD_ROWS_END,
};
