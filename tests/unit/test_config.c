/*
 * tests/unit/test_config.c - the config table (file, include, command line,
 * defaults, shipped file) and the log, as an operator sees them; CONFIG
 * SET/GET in test_config_set.c.
 *
 * Run from the repository root: one test loads conf/raftcache.conf.
 */
#include "config_fixture.h"

/* ------------------------------------------------------------- defaults */

static void test_defaults(void **state)
{
    struct fx *f = *state;
    struct config *c = &f->cfg;
    assert_int_equal(c->bind_count, 1);
    assert_string_equal(c->bind[0], "127.0.0.1");
    assert_int_equal(c->port, 6379);
    assert_string_equal(c->dir, "./data");
    assert_int_equal(c->node_id, 1);
    assert_int_equal(c->members_count, 0);
    assert_string_equal(c->advertise_addr, "");
    assert_int_equal(c->requirepass.len, 0);
    assert_string_equal(c->requirepass.ptr, "");
    assert_int_equal(c->raft_secret.len, 0);
    assert_string_equal(c->raft_secret.ptr, "");
    assert_int_equal(c->protected_mode, 1);
    assert_int_equal(c->loglevel, LOG_LEVEL_NOTICE);
    assert_string_equal(c->logfile, "");
    assert_int_equal(c->maxclients, 10000);
    assert_int_equal(c->timeout, 0);
    assert_int_equal(c->tcp_keepalive, 300);
    assert_int_equal(c->tcp_backlog, 511);
    assert_int_equal(c->proto_max_bulk_len, 512LL * 1024 * 1024);
    assert_int_equal(c->client_query_buffer_limit, 1024LL * 1024 * 1024);
    /* unlike Redis's 0: a reader that never reads costs at most 1gb, and the
     * largest reply a client can cause (one proto-max-bulk-len value) fits */
    assert_int_equal(c->obuf_hard_limit, 1024LL * 1024 * 1024);
    assert_true(c->obuf_hard_limit > c->proto_max_bulk_len);
    assert_int_equal(c->obuf_soft_limit, 0);
    assert_int_equal(c->obuf_soft_seconds, 0);
    assert_int_equal(c->obuf_replica.hard_bytes, 256LL * 1024 * 1024);
    assert_int_equal(c->obuf_pubsub.soft_seconds, 60);
    assert_int_equal(c->hz, 10);
    assert_int_equal(c->maxmemory, 0);
    assert_int_equal(c->maxmemory_policy, CONFIG_MAXMEMORY_NOEVICTION);
    assert_int_equal(c->databases, 16);
    assert_int_equal(c->raft_election_timeout_ms, 1000);
    assert_int_equal(c->raft_heartbeat_ms, 100);
    assert_int_equal(c->raft_snapshot_threshold, 100000);
    assert_int_equal(c->raft_log_fsync, 1);
    assert_int_equal(c->raft_read_mode, CONFIG_READ_LINEARIZABLE);
    assert_int_equal(c->raft_max_inflight_msgs, 64);
    assert_int_equal(c->raft_max_entries_per_msg, 512);
    assert_int_equal(c->raft_request_timeout_ms, 5000);
    assert_int_equal(config_check(c, f->err, sizeof f->err), 0);
}

static void test_get_formats(void **state)
{
    struct fx *f = *state;
    assert_string_equal(get(f, "raft-log-fsync"), "yes");
    assert_string_equal(get(f, "raft-follower-proxy"), "no");
    assert_string_equal(get(f, "proto-max-bulk-len"), "536870912");
    assert_string_equal(get(f, "maxmemory-policy"), "noeviction");
    assert_string_equal(get(f, "loglevel"), "notice");
    assert_string_equal(get(f, "save"), "");
    assert_string_equal(get(f, "daemonize"), "no");
    assert_string_equal(get(f, "client-output-buffer-limit"),
                        "normal 1073741824 0 0 slave 268435456 67108864 60 "
                        "pubsub 33554432 8388608 60");
    /* the snprintf contract: full length returned even when truncated */
    char small[4];
    const struct config_def *d = config_lookup("client-output-buffer-limit");
    int n = config_format_value(&f->cfg, d, small, sizeof small);
    assert_int_equal(n, (int)strlen(get(f, "client-output-buffer-limit")));
    assert_string_equal(small, "nor");
}

/* ------------------------------------------------------ types and errors */

static void test_bool(void **state)
{
    struct fx *f = *state;
    set_ok(f, "raft-log-fsync", "NO");
    assert_int_equal(f->cfg.raft_log_fsync, 0);
    set_ok(f, "raft-log-fsync", "yes");
    assert_int_equal(f->cfg.raft_log_fsync, 1);
    set_fails(f, "raft-log-fsync", "1", CONFIG_ERR_VALUE,
              FAILED("raft-log-fsync") "argument must be 'yes' or 'no'");
    assert_int_equal(f->cfg.raft_follower_proxy, 0);
    set_ok(f, "raft-follower-proxy", "yes");
    assert_int_equal(f->cfg.raft_follower_proxy, 1);
    assert_string_equal(get(f, "raft-follower-proxy"), "yes");
    set_fails(f, "raft-follower-proxy", "on", CONFIG_ERR_VALUE,
              FAILED("raft-follower-proxy") "argument must be 'yes' or 'no'");
    assert_int_equal(f->cfg.raft_follower_proxy, 1);
    set_ok(f, "raft-follower-proxy", "no");
    assert_int_equal(f->cfg.raft_follower_proxy, 0);
}

static void test_int(void **state)
{
    struct fx *f = *state;
    set_ok(f, "hz", "500");
    assert_int_equal(f->cfg.hz, 500);
    set_fails(f, "hz", "501", CONFIG_ERR_VALUE,
              FAILED("hz") "argument must be between 1 and 500 inclusive");
    set_fails(f, "hz", "0", CONFIG_ERR_VALUE,
              FAILED("hz") "argument must be between 1 and 500 inclusive");
    set_fails(f, "hz", "ten", CONFIG_ERR_VALUE,
              FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(f, "hz", " 10", CONFIG_ERR_VALUE,
              FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(f, "hz", "10k", CONFIG_ERR_VALUE,
              FAILED("hz") "argument couldn't be parsed into an integer");
    set_fails(f, "timeout", "-1", CONFIG_ERR_VALUE,
              FAILED("timeout") "argument must be between 0 and 2147483647 inclusive");
    assert_int_equal(f->cfg.hz, 500);
    assert_int_equal(f->cfg.timeout, 0);
}

static void test_memory(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *text;
        long long bytes;
    } ok[] = {
        {"0", 0},         {"100", 100},         {"100b", 100},      {"1k", 1000},
        {"1kb", 1024},    {"1K", 1000},         {"1KB", 1024},      {"2m", 2000000},
        {"2mb", 2097152}, {"3g", 3000000000LL}, {"3gb", 3LL << 30}, {"1Gb", 1LL << 30},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        set_ok(f, "maxmemory", ok[i].text);
        assert_int_equal(f->cfg.maxmemory, ok[i].bytes);
        assert_int_equal(strtoll(get(f, "maxmemory"), NULL, 10), ok[i].bytes);
    }
    static const char *const bad[] = {"", "1tb", "k", "-1", "1.5gb", "1 gb", "gb1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        set_fails(f, "maxmemory", bad[i], CONFIG_ERR_VALUE,
                  FAILED("maxmemory") "argument must be a memory value");
    assert_int_equal(f->cfg.maxmemory, 1LL << 30);
    /* proto-max-bulk-len has Redis's 1mb floor, and a 4gb ceiling */
    const char *bulk_bad[] = {"1000kb", "5gb", "9223372036854775807"};
    for (size_t i = 0; i < sizeof bulk_bad / sizeof bulk_bad[0]; i++)
        set_fails(f, "proto-max-bulk-len", bulk_bad[i], CONFIG_ERR_VALUE,
                  FAILED("proto-max-bulk-len") "argument must be between 1048576 and "
                                               "4294967296 inclusive");
    set_ok(f, "proto-max-bulk-len", "4gb");
    set_ok(f, "proto-max-bulk-len", "1mb");
    assert_int_equal(f->cfg.proto_max_bulk_len, 1048576);
}

static void test_enum(void **state)
{
    struct fx *f = *state;
    set_fails(f, "loglevel", "loud", CONFIG_ERR_VALUE,
              FAILED("loglevel") "argument(s) must be one of the following: debug, verbose, "
                                 "notice, warning");
    set_ok(f, "loglevel", "warning");
    assert_int_equal(f->cfg.loglevel, LOG_LEVEL_WARNING);
    set_ok(f, "loglevel", "DEBUG");
    assert_int_equal(f->cfg.loglevel, LOG_LEVEL_DEBUG);
    /* unixsocketperm: octal, as Redis parses it. */
    assert_int_equal(load_text(f, "unixsocket /run/x.sock\nunixsocketperm 770\n"), CONFIG_OK);
    assert_string_equal(f->cfg.unixsocket, "/run/x.sock");
    assert_int_equal(f->cfg.unixsocketperm, 0770);
    assert_string_equal(get(f, "unixsocketperm"), "770");
    assert_int_equal(load_text(f, "unixsocketperm 999\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "argument couldn't be parsed as an octal number");
    assert_int_equal(load_text(f, "unixsocketperm 1777\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "argument must be between 0 and 777 inclusive");
    /* Redis's process directives: read at start only. */
    assert_int_equal(load_text(f, "supervised systemd\ndaemonize yes\npidfile /run/x.pid\n"),
                     CONFIG_OK);
    assert_int_equal(f->cfg.supervised, CONFIG_SUPERVISED_SYSTEMD);
    assert_int_equal(f->cfg.daemonize, 1);
    assert_string_equal(f->cfg.pidfile, "/run/x.pid");
    assert_int_equal(load_text(f, "supervised launchd\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "one of the following: no, upstart, systemd, auto");
    set_fails(f, "supervised", "auto", CONFIG_ERR_IMMUTABLE,
              FAILED("supervised") "can't set immutable config");
    /* The Raft core's settings are fixed when it is created. */
    set_fails(f, "raft-read-mode", "lease", CONFIG_ERR_IMMUTABLE,
              FAILED("raft-read-mode") "can't set immutable config");
}

#define POLICY_NAMES                                                                               \
    "argument(s) must be one of the following: noeviction, allkeys-lru, allkeys-lfu, "             \
    "allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl"

/* Redis's eight policies, any case, from CONFIG SET, a file or the command
 * line; anything else is refused with Redis's list of the names. */
static void test_maxmemory_policies(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *name;
        int policy;
    } all[] = {
        {"NOEVICTION", CONFIG_MAXMEMORY_NOEVICTION},
        {"allkeys-lru", CONFIG_MAXMEMORY_ALLKEYS_LRU},
        {"allkeys-lfu", CONFIG_MAXMEMORY_ALLKEYS_LFU},
        {"allkeys-random", CONFIG_MAXMEMORY_ALLKEYS_RANDOM},
        {"volatile-lru", CONFIG_MAXMEMORY_VOLATILE_LRU},
        {"volatile-lfu", CONFIG_MAXMEMORY_VOLATILE_LFU},
        {"Volatile-Random", CONFIG_MAXMEMORY_VOLATILE_RANDOM},
        {"volatile-ttl", CONFIG_MAXMEMORY_VOLATILE_TTL},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        set_ok(f, "maxmemory-policy", all[i].name);
        assert_int_equal(f->cfg.maxmemory_policy, all[i].policy);
        assert_string_equal(config_maxmemory_policy_name(all[i].policy),
                            get(f, "maxmemory-policy"));
    }
    assert_string_equal(get(f, "maxmemory-policy"), "volatile-ttl");
    set_fails(f, "maxmemory-policy", "lru", CONFIG_ERR_VALUE,
              FAILED("maxmemory-policy") POLICY_NAMES);
    assert_string_equal(get(f, "maxmemory-policy"), "volatile-ttl");
    assert_int_equal(load_text(f, "maxmemory-policy allkeys-lru\n"), 0);
    assert_int_equal(f->cfg.maxmemory_policy, CONFIG_MAXMEMORY_ALLKEYS_LRU);
    char *argv[] = {"raftcache", "--maxmemory-policy", "volatile", NULL};
    assert_int_equal(config_load_args(&f->cfg, 3, argv, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_contains(f->err,
                    "command line argument 1\n>>> 'maxmemory-policy volatile'\n" POLICY_NAMES);
    assert_int_equal(config_set(&f->cfg, "maxmemory-samples", "0", f->err, sizeof f->err),
                     CONFIG_ERR_VALUE);
    assert_int_equal(
        config_set(&f->cfg, "maxmemory-eviction-tenacity", "101", f->err, sizeof f->err),
        CONFIG_ERR_VALUE);
    set_ok(f, "lfu-log-factor", "0");
    set_ok(f, "lfu-decay-time", "0");
}

static void test_string(void **state)
{
    struct fx *f = *state;
    set_ok(f, "requirepass", "s3cret with spaces");
    assert_string_equal(f->cfg.requirepass.ptr, "s3cret with spaces");
    set_ok(f, "requirepass", "");
    assert_int_equal(f->cfg.requirepass.len, 0);
    assert_int_equal(load_text(f, "dir \"\"\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "dir can't be empty");
    assert_int_equal(load_text(f, "advertise-addr 10.0.0.1\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "is not HOST:PORT");
    assert_int_equal(load_text(f, "advertise-addr [::1]:7000\n"), 0);
    char host[CONFIG_HOST_MAX];
    int port;
    config_advertise(&f->cfg, host, &port);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 7000);
}

static void test_fixed_directives(void **state)
{
    struct fx *f = *state;
    set_ok(f, "save", "");
    set_ok(f, "appendonly", "no");
    /* Redis's persistence directives are kept, not applied: the Raft log
     * is the persistence (docs/redis-conf.md). */
    set_ok(f, "save", "900 1");
    assert_string_equal(get(f, "save"), "900 1");
    set_ok(f, "appendonly", "yes");
    assert_int_equal(load_text(f, "daemonize no\nsave \"\"\nsave\nappendonly\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, ":4\n>>> 'appendonly'\nwrong number of arguments");
    assert_int_equal(load_text(f, "databases 65537\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "argument must be between 1 and 65536 inclusive");
}

static void test_bind(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load_text(f, "bind 127.0.0.1 ::1\n"), 0);
    assert_int_equal(f->cfg.bind_count, 2);
    assert_string_equal(f->cfg.bind[1], "::1");
    assert_string_equal(get(f, "bind"), "127.0.0.1 ::1");
    assert_int_equal(load_text(f, "bind \"10.0.0.1 *\"\n"), 0); /* one word is split */
    assert_int_equal(f->cfg.bind_count, 2);
    assert_string_equal(f->cfg.bind[1], "*");
    assert_int_equal(load_text(f, "bind localhost\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "bind address 'localhost' is not a numeric IPv4 or IPv6 address");
    assert_int_equal(load_text(f, "bind 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 "
                                  "1.1.1.8 1.1.1.9 1.1.1.10 1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 "
                                  "1.1.1.15 1.1.1.16 1.1.1.17\n"),
                     CONFIG_ERR_VALUE);
    assert_contains(f->err, "Too many bind addresses specified.");
    assert_int_equal(f->cfg.bind_count, 2); /* a refused line changes nothing */
}

static void test_obuf_limit(void **state)
{
    struct fx *f = *state;
    set_ok(f, "client-output-buffer-limit", "normal 1mb 512kb 10");
    assert_int_equal(f->cfg.obuf_hard_limit, 1048576);
    assert_int_equal(f->cfg.obuf_soft_limit, 524288);
    assert_int_equal(f->cfg.obuf_soft_seconds, 10);
    /* the other classes keep their values, as in Redis */
    assert_string_equal(get(f, "client-output-buffer-limit"),
                        "normal 1048576 524288 10 slave 268435456 67108864 60 "
                        "pubsub 33554432 8388608 60");
    set_ok(f, "client-output-buffer-limit", "slave 1 2 3 pubsub 4 5 6");
    assert_int_equal(f->cfg.obuf_replica.soft_seconds, 3);
    assert_int_equal(f->cfg.obuf_pubsub.hard_bytes, 4);
    set_fails(f, "client-output-buffer-limit", "normal 1 2", CONFIG_ERR_VALUE,
              FAILED("client-output-buffer-limit") "Wrong number of arguments in buffer limit "
                                                   "configuration.");
    set_fails(f, "client-output-buffer-limit", "master 1 2 3", CONFIG_ERR_VALUE,
              FAILED("client-output-buffer-limit") "Invalid client class specified in buffer "
                                                   "limit configuration.");
    set_fails(f, "client-output-buffer-limit", "normal 1 2 -3", CONFIG_ERR_VALUE,
              FAILED("client-output-buffer-limit") "Error in hard, soft or soft_seconds "
                                                   "setting in buffer limit configuration.");
    assert_int_equal(f->cfg.obuf_hard_limit, 1048576);
    /* Redis's unlimited default stays available */
    set_ok(f, "client-output-buffer-limit", "normal 0 0 0");
    assert_int_equal(f->cfg.obuf_hard_limit, 0);
    assert_string_equal(get(f, "client-output-buffer-limit"),
                        "normal 0 0 0 slave 1 2 3 pubsub 4 5 6");
}

/* -------------------------------------------------------- cluster-members */

static void test_members_valid(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load_text(f, "cluster-members 1=10.0.0.1:7001 2=node-b.example:7002 "
                                  "3=[fe80::1%eth0]:7003\n"),
                     0);
    struct config *c = &f->cfg;
    assert_int_equal(c->members_count, 3);
    assert_int_equal(c->members[1].id, 2);
    assert_string_equal(c->members[1].host, "node-b.example");
    assert_int_equal(c->members[1].port, 7002);
    assert_string_equal(c->members[2].host, "fe80::1%eth0");
    assert_string_equal(get(f, "cluster-members"),
                        "1=10.0.0.1:7001 2=node-b.example:7002 3=[fe80::1%eth0]:7003");
    assert_int_equal(load_text(f, "cluster-members \"\"\n"), 0);
    assert_int_equal(c->members_count, 0);
    assert_null(c->members);
}

static void test_members_invalid(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *line, *reason;
    } bad[] = {
        {"1=a:1 1=b:2", "node id 1 appears twice in cluster-members"},
        {"1=a:1 2=A:1", "address A:1 appears twice in cluster-members"},
        {"0=a:1", "entry '0=a:1': the id must be a positive integer"},
        {"-2=a:1", "the id must be a positive integer"},
        {"x=a:1", "the id must be a positive integer"},
        {"a:1", "cluster-members entry 'a:1' is not ID=HOST:PORT"},
        {"1=a", "'a' is not HOST:PORT"},
        {"1=a:0", "'a:0' needs a port between 1 and 65535"},
        {"1=a:65536", "needs a port between 1 and 65535"},
        {"1=a:", "needs a port between 1 and 65535"},
        {"1=:80", "':80' has no host"},
        {"1=::1:80", "write an IPv6 host in brackets"},
        {"1=[::1]80", "is not [HOST]:PORT"},
        {"1=a/b:80", "has a bad character in its host"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "cluster-members %s\n", bad[i].line);
        assert_int_equal(load_text(f, text), CONFIG_ERR_VALUE);
        assert_contains(f->err, bad[i].reason);
        assert_int_equal(f->cfg.members_count, 0);
    }
}

/* A Raft configuration holds at most 16 servers: a 17th member is refused
 * at start, not dropped. */
static void test_members_limit(void **state)
{
    struct fx *f = *state;
    assert_int_equal(CONFIG_MEMBERS_MAX, 16);
    char text[4096] = "raft-secret s\ncluster-members";
    for (int i = 1; i <= 16; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), " %d=h:%d", i, 1000 + i);
    assert_int_equal(load_text(f, text), 0);
    assert_int_equal(f->cfg.members_count, 16);
    snprintf(text + strlen(text), sizeof text - strlen(text), " 17=h:1017\n");
    assert_int_equal(load_text(f, text), CONFIG_ERR_VALUE);
    assert_contains(f->err, "test.conf:2\n");
    assert_contains(f->err, "17 cluster members: a Raft configuration holds at most 16");
    assert_int_equal(f->cfg.members_count, 16);
}

/* Peers authenticate with raft-secret: a cluster of several nodes without
 * one would start and never elect, so it does not start. */
static void test_members_need_raft_secret(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"raftcache", "--cluster-members", "1=a:1 2=b:2 3=c:3", NULL};
    assert_int_equal(config_load_args(&f->cfg, 3, argv, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_contains(f->err, "cluster-members names other nodes but raft-secret is empty");
    /* a node waiting to be added to others needs it as much */
    char *argv2[] = {"raftcache", "--cluster-members", "2=a:1", "--node-id", "3", NULL};
    assert_int_equal(config_load_args(&f->cfg, 5, argv2, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_contains(f->err, "raft-secret");
    /* itself alone is a one-member cluster */
    char *argv3[] = {"raftcache", "--cluster-members", "1=a:1", "--node-id", "1", NULL};
    assert_int_equal(config_load_args(&f->cfg, 5, argv3, f->err, sizeof f->err), 0);
    char *argv4[] = {"raftcache", "--cluster-members", "1=a:1 2=b:2", "--raft-secret", "s", NULL};
    assert_int_equal(config_load_args(&f->cfg, 5, argv4, f->err, sizeof f->err), 0);
}

/* A node needs its TCP port: Raft peers and redirected clients use it
 * (a unixsocket is served beside it), unless tls-cluster yes moves them to
 * tls-port. */
static int load_checked(struct fx *f, const char *text)
{
    config_free(&f->cfg);
    config_init_defaults(&f->cfg);
    int rc = load_text(f, text);
    return rc ? rc : config_check(&f->cfg, f->err, sizeof f->err);
}

static void test_port_zero(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load_checked(f, "port 7000\nport 0\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "port 0 would disable the TCP listener");
    assert_contains(f->err, "Raft peers and redirected clients need");
    char *argv[] = {"raftcache", "--port", "0", NULL};
    assert_int_equal(config_load_args(&f->cfg, 3, argv, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_contains(f->err, "port 0 would disable the TCP listener");
    assert_int_equal(load_checked(f, "port 1\n"), 0);
    assert_int_equal(load_checked(f, "port 0\ntls-port 7001\ntls-cluster yes\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "tls-cluster and tls-replication must be equal");
    assert_int_equal(
        load_checked(f, "port 0\ntls-port 7001\ntls-cluster yes\ntls-replication yes\n"), 0);
    char host[CONFIG_HOST_MAX];
    int port;
    config_advertise(&f->cfg, host, &port);
    assert_int_equal(port, 7001); /* the peers dial tls-port */
    assert_int_equal(load_checked(f, "tls-cluster yes\ntls-replication yes\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "tls-cluster yes needs tls-port");
    assert_int_equal(load_checked(f, "tls-port 7001\ntls-cluster yes\ntls-replication yes\n"
                                     "tls-auth-clients no\n"),
                     CONFIG_ERR_VALUE);
    assert_contains(f->err, "needs tls-auth-clients yes or optional");
}

static void test_members_need_own_id(void **state)
{
    struct fx *f = *state;
    /* A node that is not among the members waits to be added to them. */
    char *argv[] = {"raftcache", "--cluster-members", "2=a:1 3=b:2", "--raft-secret", "s", NULL};
    assert_int_equal(config_load_args(&f->cfg, 5, argv, f->err, sizeof f->err), 0);
    char *argv2[] = {"raftcache", "--cluster-members", "2=a:1 3=b:2", "--node-id",
                     "3",         "--raft-secret",     "s",           NULL};
    assert_int_equal(config_load_args(&f->cfg, 7, argv2, f->err, sizeof f->err), 0);
    char host[CONFIG_HOST_MAX];
    int port;
    config_advertise(&f->cfg, host, &port);
    assert_string_equal(host, "127.0.0.1"); /* advertise-addr unset: bind:port */
    assert_int_equal(port, 6379);
}

static void test_parse_hostport(void **state)
{
    (void)state;
    char host[CONFIG_HOST_MAX], err[256];
    int port = 0;
    assert_int_equal(config_parse_hostport("h:1", 3, host, &port, err, sizeof err), 0);
    assert_string_equal(host, "h");
    assert_int_equal(port, 1);
    /* the length is honoured: no terminator needed */
    assert_int_equal(config_parse_hostport("h:12345", 4, host, &port, err, sizeof err), 0);
    assert_int_equal(port, 12);
    char longhost[CONFIG_HOST_MAX + 8];
    memset(longhost, 'a', CONFIG_HOST_MAX);
    strcpy(longhost + CONFIG_HOST_MAX, ":1");
    assert_int_equal(
        config_parse_hostport(longhost, strlen(longhost), host, &port, err, sizeof err),
        CONFIG_ERR_VALUE);
    assert_contains(err, "host longer than 255 bytes");
}

/* ------------------------------------------------------ the file format */

static void test_file_syntax(void **state)
{
    struct fx *f = *state;
    int rc = load_text(f, "# a comment\n"
                          "\n"
                          "   \t\n"
                          "   # indented comment\n"
                          "PORT 7000\r\n"
                          "Hz 20\n"
                          "hz 30\n"
                          "  maxclients   77   \n"
                          "requirepass \"a \\\"b\\\" \\x41\\n\\t\\\\\"\n"
                          "raft-secret 'it\\'s \"raw\" \\n'\n"
                          "logfile pre\"fix ed\"\n");
    if (rc) fail_msg("%s", f->err);
    assert_int_equal(f->cfg.port, 7000);
    assert_int_equal(f->cfg.hz, 30); /* later lines win */
    assert_int_equal(f->cfg.maxclients, 77);
    assert_string_equal(f->cfg.requirepass.ptr, "a \"b\" A\n\t\\");
    assert_string_equal(f->cfg.raft_secret.ptr, "it's \"raw\" \\n");
    assert_string_equal(f->cfg.logfile, "prefix ed"); /* a quote may open mid-word */
}

static void test_file_errors(void **state)
{
    struct fx *f = *state;
    const char *path = write_file(f, "bad.conf", "port 7000\n\n# x\nport seventy\n");
    char where[300];
    assert_int_equal(config_load_file(&f->cfg, path, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    snprintf(where, sizeof where,
             "*** FATAL CONFIG FILE ERROR ***\n%s:4\n>>> 'port seventy'\n"
             "argument couldn't be parsed into an integer",
             path);
    assert_string_equal(f->err, where);
    assert_int_equal(f->cfg.port, 7000);

    assert_int_equal(load_text(f, "no-such-directive 1\n"), CONFIG_ERR_UNKNOWN);
    assert_contains(f->err, "test.conf:1\n>>> 'no-such-directive 1'\nBad directive or wrong "
                            "number of arguments");
    assert_int_equal(load_text(f, "hz 10 20\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "wrong number of arguments");
    assert_int_equal(load_text(f, "requirepass \"unterminated\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "Unbalanced quotes in configuration line");
    assert_int_equal(load_text(f, "requirepass \"ab\"cd\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "Unbalanced quotes in configuration line");
    assert_int_equal(load_text(f, "requirepass 'ab\n"), CONFIG_ERR_VALUE);
    /* a secret is not echoed back */
    assert_int_equal(load_text(f, "requirepass \"hunter2\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, ">>> 'requirepass (value hidden)'");
    assert_null(strstr(f->err, "hunter2"));

    snprintf(where, sizeof where, "%s/missing.conf", f->dir);
    assert_int_equal(config_load_file(&f->cfg, where, f->err, sizeof f->err), CONFIG_ERR_IO);
    assert_contains(f->err, "can't open config file");
    assert_contains(f->err, "No such file or directory");
    assert_int_equal(config_load_file(&f->cfg, f->dir, f->err, sizeof f->err), CONFIG_ERR_IO);
    assert_contains(f->err, "Is a directory");
}

static void test_long_line(void **state)
{
    struct fx *f = *state;
    size_t n = CONFIG_LINE_MAX + 100;
    char *text = malloc(n + 16);
    strcpy(text, "requirepass ");
    memset(text + 12, 'x', n - 12);
    strcpy(text + n, "\n");
    assert_int_equal(load_text(f, text), CONFIG_ERR_VALUE);
    assert_contains(f->err, "line longer than 65536 bytes");
    free(text);
}

static void test_include(void **state)
{
    struct fx *f = *state;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(f, "sub/inner.conf", "hz 40\nmaxclients 5\ninclude deeper.conf\n");
    write_file(f, "sub/deeper.conf", "timeout 9\n");
    write_file(f, "sub/main.conf", "hz 20\ninclude inner.conf\nmaxclients 6\n");
    char path[200];
    snprintf(path, sizeof path, "%s/sub/main.conf", f->dir);
    /* relative includes resolve from the including file, whatever the cwd */
    assert_int_equal(config_load_file(&f->cfg, path, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.hz, 40);
    assert_int_equal(f->cfg.maxclients, 6);
    assert_int_equal(f->cfg.timeout, 9);

    write_file(f, "sub/broken.conf", "hz 1\n\ninclude nothere.conf\n");
    snprintf(path, sizeof path, "%s/sub/broken.conf", f->dir);
    assert_int_equal(config_load_file(&f->cfg, path, f->err, sizeof f->err), CONFIG_ERR_IO);
    assert_contains(f->err, "broken.conf:3\n>>> 'include nothere.conf'\ncan't open config file");

    write_file(f, "sub/badinner.conf", "\nhz 0\n");
    write_file(f, "sub/outer.conf", "include badinner.conf\n");
    snprintf(path, sizeof path, "%s/sub/outer.conf", f->dir);
    assert_int_equal(config_load_file(&f->cfg, path, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_contains(f->err, "badinner.conf:2\n>>> 'hz 0'\nargument must be between 1 and 500");
}

static void test_include_cycle(void **state)
{
    struct fx *f = *state;
    write_file(f, "a.conf", "hz 11\ninclude b.conf\n");
    write_file(f, "b.conf", "include a.conf\n");
    char path[200];
    snprintf(path, sizeof path, "%s/a.conf", f->dir);
    assert_int_equal(config_load_file(&f->cfg, path, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_contains(f->err, "include nested more than 16 deep (an include cycle?)");
    /* exactly 16 files deep is allowed */
    for (int i = 1; i <= CONFIG_INCLUDE_DEPTH; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "d%d.conf", i);
        if (i < CONFIG_INCLUDE_DEPTH)
            snprintf(text, sizeof text, "include d%d.conf\n", i + 1);
        else
            snprintf(text, sizeof text, "hz %d\n", 100 + i);
        write_file(f, name, text);
    }
    snprintf(path, sizeof path, "%s/d1.conf", f->dir);
    assert_int_equal(config_load_file(&f->cfg, path, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.hz, 100 + CONFIG_INCLUDE_DEPTH);
}

/* ---------------------------------------------------------- command line */

static void test_args(void **state)
{
    struct fx *f = *state;
    char file[200];
    snprintf(file, sizeof file, "%s", write_file(f, "base.conf", "port 7000\nhz 20\n"));
    char *argv[] = {"raftcache",
                    file,
                    "--port",
                    "7001",
                    "--cluster-members",
                    "1=a:1 2=b:2",
                    "--raft-secret",
                    "s",
                    "--save",
                    "--bind",
                    "127.0.0.1",
                    "::1",
                    "--MAXMEMORY",
                    "1mb",
                    "--client-output-buffer-limit",
                    "normal",
                    "1",
                    "2",
                    "3",
                    NULL};
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1;
    assert_int_equal(config_load_args(&f->cfg, argc, argv, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.port, 7001); /* the command line overrides the file */
    assert_int_equal(f->cfg.hz, 20);
    assert_int_equal(f->cfg.members_count, 2);
    assert_int_equal(f->cfg.bind_count, 2);
    assert_int_equal(f->cfg.maxmemory, 1048576);
    assert_int_equal(f->cfg.obuf_soft_seconds, 3);
}

static void test_args_errors(void **state)
{
    struct fx *f = *state;
    char *a1[] = {"raftcache", "--port", "abc", NULL};
    assert_int_equal(config_load_args(&f->cfg, 3, a1, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_string_equal(f->err, "*** FATAL CONFIG FILE ERROR ***\ncommand line argument 1\n"
                                ">>> 'port abc'\nargument couldn't be parsed into an integer");
    char *a2[] = {"raftcache", "--hz", "5", "--bogus", "x", NULL};
    assert_int_equal(config_load_args(&f->cfg, 5, a2, f->err, sizeof f->err), CONFIG_ERR_UNKNOWN);
    assert_contains(f->err, "command line argument 3\n>>> 'bogus x'\nBad directive");
    char *a3[] = {"raftcache", "a.conf", "b.conf", NULL};
    snprintf(f->err, sizeof f->err, "%s", "");
    assert_int_equal(config_load_args(&f->cfg, 3, a3, f->err, sizeof f->err), CONFIG_ERR_IO);
    char file[200];
    snprintf(file, sizeof file, "%s", write_file(f, "ok.conf", "hz 7\n"));
    char *a4[] = {"raftcache", file, "extra", NULL};
    assert_int_equal(config_load_args(&f->cfg, 3, a4, f->err, sizeof f->err), CONFIG_ERR_UNKNOWN);
    assert_contains(f->err, "command line argument 2\n>>> 'extra'\nexpected a --directive");
    char *a5[] = {"raftcache", "--raft-heartbeat-ms", "1000", NULL};
    assert_int_equal(config_load_args(&f->cfg, 3, a5, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_contains(f->err, "raft-heartbeat-ms (1000) must be less than "
                            "raft-election-timeout-ms (1000)");
    char *a6[] = {"raftcache", "--include", file, "--raft-heartbeat-ms", "999", NULL};
    assert_int_equal(config_load_args(&f->cfg, 5, a6, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.hz, 7);
}

/* ----------------------------------------------------- the shipped file */

/* conf/raftcache.conf loads and says exactly what the table says. */
static void test_shipped_conf(void **state)
{
    struct fx *f = *state;
    struct config loaded;
    config_init_defaults(&loaded);
    config_set(&loaded, "hz", "499", f->err, sizeof f->err); /* the file must reset it */
    int rc = config_load_file(&loaded, "conf/raftcache.conf", f->err, sizeof f->err);
    if (rc) fail_msg("%s", f->err);
    assert_int_equal(config_check(&loaded, f->err, sizeof f->err), 0);
    for (int i = 0; i < config_defs_count; i++) {
        char a[1024], b[1024];
        config_format_value(&f->cfg, &config_defs[i], a, sizeof a);
        config_format_value(&loaded, &config_defs[i], b, sizeof b);
        if (strcmp(a, b))
            fail_msg("%s: table default '%s', conf file '%s'", config_defs[i].name, a, b);
    }
    config_free(&loaded);
}

/* Every directive has an uncommented line of its own in the shipped file
 * (a repeated one, "user", an example commented out: a line would add a
 * user to every node started from the file). */
static void test_shipped_conf_documents_all(void **state)
{
    (void)state;
    FILE *fp = fopen("conf/raftcache.conf", "r");
    assert_non_null(fp);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    for (int i = 0; i < config_defs_count; i++) {
        char needle[80];
        snprintf(needle, sizeof needle, "\n%s%s ",
                 (config_defs[i].flags & CONFIG_REPEATED) ? "# " : "", config_defs[i].name);
        if (!strstr(text, needle)) fail_msg("conf/raftcache.conf lacks '%s'", config_defs[i].name);
    }
}

/* ------------------------------------------------------------------ log */

/* Every Redis directive raftcache does not apply has a row in
 * docs/redis-conf.md. */
static void test_redis_directives_documented(void **state)
{
    (void)state;
    FILE *fp = fopen("docs/redis-conf.md", "r");
    assert_non_null(fp);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    assert_true(config_redis_defs_count <= CONFIG_REDIS_DEFS_MAX);
    for (int i = 0; i < config_redis_defs_count; i++) {
        char needle[80];
        snprintf(needle, sizeof needle, "\n| `%s` |", config_redis_defs[i].name);
        if (!strstr(text, needle))
            fail_msg("docs/redis-conf.md lacks '%s'", config_redis_defs[i].name);
        assert_ptr_equal(config_lookup(config_redis_defs[i].name), &config_redis_defs[i]);
    }
}

static char report[8][1024];
static int reported;
static void report_line(void *ud, const char *line)
{
    (void)ud;
    assert_true(reported < 8);
    snprintf(report[reported++], sizeof report[0], "%s", line);
}

/* Accepted and kept, listed by reason; only the default; refused. */
static void test_redis_directives(void **state)
{
    struct fx *f = *state;
    reported = 0;
    config_redis_report(&f->cfg, 256, report_line, NULL);
    assert_int_equal(reported, 0); /* nothing set yet */
    assert_int_equal(load_text(f, "appendfsync always\nrdbcompression no\ndbfilename x.rdb\n"
                                  "oom-score-adj-values 0 100 200\nmasterauth s3cret\n"),
                     CONFIG_OK);
    assert_string_equal(get(f, "appendfsync"), "always");
    assert_string_equal(get(f, "oom-score-adj-values"), "0 100 200");
    assert_string_equal(get(f, "activerehashing"), "yes"); /* Redis's default */
    set_ok(f, "activerehashing", "no");
    assert_string_equal(get(f, "activerehashing"), "no");
    config_redis_report(&f->cfg, 256, report_line, NULL);
    int files = -1;
    for (int i = 0; i < reported; i++)
        if (strstr(report[i], "not RDB or AOF files")) files = i;
    assert_true(files >= 0);
    assert_contains(report[files], "accepted, not applied: rdbcompression");
    assert_null(strstr(report[files], "dbfilename")); /* applied: SAVE and BGSAVE write it */
    assert_string_equal(get(f, "dbfilename"), "x.rdb");
    assert_null(strstr(report[files], "s3cret"));
    assert_int_equal(load_text(f, "syslog-enabled yes\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "only \"no\" is accepted: raftcache does not offer this feature yet");
    assert_int_equal(load_text(f, "syslog-enabled no\n"), CONFIG_OK);
    assert_int_equal(load_text(f, "replicaof 10.0.0.1 6379\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "not supported: replicas are the Raft group's other members");
    assert_int_equal(load_text(f, "not-a-redis-directive 1\n"), CONFIG_ERR_UNKNOWN);
}

static char *read_all(const char *path)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

static void test_log_file(void **state)
{
    struct fx *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/log.txt", f->dir);
    assert_int_equal(log_init(LOG_LEVEL_VERBOSE, path), 0);
    log_set_role('S');
    LOG_DEBUG("dropped %d", 1);
    LOG_VERBOSE("kept %s", "verbose");
    LOG_NOTICE("kept notice");
    log_set_level(LOG_LEVEL_WARNING);
    LOG_NOTICE("dropped notice");
    LOG_WARNING("kept warning");
    log_close();
    /* a second init appends rather than truncates */
    assert_int_equal(log_init(LOG_LEVEL_DEBUG, path), 0);
    log_set_role('M');
    LOG_DEBUG("kept debug");
    log_close();

    char *text = read_all(path);
    assert_null(strstr(text, "dropped"));
    char pid[32];
    snprintf(pid, sizeof pid, "%d:", (int)getpid());
    const char *expect[][2] = {{"S", "- kept verbose"},
                               {"S", "* kept notice"},
                               {"S", "# kept warning"},
                               {"M", ". kept debug"}};
    char *line = text;
    for (int i = 0; i < 4; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        /* "pid:R dd Mon yyyy hh:mm:ss.mmm C message" */
        assert_memory_equal(line, pid, strlen(pid));
        char *p = line + strlen(pid);
        assert_int_equal(p[0], expect[i][0][0]);
        assert_int_equal(p[1], ' ');
        assert_int_equal(strlen(p + 2), strlen("21 Nov 2026 16:03:00.123 ") + strlen(expect[i][1]));
        assert_int_equal(p[2 + 20], '.');
        assert_string_equal(p + 2 + 25, expect[i][1]);
        line = nl + 1;
    }
    assert_string_equal(line, "");
}

static void test_log_truncates_long_lines(void **state)
{
    struct fx *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/long.txt", f->dir);
    assert_int_equal(log_init(LOG_LEVEL_NOTICE, path), 0);
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    LOG_WARNING("%s", big);
    log_close();
    char *text = read_all(path);
    assert_int_equal(strlen(text), LOG_LINE_MAX);
    assert_int_equal(text[LOG_LINE_MAX - 1], '\n');
    assert_int_equal(text[LOG_LINE_MAX - 2], 'z');
    assert_int_equal(log_init(LOG_LEVEL_NOTICE, "/nonexistent-dir/x.log"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maxmemory_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_directives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obuf_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members_need_own_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_members_need_raft_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_hostport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_conf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_conf_documents_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_directives_documented, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_directives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_truncates_long_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
