/*
 * tests/sim/sim.h - one deterministic simulated run of a raft cluster.
 *
 * Everything that varies comes from one PRNG seeded by opts.seed, so a seed replays one
 * run exactly. A run has a fault phase (drops, delays, duplicates, reordering, symmetric
 * and one-way partitions, crashes that lose unpersisted state - including in the middle
 * of a ready batch, between the early sends and the disk write - restarts, membership
 * changes, snapshots, transfers, proposals and reads), then a healed phase in which a
 * leader must be elected and a new proposal must commit within a bounded time.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_opts {
    uint64_t seed;
    int nodes;       /* 3..7; 0: chosen by the seed */
    int fault_steps; /* ticks of the fault phase */
    int live_steps;  /* bound on the healed phase */
    bool verbose;    /* print events */
    bool trace;      /* print every message sent, too */
};

struct sim_stats {
    uint64_t proposals, commits, reads, reads_failed, crashes, elections, snapshots_installed,
        conf_changes, transfers, msgs;
    uint64_t heal_ticks_max; /* longest time from healing to the new entry applied */
    uint64_t released;       /* entries released from memory (raft_log_release) */
    uint64_t loaded;         /* entries read back from a store for a follower */
};

/* Runs one seed. Returns 0, or -1 with a description of the violation in err. */
int sim_run(const struct sim_opts *o, struct sim_stats *st, char *err, size_t errlen);

#endif
