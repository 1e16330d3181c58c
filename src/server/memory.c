/*
 * src/server/memory.c - used_memory and the server's side of eviction (see
 * memory.h).
 */
#include "base/alloc.h"
#include "base/clock.h"
#include "config/config.h"
#include "sm/evict.h"
#include "keyspace/expiring.h"
#include "base/log.h"
#include "server/memory.h"
#include "server/replof.h"
#include "cmd/monitor.h"
#include "node/node.h"
#include "server/server.h"

size_t memory_raft_log(const struct server *srv)
{
    return srv->node ? node_mem_log(srv->node) : 0;
}

size_t memory_used(const struct server *srv)
{
    size_t all = alloc_used(), log = memory_raft_log(srv);
    return all > log ? all - log : 0;
}

size_t memory_sample_peak(struct server *srv)
{
    size_t used = memory_used(srv);
    if (used > srv->mem_peak) srv->mem_peak = used;
    return srv->mem_peak;
}

int memory_may_grow(void *ud, size_t bytes)
{
    const struct server *srv = ud;
    if (srv->cfg.maxmemory <= 0) return 1;
    size_t used = memory_used(srv);
    if (used + bytes <= (size_t)srv->cfg.maxmemory) return 1;
    size_t aside = srv->node ? node_mem_peers(srv->node) + node_mem_snapshot(srv->node) : 0;
    return used - (aside < used ? aside : used) + bytes <= (size_t)srv->cfg.maxmemory;
}

/* What eviction compares with maxmemory now. */
static uint64_t counted_memory(struct server *srv, uint64_t used)
{
    expiring_applied(&srv->sm.expiring, node_applied(srv->node));
    srv->mem_not_counted = node_mem_peers(srv->node) + node_mem_snapshot(srv->node);
    return evict_counted(used, srv->mem_not_counted, expiring_bytes(&srv->sm.expiring));
}

static enum evict_result evict(struct server *srv, uint64_t used, unsigned *proposed)
{
    const struct config *cfg = &srv->cfg;
    struct evict_params p = {
        .policy = cfg->maxmemory_policy,
        .samples = (unsigned)cfg->maxmemory_samples,
        .tenacity = (unsigned)cfg->maxmemory_eviction_tenacity,
        .counted = counted_memory(srv, used),
        .maxmemory = (uint64_t)cfg->maxmemory,
        .now_ms = server_now_ms(),
    };
    int64_t start = clock_mono_us();
    struct evict_round round;
    const struct resp_arg *argv;
    int argc, db;
    evict_round_begin(&round, &srv->evict, &srv->sm, &p);
    while ((argc = evict_round_next(&round, &argv, &db)) > 0) {
        node_write_held(srv->node, db, argc, argv);
        if (proposed) (*proposed)++;
    }
    enum evict_result r = round.result;
    /* Redis's latency event for a round that takes long (LATENCY LATEST) */
    monitor_event(&srv->monitor, "eviction-cycle", (clock_mono_us() - start) / 1000);
    return r;
}

int memory_refuses(struct server *srv)
{
    if (srv->cfg.maxmemory <= 0) return 0;
    uint64_t used = memory_used(srv);
    if (used <= (uint64_t)srv->cfg.maxmemory) return 0;
    if (!node_is_leader(srv->node)) {
        if (srv->cfg.maxmemory_policy != CONFIG_MAXMEMORY_NOEVICTION) return 0;
        return counted_memory(srv, used) > (uint64_t)srv->cfg.maxmemory;
    }
    return evict(srv, used, NULL) == EVICT_FAIL;
}

int memory_evicts_first(struct server *srv)
{
    if (srv->cfg.maxmemory <= 0 || srv->cfg.maxmemory_policy == CONFIG_MAXMEMORY_NOEVICTION ||
        !node_is_leader(srv->node) || replof_active(srv))
        return 0;
    uint64_t used = memory_used(srv);
    if (used <= (uint64_t)srv->cfg.maxmemory) return 0;
    unsigned proposed = 0;
    evict(srv, used, &proposed);
    return proposed > 0;
}

void memory_cron(struct server *srv)
{
    memory_sample_peak(srv);
    uint64_t used = memory_used(srv);
    int over = 0;
    if (srv->cfg.maxmemory > 0 && used > (uint64_t)srv->cfg.maxmemory) {
        /* a replica of a Redis master keeps every key it is sent, as
         * Redis's replica-ignore-maxmemory yes (src/server/replof.h) */
        if (node_is_leader(srv->node) && srv->cfg.maxmemory_policy != CONFIG_MAXMEMORY_NOEVICTION &&
            !replof_active(srv))
            evict(srv, used, NULL);
        over = counted_memory(srv, used) > (uint64_t)srv->cfg.maxmemory;
    }
    if (!node_is_leader(srv->node)) evict_reset(&srv->evict);
    if (over != srv->mem_over_maxmemory)
        log_msg(over ? LOG_LEVEL_WARNING : LOG_LEVEL_NOTICE,
                over ? "used memory %llu is over maxmemory %lld%s"
                     : "used memory is back under maxmemory (%llu of %lld)%s",
                (unsigned long long)used, srv->cfg.maxmemory,
                over && !node_is_leader(srv->node) ? ": the leader decides evictions, this "
                                                     "follower keeps every key it applies"
                                                   : "");
    srv->mem_over_maxmemory = over;
}
