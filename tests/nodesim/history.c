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

/* The initial absence: written before time began. */
static const struct h_op initial = {H_WRITE, -1, 0, INT64_MIN, INT64_MIN, H_OK, -1};

static int definite_before(const struct h_op *a, const struct h_op *b)
{
    return a->resp != H_NEVER && a->resp < b->inv;
}

/*
 * The check runs in O(n log n): three views of the history, each sorted by
 * key, answer a read's questions by binary search.
 *   by_value: every write by (value, then position): a value's writer is the
 *             first write of it (values are unique per key).
 *   acked:    the acknowledged writes by response time, with the running
 *             maximum of their invocation times: an acknowledged write that
 *             began after w ended and ended before r began exists iff the
 *             latest invocation among those that ended before r began is
 *             past w's response.
 *   reads:    the answered reads by response time, with the running maximum
 *             of their values' writers' invocations: the same question for
 *             "went back in time".
 * A violation found this way is then described from a scan for its witness.
 */
struct h_view {
    int op;      /* index in the history */
    int key;     /* sort key */
    int64_t at;  /* sort key: value (by_value) or response time */
    int64_t run; /* acked, reads: the running maximum within the key */
};

static int view_cmp(const void *a, const void *b)
{
    const struct h_view *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->at != y->at) return x->at < y->at ? -1 : 1;
    return x->op < y->op ? -1 : x->op > y->op;
}

/* The first element of v[0..n) not below (key, at), by view_cmp's order
 * without the position. */
static int lower_bound(const struct h_view *v, int n, int key, int64_t at)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid].key < key || (v[mid].key == key && v[mid].at < at))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The running maximum of the elements of key whose `at` is below `before`,
 * or INT64_MIN when there are none. */
static int64_t max_before(const struct h_view *v, int n, int key, int64_t before)
{
    int k = lower_bound(v, n, key, before);
    return k > 0 && v[k - 1].key == key ? v[k - 1].run : INT64_MIN;
}

static void sort_and_run(struct h_view *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, view_cmp);
    for (int i = 0; i < n; i++)
        if (i > 0 && v[i - 1].key == v[i].key && v[i - 1].run > v[i].run) v[i].run = v[i - 1].run;
}

struct h_index {
    struct h_view *by_value, *acked, *reads;
    int n_value, n_acked, n_reads;
};

/* The write of value v to key, or NULL (v 0: the initial absence). */
static const struct h_op *writer(const struct history *h, const struct h_index *x, int key,
                                 uint64_t v)
{
    if (v == 0) return &initial;
    int k = lower_bound(x->by_value, x->n_value, key, (int64_t)v);
    if (k == x->n_value || x->by_value[k].key != key || x->by_value[k].at != (int64_t)v)
        return NULL;
    return &h->ops[x->by_value[k].op];
}

static int build_index(const struct history *h, struct h_index *x)
{
    size_t bytes = (size_t)(h->n ? h->n : 1) * sizeof(struct h_view);
    x->by_value = malloc(bytes);
    x->acked = malloc(bytes);
    x->reads = malloc(bytes);
    x->n_value = x->n_acked = x->n_reads = 0;
    if (!x->by_value || !x->acked || !x->reads) return -1;
    for (int i = 0; i < h->n; i++) {
        const struct h_op *o = &h->ops[i];
        if (o->kind != H_WRITE) continue;
        /* values are below 2^63 (the simulator's counters) */
        x->by_value[x->n_value++] = (struct h_view){i, o->key, (int64_t)o->value, 0};
        if (o->outcome == H_OK)
            x->acked[x->n_acked++] = (struct h_view){i, o->key, o->resp, o->inv};
    }
    qsort(x->by_value, (size_t)x->n_value, sizeof *x->by_value, view_cmp);
    sort_and_run(x->acked, x->n_acked);
    for (int i = 0; i < h->n; i++) {
        const struct h_op *o = &h->ops[i];
        if (o->kind != H_READ || o->outcome != H_OK || o->resp == H_NEVER) continue;
        const struct h_op *w = writer(h, x, o->key, o->value);
        x->reads[x->n_reads++] = (struct h_view){i, o->key, o->resp, w ? w->inv : INT64_MIN};
    }
    sort_and_run(x->reads, x->n_reads);
    return 0;
}

static void free_index(struct h_index *x)
{
    free(x->by_value);
    free(x->acked);
    free(x->reads);
}

static int check(const struct history *h, const struct h_index *x, char *err, size_t errlen)
{
    for (int i = 0; i < h->n; i++) {
        const struct h_op *r = &h->ops[i];
        if (r->kind != H_READ || r->outcome != H_OK) continue;
        const struct h_op *w = writer(h, x, r->key, r->value);
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
        if (w->resp == H_NEVER) continue; /* nothing is definitely after w */
        if (max_before(x->acked, x->n_acked, r->key, r->inv) > w->resp) {
            for (int j = 0; j < h->n; j++) {
                const struct h_op *w2 = &h->ops[j];
                if (w2->kind != H_WRITE || w2->key != r->key || w2 == w || w2->outcome != H_OK ||
                    !definite_before(w, w2) || !definite_before(w2, r))
                    continue;
                snprintf(err, errlen,
                         "stale read of key %d (client %d, [%lld, %lld]): returned %llu (written "
                         "[%lld, %lld]) but %llu was acknowledged after it ([%lld, %lld])",
                         r->key, r->client, (long long)r->inv, (long long)r->resp,
                         (unsigned long long)r->value, (long long)w->inv, (long long)w->resp,
                         (unsigned long long)w2->value, (long long)w2->inv, (long long)w2->resp);
                return -1;
            }
        }
        if (max_before(x->reads, x->n_reads, r->key, r->inv) > w->resp) {
            for (int j = 0; j < h->n; j++) {
                const struct h_op *r1 = &h->ops[j];
                if (r1->kind != H_READ || r1->key != r->key || r1->outcome != H_OK ||
                    !definite_before(r1, r))
                    continue;
                const struct h_op *w1 = writer(h, x, r1->key, r1->value);
                if (!w1 || w1 == w || !definite_before(w, w1)) continue;
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
    return 0;
}

int h_check(const struct history *h, int n_keys, char *err, size_t errlen)
{
    struct h_index x;
    (void)n_keys;
    int rc = build_index(h, &x);
    if (rc != 0)
        snprintf(err, errlen, "out of memory checking %d operations", h->n);
    else
        rc = check(h, &x, err, errlen);
    free_index(&x);
    return rc;
}

void h_free(struct history *h)
{
    free(h->ops);
    h->ops = NULL;
    h->n = h->cap = 0;
}

/* ------------------------------------------------------------ self-test */

struct h_case {
    const char *name;
    int bad;            /* the check must flag it */
    struct h_op ops[4]; /* kind, key, value, inv, resp, outcome, client */
    int n;
};

#define W_(v, a, b, o)                                                                             \
    {                                                                                              \
        H_WRITE, 7, v, a, b, o, 1                                                                  \
    }
#define R_(v, a, b)                                                                                \
    {                                                                                              \
        H_READ, 7, v, a, b, H_OK, 2                                                                \
    }
static const struct h_case cases[] = {
    {"valid", 0, {W_(1, 0, 10, H_OK), R_(1, 20, 30)}, 2},
    {"concurrent writes, either read",
     0,
     {W_(1, 0, 10, H_OK), W_(2, 5, 15, H_OK), R_(1, 20, 30), R_(2, 40, 50)},
     4},
    {"unknown write seen or not",
     0,
     {W_(1, 0, 10, H_OK), W_(2, 20, H_NEVER, H_UNKNOWN), R_(2, 30, 40), R_(2, 50, 60)},
     4},
    {"never written", 1, {W_(1, 0, 10, H_OK), R_(5, 20, 30)}, 2},
    {"failed write read", 1, {W_(1, 0, 10, H_FAILED), R_(1, 20, 30)}, 2},
    {"read before its write", 1, {W_(1, 50, 60, H_OK), R_(1, 10, 20)}, 2},
    {"stale read", 1, {W_(1, 0, 10, H_OK), W_(2, 20, 30, H_OK), R_(1, 40, 50)}, 3},
    {"lost write (absent again)", 1, {W_(1, 0, 10, H_OK), R_(0, 20, 30)}, 2},
    {"back in time",
     1,
     {W_(1, 0, 10, H_OK), W_(2, 20, H_NEVER, H_UNKNOWN), R_(2, 40, 50), R_(1, 60, 70)},
     4},
};

int h_selftest(void)
{
    int wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct h_case *c = &cases[i];
        struct history h = {(struct h_op *)c->ops, c->n, c->n};
        char err[512] = "";
        int flagged = h_check(&h, 8, err, sizeof err) != 0;
        if (flagged != c->bad) {
            fprintf(stderr, "nodesim: history self-test \"%s\": %s%s\n", c->name,
                    flagged ? "flagged: " : "not flagged", err);
            wrong++;
        }
    }
    return wrong;
}
