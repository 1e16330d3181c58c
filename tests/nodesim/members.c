/*
 * tests/nodesim/members.c - the operator of the simulated cluster: now and
 * then one command to the leader, as an administrator types it:
 *   - RAFT.NODE ADD of an id outside the configuration, after starting that
 *     node fresh with cluster-members naming the current members and not
 *     itself (conf/cluster/node5.conf's way in: it waits to be added); an id
 *     removed earlier comes back this way, its store wiped first;
 *   - RAFT.NODE REMOVE of any member, the leader included, while there
 *     are more voters than the first members' count, or else of a learner
 *     (a node added and not promoted yet); the removed node is stopped for
 *     good a little after its removal was acknowledged;
 *   - RAFT.TRANSFER_LEADER to the most up-to-date voter.
 * Refusals (a change in progress, one that could not commit now, not the
 * leader any more) are normal answers: the operator tries again later.
 * Whatever the outcome, the configuration the leader holds is the truth the
 * run's checks use (nodesim.c's settled(), checks.c's check_converged()).
 */
#include <stdio.h>
#include <string.h>

#include "../../raft/raft.h"
#include "node/node.h"
#include "server/server.h"
#include "nodesim_int.h"

#define RETIRE_MAX_MS 500 /* after a removal is acknowledged, before the node is stopped */

enum { ACT_ADD = 1, ACT_REMOVE, ACT_TRANSFER };

bool members_has(uint64_t leader, uint64_t id)
{
    if (!leader || !W->srv[leader]) return false;
    return raft_conf_find(raft_conf_of(node_core(W->srv[leader]->node)), (raft_id)id) >= 0;
}

/* Stops a removed node for good (until an ADD brings the id back). */
static void retire(uint64_t id)
{
    if (W->srv[id]) stop_node(id, "removed from the cluster: stopped by the operator");
    R->in_play[id] = false;
    R->retire_at_us[id] = 0;
    R->restart_at_us[id] = 0;
    R->wiped_until_commit[id] = 0; /* its store no longer counts */
    R->paused_until_us[id] = 0;
}

static void send_admin(uint64_t leader, int action, uint64_t target)
{
    struct sclient *s = &R->cl[ADMIN];
    client_attach(s, leader);
    R->admin_action = action;
    R->admin_target = target;
    s->op = OP_ADMIN;
    if (action == ACT_ADD) {
        s->argc = 4;
        set_arg(s, 0, "RAFT.NODE");
        set_arg(s, 1, "ADD");
        set_arg(s, 2, "%llu", (unsigned long long)target);
        set_arg(s, 3, "127.0.0.1:%llu", (unsigned long long)(7000 + target));
    } else if (action == ACT_REMOVE) {
        s->argc = 3;
        set_arg(s, 0, "RAFT.NODE");
        set_arg(s, 1, "REMOVE");
        set_arg(s, 2, "%llu", (unsigned long long)target);
    } else {
        s->argc = 1;
        set_arg(s, 0, "RAFT.TRANSFER_LEADER");
    }
    trace("operator: %s %s %s on node %llu", s->bufs[0], s->argc > 1 ? s->bufs[1] : "",
          s->argc > 2 ? s->bufs[2] : "", (unsigned long long)leader);
    dispatch(s);
}

/* A fresh node for id, waiting to be added: its config names the current
 * members (not itself) as cluster-members. */
static void start_joiner(uint64_t leader, uint64_t id)
{
    if (W->srv[id]) stop_node(id, "restarted fresh to join");
    wipe_node(id);
    R->retire_at_us[id] = 0;
    R->restart_at_us[id] = 0;
    R->wiped_until_commit[id] = 0; /* it never held anything */
    R->paused_until_us[id] = 0;
    uint32_t members = 0;
    const struct raft_conf *conf = raft_conf_of(node_core(W->srv[leader]->node));
    for (uint32_t i = 0; i < conf->n; i++)
        members |= 1u << conf->s[i].id;
    R->boot_members[id] = members;
    start_node(id);
}

static void act(uint64_t leader)
{
    const struct raft_conf *conf = raft_conf_of(node_core(W->srv[leader]->node));
    uint64_t spare[W_NODES_MAX], n_spare = 0, learners[RAFT_MAX_NODES], n_learners = 0;
    uint32_t voters = 0;
    /* spares: ids out of the configuration, but the leader's own (a leader
     * removing itself is out of its latest configuration, and no spare) */
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++)
        if (id != leader && raft_conf_find(conf, (raft_id)id) < 0) spare[n_spare++] = id;
    for (uint32_t i = 0; i < conf->n; i++)
        if (conf->s[i].voter)
            voters++;
        else
            learners[n_learners++] = (uint64_t)conf->s[i].id;
    /* Voters never fall below the first members' count: with fewer, one
     * lost store (a wipe) would leave no majority that holds the log, and
     * no Raft cluster can recover from that by itself. */
    bool may_remove_voter = voters > (uint32_t)R->o->nodes;
    uint32_t dice = w_below(W, 100);
    if (dice < 20) {
        send_admin(leader, ACT_TRANSFER, 0);
    } else if (n_spare && (conf->n <= (uint32_t)R->o->nodes || dice < 60)) {
        uint64_t id = spare[w_below(W, (uint32_t)n_spare)];
        start_joiner(leader, id);
        if (W->srv[leader]) send_admin(leader, ACT_ADD, id);
    } else if (may_remove_voter) {
        send_admin(leader, ACT_REMOVE, (uint64_t)conf->s[w_below(W, conf->n)].id);
    } else if (n_learners) {
        send_admin(leader, ACT_REMOVE, learners[w_below(W, (uint32_t)n_learners)]);
    } else {
        send_admin(leader, ACT_TRANSFER, 0);
    }
}

void members_act(bool faulty)
{
    uint64_t leader = leader_now();
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++)
        /* a node whose removal was acknowledged, or whose addition was
         * refused, is stopped once its time has come if the leader agrees
         * it is out (nodes out of the configuration otherwise keep running,
         * which the checks allow) */
        if (R->retire_at_us[id] && W->now_us >= R->retire_at_us[id] && leader &&
            !members_has(leader, id))
            retire(id);
    if (!faulty || !leader || busy(&R->cl[ADMIN]) || W->now_us < R->paused_until_us[leader]) return;
    if (w_below(W, 1000000) < R->o->member_ppm) act(leader);
}

void members_reply(struct sclient *s, char kind, const char *text)
{
    (void)s;
    uint64_t id = R->admin_target;
    int action = R->admin_action;
    R->admin_action = 0;
    trace("operator: -> %c%s", kind, text);
    if (kind != '+') {
        /* a refused ADD leaves a node waiting outside: stopped later (not
         * after a -TIMEOUT: the entry may still commit) */
        if (action == ACT_ADD && not_proposed(text)) R->retire_at_us[id] = W->now_us + 1000;
        return;
    }
    if (action == ACT_ADD) {
        R->st->members_added++;
    } else if (action == ACT_REMOVE) {
        R->st->members_removed++;
        R->retire_at_us[id] = W->now_us + 1000 * (int64_t)w_below(W, RETIRE_MAX_MS);
    } else {
        R->st->transfers++;
    }
}
