/*
 * tests/nodesim/checks.c - what the node simulator checks of a run, besides
 * the client history (history.c): see nodesim.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../raft/raft.h"
#include "../../src/clock.h"
#include "../../src/node.h"
#include "../../src/server.h"
#include "../../src/sm.h"
#include "nodesim_int.h"

void check_leaders(void)
{
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        if (!W->srv[id] || !node_is_leader(W->srv[id]->node)) continue;
        uint64_t term = raft_term_of(node_core(W->srv[id]->node));
        if (term >= sizeof R->leader_of_term / sizeof R->leader_of_term[0]) continue;
        if (R->leader_of_term[term] && R->leader_of_term[term] != id)
            failf("two leaders in term %llu: %llu and %llu", (unsigned long long)term,
                  (unsigned long long)R->leader_of_term[term], (unsigned long long)id);
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

struct digest {
    uint64_t sum, keys;
    int64_t now;
};

static void digest_key(void *ud, const char *key, size_t klen, const struct kv_val *v)
{
    struct digest *d = ud;
    if (kv_val_expired(v, d->now)) return;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ (uint8_t)key[i]) * 1099511628211ull;
    for (size_t i = 0; i < v->len; i++)
        h = (h ^ (uint8_t)v->data[i]) * 1099511628211ull;
    d->sum += h ^ (uint64_t)v->expire_ms;
    d->keys++;
}

void check_converged(void)
{
    uint64_t applied = 0, sum = 0, keys = 0;
    uint64_t first = 0;
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        struct server *srv = W->srv[id];
        if (!srv) continue;
        struct digest d = {0, 0, clock_ms()};
        kv_foreach(&srv->kv, digest_key, &d);
        uint64_t a = node_applied(srv->node);
        if (!first) {
            first = id;
            applied = a;
            sum = d.sum;
            keys = d.keys;
        } else if (a != applied || d.sum != sum || d.keys != keys) {
            failf("replicas differ after healing: node %llu applied %llu (%llu keys, digest "
                  "%016llx), node %llu applied %llu (%llu keys, digest %016llx)",
                  (unsigned long long)first, (unsigned long long)applied, (unsigned long long)keys,
                  (unsigned long long)sum, (unsigned long long)id, (unsigned long long)a,
                  (unsigned long long)d.keys, (unsigned long long)d.sum);
            return;
        }
    }
}

/* The committed prefix of every store is one history. */
void check_logs(void)
{
    uint64_t commit = UINT64_MAX;
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++)
        if (W->disks[id].hs.commit < commit) commit = W->disks[id].hs.commit;
    for (uint64_t i = 1; i <= commit; i++) {
        const struct w_entry *ref = NULL;
        for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
            const struct w_disk *d = &W->disks[id];
            if (i <= d->snap.index || i > d->snap.index + d->n) continue;
            const struct w_entry *e = &d->ents[i - d->snap.index - 1];
            if (!ref) {
                ref = e;
            } else if (e->term != ref->term || e->len != ref->len ||
                       memcmp(e->data, ref->data, e->len) != 0) {
                failf("committed entry %llu differs between stores", (unsigned long long)i);
                return;
            }
        }
    }
}
