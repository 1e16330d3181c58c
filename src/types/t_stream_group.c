/*
 * src/types/t_stream_group.c - the consumer group commands (Redis 7.0 replies and
 * errors): XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP,
 * XACK, XPENDING, XCLAIM, XAUTOCLAIM. Every one but XPENDING changes a
 * group, so goes through the log; "now" (delivery and seen times) is the
 * entry's time, the same on every replica.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_stream.h"
#include "types/t_stream_int.h"
#include "base/util.h"

struct stream_consumer *stream_consumer_seen(struct cmd_ctx *c, const struct resp_arg *key,
                                             struct stream_group *g, const struct resp_arg *name)
{
    struct stream_consumer *who = t_stream_consumer(g, name->ptr, name->len);
    if (who) {
        who->seen_time = c->now_ms;
        return who;
    }
    who = t_stream_consumer_create(g, name->ptr, name->len, c->now_ms);
    cmd_notify(c, NOTIFY_STREAM, "xgroup-createconsumer", key);
    return who;
}

static void reply_nogroup(struct cmd_ctx *c, const struct resp_arg *key,
                          const struct resp_arg *group)
{
    resp_add_errorf(c->out, "NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)key->len,
                    key->ptr, (int)group->len, group->ptr);
}

/* The group of the stream at argv[1] named argv[2] (XACK, XCLAIM, ...), or
 * NULL: *s NULL too when the key is absent; *wrong after WRONGTYPE. */
static struct stream_group *group_at(struct cmd_ctx *c, struct stream **s, int *wrong)
{
    *s = stream_lookup_write(c, &c->argv[1], wrong);
    return *s ? t_stream_group(*s, c->argv[2].ptr, c->argv[2].len) : NULL;
}

/* Strict IDs argv[from .. to), parsed before anything changes (the reply
 * is all or nothing); NULL after replying the error. */
static struct stream_id *parse_ids(struct cmd_ctx *c, int from, int to)
{
    struct stream_id *ids = util_xmalloc((size_t)(to > from ? to - from : 1) * sizeof *ids);
    for (int j = from; j < to; j++) {
        if (stream_arg_id(c, &c->argv[j], &ids[j - from], 0, 1, NULL) < 0) {
            free(ids);
            return NULL;
        }
    }
    return ids;
}

/* --- XGROUP --- */

static void subcommand_error(struct cmd_ctx *c)
{
    resp_add_errorf(c->out,
                    "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try XGROUP "
                    "HELP.",
                    (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr);
}

struct xgroup_args {
    struct stream *s;
    struct stream_group *g;
    int mkstream;
    long long entries_read;
};

/* What every XGROUP subcommand but HELP checks first, in Redis's order: its
 * options (MKSTREAM for CREATE, ENTRIESREAD for CREATE and SETID), the key
 * (it must exist, but for CREATE ... MKSTREAM), and the group (SETID,
 * CREATECONSUMER and DELCONSUMER need it). 0, or -1 after replying. */
static int xgroup_prepare(struct cmd_ctx *c, int create, int setid, int needs_group,
                          struct xgroup_args *a)
{
    memset(a, 0, sizeof *a);
    a->entries_read = STREAM_ENTRIES_READ_INVALID;
    for (int i = 5; i < c->argc;) {
        if (create && cmd_arg_is(&c->argv[i], "mkstream")) {
            a->mkstream = 1;
            i++;
        } else if ((create || setid) && cmd_arg_is(&c->argv[i], "entriesread") && i + 1 < c->argc) {
            if (cmd_arg_ll(c, i + 1, &a->entries_read) < 0) return -1;
            if (a->entries_read < 0 && a->entries_read != STREAM_ENTRIES_READ_INVALID) {
                resp_add_error(c->out, "ERR value for ENTRIESREAD must be positive or -1");
                return -1;
            }
            i += 2;
        } else {
            subcommand_error(c);
            return -1;
        }
    }
    int wrong;
    a->s = stream_lookup_write(c, &c->argv[2], &wrong);
    if (wrong) return -1;
    if (a->mkstream) return 0;
    if (!a->s) {
        resp_add_error(c->out, "ERR The XGROUP subcommand requires the key to exist. Note that "
                               "for CREATE you may want to use the MKSTREAM option to create an "
                               "empty stream automatically.");
        return -1;
    }
    a->g = t_stream_group(a->s, c->argv[3].ptr, c->argv[3].len);
    if (!a->g && needs_group) {
        resp_add_errorf(c->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                        (int)c->argv[3].len, c->argv[3].ptr, (int)c->argv[2].len, c->argv[2].ptr);
        return -1;
    }
    return 0;
}

/* $ (the stream's last ID) or a strict ID; -1 after replying. */
static int group_id(struct cmd_ctx *c, const struct stream *s, struct stream_id *id, int strict)
{
    const struct resp_arg *a = &c->argv[4];
    if (a->len == 1 && a->ptr[0] == '$') {
        struct stream_meta m = {{0, 0}, {0, 0}, {0, 0}, 0};
        if (s) t_stream_meta(s, &m);
        *id = m.last_id;
        return 0;
    }
    return stream_arg_id(c, a, id, 0, strict, NULL);
}

void cmd_xgroup_create(struct cmd_ctx *c)
{
    struct xgroup_args a;
    struct stream_id id;
    if (c->argc > 8) {
        subcommand_error(c);
        return;
    }
    if (xgroup_prepare(c, 1, 0, 0, &a) < 0 || group_id(c, a.s, &id, 1) < 0) return;
    const struct resp_arg *key = &c->argv[2];
    if (!a.s) {
        a.s = t_stream_new();
        kv_set_obj(c->kv, key->ptr, key->len, KV_STREAM, a.s, KV_NO_EXPIRE, c->now_ms);
    }
    if (!t_stream_group_create(a.s, c->argv[3].ptr, c->argv[3].len, id, a.entries_read)) {
        resp_add_error(c->out, "BUSYGROUP Consumer Group name already exists");
        return;
    }
    resp_add_simple(c->out, "OK");
    cmd_notify(c, NOTIFY_STREAM, "xgroup-create", key);
}

void cmd_xgroup_setid(struct cmd_ctx *c)
{
    struct xgroup_args a;
    struct stream_id id;
    if (c->argc != 5 && c->argc != 7) {
        subcommand_error(c);
        return;
    }
    if (xgroup_prepare(c, 0, 1, 1, &a) < 0 || group_id(c, a.s, &id, 0) < 0) return;
    a.g->last_id = id;
    a.g->entries_read = a.entries_read;
    resp_add_simple(c->out, "OK");
    cmd_notify(c, NOTIFY_STREAM, "xgroup-setid", &c->argv[2]);
}

void cmd_xgroup_destroy(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (xgroup_prepare(c, 0, 0, 0, &a) < 0) return;
    if (!a.g) {
        resp_add_int(c->out, 0);
        return;
    }
    t_stream_group_destroy(a.s, c->argv[3].ptr, c->argv[3].len);
    resp_add_int(c->out, 1);
    cmd_notify(c, NOTIFY_STREAM, "xgroup-destroy", &c->argv[2]);
    /* its blocked XREADGROUP clients answer -NOGROUP */
    kv_signal_ready(c->kv, c->argv[2].ptr, c->argv[2].len);
}

void cmd_xgroup_createconsumer(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (xgroup_prepare(c, 0, 0, 1, &a) < 0) return;
    const struct resp_arg *name = &c->argv[4];
    int created = t_stream_consumer_create(a.g, name->ptr, name->len, c->now_ms) != NULL;
    if (created) cmd_notify(c, NOTIFY_STREAM, "xgroup-createconsumer", &c->argv[2]);
    resp_add_int(c->out, created);
}

void cmd_xgroup_delconsumer(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (xgroup_prepare(c, 0, 0, 1, &a) < 0) return;
    struct stream_consumer *who = t_stream_consumer(a.g, c->argv[4].ptr, c->argv[4].len);
    size_t pending = 0;
    if (who) {
        pending = t_stream_consumer_delete(a.g, who);
        cmd_notify(c, NOTIFY_STREAM, "xgroup-delconsumer", &c->argv[2]);
    }
    resp_add_int(c->out, (long long)pending);
}

void cmd_xgroup_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

/* --- XACK --- */

void cmd_xack(struct cmd_ctx *c)
{
    struct stream *s;
    int wrong;
    struct stream_group *g = group_at(c, &s, &wrong);
    if (wrong) return;
    if (!g) {
        resp_add_int(c->out, 0);
        return;
    }
    struct stream_id *ids = parse_ids(c, 3, c->argc);
    if (!ids) return;
    long long acked = 0;
    for (int j = 3; j < c->argc; j++)
        acked += t_stream_pel_ack(g, ids[j - 3]);
    free(ids);
    resp_add_int(c->out, acked);
}

/* --- XPENDING --- */

static void reply_summary(struct cmd_ctx *c, const struct stream_group *g)
{
    struct resp_out *o = c->out;
    resp_add_array_len(o, 4);
    resp_add_int(o, (long long)zbt_len(&g->pel_order));
    if (zbt_len(&g->pel_order) == 0) {
        resp_add_null(o);
        resp_add_null(o);
        resp_add_null_array(o);
        return;
    }
    struct stream_pel_pos p;
    struct stream_id id;
    t_stream_pel_seek(&g->pel_order, STREAM_ID_MIN, &p);
    t_stream_pel_next(&p, &id);
    stream_reply_id(o, id);
    p.pos = zbt_at(&g->pel_order, zbt_len(&g->pel_order) - 1);
    t_stream_pel_next(&p, &id);
    stream_reply_id(o, id);
    size_t nc, with = 0;
    struct stream_consumer **cs = t_stream_consumer_list(g, &nc);
    for (size_t i = 0; i < nc; i++)
        with += zbt_len(&cs[i]->pel) > 0;
    resp_add_array_len(o, (long)with);
    for (size_t i = 0; i < nc; i++) {
        if (zbt_len(&cs[i]->pel) == 0) continue;
        resp_add_array_len(o, 2);
        resp_add_bulk(o, cs[i]->name, cs[i]->name_len);
        resp_add_bulk_ll(o, (long long)zbt_len(&cs[i]->pel));
    }
    free(cs);
}

/* XPENDING's extended form: [IDLE min-idle-time] start end count [consumer]. */
struct pending_range {
    struct stream_id start, end;
    long long count, minidle;
    const struct resp_arg *consumer; /* NULL: every consumer */
};

/* Parses the extended form's arguments into r: 0, or -1 with the error
 * added. */
static int parse_pending_range(struct cmd_ctx *c, struct pending_range *r)
{
    int at = 3, startex, endex;
    if (cmd_arg_is(&c->argv[3], "idle")) {
        if (cmd_arg_ll(c, 4, &r->minidle) < 0) return -1;
        if (c->argc < 8) {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
        at += 2;
    }
    if (cmd_arg_ll(c, at + 2, &r->count) < 0) return -1;
    if (r->count < 0) r->count = 0;
    if (stream_arg_bound(c, &c->argv[at], &r->start, &startex, 0) < 0) return -1;
    if (startex && !stream_id_incr(&r->start)) {
        resp_add_error(c->out, "ERR invalid start ID for the interval");
        return -1;
    }
    if (stream_arg_bound(c, &c->argv[at + 1], &r->end, &endex, UINT64_MAX) < 0) return -1;
    if (endex && !stream_id_decr(&r->end)) {
        resp_add_error(c->out, "ERR invalid end ID for the interval");
        return -1;
    }
    if (at + 3 < c->argc) r->consumer = &c->argv[at + 3];
    return 0;
}

/* The extended form's reply: [id, consumer, idle ms, deliveries] for each
 * pending entry in the range, at most count of them. */
static void reply_pending_range(struct cmd_ctx *c, struct stream_group *g,
                                const struct pending_range *r)
{
    const struct zbt *pel = &g->pel_order;
    if (r->consumer) {
        struct stream_consumer *who = t_stream_consumer(g, r->consumer->ptr, r->consumer->len);
        if (!who) {
            resp_add_array_len(c->out, 0);
            return;
        }
        pel = &who->pel;
    }
    struct stream_pel_pos p;
    struct stream_nack *n;
    struct stream_id id;
    long len = 0;
    long long count = r->count;
    resp_deferred d = resp_add_deferred(c->out);
    t_stream_pel_seek(pel, r->start, &p);
    while (count && (n = t_stream_pel_next(&p, &id)) && stream_id_cmp(id, r->end) <= 0) {
        int64_t idle = c->now_ms - n->delivery_time;
        if (r->minidle && idle < r->minidle) continue;
        len++;
        count--;
        resp_add_array_len(c->out, 4);
        stream_reply_id(c->out, id);
        resp_add_bulk(c->out, n->consumer->name, n->consumer->name_len);
        resp_add_int(c->out, idle < 0 ? 0 : idle);
        resp_add_int(c->out, (long long)n->delivery_count);
    }
    resp_set_deferred_array_len(c->out, d, len);
}

void cmd_xpending(struct cmd_ctx *c)
{
    struct pending_range r = {STREAM_ID_MIN, STREAM_ID_MAX, 0, 0, NULL};
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    if (c->argc >= 6 && parse_pending_range(c, &r) < 0) return;
    int wrong;
    struct stream *s = stream_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    struct stream_group *g = s ? t_stream_group(s, c->argv[2].ptr, c->argv[2].len) : NULL;
    if (!g)
        reply_nogroup(c, &c->argv[1], &c->argv[2]);
    else if (c->argc == 3)
        reply_summary(c, g);
    else
        reply_pending_range(c, g, &r);
}

/* --- XCLAIM / XAUTOCLAIM --- */

/* The entry id of s as a reply, or 0 when it is gone. */
static int reply_entry_at(struct resp_out *o, const struct stream *s, struct stream_id id)
{
    struct stream_iter it;
    struct stream_id found;
    size_t nf;
    t_stream_iter_start(&it, s, id, id, 0);
    if (!t_stream_iter_next(&it, &found, &nf)) return 0;
    stream_reply_entry(o, &it, found, nf);
    return 1;
}

static int entry_exists(const struct stream *s, struct stream_id id)
{
    struct stream_iter it;
    struct stream_id found;
    size_t nf;
    t_stream_iter_start(&it, s, id, id, 0);
    return t_stream_iter_next(&it, &found, &nf);
}

/* The pending entry id moves to who, delivered at time (count as given,
 * else one more unless justid), and is replied into o. */
static void hand_over(struct resp_out *o, struct stream *s, struct stream_group *g,
                      struct stream_consumer *who, struct stream_id id, int64_t time,
                      long long retrycount, int justid)
{
    struct stream_nack *n = t_stream_pel_claim(g, id, who);
    n->delivery_time = time;
    if (retrycount >= 0)
        n->delivery_count = (uint64_t)retrycount;
    else if (!justid)
        n->delivery_count++;
    if (justid)
        stream_reply_id(o, id);
    else
        reply_entry_at(o, s, id);
}

/* A number option of XCLAIM: -1 after replying its error. */
static int claim_ll(struct cmd_ctx *c, int i, long long *v, const char *what)
{
    if (util_str2ll(c->argv[i].ptr, c->argv[i].len, v)) return 0;
    resp_add_errorf(c->out, "ERR Invalid %s argument for XCLAIM", what);
    return -1;
}

void cmd_xclaim(struct cmd_ctx *c)
{
    struct stream *s;
    int wrong;
    struct stream_group *g = group_at(c, &s, &wrong);
    if (wrong) return;
    if (!g) {
        reply_nogroup(c, &c->argv[1], &c->argv[2]);
        return;
    }
    long long minidle, retrycount = -1, time = -1;
    int force = 0, justid = 0, j;
    if (claim_ll(c, 4, &minidle, "min-idle-time") < 0) return;
    if (minidle < 0) minidle = 0;
    struct stream_id *ids = util_xmalloc((size_t)(c->argc - 5) * sizeof *ids), last = {0, 0};
    for (j = 5; j < c->argc; j++) /* the IDs, up to the first that is not one */
        if (stream_arg_id(NULL, &c->argv[j], &ids[j - 5], 0, 1, NULL) < 0) break;
    int nids = j - 5;
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const struct resp_arg *o = &c->argv[j];
        if (cmd_arg_is(o, "force")) {
            force = 1;
        } else if (cmd_arg_is(o, "justid")) {
            justid = 1;
        } else if (cmd_arg_is(o, "idle") && more) {
            if (claim_ll(c, ++j, &time, "IDLE option") < 0) goto done;
            time = c->now_ms - time;
        } else if (cmd_arg_is(o, "time") && more) {
            if (claim_ll(c, ++j, &time, "TIME option") < 0) goto done;
        } else if (cmd_arg_is(o, "retrycount") && more) {
            if (claim_ll(c, ++j, &retrycount, "RETRYCOUNT option") < 0) goto done;
        } else if (cmd_arg_is(o, "lastid") && more) {
            if (stream_arg_id(c, &c->argv[++j], &last, 0, 1, NULL) < 0) goto done;
        } else {
            resp_add_errorf(c->out, "ERR Unrecognized XCLAIM option '%.*s'", (int)o->len, o->ptr);
            goto done;
        }
    }
    if (stream_id_cmp(last, g->last_id) > 0) g->last_id = last;
    /* A bogus time (a client's clock ahead of ours) is taken as now. */
    if (time < 0 || time > c->now_ms) time = c->now_ms;
    struct stream_consumer *who = NULL;
    long n = 0;
    resp_deferred d = resp_add_deferred(c->out);
    for (int k = 0; k < nids; k++) {
        struct stream_nack *nack = t_stream_pel_find(g, ids[k]);
        if (!entry_exists(s, ids[k])) { /* gone from the stream: from the PEL too */
            if (nack) t_stream_pel_ack(g, ids[k]);
            continue;
        }
        if (!nack && !force) continue;
        if (nack && minidle && c->now_ms - nack->delivery_time < minidle) continue;
        if (!who) who = stream_consumer_seen(c, &c->argv[1], g, &c->argv[3]);
        if (!nack) { /* FORCE: created as Redis creates it, delivered once now */
            nack = t_stream_pel_claim(g, ids[k], who);
            nack->delivery_time = c->now_ms;
            nack->delivery_count = 1;
        }
        hand_over(c->out, s, g, who, ids[k], time, retrycount, justid);
        n++;
    }
    resp_set_deferred_array_len(c->out, d, n);
done:
    free(ids);
}

/* XAUTOCLAIM scans at most this many PEL entries per entry of COUNT, and
 * COUNT times the larger of this and an ID's 16 bytes stays in a long. */
#define AUTOCLAIM_ATTEMPTS_FACTOR 10
#define AUTOCLAIM_COUNT_MAX (LONG_MAX / 16)

/* XAUTOCLAIM's arguments after the consumer: min-idle-time start [COUNT
 * count] [JUSTID]. 0, or -1 with the error added. */
static int parse_autoclaim(struct cmd_ctx *c, long long *minidle, struct stream_id *start,
                           long long *count, int *justid)
{
    int startex;
    if (util_str2ll(c->argv[4].ptr, c->argv[4].len, minidle) == 0) {
        resp_add_error(c->out, "ERR Invalid min-idle-time argument for XAUTOCLAIM");
        return -1;
    }
    if (*minidle < 0) *minidle = 0;
    if (stream_arg_bound(c, &c->argv[5], start, &startex, 0) < 0) return -1;
    if (startex && !stream_id_incr(start)) {
        resp_add_error(c->out, "ERR invalid start ID for the interval");
        return -1;
    }
    for (int j = 6; j < c->argc; j++) {
        if (cmd_arg_is(&c->argv[j], "count") && j + 1 < c->argc) {
            if (!util_str2ll(c->argv[j + 1].ptr, c->argv[j + 1].len, count) || *count < 1 ||
                *count > AUTOCLAIM_COUNT_MAX) {
                resp_add_error(c->out, "ERR COUNT must be > 0");
                return -1;
            }
            j++;
        } else if (cmd_arg_is(&c->argv[j], "justid")) {
            *justid = 1;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

void cmd_xautoclaim(struct cmd_ctx *c)
{
    long long minidle, count = 100;
    struct stream_id start;
    int justid = 0;
    if (parse_autoclaim(c, &minidle, &start, &count, &justid) < 0) return;
    struct stream *s;
    int wrong;
    struct stream_group *g = group_at(c, &s, &wrong);
    if (wrong) return;
    if (!g) {
        reply_nogroup(c, &c->argv[1], &c->argv[2]);
        return;
    }
    /* The entries claimed go to a buffer of their own: the reply's first
     * element, the cursor, is known only at the end. The walk restarts
     * from the ID it reached after each step (the PEL changes under it). */
    struct resp_out claimed;
    resp_out_init(&claimed, c->out->proto);
    struct stream_id *deleted = NULL, at = start, id = STREAM_ID_MIN;
    size_t ndeleted = 0, cap = 0;
    long long attempts = count * AUTOCLAIM_ATTEMPTS_FACTOR;
    long nclaimed = 0;
    int more = 0;
    struct stream_consumer *who = NULL;
    struct stream_pel_pos p;
    struct stream_nack *nack;
    for (;;) {
        t_stream_pel_seek(&g->pel_order, at, &p);
        if (!(nack = t_stream_pel_next(&p, &id))) break;
        if (!(attempts-- && count)) {
            more = 1; /* id is where the next call starts */
            break;
        }
        at = id;
        int last = !stream_id_incr(&at);
        if (!entry_exists(s, id)) { /* gone from the stream: from the PEL too */
            t_stream_pel_ack(g, id);
            if (ndeleted == cap) {
                cap = cap ? 2 * cap : 16;
                deleted = util_xrealloc(deleted, cap * sizeof *deleted);
            }
            deleted[ndeleted++] = id;
            count--;
        } else if (!minidle || c->now_ms - nack->delivery_time >= minidle) {
            if (!who) who = stream_consumer_seen(c, &c->argv[1], g, &c->argv[3]);
            hand_over(&claimed, s, g, who, id, c->now_ms, -1, justid);
            nclaimed++;
            count--;
        }
        if (last) break;
    }
    resp_add_array_len(c->out, 3);
    stream_reply_id(c->out, more ? id : STREAM_ID_MIN);
    resp_add_array_len(c->out, nclaimed);
    resp_add_raw(c->out, claimed.data + claimed.pos, claimed.len - claimed.pos);
    resp_out_free(&claimed);
    resp_add_array_len(c->out, (long)ndeleted);
    for (size_t i = 0; i < ndeleted; i++)
        stream_reply_id(c->out, deleted[i]);
    free(deleted);
}
