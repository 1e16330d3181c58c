/*
 * src/server/tracking.c - client-side caching (see tracking.h).
 */
#include "server/tracking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "raft/raft_assert.h"
#include "server/server.h"

/* A key's readers: client ids, sorted, no repeats. */
struct tracking_ids {
    uint32_t n, cap;
    uint64_t id[];
};

/* A BCAST prefix: the keys changed under it since the last message (key ->
 * the id of the client whose command changed it last, 0: none here, for
 * NOLOOP), and its clients. */
struct tracking_bcast {
    struct dict keys;
    struct client **c;
    size_t n, cap;
};

/* A key whose message waits (ptr NULL: a flush's null) until the client
 * has had `until` forwarded replies relayed (client.proxied_relayed). */
struct held {
    char *ptr;
    size_t len;
    uint64_t until;
};

struct tracking_client {
    struct resp_arg *prefixes; /* owned copies */
    size_t n_prefixes;
    struct held *held; /* messages held back (tracking.h: order) */
    size_t n_held, held_cap;
};

/* Keys invalidated per pass over tracking-table-max-keys, times the passes
 * in a row that ended still over it, plus one (Redis's effort). */
#define LIMIT_EFFORT 100

static const char INVALIDATE_CHANNEL[] = "__redis__:invalidate";

static uint64_t rnd(void *state)
{
    return util_rand64(state);
}

struct tracking *tracking_new(uint64_t seed)
{
    struct tracking *t = util_xcalloc(1, sizeof *t);
    t->rng = seed;
    dict_init(&t->keys, util_rand64(&t->rng));
    dict_init(&t->prefixes, util_rand64(&t->rng));
    return t;
}

static void free_bcast(void *v)
{
    struct tracking_bcast *b = v;
    dict_free(&b->keys, NULL);
    free(b->c);
    free(b);
}

void tracking_free(struct tracking *t)
{
    if (!t) return;
    dict_free(&t->keys, free);
    dict_free(&t->prefixes, free_bcast);
    free(t);
}

/* ------------------------------------------------------------ messages */

/* The forwarded replies c must have had relayed before a message caused
 * now may go: those of every command it forwarded so far. */
static uint64_t relayed_needed(const struct client *c)
{
    return c->proxied_relayed + c->pending_proxied;
}

/* A message for c may not go now: its own command's reply is being built,
 * a command it forwarded is still out, or messages before it wait. */
static int must_hold(const struct tracking *t, const struct client *c)
{
    const struct tracking_client *s = c->tracking_state;
    return c == t->current || c->pending_proxied > 0 || (s && s->n_held > 0);
}

static void drop_held(struct tracking_client *s);

static void hold(struct client *c, const char *key, size_t len)
{
    struct tracking_client *s = c->tracking_state;
    ASSERT(s != NULL); /* tracking is on: its state exists */
    if (s->n_held >= TRACKING_HELD_MAX) {
        /* one null says it all: everything changed */
        drop_held(s);
        key = NULL;
        len = 0;
    } else if (s->n_held == 1 && !s->held[0].ptr) {
        s->held[0].until = relayed_needed(c); /* a null held already covers this key */
        return;
    }
    if (s->n_held == s->held_cap) {
        s->held_cap = s->held_cap ? s->held_cap * 2 : 8;
        s->held = util_xrealloc(s->held, s->held_cap * sizeof *s->held);
    }
    struct held *h = &s->held[s->n_held++];
    h->ptr = key ? util_xmemdup(key, len) : NULL;
    h->len = len;
    h->until = relayed_needed(c);
}

/* The null that stands for every key: of the tracking client's protocol,
 * as Redis writes it whoever receives it. */
static void add_flush_null(struct resp_out *o, const struct client *tracker)
{
    resp_add_raw(o, tracker->out.proto >= 3 ? "_\r\n" : "$-1\r\n", tracker->out.proto >= 3 ? 3 : 5);
}

/* Where c's messages go: c (RESP3), its redirect (RESP3, or subscribed over
 * RESP2: *pubsub set), or NULL (nowhere: a RESP2 client without redirect;
 * a redirect gone, which marks c broken and tells it so over RESP3). */
static struct client *receiver(struct server *srv, struct client *c, int *pubsub)
{
    *pubsub = 0;
    if (c->tracking_redirect) {
        struct client *r = server_client_by_id(srv, c->tracking_redirect);
        if (!r) {
            c->tracking |= TRACKING_BROKEN_REDIR;
            if (c->out.proto >= 3) {
                struct resp_out *o = client_push_out(c);
                resp_add_push_len(o, 2);
                resp_add_bulk(o, "tracking-redir-broken", 21);
                resp_add_int(o, (long long)c->tracking_redirect);
                client_mark_pending(c);
            }
            return NULL;
        }
        if (r->out.proto >= 3) return r;
        *pubsub = (r->flags & CLIENT_PUBSUB) != 0;
        return *pubsub ? r : NULL;
    }
    return c->out.proto >= 3 ? c : NULL;
}

/* One message for tracking client c: keys[0..n) (n 0: a flush's null). */
static void send_keys(struct server *srv, struct client *c, const struct resp_arg *keys, size_t n)
{
    int pubsub;
    struct client *r = receiver(srv, c, &pubsub);
    if (!r) return;
    struct resp_out *o = client_push_out(r);
    if (pubsub) {
        resp_add_push_len(o, 3);
        resp_add_bulk(o, "message", 7);
        resp_add_bulk(o, INVALIDATE_CHANNEL, sizeof INVALIDATE_CHANNEL - 1);
    } else {
        resp_add_push_len(o, 2);
        resp_add_bulk(o, "invalidate", 10);
    }
    if (n == 0) {
        add_flush_null(o, c);
    } else {
        resp_add_array_len(o, (long)n);
        for (size_t i = 0; i < n; i++)
            resp_add_bulk(o, keys[i].ptr, keys[i].len);
    }
    client_mark_pending(r);
}

/* Tells c that keys[0..n) changed (n 0: everything), now or once it may
 * hear it. */
static void invalidate(struct server *srv, struct client *c, const struct resp_arg *keys, size_t n)
{
    if (!must_hold(srv->tracking, c)) {
        send_keys(srv, c, keys, n);
        return;
    }
    if (n == 0) hold(c, NULL, 0);
    for (size_t i = 0; i < n; i++)
        hold(c, keys[i].ptr, keys[i].len);
}

/* Sends, in order, the messages held for c that may go now: not while
 * its own reply is being built, and each once the replies forwarded before
 * it are relayed (one message per key). */
static void send_held(struct server *srv, struct client *c)
{
    struct tracking_client *s = c->tracking_state;
    if (!s || s->n_held == 0 || c == srv->tracking->current) return;
    size_t k = 0;
    for (; k < s->n_held && s->held[k].until <= c->proxied_relayed; k++) {
        struct resp_arg key = {s->held[k].ptr, s->held[k].len};
        send_keys(srv, c, &key, key.ptr ? 1 : 0);
        free(s->held[k].ptr);
    }
    memmove(s->held, s->held + k, (s->n_held - k) * sizeof *s->held);
    s->n_held -= k;
}

static void drop_held(struct tracking_client *s)
{
    for (size_t i = 0; i < s->n_held; i++)
        free(s->held[i].ptr);
    free(s->held);
    s->held = NULL;
    s->n_held = s->held_cap = 0;
}

/* ------------------------------------------------------------- clients */

static int prefix_overlaps(const struct resp_arg *a, const struct resp_arg *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    return memcmp(a->ptr, b->ptr, n) == 0;
}

int tracking_prefix_overlap(const struct client *c, const struct resp_arg *p, size_t n, char *err,
                            size_t errlen)
{
    const struct tracking_client *s = c->tracking_state;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; s && j < s->n_prefixes; j++)
            if (prefix_overlaps(&s->prefixes[j], &p[i])) {
                snprintf(err, errlen,
                         "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. Prefixes "
                         "for a single client must not overlap.",
                         (int)p[i].len, p[i].ptr, (int)s->prefixes[j].len, s->prefixes[j].ptr);
                return 1;
            }
        for (size_t j = i + 1; j < n; j++)
            if (prefix_overlaps(&p[i], &p[j])) {
                snprintf(err, errlen,
                         "ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. "
                         "Prefixes for a single client must not overlap.",
                         (int)p[i].len, p[i].ptr, (int)p[j].len, p[j].ptr);
                return 1;
            }
    }
    return 0;
}

static void bcast_add(struct tracking *t, struct client *c, const struct resp_arg *p)
{
    struct tracking_client *s = c->tracking_state;
    for (size_t j = 0; j < s->n_prefixes; j++)
        if (s->prefixes[j].len == p->len && memcmp(s->prefixes[j].ptr, p->ptr, p->len) == 0)
            return; /* already: CLIENT TRACKING ON again with it */
    struct dict_entry *e = dict_find(&t->prefixes, p->ptr, p->len);
    struct tracking_bcast *b;
    if (e) {
        b = e->val;
    } else {
        b = util_xcalloc(1, sizeof *b);
        dict_init(&b->keys, util_rand64(&t->rng));
        dict_add(&t->prefixes, p->ptr, p->len, b, NULL);
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->c = util_xrealloc(b->c, b->cap * sizeof *b->c);
    }
    b->c[b->n++] = c;
    s->prefixes = util_xrealloc(s->prefixes, (s->n_prefixes + 1) * sizeof *s->prefixes);
    s->prefixes[s->n_prefixes].ptr = util_xmemdup(p->ptr, p->len);
    s->prefixes[s->n_prefixes].len = p->len;
    s->n_prefixes++;
}

static void bcast_remove(struct tracking *t, struct client *c, const struct resp_arg *p)
{
    struct dict_entry *e = dict_find(&t->prefixes, p->ptr, p->len);
    ASSERT(e != NULL); /* a client's prefix is in the table while it has it */
    struct tracking_bcast *b = e->val;
    for (size_t i = 0; i < b->n; i++)
        if (b->c[i] == c) {
            b->c[i] = b->c[--b->n];
            break;
        }
    if (b->n > 0) return;
    dict_delete(&t->prefixes, p->ptr, p->len, NULL);
    free_bcast(b);
}

void tracking_enable(struct server *srv, struct client *c, uint64_t redirect, unsigned flags,
                     const struct resp_arg *prefixes, size_t n)
{
    struct tracking *t = srv->tracking;
    if (!(c->tracking & TRACKING_ON)) {
        t->clients++;
        if (!c->tracking_state) c->tracking_state = util_xcalloc(1, sizeof *c->tracking_state);
    }
    c->tracking =
        (uint8_t)(TRACKING_ON | (c->tracking & TRACKING_CACHING) |
                  (flags & (TRACKING_BCAST | TRACKING_OPTIN | TRACKING_OPTOUT | TRACKING_NOLOOP)));
    c->tracking_redirect = redirect;
    if (!(flags & TRACKING_BCAST)) return;
    static const struct resp_arg empty = {"", 0};
    if (n == 0) bcast_add(t, c, &empty);
    for (size_t i = 0; i < n; i++)
        bcast_add(t, c, &prefixes[i]);
}

void tracking_disable(struct server *srv, struct client *c)
{
    struct tracking_client *s = c->tracking_state;
    if (s) {
        for (size_t i = 0; i < s->n_prefixes; i++) {
            bcast_remove(srv->tracking, c, &s->prefixes[i]);
            free((char *)s->prefixes[i].ptr);
        }
        free(s->prefixes);
        /* held messages still go: they tell of changes made while it tracked */
        s->prefixes = NULL;
        s->n_prefixes = 0;
    }
    if (c->tracking & TRACKING_ON) {
        ASSERT(srv->tracking->clients > 0); /* counted when it was turned on */
        srv->tracking->clients--;
    }
    c->tracking = 0;
    if (s && s->n_held == 0) {
        free(s->held);
        free(s);
        c->tracking_state = NULL;
    }
}

void tracking_client_prefixes(const struct client *c, tracking_prefix_fn *fn, void *ud)
{
    const struct tracking_client *s = c->tracking_state;
    for (size_t i = 0; s && i < s->n_prefixes; i++)
        fn(ud, &s->prefixes[i]);
}

void tracking_client_gone(struct server *srv, struct client *c)
{
    tracking_disable(srv, c);
    if (c->tracking_state) {
        drop_held(c->tracking_state);
        free(c->tracking_state);
        c->tracking_state = NULL;
    }
    if (srv->tracking->current == c) srv->tracking->current = NULL;
}

/* --------------------------------------------------------------- reads */

static void remember_key(struct tracking *t, uint64_t id, const char *key, size_t len)
{
    struct dict_entry *e = dict_find(&t->keys, key, len);
    struct tracking_ids *ids = e ? e->val : NULL;
    uint32_t lo = 0, hi = ids ? ids->n : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ids->id[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ids && lo < ids->n && ids->id[lo] == id) return;
    if (!ids || ids->n == ids->cap) {
        uint32_t cap = ids ? ids->cap * 2 : 2;
        ids = util_xrealloc(ids, sizeof *ids + cap * sizeof ids->id[0]);
        if (!e) {
            ids->n = 0;
            dict_add(&t->keys, key, len, ids, NULL);
        } else {
            e->val = ids;
        }
        ids->cap = cap;
    }
    memmove(&ids->id[lo + 1], &ids->id[lo], (ids->n - lo) * sizeof ids->id[0]);
    ids->id[lo] = id;
    ids->n++;
    t->items++;
}

/* 1 if c's next read is to be remembered (tracking on, not BCAST, and
 * OPTIN/OPTOUT let it). */
static int remembers(const struct client *c)
{
    unsigned f = c->tracking;
    if (!(f & TRACKING_ON) || (f & TRACKING_BCAST)) return 0;
    if ((f & TRACKING_OPTIN) && !(f & TRACKING_CACHING)) return 0;
    if ((f & TRACKING_OPTOUT) && (f & TRACKING_CACHING)) return 0;
    return 1;
}

static void remember(struct server *srv, struct client *c, const struct command *cmd, int argc,
                     const struct resp_arg *argv)
{
    /* Shard channels are keys for COMMAND only (Redis: CMD_PUBSUB). */
    if (cmd->flags & CMD_PUBSUB) return;
    int stack[16];
    int *idx = argc <= 16 ? stack : util_xmalloc((size_t)argc * sizeof *idx);
    int n = cmd_get_keys(cmd, argc, argv, idx, argc);
    for (int i = 0; i < n; i++)
        remember_key(srv->tracking, c->id, argv[idx[i]].ptr, argv[idx[i]].len);
    if (idx != stack) free(idx);
}

void tracking_ran(struct server *srv, struct client *c, const struct command *cmd,
                  const struct cmd_ctx *ctx)
{
    if (c && ctx->script_read && remembers(c)) remember(srv, c, cmd, ctx->argc, ctx->argv);
}

void tracking_will_read(struct server *srv, struct client *c, const struct command *cmd, int argc,
                        const struct resp_arg *argv)
{
    if (cmd && (cmd->flags & CMD_READONLY) && !cmd->runs_script && remembers(c))
        remember(srv, c, cmd, argc, argv);
}

void tracking_command_done(struct client *c, const struct command *cmd)
{
    if (!(c->tracking & TRACKING_CACHING) || (c->flags & CLIENT_MULTI)) return;
    if (cmd && strncmp(cmd->name, "client|", 7) == 0) return;
    c->tracking &= (uint8_t)~TRACKING_CACHING;
}

/* ------------------------------------------------------------- changes */

struct bcast_change {
    const char *key;
    size_t len;
    uint64_t writer;
};

static void note_bcast(void *ud, struct dict_entry *e)
{
    const struct bcast_change *ch = ud;
    if (e->key_len > ch->len || memcmp(e->key, ch->key, e->key_len) != 0) return;
    struct tracking_bcast *b = e->val;
    struct dict_entry *k = dict_find(&b->keys, ch->key, ch->len);
    void *writer = (void *)(uintptr_t)ch->writer;
    if (k)
        k->val = writer;
    else
        dict_add(&b->keys, ch->key, ch->len, writer, NULL);
}

/* key changed (writer: the client whose command changed it, or NULL):
 * its readers are told and forgotten. */
static void key_changed(struct server *srv, struct client *writer, const char *key, size_t len)
{
    struct tracking *t = srv->tracking;
    if (dict_size(&t->prefixes)) {
        struct bcast_change ch = {key, len, writer ? writer->id : 0};
        dict_foreach(&t->prefixes, note_bcast, &ch);
    }
    void *v;
    if (!dict_size(&t->keys) || !dict_delete(&t->keys, key, len, &v)) return;
    struct tracking_ids *ids = v;
    t->items -= ids->n;
    struct resp_arg k = {key, len};
    for (uint32_t i = 0; i < ids->n; i++) {
        struct client *c = server_client_by_id(srv, ids->id[i]);
        /* gone, off, or BCAST since (its old keys are not its concern) */
        if (!c || !(c->tracking & TRACKING_ON) || (c->tracking & TRACKING_BCAST)) continue;
        if ((c->tracking & TRACKING_NOLOOP) && c == writer) continue;
        invalidate(srv, c, &k, 1);
    }
    free(ids);
}

void tracking_key_changed(struct server *srv, const char *key, size_t len)
{
    if (srv->tracking->clients == 0 && !dict_size(&srv->tracking->keys)) return;
    key_changed(srv, srv->tracking->current, key, len);
}

static void clear_keys(struct tracking *t)
{
    dict_clear(&t->keys, free);
    t->items = 0;
}

void tracking_flushed(struct server *srv)
{
    struct tracking *t = srv->tracking;
    clear_keys(t);
    if (t->clients == 0 || t->flush_sent) return;
    t->flush_sent = 1;
    for (struct client *c = srv->clients; c; c = c->next)
        if (c->tracking & TRACKING_ON) invalidate(srv, c, NULL, 0);
}

void tracking_reply_begin(struct server *srv, struct client *c)
{
    srv->tracking->current = c;
    srv->tracking->flush_sent = 0;
}

void tracking_reply_end(struct server *srv, struct client *c)
{
    srv->tracking->current = NULL;
    srv->tracking->flush_sent = 0;
    if (c) send_held(srv, c);
}

void tracking_release(struct server *srv, struct client *c)
{
    send_held(srv, c);
}

/* ----------------------------------------------------- BCAST and limit */

struct bcast_send {
    struct server *srv;
    struct resp_arg *keys;
    size_t n, cap;
};

static void collect_key(void *ud, struct dict_entry *e)
{
    struct bcast_send *s = ud;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->keys = util_xrealloc(s->keys, s->cap * sizeof *s->keys);
    }
    s->keys[s->n].ptr = e->key;
    s->keys[s->n].len = e->key_len;
    s->n++;
}

/* The keys of b a NOLOOP client c did not change itself, into out. */
static size_t others_keys(struct tracking_bcast *b, const struct client *c,
                          const struct bcast_send *all, struct resp_arg *out)
{
    size_t k = 0;
    for (size_t i = 0; i < all->n; i++) {
        struct dict_entry *e = dict_find(&b->keys, all->keys[i].ptr, all->keys[i].len);
        if ((uint64_t)(uintptr_t)e->val != c->id) out[k++] = all->keys[i];
    }
    return k;
}

static void bcast_prefix(void *ud, struct dict_entry *e)
{
    struct bcast_send *s = ud;
    struct tracking_bcast *b = e->val;
    if (!dict_size(&b->keys)) return;
    s->n = 0;
    dict_foreach(&b->keys, collect_key, s);
    struct resp_arg *mine = NULL;
    for (size_t i = 0; i < b->n; i++) {
        struct client *c = b->c[i];
        if (!(c->tracking & TRACKING_NOLOOP)) {
            invalidate(s->srv, c, s->keys, s->n);
            continue;
        }
        if (!mine) mine = util_xmalloc(s->n * sizeof *mine);
        size_t k = others_keys(b, c, s, mine);
        if (k) invalidate(s->srv, c, mine, k);
    }
    free(mine);
    dict_clear(&b->keys, NULL);
}

/* Invalidates random keys while more than tracking-table-max-keys are
 * remembered, LIMIT_EFFORT per pass more each pass that ends over it. */
static void limit_keys(struct server *srv)
{
    struct tracking *t = srv->tracking;
    uint64_t max = (uint64_t)srv->cfg.tracking_table_max_keys;
    if (max == 0 || dict_size(&t->keys) <= max) {
        t->over_passes = 0;
        return;
    }
    uint64_t effort = (uint64_t)LIMIT_EFFORT * (t->over_passes + 1);
    while (effort-- > 0 && dict_size(&t->keys) > max) {
        struct dict_entry *e = dict_random(&t->keys, rnd, &t->rng);
        if (!e) break;
        char buf[256];
        size_t len = e->key_len;
        char *key = len <= sizeof buf ? buf : util_xmalloc(len);
        memcpy(key, e->key, len);
        key_changed(srv, NULL, key, len);
        if (key != buf) free(key);
    }
    t->over_passes = dict_size(&t->keys) > max ? t->over_passes + 1 : 0;
}

void tracking_before_sleep(struct server *srv)
{
    struct tracking *t = srv->tracking;
    t->flush_sent = 0;
    if (dict_size(&t->prefixes)) {
        struct bcast_send s = {srv, NULL, 0, 0};
        dict_foreach(&t->prefixes, bcast_prefix, &s);
        free(s.keys);
    }
    if (dict_size(&t->keys)) limit_keys(srv);
}

void tracking_cron(struct server *srv)
{
    if (dict_size(&srv->tracking->keys)) limit_keys(srv);
}
