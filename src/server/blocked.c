/*
 * src/server/blocked.c - clients blocked on keys (see blocked.h).
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "server/blocked.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "keyspace/dbkey.h"
#include "keyspace/kv.h"
#include "cmd/monitor.h"
#include "base/util.h"
#include "node/waiters.h"

/* One client's place in one key's queue. */
struct blocked_wait {
    struct blocked_wait *prev, *next;
    struct blocked_key *key;
    struct blocked_client *bc;
    int arg; /* the key's index in the call */
};

struct blocked_key {
    struct dict_entry *e; /* in blocked.keys, named as src/keyspace/dbkey.h says */
    int db;
    struct blocked_wait *head, *tail;
    int ready; /* on blocked.ready */
};

struct blocked_client {
    struct client *c;
    struct blocked_client *prev, *next; /* blocked.all */
    int64_t deadline_ms;                /* 0: none */
    uint8_t type;                       /* enum kv_type waited for */
    uint8_t null_array;                 /* timeout reply: null array, else null bulk */
    int woken;                          /* running its command again */
    int unblocked;                      /* CLIENT UNBLOCK while woken */
    const char *unblock_err;            /* its error (static), NULL: the null reply */
    struct cmd_block blk;               /* what its call waits for */
    int argc;
    struct resp_arg *argv; /* a copy of its call, to propose on its behalf */
    size_t n_waits;
    struct blocked_wait waits[];
};

void blocked_init(struct blocked *b, struct waiters *w, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    b->waiters = w;
    dict_init(&b->keys, seed);
}

void blocked_free(struct blocked *b)
{
    while (b->all)
        blocked_remove(b, b->all->c);
    dict_free(&b->keys, free);
    free(b->ready);
    memset(b, 0, sizeof *b);
}

int blocked_waiting(const struct client *c)
{
    return c->blocked && !c->blocked->woken;
}

/* ----------------------------------------------------------------- queues */

/* The key's name (without its database, src/keyspace/dbkey.h) and its
 * length. */
static const char *key_name(const struct blocked_key *k, size_t *len)
{
    *len = k->e->key_len - DB_KEY_PREFIX;
    return k->e->key + DB_KEY_PREFIX;
}

/* The queue of key of database db, or NULL (looked up without moving the
 * table's rehash on). */
static struct blocked_key *key_peek(const struct blocked *b, int db, const char *key, size_t len)
{
    struct db_key dk;
    db_key_make(&dk, db, key, len);
    const struct dict_entry *e = dict_peek(&b->keys, dk.p, dk.len);
    db_key_free(&dk);
    return e ? e->val : NULL;
}

static struct blocked_key *key_get(struct blocked *b, int db, const char *key, size_t len)
{
    struct db_key dk;
    db_key_make(&dk, db, key, len);
    struct dict_entry *e = dict_find(&b->keys, dk.p, dk.len);
    struct blocked_key *k = e ? e->val : NULL;
    if (!k) {
        k = util_xcalloc(1, sizeof *k);
        k->db = db;
        k->e = dict_add(&b->keys, dk.p, dk.len, k, NULL);
    }
    db_key_free(&dk);
    return k;
}

/* A key nobody waits on is forgotten, unless it is on the ready list
 * (blocked_serve_ready() forgets it then). */
static void key_maybe_drop(struct blocked *b, struct blocked_key *k)
{
    ASSERT(!k->head == !k->tail); /* a queue is empty at both ends or neither */
    if (k->head || k->ready) return;
    dict_delete(&b->keys, k->e->key, k->e->key_len, NULL);
    free(k);
}

static void wait_append(struct blocked_key *k, struct blocked_wait *w)
{
    w->key = k;
    w->next = NULL;
    w->prev = k->tail;
    if (k->tail)
        k->tail->next = w;
    else
        k->head = w;
    k->tail = w;
    ASSERT(k->head && k->head->prev == NULL);
}

static void wait_unlink(struct blocked_wait *w)
{
    struct blocked_key *k = w->key;
    if (w->prev)
        w->prev->next = w->next;
    else
        k->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        k->tail = w->prev;
    ASSERT(!k->head == !k->tail);
}

/* ---------------------------------------------------------------- clients */

static void mark_ready(struct blocked *b, struct blocked_key *k);

/* The bytes of argv, each key's ID as blk->after resolves it on kv (the
 * text in ids) for a wait on IDs, into a new array of its own. */
static struct resp_arg *copy_call(const struct cmd_block *blk, int argc,
                                  const struct resp_arg *argv, struct kv *kv, int64_t now_ms)
{
    struct resp_arg *use = util_xmalloc((size_t)argc * sizeof *use);
    memcpy(use, argv, (size_t)argc * sizeof *use);
    char(*ids)[CMD_BLOCK_ID_MAX] = NULL;
    if (blk->after) {
        ids = util_xmalloc((size_t)blk->nkeys * sizeof *ids);
        for (int i = 0; i < blk->nkeys; i++) {
            const struct resp_arg *k = &argv[blk->first_key + i];
            const struct kv_val *v = kv_lookup_peek(kv, k->ptr, k->len, now_ms);
            if (v && v->type != blk->type) v = NULL;
            use[blk->ids_first + i] = blk->after->resolve(v, argv, blk->ids_first + i, ids[i]);
        }
    }
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += use[i].len;
    struct resp_arg *out = util_xmalloc((size_t)argc * sizeof *out + bytes + 1);
    char *p = (char *)(out + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, use[i].ptr, use[i].len);
        out[i] = (struct resp_arg){p, use[i].len};
        p += use[i].len;
    }
    free(ids);
    free(use);
    return out;
}

void blocked_add(struct blocked *b, struct client *c, const struct cmd_block *blk, int argc,
                 const struct resp_arg *argv, struct kv *kv, int64_t now_ms)
{
    struct blocked_client *bc = c->blocked;
    if (bc) { /* woken, and the keys were emptied first: waits again */
        bc->woken = 0;
        if (bc->unblocked) blocked_unblock(b, c, bc->unblock_err);
        return;
    }
    ASSERT(blk->nkeys > 0);
    bc = util_xcalloc(1, sizeof *bc + (size_t)blk->nkeys * sizeof bc->waits[0]);
    bc->c = c;
    /* A deadline past the end of time is none. */
    if (blk->timeout_ms > 0 && blk->timeout_ms <= INT64_MAX - now_ms)
        bc->deadline_ms = now_ms + blk->timeout_ms;
    bc->type = blk->type;
    bc->null_array = blk->null_array;
    bc->blk = *blk;
    bc->argc = argc;
    bc->argv = copy_call(blk, argc, argv, kv, now_ms);
    for (int i = 0; i < blk->nkeys; i++) {
        const struct resp_arg *a = &argv[blk->first_key + i];
        struct blocked_key *k = key_get(b, kv->id, a->ptr, a->len);
        if (k->tail && k->tail->bc == bc) continue; /* the same key named twice */
        struct blocked_wait *w = &bc->waits[bc->n_waits++];
        w->bc = bc;
        w->arg = blk->first_key + i;
        wait_append(k, w);
        mark_ready(b, k); /* it may hold elements those ahead leave it */
    }
    ASSERT(bc->n_waits > 0 && bc->n_waits <= (size_t)blk->nkeys);
    bc->next = b->all;
    if (b->all) b->all->prev = bc;
    b->all = bc;
    b->n_clients++;
    c->blocked = bc;
}

int blocked_must_wait(struct blocked *b, const struct client *c, const struct cmd_block *blk,
                      const struct resp_arg *argv, struct kv *kv, int64_t now_ms)
{
    int present = 0, queued = 0;
    for (int i = blk->first_key; i < blk->first_key + blk->nkeys; i++) {
        const struct kv_val *v = kv_lookup_peek(kv, argv[i].ptr, argv[i].len, now_ms);
        if (v && v->type != blk->type) return 0;
        if (blk->after) { /* nothing taken: no queue to respect */
            if (blk->after->ready(v, argv, blk->ids_first + (i - blk->first_key))) return 0;
            continue;
        }
        if (!v) continue;
        present = 1;
        if (c->blocked || b->n_clients == 0) continue;
        const struct blocked_key *k = key_peek(b, kv->id, argv[i].ptr, argv[i].len);
        if (k && k->head) queued = 1;
    }
    return !present || queued;
}

void blocked_remove(struct blocked *b, struct client *c)
{
    struct blocked_client *bc = c->blocked;
    if (!bc) return;
    /* A key it waited on may hold what it was counted as taking (it was
     * woken for it, then served from another key): the next in line looks. */
    for (size_t i = 0; i < bc->n_waits; i++) {
        struct blocked_key *k = bc->waits[i].key;
        wait_unlink(&bc->waits[i]);
        if (k->head)
            mark_ready(b, k);
        else
            key_maybe_drop(b, k);
    }
    if (bc->prev)
        bc->prev->next = bc->next;
    else
        b->all = bc->next;
    if (bc->next) bc->next->prev = bc->prev;
    ASSERT(b->n_clients > 0);
    b->n_clients--;
    c->blocked = NULL;
    free(bc->argv);
    free(bc);
}

const struct resp_arg *blocked_call(const struct client *c, int *argc, const struct cmd_block **blk)
{
    ASSERT(c->blocked); /* only a client blocked on keys has a call there */
    *argc = c->blocked->argc;
    *blk = &c->blocked->blk;
    return c->blocked->argv;
}

size_t blocked_take(struct blocked *b, int db, const char *key, size_t len, size_t max,
                    struct client **out)
{
    if (b->n_clients == 0) return 0;
    const struct blocked_key *k = key_peek(b, db, key, len);
    if (!k) return 0;
    size_t n = 0;
    for (struct blocked_wait *w = k->head; w && n < max; w = w->next) {
        if (w->bc->woken) continue;
        w->bc->woken = 1;
        out[n++] = w->bc->c;
    }
    return n;
}

/* Answers a waiting client: err, or its command's null reply (dropped
 * when the held command's reply is, CLIENT REPLY). */
static void answer(struct blocked *b, struct blocked_client *bc, const char *err)
{
    struct client *c = bc->c;
    if (!c->reply_muted) {
        if (err)
            resp_add_error(&c->out, err);
        else if (bc->null_array)
            resp_add_null_array(&c->out);
        else
            resp_add_null(&c->out);
    }
    if (b->monitor && c->held_cmd) { /* its time was counted when it blocked */
        struct monitor_caller who = {c->addr, c->name ? c->name : ""};
        monitor_call(b->monitor, cmd_id(c->held_cmd), err ? MONITOR_FAILED : 0, bc->argc, bc->argv,
                     0, &who);
    }
    client_hold_to(c, HOLD_ANSWERED); /* the held command has its answer */
    blocked_remove(b, c);
    waiters_wake(b->waiters, c);
}

/* --------------------------------------------------------------- readiness */

static void mark_ready(struct blocked *b, struct blocked_key *k)
{
    if (k->ready) return;
    if (b->n_ready == b->ready_cap) {
        size_t cap = b->ready_cap ? 2 * b->ready_cap : 16;
        b->ready = util_xrealloc(b->ready, cap * sizeof *b->ready);
        b->ready_cap = cap;
    }
    b->ready[b->n_ready++] = k;
    k->ready = 1;
}

void blocked_key_changed(struct blocked *b, int db, const char *key, size_t len)
{
    if (b->n_clients == 0) return;
    struct blocked_key *k = key_peek(b, db, key, len);
    if (k) mark_ready(b, k);
}

struct mark_db {
    struct blocked *b;
    int db;
};

static void mark_ready_visit(void *ud, struct dict_entry *e)
{
    struct mark_db *m = ud;
    struct blocked_key *k = e->val;
    if (m->db < 0 || k->db == m->db) mark_ready(m->b, k);
}

void blocked_all_keys_changed(struct blocked *b, int db)
{
    struct mark_db m = {b, db};
    if (b->n_clients) dict_foreach(&b->keys, mark_ready_visit, &m);
}

/* Wakes, in queue order, as many clients waiting for type as the key has
 * elements, counting those woken already (their pops are on the way), and
 * every client waiting after an ID whose call has an answer now (v holds
 * something after it, or is gone: cmd_block_after.ready). */
static void serve_key(struct blocked *b, struct blocked_key *k, const struct kv_val *v,
                      size_t elements)
{
    size_t avail = elements;
    for (struct blocked_wait *w = k->head; w; w = w->next) {
        struct blocked_client *bc = w->bc;
        if (bc->blk.after) { /* v absent or of another type: ready() judges */
            int id = bc->blk.ids_first + w->arg - bc->blk.first_key;
            if (!bc->woken && bc->blk.after->ready(v, bc->argv, id)) {
                bc->woken = 1;
                waiters_wake(b->waiters, bc->c);
            }
            continue;
        }
        if (!v || bc->type != v->type || avail == 0) continue;
        avail--;
        if (bc->woken) continue;
        bc->woken = 1;
        waiters_wake(b->waiters, bc->c);
    }
}

void blocked_serve_ready(struct blocked *b, struct kv *const *db, int64_t now_ms)
{
    for (size_t i = 0; i < b->n_ready; i++) {
        struct blocked_key *k = b->ready[i];
        k->ready = 0;
        if (k->head) {
            struct kv *kv = db[k->db];
            size_t len;
            const char *name = key_name(k, &len);
            const struct kv_val *v = kv_lookup_peek(kv, name, len, now_ms);
            const struct kv_type_ops *ops = v ? kv->common->types[v->type] : NULL;
            serve_key(b, k, v, ops ? ops->length(kv_val_obj(v)) : 0);
        }
        key_maybe_drop(b, k);
    }
    b->n_ready = 0;
}

/* ------------------------------------------------------------ answering */

void blocked_expire(struct blocked *b, int64_t now_ms)
{
    struct blocked_client *next;
    for (struct blocked_client *bc = b->all; bc; bc = next) {
        next = bc->next;
        if (!bc->woken && bc->deadline_ms && bc->deadline_ms <= now_ms) answer(b, bc, NULL);
    }
}

int blocked_unblock(struct blocked *b, struct client *c, const char *err)
{
    struct blocked_client *bc = c->blocked;
    if (!bc) return 0;
    if (!bc->woken) {
        answer(b, bc, err);
    } else {
        bc->unblocked = 1;
        bc->unblock_err = err;
    }
    return 1;
}

void blocked_release_all(struct blocked *b)
{
    while (b->all) {
        struct blocked_client *bc = b->all;
        struct client *c = bc->c;
        int waiting = !bc->woken;
        blocked_remove(b, c);
        if (waiting) waiters_wake(b->waiters, c);
    }
}

void blocked_client_gone(struct blocked *b, struct client *c)
{
    blocked_remove(b, c);
}

size_t blocked_with_timeout(const struct blocked *b)
{
    size_t n = 0;
    for (const struct blocked_client *bc = b->all; bc; bc = bc->next)
        n += bc->deadline_ms != 0;
    return n;
}
