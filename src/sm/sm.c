/*
 * src/sm/sm.c - entry encoding, decoding and application (see sm.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "raft/raft.h"
#include "base/clock.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "base/le.h"
#include "base/log.h"
#include "keyspace/notify.h"
#include "sm/sm.h"
#include "sm/snaplive.h"
#include "sm/snapshot.h"
#include "base/util.h"

#define SM_ARGC_MAX (1024 * 1024)   /* the parser's limit: no entry exceeds it */
#define SINK_KEEP_BYTES (64 * 1024) /* sm.sink's allocation kept between commands */

static void buf_reserve(struct sm_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) return;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap - b->len < extra)
        ncap *= 2;
    char *n = util_xrealloc(b->data, ncap);
    b->data = n;
    b->cap = ncap;
}

/* A buffer that held one large entry is released once the entry is in the
 * log: the largest command ever written must not stay allocated (2x for
 * the doubling growth of ordinary batches). */
#define SM_BUF_KEEP_BYTES (2 * SM_BATCH_MAX_BYTES)

static void buf_release_large(struct sm_buf *b)
{
    if (b->cap <= SM_BUF_KEEP_BYTES) return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void put_u32(struct sm_buf *b, uint32_t v)
{
    le_put32((unsigned char *)b->data + b->len, v);
    b->len += 4;
}

static const struct notify notify_none; /* sm_env.notify NULL: no class fires */

void sm_init(struct sm *sm, const struct sm_env *env, uint64_t seed)
{
    memset(sm, 0, sizeof *sm);
    sm->env = *env;
    if (!sm->env.notify) sm->env.notify = &notify_none;
    resp_out_init(&sm->sink, 2);
    inflight_init(&sm->inflight);
    expiring_init(&sm->expiring, seed, SM_EXPIRING_MAX);
}

void sm_free(struct sm *sm)
{
    free(sm->scratch.data);
    free(sm->batch.data);
    free(sm->argv);
    free(sm->hints);
    free(sm->parts);
    resp_out_free(&sm->sink);
    inflight_free(&sm->inflight);
    expiring_free(&sm->expiring);
    memset(sm, 0, sizeof *sm);
}

void sm_entry_begin(struct sm_buf *b, enum sm_entry_type type, int64_t ts_ms)
{
    b->len = 0;
    buf_reserve(b, SM_ENTRY_HEADER_LEN);
    b->data[b->len++] = SM_ENTRY_VERSION;
    b->data[b->len++] = (char)type;
    uint64_t ts = (uint64_t)ts_ms;
    put_u32(b, (uint32_t)ts);
    put_u32(b, (uint32_t)(ts >> 32));
    put_u32(b, 0); /* ncmds, patched by sm_entry_add */
}

/* One more command in the entry in b (its header's ncmds). */
static void bump_ncmds(struct sm_buf *b)
{
    unsigned char *n = (unsigned char *)b->data + 10;
    le_put32(n, le_get32(n) + 1);
}

/* A command's head: its argc word, and its database unless it is 0. */
static void put_cmd_head(struct sm_buf *b, int db, int argc)
{
    ASSERT(db >= 0 && db < KV_DBS_MAX && argc > 0 && argc <= SM_ARGC_MAX);
    put_u32(b, (uint32_t)argc | (db ? SM_CMD_HAS_DB : 0));
    if (db) put_u32(b, (uint32_t)db);
}

void sm_entry_add(struct sm_buf *b, int db, int argc, const struct resp_arg *argv)
{
    size_t bytes = 8;
    for (int i = 0; i < argc; i++)
        bytes += 4 + argv[i].len;
    buf_reserve(b, bytes);
    put_cmd_head(b, db, argc);
    for (int i = 0; i < argc; i++) {
        put_u32(b, (uint32_t)argv[i].len);
        memcpy(b->data + b->len, argv[i].ptr, argv[i].len);
        b->len += argv[i].len;
    }
    bump_ncmds(b);
}

/* Decodes the command at *off into sm->argv and its database into
 * sm->argv_db; returns argc or -1. A database is always written as 1 or
 * more: 0 is the absence of SM_CMD_HAS_DB (one encoding per entry). */
static int decode_cmd(struct sm *sm, const unsigned char *p, size_t len, size_t *off)
{
    if (len - *off < 4) return -1;
    uint32_t argc = le_get32(p + *off);
    *off += 4;
    sm->argv_db = 0;
    if (argc & SM_CMD_HAS_DB) {
        argc &= ~SM_CMD_HAS_DB;
        if (len - *off < 4) return -1;
        uint32_t d = le_get32(p + *off);
        *off += 4;
        if (d == 0 || d >= KV_DBS_MAX) return -1;
        sm->argv_db = (int)d;
    }
    if (argc == 0 || argc > SM_ARGC_MAX || argc > (len - *off) / 4) return -1;
    if (argc > sm->argv_cap) {
        struct resp_arg *n = util_xrealloc(sm->argv, argc * sizeof *n);
        sm->argv = n;
        sm->argv_cap = argc;
    }
    for (uint32_t i = 0; i < argc; i++) {
        if (len - *off < 4) return -1;
        uint32_t alen = le_get32(p + *off);
        *off += 4;
        if (alen > len - *off) return -1;
        sm->argv[i].ptr = (const char *)p + *off;
        sm->argv[i].len = alen;
        *off += alen;
    }
    return (int)argc;
}

/* The PRNG seed of the pos-th command of the entry at index: the same on
 * every replica, different for every command ever applied. */
static uint64_t command_seed(uint64_t index, uint32_t pos)
{
    uint64_t s = index * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)pos << 1 | 1);
    return util_rand64(&s);
}

/* Runs one decoded command of an entry: the command layer directly, with
 * the entry's clock and randomness. Non-write commands queued in a
 * transaction only produce a reply, so they are skipped where no client
 * waits; a write always runs. A blocking command of a batch (held by its
 * client, src/server/blocked.h) that finds nothing to serve replies nothing here:
 * its client runs it again to block; one that was served says so. */
static void apply_cmd(struct sm *sm, const struct command *known, struct client *c, int argc,
                      const struct resp_arg *argv, int64_t ts, uint64_t seed, struct resp_out *out,
                      int as_id, int in_batch, int64_t *mark_us)
{
    const struct command *cmd =
        known ? cmd_check(known, argc, argv, out) : cmd_resolve(argc, argv, out);
    if (!cmd) return;
    if (!(cmd->flags & CMD_WRITE) && !cmd->writes && !c) return;
    /* Blocking as this call was routed (XREADGROUP blocks only with BLOCK) */
    int blocking =
        (cmd->flags & CMD_BLOCKING) &&
        (!cmd->call_flags || (cmd->call_flags(sm->env.srv, argc, argv, cmd->flags) & CMD_BLOCKING));
    struct cmd_ctx ctx = {
        .argc = argc,
        .argv = argv,
        .out = out,
        .kv = kv_db(sm->env.dbs, sm->argv_db), /* the decoded command's */
        .dbs = sm->env.dbs,
        .selected = c ? &c->db : NULL, /* a transaction's SELECT, where its client waits */
        .now_ms = ts,
        .client = c,
        .srv = sm->env.srv,
        .rng = seed,
        .applying = 1,
        .may_block = in_batch && c && blocking,
        .notify_mask = sm->env.notify->mask,
        .notify = sm->env.notify,
        .counted_as = as_id + 1,
    };
    if (cmd->flags & CMD_HOUSEKEEPING) {
        ctx.monitor = sm->env.monitor;
        cmd->proc(&ctx);
        return;
    }
    cmd_call(cmd, &ctx, sm->env.monitor, mark_us);
    sm->commands_run++;
    if (c && sm->env.observer.ran) sm->env.observer.ran(sm->env.observer.ud, c, cmd, &ctx);
    if (ctx.may_block && !ctx.blocked) client_hold_to(c, HOLD_SERVED);
}

/* Who waits for the entry's replies (see sm_apply). */
struct waiting {
    struct client *const *clients;
    const uint32_t *tags;
    size_t n;
};

/* The client waiting for reply i, or NULL. */
static struct client *waiter(const struct waiting *w, size_t i)
{
    return i < w->n ? w->clients[i] : NULL;
}

/* Where reply i goes: its client's output, or the sink (nobody waits, or
 * its client turned replies off). */
static struct resp_out *reply_to(struct sm *sm, const struct waiting *w, size_t i)
{
    struct client *c = waiter(w, i);
    return c && !(w->tags && (w->tags[i] & REPLY_TAG_MUTED)) ? &c->out : &sm->sink;
}

/* The command call i of the entry counts as (REPLY_TAG_AS), or -1: its own.
 * A batch's call i is its waiter i's; a transaction's client is waiter 0
 * and the waiters after it stand in for its other commands (see
 * sm_build_multi), so call i's tag is waiter i's while the client waits. */
static int counted_as(const struct waiting *w, size_t i, int multi)
{
    if (!w->tags || i >= w->n || !w->clients[multi ? 0 : i]) return -1;
    return reply_tag_as(w->tags[i]);
}

/* How far ahead of the command being applied a batch prefetches what the
 * command will look up (dict_prefetch): the key's bucket, entry and value,
 * then the member's bucket, entry and value in the key's value (a large
 * hash, set or sorted set), one stage every PREFETCH_STEP commands, so each
 * miss has a few commands' time to land before the next stage reads it. */
#define PREFETCH_STEP 3
#define PREFETCH_STAGES 6
#define PREFETCH_AHEAD (PREFETCH_STEP * PREFETCH_STAGES)

static void prefetch_ahead(const struct sm *sm, uint32_t i, uint32_t ncmds)
{
    static const enum dict_prefetch_stage stages[] = {DICT_PREFETCH_VALUE, DICT_PREFETCH_ENTRY,
                                                      DICT_PREFETCH_BUCKET};
    for (uint32_t s = 0; s < PREFETCH_STAGES; s++) {
        uint32_t k = i + PREFETCH_STEP * (s + 1);
        if (k >= ncmds) break;
        const struct sm_hint *h = &sm->hints[k];
        if (!h->key.ptr) continue;
        if (s < 3) {
            if (h->member.ptr)
                kv_prefetch_member(kv_db(sm->env.dbs, h->db), h->key.ptr, h->key.len, h->member.ptr,
                                   h->member.len, stages[s]);
        } else {
            kv_prefetch(kv_db(sm->env.dbs, h->db), h->key.ptr, h->key.len, stages[s - 3]);
        }
    }
}

static void apply_decoded(struct sm *sm, const struct waiting *w, uint64_t index, int type,
                          int64_t ts, uint32_t ncmds, const unsigned char *p, size_t len)
{
    size_t off = SM_ENTRY_HEADER_LEN;
    struct client *c = waiter(w, 0);
    size_t reply = 0; /* which reply: the command's in a batch, else the one */
    const struct sm_observer *obs = &sm->env.observer;
    int whole = type != SM_ENTRY_BATCH && type != SM_ENTRY_EXPIRE; /* one reply for the entry */
    if (whole && obs->reply_begin) obs->reply_begin(obs->ud, c);
    if (type == SM_ENTRY_MULTI) resp_add_array_len(reply_to(sm, w, 0), (long)ncmds);
    int64_t mark_us = clock_mono_us(); /* each command's time ends the one before */
    if (type == SM_ENTRY_BATCH)
        for (uint32_t k = 0; k < PREFETCH_AHEAD && k < ncmds; k++)
            if (sm->hints[k].key.ptr)
                kv_prefetch(kv_db(sm->env.dbs, sm->hints[k].db), sm->hints[k].key.ptr,
                            sm->hints[k].key.len, DICT_PREFETCH_BUCKET);
    for (uint32_t i = 0; i < ncmds; i++) {
        int argc = decode_cmd(sm, p, len, &off); /* validated: cannot fail */
        if (type == SM_ENTRY_EXPIRE) {
            for (int k = 0; k < argc; k++)
                kv_delete_if_expired(kv_db(sm->env.dbs, sm->argv_db), sm->argv[k].ptr,
                                     sm->argv[k].len, ts);
            /* The deletion half of an expiry cycle (src/cmd/monitor.h) */
            int64_t now_us = clock_mono_us();
            monitor_event(sm->env.monitor, "expire-cycle", (now_us - mark_us) / 1000);
            mark_us = now_us;
            continue;
        }
        const struct command *known = NULL;
        if (type == SM_ENTRY_BATCH) {
            reply = i;
            c = waiter(w, i);
            prefetch_ahead(sm, i, ncmds);
            known = sm->hints[i].cmd;
            if (obs->reply_begin) obs->reply_begin(obs->ud, c);
        }
        apply_cmd(sm, known, c, argc, sm->argv, ts, command_seed(index, i), reply_to(sm, w, reply),
                  type == SM_ENTRY_BATCH || type == SM_ENTRY_MULTI
                      ? counted_as(w, i, type == SM_ENTRY_MULTI)
                      : -1,
                  type == SM_ENTRY_BATCH, &mark_us);
        if (type == SM_ENTRY_BATCH && obs->reply_end) obs->reply_end(obs->ud, c);
        resp_out_clear(&sm->sink);
        resp_out_shrink(&sm->sink, SINK_KEEP_BYTES); /* after a big reply nobody wanted */
    }
    if (whole && obs->reply_end) obs->reply_end(obs->ud, c);
}

static void note_hint(struct sm_hint *h, int db, int argc, const struct resp_arg *argv)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    h->cmd = cmd;
    h->db = db;
    h->key = argc >= 2 ? argv[1] : (struct resp_arg){0};
    h->member = (struct resp_arg){0};
    if (argc < 3 || !cmd) return;
    if (cmd->flags & CMD_MEMBER_ARG) h->member = argv[2];
    if (cmd->flags & CMD_MEMBER_LAST) h->member = argv[argc - 1];
}

/* Checks the whole entry before anything is applied: a corrupt entry must
 * not be half-applied. A batch's likely lookups are noted for prefetching.
 * Returns 0, -1 (malformed) or -2 (a database this node lacks, in
 * sm->argv_db). */
static int validate(struct sm *sm, const unsigned char *p, size_t len, int type, uint32_t ncmds)
{
    size_t off = SM_ENTRY_HEADER_LEN;
    int batch = type == SM_ENTRY_BATCH;
    if (batch && ncmds > sm->hints_cap) {
        if (ncmds > len / 8) return -1; /* each command takes at least 8 bytes */
        struct sm_hint *n = util_xrealloc(sm->hints, ncmds * sizeof *n);
        sm->hints = n;
        sm->hints_cap = ncmds;
    }
    for (uint32_t i = 0; i < ncmds; i++) {
        int argc = decode_cmd(sm, p, len, &off);
        if (argc < 0) return -1;
        if (sm->argv_db >= sm->env.dbs->n) return -2;
        if (batch) note_hint(&sm->hints[i], sm->argv_db, argc, sm->argv);
    }
    return off == len ? 0 : -1;
}

int sm_entry_ts(const char *data, size_t len, int64_t *ts_ms)
{
    const unsigned char *p = (const unsigned char *)data;
    if (len < SM_ENTRY_HEADER_LEN || p[0] != SM_ENTRY_VERSION || p[1] > SM_ENTRY_BATCH) return -1;
    *ts_ms = (int64_t)le_get64(p + 2);
    return 0;
}

int sm_apply(struct sm *sm, uint64_t index, struct client *const *clients, const uint32_t *tags,
             size_t nclients, const char *data, size_t len, char *err, size_t errlen)
{
    const unsigned char *p = (const unsigned char *)data;
    if (len < SM_ENTRY_HEADER_LEN || p[0] != SM_ENTRY_VERSION || p[1] > SM_ENTRY_BATCH) {
        snprintf(err, errlen, "malformed entry header (len %zu)", len);
        return -1;
    }
    int64_t ts = (int64_t)le_get64(p + 2);
    uint32_t ncmds = le_get32(p + 10);
    int bad = validate(sm, p, len, p[1], ncmds);
    if (bad == -2) {
        snprintf(err, errlen,
                 "entry for database %d, but this node has %d (databases): every node of a "
                 "cluster needs the same databases",
                 sm->argv_db, sm->env.dbs->n);
        return -1;
    }
    if (bad < 0) {
        snprintf(err, errlen, "malformed entry body (len %zu, %u commands)", len, ncmds);
        return -1;
    }
    ASSERT(nclients == 0 || clients);
    /* Who waits was staged with the entry (src/node/waiters.h): a batch's
     * command each (NULL for the node's own), a transaction's client and a
     * stand-in for each other command; nobody where this node did not
     * propose it in this term. */
    ASSERT(p[1] != SM_ENTRY_BATCH || nclients == 0 || nclients == ncmds);
    ASSERT(p[1] != SM_ENTRY_MULTI || nclients == 0 || nclients == (ncmds ? ncmds : 1));
    struct waiting w = {clients, tags, nclients};
    apply_decoded(sm, &w, index, p[1], ts, ncmds, p, len);
    sm->applied_entries++;
    return 0;
}

/* --- entries built in scratch, proposed in parts --- */

/* Arguments at least this long are not copied into scratch: the log copies
 * them from where they are (a query buffer, a queued transaction), so a
 * large value is copied once on its way into the log, not twice. */
#define SM_PART_MIN_BYTES (64 * 1024)

static void part_push(struct sm *sm, const char *ptr, size_t off, size_t len)
{
    if (len == 0) return;
    if (sm->n_parts == sm->parts_cap) {
        size_t cap = sm->parts_cap ? 2 * sm->parts_cap : 16;
        struct sm_part *n = util_xrealloc(sm->parts, cap * sizeof *n);
        sm->parts = n;
        sm->parts_cap = cap;
    }
    sm->parts[sm->n_parts++] = (struct sm_part){ptr, off, len};
}

static void scratch_begin(struct sm *sm, enum sm_entry_type type, int64_t ts)
{
    sm_entry_begin(&sm->scratch, type, ts);
    sm->n_parts = 0;
    sm->part_seg = 0;
}

/* sm_entry_add() to scratch, large arguments left where they are (they must
 * stay there until the entry is proposed). */
static void scratch_add(struct sm *sm, int db, int argc, const struct resp_arg *argv)
{
    struct sm_buf *b = &sm->scratch;
    size_t bytes = 8;
    for (int i = 0; i < argc; i++)
        bytes += 4 + (argv[i].len < SM_PART_MIN_BYTES ? argv[i].len : 0);
    buf_reserve(b, bytes);
    put_cmd_head(b, db, argc);
    for (int i = 0; i < argc; i++) {
        put_u32(b, (uint32_t)argv[i].len);
        if (argv[i].len < SM_PART_MIN_BYTES) {
            memcpy(b->data + b->len, argv[i].ptr, argv[i].len);
            b->len += argv[i].len;
            continue;
        }
        part_push(sm, NULL, sm->part_seg, b->len - sm->part_seg);
        part_push(sm, argv[i].ptr, 0, argv[i].len);
        sm->part_seg = b->len;
    }
    bump_ncmds(b);
}

/* --- proposing: the Raft driver takes what is built here --- */

uint32_t sm_scratch_take(struct sm *sm, struct raft_part **out)
{
    ASSERT(sm->n_parts > 0 || sm->scratch.len > 0); /* an entry was built */
    part_push(sm, NULL, sm->part_seg, sm->scratch.len - sm->part_seg);
    struct raft_part *parts = util_xmalloc(sm->n_parts * sizeof *parts);
    for (size_t i = 0; i < sm->n_parts; i++) {
        const struct sm_part *q = &sm->parts[i];
        parts[i].data = q->ptr ? q->ptr : sm->scratch.data + q->off;
        parts[i].len = (uint32_t)q->len;
    }
    *out = parts;
    return (uint32_t)sm->n_parts;
}

void sm_scratch_proposed(struct sm *sm, struct raft_part *parts, uint64_t index)
{
    free(parts);
    inflight_proposed(&sm->inflight, index);
    if (sm->scratch_holds) expiring_proposed(&sm->expiring, index);
    sm->scratch_holds = 0;
    buf_release_large(&sm->scratch);
    sm->n_parts = 0;
}

/* The keys a write command changes, for src/sm/inflight.h: its key arguments,
 * or every key when the command names none (or more than STAGE_KEYS_MAX). */
#define STAGE_KEYS_MAX 256
static void stage_keys(struct inflight *f, const struct command *cmd, int argc,
                       const struct resp_arg *argv)
{
    int idx[STAGE_KEYS_MAX];
    int n = cmd ? cmd_get_keys(cmd, argc, argv, idx, STAGE_KEYS_MAX) : 0;
    if (n == 0 || n == STAGE_KEYS_MAX) { /* keyless, malformed, or too many to list */
        inflight_stage_all(f);
        return;
    }
    for (int i = 0; i < n; i++)
        inflight_stage_key(f, argv[idx[i]].ptr, argv[idx[i]].len);
}

int sm_write_in_flight(const struct sm *sm, const char *key, size_t len)
{
    return inflight_busy(&sm->inflight, key, len, sm->applied);
}

void sm_leader_started(struct sm *sm, uint64_t last_index)
{
    inflight_all(&sm->inflight, last_index);
    expiring_reset(&sm->expiring);
}

static void put_ts(struct sm_buf *b, int64_t ts_ms)
{
    le_put64((unsigned char *)b->data + 2, (uint64_t)ts_ms);
}

int sm_batch_take(struct sm *sm, struct raft_part *whole)
{
    if (!sm->batch_n) return 0;
    /* Applied as of now: no command in it arrived later. */
    put_ts(&sm->batch, clock_ms());
    sm->batch_n = 0;
    *whole = (struct raft_part){sm->batch.data, (uint32_t)sm->batch.len};
    return 1;
}

void sm_batch_proposed(struct sm *sm, uint64_t index)
{
    ASSERT(sm->batch_n == 0); /* taken (sm_batch_take) */
    inflight_proposed(&sm->inflight, index);
    if (sm->batch_held) expiring_proposed(&sm->expiring, index);
    sm->batch_held = 0;
    buf_release_large(&sm->batch);
}

int sm_batch_full(const struct sm *sm)
{
    return sm->batch_n && sm->batch.len >= SM_BATCH_MAX_BYTES;
}

void sm_hold_keys(struct sm *sm)
{
    sm->batch_held = 1;
}

/* argv in its deterministic form for the log at now (the row's rewrite
 * hook: relative TTLs made absolute): returns the argc and sets *argv to abs
 * (room for CMD_REWRITE_ARGC_MAX + CMD_REWRITE_EXTRA, pointing into scratch
 * too) when the command is rewritten, else returns argc unchanged. */
static int absolute_argv(const struct command *cmd, int argc, const struct resp_arg **argv,
                         int64_t now, struct resp_arg *abs, char *scratch, size_t scratch_len)
{
    int nargc = 0;
    if (cmd && cmd->rewrite && argc <= CMD_REWRITE_ARGC_MAX && cmd_arity_ok(cmd, argc))
        nargc = cmd->rewrite(argc, *argv, now, abs, scratch, scratch_len);
    if (nargc <= 0) return argc;
    *argv = abs;
    return nargc;
}

void sm_write_prepare(struct sm *sm, int db, const struct command *cmd, int argc,
                      const struct resp_arg *argv, struct sm_write *w)
{
    w->db = db;
    /* the open batch's clock: the one its commands are applied with */
    w->now = sm->batch_n ? sm->batch_ts_ms : clock_ms();
    w->cmd = cmd;
    w->argc = argc;
    w->argv = argv;
    w->eargv = argv;
    w->eargc = absolute_argv(cmd, argc, &w->eargv, w->now, w->abs, w->scratch, sizeof w->scratch);
    w->bytes = db ? 8 : 4;
    for (int i = 0; i < w->eargc; i++)
        w->bytes += 4 + w->eargv[i].len;
    w->tag_as = w->eargv != argv ? REPLY_TAG_AS(cmd_id(cmd)) : 0;
    w->flush_first = sm->batch_n && sm->batch.len + w->bytes > SM_BATCH_MAX_BYTES;
}

int sm_write_add(struct sm *sm, const struct sm_write *w)
{
    /* A full batch was proposed at once, one too full for w first. */
    ASSERT(!sm->batch_n || sm->batch.len + w->bytes <= SM_BATCH_MAX_BYTES);
    stage_keys(&sm->inflight, w->cmd, w->argc, w->argv);
    if (w->bytes > SM_BATCH_MAX_BYTES) { /* too large to share a batch: one of its own */
        ASSERT(!sm->batch_n);
        scratch_begin(sm, SM_ENTRY_BATCH, w->now);
        scratch_add(sm, w->db, w->eargc, w->eargv);
        sm->scratch_holds = sm->batch_held;
        sm->batch_held = 0;
        return 1;
    }
    if (!sm->batch_n) {
        sm_entry_begin(&sm->batch, SM_ENTRY_BATCH, w->now);
        sm->batch_ts_ms = w->now;
    }
    sm_entry_add(&sm->batch, w->db, w->eargc, w->eargv);
    sm->batch_n++;
    return 0;
}

uint32_t sm_build_multi(struct sm *sm, const struct client *c, uint32_t *tags)
{
    ASSERT(!sm->batch_n && "the open batch goes first: a client's commands stay in order");
    int64_t now = clock_ms();
    int db = c->db; /* each command is logged with its database: SELECTs move it */
    scratch_begin(sm, SM_ENTRY_MULTI, now);
    for (int i = 0; i < c->mstate.count; i++) {
        const struct multi_cmd *q = &c->mstate.cmds[i];
        const struct command *parent;
        const struct command *cmd = cmd_lookup(q->argv, q->argc, &parent);
        struct resp_arg abs_argv[CMD_REWRITE_ARGC_MAX + CMD_REWRITE_EXTRA];
        char scratch[64];
        const struct resp_arg *argv = q->argv;
        int argc = absolute_argv(cmd, q->argc, &argv, now, abs_argv, scratch, sizeof scratch);
        scratch_add(sm, db, argc, argv); /* copies what it keeps no pointer to */
        db = cmd_select_target(cmd, q->argc, q->argv, db, sm->env.dbs->n);
        if (cmd && (cmd->flags & CMD_WRITE)) stage_keys(&sm->inflight, cmd, q->argc, q->argv);
        /* what the call counts as when rewritten (EXPIRE made PEXPIREAT
         * counts as EXPIRE, as in Redis) */
        tags[i] = argv != q->argv ? REPLY_TAG_AS(cmd_id(cmd)) : 0;
    }
    if (c->mstate.count == 0) {
        tags[0] = 0;
        return 1;
    }
    return (uint32_t)c->mstate.count;
}

void sm_build_expire(struct sm *sm, int db, int nkeys, const struct resp_arg *keys)
{
    ASSERT(!sm->batch_n && "the open batch goes first");
    scratch_begin(sm, SM_ENTRY_EXPIRE, clock_ms());
    scratch_add(sm, db, nkeys, keys);
    for (int i = 0; i < nkeys; i++)
        inflight_stage_key(&sm->inflight, keys[i].ptr, keys[i].len);
    sm->scratch_holds = 1;
}

void sm_set_applied(struct sm *sm, uint64_t index)
{
    ASSERT(index >= sm->applied && "the keyspace never goes back in the log");
    sm->applied = index;
}

struct snaplive *sm_snapshot_start(struct sm *sm, const char *path, uint64_t index, uint64_t term,
                                   char *err, size_t errlen)
{
    return snaplive_start(path, sm->env.dbs->db, sm->env.dbs->n, &sm->env.extra, index, term, err,
                          errlen);
}

int sm_snapshot_verify(const struct sm *sm, const char *path, struct snapshot_header *h, char *err,
                       size_t errlen)
{
    return snapshot_verify(path, sm->env.dbs->common.types, sm->env.dbs->n, h, err, errlen);
}

int sm_snapshot_load(struct sm *sm, const char *path, struct snapshot_header *h, char *err,
                     size_t errlen)
{
    kv_dbs_flush(sm->env.dbs);
    if (sm->env.extra_reset) sm->env.extra_reset(sm->env.extra.ud);
    /* Loading is no write: its keys fire no "new" (nor "expired"). */
    unsigned event_mask = sm->env.dbs->common.event_mask;
    sm->env.dbs->common.event_mask = 0;
    int rc = snapshot_load(path, sm->env.dbs->db, sm->env.dbs->n, &sm->env.extra, h, err, errlen);
    sm->env.dbs->common.event_mask = event_mask;
    if (rc == 0) sm->applied = h->index;
    return rc;
}

uint64_t sm_keys(const struct sm *sm)
{
    return kv_dbs_size(sm->env.dbs);
}
