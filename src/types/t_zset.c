/*
 * src/types/t_zset.c - the sorted set's encodings (see t_zset.h): listpack and
 * B+tree + dict, positions over both, ranges by score and by member, and
 * the keyspace's type operations.
 */
#include <math.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/dict.h"
#include "keyspace/digest.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "base/util.h"
#include "ds/zbtree.h"
#include "raft/raft_assert.h"

#define BIG_TAG ((uintptr_t)1)

/* The large encoding: member -> score in the dict (the score's bits in the
 * entry's value), (score, member) in order in the tree, whose elements are
 * the dict's entries. */
struct zbig {
    struct dict d;
    struct zbt t;
};

_Static_assert(sizeof(void *) >= sizeof(double), "a score is kept in a pointer's bits");

double t_zset_entry_score(const struct dict_entry *e)
{
    double s;
    memcpy(&s, &e->val, sizeof s);
    return s;
}

static void entry_set_score(struct dict_entry *e, double s)
{
    memcpy(&e->val, &s, sizeof s);
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

static struct zbig *big_new(void)
{
    struct zbig *z = util_xmalloc(sizeof *z);
    uint64_t s = (uint64_t)(uintptr_t)z;
    dict_init(&z->d, util_rand64(&s));
    zbt_init(&z->t);
    return z;
}

static void big_insert(struct zbig *z, double score, const char *m, size_t len)
{
    struct dict_entry *e = dict_add(&z->d, m, len, NULL, NULL);
    ASSERT(e && "a member inserted twice");
    entry_set_score(e, score);
    zbt_insert(&z->t, score, e);
}

static void big_delete(struct zbig *z, struct dict_entry *e)
{
    ASSERT(e && zbt_len(&z->t) > 0);
    zbt_delete(&z->t, t_zset_entry_score(e), e);
    int found = dict_delete(&z->d, e->key, e->key_len, NULL);
    ASSERT(found && "a tree element without its dict entry");
    ASSERT(dict_size(&z->d) == zbt_len(&z->t) && "dict and tree disagree after a delete");
}

static void big_rescore(struct zbig *z, struct dict_entry *e, double score)
{
    size_t n = zbt_len(&z->t);
    zbt_delete(&z->t, t_zset_entry_score(e), e);
    ASSERT(zbt_len(&z->t) == n - 1 && "the rescored element was not in the tree");
    entry_set_score(e, score);
    zbt_insert(&z->t, score, e);
    ASSERT(zbt_len(&z->t) == n);
}

static void big_free(struct zbig *z)
{
    zbt_free(&z->t);
    dict_free(&z->d, NULL);
    free(z);
}

/* --- the tagged object --- */

static int is_big(const void *obj)
{
    return ((uintptr_t)obj & BIG_TAG) != 0;
}

static struct zbig *big_of(const void *obj)
{
    return (struct zbig *)((uintptr_t)obj & ~BIG_TAG);
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
    ASSERT(len < sizeof tmp);
    memcpy(tmp, p, len);
    tmp[len] = 0;
    if (!strcmp(tmp, "inf")) return INFINITY;
    if (!strcmp(tmp, "-inf")) return -INFINITY;
    return strtod(tmp, NULL);
}

struct dict *t_zset_dict(const void *zs)
{
    return is_big(zs) ? &big_of(zs)->d : NULL;
}

void *t_zset_new(void)
{
    return lp_new();
}

size_t t_zset_size(const void *zs)
{
    ASSERT(zs);
    if (is_big(zs)) return zbt_len(&big_of(zs)->t);
    ASSERT(lp_len(zs) % 2 == 0 && "a listpack sorted set holds member/score pairs");
    return lp_len(zs) / 2;
}

/* Listpack: the offset of member's entry, or lp_end(). */
static size_t lp_member(const unsigned char *lp, const char *m, size_t len)
{
    return lp_find(lp, lp_first(lp), m, len, 1);
}

int t_zset_score(const void *zs, const char *m, size_t len, double *score)
{
    if (is_big(zs)) {
        struct dict_entry *e = dict_find(&big_of(zs)->d, m, len);
        if (!e) return 0;
        *score = t_zset_entry_score(e);
        return 1;
    }
    size_t pos = lp_member(zs, m, len);
    if (pos == lp_end(zs)) return 0;
    *score = lp_score(zs, lp_next(zs, pos));
    return 1;
}

long t_zset_rank(const void *zs, const char *m, size_t len)
{
    if (is_big(zs)) {
        struct dict_entry *e = dict_find(&big_of(zs)->d, m, len);
        return e ? (long)zbt_rank(&big_of(zs)->t, t_zset_entry_score(e), e) : -1;
    }
    size_t pos = lp_member(zs, m, len);
    if (pos == lp_end(zs)) return -1;
    long r = 0;
    for (size_t q = lp_first(zs); q < pos; q = lp_next(zs, lp_next(zs, q)))
        r++;
    return r;
}

static void *convert(unsigned char *lp)
{
    size_t n = lp_len(lp) / 2;
    struct zbig *z = big_new();
    char buf[LP_INTBUF];
    for (size_t pos = lp_first(lp); pos < lp_end(lp);) {
        size_t len;
        const char *m = lp_get(lp, pos, buf, &len);
        pos = lp_next(lp, pos);
        big_insert(z, lp_score(lp, pos), m, len);
        pos = lp_next(lp, pos);
    }
    ASSERT(zbt_len(&z->t) == n && dict_size(&z->d) == n && "an element lost converting");
    lp_free(lp);
    return (void *)((uintptr_t)z | BIG_TAG);
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
    ASSERT(tl < sizeof text);
    uint32_t before = lp_len(lp);
    lp = lp_insert(lp, pos, text, tl);
    lp = lp_insert(lp, pos, m, len);
    ASSERT(lp_len(lp) == before + 2);
    return lp;
}

int t_zset_set(void **zs, const struct kv_limits *lim, const char *m, size_t len, double score)
{
    ASSERT(zs && *zs && lim && !isnan(score));
    if (!is_big(*zs)) {
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
            ASSERT(t_zset_size(*zs) <= lim->zset_max_listpack_entries);
            return 1;
        }
        *zs = convert(lp);
    }
    struct zbig *z = big_of(*zs);
    struct dict_entry *e = dict_find(&z->d, m, len);
    if (e) {
        if (t_zset_entry_score(e) != score) big_rescore(z, e, score);
        return 0;
    }
    big_insert(z, score, m, len);
    ASSERT(dict_size(&z->d) == zbt_len(&z->t) && "dict and tree disagree after an insert");
    return 1;
}

int t_zset_remove(void **zs, const char *m, size_t len)
{
    ASSERT(zs && *zs);
    if (is_big(*zs)) {
        struct zbig *z = big_of(*zs);
        struct dict_entry *e = dict_find(&z->d, m, len);
        if (!e) return 0;
        big_delete(z, e);
        return 1;
    }
    size_t pos = lp_member(*zs, m, len);
    if (pos == lp_end(*zs)) return 0;
    *zs = lp_delete(*zs, pos, 2);
    return 1;
}

void t_zset_remove_ranks(void **zs, size_t start, size_t end)
{
    size_t n = t_zset_size(*zs);
    ASSERT(start <= end && end < n);
    if (!is_big(*zs)) {
        *zs = lp_delete(*zs, lp_seek(*zs, (long)start * 2), (uint32_t)((end - start + 1) * 2));
        ASSERT(t_zset_size(*zs) == n - (end - start + 1));
        return;
    }
    struct zbig *z = big_of(*zs);
    for (size_t k = start; k <= end; k++) {
        struct zbt_pos p = zbt_at(&z->t, start);
        big_delete(z, zbt_get(&p)->e);
    }
    ASSERT(t_zset_size(*zs) == n - (end - start + 1));
}

/* --- positions --- */

/* A big set's position as the tree's, and back. */
static struct zbt_pos tree_pos(const struct zpos *p)
{
    return (struct zbt_pos){p->node, (unsigned)p->off};
}

static void set_tree_pos(struct zpos *p, struct zbt_pos b)
{
    p->node = b.leaf;
    p->off = b.slot;
}

struct zpos t_zset_at_rank(const void *zs, size_t rank)
{
    struct zpos p = {zs, NULL, 0};
    if (is_big(zs)) {
        set_tree_pos(&p, zbt_at(&big_of(zs)->t, rank));
    } else {
        p.off = rank < lp_len(zs) / 2 ? lp_seek(zs, (long)rank * 2) : lp_end(zs);
    }
    return p;
}

int t_zset_valid(const struct zpos *p)
{
    return is_big(p->zs) ? p->node != NULL : p->off < lp_end(p->zs);
}

void t_zset_next(struct zpos *p)
{
    if (is_big(p->zs)) {
        struct zbt_pos b = tree_pos(p);
        zbt_next(&b);
        set_tree_pos(p, b);
    } else {
        p->off = lp_next(p->zs, lp_next(p->zs, p->off));
    }
}

void t_zset_prev(struct zpos *p)
{
    if (is_big(p->zs)) {
        struct zbt_pos b = tree_pos(p);
        zbt_prev(&b);
        set_tree_pos(p, b);
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
    if (is_big(p->zs)) {
        struct zbt_pos b = tree_pos(p);
        const struct zbt_elem *x = zbt_get(&b);
        e->m = x->e->key;
        e->len = x->e->key_len;
        e->score = x->score;
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

static int node_below_min(const struct zbt_elem *x, const void *arg)
{
    return below_min(x->score, arg);
}

static int node_within_max(const struct zbt_elem *x, const void *arg)
{
    return within_max(x->score, arg);
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
    ASSERT(n <= t_zset_size(zs));
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
    return is_big(zs) ? zbt_count_while(&big_of(zs)->t, node_below_min, &b)
                      : lp_count_while(zs, elem_below_min, &b);
}

size_t t_zset_upto_score(const void *zs, double max, int exclusive)
{
    struct score_bound b = {max, exclusive};
    return is_big(zs) ? zbt_count_while(&big_of(zs)->t, node_within_max, &b)
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

static int node_lex_below(const struct zbt_elem *x, const void *arg)
{
    return lex_below_min(x->e->key, x->e->key_len, arg);
}

static int node_lex_within(const struct zbt_elem *x, const void *arg)
{
    return lex_within_max(x->e->key, x->e->key_len, arg);
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
    return is_big(zs) ? zbt_count_while(&big_of(zs)->t, node_lex_below, min)
                      : lp_count_while(zs, elem_lex_below, min);
}

size_t t_zset_upto_lex(const void *zs, const struct zlex *max)
{
    return is_big(zs) ? zbt_count_while(&big_of(zs)->t, node_lex_within, max)
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

/* --- type operations (src/keyspace/types.h) --- */

static const char *z_encoding(const void *zs)
{
    ASSERT(zs);
    return is_big(zs) ? "skiplist" : "listpack"; /* Redis's names (t_zset.h) */
}

void t_zset_free(void *zs)
{
    if (is_big(zs))
        big_free(big_of(zs));
    else
        lp_free(zs);
}

static void dup_elem(void *ud, const char *m, size_t len, double score)
{
    big_insert(ud, score, m, len);
}

static void *z_dup(const void *zs)
{
    if (!is_big(zs)) return lp_dup(zs);
    struct zbig *z = big_new();
    t_zset_foreach(zs, 0, dup_elem, z);
    ASSERT(zbt_len(&z->t) == t_zset_size(zs));
    return (void *)((uintptr_t)z | BIG_TAG);
}

static size_t z_length(const void *zs)
{
    return t_zset_size(zs);
}

static size_t z_memory(const void *zs, size_t samples)
{
    if (!is_big(zs)) return malloc_usable_size((void *)zs);
    const struct zbig *z = big_of(zs);
    size_t n = zbt_len(&z->t), k = samples && samples < n ? samples : n, bytes = 0;
    struct zbt_pos p = zbt_at(&z->t, 0);
    for (size_t i = 0; i < k && p.leaf; i++, zbt_next(&p))
        bytes += malloc_usable_size(zbt_get(&p)->e);
    size_t entries = k ? bytes / k * n : 0;
    return sizeof *z + dict_table_bytes(&z->d) + zbt_bytes(&z->t) + entries;
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

static void digest_elem(void *ud, const char *m, size_t len, double score)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.17g", score);
    digest_xor_pair(ud, m, len, buf, (size_t)n);
}

static void z_digest(const void *zs, unsigned char d[DIGEST_LEN])
{
    t_zset_foreach(zs, 0, digest_elem, d);
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
    .members = t_zset_dict,
    .save = z_save,
    .digest = z_digest,
    .load = z_load,
};
