/*
 * src/types/bitops.c - bitmaps: strings read and written as arrays of bits (bit 0
 * is the most significant bit of the first byte, as Redis): SETBIT GETBIT
 * BITCOUNT BITPOS BITOP, with Redis 7.0's replies and errors. A bitmap is a
 * string value; SETBIT grows it with zero bytes, within proto-max-bulk-len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "types/bitops.h"
#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "base/util.h"

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"

/* The string at argv[1] for a read: *p, *len (empty if absent). Returns -1
 * after replying WRONGTYPE. */
static int read_string(struct cmd_ctx *c, const unsigned char **p, size_t *len)
{
    const struct kv_val *v = kv_lookup_read(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (cmd_wrongtype(c, v, KV_STRING)) return -1;
    *p = v ? (const unsigned char *)v->data : (const unsigned char *)"";
    *len = v ? v->len : 0;
    return v ? 1 : 0;
}

static int bit_at(const unsigned char *p, uint64_t bit)
{
    return (p[bit >> 3] >> (7 - (bit & 7))) & 1;
}

/* argv[i] as a bit offset allowed by proto-max-bulk-len. */
static int parse_offset(struct cmd_ctx *c, int i, uint64_t *out)
{
    long long v;
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &v) || v < 0 ||
        (uint64_t)(v >> 3) >= c->kv->common->max_value_len) {
        resp_add_error(c->out, ERR_BIT_OFFSET);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

void cmd_setbit(struct cmd_ctx *c)
{
    uint64_t off;
    if (parse_offset(c, 2, &off) < 0) return;
    const struct resp_arg *b = &c->argv[3];
    if (b->len != 1 || (b->ptr[0] != '0' && b->ptr[0] != '1')) {
        resp_add_error(c->out, "ERR bit is not an integer or out of range");
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    size_t len = v ? v->len : 0, byte = (size_t)(off >> 3);
    unsigned char mask = (unsigned char)(1u << (7 - (off & 7)));
    int old = byte < len && ((unsigned char)v->data[byte] & mask) != 0, on = b->ptr[0] == '1';
    if (v && byte < len && old == on) { /* nothing changes: no write, as in Redis */
        resp_add_int(c->out, old);
        return;
    }
    char *p = kv_resize(c->kv, key->ptr, key->len, byte >= len ? byte + 1 : len, c->now_ms);
    if (on)
        p[byte] = (char)((unsigned char)p[byte] | mask);
    else
        p[byte] = (char)((unsigned char)p[byte] & ~mask);
    cmd_notify(c, NOTIFY_STRING, "setbit", key);
    resp_add_int(c->out, old);
}

void cmd_getbit(struct cmd_ctx *c)
{
    uint64_t off;
    if (parse_offset(c, 2, &off) < 0) return;
    const unsigned char *p;
    size_t len;
    if (read_string(c, &p, &len) < 0) return;
    resp_add_int(c->out, (off >> 3) < len ? bit_at(p, off) : 0);
}

/* The range of argv[si] (start), argv[si + 1] (end; absent: -1) and an
 * optional BYTE|BIT after them, as bit positions within a string of len
 * bytes. Returns 1 with the range, 0 when it is empty, -1 after replying an
 * error. */
static int bit_range(struct cmd_ctx *c, int si, size_t len, uint64_t *first, uint64_t *last)
{
    long long s, e = -1;
    int bits = 0;
    if (c->argc > si + 2) {
        if (cmd_arg_is(&c->argv[si + 2], "bit")) {
            bits = 1;
        } else if (!cmd_arg_is(&c->argv[si + 2], "byte")) {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    if (cmd_arg_ll(c, si, &s) < 0) return -1;
    if (c->argc > si + 1 && cmd_arg_ll(c, si + 1, &e) < 0) return -1;
    long long total = (long long)len * (bits ? 8 : 1);
    if (s < 0 && e < 0 && s > e) return 0; /* both from the end, reversed: empty */
    if (s < 0) s += total;
    if (e < 0) e += total;
    if (s < 0) s = 0;
    if (e < 0) e = 0;
    if (e >= total) e = total - 1;
    if (s > e || total == 0) return 0;
    *first = bits ? (uint64_t)s : (uint64_t)s * 8;
    *last = bits ? (uint64_t)e : (uint64_t)e * 8 + 7;
    return 1;
}

static uint64_t count_bits(const unsigned char *p, uint64_t first, uint64_t last)
{
    uint64_t n = 0, b = first;
    for (; b <= last && (b & 7); b++)
        n += (uint64_t)bit_at(p, b);
    for (; b + 7 <= last; b += 8)
        n += (uint64_t)__builtin_popcount(p[b >> 3]);
    for (; b <= last; b++)
        n += (uint64_t)bit_at(p, b);
    return n;
}

void cmd_bitcount(struct cmd_ctx *c)
{
    if (c->argc == 3 || c->argc > 5) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    const unsigned char *p;
    size_t len;
    if (read_string(c, &p, &len) < 0) return;
    uint64_t first = 0, last = len ? (uint64_t)len * 8 - 1 : 0;
    int any = len > 0;
    if (c->argc >= 4 && (any = bit_range(c, 2, len, &first, &last)) < 0) return;
    resp_add_int(c->out, any ? (long long)count_bits(p, first, last) : 0);
}

void cmd_bitpos(struct cmd_ctx *c)
{
    if (c->argc > 6) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    long long bitv;
    if (cmd_arg_ll(c, 2, &bitv) < 0) return;
    if (bitv != 0 && bitv != 1) {
        resp_add_error(c->out, "ERR The bit argument must be 1 or 0.");
        return;
    }
    const unsigned char *p;
    size_t len;
    int exists = read_string(c, &p, &len);
    if (exists < 0) return;
    uint64_t first = 0, last = len ? (uint64_t)len * 8 - 1 : 0;
    int any = len > 0, end_given = c->argc >= 5;
    if (c->argc >= 4) any = bit_range(c, 3, len, &first, &last);
    if (any < 0) return;
    if (!exists) {
        resp_add_int(c->out, bitv ? -1 : 0);
        return;
    }
    if (any)
        for (uint64_t i = first; i <= last; i++)
            if (bit_at(p, i) == bitv) {
                resp_add_int(c->out, (long long)i);
                return;
            }
    /* Not found: looking for a 0 past a range that runs to the end of the
     * string finds the first bit after it, as Redis answers. */
    resp_add_int(c->out, bitv == 0 && any && !end_given ? (long long)last + 1 : -1);
}

enum bitop { OP_AND, OP_OR, OP_XOR, OP_NOT };

void cmd_bitop(struct cmd_ctx *c)
{
    static const char *const names[] = {"and", "or", "xor", "not"};
    int op = -1;
    for (int i = 0; i < 4; i++)
        if (cmd_arg_is(&c->argv[1], names[i])) op = i;
    if (op < 0) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    int nsrc = c->argc - 3;
    if (op == OP_NOT && nsrc != 1) {
        resp_add_error(c->out, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    const unsigned char **src = util_xcalloc((size_t)nsrc, sizeof *src);
    size_t *lens = util_xcalloc((size_t)nsrc, sizeof *lens), max = 0;
    for (int i = 0; i < nsrc; i++) {
        const struct resp_arg *k = &c->argv[3 + i];
        const struct kv_val *v = kv_lookup_write(c->kv, k->ptr, k->len, c->now_ms, 0);
        if (cmd_wrongtype(c, v, KV_STRING)) goto done;
        src[i] = v ? (const unsigned char *)v->data : NULL;
        lens[i] = v ? v->len : 0;
        if (lens[i] > max) max = lens[i];
    }
    unsigned char *out = util_xmalloc(max ? max : 1);
    for (size_t j = 0; j < max; j++) {
        unsigned char acc = j < lens[0] ? src[0][j] : 0;
        if (op == OP_NOT) acc = (unsigned char)~acc;
        for (int i = 1; i < nsrc; i++) {
            unsigned char b = j < lens[i] ? src[i][j] : 0;
            acc = op == OP_AND ? acc & b : op == OP_OR ? acc | b : acc ^ b;
        }
        out[j] = acc;
    }
    const struct resp_arg *dst = &c->argv[2];
    if (max) {
        kv_set(c->kv, dst->ptr, dst->len, out, max, KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_STRING, "set", dst);
    } else if (kv_delete(c->kv, dst->ptr, dst->len, c->now_ms)) {
        cmd_notify(c, NOTIFY_GENERIC, "del", dst);
    }
    free(out);
    resp_add_int(c->out, (long long)max);
done:
    free(src);
    free(lens);
}
