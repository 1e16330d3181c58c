/*
 * src/keyspace/types.c - the payload framing shared by the data type modules (see
 * types.h).
 */
#include <stdio.h>
#include <string.h>

#include "base/le.h"
#include "keyspace/types.h"
#include "raft/raft_assert.h"

void type_put_u32(type_put_fn *put, void *ud, uint32_t v)
{
    unsigned char b[4];
    le_put32(b, v);
    put(ud, b, 4);
}

void type_put_u64(type_put_fn *put, void *ud, uint64_t v)
{
    unsigned char b[8];
    le_put64(b, v);
    put(ud, b, 8);
}

void type_put_str(type_put_fn *put, void *ud, const char *p, size_t len)
{
    type_put_u32(put, ud, (uint32_t)len);
    put(ud, p, len);
}

void type_put_f64(type_put_fn *put, void *ud, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    type_put_u64(put, ud, bits);
}

int type_get_u32(struct type_reader *r, uint32_t *v)
{
    if (r->len - r->off < 4) return -1;
    *v = (uint32_t)le_get(r->p + r->off, 4);
    r->off += 4;
    return 0;
}

int type_get_u64(struct type_reader *r, uint64_t *v)
{
    if (r->len - r->off < 8) return -1;
    *v = le_get(r->p + r->off, 8);
    r->off += 8;
    return 0;
}

int type_get_str(struct type_reader *r, const char **s, size_t *len)
{
    uint32_t n;
    if (type_get_u32(r, &n) < 0 || n > r->len - r->off) return -1;
    *s = (const char *)r->p + r->off;
    *len = n;
    r->off += n;
    return 0;
}

int type_get_f64(struct type_reader *r, double *v)
{
    uint64_t bits;
    if (type_get_u64(r, &bits) < 0) return -1;
    memcpy(v, &bits, 8);
    return 0;
}

int type_get_count(struct type_reader *r, size_t min_bytes, uint32_t *count, char *err,
                   size_t errlen)
{
    ASSERT(r->off <= r->len);
    if (type_get_u32(r, count) < 0 || *count == 0 ||
        *count > (r->len - r->off) / (min_bytes ? min_bytes : 1)) {
        snprintf(err, errlen, "bad element count");
        return -1;
    }
    return 0;
}

int type_get_end(const struct type_reader *r, char *err, size_t errlen)
{
    ASSERT(r->off <= r->len);
    if (r->off == r->len) return 0;
    snprintf(err, errlen, "%zu bytes after the last element", r->len - r->off);
    return -1;
}
