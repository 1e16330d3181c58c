/*
 * src/sm.c - entry encoding, decoding and application (see sm.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "node.h"
#include "server.h"

#define SM_ARGC_MAX (1024 * 1024) /* the parser's limit: no entry exceeds it */
#define TTL_ARGC_MAX 16           /* longest command cmd_ttl_absolute rewrites */

static void buf_reserve(struct sm_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) return;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap - b->len < extra) ncap *= 2;
    char *n = realloc(b->data, ncap);
    if (!n) abort();
    b->data = n;
    b->cap = ncap;
}

static void put_u32(struct sm_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) b->data[b->len++] = (char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sm_init(struct sm *sm)
{
    memset(sm, 0, sizeof *sm);
    resp_out_init(&sm->sink, 2);
}

void sm_free(struct sm *sm)
{
    free(sm->scratch.data);
    free(sm->argv);
    resp_out_free(&sm->sink);
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

void sm_entry_add(struct sm_buf *b, int argc, const struct resp_arg *argv)
{
    size_t bytes = 4;
    for (int i = 0; i < argc; i++) bytes += 4 + argv[i].len;
    buf_reserve(b, bytes);
    put_u32(b, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        put_u32(b, (uint32_t)argv[i].len);
        memcpy(b->data + b->len, argv[i].ptr, argv[i].len);
        b->len += argv[i].len;
    }
    uint32_t n = get_u32((unsigned char *)b->data + 10) + 1;
    for (int i = 0; i < 4; i++) b->data[10 + i] = (char)(n >> (8 * i));
}

/* Decodes the command at *off into sm->argv; returns argc or -1. */
static int decode_cmd(struct sm *sm, const unsigned char *p, size_t len, size_t *off)
{
    if (len - *off < 4) return -1;
    uint32_t argc = get_u32(p + *off);
    *off += 4;
    if (argc == 0 || argc > SM_ARGC_MAX || argc > (len - *off) / 4) return -1;
    if (argc > sm->argv_cap) {
        struct resp_arg *n = realloc(sm->argv, argc * sizeof *n);
        if (!n) abort();
        sm->argv = n;
        sm->argv_cap = argc;
    }
    for (uint32_t i = 0; i < argc; i++) {
        if (len - *off < 4) return -1;
        uint32_t alen = get_u32(p + *off);
        *off += 4;
        if (alen > len - *off) return -1;
        sm->argv[i].ptr = (const char *)p + *off;
        sm->argv[i].len = alen;
        *off += alen;
    }
    return (int)argc;
}

/* Runs one decoded command of an entry. Non-write commands queued in a
 * transaction only produce a reply, so they are skipped where no client
 * waits; a write always runs. */
static void apply_cmd(struct server *srv, struct client *c, int argc, const struct resp_arg *argv,
                      int64_t ts, struct resp_out *out)
{
    const struct command *cmd = dispatch_resolve(argc, argv, out);
    if (!cmd) return;
    if (!(cmd->flags & CMD_WRITE) && !c) return;
    dispatch_call(srv, c, cmd, argc, argv, ts, out);
}

static int apply_decoded(struct server *srv, struct client *c, int type, int64_t ts,
                         uint32_t ncmds, const unsigned char *p, size_t len,
                         struct resp_out *out)
{
    struct sm *sm = &srv->sm;
    size_t off = SM_ENTRY_HEADER_LEN;
    if (type == SM_ENTRY_MULTI) resp_add_array_len(out, (long)ncmds);
    for (uint32_t i = 0; i < ncmds; i++) {
        int argc = decode_cmd(sm, p, len, &off);
        if (argc < 0) return -1;
        if (type == SM_ENTRY_EXPIRE) {
            for (int k = 0; k < argc; k++)
                kv_delete_if_expired(&srv->kv, sm->argv[k].ptr, sm->argv[k].len, ts);
        } else {
            apply_cmd(srv, c, argc, sm->argv, ts, out);
        }
    }
    return off == len ? 0 : -1;
}

/* Checks the whole entry before anything is applied: a corrupt entry must
 * not be half-applied. */
static int validate(struct sm *sm, const unsigned char *p, size_t len, uint32_t ncmds)
{
    size_t off = SM_ENTRY_HEADER_LEN;
    for (uint32_t i = 0; i < ncmds; i++)
        if (decode_cmd(sm, p, len, &off) < 0) return -1;
    return off == len ? 0 : -1;
}

static int apply_entry(struct server *srv, struct client *c, const char *data, size_t len,
                       struct resp_out *out, char *err, size_t errlen)
{
    const unsigned char *p = (const unsigned char *)data;
    if (len < SM_ENTRY_HEADER_LEN || p[0] != SM_ENTRY_VERSION || p[1] > SM_ENTRY_EXPIRE) {
        snprintf(err, errlen, "malformed entry header (len %zu)", len);
        return -1;
    }
    int64_t ts = (int64_t)((uint64_t)get_u32(p + 2) | (uint64_t)get_u32(p + 6) << 32);
    uint32_t ncmds = get_u32(p + 10);
    if (validate(&srv->sm, p, len, ncmds) < 0) {
        snprintf(err, errlen, "malformed entry body (len %zu, %u commands)", len, ncmds);
        return -1;
    }
    struct resp_out *dst = out ? out : &srv->sm.sink;
    apply_decoded(srv, c, p[1], ts, ncmds, p, len, dst);
    if (!out) resp_out_clear(&srv->sm.sink);
    srv->sm.applied_entries++;
    return 0;
}

int sm_apply_for(struct server *srv, struct client *c, const char *data, size_t len,
                 struct resp_out *out, char *err, size_t errlen)
{
    return apply_entry(srv, c, data, len, out, err, errlen);
}

/* Hands the built entry to the log; the reply comes when it is applied. */
static void submit(struct server *srv, struct client *c)
{
    node_propose(srv, c, srv->sm.scratch.data, srv->sm.scratch.len);
}

/* Adds argv to the entry, with relative TTLs made absolute at now. Commands
 * that carry a TTL are short; longer argv cannot be one of them. */
static void add_absolute(struct sm_buf *b, const struct command *cmd, int argc,
                         const struct resp_arg *argv, int64_t now)
{
    struct resp_arg abs_argv[TTL_ARGC_MAX + 2];
    char scratch[64];
    int nargc = 0;
    if (cmd && argc <= TTL_ARGC_MAX)
        nargc = cmd_ttl_absolute(cmd, argc, argv, now, abs_argv, scratch, sizeof scratch);
    if (nargc > 0) sm_entry_add(b, nargc, abs_argv);
    else sm_entry_add(b, argc, argv);
}

void sm_submit_command(struct server *srv, struct client *c, const struct command *cmd,
                       int argc, const struct resp_arg *argv)
{
    int64_t now = server_now_ms();
    struct sm_buf *b = &srv->sm.scratch;
    sm_entry_begin(b, SM_ENTRY_COMMAND, now);
    add_absolute(b, cmd, argc, argv, now);
    submit(srv, c);
}

void sm_submit_multi(struct server *srv, struct client *c)
{
    int64_t now = server_now_ms();
    struct sm_buf *b = &srv->sm.scratch;
    sm_entry_begin(b, SM_ENTRY_MULTI, now);
    for (int i = 0; i < c->mstate.count; i++) {
        const struct multi_cmd *q = &c->mstate.cmds[i];
        const struct command *parent;
        add_absolute(b, cmd_lookup(q->argv, q->argc, &parent), q->argc, q->argv, now);
    }
    submit(srv, c);
}

void sm_submit_expire(struct server *srv, int nkeys, const struct resp_arg *keys)
{
    struct sm_buf *b = &srv->sm.scratch;
    sm_entry_begin(b, SM_ENTRY_EXPIRE, server_now_ms());
    sm_entry_add(b, nkeys, keys);
    submit(srv, NULL);
}
