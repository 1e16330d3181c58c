/*
 * src/ds/quicklist.h - the list structure behind the list type (src/types/t_list.h):
 * a doubly linked list of nodes, each a listpack (src/ds/listpack.h) of
 * consecutive elements, as Redis's quicklist.
 *
 * Node size (list-max-listpack-size, the list's `fill`):
 *   fill < 0   a node's listpack holds at most 4, 8, 16, 32 or 64 KB
 *              (fill -1 .. -5);
 *   fill >= 0  a node holds at most `fill` elements and at most
 *              QL_SAFETY_BYTES bytes (fill 0 and 1: one element per node).
 * A node always holds at least one element; an element too big for the
 * limit alone lives alone in its own node. Pushes at an end open a new node
 * when the end node is full; an insertion into a full node splits it at the
 * insertion point (or uses a neighbour with room when the element goes to
 * the node's edge). Nothing merges nodes that deletions left small, as in
 * Redis.
 *
 * Compression (list-compress-depth, the list's `depth`): with depth d > 0,
 * the d nodes at each end stay plain listpacks and every node further in is
 * kept LZF-compressed (liblzf), unless it is smaller than QL_COMPRESS_MIN
 * bytes or compressing it saved less than QL_COMPRESS_GAIN bytes (it stays
 * plain until it changes). A write decompresses the node it changes and
 * compresses it again when done; a read decompresses into the iterator's
 * own buffer and never changes the list. depth 0: nothing is compressed.
 *
 * fill and depth are the list's own, fixed when it is created (ql_new), as
 * Redis's: changing the directives affects lists created afterwards.
 *
 * Indexes are 0-based from the head; callers turn Redis's negative indexes
 * into these. Element bytes are binary-safe and shorter than
 * QL_ELEMENT_MAX (a listpack entry's limit). Allocation failure aborts.
 * The list does not keep pointers to the caller's bytes.
 */
#ifndef QUICKLIST_H
#define QUICKLIST_H

#include <stddef.h>
#include <stdint.h>

#include "ds/listpack.h"

#define QL_FILL_MIN (-5)
#define QL_FILL_MAX 32767
#define QL_DEPTH_MAX 65535
#define QL_SAFETY_BYTES 8192 /* a node's cap when fill counts elements */
#define QL_COMPRESS_MIN 48   /* smaller nodes are never compressed */
#define QL_COMPRESS_GAIN 8   /* a compression must save this many bytes */
#define QL_ELEMENT_MAX ((size_t)UINT32_MAX - 64)

enum ql_end { QL_HEAD = 0, QL_TAIL = 1 };

struct ql_node;  /* private to src/ds/quicklist.c */
struct ql_share; /* private to src/ds/quicklist.c */

struct quicklist {
    struct ql_node *head, *tail;
    size_t count; /* elements */
    size_t nodes;
    int fill;               /* QL_FILL_MIN .. QL_FILL_MAX */
    unsigned depth;         /* 0 .. QL_DEPTH_MAX */
    struct ql_share *share; /* buffers shared with a twin (ql_share), or NULL */
    unsigned char twin;     /* made by ql_share: never changes */
};

/* A new empty list; fill and depth are clamped into their ranges (as Redis
 * clamps them). */
struct quicklist *ql_new(long long fill, long long depth);
/* Frees the list and every node. Touches nothing else (it may run on the
 * lazyfree thread). */
void ql_free(struct quicklist *ql);
/* A deep copy with the same fill, depth and nodes. */
struct quicklist *ql_dup(const struct quicklist *ql);
/* A twin of ql as it is now, in O(nodes) and without copying an element:
 * the two share every node's buffer (struct ql_share). ql stays free to
 * change: a write copies a shared node before changing it (copy on write),
 * and a node ql drops or compresses leaves its buffer to the twin. The twin
 * must never change; it is read (ql_foreach_listpack, ql_iter) and freed
 * with ql_free like any list. Each shared buffer is freed by the last of
 * the two to let go of it, so either may be freed first, on any thread
 * (lazyfree), while the other is in use on another: the writer thread of a
 * live snapshot reads the twin while the loop changes ql. NULL when ql's
 * previous twin still exists (one twin at a time). */
struct quicklist *ql_share(struct quicklist *ql);
/* Bytes of the buffers that twins alone hold now (their lists changed or
 * let go of them), all lists together: memory a snapshot holds, as a
 * forked child's copy-on-write pages, not the keyspace's. */
size_t ql_twin_only_bytes(void);
/* Bytes the list uses: exact with samples 0, else estimated from the first
 * `samples` nodes (MEMORY USAGE's SAMPLES). */
size_t ql_memory(const struct quicklist *ql, size_t samples);

/* --- whole nodes (the snapshot payload, src/types/t_list.c) --- */

/* The bytes of every node's listpack, uncompressed: what
 * ql_foreach_listpack hands out. O(nodes). */
size_t ql_listpack_bytes(const struct quicklist *ql);
/* Calls fn with each node's listpack, head to tail (a compressed node
 * decompressed into a buffer valid during the call). */
typedef void ql_listpack_fn(void *ud, const unsigned char *lp, size_t bytes);
void ql_foreach_listpack(const struct quicklist *ql, ql_listpack_fn *fn, void *ud);
/* Appends lp's elements at the tail: as one node holding a copy of lp when
 * it fits the list's fill (so that a list saved node by node is rebuilt
 * with the same nodes), else pushed one by one. lp must hold at least one
 * element and have passed lp_validate(). */
void ql_append_listpack(struct quicklist *ql, const unsigned char *lp);

/* --- writes --- */

void ql_push(struct quicklist *ql, enum ql_end end, const char *p, size_t len);
/* Deletes elements [start, start + n) (clipped to the list). */
void ql_delete_range(struct quicklist *ql, size_t start, size_t n);
/* Replaces element index with p[0..len). 0 if index >= count, else 1. */
int ql_replace(struct quicklist *ql, size_t index, const char *p, size_t len);
/* Inserts p[0..len) before (after = 0) or after the first element equal to
 * pivot, from the head. Returns 1, or 0 when no element equals pivot. */
int ql_insert(struct quicklist *ql, const char *pivot, size_t plen, int after, const char *p,
              size_t len);
/* Removes elements equal to p[0..len): the first `count` from the head
 * (count > 0), the last -count from the tail (count < 0), or all (0).
 * Returns how many were removed. */
size_t ql_remove(struct quicklist *ql, const char *p, size_t len, long long count);

/* --- reads --- */

/* Walks elements from index towards the tail (reverse 0) or the head
 * (reverse 1). The list must not change while an iterator is in use; an
 * iterator must end with ql_iter_done (it may own a buffer). */
struct ql_iter {
    const struct quicklist *ql;
    const struct ql_node *node;
    const unsigned char *lp; /* node's listpack: its own, or `scratch` */
    size_t pos;              /* the next entry in lp, lp_end(lp) if none */
    int reverse;
    unsigned char *scratch; /* a compressed node, decompressed */
    size_t scratch_cap;
    char buf[LP_INTBUF];
};
/* Positions it on element index (none when index >= count). */
void ql_iter_init(struct ql_iter *it, const struct quicklist *ql, size_t index, int reverse);
/* 1 and the next element (*p valid until the next call), or 0 at the end. */
int ql_iter_next(struct ql_iter *it, const char **p, size_t *len);
void ql_iter_done(struct ql_iter *it);

/* --- checks (tests) --- */

/* 0 if every invariant above holds (links, counts, node limits, no empty
 * node, the compression of each node for its distance from the ends),
 * else -1 with the first violation in err. */
int ql_verify(const struct quicklist *ql, char *err, size_t errlen);
/* Nodes currently compressed. */
size_t ql_compressed_nodes(const struct quicklist *ql);

#endif
