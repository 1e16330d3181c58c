/*
 * src/snaplive.c - a live snapshot (see snaplive.h).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
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

/* A value saved as a twin (kv_type_ops.share): its record, encoded by the
 * thread at the end. val is a copy of the value's head whose object is the
 * twin. */
struct twin_record {
    struct twin_record *next;
    struct kv_val *val;
    size_t klen;
    char key[];
};

/* The loop and the thread share no lock. The thread runs at SCHED_IDLE,
 * so the scheduler may leave it off the CPU for as long as the machine has
 * other work: a lock it held there would stall the loop (a node's
 * heartbeats) for as long. The queues are lock-free stacks, the counters
 * atomics, the wake-ups semaphores (sem_post never blocks), and the loop
 * never joins the thread.
 *
 * The thread frees nothing it did not allocate itself (only the buffer it
 * decompresses a twin's compressed nodes into): used_memory counts the
 * allocations and frees of the threads src/alloc.h tracks, and a snapshot's
 * thread is not one. Every chunk
 * it wrote goes back to the loop, which keeps SPARE_CHUNKS_MAX and frees the
 * rest; a snapshot dropped before its thread ended waits in the loop
 * thread's graveyard (snaplive_reap) until it has. */
struct snaplive {
    /* the loop's */
    struct kv *kv;
    struct kv_saver saver;
    struct snapshot_enc enc;
    uint64_t count; /* keys at the start: the header's */
    struct dict_walk walk;
    bool walked; /* the walk is over (the loop's part is done) */
    /* the extras as they were at the start: (u8 kind | u64 len | bytes)... */
    unsigned char *extras;
    size_t extras_len, extras_cap;
    struct chunk *spare; /* written chunks taken back, to fill again */
    unsigned n_spare;
    /* values saved as twins, and the last chunk the loop filled, which
     * the thread fills on with their records and the extras: the loop's
     * until the walk ends, then the thread's, until it is done */
    const struct kv_type_ops *const *types;
    struct twin_record *twins;
    uint64_t n_twins;
    struct chunk *tail;
    /* the thread's */
    char path[4096];
    struct snapshot_file file;
    /* shared */
    _Atomic(struct chunk *) queue;   /* chunks to write, the newest first */
    _Atomic(struct chunk *) written; /* written ones handed back for reuse */
    atomic_uint n_written;           /* in written */
    atomic_size_t queued;            /* bytes in queue */
    sem_t work;                      /* posted by the loop: a chunk, the end, a stop */
    sem_t progress;                  /* posted by the thread: a chunk written, the result */
    atomic_bool stopped;             /* abandon: the thread leaves at once */
    atomic_bool ended;               /* the last chunk is queued (set after stopped) */
    atomic_int result;               /* 0 running, 1 written, -1 failed (err set before) */
    char err[512];
    atomic_bool thread_done;  /* the thread's last touch */
    struct snaplive *dropped; /* the loop's: next in the graveyard */
};

/* Snapshots dropped while their thread still ran, the loop thread's. */
static _Thread_local struct snaplive *graveyard;

static uint64_t twin_min = SNAPLIVE_TWIN_MIN_BYTES;

void snaplive_twin_min_bytes(uint64_t bytes)
{
    twin_min = bytes;
}

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

static void sem_wait_intr(sem_t *sem)
{
    while (sem_wait(sem) != 0 && errno == EINTR) {
    }
}

static void push(_Atomic(struct chunk *) *top, struct chunk *c)
{
    struct chunk *old = atomic_load(top);
    do {
        c->next = old;
    } while (!atomic_compare_exchange_weak(top, &old, c));
}

/* Every chunk of the queue, the oldest first. */
static struct chunk *take_queue(struct snaplive *s)
{
    struct chunk *c = atomic_exchange(&s->queue, NULL), *oldest = NULL;
    while (c) {
        struct chunk *next = c->next;
        c->next = oldest;
        oldest = c;
        c = next;
    }
    return oldest;
}

static void free_list(struct chunk *c)
{
    while (c) {
        struct chunk *next = c->next;
        chunk_free(c);
        c = next;
    }
}

/* Writes the chunks of one take, in order, and hands each back to the
 * loop; false once told to stop (the rest go back unwritten). */
static bool write_chunks(struct snaplive *s, struct chunk *c)
{
    bool stopped = false;
    while (c) {
        struct chunk *next = c->next;
        stopped = stopped || atomic_load(&s->stopped);
        if (!stopped) snapshot_file_put(&s->file, c->buf, c->len);
        atomic_fetch_sub(&s->queued, c->len);
        atomic_fetch_add(&s->n_written, 1);
        push(&s->written, c);
        sem_post(&s->progress);
        c = next;
    }
    return !stopped;
}

/* snapshot_emit_fn of the thread's own encoder: to the file at once. */
static unsigned char *emit_to_file(void *ud, unsigned char *buf, size_t len)
{
    struct snaplive *s = ud;
    if (!atomic_load(&s->stopped)) snapshot_file_put(&s->file, buf, len);
    return buf;
}

/* snapshot_extra.save at the end (the thread's): the copy of the extras,
 * record by record. */
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

/* After the loop's chunks: the twins' records and the extras, on from the
 * loop's last chunk, and the end. */
static void write_tail(struct snaplive *s)
{
    struct snapshot_enc e;
    snapshot_enc_init(&e, s->types, s->tail->buf, emit_to_file, s);
    e.used = s->tail->len; /* the loop's bytes in it come first */
    for (const struct twin_record *t = s->twins; t; t = t->next)
        snapshot_enc_record(&e, t->key, t->klen, t->val);
    struct snapshot_extra replay = {.save = replay_extras, .ud = s};
    snapshot_enc_extras(&e, &replay);
    s->tail->buf = snapshot_enc_end(&e);
}

static void *writer_thread(void *arg)
{
    struct snaplive *s = arg;
    lower_priority();
    for (;;) {
        bool end = atomic_load(&s->ended); /* before the take: its chunks are all queued */
        struct chunk *c = take_queue(s);
        if (!c && (end || atomic_load(&s->stopped))) break;
        if (!c) {
            sem_wait_intr(&s->work);
            continue;
        }
        if (!write_chunks(s, c)) break;
    }
    if (!atomic_load(&s->stopped)) write_tail(s); /* the walk ended: the tail is here */
    if (atomic_load(&s->stopped)) {
        snapshot_file_abandon(&s->file);
    } else {
        int rc = snapshot_file_close(&s->file, s->path, s->err, sizeof s->err);
        atomic_store(&s->result, rc == 0 ? 1 : -1);
        sem_post(&s->progress);
    }
    atomic_store(&s->thread_done, true); /* s may be freed from here on */
    return NULL;
}

/* -------------------------------------------------------------- the loop */

/* The chunks the thread wrote, taken back: SPARE_CHUNKS_MAX kept to fill
 * again, the others freed. */
static void take_written(struct snaplive *s)
{
    struct chunk *c = atomic_exchange(&s->written, NULL);
    while (c) {
        struct chunk *next = c->next;
        atomic_fetch_sub(&s->n_written, 1);
        if (s->n_spare < SPARE_CHUNKS_MAX) {
            c->next = s->spare;
            s->spare = c;
            s->n_spare++;
        } else {
            chunk_free(c);
        }
        c = next;
    }
}

static void destroy(struct snaplive *s)
{
    free_list(take_queue(s));
    free_list(atomic_exchange(&s->written, NULL));
    free_list(s->spare);
    free_list(s->tail);
    for (struct twin_record *t = s->twins, *next; t; t = next) {
        next = t->next;
        s->types[t->val->type]->free(kv_val_obj(t->val));
        free(t->val);
        free(t);
    }
    free(s->enc.chunk);
    free(s->extras);
    sem_destroy(&s->work);
    sem_destroy(&s->progress);
    free(s);
}

unsigned snaplive_reap(void)
{
    unsigned left = 0;
    struct snaplive **p = &graveyard;
    while (*p) {
        struct snaplive *s = *p;
        if (atomic_load(&s->thread_done)) {
            *p = s->dropped;
            destroy(s);
        } else {
            p = &s->dropped;
            left++;
        }
    }
    return left;
}

/* A buffer to fill: a spare one, or a new one. */
static unsigned char *buf_take(struct snaplive *s)
{
    if (!s->spare) take_written(s);
    struct chunk *c = s->spare;
    if (!c) {
        unsigned char *buf = snapshot_chunk_new();
        if (!buf) abort(); /* out of memory is fatal, as in util_xmalloc */
        return buf;
    }
    s->spare = c->next;
    s->n_spare--;
    unsigned char *buf = c->buf;
    free(c);
    return buf;
}

/* snapshot_emit_fn: the chunk to the thread, another to fill. */
static unsigned char *emit(void *ud, unsigned char *buf, size_t len)
{
    struct snaplive *s = ud;
    struct chunk *c = util_xmalloc(sizeof *c);
    c->buf = buf;
    c->len = len;
    atomic_fetch_add(&s->queued, len);
    push(&s->queue, c);
    sem_post(&s->work);
    return buf_take(s);
}

/* A big value whose type makes twins is saved as one (kv_type_ops.share):
 * in O(its nodes), where encoding it would copy every element; the thread
 * encodes the twin at the end. False: not such a value. */
static bool save_twin(struct snaplive *s, const struct dict_entry *e)
{
    const struct kv_val *v = e->val;
    if (v->type == KV_STRING) return false;
    const struct kv_type_ops *ops = s->types[v->type];
    void *obj = kv_val_obj(v);
    if (!ops->share || !ops->saved_len || ops->saved_len(obj) < twin_min) return false;
    void *twin = ops->share(obj);
    if (!twin) return false;
    struct twin_record *t = util_xmalloc(sizeof *t + e->key_len);
    t->val = util_xmalloc(sizeof *t->val + sizeof twin);
    *t->val = *v;
    memcpy(t->val->data, &twin, sizeof twin);
    memcpy(t->key, e->key, e->key_len);
    t->klen = e->key_len;
    t->next = s->twins;
    s->twins = t;
    s->n_twins++;
    return true;
}

/* kv_saver.save, and the walk's visitor: e as it is now, then marked. */
static void save(void *ud, struct dict_entry *e)
{
    struct snaplive *s = ud;
    if (!save_twin(s, e)) snapshot_enc_record(&s->enc, e->key, e->key_len, e->val);
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

/* The walk is over: every entry of the start is in the chunks or a twin.
 * The last chunk, partly filled, goes to the thread, which fills it on. */
static void walk_done(struct snaplive *s)
{
    s->walked = true;
    kv_snapshot_end(s->kv, 1);
    s->tail = util_xmalloc(sizeof *s->tail);
    *s->tail = (struct chunk){.buf = s->enc.chunk, .len = s->enc.used};
    s->enc.chunk = NULL;
    uint64_t saved = s->enc.records + s->n_twins;
    if (saved != s->count) {
        /* A keyspace bug: the file would hold another number of keys than
         * its header says. The thread is told to abandon it. */
        snprintf(s->err, sizeof s->err, "saved %llu keys, the keyspace held %llu",
                 (unsigned long long)saved, (unsigned long long)s->count);
        atomic_store(&s->result, -1);
        atomic_store(&s->stopped, true);
    }
    atomic_store(&s->ended, true);
    sem_post(&s->work);
}

static bool queue_full(const struct snaplive *s)
{
    return atomic_load(&((struct snaplive *)s)->queued) >= SNAPLIVE_QUEUE_BYTES;
}

static void wait_for_room(struct snaplive *s)
{
    while (queue_full(s) && !atomic_load(&s->stopped))
        sem_wait_intr(&s->progress);
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
    return !s->walked && !queue_full(s);
}

bool snaplive_walked(const struct snaplive *s)
{
    return s->walked;
}

int snaplive_poll(struct snaplive *s, bool wait, char *err, size_t errlen)
{
    if (wait) snaplive_step(s, 0);
    while (wait && atomic_load(&s->result) == 0)
        sem_wait_intr(&s->progress);
    take_written(s);
    int r = atomic_load(&s->result);
    if (r < 0) snprintf(err, errlen, "%s", s->err);
    return r;
}

uint64_t snaplive_buffer_bytes(const struct snaplive *s)
{
    struct snaplive *m = (struct snaplive *)s; /* the atomics only */
    uint64_t spare = (uint64_t)s->n_spare + atomic_load(&m->n_written);
    uint64_t twins = 0;
    for (int t = 0; t < KV_TYPE_COUNT; t++)
        if (s->types[t] && s->types[t]->twin_only_bytes) twins += s->types[t]->twin_only_bytes();
    return atomic_load(&m->queued) + spare * SNAPSHOT_CHUNK_BYTES +
           (s->enc.chunk || s->tail ? SNAPSHOT_CHUNK_BYTES : 0) + twins;
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
    sem_init(&s->work, 0, 0);
    sem_init(&s->progress, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, writer_thread, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        snapshot_file_abandon(&s->file);
        util_fail(err, errlen, -1, "cannot start the snapshot thread: %s", strerror(rc));
        sem_destroy(&s->work);
        sem_destroy(&s->progress);
        free(s);
        return NULL;
    }
    s->kv = kv;
    s->types = kv->types;
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
    /* Unlinked now, the file cannot take a write from the thread (it may
     * not have seen the stop yet) once another snapshot reuses its path. */
    if (atomic_load(&s->result) != 1) unlink(s->path);
    atomic_store(&s->stopped, true); /* a thread done already ignores it */
    sem_post(&s->work);
    s->dropped = graveyard;
    graveyard = s;
    (void)snaplive_reap();
}
