/*
 * src/types/cmd_keys.c - the generic keyspace commands: DEL, UNLINK, EXISTS, TOUCH,
 * KEYS, SCAN, TYPE, RENAME(NX), RANDOMKEY, COPY, MOVE, SWAPDB, DBSIZE,
 * FLUSHDB, FLUSHALL, replying exactly as Redis 7.0 does.
 *
 * These work on every type: TYPE names it (src/keyspace/types.h), COPY deep-copies
 * it (kv_copy), DEL/UNLINK free large values off the loop (src/base/lazyfree.h).
 * A command runs in its client's database (cmd_ctx.kv); COPY ... DB, MOVE,
 * SWAPDB and FLUSHALL reach the others through cmd_ctx.dbs. Unlike Redis
 * Cluster, raftcache's cluster mode keeps the numbered databases (as
 * Valkey 9 does), so none of them is refused there.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "base/glob.h"
#include "cmd/cmdarg.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "base/util.h"
#include "cmd/rows.h"

/* DEL and UNLINK: both free a value with many elements on the lazyfree
 * thread (src/base/lazyfree.h), small ones at once, as Redis's lazyfree-lazy-user-del. */
static void del_generic(struct cmd_ctx *c)
{
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++) {
        if (!kv_delete(c->kv, c->argv[j].ptr, c->argv[j].len, c->now_ms)) continue;
        cmd_notify(c, NOTIFY_GENERIC, "del", &c->argv[j]);
        deleted++;
    }
    resp_add_int(c->out, deleted);
}

static void cmd_del(struct cmd_ctx *c)
{
    del_generic(c);
}

/* RAFTCACHE.EVICT allkeys|volatile key [key ...]: the leader's eviction
 * (src/sm/evict.h) as every replica applies it. Only the leader writes it, into
 * the log; a client that sends it is refused. Replies the keys evicted. */
void cmd_evict(struct cmd_ctx *c)
{
    int vol = cmd_arg_is(&c->argv[1], "volatile");
    if (!c->applying || (!vol && !cmd_arg_is(&c->argv[1], "allkeys"))) {
        resp_add_error(c->out, "ERR RAFTCACHE.EVICT is internal");
        return;
    }
    long long evicted = 0;
    for (int j = 2; j < c->argc; j++)
        evicted += kv_evict(c->kv, c->argv[j].ptr, c->argv[j].len, vol, c->now_ms);
    resp_add_int(c->out, evicted);
}

static void cmd_unlink(struct cmd_ctx *c)
{
    del_generic(c);
}

/* EXISTS and TOUCH: live keys among the arguments, duplicates counted.
 * Only TOUCH touches their LRU clock (EXISTS looks, as Redis's
 * LOOKUP_NOTOUCH). */
static void count_existing(struct cmd_ctx *c, int touch)
{
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        const struct resp_arg *k = &c->argv[j];
        n += (touch ? kv_lookup_read(c->kv, k->ptr, k->len, c->now_ms)
                    : kv_lookup_notouch(c->kv, k->ptr, k->len, c->now_ms)) != NULL;
    }
    resp_add_int(c->out, n);
}

static void cmd_exists(struct cmd_ctx *c)
{
    count_existing(c, 0);
}

static void cmd_touch(struct cmd_ctx *c)
{
    count_existing(c, 1);
}

static void cmd_type(struct cmd_ctx *c)
{
    const struct kv_val *v = kv_lookup_notouch(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    resp_add_simple(c->out, v ? kv_type_name(c->kv, v) : "none");
}

static void cmd_dbsize(struct cmd_ctx *c)
{
    resp_add_int(c->out, (long long)kv_size(c->kv));
}

/* --- KEYS --- */

struct keys_walk {
    struct cmd_ctx *c;
    const struct resp_arg *pat; /* NULL: "*" matches everything */
    long n;
};

static void keys_visit(void *ud, const char *key, size_t klen, const struct kv_val *v)
{
    struct keys_walk *w = ud;
    if (kv_val_expired(v, w->c->now_ms)) return;
    if (w->pat && !glob_match(w->pat->ptr, w->pat->len, key, klen, 0)) return;
    resp_add_bulk(w->c->out, key, klen);
    w->n++;
}

/* A bare "*" matches every key, even "" (the matcher alone would not). */
static const struct resp_arg *pattern_or_all(const struct resp_arg *pat)
{
    return pat->len == 1 && pat->ptr[0] == '*' ? NULL : pat;
}

void cmd_keys(struct cmd_ctx *c)
{
    struct keys_walk w = {c, pattern_or_all(&c->argv[1]), 0};
    resp_deferred d = resp_add_deferred(c->out);
    kv_foreach(c->kv, keys_visit, &w);
    resp_set_deferred_array_len(c->out, d, w.n);
}

/* --- SCAN --- */

struct scan_key {
    const char *ptr;
    size_t len;
};

struct scan_walk {
    struct kv *kv;
    int64_t now_ms;
    const struct cmd_scan_opts *o;
    long long seen;        /* keys met, filtered or not: what COUNT bounds */
    struct scan_key *keys; /* the ones that pass the filters */
    size_t n, cap;
};

/* Filters in Redis's order: pattern, then type (a lookup that counts as a
 * hit or miss), then expiry. */
static void scan_visit(void *ud, const char *key, size_t klen, const struct kv_val *v)
{
    struct scan_walk *w = ud;
    int expired = kv_val_expired(v, w->now_ms);
    w->seen++;
    if (w->o->pat && !glob_match(w->o->pat->ptr, w->o->pat->len, key, klen, 0)) return;
    if (w->o->type) {
        if (expired)
            w->kv->common->keyspace_misses++;
        else
            w->kv->common->keyspace_hits++;
        if (!cmd_arg_is(w->o->type, expired ? "none" : kv_type_name(w->kv, v))) return;
    }
    if (expired) return;
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->keys = util_xrealloc(w->keys, w->cap * sizeof *w->keys);
    }
    w->keys[w->n++] = (struct scan_key){key, klen};
}

static void cmd_scan(struct cmd_ctx *c)
{
    uint64_t cursor;
    struct cmd_scan_opts o;
    if (!cmd_scan_cursor(c, 1, &cursor) || cmd_scan_opts(c, 2, 1, &o) < 0) return;
    /* Like Redis: stop after COUNT keys or 10*COUNT buckets, whichever first,
     * so a sparse table cannot make one call walk all of it. */
    long long max_steps = o.count > LLONG_MAX / 10 ? LLONG_MAX : o.count * 10;
    struct scan_walk w = {c->kv, c->now_ms, &o, 0, NULL, 0, 0};
    do {
        cursor = kv_scan(c->kv, cursor, scan_visit, &w);
    } while (cursor && max_steps-- && w.seen < o.count);
    resp_deferred d = cmd_scan_reply_begin(c, cursor);
    resp_set_deferred_array_len(c->out, d, (long)w.n);
    for (size_t i = 0; i < w.n; i++)
        resp_add_bulk(c->out, w.keys[i].ptr, w.keys[i].len);
    free(w.keys);
}

/* --- RENAME / RANDOMKEY / COPY / FLUSH --- */

static int same_key(const struct resp_arg *a, const struct resp_arg *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* RENAME k k is OK (RENAMENX: 0) if k exists, "no such key" if not; the
 * destination is replaced (RENAMENX: left alone, 0) and the TTL moves along. */
static void rename_generic(struct cmd_ctx *c, int nx)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    if (!kv_lookup_write(c->kv, src->ptr, src->len, c->now_ms, 0)) {
        resp_add_error(c->out, ERR_NO_KEY);
        return;
    }
    int done = !same_key(src, dst);
    if (done && kv_lookup_write(c->kv, dst->ptr, dst->len, c->now_ms, 0)) {
        if (nx) done = 0;
    }
    if (done) {
        kv_rename(c->kv, src->ptr, src->len, dst->ptr, dst->len);
        cmd_notify(c, NOTIFY_GENERIC, "rename_from", src);
        cmd_notify(c, NOTIFY_GENERIC, "rename_to", dst);
    }
    if (nx)
        resp_add_int(c->out, done);
    else
        resp_add_simple(c->out, "OK");
}

static void cmd_rename(struct cmd_ctx *c)
{
    rename_generic(c, 0);
}

static void cmd_renamenx(struct cmd_ctx *c)
{
    rename_generic(c, 1);
}

static void cmd_randomkey(struct cmd_ctx *c)
{
    size_t len;
    const char *key = kv_random_key(c->kv, c->now_ms, &len);
    if (key)
        resp_add_bulk(c->out, key, len);
    else
        resp_add_null(c->out);
}

/* Returns 1 if REPLACE was given, 0 if not, -1 after replying an error;
 * *db gets the destination database (the call's unless DB names one). */
static int copy_parse(struct cmd_ctx *c, int *dstdb)
{
    int replace = 0;
    *dstdb = c->kv->id;
    for (int j = 3; j < c->argc; j++) {
        if (cmd_arg_is(&c->argv[j], "replace")) {
            replace = 1;
        } else if (cmd_arg_is(&c->argv[j], "db") && j + 1 < c->argc) {
            long long db;
            j++;
            if (!util_str2ll(c->argv[j].ptr, c->argv[j].len, &db)) {
                resp_add_error(c->out, ERR_NOT_INT);
                return -1;
            }
            if (db < INT_MIN || db > INT_MAX) {
                resp_add_errorf(c->out, "ERR value is out of range, value must between %d and %d",
                                INT_MIN, INT_MAX);
                return -1;
            }
            *dstdb = cmd_db_index(&c->argv[j], c->dbs->n);
            if (*dstdb < 0) {
                resp_add_error(c->out, "ERR DB index is out of range");
                return -1;
            }
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return replace;
}

static void cmd_copy(struct cmd_ctx *c)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    int dstdb;
    int replace = copy_parse(c, &dstdb);
    if (replace < 0) return;
    struct kv *to = kv_db(c->dbs, dstdb);
    if (to == c->kv && same_key(src, dst)) {
        resp_add_error(c->out, "ERR source and destination objects are the same");
        return;
    }
    const struct kv_val *v = kv_lookup_write(c->kv, src->ptr, src->len, c->now_ms, KV_LOOKUP_STATS);
    int dst_exists = v && kv_lookup_write(to, dst->ptr, dst->len, c->now_ms, 0);
    if (!v || (dst_exists && !replace)) {
        resp_add_int(c->out, 0);
        return;
    }
    /* v stays valid: the dst lookup and delete touch dst, a different key
     * (or another database's). A replaced dst goes first, so the copy is a
     * new key (Redis's "new"). */
    if (dst_exists) kv_delete(to, dst->ptr, dst->len, c->now_ms);
    kv_copy(to, v, dst->ptr, dst->len, v->expire_ms, c->now_ms);
    cmd_notify_db(c, dstdb, NOTIFY_GENERIC, "copy_to", dst);
    resp_add_int(c->out, 1);
}

/* MOVE key db: the key goes to another database, with its TTL, unless it
 * is there already. */
static void cmd_move(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    int dstdb = cmd_arg_db(c, 2);
    if (dstdb < 0) return;
    struct kv *to = kv_db(c->dbs, dstdb);
    if (to == c->kv) {
        resp_add_error(c->out, "ERR source and destination objects are the same");
        return;
    }
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (!v || kv_lookup_write(to, key->ptr, key->len, c->now_ms, 0)) {
        resp_add_int(c->out, 0);
        return;
    }
    kv_copy(to, v, key->ptr, key->len, v->expire_ms, c->now_ms);
    kv_delete(c->kv, key->ptr, key->len, c->now_ms);
    cmd_notify(c, NOTIFY_GENERIC, "move_from", key);
    cmd_notify_db(c, dstdb, NOTIFY_GENERIC, "move_to", key);
    resp_add_int(c->out, 1);
}

/* SWAPDB a b: every client of a sees b's keys and the reverse (the
 * databases trade places; WATCH and blocked clients stay with their
 * numbers, src/keyspace/dbs.h). */
static void cmd_swapdb(struct cmd_ctx *c)
{
    long long n;
    static const char *const invalid[2] = {"ERR invalid first DB index",
                                           "ERR invalid second DB index"};
    int db[2];
    for (int i = 0; i < 2; i++) {
        if (!util_str2ll(c->argv[1 + i].ptr, c->argv[1 + i].len, &n) || n < INT_MIN ||
            n > INT_MAX) {
            resp_add_error(c->out, invalid[i]);
            return;
        }
        db[i] = cmd_db_index(&c->argv[1 + i], c->dbs->n);
    }
    if (db[0] < 0 || db[1] < 0) {
        resp_add_error(c->out, "ERR DB index is out of range");
        return;
    }
    kv_dbs_swap(c->dbs, db[0], db[1]);
    resp_add_simple(c->out, "OK");
}

/* FLUSHDB and FLUSHALL's argument: ASYNC and SYNC are accepted (the flush
 * is synchronous either way, large values freed off the loop). 0, or -1
 * after replying the error. */
static int flush_arg(struct cmd_ctx *c)
{
    if (c->argc > 2 ||
        (c->argc == 2 && !cmd_arg_is(&c->argv[1], "sync") && !cmd_arg_is(&c->argv[1], "async"))) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    return 0;
}

static void cmd_flushdb(struct cmd_ctx *c)
{
    if (flush_arg(c) < 0) return;
    kv_flush(c->kv);
    resp_add_simple(c->out, "OK");
}

static void cmd_flushall(struct cmd_ctx *c)
{
    if (flush_arg(c) < 0) return;
    kv_dbs_flush(c->dbs);
    resp_add_simple(c->out, "OK");
}

/* The generic keyspace commands' rows (src/cmd/cmd.h has the columns; arity, flags, keys and ACL
 * categories are Redis 7.0's). */
const struct command cmd_table_keys[] = {
    {"del", -2, W | CMD_ABSENT_NOOP, 1, -1, 1, cmd_del, "generic", "1.0.0",
     "Deletes one or more keys.", "key [key ...]", "keyspace write slow", NULL,
     .key_flags = "RM delete"},
    {"unlink", -2, W | F | CMD_ABSENT_NOOP, 1, -1, 1, cmd_unlink, "generic", "4.0.0",
     "Asynchronously deletes one or more keys.", "key [key ...]", "keyspace write fast", NULL,
     .key_flags = "RM delete"},
    {"exists", -2, R | F, 1, -1, 1, cmd_exists, "generic", "1.0.0",
     "Determines whether one or more keys exist.", "key [key ...]", "keyspace read fast", NULL,
     .key_flags = "RO"},
    {"keys", 2, R | CMD_UNORDERED, 0, 0, 0, cmd_keys, "generic", "1.0.0",
     "Returns all key names that match a pattern.", "pattern", "keyspace read slow dangerous",
     NULL},
    {"scan", -2, R | CMD_RANDOM, 0, 0, 0, cmd_scan, "generic", "2.8.0",
     "Iterates over the key names in the database.",
     "cursor [MATCH pattern] [COUNT count] [TYPE type]", "keyspace read slow", NULL},
    {"type", 2, R | F, 1, 1, 1, cmd_type, "generic", "1.0.0",
     "Determines the type of value stored at a key.", "key", "keyspace read fast", NULL,
     .key_flags = "RO"},
    {"rename", 3, W, 1, 2, 1, cmd_rename, "generic", "1.0.0",
     "Renames a key and overwrites the destination.", "key newkey", "keyspace write slow", NULL,
     .key_flags = "RW access delete|OW update"},
    {"renamenx", 3, W | F, 1, 2, 1, cmd_renamenx, "generic", "1.0.0",
     "Renames a key only when the target key name doesn't exist.", "key newkey",
     "keyspace write fast", NULL, .key_flags = "RW access delete|OW insert"},
    {"randomkey", 1, R | CMD_RANDOM, 0, 0, 0, cmd_randomkey, "generic", "1.0.0",
     "Returns a random key name from the database.", NULL, "keyspace read slow", NULL},
    {"touch", -2, R | F, 1, -1, 1, cmd_touch, "generic", "3.2.1",
     "Returns the number of existing keys out of those specified after updating the time they were "
     "last accessed.",
     "key [key ...]", "keyspace read fast", NULL, .key_flags = "RO"},
    {"copy", -3, W | OOM, 1, 2, 1, cmd_copy, "generic", "6.2.0",
     "Copies the value of a key to a new key.", "source destination [DB destination-db] [REPLACE]",
     "keyspace write slow", NULL, .key_flags = "RO access|OW update"},
    {"move", 3, W | F, 1, 1, 1, cmd_move, "generic", "1.0.0", "Moves a key to another database.",
     "key db", "keyspace write fast", NULL, .key_flags = "RW access update"},
    {"swapdb", 3, W | F | CMD_KEYLESS_WRITE, 0, 0, 0, cmd_swapdb, "server", "4.0.0",
     "Swaps two Redis databases.", "index1 index2", "keyspace write fast dangerous", NULL},
    {"dbsize", 1, R | F, 0, 0, 0, cmd_dbsize, "server", "1.0.0",
     "Returns the number of keys in the database.", NULL, "keyspace read fast", NULL},
    {"flushdb", -1, W | CMD_KEYLESS_WRITE, 0, 0, 0, cmd_flushdb, "server", "1.0.0",
     "Remove all keys from the current database.", "[ASYNC|SYNC]:async",
     "keyspace write slow dangerous", NULL},
    {"flushall", -1, W | CMD_KEYLESS_WRITE, 0, 0, 0, cmd_flushall, "server", "1.0.0",
     "Removes all keys from all databases.", "[ASYNC|SYNC]:async", "keyspace write slow dangerous",
     NULL},
    CMD_ROWS_END,
};
