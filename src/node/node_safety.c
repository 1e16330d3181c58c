/*
 * src/node/node_safety.c - the Raft driver's defences against a node that lost
 * state it had acknowledged (docs/storage-safety.md):
 *
 *  - at start: the WAL check (src/storage/storage_wal.h), the refusal to start on a
 *    snapshot without its log (raft-start-from-snapshot), and the durable
 *    recovering mark, which keeps a node that may have lost acknowledged
 *    entries or its vote from voting until it caught up with a leader
 *    (raft_set_recovering());
 *  - incarnations (src/storage/storage.h, IDENTITY): the one this node presents on
 *    RAFT.AUTH, the ones its members presented, the refusal of a member that
 *    comes back under its old id with another one (its dir was wiped), and
 *    the discovery that this node is such a member (its peers say LOSTSTATE).
 *
 * Incarnations are recorded for members of the configuration only (the table
 * stays bounded by the configuration), forgotten when an appended
 * configuration adds the id (a new member under an id used before) or a
 * committed one removes it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "raft/raft.h"
#include "base/log.h"
#include "node/node.h"
#include "node/node_int.h"
#include "sm/sm.h"
#include "sm/snapshot.h"
#include "storage/storage.h"
#include "storage/storage_wal.h"
#include "transport/transport.h"

static void dir_file(const struct node *n, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", n->cfg->dir, name);
}

/* ----------------------------------------------------------------- start */

bool node_safety_check_wal(struct node *n)
{
    char db[4096], err[512];
    struct storage_wal_report r;
    dir_file(n, STORAGE_FILE_NAME, db, sizeof db);
    if (storage_wal_check(db, &r, err, sizeof err) != 0) {
        LOG_WARNING("Cannot check the Raft log's WAL: %s", err);
        return false;
    }
    if (!storage_wal_damaged(&r)) {
        if (r.torn)
            LOG_NOTICE("%s-wal: frame %llu was cut by a crash (nothing follows it)", db,
                       (unsigned long long)r.first_bad);
        return false;
    }
    if (r.header_bad)
        LOG_WARNING("DAMAGED RAFT LOG: the header of %s-wal is damaged: SQLite ignores every "
                    "frame in it, so the transactions written last before the crash "
                    "(acknowledged writes included) are lost on this node",
                    db);
    else
        LOG_WARNING("DAMAGED RAFT LOG: frame %llu of %s-wal fails its checksum and %llu later "
                    "frames of the same WAL (%llu transactions) follow it: SQLite discards them, "
                    "so the writes this node stored last before the crash (acknowledged ones "
                    "included) are lost on this node",
                    (unsigned long long)r.first_bad, db, (unsigned long long)r.lost,
                    (unsigned long long)r.lost_commits);
    if (storage_wal_keep_copy(db, err, sizeof err) == 0)
        LOG_WARNING("A copy of the damaged WAL is kept in %s-wal.damaged", db);
    else
        LOG_WARNING("Could not keep a copy of the damaged WAL: %s", err);
    return true;
}

int node_safety_fresh_snapshot(struct node *n, struct storage_state *st, char *err, size_t errlen)
{
    char path[4096], why[512];
    dir_file(n, SNAPSHOT_FILE_NAME, path, sizeof path);
    if (access(path, F_OK) != 0) return 0;
    if (!n->cfg->raft_start_from_snapshot) {
        snprintf(err, errlen,
                 "%s exists but %s/%s holds no Raft log (deleted or lost?): starting would "
                 "silently lose every write acknowledged after the snapshot and this node's "
                 "vote. Restore the log; or remove the snapshot and join as a new node; or set "
                 "raft-start-from-snapshot yes to start from the snapshot as a node that does "
                 "not vote until it has caught up with a leader",
                 path, n->cfg->dir, STORAGE_FILE_NAME);
        return -1;
    }
    struct snapshot_header h;
    if (sm_snapshot_verify(n->sm, path, &h, why, sizeof why) != 0 || h.index == 0 || h.term == 0) {
        snprintf(err, errlen, "Cannot start from the snapshot: %s", why);
        return -1;
    }
    st->snap.index = h.index;
    st->snap.term = h.term;
    st->hs = (struct raft_hard_state){.term = h.term, .vote = 0, .commit = h.index};
    LOG_WARNING("No Raft log: starting from %s (index %llu, term %llu) as its base "
                "(raft-start-from-snapshot yes); writes acknowledged after it are not on this "
                "node",
                path, (unsigned long long)h.index, (unsigned long long)h.term);
    return 1;
}

static void set_mark(struct node *n, bool on)
{
    char err[512];
    if (storage_set_recovering(n->st, on, err, sizeof err) != 0)
        node_fatal("Writing the recovering mark", err);
}

/* Marks the core (and the store, so that a restart does too): no vote until
 * caught up. A lone voter has no one to catch up with. */
static void start_recovering(struct node *n, const char *why)
{
    const struct raft_conf *c = raft_conf_of(n->raft);
    uint32_t voters = 0;
    for (uint32_t i = 0; i < c->n; i++)
        voters += c->s[i].voter;
    if (voters <= 1 && raft_conf_find(c, raft_id_of(n->raft)) >= 0) {
        LOG_WARNING("%s, and this node is alone in its cluster: there is no leader to catch up "
                    "with; it serves what it has",
                    why);
        set_mark(n, false);
        return;
    }
    if (!raft_recovering(n->raft))
        LOG_WARNING("%s: this node will not vote or stand for election until it has caught up "
                    "with a leader (RAFT.INFO recovery:recovering)",
                    why);
    raft_set_recovering(n->raft);
    set_mark(n, true);
    transport_set_recovering(n->tr, 1); /* peers accept a new incarnation that says so */
}

void node_safety_start(struct node *n, bool lost)
{
    n->startup_commit = raft_commit_index(n->raft);
    transport_set_incarnation(n->tr, storage_incarnation(n->st));
    if (lost)
        start_recovering(n, "This node may have lost Raft state it had acknowledged");
    else if (n->boot_waiting)
        /* A new store waiting to be added, or the wiped store of a node
         * added earlier: nothing tells them apart here, and its peers may
         * take a while to say. Recovering costs a learner nothing, and it
         * is promoted to voter only once caught up (raft.h, MEMBERSHIP). */
        start_recovering(n, "This node starts with a new store and waits to be added");
    else if (storage_recovering(n->st))
        start_recovering(n, "This node had not caught up with a leader since it lost state");
}

void node_safety_after_ready(struct node *n)
{
    if (raft_recovering(n->raft) && !storage_recovering(n->st)) {
        /* The core found out itself (raft.h, A LOG THAT WENT BACKWARDS). */
        LOG_WARNING("The leader's heartbeat shows this node's log ends below what it had "
                    "acknowledged: it lost entries; no vote until it has caught up");
        set_mark(n, true);
        transport_set_recovering(n->tr, 1);
        return;
    }
    if (!storage_recovering(n->st) || raft_recovering(n->raft) || raft_has_ready(n->raft)) return;
    /* The core caught up and the vote it recorded is durable: vote again. */
    set_mark(n, false);
    transport_set_recovering(n->tr, 0);
    LOG_NOTICE("Caught up with leader %llu at index %llu: this node votes again",
               (unsigned long long)raft_leader(n->raft),
               (unsigned long long)raft_commit_index(n->raft));
}

/* ---------------------------------------------------------- incarnations */

/* id is in the configuration applied or the latest one: its record is kept. */
static bool member(const struct node *n, uint64_t id)
{
    return raft_conf_find(raft_conf_of(n->raft), (raft_id)id) >= 0 ||
           raft_conf_find(&n->conf_applied, (raft_id)id) >= 0;
}

/* id is in the latest configuration, the one whose votes and acknowledgements
 * this node counts (§4.1: effective once appended): only then is another
 * incarnation refused. A member whose removal this node appended but has not
 * applied is no longer counted; if it was re-added elsewhere under a new
 * incarnation and leads, refusing the link to it would leave this node unable
 * to answer the leader whose entries forget the old record: it would stay
 * behind for good. Its record stays, and is enforced again if a leader
 * truncates the removal. */
static bool counted(const struct node *n, uint64_t id)
{
    return raft_conf_find(raft_conf_of(n->raft), (raft_id)id) >= 0;
}

/* The cache entry of member id, loaded from the store on first use. */
static struct node_inc *inc_entry(struct node *n, uint64_t id)
{
    for (size_t i = 0; i < n->n_incs; i++)
        if (n->incs[i].id == id) return &n->incs[i];
    if (n->n_incs == NODE_INCS_MAX) { /* drop the entries of non-members */
        size_t k = 0;
        for (size_t i = 0; i < n->n_incs; i++)
            if (member(n, n->incs[i].id)) n->incs[k++] = n->incs[i];
        n->n_incs = k;
        if (k == NODE_INCS_MAX) n->n_incs = 0;
    }
    struct node_inc *e = &n->incs[n->n_incs++];
    memset(e, 0, sizeof *e);
    e->id = id;
    char err[512];
    if (storage_peer_incarnation(n->st, id, &e->inc, err, sizeof err) != 0)
        node_fatal("Reading a peer's incarnation", err);
    return e;
}

static void record(struct node *n, struct node_inc *e, uint64_t inc)
{
    char err[512];
    if (storage_set_peer_incarnation(n->st, e->id, inc, err, sizeof err) != 0)
        node_fatal("Recording a peer's incarnation", err);
    e->inc = inc;
    e->lost_in = e->lost_out = false;
    if (inc)
        LOG_VERBOSE("Peer %llu: incarnation %llu", (unsigned long long)e->id,
                    (unsigned long long)inc);
}

/* Peer e presents a new incarnation and says it is recovering. */
static void take_back(struct node *n, struct node_inc *e, uint64_t inc)
{
    LOG_WARNING("Peer %llu comes back with incarnation %llu (it was %llu): it lost its Raft "
                "state and catches up before it votes again",
                (unsigned long long)e->id, (unsigned long long)inc, (unsigned long long)e->inc);
    record(n, e, inc);
}

static void forget(struct node *n, uint64_t id)
{
    record(n, inc_entry(n, id), 0);
}

uint64_t node_incarnation(const struct node *n)
{
    return storage_incarnation(n->st);
}

int node_peer_auth(struct node *n, uint64_t id, uint64_t inc, bool recovering, char *err,
                   size_t errlen)
{
    if (!counted(n, id)) return 0; /* not one of our voters or learners: nothing to protect */
    struct node_inc *e = inc_entry(n, id);
    if (e->inc == 0)
        record(n, e, inc);
    else if (e->inc != inc && recovering)
        take_back(n, e, inc);
    e->recovering = recovering;
    if (e->inc == inc) {
        e->lost_in = false;
        return 0;
    }
    snprintf(err, errlen,
             "node %llu presents incarnation %llu but was %llu: it lost its Raft state (its dir "
             "was wiped or replaced); refused until it says it is recovering (it then catches "
             "up before it votes)",
             (unsigned long long)id, (unsigned long long)inc, (unsigned long long)e->inc);
    if (!e->lost_in) LOG_WARNING("Refusing peer: %s", err);
    e->lost_in = true;
    return -1;
}

/* One peer's outbound link: expect what we know, record what it presents. */
static void check_peer(struct node *n, uint64_t id, bool *refused_us)
{
    struct transport_peer_info info;
    if (transport_peer_info(n->tr, id, &info) != 0) return;
    if (!counted(n, id)) {
        transport_expect_incarnation(n->tr, id, 0);
        return;
    }
    struct node_inc *e = inc_entry(n, id);
    if (info.incarnation && e->inc == 0)
        record(n, e, info.incarnation);
    else if (info.incarnation && info.peer_recovering && e->inc != info.incarnation)
        take_back(n, e, info.incarnation);
    transport_expect_incarnation(n->tr, id, e->inc);
    if (transport_peer_info(n->tr, id, &info) != 0) return;
    e->lost_out = info.inc_mismatches > 0;
    *refused_us |= info.refusing_lost_state;
}

void node_safety_tick(struct node *n)
{
    bool refused_us = false;
    for (size_t i = 0; i < n->n_linked; i++)
        check_peer(n, n->linked[i], &refused_us);
    /* A refusal by any peer since the last look, a non-member's too: such a
     * peer may know this node better than its own store does (a wiped node
     * boots from cluster-members, which may no longer name the members that
     * remember it), and it may have accepted us again already. */
    uint64_t refusals = transport_lost_state_refusals(n->tr);
    refused_us |= refusals != n->lost_state_refusals_seen;
    n->lost_state_refusals_seen = refusals;
    /* Once per process: the incarnation does not change, and the transport
     * tells every peer that refused it that we recover (transport.h). */
    if (refused_us && !n->refused_seen && !storage_recovering(n->st) && n->hs.commit > 0) {
        /* This store caught up with a leader since it was created (a fresh
         * store's commit index is 0 until a leader's entries reach it, and
         * a recovering one keeps its mark until then): it lost nothing. The
         * refusing peer still knows an earlier store of this node; the
         * link tells it we recover until it takes this one (transport.h),
         * and this node keeps voting. Marking it recovering again would
         * make two such nodes of three a cluster with no quorum. */
        LOG_WARNING("Peers refuse this node's incarnation, but this store has caught up with a "
                    "leader since it was created (commit %llu): they still know an earlier "
                    "store of node %lld and are told to take this one",
                    (unsigned long long)n->hs.commit, n->cfg->node_id);
        n->refused_seen = true;
    } else if (refused_us && !n->refused_seen) {
        LOG_WARNING("Peers refuse this node: they knew node %lld under another incarnation. "
                    "It lost its Raft state (its dir was wiped or replaced): it will not vote "
                    "until it has caught up with a leader, and tells its peers so "
                    "(docs/storage-safety.md)",
                    n->cfg->node_id);
        start_recovering(n, "Peers refuse this node's incarnation");
        n->refused_seen = true;
    }
    n->lost_state = refused_us;
}

void node_safety_conf_seen(struct node *n, const struct raft_conf *old, const struct raft_conf *now)
{
    if (!n->conf_seen_valid) { /* the first one, at start: nothing was added */
        n->conf_seen_valid = true;
        return;
    }
    for (uint32_t i = 0; i < now->n; i++)
        if (raft_conf_find(old, now->s[i].id) < 0 && now->s[i].id != raft_id_of(n->raft))
            forget(n, now->s[i].id);
}

void node_safety_conf_applied(struct node *n, const struct raft_conf *old,
                              const struct raft_conf *now, raft_index index)
{
    if (index <= n->startup_commit) return; /* applied in an earlier life already */
    for (uint32_t i = 0; i < old->n; i++)
        if (raft_conf_find(now, old->s[i].id) < 0 && old->s[i].id != raft_id_of(n->raft))
            forget(n, old->s[i].id);
}

/* ---------------------------------------------------------------- views */

const char *node_peer_recovery_state(const struct node *n, uint64_t id)
{
    for (size_t i = 0; i < n->n_incs; i++) {
        const struct node_inc *e = &n->incs[i];
        if (e->id != id) continue;
        if (e->lost_in || e->lost_out) return "lost-state";
        return e->recovering ? "recovering" : "no";
    }
    return "no";
}

const char *node_recovery_state(const struct node *n)
{
    if (!raft_recovering(n->raft)) return "no";
    return n->lost_state ? "lost-state" : "recovering";
}
