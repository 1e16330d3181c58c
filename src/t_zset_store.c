/*
 * src/t_zset_store.c - the commands over several sorted sets (Redis 7.0
 * replies): ZUNION ZINTER ZDIFF and their STORE forms (WEIGHTS, AGGREGATE
 * SUM|MIN|MAX, WITHSCORES), ZINTERCARD. A plain set counts as a
 * sorted set whose members all score 1.
 *
 * Determinism: a member's score is aggregated over the inputs in argument
 * order (floating-point sums depend on their order), and the result is a
 * sorted set, whose order depends only on its contents; so a stored result
 * is the same on every replica whatever each node's dict order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmdarg.h"
#include "dict.h"
#include "kv.h"
#include "t_set.h"
#include "t_zset.h"
#include "t_zset_int.h"
#include "util.h"

enum zop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum zagg { AGG_SUM, AGG_MIN, AGG_MAX };

struct input {
    const void *obj; /* NULL: missing key */
    int is_set;
    double weight;
};

struct zreq {
    enum zop op;
    enum zagg agg;
    int withscores;
    long long limit; /* ZINTERCARD; 0: none */
    struct input *in;
    int n;
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
    r->in = util_xcalloc((size_t)n, sizeof *r->in);
    r->n = n;
    for (int i = 0; i < n; i++) {
        const struct resp_arg *key = &c->argv[first + i];
        struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
        if (v && v->type != KV_ZSET && v->type != KV_SET) {
            resp_add_error(c->out, ERR_WRONGTYPE);
            return -1;
        }
        r->in[i] = (struct input){v ? kv_val_obj(v) : NULL, v && v->type == KV_SET, 1};
    }
    return 0;
}

/* WEIGHTS, AGGREGATE, WITHSCORES (or LIMIT for ZINTERCARD) from argv[j]. */
static int parse_opts(struct cmd_ctx *c, int j, int store, int card, struct zreq *r)
{
    for (; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!card && r->op != ZOP_DIFF && cmd_arg_is(&c->argv[j], "weights") && left >= r->n) {
            for (int i = 0; i < r->n; i++) {
                if (!util_str2d(c->argv[j + 1 + i].ptr, c->argv[j + 1 + i].len, &r->in[i].weight)) {
                    resp_add_error(c->out, "ERR weight value is not a float");
                    return -1;
                }
            }
            j += r->n;
        } else if (!card && r->op != ZOP_DIFF && cmd_arg_is(&c->argv[j], "aggregate") &&
                   left >= 1) {
            const struct resp_arg *a = &c->argv[++j];
            if (cmd_arg_is(a, "sum"))
                r->agg = AGG_SUM;
            else if (cmd_arg_is(a, "min"))
                r->agg = AGG_MIN;
            else if (cmd_arg_is(a, "max"))
                r->agg = AGG_MAX;
            else
                goto syntax;
        } else if (!card && !store && cmd_arg_is(&c->argv[j], "withscores")) {
            r->withscores = 1;
        } else if (card && cmd_arg_is(&c->argv[j], "limit") && left >= 1) {
            if (!util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, &r->limit) || r->limit < 0) {
                resp_add_error(c->out, "ERR LIMIT can't be negative");
                return -1;
            }
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

/* Input i's score of member, weighted; 0 if absent. */
static int input_score(const struct input *in, const char *m, size_t len, double *out)
{
    double s = 1;
    if (!in->obj) return 0;
    if (in->is_set ? !t_set_contains(in->obj, m, len) : !t_zset_score(in->obj, m, len, &s))
        return 0;
    s *= in->weight;
    *out = isnan(s) ? 0 : s; /* inf * 0 */
    return 1;
}

static double aggregate(enum zagg agg, double acc, double s)
{
    if (agg == AGG_MIN) return s < acc ? s : acc;
    if (agg == AGG_MAX) return s > acc ? s : acc;
    double sum = acc + s;
    return isnan(sum) ? 0 : sum; /* inf + -inf */
}

struct walk {
    const struct zreq *r;
    int self;  /* the input being walked */
    void *out; /* result set, NULL when only counting */
    const struct kv_limits *lim;
    unsigned long long count;
};

/* An element of input self: is it in the result, and with what score? */
static void consider(struct walk *w, const char *m, size_t len)
{
    const struct zreq *r = w->r;
    if (r->limit && w->count >= (unsigned long long)r->limit) return;
    double acc = 0, s;
    if (r->op == ZOP_DIFF) {
        for (int i = 1; i < r->n; i++)
            if (input_score(&r->in[i], m, len, &s)) return;
        input_score(&r->in[0], m, len, &acc); /* DIFF takes no weights: 1 */
    } else {
        int seen = 0;
        for (int i = 0; i < r->n; i++) {
            if (!input_score(&r->in[i], m, len, &s)) {
                if (r->op == ZOP_INTER) return;
                continue;
            }
            acc = seen ? aggregate(r->agg, acc, s) : s;
            seen = 1;
        }
        /* A union member already added by an earlier input is complete. */
        if (r->op == ZOP_UNION && w->out) {
            double old;
            if (t_zset_score(w->out, m, len, &old)) return;
        }
    }
    w->count++;
    if (w->out) t_zset_set(&w->out, w->lim, m, len, acc);
}

static void walk_set_member(void *ud, const char *m, size_t len)
{
    consider(ud, m, len);
}

static void walk_zset_elem(void *ud, const char *m, size_t len, double score)
{
    (void)score;
    consider(ud, m, len);
}

static size_t input_size(const struct input *in)
{
    return !in->obj ? 0 : in->is_set ? t_set_size(in->obj) : t_zset_size(in->obj);
}

static void walk_input(struct walk *w, int i)
{
    const struct input *in = &w->r->in[i];
    if (!in->obj) return;
    w->self = i;
    if (in->is_set)
        t_set_foreach(in->obj, walk_set_member, w);
    else
        t_zset_foreach(in->obj, 0, walk_zset_elem, w);
}

/* The result (a new sorted set; NULL out when counting only). */
static void *compute(struct zreq *r, const struct kv_limits *lim, int build,
                     unsigned long long *count)
{
    struct walk w = {r, 0, build ? t_zset_new() : NULL, lim, 0};
    if (r->op == ZOP_UNION) {
        for (int i = 0; i < r->n; i++)
            walk_input(&w, i);
    } else if (r->op == ZOP_DIFF) {
        walk_input(&w, 0);
    } else {
        int best = 0;
        for (int i = 0; i < r->n; i++) {
            if (!r->in[i].obj) goto done;
            if (input_size(&r->in[i]) < input_size(&r->in[best])) best = i;
        }
        walk_input(&w, best);
    }
done:
    if (count) *count = w.count;
    return w.out;
}

/* ZUNION/ZINTER/ZDIFF numkeys ... (dst 0) and their STORE forms (dst 1). */
static void zop_generic(struct cmd_ctx *c, enum zop op, int store, const char *name)
{
    int ni = store ? 2 : 1;
    long long n = numkeys_arg(c, ni, name);
    if (n < 0) return;
    struct zreq r = {op, AGG_SUM, 0, 0, NULL, 0};
    if (load_inputs(c, ni + 1, (int)n, &r) < 0 ||
        parse_opts(c, ni + 1 + (int)n, store, 0, &r) < 0) {
        free(r.in);
        return;
    }
    void *out = compute(&r, &c->kv->limits, 1, NULL);
    free(r.in);
    size_t size = t_zset_size(out);
    if (store) {
        const struct resp_arg *dst = &c->argv[1];
        static const char *const event[] = {
            [ZOP_UNION] = "zunionstore", [ZOP_INTER] = "zinterstore", [ZOP_DIFF] = "zdiffstore"};
        if (size) {
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
    zop_generic(c, ZOP_UNION, 0, "zunion");
}
void cmd_zinter(struct cmd_ctx *c)
{
    zop_generic(c, ZOP_INTER, 0, "zinter");
}
void cmd_zdiff(struct cmd_ctx *c)
{
    zop_generic(c, ZOP_DIFF, 0, "zdiff");
}
void cmd_zunionstore(struct cmd_ctx *c)
{
    zop_generic(c, ZOP_UNION, 1, "zunionstore");
}
void cmd_zinterstore(struct cmd_ctx *c)
{
    zop_generic(c, ZOP_INTER, 1, "zinterstore");
}
void cmd_zdiffstore(struct cmd_ctx *c)
{
    zop_generic(c, ZOP_DIFF, 1, "zdiffstore");
}

void cmd_zintercard(struct cmd_ctx *c)
{
    long long n = numkeys_arg(c, 1, "zintercard");
    if (n < 0) return;
    struct zreq r = {ZOP_INTER, AGG_SUM, 0, 0, NULL, 0};
    if (load_inputs(c, 2, (int)n, &r) < 0 || parse_opts(c, 2 + (int)n, 0, 1, &r) < 0) {
        free(r.in);
        return;
    }
    unsigned long long count;
    compute(&r, &c->kv->limits, 0, &count);
    free(r.in);
    resp_add_int(c->out, (long long)count);
}
