/*
 * tests/nodesim/queue.c - the node simulator's job queue (its functions
 * are declared in nodesim_int.h): a producer LPUSHes unique jobs onto "q"; consumers take
 * them with BLMOVE q p<c> RIGHT LEFT <timeout> into their own processing
 * list, then LREM them from it (the reliable-queue pattern). Blocked
 * consumers are woken through the log (src/server/dispatch.c's RAFTCACHE.SERVE)
 * and released on leadership changes (src/server/replica.c), under every fault of
 * the run.
 *
 * A reply the consumer cannot be sure of (its node died, -TIMEOUT) makes it
 * read its processing list (LRANGE) before it takes the next job: what it
 * finds there was handed to it. (The move may also be applied after that
 * read, while it is still in the log: then a later read finds it.) Checks:
 * no job is handed out twice (a BLMOVE reply, or found in a processing
 * list) - the move from q is atomic, so even an unsure hand-over never
 * repeats; a consumer never finds more jobs in its list than it had unsure
 * BLMOVEs; an LREM that removed nothing follows an unsure LREM of that job;
 * after healing, every acknowledged push was handed out or is still in q
 * or a processing list, each remaining job is in one place only, is one
 * that was pushed, was not removed already, and a job handed to consumer c
 * is in p<c> or was removed by it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "nodesim_int.h"

enum push_state { P_NONE, P_SENT, P_OK, P_UNKNOWN, P_FAILED };
enum q_step { Q_IDLE, Q_PUSH, Q_MOVE, Q_LREM, Q_RECOVER, Q_FINAL };

#define TODO_MAX 32 /* jobs a consumer holds (normally one) */
#define Q_FINAL_LISTS (1 + N_CONSUMERS)

struct qjob {
    unsigned char push;       /* enum push_state */
    signed char to;           /* consumer it was handed to, -1 */
    unsigned char done;       /* LREM removed it */
    unsigned char rem_unsure; /* an LREM of it had an unknown outcome */
    signed char final_at;     /* where the final reads found it: list index, -1 */
};

struct consumer {
    uint64_t todo[TODO_MAX]; /* jobs in its processing list to LREM, in order */
    int n_todo;
    bool recover;    /* read p<c> before the next BLMOVE */
    uint64_t unsure; /* BLMOVEs whose outcome it could not know */
    uint64_t found;  /* jobs found in p<c> that no reply handed it */
};

static struct {
    struct qjob *jobs; /* by job id; 0 unused */
    uint64_t n_jobs, cap_jobs;
    struct consumer cons[N_CONSUMERS];
    int final_list; /* the list being read at the end, -1 none */
    bool final_ok;
} Q;

void queue_init(void)
{
    free(Q.jobs);
    memset(&Q, 0, sizeof Q);
    Q.final_list = -1;
}

void queue_free(void)
{
    free(Q.jobs);
    memset(&Q, 0, sizeof Q);
}

static int consumer_of(const struct sclient *s)
{
    return s->id - QUEUE_FIRST - 1;
}

static struct qjob *job(uint64_t j)
{
    return j >= 1 && j <= Q.n_jobs ? &Q.jobs[j] : NULL;
}

static void list_name(int list, char *out, size_t cap)
{
    if (list == 0)
        snprintf(out, cap, "q");
    else
        snprintf(out, cap, "p%d", list - 1);
}

/* ----------------------------------------------------------- replies */

/* A bulk string "j<id>" at *p (its "$len\r\n" header first) within end:
 * the id (0 if not a job), *p moved past it; -1 on a malformed reply. */
static long long next_bulk(const char **p, const char *end)
{
    if (*p >= end || **p != '$') return -1;
    char *eol;
    long long len = strtoll(*p + 1, &eol, 10);
    if (len < 0 || eol + 2 + len + 2 > end) return -1;
    const char *s = eol + 2;
    *p = s + len + 2;
    if (len < 2 || s[0] != 'j') return 0;
    return strtoll(s + 1, NULL, 10);
}

static void handed(int c, uint64_t j, const char *how)
{
    struct qjob *o = job(j);
    if (!o || o->push == P_NONE || o->push == P_FAILED) {
        failf("queue: consumer %d got job j%llu (%s), which was never pushed", c,
              (unsigned long long)j, how);
        return;
    }
    if (o->to >= 0) {
        failf("queue: job j%llu handed to consumer %d (%s) after it was handed to consumer %d",
              (unsigned long long)j, c, how, o->to);
        return;
    }
    struct consumer *k = &Q.cons[c];
    if (k->n_todo == TODO_MAX) {
        failf("queue: consumer %d holds more than %d jobs", c, TODO_MAX);
        return;
    }
    o->to = (signed char)c;
    k->todo[k->n_todo++] = j;
    R->st->jobs_handed++;
}

static void push_reply(struct sclient *s, char kind, const char *text)
{
    struct qjob *o = job(s->q_job);
    if (kind == ':')
        o->push = P_OK;
    else
        o->push = kind == '-' && not_proposed(text) ? P_FAILED : P_UNKNOWN;
    R->st->jobs_pushed += o->push == P_OK;
}

static void move_reply(struct sclient *s, char kind, const char *text)
{
    int c = consumer_of(s);
    if (kind == '$' && s->raw_len > 0 && s->raw[1] != '-') {
        const char *p = s->raw;
        long long j = next_bulk(&p, s->raw + s->raw_len);
        if (j <= 0)
            failf("queue: BLMOVE gave consumer %d a reply that is no job: %.60s", c, s->raw);
        else
            handed(c, (uint64_t)j, "BLMOVE");
    } else if (kind == '-' && !not_proposed(text)) {
        Q.cons[c].recover = true; /* the move may have happened, or happen later */
        Q.cons[c].unsure++;
    } else if (kind != '-' && kind != '*' && kind != '$') {
        failf("queue: BLMOVE gave consumer %d an unexpected reply %c%s", c, kind, text);
    }
}

static void lrem_reply(struct sclient *s, char kind, const char *text)
{
    long long value = kind == ':' ? atoll(text) : -1; /* the count removed */
    struct consumer *k = &Q.cons[consumer_of(s)];
    struct qjob *o = job(s->q_job);
    if (kind == '-') {
        if (!not_proposed(text)) o->rem_unsure = 1;
        return; /* tried again */
    }
    if (value < 0 || value > 1 || (value == 0 && !o->rem_unsure)) {
        failf("queue: LREM p%d 1 j%llu replied %c%s: the job was not in its processing list",
              consumer_of(s), (unsigned long long)s->q_job, kind, text);
        return;
    }
    o->done = 1;
    R->st->jobs_done++;
    memmove(k->todo, k->todo + 1, (size_t)(k->n_todo - 1) * sizeof k->todo[0]);
    k->n_todo--;
}

/* A job in p<c> that no reply handed to c: one of its unsure BLMOVEs. */
static bool found_unasked(int c, long long j, const char *where)
{
    struct consumer *k = &Q.cons[c];
    if (++k->found <= k->unsure) return true;
    failf("queue: job j%lld %s is one more than consumer %d's %llu BLMOVEs of unknown outcome "
          "could have moved there",
          j, where, c, (unsigned long long)k->unsure);
    return false;
}

/* The processing list read after an unsure hand-over: a job in it the
 * consumer did not know of was handed to it. */
static void recover_reply(struct sclient *s, char kind)
{
    int c = consumer_of(s);
    if (kind != '*') return; /* an error: read again */
    const char *p = s->raw, *end = s->raw + s->raw_len;
    long long n = strtoll(p + 1, NULL, 10);
    p = memchr(p, '\n', s->raw_len) + 1;
    for (long long i = 0; i < n && !R->failed; i++) {
        long long j = next_bulk(&p, end);
        if (j <= 0) {
            failf("queue: LRANGE p%d replied something that is no job list: %.60s", c, s->raw);
            return;
        }
        const struct qjob *o = job((uint64_t)j);
        if ((!o || o->to != c) && found_unasked(c, j, "found in its processing list"))
            handed(c, (uint64_t)j, "found in its processing list");
    }
    Q.cons[c].recover = false;
}

static void final_reply(struct sclient *s, char kind, const char *text)
{
    char name[16];
    list_name(Q.final_list, name, sizeof name);
    if (kind != '*') {
        if (kind != '-') failf("queue: the final LRANGE %s replied %c%s", name, kind, text);
        return; /* an error: the caller reads again */
    }
    const char *p = s->raw, *end = s->raw + s->raw_len;
    long long n = strtoll(p + 1, NULL, 10);
    p = memchr(p, '\n', s->raw_len) + 1;
    for (long long i = 0; i < n && !R->failed; i++) {
        long long j = next_bulk(&p, end);
        struct qjob *o = job(j > 0 ? (uint64_t)j : 0);
        if (j < 0)
            failf("queue: the final LRANGE %s replied no list of jobs: %.60s", name, s->raw);
        else if (!o || o->push == P_NONE || o->push == P_FAILED)
            failf("queue: %s holds job j%lld, which was never pushed", name, j);
        else if (o->final_at >= 0)
            failf("queue: job j%lld is in %s and in another list", j, name);
        else if (o->done)
            failf("queue: job j%lld is in %s after its LREM removed it", j, name);
        else if (Q.final_list == 0 && o->to >= 0)
            failf("queue: job j%lld is still in q after it was handed to consumer %d", j, o->to);
        else if (Q.final_list > 0 && o->to >= 0 && o->to != Q.final_list - 1)
            failf("queue: job j%lld handed to consumer %d is in %s", j, o->to, name);
        else if (Q.final_list == 0 || o->to >= 0 ||
                 found_unasked(Q.final_list - 1, j, "in its list at the end"))
            o->final_at = (signed char)Q.final_list;
    }
    Q.final_ok = true;
}

bool queue_reply(struct sclient *s, char kind, const char *text)
{
    int step = s->q_step;
    if (step == Q_IDLE) return false;
    s->q_step = Q_IDLE;
    trace("queue client %d (node %llu): %.*s %.*s %.*s -> %.80s", s->id,
          (unsigned long long)s->node, (int)s->argv[0].len, s->argv[0].ptr, (int)s->argv[1].len,
          s->argv[1].ptr, (int)s->argv[s->argc - 1].len, s->argv[s->argc - 1].ptr, s->raw);
    if (step == Q_PUSH)
        push_reply(s, kind, text);
    else if (step == Q_MOVE)
        move_reply(s, kind, text);
    else if (step == Q_LREM)
        lrem_reply(s, kind, text);
    else if (step == Q_RECOVER)
        recover_reply(s, kind);
    else
        final_reply(s, kind, text);
    return true;
}

/* s's connection went away with its command in flight. */
void queue_reset(struct sclient *s)
{
    int step = s->q_step;
    s->q_step = Q_IDLE;
    if (step != Q_IDLE) trace("queue client %d: connection gone, outcome unknown", s->id);
    if (step == Q_PUSH) {
        job(s->q_job)->push = P_UNKNOWN;
    } else if (step == Q_MOVE) {
        Q.cons[consumer_of(s)].recover = true;
        Q.cons[consumer_of(s)].unsure++;
    } else if (step == Q_LREM) {
        job(s->q_job)->rem_unsure = 1;
    }
}

/* ----------------------------------------------------------- commands */

void queue_start_op(struct sclient *s)
{
    if (s->id == QUEUE_FIRST) { /* the producer */
        if (Q.n_jobs + 1 >= Q.cap_jobs) {
            Q.cap_jobs = 2 * Q.cap_jobs + 256;
            Q.jobs = util_xrealloc(Q.jobs, Q.cap_jobs * sizeof *Q.jobs);
        }
        uint64_t j = ++Q.n_jobs;
        Q.jobs[j] = (struct qjob){.push = P_SENT, .to = -1, .final_at = -1};
        s->q_job = j;
        s->q_step = Q_PUSH;
        s->argc = 3;
        set_arg(s, 0, "LPUSH");
        set_arg(s, 1, "q");
        set_arg(s, 2, "j%llu", (unsigned long long)j);
    } else {
        int c = consumer_of(s);
        struct consumer *k = &Q.cons[c];
        if (k->recover) {
            s->q_step = Q_RECOVER;
            s->argc = 4;
            set_arg(s, 0, "LRANGE");
            set_arg(s, 1, "p%d", c);
            set_arg(s, 2, "0");
            set_arg(s, 3, "-1");
        } else if (k->n_todo) {
            s->q_job = k->todo[0];
            s->q_step = Q_LREM;
            s->argc = 4;
            set_arg(s, 0, "LREM");
            set_arg(s, 1, "p%d", c);
            set_arg(s, 2, "1");
            set_arg(s, 3, "j%llu", (unsigned long long)s->q_job);
        } else { /* blocks 20-400 ms when q is empty */
            s->q_step = Q_MOVE;
            s->argc = 6;
            set_arg(s, 0, "BLMOVE");
            set_arg(s, 1, "q");
            set_arg(s, 2, "p%d", c);
            set_arg(s, 3, "RIGHT");
            set_arg(s, 4, "LEFT");
            set_arg(s, 5, "0.%03u", 20 + w_below(W, 380));
        }
    }
    s->op = OP_QUEUE;
    dispatch(s);
}

/* ----------------------------------------------------------- the end */

void queue_final(struct sclient *s)
{
    for (int list = 0; list < Q_FINAL_LISTS && !R->failed; list++) {
        Q.final_list = list;
        Q.final_ok = false;
        for (int attempt = 0; attempt < 50 && !Q.final_ok && !R->failed; attempt++) {
            char name[16];
            list_name(list, name, sizeof name);
            s->argc = 4;
            set_arg(s, 0, "LRANGE");
            set_arg(s, 1, "%s", name);
            set_arg(s, 2, "0");
            set_arg(s, 3, "-1");
            s->q_step = Q_FINAL;
            s->op = OP_QUEUE;
            if (!run_on_leader(s)) break;
        }
        if (!Q.final_ok && !R->failed) {
            failf("queue: the final read of list %d failed", list);
            return;
        }
    }
    for (uint64_t j = 1; j <= Q.n_jobs && !R->failed; j++) {
        const struct qjob *o = &Q.jobs[j];
        if (o->push == P_OK && o->to < 0 && o->final_at < 0)
            failf("queue: job j%llu, whose push was acknowledged, is lost: never handed out and "
                  "in no list",
                  (unsigned long long)j);
        else if (o->to >= 0 && !o->done && !o->rem_unsure && o->final_at != o->to + 1)
            failf("queue: job j%llu handed to consumer %d is neither removed nor in p%d",
                  (unsigned long long)j, o->to, o->to);
    }
}
