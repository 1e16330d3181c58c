/*
 * src/types/t_zset_range.c - the sorted set's range commands (Redis 7.0 replies):
 * ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES), ZRANGESTORE, ZREVRANGE,
 * ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZCOUNT,
 * ZLEXCOUNT, ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX.
 *
 * Every range becomes [lo, hi] in ascending ranks plus a direction, then
 * LIMIT's offset and count apply in that direction: one walker serves them
 * all, whatever the encoding.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

enum range_by { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };
enum range_dir { DIR_AUTO, DIR_FWD, DIR_REV };

struct range_req {
    enum range_by by;
    enum range_dir dir;
    int withscores, store;
    int has_limit;
    long long offset, limit; /* limit < 0: no limit */
    int min_i, max_i;        /* argv of the bounds (after REV's swap) */
};

/* Ascending ranks [*lo, *hi] selected by req on zs; returns 0 when empty,
 * -1 after replying a bound's error. */
static int resolve(struct cmd_ctx *c, const struct range_req *r, const void *zs, size_t *lo,
                   size_t *hi);

static int parse_score(const struct resp_arg *a, double *v, int *ex)
{
    const char *p = a->ptr;
    size_t len = a->len;
    *ex = len > 0 && p[0] == '(';
    if (*ex) p++, len--;
    return util_str2d(p, len, v) ? 0 : -1;
}

static int parse_lex(const struct resp_arg *a, struct zlex *b)
{
    *b = (struct zlex){NULL, 0, 0, 0};
    if (a->len == 1 && (a->ptr[0] == '-' || a->ptr[0] == '+')) {
        b->plus = a->ptr[0] == '+';
        return 0;
    }
    if (a->len == 0 || (a->ptr[0] != '[' && a->ptr[0] != '(')) return -1;
    b->exclusive = a->ptr[0] == '(';
    b->m = a->ptr + 1;
    b->len = a->len - 1;
    return 0;
}

static int resolve(struct cmd_ctx *c, const struct range_req *r, const void *zs, size_t *lo,
                   size_t *hi)
{
    size_t n = t_zset_size(zs), first, upto;
    const struct resp_arg *min = &c->argv[r->min_i], *max = &c->argv[r->max_i];
    if (r->by == BY_SCORE) {
        double a, b;
        int ax, bx;
        if (parse_score(min, &a, &ax) < 0 || parse_score(max, &b, &bx) < 0) {
            resp_add_error(c->out, "ERR min or max is not a float");
            return -1;
        }
        first = t_zset_first_score(zs, a, ax);
        upto = t_zset_upto_score(zs, b, bx);
    } else if (r->by == BY_LEX) {
        struct zlex a, b;
        if (parse_lex(min, &a) < 0 || parse_lex(max, &b) < 0) {
            resp_add_error(c->out, "ERR min or max not valid string range item");
            return -1;
        }
        first = t_zset_first_lex(zs, &a);
        upto = t_zset_upto_lex(zs, &b);
    } else {
        long long s, e;
        if (cmd_arg_ll(c, r->min_i, &s) < 0 || cmd_arg_ll(c, r->max_i, &e) < 0) return -1;
        long long len = (long long)n;
        if (s < 0) s += len;
        if (e < 0) e += len;
        if (s < 0) s = 0;
        if (s > e || s >= len) return 0;
        if (e >= len) e = len - 1;
        if (r->dir == DIR_REV) { /* ranks counted from the end */
            long long t = len - 1 - e;
            e = len - 1 - s;
            s = t;
        }
        first = (size_t)s;
        upto = (size_t)e + 1;
    }
    if (upto <= first) return 0;
    *lo = first;
    *hi = upto - 1;
    ASSERT(*lo <= *hi && *hi < n && "a normalized range outside the set");
    return 1;
}

/* Checks the bounds' syntax alone (a missing key still reports them). */
static int check_bounds(struct cmd_ctx *c, const struct range_req *r)
{
    _Alignas(8) static const unsigned char empty_lp[8] = {8, 0, 0, 0, 0, 0, 0, 0};
    size_t lo, hi;
    return resolve(c, r, empty_lp, &lo, &hi) < 0 ? -1 : 0;
}

/* Options from argv[first]; returns 0, or -1 after replying the error. */
static int parse_options(struct cmd_ctx *c, int first, struct range_req *r)
{
    for (int j = first; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        int left = c->argc - j - 1;
        if (!r->store && cmd_arg_is(a, "withscores")) {
            r->withscores = 1;
        } else if (cmd_arg_is(a, "limit") && left >= 2) {
            if (cmd_arg_ll(c, j + 1, &r->offset) < 0 || cmd_arg_ll(c, j + 2, &r->limit) < 0)
                return -1;
            r->has_limit = 1;
            j += 2;
        } else if (r->dir == DIR_AUTO && cmd_arg_is(a, "rev")) {
            r->dir = DIR_REV;
        } else if (r->by == BY_AUTO && cmd_arg_is(a, "bylex")) {
            r->by = BY_LEX;
        } else if (r->by == BY_AUTO && cmd_arg_is(a, "byscore")) {
            r->by = BY_SCORE;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    if (r->dir == DIR_AUTO) r->dir = DIR_FWD;
    if (r->by == BY_AUTO) r->by = BY_RANK;
    ASSERT(r->dir != DIR_AUTO && r->by != BY_AUTO);
    if (r->has_limit && r->by == BY_RANK) {
        resp_add_error(c->out, "ERR syntax error, LIMIT is only supported in combination with "
                               "either BYSCORE or BYLEX");
        return -1;
    }
    if (r->withscores && r->by == BY_LEX) {
        resp_add_error(c->out, "ERR syntax error, WITHSCORES not supported in combination with "
                               "BYLEX");
        return -1;
    }
    if (r->dir == DIR_REV && r->by != BY_RANK) { /* max comes first */
        int t = r->min_i;
        r->min_i = r->max_i;
        r->max_i = t;
    }
    return 0;
}

/* Calls emit for each selected element, in the request's direction, after
 * LIMIT. Returns how many. */
typedef void emit_fn(void *ud, const struct zelem *e);

static size_t walk(const void *zs, const struct range_req *r, size_t lo, size_t hi, emit_fn *emit,
                   void *ud)
{
    ASSERT(lo <= hi && hi < t_zset_size(zs));
    if (r->offset < 0) return 0;
    size_t span = hi - lo + 1, off = (size_t)r->offset;
    if (off >= span) return 0;
    size_t count = span - off;
    if (r->limit >= 0 && (unsigned long long)r->limit < count) count = (size_t)r->limit;
    ASSERT(off + count <= span);
    int rev = r->dir == DIR_REV;
    struct zpos p = t_zset_at_rank(zs, rev ? hi - off : lo + off);
    for (size_t i = 0; i < count; i++, rev ? t_zset_prev(&p) : t_zset_next(&p)) {
        struct zelem e;
        t_zset_get(&p, &e);
        emit(ud, &e);
    }
    return count;
}

struct reply_ctx {
    struct resp_out *out;
    int withscores;
};

static void emit_reply(void *ud, const struct zelem *e)
{
    const struct reply_ctx *rc = ud;
    t_zset_reply_elem(rc->out, e, rc->withscores, 1);
}

struct store_ctx {
    void *zs;
    const struct kv_limits *lim;
};

static void emit_store(void *ud, const struct zelem *e)
{
    struct store_ctx *sc = ud;
    t_zset_set(&sc->zs, sc->lim, e->m, e->len, e->score);
}

/* src: argv index of the source key; dst: of the destination (0: reply). */
static void range_generic(struct cmd_ctx *c, struct range_req *r, int src, int dst, int opts)
{
    if (parse_options(c, opts, r) < 0) return;
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[src], &wrong);
    if (wrong) return;
    size_t lo = 0, hi = 0;
    int any = 0;
    if (v) {
        any = resolve(c, r, kv_val_obj(v), &lo, &hi);
    } else if (check_bounds(c, r) < 0) {
        return;
    }
    if (any < 0) return;
    if (dst) {
        struct store_ctx sc = {t_zset_new(), &c->kv->common->limits};
        size_t n = any ? walk(kv_val_obj(v), r, lo, hi, emit_store, &sc) : 0;
        ASSERT(t_zset_size(sc.zs) == n && "a member stored twice");
        const struct resp_arg *d = &c->argv[dst];
        if (n) {
            kv_set_obj(c->kv, d->ptr, d->len, KV_ZSET, sc.zs, KV_NO_EXPIRE, c->now_ms);
            cmd_notify(c, NOTIFY_ZSET, "zrangestore", d);
        } else {
            t_zset_free(sc.zs);
            if (kv_delete(c->kv, d->ptr, d->len, c->now_ms))
                cmd_notify(c, NOTIFY_GENERIC, "del", d);
        }
        resp_add_int(c->out, (long long)n);
        return;
    }
    struct reply_ctx rc = {c->out, r->withscores};
    resp_deferred d = resp_add_deferred(c->out);
    size_t n = any ? walk(kv_val_obj(v), r, lo, hi, emit_reply, &rc) : 0;
    long items = (long)n * (r->withscores && c->out->proto == 2 ? 2 : 1);
    resp_set_deferred_array_len(c->out, d, items);
}

#define REQ(by_, dir_, store_)                                                                     \
    {                                                                                              \
        by_, dir_, 0, store_, 0, 0, -1, 2, 3                                                       \
    }

void cmd_zrange(struct cmd_ctx *c)
{
    struct range_req r = REQ(BY_AUTO, DIR_AUTO, 0);
    range_generic(c, &r, 1, 0, 4);
}

void cmd_zrangestore(struct cmd_ctx *c)
{
    struct range_req r = REQ(BY_AUTO, DIR_AUTO, 1);
    r.min_i = 3;
    r.max_i = 4;
    range_generic(c, &r, 2, 1, 5);
}

void cmd_zrevrange(struct cmd_ctx *c)
{
    struct range_req r = REQ(BY_RANK, DIR_REV, 0);
    range_generic(c, &r, 1, 0, 4);
}

void cmd_zrangebyscore(struct cmd_ctx *c)
{
    struct range_req r = REQ(BY_SCORE, DIR_FWD, 0);
    range_generic(c, &r, 1, 0, 4);
}

void cmd_zrevrangebyscore(struct cmd_ctx *c)
{
    struct range_req r = REQ(BY_SCORE, DIR_REV, 0);
    range_generic(c, &r, 1, 0, 4);
}

void cmd_zrangebylex(struct cmd_ctx *c)
{
    struct range_req r = REQ(BY_LEX, DIR_FWD, 0);
    range_generic(c, &r, 1, 0, 4);
}

void cmd_zrevrangebylex(struct cmd_ctx *c)
{
    struct range_req r = REQ(BY_LEX, DIR_REV, 0);
    range_generic(c, &r, 1, 0, 4);
}

/* --- counts and removals --- */

/* ZCOUNT / ZLEXCOUNT (remove 0) and ZREMRANGEBY* (remove 1). */
static void count_generic(struct cmd_ctx *c, enum range_by by, int remove)
{
    struct range_req r = REQ(by, DIR_FWD, 0);
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v =
        remove ? t_zset_lookup_write(c, key, &wrong) : t_zset_lookup_read(c, key, &wrong);
    if (wrong) return;
    size_t lo = 0, hi = 0;
    int any = v ? resolve(c, &r, kv_val_obj(v), &lo, &hi) : check_bounds(c, &r);
    if (any < 0) return;
    if (!v || !any) {
        resp_add_int(c->out, 0);
        return;
    }
    ASSERT(by == BY_RANK || by == BY_SCORE || by == BY_LEX);
    if (remove) {
        void *zs = kv_val_obj(v);
        static const char *const event[] = {[BY_RANK] = "zremrangebyrank",
                                            [BY_SCORE] = "zremrangebyscore",
                                            [BY_LEX] = "zremrangebylex"};
        t_zset_remove_ranks(&zs, lo, hi);
        t_zset_changed(c, key, v, zs, event[by]);
    }
    resp_add_int(c->out, (long long)(hi - lo + 1));
}

void cmd_zcount(struct cmd_ctx *c)
{
    count_generic(c, BY_SCORE, 0);
}

void cmd_zlexcount(struct cmd_ctx *c)
{
    count_generic(c, BY_LEX, 0);
}

void cmd_zremrangebyrank(struct cmd_ctx *c)
{
    count_generic(c, BY_RANK, 1);
}

void cmd_zremrangebyscore(struct cmd_ctx *c)
{
    count_generic(c, BY_SCORE, 1);
}

void cmd_zremrangebylex(struct cmd_ctx *c)
{
    count_generic(c, BY_LEX, 1);
}
