/*
 * src/server/monitors.c - MONITOR's clients and lines (see monitors.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/client.h"
#include "base/clock.h"
#include "cmd/cmd.h"
#include "cmd/monitor.h"
#include "server/monitors.h"
#include "base/util.h"

void monitors_init(struct monitors *m)
{
    memset(m, 0, sizeof *m);
}

void monitors_free(struct monitors *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}

int monitors_add(struct monitors *m, struct client *c)
{
    if (c->flags & CLIENT_MONITOR) return 0;
    if (m->n == MONITORS_MAX) return -1;
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 4;
        m->v = util_xrealloc(m->v, m->cap * sizeof *m->v);
    }
    m->v[m->n++] = c;
    c->flags |= CLIENT_MONITOR;
    return 0;
}

void monitors_remove(struct monitors *m, struct client *c)
{
    if (!(c->flags & CLIENT_MONITOR)) return;
    c->flags &= ~CLIENT_MONITOR;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i] != c) continue;
        memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof *m->v);
        m->n--;
        return;
    }
}

int monitors_skips(const struct command *cmd)
{
    return (cmd->flags & CMD_ADMIN) != 0;
}

/* Appends n bytes to the line being built (grown as needed). */
struct line {
    char *p;
    size_t len, cap;
};

static void put(struct line *l, const void *s, size_t n)
{
    if (l->cap - l->len < n) {
        while (l->cap - l->len < n)
            l->cap = l->cap ? 2 * l->cap : 256;
        l->p = util_xrealloc(l->p, l->cap);
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

/* s quoted as Redis's sdscatrepr: "\\", "\"", \n \r \t \a \b, printable
 * bytes as they are, any other as \xHH. */
static void put_repr(struct line *l, const char *s, size_t n)
{
    put(l, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[5];
        const char *e = NULL;
        switch (ch) {
        case '\\':
            e = "\\\\";
            break;
        case '"':
            e = "\\\"";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\a':
            e = "\\a";
            break;
        case '\b':
            e = "\\b";
            break;
        default:
            if (isprint(ch)) {
                put(l, &s[i], 1);
                continue;
            }
            snprintf(esc, sizeof esc, "\\x%02x", ch);
            e = esc;
        }
        put(l, e, strlen(e));
    }
    put(l, "\"", 1);
}

void monitors_feed(struct monitors *m, const struct client *src, int argc,
                   const struct resp_arg *argv)
{
    if (m->n == 0 || argc < 1) return;
    struct line l = {0};
    char head[128];
    int64_t us = clock_us();
    int n = snprintf(head, sizeof head, "+%lld.%06lld [%d %s] ", (long long)(us / 1000000),
                     (long long)(us % 1000000), src ? src->db : 0, src ? src->addr : "lua");
    put(&l, head, (size_t)n);
    for (int i = 0; i < argc; i++) {
        if (i) put(&l, " ", 1);
        if (monitor_arg_secret(argc, argv, i))
            put(&l, "\"(redacted)\"", 12);
        else
            put_repr(&l, argv[i].ptr, argv[i].len);
    }
    put(&l, "\r\n", 2);
    for (size_t i = 0; i < m->n; i++) {
        struct client *mc = m->v[i];
        resp_add_raw(&mc->out, l.p, l.len);
        client_mark_pending(mc);
    }
    free(l.p);
}
