/*
 * src/types/t_list.c - the list type (see t_list.h): the keyspace's type
 * operations, the helpers the list commands share, and the commands that
 * push, pop and move elements, with the workers the blocking commands
 * reuse. The other list commands are in src/types/t_list_cmd.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/digest.h"
#include "keyspace/kv.h"
#include "ds/quicklist.h"
#include "types/t_list.h"
#include "types/t_list_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define ERR_ELEMENT_TOO_LONG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

/* --- type operations (src/keyspace/types.h) --- */

static const char *l_encoding(const void *obj)
{
    (void)obj;
    return "quicklist";
}

static void l_free(void *obj)
{
    ql_free(obj);
}

static void *l_dup(const void *obj)
{
    return ql_dup(obj);
}

static size_t l_length(const void *obj)
{
    return ((const struct quicklist *)obj)->count;
}

static size_t l_memory(const void *obj, size_t samples)
{
    return ql_memory(obj, samples);
}

/* Payload (snapshot format 5 on): count | nodes | nodes x listpack, head
 * to tail, each listpack as a string (types.h framing) holding one node's
 * elements as src/ds/listpack.h lays them out. A node's bytes go out as they
 * are, with no element decoded: a list is written at the speed of memcpy,
 * and loaded back with the same nodes. */
struct save_ctx {
    type_put_fn *put;
    void *ud;
};

static void save_node(void *ud, const unsigned char *lp, size_t bytes)
{
    struct save_ctx *s = ud;
    type_put_str(s->put, s->ud, (const char *)lp, bytes);
}

static void l_save(const void *obj, type_put_fn *put, void *ud)
{
    const struct quicklist *ql = obj;
    ASSERT(ql->count <= UINT32_MAX && "a list too long for the snapshot payload");
    struct save_ctx s = {put, ud};
    type_put_u32(put, ud, (uint32_t)ql->count);
    type_put_u32(put, ud, (uint32_t)ql->nodes);
    ql_foreach_listpack(ql, save_node, &s);
}

static uint64_t l_saved_len(const void *obj)
{
    const struct quicklist *ql = obj;
    return 4 + 4 + 4 * (uint64_t)ql->nodes + ql_listpack_bytes(ql);
}

static void *l_share(void *obj)
{
    return ql_share(obj);
}

static void digest_elem(void *ud, const char *p, size_t len)
{
    digest_mix(ud, p, len);
}

static void l_digest(const void *obj, unsigned char d[DIGEST_LEN])
{
    t_list_foreach(obj, 0, digest_elem, d);
}

/* The smallest listpack of one element: header, a 0..127 integer, its
 * back-length. */
#define MIN_NODE_BYTES (8 + 2)

static void *l_load(const unsigned char *p, size_t len, const struct kv_limits *lim, char *err,
                    size_t errlen)
{
    struct type_reader r = {p, len, 0};
    uint32_t count, nodes;
    if (type_get_count(&r, 2, &count, err, errlen) < 0 ||
        type_get_count(&r, 4 + MIN_NODE_BYTES, &nodes, err, errlen) < 0)
        return NULL;
    struct quicklist *ql = t_list_new(lim);
    for (uint32_t i = 0; i < nodes; i++) {
        const char *lp;
        size_t lplen;
        char why[96];
        if (type_get_str(&r, &lp, &lplen) < 0) {
            snprintf(err, errlen, "node %u truncated", i);
            goto bad;
        }
        if (lp_validate((const unsigned char *)lp, lplen, why, sizeof why) < 0) {
            snprintf(err, errlen, "node %u: %s", i, why);
            goto bad;
        }
        uint32_t n = lp_len((const unsigned char *)lp);
        if (n == 0 || n > count - ql->count) {
            snprintf(err, errlen, "node %u holds %u elements, past the count", i, n);
            goto bad;
        }
        ql_append_listpack(ql, (const unsigned char *)lp);
    }
    if (ql->count != count) {
        snprintf(err, errlen, "%zu elements, the count says %u", ql->count, count);
        goto bad;
    }
    if (type_get_end(&r, err, errlen) < 0) goto bad;
    return ql;
bad:
    ql_free(ql);
    return NULL;
}

/* Snapshot formats 3 and 4: count | count x element, head to tail. */
static void *l_load_v4(const unsigned char *p, size_t len, const struct kv_limits *lim, char *err,
                       size_t errlen)
{
    struct type_reader r = {p, len, 0};
    uint32_t count;
    if (type_get_count(&r, 4, &count, err, errlen) < 0) return NULL;
    struct quicklist *ql = t_list_new(lim);
    for (uint32_t i = 0; i < count; i++) {
        const char *e;
        size_t elen;
        if (type_get_str(&r, &e, &elen) < 0 || elen > QL_ELEMENT_MAX) {
            snprintf(err, errlen, "element %u truncated or too long", i);
            ql_free(ql);
            return NULL;
        }
        ql_push(ql, QL_TAIL, e, elen);
    }
    if (type_get_end(&r, err, errlen) < 0) {
        ql_free(ql);
        return NULL;
    }
    return ql;
}

const struct kv_type_ops t_list_ops = {
    .name = "list",
    .encoding = l_encoding,
    .free = l_free,
    .dup = l_dup,
    .length = l_length,
    .memory = l_memory,
    .members = NULL, /* no member dict to prefetch */
    .save = l_save,
    .saved_len = l_saved_len,
    .share = l_share,
    .twin_only_bytes = ql_twin_only_bytes,
    .load = l_load,
    .load_v4 = l_load_v4,
    .digest = l_digest,
};

/* --- for SORT --- */

void *t_list_new(const struct kv_limits *lim)
{
    return ql_new(lim->list_max_listpack_size, (long long)lim->list_compress_depth);
}

void t_list_append(void *list, const char *p, size_t len)
{
    ql_push(list, QL_TAIL, p, len);
}

size_t t_list_len(const void *list)
{
    return ((const struct quicklist *)list)->count;
}

void t_list_foreach(const void *list, int reverse, t_list_elem_fn *fn, void *ud)
{
    const struct quicklist *ql = list;
    struct ql_iter it;
    const char *p;
    size_t len;
    ql_iter_init(&it, ql, reverse ? ql->count - 1 : 0, reverse);
    while (ql_iter_next(&it, &p, &len))
        fn(ud, p, len);
    ql_iter_done(&it);
}

/* --- helpers of the list commands (t_list_int.h) --- */

/* A key a pop waits on: as t_list_lookup_write, but serving a client woken
 * from blocking (cmd_ctx.serving) a key of another type counts as absent. */
static struct kv_val *lookup_waited(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    if (!c->serving) return t_list_lookup_write(c, key, wrong);
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    *wrong = 0;
    return v && v->type == KV_LIST ? v : NULL;
}

struct kv_val *t_list_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
    *wrong = cmd_wrongtype(c, v, KV_LIST);
    ASSERT(*wrong || !v || v->type == KV_LIST);
    return *wrong ? NULL : v;
}

struct kv_val *t_list_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    *wrong = cmd_wrongtype(c, v, KV_LIST);
    ASSERT(*wrong || !v || v->type == KV_LIST);
    return *wrong ? NULL : v;
}

void t_list_changed(struct cmd_ctx *c, const struct resp_arg *key, const struct quicklist *ql,
                    const char *event)
{
    cmd_notify(c, NOTIFY_LIST, event, key);
    if (ql->count == 0) {
        kv_delete(c->kv, key->ptr, key->len, c->now_ms);
        cmd_notify(c, NOTIFY_GENERIC, "del", key);
    } else {
        kv_modified(c->kv, key->ptr, key->len);
    }
}

static const char *pop_event(enum ql_end end)
{
    return end == QL_HEAD ? "lpop" : "rpop";
}

static const char *push_event(enum ql_end end)
{
    return end == QL_HEAD ? "lpush" : "rpush";
}

int t_list_too_long(struct cmd_ctx *c, int first)
{
    for (int j = first; j < c->argc; j++) {
        if (c->argv[j].len > QL_ELEMENT_MAX) {
            resp_add_error(c->out, ERR_ELEMENT_TOO_LONG);
            return 1;
        }
    }
    return 0;
}

void t_list_reply_range(struct resp_out *out, const struct quicklist *ql, size_t index, size_t n,
                        int reverse)
{
    struct ql_iter it;
    const char *p;
    size_t len;
    ql_iter_init(&it, ql, index, reverse);
    for (size_t i = 0; i < n && ql_iter_next(&it, &p, &len); i++)
        resp_add_bulk(out, p, len);
    ql_iter_done(&it);
}

/* --- the workers (t_list.h) --- */

int t_list_pop_generic(struct cmd_ctx *c, const struct resp_arg *keys, int nkeys, enum ql_end end,
                       long long count, enum t_list_reply shape)
{
    int many = shape == T_LIST_REPLY_MANY || shape == T_LIST_REPLY_KEY_MANY;
    ASSERT(!many || count >= 0);
    for (int i = 0; i < nkeys; i++) {
        const struct resp_arg *key = &keys[i];
        int wrong;
        struct kv_val *v = lookup_waited(c, key, &wrong);
        if (wrong) return -1;
        if (!v) continue;
        struct quicklist *ql = kv_val_obj(v);
        size_t n = !many ? 1 : (unsigned long long)count < ql->count ? (size_t)count : ql->count;
        if (shape == T_LIST_REPLY_KEY_ONE || shape == T_LIST_REPLY_KEY_MANY) {
            resp_add_array_len(c->out, 2);
            resp_add_bulk(c->out, key->ptr, key->len);
        }
        if (many) resp_add_array_len(c->out, (long)n);
        t_list_reply_range(c->out, ql, end == QL_HEAD ? 0 : ql->count - 1, n, end == QL_TAIL);
        if (n == 0) return 1; /* LPOP key 0: nothing changes */
        size_t before = ql->count;
        ASSERT(n <= before && "a pop past the list's length");
        ql_delete_range(ql, end == QL_HEAD ? 0 : ql->count - n, n);
        ASSERT(ql->count == before - n);
        t_list_changed(c, key, ql, pop_event(end));
        return 1;
    }
    return 0;
}

int t_list_move_generic(struct cmd_ctx *c, const struct resp_arg *src, const struct resp_arg *dst,
                        enum ql_end from, enum ql_end to)
{
    int wrong;
    struct kv_val *sv = lookup_waited(c, src, &wrong);
    if (wrong) return -1;
    if (!sv) return 0;
    struct kv_val *dv = t_list_lookup_write(c, dst, &wrong);
    if (wrong) return -1;
    /* Looked up again: the lookup of dst may have deleted an expired key. */
    sv = kv_lookup_write(c->kv, src->ptr, src->len, c->now_ms, 0);
    ASSERT(sv && sv->type == KV_LIST);
    struct quicklist *sq = kv_val_obj(sv);
    struct ql_iter it;
    const char *p;
    size_t len;
    ql_iter_init(&it, sq, from == QL_HEAD ? 0 : sq->count - 1, 0);
    int got = ql_iter_next(&it, &p, &len);
    ASSERT(got && "a list without elements");
    (void)got;
    char *elem = memcpy(util_xmalloc(len ? len : 1), p, len);
    ql_iter_done(&it);
    size_t before = sq->count;
    ql_delete_range(sq, from == QL_HEAD ? 0 : sq->count - 1, 1);
    ASSERT(sq->count == before - 1);
    /* dst is pushed first (it may be src itself, which then is not empty). */
    if (dv) {
        ql_push(kv_val_obj(dv), to, elem, len);
        kv_modified(c->kv, dst->ptr, dst->len);
    } else {
        struct quicklist *dq = t_list_new(&c->kv->common->limits);
        ql_push(dq, to, elem, len);
        kv_set_obj(c->kv, dst->ptr, dst->len, KV_LIST, dq, KV_NO_EXPIRE, c->now_ms);
    }
    cmd_notify(c, NOTIFY_LIST, push_event(to), dst);
    resp_add_bulk(c->out, elem, len);
    free(elem);
    t_list_changed(c, src, sq, pop_event(from));
    return 1;
}

int t_list_ready(struct kv *kv, const char *key, size_t len, int64_t now_ms)
{
    const struct kv_val *v = kv_lookup_peek(kv, key, len, now_ms);
    if (!v) return 0;
    return v->type == KV_LIST ? 1 : -1;
}

int t_list_arg_end(struct cmd_ctx *c, int i, enum ql_end *end)
{
    if (cmd_arg_is(&c->argv[i], "left")) {
        *end = QL_HEAD;
    } else if (cmd_arg_is(&c->argv[i], "right")) {
        *end = QL_TAIL;
    } else {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    return 0;
}

/* As Redis reads it: numkeys first, then where, then the options in
 * order, each error as soon as it is met. */
int t_list_mpop_parse(struct cmd_ctx *c, int numkeys_i, struct t_list_mpop_args *a)
{
    const struct resp_arg *nk = &c->argv[numkeys_i];
    long long n;
    if (!util_str2ll(nk->ptr, nk->len, &n) || n < 1) {
        resp_add_error(c->out, "ERR numkeys should be greater than 0");
        return -1;
    }
    if (n > c->argc - numkeys_i - 2) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    a->first_key = numkeys_i + 1;
    a->nkeys = (int)n;
    int wi = a->first_key + a->nkeys;
    if (t_list_arg_end(c, wi, &a->end) < 0) return -1;
    a->count = -1;
    for (int j = wi + 1; j < c->argc; j++) {
        if (a->count == -1 && cmd_arg_is(&c->argv[j], "count") && j + 1 < c->argc) {
            j++;
            if (!util_str2ll(c->argv[j].ptr, c->argv[j].len, &a->count) || a->count < 1) {
                resp_add_error(c->out, "ERR count should be greater than 0");
                return -1;
            }
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    if (a->count == -1) a->count = 1;
    return 0;
}

int t_list_mpop_keys_at(int numkeys_i, int argc, const struct resp_arg *argv, int *idx, int max)
{
    long long n;
    if (numkeys_i >= argc || !util_str2ll(argv[numkeys_i].ptr, argv[numkeys_i].len, &n) || n < 1 ||
        n > argc - numkeys_i - 1)
        return 0;
    int k = 0;
    for (long long i = 0; i < n && k < max; i++)
        idx[k++] = numkeys_i + 1 + (int)i;
    return k;
}

int t_list_lmpop_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    return t_list_mpop_keys_at(1, argc, argv, idx, max);
}

/* --- pushes --- */

/* LPUSH, RPUSH and (only_existing) LPUSHX, RPUSHX. */
static void push_generic(struct cmd_ctx *c, enum ql_end end, int only_existing)
{
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_list_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!v && only_existing) {
        resp_add_int(c->out, 0);
        return;
    }
    if (t_list_too_long(c, 2)) return;
    struct quicklist *ql = v ? kv_val_obj(v) : t_list_new(&c->kv->common->limits);
    size_t before = ql->count;
    for (int j = 2; j < c->argc; j++)
        ql_push(ql, end, c->argv[j].ptr, c->argv[j].len);
    ASSERT(ql->count == before + (size_t)(c->argc - 2) && ql->count > 0);
    if (v)
        kv_modified(c->kv, key->ptr, key->len);
    else
        kv_set_obj(c->kv, key->ptr, key->len, KV_LIST, ql, KV_NO_EXPIRE, c->now_ms);
    cmd_notify(c, NOTIFY_LIST, push_event(end), key);
    resp_add_int(c->out, (long long)ql->count);
}

void cmd_lpush(struct cmd_ctx *c)
{
    push_generic(c, QL_HEAD, 0);
}

void cmd_rpush(struct cmd_ctx *c)
{
    push_generic(c, QL_TAIL, 0);
}

void cmd_lpushx(struct cmd_ctx *c)
{
    push_generic(c, QL_HEAD, 1);
}

void cmd_rpushx(struct cmd_ctx *c)
{
    push_generic(c, QL_TAIL, 1);
}

/* --- pops and moves --- */

/* LPOP / RPOP key [count]: the element (null if absent), or with a count
 * an array of up to count (a null array if absent). */
static void pop_command(struct cmd_ctx *c, enum ql_end end, const char *name)
{
    if (c->argc > 3) {
        resp_add_errorf(c->out, ERR_ARITY_FMT, name);
        return;
    }
    if (c->argc == 2) {
        if (t_list_pop_generic(c, &c->argv[1], 1, end, 1, T_LIST_REPLY_ONE) == 0)
            resp_add_null(c->out);
        return;
    }
    long long count;
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < 0) {
        resp_add_error(c->out, "ERR value is out of range, must be positive");
        return;
    }
    if (t_list_pop_generic(c, &c->argv[1], 1, end, count, T_LIST_REPLY_MANY) == 0)
        resp_add_null_array(c->out);
}

void cmd_lpop(struct cmd_ctx *c)
{
    pop_command(c, QL_HEAD, "lpop");
}

void cmd_rpop(struct cmd_ctx *c)
{
    pop_command(c, QL_TAIL, "rpop");
}

void cmd_lmpop(struct cmd_ctx *c)
{
    struct t_list_mpop_args a;
    if (t_list_mpop_parse(c, 1, &a) < 0) return;
    if (t_list_pop_generic(c, &c->argv[a.first_key], a.nkeys, a.end, a.count,
                           T_LIST_REPLY_KEY_MANY) == 0)
        resp_add_null_array(c->out);
}

void cmd_lmove(struct cmd_ctx *c)
{
    enum ql_end from, to;
    if (t_list_arg_end(c, 3, &from) < 0 || t_list_arg_end(c, 4, &to) < 0) return;
    if (t_list_move_generic(c, &c->argv[1], &c->argv[2], from, to) == 0) resp_add_null(c->out);
}

void cmd_rpoplpush(struct cmd_ctx *c)
{
    if (t_list_move_generic(c, &c->argv[1], &c->argv[2], QL_TAIL, QL_HEAD) == 0)
        resp_add_null(c->out);
}
