/*
 * src/sm/snaplive.c - a live snapshot (see snaplive.h).
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

#include "base/clock.h"
#include "base/handoff.h"
#include "keyspace/kv.h"
#include "base/le.h"
#include "sm/snaplive.h"
#include "sm/snapshot.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* linux/ioprio.h's values (no glibc wrapper): class IDLE (3) << 13. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_IDLE (3 << 13)
/* The walk goes WALK_BUCKETS buckets between looks at the clock and the
 * queue. */
#define WALK_BUCKETS 64
/* Chunks kept for reuse once the thread wrote them. */
#define SPARE_CHUNKS_MAX 8
/* A partial chunk the loop emits (before handing a batch) is copied into a
 * buffer of its size when it is shorter than this. */
#define SMALL_CHUNK_BYTES (SNAPSHOT_CHUNK_BYTES / 4)
/* Batches of entries handed to the thread and not yet taken back: the walk
 * waits (or saves entries itself) beyond that. Each costs a lookup in each
 * change to a saved key meanwhile (settle). */
#define HANDED_MAX 8
/* A thread that went through no slot for this long while batches wait is
 * starved of CPU (it runs at SCHED_IDLE, and the machine is busy): the
 * loop then stops waiting for it and saves entries itself, as if there were
 * no thread to hand them to, so that a snapshot ends in a bounded time on
 * a loaded machine too. */
#define STARVED_US 2000
/* The longest string the thread encodes; a longer value, or one of another
 * type, is left to the loop (HANDOFF_DEFERRED). So the loop never waits
 * long for an entry the thread holds, and the thread reads only values that
 * nothing but a change alters (a string's bytes): reading a hash or a
 * sorted set, say, may step its table's rehash. */
#define THREAD_STRING_MAX (64u << 10)

/* An item of the queue: bytes the loop encoded, or a batch of entries for
 * the thread to encode (batch set, buf NULL). */
struct chunk {
    struct chunk *next;
    unsigned char *buf;
    size_t len;
    bool small; /* buf is len bytes, not a chunk to fill again */
    struct handoff_batch *batch;
    int db; /* the batch's entries' database */
};

/* A value saved as a twin (kv_type_ops.share): its record, encoded by the
 * thread at the end. val is a copy of the value's head whose object is the
 * twin. */
struct twin_record {
    struct twin_record *next;
    struct kv_val *val;
    int db;
    size_t klen;
    char key[];
};

/* One database as the snapshot began: its keyspace object and number then
 * (a SWAPDB meanwhile moves the object, not what the file says of its
 * keys), and the saver its keyspace calls. */
struct snap_db {
    struct snaplive *s;
    struct kv *kv;
    int db;
    struct kv_saver saver;
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
 * allocations and frees of the threads src/base/alloc.h tracks, and a snapshot's
 * thread is not one. Every chunk
 * it wrote goes back to the loop, which keeps SPARE_CHUNKS_MAX and frees the
 * rest; a snapshot dropped before its thread ended waits in the loop
 * thread's graveyard (snaplive_reap) until it has. */
struct snaplive {
    /* the loop's */
    struct snap_db *dbs;
    int ndbs;
    int walk_db; /* the database the walk is in */
    struct snapshot_enc enc;
    uint64_t count; /* keys at the start: the header's */
    struct dict_walk walk;
    bool walk_over; /* the walk visited every bucket */
    bool walked;    /* and every batch came back: the loop's part is done */
    /* entries marked saved for the thread to encode: the batch being
     * filled, those handed (in the queue or the thread's), spare ones */
    struct handoff_batch *filling;
    int filling_db; /* its entries' database */
    struct handoff_batch *handed[HANDED_MAX];
    int handed_db[HANDED_MAX];
    unsigned n_handed;
    struct handoff_batch *spare_batch;
    struct chunk *back, **back_tail; /* batches taken back, to finish (take_back) */
    struct snaplive_counts counts;
    uint64_t slots_seen; /* thread_slots when last looked at (starved) */
    int64_t slots_seen_at;
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
    struct snapshot_enc tenc; /* the file's bytes, whole chunks to the file */
    /* shared */
    _Atomic(struct chunk *) queue;       /* chunks to write, the newest first */
    _Atomic(struct chunk *) written;     /* written ones handed back for reuse */
    atomic_uint n_written;               /* in written */
    atomic_size_t queued;                /* bytes in queue */
    atomic_uint_fast64_t thread_records; /* records the thread encoded from batches */
    atomic_uint_fast64_t thread_slots;   /* slots of batches the thread went through */
    sem_t work;                          /* posted by the loop: a chunk, the end, a stop */
    sem_t progress;                      /* posted by the thread: a chunk written, the result */
    atomic_bool stopped;                 /* abandon: the thread leaves at once */
    atomic_bool ended;                   /* the last chunk is queued (set after stopped) */
    atomic_int result;                   /* 0 running, 1 written, -1 failed (err set before) */
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
    if (c->batch) handoff_free(c->batch);
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

/* The records of a batch's entries, those the loop did not claim: strings
 * up to THREAD_STRING_MAX; the others are left to the loop (DEFERRED), as
 * is everything once told to stop. Each entry is read only while its slot
 * is the thread's (handoff.h), and is not changed meanwhile: the loop
 * claims a slot before it changes the entry. Its value's `lru` bits may
 * be (a read's access time, kv.h), in the word that holds the type: the
 * type's bits are written back unchanged. */
static void encode_one(struct snaplive *s, struct handoff_batch *b, int db, uint32_t i,
                       const struct dict_entry *e)
{
    const struct kv_val *v = e->val;
    bool defer = atomic_load_explicit(&s->stopped, memory_order_relaxed) || v->type != KV_STRING ||
                 v->len > THREAD_STRING_MAX;
    if (!defer) {
        snapshot_enc_record(&s->tenc, db, e->key, e->key_len, v);
        atomic_fetch_add(&s->thread_records, 1); /* before the slot is let go */
    }
    handoff_done(b, i, defer);
}

/* Each entry and its value are two cache misses, in a walk that visits
 * memory at random: the thread asks for the entry ENTRY_AHEAD slots ahead
 * of the one it encodes, and takes the slot VALUE_AHEAD ahead to ask for
 * its value, so that the misses overlap. It holds at most VALUE_AHEAD
 * slots at a time (a loop claiming one waits as long as those take). */
#define VALUE_AHEAD 4u
#define ENTRY_AHEAD (2 * VALUE_AHEAD)

/* Takes slot j (if there is one) and asks for its value. */
static struct dict_entry *take_ahead(struct handoff_batch *b, uint32_t j, uint32_t n)
{
    struct dict_entry *e = j < n ? handoff_take(b, j) : NULL;
    if (e) __builtin_prefetch(e->val);
    return e;
}

static void encode_batch(struct snaplive *s, struct handoff_batch *b, int db)
{
    uint32_t n = handoff_len(b);
    struct dict_entry *taken[VALUE_AHEAD]; /* slot j's at j % VALUE_AHEAD */
    for (uint32_t j = 0; j < ENTRY_AHEAD && j < n; j++)
        handoff_prefetch(b, j);
    for (uint32_t j = 0; j < VALUE_AHEAD; j++)
        taken[j] = take_ahead(b, j, n);
    for (uint32_t i = 0; i < n; i++) {
        struct dict_entry *e = taken[i % VALUE_AHEAD];
        if (i + ENTRY_AHEAD < n) handoff_prefetch(b, i + ENTRY_AHEAD);
        if (e) encode_one(s, b, db, i, e);
        taken[i % VALUE_AHEAD] = take_ahead(b, i + VALUE_AHEAD, n);
        atomic_fetch_add_explicit(&s->thread_slots, 1, memory_order_relaxed);
    }
}

/* The loop's bytes into the file, after the thread's records so far:
 * straight from the loop's chunk when the stream is at a chunk's start. */
static void put_loop_bytes(struct snaplive *s, const struct chunk *c)
{
    if (s->tenc.used == 0 && c->len == SNAPSHOT_CHUNK_BYTES)
        snapshot_file_put(&s->file, c->buf, c->len);
    else
        snapshot_enc_bytes(&s->tenc, c->buf, c->len);
}

/* Writes the items of one take, in order, and hands each back to the
 * loop; false once told to stop (the rest go back unwritten). */
static bool write_chunks(struct snaplive *s, struct chunk *c)
{
    bool stopped = false;
    while (c) {
        struct chunk *next = c->next;
        stopped = stopped || atomic_load(&s->stopped);
        if (c->batch)
            encode_batch(s, c->batch, c->db); /* stopped: every entry left to the loop */
        else if (!stopped)
            put_loop_bytes(s, c);
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

/* After the queue: the loop's last bytes, the twins' records, the extras,
 * and the end. */
static void write_tail(struct snaplive *s)
{
    put_loop_bytes(s, s->tail);
    for (const struct twin_record *t = s->twins; t; t = t->next)
        snapshot_enc_record(&s->tenc, t->db, t->key, t->klen, t->val);
    struct snapshot_extra replay = {.save = replay_extras, .ud = s};
    snapshot_enc_extras(&s->tenc, &replay);
    s->tenc.chunk = snapshot_enc_end(&s->tenc);
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

static void batch_put_back(struct snaplive *s, struct handoff_batch *b)
{
    if (!s->spare_batch) {
        s->spare_batch = b;
        return;
    }
    handoff_free(b);
}

static void update_handed(struct snaplive *s)
{
    unsigned handed = s->n_handed + (s->filling && handoff_len(s->filling) > 0);
    for (int i = 0; i < s->ndbs; i++) /* any database's entry may wait in a batch */
        s->dbs[i].saver.handed = handed;
}

static void save(void *ud, struct dict_entry *e);

/* A batch the thread is done with: the entries it left to the loop are
 * saved now (none changed meanwhile: a change would have claimed them). */
static void batch_back(struct snaplive *s, struct handoff_batch *b)
{
    unsigned k = 0;
    while (k < s->n_handed && s->handed[k] != b)
        k++;
    ASSERT(k < s->n_handed);
    struct snap_db *sd = &s->dbs[s->handed_db[k]];
    for (uint32_t i = 0, n = handoff_len(b); i < n; i++) {
        if (!handoff_claim(b, i)) continue;
        save(sd, handoff_entry(b, i));
        s->counts.deferred++;
    }
    s->n_handed--;
    s->handed[k] = s->handed[s->n_handed];
    s->handed_db[k] = s->handed_db[s->n_handed];
    update_handed(s);
    batch_put_back(s, b);
}

/* The items the thread is done with taken back: chunks, SPARE_CHUNKS_MAX
 * kept to fill again, the others freed; batches, to `back` (oldest first),
 * for batch_back() to finish, which encodes and so must not run inside an
 * encoder's emit (buf_take). */
static void take_written(struct snaplive *s)
{
    struct chunk *c = atomic_exchange(&s->written, NULL), *oldest = NULL;
    while (c) { /* in the order written: batches come back in order */
        struct chunk *next = c->next;
        c->next = oldest;
        oldest = c;
        c = next;
    }
    for (c = oldest; c;) {
        struct chunk *next = c->next;
        atomic_fetch_sub(&s->n_written, 1);
        if (c->batch) {
            *s->back_tail = c;
            s->back_tail = &c->next;
            c->next = NULL;
        } else if (!c->small && s->n_spare < SPARE_CHUNKS_MAX) {
            c->next = s->spare;
            s->spare = c;
            s->n_spare++;
        } else {
            chunk_free(c);
        }
        c = next;
    }
}

/* take_written, then the batches it took finished. */
static void take_back(struct snaplive *s)
{
    take_written(s);
    while (s->back) {
        struct chunk *c = s->back;
        s->back = c->next;
        if (!s->back) s->back_tail = &s->back;
        batch_back(s, c->batch);
        free(c);
    }
}

static void destroy(struct snaplive *s)
{
    free_list(take_queue(s));
    free_list(atomic_exchange(&s->written, NULL));
    free_list(s->spare);
    free_list(s->tail);
    free_list(s->back);
    for (struct twin_record *t = s->twins, *next; t; t = next) {
        next = t->next;
        s->types[t->val->type]->free(kv_val_obj(t->val));
        free(t->val);
        free(t);
    }
    if (s->filling) handoff_free(s->filling);
    if (s->spare_batch) handoff_free(s->spare_batch);
    free(s->enc.chunk);
    free(s->tenc.chunk);
    free(s->extras);
    free(s->dbs);
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
    ASSERT(s->n_spare > 0);
    s->spare = c->next;
    s->n_spare--;
    unsigned char *buf = c->buf;
    free(c);
    return buf;
}

static void queue_item(struct snaplive *s, struct chunk *c)
{
    atomic_fetch_add(&s->queued, c->len);
    push(&s->queue, c);
    sem_post(&s->work);
}

/* snapshot_emit_fn: the bytes to the thread, a buffer to fill. A short one
 * (a flush before a batch) goes as a copy, its chunk filled again. */
static unsigned char *emit(void *ud, unsigned char *buf, size_t len)
{
    struct snaplive *s = ud;
    struct chunk *c = util_xcalloc(1, sizeof *c);
    c->len = len;
    if (len < SMALL_CHUNK_BYTES) {
        c->buf = util_xmalloc(len ? len : 1);
        memcpy(c->buf, buf, len);
        c->small = true;
        queue_item(s, c);
        return buf;
    }
    c->buf = buf;
    queue_item(s, c);
    return buf_take(s);
}

/* The batch being filled to the thread, after the loop's bytes so far (its
 * records come after them in the file: the loop's partial chunk ends at a
 * record's end now). */
static void hand_filling(struct snaplive *s)
{
    if (!s->filling || handoff_len(s->filling) == 0 || s->n_handed == HANDED_MAX) return;
    snapshot_enc_flush(&s->enc);
    struct chunk *c = util_xcalloc(1, sizeof *c);
    c->batch = s->filling;
    c->db = s->filling_db;
    ASSERT(s->n_handed < HANDED_MAX);
    s->handed_db[s->n_handed] = s->filling_db;
    s->handed[s->n_handed++] = s->filling;
    s->filling = NULL;
    update_handed(s);
    queue_item(s, c);
}

/* e, of sd's database, marked saved, for the thread to encode; false when
 * no batch has room (the caller saves it itself). A batch holds one
 * database's entries. */
static bool hand(struct snaplive *s, struct snap_db *sd, struct dict_entry *e)
{
    if (s->filling && (handoff_len(s->filling) == HANDOFF_ENTRIES || s->filling_db != sd->db))
        hand_filling(s);
    if (!s->filling) {
        if (s->n_handed == HANDED_MAX) return false;
        s->filling = s->spare_batch ? s->spare_batch : handoff_new();
        s->spare_batch = NULL;
        handoff_reset(s->filling);
        s->filling_db = sd->db;
    } else if (handoff_len(s->filling) == HANDOFF_ENTRIES || s->filling_db != sd->db) {
        return false;
    }
    ASSERT(handoff_len(s->filling) < HANDOFF_ENTRIES);
    e->mark = sd->kv->snap_mark & 1;
    handoff_add(s->filling, e);
    update_handed(s);
    return true;
}

/* A big value whose type makes twins is saved as one (kv_type_ops.share):
 * in O(its nodes), where encoding it would copy every element; the thread
 * encodes the twin at the end. False: not such a value. */
static bool save_twin(struct snaplive *s, int db, const struct dict_entry *e)
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
    t->db = db;
    t->next = s->twins;
    s->twins = t;
    s->n_twins++;
    return true;
}

/* kv_saver.save (ud: the entry's struct snap_db): e as it is now, then
 * marked. */
static void save(void *ud, struct dict_entry *e)
{
    struct snap_db *sd = ud;
    struct snaplive *s = sd->s;
    if (!save_twin(s, sd->db, e)) snapshot_enc_record(&s->enc, sd->db, e->key, e->key_len, e->val);
    e->mark = sd->kv->snap_mark & 1;
}

/* kv_saver.settle: e, saved, is about to change; if it waits in a batch,
 * the loop claims it and saves it as it is. */
static void settle(void *ud, struct dict_entry *e)
{
    struct snap_db *sd = ud;
    struct snaplive *s = sd->s;
    struct handoff_batch *b = s->filling;
    int64_t i = b ? handoff_find(b, e) : -1;
    for (unsigned k = 0; i < 0 && k < s->n_handed; k++) {
        b = s->handed[k];
        i = handoff_find(b, e);
    }
    if (i >= 0 && handoff_claim(b, (uint32_t)i)) {
        save(sd, e);
        s->counts.claimed++;
    }
}

/* Claims every entry of the batches out and of the one being filled: the
 * thread reads none from now on. With save, the loop saves those no one
 * read (counted stolen); the batch being filled is then let go. */
static void claim_all(struct snaplive *s, bool save_them)
{
    struct handoff_batch *all[HANDED_MAX + 1];
    int db[HANDED_MAX + 1];
    unsigned n = s->n_handed;
    memcpy(all, s->handed, n * sizeof *all);
    memcpy(db, s->handed_db, n * sizeof *db);
    if (s->filling) {
        all[n] = s->filling;
        db[n++] = s->filling_db;
    }
    for (unsigned k = 0; k < n; k++)
        for (uint32_t i = 0, len = handoff_len(all[k]); i < len; i++)
            if (handoff_claim(all[k], i) && save_them) {
                save(&s->dbs[db[k]], handoff_entry(all[k], i));
                s->counts.stolen++;
            }
    if (save_them && s->filling) {
        batch_put_back(s, s->filling);
        s->filling = NULL;
    }
}

/* The walk's visitor (ud: the struct snap_db walked): an unsaved entry to
 * the thread, or saved now. */
static void walk_visit(void *ud, struct dict_entry *e)
{
    struct snap_db *sd = ud;
    if (!kv_entry_saved(sd->kv, e) && !hand(sd->s, sd, e)) save(sd, e);
}

/* `buckets` buckets of the walk, database after database; true once it
 * visited every bucket of every one. */
static bool walk_buckets(struct snaplive *s, uint64_t buckets)
{
    while (s->walk_db < s->ndbs) {
        struct snap_db *sd = &s->dbs[s->walk_db];
        if (!kv_snapshot_walk(sd->kv, &s->walk, buckets, walk_visit, sd)) return false;
        if (++s->walk_db < s->ndbs) kv_snapshot_walk_init(s->dbs[s->walk_db].kv, &s->walk);
    }
    return true;
}

/* Every database's keyspace stops calling its saver. */
static void end_all(struct snaplive *s, int complete)
{
    for (int i = 0; i < s->ndbs; i++)
        kv_snapshot_end(s->dbs[i].kv, complete);
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

/* The walk is over and every batch came back: every entry of the start is
 * in the chunks, the thread's records or a twin. The last chunk, partly
 * filled, goes to the thread, which goes on from it. */
static void walk_done(struct snaplive *s)
{
    ASSERT(!s->walked && s->walk_over); /* once, after the walk */
    s->walked = true;
    end_all(s, 1);
    s->tail = util_xcalloc(1, sizeof *s->tail);
    s->tail->buf = s->enc.chunk;
    s->tail->len = s->enc.used;
    s->enc.chunk = NULL;
    uint64_t saved = s->enc.records + atomic_load(&s->thread_records) + s->n_twins;
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

/* Whether the loop can do nothing for the snapshot until the thread moves
 * on: the queue is full, every batch is handed, or the walk is over and
 * batches are still out. */
static bool blocked(const struct snaplive *s)
{
    bool starved = s->n_handed > 0 && clock_mono_us() - s->slots_seen_at >= STARVED_US;
    return queue_full(s) ||
           (!starved && (s->n_handed == HANDED_MAX || (s->walk_over && s->n_handed > 0)));
}

/* Notes whether the thread went on (starved, in blocked()). */
static void look_at_thread(struct snaplive *s)
{
    uint64_t slots = atomic_load_explicit(&s->thread_slots, memory_order_relaxed);
    if (slots != s->slots_seen || s->n_handed == 0) s->slots_seen_at = clock_mono_us();
    s->slots_seen = slots;
}

static void wait_for_room(struct snaplive *s)
{
    take_back(s);
    while (blocked(s) && !atomic_load(&s->stopped)) {
        sem_wait_intr(&s->progress);
        take_back(s);
    }
}

/* `buckets` buckets of the walk, then what is over: the batches the thread
 * finished, the walk's last batch handed, the end. True once walked. */
static bool walk_some(struct snaplive *s, uint64_t buckets)
{
    if (!s->walk_over && walk_buckets(s, buckets)) s->walk_over = true;
    take_back(s);
    look_at_thread(s);
    if (s->walk_over) {
        hand_filling(s);
        if (s->n_handed == 0) {
            walk_done(s);
        } else if (!blocked(s)) { /* the thread is starved: the loop takes back
                                   * what it has not read, the batches come
                                   * back later with nothing left in them */
            claim_all(s, true);
            walk_done(s);
        }
    }
    return s->walked;
}

void snaplive_step(struct snaplive *s, int64_t budget_us)
{
    if (s->walked) return;
    int64_t until = clock_mono_us() + budget_us;
    while (!walk_some(s, WALK_BUCKETS)) {
        if (budget_us == 0) {
            hand_filling(s);
            wait_for_room(s);
            continue;
        }
        if (clock_mono_us() >= until || blocked(s)) break;
    }
    /* An idle thread gets the batch begun, to work on while the loop
     * serves; a busy one gets it once it is full. */
    if (!s->walked && s->n_handed == 0) hand_filling(s);
}

/* Waits until the thread gave back every batch, the walk's last one
 * handed first. */
static void wait_batches(struct snaplive *s)
{
    for (;;) {
        take_back(s);
        hand_filling(s);
        if (s->n_handed == 0 || atomic_load(&s->stopped)) return;
        sem_wait_intr(&s->progress);
    }
}

void snaplive_step_buckets(struct snaplive *s, uint32_t buckets)
{
    if (s->walked) return;
    if (!s->walk_over && walk_buckets(s, buckets)) s->walk_over = true;
    /* Every batch back before the round ends, so that what the thread did
     * does not depend on real time (no claim finds one half done). */
    wait_batches(s);
    if (s->walk_over && s->n_handed == 0) walk_done(s);
}

bool snaplive_walking(const struct snaplive *s)
{
    return !s->walked && !blocked(s);
}

bool snaplive_waiting(const struct snaplive *s)
{
    return !s->walked && blocked(s);
}

struct snaplive_counts snaplive_counts(const struct snaplive *s)
{
    struct snaplive_counts c = s->counts;
    c.by_thread = atomic_load(&((struct snaplive *)s)->thread_records);
    return c;
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
    take_back(s);
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
    /* the loop's buffer being filled (or its last, the tail) and the thread's */
    uint64_t bufs = (s->enc.chunk || s->tail ? 1u : 0u) + 1u;
    uint64_t batches = s->n_handed + (s->filling ? 1u : 0u) + (s->spare_batch ? 1u : 0u);
    return atomic_load(&m->queued) + (spare + bufs) * SNAPSHOT_CHUNK_BYTES + twins +
           batches * handoff_batch_bytes();
}

struct snaplive *snaplive_start(const char *path, struct kv *const *db, int ndbs,
                                const struct snapshot_extra *extra, uint64_t index, uint64_t term,
                                char *err, size_t errlen)
{
    ASSERT(ndbs >= 1);
    const struct kv_type_ops *const *types = db[0]->common->types;
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
    s->back_tail = &s->back;
    s->types = types;
    snapshot_enc_init(&s->tenc, types, buf_take(s), emit_to_file, s);
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
        free(s->tenc.chunk);
        free(s);
        return NULL;
    }
    s->ndbs = ndbs;
    s->dbs = util_xcalloc((size_t)ndbs, sizeof *s->dbs);
    for (int i = 0; i < ndbs; i++) {
        struct snap_db *sd = &s->dbs[i];
        *sd = (struct snap_db){.s = s, .kv = db[i], .db = i};
        sd->saver = (struct kv_saver){.save = save, .settle = settle, .ud = sd};
        s->count += kv_size(db[i]);
    }
    if (extra && extra->save) extra->save(extra->ud, copy_extra, s);
    snapshot_enc_init(&s->enc, types, buf_take(s), emit, s);
    snapshot_enc_header(&s->enc, index, term, s->count, s->count > kv_size(db[0]));
    kv_snapshot_walk_init(db[0], &s->walk);
    for (int i = 0; i < ndbs; i++)
        kv_snapshot_begin(db[i], &s->dbs[i].saver);
    return s;
}

void snaplive_free(struct snaplive *s)
{
    if (!s) return;
    if (!s->walked) {
        claim_all(s, false); /* before the keyspace changes unwatched */
        end_all(s, 0);
    }
    /* Unlinked now, the file cannot take a write from the thread (it may
     * not have seen the stop yet) once another snapshot reuses its path. */
    if (atomic_load(&s->result) != 1) unlink(s->path);
    atomic_store(&s->stopped, true); /* a thread done already ignores it */
    sem_post(&s->work);
    s->dropped = graveyard;
    graveyard = s;
    (void)snaplive_reap();
}
