/*
 * src/sm/rdbsave.c - the keyspace as a dump.rdb, at once or live (see
 * rdbsave.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/util.h"
#include "keyspace/kv.h"
#include "raft/raft_assert.h"
#include "script/function.h"
#include "sm/rdbsave.h"
#include "sm/snapshot.h"

/* Buckets of a database's table a walk visits between two looks at the
 * clock. */
#define STEP_BUCKETS 64

/* ------------------------------------------------- what both ways share */

static int put_function(void *ud, const char *code, size_t len)
{
    rdb_file_function(ud, code, len);
    return 0;
}

static void begin(struct rdb_file *f, struct text *out, const struct rdbsave_source *src)
{
    rdb_file_begin(f, out, &src->aux, src->compress);
    if (src->fns) function_each_library(src->fns, put_function, f);
}

static void db_header(struct rdb_file *f, const struct kv *kv, int db)
{
    rdb_file_db(f, db, dict_size(&kv->keys), dict_size(&kv->volatile_keys));
}

/* The file being written: its descriptor and the first write's failure. */
struct file_out {
    int fd;
    int failed; /* errno, or 0 */
};

static void drain_fd(void *ud, struct text *out)
{
    struct file_out *fo = ud;
    size_t done = 0;
    while (!fo->failed && done < out->len) {
        ssize_t n = write(fo->fd, out->p + done, out->len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fo->failed = errno;
        if (n > 0) done += (size_t)n;
    }
    out->len = 0;
}

static int open_temp(const char *dir, char *tmp, size_t tmplen, char *err, size_t errlen)
{
    char name[64], path[4096];
    snprintf(name, sizeof name, "temp-%d-%lld.rdb", (int)getpid(), (long long)clock_mono_us());
    if (snprintf(tmp, tmplen, "%s", name) >= (int)tmplen ||
        snapshot_path(path, sizeof path, dir, name) != 0)
        return util_fail(err, errlen, -1, "%s: path too long", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return util_fail(err, errlen, -1, "Failed opening the temp RDB file %s: %s", path,
                         strerror(errno));
    return fd;
}

static void unlink_temp(const char *dir, const char *tmp)
{
    char path[4096];
    if (snapshot_path(path, sizeof path, dir, tmp) == 0) unlink(path);
}

/* fsync, close, rename to dir/name, fsync dir; the temp file goes on a
 * failure. 0 or -1 with err. */
static int finish(struct file_out *fo, const char *dir, const char *tmp, const char *name,
                  char *err, size_t errlen)
{
    if (!fo->failed && fsync(fo->fd) != 0) fo->failed = errno;
    if (close(fo->fd) != 0 && !fo->failed) fo->failed = errno;
    int rc = fo->failed ? util_fail(err, errlen, -1, "Write error saving DB on disk: %s",
                                    strerror(fo->failed))
                        : snapshot_publish_as(dir, tmp, name, err, errlen);
    if (rc != 0) unlink_temp(dir, tmp);
    return rc;
}

/* ------------------------------------------------------------- at once */

struct all {
    struct rdb_file f;
    int db;
    rdbsave_drain_fn *drain;
    void *ud;
};

static void all_visit(void *ud, const char *key, size_t klen, const struct kv_val *v)
{
    struct all *a = ud;
    rdb_file_key(&a->f, a->db, key, klen, v);
    if (a->drain && a->f.out->len >= RDBSAVE_WRITE_BYTES) a->drain(a->ud, a->f.out);
}

uint64_t rdbsave_all(const struct rdbsave_source *src, struct text *out, rdbsave_drain_fn *drain,
                     void *ud)
{
    struct all a = {.drain = drain, .ud = ud};
    begin(&a.f, out, src);
    for (int i = 0; i < src->ndbs; i++) {
        if (dict_size(&src->db[i]->keys) == 0) continue;
        a.db = i;
        db_header(&a.f, src->db[i], i);
        kv_foreach(src->db[i], all_visit, &a);
    }
    rdb_file_end(&a.f);
    if (drain) drain(ud, out);
    return a.f.keys;
}

int rdbsave_file(const struct rdbsave_source *src, const char *dir, const char *name, char *err,
                 size_t errlen)
{
    char tmp[64];
    struct file_out fo = {.fd = open_temp(dir, tmp, sizeof tmp, err, errlen)};
    if (fo.fd < 0) return -1;
    struct text out = {0};
    rdbsave_all(src, &out, drain_fd, &fo);
    free(text_take(&out));
    return finish(&fo, dir, tmp, name, err, errlen);
}

bool rdbsave_busy(struct kv *const *db, int ndbs)
{
    for (int i = 0; i < ndbs; i++)
        if (db[i]->saver) return true;
    return false;
}

/* ---------------------------------------------------------------- live */

/* One database's saver: entries of kv are written as database db's. */
struct save_db {
    struct rdbsave *s;
    struct kv *kv;
    int db;
    uint64_t keys_at_start;
    struct kv_saver saver;
};

struct rdbsave {
    struct save_db *dbs;
    int ndbs;
    struct text out;
    struct rdb_file f;
    struct file_out fo;
    char *dir, *name;
    char tmp[64];
    int walk_db; /* the database walked; ndbs once the walk is over */
    struct dict_walk walk;
    bool walked; /* the walk is over: the savers are gone */
    pthread_t thread;
    bool thread_started; /* the finishing thread, joined by poll or free */
    bool joined;
    atomic_int result; /* the thread's: 0 running, 1 done, -1 failed */
    char thread_err[256];
};

static void save_entry(struct save_db *sd, struct dict_entry *e)
{
    struct rdbsave *s = sd->s;
    rdb_file_key(&s->f, sd->db, e->key, e->key_len, e->val);
    e->mark = sd->kv->snap_mark & 1;
    if (s->out.len >= RDBSAVE_WRITE_BYTES) drain_fd(&s->fo, &s->out);
}

static void on_save(void *ud, struct dict_entry *e)
{
    save_entry(ud, e);
}

static void on_settle(void *ud, struct dict_entry *e)
{
    (void)ud;
    (void)e;
    ASSERT(0 && "a live save hands no entry to another thread (kv_saver.handed stays 0)");
}

static void walk_visit(void *ud, struct dict_entry *e)
{
    struct save_db *sd = ud;
    if (!kv_entry_saved(sd->kv, e)) save_entry(sd, e);
}

/* The walk enters database i (or ends). */
static void walk_enter(struct rdbsave *s, int i)
{
    s->walk_db = i;
    if (i == s->ndbs) return;
    kv_snapshot_walk_init(s->dbs[i].kv, &s->walk);
    if (s->dbs[i].keys_at_start)
        rdb_file_db(&s->f, i, s->dbs[i].keys_at_start, dict_size(&s->dbs[i].kv->volatile_keys));
}

struct rdbsave *rdbsave_start(const struct rdbsave_source *src, const char *dir, const char *name,
                              char *err, size_t errlen)
{
    ASSERT(!rdbsave_busy(src->db, src->ndbs) && "one saver at a time");
    struct rdbsave *s = util_xcalloc(1, sizeof *s);
    s->fo.fd = open_temp(dir, s->tmp, sizeof s->tmp, err, errlen);
    if (s->fo.fd < 0) {
        free(s);
        return NULL;
    }
    s->dir = util_xmemdup(dir, strlen(dir));
    s->name = util_xmemdup(name, strlen(name));
    s->ndbs = src->ndbs;
    s->dbs = util_xcalloc((size_t)src->ndbs, sizeof *s->dbs);
    begin(&s->f, &s->out, src);
    for (int i = 0; i < src->ndbs; i++) {
        struct save_db *sd = &s->dbs[i];
        *sd = (struct save_db){.s = s,
                               .kv = src->db[i],
                               .db = i,
                               .keys_at_start = dict_size(&src->db[i]->keys),
                               .saver = {.save = on_save, .settle = on_settle, .ud = sd}};
        kv_snapshot_begin(sd->kv, &sd->saver);
    }
    walk_enter(s, 0);
    return s;
}

static void *finish_thread(void *ud)
{
    struct rdbsave *s = ud;
    int rc = finish(&s->fo, s->dir, s->tmp, s->name, s->thread_err, sizeof s->thread_err);
    atomic_store(&s->result, rc == 0 ? 1 : -1);
    return NULL;
}

/* The walk is over: every entry of the start is in the buffer or the file. */
static void walk_end(struct rdbsave *s)
{
    for (int i = 0; i < s->ndbs; i++)
        kv_snapshot_end(s->dbs[i].kv, 1);
    s->walked = true;
    rdb_file_end(&s->f);
    drain_fd(&s->fo, &s->out);
    pthread_t t;
    if (pthread_create(&t, NULL, finish_thread, s) == 0) {
        s->thread_started = true;
        s->thread = t;
    } else {
        finish_thread(s); /* no thread: the loop waits for the fsync */
    }
}

void rdbsave_step(struct rdbsave *s, int64_t budget_us)
{
    int64_t until = clock_mono_us() + budget_us;
    while (!s->walked) {
        if (s->walk_db == s->ndbs) {
            walk_end(s);
            return;
        }
        struct save_db *sd = &s->dbs[s->walk_db];
        if (kv_snapshot_walk(sd->kv, &s->walk, STEP_BUCKETS, walk_visit, sd))
            walk_enter(s, s->walk_db + 1);
        if (s->out.len >= RDBSAVE_WRITE_BYTES) drain_fd(&s->fo, &s->out);
        if (budget_us > 0 && clock_mono_us() >= until) return;
    }
}

bool rdbsave_walking(const struct rdbsave *s)
{
    return !s->walked;
}

static void join(struct rdbsave *s)
{
    if (!s->thread_started || s->joined) return;
    pthread_join(s->thread, NULL);
    s->joined = true;
}

int rdbsave_poll(struct rdbsave *s, char *err, size_t errlen)
{
    int r = s->walked ? atomic_load(&s->result) : 0;
    if (r == 0) return 0;
    join(s);
    if (r < 0) snprintf(err, errlen, "%s", s->thread_err);
    return r;
}

uint64_t rdbsave_keys(const struct rdbsave *s)
{
    return s->f.keys;
}

void rdbsave_free(struct rdbsave *s)
{
    if (!s) return;
    if (!s->walked) {
        for (int i = 0; i < s->ndbs; i++)
            kv_snapshot_end(s->dbs[i].kv, 0);
        close(s->fo.fd);
        unlink_temp(s->dir, s->tmp);
    }
    join(s);
    free(text_take(&s->out));
    free(s->dbs);
    free(s->dir);
    free(s->name);
    free(s);
}
