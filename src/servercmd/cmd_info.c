/*
 * src/servercmd/cmd_info.c - INFO: the server's state as "field:value" lines grouped in
 * sections, in Redis's format and with Redis's field names where the meaning
 * is the same.
 *
 * Sections: server clients memory persistence stats replication cpu cluster
 * keyspace errorstats (the default set, Redis's), modules (empty), raft,
 * commandstats and latencystats (named, or in "all" and "everything").
 * Persistence and stats are src/servercmd/info_stats.c's. In INFO the Raft
 * section names its role field raft_role (RAFT.INFO's is role): INFO then
 * carries replication's role:master|slave once, as clients and exporters
 * that read the role from INFO expect (ioredis in Sentinel mode and
 * prometheus-redis-exporter keep the last field of a name).
 * Section names are case-insensitive; several may be given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/alloc.h"
#include "cmd/monitor.h"
#include "cmd/cmd.h"
#include "servercmd/cmd_cluster.h"
#include "servercmd/cmd_role.h"
#include "servercmd/info_stats.h"
#include "script/function.h"
#include "base/info.h"
#include "base/lazyfree.h"
#include "server/memstats.h"
#include "script/script.h"
#include "server/server.h"
#include "server/tracking.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define RAFTCACHE_VERSION "0.1.0"

static void human_bytes(char *buf, size_t cap, size_t n)
{
    const char *units = "BKMGTP";
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%zuB", n);
    else
        snprintf(buf, cap, "%.2f%c", v, units[u]);
}

/* redis_build_id: a hash of what identifies this build (the versions and
 * the compiler), as Redis hashes its build's details. raftcache is not built
 * from Redis's git tree: redis_git_sha1 and redis_git_dirty are Redis's
 * values without one. */
static unsigned long long build_id(void)
{
    const char *s = REDIS_COMPAT_VERSION "/" RAFTCACHE_VERSION "/" __VERSION__;
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Supervision (systemd or upstart notifications) is not implemented:
 * process_supervised:no. There are no I/O threads and the hz is not
 * dynamic, so configured_hz is hz. */
static void section_server(struct info_text *t, struct server *srv, int64_t now)
{
    struct utsname un;
    uname(&un);
    long long up = (now - srv->start_ms) / 1000;
    info_addf(t,
              "# Server\r\nredis_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
              "redis_build_id:%llx\r\nraftcache_version:%s\r\nredis_mode:%s\r\n"
              "os:%s %s %s\r\narch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\n"
              "multiplexing_api:libev\r\natomicvar_api:c11-builtin\r\ngcc_version:%d.%d.%d\r\n",
              REDIS_COMPAT_VERSION, build_id(), RAFTCACHE_VERSION, role_redis_mode(srv), un.sysname,
              un.release, un.machine, (int)(sizeof(long) * 8), __GNUC__, __GNUC_MINOR__,
              __GNUC_PATCHLEVEL__);
    info_addf(t,
              "process_id:%ld\r\nprocess_supervised:no\r\nrun_id:%s\r\ntcp_port:%lld\r\n"
              "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
              "hz:%lld\r\nconfigured_hz:%lld\r\nlru_clock:%u\r\nexecutable:%s\r\n"
              "config_file:%s\r\nio_threads_active:0\r\n",
              (long)getpid(), srv->run_id, srv->cfg.port, (long long)now * 1000, up, up / 86400,
              srv->cfg.hz, srv->cfg.hz, (unsigned)srv->dbs.common.lru_clock,
              srv->executable ? srv->executable : "", srv->config_file ? srv->config_file : "");
}

/* blocked_clients counts the clients CLIENT PAUSE holds back, as Redis
 * counts its postponed clients. */
/* client_recent_max_*_buffer: the largest query and output buffers of the
 * clients now connected (Redis keeps the largest of the last seconds). */
static void section_clients(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    size_t in_max = 0, out_max = 0;
    for (const struct client *c = srv->clients; c; c = c->next) {
        if (c->flags & CLIENT_NOT_A_CLIENT) continue; /* peer links */
        if (c->qcap > in_max) in_max = c->qcap;
        if (c->out.cap > out_max) out_max = c->out.cap;
    }
    info_addf(
        t,
        "# Clients\r\nconnected_clients:%llu\r\ncluster_connections:%llu\r\nmaxclients:%lld\r\n"
        "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n"
        "blocked_clients:%llu\r\ntracking_clients:%llu\r\nclients_in_timeout_table:%zu\r\n"
        "watching_clients:%llu\r\n",
        (unsigned long long)srv->client_count, (unsigned long long)srv->peer_link_count,
        srv->cfg.maxclients, in_max, out_max,
        (unsigned long long)(srv->blocked.n_clients + srv->pause.n),
        (unsigned long long)tracking_clients(srv->tracking), blocked_with_timeout(&srv->blocked),
        (unsigned long long)dict_size(&srv->watched));
}

/* a / b, or 0 when b is 0 (Redis's ratios, printed "%.2f"). */
static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* a - b as a signed figure (the process may hold less than the allocator). */
static long long diff(size_t a, size_t b)
{
    return (long long)a - (long long)b;
}

/* Redis 7.0's fields, in its order. Without jemalloc's page figures (the
 * sanitizer builds) the allocator_* ones are Redis's stand-ins for an
 * allocator that gives none: allocated = used_memory, active = resident =
 * RSS less the Lua heaps (its fragmentation figures are then rough, as
 * Redis says of its own). mem_cluster_links is the Raft
 * peer links' memory; active_defrag_running is 0 (there is no active
 * defrag). mem_raft_log and mem_raft_storage, the Raft log's entries
 * held in memory and SQLite's memory (outside used_memory: src/server/memory.h),
 * and mem_over_maxmemory (src/server/memory.h's memory_cron) end it. The overhead and dataset
 * figures are MEMORY STATS's (src/server/memstats.h). */
static void section_memory(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    struct memstats ms;
    memstats_read(srv, &ms);
    const struct alloc_stats *a = &ms.mem.alloc;
    size_t used = ms.used, rss = ms.mem.rss_bytes, peak = ms.mem.peak_bytes;
    size_t sysmem = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
    char h_used[32], h_rss[32], h_peak[32], h_sys[32], h_max[32], name[64];
    human_bytes(h_used, sizeof h_used, used);
    human_bytes(h_rss, sizeof h_rss, rss);
    human_bytes(h_peak, sizeof h_peak, peak);
    human_bytes(h_sys, sizeof h_sys, sysmem);
    human_bytes(h_max, sizeof h_max, (size_t)srv->cfg.maxmemory);
    alloc_name(name, sizeof name);
    info_addf(t,
              "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
              "used_memory_rss_human:%s\r\nused_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
              "used_memory_peak_perc:%.2f%%\r\nused_memory_overhead:%zu\r\n"
              "used_memory_startup:%zu\r\nused_memory_dataset:%zu\r\n"
              "used_memory_dataset_perc:%.2f%%\r\n",
              used, h_used, rss, h_rss, peak, h_peak, memstats_peak_perc(&ms), ms.overhead_total,
              ms.mem.startup_bytes, ms.dataset, memstats_dataset_perc(&ms));
    size_t lua = script_lua_bytes(srv->scripts), scripts = ms.lua_caches;
    size_t fn_lua = script_lua_bytes(srv->fn_scripts), fns = ms.functions_caches;
    size_t allocated = a->allocated, active = a->active, resident = a->resident;
    if (!a->has_pages) {
        resident = rss > lua + fn_lua ? rss - lua - fn_lua : 0;
        active = resident;
        allocated = used;
    }
    info_addf(t, "allocator_allocated:%zu\r\nallocator_active:%zu\r\nallocator_resident:%zu\r\n",
              allocated, active, resident);
    info_addf(t, "total_system_memory:%zu\r\ntotal_system_memory_human:%s\r\n", sysmem, h_sys);
    char h_lua[32], h_scripts[32], h_vm[32];
    human_bytes(h_lua, sizeof h_lua, lua);
    human_bytes(h_scripts, sizeof h_scripts, scripts + fns);
    human_bytes(h_vm, sizeof h_vm, lua + fn_lua);
    info_addf(t,
              "used_memory_lua:%zu\r\nused_memory_vm_eval:%zu\r\nused_memory_lua_human:%s\r\n"
              "used_memory_scripts_eval:%zu\r\nnumber_of_cached_scripts:%zu\r\n"
              "number_of_functions:%zu\r\nnumber_of_libraries:%zu\r\n"
              "used_memory_vm_functions:%zu\r\nused_memory_vm_total:%zu\r\n"
              "used_memory_vm_total_human:%s\r\nused_memory_functions:%zu\r\n"
              "used_memory_scripts:%zu\r\nused_memory_scripts_human:%s\r\n",
              lua, lua, h_lua, scripts, script_cache_count(srv->scripts),
              function_fn_count(srv->functions), function_lib_count(srv->functions), fn_lua,
              lua + fn_lua, h_vm, fns, scripts + fns, h_scripts);
    info_addf(t, "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n",
              srv->cfg.maxmemory, h_max, config_maxmemory_policy_name(srv->cfg.maxmemory_policy));
    info_addf(t,
              "allocator_frag_ratio:%.2f\r\nallocator_frag_bytes:%lld\r\n"
              "allocator_rss_ratio:%.2f\r\nallocator_rss_bytes:%lld\r\n"
              "rss_overhead_ratio:%.2f\r\nrss_overhead_bytes:%lld\r\n",
              ratio(active, allocated), diff(active, allocated), ratio(resident, active),
              diff(resident, active), ratio(rss, resident), diff(rss, resident));
    info_addf(t,
              "mem_fragmentation_ratio:%.2f\r\nmem_fragmentation_bytes:%lld\r\n"
              "mem_not_counted_for_evict:%zu\r\nmem_replication_backlog:0\r\n"
              "mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\n"
              "mem_clients_normal:%zu\r\nmem_cluster_links:%zu\r\nmem_aof_buffer:0\r\n"
              "mem_allocator:%s\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:%"
              "zu\r\nlazyfreed_objects:%zu\r\nmem_raft_log:%zu\r\n"
              "mem_raft_storage:%zu\r\nmem_over_maxmemory:%d\r\n",
              ratio(rss, used), diff(rss, used), (size_t)srv->mem_not_counted, ms.clients_normal,
              ms.cluster_links, name, lazyfree_pending(), lazyfree_freed(), ms.raft_log,
              ms.raft_storage, srv->mem_over_maxmemory);
}

static void section_persistence(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    info_section_persistence(t, srv);
}

static void section_stats(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    info_section_stats(t, srv);
}

static void cpu_pair(struct info_text *t, const char *suffix, const struct rusage *r)
{
    info_addf(t, "used_cpu_sys%s:%ld.%06ld\r\nused_cpu_user%s:%ld.%06ld\r\n", suffix,
              (long)r->ru_stime.tv_sec, (long)r->ru_stime.tv_usec, suffix, (long)r->ru_utime.tv_sec,
              (long)r->ru_utime.tv_usec);
}

static void section_cpu(struct info_text *t, struct server *srv, int64_t now)
{
    (void)srv, (void)now;
    struct rusage self, kids, main;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    getrusage(RUSAGE_THREAD, &main); /* INFO runs on the loop's thread, the main one */
    info_addf(t, "# CPU\r\n");
    cpu_pair(t, "", &self);
    cpu_pair(t, "_children", &kids);
    cpu_pair(t, "_main_thread", &main);
}

/* No modules: the section is there, empty, as redis-server's without any. */
static void section_modules(struct info_text *t, struct server *srv, int64_t now)
{
    (void)srv, (void)now;
    info_addf(t, "# Modules\r\n");
}

static void section_cluster(struct info_text *t, struct server *srv, int64_t now)
{
    (void)srv, (void)now;
    info_addf(t, "# Cluster\r\ncluster_enabled:1\r\n");
}

static void section_keyspace(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    info_addf(t, "# Keyspace\r\n");
    for (int i = 0; i < srv->dbs.n; i++) {
        struct kv *kv = kv_db(&srv->dbs, i);
        uint64_t keys = kv_size(kv);
        if (keys)
            info_addf(t, "db%d:keys=%llu,expires=%llu,avg_ttl=%llu\r\n", i,
                      (unsigned long long)keys, (unsigned long long)kv_volatile_count(kv),
                      (unsigned long long)kv->avg_ttl);
    }
}

static void section_commandstats(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    info_addf(t, "# Commandstats\r\n");
    for (int id = 0; id < cmd_id_count(); id++) {
        const struct cmd_stats *st = &srv->monitor.cmds[id];
        if (!st->calls && !st->rejected_calls && !st->failed_calls) continue;
        info_addf(t,
                  "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                  "failed_calls=%llu\r\n",
                  cmd_by_id(id)->name, (unsigned long long)st->calls, (unsigned long long)st->usec,
                  st->calls ? (double)st->usec / (double)st->calls : 0.0,
                  (unsigned long long)st->rejected_calls, (unsigned long long)st->failed_calls);
    }
}

static void section_errorstats(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    info_addf(t, "# Errorstats\r\n");
    const struct monitor *m = &srv->monitor;
    for (int i = 0; i < m->nerrors; i++)
        info_addf(t, "errorstat_%s:count=%llu\r\n", m->errors[i].code,
                  (unsigned long long)m->errors[i].count);
}

/* Each timed command's latency-tracking-info-percentiles, in us. */
static void section_latencystats(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    info_addf(t, "# Latencystats\r\n");
    const struct config *cfg = &srv->cfg;
    for (int id = 0; id < cmd_id_count(); id++) {
        const struct monitor_hist *h = srv->monitor.cmds[id].hist;
        if (!h || !h->total) continue;
        info_addf(t, "latency_percentiles_usec_%s:", cmd_by_id(id)->name);
        for (int i = 0; i < cfg->latency_percentiles_count; i++) {
            double p = cfg->latency_percentiles[i];
            info_addf(t, "%sp%g=%.3f", i ? "," : "", p,
                      (double)monitor_hist_percentile(h, p) / 1000.0);
        }
        info_addf(t, "\r\n");
    }
}

static void section_replication(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    role_info_replication(t, srv);
}

static void section_raft(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    cluster_info_raft(t, srv, "raft_role");
}

/* The certificates in use (Valkey 9's fields); "none" without tls-port. */
static void section_tls(struct info_text *t, struct server *srv, int64_t now)
{
    (void)now;
    info_addf(t, "# TLS\r\n");
    const struct {
        const char *name;
        const struct tls_cert_info *ci;
    } certs[] = {{"server", &srv->tls_info.server},
                 {"client", &srv->tls_info.client},
                 {"ca", &srv->tls_info.ca}};
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
        int on = srv->tls && certs[i].ci->present;
        info_addf(t, "tls_%s_cert_expire_time:%lld\r\n", certs[i].name,
                  on ? (long long)certs[i].ci->expire_time : 0LL);
        info_addf(t, "tls_%s_cert_serial:%s\r\n", certs[i].name, on ? certs[i].ci->serial : "none");
    }
    info_addf(t, "tls_reloads:%llu\r\n", (unsigned long long)srv->tls_reloads);
}

/* INFO's sections, in the order it writes them. */
static const struct section {
    const char *name;
    void (*write)(struct info_text *t, struct server *srv, int64_t now);
    int in_default; /* INFO and INFO default include it (the others: only all, everything) */
} sections[] = {
    {"server", section_server, 1},
    {"clients", section_clients, 1},
    {"memory", section_memory, 1},
    {"persistence", section_persistence, 1},
    {"stats", section_stats, 1},
    {"replication", section_replication, 1},
    {"cpu", section_cpu, 1},
    {"modules", section_modules, 0},
    {"cluster", section_cluster, 1},
    {"keyspace", section_keyspace, 1},
    {"raft", section_raft, 0},
    {"commandstats", section_commandstats, 0},
    {"errorstats", section_errorstats, 1},
    {"latencystats", section_latencystats, 0},
    {"tls", section_tls, 0},
};
#define SEC_COUNT (sizeof sections / sizeof sections[0])

/* Marks the sections an argument selects; unknown names select nothing. */
static void select_sections(const struct resp_arg *a, int *want)
{
    int all = a->len == 3 && strncasecmp(a->ptr, "all", 3) == 0;
    int every = a->len == 10 && strncasecmp(a->ptr, "everything", 10) == 0;
    int deflt = a->len == 7 && strncasecmp(a->ptr, "default", 7) == 0;
    for (size_t s = 0; s < SEC_COUNT; s++) {
        const char *name = sections[s].name;
        if (all || every || (deflt && sections[s].in_default) ||
            (strlen(name) == a->len && strncasecmp(name, a->ptr, a->len) == 0))
            want[s] = 1;
    }
}

void cmd_info(struct cmd_ctx *c)
{
    struct server *srv = c->srv;
    int want[SEC_COUNT] = {0};
    if (c->argc == 1) {
        struct resp_arg d = {"default", 7};
        select_sections(&d, want);
    }
    for (int i = 1; i < c->argc; i++)
        select_sections(&c->argv[i], want);
    struct info_text t = {0};
    int64_t now = server_now_ms();
    for (size_t s = 0; s < SEC_COUNT; s++) {
        if (!want[s]) continue;
        if (t.len) info_addf(&t, "\r\n");
        sections[s].write(&t, srv, now);
    }
    ASSERT(t.p ? t.len < t.cap : t.len == 0); /* info_addf() keeps room for a NUL */
    resp_add_verbatim(c->out, t.p ? t.p : "", t.len, "txt");
    free(t.p);
}
