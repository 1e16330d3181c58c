/*
 * src/types/t_zset_int.h - what the sorted set's command files share (the zset
 * module's own files only: src/t_zset*.c).
 */
#ifndef T_ZSET_INT_H
#define T_ZSET_INT_H

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "types/t_zset.h"

struct dict;
struct dict_entry;

/* The sorted set at key for a read / a write: NULL if absent; *wrong after
 * replying WRONGTYPE. */
struct kv_val *t_zset_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
struct kv_val *t_zset_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
/* Stores zs back into v after a change and fires the write's event
 * (Redis's name: "zrem", "zpopmin", ...): deletes key ("del") if empty,
 * else fires kv_modified. */
void t_zset_changed(struct cmd_ctx *c, const struct resp_arg *key, struct kv_val *v, void *zs,
                    const char *event);
/* One element of a reply: the member, its score if withscores; as a
 * [member, score] pair in RESP3 when pair is set. */
void t_zset_reply_elem(struct resp_out *o, const struct zelem *e, int withscores, int pair);
/* A big ("skiplist") set's member dict, or NULL for a listpack (ZSCAN);
 * t_zset_entry_score reads the score one of its entries holds. */
struct dict *t_zset_dict(const void *zs);
double t_zset_entry_score(const struct dict_entry *e);

/*
 * The union, intersection or difference of n inputs (src/types/t_zset_combine.c):
 * ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD. The caller fills
 * op, agg, limit, in, n, lim and build; t_zset_combine sorts in[] (union
 * and intersection: by size, smallest first, ties in argument order, as
 * Redis 7.0 does; the order in which a member's scores are aggregated) and
 * sets the rest.
 */
enum t_zset_op { T_ZSET_UNION, T_ZSET_INTER, T_ZSET_DIFF };
enum t_zset_agg { T_ZSET_SUM, T_ZSET_MIN, T_ZSET_MAX };

struct t_zset_input {
    const void *obj; /* borrowed sorted set or set; NULL: missing key */
    int is_set;      /* a plain set: each member scores 1 */
    double weight;   /* multiplies the input's scores (1 for a difference) */
    size_t size;     /* set by t_zset_combine: elements */
    int pos;         /* set by t_zset_combine: place in the arguments */
};

struct t_zset_combine {
    enum t_zset_op op;
    enum t_zset_agg agg;
    unsigned long long limit; /* intersection: stop counting there; 0: none */
    struct t_zset_input *in;  /* borrowed, n of them (n >= 1); reordered */
    int n;
    const struct kv_limits *lim; /* the result's encoding thresholds */
    int build;                   /* 0: count only (intersection) */
    /* Out. out: the result, a new sorted set owned by the caller (NULL
     * when not building); count: its size, or the intersection's count up
     * to limit. probes: member look-ups made in the inputs and the result,
     * the work that must stay linear in the inputs' elements (tests). */
    void *out;
    unsigned long long count;
    unsigned long long probes;
};

void t_zset_combine(struct t_zset_combine *z);

#endif
