/*
 * src/node/waiters.c - completions (see waiters.h).
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "cmd/client.h"
#include "base/util.h"
#include "node/waiters.h"

/* A client waiting for the entry at `index` (proposed in `term`) to apply.
 * A batch entry has one waiter per command, consecutive in the FIFO. */
struct write_waiter {
    uint64_t index, term;
    struct client *c; /* NULL once answered (timeout) or gone */
    int64_t deadline_ms;
    uint32_t tag; /* its reply tag (client.h: REPLY_TAG_MUTED, REPLY_TAG_AS) */
};

/* A client waiting for a ReadIndex round; covers its input up to `barrier`. */
struct read_waiter {
    uint64_t ctx;
    struct client *c;
    uint64_t barrier; /* stream position: reads ending at or before it may run */
    uint64_t index;   /* valid once released */
    int released;
    int64_t deadline_ms;
};

/* Makes room for `need` client pointers in *arr (and as many tags in
 * *tags, when given). */
static void clients_reserve2(struct client ***arr, uint32_t **tags, size_t *cap, size_t need)
{
    if (need <= *cap) return;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    *arr = util_xrealloc(*arr, ncap * sizeof **arr);
    if (tags) *tags = util_xrealloc(*tags, ncap * sizeof **tags);
    *cap = ncap;
}

static void clients_reserve(struct client ***arr, size_t *cap, size_t need)
{
    clients_reserve2(arr, NULL, cap, need);
}

void waiters_init(struct waiters *w)
{
    memset(w, 0, sizeof *w);
    fifo_init(&w->writes, sizeof(struct write_waiter));
    fifo_init(&w->reads, sizeof(struct read_waiter));
}

void waiters_free(struct waiters *w)
{
    fifo_free(&w->writes);
    fifo_free(&w->reads);
    free(w->staged);
    free(w->staged_tags);
    free(w->entry);
    free(w->entry_tags);
    free(w->woken);
    free(w->parked);
    memset(w, 0, sizeof *w);
}

/* --------------------------------------------------------------- parked */

void waiters_park(struct waiters *w, struct client *c)
{
    ASSERT(c);
    for (size_t i = 0; i < w->n_parked; i++)
        if (w->parked[i] == c) return;
    clients_reserve(&w->parked, &w->parked_cap, w->n_parked + 1);
    w->parked[w->n_parked++] = c;
}

size_t waiters_parked(const struct waiters *w)
{
    return w->n_parked;
}

void waiters_unpark(struct waiters *w)
{
    for (size_t i = 0; i < w->n_parked; i++)
        waiters_wake(w, w->parked[i]);
    w->n_parked = 0;
}

/* ---------------------------------------------------------------- woken */

void waiters_wake(struct waiters *w, struct client *c)
{
    if (!c) return;
    if (w->woken_head == w->n_woken) w->woken_head = w->n_woken = 0;
    clients_reserve(&w->woken, &w->woken_cap, w->n_woken + 1);
    w->woken[w->n_woken++] = c;
}

struct client *const *waiters_woken(const struct waiters *w, size_t *n)
{
    *n = w->n_woken - w->woken_head;
    return *n ? w->woken + w->woken_head : NULL; /* woken is NULL until the first wake */
}

struct client *waiters_next_woken(struct waiters *w)
{
    while (w->woken_head < w->n_woken) {
        struct client *c = w->woken[w->woken_head++];
        if (c) return c;
    }
    w->woken_head = w->n_woken = 0;
    return NULL;
}

/* --------------------------------------------------------------- writes */

/* One of c's writes was answered (failed: with an error). A held blocking
 * command in the log is the client's last write (nothing after it runs):
 * when it is answered, an error is its reply, and success means the apply
 * either served it (and said so: HOLD_SERVED, src/cmd/client.h) or found nothing:
 * the dispatcher then runs it again, to block (src/server/blocked.h). */
static void write_answered(struct waiters *w, struct client *c, int failed)
{
    ASSERT(c->pending_writes > 0);
    c->pending_writes--;
    if (client_in_log(c) && c->pending_writes == 0)
        client_hold_to(c, failed || c->hold == HOLD_SERVED ? HOLD_ANSWERED : HOLD_CHECKED);
    waiters_wake(w, c);
}

static void answer_write(struct waiters *w, struct write_waiter *ww, const char *err)
{
    if (!ww->c) return;
    if (err && !(ww->tag & REPLY_TAG_MUTED)) resp_add_error(&ww->c->out, err);
    write_answered(w, ww->c, err != NULL);
    ww->c = NULL;
}

void waiters_stage(struct waiters *w, struct client *c, uint32_t tag_as)
{
    ASSERT(!(tag_as & REPLY_TAG_MUTED)); /* muting is the client's to say */
    clients_reserve2(&w->staged, &w->staged_tags, &w->staged_cap, w->n_staged + 1);
    w->staged_tags[w->n_staged] = (c && c->reply_muted ? REPLY_TAG_MUTED : 0) | tag_as;
    w->staged[w->n_staged++] = c;
    if (c) c->pending_writes++; /* NULL: the node's own write (eviction) */
}

struct client *const *waiters_staged(const struct waiters *w, size_t *n)
{
    *n = w->n_staged;
    return w->staged;
}

const uint32_t *waiters_staged_tags(const struct waiters *w)
{
    return w->staged_tags;
}

static void add_write(struct waiters *w, struct client *c, uint32_t tag, uint64_t index,
                      uint64_t term, int64_t deadline_ms)
{
    /* Waiters are answered from the head as entries apply: indexes never go back. */
    ASSERT(fifo_len(&w->writes) == 0 ||
           ((struct write_waiter *)fifo_at(&w->writes, fifo_len(&w->writes) - 1))->index <= index);
    ASSERT(index > 0 && term > 0); /* a proposed entry's */
    struct write_waiter *ww = fifo_push(&w->writes);
    ww->index = index;
    ww->term = term;
    ww->c = c;
    ww->deadline_ms = deadline_ms;
    ww->tag = tag;
    if (c) c->last_write_index = index; /* what its WAIT asks about (src/server/replwait.h) */
}

void waiters_add_write(struct waiters *w, struct client *c, uint64_t index, uint64_t term,
                       int64_t deadline_ms)
{
    add_write(w, c, c && c->reply_muted ? REPLY_TAG_MUTED : 0, index, term, deadline_ms);
}

void waiters_staged_proposed(struct waiters *w, uint64_t index, uint64_t term, int64_t deadline_ms)
{
    for (size_t i = 0; i < w->n_staged; i++) /* c NULL: keeps reply i at position i */
        add_write(w, w->staged[i], w->staged_tags[i], index, term, deadline_ms);
    w->n_staged = 0;
}

void waiters_staged_refused(struct waiters *w)
{
    for (size_t i = 0; i < w->n_staged; i++) {
        struct client *c = w->staged[i];
        if (c) write_answered(w, c, 1);
    }
    w->n_staged = 0;
}

void waiters_delay_writes(struct waiters *w, int64_t ms)
{
    for (size_t i = 0; i < fifo_len(&w->writes); i++)
        ((struct write_waiter *)fifo_at(&w->writes, i))->deadline_ms += ms;
}

size_t waiters_entry(struct waiters *w, uint64_t index, uint64_t term,
                     struct client *const **clients)
{
    while (fifo_len(&w->writes)) { /* waiters of indexes skipped */
        struct write_waiter *head = fifo_at(&w->writes, 0);
        if (head->index >= index) break;
        answer_write(w, head, WAITERS_WRITE_TIMEOUT);
        fifo_pop(&w->writes);
    }
    size_t k = 0;
    while (k < fifo_len(&w->writes) &&
           ((struct write_waiter *)fifo_at(&w->writes, k))->index == index)
        k++;
    ASSERT(k == 0 || ((struct write_waiter *)fifo_at(&w->writes, 0))->index == index);
    /* Proposed in another term: another entry replaced theirs (waiters kept
     * past a handover, node.c's role_changed), which they never wait for. */
    if (k && ((struct write_waiter *)fifo_at(&w->writes, 0))->term != term) {
        for (size_t i = 0; i < k; i++) {
            answer_write(w, fifo_at(&w->writes, 0), WAITERS_WRITE_TIMEOUT);
            fifo_pop(&w->writes);
        }
        k = 0;
    }
    clients_reserve2(&w->entry, &w->entry_tags, &w->entry_cap, k);
    /* Theirs only if it is still the entry they proposed (same term: Log
     * Matching), otherwise it replaced theirs. */
    for (size_t i = 0; i < k; i++) {
        struct write_waiter *ww = fifo_at(&w->writes, i);
        w->entry[i] = ww->term == term ? ww->c : NULL;
        w->entry_tags[i] = ww->tag;
    }
    *clients = w->entry;
    return k;
}

const uint32_t *waiters_entry_tags(const struct waiters *w)
{
    return w->entry_tags;
}

void waiters_entry_applied(struct waiters *w, size_t k)
{
    ASSERT(k <= fifo_len(&w->writes));
    for (size_t i = 0; i < k; i++) {
        answer_write(w, fifo_at(&w->writes, 0), w->entry[i] ? NULL : WAITERS_WRITE_TIMEOUT);
        fifo_pop(&w->writes);
    }
}

/* ---------------------------------------------------------------- reads */

static void answer_read(struct waiters *w, struct read_waiter *rw, const char *err)
{
    if (!rw->c) return;
    if (err) {
        if (!rw->c->reply_muted) resp_add_error(&rw->c->out, err);
        client_hold_to(rw->c, HOLD_ANSWERED); /* the read that waited has its answer */
    } else {
        rw->c->read_cleared_end = rw->barrier;
    }
    ASSERT(rw->c->waiting_read);
    rw->c->waiting_read = 0;
    waiters_wake(w, rw->c);
    rw->c = NULL;
}

void waiters_add_read(struct waiters *w, struct client *c, uint64_t ctx, uint64_t barrier,
                      int64_t deadline_ms)
{
    struct read_waiter *rw = fifo_push(&w->reads);
    rw->ctx = ctx;
    rw->c = c;
    rw->barrier = barrier;
    rw->deadline_ms = deadline_ms;
    ASSERT(!c->waiting_read && "one read round at a time per client");
    c->waiting_read = 1;
}

void waiters_read_released(struct waiters *w, uint64_t ctx, uint64_t index)
{
    for (size_t k = 0; k < fifo_len(&w->reads); k++) {
        struct read_waiter *rw = fifo_at(&w->reads, k);
        if (rw->ctx != ctx) continue;
        rw->released = 1;
        rw->index = index;
        return;
    }
}

void waiters_read_failed(struct waiters *w, uint64_t ctx)
{
    for (size_t k = 0; k < fifo_len(&w->reads); k++) {
        struct read_waiter *rw = fifo_at(&w->reads, k);
        if (rw->ctx != ctx) continue;
        if (!rw->c) return;
        rw->c->read_failed_end = rw->barrier;
        ASSERT(rw->c->waiting_read);
        rw->c->waiting_read = 0;
        waiters_wake(w, rw->c); /* runs them again: node_route sends them on */
        rw->c = NULL;           /* popped in its turn by waiters_serve_reads */
        return;
    }
}

void waiters_serve_reads(struct waiters *w, uint64_t applied)
{
    while (fifo_len(&w->reads)) {
        struct read_waiter *rw = fifo_at(&w->reads, 0);
        if (rw->c && (!rw->released || rw->index > applied)) break;
        ASSERT(!rw->c || rw->c->waiting_read);
        answer_read(w, rw, NULL);
        fifo_pop(&w->reads);
    }
}

/* ----------------------------------------------------------------- both */

void waiters_writes_lost_after(struct waiters *w, uint64_t index)
{
    size_t keep = 0; /* writes are in index order: those up to index lead */
    while (keep < fifo_len(&w->writes) &&
           ((struct write_waiter *)fifo_at(&w->writes, keep))->index <= index)
        keep++;
    for (size_t i = keep; i < fifo_len(&w->writes); i++)
        answer_write(w, fifo_at(&w->writes, i), WAITERS_WRITE_TIMEOUT);
    fifo_truncate(&w->writes, keep);
}

void waiters_leadership_lost(struct waiters *w, uint64_t committed)
{
    waiters_writes_lost_after(w, committed);
    for (size_t i = 0; i < fifo_len(&w->reads); i++)
        answer_read(w, fifo_at(&w->reads, i), WAITERS_READ_TIMEOUT);
    fifo_truncate(&w->reads, 0);
}

void waiters_expire(struct waiters *w, int64_t now_ms)
{
    for (size_t i = 0; i < fifo_len(&w->writes); i++) {
        struct write_waiter *ww = fifo_at(&w->writes, i);
        if (ww->c && ww->deadline_ms <= now_ms) answer_write(w, ww, WAITERS_WRITE_TIMEOUT);
    }
    while (fifo_len(&w->reads)) {
        struct read_waiter *rw = fifo_at(&w->reads, 0);
        if (rw->c && rw->deadline_ms > now_ms) break;
        answer_read(w, rw, WAITERS_READ_TIMEOUT);
        fifo_pop(&w->reads);
    }
}

void waiters_client_gone(struct waiters *w, struct client *c)
{
    for (size_t i = 0; i < fifo_len(&w->writes); i++) {
        struct write_waiter *ww = fifo_at(&w->writes, i);
        if (ww->c == c) ww->c = NULL;
    }
    for (size_t i = 0; i < fifo_len(&w->reads); i++) {
        struct read_waiter *rw = fifo_at(&w->reads, i);
        if (rw->c == c) rw->c = NULL;
    }
    for (size_t i = 0; i < w->n_staged; i++)
        if (w->staged[i] == c) w->staged[i] = NULL;
    for (size_t i = w->woken_head; i < w->n_woken; i++)
        if (w->woken[i] == c) w->woken[i] = NULL;
    for (size_t i = 0; i < w->n_parked; i++)
        if (w->parked[i] == c) w->parked[i] = NULL;
}
