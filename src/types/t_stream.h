/*
 * src/types/t_stream.h - the stream type (this module: src/types/t_stream.c, its
 * consumer groups src/types/t_stream_cg.c) and its commands (src/types/t_stream_cmd.c
 * writes and ranges, src/types/t_stream_read.c XREAD and XREADGROUP,
 * src/types/t_stream_group.c XGROUP XACK XPENDING XCLAIM XAUTOCLAIM,
 * src/types/t_stream_info.c XINFO; rows in src/types/cmdtable_stream.c).
 *
 * A stream is an append-only sequence of entries, each an ID (ms-seq, two
 * unsigned 64-bit numbers, strictly increasing) and one or more field-value
 * pairs. It is kept as Redis keeps it, so that its memory and the effect of
 * approximate trimming (which removes whole nodes only) are Redis's:
 *   - nodes, in ID order, each a listpack (src/ds/listpack.h) of at most
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
 * A stream may have consumer groups (struct stream_group): the last ID
 * delivered, the consumers (each with the time it was last seen) and the
 * pending entries list (PEL): each entry delivered and not acknowledged,
 * with its consumer, delivery time and count; a consumer's own PEL holds
 * the same entries. Groups are state like the entries: copied, saved in
 * the snapshot payload after the nodes, and in the digest.
 *
 * Everything here is deterministic: the same commands build the same nodes
 * and groups on every replica (times come from the log entry). IDs are chosen by the commands
 * (src/types/t_stream_cmd.c) from the entry's time, never the local clock.
 */
#ifndef T_STREAM_H
#define T_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "ds/dict.h"
#include "ds/listpack.h"
#include "keyspace/types.h"
#include "ds/zbtree.h"

struct stream_id {
    uint64_t ms, seq;
};

#define STREAM_ID_TEXT_MAX 42 /* "ms-seq" of two 20-digit numbers, and a NUL */

int stream_id_cmp(struct stream_id a, struct stream_id b);
/* "ms-seq" into buf (STREAM_ID_TEXT_MAX bytes); returns its length. */
size_t stream_id_text(struct stream_id id, char *buf);
/* An ID as 16 bytes, ms then seq, each big-endian, so that IDs compare as
 * their bytes do: the key of a PEL entry here, and of a node and a PEL
 * entry in Redis's RDB encoding (src/rdb/rdb_stream.h). */
#define STREAM_ID_BYTES 16
void stream_id_encode(struct stream_id id, unsigned char b[STREAM_ID_BYTES]);
struct stream_id stream_id_decode(const unsigned char b[STREAM_ID_BYTES]);

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

/* ---- a stream's parts, as its RDB encoding holds them (src/rdb/rdb_stream.h) ----
 *
 * Node i (< t_stream_nodes()): its listpack (src/ds/listpack.h, laid out as
 * above) and its master ID in *master; borrowed until the stream changes. */
const unsigned char *t_stream_node(const struct stream *s, size_t i, struct stream_id *master);

/* Building a stream from its parts, which come from outside and are
 * checked: t_stream_new(), t_stream_load_node() for each node in order,
 * then t_stream_load_meta(), then the groups (t_stream_group_create(),
 * t_stream_consumer_create(), t_stream_pel_claim()). A check that fails
 * returns -1 with the reason in err; the caller then frees the stream
 * (t_stream_ops.free), which holds only nodes that passed.
 *
 * t_stream_load_node appends the node of master ID master whose listpack
 * is lp (ownership passes, whatever the result: freed when refused), after
 * walking it whole: a master entry of integer live and deleted counts, at
 * least one field and the 0 that ends it; then at least one entry, each
 * of known flags, integer ID deltas, at least one field (its own or the
 * master's), and an lp-count equal to its elements; IDs at or above the
 * master, increasing, and above every entry of the nodes before; the
 * counts equal to the entries with and without the deleted flag. A node
 * of tombstones only is taken (Redis's exact MINID trim can leave one). */
int t_stream_load_node(struct stream *s, struct stream_id master, unsigned char *lp, char *err,
                       size_t errlen);
/* The stream's length and recorded IDs: length must be its nodes' live
 * entries, no entry past m->last_id, m->entries_added at least length,
 * and (check_first) m->first_id the first live entry's ID (0-0 if none);
 * without check_first the first ID is found (RDB 9 does not record it). */
int t_stream_load_meta(struct stream *s, uint64_t length, const struct stream_meta *m,
                       int check_first, char *err, size_t errlen);

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

/* ---- consumer groups (src/types/t_stream_cg.c) ----
 *
 * A group has a name, the last ID it delivered, how many entries it has
 * read (entries_read, STREAM_ENTRIES_READ_INVALID when unknown: the lag
 * XINFO reports) and its pending entries list (PEL): the IDs delivered to
 * one of its consumers and not acknowledged yet, each with its consumer,
 * the time of its last delivery and how many times it was delivered. Each
 * consumer has its name, the time it was last seen, and its own share of
 * the PEL. Times are entry times (cmd_ctx.now_ms in the apply path), so
 * every replica holds the same groups. Listings come in Redis's order:
 * groups and consumers by name (bytes), pending entries by ID.
 */
#define STREAM_ENTRIES_READ_INVALID (-1LL)

struct stream_consumer;

struct stream_nack {
    int64_t delivery_time; /* ms */
    uint64_t delivery_count;
    struct stream_consumer *consumer;
};

struct stream_consumer {
    const char *name; /* its dict entry's bytes */
    size_t name_len;
    int64_t seen_time;
    struct zbt pel; /* its pending entries: the group's PEL entries */
};

struct stream_group {
    const char *name;
    size_t name_len;
    struct stream_id last_id;
    long long entries_read;
    struct dict pel;       /* 16-byte big-endian ID -> struct stream_nack * */
    struct zbt pel_order;  /* the same entries, by ID */
    struct dict consumers; /* name -> struct stream_consumer * */
};

size_t t_stream_group_count(const struct stream *s);
struct stream_group *t_stream_group(const struct stream *s, const char *name, size_t len);
/* A new group, or NULL when one of that name exists. */
struct stream_group *t_stream_group_create(struct stream *s, const char *name, size_t len,
                                           struct stream_id last_id, long long entries_read);
/* 1 if the group was there. */
int t_stream_group_destroy(struct stream *s, const char *name, size_t len);
/* The groups by name, in a new array (free() it) of *n. */
struct stream_group **t_stream_group_list(const struct stream *s, size_t *n);

struct stream_consumer *t_stream_consumer(struct stream_group *g, const char *name, size_t len);
/* A new consumer seen at now_ms, or NULL when one of that name exists. */
struct stream_consumer *t_stream_consumer_create(struct stream_group *g, const char *name,
                                                 size_t len, int64_t now_ms);
/* Deletes the consumer and its pending entries; returns how many it had. */
size_t t_stream_consumer_delete(struct stream_group *g, struct stream_consumer *c);
/* The group's consumers by name, in a new array (free() it) of *n. */
struct stream_consumer **t_stream_consumer_list(const struct stream_group *g, size_t *n);

struct stream_nack *t_stream_pel_find(const struct stream_group *g, struct stream_id id);
/* The entry id, pending for consumer c now: a new one (delivered 0 times,
 * at time 0: the caller sets both), or the one pending already, moved to c
 * when another consumer had it (its time and count as they were). */
struct stream_nack *t_stream_pel_claim(struct stream_group *g, struct stream_id id,
                                       struct stream_consumer *c);
/* XACK: 1 if id was pending. */
int t_stream_pel_ack(struct stream_group *g, struct stream_id id);

/* Walks a PEL (a group's pel_order or a consumer's pel) by ID from the
 * first entry >= start; valid until the PEL changes. */
struct stream_pel_pos {
    struct zbt_pos pos;
};
void t_stream_pel_seek(const struct zbt *pel, struct stream_id start, struct stream_pel_pos *p);
/* The current entry (its nack and ID) and a step forward; NULL when done. */
struct stream_nack *t_stream_pel_next(struct stream_pel_pos *p, struct stream_id *id);

/* The logical read counter of id for XINFO's entries-read / lag (Redis's
 * streamEstimateDistanceFromFirstEverEntry), or STREAM_ENTRIES_READ_INVALID
 * when it cannot be known (tombstones ahead, or id inside the stream). */
long long t_stream_estimate_read(const struct stream *s, struct stream_id id);
/* 1 if an entry was deleted between start (NULL: the beginning) and the end. */
int t_stream_has_tombstones_from(const struct stream *s, const struct stream_id *start);
/* The group's lag (entries not delivered yet), or -1 when unknown. */
long long t_stream_group_lag(const struct stream *s, const struct stream_group *g);
/* The group moves past id, delivered now (XREADGROUP), counting the read
 * as Redis counts it. */
void t_stream_group_advance(const struct stream *s, struct stream_group *g, struct stream_id id);

/* src/types/t_stream_cmd.c; rows in src/types/cmdtable_stream.c */
cmd_proc cmd_xadd, cmd_xlen, cmd_xrange, cmd_xrevrange, cmd_xdel, cmd_xtrim, cmd_xsetid, cmd_xread,
    cmd_xinfo_stream, cmd_xinfo_help;
cmd_proc cmd_xreadgroup, cmd_xgroup_create, cmd_xgroup_setid, cmd_xgroup_destroy,
    cmd_xgroup_createconsumer, cmd_xgroup_delconsumer, cmd_xgroup_help, cmd_xack, cmd_xpending,
    cmd_xclaim, cmd_xautoclaim, cmd_xinfo_groups, cmd_xinfo_consumers;
/* XREAD's and XREADGROUP's keys: those after STREAMS, the first half of
 * what follows. */
cmd_getkeys_fn t_stream_xread_keys;
/* An XREAD or XREADGROUP with BLOCK blocks (src/server/blocked.h); one without
 * is a plain read or write. */
cmd_call_flags_fn t_stream_xread_call_flags;
extern const struct command cmd_table_stream[];

#endif
