/*
 * src/types/cmd_string.c - the string commands: GET/SET and their family, MGET,
 * MSET(NX), INCR/DECR(BY), INCRBYFLOAT, APPEND, STRLEN, GETRANGE, SETRANGE
 * and LCS, replying exactly as Redis 7.0 does.
 *
 * Write handlers run in the apply path (see cmd.h): they use write lookups
 * (an expired key they meet is deleted first) and c->now_ms is the entry's
 * timestamp. Where Redis looks a key up "for reading" inside a write command
 * (SET ... GET, GETSET, GETDEL, GETEX) the lookup also counts hits/misses.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "base/util.h"
#include "raft/raft_assert.h"
#include "cmd/rows.h"

#define ERR_TOO_BIG "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

static void reply_val(struct resp_out *o, const struct kv_val *v)
{
    if (v)
        resp_add_bulk(o, v->data, v->len);
    else
        resp_add_null(o);
}

static void reply_expire_error(struct cmd_ctx *c, const char *name, int not_int)
{
    if (not_int)
        resp_add_error(c->out, ERR_NOT_INT);
    else
        resp_add_errorf(c->out, ERR_EXPIRE_FMT, name);
}

/* --- GET / SET family --- */

/*
 * The worker of SET, SETNX, SETEX, PSETEX and GETSET. name is the command
 * for the expire error text; int_reply gives SETNX's :1/:0 instead of
 * +OK / null. With GET the reply is the old value whatever happens next.
 */
static void set_generic(struct cmd_ctx *c, const struct cmd_set_opts *o, const struct resp_arg *val,
                        const char *name, int int_reply)
{
    const struct resp_arg *key = &c->argv[1];
    int64_t expire = (o->flags & CMD_SET_KEEPTTL) ? KV_KEEP_TTL : KV_NO_EXPIRE;
    int not_int;
    if ((o->flags & CMD_SET_EXPIRE_ANY) &&
        cmd_set_expire_ms(c->argv, o, c->now_ms, &expire, &not_int) < 0) {
        reply_expire_error(c, name, not_int);
        return;
    }
    int get = (o->flags & CMD_SET_GET) != 0;
    const struct kv_val *old =
        kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, get ? KV_LOOKUP_STATS : 0);
    if (get && cmd_wrongtype(c, old, KV_STRING)) return;
    if (get) reply_val(c->out, old);
    if (((o->flags & CMD_SET_NX) && old) || ((o->flags & CMD_SET_XX) && !old)) {
        if (get) return;
        if (int_reply)
            resp_add_int(c->out, 0);
        else
            resp_add_null(c->out);
        return;
    }
    kv_set(c->kv, key->ptr, key->len, val->ptr, val->len, expire, c->now_ms);
    cmd_notify(c, NOTIFY_STRING, "set", key);
    if (o->flags & CMD_SET_EXPIRE_ANY) cmd_notify(c, NOTIFY_GENERIC, "expire", key);
    if (get) return;
    if (int_reply)
        resp_add_int(c->out, 1);
    else
        resp_add_simple(c->out, "OK");
}

static void cmd_set(struct cmd_ctx *c)
{
    struct cmd_set_opts o;
    if (cmd_set_parse_opts(c->argc, c->argv, 0, &o) < 0) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    set_generic(c, &o, &c->argv[2], "set", 0);
}

static void cmd_setnx(struct cmd_ctx *c)
{
    struct cmd_set_opts o = {CMD_SET_NX, 0};
    set_generic(c, &o, &c->argv[2], "setnx", 1);
}

static void cmd_setex(struct cmd_ctx *c)
{
    struct cmd_set_opts o = {CMD_SET_EX, 2};
    set_generic(c, &o, &c->argv[3], "setex", 0);
}

static void cmd_psetex(struct cmd_ctx *c)
{
    struct cmd_set_opts o = {CMD_SET_PX, 2};
    set_generic(c, &o, &c->argv[3], "psetex", 0);
}

static void cmd_getset(struct cmd_ctx *c)
{
    struct cmd_set_opts o = {CMD_SET_GET, 0};
    set_generic(c, &o, &c->argv[2], "getset", 0);
}

static void cmd_get(struct cmd_ctx *c)
{
    const struct kv_val *v = kv_lookup_read(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    reply_val(c->out, v);
}

static void cmd_getdel(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, KV_LOOKUP_STATS);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    reply_val(c->out, v);
    if (!v) return;
    kv_delete(c->kv, key->ptr, key->len, c->now_ms);
    cmd_notify(c, NOTIFY_GENERIC, "del", key);
}

/* Redis's order: option syntax, then the key (null if absent, even with a
 * bad expire value), then the expire value, then the reply and the change. */
static void cmd_getex(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct cmd_set_opts o;
    if (cmd_set_parse_opts(c->argc, c->argv, 1, &o) < 0) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, KV_LOOKUP_STATS);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    int64_t ms = 0;
    int not_int;
    if ((o.flags & CMD_SET_EXPIRE_ANY) &&
        cmd_set_expire_ms(c->argv, &o, c->now_ms, &ms, &not_int) < 0) {
        reply_expire_error(c, "getex", not_int);
        return;
    }
    reply_val(c->out, v);
    if ((o.flags & (CMD_SET_EXAT | CMD_SET_PXAT)) && ms <= c->now_ms) {
        kv_delete(c->kv, key->ptr, key->len, c->now_ms);
        cmd_notify(c, NOTIFY_GENERIC, "del", key);
    } else if (o.flags & CMD_SET_EXPIRE_ANY) {
        kv_set_expire(c->kv, key->ptr, key->len, ms);
        cmd_notify(c, NOTIFY_GENERIC, "expire", key);
    } else if ((o.flags & CMD_SET_PERSIST) && kv_persist(c->kv, key->ptr, key->len)) {
        cmd_notify(c, NOTIFY_GENERIC, "persist", key);
    }
}

static void cmd_mget(struct cmd_ctx *c)
{
    resp_add_array_len(c->out, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        const struct kv_val *v = kv_lookup_read(c->kv, c->argv[j].ptr, c->argv[j].len, c->now_ms);
        reply_val(c->out, v && v->type == KV_STRING ? v : NULL); /* nil for other types */
    }
}

static void mset_generic(struct cmd_ctx *c, int nx, const char *name)
{
    if (c->argc % 2 == 0) {
        resp_add_errorf(c->out, ERR_ARITY_FMT, name);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (kv_lookup_write(c->kv, c->argv[j].ptr, c->argv[j].len, c->now_ms, 0)) {
                resp_add_int(c->out, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        kv_set(c->kv, c->argv[j].ptr, c->argv[j].len, c->argv[j + 1].ptr, c->argv[j + 1].len,
               KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_STRING, "set", &c->argv[j]);
    }
    if (nx)
        resp_add_int(c->out, 1);
    else
        resp_add_simple(c->out, "OK");
}

static void cmd_mset(struct cmd_ctx *c)
{
    mset_generic(c, 0, "mset");
}

static void cmd_msetnx(struct cmd_ctx *c)
{
    mset_generic(c, 1, "msetnx");
}

/* --- counters --- */

/* The worker of INCR, DECR, INCRBY and DECRBY. The TTL is kept. */
static void incr_generic(struct cmd_ctx *c, long long incr)
{
    const struct resp_arg *key = &c->argv[1];
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    long long value = 0;
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    if (v && !util_str2ll(v->data, v->len, &value)) {
        resp_add_error(c->out, ERR_NOT_INT);
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        resp_add_error(c->out, ERR_OVERFLOW);
        return;
    }
    value += incr;
    char buf[UTIL_LL_STR_SIZE];
    size_t n = util_ll2str(buf, sizeof buf, value);
    kv_set(c->kv, key->ptr, key->len, buf, n, KV_KEEP_TTL, c->now_ms);
    cmd_notify(c, NOTIFY_STRING, "incrby", key);
    resp_add_int(c->out, value);
}

/* Parses the increment argument; replies the error and returns 0 if bad. */
static int parse_incr(struct cmd_ctx *c, long long *incr)
{
    if (util_str2ll(c->argv[2].ptr, c->argv[2].len, incr)) return 1;
    resp_add_error(c->out, ERR_NOT_INT);
    return 0;
}

static void cmd_incr(struct cmd_ctx *c)
{
    incr_generic(c, 1);
}

static void cmd_decr(struct cmd_ctx *c)
{
    incr_generic(c, -1);
}

static void cmd_incrby(struct cmd_ctx *c)
{
    long long incr;
    if (parse_incr(c, &incr)) incr_generic(c, incr);
}

static void cmd_decrby(struct cmd_ctx *c)
{
    long long incr;
    if (!parse_incr(c, &incr)) return;
    if (incr == LLONG_MIN) { /* its negation does not exist */
        resp_add_error(c->out, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -incr);
}

static void cmd_incrbyfloat(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *arg = &c->argv[2];
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    long double value = 0, incr;
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    if ((v && !util_str2ld(v->data, v->len, &value)) || !util_str2ld(arg->ptr, arg->len, &incr)) {
        resp_add_error(c->out, ERR_NOT_FLOAT);
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        resp_add_error(c->out, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[UTIL_LONG_DOUBLE_CHARS_MAX];
    size_t n = util_ld2str(buf, sizeof buf, value, 1);
    kv_set(c->kv, key->ptr, key->len, buf, n, KV_KEEP_TTL, c->now_ms);
    cmd_notify(c, NOTIFY_STRING, "incrbyfloat", key);
    resp_add_bulk(c->out, buf, n);
}

/* --- byte ranges --- */

/* 1 if a value of base + add bytes is allowed; else replies the error. */
static int length_ok(struct cmd_ctx *c, size_t base, size_t add)
{
    size_t max =
        c->kv->common->max_value_len < UINT32_MAX ? c->kv->common->max_value_len : UINT32_MAX;
    if (add <= max && base <= max - add) return 1;
    resp_add_error(c->out, ERR_TOO_BIG);
    return 0;
}

static void cmd_append(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *arg = &c->argv[2];
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    if (!v) {
        kv_set(c->kv, key->ptr, key->len, arg->ptr, arg->len, KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_STRING, "append", key);
        resp_add_int(c->out, (long long)arg->len);
        return;
    }
    size_t olen = v->len;
    if (!length_ok(c, olen, arg->len)) return;
    char *p = kv_resize(c->kv, key->ptr, key->len, olen + arg->len, c->now_ms);
    memcpy(p + olen, arg->ptr, arg->len);
    cmd_notify(c, NOTIFY_STRING, "append", key);
    resp_add_int(c->out, (long long)(olen + arg->len));
}

static void cmd_strlen(struct cmd_ctx *c)
{
    const struct kv_val *v = kv_lookup_read(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    resp_add_int(c->out, v ? v->len : 0);
}

static void cmd_getrange(struct cmd_ctx *c)
{
    long long start, end;
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &start) ||
        !util_str2ll(c->argv[3].ptr, c->argv[3].len, &end)) {
        resp_add_error(c->out, ERR_NOT_INT);
        return;
    }
    const struct kv_val *v = kv_lookup_read(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    long long len = v ? v->len : 0;
    /* Redis's rules: both negative and reversed is empty; negatives count
     * from the end and clamp to 0; end clamps to the last byte. */
    if (len == 0 || (start < 0 && end < 0 && start > end)) {
        resp_add_bulk(c->out, "", 0);
        return;
    }
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end)
        resp_add_bulk(c->out, "", 0);
    else
        resp_add_bulk(c->out, v->data + start, (size_t)(end - start + 1));
}

static void cmd_setrange(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *arg = &c->argv[3];
    long long offset;
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &offset)) {
        resp_add_error(c->out, ERR_NOT_INT);
        return;
    }
    if (offset < 0) {
        resp_add_error(c->out, "ERR offset is out of range");
        return;
    }
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (cmd_wrongtype(c, v, KV_STRING)) return;
    size_t olen = v ? v->len : 0;
    if (arg->len == 0) { /* nothing to write: no key is created */
        resp_add_int(c->out, (long long)olen);
        return;
    }
    if (!length_ok(c, (size_t)offset, arg->len)) return;
    size_t end = (size_t)offset + arg->len;
    size_t new_len = end > olen ? end : olen;
    char *p = kv_resize(c->kv, key->ptr, key->len, new_len, c->now_ms);
    memcpy(p + offset, arg->ptr, arg->len);
    cmd_notify(c, NOTIFY_STRING, "setrange", key);
    resp_add_int(c->out, (long long)new_len);
}

/* --- LCS --- */

struct lcs_opts {
    int idx, len, withmatchlen;
    long long minmatchlen;
};

/* Returns 0, or -1 after replying the error. */
static int lcs_parse(struct cmd_ctx *c, struct lcs_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int j = 3; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        if (cmd_arg_is(a, "idx")) {
            o->idx = 1;
        } else if (cmd_arg_is(a, "len")) {
            o->len = 1;
        } else if (cmd_arg_is(a, "withmatchlen")) {
            o->withmatchlen = 1;
        } else if (cmd_arg_is(a, "minmatchlen") && j + 1 < c->argc) {
            j++;
            if (!util_str2ll(c->argv[j].ptr, c->argv[j].len, &o->minmatchlen)) {
                resp_add_error(c->out, ERR_NOT_INT);
                return -1;
            }
            if (o->minmatchlen < 0) o->minmatchlen = 0;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    if (o->idx && o->len) {
        resp_add_error(c->out, "ERR If you want both the length and indexes, please just use IDX.");
        return -1;
    }
    return 0;
}

/* A run of matching bytes: a[a0..a1] == b[b0..b1]. open = 0 when none. */
struct lcs_range {
    uint32_t a0, a1, b0, b1;
    int open;
};

struct lcs_walk {
    const struct lcs_opts *o;
    struct resp_out *out;
    long emitted;
};

static void lcs_emit(struct lcs_walk *w, struct lcs_range *r)
{
    uint32_t match_len = r->a1 - r->a0 + 1;
    r->open = 0;
    if (!w->o->idx || (long long)match_len < w->o->minmatchlen) return;
    resp_add_array_len(w->out, 2 + w->o->withmatchlen);
    resp_add_array_len(w->out, 2);
    resp_add_int(w->out, r->a0);
    resp_add_int(w->out, r->a1);
    resp_add_array_len(w->out, 2);
    resp_add_int(w->out, r->b0);
    resp_add_int(w->out, r->b1);
    if (w->o->withmatchlen) resp_add_int(w->out, match_len);
    w->emitted++;
}

/*
 * Walks the DP table back from the end, as Redis does: on a match take the
 * byte (extending the current run backwards), otherwise step towards the
 * longer sub-LCS, preferring to drop a byte of b on ties. Runs are emitted
 * in the order they close (from the ends of the strings towards the start).
 * result, if not NULL, receives the LCS itself.
 */
static void lcs_backtrack(const uint32_t *dp, const char *a, uint32_t alen, const char *b,
                          uint32_t blen, char *result, struct lcs_walk *w)
{
#define DP(i, j) dp[(size_t)(i) * ((size_t)blen + 1) + (j)]
    uint32_t i = alen, j = blen, k = DP(alen, blen);
    struct lcs_range r = {0, 0, 0, 0, 0};
    while (i > 0 && j > 0) {
        if (a[i - 1] == b[j - 1]) {
            if (result) result[--k] = a[i - 1];
            if (r.open) { /* always contiguous: the previous step was (i+1, j+1) */
                ASSERT(r.a0 == i && r.b0 == j);
                r.a0--;
                r.b0--;
            } else {
                r = (struct lcs_range){i - 1, i - 1, j - 1, j - 1, 1};
            }
            i--;
            j--;
        } else {
            if (DP(i - 1, j) > DP(i, j - 1))
                i--;
            else
                j--;
            if (r.open) lcs_emit(w, &r);
        }
    }
    if (r.open) lcs_emit(w, &r);
#undef DP
}

static void lcs_reply(struct cmd_ctx *c, const struct lcs_opts *o, const char *a, uint32_t alen,
                      const char *b, uint32_t blen)
{
    size_t cells = ((size_t)alen + 1) * ((size_t)blen + 1);
    uint32_t *dp = NULL;
    if (cells > c->kv->common->max_value_len / sizeof *dp) {
        resp_add_error(c->out, "ERR Insufficient memory, transient memory for LCS exceeds "
                               "proto-max-bulk-len");
        return;
    }
    if (!(dp = malloc(cells * sizeof *dp))) {
        resp_add_error(c->out, "ERR Insufficient memory, failed allocating transient memory "
                               "for LCS");
        return;
    }
    size_t row = (size_t)blen + 1;
    for (size_t j = 0; j <= blen; j++)
        dp[j] = 0;
    for (size_t i = 1; i <= alen; i++) {
        uint32_t *cur = dp + i * row, *prev = cur - row;
        cur[0] = 0;
        for (size_t j = 1; j <= blen; j++) {
            if (a[i - 1] == b[j - 1])
                cur[j] = prev[j - 1] + 1;
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
    }
    uint32_t lcs_len = dp[cells - 1];
    struct lcs_walk w = {o, c->out, 0};
    if (o->idx) {
        resp_add_map_len(c->out, 2);
        resp_add_bulk_cstr(c->out, "matches");
        resp_deferred d = resp_add_deferred(c->out);
        lcs_backtrack(dp, a, alen, b, blen, NULL, &w);
        resp_set_deferred_array_len(c->out, d, w.emitted);
        resp_add_bulk_cstr(c->out, "len");
        resp_add_int(c->out, lcs_len);
    } else if (o->len) {
        resp_add_int(c->out, lcs_len);
    } else {
        char *result = util_xmalloc(lcs_len ? lcs_len : 1);
        lcs_backtrack(dp, a, alen, b, blen, result, &w);
        resp_add_bulk(c->out, result, lcs_len);
        free(result);
    }
    free(dp);
}

static void cmd_lcs(struct cmd_ctx *c)
{
    /* Redis looks both keys up before parsing options: the stats count. */
    const struct kv_val *va = kv_lookup_read(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    const struct kv_val *vb = kv_lookup_read(c->kv, c->argv[2].ptr, c->argv[2].len, c->now_ms);
    if ((va && va->type != KV_STRING) || (vb && vb->type != KV_STRING)) {
        resp_add_error(c->out, "ERR The specified keys must hold string values");
        return;
    }
    struct lcs_opts o;
    if (lcs_parse(c, &o) < 0) return;
    lcs_reply(c, &o, va ? va->data : "", va ? va->len : 0, vb ? vb->data : "", vb ? vb->len : 0);
}

/* The string commands' rows (src/cmd/cmd.h has the columns; arity, flags, keys and ACL
 * categories are Redis 7.0's). */
/* SET's key: read too with GET (its old value is the reply), else only
 * overwritten, as Redis's key flags for SET tell. */
const char *cmd_set_key_flags(int argc, const struct resp_arg *argv)
{
    for (int i = 3; i < argc; i++)
        if (cmd_arg_is(&argv[i], "get")) return "RW access update";
    return "OW update";
}

const struct command cmd_table_string[] = {
    {"get", 2, R | F, 1, 1, 1, cmd_get, "string", "1.0.0", "Returns the string value of a key.",
     "key", "read string fast", NULL, .key_flags = "RO access"},
    {"set", -3, W | OOM, 1, 1, 1, cmd_set, "string", "1.0.0",
     "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
     "key value [NX|XX]:condition [GET] [EX seconds|PX milliseconds|EXAT "
     "unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]:expiration",
     "write string slow", NULL, cmd_rewrite_set, .key_flags = "RW access update variable_flags",
     .key_flags_call = cmd_set_key_flags},
    {"setnx", 3, W | OOM | F, 1, 1, 1, cmd_setnx, "string", "1.0.0",
     "Set the string value of a key only when the key doesn't exist.", "key value",
     "write string fast", NULL, .key_flags = "OW insert"},
    {"setex", 4, W | OOM, 1, 1, 1, cmd_setex, "string", "2.0.0",
     "Sets the string value and expiration time of a key.", "key seconds value",
     "write string slow", NULL, cmd_rewrite_setex, .key_flags = "OW update"},
    {"psetex", 4, W | OOM, 1, 1, 1, cmd_psetex, "string", "2.6.0",
     "Sets both string value and expiration time in milliseconds of a key.",
     "key milliseconds value", "write string slow", NULL, cmd_rewrite_psetex,
     .key_flags = "OW update"},
    {"getset", 3, W | OOM | F, 1, 1, 1, cmd_getset, "string", "1.0.0",
     "Returns the previous string value of a key after setting it to a new value.", "key value",
     "write string fast", NULL, .key_flags = "RW access update"},
    {"getdel", 2, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_getdel, "string", "6.2.0",
     "Returns the string value of a key after deleting the key.", "key", "write string fast", NULL,
     .key_flags = "RW access delete"},
    {"getex", -2, W | F, 1, 1, 1, cmd_getex, "string", "6.2.0",
     "Returns the string value of a key after setting its expiration time.",
     "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT "
     "unix-time-milliseconds|PERSIST]:expiration",
     "write string fast", NULL, cmd_rewrite_getex, .key_flags = "RW access update"},
    {"mget", -2, R | F, 1, -1, 1, cmd_mget, "string", "1.0.0",
     "Atomically returns the string values of one or more keys.", "key [key ...]",
     "read string fast", NULL, .key_flags = "RO access"},
    {"mset", -3, W | OOM, 1, -1, 2, cmd_mset, "string", "1.0.1",
     "Atomically creates or modifies the string values of one or more keys.",
     "key value [key value ...]", "write string slow", NULL, .key_flags = "OW update"},
    {"msetnx", -3, W | OOM, 1, -1, 2, cmd_msetnx, "string", "1.0.1",
     "Atomically modifies the string values of one or more keys only when all keys don't exist.",
     "key value [key value ...]", "write string slow", NULL, .key_flags = "OW insert"},
    {"incr", 2, W | OOM | F, 1, 1, 1, cmd_incr, "string", "1.0.0",
     "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't "
     "exist.",
     "key", "write string fast", NULL, .key_flags = "RW access update"},
    {"decr", 2, W | OOM | F, 1, 1, 1, cmd_decr, "string", "1.0.0",
     "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't "
     "exist.",
     "key", "write string fast", NULL, .key_flags = "RW access update"},
    {"incrby", 3, W | OOM | F, 1, 1, 1, cmd_incrby, "string", "1.0.0",
     "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key increment", "write string fast", NULL, .key_flags = "RW access update"},
    {"decrby", 3, W | OOM | F, 1, 1, 1, cmd_decrby, "string", "1.0.0",
     "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key decrement", "write string fast", NULL, .key_flags = "RW access update"},
    {"incrbyfloat", 3, W | OOM | F, 1, 1, 1, cmd_incrbyfloat, "string", "2.6.0",
     "Increment the floating point value of a key by a number. Uses 0 as initial value if the key "
     "doesn't exist.",
     "key increment:double", "write string fast", NULL, .key_flags = "RW access update"},
    {"append", 3, W | OOM | F, 1, 1, 1, cmd_append, "string", "2.0.0",
     "Appends a string to the value of a key. Creates the key if it doesn't exist.", "key value",
     "write string fast", NULL, .key_flags = "RW insert"},
    {"strlen", 2, R | F, 1, 1, 1, cmd_strlen, "string", "2.2.0",
     "Returns the length of a string value.", "key", "read string fast", NULL, .key_flags = "RO"},
    {"getrange", 4, R, 1, 1, 1, cmd_getrange, "string", "2.4.0",
     "Returns a substring of the string stored at a key.", "key start end", "read string slow",
     NULL, .key_flags = "RO access"},
    {"substr", 4, R, 1, 1, 1, cmd_getrange, "string", "1.0.0",
     "Returns a substring from a string value.", "key start end", "read string slow", NULL,
     .key_flags = "RO access"},
    {"setrange", 4, W | OOM, 1, 1, 1, cmd_setrange, "string", "2.2.0",
     "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't "
     "exist.",
     "key offset value", "write string slow", NULL, .key_flags = "RW update"},
    {"lcs", -3, R, 1, 2, 1, cmd_lcs, "string", "7.0.0", "Finds the longest common substring.",
     "key1 key2 [LEN] [IDX] [MINMATCHLEN len:integer] [WITHMATCHLEN]", "read string slow", NULL,
     .key_flags = "RO access"},
    CMD_ROWS_END,
};
