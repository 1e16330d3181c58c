/*
 * src/t_set_ops.c - the commands between sets: SMOVE, SINTER SINTERCARD
 * SINTERSTORE, SUNION SUNIONSTORE, SDIFF SDIFFSTORE (Redis 7.0 replies).
 *
 * Every result is built by walking the sources in their canonical order
 * (src/t_set.h), so a stored result has the same order on every replica and
 * later SPOPs of it agree. The sources are all looked up before anything
 * changes; a source of another type fails the whole command (WRONGTYPE).
 */
#include <limits.h>
#include <stdlib.h>

#include "cmdarg.h"
#include "kv.h"
#include "t_set.h"
#include "t_set_int.h"
#include "util.h"

enum set_op { OP_INTER, OP_UNION, OP_DIFF };

/* The source sets: objs[i] is NULL for a missing key. */
struct sources {
    const void **objs;
    int n;
};

/* Looks up argv[first .. first + n) as sets. Returns 0, or -1 after
 * replying WRONGTYPE. */
static int load_sources(struct cmd_ctx *c, int first, int n, int write, struct sources *s)
{
    s->objs = util_xcalloc((size_t)n, sizeof *s->objs);
    s->n = n;
    for (int i = 0; i < n; i++) {
        int wrong;
        const struct resp_arg *key = &c->argv[first + i];
        struct kv_val *v =
            write ? t_set_lookup_write(c, key, &wrong) : t_set_lookup_read(c, key, &wrong);
        if (wrong) {
            free(s->objs);
            return -1;
        }
        s->objs[i] = v ? kv_val_obj(v) : NULL;
    }
    return 0;
}

static int in_all_others(const struct sources *s, int skip, const char *p, size_t len)
{
    for (int i = 0; i < s->n; i++)
        if (i != skip && !t_set_contains(s->objs[i], p, len)) return 0;
    return 1;
}

static int in_any_other(const struct sources *s, const char *p, size_t len)
{
    for (int i = 1; i < s->n; i++)
        if (s->objs[i] && t_set_contains(s->objs[i], p, len)) return 1;
    return 0;
}

/* The smallest source (the first of equal ones): intersections walk it. */
static int smallest(const struct sources *s)
{
    int best = 0;
    for (int i = 1; i < s->n; i++)
        if (t_set_size(s->objs[i]) < t_set_size(s->objs[best])) best = i;
    return best;
}

struct build {
    const struct sources *s;
    int skip;
    enum set_op op;
    void *out; /* the result set */
    const struct kv_limits *lim;
    unsigned long long limit, count; /* SINTERCARD: stop at limit (0: none) */
};

static void visit_member(void *ud, const char *p, size_t len)
{
    struct build *b = ud;
    if (b->limit && b->count >= b->limit) return;
    int keep = b->op == OP_UNION || (b->op == OP_INTER && in_all_others(b->s, b->skip, p, len)) ||
               (b->op == OP_DIFF && !in_any_other(b->s, p, len));
    if (!keep) return;
    if (b->out)
        t_set_add(&b->out, b->lim, p, len);
    else
        b->count++;
}

/* The result of op over s as a new set (NULL out: only counts, for
 * SINTERCARD, into *count). */
static void *compute(const struct sources *s, enum set_op op, const struct kv_limits *lim,
                     int build, unsigned long long limit, unsigned long long *count)
{
    struct build b = {s, -1, op, build ? t_set_new() : NULL, lim, limit, 0};
    for (int i = 0; i < s->n; i++)
        if (!s->objs[i] && (op == OP_INTER || (op == OP_DIFF && i == 0))) goto done;
    if (op == OP_UNION) {
        for (int i = 0; i < s->n; i++)
            if (s->objs[i]) t_set_foreach(s->objs[i], visit_member, &b);
    } else {
        b.skip = op == OP_INTER ? smallest(s) : 0;
        t_set_foreach(s->objs[b.skip], visit_member, &b);
    }
done:
    if (count) *count = b.count;
    return b.out;
}

/* SINTER / SUNION / SDIFF key [key ...]: the result as a set reply. */
static void reply_generic(struct cmd_ctx *c, enum set_op op)
{
    struct sources s;
    if (load_sources(c, 1, c->argc - 1, 0, &s) < 0) return;
    void *out = compute(&s, op, &c->kv->limits, 1, 0, NULL);
    resp_add_set_len(c->out, (long)t_set_size(out));
    t_set_foreach(out, t_set_reply_member, c->out);
    t_set_free(out);
    free(s.objs);
}

/* SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the
 * destination is replaced (its TTL dropped), or deleted by an empty result. */
static void store_generic(struct cmd_ctx *c, enum set_op op)
{
    struct sources s;
    if (load_sources(c, 2, c->argc - 2, 1, &s) < 0) return;
    void *out = compute(&s, op, &c->kv->limits, 1, 0, NULL);
    free(s.objs);
    const struct resp_arg *dst = &c->argv[1];
    size_t n = t_set_size(out);
    static const char *const event[] = {"sinterstore", "sunionstore", "sdiffstore"};
    if (n == 0) {
        t_set_free(out);
        if (kv_delete(c->kv, dst->ptr, dst->len, c->now_ms))
            cmd_notify(c, NOTIFY_GENERIC, "del", dst);
    } else {
        kv_set_obj(c->kv, dst->ptr, dst->len, KV_SET, out, KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_SET, event[op], dst);
    }
    resp_add_int(c->out, (long long)n);
}

void cmd_sinter(struct cmd_ctx *c)
{
    reply_generic(c, OP_INTER);
}

void cmd_sunion(struct cmd_ctx *c)
{
    reply_generic(c, OP_UNION);
}

void cmd_sdiff(struct cmd_ctx *c)
{
    reply_generic(c, OP_DIFF);
}

void cmd_sinterstore(struct cmd_ctx *c)
{
    store_generic(c, OP_INTER);
}

void cmd_sunionstore(struct cmd_ctx *c)
{
    store_generic(c, OP_UNION);
}

void cmd_sdiffstore(struct cmd_ctx *c)
{
    store_generic(c, OP_DIFF);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit]: numkeys, or -1 after
 * replying Redis's error (out NULL: no reply, for the getkeys hook). */
static long long sintercard_numkeys(int argc, const struct resp_arg *argv, struct resp_out *out)
{
    long long n;
    if (!util_str2ll(argv[1].ptr, argv[1].len, &n) || n <= 0) {
        if (out) resp_add_error(out, "ERR numkeys should be greater than 0");
        return -1;
    }
    if (n > argc - 2) {
        if (out) resp_add_error(out, "ERR Number of keys can't be greater than number of args");
        return -1;
    }
    return n;
}

int t_set_sintercard_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    long long n = sintercard_numkeys(argc, argv, NULL);
    int k = 0;
    for (long long i = 0; i < n && k < max; i++)
        idx[k++] = 2 + (int)i;
    return k;
}

void cmd_sintercard(struct cmd_ctx *c)
{
    long long n = sintercard_numkeys(c->argc, c->argv, c->out);
    if (n < 0) return;
    long long limit = 0;
    for (int j = 2 + (int)n; j < c->argc; j += 2) {
        if (j + 1 < c->argc && cmd_arg_is(&c->argv[j], "limit")) {
            if (!util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &limit) || limit < 0) {
                resp_add_error(c->out, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return;
        }
    }
    struct sources s;
    if (load_sources(c, 2, (int)n, 0, &s) < 0) return;
    unsigned long long count;
    compute(&s, OP_INTER, &c->kv->limits, 0, (unsigned long long)limit, &count);
    free(s.objs);
    resp_add_int(c->out, (long long)count);
}

void cmd_smove(struct cmd_ctx *c)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    int wrong;
    struct kv_val *sv = t_set_lookup_write(c, src, &wrong);
    if (wrong) return;
    struct kv_val *dv = t_set_lookup_write(c, dst, &wrong);
    if (wrong) return;
    if (!sv) {
        resp_add_int(c->out, 0);
        return;
    }
    int same = src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0;
    if (same) {
        resp_add_int(c->out, t_set_contains(kv_val_obj(sv), m->ptr, m->len));
        return;
    }
    void *sobj = kv_val_obj(sv);
    if (!t_set_remove(&sobj, m->ptr, m->len)) {
        resp_add_int(c->out, 0);
        return;
    }
    t_set_changed(c, src, sv, sobj, "srem"); /* may delete src: dv is another key's */
    if (dv) {
        void *dobj = kv_val_obj(dv);
        if (t_set_add(&dobj, &c->kv->limits, m->ptr, m->len))
            t_set_changed(c, dst, dv, dobj, "sadd");
        else
            kv_val_set_obj(dv, dobj);
    } else {
        void *dobj = t_set_new();
        t_set_add(&dobj, &c->kv->limits, m->ptr, m->len);
        kv_set_obj(c->kv, dst->ptr, dst->len, KV_SET, dobj, KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_SET, "sadd", dst);
    }
    resp_add_int(c->out, 1);
}
