/*
 * src/base/lazyfree.h - frees large values off the event loop, as Redis's lazyfree.
 *
 * DEL/UNLINK/FLUSHALL of a value with many elements would stall the loop
 * for the time it takes to free each one. The keyspace hands such objects
 * here instead: one background thread frees them in order. The queue is
 * bounded (LAZYFREE_QUEUE_MAX): when it is full the caller frees at once,
 * so memory stays bounded while a burst of deletes drains.
 *
 * Only memory is freed there: the free function must touch nothing but its
 * object (no keyspace, no server state, no logging). The thread starts on the
 * first submit.
 */
#ifndef LAZYFREE_H
#define LAZYFREE_H

#include <stddef.h>

#define LAZYFREE_QUEUE_MAX 4096

typedef void lazyfree_fn(void *obj);

/* Frees obj with fn on the background thread (or at once if the queue is
 * full or the thread cannot start). */
void lazyfree_submit(lazyfree_fn *fn, void *obj);
/* Objects submitted and not yet freed (INFO lazyfree_pending_objects). */
size_t lazyfree_pending(void);
/* Objects the background thread has freed since start (INFO lazyfreed_objects). */
size_t lazyfree_freed(void);
/* Waits until every submitted object is freed (tests, shutdown). */
void lazyfree_drain(void);

#endif
