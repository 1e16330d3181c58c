/*
 * src/config/config_redis.c - Redis 7.0's directives that raftcache does not
 * apply, so that a redis.conf (Debian's /etc/redis/redis.conf) starts a
 * node unchanged but for its ports and paths. Each row says why the
 * directive does not apply (its doc), grouped by reason:
 *   - accepted whatever its value: a subsystem raftcache does not have
 *     (RDB and AOF files, Redis replication and Redis Cluster's bus) or
 *     does its own way (memory and process tuning). The value is kept for
 *     CONFIG GET; config_redis_report() lists the ones a file or the
 *     command line set, once at start-up, with the reasons;
 *   - accepted only at the value that leaves the feature off (tls-port 0,
 *     syslog-enabled no...): anything else is refused with the reason, as
 *     a feature that is not there must not look as if it were;
 *   - refused whatever the value (replicaof): it asks for something
 *     raftcache does another way, and the error says which.
 * docs/redis-conf.md has the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "config/config.h"
#include "config/config_int.h"
#include "raft/raft_assert.h"

#define WHY_FILES "persistence is the Raft log and its snapshots, not RDB or AOF files"
#define WHY_FSYNC                                                                                  \
    "a write is acknowledged once a majority has it fsynced in its Raft log (raft-log-fsync)"
#define WHY_REPL "replicas are the Raft group's other members (cluster-members)"
#define WHY_CLUSTER "the cluster is the Raft group (cluster-members), not Redis Cluster's bus"
#define WHY_TUNING "raftcache sizes and schedules this work itself"
#define WHY_PROCESS "raftcache does not offer this process feature"
#define WHY_NOT_YET "raftcache does not offer this feature yet"
#define WHY_SANITIZE                                                                               \
    "RESTORE checks every payload whole, as with yes: every node applying it must refuse alike"

static int set_kept(struct config *c, const struct config_def *d, int argc, const char *const *argv,
                    char *err, size_t errlen);
static int format_kept(const struct config *c, const struct config_def *d, char *buf, size_t len);
static int set_refused(struct config *c, const struct config_def *d, int argc,
                       const char *const *argv, char *err, size_t errlen);

static const struct config_special kept_special = {set_kept, format_kept, NULL};
static const struct config_special refused_special = {set_refused, config_format_fixed, NULL};

#define KEPT(n, d, why)                                                                            \
    {                                                                                              \
        n, CONFIG_SPECIAL, 0, d, 0, 0, NULL, CONFIG_MULTI_ARG, &kept_special, NULL, why            \
    }
#define ONLY(n, d, why)                                                                            \
    {                                                                                              \
        n, CONFIG_SPECIAL, 0, d, 0, 0, NULL, CONFIG_MULTI_ARG, &config_fixed_special, NULL, why    \
    }
#define SECRET(n, why)                                                                             \
    {                                                                                              \
        n, CONFIG_SPECIAL, 0, "", 0, 0, NULL, CONFIG_MULTI_ARG | CONFIG_SENSITIVE, &kept_special,  \
            NULL, why                                                                              \
    }
#define REFUSED(n, why)                                                                            \
    {                                                                                              \
        n, CONFIG_SPECIAL, 0, "", 0, 0, NULL, CONFIG_MULTI_ARG | CONFIG_IMMUTABLE,                 \
            &refused_special, NULL, why                                                            \
    }

const struct config_def config_redis_defs[] = {
    KEPT("active-defrag-cycle-max", "25", WHY_TUNING),
    KEPT("active-defrag-cycle-min", "1", WHY_TUNING),
    KEPT("active-defrag-ignore-bytes", "104857600", WHY_TUNING),
    KEPT("active-defrag-max-scan-fields", "1000", WHY_TUNING),
    KEPT("active-defrag-threshold-lower", "10", WHY_TUNING),
    KEPT("active-defrag-threshold-upper", "100", WHY_TUNING),
    KEPT("active-expire-effort", "1", WHY_TUNING),
    KEPT("activedefrag", "no", WHY_TUNING),
    KEPT("activerehashing", "yes", WHY_TUNING),
    KEPT("aof-disable-auto-gc", "no", WHY_FILES),
    KEPT("aof-load-truncated", "yes", WHY_FILES),
    KEPT("aof-rewrite-incremental-fsync", "yes", WHY_FILES),
    KEPT("aof-timestamp-enabled", "no", WHY_FILES),
    KEPT("aof-use-rdb-preamble", "yes", WHY_FILES),
    KEPT("aof_rewrite_cpulist", "", WHY_FILES),
    KEPT("appenddirname", "appendonlydir", WHY_FILES),
    KEPT("appendfilename", "appendonly.aof", WHY_FILES),
    KEPT("appendonly", "no", WHY_FILES),
    KEPT("appendfsync", "everysec", WHY_FSYNC),
    KEPT("auto-aof-rewrite-min-size", "67108864", WHY_FILES),
    KEPT("auto-aof-rewrite-percentage", "100", WHY_FILES),
    KEPT("bgsave_cpulist", "", WHY_FILES),
    KEPT("bind-source-addr", "", WHY_PROCESS),
    KEPT("bio_cpulist", "", WHY_PROCESS),
    KEPT("cluster-allow-pubsubshard-when-down", "yes", WHY_CLUSTER),
    KEPT("cluster-allow-reads-when-down", "no", WHY_CLUSTER),
    KEPT("cluster-allow-replica-migration", "yes", WHY_CLUSTER),
    KEPT("cluster-announce-bus-port", "0", WHY_CLUSTER),
    KEPT("cluster-announce-hostname", "", WHY_CLUSTER),
    KEPT("cluster-announce-ip", "", WHY_CLUSTER),
    KEPT("cluster-announce-port", "0", WHY_CLUSTER),
    KEPT("cluster-announce-tls-port", "0", WHY_CLUSTER),
    KEPT("cluster-config-file", "nodes.conf", WHY_CLUSTER),
    KEPT("cluster-enabled", "no", WHY_CLUSTER),
    KEPT("cluster-link-sendbuf-limit", "0", WHY_CLUSTER),
    KEPT("cluster-migration-barrier", "1", WHY_CLUSTER),
    KEPT("cluster-node-timeout", "15000", WHY_CLUSTER),
    KEPT("cluster-port", "0", WHY_CLUSTER),
    KEPT("cluster-preferred-endpoint-type", "ip", WHY_CLUSTER),
    KEPT("cluster-replica-no-failover", "no", WHY_CLUSTER),
    KEPT("cluster-replica-validity-factor", "10", WHY_CLUSTER),
    KEPT("cluster-require-full-coverage", "yes", WHY_CLUSTER),
    KEPT("cluster-slave-no-failover", "no", WHY_CLUSTER),
    KEPT("cluster-slave-validity-factor", "10", WHY_CLUSTER),
    KEPT("crash-log-enabled", "yes", WHY_PROCESS),
    KEPT("crash-memcheck-enabled", "yes", WHY_PROCESS),
    KEPT("disable-thp", "yes", WHY_PROCESS),
    KEPT("dynamic-hz", "yes", WHY_TUNING),
    KEPT("enable-module-command", "no", WHY_NOT_YET),
    KEPT("enable-protected-configs", "no", WHY_PROCESS),
    KEPT("ignore-warnings", "", WHY_PROCESS),
    KEPT("io-threads", "1", WHY_TUNING),
    KEPT("io-threads-do-reads", "no", WHY_TUNING),
    KEPT("jemalloc-bg-thread", "yes", WHY_TUNING),
    KEPT("lazyfree-lazy-eviction", "no", WHY_TUNING),
    KEPT("lazyfree-lazy-expire", "no", WHY_TUNING),
    KEPT("lazyfree-lazy-server-del", "no", WHY_TUNING),
    KEPT("lazyfree-lazy-user-del", "no", WHY_TUNING),
    KEPT("lazyfree-lazy-user-flush", "no", WHY_TUNING),
    ONLY("maxmemory-clients", "0", WHY_NOT_YET),
    KEPT("min-replicas-max-lag", "10", WHY_REPL),
    KEPT("min-replicas-to-write", "0", WHY_REPL),
    KEPT("min-slaves-max-lag", "10", WHY_REPL),
    KEPT("min-slaves-to-write", "0", WHY_REPL),
    KEPT("no-appendfsync-on-rewrite", "no", WHY_FSYNC),
    KEPT("oom-score-adj", "no", WHY_PROCESS),
    KEPT("oom-score-adj-values", "0 200 800", WHY_PROCESS),
    KEPT("proc-title-template", "{title} {listen-addr} {server-mode}", WHY_PROCESS),
    KEPT("propagation-error-behavior", "ignore", WHY_REPL),
    KEPT("rdb-del-sync-files", "no", WHY_FILES),
    KEPT("rdb-save-incremental-fsync", "yes", WHY_FILES),
    KEPT("rdbchecksum", "yes", WHY_FILES),
    KEPT("rdbcompression", "yes", WHY_FILES),
    KEPT("repl-backlog-size", "1048576", WHY_REPL),
    KEPT("repl-backlog-ttl", "3600", WHY_REPL),
    KEPT("repl-disable-tcp-nodelay", "no", WHY_REPL),
    KEPT("repl-diskless-load", "disabled", WHY_REPL),
    KEPT("repl-diskless-sync", "yes", WHY_REPL),
    KEPT("repl-diskless-sync-delay", "5", WHY_REPL),
    KEPT("repl-diskless-sync-max-replicas", "0", WHY_REPL),
    KEPT("repl-ping-replica-period", "10", WHY_REPL),
    KEPT("repl-ping-slave-period", "10", WHY_REPL),
    KEPT("replica-announce-ip", "", WHY_REPL),
    KEPT("replica-announce-port", "0", WHY_REPL),
    KEPT("replica-announced", "yes", WHY_REPL),
    KEPT("replica-ignore-disk-write-errors", "no", WHY_REPL),
    KEPT("replica-ignore-maxmemory", "yes", WHY_REPL),
    KEPT("replica-lazy-flush", "no", WHY_REPL),
    KEPT("replica-priority", "100", WHY_REPL),
    KEPT("replica-read-only", "yes", WHY_REPL),
    KEPT("replica-serve-stale-data", "yes", WHY_REPL),
    REFUSED("replicaof", WHY_REPL),
    KEPT("save", "", WHY_FILES),
    KEPT("sanitize-dump-payload", "no", WHY_SANITIZE),
    KEPT("server_cpulist", "", WHY_PROCESS),
    KEPT("set-proc-title", "yes", WHY_PROCESS),
    KEPT("shutdown-on-sigint", "default", WHY_PROCESS),
    KEPT("shutdown-on-sigterm", "default", WHY_PROCESS),
    KEPT("shutdown-timeout", "10", WHY_PROCESS),
    KEPT("slave-announce-ip", "", WHY_REPL),
    KEPT("slave-announce-port", "0", WHY_REPL),
    KEPT("slave-ignore-maxmemory", "yes", WHY_REPL),
    KEPT("slave-lazy-flush", "no", WHY_REPL),
    KEPT("slave-priority", "100", WHY_REPL),
    KEPT("slave-read-only", "yes", WHY_REPL),
    KEPT("slave-serve-stale-data", "yes", WHY_REPL),
    REFUSED("slaveof", WHY_REPL),
    KEPT("socket-mark-id", "0", WHY_PROCESS),
    KEPT("stop-writes-on-bgsave-error", "yes", WHY_FILES),
    KEPT("stream-node-max-bytes", "4096", WHY_TUNING),
    KEPT("stream-node-max-entries", "100", WHY_TUNING),
    ONLY("syslog-enabled", "no", WHY_NOT_YET),
    KEPT("syslog-facility", "local0", WHY_NOT_YET),
    KEPT("syslog-ident", "redis", WHY_NOT_YET),
};
const int config_redis_defs_count = (int)(sizeof config_redis_defs / sizeof config_redis_defs[0]);

/* The row's place, which is its value's in config.redis_values. */
static int row_of(const struct config_def *d)
{
    ptrdiff_t i = d - config_redis_defs;
    ASSERT(i >= 0 && i < config_redis_defs_count && i < CONFIG_REDIS_DEFS_MAX);
    return (int)i;
}

static int set_kept(struct config *c, const struct config_def *d, int argc, const char *const *argv,
                    char *err, size_t errlen)
{
    /* No word: an empty value, for a directive that may be empty (save) */
    if (argc == 0 && d->default_text[0])
        return util_fail(err, errlen, CONFIG_ERR_VALUE, "wrong number of arguments");
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *v = util_xmalloc(n);
    struct config_out o = config_out_start(v, n);
    for (int i = 0; i < argc; i++)
        config_out_printf(&o, "%s%s", i ? " " : "", argv[i]);
    char **slot = &c->redis_values[row_of(d)];
    free(*slot);
    *slot = v;
    return 0;
}

static int format_kept(const struct config *c, const struct config_def *d, char *buf, size_t len)
{
    const char *v = c->redis_values[row_of(d)];
    return snprintf(buf, len, "%s", v ? v : d->default_text);
}

void config_redis_free(struct config *c)
{
    for (int i = 0; i < CONFIG_REDIS_DEFS_MAX; i++) {
        free(c->redis_values[i]);
        c->redis_values[i] = NULL;
    }
}

static int set_refused(struct config *c, const struct config_def *d, int argc,
                       const char *const *argv, char *err, size_t errlen)
{
    (void)c, (void)argv;
    if (argc == 1 && !argv[0][0]) return 0; /* the empty default */
    return util_fail(err, errlen, CONFIG_ERR_VALUE, "not supported: %s", d->doc);
}

const struct config_def *config_redis_lookup(const char *name)
{
    for (int i = 0; i < config_redis_defs_count; i++)
        if (!strcasecmp(name, config_redis_defs[i].name)) return &config_redis_defs[i];
    return NULL;
}

/* The first row with d's reason. */
static int first_with_reason(int i)
{
    for (int k = 0; k < i; k++)
        if (!strcmp(config_redis_defs[k].doc, config_redis_defs[i].doc)) return 0;
    return 1;
}

/* One line per reason, naming the directives set to it (a file or the
 * command line gave them a value); a line that would pass max bytes goes
 * on in another. */
void config_redis_report(const struct config *c, size_t max, config_report_fn *fn, void *ud)
{
    char line[1024];
    ASSERT(max >= 256 && max <= sizeof line);
    for (int i = 0; i < config_redis_defs_count; i++) {
        if (!first_with_reason(i)) continue;
        const char *why = config_redis_defs[i].doc;
        struct config_out o = config_out_start(line, max);
        config_out_printf(&o, "%s; accepted, not applied:", why);
        int names = 0;
        for (int k = i; k < config_redis_defs_count; k++) {
            const struct config_def *d = &config_redis_defs[k];
            if (strcmp(d->doc, why) || !c->redis_values[k]) continue;
            if (names && o.n + strlen(d->name) + 2 >= max) {
                fn(ud, line);
                o = config_out_start(line, max);
                config_out_printf(&o, "%s; accepted, not applied:", why);
                names = 0;
            }
            config_out_printf(&o, "%s %s", names ? "," : "", d->name);
            names++;
        }
        if (names) fn(ud, line);
    }
}
