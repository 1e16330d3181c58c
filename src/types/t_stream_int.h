/*
 * src/types/t_stream_int.h - what the stream module's files share: the stream
 * itself (src/types/t_stream.c: nodes and entries; src/types/t_stream_cg.c: consumer
 * groups), and the command files' helpers (src/types/t_stream_cmd.c: IDs as
 * arguments and replies, lookups, entries as replies). Nothing outside the
 * module includes it (src/types/t_stream.h is the interface).
 */
#ifndef T_STREAM_INT_H
#define T_STREAM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "ds/dict.h"
#include "types/t_stream.h"

struct snode {
    struct stream_id master;
    unsigned char *lp;
};

struct stream {
    struct snode *nodes;
    size_t n, cap;
    uint64_t length, entries_added;
    struct stream_id last_id, first_id, max_deleted_id;
    struct dict *groups; /* name -> struct stream_group *; NULL: none yet */
};

/* src/types/t_stream_cg.c's parts of the keyspace's operations on a stream. */
void stream_groups_free(struct stream *s);
void stream_groups_dup(struct stream *dst, const struct stream *src);
size_t stream_groups_memory(const struct stream *s);
void stream_groups_save(const struct stream *s, type_put_fn *put, void *ud);
/* Reads the groups saved after the nodes; -1 when malformed. */
int stream_groups_load(struct stream *s, struct type_reader *r);

/* ---- the command files' helpers (src/types/t_stream_cmd.c) ---- */

#define STREAM_ERR_BAD_ID "ERR Invalid stream ID specified as stream command argument"
#define STREAM_ID_MIN ((struct stream_id){0, 0})
#define STREAM_ID_MAX ((struct stream_id){UINT64_MAX, UINT64_MAX})

/* An ID argument: "-" and "+" (unless strict), "ms" (seq missing_seq),
 * "ms-seq", and when seq_given is not NULL "ms-*" (*seq_given 0). -1 after
 * replying the error (c NULL: none). */
int stream_arg_id(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
                  uint64_t missing_seq, int strict, int *seq_given);
/* A range bound: "(" makes it exclusive (a strict ID then). */
int stream_arg_bound(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
                     int *exclusive, uint64_t missing_seq);
/* The next ID up / down; 0 past the last (first) possible one. */
int stream_id_incr(struct stream_id *id);
int stream_id_decr(struct stream_id *id);
void stream_reply_id(struct resp_out *o, struct stream_id id);
/* The stream at key, NULL if absent; *wrong after replying WRONGTYPE. */
struct stream *stream_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
struct stream *stream_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
/* As stream_lookup_read, but serving a client woken from blocking
 * (cmd_ctx.serving) a key of another type counts as absent. */
struct stream *stream_lookup_served(struct cmd_ctx *c, const struct resp_arg *key, int *wrong);
/* One entry, the iterator's current: [id, [field, value, ...]]. */
void stream_reply_entry(struct resp_out *o, struct stream_iter *it, struct stream_id id,
                        size_t nfields);
/* The entries in [start, end] (rev: descending), at most count (0: all),
 * as an array; returns how many. */
size_t stream_reply_range(struct resp_out *o, const struct stream *s, struct stream_id start,
                          struct stream_id end, size_t count, int rev);
/* The consumer name of group g (of the stream at key), seen now: created
 * when new, firing xgroup-createconsumer (src/types/t_stream_group.c). */
struct stream_consumer *stream_consumer_seen(struct cmd_ctx *c, const struct resp_arg *key,
                                             struct stream_group *g, const struct resp_arg *name);

#endif
