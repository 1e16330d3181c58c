/*
 * src/types/t_stream_cg.c - a stream's consumer groups: groups, consumers, the
 * pending entries lists, their snapshot payload, and the read counters
 * behind XINFO's lag (see t_stream.h).
 */
#include <stdlib.h>
#include <string.h>

#include "types/t_stream.h"
#include "types/t_stream_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* Each table gets its own seed (its address, scrambled), as src/types/t_hash.c. */
static void table_init(struct dict *d)
{
    uint64_t s = (uint64_t)(uintptr_t)d;
    dict_init(d, util_rand64(&s));
}

/* --- groups --- */

size_t t_stream_group_count(const struct stream *s)
{
    return s->groups ? (size_t)dict_size(s->groups) : 0;
}

struct stream_group *t_stream_group(const struct stream *s, const char *name, size_t len)
{
    if (!s->groups) return NULL;
    struct dict_entry *e = dict_find(s->groups, name, len);
    return e ? e->val : NULL;
}

struct stream_group *t_stream_group_create(struct stream *s, const char *name, size_t len,
                                           struct stream_id last_id, long long entries_read)
{
    if (!s->groups) {
        s->groups = util_xmalloc(sizeof *s->groups);
        table_init(s->groups);
    }
    struct stream_group *g = util_xcalloc(1, sizeof *g);
    struct dict_entry *e = dict_add(s->groups, name, len, g, NULL);
    if (!e) {
        free(g);
        return NULL;
    }
    g->name = e->key;
    g->name_len = len;
    g->last_id = last_id;
    g->entries_read = entries_read;
    table_init(&g->pel);
    zbt_init(&g->pel_order);
    table_init(&g->consumers);
    return g;
}

static void consumer_free(void *v)
{
    struct stream_consumer *c = v;
    zbt_free(&c->pel);
    free(c);
}

static void group_free(void *v)
{
    struct stream_group *g = v;
    zbt_free(&g->pel_order);
    dict_free(&g->pel, free);
    dict_free(&g->consumers, consumer_free);
    free(g);
}

int t_stream_group_destroy(struct stream *s, const char *name, size_t len)
{
    void *g;
    if (!s->groups || !dict_delete(s->groups, name, len, &g)) return 0;
    group_free(g);
    return 1;
}

void stream_groups_free(struct stream *s)
{
    if (!s->groups) return;
    dict_free(s->groups, group_free);
    free(s->groups);
    s->groups = NULL;
}

/* Collects a dict's values, then sorts them by their entry's key bytes. */
struct collect {
    void **vals;
    const struct dict_entry **keys;
    size_t n;
};

static void collect_one(void *ud, struct dict_entry *e)
{
    struct collect *c = ud;
    c->vals[c->n] = e->val;
    c->keys[c->n++] = e;
}

static int key_cmp(const void *a, const void *b)
{
    const struct dict_entry *x = *(const struct dict_entry *const *)a;
    const struct dict_entry *y = *(const struct dict_entry *const *)b;
    return zbt_cmp(0, x, 0, y);
}

static void **sorted_values(struct dict *d, size_t *n)
{
    size_t size = (size_t)dict_size(d);
    struct collect c = {util_xmalloc((size ? size : 1) * sizeof *c.vals),
                        util_xmalloc((size ? size : 1) * sizeof *c.keys), 0};
    dict_foreach(d, collect_one, &c);
    ASSERT(c.n == size);
    qsort(c.keys, c.n, sizeof *c.keys, key_cmp);
    for (size_t i = 0; i < c.n; i++)
        c.vals[i] = c.keys[i]->val;
    free(c.keys);
    *n = c.n;
    return c.vals;
}

struct stream_group **t_stream_group_list(const struct stream *s, size_t *n)
{
    if (!s->groups) {
        *n = 0;
        return util_xmalloc(sizeof(struct stream_group *));
    }
    return (struct stream_group **)sorted_values(s->groups, n);
}

/* --- consumers --- */

struct stream_consumer *t_stream_consumer(struct stream_group *g, const char *name, size_t len)
{
    struct dict_entry *e = dict_find(&g->consumers, name, len);
    return e ? e->val : NULL;
}

struct stream_consumer *t_stream_consumer_create(struct stream_group *g, const char *name,
                                                 size_t len, int64_t now_ms)
{
    struct stream_consumer *c = util_xcalloc(1, sizeof *c);
    struct dict_entry *e = dict_add(&g->consumers, name, len, c, NULL);
    if (!e) {
        free(c);
        return NULL;
    }
    c->name = e->key;
    c->name_len = len;
    c->seen_time = now_ms;
    zbt_init(&c->pel);
    return c;
}

static void pel_remove(struct stream_group *g, struct dict_entry *e)
{
    struct stream_nack *n = e->val;
    ASSERT(n && n->consumer && zbt_len(&n->consumer->pel) > 0);
    zbt_delete(&n->consumer->pel, 0, e);
    zbt_delete(&g->pel_order, 0, e);
    dict_delete(&g->pel, e->key, e->key_len, NULL); /* frees e */
    ASSERT(dict_size(&g->pel) == zbt_len(&g->pel_order) && "the PEL's dict and order disagree");
    free(n);
}

size_t t_stream_consumer_delete(struct stream_group *g, struct stream_consumer *c)
{
    size_t pending = zbt_len(&c->pel);
    ASSERT(pending <= dict_size(&g->pel) && "a consumer's PEL larger than its group's");
    while (zbt_len(&c->pel)) {
        struct zbt_pos p = zbt_at(&c->pel, 0);
        pel_remove(g, zbt_get(&p)->e);
    }
    dict_delete(&g->consumers, c->name, c->name_len, NULL);
    consumer_free(c);
    return pending;
}

struct stream_consumer **t_stream_consumer_list(const struct stream_group *g, size_t *n)
{
    return (struct stream_consumer **)sorted_values((struct dict *)&g->consumers, n);
}

/* --- the PEL --- */

struct stream_nack *t_stream_pel_find(const struct stream_group *g, struct stream_id id)
{
    unsigned char k[STREAM_ID_BYTES];
    stream_id_encode(id, k);
    struct dict_entry *e = dict_peek(&g->pel, k, sizeof k);
    return e ? e->val : NULL;
}

struct stream_nack *t_stream_pel_claim(struct stream_group *g, struct stream_id id,
                                       struct stream_consumer *c)
{
    unsigned char k[STREAM_ID_BYTES];
    stream_id_encode(id, k);
    struct dict_entry *e = dict_find(&g->pel, k, sizeof k);
    if (e) {
        struct stream_nack *n = e->val;
        if (n->consumer != c) {
            zbt_delete(&n->consumer->pel, 0, e);
            zbt_insert(&c->pel, 0, e);
            n->consumer = c;
        }
        return n;
    }
    struct stream_nack *n = util_xcalloc(1, sizeof *n);
    n->consumer = c;
    e = dict_add(&g->pel, k, sizeof k, n, NULL);
    ASSERT(e && "an ID pending twice");
    zbt_insert(&g->pel_order, 0, e);
    zbt_insert(&c->pel, 0, e);
    ASSERT(dict_size(&g->pel) == zbt_len(&g->pel_order));
    return n;
}

int t_stream_pel_ack(struct stream_group *g, struct stream_id id)
{
    unsigned char k[STREAM_ID_BYTES];
    stream_id_encode(id, k);
    struct dict_entry *e = dict_find(&g->pel, k, sizeof k);
    if (!e) return 0;
    pel_remove(g, e);
    return 1;
}

static int before_key(const struct zbt_elem *x, const void *arg)
{
    return memcmp(x->e->key, arg, STREAM_ID_BYTES) < 0;
}

void t_stream_pel_seek(const struct zbt *pel, struct stream_id start, struct stream_pel_pos *p)
{
    unsigned char k[STREAM_ID_BYTES];
    stream_id_encode(start, k);
    p->pos = zbt_at(pel, zbt_count_while(pel, before_key, k));
}

struct stream_nack *t_stream_pel_next(struct stream_pel_pos *p, struct stream_id *id)
{
    if (!p->pos.leaf) return NULL; /* past the end */
    const struct zbt_elem *x = zbt_get(&p->pos);
    *id = stream_id_decode((const unsigned char *)x->e->key);
    zbt_next(&p->pos);
    return x->e->val;
}

/* --- read counters (Redis 7.0's rules, for XINFO's entries-read and lag) --- */

static int id_zero(struct stream_id id)
{
    return id.ms == 0 && id.seq == 0;
}

int t_stream_has_tombstones_from(const struct stream *s, const struct stream_id *start)
{
    if (!s->length || id_zero(s->max_deleted_id)) return 0;
    if (stream_id_cmp(s->first_id, s->max_deleted_id) > 0) return 0;
    return !start || stream_id_cmp(*start, s->max_deleted_id) <= 0;
}

long long t_stream_estimate_read(const struct stream *s, struct stream_id id)
{
    if (!s->entries_added) return 0;
    if (!s->length && stream_id_cmp(id, s->last_id) < 1) return (long long)s->entries_added;
    int cmp_last = stream_id_cmp(id, s->last_id);
    if (cmp_last == 0) return (long long)s->entries_added;
    if (cmp_last > 0) return STREAM_ENTRIES_READ_INVALID;
    if (id_zero(s->max_deleted_id) || stream_id_cmp(s->max_deleted_id, s->first_id) < 0) {
        int cmp_first = stream_id_cmp(id, s->first_id);
        if (cmp_first < 0) return (long long)(s->entries_added - s->length);
        if (cmp_first == 0) return (long long)(s->entries_added - s->length + 1);
    }
    return STREAM_ENTRIES_READ_INVALID;
}

long long t_stream_group_lag(const struct stream *s, const struct stream_group *g)
{
    if (!s->entries_added) return 0;
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID &&
        !t_stream_has_tombstones_from(s, &g->last_id))
        return (long long)s->entries_added - g->entries_read;
    long long read = t_stream_estimate_read(s, g->last_id);
    return read == STREAM_ENTRIES_READ_INVALID ? -1 : (long long)s->entries_added - read;
}

void t_stream_group_advance(const struct stream *s, struct stream_group *g, struct stream_id id)
{
    if (stream_id_cmp(id, g->last_id) <= 0) return;
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID && !t_stream_has_tombstones_from(s, &id))
        g->entries_read++;
    else if (s->entries_added)
        g->entries_read = t_stream_estimate_read(s, id);
    g->last_id = id;
}

/* --- copies, memory, snapshot payload --- */

void stream_groups_dup(struct stream *dst, const struct stream *src)
{
    dst->groups = NULL;
    size_t ng;
    struct stream_group **gs = t_stream_group_list(src, &ng);
    for (size_t i = 0; i < ng; i++) {
        const struct stream_group *g = gs[i];
        struct stream_group *d =
            t_stream_group_create(dst, g->name, g->name_len, g->last_id, g->entries_read);
        size_t nc;
        struct stream_consumer **cs = t_stream_consumer_list(g, &nc);
        for (size_t j = 0; j < nc; j++)
            t_stream_consumer_create(d, cs[j]->name, cs[j]->name_len, cs[j]->seen_time);
        free(cs);
        struct stream_pel_pos p;
        struct stream_id id;
        struct stream_nack *n;
        t_stream_pel_seek(&g->pel_order, (struct stream_id){0, 0}, &p);
        while ((n = t_stream_pel_next(&p, &id))) {
            struct stream_consumer *c =
                t_stream_consumer(d, n->consumer->name, n->consumer->name_len);
            struct stream_nack *dn = t_stream_pel_claim(d, id, c);
            dn->delivery_time = n->delivery_time;
            dn->delivery_count = n->delivery_count;
        }
    }
    free(gs);
}

/* Per entry of a dict: the entry's header, its bucket slot, the value. */
static size_t table_bytes(const struct dict *d, size_t key_len, size_t val)
{
    return (size_t)dict_slots(d) * sizeof(void *) +
           (size_t)dict_size(d) * (sizeof(struct dict_entry) + key_len + 1 + val);
}

size_t stream_groups_memory(const struct stream *s)
{
    if (!s->groups) return 0;
    size_t n = sizeof *s->groups + table_bytes(s->groups, 8, sizeof(struct stream_group));
    size_t ng;
    struct stream_group **gs = t_stream_group_list(s, &ng);
    for (size_t i = 0; i < ng; i++) {
        const struct stream_group *g = gs[i];
        n += table_bytes(&g->pel, STREAM_ID_BYTES, sizeof(struct stream_nack)) +
             zbt_bytes(&g->pel_order) +
             table_bytes(&g->consumers, 8, sizeof(struct stream_consumer));
        size_t nc;
        struct stream_consumer **cs = t_stream_consumer_list(g, &nc);
        for (size_t j = 0; j < nc; j++)
            n += zbt_bytes(&cs[j]->pel);
        free(cs);
    }
    free(gs);
    return n;
}

/* Per group, by name: name, last ID, entries read, its consumers by name
 * (name, seen time), then its PEL by ID (ID, delivery time and count, the
 * consumer's name). */
void stream_groups_save(const struct stream *s, type_put_fn *put, void *ud)
{
    size_t ng;
    struct stream_group **gs = t_stream_group_list(s, &ng);
    type_put_u32(put, ud, (uint32_t)ng);
    for (size_t i = 0; i < ng; i++) {
        const struct stream_group *g = gs[i];
        type_put_str(put, ud, g->name, g->name_len);
        type_put_u64(put, ud, g->last_id.ms);
        type_put_u64(put, ud, g->last_id.seq);
        type_put_u64(put, ud, (uint64_t)g->entries_read);
        size_t nc;
        struct stream_consumer **cs = t_stream_consumer_list(g, &nc);
        type_put_u32(put, ud, (uint32_t)nc);
        for (size_t j = 0; j < nc; j++) {
            type_put_str(put, ud, cs[j]->name, cs[j]->name_len);
            type_put_u64(put, ud, (uint64_t)cs[j]->seen_time);
        }
        free(cs);
        type_put_u32(put, ud, (uint32_t)zbt_len(&g->pel_order));
        struct stream_pel_pos p;
        struct stream_id id;
        struct stream_nack *n;
        t_stream_pel_seek(&g->pel_order, (struct stream_id){0, 0}, &p);
        while ((n = t_stream_pel_next(&p, &id))) {
            type_put_u64(put, ud, id.ms);
            type_put_u64(put, ud, id.seq);
            type_put_u64(put, ud, (uint64_t)n->delivery_time);
            type_put_u64(put, ud, n->delivery_count);
            type_put_str(put, ud, n->consumer->name, n->consumer->name_len);
        }
    }
    free(gs);
}

static int load_group(struct stream *s, struct type_reader *r)
{
    const char *name;
    size_t len;
    uint64_t ms, seq, read;
    uint32_t nc, npel;
    if (type_get_str(r, &name, &len) < 0 || type_get_u64(r, &ms) < 0 || type_get_u64(r, &seq) < 0 ||
        type_get_u64(r, &read) < 0 || type_get_u32(r, &nc) < 0)
        return -1;
    if ((long long)read < STREAM_ENTRIES_READ_INVALID) return -1;
    struct stream_group *g =
        t_stream_group_create(s, name, len, (struct stream_id){ms, seq}, (long long)read);
    if (!g) return -1; /* a name twice */
    for (uint32_t j = 0; j < nc; j++) {
        uint64_t seen;
        if (type_get_str(r, &name, &len) < 0 || type_get_u64(r, &seen) < 0) return -1;
        if (!t_stream_consumer_create(g, name, len, (int64_t)seen)) return -1;
    }
    if (type_get_u32(r, &npel) < 0) return -1;
    for (uint32_t j = 0; j < npel; j++) {
        uint64_t time, count;
        if (type_get_u64(r, &ms) < 0 || type_get_u64(r, &seq) < 0 || type_get_u64(r, &time) < 0 ||
            type_get_u64(r, &count) < 0 || type_get_str(r, &name, &len) < 0)
            return -1;
        struct stream_consumer *c = t_stream_consumer(g, name, len);
        struct stream_id id = {ms, seq};
        if (!c || t_stream_pel_find(g, id)) return -1;
        struct stream_nack *n = t_stream_pel_claim(g, id, c);
        n->delivery_time = (int64_t)time;
        n->delivery_count = count;
    }
    return 0;
}

int stream_groups_load(struct stream *s, struct type_reader *r)
{
    uint32_t ng;
    if (type_get_u32(r, &ng) < 0) return -1;
    for (uint32_t i = 0; i < ng; i++)
        if (load_group(s, r) < 0) return -1;
    return 0;
}
