/*
 * src/server/memstats.c - the memory breakdown of src/server/memstats.h and MEMORY
 * DOCTOR's report.
 */
#include <string.h>

#include "base/alloc.h"
#include "cmd/client.h"
#include "ds/dict.h"
#include "script/function.h"
#include "keyspace/kv.h"
#include "server/memory.h"
#include "server/memstats.h"
#include "node/node.h"
#include "script/script.h"
#include "storage/storage.h"

static int add_code_len(void *ud, const char *code, size_t len)
{
    (void)code;
    *(size_t *)ud += len;
    return 0;
}

void memstats_read(struct server *srv, struct memstats *m)
{
    memset(m, 0, sizeof *m);
    server_memory_now(&m->mem);
    for (const struct client *c = srv->clients; c; c = c->next) {
        if (c->flags & CLIENT_PEER) m->cluster_links += client_memory(c);
        if (c->flags & CLIENT_NOT_A_CLIENT) continue; /* peer links */
        m->clients_normal += client_memory(c);
        m->clients++;
    }
    m->cluster_links += node_mem_peers(srv->node);
    m->lua_caches = script_cache_bytes(srv->scripts);
    function_each_library(srv->functions, add_code_len, &m->functions_caches);
    m->raft_storage = storage_memory_bytes();
    size_t log = memory_raft_log(srv);
    m->raft_log = log > m->raft_storage ? log - m->raft_storage : 0;
    for (int i = 0; i < srv->dbs.n; i++) {
        const struct kv *kv = kv_db(&srv->dbs, i);
        size_t keys = dict_size(&kv->keys), volatile_keys = dict_size(&kv->volatile_keys);
        m->keys += keys;
        m->volatile_keys += volatile_keys;
        if (!keys) continue;
        m->ht_main += (size_t)(keys * (sizeof(struct dict_entry) + sizeof(struct kv_val)) +
                               dict_slots(&kv->keys) * sizeof(struct dict_entry *));
        m->ht_expires += (size_t)(volatile_keys * sizeof(struct dict_entry) +
                                  dict_slots(&kv->volatile_keys) * sizeof(struct dict_entry *));
    }
    /* The Raft log's memory is outside used_memory (src/server/memory.h): reported,
     * not part of the overhead. */
    m->overhead_total = m->mem.startup_bytes + m->clients_normal + m->lua_caches +
                        m->functions_caches + m->ht_main + m->ht_expires;
    size_t used = m->used = memory_used(srv);
    m->mem.peak_bytes = memory_sample_peak(srv);
    m->dataset = used > m->overhead_total ? used - m->overhead_total : 0;
    m->net = used > m->mem.startup_bytes ? used - m->mem.startup_bytes : 1;
}

double memstats_dataset_perc(const struct memstats *m)
{
    return (double)m->dataset * 100.0 / (double)m->net;
}

double memstats_peak_perc(const struct memstats *m)
{
    size_t peak = m->mem.peak_bytes ? m->mem.peak_bytes : 1;
    return (double)m->used * 100.0 / (double)peak;
}

size_t memstats_bytes_per_key(const struct memstats *m)
{
    return m->keys ? m->net / (size_t)m->keys : 0;
}

/* ---- MEMORY DOCTOR ---- */

#define MB (1024 * 1024)

/* A ratio a / b over 1 + excess and a - b over 10 MB: Redis's test of each
 * overhead. */
static int high(size_t a, size_t b, double excess)
{
    return b && (double)a / (double)b > 1 + excess && a > b && a - b > 10 * MB;
}

/* Redis 7.0's report texts, by condition, in its order. */
static const char *const TEXT_PEAK =
    " * Peak memory: In the past this instance used more than 150% the memory that is currently "
    "using. The allocator is normally not able to release memory after a peak, so you can expect "
    "to see a big fragmentation ratio, however this is actually harmless and is only due to the "
    "memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than "
    "expected, the memory will be used as soon as you fill the Redis instance with more data. If "
    "the memory peak was only occasional and you want to try to reclaim memory, please try the "
    "MEMORY PURGE command, otherwise the only other option is to shutdown and restart the "
    "instance.\n\n";
#define TEXT_FRAG                                                                                  \
    " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than "   \
    "1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum " \
    "of the logical allocations Redis performed). This problem is usually due either to a large "  \
    "peak memory (check if there is a peak memory entry above in the report) or may result from "  \
    "a workload that causes the allocator to fragment memory a lot. If the problem is a large "    \
    "peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc "        \
    "allocator and not the default libc malloc. Note: The currently used allocator is \"%s\".\n\n"
static const char *const TEXT_ALLOC_FRAG =
    " * High allocator fragmentation: This instance has an allocator external fragmentation "
    "greater than 1.1. This problem is usually due either to a large peak memory (check if there "
    "is a peak memory entry above in the report) or may result from a workload that causes the "
    "allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n";
static const char *const TEXT_ALLOC_RSS =
    " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 "
    "(this means that the Resident Set Size of the allocator is much larger than the sum what the "
    "allocator actually holds). This problem is usually due to a large peak memory (check if "
    "there is a peak memory entry above in the report), you can try the MEMORY PURGE command to "
    "reclaim it.\n\n";
static const char *const TEXT_PROC_RSS =
    " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater "
    "than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the "
    "RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n";
static const char *const TEXT_CLIENTS =
    " * Big client buffers: The clients output buffers in this instance are greater than 200K per "
    "client (on average). This may result from different causes, like Pub/Sub clients subscribed "
    "to channels bot not receiving data fast enough, so that data piles on the Redis instance "
    "output buffer, or clients sending commands with large replies or very large sequences of "
    "commands in the same pipeline. Please use the CLIENT LIST command in order to investigate "
    "the issue if it causes problems in your instance, or to understand better why certain "
    "clients are using a big amount of memory.\n\n";
static const char *const TEXT_SCRIPTS =
    " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). "
    "This may be because scripts are generated and `EVAL`ed, instead of being parameterized "
    "(with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called "
    "periodically, the scripts' caches may end up consuming most of your memory.\n\n";

void memstats_doctor(const struct memstats *m, size_t cached_scripts, struct info_text *t)
{
    const struct alloc_stats *a = &m->mem.alloc;
    size_t used = m->used, rss = m->mem.rss_bytes;
    if (used < 5 * MB) {
        info_addf(t, "Hi Sam, this instance is empty or is using very little memory, my issues "
                     "detector can't be used in these conditions. Please, leave for your mission "
                     "on Earth and fill it with some data. The new Sam and I will be back to our "
                     "programming as soon as I finished rebooting.\n");
        return;
    }
    int peak = used && (double)m->mem.peak_bytes / (double)used > 1.5;
    int frag = high(rss, used, 0.4);
    /* Without jemalloc (the sanitizer builds) the allocator's pages are not
     * known: those three tests have nothing to look at. */
    int alloc_frag = a->has_pages && high(a->active, a->allocated, 0.1);
    int alloc_rss = a->has_pages && high(a->resident, a->active, 0.1);
    int proc_rss = a->has_pages && high(rss, a->resident, 0.1);
    int clients = m->clients_normal / (m->clients ? m->clients : 1) > 200 * 1024;
    int scripts = cached_scripts > 1000;
    if (!(peak || frag || alloc_frag || alloc_rss || proc_rss || clients || scripts)) {
        info_addf(t, "Hi Sam, I can't find any memory issue in your instance. I can only account "
                     "for what occurs on this base.\n");
        return;
    }
    info_addf(t, "Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    char name[64];
    alloc_name(name, sizeof name);
    if (peak) info_addf(t, "%s", TEXT_PEAK);
    if (frag) info_addf(t, TEXT_FRAG, name);
    if (alloc_frag) info_addf(t, "%s", TEXT_ALLOC_FRAG);
    if (alloc_rss) info_addf(t, "%s", TEXT_ALLOC_RSS);
    if (proc_rss) info_addf(t, "%s", TEXT_PROC_RSS);
    if (clients) info_addf(t, "%s", TEXT_CLIENTS);
    if (scripts) info_addf(t, "%s", TEXT_SCRIPTS);
    info_addf(t, "I'm here to keep you safe, Sam. I want to help you.\n");
}
