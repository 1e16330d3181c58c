/*
 * src/rdb/rdb_zl.h - the packed containers of the RDB versions before 10,
 * which redis-server 7.0 still reads (DUMP payloads and dump.rdb files of
 * Redis 6.x and older): the ziplist (the small lists, hashes and sorted
 * sets, and the nodes of RDB 7 to 9's quicklists) and the zipmap (the
 * small hashes of Redis 2.4 and older); and one cursor that walks any of
 * Redis's packed containers, listpacks (src/rdb/rdb_lp.h) included, so
 * that a value's loader (src/rdb/rdb_load.c) reads each alike.
 *
 * ZIPLIST, little-endian: u32 total bytes | u32 offset of the last entry
 * | u16 count (65535: too many to count) | entries | 0xff. An entry is the
 * previous entry's length (one byte below 254, else 0xfe and 4 bytes),
 * its encoding and its data:
 *   00pppppp               a string of 6-bit length
 *   01pppppp qqqqqqqq      a string of 14-bit length (big-endian)
 *   10______ + 4 bytes     a string of 32-bit length (big-endian); Redis
 *                          ignores the low 6 bits, so does this reader
 *   0xfe, 0xc0, 0xf0, 0xd0, 0xe0
 *                          a signed integer of 8, 16, 24, 32, 64 bits
 *   0xf1 .. 0xfd           the integer 0 .. 12, no data
 *
 * ZIPMAP: u8 count of pairs (254: too many to count) | entries | 0xff. An entry is the field's
 * length, the field, the value's length, one byte saying how many free bytes follow the value, the
 * value and those bytes. A length is one byte below 254, else that byte and 4 bytes little-endian
 * (holding 254 or more).
 *
 * CHECKING is whole, before anything is taken, as Redis's deep sanitizing
 * (sanitize-dump-payload yes; ziplistValidateIntegrity and
 * zipmapValidateIntegrity in Redis's source): the header's sizes and
 * offsets, every entry's encoding, lengths and (ziplist) previous length
 * inside the container, the count where the header gives one, the end
 * byte where it belongs; a zipmap of no pair is refused, as Redis does.
 * Duplicates are the loader's to find (the values are built as read).
 */
#ifndef RDB_ZL_H
#define RDB_ZL_H

#include <stddef.h>
#include <stdint.h>

#include "rdb/rdb_lp.h"

/* Redis's packed containers. A zipmap's elements are its fields and
 * values, alternately. */
enum rdb_pack { RDB_PACK_LISTPACK, RDB_PACK_ZIPLIST, RDB_PACK_ZIPMAP };

/* 0 when p (len bytes) is a whole, well-formed container of that kind,
 * with its element count in *count (a zipmap: twice its pairs); -1
 * otherwise. */
int rdb_pack_check(enum rdb_pack kind, const unsigned char *p, size_t len, uint64_t *count);

/* Walking a container rdb_pack_check() accepted (p lives as long as it
 * does). */
struct rdb_pack_it {
    enum rdb_pack kind;
    const unsigned char *p;
    int value_next; /* a zipmap: the value of a pair comes next */
};
void rdb_pack_first(struct rdb_pack_it *it, enum rdb_pack kind, const unsigned char *p);
/* The next element: 1 and it (*s, *len: a string in place, or an integer
 * rendered into buf), or 0 at the end. */
int rdb_pack_next(struct rdb_pack_it *it, const unsigned char **s, size_t *len,
                  char buf[RDB_LP_INTBUF]);

#endif
