/*
 * src/types/t_stream.c - the stream type: nodes of listpacks, appends, deletions,
 * trimming, iteration, and the keyspace's operations on a stream (see
 * t_stream.h).
 */
#include "types/t_stream.h"
#include "types/t_stream_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace/digest.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define F_DELETED 1
#define F_SAMEFIELDS 2

/* Positions in a node's master entry. */
#define M_COUNT 0   /* live entries */
#define M_DELETED 1 /* tombstones */
#define M_NFIELDS 2

/* Redis's listpack has one byte less of framing than src/ds/listpack.h's:
 * node sizes are compared as Redis counts them, so nodes split where
 * Redis's do. */
#define LP_REDIS_BYTES(lp) (lp_bytes(lp) - 1)

int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return 0;
}

size_t stream_id_text(struct stream_id id, char *buf)
{
    size_t n = util_ull2str(buf, STREAM_ID_TEXT_MAX, id.ms);
    buf[n++] = '-';
    return n + util_ull2str(buf + n, STREAM_ID_TEXT_MAX - n, id.seq);
}

void stream_id_encode(struct stream_id id, unsigned char b[STREAM_ID_BYTES])
{
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(id.ms >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(id.seq >> (56 - 8 * i));
    }
}

struct stream_id stream_id_decode(const unsigned char b[STREAM_ID_BYTES])
{
    struct stream_id id = {0, 0};
    for (int i = 0; i < 8; i++) {
        id.ms = id.ms << 8 | b[i];
        id.seq = id.seq << 8 | b[8 + i];
    }
    return id;
}

/* --- listpack helpers --- */

static long long lp_int(const unsigned char *lp, size_t pos)
{
    long long v = 0;
    int ok = lp_get_ll(lp, pos, &v);
    ASSERT(ok);
    return v;
}

static unsigned char *lp_append_int(unsigned char *lp, long long v)
{
    char b[UTIL_LL_STR_SIZE];
    return lp_append(lp, b, util_ll2str(b, sizeof b, v));
}

static unsigned char *lp_set_int(unsigned char *lp, size_t pos, long long v)
{
    char b[UTIL_LL_STR_SIZE];
    return lp_replace(lp, pos, b, util_ll2str(b, sizeof b, v));
}

/* The position of the index-th element (index < a few). */
static size_t lp_at(const unsigned char *lp, int index)
{
    size_t p = lp_first(lp);
    while (index-- > 0)
        p = lp_next(lp, p);
    return p;
}

static size_t lp_skip(const unsigned char *lp, size_t p, long long n)
{
    while (n-- > 0)
        p = lp_next(lp, p);
    return p;
}

/* --- a node's entries --- */

/* An entry as read from its node. */
struct entry {
    size_t flags_pos; /* its first element */
    long long flags;
    struct stream_id id;
    long long nfields;
    size_t first;     /* its first field (or value, SAMEFIELDS) */
    size_t count_pos; /* its lp-count */
};

/* The node's master fields: their count and first position. */
static long long master_fields(const unsigned char *lp, size_t *first)
{
    size_t p = lp_at(lp, M_NFIELDS);
    *first = lp_next(lp, p);
    return lp_int(lp, p);
}

/* The node's first entry's position (after the master's 0). */
static size_t first_entry(const unsigned char *lp)
{
    size_t f;
    long long n = master_fields(lp, &f);
    return lp_next(lp, lp_skip(lp, f, n));
}

static void entry_read(const struct snode *nd, size_t pos, struct entry *e)
{
    const unsigned char *lp = nd->lp;
    e->flags_pos = pos;
    e->flags = lp_int(lp, pos);
    pos = lp_next(lp, pos);
    e->id.ms = nd->master.ms + (uint64_t)lp_int(lp, pos);
    pos = lp_next(lp, pos);
    e->id.seq = nd->master.seq + (uint64_t)lp_int(lp, pos);
    pos = lp_next(lp, pos);
    if (e->flags & F_SAMEFIELDS) {
        size_t f;
        e->nfields = master_fields(lp, &f);
        e->first = pos;
        e->count_pos = lp_skip(lp, pos, e->nfields);
    } else {
        e->nfields = lp_int(lp, pos);
        e->first = lp_next(lp, pos);
        e->count_pos = lp_skip(lp, e->first, 2 * e->nfields);
    }
}

/* The entry whose lp-count is at count_pos: its first element. */
static size_t entry_start(const unsigned char *lp, size_t count_pos)
{
    long long n = lp_int(lp, count_pos);
    size_t p = count_pos;
    while (n-- > 0)
        p = lp_prev(lp, p);
    return p;
}

/* The node's last entry (tombstone or not). */
static void node_last(const struct snode *nd, struct entry *e)
{
    entry_read(nd, entry_start(nd->lp, lp_last(nd->lp)), e);
}

/* --- the stream --- */

struct stream *t_stream_new(void)
{
    return util_xcalloc(1, sizeof(struct stream));
}

uint64_t t_stream_len(const struct stream *s)
{
    return s->length;
}

size_t t_stream_nodes(const struct stream *s)
{
    return s->n;
}

void t_stream_meta(const struct stream *s, struct stream_meta *m)
{
    m->last_id = s->last_id;
    m->first_id = s->first_id;
    m->max_deleted_id = s->max_deleted_id;
    m->entries_added = s->entries_added;
}

void t_stream_set_meta(struct stream *s, struct stream_id last_id, uint64_t entries_added,
                       struct stream_id max_deleted_id)
{
    s->last_id = last_id;
    s->entries_added = entries_added;
    s->max_deleted_id = max_deleted_id;
}

/* The first live entry's ID, 0-0 if none. */
static void update_first_id(struct stream *s)
{
    struct stream_iter it;
    struct stream_id id = {0, 0};
    size_t nf;
    t_stream_iter_start(&it, s, (struct stream_id){0, 0},
                        (struct stream_id){UINT64_MAX, UINT64_MAX}, 0);
    if (!t_stream_iter_next(&it, &id, &nf)) id = (struct stream_id){0, 0};
    s->first_id = id;
}

static void node_remove(struct stream *s, size_t i)
{
    ASSERT(i < s->n);
    lp_free(s->nodes[i].lp);
    memmove(&s->nodes[i], &s->nodes[i + 1], (s->n - i - 1) * sizeof *s->nodes);
    s->n--;
}

/* A new tail node whose master entry holds the fields of fv. */
static struct snode *node_open(struct stream *s, struct stream_id id, size_t nfields,
                               const struct resp_arg *fv)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4;
        s->nodes = util_xrealloc(s->nodes, s->cap * sizeof *s->nodes);
    }
    struct snode *nd = &s->nodes[s->n++];
    nd->master = id;
    nd->lp = lp_append_int(lp_new(), 0); /* count: the append adds its entry */
    nd->lp = lp_append_int(nd->lp, 0);
    nd->lp = lp_append_int(nd->lp, (long long)nfields);
    for (size_t i = 0; i < nfields; i++)
        nd->lp = lp_append(nd->lp, fv[2 * i].ptr, fv[2 * i].len);
    nd->lp = lp_append_int(nd->lp, 0);
    return nd;
}

/* 1 if the tail node has no room for an entry of elebytes bytes. */
static int node_full(const struct snode *nd, size_t elebytes)
{
    if (LP_REDIS_BYTES(nd->lp) + elebytes >= STREAM_NODE_MAX_BYTES) return 1;
    long long entries =
        lp_int(nd->lp, lp_at(nd->lp, M_COUNT)) + lp_int(nd->lp, lp_at(nd->lp, M_DELETED));
    return entries >= STREAM_NODE_MAX_ENTRIES;
}

static int same_fields(const unsigned char *lp, size_t nfields, const struct resp_arg *fv)
{
    size_t p;
    if (master_fields(lp, &p) != (long long)nfields) return 0;
    for (size_t i = 0; i < nfields; i++, p = lp_next(lp, p))
        if (!lp_eq(lp, p, fv[2 * i].ptr, fv[2 * i].len)) return 0;
    return 1;
}

/* Appends the entry to node nd (the tail), flags given but SAMEFIELDS. */
static void node_add(struct snode *nd, struct stream_id id, long long flags, size_t nfields,
                     const struct resp_arg *fv)
{
    int same = same_fields(nd->lp, nfields, fv);
    size_t counter = lp_at(nd->lp, (flags & F_DELETED) ? M_DELETED : M_COUNT);
    nd->lp = lp_set_int(nd->lp, counter, lp_int(nd->lp, counter) + 1);
    nd->lp = lp_append_int(nd->lp, flags | (same ? F_SAMEFIELDS : 0));
    nd->lp = lp_append_int(nd->lp, (long long)(id.ms - nd->master.ms));
    nd->lp = lp_append_int(nd->lp, (long long)(id.seq - nd->master.seq));
    if (!same) nd->lp = lp_append_int(nd->lp, (long long)nfields);
    for (size_t i = 0; i < nfields; i++) {
        if (!same) nd->lp = lp_append(nd->lp, fv[2 * i].ptr, fv[2 * i].len);
        nd->lp = lp_append(nd->lp, fv[2 * i + 1].ptr, fv[2 * i + 1].len);
    }
    nd->lp = lp_append_int(nd->lp, (long long)(3 + nfields + (same ? 0 : nfields + 1)));
}

void t_stream_append(struct stream *s, struct stream_id id, size_t nfields,
                     const struct resp_arg *fv)
{
    /* XADD chose id above the last one (new_id in src/types/t_stream_cmd.c). */
    ASSERT(stream_id_cmp(id, s->last_id) > 0 && nfields > 0);
    uint64_t len0 = s->length;
    size_t elebytes = 0;
    for (size_t i = 0; i < 2 * nfields; i++)
        elebytes += fv[i].len;
    struct snode *nd = s->n ? &s->nodes[s->n - 1] : NULL;
    if (!nd || node_full(nd, elebytes)) nd = node_open(s, id, nfields, fv);
    node_add(nd, id, 0, nfields, fv);
    s->length++;
    s->entries_added++;
    s->last_id = id;
    if (s->length == 1) s->first_id = id;
    ASSERT(s->length == len0 + 1 && s->n > 0);
}

/* The last node whose master ID is <= id, or s->n if none. */
static size_t node_of(const struct stream *s, struct stream_id id)
{
    size_t lo = 0, hi = s->n; /* first node with master > id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (stream_id_cmp(s->nodes[mid].master, id) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : s->n;
}

/* Marks the entry at e deleted in node i (removing the node when it was its
 * last live entry). */
static void entry_delete(struct stream *s, size_t i, const struct entry *e)
{
    struct snode *nd = &s->nodes[i];
    long long live = lp_int(nd->lp, lp_at(nd->lp, M_COUNT));
    ASSERT(live >= 1 && s->length >= (uint64_t)live && "a node's live count above the stream's");
    if (live == 1) {
        node_remove(s, i);
    } else {
        nd->lp = lp_set_int(nd->lp, e->flags_pos, e->flags | F_DELETED); /* same size */
        nd->lp = lp_set_int(nd->lp, lp_at(nd->lp, M_COUNT), live - 1);
        size_t d = lp_at(nd->lp, M_DELETED);
        nd->lp = lp_set_int(nd->lp, d, lp_int(nd->lp, d) + 1);
    }
    s->length--;
}

int t_stream_delete(struct stream *s, struct stream_id id)
{
    size_t i = node_of(s, id);
    if (i == s->n) return 0;
    const struct snode *nd = &s->nodes[i];
    for (size_t p = first_entry(nd->lp); p != lp_end(nd->lp);) {
        struct entry e;
        entry_read(nd, p, &e);
        int c = stream_id_cmp(e.id, id);
        if (c > 0) break;
        if (c == 0) {
            if (e.flags & F_DELETED) return 0;
            entry_delete(s, i, &e);
            if (stream_id_cmp(id, s->max_deleted_id) > 0) s->max_deleted_id = id;
            if (s->length == 0)
                s->first_id = (struct stream_id){0, 0};
            else if (stream_id_cmp(id, s->first_id) == 0)
                update_first_id(s);
            return 1;
        }
        p = lp_next(nd->lp, e.count_pos);
    }
    return 0;
}

/* Marks the head entries of node 0 deleted while the trim asks, as Redis's
 * exact trim does inside the first node it cannot remove whole. */
static uint64_t trim_inside(struct stream *s, const struct stream_trim *t)
{
    struct snode *nd = &s->nodes[0];
    uint64_t gone = 0;
    for (size_t p = first_entry(nd->lp); p != lp_end(nd->lp);) {
        struct entry e;
        entry_read(nd, p, &e);
        if (t->by_minid ? stream_id_cmp(e.id, t->minid) >= 0 : s->length <= t->maxlen) break;
        if (!(e.flags & F_DELETED)) {
            nd->lp = lp_set_int(nd->lp, e.flags_pos, e.flags | F_DELETED); /* same size */
            s->length--;
            gone++;
        }
        p = lp_next(nd->lp, e.count_pos);
    }
    if (gone) {
        size_t c = lp_at(nd->lp, M_COUNT);
        nd->lp = lp_set_int(nd->lp, c, lp_int(nd->lp, c) - (long long)gone);
        size_t d = lp_at(nd->lp, M_DELETED);
        nd->lp = lp_set_int(nd->lp, d, lp_int(nd->lp, d) + (long long)gone);
    }
    return gone;
}

uint64_t t_stream_trim(struct stream *s, const struct stream_trim *t)
{
    uint64_t deleted = 0;
    while (s->n) {
        if (!t->by_minid && s->length <= t->maxlen) break;
        struct snode *nd = &s->nodes[0];
        uint64_t entries = (uint64_t)lp_int(nd->lp, lp_at(nd->lp, M_COUNT));
        if (t->limit && deleted + entries > t->limit) break;
        int whole;
        if (t->by_minid) {
            struct entry last;
            node_last(nd, &last);
            whole = stream_id_cmp(last.id, t->minid) < 0;
        } else {
            whole = s->length - entries >= t->maxlen;
        }
        if (whole) {
            node_remove(s, 0);
            s->length -= entries;
            deleted += entries;
            continue;
        }
        if (!t->approx) deleted += trim_inside(s, t);
        break;
    }
    if (s->length == 0)
        s->first_id = (struct stream_id){0, 0};
    else if (deleted)
        update_first_id(s);
    return deleted;
}

/* --- a stream from its parts (an RDB payload) --- */

const unsigned char *t_stream_node(const struct stream *s, size_t i, struct stream_id *master)
{
    ASSERT(i < s->n);
    *master = s->nodes[i].master;
    return s->nodes[i].lp;
}

/* A walk over a listpack being checked: a step past its end, or an
 * integer that is not one, marks it bad (and it stays so). */
struct lp_walk {
    const unsigned char *lp;
    size_t pos;
    int bad;
};

static void walk_skip(struct lp_walk *w, long long n)
{
    for (; n > 0 && !w->bad; n--) {
        if (w->pos == lp_end(w->lp))
            w->bad = 1;
        else
            w->pos = lp_next(w->lp, w->pos);
    }
}

static long long walk_int(struct lp_walk *w)
{
    long long v = 0;
    if (w->bad || w->pos == lp_end(w->lp) || !lp_get_ll(w->lp, w->pos, &v)) {
        w->bad = 1;
        return 0;
    }
    w->pos = lp_next(w->lp, w->pos);
    return v;
}

/* One entry of a node whose master has mf fields: its flags and ID, and
 * the walk past it (bad when it is malformed). */
static void walk_entry(struct lp_walk *w, struct stream_id master, long long mf, long long *flags,
                       struct stream_id *id)
{
    long long max = (long long)lp_len(w->lp); /* no entry has more elements */
    *flags = walk_int(w);
    id->ms = master.ms + (uint64_t)walk_int(w);
    id->seq = master.seq + (uint64_t)walk_int(w);
    long long nf = mf, elements = 3 + mf; /* flags, ID, values */
    if (!w->bad && !(*flags & F_SAMEFIELDS)) {
        nf = walk_int(w);
        if (nf < 1 || nf > max) {
            w->bad = 1;
            return;
        }
        elements = 4 + 2 * nf; /* and the count, the fields */
        walk_skip(w, nf);
    }
    if (*flags & ~(long long)(F_DELETED | F_SAMEFIELDS)) w->bad = 1;
    walk_skip(w, nf);
    if (walk_int(w) != elements) w->bad = 1;
}

/* Node lp checked whole (see t_stream_load_node); its live entries in
 * *live. */
static int node_check(struct stream_id master, const unsigned char *lp, long long *live)
{
    struct lp_walk w = {lp, lp_first(lp), 0};
    long long count = walk_int(&w), deleted = walk_int(&w), mf = walk_int(&w);
    if (w.bad || count < 0 || deleted < 0 || mf < 1 || mf > (long long)lp_len(lp)) return -1;
    walk_skip(&w, mf);
    if (walk_int(&w) != 0 || w.bad) return -1;
    long long seen_live = 0, seen_deleted = 0;
    struct stream_id prev = master;
    int first = 1;
    while (w.pos != lp_end(lp)) {
        long long flags;
        struct stream_id id;
        walk_entry(&w, master, mf, &flags, &id);
        if (w.bad || stream_id_cmp(id, prev) < (first ? 0 : 1)) return -1;
        prev = id;
        first = 0;
        if (flags & F_DELETED)
            seen_deleted++;
        else
            seen_live++;
    }
    if (first || seen_live != count || seen_deleted != deleted) return -1;
    *live = count;
    return 0;
}

int t_stream_load_node(struct stream *s, struct stream_id master, unsigned char *lp, char *err,
                       size_t errlen)
{
    struct entry last;
    if (s->n) node_last(&s->nodes[s->n - 1], &last);
    long long live = 0;
    if (node_check(master, lp, &live) != 0 || (s->n && stream_id_cmp(master, last.id) <= 0)) {
        lp_free(lp);
        return util_fail(err, errlen, -1,
                         "a stream node malformed, or its IDs out of order with the nodes before");
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4;
        s->nodes = util_xrealloc(s->nodes, s->cap * sizeof *s->nodes);
    }
    s->nodes[s->n++] = (struct snode){master, lp};
    s->length += (uint64_t)live;
    return 0;
}

int t_stream_load_meta(struct stream *s, uint64_t length, const struct stream_meta *m,
                       int check_first, char *err, size_t errlen)
{
    struct entry last;
    if (s->n) node_last(&s->nodes[s->n - 1], &last);
    if (length != s->length || (s->n && stream_id_cmp(last.id, m->last_id) > 0) ||
        m->entries_added < length)
        return util_fail(err, errlen, -1,
                         "a stream's length, last ID or entries added disagree with its entries");
    s->last_id = m->last_id;
    s->max_deleted_id = m->max_deleted_id;
    s->entries_added = m->entries_added;
    update_first_id(s);
    if (check_first && stream_id_cmp(s->first_id, m->first_id) != 0)
        return util_fail(err, errlen, -1, "a stream's first ID is not its first entry's");
    return 0;
}

/* --- iteration --- */

void t_stream_iter_start(struct stream_iter *it, const struct stream *s, struct stream_id start,
                         struct stream_id end, int rev)
{
    memset(it, 0, sizeof *it);
    it->s = s;
    it->start = start;
    it->end = end;
    it->rev = rev;
    size_t i = node_of(s, rev ? end : start);
    if (rev)
        it->node = i; /* s->n (none at or before end): done */
    else
        it->node = i == s->n ? 0 : i;
}

/* Moves to the next entry of the walk (tombstones included): 1 and *e, or
 * 0 when every node was walked. */
static int walk(struct stream_iter *it, struct entry *e)
{
    const struct stream *s = it->s;
    for (;;) {
        if (it->node >= s->n) return 0;
        const struct snode *nd = &s->nodes[it->node];
        size_t p;
        if (!it->rev) {
            p = it->in_node ? lp_next(nd->lp, it->pos) : first_entry(nd->lp);
            if (p != lp_end(nd->lp)) {
                entry_read(nd, p, e);
                it->in_node = 1;
                it->pos = e->count_pos;
                return 1;
            }
            it->node++;
        } else {
            size_t last = it->in_node ? lp_prev(nd->lp, it->pos) : lp_last(nd->lp);
            if (lp_int(nd->lp, last) != 0) { /* 0: the master's terminator */
                entry_read(nd, entry_start(nd->lp, last), e);
                it->in_node = 1;
                it->pos = e->flags_pos;
                return 1;
            }
            if (it->node == 0) {
                it->node = s->n;
                return 0;
            }
            it->node--;
        }
        it->in_node = 0;
    }
}

int t_stream_iter_next(struct stream_iter *it, struct stream_id *id, size_t *nfields)
{
    struct entry e;
    while (walk(it, &e)) {
        if (e.flags & F_DELETED) continue;
        if (!it->rev) {
            if (stream_id_cmp(e.id, it->start) < 0) continue;
            if (stream_id_cmp(e.id, it->end) > 0) break;
        } else {
            if (stream_id_cmp(e.id, it->end) > 0) continue;
            if (stream_id_cmp(e.id, it->start) < 0) break;
        }
        const unsigned char *lp = it->s->nodes[it->node].lp;
        it->samefields = (e.flags & F_SAMEFIELDS) != 0;
        if (it->samefields) master_fields(lp, &it->fields);
        it->values = e.first;
        if (!it->samefields) it->fields = e.first;
        *id = e.id;
        *nfields = (size_t)e.nfields;
        return 1;
    }
    it->node = it->s->n;
    return 0;
}

void t_stream_iter_field(struct stream_iter *it, struct stream_field *out)
{
    const unsigned char *lp = it->s->nodes[it->node].lp;
    if (it->samefields) {
        out->f = lp_get(lp, it->fields, out->fbuf, &out->flen);
        it->fields = lp_next(lp, it->fields);
        out->v = lp_get(lp, it->values, out->vbuf, &out->vlen);
        it->values = lp_next(lp, it->values);
    } else {
        out->f = lp_get(lp, it->fields, out->fbuf, &out->flen);
        size_t v = lp_next(lp, it->fields);
        out->v = lp_get(lp, v, out->vbuf, &out->vlen);
        it->fields = lp_next(lp, v);
    }
}

/* --- the keyspace's operations (src/keyspace/types.h) --- */

static const char *st_encoding(const void *obj)
{
    (void)obj;
    return "stream";
}

static void st_free(void *obj)
{
    struct stream *s = obj;
    for (size_t i = 0; i < s->n; i++)
        lp_free(s->nodes[i].lp);
    free(s->nodes);
    stream_groups_free(s);
    free(s);
}

static void *st_dup(const void *obj)
{
    const struct stream *s = obj;
    struct stream *d = util_xmalloc(sizeof *d);
    *d = *s;
    d->cap = s->n;
    d->nodes = s->n ? util_xmalloc(s->n * sizeof *d->nodes) : NULL;
    for (size_t i = 0; i < s->n; i++)
        d->nodes[i] = (struct snode){s->nodes[i].master, lp_dup(s->nodes[i].lp)};
    stream_groups_dup(d, s);
    return d;
}

static size_t st_length(const void *obj)
{
    return (size_t)((const struct stream *)obj)->length;
}

static size_t st_memory(const void *obj, size_t samples)
{
    (void)samples; /* exact: the nodes' bytes are known */
    const struct stream *s = obj;
    size_t n = sizeof *s + s->cap * sizeof *s->nodes;
    for (size_t i = 0; i < s->n; i++)
        n += lp_bytes(s->nodes[i].lp);
    return n + stream_groups_memory(s);
}

static void put_id(type_put_fn *put, void *ud, struct stream_id id)
{
    type_put_u64(put, ud, id.ms);
    type_put_u64(put, ud, id.seq);
}

static int get_id(struct type_reader *r, struct stream_id *id)
{
    return type_get_u64(r, &id->ms) < 0 || type_get_u64(r, &id->seq) < 0 ? -1 : 0;
}

/* Snapshot payload: the node count, the recorded IDs and counter, then per
 * node its master ID and fields and every entry, tombstones included
 * (flags, ID, fields and values), so that load() rebuilds the same nodes;
 * last, the consumer groups (src/types/t_stream_cg.c). */
static void st_save(const void *obj, type_put_fn *put, void *ud)
{
    const struct stream *s = obj;
    type_put_u32(put, ud, (uint32_t)s->n);
    put_id(put, ud, s->last_id);
    put_id(put, ud, s->max_deleted_id);
    type_put_u64(put, ud, s->entries_added);
    for (size_t i = 0; i < s->n; i++) {
        const struct snode *nd = &s->nodes[i];
        size_t f;
        long long mf = master_fields(nd->lp, &f);
        put_id(put, ud, nd->master);
        type_put_u32(put, ud, (uint32_t)mf);
        for (long long k = 0; k < mf; k++, f = lp_next(nd->lp, f)) {
            char buf[LP_INTBUF];
            size_t len;
            const char *p = lp_get(nd->lp, f, buf, &len);
            type_put_str(put, ud, p, len);
        }
        type_put_u32(put, ud,
                     (uint32_t)(lp_int(nd->lp, lp_at(nd->lp, M_COUNT)) +
                                lp_int(nd->lp, lp_at(nd->lp, M_DELETED))));
        for (size_t p = first_entry(nd->lp); p != lp_end(nd->lp);) {
            struct entry e;
            entry_read(nd, p, &e);
            type_put_u32(put, ud, (uint32_t)(e.flags & F_DELETED));
            put_id(put, ud, e.id);
            type_put_u32(put, ud, (uint32_t)e.nfields);
            struct stream_iter it = {.s = s, .node = i};
            it.samefields = (e.flags & F_SAMEFIELDS) != 0;
            if (it.samefields) master_fields(nd->lp, &it.fields);
            if (!it.samefields) it.fields = e.first;
            it.values = e.first;
            for (long long k = 0; k < e.nfields; k++) {
                struct stream_field sf;
                t_stream_iter_field(&it, &sf);
                type_put_str(put, ud, sf.f, sf.flen);
                type_put_str(put, ud, sf.v, sf.vlen);
            }
            p = lp_next(nd->lp, e.count_pos);
        }
    }
    stream_groups_save(s, put, ud);
}

/* Reads nfields (>= 1) strings, or pairs, into *fv (grown as needed). */
static int get_strs(struct type_reader *r, uint32_t n, struct resp_arg **fv, size_t *cap)
{
    if (n > r->len - r->off) return -1; /* each takes at least 4 bytes */
    if (n > *cap) {
        *cap = n;
        *fv = util_xrealloc(*fv, n * sizeof **fv);
    }
    for (uint32_t k = 0; k < n; k++)
        if (type_get_str(r, &(*fv)[k].ptr, &(*fv)[k].len) < 0) return -1;
    return 0;
}

static int load_node(struct stream *s, struct type_reader *r, struct stream_id *prev, int *any,
                     struct resp_arg **fv, size_t *cap)
{
    struct stream_id master;
    uint32_t mf, entries;
    if (get_id(r, &master) < 0 || type_get_u32(r, &mf) < 0 || mf == 0) return -1;
    if (get_strs(r, mf, fv, cap) < 0) return -1;
    /* node_open takes pairs: spread the master fields out */
    struct resp_arg *pairs = util_xmalloc(2 * (size_t)mf * sizeof *pairs);
    for (uint32_t k = 0; k < mf; k++)
        pairs[2 * k] = pairs[2 * k + 1] = (*fv)[k];
    node_open(s, master, mf, pairs);
    free(pairs);
    if (type_get_u32(r, &entries) < 0 || entries == 0) return -1;
    long long live = 0;
    for (uint32_t j = 0; j < entries; j++) {
        uint32_t flags, nf;
        struct stream_id id;
        if (type_get_u32(r, &flags) < 0 || flags > F_DELETED || get_id(r, &id) < 0 ||
            type_get_u32(r, &nf) < 0 || nf == 0 || nf > UINT32_MAX / 2)
            return -1;
        if (stream_id_cmp(id, master) < 0 || (*any && stream_id_cmp(id, *prev) <= 0)) return -1;
        if (get_strs(r, 2 * nf, fv, cap) < 0) return -1;
        node_add(&s->nodes[s->n - 1], id, flags, nf, *fv);
        *prev = id;
        *any = 1;
        live += !(flags & F_DELETED);
    }
    s->length += (uint64_t)live; /* 0: tombstones only, an exact trim's leftover */
    return 0;
}

static void *st_load(const unsigned char *p, size_t len, const struct kv_limits *lim, char *err,
                     size_t errlen)
{
    (void)lim; /* nodes come back as they were saved */
    struct type_reader r = {p, len, 0};
    struct stream *s = t_stream_new();
    uint32_t nodes;
    struct resp_arg *fv = NULL;
    size_t cap = 0;
    struct stream_id prev = {0, 0};
    int any = 0, ok = type_get_u32(&r, &nodes) == 0 && get_id(&r, &s->last_id) == 0 &&
                      get_id(&r, &s->max_deleted_id) == 0 &&
                      type_get_u64(&r, &s->entries_added) == 0;
    for (uint32_t i = 0; ok && i < nodes; i++) {
        if (ok) ok = load_node(s, &r, &prev, &any, &fv, &cap) == 0;
        if (ok && i && stream_id_cmp(s->nodes[i].master, s->nodes[i - 1].master) <= 0) ok = 0;
    }
    free(fv);
    if (ok) ok = stream_groups_load(s, &r) == 0;
    if (!ok || (any && stream_id_cmp(prev, s->last_id) > 0) || s->entries_added < s->length) {
        snprintf(err, errlen, "stream entries malformed, out of order or past its last ID");
        st_free(s);
        return NULL;
    }
    if (type_get_end(&r, err, errlen) < 0) {
        st_free(s);
        return NULL;
    }
    update_first_id(s);
    return s;
}

struct bytes {
    char *p;
    size_t n, cap;
};

static void bytes_put(void *ud, const void *p, size_t n)
{
    struct bytes *b = ud;
    if (b->cap - b->n < n) {
        b->cap = b->cap * 2 > b->n + n ? b->cap * 2 : b->n + n;
        b->p = util_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* DEBUG DIGEST: each live entry's "ms.seq", fields and values mixed in
 * order, as Redis 7.0; then, beyond Redis (whose digest leaves them out),
 * the stream's last ID, max deleted ID and entries added, and its consumer
 * groups as the snapshot holds them, so that replicas that differ in them
 * do not compare equal. */
static void st_digest(const void *obj, unsigned char d[DIGEST_LEN])
{
    const struct stream *s = obj;
    struct bytes meta = {NULL, 0, 0};
    put_id(bytes_put, &meta, s->last_id);
    put_id(bytes_put, &meta, s->max_deleted_id);
    type_put_u64(bytes_put, &meta, s->entries_added);
    stream_groups_save(s, bytes_put, &meta);
    struct stream_iter it;
    struct stream_id id;
    size_t nf;
    t_stream_iter_start(&it, obj, (struct stream_id){0, 0},
                        (struct stream_id){UINT64_MAX, UINT64_MAX}, 0);
    while (t_stream_iter_next(&it, &id, &nf)) {
        char buf[STREAM_ID_TEXT_MAX];
        int n = snprintf(buf, sizeof buf, "%llu.%llu", (unsigned long long)id.ms,
                         (unsigned long long)id.seq);
        digest_mix(d, buf, (size_t)n);
        while (nf--) {
            struct stream_field f;
            t_stream_iter_field(&it, &f);
            digest_mix(d, f.f, f.flen);
            digest_mix(d, f.v, f.vlen);
        }
    }
    digest_mix(d, meta.p, meta.n);
    free(meta.p);
}

const struct kv_type_ops t_stream_ops = {
    .name = "stream",
    .encoding = st_encoding,
    .free = st_free,
    .dup = st_dup,
    .length = st_length,
    .memory = st_memory,
    .save = st_save,
    .load = st_load,
    .digest = st_digest,
};
