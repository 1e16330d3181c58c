/*
 * tests/sim/sim_int.h - what the simulator's two halves share: sim.c (network, durable
 * stores, the ready-batch driver, node lifecycle) and sim_run.c (fault and client
 * events, per-step checks, the fault and healed phases).
 */
#ifndef SIM_SIM_INT_H
#define SIM_SIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../../raft/raft.h"
#include "check.h"
#include "sim.h"

#define MAXN 7
#define SNAP_PAD 100

struct dent {
    raft_term term;
    uint32_t type, len;
    uint8_t *data;
};

/* A batch being written asynchronously (raft.h: ASYNCHRONOUS WRITES): what the store
 * takes when the write completes, and the messages held back until then. */
struct pwrite {
    raft_index first;
    struct dent *ents;
    uint32_t n;
    bool hs_changed, as_leader, recovering;
    struct raft_hard_state hs;
    uint8_t **held; /* encoded must_persist_first messages */
    size_t *held_len;
    uint32_t n_held;
};
struct pread {
    uint64_t ctx;
    raft_index index;
};

struct node {
    int idx;
    raft_id id;
    struct raft *r;
    bool up;
    uint32_t lives;
    /* durable store */
    bool recovering; /* lost acknowledged state: start with raft_set_recovering() */
    struct raft_hard_state hs;
    struct raft_snapshot_meta meta;
    uint8_t *snap;
    uint32_t snap_len;
    struct dent *log; /* meta.index + 1 .. */
    uint64_t n_log, cap_log;
    /* volatile */
    uint8_t *in_snap;
    uint32_t in_len;
    uint64_t sm_index, sm_hash;
    raft_index life_commit;
    bool was_leader;
    raft_term was_term;
    struct pread *reads;
    uint32_t n_reads, cap_reads;
    struct pwrite *pw; /* writes in flight, oldest first; a crash loses them */
    uint32_t n_pw, cap_pw;
};

struct pkt {
    uint64_t at;
    int from, to;
    uint8_t *buf;
    size_t len;
};

struct sim {
    const struct sim_opts *o;
    struct sim_stats *st;
    uint64_t rng, now;
    int n;
    struct node nodes[MAXN];
    struct raft_config cfg;
    struct pkt *q;
    size_t nq, capq;
    bool blocked[MAXN][MAXN];
    bool faults;
    uint32_t drop_pm, dup_pm, crash_pm, midcrash_pm, part_pm, heal_pm, max_delay; /* ‰ */
    uint32_t tail_loss_pm; /* ‰ of restarts whose store lost its tail and its vote */
    uint32_t release_pm;   /* ‰ of batches after which a node releases its log's head */
    uint32_t release_keep; /* bytes of entry data a release keeps in memory */
    uint32_t load_fail_pm; /* ‰ of log requests answered empty, or not at all */
    uint32_t async_pm;     /* cfg.async_persist: ‰ of batches written asynchronously */
    uint32_t write_pm;     /* ‰ per tick that a node's oldest write in flight completes */
    struct chk *chk;
    uint64_t next_val;
    uint64_t *read_start; /* by ctx */
    uint64_t n_ctx, cap_ctx;
    uint64_t marker; /* liveness proposal value, 0 until proposed */
    bool marker_applied;
    char *err;
    size_t errlen;
    bool failed;
};

uint64_t sim_rnd(struct sim *s);
uint32_t sim_rn(struct sim *s, uint32_t n);
bool sim_chance(struct sim *s, uint32_t per_mille);
void *sim_xmalloc(size_t n);
void *sim_xrealloc(void *p, size_t n);
void sim_failf(struct sim *s, const char *fmt, ...);
void sim_log(struct sim *s, const char *fmt, ...);
void sim_chk(struct sim *s, int rc);
void sim_deliver(struct sim *s);
void sim_store_compact(struct node *nd, raft_index upto);
uint32_t sim_snap_encode(uint64_t index, uint64_t hash, uint8_t **out);
void sim_crash(struct sim *s, struct node *nd, const char *why);
void sim_node_ready(struct sim *s, struct node *nd);
void sim_writes_tick(struct sim *s, struct node *nd);
void sim_node_start(struct sim *s, struct node *nd);
void sim_lose_tail(struct sim *s, struct node *nd);
void sim_node_destroy(struct node *nd);

#endif
