/*
 * src/types/bitfield.c - BITFIELD and BITFIELD_RO: integers of 1 to 64 bits (u1
 * to u63 unsigned, i1 to i64 signed) at any bit offset of a string value,
 * read (GET), written (SET) and incremented (INCRBY) under an OVERFLOW
 * policy (WRAP, SAT, FAIL), with Redis 7.0's replies and errors. Bits are
 * numbered as the other bitmap commands (src/types/bitops.c) number them: bit 0
 * is the most significant bit of the first byte.
 *
 * Every operation is parsed before any runs, so a bad argument changes
 * nothing. A call with SET or INCRBY grows the string to its highest
 * written bit first, as Redis does, even when an operation then fails
 * under OVERFLOW FAIL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "types/bitops.h"
#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "base/util.h"

#define ERR_BF_TYPE                                                                                \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "        \
    "but i64 is."
#define ERR_BF_OFFSET "ERR bit offset is not an integer or out of range"

enum bf_opcode { BF_GET, BF_SET, BF_INCRBY };
enum bf_overflow { BF_WRAP, BF_SAT, BF_FAIL };

struct bf_op {
    enum bf_opcode code;
    enum bf_overflow overflow;
    int sign, bits;
    uint64_t offset;
    int64_t arg; /* SET's value, INCRBY's increment */
};

/* argv[i] as a type (i1..i64, u1..u63). Returns 0, or -1 after replying. */
static int parse_type(struct cmd_ctx *c, int i, struct bf_op *op)
{
    const struct resp_arg *a = &c->argv[i];
    long long bits;
    if (a->len < 2 || (a->ptr[0] != 'i' && a->ptr[0] != 'u') ||
        !util_str2ll(a->ptr + 1, a->len - 1, &bits) || bits < 1 ||
        bits > (a->ptr[0] == 'i' ? 64 : 63)) {
        resp_add_error(c->out, ERR_BF_TYPE);
        return -1;
    }
    op->sign = a->ptr[0] == 'i';
    op->bits = (int)bits;
    return 0;
}

/* argv[i] as a bit offset, "#n" meaning n times the type's width, within
 * proto-max-bulk-len. The product is taken modulo 2^64 as Redis's 64-bit
 * multiplication gives it, so a huge "#n" that wraps into range addresses
 * the same bits as on redis-server. Returns 0, or -1 after replying. */
static int parse_offset(struct cmd_ctx *c, int i, struct bf_op *op)
{
    const struct resp_arg *a = &c->argv[i];
    int hash = a->len > 0 && a->ptr[0] == '#';
    long long v;
    if (!util_str2ll(a->ptr + hash, a->len - (size_t)hash, &v)) {
        resp_add_error(c->out, ERR_BF_OFFSET);
        return -1;
    }
    if (hash) v = (long long)((uint64_t)v * (uint64_t)op->bits);
    if (v < 0 || (uint64_t)(v >> 3) >= c->kv->common->max_value_len) {
        resp_add_error(c->out, ERR_BF_OFFSET);
        return -1;
    }
    op->offset = (uint64_t)v;
    return 0;
}

/* Parses argv[2..] into ops (room for (argc - 2) / 3 of them: the shortest
 * operation, GET, takes three arguments). Returns their count, or -1 after
 * replying an error. *writes: 1 if any is a SET or INCRBY. */
static int parse_ops(struct cmd_ctx *c, struct bf_op *ops, int *writes)
{
    enum bf_overflow overflow = BF_WRAP;
    int n = 0;
    *writes = 0;
    for (int i = 2; i < c->argc;) {
        const struct resp_arg *a = &c->argv[i];
        int left = c->argc - i - 1;
        if (cmd_arg_is(a, "overflow") && left >= 1) {
            const struct resp_arg *t = &c->argv[i + 1];
            if (cmd_arg_is(t, "wrap"))
                overflow = BF_WRAP;
            else if (cmd_arg_is(t, "sat"))
                overflow = BF_SAT;
            else if (cmd_arg_is(t, "fail"))
                overflow = BF_FAIL;
            else {
                resp_add_error(c->out, "ERR Invalid OVERFLOW type specified");
                return -1;
            }
            i += 2;
            continue;
        }
        struct bf_op op = {.overflow = overflow};
        int need;
        if (cmd_arg_is(a, "get") && left >= 2) {
            op.code = BF_GET;
            need = 2;
        } else if (cmd_arg_is(a, "set") && left >= 3) {
            op.code = BF_SET;
            need = 3;
        } else if (cmd_arg_is(a, "incrby") && left >= 3) {
            op.code = BF_INCRBY;
            need = 3;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
        if (parse_type(c, i + 1, &op) < 0 || parse_offset(c, i + 2, &op) < 0) return -1;
        if (need == 3) {
            long long v;
            if (cmd_arg_ll(c, i + 3, &v) < 0) return -1;
            op.arg = v;
            *writes = 1;
        }
        ops[n++] = op;
        i += need + 1;
    }
    return n;
}

/* The bits [offset, offset + bits) of p[0..len) as an unsigned number;
 * bits past the end read as 0. */
static uint64_t get_bits(const unsigned char *p, size_t len, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++) {
        uint64_t byte = offset >> 3;
        int bit = byte < len ? (p[byte] >> (7 - (offset & 7))) & 1 : 0;
        v = v << 1 | (uint64_t)bit;
    }
    return v;
}

static void put_bits(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    for (int j = bits - 1; j >= 0; j--, offset++) {
        unsigned char mask = (unsigned char)(1u << (7 - (offset & 7)));
        if ((v >> j) & 1)
            p[offset >> 3] |= mask;
        else
            p[offset >> 3] &= (unsigned char)~mask;
    }
}

/* The signed value of the low bits of v. */
static int64_t sign_extend(uint64_t v, int bits)
{
    if (bits < 64 && (v >> (bits - 1)) & 1) v |= ~(uint64_t)0 << bits;
    return (int64_t)v;
}

/* Whether value + incr leaves the field's range: 1 above, -1 below, 0 not.
 * These are Redis's own tests, kept as they are so that every reply and
 * byte matches redis-server's, including its answer for a SET value far
 * below a narrow signed field (taken as above: SAT stores the maximum). */
static int overflows(const struct bf_op *op, int64_t value, int64_t incr)
{
    if (op->sign) {
        int64_t max = op->bits == 64 ? INT64_MAX : ((int64_t)1 << (op->bits - 1)) - 1;
        int64_t min = -max - 1;
        int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
        int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
        if (value > max || (op->bits != 64 && incr > maxincr) ||
            (value >= 0 && incr > 0 && incr > maxincr))
            return 1;
        if (value < min || (op->bits != 64 && incr < minincr) ||
            (value < 0 && incr < 0 && incr < minincr))
            return -1;
        return 0;
    }
    uint64_t u = (uint64_t)value, max = ((uint64_t)1 << op->bits) - 1; /* bits <= 63 */
    int64_t maxincr = (int64_t)(max - u), minincr = (int64_t)(0 - u);
    if (u > max || (incr > 0 && incr > maxincr)) return 1;
    if (incr < 0 && incr < minincr) return -1;
    return 0;
}

/* The field's new raw bits for op over the old raw bits: 1 with *out, or 0
 * when OVERFLOW FAIL refuses it. *reply: what the operation answers (SET:
 * the old value; INCRBY: the new one). */
static int apply_op(const struct bf_op *op, uint64_t old, uint64_t *out, int64_t *reply)
{
    uint64_t mask = op->bits == 64 ? ~(uint64_t)0 : ((uint64_t)1 << op->bits) - 1;
    int64_t cur = op->sign ? sign_extend(old, op->bits) : (int64_t)old;
    int64_t value = op->code == BF_SET ? op->arg : cur, incr = op->code == BF_SET ? 0 : op->arg;
    int o = overflows(op, value, incr);
    uint64_t v = (uint64_t)value + (uint64_t)incr; /* WRAP: its low bits */
    if (o && op->overflow == BF_FAIL) return 0;
    if (o && op->overflow == BF_SAT) {
        if (op->sign) {
            int64_t max = op->bits == 64 ? INT64_MAX : ((int64_t)1 << (op->bits - 1)) - 1;
            v = (uint64_t)(o > 0 ? max : -max - 1);
        } else {
            v = o > 0 ? mask : 0;
        }
    }
    *out = v & mask;
    *reply = op->code == BF_SET ? cur : op->sign ? sign_extend(*out, op->bits) : (int64_t)*out;
    return 1;
}

/* The highest byte a write of ops touches, plus one. */
static size_t write_extent(const struct bf_op *ops, int n)
{
    size_t need = 0;
    for (int i = 0; i < n; i++) {
        if (ops[i].code == BF_GET) continue;
        size_t end = (size_t)((ops[i].offset + (uint64_t)ops[i].bits - 1) >> 3) + 1;
        if (end > need) need = end;
    }
    return need;
}

static void bitfield(struct cmd_ctx *c, int readonly)
{
    /* no limit on the number of operations, as Redis */
    struct bf_op *ops = util_xmalloc(sizeof *ops * ((size_t)(c->argc - 2) / 3 + 1));
    int writes, n = parse_ops(c, ops, &writes);
    if (n >= 0 && readonly && writes) {
        resp_add_error(c->out, "ERR BITFIELD_RO only supports the GET subcommand");
        n = -1;
    }
    if (n < 0) {
        free(ops);
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    /* a call with only GETs reads (and counts a keyspace hit or miss);
     * one that writes looks up without counting, as Redis's lookupKeyWrite */
    struct kv_val *v = writes ? kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0)
                              : kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
    if (cmd_wrongtype(c, v, KV_STRING)) {
        free(ops);
        return;
    }
    unsigned char *w = NULL; /* the writable bytes, once something changes */
    size_t len = v ? v->len : 0, need = write_extent(ops, n);
    if (writes && (!v || len < need)) { /* grown first, as Redis */
        w = (unsigned char *)kv_resize(c->kv, key->ptr, key->len, need, c->now_ms);
        len = need;
    }
    resp_add_array_len(c->out, n);
    for (int i = 0; i < n; i++) {
        const struct bf_op *op = &ops[i];
        const unsigned char *r = w ? w : (const unsigned char *)(v ? v->data : "");
        uint64_t old = get_bits(r, len, op->offset, op->bits), bits;
        if (op->code == BF_GET) {
            resp_add_int(c->out, op->sign ? sign_extend(old, op->bits) : (long long)old);
            continue;
        }
        int64_t reply;
        if (!apply_op(op, old, &bits, &reply)) {
            resp_add_null(c->out);
            continue;
        }
        resp_add_int(c->out, reply);
        if (bits == old) continue;
        if (!w) w = (unsigned char *)kv_resize(c->kv, key->ptr, key->len, len, c->now_ms);
        put_bits(w, op->offset, op->bits, bits);
    }
    if (w) cmd_notify(c, NOTIFY_STRING, "setbit", key);
    free(ops);
}

const char *cmd_bitfield_key_flags(int argc, const struct resp_arg *argv)
{
    for (int i = 2; i < argc; i++) {
        int left = argc - i - 1; /* arguments after this one */
        if (cmd_arg_is(&argv[i], "get") && left >= 2)
            i += 2;
        else if (cmd_arg_is(&argv[i], "overflow") && left >= 1)
            i += 1;
        else
            return "RW access update"; /* a write, or an error: not only a read */
    }
    return "RO access";
}

void cmd_bitfield(struct cmd_ctx *c)
{
    bitfield(c, 0);
}

void cmd_bitfield_ro(struct cmd_ctx *c)
{
    bitfield(c, 1);
}
