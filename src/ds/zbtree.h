/*
 * src/ds/zbtree.h - an order-statistic B+tree of (score, member) elements: the
 * ordered half of a large sorted set (src/types/t_zset.c), the member dict being
 * the other half.
 *
 * An element is a score and the dict entry (src/ds/dict.h) that holds its
 * member's bytes; the tree orders elements by (score, member bytes), as
 * Redis orders a sorted set, and never reads the entry's value. The caller
 * owns the entries: the tree stores pointers to them, so an element must be
 * deleted from the tree before its entry is freed.
 *
 * Shape: leaves hold up to ZBT_LEAF_MAX elements in order, with the score
 * inline so a search compares scores without touching the members (the
 * member is read only on equal scores); leaves are linked both ways for
 * in-order walks. Inner nodes hold, per child, the child's element count
 * (rank and select in O(log n)) and its first element (routing). Every node
 * but the root holds at least a quarter of its maximum (a deletion merges or
 * rebalances siblings), so a tree of n elements is O(log n) deep and its
 * nodes are at least a quarter full.
 *
 * Why not Redis's skiplist: a skiplist search follows about 4 log4(n)
 * pointers, each a likely cache miss on a large set; this tree follows one
 * node per level (5 levels for 10M elements) and searches each inside a few
 * neighbouring cache lines, and costs 16 bytes an element plus slack instead
 * of a node per element. Sorted-set writes are the costliest part of
 * applying a log entry, and every replica applies every one.
 *
 * Positions (struct zbt_pos) walk the elements in order either way; one is
 * valid until the tree changes. Nothing here allocates except insertion
 * (util_xmalloc: aborts when memory is exhausted, as every allocation in
 * the server).
 */
#ifndef ZBTREE_H
#define ZBTREE_H

#include <stddef.h>

struct dict_entry;

struct zbt_elem {
    double score;
    struct dict_entry *e; /* the member: e->key, e->key_len */
};

/* Fields are the module's own; embed the struct, use the functions. */
struct zbt {
    void *root; /* a leaf when height is 0 (empty: a leaf of 0 elements) */
    int height; /* inner levels above the leaves */
    size_t len; /* elements */
    size_t leaves, inners;
};

struct zbt_pos {
    void *leaf; /* NULL past either end */
    unsigned slot;
};

void zbt_init(struct zbt *t);
/* Frees the nodes (not the entries). */
void zbt_free(struct zbt *t);
static inline size_t zbt_len(const struct zbt *t)
{
    return t->len;
}
/* Bytes the nodes take (MEMORY USAGE). */
size_t zbt_bytes(const struct zbt *t);

/* -1, 0, 1 as (s1, e1) sorts before, equal to, after (s2, e2). */
int zbt_cmp(double s1, const struct dict_entry *e1, double s2, const struct dict_entry *e2);

/* Inserts (score, e); no element with e's member may be in the tree. */
void zbt_insert(struct zbt *t, double score, struct dict_entry *e);
/* Deletes (score, e), which must be in the tree. */
void zbt_delete(struct zbt *t, double score, const struct dict_entry *e);
/* The 0-based rank of (score, e), which must be in the tree. */
size_t zbt_rank(const struct zbt *t, double score, const struct dict_entry *e);

/* before(x, arg) holds for a prefix of the elements in order (it is
 * monotone: true, then false); returns that prefix's length. */
typedef int zbt_pred(const struct zbt_elem *x, const void *arg);
size_t zbt_count_while(const struct zbt *t, zbt_pred *before, const void *arg);

/* The element of rank r (past the end if r >= len). */
struct zbt_pos zbt_at(const struct zbt *t, size_t r);
void zbt_next(struct zbt_pos *p);
void zbt_prev(struct zbt_pos *p);
const struct zbt_elem *zbt_get(const struct zbt_pos *p);

/* Checks every invariant (order, counts, routing keys, fill, links);
 * returns NULL if all hold, else what is wrong. For tests. */
const char *zbt_check(const struct zbt *t);

#endif
