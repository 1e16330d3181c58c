/*
 * src/types/t_stream_cmd.c - the stream commands that add, trim, delete and
 * range over entries (Redis 7.0 replies): XADD XLEN XRANGE XREVRANGE XDEL
 * XTRIM XSETID; and what the stream command files share (IDs as arguments
 * and replies, lookups, entries as replies: src/types/t_stream_int.h). A
 * stream's new IDs come from the entry's time (cmd_ctx.now_ms, the same on
 * every replica), never the local clock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_stream.h"
#include "types/t_stream_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* The largest total of an entry's fields and values (Redis's
 * STREAM_LISTPACK_MAX_SIZE). */
#define ENTRY_MAX_BYTES (1u << 30)

/* --- IDs --- */

/* Redis's string2ull: a canonical non-negative long long, else what
 * strtoull() reads whole. */
static int parse_ull(const char *s, uint64_t *out)
{
    long long ll;
    if (util_str2ll(s, strlen(s), &ll)) {
        if (ll < 0) return 0;
        *out = (uint64_t)ll;
        return 1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || *s == '\0' || *end != '\0') return 0;
    *out = v;
    return 1;
}

/* An ID argument: "-" and "+" (unless strict), "ms" (seq missing_seq),
 * "ms-seq", and when seq_given is not NULL "ms-*" (*seq_given 0). -1 after
 * replying the error. */
int stream_arg_id(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
                  uint64_t missing_seq, int strict, int *seq_given)
{
    char buf[128];
    if (a->len > sizeof buf - 1) goto invalid;
    memcpy(buf, a->ptr, a->len);
    buf[a->len] = '\0';
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') goto invalid;
    if (seq_given) *seq_given = 1;
    if (buf[0] == '-' && buf[1] == '\0') {
        *id = STREAM_ID_MIN;
        return 0;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        *id = STREAM_ID_MAX;
        return 0;
    }
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    uint64_t ms, seq = missing_seq;
    if (!parse_ull(buf, &ms)) goto invalid;
    if (dash && seq_given && strcmp(dash + 1, "*") == 0) {
        seq = 0;
        *seq_given = 0;
    } else if (dash && !parse_ull(dash + 1, &seq)) {
        goto invalid;
    }
    *id = (struct stream_id){ms, seq};
    return 0;
invalid:
    if (c) resp_add_error(c->out, STREAM_ERR_BAD_ID);
    return -1;
}

/* A range bound: "(" makes it exclusive (strict ID then). */
int stream_arg_bound(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
                     int *exclusive, uint64_t missing_seq)
{
    *exclusive = a->len > 1 && a->ptr[0] == '(';
    if (!*exclusive) return stream_arg_id(c, a, id, missing_seq, 0, NULL);
    struct resp_arg rest = {a->ptr + 1, a->len - 1};
    return stream_arg_id(c, &rest, id, missing_seq, 1, NULL);
}

/* The next ID up; 0 past the last possible one. */
int stream_id_incr(struct stream_id *id)
{
    if (id->seq != UINT64_MAX) {
        id->seq++;
    } else if (id->ms != UINT64_MAX) {
        id->ms++;
        id->seq = 0;
    } else {
        *id = STREAM_ID_MIN;
        return 0;
    }
    return 1;
}

int stream_id_decr(struct stream_id *id)
{
    if (id->seq != 0) {
        id->seq--;
    } else if (id->ms != 0) {
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        *id = STREAM_ID_MAX;
        return 0;
    }
    return 1;
}

void stream_reply_id(struct resp_out *o, struct stream_id id)
{
    char buf[STREAM_ID_TEXT_MAX];
    resp_add_bulk(o, buf, stream_id_text(id, buf));
}

/* --- lookups and replies --- */

struct stream *stream_lookup_read(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
    *wrong = cmd_wrongtype(c, v, KV_STREAM);
    return v && !*wrong ? kv_val_obj(v) : NULL;
}

/* A stream XREAD reads: serving a client woken from blocking, a key of
 * another type counts as absent (cmd_ctx.serving). */
struct stream *stream_lookup_served(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    if (!c->serving) return stream_lookup_read(c, key, wrong);
    struct kv_val *v = kv_lookup_read(c->kv, key->ptr, key->len, c->now_ms);
    *wrong = 0;
    return v && v->type == KV_STREAM ? kv_val_obj(v) : NULL;
}

struct stream *stream_lookup_write(struct cmd_ctx *c, const struct resp_arg *key, int *wrong)
{
    struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    *wrong = cmd_wrongtype(c, v, KV_STREAM);
    return v && !*wrong ? kv_val_obj(v) : NULL;
}

/* One entry: [id, [field, value, ...]]. */
void stream_reply_entry(struct resp_out *o, struct stream_iter *it, struct stream_id id,
                        size_t nfields)
{
    resp_add_array_len(o, 2);
    stream_reply_id(o, id);
    resp_add_array_len(o, (long)(2 * nfields));
    for (size_t k = 0; k < nfields; k++) {
        struct stream_field f;
        t_stream_iter_field(it, &f);
        resp_add_bulk(o, f.f, f.flen);
        resp_add_bulk(o, f.v, f.vlen);
    }
}

/* The entries in [start, end] (rev: descending), at most count (0: all),
 * as an array; returns how many. */
size_t stream_reply_range(struct resp_out *o, const struct stream *s, struct stream_id start,
                          struct stream_id end, size_t count, int rev)
{
    resp_deferred d = resp_add_deferred(o);
    struct stream_iter it;
    struct stream_id id;
    size_t nf, n = 0;
    t_stream_iter_start(&it, s, start, end, rev);
    while ((count == 0 || n < count) && t_stream_iter_next(&it, &id, &nf)) {
        stream_reply_entry(o, &it, id, nf);
        n++;
    }
    resp_set_deferred_array_len(o, d, (long)n);
    return n;
}

/* --- XADD / XTRIM --- */

struct add_args {
    struct stream_trim trim;
    int strategy; /* 0 none, else trimming */
    struct stream_id id;
    int id_given, seq_given, nomkstream;
};

/* The trim's bound after MAXLEN / MINID at argv[i]: "~" or "=" and the
 * value. Returns the index of the value, or -1 after replying. */
static int parse_trim(struct cmd_ctx *c, int i, int by_minid, struct add_args *a)
{
    if (a->strategy) {
        resp_add_error(c->out,
                       "ERR syntax error, MAXLEN and MINID options at the same time are not "
                       "compatible");
        return -1;
    }
    int more = c->argc - 1 - i;
    a->trim.approx = 0;
    if (more >= 2 && c->argv[i + 1].len == 1 && c->argv[i + 1].ptr[0] == '~') {
        a->trim.approx = 1;
        i++;
    } else if (more >= 2 && c->argv[i + 1].len == 1 && c->argv[i + 1].ptr[0] == '=') {
        i++;
    }
    a->trim.by_minid = by_minid;
    if (by_minid) {
        if (stream_arg_id(c, &c->argv[i + 1], &a->trim.minid, 0, 1, NULL) < 0) return -1;
    } else {
        long long n;
        if (cmd_arg_ll(c, i + 1, &n) < 0) return -1;
        if (n < 0) {
            resp_add_error(c->out, "ERR The MAXLEN argument must be >= 0.");
            return -1;
        }
        a->trim.maxlen = (uint64_t)n;
    }
    a->strategy = 1;
    return i + 1;
}

/* XADD's and XTRIM's options; for XADD returns the index of the ID. -1
 * after replying the error. */
static int parse_add_trim(struct cmd_ctx *c, struct add_args *a, int xadd)
{
    memset(a, 0, sizeof *a);
    int i = 2, limit_given = 0;
    long long limit = 0;
    for (; i < c->argc; i++) {
        const struct resp_arg *o = &c->argv[i];
        int more = c->argc - 1 - i;
        if (xadd && o->len == 1 && o->ptr[0] == '*') break;
        if (cmd_arg_is(o, "maxlen") && more) {
            if ((i = parse_trim(c, i, 0, a)) < 0) return -1;
        } else if (cmd_arg_is(o, "minid") && more) {
            if ((i = parse_trim(c, i, 1, a)) < 0) return -1;
        } else if (cmd_arg_is(o, "limit") && more) {
            if (cmd_arg_ll(c, i + 1, &limit) < 0) return -1;
            if (limit < 0) {
                resp_add_error(c->out, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && cmd_arg_is(o, "nomkstream")) {
            a->nomkstream = 1;
        } else if (xadd) {
            if (stream_arg_id(c, o, &a->id, 0, 1, &a->seq_given) < 0) return -1;
            a->id_given = 1;
            break;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    if (limit && !a->strategy) {
        resp_add_error(c->out,
                       "ERR syntax error, LIMIT cannot be used without specifying a trimming "
                       "strategy");
        return -1;
    }
    if (!xadd && !a->strategy) {
        resp_add_error(c->out, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given && !a->trim.approx) {
        resp_add_error(c->out,
                       "ERR syntax error, LIMIT cannot be used without the special ~ option");
        return -1;
    }
    a->trim.limit = limit_given ? (uint64_t)limit : a->trim.approx ? STREAM_TRIM_LIMIT_DEFAULT : 0;
    return i;
}

/* The ID XADD gives its entry; 0 and the error's text when it cannot. */
static int new_id(const struct stream_meta *m, const struct add_args *a, int64_t now_ms,
                  struct stream_id *id, const char **err)
{
    static const char *too_small =
        "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    if (!a->id_given) {
        uint64_t ms = now_ms > 0 ? (uint64_t)now_ms : 0;
        *id = m->last_id;
        if (ms > m->last_id.ms)
            *id = (struct stream_id){ms, 0};
        else
            stream_id_incr(id);
    } else if (!a->seq_given && a->id.ms == m->last_id.ms) {
        if (m->last_id.seq == UINT64_MAX) {
            *err = too_small;
            return 0;
        }
        *id = (struct stream_id){m->last_id.ms, m->last_id.seq + 1};
    } else {
        *id = a->id;
    }
    if (stream_id_cmp(*id, m->last_id) <= 0) {
        *err = too_small;
        return 0;
    }
    return 1;
}

void cmd_xadd(struct cmd_ctx *c)
{
    struct add_args a;
    int idpos = parse_add_trim(c, &a, 1);
    if (idpos < 0) return;
    int fpos = idpos + 1;
    if (c->argc - fpos < 2 || (c->argc - fpos) % 2) {
        resp_add_error(c->out, "ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
        resp_add_error(c->out, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct stream *s = stream_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!s && a.nomkstream) {
        resp_add_null(c->out);
        return;
    }
    size_t bytes = 0;
    for (int i = fpos; i < c->argc; i++)
        bytes += c->argv[i].len;
    if (bytes > ENTRY_MAX_BYTES) {
        resp_add_error(c->out, "ERR Elements are too large to be stored");
        return;
    }
    struct stream_meta m = {{0, 0}, {0, 0}, {0, 0}, 0};
    if (s) t_stream_meta(s, &m);
    if (m.last_id.ms == UINT64_MAX && m.last_id.seq == UINT64_MAX) {
        resp_add_error(
            c->out, "ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    struct stream_id id;
    const char *err = NULL;
    if (!new_id(&m, &a, c->now_ms, &id, &err)) {
        resp_add_error(c->out, err);
        return;
    }
    ASSERT(stream_id_cmp(id, m.last_id) > 0);
    if (!s) {
        s = t_stream_new();
        kv_set_obj(c->kv, key->ptr, key->len, KV_STREAM, s, KV_NO_EXPIRE, c->now_ms);
    }
    t_stream_append(s, id, (size_t)(c->argc - fpos) / 2, &c->argv[fpos]);
    stream_reply_id(c->out, id);
    kv_modified(c->kv, key->ptr, key->len);
    cmd_notify(c, NOTIFY_STREAM, "xadd", key);
    if (a.strategy && t_stream_trim(s, &a.trim)) cmd_notify(c, NOTIFY_STREAM, "xtrim", key);
}

void cmd_xtrim(struct cmd_ctx *c)
{
    struct add_args a;
    if (parse_add_trim(c, &a, 0) < 0) return;
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct stream *s = stream_lookup_write(c, key, &wrong);
    if (wrong) return;
    uint64_t gone = s ? t_stream_trim(s, &a.trim) : 0;
    if (gone) {
        cmd_notify(c, NOTIFY_STREAM, "xtrim", key);
        kv_modified(c->kv, key->ptr, key->len);
    }
    resp_add_int(c->out, (long long)gone);
}

/* --- XLEN XRANGE XREVRANGE XDEL XSETID --- */

void cmd_xlen(struct cmd_ctx *c)
{
    int wrong;
    struct stream *s = stream_lookup_read(c, &c->argv[1], &wrong);
    if (!wrong) resp_add_int(c->out, s ? (long long)t_stream_len(s) : 0);
}

static void range_generic(struct cmd_ctx *c, int rev)
{
    const struct resp_arg *first = &c->argv[rev ? 3 : 2], *last = &c->argv[rev ? 2 : 3];
    struct stream_id start, end;
    int startex, endex;
    if (stream_arg_bound(c, first, &start, &startex, 0) < 0) return;
    if (startex && !stream_id_incr(&start)) {
        resp_add_error(c->out, "ERR invalid start ID for the interval");
        return;
    }
    if (stream_arg_bound(c, last, &end, &endex, UINT64_MAX) < 0) return;
    if (endex && !stream_id_decr(&end)) {
        resp_add_error(c->out, "ERR invalid end ID for the interval");
        return;
    }
    long long count = -1;
    for (int j = 4; j < c->argc; j++) {
        if (cmd_arg_is(&c->argv[j], "count") && j + 1 < c->argc) {
            if (cmd_arg_ll(c, ++j, &count) < 0) return;
            if (count < 0) count = 0;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return;
        }
    }
    int wrong;
    struct stream *s = stream_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!s)
        resp_add_array_len(c->out, 0);
    else if (count == 0)
        resp_add_null_array(c->out);
    else
        stream_reply_range(c->out, s, start, end, count < 0 ? 0 : (size_t)count, rev);
}

void cmd_xrange(struct cmd_ctx *c)
{
    range_generic(c, 0);
}

void cmd_xrevrange(struct cmd_ctx *c)
{
    range_generic(c, 1);
}

void cmd_xdel(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct stream *s = stream_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!s) {
        resp_add_int(c->out, 0);
        return;
    }
    /* Every ID is checked before any is deleted. */
    size_t n = (size_t)c->argc - 2;
    struct stream_id *ids = util_xmalloc(n * sizeof *ids);
    for (size_t j = 0; j < n; j++) {
        if (stream_arg_id(c, &c->argv[2 + j], &ids[j], 0, 1, NULL) < 0) {
            free(ids);
            return;
        }
    }
    long long deleted = 0;
    for (size_t j = 0; j < n; j++)
        deleted += t_stream_delete(s, ids[j]);
    free(ids);
    if (deleted) {
        kv_modified(c->kv, key->ptr, key->len);
        cmd_notify(c, NOTIFY_STREAM, "xdel", key);
    }
    resp_add_int(c->out, deleted);
}

void cmd_xsetid(struct cmd_ctx *c)
{
    struct stream_id id, max_deleted = {0, 0};
    long long added = -1;
    if (stream_arg_id(c, &c->argv[2], &id, 0, 1, NULL) < 0) return;
    for (int i = 3; i < c->argc; i += 2) {
        const struct resp_arg *o = &c->argv[i];
        int more = c->argc - 1 - i;
        if (cmd_arg_is(o, "entriesadded") && more) {
            if (cmd_arg_ll(c, i + 1, &added) < 0) return;
            if (added < 0) {
                resp_add_error(c->out, "ERR entries_added must be positive");
                return;
            }
        } else if (cmd_arg_is(o, "maxdeletedid") && more) {
            if (stream_arg_id(c, &c->argv[i + 1], &max_deleted, 0, 1, NULL) < 0) return;
            if (stream_id_cmp(id, max_deleted) < 0) {
                resp_add_error(c->out, "ERR The ID specified in XSETID is smaller than the "
                                       "provided max_deleted_entry_id");
                return;
            }
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return;
        }
    }
    const struct resp_arg *key = &c->argv[1];
    int wrong;
    struct stream *s = stream_lookup_write(c, key, &wrong);
    if (wrong) return;
    if (!s) {
        resp_add_error(c->out, "ERR no such key");
        return;
    }
    struct stream_meta m;
    t_stream_meta(s, &m);
    if (t_stream_len(s) > 0) {
        struct stream_iter it;
        struct stream_id top;
        size_t nf;
        t_stream_iter_start(&it, s, STREAM_ID_MIN, STREAM_ID_MAX, 1);
        t_stream_iter_next(&it, &top, &nf);
        if (stream_id_cmp(id, top) < 0) {
            resp_add_error(c->out,
                           "ERR The ID specified in XSETID is smaller than the target stream top "
                           "item");
            return;
        }
        if (added != -1 && t_stream_len(s) > (uint64_t)added) {
            resp_add_error(c->out, "ERR The entries_added specified in XSETID is smaller than "
                                   "the target stream length");
            return;
        }
    }
    t_stream_set_meta(s, id, added != -1 ? (uint64_t)added : m.entries_added,
                      (max_deleted.ms || max_deleted.seq) ? max_deleted : m.max_deleted_id);
    kv_modified(c->kv, key->ptr, key->len);
    resp_add_simple(c->out, "OK");
    cmd_notify(c, NOTIFY_STREAM, "xsetid", key);
}
