/*
 * src/types/t_zset_pop.c - the sorted set pops (Redis 7.0 replies): ZPOPMIN
 * ZPOPMAX ZMPOP and their blocking forms BZPOPMIN BZPOPMAX BZMPOP.
 *
 * A blocking pop that finds every key empty blocks its client (cmd_block_on,
 * src/server/blocked.h) or, where it may not (inside MULTI, or applied for nobody),
 * replies a null array as Redis does. Popping is a write: on the leader it
 * reaches the keyspace through the log, so the members a client receives
 * are gone on every replica.
 */
#include <stdlib.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* How a pop replies its members: flat (member, score, ...), flat pairs in
 * RESP3 ([member, score], ...: ZPOPMIN with a count), or nested pairs
 * (ZMPOP). */
enum pop_style { POP_FLAT, POP_PAIRS, POP_NESTED };

/* Pops k members (k <= size) of the sorted set v at key from its low end,
 * or its high end (max), replying each in style; the key goes when empty. */
static void pop_members(struct cmd_ctx *c, const struct resp_arg *key, struct kv_val *v, int max,
                        size_t k, enum pop_style style)
{
    ASSERT(v && v->type == KV_ZSET);
    void *zs = kv_val_obj(v);
    size_t n = t_zset_size(zs);
    ASSERT(k >= 1 && k <= n && "a pop past the set's size");
    struct zpos p = t_zset_at_rank(zs, max ? n - 1 : 0);
    for (size_t i = 0; i < k; i++, max ? t_zset_prev(&p) : t_zset_next(&p)) {
        struct zelem e;
        t_zset_get(&p, &e);
        if (style == POP_NESTED) {
            resp_add_array_len(c->out, 2);
            resp_add_bulk(c->out, e.m, e.len);
            resp_add_double(c->out, e.score);
        } else {
            t_zset_reply_elem(c->out, &e, 1, style == POP_PAIRS);
        }
    }
    t_zset_remove_ranks(&zs, max ? n - k : 0, max ? n - 1 : k - 1);
    t_zset_changed(c, key, v, zs, max ? "zpopmax" : "zpopmin");
}

/* The first of argv[first .. first + n) holding a sorted set (*at: its
 * index), or NULL; *wrong after a WRONGTYPE reply for a key met first. */
static struct kv_val *first_zset(struct cmd_ctx *c, int first, int n, int *at, int *wrong)
{
    *wrong = 0;
    for (int i = first; i < first + n; i++) {
        const struct resp_arg *k = &c->argv[i];
        struct kv_val *v;
        if (c->serving) { /* a key of another type counts as empty */
            v = kv_lookup_write(c->kv, k->ptr, k->len, c->now_ms, 0);
            if (v && v->type != KV_ZSET) v = NULL;
        } else {
            v = t_zset_lookup_write(c, k, wrong);
        }
        if (*wrong) return NULL;
        if (v) {
            ASSERT(v->type == KV_ZSET);
            *at = i;
            return v;
        }
    }
    return NULL;
}

/* What a call waits for: argv[first .. first + n) to hold a sorted set. */
static struct cmd_block on_zsets(int first, int n, int64_t timeout_ms)
{
    return (struct cmd_block){first, n, KV_ZSET, 1, timeout_ms};
}

/* --- ZPOPMIN / ZPOPMAX key [count] --- */

static void pop_generic(struct cmd_ctx *c, int max)
{
    long long count = 1;
    int with_count = c->argc == 3;
    if (c->argc > 3) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    if (with_count) {
        if (cmd_arg_ll(c, 2, &count) < 0) return;
        if (count < 0) {
            resp_add_error(c->out, "ERR value is out of range, must be positive");
            return;
        }
    }
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_zset_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!v || count == 0) {
        resp_add_array_len(c->out, 0);
        return;
    }
    size_t n = t_zset_size(kv_val_obj(v)), k = (unsigned long long)count < n ? (size_t)count : n;
    /* RESP3: pairs with a count, a flat pair without (Redis 7.0). */
    int pairs = with_count && c->out->proto == 3;
    resp_add_array_len(c->out, pairs ? (long)k : (long)k * 2);
    pop_members(c, key, v, max, k, pairs ? POP_PAIRS : POP_FLAT);
}

void cmd_zpopmin(struct cmd_ctx *c)
{
    pop_generic(c, 0);
}

void cmd_zpopmax(struct cmd_ctx *c)
{
    pop_generic(c, 1);
}

/* --- BZPOPMIN / BZPOPMAX key [key ...] timeout: [key, member, score] --- */

static void bpop_generic(struct cmd_ctx *c, int max)
{
    int64_t timeout_ms;
    if (cmd_arg_timeout(c, c->argc - 1, &timeout_ms) < 0) return;
    struct cmd_block b = on_zsets(1, c->argc - 2, timeout_ms);
    if (cmd_block_probe(c, &b)) return;
    int at, wrong;
    struct kv_val *v = first_zset(c, 1, c->argc - 2, &at, &wrong);
    if (wrong) return;
    if (!v) {
        cmd_block_on(c, &b);
        return;
    }
    resp_add_array_len(c->out, 3);
    resp_add_bulk(c->out, c->argv[at].ptr, c->argv[at].len);
    pop_members(c, &c->argv[at], v, max, 1, POP_FLAT);
}

void cmd_bzpopmin(struct cmd_ctx *c)
{
    bpop_generic(c, 0);
}

void cmd_bzpopmax(struct cmd_ctx *c)
{
    bpop_generic(c, 1);
}

/* --- ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], BZMPOP timeout ...:
 * pops from the first non-empty sorted set; [key, [[member, score] ...]] --- */

struct mpop_args {
    int first, n, max;
    long long count;
};

/* The arguments from numkeys (argv[ni]) on; -1 after an error reply. */
static int mpop_args(struct cmd_ctx *c, int ni, struct mpop_args *a)
{
    long long n;
    if (!util_str2ll(c->argv[ni].ptr, c->argv[ni].len, &n) || n < 1) {
        resp_add_error(c->out, "ERR numkeys should be greater than 0");
        return -1;
    }
    if (n > c->argc - ni - 2) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    int wi = ni + 1 + (int)n;
    a->first = ni + 1;
    a->n = (int)n;
    a->count = 1;
    a->max = cmd_arg_is(&c->argv[wi], "max");
    if (!a->max && !cmd_arg_is(&c->argv[wi], "min")) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    if (wi + 1 == c->argc) return 0;
    if (c->argc != wi + 3 || !cmd_arg_is(&c->argv[wi + 1], "count")) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    if (!util_str2ll(c->argv[wi + 2].ptr, c->argv[wi + 2].len, &a->count) || a->count <= 0) {
        resp_add_error(c->out, "ERR count should be greater than 0");
        return -1;
    }
    return 0;
}

/* Pops per a from the first non-empty key; 0 when every key was empty
 * (nothing replied). */
static int mpop_first(struct cmd_ctx *c, const struct mpop_args *a)
{
    int at, wrong;
    struct kv_val *v = first_zset(c, a->first, a->n, &at, &wrong);
    if (wrong) return 1;
    if (!v) return 0;
    ASSERT(a->n >= 1 && a->count >= 1 && at >= a->first && at < a->first + a->n);
    size_t size = t_zset_size(kv_val_obj(v));
    size_t k = (unsigned long long)a->count < size ? (size_t)a->count : size;
    resp_add_array_len(c->out, 2);
    resp_add_bulk(c->out, c->argv[at].ptr, c->argv[at].len);
    resp_add_array_len(c->out, (long)k);
    pop_members(c, &c->argv[at], v, a->max, k, POP_NESTED);
    return 1;
}

void cmd_zmpop(struct cmd_ctx *c)
{
    struct mpop_args a;
    if (mpop_args(c, 1, &a) < 0) return;
    if (!mpop_first(c, &a)) resp_add_null_array(c->out);
}

void cmd_bzmpop(struct cmd_ctx *c)
{
    struct mpop_args a;
    int64_t timeout_ms;
    if (mpop_args(c, 2, &a) < 0 || cmd_arg_timeout(c, 1, &timeout_ms) < 0) return;
    struct cmd_block b = on_zsets(a.first, a.n, timeout_ms);
    if (cmd_block_probe(c, &b)) return;
    if (!mpop_first(c, &a)) cmd_block_on(c, &b);
}

/* BZMPOP's keys: timeout numkeys key ... */
int t_zset_bzmpop_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    long long n;
    if (argc < 3 || !util_str2ll(argv[2].ptr, argv[2].len, &n) || n < 1 || n > argc - 3) return 0;
    int k = 0;
    for (long long i = 0; i < n && k < max; i++)
        idx[k++] = 3 + (int)i;
    return k;
}
