/*
 * src/types/t_stream_read.c - XREAD and XREADGROUP (Redis 7.0 replies), blocking
 * on the leader with BLOCK (src/server/blocked.h). XREADGROUP changes its group
 * (what was delivered, to whom): a write, through the log.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_stream.h"
#include "types/t_stream_int.h"
#include "base/util.h"

/* --- arguments --- */

/* What an XREAD or XREADGROUP call asks. */
struct read_args {
    long long count, ms;
    int block, noack;
    int first, n; /* STREAMS' first key and the number of keys */
    const struct resp_arg *group, *consumer;
};

static int is_arg(const struct resp_arg *a, char ch)
{
    return a->len == 1 && a->ptr[0] == ch;
}

/* The index of STREAMS' first key and the number of keys, or 0 keys when
 * the arguments are malformed. */
static int streams_at(int argc, const struct resp_arg *argv, int *first)
{
    for (int i = 1; i < argc; i++) {
        if (cmd_arg_is(&argv[i], "block") || cmd_arg_is(&argv[i], "count")) {
            i++;
        } else if (cmd_arg_is(&argv[i], "group")) {
            i += 2;
        } else if (cmd_arg_is(&argv[i], "streams")) {
            int rest = argc - i - 1;
            *first = i + 1;
            return rest > 0 && rest % 2 == 0 ? rest / 2 : 0;
        } else if (!cmd_arg_is(&argv[i], "noack")) {
            return 0;
        }
    }
    return 0;
}

int t_stream_xread_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    int first = 0, n = streams_at(argc, argv, &first);
    if (n > max) return 0;
    for (int k = 0; k < n; k++)
        idx[k] = first + k;
    return n;
}

uint32_t t_stream_xread_call_flags(struct server *srv, int argc, const struct resp_arg *argv,
                                   uint32_t flags)
{
    (void)srv;
    int first = 0, n = streams_at(argc, argv, &first);
    int block = 0;
    for (int i = 1; i < (first ? first - 1 : argc); i++)
        block |= cmd_arg_is(&argv[i], "block");
    /* XREADGROUP reading a consumer's history (an ID other than >) answers
     * at once, BLOCK or not: that key is always served. */
    for (int k = 0; block && cmd_arg_is(&argv[0], "xreadgroup") && k < n; k++)
        block = is_arg(&argv[first + n + k], '>');
    return block ? flags : flags & ~(uint32_t)CMD_BLOCKING; /* a plain read, or write */
}

/* Parses the options as Redis 7.0 does (its errors, in its order); 0, or
 * -1 after replying. */
static int parse_read(struct cmd_ctx *c, int xreadgroup, struct read_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < c->argc; i++) {
        const struct resp_arg *o = &c->argv[i];
        int more = c->argc - 1 - i;
        if (cmd_arg_is(o, "block") && more) {
            if (c->in_script) {
                resp_add_errorf(c->out,
                                "ERR %.*s command is not allowed with BLOCK option from scripts",
                                (int)c->argv[0].len, c->argv[0].ptr);
                return -1;
            }
            i++;
            if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &a->ms)) {
                resp_add_error(c->out, "ERR timeout is not an integer or out of range");
                return -1;
            }
            if (a->ms < 0) {
                resp_add_error(c->out, "ERR timeout is negative");
                return -1;
            }
            a->block = 1;
        } else if (cmd_arg_is(o, "count") && more) {
            if (cmd_arg_ll(c, ++i, &a->count) < 0) return -1;
            if (a->count < 0) a->count = 0;
        } else if (cmd_arg_is(o, "streams") && more) {
            a->first = i + 1;
            a->n = c->argc - a->first;
            if (a->n % 2) {
                resp_add_error(c->out, "ERR Unbalanced XREAD list of streams: for each stream key "
                                       "an ID or '$' must be specified.");
                return -1;
            }
            a->n /= 2;
            break;
        } else if (cmd_arg_is(o, "group") && more >= 2) {
            if (!xreadgroup) {
                resp_add_error(c->out, "ERR The GROUP option is only supported by XREADGROUP. "
                                       "You called XREAD instead.");
                return -1;
            }
            a->group = &c->argv[i + 1];
            a->consumer = &c->argv[i + 2];
            i += 2;
        } else if (cmd_arg_is(o, "noack")) {
            if (!xreadgroup) {
                resp_add_error(c->out, "ERR The NOACK option is only supported by XREADGROUP. "
                                       "You called XREAD instead.");
                return -1;
            }
            a->noack = 1;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    if (a->first == 0) {
        resp_add_error(c->out, ERR_SYNTAX);
        return -1;
    }
    if (xreadgroup && !a->group) {
        resp_add_error(c->out, "ERR Missing GROUP option for XREADGROUP");
        return -1;
    }
    return 0;
}

/* --- blocking --- */

/* The last live entry's ID of s, if it has one. */
static int last_live(const struct stream *s, struct stream_id *id)
{
    struct stream_iter it;
    size_t nf;
    if (!s || t_stream_len(s) == 0) return 0;
    t_stream_iter_start(&it, s, STREAM_ID_MIN, STREAM_ID_MAX, 1);
    return t_stream_iter_next(&it, id, &nf);
}

static int has_after(const struct stream *s, struct stream_id after)
{
    struct stream_id last;
    return last_live(s, &last) && stream_id_cmp(last, after) > 0;
}

/* cmd_block_after for XREAD: a stream is ready when it holds an entry
 * after the ID; $ waits for what comes after the last ID when it blocked.
 * A key deleted or of another type keeps the client waiting, as Redis. */
static int xread_ready(const struct kv_val *v, const struct resp_arg *argv, int id)
{
    struct stream_id after;
    if (!v || v->type != KV_STREAM || is_arg(&argv[id], '$')) return 0;
    if (stream_arg_id(NULL, &argv[id], &after, 0, 1, NULL) < 0) return 0;
    return has_after(kv_val_obj(v), after);
}

static struct resp_arg xread_resolve(const struct kv_val *v, const struct resp_arg *argv, int id,
                                     char buf[CMD_BLOCK_ID_MAX])
{
    if (!is_arg(&argv[id], '$')) return argv[id];
    struct stream_meta m = {{0, 0}, {0, 0}, {0, 0}, 0};
    if (v) t_stream_meta(kv_val_obj(v), &m);
    return (struct resp_arg){buf, stream_id_text(m.last_id, buf)};
}

static const struct cmd_block_after xread_after = {xread_ready, xread_resolve};

/* cmd_block_after for XREADGROUP ... >: ready when the stream holds an
 * entry the group has not delivered, and also when the key or the group is
 * gone (the call answers an error then, as Redis wakes such clients). The
 * group is argv[2] (XREADGROUP GROUP group consumer ...). */
static int xreadgroup_ready(const struct kv_val *v, const struct resp_arg *argv, int id)
{
    (void)id;
    if (!v || v->type != KV_STREAM) return 1;
    const struct stream *s = kv_val_obj(v);
    const struct stream_group *g = t_stream_group(s, argv[2].ptr, argv[2].len);
    return !g || has_after(s, g->last_id);
}

static struct resp_arg xreadgroup_resolve(const struct kv_val *v, const struct resp_arg *argv,
                                          int id, char buf[CMD_BLOCK_ID_MAX])
{
    (void)v;
    (void)buf;
    return argv[id]; /* ">" means the group's last ID whenever it is read */
}

static const struct cmd_block_after xreadgroup_after = {xreadgroup_ready, xreadgroup_resolve};

/* --- serving --- */

/* Delivers the entries of s after start (at most count, 0: all) to the
 * consumer of group g as XREADGROUP ... > does: the group moves past them,
 * and unless noack each becomes pending for the consumer (moved to it from
 * another consumer when XGROUP SETID let it be delivered again). */
static void reply_new(struct cmd_ctx *c, struct stream *s, struct stream_group *g,
                      struct stream_consumer *who, size_t count, int noack)
{
    struct stream_id start = g->last_id, id;
    resp_deferred d = resp_add_deferred(c->out);
    size_t nf, n = 0;
    if (stream_id_incr(&start)) {
        struct stream_iter it;
        t_stream_iter_start(&it, s, start, STREAM_ID_MAX, 0);
        while ((count == 0 || n < count) && t_stream_iter_next(&it, &id, &nf)) {
            t_stream_group_advance(s, g, id);
            stream_reply_entry(c->out, &it, id, nf);
            n++;
            if (noack) continue;
            struct stream_nack *nack = t_stream_pel_claim(g, id, who);
            nack->delivery_time = c->now_ms;
            nack->delivery_count = 1;
        }
    }
    resp_set_deferred_array_len(c->out, d, (long)n);
}

/* XREADGROUP with an ID: the consumer's own pending entries from start,
 * each delivered once more; an entry deleted since comes as [id, nil]. */
static void reply_history(struct cmd_ctx *c, struct stream *s, struct stream_consumer *who,
                          struct stream_id start, size_t count)
{
    resp_deferred d = resp_add_deferred(c->out);
    struct stream_pel_pos p;
    struct stream_nack *nack;
    struct stream_id id;
    size_t n = 0;
    t_stream_pel_seek(&who->pel, start, &p);
    while ((count == 0 || n < count) && (nack = t_stream_pel_next(&p, &id))) {
        struct stream_iter it;
        struct stream_id found;
        size_t nf;
        t_stream_iter_start(&it, s, id, id, 0);
        if (t_stream_iter_next(&it, &found, &nf)) {
            stream_reply_entry(c->out, &it, found, nf);
            nack->delivery_time = c->now_ms;
            nack->delivery_count++;
        } else {
            resp_add_array_len(c->out, 2);
            stream_reply_id(c->out, id);
            resp_add_null_array(c->out);
        }
        n++;
    }
    resp_set_deferred_array_len(c->out, d, (long)n);
}

/* One key of the reply: [key, entries] (RESP3: a map's key and value). */
static void reply_key(struct cmd_ctx *c, const struct resp_arg *key, long *served, resp_deferred *d)
{
    if ((*served)++ == 0) *d = resp_add_deferred(c->out);
    if (c->out->proto == 2) resp_add_array_len(c->out, 2);
    resp_add_bulk(c->out, key->ptr, key->len);
}

/* What read_generic knows of each of the n keys before it replies. */
struct read_plan {
    int xreadgroup;
    struct read_args a;
    struct stream_id *after;      /* XREAD: read after it; XREADGROUP: history from it */
    struct stream_group **groups; /* XREADGROUP: each key's group */
    int *history;                 /* XREADGROUP with an ID: the consumer's history */
};

/* Checks and parses the IDs, all before any key is looked at (Redis's
 * order of errors). 0, or -1 with the error added. */
static int plan_ids(struct cmd_ctx *c, struct read_plan *p)
{
    int first = p->a.first, n = p->a.n;
    for (int k = 0; k < n; k++) {
        const struct resp_arg *id = &c->argv[first + n + k];
        if (is_arg(id, '$')) {
            if (p->xreadgroup) {
                resp_add_error(c->out,
                               "ERR The $ ID is meaningless in the context of XREADGROUP: you "
                               "want to read the history of this consumer by specifying a proper "
                               "ID, or use the > ID to get new messages. The $ ID would just "
                               "return an empty result set.");
                return -1;
            }
        } else if (is_arg(id, '>')) {
            if (!p->xreadgroup) {
                resp_add_error(c->out, "ERR The > ID can be specified only when calling "
                                       "XREADGROUP using the GROUP <group> <consumer> option.");
                return -1;
            }
        } else if (stream_arg_id(c, id, &p->after[k], 0, 1, NULL) < 0) {
            return -1;
        } else {
            p->history[k] = p->xreadgroup;
        }
    }
    return 0;
}

/* Looks the keys up: each XREADGROUP key's group (which must exist), and
 * what $ stands for with XREAD. 0, or -1 with the error added. */
static int plan_keys(struct cmd_ctx *c, struct read_plan *p)
{
    int first = p->a.first, n = p->a.n;
    for (int k = 0; k < n; k++) {
        const struct resp_arg *key = &c->argv[first + k];
        int wrong;
        struct stream *s = stream_lookup_served(c, key, &wrong);
        if (wrong) return -1;
        if (!p->xreadgroup) {
            if (is_arg(&c->argv[first + n + k], '$')) {
                struct stream_meta m = {{0, 0}, {0, 0}, {0, 0}, 0};
                if (s) t_stream_meta(s, &m);
                p->after[k] = m.last_id;
            }
            continue;
        }
        p->groups[k] = s ? t_stream_group(s, p->a.group->ptr, p->a.group->len) : NULL;
        if (!p->groups[k] && c->serving) { /* woken because it went away */
            resp_add_error(c->out, s ? "NOGROUP the consumer group this client was blocked "
                                       "on no longer exists"
                                     : "UNBLOCKED the stream key no longer exists");
            return -1;
        }
        if (!p->groups[k]) {
            resp_add_errorf(c->out,
                            "NOGROUP No such key '%.*s' or consumer group '%.*s' in "
                            "XREADGROUP with GROUP option",
                            (int)key->len, key->ptr, (int)p->a.group->len, p->a.group->ptr);
            return -1;
        }
    }
    return 0;
}

/* Adds the entries of every key with something to read, in order; returns
 * how many keys answered (*d: the reply's deferred length, when any). */
static long reply_keys(struct cmd_ctx *c, const struct read_plan *p, resp_deferred *d)
{
    long served = 0;
    for (int k = 0; k < p->a.n; k++) {
        const struct resp_arg *key = &c->argv[p->a.first + k];
        int wrong;
        struct stream *s = stream_lookup_served(c, key, &wrong);
        if (!s) continue;
        if (!p->xreadgroup) {
            struct stream_id start = p->after[k];
            if (!stream_id_incr(&start) || !has_after(s, p->after[k])) continue;
            reply_key(c, key, &served, d);
            stream_reply_range(c->out, s, start, STREAM_ID_MAX, (size_t)p->a.count, 0);
            continue;
        }
        struct stream_group *g = p->groups[k];
        if (!p->history[k] && !has_after(s, g->last_id)) continue;
        struct stream_consumer *who = stream_consumer_seen(c, key, g, p->a.consumer);
        reply_key(c, key, &served, d);
        if (p->history[k]) {
            struct stream_id start = p->after[k];
            if (stream_id_incr(&start))
                reply_history(c, s, who, start, (size_t)p->a.count);
            else
                resp_add_array_len(c->out, 0);
        } else {
            reply_new(c, s, g, who, (size_t)p->a.count, p->a.noack);
        }
    }
    return served;
}

/* XREAD and XREADGROUP, as Redis 7.0's xreadCommand: each key with
 * something to read answers, in order; nothing to read blocks (BLOCK, when
 * the client may) or answers the null array. */
static void read_generic(struct cmd_ctx *c, int xreadgroup)
{
    struct read_plan p = {.xreadgroup = xreadgroup};
    if (parse_read(c, xreadgroup, &p.a) < 0) return;
    int first = p.a.first, n = p.a.n;
    p.after = util_xmalloc((size_t)n * sizeof *p.after);
    p.groups = util_xcalloc((size_t)n, sizeof *p.groups);
    p.history = util_xcalloc((size_t)n, sizeof *p.history);
    struct cmd_block blk = {
        first, n, KV_STREAM, 1, p.a.ms, xreadgroup ? &xreadgroup_after : &xread_after, first + n};
    if (plan_ids(c, &p) < 0 || (p.a.block && cmd_block_probe(c, &blk)) || plan_keys(c, &p) < 0)
        goto done;
    resp_deferred d = 0;
    long served = reply_keys(c, &p, &d);
    if (served) {
        if (c->out->proto == 2)
            resp_set_deferred_array_len(c->out, d, served);
        else
            resp_set_deferred_map_len(c->out, d, served);
    } else if (p.a.block) {
        cmd_block_on(c, &blk); /* inside MULTI: the null array */
    } else {
        resp_add_null_array(c->out);
    }
done:
    free(p.history);
    free(p.groups);
    free(p.after);
}

void cmd_xread(struct cmd_ctx *c)
{
    read_generic(c, 0);
}

void cmd_xreadgroup(struct cmd_ctx *c)
{
    read_generic(c, 1);
}
