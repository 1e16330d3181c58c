/*
 * src/t_zset_int.h - what the sorted set's command files share (the zset
 * module's own files only: src/t_zset*.c).
 */
#ifndef T_ZSET_INT_H
#define T_ZSET_INT_H

#include "cmd.h"
#include "kv.h"
#include "t_zset.h"

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

#endif
