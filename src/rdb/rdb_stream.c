/*
 * src/rdb/rdb_stream.c - a stream in RDB's object encoding, written and
 * read (see rdb_stream.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "ds/listpack.h"
#include "rdb/rdb_lp.h"
#include "rdb/rdb_stream.h"

/* ------------------------------------------------------------- writing */

static void put_id(struct text *out, struct stream_id id)
{
    rdb_put_len(out, id.ms);
    rdb_put_len(out, id.seq);
}

static void put_nodes(struct text *out, const struct stream *s, int compress)
{
    size_t n = t_stream_nodes(s);
    rdb_put_len(out, n);
    for (size_t i = 0; i < n; i++) {
        struct stream_id master;
        const unsigned char *lp = t_stream_node(s, i, &master);
        unsigned char key[STREAM_ID_BYTES];
        stream_id_encode(master, key);
        rdb_put_string(out, key, sizeof key, compress);
        struct rdb_lp w;
        rdb_lp_begin(&w);
        rdb_lp_add_listpack(&w, lp);
        size_t len;
        unsigned char *rlp = rdb_lp_end(&w, &len);
        rdb_put_string(out, rlp, len, compress);
        free(rlp);
    }
}

/* A PEL by ID (a group's pel_order or a consumer's pel); with nacks, each
 * entry's delivery time and count after its ID. */
static void put_pel(struct text *out, const struct zbt *pel, int nacks)
{
    rdb_put_len(out, zbt_len(pel));
    struct stream_pel_pos p;
    struct stream_id id;
    const struct stream_nack *n;
    t_stream_pel_seek(pel, (struct stream_id){0, 0}, &p);
    while ((n = t_stream_pel_next(&p, &id))) {
        unsigned char key[STREAM_ID_BYTES];
        stream_id_encode(id, key);
        text_put(out, (const char *)key, sizeof key);
        if (!nacks) continue;
        rdb_put_millis(out, n->delivery_time);
        rdb_put_len(out, n->delivery_count);
    }
}

static void put_group(struct text *out, const struct stream_group *g, int compress)
{
    rdb_put_string(out, g->name, g->name_len, compress);
    put_id(out, g->last_id);
    rdb_put_len(out, (uint64_t)g->entries_read); /* -1 (unknown) as Redis: 2^64 - 1 */
    put_pel(out, &g->pel_order, 1);
    size_t nc;
    struct stream_consumer **cs = t_stream_consumer_list(g, &nc);
    rdb_put_len(out, nc);
    for (size_t i = 0; i < nc; i++) {
        rdb_put_string(out, cs[i]->name, cs[i]->name_len, compress);
        rdb_put_millis(out, cs[i]->seen_time);
        put_pel(out, &cs[i]->pel, 0);
    }
    free(cs);
}

void rdb_put_stream(struct text *out, const struct stream *s, int compress)
{
    put_nodes(out, s, compress);
    struct stream_meta m;
    t_stream_meta(s, &m);
    rdb_put_len(out, t_stream_len(s));
    put_id(out, m.last_id);
    put_id(out, m.first_id);
    put_id(out, m.max_deleted_id);
    rdb_put_len(out, m.entries_added);
    size_t ng;
    struct stream_group **gs = t_stream_group_list(s, &ng);
    rdb_put_len(out, ng);
    for (size_t i = 0; i < ng; i++)
        put_group(out, gs[i], compress);
    free(gs);
}

/* ------------------------------------------------------------- reading */

/* A group's PEL entry as read, until a consumer claims it. The ID comes
 * first, so that the entry sorts and is found by its bytes. */
struct pending {
    unsigned char id[STREAM_ID_BYTES];
    int64_t time;
    uint64_t count;
    int owned;
};

struct load {
    struct rdb_in *in;
    int v2; /* STREAM_LISTPACKS_2: the counters are recorded */
    struct stream *s;
    struct pending *pel; /* the current group's, grown as its entries are read */
    size_t npel, cap;
    char *err;
    size_t errlen;
};

static int bad(struct load *l, const char *why)
{
    return util_fail(l->err, l->errlen, -1, "%s", why);
}

static int truncated(struct load *l)
{
    return bad(l, "a stream runs past the payload or is malformed");
}

static struct stream_id get_id(struct rdb_in *in)
{
    struct stream_id id;
    id.ms = rdb_get_len(in);
    id.seq = rdb_get_len(in);
    return id;
}

static int get_node(struct load *l)
{
    size_t klen = 0, len = 0;
    char *key = rdb_get_string(l->in, &klen);
    unsigned char *lp = key ? (unsigned char *)rdb_get_string(l->in, &len) : NULL;
    uint64_t count;
    int rc;
    if (!lp)
        rc = truncated(l);
    else if (klen != STREAM_ID_BYTES)
        rc = bad(l, "a stream node's key is not an ID");
    else if (rdb_lp_check(lp, len, &count) != 0)
        rc = bad(l, "a stream node's listpack is damaged");
    else
        rc = t_stream_load_node(l->s, stream_id_decode((const unsigned char *)key),
                                rdb_lp_to_listpack(lp), l->err, l->errlen);
    free(key);
    free(lp);
    return rc;
}

static int get_meta(struct load *l)
{
    struct stream_meta m = {0};
    uint64_t length = rdb_get_len(l->in);
    m.last_id = get_id(l->in);
    if (l->v2) {
        m.first_id = get_id(l->in);
        m.max_deleted_id = get_id(l->in);
        m.entries_added = rdb_get_len(l->in);
    } else {
        m.entries_added = length; /* as Redis 7.0 counts a stream of RDB 9 */
    }
    if (l->in->failed) return truncated(l);
    return t_stream_load_meta(l->s, length, &m, l->v2, l->err, l->errlen);
}

static int id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, STREAM_ID_BYTES); /* a pending entry starts with its ID */
}

/* The group's PEL into l->pel, by ID, each entry once. */
static int get_pel(struct load *l)
{
    l->npel = 0;
    uint64_t n = rdb_get_len(l->in);
    for (uint64_t i = 0; i < n && !l->in->failed; i++) {
        const unsigned char *id = rdb_get_raw(l->in, STREAM_ID_BYTES);
        int64_t time = rdb_get_millis(l->in);
        uint64_t count = rdb_get_len(l->in);
        if (l->in->failed) break; /* so each entry grows l->pel after its bytes are read */
        if (l->npel == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 16;
            l->pel = util_xrealloc(l->pel, l->cap * sizeof *l->pel);
        }
        struct pending *p = &l->pel[l->npel++];
        memcpy(p->id, id, STREAM_ID_BYTES);
        p->time = time;
        p->count = count;
        p->owned = 0;
    }
    if (l->in->failed) return truncated(l);
    if (l->npel > 1) qsort(l->pel, l->npel, sizeof *l->pel, id_cmp); /* pel may be NULL */
    for (size_t i = 1; i < l->npel; i++)
        if (id_cmp(l->pel[i - 1].id, l->pel[i].id) == 0) return bad(l, "a PEL entry twice");
    return 0;
}

/* A consumer of g and its PEL: each ID one of the group's, unowned. */
static int get_consumer(struct load *l, struct stream_group *g)
{
    size_t len = 0;
    char *name = rdb_get_string(l->in, &len);
    int64_t seen = name ? rdb_get_millis(l->in) : 0;
    struct stream_consumer *c = l->in->failed ? NULL : t_stream_consumer_create(g, name, len, seen);
    free(name);
    if (l->in->failed) return truncated(l);
    if (!c) return bad(l, "a consumer twice in its group");
    uint64_t n = rdb_get_len(l->in);
    for (uint64_t i = 0; i < n && !l->in->failed; i++) {
        const unsigned char *id = rdb_get_raw(l->in, STREAM_ID_BYTES);
        if (!id) break;
        struct pending *p =
            l->npel ? bsearch(id, l->pel, l->npel, sizeof *l->pel, id_cmp) : NULL; /* pel: NULL */
        if (!p || p->owned)
            return bad(l, "a consumer's pending entry missing from its group's PEL or owned twice");
        p->owned = 1;
        struct stream_nack *nack = t_stream_pel_claim(g, stream_id_decode(id), c);
        nack->delivery_time = p->time;
        nack->delivery_count = p->count;
    }
    return l->in->failed ? truncated(l) : 0;
}

static int get_group(struct load *l)
{
    size_t len = 0;
    char *name = rdb_get_string(l->in, &len);
    struct stream_id last = get_id(l->in);
    long long read = l->v2 ? (long long)rdb_get_len(l->in) : t_stream_estimate_read(l->s, last);
    struct stream_group *g = NULL;
    if (!l->in->failed && read >= STREAM_ENTRIES_READ_INVALID)
        g = t_stream_group_create(l->s, name, len, last, read);
    free(name);
    if (l->in->failed) return truncated(l);
    if (!g) return bad(l, "a consumer group twice, or its entries read below -1");
    if (get_pel(l) != 0) return -1;
    uint64_t n = rdb_get_len(l->in);
    for (uint64_t i = 0; i < n && !l->in->failed; i++)
        if (get_consumer(l, g) != 0) return -1;
    if (l->in->failed) return truncated(l);
    for (size_t i = 0; i < l->npel; i++)
        if (!l->pel[i].owned) return bad(l, "a PEL entry no consumer owns");
    return 0;
}

int rdb_get_stream(struct rdb_in *in, int v2, struct stream **out, char *err, size_t errlen)
{
    struct load l = {.in = in, .v2 = v2, .s = t_stream_new(), .err = err, .errlen = errlen};
    int rc = 0;
    uint64_t nodes = rdb_get_len(in);
    for (uint64_t i = 0; rc == 0 && i < nodes && !in->failed; i++)
        rc = get_node(&l);
    if (rc == 0) rc = in->failed ? truncated(&l) : get_meta(&l);
    uint64_t groups = rc == 0 ? rdb_get_len(in) : 0;
    for (uint64_t i = 0; rc == 0 && i < groups && !in->failed; i++)
        rc = get_group(&l);
    if (rc == 0 && in->failed) rc = truncated(&l);
    free(l.pel);
    if (rc != 0) {
        t_stream_ops.free(l.s);
        return -1;
    }
    *out = l.s;
    return 0;
}
