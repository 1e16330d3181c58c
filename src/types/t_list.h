/*
 * src/types/t_list.h - the list type: its encoding, its commands, and the pop and
 * move workers the blocking commands share with the others.
 *
 * A list object (the pointer kept in struct kv_val, src/keyspace/kv.h) is a struct
 * quicklist (src/ds/quicklist.h): listpack nodes sized by the list's fill
 * (list-max-listpack-size, Redis's default -2: 8 KB a node) with the inner
 * nodes LZF-compressed past the list's depth (list-compress-depth, default
 * 0: none), both taken from the keyspace's limits when the list is created.
 * OBJECT ENCODING says "quicklist" for every list, as Redis 7.0. An empty
 * list never exists: the write that takes its last element deletes the key.
 *
 * Determinism: no list write draws randomness or depends on anything but
 * the list's elements and the arguments; the node layout (which differs
 * between nodes of a cluster configured differently) never shows in a
 * reply but in MEMORY USAGE.
 *
 * Commands (Redis 7.0): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LMPOP LMOVE
 * RPOPLPUSH (src/types/t_list.c), LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS
 * (src/types/t_list_cmd.c), the blocking BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH
 * (src/types/t_list_block.c); their rows are in src/types/cmdtable_list.c. SORT reads
 * and stores lists through the functions below (src/types/sort.c).
 */
#ifndef T_LIST_H
#define T_LIST_H

#include <stddef.h>

#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "ds/quicklist.h"
#include "keyspace/types.h"

extern const struct kv_type_ops t_list_ops;

/* --- for SORT --- */

/* A new empty list object with the keyspace's fill and depth. */
void *t_list_new(const struct kv_limits *lim);
/* Appends p[0..len) (shorter than QL_ELEMENT_MAX) at the tail. */
void t_list_append(void *list, const char *p, size_t len);
size_t t_list_len(const void *list);
/* Every element, head to tail (reverse: tail to head); p valid for the
 * call only. */
typedef void t_list_elem_fn(void *ud, const char *p, size_t len);
void t_list_foreach(const void *list, int reverse, t_list_elem_fn *fn, void *ud);

/* --- the workers of the pop and move commands, blocking ones included ---
 *
 * They run inside a write handler (src/cmd/cmd.h: deterministic, reply to
 * c->out) and leave the keyspace as Redis does: a list emptied by them is
 * deleted, every list they change is signalled (kv_modified / the delete),
 * so WATCH sees it. */

/* How a pop replies (Redis's shapes). */
enum t_list_reply {
    T_LIST_REPLY_ONE,      /* LPOP key: the element */
    T_LIST_REPLY_MANY,     /* LPOP key count: [element ...], up to count */
    T_LIST_REPLY_KEY_ONE,  /* BLPOP: [key, element] */
    T_LIST_REPLY_KEY_MANY, /* LMPOP, BLMPOP: [key, [element ...]] */
};

/* Pops from the first of keys[0..nkeys) that holds a list, at end: one
 * element, or up to count (>= 0) for the MANY shapes. Returns 1 after
 * popping and replying in the given shape; 0 when every key is absent
 * (nothing replied, nothing changed: the caller replies its null or
 * blocks); -1 after replying WRONGTYPE for a key met before any list (the
 * keys after the list popped are not looked at, as Redis). */
int t_list_pop_generic(struct cmd_ctx *c, const struct resp_arg *keys, int nkeys, enum ql_end end,
                       long long count, enum t_list_reply shape);

/* Moves the element at src's `from` end to dst's `to` end (src and dst may
 * be the same key) and replies it. Returns 1 after moving; 0 when src is
 * absent (nothing replied, dst not looked at); -1 after replying WRONGTYPE
 * (src, then dst, checked before anything changes). */
int t_list_move_generic(struct cmd_ctx *c, const struct resp_arg *src, const struct resp_arg *dst,
                        enum ql_end from, enum ql_end to);

/* 1 if key holds a list at now_ms (lists are never empty), 0 if it is
 * absent, -1 if it holds another type. Changes nothing: a blocked client's
 * "can I be served" test. */
int t_list_ready(struct kv *kv, const char *key, size_t len, int64_t now_ms);

/* argv[i] as LEFT (QL_HEAD) or RIGHT (QL_TAIL); -1 after replying ERR
 * syntax error (LMOVE's, BLMOVE's, LMPOP's, BLMPOP's "where"). */
int t_list_arg_end(struct cmd_ctx *c, int i, enum ql_end *end);

/* LMPOP's arguments from argv[numkeys_i] (BLMPOP's start one later):
 * numkeys key [key ...] LEFT|RIGHT [COUNT count]. Returns 0 with the keys'
 * first argv index and count, the end and the count (1 by default), or -1
 * after replying Redis's error. */
struct t_list_mpop_args {
    int first_key, nkeys;
    enum ql_end end;
    long long count;
};
int t_list_mpop_parse(struct cmd_ctx *c, int numkeys_i, struct t_list_mpop_args *a);
/* The key indexes of such a call (getkeys hooks): LMPOP's keys, and the
 * keys after a numkeys at argv[numkeys_i] for the others. */
int t_list_mpop_keys_at(int numkeys_i, int argc, const struct resp_arg *argv, int *idx, int max);
cmd_getkeys_fn t_list_lmpop_keys, t_list_blmpop_keys;

cmd_proc cmd_lpush, cmd_rpush, cmd_lpushx, cmd_rpushx, cmd_lpop, cmd_rpop, cmd_lmpop, cmd_lmove,
    cmd_rpoplpush, cmd_llen, cmd_lrange, cmd_lindex, cmd_lset, cmd_linsert, cmd_lrem, cmd_ltrim,
    cmd_lpos, cmd_blpop, cmd_brpop, cmd_blmpop, cmd_blmove, cmd_brpoplpush;

extern const struct command cmd_table_list[];

#endif
