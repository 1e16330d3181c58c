/*
 * src/node/node_view.c - the cluster view of the Raft driver: when each peer was
 * last heard from, the last leader known, and the health rule built on them
 * (see node.h, "Cluster view").
 */
#include <stdio.h>

#include "raft/raft.h"
#include "base/clock.h"
#include "node/node.h"
#include "node/node_int.h"
#include "transport/transport.h"
#include "base/util.h"

static int64_t now_ms(void)
{
    return clock_mono_us() / 1000;
}

void node_view_heard(struct node *n, raft_id from)
{
    size_t oldest = 0;
    for (size_t i = 0; i < n->n_heard; i++) {
        if (n->heard[i].id == from) {
            n->heard[i].at_ms = now_ms();
            return;
        }
        if (n->heard[i].at_ms < n->heard[oldest].at_ms) oldest = i;
    }
    /* Bounded: members and learned peers come and go; the stalest gives way. */
    size_t i = n->n_heard < NODE_HEARD_MAX ? n->n_heard++ : oldest;
    n->heard[i].id = from;
    n->heard[i].at_ms = now_ms();
}

void node_view_role_changed(struct node *n, raft_id leader)
{
    if (leader) n->last_leader = leader;
    n->role_since_ms = now_ms();
}

uint64_t node_last_leader(const struct node *n)
{
    return n->leader ? n->leader : n->last_leader;
}

static int64_t heard_at(const struct node *n, raft_id id)
{
    for (size_t i = 0; i < n->n_heard; i++)
        if (n->heard[i].id == id) return n->heard[i].at_ms;
    return -1;
}

void node_peer_view(const struct node *n, uint64_t id, struct node_peer_view *out)
{
    out->health = NODE_OK;
    out->link_up = true;
    out->heard_ms_ago = 0;
    if (id == (uint64_t)n->cfg->node_id) return;
    int64_t now = now_ms(), t = n->cfg->raft_election_timeout_ms;
    int64_t at = heard_at(n, id);
    out->heard_ms_ago = at < 0 ? -1 : now - at;
    struct transport_peer_info info;
    bool link_down_long = false;
    if (transport_peer_info(n->tr, id, &info) != 0) {
        out->link_up = false;
        link_down_long = true; /* no link at all: nothing can reach it from here */
    } else if (info.state != TRANSPORT_CONNECTED) {
        out->link_up = false;
        link_down_long = info.last_conn_ms >= t;
    }
    bool leads = n->role == RAFT_LEADER;
    bool expected = leads || id == node_last_leader(n);
    /* Silence counts from when this node started expecting to hear from it. */
    int64_t since = at > n->role_since_ms ? at : n->role_since_ms;
    bool silent = expected && now - since >= t;
    if (link_down_long || silent) out->health = leads ? NODE_FAIL : NODE_PFAIL;
}

void node_name(uint64_t id, char out[NODE_NAME_LEN + 1])
{
    snprintf(out, NODE_NAME_LEN + 1, "%040llx", (unsigned long long)id);
}

int node_replicas_at(const struct node *n, uint64_t index)
{
    if (n->role != RAFT_LEADER) return -1;
    const struct raft_conf *conf = raft_conf_of(n->raft);
    int count = 0;
    for (uint32_t i = 0; i < conf->n; i++) {
        uint64_t id = conf->s[i].id;
        raft_index match = 0;
        if (id == (uint64_t)n->cfg->node_id || raft_progress(n->raft, id, &match) != 0) continue;
        struct transport_peer_info info;
        int up = transport_peer_info(n->tr, id, &info) == 0 && info.state == TRANSPORT_CONNECTED;
        if (up && match >= index) count++;
    }
    return count;
}

int node_persisted_at(const struct node *n, uint64_t index)
{
    raft_index persisted = 0;
    if (raft_progress(n->raft, (raft_id)n->cfg->node_id, &persisted) != 0) return -1;
    return persisted >= index;
}
