/*
 * src/rdb/rdb_stream.h - a stream in Redis's RDB object encoding, written
 * as redis-server 7.0 writes it (STREAM_LISTPACKS_2, type 19) and read in
 * that and in Redis 6's (STREAM_LISTPACKS, type 15, RDB 9).
 *
 * The body (every length as src/rdb/rdb_io.h writes lengths):
 *   nodes | per node: its master ID (a 16-byte string, src/types/t_stream.h's
 *           stream_id_encode) and its listpack (a string: Redis's listpack,
 *           src/rdb/rdb_lp.h, holding the node's elements as
 *           src/types/t_stream.h lays them out)
 *   length | last ID (ms, seq) | [19: first ID (ms, seq) | max deleted ID
 *           (ms, seq) | entries added]
 *   groups | per group, by name: name | last ID (ms, seq) | [19: entries
 *           read, -1 as a 64-bit length when unknown] | its PEL: count,
 *           per entry by ID: the ID (16 raw bytes), delivery time (8 bytes,
 *           little-endian ms), delivery count | consumers: count, per
 *           consumer by name: name | seen time (8 bytes) | its PEL: count,
 *           the IDs (16 raw bytes each)
 * raftcache holds a stream's nodes as Redis does (the same limits, the
 * same split), so the bytes are redis-server's for a stream built by the
 * same commands, LZF aside (src/rdb/rdb_io.h).
 *
 * Reading checks everything before raftcache's stream is built from it,
 * as Redis's sanitize-dump-payload yes and more: each listpack whole, each
 * node walked against its master entry and its IDs in order
 * (src/types/t_stream.h's t_stream_load_node), the length and recorded IDs
 * against the entries, no group or consumer twice, each PEL entry owned by
 * exactly one consumer and each consumer's entry in its group's PEL. Type
 * 15's missing counters are found as Redis 7.0 finds them: entries added
 * is the length, a group's entries read is estimated from its last ID.
 * Nothing is sized by a count before the input holds its elements, and on
 * failure nothing is left allocated.
 */
#ifndef RDB_STREAM_H
#define RDB_STREAM_H

#include <stddef.h>

#include "base/text.h"
#include "rdb/rdb_io.h"
#include "types/t_stream.h"

/* s's body as type 19 (compress: rdbcompression); the caller wrote the
 * type byte (src/rdb/rdb_value.h). */
void rdb_put_stream(struct text *out, const struct stream *s, int compress);

/* The body of a stream at in, of type 19 (v2 1) or 15 (v2 0): 0 and *out
 * (a stream of src/types/t_stream.h, the caller's), or -1 with the reason
 * in err (in may be failed too; nothing left allocated). */
int rdb_get_stream(struct rdb_in *in, int v2, struct stream **out, char *err, size_t errlen);

#endif
