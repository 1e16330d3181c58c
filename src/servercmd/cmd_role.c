/*
 * src/servercmd/cmd_role.c - the Raft roles as Redis replication shows them, for the
 * tools that read INFO replication or ROLE (health checks, proxies such as
 * HAProxy's "role:master" check, Sentinel-aware clients).
 *
 * The leader is a master; every other node (follower, candidate, learner) is
 * a replica of the leader it knows, or of the last one it knew. Offsets are
 * Raft log indexes: the master's offset is its last log index, a replica's
 * (as the master sees it) its match index, a replica's own the index it has
 * applied (slave_repl_offset) and received (slave_read_repl_offset). The
 * master lists the replicas it can reach (node.h's health rule); a replica's
 * link is up while its leader is known and reachable, as Redis's is while
 * the master link is connected. A learner reports slave_priority:0, Redis's
 * "never promoted".
 *
 * WAIT and WAITAOF too: how many replicas (and whether this node's disk)
 * hold a client's last write.
 */
#include <stdio.h>
#include <stdlib.h>

#include "raft/raft.h"
#include "servercmd/cmd_role.h"
#include "base/info.h"
#include "base/util.h"
#include "cmd/cmdarg.h"
#include "node/node.h"
#include "server/replof.h"
#include "server/replwait.h"
#include "server/server.h"

/* What a replica knows of its master. */
struct master_view {
    uint64_t id; /* 0: never knew a leader */
    char host[CONFIG_HOST_MAX];
    int port;
    int link_up;
    long long last_io_secs; /* -1: never heard from it */
};

static void master_view(const struct server *srv, struct master_view *m)
{
    m->id = node_last_leader(srv->node);
    m->host[0] = 0;
    m->port = 0;
    m->link_up = 0;
    m->last_io_secs = -1;
    if (!m->id || node_member_addr(srv->node, m->id, m->host, sizeof m->host, &m->port) != 0)
        return;
    struct node_peer_view v;
    node_peer_view(srv->node, m->id, &v);
    m->link_up = raft_leader(node_core(srv->node)) == m->id && v.health == NODE_OK;
    if (v.heard_ms_ago >= 0) m->last_io_secs = v.heard_ms_ago / 1000;
}

/* A replica the master can reach; 0 if member i is not one. */
static int online_replica(const struct server *srv, uint32_t i, char *host, size_t hostlen,
                          int *port, raft_index *match, long long *lag_secs)
{
    const struct raft *r = node_core(srv->node);
    uint64_t id = raft_conf_of(r)->s[i].id;
    if (id == raft_id_of(r) || node_member_addr(srv->node, id, host, hostlen, port) != 0) return 0;
    struct node_peer_view v;
    node_peer_view(srv->node, id, &v);
    if (v.health != NODE_OK) return 0;
    *match = 0;
    raft_progress(r, id, match);
    *lag_secs = v.heard_ms_ago < 0 ? 0 : v.heard_ms_ago / 1000;
    return 1;
}

static void master_fields(struct info_text *t, const struct server *srv)
{
    const struct raft_conf *conf = raft_conf_of(node_core(srv->node));
    struct info_text lines = {0};
    int n = 0;
    for (uint32_t i = 0; i < conf->n; i++) {
        char host[CONFIG_HOST_MAX];
        int port;
        raft_index match;
        long long lag;
        if (!online_replica(srv, i, host, sizeof host, &port, &match, &lag)) continue;
        info_addf(&lines, "slave%d:ip=%s,port=%d,state=online,offset=%llu,lag=%lld\r\n", n++, host,
                  port, (unsigned long long)match, lag);
    }
    info_addf(t, "role:master\r\nconnected_slaves:%d\r\n%s", n, lines.p ? lines.p : "");
    free(lines.p);
}

static void replica_fields(struct info_text *t, const struct server *srv)
{
    const struct raft *r = node_core(srv->node);
    struct master_view m;
    master_view(srv, &m);
    info_addf(t,
              "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
              "master_last_io_seconds_ago:%lld\r\nmaster_sync_in_progress:0\r\n"
              "slave_read_repl_offset:%llu\r\nslave_repl_offset:%llu\r\n",
              m.host, m.port, m.link_up ? "up" : "down", m.link_up ? m.last_io_secs : -1,
              (unsigned long long)raft_last_index(r), (unsigned long long)node_applied(srv->node));
    if (!m.link_up) info_addf(t, "master_link_down_since_seconds:%lld\r\n", m.last_io_secs);
    const struct raft_conf *conf = raft_conf_of(r);
    int i = raft_conf_find(conf, raft_id_of(r));
    int voter = i >= 0 && conf->s[i].voter;
    info_addf(t,
              "slave_priority:%d\r\nslave_read_only:1\r\nreplica_announced:1\r\n"
              "connected_slaves:0\r\n",
              voter ? 100 : 0);
}

const char *role_redis_mode(const struct server *srv)
{
    return raft_conf_of(node_core(srv->node))->n > 1 ? "cluster" : "standalone";
}

const char *role_hello_role(const struct server *srv)
{
    return node_is_leader(srv->node) && !replof_active(srv) ? "master" : "replica";
}

void role_info_replication(struct info_text *t, const struct server *srv)
{
    int leads = node_is_leader(srv->node);
    info_addf(t, "# Replication\r\n");
    if (replof_active(srv)) { /* the cluster is a Redis master's replica */
        replof_info(srv, t);
        return;
    }
    if (leads)
        master_fields(t, srv);
    else
        replica_fields(t, srv);
    /* Raft's log has one history: no replication ids or backlog to show. */
    info_addf(t,
              "master_failover_state:no-failover\r\n"
              "master_replid:0000000000000000000000000000000000000000\r\n"
              "master_replid2:0000000000000000000000000000000000000000\r\n"
              "master_repl_offset:%llu\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
              "repl_backlog_size:0\r\nrepl_backlog_first_byte_offset:0\r\n"
              "repl_backlog_histlen:0\r\n",
              leads ? (unsigned long long)raft_last_index(node_core(srv->node))
                    : (unsigned long long)node_applied(srv->node));
}

/* ROLE, in Redis's shapes: ["master", offset, [[ip, port, offset] ...]]
 * (port and replica offsets as bulk strings, as Redis sends them) or
 * ["slave", master-ip, master-port, state, offset] (offset -1 while the link
 * is down, state "connect" then, "connected" otherwise). */
void cmd_role(struct cmd_ctx *c)
{
    const struct server *srv = c->srv;
    const struct raft *r = node_core(srv->node);
    if (replof_active(srv)) { /* the cluster is a Redis master's replica */
        replof_role(srv, c->out);
        return;
    }
    if (!node_is_leader(srv->node)) {
        struct master_view m;
        master_view(srv, &m);
        resp_add_array_len(c->out, 5);
        resp_add_bulk_cstr(c->out, "slave");
        resp_add_bulk_cstr(c->out, m.host);
        resp_add_int(c->out, m.port);
        resp_add_bulk_cstr(c->out, m.link_up ? "connected" : "connect");
        resp_add_int(c->out, m.link_up ? (long long)node_applied(srv->node) : -1);
        return;
    }
    resp_add_array_len(c->out, 3);
    resp_add_bulk_cstr(c->out, "master");
    resp_add_int(c->out, (long long)raft_last_index(r));
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    const struct raft_conf *conf = raft_conf_of(r);
    for (uint32_t i = 0; i < conf->n; i++) {
        char host[CONFIG_HOST_MAX], num[24];
        int port;
        raft_index match;
        long long lag;
        if (!online_replica(srv, i, host, sizeof host, &port, &match, &lag)) continue;
        resp_add_array_len(c->out, 3);
        resp_add_bulk_cstr(c->out, host);
        snprintf(num, sizeof num, "%d", port);
        resp_add_bulk_cstr(c->out, num);
        snprintf(num, sizeof num, "%llu", (unsigned long long)match);
        resp_add_bulk_cstr(c->out, num);
        n++;
    }
    resp_set_deferred_array_len(c->out, d, n);
}

/* WAIT's and WAITAOF's timeout, argv[i], in ms; else replies Redis's error. */
static int wait_timeout(struct cmd_ctx *c, int i, long long *ms)
{
    if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, ms)) {
        resp_add_error(c->out, "ERR timeout is not an integer or out of range");
        return -1;
    }
    if (*ms < 0) {
        resp_add_error(c->out, "ERR timeout is negative");
        return -1;
    }
    return 0;
}

/* Answers a now, or has c wait for it (src/server/replwait.h). */
static void wait_for(struct cmd_ctx *c, struct replwait_ask *a, long long timeout_ms)
{
    struct server *srv = c->srv;
    struct client *cl = c->client;
    a->index =
        cl && cl->last_write_index ? cl->last_write_index : raft_commit_index(node_core(srv->node));
    int done = replwait_count(srv->node, a);
    /* Inside a transaction (or its apply) it cannot wait: the counts now. */
    if (done != 0 || !cl || c->applying || (cl->flags & CLIENT_MULTI)) {
        replwait_reply(c->out, a);
        return;
    }
    int64_t deadline = timeout_ms ? server_now_ms() + timeout_ms : 0;
    replwait_add(&srv->replwait, cl, a, deadline);
}

/* WAIT numreplicas timeout. */
void cmd_wait(struct cmd_ctx *c)
{
    if (!node_is_leader(c->srv->node)) {
        resp_add_error(c->out, "ERR WAIT cannot be used with replica instances. Please also note "
                               "that since Redis 4.0 if a replica is configured to be writable "
                               "(which is not the default) writes to replicas are just local and "
                               "are not propagated.");
        return;
    }
    long long want, timeout_ms;
    if (cmd_arg_ll(c, 1, &want) != 0 || wait_timeout(c, 2, &timeout_ms) != 0) return;
    struct replwait_ask a = {.want_replicas = want, .want_local = -1};
    wait_for(c, &a, timeout_ms);
}

/* WAITAOF numlocal numreplicas timeout (Redis 7.2). */
void cmd_waitaof(struct cmd_ctx *c)
{
    long long local, replicas, timeout_ms;
    if (cmd_arg_ll(c, 1, &local) != 0 || cmd_arg_ll(c, 2, &replicas) != 0) return;
    if (local < 0 || local > 1) {
        resp_add_error(c->out, "ERR value is out of range, value must between 0 and 1");
        return;
    }
    if (replicas < 0) {
        resp_add_error(c->out, "ERR value is out of range, must be positive");
        return;
    }
    if (wait_timeout(c, 3, &timeout_ms) != 0) return;
    if (!node_is_leader(c->srv->node)) {
        resp_add_error(c->out, "ERR WAITAOF cannot be used with replica instances. Please also "
                               "note that writes to replicas are just local and are not "
                               "propagated.");
        return;
    }
    int fsync = c->srv->cfg.raft_log_fsync != 0;
    if (local && !fsync) {
        resp_add_error(
            c->out, "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.");
        return;
    }
    struct replwait_ask a = {.want_replicas = replicas, .want_local = (int)local, .fsync = fsync};
    wait_for(c, &a, timeout_ms);
}
