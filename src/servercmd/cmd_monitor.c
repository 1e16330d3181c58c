/*
 * src/servercmd/cmd_monitor.c - SLOWLOG and LATENCY: what src/cmd/monitor.h keeps, in
 * Redis 7.0's replies (the latency monitor's events are listed there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "cmd/cmd.h"
#include "servercmd/cmd_monitor.h"
#include "base/info.h"
#include "cmd/monitor.h"
#include "server/server.h"
#include "base/util.h"
#include "cmd/cmdarg.h"

#define SLOWLOG_GET_DEFAULT 10

/* ------------------------------------------------------------- SLOWLOG */

void cmd_slowlog_get(struct cmd_ctx *c)
{
    const struct monitor *m = &c->srv->monitor;
    long long count = SLOWLOG_GET_DEFAULT;
    if (c->argc == 3 && (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < -1)) {
        resp_add_error(c->out, "ERR count should be greater than or equal to -1");
        return;
    }
    size_t n = m->slowlog_len;
    if (count >= 0 && (size_t)count < n) n = (size_t)count;
    resp_add_array_len(c->out, (long)n);
    for (size_t i = 0; i < n; i++) {
        const struct slowlog_entry *e = monitor_slowlog_at(m, i);
        resp_add_array_len(c->out, 6);
        resp_add_int(c->out, (long long)e->id);
        resp_add_int(c->out, e->time_s);
        resp_add_int(c->out, e->duration_us);
        resp_add_array_len(c->out, e->argc);
        for (int j = 0; j < e->argc; j++)
            resp_add_bulk(c->out, e->argv[j].ptr, e->argv[j].len);
        resp_add_bulk_cstr(c->out, e->addr);
        resp_add_bulk_cstr(c->out, e->name);
    }
}

void cmd_slowlog_len(struct cmd_ctx *c)
{
    resp_add_int(c->out, (long long)c->srv->monitor.slowlog_len);
}

void cmd_slowlog_reset(struct cmd_ctx *c)
{
    monitor_slowlog_reset(&c->srv->monitor);
    resp_add_simple(c->out, "OK");
}

void cmd_slowlog_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

/* ------------------------------------------------------------- LATENCY */

/* The samples of e, oldest first, through fn. */
static size_t each_sample(const struct monitor_event *e,
                          void (*fn)(void *ud, const struct monitor_sample *s), void *ud)
{
    size_t n = 0;
    for (int i = 0; i < MONITOR_SAMPLES; i++) {
        const struct monitor_sample *s = &e->samples[(e->next + i) % MONITOR_SAMPLES];
        if (s->time_s == 0) continue;
        if (fn) fn(ud, s);
        n++;
    }
    return n;
}

static void add_sample(void *ud, const struct monitor_sample *s)
{
    struct resp_out *out = ud;
    resp_add_array_len(out, 2);
    resp_add_int(out, s->time_s);
    resp_add_int(out, s->ms);
}

void cmd_latency_latest(struct cmd_ctx *c)
{
    const struct monitor *m = &c->srv->monitor;
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int i = 0; i < MONITOR_EVENTS_MAX; i++) {
        const struct monitor_event *e = &m->events[i];
        if (!e->name[0]) continue;
        const struct monitor_sample *s = monitor_event_latest(e);
        resp_add_array_len(c->out, 4);
        resp_add_bulk_cstr(c->out, e->name);
        resp_add_int(c->out, s->time_s);
        resp_add_int(c->out, s->ms);
        resp_add_int(c->out, e->max_ms);
        n++;
    }
    resp_set_deferred_array_len(c->out, d, n);
}

void cmd_latency_history(struct cmd_ctx *c)
{
    const struct monitor_event *e =
        monitor_event_find(&c->srv->monitor, c->argv[2].ptr, c->argv[2].len);
    if (!e) {
        resp_add_array_len(c->out, 0);
        return;
    }
    resp_add_array_len(c->out, (long)each_sample(e, NULL, NULL));
    each_sample(e, add_sample, c->out);
}

void cmd_latency_reset(struct cmd_ctx *c)
{
    struct monitor *m = &c->srv->monitor;
    int n = c->argc == 2 ? monitor_events_reset(m, 0, NULL)
                         : monitor_events_reset(m, c->argc - 2, c->argv + 2);
    resp_add_int(c->out, n);
}

struct graph {
    struct info_text *t;
    int64_t now_s;
    uint32_t high;
};

#define GRAPH_WIDTH 50

static void graph_row(void *ud, const struct monitor_sample *s)
{
    struct graph *g = ud;
    int bar = g->high ? (int)((uint64_t)s->ms * GRAPH_WIDTH / g->high) : 0;
    char hashes[GRAPH_WIDTH + 1];
    memset(hashes, '#', (size_t)bar);
    hashes[bar] = '\0';
    info_addf(g->t, "%6llds ago |%-*s %u ms\n", (long long)(g->now_s - s->time_s), GRAPH_WIDTH,
              hashes, s->ms);
}

static void range(void *ud, const struct monitor_sample *s)
{
    uint32_t *lh = ud;
    if (s->ms < lh[0]) lh[0] = s->ms;
    if (s->ms > lh[1]) lh[1] = s->ms;
}

/* One line a sample, oldest first: how long ago, a bar scaled to the
 * highest sample, the value. */
void cmd_latency_graph(struct cmd_ctx *c)
{
    const struct monitor_event *e =
        monitor_event_find(&c->srv->monitor, c->argv[2].ptr, c->argv[2].len);
    if (!e) {
        int n = c->argv[2].len > 64 ? 64 : (int)c->argv[2].len;
        resp_add_errorf(c->out, "ERR No samples available for event '%.*s'", n, c->argv[2].ptr);
        return;
    }
    uint32_t lh[2] = {UINT32_MAX, 0};
    each_sample(e, range, lh);
    struct info_text t = {0};
    info_addf(&t, "%s - high %u ms, low %u ms (all time high %u ms)\n", e->name, lh[1], lh[0],
              e->max_ms);
    struct graph g = {&t, clock_ms() / 1000, lh[1]};
    each_sample(e, graph_row, &g);
    resp_add_verbatim(c->out, t.p, t.len, "txt");
    free(t.p);
}

/* What an operator can do about each event, for DOCTOR. */
static const char *advice(const char *event)
{
    if (!strcmp(event, "raft-fsync"))
        return "the disk holding dir is slow to sync: a write waits for it on a majority; a "
               "faster disk (or raft-log-fsync no, giving up durability) shortens it";
    if (!strcmp(event, "expire-cycle")) return "many keys expire at once: spread their TTLs";
    if (!strcmp(event, "command") || !strcmp(event, "fast-command"))
        return "slow commands: SLOWLOG GET names them; avoid O(N) commands on large values "
               "(KEYS, SMEMBERS, LRANGE 0 -1, ...)";
    return "no advice for this event";
}

struct stats {
    uint64_t n, sum;
    int64_t first, last;
};

static void accumulate(void *ud, const struct monitor_sample *s)
{
    struct stats *st = ud;
    if (st->n == 0) st->first = s->time_s;
    st->last = s->time_s;
    st->n++;
    st->sum += s->ms;
}

void cmd_latency_doctor(struct cmd_ctx *c)
{
    const struct monitor *m = &c->srv->monitor;
    struct info_text t = {0};
    int events = 0;
    for (int i = 0; i < MONITOR_EVENTS_MAX; i++) {
        const struct monitor_event *e = &m->events[i];
        if (!e->name[0]) continue;
        struct stats st = {0};
        each_sample(e, accumulate, &st);
        if (events++ == 0) info_addf(&t, "Latency spikes were observed on this node:\n\n");
        info_addf(&t,
                  "%d. %s: %llu latency spikes (average %llums, over %llds). Worst all time "
                  "event %ums.\n   Advice: %s.\n",
                  events, e->name, (unsigned long long)st.n,
                  (unsigned long long)(st.n ? st.sum / st.n : 0), (long long)(st.last - st.first),
                  e->max_ms, advice(e->name));
    }
    if (events == 0 && m->threshold_ms <= 0)
        info_addf(&t, "The latency monitor is off on this node: CONFIG SET "
                      "latency-monitor-threshold <milliseconds> turns it on.\n");
    else if (events == 0)
        info_addf(&t, "No latency spike of %lld ms or more was observed on this node.\n",
                  m->threshold_ms);
    resp_add_verbatim(c->out, t.p, t.len, "txt");
    free(t.p);
}

/* One command's histogram: calls and cumulative counts below powers of two
 * of nanoseconds from 1024 (labelled in us), as Redis's LATENCY HISTOGRAM. */
static void add_histogram(struct resp_out *out, const char *name, const struct cmd_stats *st)
{
    const struct monitor_hist *h = st->hist;
    resp_add_bulk_cstr(out, name);
    resp_add_map_len(out, 2);
    resp_add_bulk_cstr(out, "calls");
    resp_add_int(out, (long long)st->calls);
    resp_add_bulk_cstr(out, "histogram_usec");
    resp_deferred d = resp_add_deferred(out);
    long n = 0;
    uint64_t prev = 0;
    for (int exp = 10; exp <= MONITOR_HIST_EXP_MAX && prev < h->total; exp++) {
        uint64_t cum = exp == MONITOR_HIST_EXP_MAX ? h->total : monitor_hist_below_pow2(h, exp);
        if (cum == prev) continue;
        resp_add_int(out, (long long)((1ULL << exp) / 1000));
        resp_add_int(out, (long long)cum);
        prev = cum;
        n++;
    }
    resp_set_deferred_map_len(out, d, n);
}

/* 1 if name (len bytes) selects command id: its name, or its container's. */
static int selects(const char *name, size_t len, const char *cmd)
{
    size_t n = strlen(cmd);
    if (n == len && strncasecmp(cmd, name, len) == 0) return 1;
    return n > len && cmd[len] == '|' && strncasecmp(cmd, name, len) == 0;
}

void cmd_latency_histogram(struct cmd_ctx *c)
{
    const struct monitor *m = &c->srv->monitor;
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int id = 0; id < m->ncmds; id++) {
        const struct cmd_stats *st = &m->cmds[id];
        if (!st->hist || !st->hist->total) continue;
        const char *name = cmd_by_id(id)->name;
        int want = c->argc == 2;
        for (int i = 2; !want && i < c->argc; i++)
            want = selects(c->argv[i].ptr, c->argv[i].len, name);
        if (!want) continue;
        add_histogram(c->out, name, st);
        n++;
    }
    resp_set_deferred_map_len(c->out, d, n);
}

void cmd_latency_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the "
        "specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
