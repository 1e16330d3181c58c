/*
 * src/snaplive.c - a live snapshot (see snaplive.h).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "kv.h"
#include "le.h"
#include "snaplive.h"
#include "snapshot.h"
#include "util.h"
#include "../raft/raft_assert.h"

/* linux/ioprio.h's values (no glibc wrapper): class IDLE (3) << 13. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_IDLE (3 << 13)
/* The walk goes WALK_BUCKETS buckets between looks at the clock and the
 * queue. */
#define WALK_BUCKETS 64
/* Chunks kept for reuse once the thread wrote them. */
#define SPARE_CHUNKS_MAX 8

struct chunk {
    struct chunk *next;
    unsigned char *buf;
    size_t len;
};

struct snaplive {
    struct kv *kv;
    struct kv_saver saver;
    struct snapshot_enc enc;
    uint64_t count; /* keys at the start: the header's */
    struct dict_walk walk;
    bool walked; /* the walk is over (the loop's part is done) */
    /* the extras as they were at the start: (u8 kind | u64 len | bytes)... */
    unsigned char *extras;
    size_t extras_len, extras_cap;
    char path[4096];
    struct snapshot_file file; /* the thread's */
    pthread_t thread;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;  /* a chunk queued, room made, the end */
    struct chunk *head, *tail;
    size_t queued; /* bytes in the queue */
    struct chunk *spare;
    unsigned n_spare;
    bool ended;   /* the last chunk is queued */
    bool stopped; /* abandon: the thread leaves at once */
    int result;   /* 0 running, 1 written, -1 failed */
    char err[512];
};

static void chunk_free(struct chunk *c)
{
    free(c->buf);
    free(c);
}

/* ------------------------------------------------------------ the thread */

/* Background work: the lowest CPU priority and the idle I/O class (for I/O
 * schedulers that know classes); failures to lower them are harmless.
 * SCHED_IDLE rather than nice 19, because a CPU running only SCHED_IDLE
 * tasks counts as idle where the scheduler places a waking task: with a
 * merely nice writer holding the other CPU, the clients woken by the
 * server's replies were placed on the server's CPU and preempted it (a node
 * of 1M keys snapshotting under pipelined LPUSH/RPUSH served 15-25% fewer
 * requests a second, measured with the forked writer this replaced). */
static void lower_priority(void)
{
    struct sched_param sp = {0};
    (void)sched_setscheduler(0, SCHED_IDLE, &sp); /* 0: this thread */
    (void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)syscall(SYS_gettid), IOPRIO_IDLE);
}

static void *writer_thread(void *arg)
{
    struct snaplive *s = arg;
    lower_priority();
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->ended && !s->stopped)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stopped || !s->head) break;
        struct chunk *c = s->head;
        s->head = c->next;
        if (!s->head) s->tail = NULL;
        pthread_mutex_unlock(&s->mu);
        snapshot_file_put(&s->file, c->buf, c->len);
        pthread_mutex_lock(&s->mu);
        s->queued -= c->len;
        struct chunk *extra = NULL; /* beyond the spares kept: back to the allocator */
        if (s->n_spare < SPARE_CHUNKS_MAX) {
            c->next = s->spare;
            s->spare = c;
            s->n_spare++;
        } else {
            extra = c;
        }
        pthread_cond_broadcast(&s->cv);
        if (extra) {
            pthread_mutex_unlock(&s->mu);
            chunk_free(extra);
            pthread_mutex_lock(&s->mu);
        }
    }
    bool finish = s->ended && !s->stopped;
    pthread_mutex_unlock(&s->mu);
    if (!finish) {
        snapshot_file_abandon(&s->file);
        return NULL;
    }
    char err[512] = "";
    int rc = snapshot_file_close(&s->file, s->path, err, sizeof err);
    pthread_mutex_lock(&s->mu);
    s->result = rc == 0 ? 1 : -1;
    if (rc != 0) snprintf(s->err, sizeof s->err, "%s", err);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* -------------------------------------------------------------- the loop */

/* A buffer to fill: a spare one, or a new one. */
static unsigned char *buf_take(struct snaplive *s)
{
    pthread_mutex_lock(&s->mu);
    struct chunk *c = s->spare;
    if (c) {
        s->spare = c->next;
        s->n_spare--;
    }
    pthread_mutex_unlock(&s->mu);
    if (!c) {
        unsigned char *buf = snapshot_chunk_new();
        if (!buf) abort(); /* out of memory is fatal, as in util_xmalloc */
        return buf;
    }
    unsigned char *buf = c->buf;
    free(c);
    return buf;
}

/* snapshot_emit_fn: the chunk to the thread, another to fill. */
static unsigned char *emit(void *ud, unsigned char *buf, size_t len)
{
    struct snaplive *s = ud;
    struct chunk *c = util_xmalloc(sizeof *c);
    c->next = NULL;
    c->buf = buf;
    c->len = len;
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = c;
    else
        s->head = c;
    s->tail = c;
    s->queued += len;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return buf_take(s);
}

/* kv_saver.save, and the walk's visitor: e as it is now, then marked. */
static void save(void *ud, struct dict_entry *e)
{
    struct snaplive *s = ud;
    snapshot_enc_record(&s->enc, e->key, e->key_len, e->val);
    e->mark = s->kv->snap_mark & 1;
}

static void walk_visit(void *ud, struct dict_entry *e)
{
    struct snaplive *s = ud;
    if (!kv_entry_saved(s->kv, e)) save(s, e);
}

/* snapshot_extra_put_fn at the start: a copy of each extra record. */
static void copy_extra(void *ud, uint8_t kind, const void *data, size_t len)
{
    struct snaplive *s = ud;
    size_t need = s->extras_len + 9 + len;
    if (need > s->extras_cap) {
        s->extras_cap = need * 2;
        s->extras = util_xrealloc(s->extras, s->extras_cap);
    }
    unsigned char *p = s->extras + s->extras_len;
    p[0] = kind;
    le_put64(p + 1, (uint64_t)len);
    if (len) memcpy(p + 9, data, len);
    s->extras_len = need;
}

/* snapshot_extra.save at the end: the copy, record by record. */
static void replay_extras(void *ud, snapshot_extra_put_fn *put, void *w)
{
    const struct snaplive *s = ud;
    for (size_t off = 0; off < s->extras_len;) {
        const unsigned char *p = s->extras + off;
        size_t len = (size_t)le_get64(p + 1);
        put(w, p[0], p + 9, len);
        off += 9 + len;
    }
}

/* The walk is over: every entry of the start is in the chunks. */
static void walk_done(struct snaplive *s)
{
    s->walked = true;
    kv_snapshot_end(s->kv, 1);
    struct snapshot_extra replay = {.save = replay_extras, .ud = s};
    snapshot_enc_extras(&s->enc, &replay);
    free(snapshot_enc_end(&s->enc)); /* the last chunk is queued; the spare it handed back */
    s->enc.chunk = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->enc.records != s->count) {
        /* A keyspace bug: the file would hold another number of keys than
         * its header says. The thread is told to abandon it. */
        s->stopped = true;
        s->result = -1;
        snprintf(s->err, sizeof s->err, "saved %llu keys, the keyspace held %llu",
                 (unsigned long long)s->enc.records, (unsigned long long)s->count);
    }
    s->ended = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static bool queue_full(struct snaplive *s)
{
    pthread_mutex_lock(&s->mu);
    bool full = s->queued >= SNAPLIVE_QUEUE_BYTES;
    pthread_mutex_unlock(&s->mu);
    return full;
}

static void wait_for_room(struct snaplive *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->queued >= SNAPLIVE_QUEUE_BYTES && !s->stopped)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

/* WALK_BUCKETS buckets of the walk; true once the walk is over. */
static bool walk_some(struct snaplive *s)
{
    if (kv_snapshot_walk(s->kv, &s->walk, WALK_BUCKETS, walk_visit, s)) walk_done(s);
    return s->walked;
}

void snaplive_step(struct snaplive *s, int64_t budget_us)
{
    if (s->walked) return;
    int64_t until = clock_mono_us() + budget_us;
    while (!walk_some(s)) {
        if (budget_us == 0) {
            wait_for_room(s);
            continue;
        }
        if (clock_mono_us() >= until || queue_full(s)) return;
    }
}

void snaplive_step_buckets(struct snaplive *s, uint32_t buckets)
{
    if (s->walked) return;
    if (kv_snapshot_walk(s->kv, &s->walk, buckets, walk_visit, s))
        walk_done(s);
    else
        wait_for_room(s);
}

bool snaplive_walking(const struct snaplive *s)
{
    return !s->walked && !queue_full((struct snaplive *)s);
}

bool snaplive_walked(const struct snaplive *s)
{
    return s->walked;
}

int snaplive_poll(struct snaplive *s, bool wait, char *err, size_t errlen)
{
    if (wait) snaplive_step(s, 0);
    pthread_mutex_lock(&s->mu);
    while (wait && s->result == 0)
        pthread_cond_wait(&s->cv, &s->mu);
    int r = s->result;
    if (r < 0) snprintf(err, errlen, "%s", s->err);
    pthread_mutex_unlock(&s->mu);
    return r;
}

uint64_t snaplive_buffer_bytes(const struct snaplive *s)
{
    struct snaplive *m = (struct snaplive *)s; /* the lock only */
    pthread_mutex_lock(&m->mu);
    uint64_t n = s->queued + (uint64_t)s->n_spare * SNAPSHOT_CHUNK_BYTES;
    pthread_mutex_unlock(&m->mu);
    return n + (s->enc.chunk ? SNAPSHOT_CHUNK_BYTES : 0);
}

struct snaplive *snaplive_start(const char *path, struct kv *kv, const struct snapshot_extra *extra,
                                uint64_t index, uint64_t term, char *err, size_t errlen)
{
    struct snaplive *s = util_xcalloc(1, sizeof *s);
    if (snprintf(s->path, sizeof s->path, "%s", path) >= (int)sizeof s->path) {
        free(s);
        util_fail(err, errlen, -1, "%s: path too long", path);
        return NULL;
    }
    if (snapshot_file_open(&s->file, path, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int rc = pthread_create(&s->thread, NULL, writer_thread, s);
    if (rc != 0) {
        snapshot_file_abandon(&s->file);
        util_fail(err, errlen, -1, "cannot start the snapshot thread: %s", strerror(rc));
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    s->kv = kv;
    s->count = kv_size(kv);
    s->saver = (struct kv_saver){.save = save, .ud = s};
    if (extra && extra->save) extra->save(extra->ud, copy_extra, s);
    snapshot_enc_init(&s->enc, kv->types, buf_take(s), emit, s);
    snapshot_enc_header(&s->enc, index, term, s->count);
    kv_snapshot_walk_init(kv, &s->walk);
    kv_snapshot_begin(kv, &s->saver);
    return s;
}

void snaplive_free(struct snaplive *s)
{
    if (!s) return;
    if (!s->walked) kv_snapshot_end(s->kv, 0);
    pthread_mutex_lock(&s->mu);
    if (s->result == 0) s->stopped = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    while (s->head) {
        struct chunk *c = s->head;
        s->head = c->next;
        chunk_free(c);
    }
    while (s->spare) {
        struct chunk *c = s->spare;
        s->spare = c->next;
        chunk_free(c);
    }
    free(s->enc.chunk);
    free(s->extras);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
