/*
 * src/servercmd/cmd_memory.c - the MEMORY subcommands that concern the server rather
 * than a key (MEMORY USAGE is src/types/cmd_object.c's): STATS, DOCTOR,
 * MALLOC-STATS, PURGE and HELP, as Redis 7.0 replies them. Their figures
 * come from src/server/memstats.h (the same reading INFO memory shows).
 */
#include <stdlib.h>

#include "base/alloc.h"
#include "cmd/cmd.h"
#include "base/info.h"
#include "server/memstats.h"
#include "script/script.h"
#include "server/server.h"
#include "cmd/cmdarg.h"

static void add_ll(struct resp_out *o, const char *name, long long v)
{
    resp_add_bulk_cstr(o, name);
    resp_add_int(o, v);
}

static void add_double(struct resp_out *o, const char *name, double v)
{
    resp_add_bulk_cstr(o, name);
    resp_add_double(o, v);
}

/* a / b as Redis's ratios; 0 when b is 0. */
static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* The allocator's figures: with jemalloc only (has_pages). */
#define ALLOCATOR_FIELDS 9

static void add_allocator(struct resp_out *o, const struct memstats *m)
{
    const struct alloc_stats *a = &m->mem.alloc;
    size_t rss = m->mem.rss_bytes;
    add_ll(o, "allocator.allocated", (long long)a->allocated);
    add_ll(o, "allocator.active", (long long)a->active);
    add_ll(o, "allocator.resident", (long long)a->resident);
    add_double(o, "allocator-fragmentation.ratio", ratio(a->active, a->allocated));
    add_ll(o, "allocator-fragmentation.bytes", (long long)a->active - (long long)a->allocated);
    add_double(o, "allocator-rss.ratio", ratio(a->resident, a->active));
    add_ll(o, "allocator-rss.bytes", (long long)a->resident - (long long)a->active);
    add_double(o, "rss-overhead.ratio", ratio(rss, a->resident));
    add_ll(o, "rss-overhead.bytes", (long long)rss - (long long)a->resident);
}

/* Redis's fields in its order, but cluster.links (the peer links' buffers
 * are not measured), then raft.log and raft.storage. db.0 only when there
 * are keys. */
void cmd_memory_stats(struct cmd_ctx *c)
{
    struct memstats m;
    memstats_read(c->srv, &m);
    struct resp_out *o = c->out;
    size_t used = m.used, rss = m.mem.rss_bytes;
    int has_db = m.keys > 0, has_pages = m.mem.alloc.has_pages;
    resp_add_map_len(o, 19 + has_db + (has_pages ? ALLOCATOR_FIELDS : 0));
    add_ll(o, "peak.allocated", (long long)m.mem.peak_bytes);
    add_ll(o, "total.allocated", (long long)used);
    add_ll(o, "startup.allocated", (long long)m.mem.startup_bytes);
    add_ll(o, "replication.backlog", 0);
    add_ll(o, "clients.slaves", 0);
    add_ll(o, "clients.normal", (long long)m.clients_normal);
    add_ll(o, "aof.buffer", 0);
    add_ll(o, "lua.caches", (long long)m.lua_caches);
    add_ll(o, "functions.caches", (long long)m.functions_caches);
    if (has_db) {
        resp_add_bulk_cstr(o, "db.0");
        resp_add_map_len(o, 3);
        add_ll(o, "overhead.hashtable.main", (long long)m.ht_main);
        add_ll(o, "overhead.hashtable.expires", (long long)m.ht_expires);
        add_ll(o, "overhead.hashtable.slot-to-keys", 0);
    }
    add_ll(o, "overhead.total", (long long)m.overhead_total);
    add_ll(o, "keys.count", (long long)m.keys);
    add_ll(o, "keys.bytes-per-key", (long long)memstats_bytes_per_key(&m));
    add_ll(o, "dataset.bytes", (long long)m.dataset);
    add_double(o, "dataset.percentage", memstats_dataset_perc(&m));
    add_double(o, "peak.percentage", memstats_peak_perc(&m));
    if (has_pages) add_allocator(o, &m);
    add_double(o, "fragmentation", ratio(rss, used));
    add_ll(o, "fragmentation.bytes", (long long)rss - (long long)used);
    add_ll(o, "raft.log", (long long)m.raft_log);
    add_ll(o, "raft.storage", (long long)m.raft_storage);
}

void cmd_memory_doctor(struct cmd_ctx *c)
{
    struct memstats m;
    memstats_read(c->srv, &m);
    struct info_text t = {0};
    memstats_doctor(&m, script_cache_count(c->srv->scripts), &t);
    resp_add_verbatim(c->out, t.p, t.len, "txt");
    free(t.p);
}

static void append_text(void *ud, const char *text)
{
    info_addf(ud, "%s", text);
}

void cmd_memory_malloc_stats(struct cmd_ctx *c)
{
    struct info_text t = {0};
    if (alloc_stats_print(append_text, &t) == 0)
        resp_add_verbatim(c->out, t.p ? t.p : "", t.len, "txt");
    else
        resp_add_bulk_cstr(c->out, "Stats not supported for the current allocator");
    free(t.p);
}

/* Returns the allocator's unused pages to the system now instead of after
 * jemalloc's decay time (e.g. after a big DEL, so that RSS shows it). */
void cmd_memory_purge(struct cmd_ctx *c)
{
    if (alloc_purge() == 0)
        resp_add_simple(c->out, "OK");
    else
        resp_add_error(c->out, "ERR Error purging dirty pages");
}

void cmd_memory_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
