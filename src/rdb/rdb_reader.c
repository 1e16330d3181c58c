/*
 * src/rdb/rdb_reader.c - a dump.rdb file read item by item (see rdb_reader.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/crc64.h"
#include "base/le.h"
#include "base/util.h"
#include "raft/raft_assert.h"
#include "rdb/rdb_file.h"
#include "rdb/rdb_reader.h"
#include "rdb/rdb_io.h"
#include "rdb/rdb_stream.h"
#include "rdb/rdb_value.h"
#include "types/t_stream.h"

#define TYPE_MODULE_PRE_GA 6
#define CHECKSUM_SINCE 5 /* the first version with the CRC after EOF */

void rdb_reader_init(struct rdb_reader *f, size_t max_string)
{
    memset(f, 0, sizeof *f);
    f->max_string = max_string;
}

void rdb_reader_free(struct rdb_reader *f)
{
    free(f->key);
    free(f->str);
    f->key = f->str = NULL;
}

/* One call's state: the bytes, where the item began, the error. */
struct rd {
    struct rdb_reader *f;
    struct rdb_in in;
    const unsigned char *base;
    int version; /* the file's, once its header is read */
    int eof;
    char *err;
    size_t errlen;
};

static uint64_t at(const struct rd *r, const unsigned char *p)
{
    return r->f->offset + (uint64_t)(p - r->base);
}

static int fail(struct rd *r, const unsigned char *p, const char *why)
{
    return util_fail(r->err, r->errlen, RDB_READER_ERROR, "%s at offset %llu", why,
                     (unsigned long long)at(r, p));
}

/* The read of the item starting at p failed: more bytes may complete it,
 * unless these are the last. */
static int short_or_bad(struct rd *r, const unsigned char *p)
{
    if (!r->eof) return RDB_READER_MORE;
    return fail(r, p, "a truncated or malformed record");
}

static int header(struct rd *r)
{
    const unsigned char *p = rdb_get_raw(&r->in, RDB_READER_HEADER_LEN);
    if (!p) return short_or_bad(r, r->base);
    int version = 0;
    for (int i = 5; i < RDB_READER_HEADER_LEN; i++) {
        if (p[i] < '0' || p[i] > '9') version = -1;
        if (version >= 0) version = version * 10 + (p[i] - '0');
    }
    if (memcmp(p, "REDIS", 5) != 0 || version < 1) return fail(r, p, "not an RDB file (bad magic)");
    if (version > RDB_VERSION)
        return util_fail(r->err, r->errlen, RDB_READER_ERROR,
                         "RDB version %d is newer than %d (redis-server 7.0's)", version,
                         RDB_VERSION);
    r->version = version;
    return RDB_READER_ITEM;
}

/* n strings. Each costs a byte at least, so a count the input cannot hold
 * fails at its end. */
static void skip_strings(struct rdb_in *in, uint64_t n)
{
    for (uint64_t i = 0; i < n && !in->failed; i++)
        rdb_skip_string(in);
}

/* A stream's body has lengths inside strings' neighbours that only its
 * reader knows: read it whole, then drop it. */
static void skip_stream(struct rd *r, int v2)
{
    struct stream *s = NULL;
    char why[128];
    if (rdb_get_stream(&r->in, v2, &s, why, sizeof why) != 0) r->in.failed = 1;
    if (s) t_stream_ops.free(s);
}

/* Steps over the body of a value of type t; 0, or -1 for a type this
 * reader does not know. */
static int skip_body(struct rd *r, uint8_t t)
{
    struct rdb_in *in = &r->in;
    uint64_t n;
    switch (t) {
    case RDB_TYPE_STRING:
    case RDB_TYPE_SET_INTSET:
    case RDB_TYPE_ZSET_LISTPACK:
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_ZIPMAP:
        rdb_skip_string(in);
        return 0;
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
    case RDB_TYPE_LIST_QUICKLIST:
        skip_strings(in, rdb_get_len(in));
        return 0;
    case RDB_TYPE_HASH:
        n = rdb_get_len(in);
        skip_strings(in, n > UINT64_MAX / 2 ? UINT64_MAX : 2 * n);
        return 0;
    case RDB_TYPE_LIST_QUICKLIST_2:
        n = rdb_get_len(in);
        for (uint64_t i = 0; i < n && !in->failed; i++) {
            rdb_get_len(in); /* the node's container */
            rdb_skip_string(in);
        }
        return 0;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
        n = rdb_get_len(in);
        for (uint64_t i = 0; i < n && !in->failed; i++) {
            rdb_skip_string(in);
            if (t == RDB_TYPE_ZSET_2)
                rdb_get_raw(in, 8);
            else
                rdb_get_double_text(in);
        }
        return 0;
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        skip_stream(r, t == RDB_TYPE_STREAM_LISTPACKS_2);
        return 0;
    default:
        return -1;
    }
}

/* A key record at in (its prefixes read): the key, then the value. */
static int key_record(struct rd *r, const unsigned char *start, struct rdb_item *item)
{
    struct rdb_in *in = &r->in;
    const unsigned char *type_at = in->p;
    uint8_t t = rdb_get_byte(in);
    if (t == TYPE_MODULE_PRE_GA || t == RDB_TYPE_MODULE_2)
        return fail(r, start, "a module's value (raftcache loads no modules)");
    size_t klen = 0;
    char *key = rdb_get_string(in, &klen);
    if (!key) return short_or_bad(r, start);
    const unsigned char *body = in->p;
    if (skip_body(r, t) != 0) {
        free(key);
        return fail(r, type_at, "an unknown RDB type or opcode");
    }
    if (in->failed) {
        free(key);
        return short_or_bad(r, start);
    }
    free(r->f->key);
    r->f->key = key;
    item->kind = RDB_ITEM_KEY;
    item->key = key;
    item->key_len = klen;
    item->type = t;
    item->body = body;
    item->body_len = (size_t)(in->p - body);
    return RDB_READER_ITEM;
}

/* A string into *slot (the reader's, the previous one freed): 0, or -1
 * when the bytes ran out or were malformed. */
static int take_string(struct rd *r, char **slot, const char **s, size_t *len)
{
    char *got = rdb_get_string(&r->in, len);
    if (!got) return -1;
    free(*slot);
    *slot = got;
    *s = got;
    return 0;
}

/* A key's prefixes (expiry, idle time, frequency), then the key. */
static int key_with_prefixes(struct rd *r, const unsigned char *start, struct rdb_item *item)
{
    struct rdb_in *in = &r->in;
    for (;;) {
        if (in->p == in->end) return short_or_bad(r, start);
        uint8_t b = *in->p;
        if (b == RDB_OPCODE_EXPIRETIME_MS || b == RDB_OPCODE_EXPIRETIME) {
            rdb_get_byte(in);
            int ms = b == RDB_OPCODE_EXPIRETIME_MS;
            const unsigned char *t = rdb_get_raw(in, ms ? 8 : 4);
            if (t) item->expire_ms = ms ? (int64_t)le_get64(t) : (int64_t)le_get32(t) * 1000;
        } else if (b == RDB_OPCODE_IDLE) {
            rdb_get_byte(in);
            uint64_t idle = rdb_get_len(in);
            item->idle_s = idle > INT64_MAX ? INT64_MAX : (int64_t)idle;
        } else if (b == RDB_OPCODE_FREQ) {
            rdb_get_byte(in);
            item->freq = rdb_get_byte(in);
        } else if (b >= RDB_OPCODE_FUNCTION2) { /* record() took the others at the start */
            return fail(r, start, "an expiry, idle time or frequency before no key");
        } else {
            return key_record(r, start, item);
        }
        if (in->failed) return short_or_bad(r, start);
    }
}

/* EOF, then the checksum of every byte before it (from version 5). */
static int end_of_file(struct rd *r, const unsigned char *start, size_t *used)
{
    struct rdb_reader *f = r->f;
    const unsigned char *sum = NULL;
    rdb_get_byte(&r->in); /* the opcode */
    if (r->version >= CHECKSUM_SINCE) {
        sum = rdb_get_raw(&r->in, 8);
        if (!sum) return short_or_bad(r, start);
    }
    uint64_t crc = crc64(f->crc, r->base, (size_t)(start - r->base) + 1);
    if (sum && le_get64(sum) != 0 && le_get64(sum) != crc)
        return fail(r, start, "the file's checksum does not match its bytes");
    f->done = 1;
    *used = (size_t)(r->in.p - r->base);
    return RDB_READER_END;
}

/* The record at the reader's position (past any RESIZEDB). */
static int record(struct rd *r, struct rdb_item *item, size_t *used)
{
    struct rdb_in *in = &r->in;
    const unsigned char *start;
    for (;;) {
        start = in->p;
        if (start == in->end) return short_or_bad(r, start);
        if (*start != RDB_OPCODE_RESIZEDB) break;
        rdb_get_byte(in);
        rdb_get_len(in);
        rdb_get_len(in);
        if (in->failed) return short_or_bad(r, start);
    }
    item->offset = at(r, start);
    int rc = RDB_READER_ITEM;
    switch (*start) {
    case RDB_OPCODE_EOF:
        return end_of_file(r, start, used);
    case RDB_OPCODE_AUX:
        rdb_get_byte(in);
        item->kind = RDB_ITEM_AUX;
        if (take_string(r, &r->f->key, &item->key, &item->key_len) != 0 ||
            take_string(r, &r->f->str, &item->str, &item->str_len) != 0)
            return short_or_bad(r, start);
        break;
    case RDB_OPCODE_SELECTDB:
        rdb_get_byte(in);
        item->kind = RDB_ITEM_SELECTDB;
        item->db = rdb_get_len(in);
        if (in->failed) return short_or_bad(r, start);
        break;
    case RDB_OPCODE_FUNCTION2:
        rdb_get_byte(in);
        item->kind = RDB_ITEM_FUNCTION;
        if (take_string(r, &r->f->str, &item->str, &item->str_len) != 0)
            return short_or_bad(r, start);
        break;
    case RDB_OPCODE_FUNCTION_PRE_GA:
        return fail(r, start,
                    "a function library in Redis 7.0 release candidates' format "
                    "(redis-server 7.0 refuses it too)");
    case RDB_OPCODE_MODULE_AUX:
        return fail(r, start, "a module's auxiliary data (raftcache loads no modules)");
    default:
        rc = key_with_prefixes(r, start, item);
    }
    if (rc == RDB_READER_ITEM) *used = (size_t)(in->p - r->base);
    return rc;
}

int rdb_reader_next(struct rdb_reader *f, const void *buf, size_t len, int eof,
                    struct rdb_item *item, size_t *used, char *err, size_t errlen)
{
    ASSERT(!f->done);
    struct rd r = {
        .f = f, .base = buf, .version = f->version, .eof = eof, .err = err, .errlen = errlen};
    rdb_in_init(&r.in, buf, len, f->max_string);
    memset(item, 0, sizeof *item);
    item->expire_ms = RDB_READER_NO_EXPIRE;
    item->idle_s = -1;
    item->freq = -1;
    *used = 0;
    /* the header is read again until the first record after it is whole */
    int rc = r.version ? RDB_READER_ITEM : header(&r);
    if (rc == RDB_READER_ITEM) rc = record(&r, item, used);
    if (rc == RDB_READER_ITEM && item->kind == RDB_ITEM_SELECTDB) f->db = item->db;
    if (rc == RDB_READER_ITEM && item->kind == RDB_ITEM_KEY) item->db = f->db;
    if (rc == RDB_READER_ITEM || rc == RDB_READER_END) {
        f->version = r.version;
        f->crc = crc64(f->crc, buf, *used);
        f->offset += *used;
    }
    return rc;
}
