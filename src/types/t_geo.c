/*
 * src/types/t_geo.c - the GEO commands on a sorted set (see t_geo.h); the
 * geohash arithmetic is src/ds/geohash.c's.
 */
#include "types/t_geo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "ds/geohash.h"
#include "keyspace/kv.h"
#include "types/t_zset.h"
#include "types/t_zset_int.h"
#include "base/util.h"

/* --- arguments and replies --- */

/* The unit at argv[i] in metres; -1 after replying the error. */
static double unit_arg(struct cmd_ctx *c, int i)
{
    static const struct {
        const char *name;
        double m;
    } units[] = {{"m", 1}, {"km", 1000}, {"ft", 0.3048}, {"mi", 1609.34}};
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (cmd_arg_is(&c->argv[i], units[k].name)) return units[k].m;
    resp_add_error(c->out, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* argv[i], argv[i+1] as a valid longitude, latitude; -1 after replying. */
static int lonlat_arg(struct cmd_ctx *c, int i, double *lon, double *lat)
{
    if (cmd_arg_double(c, i, lon) < 0 || cmd_arg_double(c, i + 1, lat) < 0) return -1;
    if (geo_valid(*lon, *lat)) return 0;
    resp_add_errorf(c->out, "ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
    return -1;
}

/* A non-negative number at argv[i] (err: its message when not a number). */
static int length_arg(struct cmd_ctx *c, int i, const char *err, double *out)
{
    if (util_str2d(c->argv[i].ptr, c->argv[i].len, out)) return 0;
    resp_add_error(c->out, err);
    return -1;
}

/* BYRADIUS's "radius unit" at argv[i]. */
static int radius_arg(struct cmd_ctx *c, int i, struct geo_shape *s)
{
    if (length_arg(c, i, "ERR need numeric radius", &s->radius) < 0) return -1;
    if (s->radius < 0) {
        resp_add_error(c->out, "ERR radius cannot be negative");
        return -1;
    }
    s->kind = GEO_CIRCLE;
    return (s->unit_m = unit_arg(c, i + 1)) < 0 ? -1 : 0;
}

/* BYBOX's "width height unit" at argv[i]. */
static int box_arg(struct cmd_ctx *c, int i, struct geo_shape *s)
{
    if (length_arg(c, i, "ERR need numeric width", &s->width) < 0 ||
        length_arg(c, i + 1, "ERR need numeric height", &s->height) < 0)
        return -1;
    if (s->width < 0 || s->height < 0) {
        resp_add_error(c->out, "ERR height or width cannot be negative");
        return -1;
    }
    s->kind = GEO_BOX;
    return (s->unit_m = unit_arg(c, i + 2)) < 0 ? -1 : 0;
}

/* The position of member argv[i] of zs; -1 after replying if absent. */
static int member_arg(struct cmd_ctx *c, const void *zs, int i, double *lon, double *lat)
{
    double score;
    if (!t_zset_score(zs, c->argv[i].ptr, c->argv[i].len, &score)) {
        resp_add_error(c->out, "ERR could not decode requested zset member");
        return -1;
    }
    geo_decode_score(score, lon, lat);
    return 0;
}

/* A distance as Redis writes it: 4 decimals, rounded half to even. */
static void reply_distance(struct resp_out *o, double d)
{
    char buf[64];
    long long v = d == 0 ? 0 : llrint(d * 10000.0);
    unsigned long long a = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int n = snprintf(buf, sizeof buf, "%s%llu.%04llu", v < 0 ? "-" : "", a / 10000, a % 10000);
    resp_add_bulk(o, buf, (size_t)n);
}

/* A coordinate as Redis's human long double: a RESP3 double, else a bulk. */
static void reply_coord(struct resp_out *o, double v)
{
    char buf[64];
    size_t n = util_ld2str(buf, sizeof buf, (long double)v, 1);
    if (o->proto != 3) {
        resp_add_bulk(o, buf, n);
        return;
    }
    resp_add_raw(o, ",", 1);
    resp_add_raw(o, buf, n);
    resp_add_raw(o, "\r\n", 2);
}

/* --- GEOADD GEOPOS GEOHASH GEODIST --- */

void cmd_geoadd(struct cmd_ctx *c)
{
    int first = 2, nx = 0, xx = 0;
    for (; first < c->argc; first++) {
        const struct resp_arg *a = &c->argv[first];
        if (cmd_arg_is(a, "nx"))
            nx = 1;
        else if (cmd_arg_is(a, "xx"))
            xx = 1;
        else if (!cmd_arg_is(a, "ch"))
            break;
    }
    if ((c->argc - first) % 3 || (nx && xx)) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    /* ZADD key [options] score member ..., the scores encoding the positions. */
    int n = (c->argc - first) / 3, zargc = first + 2 * n;
    struct resp_arg *zargv = util_xmalloc((size_t)zargc * sizeof *zargv);
    char *scores = util_xmalloc((size_t)(n ? n : 1) * UTIL_LL_STR_SIZE);
    zargv[0] = (struct resp_arg){"zadd", 4};
    memcpy(zargv + 1, c->argv + 1, (size_t)(first - 1) * sizeof *zargv);
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        double lon, lat;
        int at = first + 3 * i;
        ok = lonlat_arg(c, at, &lon, &lat) == 0;
        if (!ok) break;
        char *s = scores + (size_t)i * UTIL_LL_STR_SIZE;
        size_t len = util_ll2str(s, UTIL_LL_STR_SIZE, (long long)geo_score_of(lon, lat));
        zargv[first + 2 * i] = (struct resp_arg){s, len};
        zargv[first + 2 * i + 1] = c->argv[at + 2];
    }
    if (ok) {
        struct cmd_ctx z = *c;
        z.argc = zargc;
        z.argv = zargv;
        cmd_zadd(&z);
    }
    free(scores);
    free(zargv);
}

/* GEOPOS and GEOHASH: one reply per member argument, on the set at argv[1]. */
typedef void geo_member_reply_fn(struct resp_out *o, const void *zs, const struct resp_arg *m);

static void per_member(struct cmd_ctx *c, geo_member_reply_fn *fn)
{
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_add_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        fn(c->out, v ? kv_val_obj(v) : NULL, &c->argv[j]);
}

static void pos_reply(struct resp_out *o, const void *zs, const struct resp_arg *m)
{
    double score, lon, lat;
    if (!zs || !t_zset_score(zs, m->ptr, m->len, &score)) {
        resp_add_null_array(o);
        return;
    }
    geo_decode_score(score, &lon, &lat);
    resp_add_array_len(o, 2);
    reply_coord(o, lon);
    reply_coord(o, lat);
}

static void hash_reply(struct resp_out *o, const void *zs, const struct resp_arg *m)
{
    double score;
    char text[GEO_HASH_TEXT_LEN];
    if (!zs || !t_zset_score(zs, m->ptr, m->len, &score)) {
        resp_add_null(o);
        return;
    }
    geo_hash_text(score, text);
    resp_add_bulk(o, text, sizeof text);
}

void cmd_geopos(struct cmd_ctx *c)
{
    per_member(c, pos_reply);
}

void cmd_geohash(struct cmd_ctx *c)
{
    per_member(c, hash_reply);
}

void cmd_geodist(struct cmd_ctx *c)
{
    double unit_m = 1;
    if (c->argc > 5) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    if (c->argc == 5 && (unit_m = unit_arg(c, 4)) < 0) return;
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[1], &wrong);
    if (wrong) return;
    double s1, s2, lon1, lat1, lon2, lat2;
    const struct resp_arg *a = &c->argv[2], *b = &c->argv[3];
    if (!v || !t_zset_score(kv_val_obj(v), a->ptr, a->len, &s1) ||
        !t_zset_score(kv_val_obj(v), b->ptr, b->len, &s2)) {
        resp_add_null(c->out);
        return;
    }
    geo_decode_score(s1, &lon1, &lat1);
    geo_decode_score(s2, &lon2, &lat2);
    reply_distance(c->out, geo_distance(lon1, lat1, lon2, lat2) / unit_m);
}

/* --- searches --- */

enum search_flags {
    FROM_COORDS = 1 << 0, /* GEORADIUS: key lon lat radius unit */
    FROM_MEMBER = 1 << 1, /* GEORADIUSBYMEMBER: key member radius unit */
    SEARCH = 1 << 2,      /* GEOSEARCH: FROM... BY... options */
    SEARCH_STORE = 1 << 3,
    NO_STORE = 1 << 4, /* the _RO variants */
};

enum sort_order { SORT_NONE, SORT_ASC, SORT_DESC };

struct search {
    struct geo_shape shape;
    int withdist, withhash, withcoord, any, storedist;
    int from_member, from_lonlat, by_radius, by_box;
    enum sort_order sort;
    long long count;
    const struct resp_arg *store; /* the destination, or NULL */
};

struct point {
    double lon, lat, dist, score;
    size_t seen; /* the order found in: equal distances keep it */
    char *m;
    size_t len;
};

struct found {
    struct point *p;
    size_t n, cap;
};

/* Parses options from argv[j]; the source set zs (NULL: absent, whose
 * FROMMEMBER is not looked up). -1 after replying the error. */
static int search_options(struct cmd_ctx *c, int j, unsigned flags, const void *zs,
                          struct search *s)
{
    int store_ok = !(flags & (NO_STORE | SEARCH));
    for (; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        int left = c->argc - j - 1; /* arguments after this one */
        if (cmd_arg_is(a, "withdist")) {
            s->withdist = 1;
        } else if (cmd_arg_is(a, "withhash")) {
            s->withhash = 1;
        } else if (cmd_arg_is(a, "withcoord")) {
            s->withcoord = 1;
        } else if (cmd_arg_is(a, "any")) {
            s->any = 1;
        } else if (cmd_arg_is(a, "asc")) {
            s->sort = SORT_ASC;
        } else if (cmd_arg_is(a, "desc")) {
            s->sort = SORT_DESC;
        } else if (cmd_arg_is(a, "count") && left >= 1) {
            if (cmd_arg_ll(c, ++j, &s->count) < 0) return -1;
            if (s->count <= 0) {
                resp_add_error(c->out, "ERR COUNT must be > 0");
                return -1;
            }
        } else if ((cmd_arg_is(a, "store") || cmd_arg_is(a, "storedist")) && left >= 1 &&
                   store_ok) {
            s->storedist = cmd_arg_is(a, "storedist");
            s->store = &c->argv[++j];
        } else if (cmd_arg_is(a, "storedist") && (flags & SEARCH_STORE)) {
            s->storedist = 1;
        } else if (cmd_arg_is(a, "frommember") && left >= 1 && (flags & SEARCH) &&
                   !s->from_lonlat) {
            if (zs && member_arg(c, zs, j + 1, &s->shape.lon, &s->shape.lat) < 0) return -1;
            s->from_member = 1;
            j++;
        } else if (cmd_arg_is(a, "fromlonlat") && left >= 2 && (flags & SEARCH) &&
                   !s->from_member) {
            if (lonlat_arg(c, j + 1, &s->shape.lon, &s->shape.lat) < 0) return -1;
            s->from_lonlat = 1;
            j += 2;
        } else if (cmd_arg_is(a, "byradius") && left >= 2 && (flags & SEARCH) && !s->by_box) {
            if (radius_arg(c, j + 1, &s->shape) < 0) return -1;
            s->by_radius = 1;
            j += 2;
        } else if (cmd_arg_is(a, "bybox") && left >= 3 && (flags & SEARCH) && !s->by_radius) {
            if (box_arg(c, j + 1, &s->shape) < 0) return -1;
            s->by_box = 1;
            j += 3;
        } else {
            resp_add_error(c->out, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* The checks Redis makes once every option is read. */
static int search_check(struct cmd_ctx *c, unsigned flags, const struct search *s)
{
    const struct resp_arg *name = &c->argv[0];
    if (s->store && (s->withdist || s->withhash || s->withcoord)) {
        resp_add_errorf(c->out,
                        "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                        (flags & SEARCH_STORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return -1;
    }
    if ((flags & SEARCH) && !(s->from_member || s->from_lonlat)) {
        resp_add_errorf(c->out,
                        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                        (int)name->len, name->ptr);
        return -1;
    }
    if ((flags & SEARCH) && !(s->by_radius || s->by_box)) {
        resp_add_errorf(c->out, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                        (int)name->len, name->ptr);
        return -1;
    }
    if (s->any && !s->count) {
        resp_add_error(c->out, "ERR the ANY argument requires COUNT argument");
        return -1;
    }
    return 0;
}

static void found_add(struct found *f, const struct zelem *e, double lon, double lat, double dist)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 16;
        f->p = util_xrealloc(f->p, f->cap * sizeof *f->p);
    }
    struct point *p = &f->p[f->n];
    *p = (struct point){lon, lat, dist, e->score, f->n, util_xmalloc(e->len ? e->len : 1), e->len};
    memcpy(p->m, e->m, e->len);
    f->n++;
}

static int full(const struct found *f, size_t limit)
{
    return f->n && limit && f->n >= limit;
}

/* The members of cell inside the shape, in score order, until limit (0:
 * no limit) points are found. */
static void scan_cell(const void *zs, const struct geo_shape *shape, struct geo_cell cell,
                      size_t limit, struct found *f)
{
    double lo, hi;
    geo_cell_scores(cell, &lo, &hi);
    size_t first = t_zset_first_score(zs, lo, 0), upto = t_zset_upto_score(zs, hi, 1);
    struct zpos p = t_zset_at_rank(zs, first);
    for (size_t r = first; r < upto; r++, t_zset_next(&p)) {
        struct zelem e;
        double lon, lat, dist;
        t_zset_get(&p, &e);
        if (geo_within(shape, e.score, &lon, &lat, &dist)) found_add(f, &e, lon, lat, dist);
        if (full(f, limit)) break;
    }
}

static void collect(const void *zs, const struct geo_shape *shape, size_t limit, struct found *f)
{
    struct geo_cell cells[GEO_COVER_CELLS];
    geo_cover(shape, cells);
    /* Index 0 doubles as "nothing scanned yet", as in Redis: a neighbour
     * equal to the centre is scanned again (a huge radius). */
    int last = 0;
    for (int i = 0; i < GEO_COVER_CELLS; i++) {
        if (cells[i].step == 0) continue;
        if (last && cells[i].bits == cells[last].bits && cells[i].step == cells[last].step)
            continue;
        if (full(f, limit)) break;
        scan_cell(zs, shape, cells[i], limit, f);
        last = i;
    }
}

static int by_dist_asc(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    if (x->dist != y->dist) return x->dist > y->dist ? 1 : -1;
    return x->seen > y->seen ? 1 : -1;
}

static int by_dist_desc(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    if (x->dist != y->dist) return x->dist < y->dist ? 1 : -1;
    return x->seen > y->seen ? 1 : -1;
}

static void reply_points(struct cmd_ctx *c, const struct search *s, const struct found *f, size_t n)
{
    int extra = s->withdist + s->withhash + s->withcoord;
    resp_add_array_len(c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        const struct point *p = &f->p[i];
        if (extra) resp_add_array_len(c->out, extra + 1);
        resp_add_bulk(c->out, p->m, p->len);
        if (s->withdist) reply_distance(c->out, p->dist / s->shape.unit_m);
        if (s->withhash) resp_add_int(c->out, (long long)p->score);
        if (s->withcoord) {
            resp_add_array_len(c->out, 2);
            reply_coord(c->out, p->lon);
            reply_coord(c->out, p->lat);
        }
    }
}

static void store_points(struct cmd_ctx *c, const struct search *s, const struct found *f, size_t n,
                         unsigned flags)
{
    const struct resp_arg *d = s->store;
    if (n == 0) {
        if (kv_delete(c->kv, d->ptr, d->len, c->now_ms)) cmd_notify(c, NOTIFY_GENERIC, "del", d);
        resp_add_int(c->out, 0);
        return;
    }
    void *zs = t_zset_new();
    for (size_t i = 0; i < n; i++) {
        const struct point *p = &f->p[i];
        double score = s->storedist ? p->dist / s->shape.unit_m : p->score;
        t_zset_set(&zs, &c->kv->common->limits, p->m, p->len, score);
    }
    kv_set_obj(c->kv, d->ptr, d->len, KV_ZSET, zs, KV_NO_EXPIRE, c->now_ms);
    cmd_notify(c, NOTIFY_ZSET, (flags & SEARCH) ? "geosearchstore" : "georadiusstore", d);
    resp_add_int(c->out, (long long)n);
}

/* GEORADIUS, GEORADIUSBYMEMBER, GEOSEARCH and GEOSEARCHSTORE: the source
 * set at argv[src]. */
static void search_generic(struct cmd_ctx *c, int src, unsigned flags)
{
    int wrong;
    struct kv_val *v = t_zset_lookup_read(c, &c->argv[src], &wrong);
    if (wrong) return;
    const void *zs = v ? kv_val_obj(v) : NULL;
    struct search s = {0};
    int opts;
    if (flags & FROM_COORDS) {
        opts = 6;
        if (lonlat_arg(c, 2, &s.shape.lon, &s.shape.lat) < 0 || radius_arg(c, 4, &s.shape) < 0)
            return;
    } else if (flags & FROM_MEMBER) {
        opts = 5;
        if (zs && (member_arg(c, zs, 2, &s.shape.lon, &s.shape.lat) < 0 ||
                   radius_arg(c, 3, &s.shape) < 0))
            return;
    } else {
        opts = (flags & SEARCH_STORE) ? 3 : 2;
        if (flags & SEARCH_STORE) s.store = &c->argv[1];
    }
    if (search_options(c, opts, flags, zs, &s) < 0 || search_check(c, flags, &s) < 0) return;
    if (!zs) {
        if (s.store)
            store_points(c, &s, NULL, 0, flags);
        else
            resp_add_array_len(c->out, 0);
        return;
    }
    if (s.count && s.sort == SORT_NONE && !s.any) s.sort = SORT_ASC;
    struct found f = {0};
    collect(zs, &s.shape, s.any ? (size_t)s.count : 0, &f);
    size_t n = s.count && (size_t)s.count < f.n ? (size_t)s.count : f.n;
    if (s.sort != SORT_NONE && f.n > 1)
        qsort(f.p, f.n, sizeof *f.p, s.sort == SORT_ASC ? by_dist_asc : by_dist_desc);
    if (s.store)
        store_points(c, &s, &f, n, flags);
    else
        reply_points(c, &s, &f, n);
    for (size_t i = 0; i < f.n; i++)
        free(f.p[i].m);
    free(f.p);
}

void cmd_georadius(struct cmd_ctx *c)
{
    search_generic(c, 1, FROM_COORDS);
}

void cmd_georadius_ro(struct cmd_ctx *c)
{
    search_generic(c, 1, FROM_COORDS | NO_STORE);
}

void cmd_georadiusbymember(struct cmd_ctx *c)
{
    search_generic(c, 1, FROM_MEMBER);
}

void cmd_georadiusbymember_ro(struct cmd_ctx *c)
{
    search_generic(c, 1, FROM_MEMBER | NO_STORE);
}

void cmd_geosearch(struct cmd_ctx *c)
{
    search_generic(c, 1, SEARCH);
}

void cmd_geosearchstore(struct cmd_ctx *c)
{
    search_generic(c, 2, SEARCH | SEARCH_STORE);
}

int t_geo_radius_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    if (argc < 2 || max < 2) return 0;
    int n = 0, dst = 0;
    idx[n++] = 1;
    for (int i = 5; i + 1 < argc; i++) {
        if (cmd_arg_is(&argv[i], "store") || cmd_arg_is(&argv[i], "storedist")) dst = ++i;
    }
    if (dst) idx[n++] = dst;
    return n;
}
