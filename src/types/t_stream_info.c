/*
 * src/types/t_stream_info.c - XINFO STREAM, GROUPS, CONSUMERS and HELP (Redis
 * 7.0 replies).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "types/t_stream.h"
#include "types/t_stream_int.h"
#include "base/util.h"

/* --- XINFO STREAM --- */

static void reply_entries_read(struct resp_out *o, const struct stream *s,
                               const struct stream_group *g)
{
    resp_add_bulk_cstr(o, "entries-read");
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID)
        resp_add_int(o, g->entries_read);
    else
        resp_add_null(o);
    resp_add_bulk_cstr(o, "lag");
    long long lag = t_stream_group_lag(s, g);
    if (lag >= 0)
        resp_add_int(o, lag);
    else
        resp_add_null(o);
}

/* A PEL's first count entries (0: all): [id, consumer, time, count] for
 * the group's (with_consumer), [id, time, count] for a consumer's. */
static void reply_pel(struct resp_out *o, const struct zbt *pel, size_t count, int with_consumer)
{
    struct stream_pel_pos p;
    struct stream_nack *n;
    struct stream_id id;
    long len = 0;
    resp_deferred d = resp_add_deferred(o);
    t_stream_pel_seek(pel, STREAM_ID_MIN, &p);
    while ((!count || (size_t)len < count) && (n = t_stream_pel_next(&p, &id))) {
        resp_add_array_len(o, with_consumer ? 4 : 3);
        stream_reply_id(o, id);
        if (with_consumer) resp_add_bulk(o, n->consumer->name, n->consumer->name_len);
        resp_add_int(o, n->delivery_time);
        resp_add_int(o, (long long)n->delivery_count);
        len++;
    }
    resp_set_deferred_array_len(o, d, len);
}

/* XINFO STREAM FULL's groups, with their PELs and consumers. */
static void reply_groups_full(struct resp_out *o, const struct stream *s, size_t count)
{
    size_t ng;
    struct stream_group **gs = t_stream_group_list(s, &ng);
    resp_add_array_len(o, (long)ng);
    for (size_t i = 0; i < ng; i++) {
        const struct stream_group *g = gs[i];
        resp_add_map_len(o, 7);
        resp_add_bulk_cstr(o, "name");
        resp_add_bulk(o, g->name, g->name_len);
        resp_add_bulk_cstr(o, "last-delivered-id");
        stream_reply_id(o, g->last_id);
        reply_entries_read(o, s, g);
        resp_add_bulk_cstr(o, "pel-count");
        resp_add_int(o, (long long)zbt_len(&g->pel_order));
        resp_add_bulk_cstr(o, "pending");
        reply_pel(o, &g->pel_order, count, 1);
        size_t nc;
        struct stream_consumer **cs = t_stream_consumer_list(g, &nc);
        resp_add_bulk_cstr(o, "consumers");
        resp_add_array_len(o, (long)nc);
        for (size_t j = 0; j < nc; j++) {
            resp_add_map_len(o, 4);
            resp_add_bulk_cstr(o, "name");
            resp_add_bulk(o, cs[j]->name, cs[j]->name_len);
            resp_add_bulk_cstr(o, "seen-time");
            resp_add_int(o, cs[j]->seen_time);
            resp_add_bulk_cstr(o, "pel-count");
            resp_add_int(o, (long long)zbt_len(&cs[j]->pel));
            resp_add_bulk_cstr(o, "pending");
            reply_pel(o, &cs[j]->pel, count, 0);
        }
        free(cs);
    }
    free(gs);
}

static void reply_edge(struct resp_out *o, const struct stream *s, int last)
{
    struct stream_iter it;
    struct stream_id id;
    size_t nf;
    t_stream_iter_start(&it, s, STREAM_ID_MIN, STREAM_ID_MAX, last);
    if (t_stream_iter_next(&it, &id, &nf))
        stream_reply_entry(o, &it, id, nf);
    else
        resp_add_null(o);
}

void cmd_xinfo_stream(struct cmd_ctx *c)
{
    int full = 0;
    long long count = 10;
    int optc = c->argc - 3;
    int wrong;
    struct stream *s = stream_lookup_read(c, &c->argv[2], &wrong);
    if (wrong) return;
    if (!s) {
        resp_add_error(c->out, "ERR no such key");
        return;
    }
    if (optc > 0) {
        if ((optc != 1 && optc != 3) || !cmd_arg_is(&c->argv[3], "full") ||
            (optc == 3 && !cmd_arg_is(&c->argv[4], "count"))) {
            resp_add_errorf(c->out,
                            "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                            "XINFO HELP.",
                            (int)c->argv[1].len, c->argv[1].ptr);
            return;
        }
        full = 1;
        if (optc == 3 && cmd_arg_ll(c, 5, &count) < 0) return;
        if (count < 0) count = 10;
    }
    struct stream_meta m;
    t_stream_meta(s, &m);
    struct resp_out *o = c->out;
    resp_add_map_len(o, full ? 9 : 10);
    resp_add_bulk_cstr(o, "length");
    resp_add_int(o, (long long)t_stream_len(s));
    resp_add_bulk_cstr(o, "radix-tree-keys");
    resp_add_int(o, (long long)t_stream_nodes(s));
    resp_add_bulk_cstr(o, "radix-tree-nodes");
    resp_add_int(o, (long long)t_stream_nodes(s));
    resp_add_bulk_cstr(o, "last-generated-id");
    stream_reply_id(o, m.last_id);
    resp_add_bulk_cstr(o, "max-deleted-entry-id");
    stream_reply_id(o, m.max_deleted_id);
    resp_add_bulk_cstr(o, "entries-added");
    resp_add_int(o, (long long)m.entries_added);
    resp_add_bulk_cstr(o, "recorded-first-entry-id");
    stream_reply_id(o, m.first_id);
    if (!full) {
        resp_add_bulk_cstr(o, "groups");
        resp_add_int(o, (long long)t_stream_group_count(s));
        resp_add_bulk_cstr(o, "first-entry");
        reply_edge(o, s, 0);
        resp_add_bulk_cstr(o, "last-entry");
        reply_edge(o, s, 1);
        return;
    }
    resp_add_bulk_cstr(o, "entries");
    stream_reply_range(o, s, STREAM_ID_MIN, STREAM_ID_MAX, (size_t)count, 0);
    resp_add_bulk_cstr(o, "groups");
    reply_groups_full(o, s, (size_t)count);
}

/* --- XINFO GROUPS / CONSUMERS --- */

/* The stream at argv[2] for XINFO: NULL after replying (no such key,
 * WRONGTYPE). */
static struct stream *info_stream(struct cmd_ctx *c)
{
    int wrong;
    struct stream *s = stream_lookup_read(c, &c->argv[2], &wrong);
    if (!s && !wrong) resp_add_error(c->out, "ERR no such key");
    return s;
}

void cmd_xinfo_groups(struct cmd_ctx *c)
{
    struct stream *s = info_stream(c);
    if (!s) return;
    struct resp_out *o = c->out;
    size_t ng;
    struct stream_group **gs = t_stream_group_list(s, &ng);
    resp_add_array_len(o, (long)ng);
    for (size_t i = 0; i < ng; i++) {
        const struct stream_group *g = gs[i];
        resp_add_map_len(o, 6);
        resp_add_bulk_cstr(o, "name");
        resp_add_bulk(o, g->name, g->name_len);
        resp_add_bulk_cstr(o, "consumers");
        resp_add_int(o, (long long)dict_size(&g->consumers));
        resp_add_bulk_cstr(o, "pending");
        resp_add_int(o, (long long)zbt_len(&g->pel_order));
        resp_add_bulk_cstr(o, "last-delivered-id");
        stream_reply_id(o, g->last_id);
        reply_entries_read(o, s, g);
    }
    free(gs);
}

void cmd_xinfo_consumers(struct cmd_ctx *c)
{
    struct stream *s = info_stream(c);
    if (!s) return;
    const struct resp_arg *name = &c->argv[3], *key = &c->argv[2];
    struct stream_group *g = t_stream_group(s, name->ptr, name->len);
    if (!g) {
        resp_add_errorf(c->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                        (int)name->len, name->ptr, (int)key->len, key->ptr);
        return;
    }
    size_t nc;
    struct stream_consumer **cs = t_stream_consumer_list(g, &nc);
    resp_add_array_len(c->out, (long)nc);
    for (size_t j = 0; j < nc; j++) {
        int64_t idle = c->now_ms - cs[j]->seen_time;
        resp_add_map_len(c->out, 3);
        resp_add_bulk_cstr(c->out, "name");
        resp_add_bulk(c->out, cs[j]->name, cs[j]->name_len);
        resp_add_bulk_cstr(c->out, "pending");
        resp_add_int(c->out, (long long)zbt_len(&cs[j]->pel));
        resp_add_bulk_cstr(c->out, "idle");
        resp_add_int(c->out, idle < 0 ? 0 : idle);
    }
    free(cs);
}

void cmd_xinfo_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
