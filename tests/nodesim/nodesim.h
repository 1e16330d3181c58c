/*
 * tests/nodesim/nodesim.h - the node simulator: real raftcache nodes (the
 * Raft driver, state machine, keyspace and dispatcher of src/) in one
 * process, on a simulated network with a virtual clock (world.h), driven by
 * clients and faults from one seeded PRNG. A seed's run replays exactly.
 *
 * Faults: nodes killed (and restarted), killed inside a log write (the
 * batch not stored), losing power (killed, and their store loses the
 * transactions written since the last fsync: the commit-index-only ones),
 * their WAL damaged (killed, and their store loses its last few
 * transactions, acknowledged ones included; the WAL file shows it at the
 * next start), wiped (their store erased: a new incarnation), paused
 * (the process runs nothing for a while, then resumes as if no time had
 * passed: its Raft ticks count time), cut off from the others (both ways,
 * or only what they send), messages lost and delayed. A wipe or a damaged
 * WAL loses acknowledged state: it strikes a node only once every node
 * that lost some before has caught up again, and while no node recovers
 * (any Raft cluster needs a majority that keeps what it acknowledged).
 * Membership changes as an operator makes them (members.c): nodes added
 * (started fresh, waiting to be added, an id removed earlier coming back
 * with a wiped store), members removed (the leader too), leadership
 * transferred; a cluster of 3 first members grows to 5 ids and back.
 *
 * Clients: six read and write three registers (SET, GET) and increment a
 * counter by compare-and-set (WATCH, GET, MULTI, SET, EXEC); a producer
 * pushes jobs onto a queue and two consumers take them with BLMOVE into
 * their own processing lists, blocking while it is empty, then LREM them
 * (queue.c).
 *
 * Checks, at every step: at most one leader per term; an index committed on
 * several nodes holds the same entry on each (term and data) and no commit
 * index goes back within a node's life; a leader new in its term holds
 * every entry committed so far; nothing applied that no node committed; no
 * expired key proposed twice in one term. After healing: the cluster
 * settles, the replicas of the configuration hold the same keyspace at the
 * same applied index, committed entries agree between stores, and the
 * clients' history is linearizable (history.h); the counter holds every
 * acknowledged increment and no more than those plus the ones whose EXEC
 * had an unknown outcome; no job of the queue was handed out twice or lost
 * (queue.c).
 */
#ifndef NODESIM_H
#define NODESIM_H

#include <stddef.h>
#include <stdint.h>

struct nodesim_opts {
    uint64_t seed;
    int nodes;               /* 3 or 5 */
    int64_t run_ms;          /* of faults and clients, before healing */
    uint32_t kill_ppm;       /* chance per million, each simulated ms, of a kill */
    uint32_t save_kill_ppm;  /* ... of a kill inside the next log write of a node */
    uint32_t power_loss_ppm; /* ... of a power loss */
    uint32_t damage_ppm;     /* ... of a damaged WAL */
    uint32_t wipe_ppm;       /* ... of a wipe */
    uint32_t partition_ppm;  /* ... of a new partition */
    uint32_t pause_ppm;      /* ... of a node paused (it runs nothing, then resumes) */
    uint32_t member_ppm;     /* ... of a membership or leadership command (members.c) */
    uint32_t loss_max_pm;    /* each run loses up to this per-mille of messages */
    int verbose;
};

/* With 3 s of faults a run sees on average 1.5 kills, 1.5 kills inside a
 * write, 0.45 power losses, 1.8 pauses and 2.1 partitions; up to 0.45
 * wipes and 0.51 damaged WALs, fewer as one waits for the node an earlier
 * one struck to catch up and a node just restarted has nothing to lose;
 * and about 2.6 acknowledged membership changes or leadership transfers
 * (the operator waits for each answer, and acts only while a leader is
 * known). */
#define NODESIM_OPTS_DEFAULT                                                                       \
    {                                                                                              \
        .seed = 1, .nodes = 3, .run_ms = 3000, .kill_ppm = 500, .save_kill_ppm = 500,              \
        .power_loss_ppm = 150, .damage_ppm = 170, .wipe_ppm = 150, .partition_ppm = 700,           \
        .pause_ppm = 600, .member_ppm = 2000, .loss_max_pm = 50, .verbose = 0,                     \
    }

struct nodesim_stats {
    uint64_t ops, writes_ok, reads_ok, crashes, save_crashes, wipes, partitions, pauses, msgs;
    uint64_t power_losses, power_lost_txs; /* power losses; transactions they dropped */
    uint64_t damages, damaged_txs;         /* damaged WALs; transactions they dropped */
    uint64_t expiry_keys, snapshots_taken, snapshots_installed, increments;
    uint64_t members_added, members_removed, transfers;
    uint64_t follower_reads, follower_reads_failed; /* RAFT.READONLY rounds (confirmed, not) */
    uint64_t jobs_pushed, jobs_handed, jobs_done;   /* the queue: acknowledged LPUSHes, jobs
                                                       handed to consumers, removed by them */
};

/* One run; 0, or -1 with the violation in err. */
int nodesim_run(const struct nodesim_opts *o, struct nodesim_stats *st, char *err, size_t errlen);

#endif
