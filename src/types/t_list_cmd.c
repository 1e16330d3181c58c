/*
 * src/types/t_list_cmd.c - the list commands that read or change a list by index
 * or by value (see t_list.h): LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM
 * LPOS, with Redis 7.0's argument order, replies and errors (arguments are
 * checked in the order Redis checks them, some before the key's type and
 * some after).
 */
#include <stdint.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "ds/quicklist.h"
#include "types/t_list.h"
#include "types/t_list_int.h"
#include "raft/raft_assert.h"
#include "base/util.h"

void cmd_llen(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_list_lookup_read(c, &c->argv[1], &wrong);
    if (!wrong) resp_add_int(c->out, v ? (long long)t_list_len(kv_val_obj(v)) : 0);
}

/* Redis's negative indexes: -1 is the last element. The result may still
 * be out of [0, len). */
static long long from_end(long long index, size_t len)
{
    return index < 0 ? index + (long long)len : index;
}

void cmd_lrange(struct cmd_ctx *c)
{
    long long start, end;
    if (cmd_arg_ll(c, 2, &start) < 0 || cmd_arg_ll(c, 3, &end) < 0) return;
    int wrong;
    struct kv_val *v = t_list_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    const struct quicklist *ql = v ? kv_val_obj(v) : NULL;
    long long len = ql ? (long long)ql->count : 0;
    start = from_end(start, (size_t)len);
    end = from_end(end, (size_t)len);
    if (start < 0) start = 0;
    if (start > end || start >= len) {
        resp_add_array_len(c->out, 0);
        return;
    }
    if (end >= len) end = len - 1;
    ASSERT(ql && 0 <= start && start <= end && end < len);
    resp_add_array_len(c->out, (long)(end - start + 1));
    t_list_reply_range(c->out, ql, (size_t)start, (size_t)(end - start + 1), 0);
}

void cmd_lindex(struct cmd_ctx *c)
{
    int wrong;
    struct kv_val *v = t_list_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    long long index;
    if (cmd_arg_ll(c, 2, &index) < 0) return;
    const struct quicklist *ql = kv_val_obj(v);
    index = from_end(index, ql->count);
    if (index < 0 || index >= (long long)ql->count) {
        resp_add_null(c->out);
        return;
    }
    t_list_reply_range(c->out, ql, (size_t)index, 1, 0);
}

void cmd_lset(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_list_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!v) {
        resp_add_error(c->out, ERR_NO_KEY);
        return;
    }
    long long index;
    if (cmd_arg_ll(c, 2, &index) < 0 || t_list_too_long(c, 3)) return;
    struct quicklist *ql = kv_val_obj(v);
    index = from_end(index, ql->count);
    if (index < 0 || !ql_replace(ql, (size_t)index, c->argv[3].ptr, c->argv[3].len)) {
        resp_add_error(c->out, "ERR index out of range");
        return;
    }
    kv_modified(c->kv, key->ptr, key->len);
    cmd_notify(c, NOTIFY_LIST, "lset", key);
    resp_add_simple(c->out, "OK");
}

void cmd_linsert(struct cmd_ctx *c)
{
    int after;
    if (cmd_arg_is(&c->argv[2], "after")) {
        after = 1;
    } else if (cmd_arg_is(&c->argv[2], "before")) {
        after = 0;
    } else {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_list_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!v) {
        resp_add_int(c->out, 0);
        return;
    }
    if (t_list_too_long(c, 4)) return;
    struct quicklist *ql = kv_val_obj(v);
    const struct resp_arg *pivot = &c->argv[3], *e = &c->argv[4];
    size_t before = ql->count;
    if (!ql_insert(ql, pivot->ptr, pivot->len, after, e->ptr, e->len)) {
        ASSERT(ql->count == before);
        resp_add_int(c->out, -1);
        return;
    }
    ASSERT(ql->count == before + 1);
    kv_modified(c->kv, key->ptr, key->len);
    cmd_notify(c, NOTIFY_LIST, "linsert", key);
    resp_add_int(c->out, (long long)ql->count);
}

void cmd_lrem(struct cmd_ctx *c)
{
    long long count;
    if (cmd_arg_ll(c, 2, &count) < 0) return;
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_list_lookup_write(c, key, &wrong);
    if (wrong) return;
    size_t removed = 0;
    if (v) {
        struct quicklist *ql = kv_val_obj(v);
        size_t before = ql->count;
        removed = ql_remove(ql, c->argv[3].ptr, c->argv[3].len, count);
        ASSERT(removed <= before && ql->count == before - removed);
        if (removed) t_list_changed(c, key, ql, "lrem");
    }
    resp_add_int(c->out, (long long)removed);
}

/* LTRIM signals the key even when nothing was trimmed, as Redis. */
void cmd_ltrim(struct cmd_ctx *c)
{
    long long start, end;
    if (cmd_arg_ll(c, 2, &start) < 0 || cmd_arg_ll(c, 3, &end) < 0) return;
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct kv_val *v = t_list_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (v) {
        struct quicklist *ql = kv_val_obj(v);
        long long len = (long long)ql->count, ltrim, rtrim;
        start = from_end(start, ql->count);
        end = from_end(end, ql->count);
        if (start < 0) start = 0;
        if (start > end || start >= len) {
            ltrim = len; /* nothing is kept */
            rtrim = 0;
        } else {
            if (end >= len) end = len - 1;
            ltrim = start;
            rtrim = len - end - 1;
        }
        ASSERT(ltrim >= 0 && rtrim >= 0 && ltrim + rtrim <= len);
        ql_delete_range(ql, 0, (size_t)ltrim);
        ql_delete_range(ql, ql->count - (size_t)rtrim, (size_t)rtrim);
        ASSERT(ql->count == (size_t)(len - ltrim - rtrim));
        t_list_changed(c, key, ql, "ltrim");
    }
    resp_add_simple(c->out, "OK");
}

/* --- LPOS --- */

struct lpos_opts {
    long long rank, count, maxlen; /* count -1: not given */
};

/* RANK, COUNT, MAXLEN from argv[3]. Returns 0, or -1 after replying. */
static int lpos_parse(struct cmd_ctx *c, struct lpos_opts *o)
{
    *o = (struct lpos_opts){1, -1, 0};
    for (int j = 3; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        int more = j + 1 < c->argc;
        long long *dst = NULL;
        const char *neg = NULL;
        if (cmd_arg_is(a, "rank") && more) {
            if (cmd_arg_ll(c, ++j, &o->rank) < 0) return -1;
            if (o->rank == 0) {
                resp_add_error(c->out, "ERR RANK can't be zero: use 1 to start from the first "
                                       "match, 2 from the second ... or use negative to start "
                                       "from the end of the list");
                return -1;
            }
            continue;
        }
        if (cmd_arg_is(a, "count") && more) {
            dst = &o->count;
            neg = "ERR COUNT can't be negative";
        } else if (cmd_arg_is(a, "maxlen") && more) {
            dst = &o->maxlen;
            neg = "ERR MAXLEN can't be negative";
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
        j++;
        if (!util_str2ll(c->argv[j].ptr, c->argv[j].len, dst) || *dst < 0) {
            resp_add_error(c->out, neg);
            return -1;
        }
    }
    return 0;
}

/* Walks from the head (rank > 0) or the tail (rank < 0) for at most maxlen
 * elements, replying the indexes of the matches from the |rank|-th on: the
 * first one, or (COUNT) up to count of them (0: all). Redis 7.0 negates
 * the rank in a C long: RANK -2^63 stays negative and matches at once; the
 * arithmetic below wraps the same way. */
static void lpos_walk(struct cmd_ctx *c, const struct quicklist *ql, const struct resp_arg *e,
                      const struct lpos_opts *o)
{
    int reverse = o->rank < 0;
    long long rank = reverse ? (long long)(0 - (uint64_t)o->rank) : o->rank;
    resp_deferred d = 0;
    if (o->count != -1) d = resp_add_deferred(c->out);
    struct ql_iter it;
    const char *p;
    size_t len;
    long long index = 0, matches = 0, found = -1, replied = 0;
    ql_iter_init(&it, ql, reverse ? ql->count - 1 : 0, reverse);
    while ((o->maxlen == 0 || index < o->maxlen) && ql_iter_next(&it, &p, &len)) {
        if (len == e->len && memcmp(p, e->ptr, len) == 0) {
            matches++;
            long long at = reverse ? (long long)ql->count - index - 1 : index;
            if (matches >= rank) {
                if (o->count == -1) {
                    found = at;
                    break;
                }
                replied++;
                resp_add_int(c->out, at);
                long long past = (long long)((uint64_t)matches - (uint64_t)rank + 1);
                if (o->count && past >= o->count) break;
            }
        }
        index++;
    }
    ql_iter_done(&it);
    if (o->count != -1)
        resp_set_deferred_array_len(c->out, d, (long)replied);
    else if (found >= 0)
        resp_add_int(c->out, found);
    else
        resp_add_null(c->out);
}

void cmd_lpos(struct cmd_ctx *c)
{
    struct lpos_opts o;
    if (lpos_parse(c, &o) < 0) return;
    int wrong;
    struct kv_val *v = t_list_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!v) {
        if (o.count != -1)
            resp_add_array_len(c->out, 0);
        else
            resp_add_null(c->out);
        return;
    }
    lpos_walk(c, kv_val_obj(v), &c->argv[2], &o);
}
