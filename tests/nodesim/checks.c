/*
 * tests/nodesim/checks.c - what the node simulator checks of a run, besides
 * the client history (history.c): see nodesim.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../raft/raft.h"
#include "base/clock.h"
#include "keyspace/digest.h"
#include "keyspace/kv.h"
#include "node/node.h"
#include "server/server.h"
#include "sm/sm.h"
#include "nodesim_int.h"

static uint64_t digest_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h | 1; /* never 0, which stands for "not seen" */
}

static struct committed *committed_at(uint64_t index)
{
    if (index >= R->cap_com) {
        uint64_t cap = R->cap_com ? R->cap_com : 1024;
        while (cap <= index)
            cap *= 2;
        R->com = realloc(R->com, cap * sizeof *R->com);
        if (!R->com) abort();
        memset(R->com + R->cap_com, 0, (cap - R->cap_com) * sizeof *R->com);
        R->cap_com = cap;
    }
    if (index > R->max_com) R->max_com = index;
    return &R->com[index];
}

/* Node id's commit index, compared entry by entry with what any node
 * committed before (from where it was at the last step of this life). */
static void check_commits(uint64_t id, const struct raft *r)
{
    uint64_t commit = raft_commit_index(r);
    if (R->com_life[id] != W->life[id]) {
        R->com_life[id] = W->life[id];
        R->com_checked[id] = raft_first_index(r) - 1;
    }
    if (commit < R->com_checked[id]) {
        failf("node %llu's commit index went back from %llu to %llu", (unsigned long long)id,
              (unsigned long long)R->com_checked[id], (unsigned long long)commit);
        return;
    }
    for (uint64_t i = R->com_checked[id] + 1; i <= commit; i++) {
        uint64_t term = raft_log_term(r, i);
        if (!term) continue; /* compacted meanwhile */
        const struct raft_entry *e = raft_log_entry(r, i);
        uint64_t digest = e ? digest_bytes(e->data, e->len) : 0;
        struct committed *c = committed_at(i);
        if (!c->term) c->term = term;
        if (!c->digest) c->digest = digest;
        if (c->term != term || (digest && c->digest != digest)) {
            failf("node %llu committed index %llu with an entry of term %llu, another node one "
                  "of term %llu%s",
                  (unsigned long long)id, (unsigned long long)i, (unsigned long long)term,
                  (unsigned long long)c->term, c->term == term ? " and other data" : "");
            return;
        }
    }
    R->com_checked[id] = commit;
    /* a restarted node may load a snapshot file newer than the log's base,
     * and its commit index: what it applied was committed in an earlier life */
    uint64_t applied = node_applied(W->srv[id]->node);
    if (applied > commit && applied > R->max_com)
        failf("node %llu applied %llu, beyond any commit index (%llu)", (unsigned long long)id,
              (unsigned long long)applied, (unsigned long long)R->max_com);
}

/* A leader new in its term T holds every entry committed in a term before T
 * (Leader Completeness, §3.6.3). Not the entries of later terms: a
 * candidate whose votes were granted before the others moved on, and reach
 * it late (a paused process reads them when it resumes), leads a term older
 * than the newest commits; it commits nothing (no majority answers its term)
 * and steps down at its first answer (nodesim seed 22529). Terms grow along
 * the log, so the entries it must hold are a prefix: up to the last
 * committed index whose known term is older than T. */
static void check_new_leader(uint64_t id, const struct raft *r)
{
    uint64_t first = raft_first_index(r), last = raft_last_index(r), t = raft_term_of(r);
    uint64_t need = R->max_com;
    while (need > 0 && !(R->com[need].term && R->com[need].term < t))
        need--;
    if (last < need) {
        failf("node %llu leads term %llu with a log ending at %llu, but %llu was committed in an "
              "earlier term",
              (unsigned long long)id, (unsigned long long)t, (unsigned long long)last,
              (unsigned long long)need);
        return;
    }
    for (uint64_t i = first > 1 ? first - 1 : 1; i <= need; i++) {
        uint64_t want = R->com[i].term, term = raft_log_term(r, i);
        if (want && term && term != want) {
            failf("node %llu leads term %llu with term %llu at index %llu, where term %llu was "
                  "committed",
                  (unsigned long long)id, (unsigned long long)raft_term_of(r),
                  (unsigned long long)term, (unsigned long long)i, (unsigned long long)want);
            return;
        }
    }
}

void check_step(void)
{
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes && !R->failed; id++) {
        if (!W->srv[id]) continue;
        const struct raft *r = node_core(W->srv[id]->node);
        check_commits(id, r);
        if (!node_is_leader(W->srv[id]->node)) continue;
        uint64_t term = raft_term_of(r);
        if (term >= sizeof R->leader_of_term / sizeof R->leader_of_term[0]) continue;
        if (R->leader_of_term[term] && R->leader_of_term[term] != id)
            failf("two leaders in term %llu: %llu and %llu", (unsigned long long)term,
                  (unsigned long long)R->leader_of_term[term], (unsigned long long)id);
        if (!R->leader_of_term[term]) check_new_leader(id, r);
        R->leader_of_term[term] = id;
    }
}

/* Stored entries: an expired key is proposed once per term (the active
 * expiry cycle holds it in sm.expiring until its entry applies). */
void check_saved_entries(struct world *w, uint64_t node, const struct raft_entry *ents, uint32_t n)
{
    (void)w;
    for (uint32_t i = 0; i < n; i++) {
        const struct raft_entry *e = &ents[i];
        if (e->type != RAFT_ENTRY_NORMAL || e->len < SM_ENTRY_HEADER_LEN ||
            e->data[1] != SM_ENTRY_EXPIRE)
            continue;
        const uint8_t *p = e->data + SM_ENTRY_HEADER_LEN, *end = e->data + e->len;
        if (end - p < 4) continue;
        uint32_t argc =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        p += 4;
        if (argc & SM_CMD_HAS_DB) { /* keys of another database: the workload has none */
            failf("entry %llu expires keys of a database other than 0",
                  (unsigned long long)e->index);
            continue;
        }
        for (uint32_t k = 0; k < argc && end - p >= 4; k++) {
            uint32_t len =
                (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            p += 4;
            if ((size_t)(end - p) < len) break;
            char name[24] = "";
            if (len > 1 && len < sizeof name && p[0] == 't') memcpy(name, p + 1, len - 1);
            uint64_t key = strtoull(name, NULL, 10); /* the bytes of "t<n>" only */
            p += len;
            if (!key) continue;
            for (size_t j = 0; j < R->n_exp; j++) {
                struct exp_seen *x = &R->exp[j];
                if (x->term == e->term && x->key == key && x->index != e->index) {
                    failf("key t%llu proposed for expiry twice in term %llu (entry %llu stored "
                          "by node %llu, entry %llu by node %llu)",
                          (unsigned long long)key, (unsigned long long)e->term,
                          (unsigned long long)x->index, (unsigned long long)x->node,
                          (unsigned long long)e->index, (unsigned long long)node);
                    return;
                }
            }
            if (R->n_exp == R->cap_exp) {
                R->cap_exp = R->cap_exp ? 2 * R->cap_exp : 256;
                R->exp = realloc(R->exp, R->cap_exp * sizeof *R->exp);
                if (!R->exp) abort();
            }
            R->exp[R->n_exp++] = (struct exp_seen){e->term, key, e->index, node};
            R->st->expiry_keys++;
        }
    }
}

/* Replicas that applied the same index hold the same keyspace: DEBUG
 * DIGEST's digest (src/keyspace/kv.h kv_digest: every stored key, expired ones
 * included, with its type, value and TTL presence) and key count. */
void check_converged(void)
{
    uint64_t applied = 0, keys = 0;
    uint64_t first = 0, leader = leader_now();
    unsigned char sum[DIGEST_LEN];
    char hex_first[DIGEST_HEX_LEN + 1], hex[DIGEST_HEX_LEN + 1];
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        struct server *srv = W->srv[id];
        if (!srv || !members_has(leader, id)) continue; /* removed ones keep their data */
        unsigned char d[DIGEST_LEN];
        kv_dbs_digest(&srv->dbs, d);
        uint64_t a = node_applied(srv->node), k = kv_dbs_size(&srv->dbs);
        if (!first) {
            first = id;
            applied = a;
            keys = k;
            memcpy(sum, d, DIGEST_LEN);
        } else if (a != applied || k != keys || memcmp(d, sum, DIGEST_LEN) != 0) {
            digest_hex(sum, hex_first);
            digest_hex(d, hex);
            failf("replicas differ after healing: node %llu applied %llu (%llu keys, digest "
                  "%s), node %llu applied %llu (%llu keys, digest %s)",
                  (unsigned long long)first, (unsigned long long)applied, (unsigned long long)keys,
                  hex_first, (unsigned long long)id, (unsigned long long)a, (unsigned long long)k,
                  hex);
            return;
        }
    }
}

/* The committed prefix of every store is one history: each stored entry at
 * or below its store's commit index is the one every other store (and
 * every node at every step) has there. */
void check_logs(void)
{
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        const struct w_disk *d = &W->disks[id];
        uint64_t last = d->snap.index + d->n;
        uint64_t commit = d->hs.commit < last ? d->hs.commit : last;
        for (uint64_t i = d->snap.index + 1; i <= commit; i++) {
            const struct w_entry *e = &d->ents[i - d->snap.index - 1];
            uint64_t digest = digest_bytes(e->data, e->len);
            struct committed *c = committed_at(i);
            if (!c->term) c->term = e->term;
            if (!c->digest) c->digest = digest;
            if (c->term != e->term || c->digest != digest) {
                failf("committed entry %llu in node %llu's store (term %llu) differs from the "
                      "one committed elsewhere (term %llu)",
                      (unsigned long long)i, (unsigned long long)id, (unsigned long long)e->term,
                      (unsigned long long)c->term);
                return;
            }
        }
    }
}
