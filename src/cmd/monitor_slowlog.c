/*
 * src/cmd/monitor_slowlog.c - the slow log (see monitor.h): a ring of the last
 * slowlog-max-len calls that took at least slowlog-log-slower-than us,
 * their arguments trimmed and their secrets redacted as Redis 7.0 does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "cmd/monitor.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define REDACTED "(redacted)"

static int arg_is(const struct resp_arg *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

int monitor_arg_secret(int argc, const struct resp_arg *argv, int i)
{
    if (i < 1 || i >= argc) return 0;
    if (arg_is(&argv[0], "auth") || arg_is(&argv[0], "raft.auth")) return 1;
    if (arg_is(&argv[0], "hello")) {
        for (int j = 2; j < argc && j < i; j++)
            if (arg_is(&argv[j], "auth") && (i == j + 1 || i == j + 2)) return 1;
        return 0;
    }
    if (arg_is(&argv[0], "config") && argc >= 2 && arg_is(&argv[1], "set") && i >= 3 &&
        (i - 3) % 2 == 0)
        return arg_is(&argv[i - 1], "requirepass") || arg_is(&argv[i - 1], "raft-secret") ||
               arg_is(&argv[i - 1], "masterauth");
    return 0;
}

static struct resp_arg copy_arg(const char *p, size_t n)
{
    char *b = util_xmalloc(n + 1);
    memcpy(b, p, n);
    b[n] = '\0';
    return (struct resp_arg){b, n};
}

static void entry_free(struct slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++)
        free((void *)e->argv[i].ptr);
    free(e->argv);
    memset(e, 0, sizeof *e);
}

static void entry_fill(struct slowlog_entry *e, int argc, const struct resp_arg *argv)
{
    int n = argc < SLOWLOG_ARGS_MAX ? argc : SLOWLOG_ARGS_MAX;
    e->argc = n;
    e->argv = util_xmalloc((size_t)n * sizeof *e->argv);
    for (int i = 0; i < n; i++) {
        char buf[SLOWLOG_ARG_BYTES_MAX + 64];
        const struct resp_arg *a = &argv[i];
        if (n != argc && i == n - 1) {
            int k = snprintf(buf, sizeof buf, "... (%d more arguments)", argc - n + 1);
            e->argv[i] = copy_arg(buf, (size_t)k);
        } else if (monitor_arg_secret(argc, argv, i)) {
            e->argv[i] = copy_arg(REDACTED, sizeof REDACTED - 1);
        } else if (a->len > SLOWLOG_ARG_BYTES_MAX) {
            int k = snprintf(buf, sizeof buf, "%.*s... (%zu more bytes)", SLOWLOG_ARG_BYTES_MAX,
                             a->ptr, a->len - SLOWLOG_ARG_BYTES_MAX);
            e->argv[i] = copy_arg(buf, (size_t)k);
        } else {
            e->argv[i] = copy_arg(a->ptr, a->len);
        }
    }
}

static void resize_ring(struct monitor *m, size_t cap);

void monitor_slowlog_push(struct monitor *m, int argc, const struct resp_arg *argv,
                          int64_t duration_us, const struct monitor_caller *caller)
{
    if (m->slowlog_max_len <= 0) return;
    size_t max = (size_t)m->slowlog_max_len;
    if (m->slowlog_len == m->slowlog_cap && m->slowlog_cap < max) /* grows as it fills */
        resize_ring(m, 2 * m->slowlog_cap + 8 < max ? 2 * m->slowlog_cap + 8 : max);
    struct slowlog_entry *e = &m->slowlog[m->slowlog_head];
    if (m->slowlog_len == m->slowlog_cap)
        entry_free(e); /* the oldest goes */
    else
        m->slowlog_len++;
    m->slowlog_head = (m->slowlog_head + 1) % m->slowlog_cap;
    e->id = m->slowlog_next_id++;
    e->time_s = clock_ms() / 1000;
    e->duration_us = duration_us;
    entry_fill(e, argc, argv);
    snprintf(e->addr, sizeof e->addr, "%s", caller && caller->addr ? caller->addr : "");
    snprintf(e->name, sizeof e->name, "%s", caller && caller->name ? caller->name : "");
}

const struct slowlog_entry *monitor_slowlog_at(const struct monitor *m, size_t i)
{
    ASSERT(i < m->slowlog_len);
    return &m->slowlog[(m->slowlog_head + m->slowlog_cap - 1 - i) % m->slowlog_cap];
}

void monitor_slowlog_reset(struct monitor *m)
{
    for (size_t i = 0; i < m->slowlog_cap; i++)
        entry_free(&m->slowlog[i]);
    m->slowlog_len = m->slowlog_head = 0;
}

static void resize_ring(struct monitor *m, size_t cap)
{
    size_t keep = m->slowlog_len < cap ? m->slowlog_len : cap;
    struct slowlog_entry *ring = cap ? util_xcalloc(cap, sizeof *ring) : NULL;
    for (size_t i = 0; i < keep; i++) { /* newest first, so they land oldest first */
        ring[keep - 1 - i] = *monitor_slowlog_at(m, i);
        struct slowlog_entry *old =
            &m->slowlog[(m->slowlog_head + m->slowlog_cap - 1 - i) % m->slowlog_cap];
        memset(old, 0, sizeof *old); /* moved */
    }
    monitor_slowlog_reset(m);
    free(m->slowlog);
    m->slowlog = ring;
    m->slowlog_cap = cap;
    m->slowlog_len = keep;
    m->slowlog_head = cap ? keep % cap : 0;
}

void monitor_slowlog_resize(struct monitor *m, long long max_len)
{
    m->slowlog_max_len = max_len;
    size_t max = max_len > 0 ? (size_t)max_len : 0;
    if (m->slowlog_cap > max) resize_ring(m, max);
}
