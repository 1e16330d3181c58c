/*
 * src/rdb/rdb_file.c - a whole dump.rdb, piece by piece (see rdb_file.h).
 */
#include <stdio.h>
#include <string.h>

#include "base/crc64.h"
#include "base/le.h"
#include "raft/raft_assert.h"
#include "rdb/rdb_file.h"
#include "rdb/rdb_io.h"
#include "rdb/rdb_value.h"

/* Folds out's bytes from `from` on into the checksum. */
static void fold(struct rdb_file *f, size_t from)
{
    ASSERT(f->out->len >= from);
    f->crc = crc64(f->crc, f->out->p + from, f->out->len - from);
}

static void aux_str(struct rdb_file *f, const char *name, const char *value)
{
    rdb_put_byte(f->out, RDB_OPCODE_AUX);
    rdb_put_string(f->out, name, strlen(name), 0);
    rdb_put_string(f->out, value, strlen(value), 0);
}

static void aux_int(struct rdb_file *f, const char *name, long long value)
{
    rdb_put_byte(f->out, RDB_OPCODE_AUX);
    rdb_put_string(f->out, name, strlen(name), 0);
    rdb_put_ll(f->out, value);
}

void rdb_file_begin(struct rdb_file *f, struct text *out, const struct rdb_file_aux *aux,
                    int compress)
{
    *f = (struct rdb_file){.out = out, .db = -1, .compress = compress};
    size_t from = out->len;
    text_put(out, RDB_FILE_MAGIC, strlen(RDB_FILE_MAGIC));
    aux_str(f, "redis-ver", aux->redis_ver);
    aux_int(f, "redis-bits", (long long)(sizeof(void *) * 8));
    aux_int(f, "ctime", aux->ctime_s);
    aux_int(f, "used-mem", (long long)aux->used_mem);
    if (aux->repl_id) {
        ASSERT(strlen(aux->repl_id) == RDB_REPLID_LEN);
        aux_int(f, "repl-stream-db", 0);
        aux_str(f, "repl-id", aux->repl_id);
        aux_int(f, "repl-offset", aux->repl_offset);
    }
    aux_int(f, "aof-base", 0);
    fold(f, from);
}

void rdb_file_function(struct rdb_file *f, const char *code, size_t len)
{
    ASSERT(!f->ended && f->db == -1 && "functions come before the keys");
    size_t from = f->out->len;
    rdb_put_byte(f->out, RDB_OPCODE_FUNCTION2);
    rdb_put_string(f->out, code, len, f->compress);
    fold(f, from);
}

static void select_db(struct rdb_file *f, int db)
{
    ASSERT(db >= 0);
    rdb_put_byte(f->out, RDB_OPCODE_SELECTDB);
    rdb_put_len(f->out, (uint64_t)db);
    f->db = db;
}

void rdb_file_db(struct rdb_file *f, int db, uint64_t keys, uint64_t expires)
{
    ASSERT(!f->ended && expires <= keys);
    size_t from = f->out->len;
    select_db(f, db);
    rdb_put_byte(f->out, RDB_OPCODE_RESIZEDB);
    rdb_put_len(f->out, keys);
    rdb_put_len(f->out, expires);
    fold(f, from);
}

void rdb_file_key(struct rdb_file *f, int db, const char *key, size_t klen, const struct kv_val *v)
{
    ASSERT(!f->ended);
    size_t from = f->out->len;
    if (db != f->db) select_db(f, db);
    if (v->expire_ms != KV_NO_EXPIRE) {
        rdb_put_byte(f->out, RDB_OPCODE_EXPIRETIME_MS);
        rdb_put_millis(f->out, v->expire_ms);
    }
    rdb_put_keyed_value(f->out, key, klen, v, f->compress);
    f->keys++;
    fold(f, from);
}

void rdb_file_end(struct rdb_file *f)
{
    ASSERT(!f->ended);
    size_t from = f->out->len;
    rdb_put_byte(f->out, RDB_OPCODE_EOF);
    fold(f, from);
    unsigned char crc[RDB_FILE_CRC_LEN];
    le_put64(crc, f->crc);
    text_put(f->out, (const char *)crc, sizeof crc);
    f->ended = 1;
}
