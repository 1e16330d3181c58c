/*
 * src/types/t_zset_cmd.c - the sorted set commands on single members and on the
 * ends (Redis 7.0 replies): ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK
 * ZREVRANK ZRANDMEMBER ZSCAN. Ranges (ZRANGE and its family, ZCOUNT,
 * ZREMRANGEBY*) are in src/types/t_zset_range.c, the pops in src/types/t_zset_pop.c.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "ds/dict.h"
#include "keyspace/kv.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* --- shared by the sorted set command files (t_zset_int.h) --- */

struct kv_val *t_zset_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
    *wrong = cmd_wrongtype(c, v, KV_ZSET);
    ASSERT(*wrong || !v || v->type == KV_ZSET);
    return *wrong ? NULL : v;
}

struct kv_val *t_zset_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    *wrong = cmd_wrongtype(c, v, KV_ZSET);
    ASSERT(*wrong || !v || v->type == KV_ZSET);
    return *wrong ? NULL : v;
}

void t_zset_changed(struct cmd_ctx *c, const struct resp_arg *key, struct kv_val *v, void *zs,
                    const char *event)
{
    ASSERT(v && v->type == KV_ZSET && zs);
    kv_val_set_obj(v, zs);
    cmd_notify(c, NOTIFY_ZSET, event, key);
    if (t_zset_size(zs) == 0) {
        kv_delete(c->kv, key->ptr, key->len, c->now_ms);
        cmd_notify(c, NOTIFY_GENERIC, "del", key);
    } else {
        kv_modified(c->kv, key->ptr, key->len);
    }
}

void t_zset_reply_elem(struct resp_out *o, const struct zelem *e, int withscores, int pair)
{
    if (withscores && pair && o->proto == 3) resp_add_array_len(o, 2);
    resp_add_bulk(o, e->m, e->len);
    if (withscores) resp_add_double(o, e->score);
}

/* --- ZADD / ZINCRBY --- */

enum zadd_flags {
    ZADD_NX = 1 << 0,
    ZADD_XX = 1 << 1,
    ZADD_GT = 1 << 2,
    ZADD_LT = 1 << 3,
    ZADD_CH = 1 << 4,
    ZADD_INCR = 1 << 5,
};

/* Options from argv[2]; returns the index of the first score, or -1 after
 * replying the error. */
static int zadd_parse(struct cmd_ctx *c, unsigned *flags)
{
    static const struct {
        const char *name;
        unsigned flag;
    } opts[] = {{"nx", ZADD_NX}, {"xx", ZADD_XX}, {"gt", ZADD_GT},
                {"lt", ZADD_LT}, {"ch", ZADD_CH}, {"incr", ZADD_INCR}};
    int j = 2;
    *flags = 0;
    for (; j < c->argc; j++) {
        unsigned f = 0;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (cmd_arg_is(&c->argv[j], opts[k].name)) f = opts[k].flag;
        if (!f) break;
        *flags |= f;
    }
    int pairs = c->argc - j;
    if (pairs == 0 || pairs % 2) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    if ((*flags & ZADD_NX) && (*flags & ZADD_XX)) {
        resp_add_error(c->out, "ERR XX and NX options at the same time are not compatible");
        return -1;
    }
    if (((*flags & ZADD_GT) && (*flags & (ZADD_NX | ZADD_LT))) ||
        ((*flags & ZADD_LT) && (*flags & ZADD_NX))) {
        resp_add_error(c->out, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return -1;
    }
    if ((*flags & ZADD_INCR) && pairs > 2) {
        resp_add_error(c->out, "ERR INCR option supports a single increment-element pair");
        return -1;
    }
    return j;
}

/* Applies one (score, member) under flags to *zs. Returns 1 if added, 2 if
 * its score changed, 0 if nothing changed, -1 on a NaN result (replied).
 * *out gets the member's score afterwards (INCR's reply). */
static int zadd_one(struct cmd_ctx *c, void **zs, unsigned flags, double score,
                    const struct resp_arg *m, double *out)
{
    double cur;
    if (t_zset_score(*zs, m->ptr, m->len, &cur)) {
        if (flags & ZADD_NX) return 0;
        if (flags & ZADD_INCR) {
            score += cur;
            if (isnan(score)) {
                resp_add_error(c->out, "ERR resulting score is not a number (NaN)");
                return -1;
            }
        }
        *out = cur;
        if (((flags & ZADD_GT) && score <= cur) || ((flags & ZADD_LT) && score >= cur)) return 0;
        *out = score;
        if (score == cur) return 0;
        int created = t_zset_set(zs, &c->kv->common->limits, m->ptr, m->len, score);
        ASSERT(!created && "a member found by its score was created");
        return 2;
    }
    if (flags & ZADD_XX) return 0;
    *out = score;
    int created = t_zset_set(zs, &c->kv->common->limits, m->ptr, m->len, score);
    ASSERT(created && "a member not found by its score was already there");
    return 1;
}

static void zadd_generic(struct cmd_ctx *c, unsigned flags, int first)
{
    const struct resp_arg *key = &c->argv[1];
    int npairs = (c->argc - first) / 2;
    double *scores = util_xmalloc((size_t)npairs * sizeof *scores);
    for (int i = 0; i < npairs; i++) {
        if (cmd_arg_double(c, first + 2 * i, &scores[i]) < 0) {
            free(scores);
            return;
        }
    }
    int wrong;
    struct kv_val *v = t_zset_lookup_write(c, key, &wrong);
    if (wrong) goto done;
    void *zs = v ? kv_val_obj(v) : t_zset_new();
    size_t size0 = t_zset_size(zs);
    long long added = 0, changed = 0;
    int aborted = 0, nan = 0;
    double result = 0;
    for (int i = 0; i < npairs; i++) {
        int r = zadd_one(c, &zs, flags, scores[i], &c->argv[first + 2 * i + 1], &result);
        if (r < 0) {
            nan = 1;
            break;
        }
        added += r == 1;
        changed += r == 2;
        if (r == 0 && (flags & ZADD_INCR)) aborted = 1;
    }
    ASSERT(added + changed <= npairs && t_zset_size(zs) == size0 + (size_t)added);
    if (!v && t_zset_size(zs) == 0) {
        t_zset_free(zs);
    } else if (!v) {
        kv_set_obj(c->kv, key->ptr, key->len, KV_ZSET, zs, KV_NO_EXPIRE, c->now_ms);
    } else {
        kv_val_set_obj(v, zs);
        if (added || changed) kv_modified(c->kv, key->ptr, key->len);
    }
    if (added || changed) cmd_notify(c, NOTIFY_ZSET, (flags & ZADD_INCR) ? "zincr" : "zadd", key);
    if (nan) goto done;
    if (!(flags & ZADD_INCR))
        resp_add_int(c->out, added + ((flags & ZADD_CH) ? changed : 0));
    else if (aborted)
        resp_add_null(c->out);
    else
        resp_add_double(c->out, result);
done:
    free(scores);
}

void cmd_zadd(struct cmd_ctx *c)
{
    unsigned flags;
    int first = zadd_parse(c, &flags);
    if (first >= 0) zadd_generic(c, flags, first);
}

void cmd_zincrby(struct cmd_ctx *c)
{
    zadd_generic(c, ZADD_INCR, 2);
}

/* --- single members --- */

void cmd_zrem(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_zset_lookup_write(c, key, &wrong);
    if (wrong) return;
    long long removed = 0;
    if (v) {
        void *zs = kv_val_obj(v);
        size_t size0 = t_zset_size(zs);
        for (int j = 2; j < c->argc && t_zset_size(zs); j++)
            removed += t_zset_remove(&zs, c->argv[j].ptr, c->argv[j].len);
        ASSERT((size_t)removed <= size0 && t_zset_size(zs) == size0 - (size_t)removed);
        if (removed)
            t_zset_changed(c, key, v, zs, "zrem");
        else
            kv_val_set_obj(v, zs);
    }
    resp_add_int(c->out, removed);
}

void cmd_zcard(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (!wrong) resp_add_int(c->out, v ? (long long)t_zset_size(kv_val_obj(v)) : 0);
}

static void reply_score(struct cmd_ctx *c, const struct kv_val *v, const struct resp_arg *m)
{
    double s;
    if (v && t_zset_score(kv_val_obj(v), m->ptr, m->len, &s))
        resp_add_double(c->out, s);
    else
        resp_add_null(c->out);
}

void cmd_zscore(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (!wrong) reply_score(c, v, &c->argv[2]);
}

void cmd_zmscore(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_add_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_score(c, v, &c->argv[j]);
}

static void rank_generic(struct cmd_ctx *c, int rev)
{
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    long r = v ? t_zset_rank(kv_val_obj(v), c->argv[2].ptr, c->argv[2].len) : -1;
    if (r < 0) {
        resp_add_null(c->out);
        return;
    }
    ASSERT(v && (size_t)r < t_zset_size(kv_val_obj(v)));
    resp_add_int(c->out, rev ? (long long)t_zset_size(kv_val_obj(v)) - 1 - r : r);
}

void cmd_zrank(struct cmd_ctx *c)
{
    rank_generic(c, 0);
}

void cmd_zrevrank(struct cmd_ctx *c)
{
    rank_generic(c, 1);
}

/* --- ZRANDMEMBER (a read: the caller's PRNG) --- */

static void reply_rank(struct cmd_ctx *c, const void *zs, size_t r, int withscores)
{
    struct zpos p = t_zset_at_rank(zs, r);
    struct zelem e;
    t_zset_get(&p, &e);
    t_zset_reply_elem(c->out, &e, withscores, 1);
}

static void randmember_count(struct cmd_ctx *c, const void *zs, long long count, int withscores)
{
    size_t n = t_zset_size(zs);
    int unique = count >= 0;
    size_t want = unique ? ((unsigned long long)count < n ? (size_t)count : n) : (size_t)-count;
    long items = (long)want * (withscores && c->out->proto == 2 ? 2 : 1);
    resp_add_array_len(c->out, items);
    if (!unique) {
        for (size_t i = 0; i < want; i++)
            reply_rank(c, zs, (size_t)util_rand_below(&c->rng, n), withscores);
        return;
    }
    size_t *pos = util_xmalloc(n * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        pos[i] = i;
    for (size_t k = 0; k < want; k++) {
        size_t j = k + (size_t)util_rand_below(&c->rng, n - k), t = pos[k];
        pos[k] = pos[j];
        pos[j] = t;
        reply_rank(c, zs, pos[k], withscores);
    }
    ASSERT(want <= n);
    free(pos);
}

void cmd_zrandmember(struct cmd_ctx *c)
{
    long long count = 0;
    int withscores = 0;
    if (c->argc >= 3) {
        if (cmd_arg_ll(c, 2, &count) < 0) return;
        if (c->argc > 4 || (c->argc == 4 && !cmd_arg_is(&c->argv[3], "withscores"))) {
            resp_add_error(c->out, ERR_SYNTAX);
            return;
        }
        withscores = c->argc == 4;
        if ((withscores && count < -LONG_MAX / 2) || count < -LONG_MAX) {
            resp_add_error(c->out, "ERR value is out of range");
            return;
        }
    }
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (c->argc >= 3) {
        if (!v || count == 0)
            resp_add_array_len(c->out, 0);
        else
            randmember_count(c, kv_val_obj(v), count, withscores);
        return;
    }
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    const void *zs = kv_val_obj(v);
    ASSERT(t_zset_size(zs) > 0 && "an empty sorted set stored");
    reply_rank(c, zs, (size_t)util_rand_below(&c->rng, t_zset_size(zs)), 0);
}

/* --- ZSCAN --- */

static void scan_elem(void *ud, const char *m, size_t len, double score)
{
    struct cmd_scan_page *pg = ud;
    if (!cmd_scan_page_take(pg, m, len)) return;
    resp_add_bulk(&pg->body, m, len);
    resp_add_double(&pg->body, score); /* a string: the page is RESP2 */
    pg->n += 2;
}

static void scan_entry(void *ud, struct dict_entry *e)
{
    scan_elem(ud, e->key, e->key_len, t_zset_entry_score(e));
}

/* A listpack sorted set is returned whole with cursor 0, as Redis does; a
 * big ("skiplist") set's dict is walked a page at a time. */
void cmd_zscan(struct cmd_ctx *c)
{
    uint64_t cursor;
    struct cmd_scan_opts o;
    if (!cmd_scan_cursor(c, 2, &cursor) || cmd_scan_opts(c, 3, 0, &o) < 0) return;
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    struct cmd_scan_page pg;
    cmd_scan_page_init(&pg, &o);
    const void *zs = v ? kv_val_obj(v) : NULL;
    struct dict *d = zs ? t_zset_dict(zs) : NULL;
    uint64_t next = 0;
    if (d)
        next = cmd_scan_page_dict(&pg, d, cursor, scan_entry);
    else if (zs)
        t_zset_foreach(zs, 0, scan_elem, &pg);
    cmd_scan_page_reply(c, &pg, next);
}
