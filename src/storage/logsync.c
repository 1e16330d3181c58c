/*
 * src/storage/logsync.c - the Raft log's sync thread (see logsync.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "base/clock.h"
#include "storage/logsync.h"
#include "base/util.h"

struct logsync {
    struct ev_loop *loop;
    struct storage *st;
    int fd;
    ev_async wake;
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t asked;
    uint64_t requested, synced;
    int error; /* errno of a failed sync: no more syncs */
    bool stop;
    struct storage_sync_times times; /* syncs since the last poll */
};

static void *sync_thread(void *arg)
{
    struct logsync *ls = arg;
    pthread_mutex_lock(&ls->mu);
    for (;;) {
        while (!ls->stop && !ls->error && ls->requested == ls->synced)
            pthread_cond_wait(&ls->asked, &ls->mu);
        if (ls->stop || ls->error) break;
        uint64_t mark = ls->requested;
        pthread_mutex_unlock(&ls->mu);
        int64_t t0 = clock_mono_us();
        int rc = fdatasync(ls->fd);
        int saved = errno;
        uint64_t us = (uint64_t)(clock_mono_us() - t0);
        pthread_mutex_lock(&ls->mu);
        if (rc != 0) {
            ls->error = saved ? saved : EIO;
        } else {
            ls->synced = mark;
            ls->times.count++;
            ls->times.total_us += us;
            if (us > ls->times.max_us) ls->times.max_us = us;
            ls->times.last_us = us;
        }
        ev_async_send(ls->loop, &ls->wake);
    }
    pthread_mutex_unlock(&ls->mu);
    return NULL;
}

/* Its firing is what counts: the loop iterates, and the driver polls. */
static void woken(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

struct logsync *logsync_start(struct ev_loop *loop, struct storage *s)
{
    struct logsync *ls = util_xcalloc(1, sizeof *ls);
    ls->loop = loop;
    ls->st = s;
    ls->fd = storage_sync_fd(s);
    if (ls->fd < 0 || pthread_mutex_init(&ls->mu, NULL) != 0) goto fail;
    if (pthread_cond_init(&ls->asked, NULL) != 0) {
        pthread_mutex_destroy(&ls->mu);
        goto fail;
    }
    ev_async_init(&ls->wake, woken);
    ev_async_start(loop, &ls->wake);
    if (pthread_create(&ls->thread, NULL, sync_thread, ls) != 0) {
        ev_async_stop(loop, &ls->wake);
        pthread_cond_destroy(&ls->asked);
        pthread_mutex_destroy(&ls->mu);
        goto fail;
    }
    return ls;
fail:
    free(ls);
    return NULL;
}

void logsync_request(struct logsync *ls, uint64_t mark)
{
    pthread_mutex_lock(&ls->mu);
    if (mark > ls->requested) {
        ls->requested = mark;
        pthread_cond_signal(&ls->asked);
    }
    pthread_mutex_unlock(&ls->mu);
}

int logsync_poll(struct logsync *ls, uint64_t *mark, char *err, size_t errlen)
{
    pthread_mutex_lock(&ls->mu);
    *mark = ls->synced;
    int error = ls->error;
    struct storage_sync_times t = ls->times;
    memset(&ls->times, 0, sizeof ls->times);
    pthread_mutex_unlock(&ls->mu);
    if (t.count) storage_synced(ls->st, *mark, &t);
    if (!error) return 0;
    snprintf(err, errlen, "fdatasync of the log's WAL: %s", strerror(error));
    return -1;
}

void logsync_stop(struct logsync *ls)
{
    if (!ls) return;
    pthread_mutex_lock(&ls->mu);
    ls->stop = true;
    pthread_cond_signal(&ls->asked);
    pthread_mutex_unlock(&ls->mu);
    pthread_join(ls->thread, NULL);
    ev_async_stop(ls->loop, &ls->wake);
    pthread_cond_destroy(&ls->asked);
    pthread_mutex_destroy(&ls->mu);
    free(ls);
}
