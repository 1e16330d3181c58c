/*
 * src/rdb/rdb_lp.h - Redis 7.0's listpack, as DUMP payloads and dump.rdb
 * files carry the small encodings of lists, hashes, sorted sets and
 * streams. raftcache's own listpack (src/ds/listpack.h) is laid out
 * differently (a 32-bit count, no end byte, no 24-bit integers), so values
 * are written into Redis's form element by element, and read from it.
 *
 * Layout: u32 total bytes | u16 count (65535: "too many to count") |
 * entries | 0xff. An entry is its encoding byte(s), its data and its
 * back-length (the entry's length, 1 to 5 bytes of 7 bits, read from the
 * end). An element that is the canonical text of a 64-bit integer is
 * stored as the smallest integer encoding that holds it (7-bit unsigned;
 * 13, 16, 24, 32 or 64-bit signed), any other as a string with a 6, 12 or
 * 32-bit length: the bytes redis-server writes for the same elements.
 *
 * Reading checks a listpack whole before anything is taken from it (as
 * Redis's deep sanitization does): every encoding known, every length
 * inside the listpack, every back-length right, the count and the end
 * byte where the header says.
 */
#ifndef RDB_LP_H
#define RDB_LP_H

#include <stddef.h>
#include <stdint.h>

#include "base/text.h"

#define RDB_LP_INTBUF 21 /* room for an integer element rendered as text */

/* A listpack being written: rdb_lp_begin, the elements, rdb_lp_end. */
struct rdb_lp {
    struct text buf;
    uint64_t count;
};
void rdb_lp_begin(struct rdb_lp *w);
void rdb_lp_add(struct rdb_lp *w, const void *s, size_t len);
void rdb_lp_add_int(struct rdb_lp *w, long long v);
/* Every element of lp, a listpack of raftcache's (src/ds/listpack.h), in
 * order: a list's node, a stream's node. */
void rdb_lp_add_listpack(struct rdb_lp *w, const unsigned char *lp);
/* The listpack, malloc'd, *len bytes; w is empty after. */
unsigned char *rdb_lp_end(struct rdb_lp *w, size_t *len);

/* 0 when lp (len bytes) is a whole, well-formed listpack, with its
 * element count in *count; -1 otherwise. */
int rdb_lp_check(const unsigned char *lp, size_t len, uint64_t *count);

/* Walking a listpack rdb_lp_check() accepted. */
struct rdb_lp_it {
    const unsigned char *p;
};
void rdb_lp_first(struct rdb_lp_it *it, const unsigned char *lp);
/* The next element: 1 and it (*s, *len: a string in place, or an
 * integer rendered into buf), or 0 at the end. */
int rdb_lp_next(struct rdb_lp_it *it, const unsigned char **s, size_t *len,
                char buf[RDB_LP_INTBUF]);

/* fn(ud, element) for each element of lp (one rdb_lp_check() accepted),
 * in order; an integer element comes rendered as text. */
typedef void rdb_lp_elem_fn(void *ud, const unsigned char *s, size_t len);
void rdb_lp_foreach(const unsigned char *lp, rdb_lp_elem_fn *fn, void *ud);
/* The elements of lp (one rdb_lp_check() accepted) in a new listpack of
 * raftcache's (src/ds/listpack.h; lp_free() it). */
unsigned char *rdb_lp_to_listpack(const unsigned char *lp);

#endif
