/*
 * src/types/sort.c - SORT and SORT_RO over lists, sets and sorted sets, with
 * Redis 7.0's options, replies and errors: BY pattern (a string key, or a
 * hash field with "key->field"; a pattern without '*' means "do not sort"),
 * GET pattern (repeatable; "#" is the element itself), LIMIT offset count,
 * ASC|DESC, ALPHA, STORE destination.
 *
 * Numeric sorting reads each element (or its BY value) as a double as
 * Redis's strtod does, ties broken by the elements' bytes; ALPHA compares
 * bytes (Redis compares with the server's locale, which is byte order under
 * the C and C.UTF-8 locales). Elements with equal sort keys keep the
 * order they were read in, so the answer is the same on every replica.
 * Unsorted (BY a constant), a list and a sorted set keep their own order
 * (reversed by DESC); a set going to STORE is sorted ALPHA instead, as
 * Redis does so that what is stored does not depend on a set's layout.
 * STORE replaces the destination with a list of the reply's elements (a
 * GET that finds nothing stores ""), or deletes it when there are none,
 * and replies the count. Pattern keys are read, never declared as keys (as
 * Redis without cluster mode: raftcache is a single shard).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/sort.h"
#include "types/t_hash.h"
#include "types/t_list.h"
#include "types/t_set.h"
#include "types/t_zset.h"
#include "base/util.h"

struct sort_opts {
    int desc, alpha, dontsort;
    long long start, count; /* LIMIT as given; count < 0: to the end */
    const struct resp_arg *by, *store;
    int *gets, ngets; /* argv indexes of GET patterns */
};

/* An element and its sort key; bytes live in the arena at offsets. */
struct sort_elem {
    size_t off, len;
    size_t cmp_off, cmp_len;
    int has_cmp; /* ALPHA BY: a value was found */
    double score;
    size_t seq; /* read order: the final tie-break */
};

struct sorter {
    struct cmd_ctx *c;
    struct sort_elem *v;
    size_t n, cap;
    char *arena;
    size_t alen, acap;
    char *key; /* pattern substitution scratch */
    size_t kcap;
    const struct sort_opts *o;
};

/* Parses argv[2..]. Returns 0, or -1 after replying an error. */
static int parse_opts(struct cmd_ctx *c, int readonly, struct sort_opts *o)
{
    memset(o, 0, sizeof *o);
    o->count = -1;
    o->gets = util_xmalloc(sizeof *o->gets * (size_t)c->argc);
    for (int j = 2; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        int left = c->argc - j - 1;
        long long s, n;
        if (cmd_arg_is(a, "asc")) {
            o->desc = 0;
        } else if (cmd_arg_is(a, "desc")) {
            o->desc = 1;
        } else if (cmd_arg_is(a, "alpha")) {
            o->alpha = 1;
        } else if (cmd_arg_is(a, "limit") && left >= 2) {
            if (cmd_arg_ll(c, j + 1, &s) < 0 || cmd_arg_ll(c, j + 2, &n) < 0) return -1;
            o->start = s;
            o->count = n;
            j += 2;
        } else if (!readonly && cmd_arg_is(a, "store") && left >= 1) {
            o->store = &c->argv[++j];
        } else if (cmd_arg_is(a, "by") && left >= 1) {
            o->by = &c->argv[++j];
            /* a constant pattern means "do not sort", for good (as Redis) */
            if (!memchr(o->by->ptr, '*', strnlen(o->by->ptr, o->by->len))) o->dontsort = 1;
        } else if (cmd_arg_is(a, "get") && left >= 1) {
            o->gets[o->ngets++] = ++j;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

static size_t arena_put(struct sorter *s, const char *p, size_t len)
{
    if (s->acap - s->alen < len) {
        s->acap = s->acap * 2 + len + 64;
        s->arena = util_xrealloc(s->arena, s->acap);
    }
    memcpy(s->arena + s->alen, p, len);
    s->alen += len;
    return s->alen - len;
}

static void add_elem(void *ud, const char *p, size_t len)
{
    struct sorter *s = ud;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = util_xrealloc(s->v, sizeof *s->v * s->cap);
    }
    s->v[s->n] = (struct sort_elem){.off = arena_put(s, p, len), .len = len, .seq = s->n};
    s->n++;
}

static void add_zelem(void *ud, const char *m, size_t len, double score)
{
    (void)score;
    add_elem(ud, m, len);
}

/* The value pattern pat names for element e (Redis's lookupKeyByPattern):
 * "#" is e itself; the first '*' takes e; "->field" after it reads a hash
 * field, else the key must hold a string. Returns 1 with *val and *vlen
 * (valid until the next call), 0 if there is none. */
static int pattern_value(struct sorter *s, const struct resp_arg *pat, const char *e, size_t elen,
                         const char **val, size_t *vlen, char buf[LP_INTBUF])
{
    size_t clen = strnlen(pat->ptr, pat->len); /* Redis reads the pattern as a C string */
    if (clen == 1 && pat->ptr[0] == '#') {
        *val = e;
        *vlen = elen;
        return 1;
    }
    const char *star = memchr(pat->ptr, '*', clen);
    if (!star) return 0;
    const char *end = pat->ptr + clen, *field = NULL;
    for (const char *f = star + 1; f + 1 < end; f++)
        if (f[0] == '-' && f[1] == '>') {
            if (f + 2 < end) field = f;
            break;
        }
    size_t flen = field ? pat->len - (size_t)(field - pat->ptr) - 2 : 0;
    size_t pre = (size_t)(star - pat->ptr);
    size_t post = pat->len - pre - 1 - (field ? flen + 2 : 0);
    size_t klen = pre + elen + post;
    if (s->kcap < klen) {
        s->kcap = klen + 64;
        s->key = util_xrealloc(s->key, s->kcap);
    }
    memcpy(s->key, pat->ptr, pre);
    memcpy(s->key + pre, e, elen);
    memcpy(s->key + pre + elen, star + 1, post);
    const struct kv_val *v = kv_lookup_read(s->c->kv, s->key, klen, s->c->now_ms);
    if (!v) return 0;
    if (field) {
        if (v->type != KV_HASH) return 0;
        return t_hash_get(kv_val_obj(v), field + 2, flen, val, vlen, buf);
    }
    if (v->type != KV_STRING) return 0;
    *val = v->data;
    *vlen = v->len;
    return 1;
}

/* p[0..len) as a double the way Redis's strtod check reads it. */
static int parse_score(const char *p, size_t len, double *out)
{
    char small[128], *b = len < sizeof small ? small : util_xmalloc(len + 1);
    memcpy(b, p, len);
    b[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(b, &end);
    int ok = *end == '\0' && errno != ERANGE && !isnan(d);
    if (b != small) free(b);
    *out = d;
    return ok;
}

/* Fills each element's sort key. Returns 0, or -1 if a score does not
 * parse (every element is still visited, as Redis). */
static int load_keys(struct sorter *s)
{
    int bad = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct sort_elem *e = &s->v[i];
        const char *val = s->arena + e->off;
        size_t vlen = e->len;
        char buf[LP_INTBUF];
        if (s->o->by && !pattern_value(s, s->o->by, s->arena + e->off, e->len, &val, &vlen, buf))
            continue;
        if (s->o->alpha) {
            if (s->o->by) {
                e->cmp_off = arena_put(s, val, vlen);
                e->cmp_len = vlen;
                e->has_cmp = 1;
            }
        } else if (!parse_score(val, vlen, &e->score)) {
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r < 0 ? -1 : 1;
    return al < bl ? -1 : al > bl;
}

static int elem_cmp(const void *pa, const void *pb, void *ud)
{
    const struct sort_elem *a = pa, *b = pb;
    const struct sorter *s = ud;
    const char *ar = s->arena;
    int r;
    if (!s->o->alpha) {
        r = a->score < b->score   ? -1
            : a->score > b->score ? 1
                                  : bytes_cmp(ar + a->off, a->len, ar + b->off, b->len);
    } else if (s->o->by) {
        if (!a->has_cmp || !b->has_cmp)
            r = a->has_cmp == b->has_cmp ? 0 : a->has_cmp ? 1 : -1;
        else
            r = bytes_cmp(ar + a->cmp_off, a->cmp_len, ar + b->cmp_off, b->cmp_len);
    } else {
        r = bytes_cmp(ar + a->off, a->len, ar + b->off, b->len);
    }
    if (s->o->desc) r = -r;
    return r ? r : a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Reads the source's elements: in native order when nothing is sorted (a
 * list head to tail, a sorted set by score, both reversed for DESC; a set
 * in its own order). */
static void load_elems(struct sorter *s, const struct kv_val *v)
{
    if (!v) return;
    int reverse = s->o->dontsort && s->o->desc;
    if (v->type == KV_SET)
        t_set_foreach(kv_val_obj(v), add_elem, s);
    else if (v->type == KV_LIST)
        t_list_foreach(kv_val_obj(v), reverse, add_elem, s);
    else
        t_zset_foreach(kv_val_obj(v), reverse, add_zelem, s);
}

static void reply_range(struct sorter *s, long start, long end)
{
    const struct sort_opts *o = s->o;
    long n = end - start + 1;
    resp_add_array_len(s->c->out, o->ngets ? (long)o->ngets * n : n);
    for (long j = start; j <= end; j++) {
        const struct sort_elem *e = &s->v[j];
        const char *p = s->arena + e->off;
        if (!o->ngets) resp_add_bulk(s->c->out, p, e->len);
        for (int g = 0; g < o->ngets; g++) {
            const char *val;
            size_t vlen;
            char buf[LP_INTBUF];
            if (pattern_value(s, &s->c->argv[o->gets[g]], p, e->len, &val, &vlen, buf))
                resp_add_bulk(s->c->out, val, vlen);
            else
                resp_add_null(s->c->out);
        }
    }
}

/* STORE: the range's elements (or their GET values, "" for none) as a list
 * replacing the destination, or the destination deleted when the range is
 * empty. Replies the number of elements. */
static void store_range(struct sorter *s, long start, long end)
{
    const struct sort_opts *o = s->o;
    struct cmd_ctx *c = s->c;
    long n = end - start + 1;
    long long stored = o->ngets ? (long long)o->ngets * n : n;
    void *list = t_list_new(&c->kv->common->limits);
    for (long j = start; j <= end; j++) {
        const struct sort_elem *e = &s->v[j];
        const char *p = s->arena + e->off;
        if (!o->ngets) t_list_append(list, p, e->len);
        for (int g = 0; g < o->ngets; g++) {
            const char *val = "";
            size_t vlen = 0;
            char buf[LP_INTBUF];
            if (!pattern_value(s, &c->argv[o->gets[g]], p, e->len, &val, &vlen, buf)) vlen = 0;
            if (vlen > QL_ELEMENT_MAX) {
                t_list_ops.free(list);
                resp_add_error(c->out, "ERR string exceeds maximum allowed size "
                                       "(proto-max-bulk-len)");
                return;
            }
            t_list_append(list, val, vlen);
        }
    }
    if (stored > 0) {
        kv_set_obj(c->kv, o->store->ptr, o->store->len, KV_LIST, list, KV_NO_EXPIRE, c->now_ms);
        cmd_notify(c, NOTIFY_LIST, "sortstore", o->store);
    } else {
        t_list_ops.free(list);
        if (kv_delete(c->kv, o->store->ptr, o->store->len, c->now_ms))
            cmd_notify(c, NOTIFY_GENERIC, "del", o->store);
    }
    resp_add_int(c->out, stored);
}

static void sort_generic(struct cmd_ctx *c, int readonly)
{
    struct sort_opts o;
    struct sorter s = {.c = c, .o = &o};
    if (parse_opts(c, readonly, &o) < 0) goto done;
    const struct kv_val *v = kv_lookup_read(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (v && v->type != KV_SET && v->type != KV_ZSET && v->type != KV_LIST) {
        resp_add_error(c->out, ERR_WRONGTYPE);
        goto done;
    }
    if (o.dontsort && (o.store || c->in_script) && v && v->type == KV_SET) {
        o.dontsort = 0; /* a set's order is its layout's: stored (or given a script) sorted */
        o.alpha = 1;
        o.by = NULL;
    }
    load_elems(&s, v);
    /* LIMIT clamped to the length first, so that start + count cannot
     * overflow (LIMIT 1 9223372036854775807 means "from 1 to the end") */
    long len = (long)s.n;
    long start = o.start < 0 ? 0 : o.start > len ? len : (long)o.start;
    long count = o.count < 0 ? -1 : o.count > len ? len : (long)o.count;
    long end = count < 0 ? len - 1 : start + count - 1;
    if (start >= len) {
        start = len - 1;
        end = len - 2;
    }
    if (end >= len) end = len - 1;
    if (!o.dontsort) {
        if (load_keys(&s) < 0) {
            resp_add_error(c->out, "ERR One or more scores can't be converted into double");
            goto done;
        }
        if (s.n > 1) qsort_r(s.v, s.n, sizeof *s.v, elem_cmp, &s);
    }
    if (o.store)
        store_range(&s, start, end);
    else
        reply_range(&s, start, end);
done:
    free(o.gets);
    free(s.v);
    free(s.arena);
    free(s.key);
}

void cmd_sort(struct cmd_ctx *c)
{
    sort_generic(c, 0);
}

void cmd_sort_ro(struct cmd_ctx *c)
{
    sort_generic(c, 1);
}

/* SORT_RO's key: the source alone (no STORE). A hook all the same, as
 * Redis's row, so COMMAND INFO flags it movablekeys as redis-server does. */
int cmd_sort_ro_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    (void)argv;
    if (max < 1 || argc < 2) return 0;
    idx[0] = 1;
    return 1;
}

/* SORT's keys: the source and the last STORE destination, found as Redis
 * finds them (LIMIT skips two arguments, GET and BY one). */
int cmd_sort_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    int n = 0, store = 0;
    if (max < 2 || argc < 2) return 0;
    idx[n++] = 1;
    for (int i = 2; i < argc; i++) {
        if (cmd_arg_is(&argv[i], "limit"))
            i += 2;
        else if (cmd_arg_is(&argv[i], "get") || cmd_arg_is(&argv[i], "by"))
            i += 1;
        else if (cmd_arg_is(&argv[i], "store") && i + 1 < argc)
            store = i + 1;
    }
    if (store) idx[n++] = store;
    return n;
}
