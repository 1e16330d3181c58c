/*
 * src/server/pubsub.c - publish/subscribe on one node (see pubsub.h).
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "resp/writer.h"
#include "cmd/client.h"
#include "base/glob.h"
#include "server/pubsub.h"
#include "base/util.h"

/* The subscribers of one name, in subscription order. */
struct pubsub_subs {
    struct client **c;
    size_t n, cap;
};

static const char *const message_kind[PUBSUB_KINDS] = {"message", "pmessage", "smessage"};

void pubsub_init(struct pubsub *ps, uint64_t seed)
{
    memset(ps, 0, sizeof *ps);
    ps->seed = seed;
    for (int k = 0; k < PUBSUB_KINDS; k++)
        dict_init(&ps->index[k], util_rand64(&seed));
}

static void free_subs(void *val)
{
    struct pubsub_subs *s = val;
    free(s->c);
    free(s);
}

void pubsub_free(struct pubsub *ps)
{
    for (int k = 0; k < PUBSUB_KINDS; k++)
        dict_free(&ps->index[k], free_subs);
}

static struct pubsub_client *client_state(struct pubsub *ps, struct client *c)
{
    if (!c->pubsub) {
        c->pubsub = util_xcalloc(1, sizeof *c->pubsub);
        uint64_t seed = ps->seed ^ c->id;
        for (int k = 0; k < PUBSUB_KINDS; k++)
            dict_init(&c->pubsub->names[k], util_rand64(&seed));
    }
    return c->pubsub;
}

/* After an unsubscription: the client's state goes with its last one. */
static void client_settle(struct client *c)
{
    if (c->n_subs[0] + c->n_subs[1] + c->n_subs[2]) return;
    c->flags &= ~CLIENT_PUBSUB;
    if (!c->pubsub) return;
    for (int k = 0; k < PUBSUB_KINDS; k++)
        dict_free(&c->pubsub->names[k], NULL);
    free(c->pubsub);
    c->pubsub = NULL;
}

int pubsub_subscribe(struct pubsub *ps, struct client *c, enum pubsub_kind k, const char *name,
                     size_t len)
{
    ASSERT((unsigned)k < PUBSUB_KINDS);
    struct pubsub_client *pc = client_state(ps, c);
    c->flags |= CLIENT_PUBSUB;
    if (!dict_add(&pc->names[k], name, len, NULL, NULL)) return 0;
    c->n_subs[k]++;
    struct dict_entry *e = dict_find(&ps->index[k], name, len);
    if (!e)
        e = dict_add(&ps->index[k], name, len, util_xcalloc(1, sizeof(struct pubsub_subs)), NULL);
    struct pubsub_subs *s = e->val;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4;
        s->c = util_xrealloc(s->c, s->cap * sizeof *s->c);
    }
    s->c[s->n++] = c;
    ASSERT(c->n_subs[k] == dict_size(&pc->names[k])); /* the client's count is its names' */
    return 1;
}

int pubsub_unsubscribe(struct pubsub *ps, struct client *c, enum pubsub_kind k, const char *name,
                       size_t len)
{
    if (!c->pubsub || !dict_delete(&c->pubsub->names[k], name, len, NULL)) return 0;
    ASSERT(c->n_subs[k] > 0);
    c->n_subs[k]--;
    struct dict_entry *e = dict_find(&ps->index[k], name, len);
    ASSERT(e && "a client's subscription missing from the index");
    struct pubsub_subs *s = e->val;
    size_t before = s->n;
    for (size_t i = 0; i < s->n; i++) {
        if (s->c[i] != c) continue;
        memmove(s->c + i, s->c + i + 1, (s->n - i - 1) * sizeof *s->c);
        s->n--;
        break;
    }
    ASSERT(s->n + 1 == before && "a subscription in the client but not in the index's list");
    if (s->n == 0) {
        dict_delete(&ps->index[k], name, len, NULL);
        free_subs(s);
    }
    client_settle(c);
    return 1;
}

size_t pubsub_client_count(const struct client *c, enum pubsub_kind k)
{
    return c->n_subs[k];
}

struct names {
    struct resp_arg *v;
    size_t n, cap;
};

static void collect(void *ud, struct dict_entry *e)
{
    struct names *ns = ud;
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? 2 * ns->cap : 16;
        ns->v = util_xrealloc(ns->v, ns->cap * sizeof *ns->v);
    }
    char *copy = util_xmalloc(e->key_len + 1);
    memcpy(copy, e->key, e->key_len + 1);
    ns->v[ns->n++] = (struct resp_arg){copy, e->key_len};
}

void pubsub_client_names(const struct client *c, enum pubsub_kind k, pubsub_name_fn *fn, void *ud)
{
    if (!c->pubsub) return;
    struct names ns = {0};
    dict_foreach(&c->pubsub->names[k], collect, &ns);
    for (size_t i = 0; i < ns.n; i++) {
        fn(ud, ns.v[i].ptr, ns.v[i].len);
        free((void *)ns.v[i].ptr);
    }
    free(ns.v);
}

struct gone {
    struct pubsub *ps;
    struct client *c;
    enum pubsub_kind k;
};

static void unsubscribe_one(void *ud, const char *name, size_t len)
{
    struct gone *g = ud;
    pubsub_unsubscribe(g->ps, g->c, g->k, name, len);
}

void pubsub_client_gone(struct pubsub *ps, struct client *c)
{
    for (int k = 0; k < PUBSUB_KINDS && c->pubsub; k++) {
        struct gone g = {ps, c, (enum pubsub_kind)k};
        pubsub_client_names(c, (enum pubsub_kind)k, unsubscribe_one, &g);
    }
    ASSERT(!c->pubsub && c->n_subs[0] + c->n_subs[1] + c->n_subs[2] == 0);
    c->flags &= ~CLIENT_PUBSUB;
}

/* One message to one subscriber; pattern NULL unless it matched one. */
static void deliver(struct client *c, enum pubsub_kind k, const struct resp_arg *pattern,
                    const char *channel, size_t clen, const char *msg, size_t mlen)
{
    struct resp_out *o = &c->out;
    resp_add_push_len(o, pattern ? 4 : 3);
    resp_add_bulk_cstr(o, message_kind[k]);
    if (pattern) resp_add_bulk(o, pattern->ptr, pattern->len);
    resp_add_bulk(o, channel, clen);
    resp_add_bulk(o, msg, mlen);
    client_mark_pending(c); /* src/net/conn.c flushes it, or closes it past its limits */
}

struct pattern_pub {
    const char *channel, *msg;
    size_t clen, mlen;
    long long n;
};

static void publish_pattern(void *ud, struct dict_entry *e)
{
    struct pattern_pub *p = ud;
    if (!glob_match(e->key, e->key_len, p->channel, p->clen, 0)) return;
    const struct pubsub_subs *s = e->val;
    struct resp_arg pat = {e->key, e->key_len};
    for (size_t i = 0; i < s->n; i++)
        deliver(s->c[i], PUBSUB_PATTERN, &pat, p->channel, p->clen, p->msg, p->mlen);
    p->n += (long long)s->n;
}

long long pubsub_publish(struct pubsub *ps, int shard, const char *channel, size_t clen,
                         const char *msg, size_t mlen)
{
    enum pubsub_kind k = shard ? PUBSUB_SHARD : PUBSUB_CHANNEL;
    long long n = 0;
    struct dict_entry *e = dict_find(&ps->index[k], channel, clen);
    if (e) {
        const struct pubsub_subs *s = e->val;
        ASSERT(s->n > 0); /* a name's list goes with its last subscriber */
        for (size_t i = 0; i < s->n; i++)
            deliver(s->c[i], k, NULL, channel, clen, msg, mlen);
        n += (long long)s->n;
    }
    if (!shard && dict_size(&ps->index[PUBSUB_PATTERN])) {
        struct pattern_pub p = {channel, msg, clen, mlen, 0};
        dict_foreach(&ps->index[PUBSUB_PATTERN], publish_pattern, &p);
        n += p.n;
    }
    return n;
}

struct matching {
    const char *pat;
    size_t plen;
    pubsub_name_fn *fn;
    void *ud;
};

static void visit_matching(void *ud, struct dict_entry *e)
{
    struct matching *m = ud;
    if (!m->pat || glob_match(m->pat, m->plen, e->key, e->key_len, 0))
        m->fn(m->ud, e->key, e->key_len);
}

void pubsub_names(struct pubsub *ps, enum pubsub_kind k, const char *pat, size_t plen,
                  pubsub_name_fn *fn, void *ud)
{
    struct matching m = {pat, plen, fn, ud};
    dict_foreach(&ps->index[k], visit_matching, &m);
}

size_t pubsub_subscribers(struct pubsub *ps, enum pubsub_kind k, const char *name, size_t len)
{
    struct dict_entry *e = dict_find(&ps->index[k], name, len);
    return e ? ((const struct pubsub_subs *)e->val)->n : 0;
}

size_t pubsub_count(const struct pubsub *ps, enum pubsub_kind k)
{
    return (size_t)dict_size(&ps->index[k]);
}
