/*
 * tests/sim/sim_run.c - one simulated run: fault events (crashes, restarts, symmetric,
 * one-way and leader-isolating partitions, membership changes, transfers), client
 * events (proposals, linearizable reads, snapshots), the safety checks made after every
 * tick, and the healed phase that checks liveness.
 *
 * Every server has an address, sim_addr(id), given in the initial configuration or when
 * it is added; after every tick each running node's configuration must hold exactly
 * those addresses, whatever path it came by (log, snapshot, restart from the store).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sim_int.h"

/* ---- client and operator events ---- */

/* The address of server id, as a driver would put "host:port" there. */
static void sim_addr(raft_id id, char out[RAFT_ADDR_MAX])
{
    snprintf(out, RAFT_ADDR_MAX, "sim-%llu:1", (unsigned long long)id);
}

static struct node *find_leader(struct sim *s)
{
    struct node *best = NULL;
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        if (nd->up && raft_role_of(nd->r) == RAFT_LEADER &&
            (!best || raft_term_of(nd->r) > raft_term_of(best->r)))
            best = nd;
    }
    return best;
}

static struct node *random_up(struct sim *s)
{
    int k = (int)sim_rn(s, (uint32_t)s->n);
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[(k + i) % s->n];
        if (nd->up) return nd;
    }
    return NULL;
}

static bool propose(struct sim *s, struct node *l, uint64_t v)
{
    if (raft_propose(l->r, &v, 8, NULL) != 0) return false;
    s->st->proposals++;
    return true;
}

static void read_start(struct sim *s, struct node *l)
{
    if (s->n_ctx == s->cap_ctx) {
        s->cap_ctx = s->cap_ctx ? s->cap_ctx * 2 : 256;
        s->read_start = sim_xrealloc(s->read_start, s->cap_ctx * sizeof(uint64_t));
    }
    uint64_t ctx = s->n_ctx;
    s->read_start[s->n_ctx++] = chk_max_commit(s->chk);
    raft_read_index(l->r, ctx);
}

static void conf_change(struct sim *s, struct node *l)
{
    raft_id id = 1 + sim_rn(s, (uint32_t)s->n);
    const struct raft_conf *c = raft_conf_of(l->r);
    int at = raft_conf_find(c, id);
    uint32_t voters = 0;
    for (uint32_t i = 0; i < c->n; i++)
        voters += c->s[i].voter;
    enum raft_conf_change type = at < 0                                  ? RAFT_CC_ADD_LEARNER
                                 : !c->s[at].voter && sim_chance(s, 500) ? RAFT_CC_PROMOTE
                                                                         : RAFT_CC_REMOVE;
    if (type == RAFT_CC_REMOVE && c->s[at].voter && voters <= 2) return;
    char addr[RAFT_ADDR_MAX];
    sim_addr(id, addr);
    if (raft_propose_conf_change(l->r, type, id, addr, NULL) == 0) {
        s->st->conf_changes++;
        sim_log(s, "leader %d proposes change %d for node %llu", l->idx, type,
                (unsigned long long)id - 1);
    }
}

static void take_snapshot(struct sim *s, struct node *nd)
{
    if (nd->sm_index < nd->meta.index + 4) return;
    struct raft_snapshot_meta meta;
    int rc = raft_snapshot_taken(nd->r, nd->sm_index, &meta);
    if (rc != 0) {
        sim_failf(s, "raft_snapshot_taken(%llu) on node %d: %s", (unsigned long long)nd->sm_index,
                  nd->idx, raft_strerror(rc));
        return;
    }
    free(nd->snap);
    nd->snap_len = sim_snap_encode(nd->sm_index, nd->sm_hash, &nd->snap);
    sim_store_compact(nd, meta.index);
    nd->meta = meta;
}

static void partition(struct sim *s)
{
    memset(s->blocked, 0, sizeof(s->blocked));
    uint32_t kind = sim_rn(s, 4);
    if (kind == 0) { /* symmetric split into two random groups */
        uint32_t side = (uint32_t)sim_rnd(s);
        for (int a = 0; a < s->n; a++)
            for (int b = 0; b < s->n; b++)
                s->blocked[a][b] = ((side >> a) & 1) != ((side >> b) & 1);
    } else if (kind == 1) { /* one-way: a few directed links */
        for (int k = 0; k < 1 + (int)sim_rn(s, 3); k++)
            s->blocked[sim_rn(s, (uint32_t)s->n)][sim_rn(s, (uint32_t)s->n)] = true;
    } else { /* isolate one node, often the leader */
        struct node *l = find_leader(s);
        int x = kind == 3 && l ? l->idx : (int)sim_rn(s, (uint32_t)s->n);
        for (int b = 0; b < s->n; b++)
            s->blocked[x][b] = s->blocked[b][x] = true;
    }
    sim_log(s, "partition kind %u", kind);
}

static void fault_events(struct sim *s)
{
    struct node *l = find_leader(s);
    bool recovering = false;
    for (int i = 0; i < s->n; i++)
        recovering |= s->nodes[i].recovering;
    if (l && !recovering && sim_chance(s, 10)) conf_change(s, l);
    if (l && sim_chance(s, 5)) {
        raft_id t = 1 + sim_rn(s, (uint32_t)s->n);
        if (raft_transfer_leader(l->r, t) == 0) {
            s->st->transfers++;
            sim_log(s, "leader %d transfers to %llu", l->idx, (unsigned long long)t - 1);
        }
    }
    struct node *nd = l && sim_chance(s, 500) ? l : random_up(s); /* leaders often */
    if (nd && sim_chance(s, s->crash_pm)) sim_crash(s, nd, nd == l ? "leader" : "random");
    int k = (int)sim_rn(s, (uint32_t)s->n);
    if (!s->nodes[k].up && sim_chance(s, 60)) {
        sim_log(s, "node %d restarts", k);
        if (sim_chance(s, s->tail_loss_pm)) sim_lose_tail(s, &s->nodes[k]);
        sim_node_start(s, &s->nodes[k]);
    }
    if (sim_chance(s, s->part_pm)) partition(s);
    if (sim_chance(s, s->heal_pm)) memset(s->blocked, 0, sizeof(s->blocked));
}

static void client_events(struct sim *s)
{
    struct node *l = find_leader(s);
    if (l && sim_chance(s, s->faults ? 400 : 100)) {
        int burst = 1 + (int)sim_rn(s, 4);
        for (int i = 0; i < burst; i++)
            propose(s, l, ++s->next_val);
    }
    for (int i = 0; i < s->n; i++) { /* any node that believes it leads gets reads */
        struct node *nd = &s->nodes[i];
        if (nd->up && raft_role_of(nd->r) == RAFT_LEADER && sim_chance(s, 150)) read_start(s, nd);
        /* and a follower that believes it knows its leader (raft.h, follower reads) */
        if (nd->up && raft_role_of(nd->r) == RAFT_FOLLOWER && sim_chance(s, 300)) read_start(s, nd);
    }
    struct node *nd = random_up(s);
    if (nd && sim_chance(s, 40)) take_snapshot(s, nd);
}

/* ---- the run ---- */

/* Addresses are carried, never lost or mixed up: every member has its own. */
static void check_addrs(struct sim *s, const struct node *nd)
{
    const struct raft_conf *c = raft_conf_of(nd->r);
    for (uint32_t k = 0; k < c->n && !s->failed; k++) {
        char want[RAFT_ADDR_MAX];
        sim_addr(c->s[k].id, want);
        if (strcmp(c->s[k].addr, want) != 0)
            sim_failf(s, "node %d: server %llu has address \"%s\", expected \"%s\"", nd->idx,
                      (unsigned long long)c->s[k].id, c->s[k].addr, want);
    }
}

static void check_nodes(struct sim *s)
{
    for (int i = 0; i < s->n && !s->failed; i++) {
        struct node *nd = &s->nodes[i];
        if (!nd->up) continue;
        check_addrs(s, nd);
        raft_index c = raft_commit_index(nd->r);
        if (c < nd->life_commit)
            sim_failf(s, "commit index of node %d went back from %llu to %llu", i,
                      (unsigned long long)nd->life_commit, (unsigned long long)c);
        nd->life_commit = c;
        if (raft_role_of(nd->r) != RAFT_LEADER) continue;
        raft_term t = raft_term_of(nd->r);
        sim_chk(s, chk_leader(s->chk, i, t));
        uint64_t must = chk_must_hold(s->chk, t);
        bool covered = must < raft_first_index(nd->r);
        sim_chk(s, chk_leader_complete(s->chk, i, must, raft_log_term(nd->r, must), covered));
    }
}

static void tick(struct sim *s)
{
    s->now++;
    for (int i = 0; i < s->n; i++)
        if (s->nodes[i].up) raft_tick(s->nodes[i].r);
    sim_deliver(s);
    for (int i = 0; i < s->n && !s->failed; i++)
        sim_writes_tick(s, &s->nodes[i]);
    for (int i = 0; i < s->n && !s->failed; i++) {
        struct node *nd = &s->nodes[i];
        for (int k = 0; k < 4 && nd->up && raft_has_ready(nd->r) && !s->failed; k++)
            sim_node_ready(s, nd);
    }
    check_nodes(s);
}

static void setup(struct sim *s)
{
    s->n = s->o->nodes ? s->o->nodes : 3 + (int)sim_rn(s, 5);
    raft_config_default(&s->cfg);
    s->cfg.election_ticks = 10;
    s->cfg.heartbeat_ticks = 1 + sim_rn(s, 3);
    s->cfg.pre_vote = !sim_chance(s, 250);
    s->cfg.check_quorum = !sim_chance(s, 250);
    s->cfg.max_inflight_msgs = 1 + sim_rn(s, 8);
    s->cfg.max_entries_per_msg = sim_chance(s, 500) ? 1 + sim_rn(s, 4) : 4 + sim_rn(s, 60);
    s->cfg.max_bytes_per_msg = 8 * (4 + sim_rn(s, 128));
    s->cfg.snapshot_chunk_bytes = 16 + sim_rn(s, 64);
    s->cfg.promote_lag_entries = sim_rn(s, 8);
    s->cfg.auto_promote = !sim_chance(s, 200);
    s->cfg.max_uncommitted = 32 + sim_rn(s, 200);
    if (sim_chance(s, 500)) { /* lease reads: linearizable under the sim's perfect clocks */
        s->cfg.read_mode = RAFT_READ_LEASE;
        s->cfg.check_quorum = true;
    }
    s->drop_pm = sim_rn(s, 150);
    s->dup_pm = sim_rn(s, 100);
    switch (sim_rn(s, 3)) { /* a fault profile per seed */
    case 0: /* crash-heavy: many crashes, many of them between early sends and disk */
        s->crash_pm = sim_rn(s, 25);
        s->midcrash_pm = sim_rn(s, 50);
        s->cfg.max_entries_per_msg = 1 + sim_rn(s, 2); /* acks split old-term entries
                                                          from the new leader's no-op */
        s->part_pm = 5;
        s->heal_pm = 25;
        break;
    case 1: /* partition-heavy: long partitions, stale leaders, few crashes */
        s->crash_pm = sim_rn(s, 3);
        s->midcrash_pm = sim_rn(s, 3);
        s->part_pm = 10 + sim_rn(s, 20);
        s->heal_pm = 5 + sim_rn(s, 10);
        break;
    default: /* mixed */
        s->crash_pm = sim_rn(s, 15);
        s->midcrash_pm = sim_rn(s, 10);
        s->part_pm = 15;
        s->heal_pm = 25;
        break;
    }
    s->tail_loss_pm = sim_chance(s, 300) ? 100 + sim_rn(s, 400) : 0;
    s->max_delay = 1 + sim_rn(s, 6);
    /* released logs: leaders read entries back from their stores for lagging followers */
    s->release_pm = sim_chance(s, 250) ? 0 : 100 + sim_rn(s, 900);
    s->release_keep = 8 * sim_rn(s, 8);
    s->load_fail_pm = sim_chance(s, 500) ? 0 : sim_rn(s, 100);
    /* asynchronous writes: some batches, or nearly all, complete ticks later */
    s->cfg.async_persist = sim_chance(s, 500);
    s->async_pm = sim_chance(s, 500) ? 1000 : 200 + sim_rn(s, 800);
    s->write_pm = 100 + sim_rn(s, 900);
    int voters = s->n - (int)sim_rn(s, 2); /* sometimes one node starts outside, to be added */
    for (int i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        nd->idx = i;
        nd->id = (raft_id)i + 1;
        if (i < voters) {
            nd->meta.conf.n = (uint32_t)voters;
            for (int k = 0; k < voters; k++) {
                nd->meta.conf.s[k] = (struct raft_server){.id = (raft_id)k + 1, .voter = true};
                sim_addr((raft_id)k + 1, nd->meta.conf.s[k].addr);
            }
        }
        sim_node_start(s, nd);
    }
}

/* Healed: everything up, no faults; a leader must emerge and commit a new entry. */
static void liveness(struct sim *s)
{
    s->faults = false;
    memset(s->blocked, 0, sizeof(s->blocked));
    for (int i = 0; i < s->n && !s->failed; i++)
        if (!s->nodes[i].up) sim_node_start(s, &s->nodes[i]);
    struct node *proposer = NULL;
    raft_term proposed_term = 0;
    for (int t = 0; t < s->o->live_steps && !s->failed; t++) {
        if (s->marker_applied) {
            if ((uint64_t)t > s->st->heal_ticks_max) s->st->heal_ticks_max = (uint64_t)t;
            return;
        }
        struct node *l = find_leader(s);
        if (l && (l != proposer || raft_term_of(l->r) != proposed_term)) {
            s->marker = (1ull << 62) | s->now;
            if (propose(s, l, s->marker)) { /* refused during a transfer: retry */
                proposer = l;
                proposed_term = raft_term_of(l->r);
            }
        }
        client_events(s);
        tick(s);
    }
    for (int i = 0; i < s->n && !s->marker_applied; i++) {
        struct node *nd = &s->nodes[i];
        const struct raft_conf *c = raft_conf_of(nd->r);
        char cs[128] = "";
        for (uint32_t k = 0; k < c->n; k++)
            snprintf(cs + strlen(cs), sizeof(cs) - strlen(cs), "%llu%s ",
                     (unsigned long long)c->s[k].id - 1, c->s[k].voter ? "" : "(l)");
        sim_log(s,
                "node %d: role %d term %llu leader %llu commit %llu last %llu (term %llu) "
                "conf [%s]",
                i, raft_role_of(nd->r), (unsigned long long)raft_term_of(nd->r),
                (unsigned long long)raft_leader(nd->r),
                (unsigned long long)raft_commit_index(nd->r),
                (unsigned long long)raft_last_index(nd->r),
                (unsigned long long)raft_log_term(nd->r, raft_last_index(nd->r)), cs);
    }
    if (!s->failed && !s->marker_applied)
        sim_failf(s, "liveness: no proposal committed within %d ticks after healing",
                  s->o->live_steps);
}

int sim_run(const struct sim_opts *o, struct sim_stats *st, char *err, size_t errlen)
{
    struct sim *s = calloc(1, sizeof(*s));
    if (!s) return -1;
    s->o = o;
    s->st = st;
    s->rng = o->seed * 0x2545f4914f6cdd1dull + 1;
    s->err = err;
    s->errlen = errlen;
    s->chk = chk_new();
    s->faults = true;
    setup(s);
    for (int t = 0; t < o->fault_steps && !s->failed; t++) {
        fault_events(s);
        client_events(s);
        tick(s);
    }
    if (!s->failed) liveness(s);
    int rc = s->failed ? -1 : 0;
    for (int i = 0; i < s->n; i++)
        sim_node_destroy(&s->nodes[i]);
    for (size_t i = 0; i < s->nq; i++)
        free(s->q[i].buf);
    free(s->q);
    free(s->read_start);
    chk_free(s->chk);
    free(s);
    return rc;
}
