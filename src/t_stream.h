/*
 * src/t_stream.h - the stream type (this module, src/t_stream.c) and its
 * commands (src/t_stream_cmd.c; rows in src/cmdtable_stream.c).
 *
 * A stream is an append-only sequence of entries, each an ID (ms-seq, two
 * unsigned 64-bit numbers, strictly increasing) and one or more field-value
 * pairs. It is kept as Redis keeps it, so that its memory and the effect of
 * approximate trimming (which removes whole nodes only) are Redis's:
 *   - nodes, in ID order, each a listpack (src/listpack.h) of at most
 *     STREAM_NODE_MAX_ENTRIES entries (deleted ones included) and
 *     STREAM_NODE_MAX_BYTES bytes, opened by a master entry
 *       count | deleted | num-fields | field... | 0
 *     whose fields (the node's first entry's) later entries may share;
 *   - then entries
 *       flags | ms-diff | seq-diff | num-fields | field | value ... | lp-count
 *     or, with the SAMEFIELDS flag (the master's fields, in order),
 *       flags | ms-diff | seq-diff | value ... | lp-count
 *     where the ID is the node's master ID plus the diffs and lp-count is the
 *     entry's element count before it (to walk backwards);
 *   - a deleted entry keeps its place with the DELETED flag (a tombstone)
 *     until its node empties, which then goes.
 * Nodes are held in an array by master ID (Redis: a radix tree), searched by
 * bisection. The stream also records its last ID (never going back, even
 * when the last entry is deleted), the first live entry's ID, the largest
 * ID ever deleted, and how many entries were ever added.
 *
 * Everything here is deterministic: the same commands build the same nodes
 * on every replica. IDs are chosen by the commands (src/t_stream_cmd.c)
 * from the entry's time, never the local clock.
 */
#ifndef T_STREAM_H
#define T_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "listpack.h"
#include "types.h"

struct stream_id {
    uint64_t ms, seq;
};

#define STREAM_ID_TEXT_MAX 42 /* "ms-seq" of two 20-digit numbers, and a NUL */

int stream_id_cmp(struct stream_id a, struct stream_id b);
/* "ms-seq" into buf (STREAM_ID_TEXT_MAX bytes); returns its length. */
size_t stream_id_text(struct stream_id id, char *buf);

struct stream;

extern const struct kv_type_ops t_stream_ops;

struct stream *t_stream_new(void);
uint64_t t_stream_len(const struct stream *s);
/* Its nodes (XINFO STREAM's radix-tree-keys). */
size_t t_stream_nodes(const struct stream *s);

/* The stream's recorded IDs and counter (XINFO STREAM, XSETID). */
struct stream_meta {
    struct stream_id last_id;        /* the largest ID ever added (or set) */
    struct stream_id first_id;       /* the first live entry's, 0-0 if empty */
    struct stream_id max_deleted_id; /* the largest ID deleted */
    uint64_t entries_added;          /* every entry ever added */
};
void t_stream_meta(const struct stream *s, struct stream_meta *m);
/* XSETID: last_id, entries_added and max_deleted_id as given (the caller
 * checked them against the stream). */
void t_stream_set_meta(struct stream *s, struct stream_id last_id, uint64_t entries_added,
                       struct stream_id max_deleted_id);

/* A node's limits: Redis's defaults of stream-node-max-bytes and
 * stream-node-max-entries, fixed. Approximate trimming removes whole nodes,
 * so its result depends on where nodes split: a node-local setting would
 * let replicas trim differently, and raftcache offers none. */
#define STREAM_NODE_MAX_BYTES 4096
#define STREAM_NODE_MAX_ENTRIES 100
/* The default LIMIT of an approximate trim: 100 nodes' worth. */
#define STREAM_TRIM_LIMIT_DEFAULT (100 * STREAM_NODE_MAX_ENTRIES)

/* Appends the entry id (> last_id, checked by the caller) with nfields
 * field-value pairs fv[0..2*nfields). */
void t_stream_append(struct stream *s, struct stream_id id, size_t nfields,
                     const struct resp_arg *fv);

/* Deletes the entry id; 1 if it was there. */
int t_stream_delete(struct stream *s, struct stream_id id);

/* Trimming from the head (XADD/XTRIM's MAXLEN and MINID). approx removes
 * whole nodes only; limit (0: none) caps the entries removed. Returns how
 * many entries went. */
struct stream_trim {
    int by_minid; /* 0: keep maxlen entries; 1: drop ids < minid */
    uint64_t maxlen;
    struct stream_id minid;
    int approx;
    uint64_t limit;
};
uint64_t t_stream_trim(struct stream *s, const struct stream_trim *t);

/* Iteration over the live entries with start <= id <= end, ascending or
 * (rev) descending. An iterator is valid until the stream changes. */
struct stream_iter {
    const struct stream *s;
    struct stream_id start, end;
    int rev;
    size_t node;    /* the node being walked; past the ends: done */
    int in_node;    /* 0: the node's walk has not started */
    size_t pos;     /* forward: the entry's last element; rev: its lp-count */
    size_t fields;  /* the current entry's next field (its own or the master's) */
    size_t values;  /* the current entry's next value */
    int samefields; /* the current entry shares the master's fields */
};
void t_stream_iter_start(struct stream_iter *it, const struct stream *s, struct stream_id start,
                         struct stream_id end, int rev);
/* The next entry: 1 with its id and field count, 0 when done. */
int t_stream_iter_next(struct stream_iter *it, struct stream_id *id, size_t *nfields);
/* The current entry's next field and value (nfields calls per entry); the
 * pointers may point into fbuf / vbuf and are valid until the next call. */
struct stream_field {
    const char *f, *v;
    size_t flen, vlen;
    char fbuf[LP_INTBUF], vbuf[LP_INTBUF];
};
void t_stream_iter_field(struct stream_iter *it, struct stream_field *out);

/* src/t_stream_cmd.c; rows in src/cmdtable_stream.c */
cmd_proc cmd_xadd, cmd_xlen, cmd_xrange, cmd_xrevrange, cmd_xdel, cmd_xtrim, cmd_xsetid, cmd_xread,
    cmd_xinfo_stream, cmd_xinfo_help;
/* XREAD's keys: those after STREAMS, the first half of what follows. */
cmd_getkeys_fn t_stream_xread_keys;
/* An XREAD with BLOCK blocks (src/blocked.h); one without is a plain read. */
cmd_call_flags_fn t_stream_xread_call_flags;
extern const struct command cmd_table_stream[];

#endif
