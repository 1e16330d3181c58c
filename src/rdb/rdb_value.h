/*
 * src/rdb/rdb_value.h - a value in Redis 7.0's RDB object encoding (RDB
 * version 10): the type byte and the body that DUMP payloads and dump.rdb
 * files hold for it, chosen as redis-server 7.0 chooses them from the
 * value's encoding (OBJECT ENCODING):
 *
 *   string                 STRING (0): the bytes (src/rdb/rdb_io.h)
 *   list (quicklist)       LIST_QUICKLIST_2 (18): its nodes, each a
 *                          listpack (container 2: packed)
 *   set, intset            SET_INTSET (11): Redis's intset, the smallest
 *                          width holding every member
 *   set, hashtable         SET (2): the members
 *   sorted set, listpack   ZSET_LISTPACK (17): member, score pairs in
 *                          order, a score as Redis writes it there
 *   sorted set, skiplist   ZSET_2 (5): members and binary scores, the
 *                          greatest first
 *   hash, listpack         HASH_LISTPACK (16): field, value pairs
 *   hash, hashtable        HASH (4): the pairs
 *   stream                 STREAM_LISTPACKS_2 (19): its nodes, counters
 *                          and consumer groups (src/rdb/rdb_stream.h)
 *
 * The listpacks are Redis's (src/rdb/rdb_lp.h). So a value DUMPed here
 * restores on redis-server 7.0, and is byte for byte what redis-server
 * writes for it where the two hold it alike (a list's node boundaries and
 * a hashtable's order are each server's own).
 */
#ifndef RDB_VALUE_H
#define RDB_VALUE_H

#include "base/text.h"
#include "keyspace/kv.h"

enum rdb_type {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* Writes v's type byte and body to out (compress: rdbcompression); every
 * type has its encoding. */
void rdb_put_value(struct text *out, const struct kv_val *v, int compress);
/* The same with key (klen bytes, an RDB string) between the type byte and
 * the body: a key's record in a dump.rdb (src/rdb/rdb_file.h). */
void rdb_put_keyed_value(struct text *out, const char *key, size_t klen, const struct kv_val *v,
                         int compress);

#endif
