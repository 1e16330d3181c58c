/*
 * src/t_zset.c - the sorted set's encodings (see t_zset.h): listpack and
 * skiplist + dict, positions over both, ranges by score and by member, and
 * the keyspace's type operations.
 */
#include <assert.h>
#include <math.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "t_zset.h"
#include "t_zset_int.h"
#include "util.h"

#define HT_TAG ((uintptr_t)1)
#define ZSL_MAX_LEVEL 32

struct zlevel {
    struct znode *forward;
    size_t span; /* elements between this node and forward (forward counted) */
};

/* A node: score, back link, levels, then the member's bytes. */
struct znode {
    double score;
    struct znode *backward;
    uint32_t len, nlevel;
    struct zlevel lvl[];
};

struct zsl {
    struct dict d; /* member -> struct znode * */
    struct znode *header, *tail;
    size_t length;
    int level;
};

static const char *node_member(const struct znode *n)
{
    return (const char *)(n->lvl + n->nlevel);
}

/* -1, 0, 1 as (s1, m1) sorts before, equal to, after (s2, m2). */
static int elem_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
{
    if (s1 < s2) return -1;
    if (s1 > s2) return 1;
    size_t n = l1 < l2 ? l1 : l2;
    int c = memcmp(m1, m2, n);
    if (c) return c < 0 ? -1 : 1;
    return l1 < l2 ? -1 : l1 > l2;
}

static int mem_cmp(const char *m1, size_t l1, const char *m2, size_t l2)
{
    return elem_cmp(0, m1, l1, 0, m2, l2);
}

/* A node's level from a fixed hash of its member (P = 1/4 per level), the
 * same on every node: no random generator shapes replicated state. */
static int member_level(const char *m, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)m[i]) * 0x100000001b3ULL;
    h = util_rand64(&h); /* mix the low bits */
    int level = 1;
    while ((h & 3) == 0 && level < ZSL_MAX_LEVEL) {
        level++;
        h >>= 2;
    }
    return level;
}

static struct znode *node_new(int level, double score, const char *m, size_t len)
{
    struct znode *n = util_xmalloc(sizeof *n + (size_t)level * sizeof(struct zlevel) + len);
    n->score = score;
    n->backward = NULL;
    n->len = (uint32_t)len;
    n->nlevel = (uint32_t)level;
    for (int i = 0; i < level; i++) n->lvl[i] = (struct zlevel){NULL, 0};
    memcpy((char *)(n->lvl + level), m, len);
    return n;
}

static struct zsl *zsl_new(void)
{
    struct zsl *z = util_xcalloc(1, sizeof *z);
    uint64_t s = (uint64_t)(uintptr_t)z;
    dict_init(&z->d, util_rand64(&s));
    z->header = node_new(ZSL_MAX_LEVEL, 0, "", 0);
    z->level = 1;
    return z;
}

/* Links node x (its score, member and levels set) at its place. */
static void zsl_link(struct zsl *z, struct znode *x)
{
    struct znode *update[ZSL_MAX_LEVEL], *p = z->header;
    size_t rank[ZSL_MAX_LEVEL];
    const char *m = node_member(x);
    for (int i = z->level - 1; i >= 0; i--) {
        rank[i] = i == z->level - 1 ? 0 : rank[i + 1];
        while (p->lvl[i].forward && elem_cmp(p->lvl[i].forward->score,
                                             node_member(p->lvl[i].forward),
                                             p->lvl[i].forward->len, x->score, m, x->len) < 0) {
            rank[i] += p->lvl[i].span;
            p = p->lvl[i].forward;
            if (i > 0) __builtin_prefetch(p->lvl[i - 1].forward); /* overlaps the misses */
        }
        update[i] = p;
    }
    int level = (int)x->nlevel;
    if (level > z->level) {
        for (int i = z->level; i < level; i++) {
            rank[i] = 0;
            update[i] = z->header;
            update[i]->lvl[i].span = z->length;
        }
        z->level = level;
    }
    for (int i = 0; i < level; i++) {
        x->lvl[i].forward = update[i]->lvl[i].forward;
        update[i]->lvl[i].forward = x;
        x->lvl[i].span = update[i]->lvl[i].span - (rank[0] - rank[i]);
        update[i]->lvl[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < z->level; i++) update[i]->lvl[i].span++;
    x->backward = update[0] == z->header ? NULL : update[0];
    if (x->lvl[0].forward)
        x->lvl[0].forward->backward = x;
    else
        z->tail = x;
    z->length++;
}

static void zsl_insert(struct zsl *z, double score, const char *m, size_t len)
{
    struct znode *x = node_new(member_level(m, len), score, m, len);
    zsl_link(z, x);
    struct dict_entry *e = dict_add(&z->d, m, len, x, NULL);
    assert(e && "a member inserted twice");
    (void)e;
}

/* Unlinks node x (update: its predecessors at every level); x stays
 * allocated and in the member dict. */
static void zsl_detach(struct zsl *z, struct znode *x, struct znode **update)
{
    for (int i = 0; i < z->level; i++) {
        if (update[i]->lvl[i].forward == x) {
            update[i]->lvl[i].span += x->lvl[i].span - 1;
            update[i]->lvl[i].forward = x->lvl[i].forward;
        } else {
            update[i]->lvl[i].span--;
        }
    }
    if (x->lvl[0].forward)
        x->lvl[0].forward->backward = x->backward;
    else
        z->tail = x->backward;
    while (z->level > 1 && !z->header->lvl[z->level - 1].forward) z->level--;
    z->length--;
}

/* Finds target's predecessors at every level and unlinks it. */
static void zsl_find_detach(struct zsl *z, struct znode *target)
{
    struct znode *update[ZSL_MAX_LEVEL], *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->lvl[i].forward && elem_cmp(x->lvl[i].forward->score,
                                             node_member(x->lvl[i].forward),
                                             x->lvl[i].forward->len, target->score,
                                             node_member(target), target->len) < 0) {
            x = x->lvl[i].forward;
            if (i > 0) __builtin_prefetch(x->lvl[i - 1].forward);
        }
        update[i] = x;
    }
    assert(x->lvl[0].forward == target);
    zsl_detach(z, target, update);
}

static void zsl_delete(struct zsl *z, struct znode *target)
{
    zsl_find_detach(z, target);
    dict_delete(&z->d, node_member(target), target->len, NULL);
    free(target);
}

/* Gives node x a new score: in place when it keeps its place between its
 * neighbours (as Redis), else the same node moved (its level is its
 * member's, so it fits anywhere); the member dict is untouched. */
static void zsl_rescore(struct zsl *z, struct znode *x, double score)
{
    if ((!x->backward || x->backward->score < score) &&
        (!x->lvl[0].forward || x->lvl[0].forward->score > score)) {
        x->score = score;
        return;
    }
    zsl_find_detach(z, x);
    x->score = score;
    zsl_link(z, x);
}

/* The node of 0-based rank r (r < length). */
static struct znode *zsl_at(const struct zsl *z, size_t r)
{
    struct znode *x = z->header;
    size_t traversed = 0, want = r + 1;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->lvl[i].forward && traversed + x->lvl[i].span <= want) {
            traversed += x->lvl[i].span;
            x = x->lvl[i].forward;
        }
        if (traversed == want) return x;
    }
    return NULL;
}

/* Elements before the first node for which stop(node) holds: a count of
 * the prefix where !stop. */
typedef int node_pred(const struct znode *n, const void *arg);

static size_t zsl_count_while(const struct zsl *z, node_pred *before, const void *arg)
{
    const struct znode *x = z->header;
    size_t rank = 0;
    for (int i = z->level - 1; i >= 0; i--)
        while (x->lvl[i].forward && before(x->lvl[i].forward, arg)) {
            rank += x->lvl[i].span;
            x = x->lvl[i].forward;
        }
    return rank;
}

static void zsl_free(struct zsl *z)
{
    struct znode *x = z->header->lvl[0].forward;
    while (x) {
        struct znode *next = x->lvl[0].forward;
        free(x);
        x = next;
    }
    free(z->header);
    dict_free(&z->d, NULL);
    free(z);
}

/* --- the tagged object --- */

static int is_sl(const void *obj)
{
    return ((uintptr_t)obj & HT_TAG) != 0;
}

static struct zsl *zsl_of(const void *obj)
{
    return (struct zsl *)((uintptr_t)obj & ~HT_TAG);
}

size_t t_zset_score_text(double score, char *buf, size_t cap)
{
    if (isinf(score)) return (size_t)snprintf(buf, cap, "%s", score > 0 ? "inf" : "-inf");
    if (score == floor(score) && fabs(score) < 1e17) {
        return util_ll2str(buf, cap, (long long)score);
    }
    return (size_t)snprintf(buf, cap, "%.17g", score);
}

static double lp_score(const unsigned char *lp, size_t pos)
{
    long long v;
    if (lp_get_ll(lp, pos, &v)) return (double)v;
    char buf[LP_INTBUF], tmp[64];
    size_t len;
    const char *p = lp_get(lp, pos, buf, &len);
    assert(len < sizeof tmp);
    memcpy(tmp, p, len);
    tmp[len] = 0;
    if (!strcmp(tmp, "inf")) return INFINITY;
    if (!strcmp(tmp, "-inf")) return -INFINITY;
    return strtod(tmp, NULL);
}

struct dict *t_zset_dict(const void *zs)
{
    return is_sl(zs) ? &zsl_of(zs)->d : NULL;
}

void *t_zset_new(void)
{
    return lp_new();
}

size_t t_zset_size(const void *zs)
{
    return is_sl(zs) ? zsl_of(zs)->length : lp_len(zs) / 2;
}

/* Listpack: the offset of member's entry, or lp_end(). */
static size_t lp_member(const unsigned char *lp, const char *m, size_t len)
{
    return lp_find(lp, lp_first(lp), m, len, 1);
}

int t_zset_score(const void *zs, const char *m, size_t len, double *score)
{
    if (is_sl(zs)) {
        struct dict_entry *e = dict_find(&zsl_of(zs)->d, m, len);
        if (!e) return 0;
        *score = ((struct znode *)e->val)->score;
        return 1;
    }
    size_t pos = lp_member(zs, m, len);
    if (pos == lp_end(zs)) return 0;
    *score = lp_score(zs, lp_next(zs, pos));
    return 1;
}

static int before_elem(const struct znode *n, const void *arg)
{
    const struct znode *t = arg;
    return elem_cmp(n->score, node_member(n), n->len, t->score, node_member(t), t->len) < 0;
}

long t_zset_rank(const void *zs, const char *m, size_t len)
{
    if (is_sl(zs)) {
        struct dict_entry *e = dict_find(&zsl_of(zs)->d, m, len);
        return e ? (long)zsl_count_while(zsl_of(zs), before_elem, e->val) : -1;
    }
    size_t pos = lp_member(zs, m, len);
    if (pos == lp_end(zs)) return -1;
    long r = 0;
    for (size_t q = lp_first(zs); q < pos; q = lp_next(zs, lp_next(zs, q))) r++;
    return r;
}

static void *convert(unsigned char *lp)
{
    struct zsl *z = zsl_new();
    char buf[LP_INTBUF];
    for (size_t pos = lp_first(lp); pos < lp_end(lp);) {
        size_t len;
        const char *m = lp_get(lp, pos, buf, &len);
        pos = lp_next(lp, pos);
        zsl_insert(z, lp_score(lp, pos), m, len);
        pos = lp_next(lp, pos);
    }
    lp_free(lp);
    return (void *)((uintptr_t)z | HT_TAG);
}

/* Inserts (m, score), absent, into the listpack at its sorted place. */
static unsigned char *lp_insert_sorted(unsigned char *lp, const char *m, size_t len, double score)
{
    char buf[LP_INTBUF];
    size_t pos = lp_first(lp);
    while (pos < lp_end(lp)) {
        size_t ml;
        const char *p = lp_get(lp, pos, buf, &ml);
        size_t sp = lp_next(lp, pos);
        if (elem_cmp(lp_score(lp, sp), p, ml, score, m, len) > 0) break;
        pos = lp_next(lp, sp);
    }
    char text[64];
    size_t tl = t_zset_score_text(score, text, sizeof text);
    lp = lp_insert(lp, pos, text, tl);
    return lp_insert(lp, pos, m, len);
}

int t_zset_set(void **zs, const struct kv_limits *lim, const char *m, size_t len, double score)
{
    if (!is_sl(*zs)) {
        unsigned char *lp = *zs;
        size_t pos = lp_member(lp, m, len);
        if (pos != lp_end(lp)) {
            if (lp_score(lp, lp_next(lp, pos)) == score) return 0;
            lp = lp_delete(lp, pos, 2);
            *zs = lp_insert_sorted(lp, m, len, score);
            return 0;
        }
        if (len <= lim->zset_max_listpack_value &&
            lp_len(lp) / 2 + 1 <= lim->zset_max_listpack_entries) {
            *zs = lp_insert_sorted(lp, m, len, score);
            return 1;
        }
        *zs = convert(lp);
    }
    struct zsl *z = zsl_of(*zs);
    struct dict_entry *e = dict_find(&z->d, m, len);
    if (e) {
        struct znode *n = e->val;
        if (n->score != score) zsl_rescore(z, n, score);
        return 0;
    }
    zsl_insert(z, score, m, len);
    return 1;
}

int t_zset_remove(void **zs, const char *m, size_t len)
{
    if (is_sl(*zs)) {
        struct zsl *z = zsl_of(*zs);
        struct dict_entry *e = dict_find(&z->d, m, len);
        if (!e) return 0;
        zsl_delete(z, e->val);
        return 1;
    }
    size_t pos = lp_member(*zs, m, len);
    if (pos == lp_end(*zs)) return 0;
    *zs = lp_delete(*zs, pos, 2);
    return 1;
}

void t_zset_remove_ranks(void **zs, size_t start, size_t end)
{
    assert(start <= end && end < t_zset_size(*zs));
    if (!is_sl(*zs)) {
        *zs = lp_delete(*zs, lp_seek(*zs, (long)start * 2), (uint32_t)((end - start + 1) * 2));
        return;
    }
    struct zsl *z = zsl_of(*zs);
    for (size_t k = start; k <= end; k++) zsl_delete(z, zsl_at(z, start));
}

/* --- positions --- */

struct zpos t_zset_at_rank(const void *zs, size_t rank)
{
    struct zpos p = {zs, NULL, 0};
    if (is_sl(zs)) {
        if (rank < zsl_of(zs)->length) p.node = zsl_at(zsl_of(zs), rank);
    } else {
        p.off = rank < lp_len(zs) / 2 ? lp_seek(zs, (long)rank * 2) : lp_end(zs);
    }
    return p;
}

int t_zset_valid(const struct zpos *p)
{
    return is_sl(p->zs) ? p->node != NULL : p->off < lp_end(p->zs);
}

void t_zset_next(struct zpos *p)
{
    if (is_sl(p->zs))
        p->node = ((struct znode *)p->node)->lvl[0].forward;
    else
        p->off = lp_next(p->zs, lp_next(p->zs, p->off));
}

void t_zset_prev(struct zpos *p)
{
    if (is_sl(p->zs)) {
        p->node = ((struct znode *)p->node)->backward;
        return;
    }
    if (p->off == lp_first(p->zs)) {
        p->off = lp_end(p->zs);
        return;
    }
    p->off = lp_prev(p->zs, lp_prev(p->zs, p->off));
}

void t_zset_get(const struct zpos *p, struct zelem *e)
{
    if (is_sl(p->zs)) {
        const struct znode *n = p->node;
        e->m = node_member(n);
        e->len = n->len;
        e->score = n->score;
        return;
    }
    e->m = lp_get(p->zs, p->off, e->buf, &e->len);
    e->score = lp_score(p->zs, lp_next(p->zs, p->off));
}

/* --- ranges --- */

struct score_bound {
    double v;
    int exclusive;
};

static int below_min(double s, const struct score_bound *b)
{
    return b->exclusive ? s <= b->v : s < b->v;
}

static int within_max(double s, const struct score_bound *b)
{
    return b->exclusive ? s < b->v : s <= b->v;
}

static int node_below_min(const struct znode *n, const void *arg)
{
    return below_min(n->score, arg);
}

static int node_within_max(const struct znode *n, const void *arg)
{
    return within_max(n->score, arg);
}

/* Listpack: how many elements from the start satisfy pred. */
typedef int elem_pred(const struct zelem *e, const void *arg);

static size_t lp_count_while(const void *zs, elem_pred *pred, const void *arg)
{
    size_t n = 0;
    for (struct zpos p = t_zset_at_rank(zs, 0); t_zset_valid(&p); t_zset_next(&p)) {
        struct zelem e;
        t_zset_get(&p, &e);
        if (!pred(&e, arg)) break;
        n++;
    }
    return n;
}

static int elem_below_min(const struct zelem *e, const void *arg)
{
    return below_min(e->score, arg);
}

static int elem_within_max(const struct zelem *e, const void *arg)
{
    return within_max(e->score, arg);
}

size_t t_zset_first_score(const void *zs, double min, int exclusive)
{
    struct score_bound b = {min, exclusive};
    return is_sl(zs) ? zsl_count_while(zsl_of(zs), node_below_min, &b)
                     : lp_count_while(zs, elem_below_min, &b);
}

size_t t_zset_upto_score(const void *zs, double max, int exclusive)
{
    struct score_bound b = {max, exclusive};
    return is_sl(zs) ? zsl_count_while(zsl_of(zs), node_within_max, &b)
                     : lp_count_while(zs, elem_within_max, &b);
}

static int lex_below_min(const char *m, size_t len, const struct zlex *b)
{
    if (!b->m) return b->plus; /* "-": nothing below; "+": everything */
    int c = mem_cmp(m, len, b->m, b->len);
    return b->exclusive ? c <= 0 : c < 0;
}

static int lex_within_max(const char *m, size_t len, const struct zlex *b)
{
    if (!b->m) return b->plus;
    int c = mem_cmp(m, len, b->m, b->len);
    return b->exclusive ? c < 0 : c <= 0;
}

static int node_lex_below(const struct znode *n, const void *arg)
{
    return lex_below_min(node_member(n), n->len, arg);
}

static int node_lex_within(const struct znode *n, const void *arg)
{
    return lex_within_max(node_member(n), n->len, arg);
}

static int elem_lex_below(const struct zelem *e, const void *arg)
{
    return lex_below_min(e->m, e->len, arg);
}

static int elem_lex_within(const struct zelem *e, const void *arg)
{
    return lex_within_max(e->m, e->len, arg);
}

size_t t_zset_first_lex(const void *zs, const struct zlex *min)
{
    return is_sl(zs) ? zsl_count_while(zsl_of(zs), node_lex_below, min)
                     : lp_count_while(zs, elem_lex_below, min);
}

size_t t_zset_upto_lex(const void *zs, const struct zlex *max)
{
    return is_sl(zs) ? zsl_count_while(zsl_of(zs), node_lex_within, max)
                     : lp_count_while(zs, elem_lex_within, max);
}

void t_zset_foreach(const void *zs, int reverse, t_zset_elem_fn *fn, void *ud)
{
    size_t n = t_zset_size(zs);
    if (n == 0) return;
    struct zpos p = t_zset_at_rank(zs, reverse ? n - 1 : 0);
    for (; t_zset_valid(&p); reverse ? t_zset_prev(&p) : t_zset_next(&p)) {
        struct zelem e;
        t_zset_get(&p, &e);
        fn(ud, e.m, e.len, e.score);
    }
}

/* --- type operations (src/types.h) --- */

static const char *z_encoding(const void *zs)
{
    return is_sl(zs) ? "skiplist" : "listpack";
}

void t_zset_free(void *zs)
{
    if (is_sl(zs))
        zsl_free(zsl_of(zs));
    else
        lp_free(zs);
}

static void dup_elem(void *ud, const char *m, size_t len, double score)
{
    zsl_insert(ud, score, m, len);
}

static void *z_dup(const void *zs)
{
    if (!is_sl(zs)) return lp_dup(zs);
    struct zsl *z = zsl_new();
    t_zset_foreach(zs, 0, dup_elem, z);
    return (void *)((uintptr_t)z | HT_TAG);
}

static size_t z_length(const void *zs)
{
    return t_zset_size(zs);
}

static size_t z_memory(const void *zs, size_t samples)
{
    if (!is_sl(zs)) return malloc_usable_size((void *)zs);
    const struct zsl *z = zsl_of(zs);
    size_t n = z->length, k = samples && samples < n ? samples : n, bytes = 0;
    const struct znode *x = z->header->lvl[0].forward;
    for (size_t i = 0; i < k && x; i++, x = x->lvl[0].forward)
        bytes += malloc_usable_size((void *)x) + sizeof(struct dict_entry) + x->len + 1;
    size_t elems = k ? bytes / k * n : 0;
    return sizeof *z + dict_table_bytes(&z->d) + elems;
}

/* Payload: count | count x (member | score), in order (types.h framing). */
struct save_ctx {
    type_put_fn *put;
    void *ud;
};

static void save_elem(void *ud, const char *m, size_t len, double score)
{
    struct save_ctx *s = ud;
    type_put_str(s->put, s->ud, m, len);
    type_put_f64(s->put, s->ud, score);
}

static void z_save(const void *zs, type_put_fn *put, void *ud)
{
    struct save_ctx s = {put, ud};
    type_put_u32(put, ud, (uint32_t)t_zset_size(zs));
    t_zset_foreach(zs, 0, save_elem, &s);
}

static void *z_load(const unsigned char *p, size_t len, const struct kv_limits *lim, char *err,
                    size_t errlen)
{
    struct type_reader r = {p, len, 0};
    uint32_t count;
    if (type_get_count(&r, 12, &count, err, errlen) < 0) return NULL;
    void *zs = t_zset_new();
    for (uint32_t i = 0; i < count; i++) {
        const char *m;
        size_t mlen;
        double score;
        if (type_get_str(&r, &m, &mlen) < 0 || type_get_f64(&r, &score) < 0 || isnan(score) ||
            !t_zset_set(&zs, lim, m, mlen, score)) {
            snprintf(err, errlen, "member %u truncated, repeated or NaN", i);
            t_zset_free(zs);
            return NULL;
        }
    }
    if (type_get_end(&r, err, errlen) < 0) {
        t_zset_free(zs);
        return NULL;
    }
    return zs;
}

const struct kv_type_ops t_zset_ops = {
    .name = "zset",
    .encoding = z_encoding,
    .free = t_zset_free,
    .dup = z_dup,
    .length = z_length,
    .memory = z_memory,
    .save = z_save,
    .load = z_load,
};
