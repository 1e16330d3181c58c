/*
 * tests/nodesim/nodesim_int.h - private to the node simulator's files: the
 * state of one run (nodesim.c drives it, checks.c judges it).
 */
#ifndef NODESIM_INT_H
#define NODESIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../../src/client.h"
#include "history.h"
#include "nodesim.h"
#include "world.h"

#define N_CLIENTS 6
#define N_KEYS 3
#define HEAL_MS 8000 /* at most, after the faults stop, for the cluster to settle */
#define ARGV_MAX 6

struct sclient {
    struct client c; /* first: a woken struct client * is its sclient */
    int id;
    uint64_t node; /* the node it talks to */
    uint64_t node_life;
    int op;       /* history index of the operation in flight, -1 idle */
    bool waiting; /* dispatched, told to wait: dispatched again when woken */
    bool sent;    /* dispatched (not waiting): its reply comes to c.out */
    int argc;
    struct resp_arg argv[ARGV_MAX];
    char bufs[ARGV_MAX][64];
    int64_t next_us; /* think time */
    int cas_step;    /* a WATCH/GET/MULTI/SET/EXEC increment in progress: the next reply's step */
    uint64_t cas_seen;
    uint64_t stream; /* bytes "received" so far (c.in_received) */
};

struct run {
    const struct nodesim_opts *o;
    char dir[64];
    struct history h;
    struct sclient cl[N_CLIENTS];
    uint64_t next_value;
    uint64_t next_ttl_key;
    uint64_t cas_ok, cas_unknown; /* increments of the counter: EXEC succeeded / outcome unknown */
    uint64_t counter;             /* its value read through the leader at the end */
    bool counter_read;
    int64_t next_tick_us[W_NODES_MAX + 1], next_cron_us[W_NODES_MAX + 1];
    int64_t restart_at_us[W_NODES_MAX + 1];
    int64_t heal_at_us;
    uint64_t wiped_until_commit[W_NODES_MAX + 1]; /* a node that lost its store (wiped, its
                                                     WAL damaged) catches up to this */
    uint32_t snapshot_threshold;                  /* applied entries between snapshots */
    int64_t paused_until_us[W_NODES_MAX + 1];     /* a paused process runs nothing */
    uint64_t leader_of_term[1024];
    bool failed;
    char *err;
    size_t errlen;
    struct nodesim_stats *st;
    /* expiry proposals seen in stored entries: (term, key) -> index */
    struct exp_seen {
        uint64_t term, key, index, node;
    } * exp;
    size_t n_exp, cap_exp;
};

/* The run in progress (one at a time per process). */
extern struct run *R;

/* Records the run's first violation (later ones are dropped). */
void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line of the run's story, with --verbose. */
void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- checks.c ---- */

/* At most one leader per term, at this step. */
void check_leaders(void);
/* The world's on_save hook: no expired key proposed twice in one term. */
void check_saved_entries(struct world *w, uint64_t node, const struct raft_entry *ents, uint32_t n);
/* After healing: the replicas hold the same keyspace at the same applied index. */
void check_converged(void);
/* The committed prefix of every store is one history. */
void check_logs(void);

#endif
