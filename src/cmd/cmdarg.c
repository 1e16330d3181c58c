/*
 * src/cmd/cmdarg.c - argument and reply helpers of the command handlers (see
 * cmdarg.h).
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "cmd/client.h"
#include "cmd/cmdarg.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "ds/dict.h"
#include "base/glob.h"
#include "base/util.h"
#include "raft/raft_assert.h"

int cmd_arg_ll(struct cmd_ctx *c, int i, long long *out)
{
    ASSERT(i > 0 && i < c->argc); /* the arity check, or the handler's count, made it so */
    if (util_str2ll(c->argv[i].ptr, c->argv[i].len, out)) return 0;
    resp_add_error(c->out, ERR_NOT_INT);
    return -1;
}

int cmd_arg_ll_range(struct cmd_ctx *c, int i, long long min, long long max, const char *what,
                     long long *out)
{
    if (cmd_arg_ll(c, i, out) < 0) return -1;
    if (*out >= min && *out <= max) return 0;
    resp_add_errorf(c->out, "ERR %s is out of range", what);
    return -1;
}

int cmd_arg_double(struct cmd_ctx *c, int i, double *out)
{
    ASSERT(i > 0 && i < c->argc); /* the arity check, or the handler's count, made it so */
    if (util_str2d(c->argv[i].ptr, c->argv[i].len, out)) return 0;
    resp_add_error(c->out, ERR_NOT_FLOAT);
    return -1;
}

int cmd_arg_timeout(struct cmd_ctx *c, int i, int64_t *ms)
{
    ASSERT(i > 0 && i < c->argc); /* the arity check, or the handler's count, made it so */
    long double t;
    if (!util_str2ld(c->argv[i].ptr, c->argv[i].len, &t)) {
        resp_add_error(c->out, "ERR timeout is not a float or out of range");
        return -1;
    }
    t = ceill(t * 1000.0L);
    /* Redis 7.0 calls a timeout too large for a long long negative too. */
    if (t < 0 || t >= (long double)LLONG_MAX) {
        resp_add_error(c->out, "ERR timeout is negative");
        return -1;
    }
    *ms = (int64_t)t;
    return 0;
}

int cmd_block_probe(struct cmd_ctx *c, const struct cmd_block *b)
{
    if (!c->probe) return 0;
    c->blocked = 1;
    c->block = *b;
    return 1;
}

void cmd_block_on(struct cmd_ctx *c, const struct cmd_block *b)
{
    if (c->may_block) {
        c->blocked = 1;
        c->block = *b;
    } else if (b->null_array) {
        resp_add_null_array(c->out);
    } else {
        resp_add_null(c->out);
    }
}

int cmd_wrongtype(struct cmd_ctx *c, const struct kv_val *v, enum kv_type t)
{
    if (!v || v->type == t) return 0;
    resp_add_error(c->out, ERR_WRONGTYPE);
    return 1;
}

/* --- SET options --- */

struct set_opt {
    const char *name;
    unsigned flag;
    unsigned excludes; /* options that make this one a syntax error */
    int scope;         /* SCOPE_SET, SCOPE_GETEX or both */
};

enum { SCOPE_SET = 1, SCOPE_GETEX = 2 };

/* Redis accepts an option repeated (the last expire wins) but not with one
 * it conflicts with; which options each command knows is in `scope`. */
#define EXPIRE_EXCL(f) ((CMD_SET_EXPIRE_ANY & ~(f)) | CMD_SET_KEEPTTL | CMD_SET_PERSIST)
static const struct set_opt set_opts[] = {
    {"nx", CMD_SET_NX, CMD_SET_XX, SCOPE_SET},
    {"xx", CMD_SET_XX, CMD_SET_NX, SCOPE_SET},
    {"get", CMD_SET_GET, 0, SCOPE_SET},
    {"keepttl", CMD_SET_KEEPTTL, CMD_SET_EXPIRE_ANY | CMD_SET_PERSIST, SCOPE_SET},
    {"persist", CMD_SET_PERSIST, CMD_SET_EXPIRE_ANY | CMD_SET_KEEPTTL, SCOPE_GETEX},
    {"ex", CMD_SET_EX, EXPIRE_EXCL(CMD_SET_EX), SCOPE_SET | SCOPE_GETEX},
    {"px", CMD_SET_PX, EXPIRE_EXCL(CMD_SET_PX), SCOPE_SET | SCOPE_GETEX},
    {"exat", CMD_SET_EXAT, EXPIRE_EXCL(CMD_SET_EXAT), SCOPE_SET | SCOPE_GETEX},
    {"pxat", CMD_SET_PXAT, EXPIRE_EXCL(CMD_SET_PXAT), SCOPE_SET | SCOPE_GETEX},
};

int cmd_set_parse_opts(int argc, const struct resp_arg *argv, int is_getex, struct cmd_set_opts *o)
{
    int scope = is_getex ? SCOPE_GETEX : SCOPE_SET;
    o->flags = 0;
    o->expire_idx = 0;
    for (int j = is_getex ? 2 : 3; j < argc; j++) {
        const struct set_opt *opt = NULL;
        for (size_t k = 0; k < sizeof set_opts / sizeof set_opts[0]; k++)
            if (cmd_arg_is(&argv[j], set_opts[k].name)) opt = &set_opts[k];
        if (!opt || !(opt->scope & scope) || (o->flags & opt->excludes)) return -1;
        if (opt->flag & CMD_SET_EXPIRE_ANY) {
            if (j + 1 >= argc) return -1; /* the value is missing */
            o->expire_idx = ++j;
        }
        o->flags |= opt->flag;
    }
    return 0;
}

int cmd_set_expire_ms(const struct resp_arg *argv, const struct cmd_set_opts *o, int64_t now_ms,
                      int64_t *ms, int *not_int)
{
    /* Called only when cmd_set_parse_opts() found an expire option. */
    ASSERT(o->expire_idx > 0 && (o->flags & CMD_SET_EXPIRE_ANY));
    const struct resp_arg *a = &argv[o->expire_idx];
    long long v;
    *not_int = !util_str2ll(a->ptr, a->len, &v);
    if (*not_int) return -1;
    int seconds = (o->flags & (CMD_SET_EX | CMD_SET_EXAT)) != 0;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) return -1;
    if (seconds) v *= 1000;
    if (o->flags & (CMD_SET_EX | CMD_SET_PX)) {
        if (v > LLONG_MAX - now_ms) return -1;
        v += now_ms;
    }
    *ms = v;
    return 0;
}

/* --- SCAN family --- */

/*
 * The cursor as Redis reads it with strtoul(): optional sign (a negative
 * value wraps), decimal digits, nothing after; no leading space; overflow is
 * invalid. A C string that is empty ("" or starting with NUL) reads as 0.
 */
static int parse_cursor(const struct resp_arg *a, uint64_t *out)
{
    const char *p = a->ptr, *end = a->ptr + a->len;
    if (a->len == 0 || p[0] == '\0') {
        *out = 0;
        return 1;
    }
    if (isspace((unsigned char)p[0])) return 0;
    int neg = p[0] == '-';
    if (p[0] == '+' || p[0] == '-') p++;
    if (p == end || !isdigit((unsigned char)*p)) return 0;
    uint64_t v = 0;
    for (; p < end && isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (p != end && *p != '\0') return 0; /* strtoul stops at a NUL too */
    *out = neg ? 0 - v : v;
    return 1;
}

int cmd_scan_cursor(struct cmd_ctx *c, int i, uint64_t *out)
{
    ASSERT(i > 0 && i < c->argc); /* the arity check, or the handler's count, made it so */
    if (parse_cursor(&c->argv[i], out)) return 1;
    resp_add_error(c->out, "ERR invalid cursor");
    return 0;
}

int cmd_scan_opts(struct cmd_ctx *c, int first, int allow_type, struct cmd_scan_opts *o)
{
    o->count = CMD_SCAN_COUNT_DEFAULT;
    o->pat = o->type = NULL;
    for (int i = first; i < c->argc; i += 2) {
        const struct resp_arg *a = &c->argv[i], *next = &c->argv[i + 1];
        int more = i + 1 < c->argc;
        if (more && cmd_arg_is(a, "count")) {
            if (!util_str2ll(next->ptr, next->len, &o->count)) {
                resp_add_error(c->out, ERR_NOT_INT);
                return -1;
            }
            if (o->count < 1) {
                resp_add_error(c->out, ERR_SYNTAX);
                return -1;
            }
        } else if (more && cmd_arg_is(a, "match")) {
            o->pat = next->len == 1 && next->ptr[0] == '*' ? NULL : next;
        } else if (more && allow_type && cmd_arg_is(a, "type")) {
            o->type = next;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

int cmd_scan_match(const struct cmd_scan_opts *o, const char *p, size_t len)
{
    return !o->pat || glob_match(o->pat->ptr, o->pat->len, p, len, 0);
}

resp_deferred cmd_scan_reply_begin(struct cmd_ctx *c, uint64_t cursor)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)cursor);
    resp_add_array_len(c->out, 2);
    resp_add_bulk(c->out, buf, (size_t)n);
    return resp_add_deferred(c->out);
}

void cmd_scan_page_init(struct cmd_scan_page *pg, const struct cmd_scan_opts *o)
{
    resp_out_init(&pg->body, 2); /* SCAN replies are strings, scores too */
    pg->o = o;
    pg->seen = 0;
    pg->n = 0;
}

int cmd_scan_page_take(struct cmd_scan_page *pg, const char *p, size_t len)
{
    pg->seen++;
    return cmd_scan_match(pg->o, p, len);
}

uint64_t cmd_scan_page_dict(struct cmd_scan_page *pg, struct dict *d, uint64_t cursor,
                            void (*fn)(void *pg, struct dict_entry *e))
{
    long long count = pg->o->count;
    ASSERT(count >= 1); /* cmd_scan_opts() refuses a COUNT below 1 */
    long long max_steps = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = dict_scan(d, cursor, fn, pg);
    } while (cursor && max_steps-- && pg->seen < count);
    return cursor;
}

void cmd_scan_page_reply(struct cmd_ctx *c, struct cmd_scan_page *pg, uint64_t cursor)
{
    ASSERT(pg->body.pos <= pg->body.len);
    resp_deferred d = cmd_scan_reply_begin(c, cursor);
    resp_set_deferred_array_len(c->out, d, pg->n);
    if (pg->body.len > pg->body.pos) /* body.data is NULL while empty */
        resp_add_raw(c->out, pg->body.data + pg->body.pos, pg->body.len - pg->body.pos);
    resp_out_free(&pg->body);
}

void cmd_reply_help(struct cmd_ctx *c, const char *const *lines)
{
    long n = 0;
    while (lines[n])
        n++;
    resp_add_array_len(c->out, n);
    for (long i = 0; i < n; i++)
        resp_add_simple(c->out, lines[i]);
}

/* cmd_notify's event, in the call's database. */
void cmd_notify_fire(const struct cmd_ctx *c, unsigned type, const char *event,
                     const struct resp_arg *key)
{
    notify_fire(c->notify, c->kv->id, type, event, key->ptr, key->len);
}

int cmd_db_index(const struct resp_arg *a, int ndbs)
{
    long long db;
    if (!util_str2ll(a->ptr, a->len, &db) || db < 0 || db >= ndbs) return -1;
    return (int)db;
}

int cmd_select_target(const struct command *cmd, int argc, const struct resp_arg *argv, int db,
                      int ndbs)
{
    if (!cmd || strcmp(cmd->name, "select") != 0 || argc != 2) return db;
    int to = cmd_db_index(&argv[1], ndbs);
    return to < 0 ? db : to;
}

int cmd_arg_db(struct cmd_ctx *c, int i)
{
    long long n;
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &n)) {
        resp_add_error(c->out, ERR_NOT_INT);
        return -1;
    }
    int db = cmd_db_index(&c->argv[i], c->dbs->n);
    if (db < 0) resp_add_error(c->out, "ERR DB index is out of range");
    return db;
}
