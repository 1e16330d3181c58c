/*
 * src/types/t_list_int.h - what src/types/t_list.c shares with src/types/t_list_cmd.c (the
 * list module's own files only).
 */
#ifndef T_LIST_INT_H
#define T_LIST_INT_H

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "ds/quicklist.h"

/* The list at key for a read / a write: NULL if absent; *wrong after
 * replying WRONGTYPE. */
struct kv_val *t_list_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
struct kv_val *t_list_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
/* After a write changed ql, key's list: fires the write's event (Redis's
 * name: "lpop", "lrem", ...), then deletes key ("del") if ql is empty, else
 * fires kv_modified. */
void t_list_changed(struct cmd_ctx *c, const struct resp_arg *key, const struct quicklist *ql,
                    const char *event);
/* 1 after replying an error if an element among argv[first..] is too long
 * for a list (QL_ELEMENT_MAX); 0 otherwise. */
int t_list_too_long(struct cmd_ctx *c, int first);
/* Replies up to n elements as bulks, from index towards the tail (or the
 * head: reverse). */
void t_list_reply_range(struct resp_out *out, const struct quicklist *ql, size_t index, size_t n,
                        int reverse);

#endif
