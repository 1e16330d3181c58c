/*
 * src/types/t_zset_combine.c - the union, intersection and difference of sorted
 * sets (and plain sets, whose members all score 1): the work behind ZUNION,
 * ZINTER, ZDIFF, their STORE forms and ZINTERCARD (src/types/t_zset_store.c).
 * Contract in src/types/t_zset_int.h.
 *
 * Cost: linear in the elements of the inputs (times a look-up in the
 * result), never in elements times inputs: a command may name tens of
 * thousands of keys, and as a write it holds every node of the cluster
 * while it runs.
 *   union         walks each input once, adding each element into the
 *                 result or aggregating it with the score already there;
 *   intersection  walks the smallest input and looks each of its members up
 *                 in the others (Redis's bound: smallest times inputs);
 *   difference    either looks the first input's members up in the others,
 *                 or copies the first input and removes the others' members
 *                 from the copy, whichever Redis 7.0's estimate finds cheaper.
 *
 * Determinism and Redis's replies: a member's scores are aggregated in the
 * order of the inputs sorted by size, smallest first, ties in argument
 * order, as Redis 7.0 sorts them (by cardinality, a stable sort) before
 * combining: floating-point sums depend on their order (0.1 + 0.2 + 0.3 is
 * not 0.3 + 0.2 + 0.1; inf + -inf + inf is not inf + inf + -inf). The
 * difference keeps argument order: its first input is the one the others
 * are taken from. The result is a sorted set, whose order depends only on
 * its contents, so a stored result is the same on every replica.
 */
#include <math.h>
#include <stdlib.h>

#include "types/t_set.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "raft/raft_assert.h"

static size_t input_size(const struct t_zset_input *in)
{
    return !in->obj ? 0 : in->is_set ? t_set_size(in->obj) : t_zset_size(in->obj);
}

/* A weighted score: inf * 0 is NaN, which Redis turns into 0. */
static double weighted(const struct t_zset_input *in, double score)
{
    double s = score * in->weight;
    return isnan(s) ? 0 : s;
}

/* Input in's score of member m times its weight: 1 if present, 0 if
 * absent. A NaN (inf * 0) is left as it is: Redis turns it into 0 only in
 * the input walked; looked up in another input, it makes a SUM NaN, which
 * aggregate() turns into 0, and leaves a MIN or MAX as it was. */
static int input_score(struct t_zset_combine *z, const struct t_zset_input *in, const char *m,
                       size_t len, double *out)
{
    double s = 1;
    z->probes++;
    if (!in->obj) return 0;
    if (in->is_set ? !t_set_contains(in->obj, m, len) : !t_zset_score(in->obj, m, len, &s))
        return 0;
    *out = s * in->weight;
    return 1;
}

static double aggregate(enum t_zset_agg agg, double acc, double s)
{
    if (agg == T_ZSET_MIN) return s < acc ? s : acc;
    if (agg == T_ZSET_MAX) return s > acc ? s : acc;
    double sum = acc + s;
    return isnan(sum) ? 0 : sum; /* inf + -inf */
}

struct walk {
    struct t_zset_combine *z;
    const struct t_zset_input *in; /* the input being walked */
};

/* Union: element m of input w->in joins the result or aggregates with it. */
static void union_elem(struct walk *w, const char *m, size_t len, double s)
{
    struct t_zset_combine *z = w->z;
    double old;
    z->probes++;
    if (t_zset_score(z->out, m, len, &old)) {
        s = aggregate(z->agg, old, s);
        /* t_zset_set keeps a score equal to the new one, as ZADD does; but
         * -0 + 0 is 0, which Redis's accumulator holds and replies as such. */
        if (s == old && signbit(s) != signbit(old)) t_zset_remove(&z->out, m, len);
    }
    t_zset_set(&z->out, z->lim, m, len, s);
}

/* Intersection: member m of the smallest input, with its weighted score s,
 * is in the result if every other input holds it. */
static void inter_elem(struct walk *w, const char *m, size_t len, double s)
{
    struct t_zset_combine *z = w->z;
    double other;
    if (z->limit && z->count >= z->limit) return;
    for (int i = 1; i < z->n; i++) {
        if (!input_score(z, &z->in[i], m, len, &other)) return;
        s = aggregate(z->agg, s, other);
    }
    z->count++;
    if (z->build) t_zset_set(&z->out, z->lim, m, len, s);
}

/* Difference, first way: member m of the first input is in the result if
 * no other input holds it. DIFF takes no weights: s is the first's score. */
static void diff_lookup_elem(struct walk *w, const char *m, size_t len, double s)
{
    struct t_zset_combine *z = w->z;
    double other;
    for (int i = 1; i < z->n; i++)
        if (input_score(z, &z->in[i], m, len, &other)) return;
    z->count++;
    t_zset_set(&z->out, z->lim, m, len, s);
}

/* Difference, second way: the result is a copy of the first input (copy_elem)
 * from which each member of the others is removed (remove_elem). */
static void copy_elem(struct walk *w, const char *m, size_t len, double s)
{
    t_zset_set(&w->z->out, w->z->lim, m, len, s);
}

static void remove_elem(struct walk *w, const char *m, size_t len, double s)
{
    (void)s;
    w->z->probes++;
    t_zset_remove(&w->z->out, m, len);
}

typedef void elem_fn(struct walk *w, const char *m, size_t len, double s);

struct walk_fn {
    struct walk w;
    elem_fn *fn;
};

static void on_set_member(void *ud, const char *m, size_t len)
{
    struct walk_fn *wf = ud;
    wf->fn(&wf->w, m, len, weighted(wf->w.in, 1));
}

static void on_zset_elem(void *ud, const char *m, size_t len, double score)
{
    struct walk_fn *wf = ud;
    wf->fn(&wf->w, m, len, weighted(wf->w.in, score));
}

/* Calls fn on each element of input in (none if the key is missing). */
static void walk_input(struct t_zset_combine *z, const struct t_zset_input *in, elem_fn *fn)
{
    struct walk_fn wf = {{z, in}, fn};
    if (!in->obj) return;
    if (in->is_set)
        t_set_foreach(in->obj, on_set_member, &wf);
    else
        t_zset_foreach(in->obj, 0, on_zset_elem, &wf);
}

/* Smallest first; ties in argument order (a total order: qsort need not be
 * stable for the result to be). */
static int by_size(const void *a, const void *b)
{
    const struct t_zset_input *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Redis 7.0's choice (zsetChooseDiffAlgorithm's estimate): looking the
 * first input's members up in every other input, counted at half its cost
 * since a member is dropped at its first hit, against a pass over all. */
static int diff_by_lookup(const struct t_zset_combine *z)
{
    unsigned long long lookups = 0, all = 0;
    for (int i = 0; i < z->n; i++) {
        lookups += z->in[0].size;
        all += z->in[i].size;
    }
    return lookups / 2 <= all;
}

static void diff(struct t_zset_combine *z)
{
    for (int i = 1; i < z->n; i++)
        if (z->in[i].obj == z->in[0].obj) return; /* the first minus itself */
    if (diff_by_lookup(z)) {
        walk_input(z, &z->in[0], diff_lookup_elem);
        return;
    }
    walk_input(z, &z->in[0], copy_elem);
    for (int i = 1; i < z->n && t_zset_size(z->out); i++)
        walk_input(z, &z->in[i], remove_elem);
    z->count = t_zset_size(z->out);
}

void t_zset_combine(struct t_zset_combine *z)
{
    ASSERT(z->n >= 1 && z->in && z->lim);
    ASSERT((z->build || z->op == T_ZSET_INTER) && "only an intersection is counted alone");
    z->out = z->build ? t_zset_new() : NULL;
    z->count = z->probes = 0;
    for (int i = 0; i < z->n; i++) {
        z->in[i].size = input_size(&z->in[i]);
        z->in[i].pos = i;
    }
    if (z->op == T_ZSET_DIFF) {
        diff(z);
    } else {
        qsort(z->in, (size_t)z->n, sizeof *z->in, by_size);
        ASSERT(z->in[0].size <= z->in[z->n - 1].size);
        if (z->op == T_ZSET_UNION) {
            for (int i = 0; i < z->n; i++)
                walk_input(z, &z->in[i], union_elem);
            z->count = t_zset_size(z->out);
        } else if (z->in[0].size) { /* an empty or missing input: nothing in common */
            walk_input(z, &z->in[0], inter_elem);
        }
    }
    /* Built: count is the result's size; counted: it stops at the limit. */
    ASSERT(!z->build || z->count == t_zset_size(z->out));
    ASSERT(z->build || !z->limit || z->count <= z->limit);
}
