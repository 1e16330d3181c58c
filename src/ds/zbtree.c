/*
 * src/ds/zbtree.c - the order-statistic B+tree of sorted-set elements (see
 * zbtree.h).
 *
 * Insertion and deletion recurse from the root (the tree is a few levels
 * deep): a full node splits in halves on the way back up, an under-filled
 * one merges with a sibling when both fit in one node and otherwise takes
 * elements from it until both hold half. Each inner node's per-child count
 * and first element are recomputed on the way back up the path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds/dict.h"
#include "base/util.h"
#include "ds/zbtree.h"
#include "raft/raft_assert.h"

/* Sized so that a node is just under 1 KiB, an allocator size class. */
#define ZBT_LEAF_MAX 62
#define ZBT_INNER_MAX 31
#define LEAF_MIN (ZBT_LEAF_MAX / 4)
#define INNER_MIN (ZBT_INNER_MAX / 4)

struct leaf {
    struct leaf *prev, *next;
    uint32_t n;
    struct zbt_elem el[ZBT_LEAF_MAX];
};

struct inner {
    uint32_t n;
    size_t cnt[ZBT_INNER_MAX];          /* elements under child[i] */
    struct zbt_elem min[ZBT_INNER_MAX]; /* child[i]'s first element */
    void *child[ZBT_INNER_MAX];         /* leaves when this node's height is 1 */
};

int zbt_cmp(double s1, const struct dict_entry *e1, double s2, const struct dict_entry *e2)
{
    if (s1 < s2) return -1;
    if (s1 > s2) return 1;
    if (e1 == e2) return 0;
    size_t l1 = e1->key_len, l2 = e2->key_len;
    int c = memcmp(e1->key, e2->key, l1 < l2 ? l1 : l2);
    if (c) return c < 0 ? -1 : 1;
    return l1 < l2 ? -1 : l1 > l2;
}

static int el_cmp(const struct zbt_elem *a, double s, const struct dict_entry *e)
{
    return zbt_cmp(a->score, a->e, s, e);
}

/* --- nodes --- */

static struct leaf *leaf_new(struct zbt *t)
{
    struct leaf *l = util_xmalloc(sizeof *l);
    l->prev = l->next = NULL;
    l->n = 0;
    t->leaves++;
    return l;
}

static struct inner *inner_new(struct zbt *t)
{
    struct inner *in = util_xmalloc(sizeof *in);
    in->n = 0;
    t->inners++;
    return in;
}

/* Entries (leaf elements, inner children) of a node of height h. */
static uint32_t node_n(const void *node, int h)
{
    return h ? ((const struct inner *)node)->n : ((const struct leaf *)node)->n;
}

static size_t node_count(const void *node, int h)
{
    if (!h) return ((const struct leaf *)node)->n;
    const struct inner *in = node;
    size_t c = 0;
    for (uint32_t i = 0; i < in->n; i++)
        c += in->cnt[i];
    return c;
}

static struct zbt_elem node_first(const void *node, int h)
{
    return h ? ((const struct inner *)node)->min[0] : ((const struct leaf *)node)->el[0];
}

/* The first slot of l whose element is >= (s, e). */
static uint32_t leaf_lower(const struct leaf *l, double s, const struct dict_entry *e)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (el_cmp(&l->el[mid], s, e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The child whose range holds (s, e): the last one whose first element is
 * <= (s, e), or the first child. */
static uint32_t route(const struct inner *in, double s, const struct dict_entry *e)
{
    uint32_t lo = 1, hi = in->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (el_cmp(&in->min[mid], s, e) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

static void inner_shift(struct inner *in, uint32_t from, int by)
{
    ASSERT(from <= in->n && (int64_t)from + by >= 0 && (int64_t)in->n + by <= ZBT_INNER_MAX);
    uint32_t k = in->n - from;
    memmove(in->cnt + from + by, in->cnt + from, k * sizeof *in->cnt);
    memmove(in->min + from + by, in->min + from, k * sizeof *in->min);
    memmove(in->child + from + by, in->child + from, k * sizeof *in->child);
}

/* Moves k entries of src from slot s to dst at slot d (dst has room). */
static void inner_move(struct inner *dst, uint32_t d, const struct inner *src, uint32_t s,
                       uint32_t k)
{
    ASSERT(d + k <= ZBT_INNER_MAX && s + k <= src->n);
    memcpy(dst->cnt + d, src->cnt + s, k * sizeof *src->cnt);
    memcpy(dst->min + d, src->min + s, k * sizeof *src->min);
    memcpy(dst->child + d, src->child + s, k * sizeof *src->child);
}

void zbt_init(struct zbt *t)
{
    memset(t, 0, sizeof *t);
    t->root = leaf_new(t);
}

static void free_node(void *node, int h)
{
    if (h) {
        struct inner *in = node;
        for (uint32_t i = 0; i < in->n; i++)
            free_node(in->child[i], h - 1);
    }
    free(node);
}

void zbt_free(struct zbt *t)
{
    if (t->root) free_node(t->root, t->height);
    memset(t, 0, sizeof *t);
}

size_t zbt_bytes(const struct zbt *t)
{
    return t->leaves * sizeof(struct leaf) + t->inners * sizeof(struct inner);
}

/* --- insertion --- */

/* Puts x into leaf l; returns the new right half if l was full. */
static void *leaf_put(struct zbt *t, struct leaf *l, const struct zbt_elem *x)
{
    uint32_t pos = leaf_lower(l, x->score, x->e);
    ASSERT(pos <= l->n && l->n <= ZBT_LEAF_MAX);
    struct leaf *r = NULL, *dst = l;
    if (l->n == ZBT_LEAF_MAX) {
        uint32_t half = ZBT_LEAF_MAX / 2;
        r = leaf_new(t);
        r->n = l->n - half;
        memcpy(r->el, l->el + half, r->n * sizeof *r->el);
        l->n = half;
        r->prev = l;
        r->next = l->next;
        if (l->next) l->next->prev = r;
        l->next = r;
        if (pos > half) {
            dst = r;
            pos -= half;
        }
    }
    memmove(dst->el + pos + 1, dst->el + pos, (dst->n - pos) * sizeof *dst->el);
    dst->el[pos] = *x;
    dst->n++;
    ASSERT(dst->n <= ZBT_LEAF_MAX);
    return r;
}

/* Puts child (count cnt, first element min) at slot pos of in; returns the
 * new right half if in was full. */
static void *inner_put(struct zbt *t, struct inner *in, uint32_t pos, void *child, size_t cnt,
                       struct zbt_elem min)
{
    struct inner *r = NULL, *dst = in;
    ASSERT(pos <= in->n && in->n <= ZBT_INNER_MAX);
    if (in->n == ZBT_INNER_MAX) {
        uint32_t half = (ZBT_INNER_MAX + 1) / 2;
        r = inner_new(t);
        r->n = in->n - half;
        inner_move(r, 0, in, half, r->n);
        in->n = half;
        if (pos > half) {
            dst = r;
            pos -= half;
        }
    }
    inner_shift(dst, pos, 1);
    dst->cnt[pos] = cnt;
    dst->min[pos] = min;
    dst->child[pos] = child;
    dst->n++;
    return r;
}

static void *ins(struct zbt *t, void *node, int h, const struct zbt_elem *x)
{
    if (!h) return leaf_put(t, node, x);
    struct inner *in = node;
    uint32_t i = route(in, x->score, x->e);
    void *sib = ins(t, in->child[i], h - 1, x);
    in->min[i] = node_first(in->child[i], h - 1);
    if (!sib) {
        in->cnt[i]++;
        return NULL;
    }
    size_t right = node_count(sib, h - 1);
    in->cnt[i] = in->cnt[i] + 1 - right;
    return inner_put(t, in, i + 1, sib, right, node_first(sib, h - 1));
}

void zbt_insert(struct zbt *t, double score, struct dict_entry *e)
{
    struct zbt_elem x = {score, e};
    void *sib = ins(t, t->root, t->height, &x);
    t->len++;
    if (!sib) return;
    struct inner *root = inner_new(t);
    root->n = 2;
    root->child[0] = t->root;
    root->child[1] = sib;
    root->cnt[1] = node_count(sib, t->height);
    root->cnt[0] = t->len - root->cnt[1];
    root->min[0] = node_first(t->root, t->height);
    root->min[1] = node_first(sib, t->height);
    ASSERT(root->cnt[0] > 0 && root->cnt[1] > 0);
    t->root = root;
    t->height++;
}

/* --- deletion --- */

/* Appends b's entries to a (they fit) and frees b. */
static void merge(struct zbt *t, void *a, void *b, int h)
{
    ASSERT(node_n(a, h) + node_n(b, h) <= (h ? ZBT_INNER_MAX : ZBT_LEAF_MAX));
    if (!h) {
        struct leaf *la = a, *lb = b;
        memcpy(la->el + la->n, lb->el, lb->n * sizeof *lb->el);
        la->n += lb->n;
        la->next = lb->next;
        if (lb->next) lb->next->prev = la;
        t->leaves--;
    } else {
        struct inner *ia = a, *ib = b;
        inner_move(ia, ia->n, ib, 0, ib->n);
        ia->n += ib->n;
        t->inners--;
    }
    free(b);
}

/* Moves entries between neighbours a and b (a before b) until a holds
 * half of both. */
static void even_out(void *a, void *b, int h)
{
    uint32_t na = node_n(a, h), nb = node_n(b, h), want = (na + nb) / 2;
    if (!h) {
        struct leaf *la = a, *lb = b;
        if (na < want) { /* b's first elements go to a's end */
            uint32_t k = want - na;
            memcpy(la->el + na, lb->el, k * sizeof *lb->el);
            memmove(lb->el, lb->el + k, (nb - k) * sizeof *lb->el);
        } else { /* a's last elements go to b's front */
            uint32_t k = na - want;
            memmove(lb->el + k, lb->el, nb * sizeof *lb->el);
            memcpy(lb->el, la->el + want, k * sizeof *lb->el);
        }
        lb->n = na + nb - want;
        la->n = want;
        return;
    }
    struct inner *ia = a, *ib = b;
    if (na < want) {
        uint32_t k = want - na;
        inner_move(ia, na, ib, 0, k);
        inner_shift(ib, k, -(int)k);
    } else {
        uint32_t k = na - want;
        inner_shift(ib, 0, (int)k);
        inner_move(ib, 0, ia, want, k);
    }
    ib->n = na + nb - want;
    ia->n = want;
}

/* After a deletion under child i of in (children of height h): refreshes
 * the child's first element and restores its fill from a sibling. */
static void refill(struct zbt *t, struct inner *in, uint32_t i, int h)
{
    uint32_t min = h ? INNER_MIN : LEAF_MIN, max = h ? ZBT_INNER_MAX : ZBT_LEAF_MAX;
    if (node_n(in->child[i], h) >= min || in->n < 2) {
        if (node_n(in->child[i], h)) in->min[i] = node_first(in->child[i], h);
        return;
    }
    uint32_t l = i ? i - 1 : 0;
    void *a = in->child[l], *b = in->child[l + 1];
    if (node_n(a, h) + node_n(b, h) <= max) {
        merge(t, a, b, h);
        in->cnt[l] += in->cnt[l + 1];
        inner_shift(in, l + 2, -1);
        in->n--;
    } else {
        even_out(a, b, h);
        in->cnt[l] = node_count(a, h);
        in->cnt[l + 1] = node_count(b, h);
        in->min[l + 1] = node_first(b, h);
    }
    in->min[l] = node_first(a, h);
}

static void del(struct zbt *t, void *node, int h, double s, const struct dict_entry *e)
{
    if (!h) {
        struct leaf *l = node;
        uint32_t pos = leaf_lower(l, s, e);
        ASSERT(pos < l->n && l->el[pos].e == e && "deleting an element not in the tree");
        memmove(l->el + pos, l->el + pos + 1, (l->n - pos - 1) * sizeof *l->el);
        l->n--;
        return;
    }
    struct inner *in = node;
    uint32_t i = route(in, s, e);
    del(t, in->child[i], h - 1, s, e);
    ASSERT(in->cnt[i] > 0);
    in->cnt[i]--;
    refill(t, in, i, h - 1);
}

void zbt_delete(struct zbt *t, double score, const struct dict_entry *e)
{
    ASSERT(t->len > 0);
    del(t, t->root, t->height, score, e);
    t->len--;
    while (t->height && ((struct inner *)t->root)->n == 1) {
        struct inner *old = t->root;
        t->root = old->child[0];
        t->height--;
        t->inners--;
        free(old);
    }
}

/* --- queries --- */

size_t zbt_rank(const struct zbt *t, double score, const struct dict_entry *e)
{
    size_t r = 0;
    const void *node = t->root;
    for (int h = t->height; h; h--) {
        const struct inner *in = node;
        uint32_t i = route(in, score, e);
        for (uint32_t j = 0; j < i; j++)
            r += in->cnt[j];
        node = in->child[i];
    }
    uint32_t pos = leaf_lower(node, score, e);
    ASSERT(pos < ((const struct leaf *)node)->n && "ranking an element not in the tree");
    ASSERT(r + pos < t->len);
    return r + pos;
}

size_t zbt_count_while(const struct zbt *t, zbt_pred *before, const void *arg)
{
    size_t r = 0;
    const void *node = t->root;
    for (int h = t->height; h; h--) {
        const struct inner *in = node;
        uint32_t lo = 0, hi = in->n; /* the first child whose first element is not before */
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (before(&in->min[mid], arg))
                lo = mid + 1;
            else
                hi = mid;
        }
        if (!lo) return r;
        for (uint32_t j = 0; j + 1 < lo; j++)
            r += in->cnt[j];
        node = in->child[lo - 1];
    }
    const struct leaf *l = node;
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (before(&l->el[mid], arg))
            lo = mid + 1;
        else
            hi = mid;
    }
    return r + lo;
}

struct zbt_pos zbt_at(const struct zbt *t, size_t r)
{
    struct zbt_pos p = {NULL, 0};
    if (r >= t->len) return p;
    void *node = t->root;
    for (int h = t->height; h; h--) {
        struct inner *in = node;
        uint32_t i = 0;
        while (r >= in->cnt[i])
            r -= in->cnt[i++];
        node = in->child[i];
    }
    ASSERT(r < ((const struct leaf *)node)->n);
    p.leaf = node;
    p.slot = (unsigned)r;
    return p;
}

void zbt_next(struct zbt_pos *p)
{
    struct leaf *l = p->leaf;
    if (++p->slot < l->n) return;
    p->leaf = l->next;
    p->slot = 0;
}

void zbt_prev(struct zbt_pos *p)
{
    struct leaf *l = p->leaf;
    if (p->slot) {
        p->slot--;
        return;
    }
    p->leaf = l->prev;
    p->slot = l->prev ? l->prev->n - 1 : 0;
}

const struct zbt_elem *zbt_get(const struct zbt_pos *p)
{
    return &((const struct leaf *)p->leaf)->el[p->slot];
}

/* --- invariants --- */

struct check {
    const struct zbt_elem *last; /* the previous element in order */
    const struct leaf *last_leaf;
    size_t leaves, inners;
};

/* Checks the subtree; *count gets its elements. */
static const char *check_node(const void *node, int h, int root, struct check *c, size_t *count)
{
    if (!h) {
        const struct leaf *l = node;
        c->leaves++;
        if (l->n > ZBT_LEAF_MAX || (!root && l->n < LEAF_MIN)) return "leaf fill out of bounds";
        if (l->prev != c->last_leaf) return "leaf prev link broken";
        if (c->last_leaf && c->last_leaf->next != l) return "leaf next link broken";
        c->last_leaf = l;
        for (uint32_t i = 0; i < l->n; i++) {
            if (c->last && el_cmp(c->last, l->el[i].score, l->el[i].e) >= 0)
                return "elements out of order";
            c->last = &l->el[i];
        }
        *count = l->n;
        return NULL;
    }
    const struct inner *in = node;
    c->inners++;
    if (in->n > ZBT_INNER_MAX || in->n < (root ? 2u : INNER_MIN)) return "inner fill out of bounds";
    *count = 0;
    for (uint32_t i = 0; i < in->n; i++) {
        size_t sub;
        struct zbt_elem first = node_first(in->child[i], h - 1);
        if (first.e != in->min[i].e || first.score != in->min[i].score)
            return "routing element is not the child's first";
        const char *err = check_node(in->child[i], h - 1, 0, c, &sub);
        if (err) return err;
        if (sub != in->cnt[i]) return "child count wrong";
        *count += sub;
    }
    return NULL;
}

const char *zbt_check(const struct zbt *t)
{
    struct check c = {NULL, NULL, 0, 0};
    size_t count;
    const char *err = check_node(t->root, t->height, 1, &c, &count);
    if (err) return err;
    if (c.last_leaf && c.last_leaf->next) return "last leaf has a next";
    if (count != t->len) return "length wrong";
    if (c.leaves != t->leaves || c.inners != t->inners) return "node counts wrong";
    return NULL;
}
