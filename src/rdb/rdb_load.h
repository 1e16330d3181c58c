/*
 * src/rdb/rdb_load.h - a value read from Redis's RDB object encoding (the
 * type byte and body of a DUMP payload or a dump.rdb record) and built in
 * raftcache's own encodings, under the node's encoding limits, as RESTORE
 * and an RDB import need it.
 *
 * Read: strings; lists (LIST_QUICKLIST_2: packed and plain nodes); sets
 * (SET, SET_INTSET); sorted sets (ZSET_2, ZSET_LISTPACK); hashes (HASH,
 * HASH_LISTPACK); streams (STREAM_LISTPACKS_2, and Redis 6's
 * STREAM_LISTPACKS: src/rdb/rdb_stream.h); and the encodings before RDB 10
 * that redis-server 7.0 still reads, from Redis 6.x and older: LIST (the
 * elements one by one), LIST_ZIPLIST, LIST_QUICKLIST (nodes that are
 * ziplists), ZSET (scores as text), ZSET_ZIPLIST, HASH_ZIPLIST,
 * HASH_ZIPMAP. Not read: modules' values.
 *
 * Nothing is trusted, as Redis's sanitize-dump-payload yes: every
 * listpack, ziplist, zipmap and intset is checked whole
 * (src/rdb/rdb_lp.h, src/rdb/rdb_zl.h), a list node string empty or an
 * element past a list's limit refused, a count is never
 * allocated ahead (each element costs a byte of input at least), a
 * duplicate member or field, a NaN score, an empty collection and a
 * string past the caller's limit are refused, and whatever was built is
 * freed on the way out.
 */
#ifndef RDB_LOAD_H
#define RDB_LOAD_H

#include <stddef.h>

#include "keyspace/kv.h"
#include "keyspace/types.h"
#include "rdb/rdb_io.h"

struct rdb_value {
    enum kv_type type;
    void *obj;  /* not a string: the type module's object */
    char *str;  /* a string: malloc'd */
    size_t len; /* a string's bytes */
};

/* The value at in: 0 and *out (rdb_value_free() it, or hand its object
 * over), or -1 with the reason in err (nothing left allocated). */
int rdb_get_value(struct rdb_in *in, const struct kv_limits *lim, struct rdb_value *out, char *err,
                  size_t errlen);
/* The same for a body whose type byte was read apart (a dump.rdb record
 * holds its key between the two: src/rdb/rdb_reader.h). */
int rdb_get_typed_value(struct rdb_in *in, uint8_t type, const struct kv_limits *lim,
                        struct rdb_value *out, char *err, size_t errlen);
void rdb_value_free(struct rdb_value *v);

#endif
