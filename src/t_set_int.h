/*
 * src/t_set_int.h - what src/t_set.c shares with src/t_set_ops.c (the set
 * module's own files only).
 */
#ifndef T_SET_INT_H
#define T_SET_INT_H

#include "cmd.h"
#include "kv.h"
#include "util.h"

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

#endif
