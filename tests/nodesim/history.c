/*
 * tests/nodesim/history.c - the linearizability check (history.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "history.h"

int h_invoke(struct history *h, enum h_kind kind, int key, uint64_t value, int64_t at, int client)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 256;
        h->ops = realloc(h->ops, (size_t)h->cap * sizeof *h->ops);
        if (!h->ops) abort();
    }
    h->ops[h->n] = (struct h_op){kind, key, value, at, H_NEVER, H_UNKNOWN, client};
    return h->n++;
}

void h_respond(struct history *h, int op, enum h_outcome outcome, uint64_t value, int64_t at)
{
    struct h_op *o = &h->ops[op];
    o->outcome = outcome;
    if (o->kind == H_READ) o->value = value;
    o->resp = outcome == H_UNKNOWN ? H_NEVER : at;
}

/* The write of value v to key, or NULL (v 0: the initial absence). */
static const struct h_op *writer(const struct history *h, int key, uint64_t v)
{
    for (int i = 0; i < h->n; i++) {
        const struct h_op *o = &h->ops[i];
        if (o->kind == H_WRITE && o->key == key && o->value == v) return o;
    }
    return NULL;
}

/* The initial absence: written before time began. */
static const struct h_op initial = {H_WRITE, -1, 0, INT64_MIN, INT64_MIN, H_OK, -1};

static int definite_before(const struct h_op *a, const struct h_op *b)
{
    return a->resp != H_NEVER && a->resp < b->inv;
}

int h_check(const struct history *h, int n_keys, char *err, size_t errlen)
{
    for (int i = 0; i < h->n; i++) {
        const struct h_op *r = &h->ops[i];
        if (r->kind != H_READ || r->outcome != H_OK) continue;
        const struct h_op *w = r->value ? writer(h, r->key, r->value) : &initial;
        if (!w || w->outcome == H_FAILED) {
            snprintf(err, errlen, "read of key %d (client %d, t=%lld) returned %llu, never written",
                     r->key, r->client, (long long)r->inv, (unsigned long long)r->value);
            return -1;
        }
        if (r->resp < w->inv) {
            snprintf(err, errlen, "read of key %d returned %llu before it was written", r->key,
                     (unsigned long long)r->value);
            return -1;
        }
        for (int j = 0; j < h->n; j++) {
            const struct h_op *w2 = &h->ops[j];
            if (w2->kind != H_WRITE || w2->key != r->key || w2 == w || w2->outcome != H_OK)
                continue;
            if (definite_before(w, w2) && definite_before(w2, r)) {
                snprintf(err, errlen,
                         "stale read of key %d (client %d, [%lld, %lld]): returned %llu (written "
                         "[%lld, %lld]) but %llu was acknowledged after it ([%lld, %lld])",
                         r->key, r->client, (long long)r->inv, (long long)r->resp,
                         (unsigned long long)r->value, (long long)w->inv, (long long)w->resp,
                         (unsigned long long)w2->value, (long long)w2->inv, (long long)w2->resp);
                return -1;
            }
        }
        for (int j = 0; j < h->n; j++) {
            const struct h_op *r1 = &h->ops[j];
            if (r1->kind != H_READ || r1->key != r->key || r1->outcome != H_OK) continue;
            if (!definite_before(r1, r)) continue;
            const struct h_op *w1 = r1->value ? writer(h, r1->key, r1->value) : &initial;
            if (w1 && w1 != w && definite_before(w, w1)) {
                snprintf(err, errlen,
                         "reads of key %d went back in time: %llu at [%lld, %lld], then %llu at "
                         "[%lld, %lld], whose write ended before the first's began",
                         r->key, (unsigned long long)r1->value, (long long)r1->inv,
                         (long long)r1->resp, (unsigned long long)r->value, (long long)r->inv,
                         (long long)r->resp);
                return -1;
            }
        }
    }
    (void)n_keys;
    return 0;
}

void h_free(struct history *h)
{
    free(h->ops);
    h->ops = NULL;
    h->n = h->cap = 0;
}
