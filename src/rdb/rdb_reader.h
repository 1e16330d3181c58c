/*
 * src/rdb/rdb_reader.h - a whole dump.rdb file, read as redis-server 7.0's
 * rdbLoadRio reads it, one item at a time, from bytes the caller supplies
 * (this layer opens no file: src/LAYERS). RAFT.IMPORT reads files with it
 * (src/server/import.h).
 *
 * THE FILE. "REDIS" and the version in 4 ASCII digits (1 to 10: Redis 6.x
 * writes 9, 7.0 writes 10), then records, each an opcode or a value type:
 *   0xFA AUX            two strings (a field's name and value)
 *   0xFB RESIZEDB       two lengths (hash table sizes: skipped)
 *   0xFC EXPIRETIME_MS  8 bytes, little-endian ms   } before a key: its
 *   0xFD EXPIRETIME     4 bytes, little-endian s    } expiry, idle time or
 *   0xF8 IDLE           a length (seconds)          } frequency (a prefix
 *   0xF9 FREQ           one byte                    } followed by no key is
 *                                                     refused)
 *   0xFE SELECTDB       a length: the database of the keys that follow
 *   0xF5 FUNCTION2      a string: a function library's code
 *   0xFF EOF            then, from version 5, the CRC-64 (src/base/crc64.h)
 *                       of every byte before it, little-endian; 0 means
 *                       not computed (rdbchecksum no) and is not checked
 *   a value type        a key (a string), then the value's body
 *                       (src/rdb/rdb_value.h's types, RDB 10's and the
 *                       older ones src/rdb/rdb_load.h reads)
 * Refused, with the reason and the offset of the record: a bad magic, a
 * version above 10, an unknown opcode or type, a module's value (types 6
 * and 7) or auxiliary data (0xF7: raftcache has no modules), Redis 7.0
 * release candidates' FUNCTION (0xF6, which redis-server 7.0 refuses too),
 * a checksum that does not match, bytes that end before EOF. Bytes after
 * the checksum are not read (nor are they by redis-server).
 *
 * A KEY'S VALUE is not decoded here: its end is found by stepping over
 * its strings and lengths (a stream's body is decoded and dropped, the one
 * type whose shape needs it), and the item gives its type byte and body
 * as they are in the file: the two, put together, are what a DUMP payload
 * carries before its footer, which may go into the log as it is and be
 * decoded where it is applied (src/rdb/rdb_load.h), or be decoded at once
 * to check it (rdb_get_typed_value()).
 *
 * STREAMING. The caller hands rdb_reader_next() the file's bytes from
 * rdb_reader.offset on (any amount: a window it slides over the file). An
 * item that does not fit in them whole is RDB_READER_MORE: nothing is
 * consumed, and the caller calls again with more bytes (the window grown
 * past the item's size if needed; the caller bounds it, and a record that
 * would need more is the caller's error to report). With eof set, the
 * bytes are the rest of the file and MORE becomes an error. Every length
 * is checked against what is left and every string against max_string;
 * no count is allocated ahead: a damaged or hostile file costs at most
 * the window and one key.
 */
#ifndef RDB_READER_H
#define RDB_READER_H

#include <stddef.h>
#include <stdint.h>

#define RDB_READER_HEADER_LEN 9 /* "REDIS" and 4 digits */

enum rdb_item_kind {
    RDB_ITEM_AUX,      /* name (key) and value (str) */
    RDB_ITEM_SELECTDB, /* db: the keys that follow are its */
    RDB_ITEM_FUNCTION, /* a library's code (str) */
    RDB_ITEM_KEY,      /* db, key, expire_ms, idle_s, freq, type, body */
};

/* One item. Its strings (key, str) are the reader's, valid until the next
 * call; body points into the bytes the caller handed in. */
struct rdb_item {
    enum rdb_item_kind kind;
    uint64_t offset; /* in the file, of its first byte (its prefixes included) */
    uint64_t db;
    const char *key, *str;
    size_t key_len, str_len;
    int64_t expire_ms;         /* absolute, RDB_READER_NO_EXPIRE when none */
    int64_t idle_s;            /* -1 when none */
    int freq;                  /* -1 when none */
    uint8_t type;              /* the value's type byte */
    const unsigned char *body; /* the value's body (the key lies between the two) */
    size_t body_len;
};
#define RDB_READER_NO_EXPIRE (-1)

struct rdb_reader {
    int version;       /* the header's, once read (0 before) */
    uint64_t offset;   /* the bytes consumed so far */
    uint64_t db;       /* the last SELECTDB's (0 before any) */
    uint64_t crc;      /* the CRC-64 of those bytes */
    size_t max_string; /* a key, an aux value, a string in a value: bytes at most */
    int done;          /* EOF and its checksum were read */
    char *key, *str;   /* the last item's strings, owned */
};

enum rdb_reader_rc {
    RDB_READER_ERROR = -1, /* err says why, with the offset; the reader is spent */
    RDB_READER_ITEM = 0,   /* *item filled, *used bytes consumed */
    RDB_READER_MORE = 1,   /* no whole item in the bytes (nothing consumed) */
    RDB_READER_END = 2,    /* EOF and the checksum read and checked, *used consumed */
};

void rdb_reader_init(struct rdb_reader *f, size_t max_string);
void rdb_reader_free(struct rdb_reader *f);
/* The next item from buf[0..len), the file's bytes from f->offset on;
 * eof: they run to the end of the file. Returns an enum rdb_reader_rc. */
int rdb_reader_next(struct rdb_reader *f, const void *buf, size_t len, int eof,
                    struct rdb_item *item, size_t *used, char *err, size_t errlen);
#endif
