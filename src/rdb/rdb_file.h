/*
 * src/rdb/rdb_file.h - a whole dump.rdb as redis-server 7.0 writes it (RDB
 * version 10), made piece by piece: the header, the function libraries,
 * the keys of each database with their expiry, the end and its checksum.
 * SAVE, BGSAVE and a SYNC's full resync (src/servercmd/cmd_save.c) write
 * what it makes; redis-server 7.0 loads it and redis-check-rdb accepts it.
 *
 * THE FILE, in the order written here (Redis's rdbSaveRio):
 *   "REDIS0010"
 *   AUX (250) name value, for each of redis-ver, redis-bits, ctime,
 *     used-mem, [repl-stream-db, repl-id, repl-offset: for a replica's full
 *     sync,] aof-base: names and values are RDB strings, numbers as
 *     integer-encoded strings (src/rdb/rdb_io.h)
 *   FUNCTION2 (245) and a library's code, for each function library
 *   for each database holding keys:
 *     SELECTDB (254) and its number (a length),
 *     RESIZEDB (251) and two lengths: its keys, those with a TTL
 *     for each key: [EXPIRETIME_MS (252) and 8 bytes of absolute Unix
 *     ms, when it has one,] the value's type, the key as a string and the
 *     value's body (src/rdb/rdb_value.h)
 *   EOF (255), then the CRC-64 (src/base/crc64.h) of every byte before it,
 *   8 bytes little-endian
 * A database's keys need not be contiguous: a key of another database than
 * the previous key's is preceded by a SELECTDB of its own (no RESIZEDB: it
 * is a hint, and Redis's loader takes any number of SELECTDB in any
 * order). A live save (BGSAVE) writes keys in the order they are saved,
 * which interleaves the databases when writes force some out early.
 * Not written: LRU idle times and LFU counters (Redis writes them only
 * under an LRU or LFU maxmemory-policy; redis-server starts them afresh)
 * and module data (raftcache has no modules).
 *
 * OUTPUT. Each call appends to the struct text given to rdb_file_begin
 * and folds the new bytes into the checksum, so the caller may take the
 * bytes away (write them, then set out->len = 0) between any two calls:
 * the file is made in bounded pieces, never whole in memory. No I/O here
 * (src/LAYERS: no file in src/rdb).
 *
 * ORDER. begin, then any functions, then any keys and databases, then end
 * once: ASSERTed (a function after a key, or anything after the end, is a
 * caller's bug).
 */
#ifndef RDB_FILE_H
#define RDB_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/text.h"
#include "keyspace/kv.h"

/* The opcodes of a dump.rdb (Redis's RDB_OPCODE_*); src/rdb/rdb_reader.h
 * reads them all, this writer writes those a Redis 7.0 file needs. */
enum rdb_opcode {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION_PRE_GA = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

#define RDB_FILE_MAGIC "REDIS0010" /* "REDIS" and RDB_VERSION in 4 digits */
#define RDB_FILE_CRC_LEN 8
#define RDB_REPLID_LEN 40 /* a replication id: 40 hex digits */

/* The AUX fields' values. repl_id NULL: no repl-* fields (a file on disk);
 * else those of a full sync (Redis writes them for replicas). */
struct rdb_file_aux {
    const char *redis_ver; /* the Redis version followed (REDIS_COMPAT_VERSION) */
    int64_t ctime_s;       /* Unix seconds of the save */
    uint64_t used_mem;     /* bytes in use (INFO used_memory) */
    const char *repl_id;   /* NULL, or RDB_REPLID_LEN hex digits */
    int64_t repl_offset;
};

struct rdb_file {
    struct text *out; /* borrowed, from begin to end */
    uint64_t crc;     /* of every byte appended so far */
    int db;           /* the database of the last SELECTDB, -1 before one */
    int compress;     /* rdbcompression: LZF for long strings */
    int ended;
    uint64_t keys; /* keys written */
};

/* Starts a file in out: the magic and the AUX fields. */
void rdb_file_begin(struct rdb_file *f, struct text *out, const struct rdb_file_aux *aux,
                    int compress);
/* A function library, by its code ("#!lua name=..." and the rest): before
 * any key. */
void rdb_file_function(struct rdb_file *f, const char *code, size_t len);
/* Database db's SELECTDB and RESIZEDB (keys of it, expires: of those with a
 * TTL), before its keys; optional (rdb_file_key selects by itself). */
void rdb_file_db(struct rdb_file *f, int db, uint64_t keys, uint64_t expires);
/* A key of database db with its value and its expiry (v->expire_ms). */
void rdb_file_key(struct rdb_file *f, int db, const char *key, size_t klen, const struct kv_val *v);
/* The EOF opcode and the checksum: the file is whole. */
void rdb_file_end(struct rdb_file *f);

#endif
