/*
 * src/node/node_member.c - cluster membership as the driver sees it (node.h):
 * members' addresses, the peer links that follow the configuration, the
 * membership commands' work (RAFT.NODE ADD/REMOVE, RAFT.TRANSFER_LEADER) and
 * joining a cluster (RAFT.CLUSTER JOIN).
 *
 * Addresses live in the Raft configuration itself (struct raft_server.addr,
 * "host:port" with IPv6 hosts in brackets), so they are in the log and in
 * snapshots like the membership: cluster-members is read on first boot only
 * (to write the initial configuration), and a node added at runtime is known
 * to every member by the entry that adds it. A configuration written by an
 * older version carries no addresses; cluster-members fills those in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "raft/raft.h"
#include "base/clock.h"
#include "cmd/client.h"
#include "base/log.h"
#include "node/node.h"
#include "node/node_int.h"
#include "sm/sm.h"
#include "storage/storage.h"
#include "transport/transport.h"
#include "base/util.h"
#include "node/waiters.h"

#define JOIN_HOPS_MAX 8           /* MOVED redirections followed by one JOIN */
#define JOIN_CALL_TIMEOUT_MS 5000 /* one RAFT.NODE ADD request */

/* ------------------------------------------------------------- addresses */

int node_format_addr(const char *host, int port, char *out, size_t outlen)
{
    int v6 = strchr(host, ':') != NULL;
    int n = snprintf(out, outlen, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static const struct config_member *configured(const struct node *n, uint64_t id)
{
    for (int i = 0; i < n->cfg->members_count; i++)
        if ((uint64_t)n->cfg->members[i].id == id) return &n->cfg->members[i];
    return NULL;
}

/* The address recorded for id in the latest configuration, or in the last
 * applied one (a server being removed), or NULL. */
static const char *conf_addr(const struct node *n, uint64_t id)
{
    const struct raft_conf *confs[] = {raft_conf_of(n->raft), &n->conf_applied};
    for (int k = 0; k < 2; k++) {
        int i = raft_conf_find(confs[k], (raft_id)id);
        if (i >= 0 && confs[k]->s[i].addr[0]) return confs[k]->s[i].addr;
    }
    return NULL;
}

int node_member_addr(const struct node *n, uint64_t id, char *host, size_t hostlen, int *port)
{
    char h[CONFIG_HOST_MAX], err[128];
    const char *a = conf_addr(n, id);
    if (a && config_parse_hostport(a, strlen(a), h, port, err, sizeof err) == 0) {
        snprintf(host, hostlen, "%s", h);
        return 0;
    }
    if (id == (uint64_t)n->cfg->node_id) {
        config_advertise(n->cfg, h, port);
        snprintf(host, hostlen, "%s", h);
        return 0;
    }
    const struct config_member *m = configured(n, id);
    if (m) {
        snprintf(host, hostlen, "%s", m->host);
        *port = m->port;
        return 0;
    }
    for (size_t i = 0; i < n->n_learned; i++)
        if (n->learned[i].id == id) {
            snprintf(host, hostlen, "%s", n->learned[i].host);
            *port = n->learned[i].port;
            return 0;
        }
    return -1;
}

/* ----------------------------------------------------------- peer links */

static bool linked(const struct node *n, uint64_t id)
{
    for (size_t i = 0; i < n->n_linked; i++)
        if (n->linked[i] == id) return true;
    return false;
}

/* A link to id at its current address (transport_set_peer keeps a link
 * whose address did not change). */
static void link_member(struct node *n, uint64_t id)
{
    char host[CONFIG_HOST_MAX];
    int port;
    if (id == (uint64_t)n->cfg->node_id || linked(n, id)) return;
    if (node_member_addr(n, id, host, sizeof host, &port) != 0) {
        LOG_WARNING("Raft: no address known for member %llu", (unsigned long long)id);
        return;
    }
    transport_set_peer(n->tr, id, host, port);
    transport_set_peer(n->tr_pubsub, id, host, port);
    n->linked[n->n_linked++] = id;
}

/* One link per member of the latest configuration and of the last applied
 * one: a server being removed keeps its link until its removal commits, so
 * that its acknowledgements (a leader removing itself waits for them) and
 * the entry removing it still get through. Links to servers in neither are
 * closed. */
void node_sync_peers(struct node *n)
{
    const struct raft_conf *latest = raft_conf_of(n->raft);
    uint64_t old[2 * RAFT_MAX_NODES];
    size_t n_old = n->n_linked;
    memcpy(old, n->linked, n_old * sizeof *old);
    n->n_linked = 0;
    for (uint32_t i = 0; i < latest->n; i++)
        link_member(n, (uint64_t)latest->s[i].id);
    for (uint32_t i = 0; i < n->conf_applied.n; i++)
        link_member(n, (uint64_t)n->conf_applied.s[i].id);
    for (size_t i = 0; i < n_old; i++)
        if (!linked(n, old[i])) {
            transport_remove_peer(n->tr, old[i]);
            transport_remove_peer(n->tr_pubsub, old[i]);
        }
    node_safety_conf_seen(n, &n->conf_seen, latest);
    n->conf_seen = *latest;
    n->conf_dirty = false;
    node_note_conf(n, latest);
}

/* A link to id, a peer that is not a member of our configuration, so that
 * it can be answered (transport_set_peer keeps a live link), at the address
 * the configuration or cluster-members records for it if any (they take
 * precedence), else the one it announced (node_member_addr). */
static void link_non_member(struct node *n, uint64_t id)
{
    char host[CONFIG_HOST_MAX];
    int port;
    if (node_member_addr(n, id, host, sizeof host, &port) == 0)
        transport_set_peer(n->tr, id, host, port);
}

void node_publish(struct node *n, int shard, const char *channel, size_t clen, const char *msg,
                  size_t mlen)
{
    char self[24];
    int sl = snprintf(self, sizeof self, "%llu", (unsigned long long)n->cfg->node_id);
    const char *argv[] = {"RAFT.PUBLISH", self, shard ? "1" : "0", channel, msg};
    const size_t lens[] = {12, (size_t)sl, 1, clen, mlen};
    for (size_t i = 0; i < n->n_linked; i++)
        transport_send_command(n->tr_pubsub, n->linked[i], 5, argv, lens);
}

/* The address this node holds for id (its Raft configuration, else
 * cluster-members) against host:port seen elsewhere (what: how): a
 * difference is counted, and logged when it is a new one. Clients are
 * redirected to, and peers dialled at, the address held: a wrong one makes
 * a node unreachable. host NULL: the port alone is compared. */
static void check_addr(struct node *n, uint64_t id, const char *what, const char *host, int port)
{
    char h[CONFIG_HOST_MAX], err[128];
    int p;
    const char *a = conf_addr(n, id);
    const struct config_member *m = configured(n, id);
    if (a) {
        if (config_parse_hostport(a, strlen(a), h, &p, err, sizeof err) != 0) return;
    } else if (m) {
        snprintf(h, sizeof h, "%s", m->host);
        p = m->port;
    } else {
        return;
    }
    if (p == port && (!host || !strcasecmp(h, host))) return;
    char seen[CONFIG_HOST_MAX + 16], msg[sizeof n->addr_mismatch];
    if (host)
        snprintf(seen, sizeof seen, "%s:%d", host, port);
    else
        snprintf(seen, sizeof seen, "port %d", port);
    snprintf(msg, sizeof msg,
             "node %llu %s %s, but this node's configuration has it at %s:%d (check "
             "cluster-members on every node: peers and clients are sent to the latter)",
             (unsigned long long)id, what, seen, h, p);
    if (strcmp(msg, n->addr_mismatch) != 0) LOG_WARNING("Membership: %s", msg);
    memcpy(n->addr_mismatch, msg, sizeof msg);
    n->addr_mismatches++;
}

uint64_t node_addr_mismatches(const struct node *n, const char **last)
{
    *last = n->addr_mismatch;
    return n->addr_mismatches;
}

void node_learn_peer(struct node *n, uint64_t id, const char *host, int port)
{
    if (id == (uint64_t)n->cfg->node_id) return;
    check_addr(n, id, "announces itself at", host, port);
    /* Every announced address is kept (the oldest gives way): a member
     * dropped from our configuration by an entry (a snapshot that predates
     * it, a removal) may still lead us, and must be answered. */
    size_t i = 0;
    while (i < n->n_learned && n->learned[i].id != id)
        i++;
    if (i == n->n_learned) {
        if (n->n_learned < NODE_LEARNED_MAX)
            n->n_learned++;
        else
            i = n->learned_next++ % NODE_LEARNED_MAX;
    }
    n->learned[i].id = id;
    snprintf(n->learned[i].host, sizeof n->learned[i].host, "%s", host);
    n->learned[i].port = port;
    if (!linked(n, id)) link_non_member(n, id);
}

void node_answer_peer(struct node *n, uint64_t id)
{
    struct transport_peer_info info;
    if (id == (uint64_t)n->cfg->node_id || linked(n, id) ||
        transport_peer_info(n->tr, id, &info) == TRANSPORT_OK)
        return;
    link_non_member(n, id);
}

/* ----------------------------------------------------- membership changes */

/* Without raft-secret no peer can ever connect (RAFT.AUTH is refused), so a
 * node added would never answer: as a voter it would take the quorum away. */
static int need_secret(const struct node *n, char *err, size_t errlen)
{
    if (n->cfg->raft_secret.len) return 0;
    snprintf(err, errlen,
             "membership changes need raft-secret: without it no other node can connect "
             "(set the same raft-secret on every node)");
    return NODE_EINVAL;
}

/* A removed node's idea of the leader is stale: no -MOVED to it. */
static int not_removed(const struct node *n, char *err, size_t errlen)
{
    if (!node_removed(n)) return 0;
    snprintf(err, errlen, "this node was removed from the cluster");
    return NODE_EINVAL;
}

int node_change_member(struct node *n, struct client *c, enum node_member_op op, uint64_t id,
                       const char *addr, char *err, size_t errlen)
{
    if (need_secret(n, err, errlen) != 0 || not_removed(n, err, errlen) != 0) return NODE_EINVAL;
    if (n->role != RAFT_LEADER) return NODE_ENOTLEADER;
    const struct raft_conf *conf = raft_conf_of(n->raft);
    int at = raft_conf_find(conf, (raft_id)id);
    if (op == NODE_MEMBER_ADD) {
        if (at >= 0) {
            snprintf(err, errlen, "node id %llu is already in use", (unsigned long long)id);
            return NODE_EINVAL;
        }
        for (uint32_t i = 0; i < conf->n; i++)
            if (strcmp(conf->s[i].addr, addr) == 0) {
                snprintf(err, errlen, "address %s is already used by node %llu", addr,
                         (unsigned long long)conf->s[i].id);
                return NODE_EINVAL;
            }
        if (conf->n >= RAFT_MAX_NODES) {
            snprintf(err, errlen, "the cluster already has the maximum of %d nodes",
                     RAFT_MAX_NODES);
            return NODE_EINVAL;
        }
    } else if (at < 0) {
        snprintf(err, errlen, "unknown node id %llu", (unsigned long long)id);
        return NODE_EINVAL;
    }
    raft_index index;
    int rc = raft_propose_conf_change(n->raft,
                                      op == NODE_MEMBER_ADD ? RAFT_CC_ADD_LEARNER : RAFT_CC_REMOVE,
                                      (raft_id)id, addr, &index);
    if (rc == RAFT_ENOTLEADER) return NODE_ENOTLEADER;
    if (rc == RAFT_EBUSY) {
        snprintf(err, errlen, "a membership change or leadership transfer is in progress");
        return NODE_EBUSY;
    }
    if (rc == RAFT_EINVAL && op == NODE_MEMBER_REMOVE) {
        snprintf(err, errlen, "cannot remove the last voting node");
        return NODE_EINVAL;
    }
    if (rc == RAFT_EUNSAFE) {
        snprintf(err, errlen,
                 "cannot remove node %llu now: the voting nodes left that answered within an "
                 "election timeout would not be a majority, and the change could never commit",
                 (unsigned long long)id);
        return NODE_EINVAL;
    }
    if (rc != 0) {
        snprintf(err, errlen, "raft: %s", raft_strerror(rc));
        return NODE_EINVAL;
    }
    LOG_NOTICE("Raft: proposed %s of node %llu%s%s at index %llu",
               op == NODE_MEMBER_ADD ? "addition" : "removal", (unsigned long long)id,
               op == NODE_MEMBER_ADD ? " at " : "", op == NODE_MEMBER_ADD ? addr : "",
               (unsigned long long)index);
    node_add_waiter(n, c, index, 0);
    c->pending_writes++;
    return 0;
}

int node_transfer_leader(struct node *n, uint64_t target, char *err, size_t errlen)
{
    if (not_removed(n, err, errlen) != 0) return NODE_EINVAL;
    if (n->role != RAFT_LEADER) return NODE_ENOTLEADER;
    const struct raft_conf *conf = raft_conf_of(n->raft);
    if (target == 0) { /* the most up-to-date other voter this node is connected to */
        raft_index best = 0;
        for (uint32_t i = 0; i < conf->n; i++) {
            raft_index match = 0;
            struct transport_peer_info pi;
            if (!conf->s[i].voter || conf->s[i].id == (raft_id)n->cfg->node_id) continue;
            if (transport_peer_info(n->tr, conf->s[i].id, &pi) != 0 ||
                pi.state != TRANSPORT_CONNECTED || pi.peer_recovering)
                continue; /* a transfer to it would only wait out its timeout */
            raft_progress(n->raft, conf->s[i].id, &match);
            if (!target || match > best) {
                target = (uint64_t)conf->s[i].id;
                best = match;
            }
        }
        if (!target) {
            snprintf(err, errlen, "no other voting node is connected to transfer leadership to");
            return NODE_EINVAL;
        }
    }
    int i = raft_conf_find(conf, (raft_id)target);
    if (i < 0 || !conf->s[i].voter || target == (uint64_t)n->cfg->node_id) {
        snprintf(err, errlen, "node %llu is not another voting node", (unsigned long long)target);
        return NODE_EINVAL;
    }
    node_write_flush(n); /* the writes already taken go in before proposals stop */
    int rc = raft_transfer_leader(n->raft, (raft_id)target);
    if (rc == RAFT_EBUSY) {
        snprintf(err, errlen, "a leadership transfer is already in progress");
        return NODE_EBUSY;
    }
    if (rc == RAFT_EUNSAFE) {
        snprintf(err, errlen,
                 "node %llu is recovering (it lost Raft state and has not caught up yet): it "
                 "would not stand for election",
                 (unsigned long long)target);
        return NODE_EINVAL;
    }
    if (rc != 0) {
        snprintf(err, errlen, "raft: %s", raft_strerror(rc));
        return rc == RAFT_ENOTLEADER ? NODE_ENOTLEADER : NODE_EINVAL;
    }
    /* clients wait for the outcome rather than fail meanwhile (node_route):
     * the core gives up after an election timeout, the new leader is heard
     * of within another */
    n->park_until_ms = clock_ms() + 2 * n->cfg->raft_election_timeout_ms;
    LOG_NOTICE("Raft: transferring leadership to node %llu", (unsigned long long)target);
    return 0;
}

bool node_has_cluster(const struct node *n)
{
    return raft_conf_of(n->raft)->n > 0;
}

void node_note_conf(struct node *n, const struct raft_conf *c)
{
    if (raft_conf_find(c, (raft_id)n->cfg->node_id) >= 0) n->was_member = true;
    char host[CONFIG_HOST_MAX];
    int port;
    config_advertise(n->cfg, host, &port);
    check_addr(n, (uint64_t)n->cfg->node_id, "is this node, listening on", NULL, port);
}

bool node_removed(const struct node *n)
{
    const struct raft_conf *conf = raft_conf_of(n->raft);
    return n->was_member && conf->n > 0 && raft_conf_find(conf, (raft_id)n->cfg->node_id) < 0;
}

const char *node_member_state(const struct node *n)
{
    const struct raft_conf *conf = raft_conf_of(n->raft);
    if (n->join) return "joining";
    if (conf->n == 0) return "uninitialized";
    if (raft_conf_find(conf, (raft_id)n->cfg->node_id) >= 0) return "up";
    return n->was_member ? "uninitialized" : "joining";
}

/* ------------------------------------------------------------------ join */

/* The JOIN in progress (at most one per node). */
struct join {
    struct node *n;
    struct client *c; /* NULL once the client went away */
    char **addrs;     /* the candidates given to JOIN, tried in order */
    int n_addrs, next, hops;
    char last_err[256];
};

static void join_finish(struct join *j, const char *err)
{
    struct node *n = j->n;
    if (j->c) {
        if (err)
            resp_add_errorf(&j->c->out, "ERR join failed: %s", err);
        else
            resp_add_simple(&j->c->out, "OK");
        ASSERT(j->c->pending_writes > 0); /* counted when the join started */
        j->c->pending_writes--;
        waiters_wake(n->waiters, j->c);
    }
    if (err)
        LOG_WARNING("Raft: RAFT.CLUSTER JOIN failed: %s", err);
    else
        LOG_NOTICE("Raft: joined the cluster as a learner; waiting for its log");
    for (int i = 0; i < j->n_addrs; i++)
        free(j->addrs[i]);
    free(j->addrs);
    n->join = NULL;
    free(j);
}

static void join_send(struct join *j, const char *host, int port);

/* Next candidate address, or the end with the last error. */
static void join_next(struct join *j)
{
    char host[CONFIG_HOST_MAX], err[128];
    int port;
    while (j->next < j->n_addrs) {
        const char *a = j->addrs[j->next++];
        if (config_parse_hostport(a, strlen(a), host, &port, err, sizeof err) == 0) {
            j->hops = 0;
            join_send(j, host, port);
            return;
        }
        snprintf(j->last_err, sizeof j->last_err, "%s: %s", a, err);
    }
    join_finish(j, j->last_err[0] ? j->last_err : "no address answered");
}

static void join_reply(void *ud, const char *resp, size_t len)
{
    struct join *j = ud;
    if (!resp) {
        snprintf(j->last_err, sizeof j->last_err,
                 "no reply (unreachable, closed or timed out: this node's log says which)");
        join_next(j);
        return;
    }
    if (len >= 3 && resp[0] == '+') {
        join_finish(j, NULL);
        return;
    }
    /* An error line: "-MOVED <slot> <host:port>" is followed, others end
     * this candidate. */
    if (len && resp[0] == '-') {
        resp++;
        len--;
    }
    while (len && (resp[len - 1] == '\r' || resp[len - 1] == '\n'))
        len--;
    if (len >= sizeof j->last_err) len = sizeof j->last_err - 1;
    memcpy(j->last_err, resp, len);
    j->last_err[len] = 0;
    if (strncmp(j->last_err, "MOVED ", 6) == 0 && j->hops < JOIN_HOPS_MAX) {
        const char *a = strchr(j->last_err + 6, ' ');
        char host[CONFIG_HOST_MAX], err[128];
        int port;
        if (a && config_parse_hostport(a + 1, strlen(a + 1), host, &port, err, sizeof err) == 0) {
            j->hops++;
            join_send(j, host, port);
            return;
        }
    }
    if (strncmp(j->last_err, "ERR ", 4) == 0) { /* the cluster said no: final */
        char why[256];
        snprintf(why, sizeof why, "%s", j->last_err + 4);
        join_finish(j, why);
        return;
    }
    join_next(j);
}

static void join_send(struct join *j, const char *host, int port)
{
    struct node *n = j->n;
    char id[32], self_host[CONFIG_HOST_MAX], self_addr[RAFT_ADDR_MAX];
    int self_port;
    snprintf(id, sizeof id, "%lld", n->cfg->node_id);
    config_advertise(n->cfg, self_host, &self_port);
    if (node_format_addr(self_host, self_port, self_addr, sizeof self_addr) != 0) {
        join_finish(j, "this node's advertised address is too long for the configuration");
        return;
    }
    const char *argv[] = {"RAFT.NODE", "ADD", id, self_addr};
    size_t lens[] = {9, 3, strlen(id), strlen(self_addr)};
    int rc = transport_call(n->tr, host, port, 4, argv, lens, JOIN_CALL_TIMEOUT_MS, join_reply, j);
    if (rc != 0) {
        snprintf(j->last_err, sizeof j->last_err, "%s:%d: %s", host, port, transport_strerror(rc));
        join_next(j);
    }
}

/* Forgets this node's own one-member cluster: an empty log and hard state
 * and an empty configuration, durably, so that a restart waits to be added
 * too. Safe because the node never served a client write (checked by the
 * caller): nothing of value is dropped, and its old term and vote belonged
 * to a cluster of its own that no other node ever heard of. */
static int reset_to_waiting(struct node *n, char *err, size_t errlen)
{
    struct raft_snapshot_meta empty = {0};
    struct raft_hard_state zero = {0};
    struct storage_batch b = {.snapshot = &empty, .hs = &zero};
    if (storage_save(n->st, &b, err, errlen) != 0) return -1;
    node_write_settle(n); /* durable now; what the old core kept back goes */
    struct raft_config rc;
    node_make_raft_config(n, &rc);
    struct raft *r;
    if (raft_create(&rc, &r) != 0 || raft_restore(r, &zero, &empty, NULL, 0) != 0) {
        snprintf(err, errlen, "cannot reset the Raft core");
        return -1;
    }
    raft_free(n->raft);
    n->raft = r;
    n->hs = zero;
    n->applied = 0;
    memset(&n->conf_applied, 0, sizeof n->conf_applied);
    n->was_member = false;
    n->role = RAFT_FOLLOWER;
    n->leader = 0;
    log_set_role('S');
    node_sync_peers(n);
    LOG_NOTICE("Raft: left the one-member cluster to join another one");
    return 0;
}

int node_join(struct node *n, struct client *c, int n_addrs, const char *const *addrs,
              const size_t *lens, char *err, size_t errlen)
{
    const struct raft_conf *conf = raft_conf_of(n->raft);
    bool alone = conf->n == 1 && conf->s[0].id == (raft_id)n->cfg->node_id;
    if (need_secret(n, err, errlen) != 0) return NODE_EINVAL;
    if (n->join) {
        snprintf(err, errlen, "a join is already in progress");
        return NODE_EBUSY;
    }
    if (node_removed(n)) {
        snprintf(err, errlen,
                 "this node was removed from its cluster and keeps its data; "
                 "start it with an empty dir to join again");
        return NODE_EINVAL;
    }
    if (conf->n > 0 && !alone) {
        snprintf(err, errlen, "this node is already a member of a %u-node cluster", conf->n);
        return NODE_EINVAL;
    }
    if (n->normal_applied > 0 || sm_keys(n->sm) > 0 || raft_first_index(n->raft) > 1) {
        snprintf(err, errlen, "this node holds data; only a fresh node can join a cluster");
        return NODE_EINVAL;
    }
    if (conf->n > 0 && reset_to_waiting(n, err, errlen) != 0) return NODE_EINVAL;
    struct join *j = util_xcalloc(1, sizeof *j);
    j->n = n;
    j->c = c;
    j->addrs = util_xcalloc((size_t)n_addrs, sizeof *j->addrs);
    for (int i = 0; i < n_addrs; i++) {
        j->addrs[i] = util_xmalloc(lens[i] + 1);
        memcpy(j->addrs[i], addrs[i], lens[i]);
        j->addrs[i][lens[i]] = 0;
    }
    j->n_addrs = n_addrs;
    n->join = j;
    c->pending_writes++;
    join_next(j);
    return 0;
}

void node_join_client_gone(struct node *n, struct client *c)
{
    struct join *j = n->join;
    if (j && j->c == c) j->c = NULL;
}

void node_join_free(struct node *n)
{
    struct join *j = n->join;
    if (!j) return;
    transport_call_cancel_ud(n->tr, j);
    j->c = NULL;
    for (int i = 0; i < j->n_addrs; i++)
        free(j->addrs[i]);
    free(j->addrs);
    free(j);
    n->join = NULL;
}
