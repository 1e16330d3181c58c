/*
 * src/servercmd/cmd_sentinel.c - the SENTINEL commands clients use to find the
 * master, answered from the Raft cluster (see cmd_sentinel.h), and the
 * leader watch.
 *
 * The cluster as Sentinel shows it: the master is the leader, or while
 * none is known the last one this node knew, flagged s_down,o_down (a
 * Sentinel-mode client then finds no usable master and retries, as during
 * a failover). The replicas are the other members, the Sentinels the
 * members other than this node. An instance this node finds unreachable
 * (node.h's health rule) is s_down; one it holds no link to is
 * disconnected. The quorum is a majority of the voters: what Raft needs to
 * elect a leader.
 */
#include <string.h>

#include "raft/raft.h"
#include "servercmd/cmd_sentinel.h"
#include "base/log.h"
#include "node/node.h"
#include "server/pubsub.h"
#include "server/proxy.h"
#include "server/sentinel.h"
#include "server/maint.h"
#include "server/server.h"
#include "cmd/cmdarg.h"

_Static_assert(SENTINEL_HOST_MAX == CONFIG_HOST_MAX, "a Sentinel host is a configured host");

/* A member and its address. */
struct member {
    uint64_t id;
    char host[CONFIG_HOST_MAX];
    int port;
    int voter;
    struct node_peer_view view;
};

/* What every SENTINEL reply is built from. */
struct view {
    const struct server *srv;
    uint64_t leader; /* 0: none known now */
    struct member master;
    int has_master; /* the master's address is known */
    struct member others[RAFT_MAX_NODES];
    int n_others; /* members other than the master, with a known address */
    int voters;
    int64_t now_ms;
};

/* Milliseconds since the leader last changed (0 before the first look). */
static long long since_change(const struct view *v)
{
    int64_t at = v->srv->sentinel.changed_ms;
    return at ? v->now_ms - at : 0;
}

static int member_of(const struct server *srv, uint64_t id, int voter, struct member *m)
{
    if (node_member_addr(srv->node, id, m->host, sizeof m->host, &m->port) != 0) return 0;
    m->id = id;
    m->voter = voter;
    node_peer_view(srv->node, id, &m->view);
    return 1;
}

static void view_of(const struct server *srv, struct view *v)
{
    const struct raft_conf *conf = raft_conf_of(node_core(srv->node));
    int removed = node_removed(srv->node);
    v->srv = srv;
    v->leader = removed ? 0 : node_leader(srv->node);
    uint64_t shown = removed ? 0 : node_last_leader(srv->node);
    v->has_master = 0;
    v->n_others = 0;
    v->voters = 0;
    v->now_ms = server_now_ms();
    for (uint32_t i = 0; i < conf->n; i++) {
        uint64_t id = conf->s[i].id;
        v->voters += conf->s[i].voter;
        if (id == shown)
            v->has_master = member_of(srv, id, conf->s[i].voter, &v->master);
        else
            v->n_others += member_of(srv, id, conf->s[i].voter, &v->others[v->n_others]);
    }
}

static int is_self(const struct view *v, const struct member *m)
{
    return m->id == (uint64_t)v->srv->cfg.node_id;
}

/* The fields every instance shares, from this node's view of member m. */
static void instance_of(const struct view *v, const struct member *m, enum sentinel_kind kind,
                        char runid[NODE_NAME_LEN + 1], struct sentinel_instance *in)
{
    long long t = v->srv->cfg.raft_election_timeout_ms;
    node_name(m->id, runid);
    memset(in, 0, sizeof *in);
    in->kind = kind;
    in->ip = m->host;
    in->port = m->port;
    in->runid = runid;
    in->heard_ms_ago = m->view.heard_ms_ago;
    in->down_after_ms = t;
    in->role_ms = since_change(v);
    if (m->view.health != NODE_OK) in->down |= SENTINEL_S_DOWN;
    if (!m->view.link_up) in->down |= SENTINEL_DISCONNECTED;
    long long silent = m->view.heard_ms_ago < 0 ? 0 : m->view.heard_ms_ago - t;
    in->down_ms = silent > 0 ? silent : 0;
}

/* The master when none is known or its address is not: flagged down, so
 * that clients look elsewhere and retry. */
static void add_master(struct resp_out *o, const struct view *v)
{
    char runid[NODE_NAME_LEN + 1];
    struct sentinel_instance in;
    struct member none = {.id = 0, .host = "", .port = 0, .view = {NODE_FAIL, false, -1}};
    instance_of(v, v->has_master ? &v->master : &none, SENTINEL_MASTER, runid, &in);
    in.name = v->srv->cfg.sentinel_master_name;
    if (!v->leader || !v->has_master) {
        in.down |= SENTINEL_S_DOWN | SENTINEL_O_DOWN;
        in.down_ms = since_change(v);
    }
    in.config_epoch = (long long)raft_term_of(node_core(v->srv->node));
    in.num_slaves = v->n_others;
    in.num_other_sentinels = v->n_others + v->has_master - 1;
    in.quorum = v->voters / 2 + 1;
    in.failover_timeout_ms = v->srv->cfg.raft_election_timeout_ms;
    sentinel_add_instance(o, &in);
}

/* A member's replication offset (a log index) as far as this node knows:
 * its own applied index; the leader's match index for a follower; else
 * unknown here (0). */
static long long offset_of(const struct view *v, const struct member *m)
{
    raft_index match = 0;
    if (is_self(v, m)) return (long long)node_applied(v->srv->node);
    if (node_is_leader(v->srv->node)) raft_progress(node_core(v->srv->node), m->id, &match);
    return (long long)match;
}

static void add_replica(struct resp_out *o, const struct view *v, const struct member *m)
{
    char runid[NODE_NAME_LEN + 1];
    struct sentinel_instance in;
    instance_of(v, m, SENTINEL_REPLICA, runid, &in);
    in.master_host = v->has_master ? v->master.host : "";
    in.master_port = v->has_master ? v->master.port : 0;
    /* Its link to the leader: this node's own, or for another member its
     * health from here (the leader hears every member; a follower at least
     * knows whether it can reach it). */
    const struct member *judged = is_self(v, m) && v->has_master ? &v->master : m;
    in.master_link_ok = v->leader && v->has_master && judged->view.health == NODE_OK;
    in.master_link_down_ms = in.master_link_ok ? 0 : since_change(v);
    in.priority = m->voter ? 100 : 0;
    in.repl_offset = offset_of(v, m);
    sentinel_add_instance(o, &in);
}

/* 1 if argv[2] names the master; else -ERR as Sentinel's. */
static int known_name(struct cmd_ctx *c)
{
    const char *name = c->srv->cfg.sentinel_master_name;
    if (c->argv[2].len == strlen(name) && memcmp(c->argv[2].ptr, name, c->argv[2].len) == 0)
        return 1;
    resp_add_error(c->out, "ERR No such master with that name");
    return 0;
}

void cmd_sentinel_masters(struct cmd_ctx *c)
{
    struct view v;
    view_of(c->srv, &v);
    resp_add_array_len(c->out, 1);
    add_master(c->out, &v);
}

void cmd_sentinel_master(struct cmd_ctx *c)
{
    if (!known_name(c)) return;
    struct view v;
    view_of(c->srv, &v);
    add_master(c->out, &v);
}

void cmd_sentinel_replicas(struct cmd_ctx *c)
{
    if (!known_name(c)) return;
    struct view v;
    view_of(c->srv, &v);
    resp_add_array_len(c->out, v.n_others);
    for (int i = 0; i < v.n_others; i++)
        add_replica(c->out, &v, &v.others[i]);
}

void cmd_sentinel_sentinels(struct cmd_ctx *c)
{
    if (!known_name(c)) return;
    struct view v;
    view_of(c->srv, &v);
    resp_deferred d = resp_add_deferred(c->out);
    long n = 0;
    for (int i = -1; i < v.n_others; i++) {
        const struct member *m = i < 0 ? &v.master : &v.others[i];
        if ((i < 0 && !v.has_master) || is_self(&v, m)) continue;
        char runid[NODE_NAME_LEN + 1];
        struct sentinel_instance in;
        instance_of(&v, m, SENTINEL_PEER, runid, &in);
        sentinel_add_instance(c->out, &in);
        n++;
    }
    resp_set_deferred_array_len(c->out, d, n);
}

/* [host, port] of the leader (its advertised address); a nil array when
 * none is known, as Sentinel answers for a name it does not monitor. */
void cmd_sentinel_get_master_addr(struct cmd_ctx *c)
{
    const char *name = c->srv->cfg.sentinel_master_name;
    struct view v;
    view_of(c->srv, &v);
    if (c->argv[2].len != strlen(name) || memcmp(c->argv[2].ptr, name, c->argv[2].len) != 0 ||
        !v.leader || !v.has_master) {
        resp_add_null_array(c->out);
        return;
    }
    resp_add_array_len(c->out, 2);
    resp_add_bulk_cstr(c->out, v.master.host);
    resp_add_bulk_ll(c->out, v.master.port);
}

void cmd_sentinel_myid(struct cmd_ctx *c)
{
    char id[NODE_NAME_LEN + 1];
    node_name((uint64_t)c->srv->cfg.node_id, id);
    resp_add_bulk_cstr(c->out, id);
}

/* Usable Sentinels: the voters this node reaches, itself included. */
void cmd_sentinel_ckquorum(struct cmd_ctx *c)
{
    if (!known_name(c)) return;
    struct view v;
    view_of(c->srv, &v);
    int usable = 0;
    for (int i = -1; i < v.n_others; i++) {
        const struct member *m = i < 0 ? &v.master : &v.others[i];
        if (i < 0 && !v.has_master) continue;
        usable += m->voter && m->view.health == NODE_OK;
    }
    sentinel_add_ckquorum(c->out, usable, v.voters, v.voters / 2 + 1);
}

void cmd_sentinel_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CKQUORUM <master-name>",
        "    Check if the current Sentinel configuration is able to reach the quorum",
        "    needed to failover a master and the majority needed to authorize the",
        "    failover.",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the master with that name.",
        "MASTER <master-name>",
        "    Show the state and info of the specified master.",
        "MASTERS",
        "    Show a list of monitored masters and their state.",
        "MYID",
        "    Return the ID of the Sentinel instance.",
        "REPLICAS <master-name>",
        "    Show a list of replicas for this master and their state.",
        "SENTINELS <master-name>",
        "    Show a list of Sentinel instances for this master and their state.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

/* ------------------------------------------------------- leader watch */

/* Clients that cannot follow -MOVED (cmd_sentinel.h says which stay) are
 * marked when this node stops leading. */
static int mark_normal_clients(struct server *srv)
{
    const unsigned keep = CLIENT_NOT_A_CLIENT | CLIENT_PUBSUB_LINK | CLIENT_PUBSUB |
                          CLIENT_READONLY | CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY;
    int n = 0;
    for (struct client *c = srv->clients; c; c = c->next) {
        /* a client that asked for maintenance notifications is moved
         * instead (src/server/maint.h) */
        if ((c->flags & keep) || c->blocked || (c->maint & MAINT_ON)) continue;
        c->flags |= CLIENT_CLOSE_WHEN_IDLE;
        n++;
    }
    return n;
}

/* A command of c is under way (waiting for the log, a read round, the
 * leader's proxy, or parsed input not run yet): its reply comes first. */
static int busy(const struct client *c)
{
    return c->held_cmd || c->pending_writes || c->pending_proxied || c->waiting_read ||
           client_in_log(c) || c->qlen > 0 || (c->flags & CLIENT_READABLE);
}

/* Closes the marked clients that are idle, after their pending replies;
 * unmarks every one if this node leads again, or one that turned into a
 * subscriber, a READONLY connection or a blocked client. Returns how many
 * stay marked. */
static int close_idle_marked(struct server *srv, int leading)
{
    const unsigned spared = CLIENT_PUBSUB | CLIENT_READONLY;
    int left = 0, closed = 0;
    for (struct client *c = srv->clients; c; c = c->next) {
        if (!(c->flags & CLIENT_CLOSE_WHEN_IDLE)) continue;
        if (leading || (c->flags & spared) || c->blocked) {
            c->flags &= ~CLIENT_CLOSE_WHEN_IDLE;
        } else if (busy(c)) {
            left++;
        } else {
            c->flags &= ~CLIENT_CLOSE_WHEN_IDLE;
            client_close_after_reply(c);
            closed++;
        }
    }
    if (closed) LOG_VERBOSE("Not leading: closed %d client connection(s)", closed);
    return left;
}

static void publish_switch(struct server *srv, const char *host, int port)
{
    struct sentinel_watch *w = &srv->sentinel;
    char msg[2 * CONFIG_HOST_MAX + CONFIG_SENTINEL_NAME_MAX + 64];
    int n = sentinel_switch_message(msg, sizeof msg, srv->cfg.sentinel_master_name, w->last_host,
                                    w->last_port, host, port);
    if (n < 0) return; /* cannot happen: the buffer holds the longest names */
    pubsub_publish(&srv->pubsub, 0, "+switch-master", strlen("+switch-master"), msg, (size_t)n);
}

void sentinel_leader_watch(struct server *srv)
{
    struct sentinel_watch *w = &srv->sentinel;
    int leading = node_is_leader(srv->node);
    /* Not while joining another cluster: that client waits for its +OK. */
    /* Marked now, closed from the next look on: the loop polls in between,
     * so input already on its way is read and answered, not reset. */
    if (w->closing) w->closing = close_idle_marked(srv, leading);
    if (w->leading && !leading && srv->cfg.stepdown_close_clients &&
        !srv->cfg.raft_follower_proxy && node_has_cluster(srv->node))
        w->closing = mark_normal_clients(srv);
    w->leading = leading;
    uint64_t leader = node_removed(srv->node) ? 0 : node_leader(srv->node);
    if (leader == w->leader) return;
    w->leader = leader;
    proxy_leader_changed(srv, leader);
    maint_leader_changed(srv);
    w->changed_ms = server_now_ms();
    char host[CONFIG_HOST_MAX];
    int port;
    if (!leader || node_member_addr(srv->node, leader, host, sizeof host, &port) != 0) return;
    if (w->last_leader && w->last_leader != leader) publish_switch(srv, host, port);
    w->last_leader = leader;
    memcpy(w->last_host, host, sizeof host);
    w->last_port = port;
}
