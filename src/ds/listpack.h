/*
 * src/ds/listpack.h - a compact sequence of small strings in one allocation:
 * the small encoding of hashes and sorted sets, and every node of a list
 * (src/ds/quicklist.h), as Redis's listpack.
 *
 * Layout (little-endian): u32 total bytes | u32 entry count | entries.
 * An entry is a header byte (and length) + payload + a back-length of
 * 1..5 bytes that lets the sequence be walked from the end:
 *   0xxxxxxx                 an integer 0..127 (no payload)
 *   10xxxxxx                 a string of 0..63 bytes
 *   110xxxxx xxxxxxxx        an integer -4096..4095 (13-bit two's complement)
 *   1110xxxx xxxxxxxx        a string of 64..4095 bytes (12-bit length)
 *   11110000 + u32           a longer string
 *   11110001 + i16 / 11110011 + i32 / 11110100 + i64   an integer
 * A string is stored as an integer only when it is a canonical 64-bit
 * integer (util_str2ll accepts it), so every entry reads back exactly as it
 * was written ("007" stays a string). The count is exact (no "unknown").
 *
 * Positions are byte offsets into the listpack: lp_first() is the first
 * entry, lp_end() is one past the last (also "none"). A position stays
 * valid until the listpack is changed; every mutator returns the listpack,
 * possibly moved (realloc), which the caller must store.
 *
 * Limits: a listpack holds less than 4 GiB; the type modules keep theirs far
 * smaller (hash-max-listpack-entries / -value, list-max-listpack-size).
 * Allocation failure aborts.
 */
#ifndef LISTPACK_H
#define LISTPACK_H

#include <stddef.h>
#include <stdint.h>

/* Room lp_get() may render an integer entry into. */
#define LP_INTBUF 21

unsigned char *lp_new(void);
void lp_free(unsigned char *lp);
unsigned char *lp_dup(const unsigned char *lp);
/* Bytes the listpack uses (its header included). */
size_t lp_bytes(const unsigned char *lp);
/* Entries. */
uint32_t lp_len(const unsigned char *lp);

size_t lp_first(const unsigned char *lp);
size_t lp_end(const unsigned char *lp);
/* The last entry, lp_end() if empty. */
size_t lp_last(const unsigned char *lp);
/* The entry after pos (lp_end() after the last). pos must be an entry. */
size_t lp_next(const unsigned char *lp, size_t pos);
/* The entry before pos (an entry or lp_end()); lp_end() before the first. */
size_t lp_prev(const unsigned char *lp, size_t pos);
/* The index-th entry (negative: from the end, -1 the last), lp_end() when
 * out of range. O(n). */
size_t lp_seek(const unsigned char *lp, long index);

/* The bytes of the entry at pos: a pointer into lp, or into buf for an
 * integer entry (rendered in decimal). Valid until lp or buf changes. */
const char *lp_get(const unsigned char *lp, size_t pos, char buf[LP_INTBUF], size_t *len);
/* 1 and *v if the entry at pos holds a canonical integer, else 0. */
int lp_get_ll(const unsigned char *lp, size_t pos, long long *v);
/* 1 if the entry at pos equals p[0..len). */
int lp_eq(const unsigned char *lp, size_t pos, const void *p, size_t len);

/* The first entry at or after pos, looking at every (skip + 1)-th one
 * (skip 1: the fields of field/value pairs), equal to p[0..len); lp_end()
 * if none. */
size_t lp_find(const unsigned char *lp, size_t pos, const void *p, size_t len, unsigned skip);

/* Inserts p[0..len) before the entry at pos (pos == lp_end(): appends);
 * the new entry is then at pos. */
unsigned char *lp_insert(unsigned char *lp, size_t pos, const void *p, size_t len);
unsigned char *lp_append(unsigned char *lp, const void *p, size_t len);
/* Replaces the entry at pos with p[0..len) (it stays at pos). */
unsigned char *lp_replace(unsigned char *lp, size_t pos, const void *p, size_t len);
/* Deletes n entries from pos (fewer if the listpack ends first); what
 * followed is then at pos. */
unsigned char *lp_delete(unsigned char *lp, size_t pos, uint32_t n);

/* Bytes an entry holding p[0..len) takes (what lp_insert adds), so that a
 * caller can tell whether it fits a size limit before inserting it. */
size_t lp_entry_bytes(const void *p, size_t len);
/* Splits lp at pos (an entry or lp_end()): the entries from pos on move to
 * a new listpack, stored in *tail; returns lp holding the entries before
 * pos (possibly moved). Either part may be empty. */
unsigned char *lp_split(unsigned char *lp, size_t pos, unsigned char **tail);

/* 0 if lp[0..len) is a listpack exactly as this module writes them (its
 * length and count fields true, every entry whole and in the one encoding
 * lp_insert() gives its value), so that every function above may read it;
 * else -1 with the first fault in err. Reads nothing outside lp[0..len). */
int lp_validate(const unsigned char *lp, size_t len, char *err, size_t errlen);

#endif
