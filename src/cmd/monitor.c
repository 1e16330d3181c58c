/*
 * src/cmd/monitor.c - per-command counters and histograms, error counts and the
 * latency monitor's events (see monitor.h); the slow log is in
 * src/cmd/monitor_slowlog.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "config/config.h"
#include "cmd/monitor.h"
#include "base/util.h"
#include "raft/raft_assert.h"

/* ---------------------------------------------------------- histograms */

static int hist_index(uint64_t ns)
{
    if (ns < 16) return (int)ns;
    int e = 63 - __builtin_clzll(ns);
    if (e >= MONITOR_HIST_EXP_MAX) return MONITOR_HIST_BUCKETS - 1;
    return 16 + (e - 4) * 16 + (int)((ns >> (e - 4)) & 15);
}

/* The highest value bucket idx holds. */
static uint64_t hist_upper(int idx)
{
    if (idx < 16) return (uint64_t)idx;
    int e = (idx - 16) / 16 + 4, sub = (idx - 16) % 16;
    uint64_t lower = (uint64_t)(16 + sub) << (e - 4);
    return lower + (1ULL << (e - 4)) - 1;
}

void monitor_hist_record(struct monitor_hist *h, uint64_t ns)
{
    h->counts[hist_index(ns)]++;
    h->total++;
}

uint64_t monitor_hist_percentile(const struct monitor_hist *h, double p)
{
    if (h->total == 0) return 0;
    double want = p / 100.0 * (double)h->total;
    uint64_t target = (uint64_t)want;
    if ((double)target < want) target++;
    if (target == 0) target = 1;
    uint64_t seen = 0;
    for (int i = 0; i < MONITOR_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= target) return hist_upper(i);
    }
    return hist_upper(MONITOR_HIST_BUCKETS - 1);
}

uint64_t monitor_hist_below_pow2(const struct monitor_hist *h, int exp)
{
    int end = exp <= 4 ? 1 << (exp < 0 ? 0 : exp) : 16 + (exp - 4) * 16;
    if (end > MONITOR_HIST_BUCKETS) end = MONITOR_HIST_BUCKETS;
    uint64_t n = 0;
    for (int i = 0; i < end; i++)
        n += h->counts[i];
    return n;
}

/* ------------------------------------------------------------ lifecycle */

void monitor_init(struct monitor *m, int ncmds)
{
    memset(m, 0, sizeof *m);
    m->cmds = util_xcalloc((size_t)ncmds, sizeof *m->cmds);
    m->ncmds = ncmds;
    m->slower_than_us = -1; /* off until monitor_configure() */
}

void monitor_configure(struct monitor *m, const struct config *c)
{
    m->slower_than_us = c->slowlog_log_slower_than;
    monitor_slowlog_resize(m, c->slowlog_max_len);
    m->threshold_ms = c->latency_monitor_threshold;
    m->tracking = c->latency_tracking;
}

static void free_hists(struct monitor *m)
{
    for (int i = 0; i < m->ncmds; i++) {
        free(m->cmds[i].hist);
        m->cmds[i].hist = NULL;
    }
}

void monitor_free(struct monitor *m)
{
    monitor_slowlog_reset(m);
    free(m->slowlog);
    free_hists(m);
    free(m->cmds);
    memset(m, 0, sizeof *m);
}

void monitor_reset_stats(struct monitor *m)
{
    free_hists(m);
    memset(m->cmds, 0, (size_t)m->ncmds * sizeof *m->cmds);
    m->nerrors = 0;
    m->total_error_replies = 0;
}

/* --------------------------------------------------------------- calls */

void monitor_call(struct monitor *m, int id, unsigned flags, int argc, const struct resp_arg *argv,
                  int64_t duration_us, const struct monitor_caller *caller)
{
    ASSERT(id >= 0 && id < m->ncmds);
    struct cmd_stats *st = &m->cmds[id];
    if (duration_us < 0) duration_us = 0;
    st->usec += (uint64_t)duration_us;
    if (flags & MONITOR_FAILED) st->failed_calls++;
    if (flags & MONITOR_BLOCKED) return; /* counted when it is served, as Redis */
    st->calls++;
    if (m->tracking) {
        if (!st->hist) st->hist = util_xcalloc(1, sizeof *st->hist);
        monitor_hist_record(st->hist, (uint64_t)duration_us * 1000);
    }
    if (m->slower_than_us >= 0 && duration_us >= m->slower_than_us && !(flags & MONITOR_NO_SLOWLOG))
        monitor_slowlog_push(m, argc, argv, duration_us, caller);
    if (m->threshold_ms > 0 && duration_us / 1000 >= m->threshold_ms)
        monitor_event(m, (flags & MONITOR_FAST) ? "fast-command" : "command", duration_us / 1000);
}

void monitor_rejected(struct monitor *m, int id)
{
    ASSERT(id >= 0 && id < m->ncmds);
    m->cmds[id].rejected_calls++;
}

/* -------------------------------------------------------------- errors */

void monitor_error(struct monitor *m, const char *msg, size_t len)
{
    m->total_error_replies++;
    const char *sp = memchr(msg, ' ', len < MONITOR_ERROR_CODE_MAX ? len : MONITOR_ERROR_CODE_MAX);
    const char *code = sp ? msg : "ERR";
    size_t n = sp ? (size_t)(sp - msg) : 3;
    /* errors[] is sorted by code (INFO lists them in that order). */
    int lo = 0, hi = m->nerrors;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strncmp(m->errors[mid].code, code, n);
        if (c == 0 && m->errors[mid].code[n] != '\0') c = 1;
        if (c == 0) {
            m->errors[mid].count++;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (m->nerrors == MONITOR_ERROR_CODES_MAX) return; /* as Redis: no new codes past it */
    memmove(&m->errors[lo + 1], &m->errors[lo], (size_t)(m->nerrors - lo) * sizeof m->errors[0]);
    memcpy(m->errors[lo].code, code, n);
    m->errors[lo].code[n] = '\0';
    m->errors[lo].count = 1;
    m->nerrors++;
}

void monitor_error_hook(void *ud, const char *msg, size_t len)
{
    monitor_error(ud, msg, len);
}

/* -------------------------------------------------------------- events */

const struct monitor_event *monitor_event_find(const struct monitor *m, const char *name,
                                               size_t len)
{
    for (int i = 0; i < MONITOR_EVENTS_MAX; i++) {
        const struct monitor_event *e = &m->events[i];
        if (e->name[0] && strlen(e->name) == len && memcmp(e->name, name, len) == 0) return e;
    }
    return NULL;
}

const struct monitor_sample *monitor_event_latest(const struct monitor_event *e)
{
    return &e->samples[(e->next + MONITOR_SAMPLES - 1) % MONITOR_SAMPLES];
}

void monitor_event(struct monitor *m, const char *name, int64_t ms)
{
    if (m->threshold_ms <= 0 || ms < m->threshold_ms) return;
    size_t len = strlen(name);
    ASSERT(len < MONITOR_EVENT_NAME_MAX);
    struct monitor_event *e = (struct monitor_event *)monitor_event_find(m, name, len);
    for (int i = 0; !e && i < MONITOR_EVENTS_MAX; i++)
        if (!m->events[i].name[0]) {
            e = &m->events[i];
            memset(e, 0, sizeof *e);
            memcpy(e->name, name, len + 1);
        }
    if (!e) return; /* more event kinds than slots: a programmer error caught in tests */
    uint32_t v = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    int64_t now = clock_ms() / 1000;
    struct monitor_sample *last = &e->samples[(e->next + MONITOR_SAMPLES - 1) % MONITOR_SAMPLES];
    if (last->time_s == now) {
        if (v > last->ms) last->ms = v; /* one sample a second: its worst */
    } else {
        e->samples[e->next] = (struct monitor_sample){now, v};
        e->next = (e->next + 1) % MONITOR_SAMPLES;
    }
    if (v > e->max_ms) e->max_ms = v;
}

int monitor_events_reset(struct monitor *m, int n, const struct resp_arg *names)
{
    int done = 0;
    for (int i = 0; i < MONITOR_EVENTS_MAX; i++) {
        struct monitor_event *e = &m->events[i];
        if (!e->name[0]) continue;
        int hit = names == NULL;
        for (int j = 0; !hit && j < n; j++)
            hit = strlen(e->name) == names[j].len &&
                  strncasecmp(e->name, names[j].ptr, names[j].len) == 0;
        if (!hit) continue;
        memset(e, 0, sizeof *e);
        done++;
    }
    return done;
}
