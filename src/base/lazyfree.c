/*
 * src/base/lazyfree.c - the background free thread (see lazyfree.h).
 */
#include <pthread.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/lazyfree.h"
#include "raft/raft_assert.h"

struct job {
    lazyfree_fn *fn;
    void *obj;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t have_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;
static struct job queue[LAZYFREE_QUEUE_MAX];
static size_t head, count, busy; /* busy: jobs taken, being freed */
static size_t freed;             /* jobs done since start */
static int started, start_failed;

static void *worker(void *arg)
{
    (void)arg;
    alloc_track_thread(); /* what it frees leaves used_memory */
    pthread_mutex_lock(&mu);
    for (;;) {
        while (count == 0)
            pthread_cond_wait(&have_work, &mu);
        ASSERT(count <= LAZYFREE_QUEUE_MAX && head < LAZYFREE_QUEUE_MAX);
        struct job j = queue[head];
        head = (head + 1) % LAZYFREE_QUEUE_MAX;
        count--;
        busy++;
        pthread_mutex_unlock(&mu);
        j.fn(j.obj);
        pthread_mutex_lock(&mu);
        ASSERT(busy > 0);
        busy--;
        freed++;
        if (count == 0 && busy == 0) pthread_cond_broadcast(&drained);
    }
    return NULL;
}

/* Called with mu held. */
static int ensure_started(void)
{
    if (started) return 1;
    if (start_failed) return 0;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker, NULL) != 0)
        start_failed = 1;
    else
        started = 1;
    pthread_attr_destroy(&attr);
    return started;
}

void lazyfree_submit(lazyfree_fn *fn, void *obj)
{
    pthread_mutex_lock(&mu);
    if (count == LAZYFREE_QUEUE_MAX || !ensure_started()) {
        pthread_mutex_unlock(&mu);
        fn(obj);
        return;
    }
    ASSERT(count < LAZYFREE_QUEUE_MAX);
    queue[(head + count) % LAZYFREE_QUEUE_MAX] = (struct job){fn, obj};
    count++;
    pthread_cond_signal(&have_work);
    pthread_mutex_unlock(&mu);
}

size_t lazyfree_pending(void)
{
    pthread_mutex_lock(&mu);
    size_t n = count + busy;
    pthread_mutex_unlock(&mu);
    return n;
}

size_t lazyfree_freed(void)
{
    pthread_mutex_lock(&mu);
    size_t n = freed;
    pthread_mutex_unlock(&mu);
    return n;
}

void lazyfree_drain(void)
{
    pthread_mutex_lock(&mu);
    while (count != 0 || busy != 0)
        pthread_cond_wait(&drained, &mu);
    pthread_mutex_unlock(&mu);
}
