/*
 * src/server/replica.c - one replica of the keyspace, wired (see replica.h).
 */
#include <stdbool.h>

#include "server/blocked.h"
#include "server/memory.h"
#include "cmd/monitor.h"
#include "base/clock.h"
#include "server/multi.h"
#include "node/node.h"
#include "keyspace/notify.h"
#include "server/pubsub.h"
#include "server/aclstate.h"
#include "server/dispatch.h"
#include "server/replica.h"
#include "server/replof.h"
#include "server/replwait.h"
#include "script/function.h"
#include "script/script.h"
#include "server/server.h"
#include "server/tracking.h"
#include "types/typetable.h"
#include "base/util.h"
#include "node/waiters.h"

#define EXPIRE_SAMPLE 20         /* volatile keys looked at per round */
#define EXPIRE_BUDGET_PERCENT 25 /* of a cron period, like Redis's slow cycle */
#define EXPIRE_ENTRY_KEYS 512    /* keys per expiry entry at most */

/* Collects expired keys into expiry entries, like Redis's slow cycle: keep
 * sampling while a good share of the samples were newly expired and time
 * remains. A key already proposed and not applied (src/keyspace/expiring.h) is
 * skipped, so each expired key is proposed once; the keys of many samples
 * share one entry (up to EXPIRE_ENTRY_KEYS keys or SM_BATCH_MAX_BYTES). */
struct expired_batch {
    struct expiring *x;
    int db; /* the database being sampled: an entry holds one database's keys */
    struct resp_arg keys[EXPIRE_ENTRY_KEYS];
    int n;     /* keys in the entry being built */
    int added; /* of them, added by the current sample */
    size_t bytes;
};

static int batch_full(const struct expired_batch *b)
{
    return b->n == EXPIRE_ENTRY_KEYS || b->bytes >= SM_BATCH_MAX_BYTES || expiring_full(b->x);
}

static void collect_expired(void *ud, const char *key, size_t len)
{
    struct expired_batch *b = ud;
    if (batch_full(b) || expiring_has(b->x, b->db, key, len)) return;
    b->keys[b->n].ptr = expiring_add(b->x, b->db, key, len, 0);
    b->keys[b->n++].len = len;
    b->added++;
    b->bytes += len;
}

static void submit_expired(struct server *srv, struct expired_batch *b)
{
    if (b->n > 0) node_write_expire(srv->node, b->db, b->n, b->keys);
    b->n = 0;
    b->bytes = 0;
}

/* INFO's expire cycle figures, as Redis keeps them: the share of sampled
 * keys found expired, as a moving average (5% weight to each cycle); the
 * cycle's time, summed. */
static void expire_stats(struct server_stats *st, size_t sampled, size_t expired, int64_t us)
{
    double perc = sampled ? (double)expired / (double)sampled : 0.0;
    st->expired_stale_perc = perc * 0.05 + st->expired_stale_perc * 0.95;
    st->expire_cycle_us += (uint64_t)us;
}

/* One database's share of a cycle: sampling rounds until few samples were
 * newly expired (or the cycle's time or the held keys run out: 1). */
static int expire_db(struct server *srv, struct expired_batch *b, int64_t until_us, size_t *sampled,
                     size_t *expired)
{
    struct kv *kv = kv_db(&srv->dbs, b->db);
    for (;;) {
        b->added = 0;
        size_t seen = kv_expired_sample(kv, server_now_ms(), EXPIRE_SAMPLE, collect_expired, b);
        *sampled += seen;
        *expired += (size_t)b->added;
        if (batch_full(b)) submit_expired(srv, b);
        if (seen == 0 || (size_t)b->added * 4 < seen) return 0; /* under 25% newly expired */
        if (expiring_full(b->x)) return 1;
        if (clock_mono_us() > until_us) {
            srv->stats.expire_time_cap_reached++;
            return 1;
        }
    }
}

/* The databases with keys that have a TTL, in turn from where the last
 * cycle stopped (Redis's current_db), each in entries of its own. */
static void active_expire(struct server *srv)
{
    int64_t start = clock_mono_us();
    int64_t until_us = start + 10000LL * EXPIRE_BUDGET_PERCENT / srv->cfg.hz;
    struct expired_batch b = {.x = &srv->sm.expiring, .n = 0};
    srv->stats.expire_cycles++;
    node_write_flush(srv->node); /* keys held for an open batch's eviction get its index */
    expiring_applied(b.x, node_applied(srv->node));
    size_t sampled = 0, expired = 0;
    int n = srv->dbs.n, stopped = 0;
    for (int i = 0; i < n && !stopped; i++) {
        b.db = (srv->expire_next_db + i) % n;
        if (kv_volatile_count(kv_db(&srv->dbs, b.db)) == 0) continue;
        stopped = expire_db(srv, &b, until_us, &sampled, &expired);
        submit_expired(srv, &b);
        if (stopped) srv->expire_next_db = b.db; /* resumes there */
    }
    int64_t took_us = clock_mono_us() - start;
    expire_stats(&srv->stats, sampled, expired, took_us);
    monitor_event(&srv->monitor, "expire-cycle", took_us / 1000);
}

static int policy_lfu(int policy)
{
    return policy == CONFIG_MAXMEMORY_ALLKEYS_LFU || policy == CONFIG_MAXMEMORY_VOLATILE_LFU;
}

/* The encoding thresholds the type modules read (src/keyspace/types.h), and how the
 * keyspace keeps access data (LRU or LFU, src/keyspace/kv.h). */
void replica_apply_limits(struct server *srv)
{
    const struct config *c = &srv->cfg;
    srv->dbs.common.access = (struct kv_access){
        .lfu = policy_lfu(c->maxmemory_policy),
        .evicts_by_access =
            c->maxmemory > 0 && (policy_lfu(c->maxmemory_policy) ||
                                 c->maxmemory_policy == CONFIG_MAXMEMORY_ALLKEYS_LRU ||
                                 c->maxmemory_policy == CONFIG_MAXMEMORY_VOLATILE_LRU),
        .lfu_log_factor =
            (uint32_t)(c->lfu_log_factor > UINT32_MAX ? UINT32_MAX : c->lfu_log_factor),
        .lfu_decay_time =
            (uint32_t)(c->lfu_decay_time > UINT32_MAX ? UINT32_MAX : c->lfu_decay_time),
    };
    srv->dbs.common.limits = (struct kv_limits){
        .hash_max_listpack_entries = (uint64_t)c->hash_max_listpack_entries,
        .hash_max_listpack_value = (uint64_t)c->hash_max_listpack_value,
        .set_max_intset_entries = (uint64_t)c->set_max_intset_entries,
        .zset_max_listpack_entries = (uint64_t)c->zset_max_listpack_entries,
        .zset_max_listpack_value = (uint64_t)c->zset_max_listpack_value,
        .hll_sparse_max_bytes = (uint64_t)c->hll_sparse_max_bytes,
        .list_max_listpack_size = c->list_max_listpack_size,
        .list_compress_depth = (uint64_t)c->list_compress_depth,
    };
}

/* The keyspace's LRU clock (OBJECT IDLETIME): seconds, 24 bits, as Redis. */
static void update_lru_clock(struct server *srv)
{
    int64_t now = server_now_ms();
    srv->dbs.common.lru_clock = (uint32_t)(now / 1000) & KV_LRU_MAX;
    srv->dbs.common.lfu_minutes = (uint32_t)(now / 60000) & 0xffff;
}

/* The keyspace's hooks: watchers are dirtied, blocked clients woken. */
static void key_changed(void *ud, int db, const char *key, size_t len)
{
    struct server *srv = ud;
    multi_key_changed(srv, db, key, len);
    blocked_key_changed(&srv->blocked, db, key, len);
    tracking_key_changed(srv, key, len);
}

/* A key blocked clients must look at again, WATCH aside (XGROUP DESTROY,
 * as Redis's signalKeyAsReady without signalModifiedKey). */
static void key_ready(void *ud, int db, const char *key, size_t len)
{
    struct server *srv = ud;
    blocked_key_changed(&srv->blocked, db, key, len);
}

static void flushed(void *ud, int db)
{
    struct server *srv = ud;
    multi_flushed(srv, db);
    blocked_all_keys_changed(&srv->blocked, db);
    tracking_flushed(srv);
}

/* SWAPDB a b, about to happen: watchers of both are dirtied as Redis's
 * are, and every key waited on in either is looked at again once the
 * databases traded keys. */
static void swapping(void *ud, int a, int b)
{
    struct server *srv = ud;
    multi_swapped(srv, a, b);
    blocked_all_keys_changed(&srv->blocked, a);
    blocked_all_keys_changed(&srv->blocked, b);
    tracking_flushed(srv); /* a tracked key's name may hold another value now */
}

/* The apply path's reports on the replies it builds for this node's
 * clients (struct sm_observer): client-side caching orders its messages
 * after them, and remembers what a script read. */
static void reply_begin(void *ud, struct client *c)
{
    tracking_reply_begin(ud, c);
}

static void reply_end(void *ud, struct client *c)
{
    tracking_reply_end(ud, c);
}

static void ran(void *ud, struct client *c, const struct command *cmd, const struct cmd_ctx *ctx)
{
    tracking_ran(ud, c, cmd, ctx);
}

/* Keyspace notifications go to this node's subscribers only: every node
 * applies the same writes and fires the same events itself. */
static void notify_publish(void *ud, const char *channel, size_t clen, const char *msg, size_t mlen)
{
    struct server *srv = ud;
    pubsub_publish(&srv->pubsub, 0, channel, clen, msg, mlen);
}

/* The keyspace's own events, "new" and "expired", fired while it applies
 * an entry (never from a read: reads do not delete or create keys); the
 * keyspace asks only for those enabled (replica_set_notify). */
static void key_event(void *ud, int db, enum kv_event ev, const char *key, size_t len)
{
    struct server *srv = ud;
    if (ev == KV_EVENT_NEW)
        notify_fire(&srv->notify, db, NOTIFY_NEW, "new", key, len);
    else if (ev == KV_EVENT_EXPIRED)
        notify_fire(&srv->notify, db, NOTIFY_EXPIRED, "expired", key, len);
    else
        notify_fire(&srv->notify, db, NOTIFY_EVICTED, "evicted", key, len);
}

void replica_set_notify(struct server *srv, unsigned flags)
{
    notify_set(&srv->notify, flags);
    srv->dbs.common.event_mask =
        ((srv->notify.mask & NOTIFY_NEW) ? 1u << KV_EVENT_NEW : 0) |
        ((srv->notify.mask & NOTIFY_EXPIRED) ? 1u << KV_EVENT_EXPIRED : 0) |
        ((srv->notify.mask & NOTIFY_EVICTED) ? 1u << KV_EVENT_EVICTED : 0);
}

/* Snapshots carry the script cache and the function libraries beside the
 * keys (struct snapshot_extra): a record per cached script body
 * (SNAPSHOT_KIND_SCRIPT) and per library's code (SNAPSHOT_KIND_LIBRARY). */
#define SNAPSHOT_KIND_SCRIPT 1
#define SNAPSHOT_KIND_LIBRARY 2
#define SNAPSHOT_KIND_REPLOF 4 /* REPLICAOF's state (src/server/replof.h); 3 is the ACL's */

struct extra_put {
    snapshot_extra_put_fn *put;
    void *w;
    uint8_t kind;
};

static int put_extra(void *ud, const char *data, size_t len)
{
    struct extra_put *p = ud;
    p->put(p->w, p->kind, data, len);
    return 0;
}

static void extra_save(void *ud, snapshot_extra_put_fn *put, void *w)
{
    struct server *srv = ud;
    struct extra_put p = {put, w, SNAPSHOT_KIND_SCRIPT};
    script_cache_each(srv->scripts, put_extra, &p);
    p.kind = SNAPSHOT_KIND_LIBRARY;
    function_each_library(srv->functions, put_extra, &p);
    size_t len;
    char *users = aclstate_snapshot_text(srv, &len);
    if (users) put(w, SNAPSHOT_KIND_ACL, users, len);
    if (users) explicit_bzero(users, len); /* password hashes */
    free(users);
    char *replof = replof_state_text(srv, &len);
    if (replof) put(w, SNAPSHOT_KIND_REPLOF, replof, len);
    free(replof);
}

static int extra_load(void *ud, uint8_t kind, const void *data, size_t len, char *err,
                      size_t errlen)
{
    struct server *srv = ud;
    if (kind == SNAPSHOT_KIND_ACL) return aclstate_snapshot_load(srv, data, len, err, errlen);
    if (kind == SNAPSHOT_KIND_REPLOF) return replof_state_load(srv, data, len, err, errlen);
    if (kind != SNAPSHOT_KIND_SCRIPT && kind != SNAPSHOT_KIND_LIBRARY)
        return util_fail(err, errlen, -1, "unknown kind %u", kind);
    struct resp_out out;
    resp_out_init(&out, 2);
    char sha[SHA1_HEX_LEN + 1];
    int rc = kind == SNAPSHOT_KIND_SCRIPT ? script_cache_add(srv->scripts, data, len, sha, &out)
                                          : function_load_code(srv->functions, data, len, 0, &out);
    if (rc != 0)
        util_fail(err, errlen, -1, "a %s does not load: %.*s",
                  kind == SNAPSHOT_KIND_SCRIPT ? "cached script" : "function library", (int)out.len,
                  out.data);
    resp_out_free(&out);
    return rc;
}

/* A script's command, run for a client of this node: MONITOR shows it. */
static void monitor_script_call(void *ud, int argc, const struct resp_arg *argv)
{
    struct server *srv = ud;
    if (monitors_active(&srv->monitors)) monitors_feed(&srv->monitors, NULL, argc, argv);
}

static void extra_reset(void *ud)
{
    struct server *srv = ud;
    script_cache_flush(srv->scripts);
    function_flush(srv->functions);
    aclstate_reset(srv);
    replof_state_reset(srv);
}

void replica_init(struct server *srv, uint64_t seed)
{
    srv->rng = seed;
    srv->start_ms = server_now_ms();
    kv_dbs_init(&srv->dbs, type_table, (int)srv->cfg.databases, util_rand64(&srv->rng));
    srv->dbs.common.max_value_len = (size_t)srv->cfg.proto_max_bulk_len;
    kv_dbs_set_may_grow(&srv->dbs, memory_may_grow, srv);
    replica_apply_limits(srv);
    update_lru_clock(srv);
    multi_init(srv);
    replof_init(srv);
    /* Seeded from the node's seed without drawing from srv->rng: what is
     * drawn after keeps its values, so the node simulator's seeds replay
     * the runs they always did. */
    uint64_t side = srv->rng ^ 0x9e3779b97f4a7c15ULL;
    dict_init(&srv->client_ids, util_rand64(&side));
    srv->tracking = tracking_new(util_rand64(&side));
    waiters_init(&srv->waiters);
    blocked_init(&srv->blocked, &srv->waiters, util_rand64(&srv->rng));
    replwait_init(&srv->replwait);
    srv->blocked.monitor = &srv->monitor;
    pubsub_init(&srv->pubsub, util_rand64(&srv->rng));
    monitors_init(&srv->monitors);
    pause_init(&srv->pause);
    /* Two Lua states, as Redis has: SCRIPT FLUSH starts EVAL's afresh. */
    srv->scripts = script_engine_new(&srv->monitor);
    srv->fn_scripts = script_engine_new(&srv->monitor);
    script_set_budget(srv->scripts, (uint64_t)srv->cfg.lua_replicated_budget);
    script_set_budget(srv->fn_scripts, (uint64_t)srv->cfg.lua_replicated_budget);
    srv->functions = function_registry_new(srv->fn_scripts);
    script_set_call_hook(srv->scripts, monitor_script_call, srv);
    script_set_call_hook(srv->fn_scripts, monitor_script_call, srv);
    script_set_acl_hook(srv->scripts, aclstate_script_denied, srv);
    script_set_acl_hook(srv->fn_scripts, aclstate_script_denied, srv);
    srv->notify = (struct notify){.publish = notify_publish, .ud = srv};
    srv->dbs.common.on_modify = key_changed;
    srv->dbs.common.on_ready = key_ready;
    srv->dbs.common.on_flush = flushed;
    srv->dbs.common.on_event = key_event;
    srv->dbs.common.on_swap = swapping;
    srv->dbs.common.hook_ud = srv;
    replica_set_notify(srv, srv->cfg.notify_keyspace_events);
    struct sm_env sme = {
        .dbs = &srv->dbs,
        .monitor = &srv->monitor,
        .srv = srv,
        .notify = &srv->notify,
        .extra = {extra_save, extra_load, srv},
        .extra_reset = extra_reset,
        .observer = {reply_begin, ran, reply_end, srv},
    };
    sm_init(&srv->sm, &sme, util_rand64(&srv->rng));
    evict_init(&srv->evict);
}

static int start(struct server *srv, struct ev_loop *loop, void (*flush_replies)(void *ud),
                 bool simulated, char *err, size_t errlen)
{
    /* the users before the log is read: its ACL writes apply to them */
    if (aclstate_init(srv, err, errlen) != 0) return -1;
    if (dispatch_renames_init(srv, err, errlen) != 0) return -1;
    struct node_env ne = {
        .cfg = &srv->cfg,
        .sm = &srv->sm,
        .waiters = &srv->waiters,
        .loop = loop,
        .seed = util_rand64(&srv->rng),
        .flush_replies = flush_replies,
        .ud = srv,
        .snapshot_wait = simulated,
        .tls = srv->cfg.tls_cluster ? srv->tls : NULL,
    };
    return node_init(&srv->node, &ne, err, errlen);
}

int replica_start_offline(struct server *srv, char *err, size_t errlen)
{
    if (aclstate_init(srv, err, errlen) != 0) return -1;
    return dispatch_renames_init(srv, err, errlen);
}

int replica_start(struct server *srv, struct ev_loop *loop, void (*flush_replies)(void *ud),
                  char *err, size_t errlen)
{
    return start(srv, loop, flush_replies, false, err, errlen);
}

int replica_start_simulated(struct server *srv, void (*flush_replies)(void *ud), char *err,
                            size_t errlen)
{
    return start(srv, NULL, flush_replies, true, err, errlen);
}

/* A node that stopped leading lets its blocked clients go once it knows
 * the new leader (they get -MOVED to it and follow), or after two election
 * timeouts without one (-CLUSTERDOWN): not before, so that a leadership
 * transfer sends them where to retry, and never later, so that no client
 * hangs on a node cut off from the cluster. */
static void release_blocked_if_not_leading(struct server *srv, int64_t now_ms)
{
    struct blocked *b = &srv->blocked;
    if (node_is_leader(srv->node)) {
        b->leaderless_since_ms = 0;
        return;
    }
    if (!b->n_clients) return;
    if (!b->leaderless_since_ms) b->leaderless_since_ms = now_ms;
    if (node_leader(srv->node) ||
        now_ms - b->leaderless_since_ms >= 2 * srv->cfg.raft_election_timeout_ms)
        blocked_release_all(b);
}

void replica_wake_blocked(struct server *srv)
{
    struct blocked *b = &srv->blocked;
    int64_t now = server_now_ms();
    release_blocked_if_not_leading(srv, now);
    if (b->n_ready) blocked_serve_ready(b, srv->dbs.db, now);
    if (srv->replwait.n)
        replwait_check(&srv->replwait, srv->node, &srv->waiters,
                       now); /* followers' acks, WAIT's timeouts */
}

void replica_cron(struct server *srv)
{
    int64_t now = server_now_ms();
    pause_cron(&srv->pause, &srv->waiters, now);
    blocked_expire(&srv->blocked, now);
    replica_wake_blocked(srv);
    update_lru_clock(srv);
    kv_dbs_cron(&srv->dbs);
    tracking_cron(srv);
    if (node_is_leader(srv->node)) {
        /* a paused node deletes nothing, nor a replica of a Redis master
         * (its DELs do: src/server/replof.h), as Redis */
        if (!srv->pause.end_ms && !replof_active(srv)) active_expire(srv);
    } else if (expiring_count(&srv->sm.expiring)) {
        expiring_reset(&srv->sm.expiring); /* not leading: those proposals may be lost */
    }
    if (!srv->pause.end_ms || !node_is_leader(srv->node)) memory_cron(srv);
}

void replica_free(struct server *srv)
{
    replof_free(srv);
    struct persist_env env = server_persist_env(srv);
    persist_free(&env); /* a BGSAVE's file half written: useless */
    node_free(srv->node);
    srv->node = NULL;
    kv_dbs_free(&srv->dbs);
    evict_free(&srv->evict);
    sm_free(&srv->sm);
    multi_free(srv);
    tracking_free(srv->tracking);
    srv->tracking = NULL;
    dict_free(&srv->client_ids, NULL);
    blocked_free(&srv->blocked);
    replwait_free(&srv->replwait);
    pubsub_free(&srv->pubsub);
    monitors_free(&srv->monitors);
    pause_free(&srv->pause);
    function_registry_free(srv->functions); /* its functions live in the engine */
    srv->functions = NULL;
    script_engine_free(srv->scripts);
    script_engine_free(srv->fn_scripts);
    srv->scripts = srv->fn_scripts = NULL;
    waiters_free(&srv->waiters);
    aclstate_free(srv);
    cmd_renames_free(&srv->renames);
}
