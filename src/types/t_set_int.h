/*
 * src/types/t_set_int.h - what src/types/t_set.c shares with src/types/t_set_ops.c (the set
 * module's own files only).
 */
#ifndef T_SET_INT_H
#define T_SET_INT_H

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "base/util.h"

/* The i-th member in canonical order (into buf for an intset member). */
const char *t_set_at(const void *set, size_t i, char buf[UTIL_LL_STR_SIZE], size_t *len);
/* Removes a member (1 if it was there) / the i-th member; *set may move. */
int t_set_remove(void **set, const char *p, size_t len);
void t_set_remove_at(void **set, size_t i);

/* The set at key for a read / a write: NULL if absent; *wrong after
 * replying WRONGTYPE. */
struct kv_val *t_set_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
struct kv_val *t_set_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
/* Stores obj back into v after a change and fires the write's event
 * (Redis's name: "sadd", "srem", "spop"): deletes key ("del") if the set is
 * empty, else fires kv_modified. */
void t_set_changed(struct cmd_ctx *c, const struct resp_arg *key, struct kv_val *v, void *obj,
                   const char *event);
/* t_set_member_fn replying each member as a bulk to the resp_out ud. */
void t_set_reply_member(void *ud, const char *p, size_t len);

/*
 * The intersection, union or difference of n sources (src/types/t_set_ops.c):
 * SINTER, SUNION, SDIFF, their STORE forms and SINTERCARD. The caller fills
 * op, objs, n, lim, build and limit; t_set_combine sets the rest.
 */
enum t_set_op { T_SET_INTER, T_SET_UNION, T_SET_DIFF };

struct t_set_combine {
    enum t_set_op op;
    const void **objs; /* borrowed sets, n of them; NULL: a missing key */
    int n;
    const struct kv_limits *lim; /* the result's encoding thresholds */
    int build;                   /* 0: count only (intersection) */
    unsigned long long limit;    /* counting: stop there; 0: none */
    /* Out. out: the result, a new set owned by the caller (NULL when not
     * building); count: the intersection's size up to limit when not
     * building. probes: member look-ups and removals made, the work that
     * must stay linear in the sources' elements (tests). */
    void *out;
    unsigned long long count;
    unsigned long long probes;
};

void t_set_combine(struct t_set_combine *z);

#endif
