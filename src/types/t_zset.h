/*
 * src/types/t_zset.h - the sorted set type: its encodings (this file's module,
 * src/types/t_zset.c) and its commands (src/types/t_zset_cmd.c, src/types/t_zset_range.c,
 * src/types/t_zset_store.c).
 *
 * A sorted set orders its members by (score, member bytes). Its object (the
 * pointer kept in struct kv_val, src/keyspace/kv.h) is either
 *   - "listpack": the listpack itself (src/ds/listpack.h), member, score,
 *     member, score... in that order; a score is stored as the shortest text
 *     that reads back as the same double (integers as integers); used while
 *     the set has at most zset-max-listpack-entries members, none longer than
 *     zset-max-listpack-value bytes;
 *   - "skiplist" (Redis's name for its large encoding, kept for OBJECT
 *     ENCODING and for tools that read it): an order-statistic B+tree
 *     (src/ds/zbtree.h: rank and select in O(log n), a few cache misses per
 *     search where a skiplist takes dozens) plus a dict (src/ds/dict.h) member
 *     -> score, whose entries are the tree's elements; the pointer carries a
 *     tag in its lowest bit. Nothing in it is random, so the structure is the
 *     same on every replica.
 * A set converts to the big encoding once and never back, as Redis. An empty
 * sorted set never exists.
 *
 * Ranks count from 0 in ascending order. Positions (struct zpos) walk the
 * set in order either way whatever the encoding; a position is valid until
 * the set changes.
 */
#ifndef T_ZSET_H
#define T_ZSET_H

#include <stddef.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "ds/listpack.h"
#include "keyspace/types.h"

extern const struct kv_type_ops t_zset_ops;

/* A member and its score as read (member points into the set or into buf). */
struct zelem {
    const char *m;
    size_t len;
    double score;
    char buf[LP_INTBUF];
};

/* A place in a sorted set (an element, or past either end). */
struct zpos {
    const void *zs;
    void *node; /* big: the tree's leaf, NULL past the ends */
    size_t off; /* listpack: the member's offset, lp_end() past the ends;
                   big: the slot in the leaf */
};

void *t_zset_new(void);
void t_zset_free(void *zs);
size_t t_zset_size(const void *zs);
/* 1 and *score if member is in zs. */
int t_zset_score(const void *zs, const char *m, size_t len, double *score);
/* The rank of member (ascending), or -1. */
long t_zset_rank(const void *zs, const char *m, size_t len);

/* Adds member with score or sets its score; *zs may move (conversion).
 * Returns 1 if added, 0 if updated. */
int t_zset_set(void **zs, const struct kv_limits *lim, const char *m, size_t len, double score);
/* Removes member; returns 1 if it was there. */
int t_zset_remove(void **zs, const char *m, size_t len);
/* Removes the elements of ranks [start, end] (0 <= start <= end < size). */
void t_zset_remove_ranks(void **zs, size_t start, size_t end);

/* Positions. at_rank: rank r (past the end if r >= size). */
struct zpos t_zset_at_rank(const void *zs, size_t rank);
int t_zset_valid(const struct zpos *p);
void t_zset_next(struct zpos *p);
void t_zset_prev(struct zpos *p);
void t_zset_get(const struct zpos *p, struct zelem *e);

/* The rank of the first element with score >= min (> min when exclusive),
 * and the count of elements with score <= max (< max when exclusive):
 * [first, upto) is the range. Likewise for member ranges (lex: the set's
 * scores all equal, as Redis requires): a bound is "-" / "+" (unbounded),
 * or a member with inclusive/exclusive flag. */
size_t t_zset_first_score(const void *zs, double min, int exclusive);
size_t t_zset_upto_score(const void *zs, double max, int exclusive);
struct zlex {
    const char *m; /* NULL: unbounded */
    size_t len;
    int exclusive;
    int plus; /* unbounded: 1 "+", 0 "-" */
};
size_t t_zset_first_lex(const void *zs, const struct zlex *min);
size_t t_zset_upto_lex(const void *zs, const struct zlex *max);

/* Every member in order (reverse: descending), for SORT. */
typedef void t_zset_elem_fn(void *ud, const char *m, size_t len, double score);
void t_zset_foreach(const void *zs, int reverse, t_zset_elem_fn *fn, void *ud);

/* Score text that reads back as the same double ("inf", "-inf", an
 * integer's digits, else %.17g). */
size_t t_zset_score_text(double score, char *buf, size_t cap);

/* src/types/t_zset_cmd.c, src/types/t_zset_range.c, src/types/t_zset_store.c,
 * src/types/t_zset_pop.c; rows in src/types/cmdtable_zset.c */
cmd_proc cmd_zadd, cmd_zincrby, cmd_zrem, cmd_zcard, cmd_zscore, cmd_zmscore, cmd_zrank,
    cmd_zrevrank, cmd_zpopmin, cmd_zpopmax, cmd_zrandmember, cmd_zscan, cmd_zrange, cmd_zrangestore,
    cmd_zrevrange, cmd_zrangebyscore, cmd_zrevrangebyscore, cmd_zrangebylex, cmd_zrevrangebylex,
    cmd_zcount, cmd_zlexcount, cmd_zremrangebyrank, cmd_zremrangebyscore, cmd_zremrangebylex,
    cmd_zunion, cmd_zinter, cmd_zdiff, cmd_zunionstore, cmd_zinterstore, cmd_zdiffstore,
    cmd_zintercard, cmd_zmpop, cmd_bzpopmin, cmd_bzpopmax, cmd_bzmpop;
/* getkeys hooks: "dst numkeys key...", "numkeys key..." and BZMPOP's
 * "timeout numkeys key..." */
cmd_getkeys_fn t_zset_store_keys, t_zset_numkeys_keys, t_zset_bzmpop_keys;
extern const struct command cmd_table_zset[];

#endif
