/*
 * src/keyspace/dbs.c - a node's numbered databases; see src/keyspace/dbs.h.
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "keyspace/dbs.h"
#include "raft/raft_assert.h"

void kv_dbs_init(struct kv_dbs *dbs, const struct kv_type_ops *const *types, int n, uint64_t seed)
{
    ASSERT(n >= 1 && n <= KV_DBS_MAX);
    kv_common_init(&dbs->common, types, seed);
    dbs->n = n;
    dbs->db = util_xcalloc((size_t)n, sizeof *dbs->db);
    uint64_t rng = seed;
    for (int i = 0; i < n; i++) {
        dbs->db[i] = util_xmalloc(sizeof *dbs->db[i]);
        kv_init(dbs->db[i], &dbs->common, i, util_rand64(&rng));
    }
}

void kv_dbs_free(struct kv_dbs *dbs)
{
    for (int i = 0; i < dbs->n; i++) {
        kv_free(dbs->db[i]);
        free(dbs->db[i]);
    }
    free(dbs->db);
    dbs->db = NULL;
    dbs->n = 0;
}

void kv_dbs_set_may_grow(struct kv_dbs *dbs, dict_may_grow_fn *may_grow, void *ud)
{
    for (int i = 0; i < dbs->n; i++)
        kv_set_may_grow(dbs->db[i], may_grow, ud);
}

void kv_dbs_cron(struct kv_dbs *dbs)
{
    for (int i = 0; i < dbs->n; i++)
        kv_cron(dbs->db[i]);
}

void kv_dbs_swap(struct kv_dbs *dbs, int a, int b)
{
    ASSERT(a >= 0 && a < dbs->n && b >= 0 && b < dbs->n);
    if (a == b) return;
    if (dbs->common.on_swap) dbs->common.on_swap(dbs->common.hook_ud, a, b);
    struct kv *t = dbs->db[a];
    dbs->db[a] = dbs->db[b];
    dbs->db[b] = t;
    dbs->db[a]->id = a;
    dbs->db[b]->id = b;
}

void kv_dbs_flush(struct kv_dbs *dbs)
{
    for (int i = 0; i < dbs->n; i++)
        kv_flush(dbs->db[i]);
}

uint64_t kv_dbs_size(const struct kv_dbs *dbs)
{
    uint64_t n = 0;
    for (int i = 0; i < dbs->n; i++)
        n += kv_size(dbs->db[i]);
    return n;
}

void kv_dbs_digest(const struct kv_dbs *dbs, unsigned char out[DIGEST_LEN])
{
    memset(out, 0, DIGEST_LEN);
    for (int i = 0; i < dbs->n; i++)
        kv_digest_into(dbs->db[i], out);
}
