/*
 * src/types/t_set_ops.c - the commands between sets: SMOVE, SINTER SINTERCARD
 * SINTERSTORE, SUNION SUNIONSTORE, SDIFF SDIFFSTORE (Redis 7.0 replies).
 *
 * Every result is built by walking the sources in their canonical order
 * (src/types/t_set.h), and a difference's choice of way depends only on the
 * sources' sizes, so a stored result has the same order on every replica
 * and later SPOPs of it agree. The cost stays linear in the sources'
 * elements (times a look-up), whatever the number of sources: see diff(). The sources are all
 * looked up before anything changes; a source of another type fails the whole command (WRONGTYPE).
 */
#include <limits.h>
#include <stdlib.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_set.h"
#include "types/t_set_int.h"
#include "base/util.h"

/* Looks up argv[first .. first + n) as sets into z->objs (NULL for a
 * missing key). Returns 0, or -1 after replying WRONGTYPE. */
static int load_sources(struct cmd_ctx *c, int first, int n, int write, struct t_set_combine *z)
{
    z->objs = util_xcalloc((size_t)n, sizeof *z->objs);
    z->n = n;
    z->lim = &c->kv->common->limits;
    for (int i = 0; i < n; i++) {
        int wrong;
        const struct resp_arg *key = &c->argv[first + i];
        struct kv_val *v =
            write ? t_set_lookup_write(c, key, &wrong) : t_set_lookup_read(c, key, &wrong);
        if (wrong) {
            free(z->objs);
            return -1;
        }
        z->objs[i] = v ? kv_val_obj(v) : NULL;
    }
    return 0;
}

static int contains(struct t_set_combine *z, int i, const char *p, size_t len)
{
    z->probes++;
    return z->objs[i] && t_set_contains(z->objs[i], p, len);
}

static int in_all_others(struct t_set_combine *z, int skip, const char *p, size_t len)
{
    for (int i = 0; i < z->n; i++)
        if (i != skip && !contains(z, i, p, len)) return 0;
    return 1;
}

static int in_any_other(struct t_set_combine *z, const char *p, size_t len)
{
    for (int i = 1; i < z->n; i++)
        if (contains(z, i, p, len)) return 1;
    return 0;
}

/* The smallest source (the first of equal ones): intersections walk it. */
static int smallest(const struct t_set_combine *z)
{
    int best = 0;
    for (int i = 1; i < z->n; i++)
        if (t_set_size(z->objs[i]) < t_set_size(z->objs[best])) best = i;
    return best;
}

struct build {
    struct t_set_combine *z;
    int skip; /* the source walked */
};

static void visit_member(void *ud, const char *p, size_t len)
{
    struct build *b = ud;
    struct t_set_combine *z = b->z;
    if (z->limit && z->count >= z->limit) return;
    int keep = z->op == T_SET_UNION ||
               (z->op == T_SET_INTER && in_all_others(z, b->skip, p, len)) ||
               (z->op == T_SET_DIFF && !in_any_other(z, p, len));
    if (!keep) return;
    if (z->build)
        t_set_add(&z->out, z->lim, p, len);
    else
        z->count++;
}

static void copy_member(void *ud, const char *p, size_t len)
{
    struct t_set_combine *z = ud;
    t_set_add(&z->out, z->lim, p, len);
}

static void remove_member(void *ud, const char *p, size_t len)
{
    struct t_set_combine *z = ud;
    z->probes++;
    t_set_remove(&z->out, p, len);
}

/* Redis 7.0's choice for a difference (its estimate): looking the first
 * source's members up in every other (counted at half, since a member is
 * dropped at its first hit) against a copy of the first from which every
 * other source's members are removed: the second is what keeps SDIFF of a
 * big set and many small ones linear. */
static void diff(struct t_set_combine *z)
{
    unsigned long long lookups = 0, all = 0;
    for (int i = 0; i < z->n; i++) {
        if (!z->objs[i]) continue;
        lookups += t_set_size(z->objs[0]);
        all += t_set_size(z->objs[i]);
    }
    if (lookups / 2 <= all || !z->build) {
        struct build b = {z, 0};
        t_set_foreach(z->objs[0], visit_member, &b);
        return;
    }
    t_set_foreach(z->objs[0], copy_member, z);
    for (int i = 1; i < z->n && t_set_size(z->out); i++)
        if (z->objs[i]) t_set_foreach(z->objs[i], remove_member, z);
}

void t_set_combine(struct t_set_combine *z)
{
    z->out = z->build ? t_set_new() : NULL;
    z->count = z->probes = 0;
    for (int i = 0; i < z->n; i++)
        if (!z->objs[i] && (z->op == T_SET_INTER || (z->op == T_SET_DIFF && i == 0))) return;
    if (z->op == T_SET_UNION) {
        struct build b = {z, -1};
        for (int i = 0; i < z->n; i++)
            if (z->objs[i]) t_set_foreach(z->objs[i], visit_member, &b);
    } else if (z->op == T_SET_DIFF) {
        diff(z);
    } else {
        struct build b = {z, smallest(z)};
        t_set_foreach(z->objs[b.skip], visit_member, &b);
    }
}

/* SINTER / SUNION / SDIFF key [key ...]: the result as a set reply. */
static void reply_generic(struct cmd_ctx *c, enum t_set_op op)
{
    struct t_set_combine z = {.op = op, .build = 1};
    if (load_sources(c, 1, c->argc - 1, 0, &z) < 0) return;
    t_set_combine(&z);
    free(z.objs);
    resp_add_set_len(c->out, (long)t_set_size(z.out));
    t_set_foreach(z.out, t_set_reply_member, c->out);
    t_set_free(z.out);
}

/* SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the
 * destination is replaced (its TTL dropped), or deleted by an empty result. */
static void store_generic(struct cmd_ctx *c, enum t_set_op op)
{
    struct t_set_combine z = {.op = op, .build = 1};
    if (load_sources(c, 2, c->argc - 2, 1, &z) < 0) return;
    t_set_combine(&z);
    free(z.objs);
    void *out = z.out;
    const struct resp_arg *dst = &c->argv[1];
    size_t n = t_set_size(out);
    static const char *const event[] = {
        [T_SET_INTER] = "sinterstore", [T_SET_UNION] = "sunionstore", [T_SET_DIFF] = "sdiffstore"};
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
    reply_generic(c, T_SET_INTER);
}

void cmd_sunion(struct cmd_ctx *c)
{
    reply_generic(c, T_SET_UNION);
}

void cmd_sdiff(struct cmd_ctx *c)
{
    reply_generic(c, T_SET_DIFF);
}

void cmd_sinterstore(struct cmd_ctx *c)
{
    store_generic(c, T_SET_INTER);
}

void cmd_sunionstore(struct cmd_ctx *c)
{
    store_generic(c, T_SET_UNION);
}

void cmd_sdiffstore(struct cmd_ctx *c)
{
    store_generic(c, T_SET_DIFF);
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
    struct t_set_combine z = {.op = T_SET_INTER, .limit = (unsigned long long)limit};
    if (load_sources(c, 2, (int)n, 0, &z) < 0) return;
    t_set_combine(&z);
    free(z.objs);
    resp_add_int(c->out, (long long)z.count);
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
        if (t_set_add(&dobj, &c->kv->common->limits, m->ptr, m->len))
            t_set_changed(c, dst, dv, dobj, "sadd");
        else
            kv_val_set_obj(dv, dobj);
    } else {
        void *dobj = t_set_new();
        t_set_add(&dobj, &c->kv->common->limits, m->ptr, m->len);
        kv_set_obj(c->kv, dst->ptr, dst->len, KV_SET, dobj, KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_SET, "sadd", dst);
    }
    resp_add_int(c->out, 1);
}
