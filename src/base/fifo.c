/*
 * src/base/fifo.c - the growing ring of fixed-size items (src/base/fifo.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/fifo.h"
#include "base/util.h"

#define FIFO_INIT_CAP 8 /* slots of the first allocation: a power of two */

void fifo_init(struct fifo *f, size_t item_size)
{
    ASSERT(item_size > 0);
    memset(f, 0, sizeof *f);
    f->item_size = item_size;
}

/* Doubles the slots, moving the items to the front of the new ones. */
static void grow(struct fifo *f)
{
    size_t ncap = f->cap ? f->cap * 2 : FIFO_INIT_CAP;
    ASSERT(ncap > f->cap && (ncap & (ncap - 1)) == 0);
    char *n = util_xmalloc(ncap * f->item_size);
    /* The items are one run from head, or two when they wrap. */
    size_t first = f->cap - f->head < f->len ? f->cap - f->head : f->len;
    if (f->len) memcpy(n, f->items + f->head * f->item_size, first * f->item_size);
    if (f->len > first) memcpy(n + first * f->item_size, f->items, (f->len - first) * f->item_size);
    free(f->items);
    f->items = n;
    f->head = 0;
    f->cap = ncap;
}

void *fifo_push(struct fifo *f)
{
    if (f->len == f->cap) grow(f);
    void *slot = fifo_at(f, f->len++);
    memset(slot, 0, f->item_size);
    return slot;
}

void fifo_pop(struct fifo *f)
{
    ASSERT(f->len > 0);
    f->head = (f->head + 1) & (f->cap - 1);
    f->len--;
}

void fifo_truncate(struct fifo *f, size_t n)
{
    ASSERT(n <= f->len);
    f->len = n;
}

void fifo_free(struct fifo *f)
{
    free(f->items);
    f->items = NULL;
    f->head = f->len = f->cap = 0;
}
