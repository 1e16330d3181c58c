/*
 * src/types/t_zset_store.c - the commands over several sorted sets (Redis 7.0
 * replies): ZUNION ZINTER ZDIFF and their STORE forms (WEIGHTS, AGGREGATE
 * SUM|MIN|MAX, WITHSCORES), ZINTERCARD. A plain set counts as a
 * sorted set whose members all score 1. Their arguments and replies live
 * here; the combining itself, its cost and its order of aggregation, in
 * src/types/t_zset_combine.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

struct zreq {
    struct t_zset_combine z;
    int withscores;
    /* The result is built in the big encoding whatever its size, as Redis
     * builds it in a skiplist, and a stored one is given its encoding at
     * the end (fit): a score of -0 (0 * -2.5) then replies "-0" and stays
     * -0 in a big stored result, as Redis's, where a listpack holds it as
     * the integer 0. */
    struct kv_limits build_lim;
};

/* numkeys at argv[i]: its value, or -1 after replying Redis's error. */
static long long numkeys_arg(struct cmd_ctx *c, int i, const char *name)
{
    long long n;
    if (cmd_arg_ll(c, i, &n) < 0) return -1;
    if (n < 1) {
        resp_add_errorf(c->out, "ERR at least 1 input key is needed for '%s' command", name);
        return -1;
    }
    if (n > c->argc - i - 1) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    return n;
}

/* getkeys hooks: [dst] numkeys key... */
static int keys_after(int argc, const struct resp_arg *argv, int numkeys_i, int with_dst, int *idx,
                      int max)
{
    long long n;
    int k = 0;
    if (numkeys_i >= argc || !util_str2ll(argv[numkeys_i].ptr, argv[numkeys_i].len, &n) || n < 1 ||
        n > argc - numkeys_i - 1)
        return 0;
    if (with_dst && k < max) idx[k++] = 1;
    for (long long i = 0; i < n && k < max; i++)
        idx[k++] = numkeys_i + 1 + (int)i;
    return k;
}

int t_zset_store_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    return keys_after(argc, argv, 2, 1, idx, max);
}

int t_zset_numkeys_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    return keys_after(argc, argv, 1, 0, idx, max);
}

/* The inputs argv[first .. first + n): sorted sets or sets. */
static int load_inputs(struct cmd_ctx *c, int first, int n, struct zreq *r)
{
    ASSERT(n >= 1 && first + n <= c->argc);
    r->z.in = util_xcalloc((size_t)n, sizeof *r->z.in);
    r->z.n = n;
    for (int i = 0; i < n; i++) {
        const struct resp_arg *key = &c->argv[first + i];
        struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
        if (v && v->type != KV_ZSET && v->type != KV_SET) {
            resp_add_error(c->out, ERR_WRONGTYPE);
            return -1;
        }
        r->z.in[i] = (struct t_zset_input){v ? kv_val_obj(v) : NULL, v && v->type == KV_SET, 1};
    }
    return 0;
}

/* WEIGHTS, AGGREGATE, WITHSCORES (or LIMIT for ZINTERCARD) from argv[j]. */
static int parse_opts(struct cmd_ctx *c, int j, int store, int card, struct zreq *r)
{
    struct t_zset_combine *z = &r->z;
    for (; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!card && z->op != T_ZSET_DIFF && cmd_arg_is(&c->argv[j], "weights") && left >= z->n) {
            for (int i = 0; i < z->n; i++) {
                if (!util_str2d(c->argv[j + 1 + i].ptr, c->argv[j + 1 + i].len, &z->in[i].weight)) {
                    resp_add_error(c->out, "ERR weight value is not a float");
                    return -1;
                }
            }
            j += z->n;
        } else if (!card && z->op != T_ZSET_DIFF && cmd_arg_is(&c->argv[j], "aggregate") &&
                   left >= 1) {
            const struct resp_arg *a = &c->argv[++j];
            if (cmd_arg_is(a, "sum"))
                z->agg = T_ZSET_SUM;
            else if (cmd_arg_is(a, "min"))
                z->agg = T_ZSET_MIN;
            else if (cmd_arg_is(a, "max"))
                z->agg = T_ZSET_MAX;
            else
                goto syntax;
        } else if (!card && !store && cmd_arg_is(&c->argv[j], "withscores")) {
            r->withscores = 1;
        } else if (card && cmd_arg_is(&c->argv[j], "limit") && left >= 1) {
            long long limit;
            if (!util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &limit) || limit < 0) {
                resp_add_error(c->out, "ERR LIMIT can't be negative");
                return -1;
            }
            z->limit = (unsigned long long)limit;
            j++;
        } else {
            goto syntax;
        }
    }
    return 0;
syntax:
    resp_add_error(c->out, ERR_SYNTAX);
    return -1;
}

/* Parses numkeys at argv[ni], the keys after it and the options, into r
 * (r->z.op set by the caller); -1 after replying an error. */
static int zreq_parse(struct cmd_ctx *c, int ni, int store, int card, const char *name,
                      struct zreq *r)
{
    long long n = numkeys_arg(c, ni, name);
    r->build_lim = c->kv->common->limits;
    r->build_lim.zset_max_listpack_entries = 0;
    r->z.lim = &r->build_lim;
    r->z.build = !card;
    if (n < 0) return -1;
    if (load_inputs(c, ni + 1, (int)n, r) < 0 ||
        parse_opts(c, ni + 1 + (int)n, store, card, r) < 0) {
        free(r->z.in);
        return -1;
    }
    return 0;
}

struct refill {
    void *zs;
    const struct kv_limits *lim;
};

static void refill_elem(void *ud, const char *m, size_t len, double score)
{
    struct refill *f = ud;
    t_zset_set(&f->zs, f->lim, m, len, score);
}

/* A result to store, in the encoding its size and members call for (a
 * listpack when small: Redis's conversion at the end). Takes out. */
static void *fit(void *out, const struct kv_limits *lim)
{
    if (t_zset_size(out) > lim->zset_max_listpack_entries) return out;
    struct refill f = {t_zset_new(), lim};
    t_zset_foreach(out, 0, refill_elem, &f);
    ASSERT(t_zset_size(f.zs) == t_zset_size(out) && "a member lost re-encoding");
    t_zset_free(out);
    return f.zs;
}

/* ZUNION/ZINTER/ZDIFF numkeys ... (dst 0) and their STORE forms (dst 1). */
static void zop_generic(struct cmd_ctx *c, enum t_zset_op op, int store, const char *name)
{
    struct zreq r = {.z = {.op = op, .agg = T_ZSET_SUM}};
    if (zreq_parse(c, store ? 2 : 1, store, 0, name, &r) < 0) return;
    t_zset_combine(&r.z);
    free(r.z.in);
    void *out = r.z.out;
    ASSERT(out);
    size_t size = t_zset_size(out);
    if (store) {
        const struct resp_arg *dst = &c->argv[1];
        static const char *const event[] = {[T_ZSET_UNION] = "zunionstore",
                                            [T_ZSET_INTER] = "zinterstore",
                                            [T_ZSET_DIFF] = "zdiffstore"};
        if (size) {
            out = fit(out, &c->kv->common->limits);
            kv_set_obj(c->kv, dst->ptr, dst->len, KV_ZSET, out, KV_NO_EXPIRE, c->now_ms);
            cmd_notify(c, NOTIFY_ZSET, event[op], dst);
        } else {
            t_zset_free(out);
            if (kv_delete(c->kv, dst->ptr, dst->len, c->now_ms))
                cmd_notify(c, NOTIFY_GENERIC, "del", dst);
        }
        resp_add_int(c->out, (long long)size);
        return;
    }
    resp_add_array_len(c->out, (long)size * (r.withscores && c->out->proto == 2 ? 2 : 1));
    for (struct zpos p = t_zset_at_rank(out, 0); t_zset_valid(&p); t_zset_next(&p)) {
        struct zelem e;
        t_zset_get(&p, &e);
        t_zset_reply_elem(c->out, &e, r.withscores, 1);
    }
    t_zset_free(out);
}

void cmd_zunion(struct cmd_ctx *c)
{
    zop_generic(c, T_ZSET_UNION, 0, "zunion");
}
void cmd_zinter(struct cmd_ctx *c)
{
    zop_generic(c, T_ZSET_INTER, 0, "zinter");
}
void cmd_zdiff(struct cmd_ctx *c)
{
    zop_generic(c, T_ZSET_DIFF, 0, "zdiff");
}
void cmd_zunionstore(struct cmd_ctx *c)
{
    zop_generic(c, T_ZSET_UNION, 1, "zunionstore");
}
void cmd_zinterstore(struct cmd_ctx *c)
{
    zop_generic(c, T_ZSET_INTER, 1, "zinterstore");
}
void cmd_zdiffstore(struct cmd_ctx *c)
{
    zop_generic(c, T_ZSET_DIFF, 1, "zdiffstore");
}

void cmd_zintercard(struct cmd_ctx *c)
{
    struct zreq r = {.z = {.op = T_ZSET_INTER, .agg = T_ZSET_SUM}};
    if (zreq_parse(c, 1, 0, 1, "zintercard", &r) < 0) return;
    t_zset_combine(&r.z);
    free(r.z.in);
    ASSERT(!r.z.out && "ZINTERCARD built a result");
    resp_add_int(c->out, (long long)r.z.count);
}
