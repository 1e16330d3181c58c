/*
 * src/server/import.c - RAFT.IMPORT's two passes over a dump.rdb (see
 * import.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/info.h"
#include "base/log.h"
#include "base/text.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "node/node.h"
#include "raft/raft.h"
#include "raft/raft_assert.h"
#include "rdb/cmd_dump.h"
#include "rdb/rdb_reader.h"
#include "rdb/rdb_load.h"
#include "server/import.h"
#include "server/server.h"

enum phase { PH_NONE, PH_VALIDATING, PH_LOADING, PH_DONE, PH_REFUSED, PH_FAILED };
static const char *const PHASE_NAME[] = {"none", "validating", "loading",
                                         "done", "refused",    "failed"};

/* A key of the chunk being built: offsets into chunk.bytes. */
struct rec {
    size_t key_off, key_len, val_off, val_len;
    long long expire_ms;
};

struct import {
    enum phase phase;
    char path[IMPORT_PATH_MAX];
    bool replace;
    uint64_t term; /* the term it started in: leading in it is the condition */
    FILE *fp;
    uint64_t file_bytes;
    /* the window over the file: bytes [head, len) of win are the file's
     * from rd.offset on */
    struct rdb_reader rd;
    unsigned char *win;
    size_t win_cap, head, len, win_max;
    int eof;
    /* the chunk being built, in database db */
    struct text bytes;
    struct rec recs[IMPORT_CHUNK_KEYS];
    size_t n_recs;
    uint64_t db;
    /* proposed and not applied here yet: their log index and keys */
    struct {
        uint64_t index, keys;
    } inflight[IMPORT_INFLIGHT_MAX];
    size_t n_inflight;
    /* progress */
    uint64_t keys_total, keys_proposed, keys_loaded, functions_total, functions_loaded;
    int64_t started_ms, ended_ms, logged_ms;
    char error[512];
    struct import_hooks hooks; /* REPLICAOF's; zero for RAFT.IMPORT */
};

static void close_file(struct import *im)
{
    if (im->fp) fclose(im->fp);
    im->fp = NULL;
    rdb_reader_free(&im->rd);
    free(im->win);
    im->win = NULL;
    free(text_take(&im->bytes));
    im->n_recs = 0;
}

/* The import ends: phase PH_DONE, PH_REFUSED or PH_FAILED (why: the
 * error, else NULL). */
static void finish(struct import *im, enum phase ph, const char *why)
{
    im->phase = ph;
    im->ended_ms = clock_ms();
    close_file(im);
    if (why) snprintf(im->error, sizeof im->error, "%s", why);
    if (ph == PH_DONE) {
        double s = (double)(im->ended_ms - im->started_ms) / 1000.0;
        if (s <= 0) s = 0.001;
        LOG_NOTICE("Import of %s done: %llu keys, %llu function libraries, %llu bytes in %.3f "
                   "s (%.0f keys/s, %.1f MB/s)",
                   im->path, (unsigned long long)im->keys_loaded,
                   (unsigned long long)im->functions_loaded, (unsigned long long)im->file_bytes, s,
                   (double)im->keys_loaded / s, (double)im->file_bytes / s / 1e6);
    } else {
        LOG_WARNING("Import of %s %s: %s", im->path, PHASE_NAME[ph], im->error);
    }
}

/* Rewinds to the file's first byte (a pass begins). */
static int rewind_file(struct import *im, size_t max_string)
{
    rdb_reader_free(&im->rd);
    rdb_reader_init(&im->rd, max_string);
    im->head = im->len = 0;
    im->eof = 0;
    return fseek(im->fp, 0, SEEK_SET);
}

/* More of the file into the window: 0, or -1 with the error (a read
 * error, a record larger than the window may grow). */
static int refill(struct import *im)
{
    if (im->eof) return -1; /* rdb_reader_next() had the last bytes: not reached */
    memmove(im->win, im->win + im->head, im->len - im->head);
    im->len -= im->head;
    im->head = 0;
    if (im->len == im->win_cap) {
        if (im->win_cap >= im->win_max) {
            snprintf(im->error, sizeof im->error,
                     "a record over %zu bytes at offset %llu (proto-max-bulk-len)", im->win_max,
                     (unsigned long long)im->rd.offset);
            return -1;
        }
        im->win_cap = im->win_cap * 2 > im->win_max ? im->win_max : im->win_cap * 2;
        im->win = util_xrealloc(im->win, im->win_cap);
    }
    size_t n = fread(im->win + im->len, 1, im->win_cap - im->len, im->fp);
    im->len += n;
    if (n == 0 && ferror(im->fp)) {
        snprintf(im->error, sizeof im->error, "reading the file: %s", strerror(errno));
        return -1;
    }
    if (feof(im->fp)) im->eof = 1;
    return 0;
}

/* The next item; RDB_READER_ERROR leaves the reason in im->error. */
static int next_item(struct import *im, struct rdb_item *it)
{
    for (;;) {
        size_t used;
        int rc = rdb_reader_next(&im->rd, im->win + im->head, im->len - im->head, im->eof, it,
                                 &used, im->error, sizeof im->error);
        if (rc != RDB_READER_MORE) {
            im->head += used;
            return rc;
        }
        if (refill(im) != 0) return RDB_READER_ERROR;
    }
}

static bool running(const struct import *im)
{
    return im && (im->phase == PH_VALIDATING || im->phase == PH_LOADING);
}

int import_start_hooked(struct server *srv, const char *path, const struct import_hooks *hooks,
                        char *err, size_t errlen)
{
    if (import_start(srv, path, true, err, errlen) != 0) return -1;
    srv->import->hooks = *hooks;
    return 0;
}

void import_cancel(struct server *srv, const char *why)
{
    struct import *im = srv->import;
    if (!running(im)) return;
    im->hooks = (struct import_hooks){0};
    finish(im, PH_FAILED, why);
}

int import_start(struct server *srv, const char *path, bool replace, char *err, size_t errlen)
{
    struct import *im = srv->import;
    if (running(im)) return util_fail(err, errlen, -1, "an import of %s is under way", im->path);
    if (strlen(path) >= IMPORT_PATH_MAX)
        return util_fail(err, errlen, -1, "the path is over %d bytes", IMPORT_PATH_MAX - 1);
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) != 0) {
        int e = errno;
        if (fp) fclose(fp);
        return util_fail(err, errlen, -1, "cannot open %s: %s", path, strerror(e));
    }
    if (!im) im = srv->import = util_xcalloc(1, sizeof *im);
    close_file(im);
    memset(im, 0, sizeof *im);
    snprintf(im->path, sizeof im->path, "%s", path);
    im->replace = replace;
    im->term = raft_term_of(node_core(srv->node));
    im->fp = fp;
    im->file_bytes = (uint64_t)st.st_size;
    im->win_max = srv->dbs.common.max_value_len + (64u << 10);
    im->win_cap = IMPORT_WINDOW_BYTES;
    im->win = util_xmalloc(im->win_cap);
    im->phase = PH_VALIDATING;
    im->started_ms = im->logged_ms = clock_ms();
    rewind_file(im, srv->dbs.common.max_value_len);
    LOG_NOTICE("Import of %s (%llu bytes%s): validating", path, (unsigned long long)im->file_bytes,
               replace ? ", REPLACE" : "");
    return 0;
}

/* The key as text for a message: at most 64 bytes, the unprintable ones
 * as '?' (INFO's lines must stay lines). */
static void printable(char *out, size_t outlen, const char *key, size_t len)
{
    size_t n = len < 64 ? len : 64;
    if (n >= outlen) n = outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
    out[n] = '\0';
}

/* One item of the first pass: 0, or -1 with the reason in im->error. */
static int validate_item(struct server *srv, struct import *im, const struct rdb_item *it)
{
    const struct kv_common *kc = &srv->dbs.common;
    if (it->kind == RDB_ITEM_SELECTDB && it->db >= (uint64_t)srv->dbs.n)
        return util_fail(im->error, sizeof im->error, -1,
                         "database %llu at offset %llu: this node has %d (databases)",
                         (unsigned long long)it->db, (unsigned long long)it->offset, srv->dbs.n);
    if (it->kind == RDB_ITEM_FUNCTION) im->functions_total++;
    if (it->kind != RDB_ITEM_KEY) return 0;
    char key[72], why[256] = "";
    printable(key, sizeof key, it->key, it->key_len);
    struct rdb_in in;
    rdb_in_init(&in, it->body, it->body_len, kc->max_value_len);
    struct rdb_value v;
    int rc = rdb_get_typed_value(&in, it->type, &kc->limits, &v, why, sizeof why);
    if (rc == 0) rdb_value_free(&v);
    if (rc == 0 && in.p != in.end) snprintf(why, sizeof why, "bytes after the value");
    if (why[0])
        return util_fail(im->error, sizeof im->error, -1,
                         "key '%s' (database %llu) at offset %llu: %s", key,
                         (unsigned long long)it->db, (unsigned long long)it->offset, why);
    if (!im->replace && kv_lookup_peek(srv->dbs.db[it->db], it->key, it->key_len, server_now_ms()))
        return util_fail(im->error, sizeof im->error, -1,
                         "key '%s' exists in database %llu (REPLACE overwrites)", key,
                         (unsigned long long)it->db);
    im->keys_total++;
    return 0;
}

/* The first pass, IMPORT_STEP_BYTES further. */
static bool validate_step(struct server *srv, struct import *im)
{
    uint64_t until = im->rd.offset + IMPORT_STEP_BYTES;
    while (im->rd.offset < until) {
        struct rdb_item it;
        int rc = next_item(im, &it);
        if (rc == RDB_READER_END) {
            rewind_file(im, srv->dbs.common.max_value_len);
            im->phase = PH_LOADING;
            if (im->hooks.loading) im->hooks.loading(srv, im->hooks.ud);
            LOG_NOTICE("Import of %s: the file is valid (%llu keys, %llu function libraries); "
                       "loading",
                       im->path, (unsigned long long)im->keys_total,
                       (unsigned long long)im->functions_total);
            return true;
        }
        if (rc == RDB_READER_ERROR || validate_item(srv, im, &it) != 0) {
            finish(im, PH_REFUSED, NULL);
            return false;
        }
    }
    return true;
}

/* The chunk built so far, proposed as one RAFTCACHE.IMPORT. */
static void propose_chunk(struct server *srv, struct import *im)
{
    if (im->n_recs == 0) return;
    ASSERT(im->n_inflight < IMPORT_INFLIGHT_MAX);
    size_t argc = 2 + im->n_recs * RDB_IMPORT_ARGS_PER_KEY;
    struct resp_arg *argv = util_xcalloc(argc, sizeof *argv);
    char *nums = util_xmalloc(im->n_recs * 24);
    argv[0] = (struct resp_arg){"raftcache.import", 16};
    argv[1] = (struct resp_arg){im->replace ? "1" : "0", 1};
    for (size_t i = 0; i < im->n_recs; i++) {
        const struct rec *r = &im->recs[i];
        struct resp_arg *a = &argv[2 + i * RDB_IMPORT_ARGS_PER_KEY];
        char *num = nums + i * 24;
        a[0] = (struct resp_arg){im->bytes.p + r->key_off, r->key_len};
        a[1] = (struct resp_arg){num, util_ll2str(num, 24, r->expire_ms)};
        a[2] = (struct resp_arg){im->bytes.p + r->val_off, r->val_len};
    }
    node_write(srv->node, NULL, (int)im->db, cmd_lookup_name(argv[0].ptr, argv[0].len), (int)argc,
               argv);
    node_write_flush(srv->node);
    im->inflight[im->n_inflight].index = raft_last_index(node_core(srv->node));
    im->inflight[im->n_inflight++].keys = im->n_recs;
    im->keys_proposed += im->n_recs;
    free(argv);
    free(nums);
    im->bytes.len = 0;
    im->n_recs = 0;
}

/* A function library: FUNCTION LOAD [REPLACE] code, after the keys
 * before it. Its slot in inflight counts no key. */
static void propose_function(struct server *srv, struct import *im, const struct rdb_item *it)
{
    propose_chunk(srv, im);
    ASSERT(im->n_inflight < IMPORT_INFLIGHT_MAX);
    struct resp_arg argv[4] = {{"FUNCTION", 8}, {"LOAD", 4}, {"REPLACE", 7}};
    int argc = im->replace ? 4 : 3;
    argv[argc - 1] = (struct resp_arg){it->str, it->str_len};
    const struct command *parent;
    node_write(srv->node, NULL, 0, cmd_lookup(argv, argc, &parent), argc, argv);
    node_write_flush(srv->node);
    im->inflight[im->n_inflight].index = raft_last_index(node_core(srv->node));
    im->inflight[im->n_inflight++].keys = 0;
    im->functions_loaded++; /* counted when proposed: FUNCTION LOAD's reply is nobody's */
}

/* One item of the second pass into the chunk (proposed when full, or
 * when the database changes). */
static void load_item(struct server *srv, struct import *im, const struct rdb_item *it)
{
    if (it->kind == RDB_ITEM_FUNCTION) propose_function(srv, im, it);
    if (it->kind != RDB_ITEM_KEY) return;
    if (im->n_recs && it->db != im->db) propose_chunk(srv, im);
    im->db = it->db;
    struct rec *r = &im->recs[im->n_recs++];
    r->key_off = im->bytes.len;
    r->key_len = it->key_len;
    text_put(&im->bytes, it->key, it->key_len);
    r->val_off = im->bytes.len;
    r->val_len = 1 + it->body_len;
    text_put(&im->bytes, (const char *)&it->type, 1);
    text_put(&im->bytes, (const char *)it->body, it->body_len);
    r->expire_ms = it->expire_ms == RDB_READER_NO_EXPIRE ? -1
                   : it->expire_ms < 1                   ? 1
                                                         : it->expire_ms;
    if (im->n_recs == IMPORT_CHUNK_KEYS || im->bytes.len >= IMPORT_CHUNK_BYTES)
        propose_chunk(srv, im);
}

/* The second pass, IMPORT_STEP_BYTES further while the log has room. */
static bool load_step(struct server *srv, struct import *im)
{
    bool worked = false;
    uint64_t until = im->rd.offset + IMPORT_STEP_BYTES;
    /* a step may propose a chunk and a library: room for both */
    while (!im->rd.done && im->rd.offset < until && im->n_inflight + 2 <= IMPORT_INFLIGHT_MAX) {
        struct rdb_item it;
        int rc = next_item(im, &it);
        worked = true;
        if (rc == RDB_READER_ERROR) { /* the first pass read it whole: the file changed */
            finish(im, PH_FAILED, NULL);
            return false;
        }
        if (rc == RDB_READER_END)
            propose_chunk(srv, im);
        else
            load_item(srv, im, &it);
    }
    if (im->rd.done && im->n_inflight == 0) finish(im, PH_DONE, NULL);
    return worked;
}

/* The chunks applied here since the last step. */
static void settle(struct server *srv, struct import *im)
{
    uint64_t applied = node_applied(srv->node);
    size_t k = 0;
    while (k < im->n_inflight && im->inflight[k].index <= applied)
        im->keys_loaded += im->inflight[k++].keys;
    memmove(im->inflight, im->inflight + k, (im->n_inflight - k) * sizeof im->inflight[0]);
    im->n_inflight -= k;
}

static void log_progress(struct import *im)
{
    int64_t now = clock_ms();
    if (now - im->logged_ms < IMPORT_LOG_MS) return;
    im->logged_ms = now;
    LOG_NOTICE("Import of %s: %s, %llu of %llu bytes read, %llu keys loaded of %llu", im->path,
               PHASE_NAME[im->phase], (unsigned long long)im->rd.offset,
               (unsigned long long)im->file_bytes, (unsigned long long)im->keys_loaded,
               (unsigned long long)im->keys_total);
}

/* The import's step, when one is under way. */
static bool step(struct server *srv, struct import *im)
{
    uint64_t term = raft_term_of(node_core(srv->node));
    if (!node_is_leader(srv->node) || term != im->term) {
        char why[300];
        snprintf(why, sizeof why,
                 "this node stopped leading (term %llu, now %llu) while %s: %llu keys applied "
                 "here stay; RAFT.IMPORT with REPLACE on the leader loads the file again",
                 (unsigned long long)im->term, (unsigned long long)term, PHASE_NAME[im->phase],
                 (unsigned long long)im->keys_loaded);
        finish(im, PH_FAILED, why);
        return false;
    }
    settle(srv, im);
    log_progress(im);
    return im->phase == PH_VALIDATING ? validate_step(srv, im) : load_step(srv, im);
}

bool import_step(struct server *srv)
{
    struct import *im = srv->import;
    if (!running(im)) return false;
    bool worked = step(srv, im);
    if (!running(im) && im->hooks.ended) { /* it ended in this step */
        struct import_hooks h = im->hooks;
        im->hooks = (struct import_hooks){0};
        h.ended(srv, h.ud, im->phase == PH_DONE, im->error);
    }
    return worked;
}

void import_info(const struct server *srv, struct info_text *t)
{
    const struct import *im = srv->import;
    static const struct import none = {.phase = PH_NONE};
    if (!im) im = &none;
    bool under_way = running(im);
    int64_t end = under_way ? clock_ms() : im->ended_ms;
    info_addf(t,
              "import_in_progress:%d\r\nimport_status:%s\r\nimport_keys_total:%llu\r\n"
              "import_keys_loaded:%llu\r\nimport_functions_loaded:%llu\r\n"
              "import_bytes_read:%llu\r\nimport_total_bytes:%llu\r\nimport_duration_ms:%lld\r\n"
              "import_last_error:%s\r\n",
              under_way, PHASE_NAME[im->phase], (unsigned long long)im->keys_total,
              (unsigned long long)im->keys_loaded, (unsigned long long)im->functions_loaded,
              (unsigned long long)im->rd.offset, (unsigned long long)im->file_bytes,
              im->phase == PH_NONE ? 0LL : (long long)(end - im->started_ms), im->error);
}

void import_free(struct server *srv)
{
    if (!srv->import) return;
    close_file(srv->import);
    free(srv->import);
    srv->import = NULL;
}
