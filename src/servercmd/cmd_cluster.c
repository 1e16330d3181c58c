/*
 * src/servercmd/cmd_cluster.c - the cluster as clients and peers see it: RAFT.INFO
 * (and INFO raft), RAFT.AUTH / RAFT.MSG (the peer protocol of
 * src/transport/transport.h), CLUSTER SLOTS/SHARDS/NODES/INFO/MYID/KEYSLOT describing
 * one shard that owns every slot (the Raft leader as master, the others as
 * replicas), READONLY and READWRITE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "raft/raft.h"
#include "servercmd/cmd_cluster.h"
#include "cmd/cmdarg.h"
#include "base/info.h"
#include "node/node.h"
#include "server/server.h"
#include "storage/storage.h"
#include "transport/transport.h"
#include "base/util.h"

#define CLUSTER_SLOTS 16384

static const char *role_name(const struct server *srv)
{
    const struct raft *r = node_core(srv->node);
    const struct raft_conf *conf = raft_conf_of(r);
    int i = raft_conf_find(conf, raft_id_of(r));
    if (i >= 0 && !conf->s[i].voter) return "learner";
    static const char *const names[] = {"follower", "pre-candidate", "candidate", "leader"};
    return names[raft_role_of(r)];
}

static const char *peer_state(const struct server *srv, uint64_t id, int64_t *secs)
{
    struct transport_peer_info info;
    *secs = 0;
    if (transport_peer_info(node_transport(srv->node), id, &info) != 0) return "disconnected";
    *secs = info.last_conn_secs;
    if (info.state == TRANSPORT_CONNECTED) return "connected";
    return info.state == TRANSPORT_CONNECTING ? "connecting" : "disconnected";
}

static void raft_section(struct info_text *t, const struct server *srv, const char *role_field)
{
    const struct raft *r = node_core(srv->node);
    const struct raft_conf *conf = raft_conf_of(r);
    /* A removed node follows no leader any more, whatever it heard last. */
    raft_id self = raft_id_of(r), leader = node_removed(srv->node) ? 0 : raft_leader(r);
    int self_i = raft_conf_find(conf, self), voters = 0;
    for (uint32_t i = 0; i < conf->n; i++)
        voters += conf->s[i].voter;
    char lhost[CONFIG_HOST_MAX] = "";
    int lport = 0;
    char laddr[CONFIG_HOST_MAX + 16] = "";
    if (leader && node_member_addr(srv->node, leader, lhost, sizeof lhost, &lport) == 0)
        snprintf(laddr, sizeof laddr, "%s:%d", lhost, lport);
    const struct raft_hard_state *hs = node_hard_state(srv->node);
    const char *mismatch;
    uint64_t mismatches = node_addr_mismatches(srv->node, &mismatch);
    info_addf(t,
              "# Raft\r\nnode_id:%llu\r\nstate:%s\r\nremoved:%s\r\nrecovery:%s\r\n"
              "%s:%s\r\nis_voting:%s\r\n"
              "leader_id:%lld\r\nleader_addr:%s\r\ncurrent_term:%llu\r\nvoted_for:%lld\r\n"
              "num_nodes:%u\r\nnum_voting_nodes:%d\r\nterm_exhausted:%s\r\n"
              "messages_refused:%llu\r\naddress_mismatches:%llu\r\naddress_mismatch:%s\r\n",
              (unsigned long long)self, node_member_state(srv->node),
              node_removed(srv->node) ? "yes" : "no", node_recovery_state(srv->node), role_field,
              role_name(srv), self_i >= 0 && conf->s[self_i].voter ? "yes" : "no",
              leader ? (long long)leader : -1LL, laddr, (unsigned long long)raft_term_of(r),
              hs->vote ? (long long)hs->vote : -1LL, conf->n, voters,
              raft_term_of(r) >= RAFT_TERM_MAX ? "yes" : "no",
              (unsigned long long)node_messages_refused(srv->node), (unsigned long long)mismatches,
              mismatch);
    int k = 0;
    for (uint32_t i = 0; i < conf->n; i++) {
        uint64_t id = conf->s[i].id;
        if (id == self) continue;
        char host[CONFIG_HOST_MAX] = "";
        int port = 0;
        node_member_addr(srv->node, id, host, sizeof host, &port);
        raft_index match = 0;
        raft_progress(r, id, &match);
        int64_t secs;
        const char *state = peer_state(srv, id, &secs);
        const char *recovery = node_peer_recovery_state(srv->node, id); /* docs/storage-safety.md */
        info_addf(t,
                  "node%d:id=%llu,addr=%s,port=%d,voting=%s,state=%s,match_index=%llu,"
                  "last_conn_secs=%lld,recovery=%s\r\n",
                  k++, (unsigned long long)id, host, port, conf->s[i].voter ? "yes" : "no", state,
                  (unsigned long long)match, (long long)secs, recovery);
    }
}

static void log_sections(struct info_text *t, const struct server *srv)
{
    const struct raft *r = node_core(srv->node);
    struct storage_stats st;
    node_storage_stats(srv->node, &st);
    raft_index first = raft_first_index(r), last = raft_last_index(r);
    info_addf(t,
              "# Log\r\nlog_entries:%llu\r\nfirst_log_index:%llu\r\ncurrent_index:%llu\r\n"
              "commit_index:%llu\r\nlast_applied_index:%llu\r\nfsync_count:%llu\r\n"
              "fsync_avg_microseconds:%llu\r\nfsync_max_microseconds:%llu\r\n"
              "log_file_bytes:%llu\r\nlog_vacuumed_bytes:%llu\r\n",
              (unsigned long long)(last >= first ? last - first + 1 : 0), (unsigned long long)first,
              (unsigned long long)last, (unsigned long long)raft_commit_index(r),
              (unsigned long long)node_applied(srv->node), (unsigned long long)st.fsync_count,
              (unsigned long long)(st.fsync_count ? st.fsync_total_us / st.fsync_count : 0),
              (unsigned long long)st.fsync_max_us, (unsigned long long)st.file_bytes,
              (unsigned long long)st.vacuumed_bytes);
    struct node_log_info li;
    node_log_info(srv->node, &li);
    uint64_t fr, frf;
    node_read_stats(srv->node, &fr, &frf);
    info_addf(t,
              "log_memory_first_index:%llu\r\nlog_memory_entries:%llu\r\nlog_memory_bytes:%llu\r\n"
              "log_disk_reads:%llu\r\nlog_disk_entries_read:%llu\r\nover_maxmemory:%d\r\n"
              "follower_read_rounds:%llu\r\nfollower_read_rounds_failed:%llu\r\n",
              (unsigned long long)li.mem_first_index, (unsigned long long)li.mem_entries,
              (unsigned long long)li.mem_bytes, (unsigned long long)li.reads,
              (unsigned long long)li.entries_read, srv->mem_over_maxmemory, (unsigned long long)fr,
              (unsigned long long)frf);
    struct node_snapshot_info si;
    node_snapshot_info(srv->node, &si);
    info_addf(t,
              "\r\n# Snapshot\r\nsnapshot_last_idx:%llu\r\nsnapshot_last_term:%llu\r\n"
              "snapshot_size:%llu\r\nsnapshots_created:%llu\r\nsnapshots_received:%llu\r\n"
              "snapshot_in_progress:%s\r\nsnapshot_last_duration_ms:%llu\r\n",
              (unsigned long long)si.last_index, (unsigned long long)si.last_term,
              (unsigned long long)si.size_bytes, (unsigned long long)si.created,
              (unsigned long long)si.received, si.in_progress ? "yes" : "no",
              (unsigned long long)si.last_duration_ms);
}

void cluster_info_raft(struct info_text *t, const struct server *srv, const char *role_field)
{
    raft_section(t, srv, role_field);
    info_addf(t, "\r\n");
    log_sections(t, srv);
}

void cmd_raft_info(struct cmd_ctx *c)
{
    struct info_text t = {0};
    cluster_info_raft(&t, c->srv, "role");
    resp_add_verbatim(c->out, t.p, t.len, "txt");
    free(t.p);
}

/* RAFT.DEBUG COMPACT: a background snapshot now. +OK once it started; its
 * end shows in RAFT.INFO (snapshot_in_progress:no, snapshots_created + 1). */
void cmd_raft_debug_compact(struct cmd_ctx *c)
{
    char err[256];
    if (node_snapshot_start(c->srv->node, err, sizeof err) != 0) {
        resp_add_errorf(c->out, "ERR %s", err);
        return;
    }
    resp_add_simple(c->out, "OK");
}

void cmd_raft_debug_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "RAFT.DEBUG <subcommand>. Subcommands are:",
        "COMPACT",
        "    Take a snapshot of the applied state now, in the background, and compact the",
        "    log up to it. Replies once started; RAFT.INFO shows snapshot_in_progress.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

/* ------------------------------------------------------------- CLUSTER */

struct member_view {
    uint64_t id;
    char host[CONFIG_HOST_MAX];
    int port;
    int is_leader; /* the leader, or the last one known when none is (node.h) */
    struct node_peer_view view;
};

/* Members with a known address, the leader first. Returns the count. */
static int members(const struct server *srv, struct member_view *out)
{
    const struct raft_conf *conf = raft_conf_of(node_core(srv->node));
    uint64_t leader = node_last_leader(srv->node);
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < conf->n; i++) {
            int is_leader = conf->s[i].id == leader;
            if (is_leader != (pass == 0)) continue;
            struct member_view *m = &out[n];
            if (node_member_addr(srv->node, conf->s[i].id, m->host, sizeof m->host, &m->port) != 0)
                continue;
            m->id = conf->s[i].id;
            m->is_leader = is_leader;
            node_peer_view(srv->node, m->id, &m->view);
            n++;
        }
    return n;
}

/* Replication offset (a Raft log index) of member m as far as this node
 * knows: its own applied index; the leader's match index for a follower; a
 * follower's commit index for its leader; else this node's own as the best
 * estimate it has. */
static long long member_offset(const struct server *srv, const struct member_view *m)
{
    const struct raft *r = node_core(srv->node);
    raft_index match = 0;
    if (m->id == (uint64_t)srv->cfg.node_id) return (long long)node_applied(srv->node);
    if (node_is_leader(srv->node) && raft_progress(r, m->id, &match) == 0) return (long long)match;
    if (m->id == raft_leader(r)) return (long long)raft_commit_index(r);
    return (long long)node_applied(srv->node);
}

static void add_node_triple(struct resp_out *o, const struct member_view *m)
{
    char id[NODE_NAME_LEN + 1];
    node_name(m->id, id);
    resp_add_array_len(o, 3);
    resp_add_bulk_cstr(o, m->host);
    resp_add_int(o, m->port);
    resp_add_bulk_cstr(o, id);
}

/* The members of the map, the master first, into ms: their count, or -1
 * with CLUSTERDOWN replied when this node knows of no leader, not even a
 * past one (just restarted, say). With no leader known, the last known one
 * stays the master (as Redis lists a failed master until a replica replaces
 * it); a map with no master at all would tell cluster clients that no slot
 * is served. SLOTS, SHARDS and NODES refuse alike: a client that takes the
 * slots from one node and the roles from another (redis-rb) would otherwise
 * pair a master with a view that calls every node a replica. */
static int map_members(struct cmd_ctx *c, struct member_view *ms)
{
    int n = members(c->srv, ms);
    if (n == 0 || !ms[0].is_leader) {
        resp_add_error(c->out, "CLUSTERDOWN No raft leader");
        return -1;
    }
    return n;
}

/* Replicas this node finds unreachable are left out, as Redis leaves out
 * failed ones. */
void cmd_cluster_slots(struct cmd_ctx *c)
{
    struct member_view ms[RAFT_MAX_NODES];
    int n = map_members(c, ms);
    if (n < 0) return;
    int shown = 1;
    for (int i = 1; i < n; i++)
        shown += ms[i].view.health == NODE_OK;
    resp_add_array_len(c->out, 1);
    resp_add_array_len(c->out, 2 + shown);
    resp_add_int(c->out, 0);
    resp_add_int(c->out, CLUSTER_SLOTS - 1);
    for (int i = 0; i < n; i++)
        if (i == 0 || ms[i].view.health == NODE_OK) add_node_triple(c->out, &ms[i]);
}

void cmd_cluster_shards(struct cmd_ctx *c)
{
    struct member_view ms[RAFT_MAX_NODES];
    int n = map_members(c, ms);
    if (n < 0) return;
    resp_add_array_len(c->out, 1);
    resp_add_map_len(c->out, 2);
    resp_add_bulk_cstr(c->out, "slots");
    resp_add_array_len(c->out, 2);
    resp_add_int(c->out, 0);
    resp_add_int(c->out, CLUSTER_SLOTS - 1);
    resp_add_bulk_cstr(c->out, "nodes");
    resp_add_array_len(c->out, n);
    for (int i = 0; i < n; i++) {
        char id[NODE_NAME_LEN + 1];
        node_name(ms[i].id, id);
        resp_add_map_len(c->out, 7);
        resp_add_bulk_cstr(c->out, "id");
        resp_add_bulk_cstr(c->out, id);
        resp_add_bulk_cstr(c->out, "port");
        resp_add_int(c->out, ms[i].port);
        resp_add_bulk_cstr(c->out, "ip");
        resp_add_bulk_cstr(c->out, ms[i].host);
        resp_add_bulk_cstr(c->out, "endpoint");
        resp_add_bulk_cstr(c->out, ms[i].host);
        resp_add_bulk_cstr(c->out, "role");
        resp_add_bulk_cstr(c->out, ms[i].is_leader ? "master" : "replica");
        resp_add_bulk_cstr(c->out, "replication-offset");
        resp_add_int(c->out, member_offset(c->srv, &ms[i]));
        resp_add_bulk_cstr(c->out, "health");
        resp_add_bulk_cstr(c->out, ms[i].view.health == NODE_OK ? "online" : "fail");
    }
}

/* One CLUSTER NODES line: <id> <ip:port@cport> <flags> <master> <ping-sent>
 * <pong-recv> <config-epoch> <link-state> [<slot range>]. */
static void add_nodes_line(struct info_text *t, const struct server *srv,
                           const struct member_view *m, const char *leader_id)
{
    static const char *const health_flag[] = {"", ",fail?", ",fail"};
    char id[NODE_NAME_LEN + 1];
    node_name(m->id, id);
    int myself = m->id == (uint64_t)srv->cfg.node_id;
    long long pong = m->view.heard_ms_ago < 0 ? 0 : server_now_ms() - m->view.heard_ms_ago;
    const char *link =
        myself || (m->view.link_up && m->view.health == NODE_OK) ? "connected" : "disconnected";
    info_addf(t, "%s %s:%d@%d %s%s%s %s 0 %lld %llu %s", id, m->host, m->port, m->port + 10000,
              myself ? "myself," : "", m->is_leader ? "master" : "slave",
              health_flag[m->view.health], m->is_leader ? "-" : leader_id, myself ? 0 : pong,
              (unsigned long long)raft_term_of(node_core(srv->node)), link);
    if (m->is_leader) info_addf(t, " 0-%d", CLUSTER_SLOTS - 1);
    info_addf(t, "\n");
}

void cmd_cluster_nodes(struct cmd_ctx *c)
{
    struct member_view ms[RAFT_MAX_NODES];
    int n = map_members(c, ms);
    if (n < 0) return;
    char leader_id[NODE_NAME_LEN + 1];
    node_name(ms[0].id, leader_id);
    struct info_text t = {0};
    for (int i = 0; i < n; i++)
        add_nodes_line(&t, c->srv, &ms[i], leader_id);
    resp_add_verbatim(c->out, t.p ? t.p : "", t.len, "txt");
    free(t.p);
}

void cmd_cluster_info(struct cmd_ctx *c)
{
    const struct raft *r = node_core(c->srv->node);
    const struct raft_conf *conf = raft_conf_of(r);
    int ok = raft_leader(r) != 0;
    struct info_text t = {0};
    info_addf(&t,
              "cluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"
              "cluster_slots_pfail:0\r\ncluster_slots_fail:%d\r\ncluster_known_nodes:%u\r\n"
              "cluster_size:1\r\ncluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n",
              ok ? "ok" : "fail", CLUSTER_SLOTS, ok ? CLUSTER_SLOTS : 0, ok ? 0 : CLUSTER_SLOTS,
              conf->n, (unsigned long long)raft_term_of(r), (unsigned long long)raft_term_of(r));
    resp_add_verbatim(c->out, t.p, t.len, "txt");
    free(t.p);
}

void cmd_cluster_myid(struct cmd_ctx *c)
{
    char id[NODE_NAME_LEN + 1];
    node_name((uint64_t)c->srv->cfg.node_id, id);
    resp_add_bulk_cstr(c->out, id);
}

void cmd_cluster_keyslot(struct cmd_ctx *c)
{
    resp_add_int(c->out, util_key_slot(c->argv[2].ptr, c->argv[2].len));
}

void cmd_cluster_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port@cport> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "SHARDS",
        "    Return information about slot range mappings and the nodes of each shard.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

/* ASKING: a cluster client following an -ASK redirect sends it before the
 * command it retries there. A raftcache cluster is one shard whose slots
 * never move, so no node ever answers -ASK and the flag Redis would set for
 * the next command could change nothing: +OK, as a Redis Cluster node
 * answers it. */
void cmd_asking(struct cmd_ctx *c)
{
    resp_add_simple(c->out, "OK");
}

/* From a script (no client) they change nothing, as on Redis's script client. */
void cmd_readonly(struct cmd_ctx *c)
{
    if (c->client) {
        c->client->flags |= CLIENT_READONLY;
        c->client->flags &= ~CLIENT_LINEARIZABLE_READS; /* stale again */
    }
    resp_add_simple(c->out, "OK");
}

void cmd_readwrite(struct cmd_ctx *c)
{
    if (c->client)
        c->client->flags &= ~(CLIENT_READONLY | CLIENT_LEADER_READS | CLIENT_LINEARIZABLE_READS);
    resp_add_simple(c->out, "OK");
}

/* RAFT.READONLY: READONLY with linearizable reads (src/node/node.h): a read
 * on a follower waits for the leader to confirm its commit index and for
 * this node to apply that far, then runs here. */
void cmd_raft_readonly(struct cmd_ctx *c)
{
    if (c->client) c->client->flags |= CLIENT_READONLY | CLIENT_LINEARIZABLE_READS;
    resp_add_simple(c->out, "OK");
}
