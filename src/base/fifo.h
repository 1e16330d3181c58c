/*
 * src/base/fifo.h - a first-in, first-out ring of fixed-size items that
 * grows as needed: the queues of commands waiting for replies on a link,
 * of output segments, of clients waiting for the log, of writes waiting
 * for the disk.
 *
 *   struct fifo q;
 *   fifo_init(&q, sizeof(struct item));
 *   struct item *it = fifo_push(&q);   // a zeroed slot at the tail
 *   struct item *first = fifo_at(&q, 0);
 *   fifo_pop(&q);                       // drops the head
 *   fifo_free(&q);
 *
 * A pointer from fifo_at() or fifo_push() is valid until the next push
 * (which may move every item) or until its item is popped. The capacity is
 * a power of two, so an index is a mask, not a division. Growth doubles
 * it; fifo_free() gives the memory back and leaves an empty ring of the
 * same item size.
 */
#ifndef FIFO_H
#define FIFO_H

#include <stddef.h>

#include "raft/raft_assert.h"

struct fifo {
    char *items;
    size_t item_size;
    size_t head; /* the first item's slot */
    size_t len;  /* items held */
    size_t cap;  /* slots: 0 or a power of two */
};

void fifo_init(struct fifo *f, size_t item_size);
/* Appends a zeroed item and returns it; aborts when memory runs out, as
 * every allocation of the server does (src/base/util.h). */
void *fifo_push(struct fifo *f);
/* Drops the first item (there must be one). */
void fifo_pop(struct fifo *f);
/* Keeps the first n items (n <= fifo_len()), dropping those after them. */
void fifo_truncate(struct fifo *f, size_t n);
void fifo_free(struct fifo *f);

static inline size_t fifo_len(const struct fifo *f)
{
    return f->len;
}

/* The i-th item from the head (i < fifo_len()). */
static inline void *fifo_at(const struct fifo *f, size_t i)
{
    ASSERT(i < f->len && f->len <= f->cap);
    return f->items + ((f->head + i) & (f->cap - 1)) * f->item_size;
}

#endif
