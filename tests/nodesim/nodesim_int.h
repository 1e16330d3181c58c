/*
 * tests/nodesim/nodesim_int.h - private to the node simulator's files: the
 * state of one run (nodesim.c drives it, checks.c judges it).
 */
#ifndef NODESIM_INT_H
#define NODESIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd/client.h"
#include "history.h"
#include "nodesim.h"
#include "world.h"

#define N_KV_CLIENTS 6                            /* the register workload's clients */
#define QUEUE_FIRST N_KV_CLIENTS                  /* then the queue's producer (queue.c) */
#define N_CONSUMERS 2                             /* and its consumers */
#define N_CLIENTS (QUEUE_FIRST + 1 + N_CONSUMERS) /* the workload's clients */
#define ADMIN N_CLIENTS                           /* then the operator's (members.c) */
#define N_SCLIENTS (N_CLIENTS + 1)
#define OP_FINAL_COUNTER -3 /* sclient.op: the final read of the counter */
#define OP_ADMIN -4         /* ... a membership or leadership command */
#define OP_QUEUE -5         /* ... a queue client's command (queue.c) */
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
    char *raw;       /* the last reply taken, whole (queue.c parses arrays and bulks) */
    size_t raw_len, raw_cap;
    int q_step;     /* queue.c: the command in flight (0 none) */
    uint64_t q_job; /* ... the job it is about */
};

struct run {
    const struct nodesim_opts *o;
    char dir[64];
    struct history h;
    struct sclient cl[N_SCLIENTS];
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
    /* Membership (members.c): the ids a node's config names as
     * cluster-members (a bit per id), whether it is meant to run (started,
     * not removed), when a removed one is stopped for good. */
    uint32_t boot_members[W_NODES_MAX + 1];
    bool in_play[W_NODES_MAX + 1];
    int64_t retire_at_us[W_NODES_MAX + 1];
    int admin_action; /* the operator's command in flight (members.c) */
    uint64_t admin_target;
    uint32_t snapshot_threshold;              /* applied entries between snapshots */
    int64_t paused_until_us[W_NODES_MAX + 1]; /* a paused process runs nothing */
    bool resuming[W_NODES_MAX + 1];           /* paused, and not resumed yet */
    uint64_t leader_of_term[1024];
    /* What was committed, as seen so far by any node: the term and data
     * digest of each index (0: not seen yet), and each node's progress
     * through it in its current life (checks.c, check_step). */
    struct committed {
        uint64_t term, digest;
    } * com;
    uint64_t cap_com, max_com;
    uint64_t com_checked[W_NODES_MAX + 1], com_life[W_NODES_MAX + 1];
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

/* ---- nodesim.c, for members.c ---- */

/* Starts node id from its store (a first boot if it has none). */
void start_node(uint64_t id);
/* Stops node id (a crash: its clients' commands have unknown outcomes). */
void stop_node(uint64_t id, const char *why);
/* Erases node id's store and files (it must be down). */
void wipe_node(uint64_t id);
/* Connects s to node id (dropping its old connection). */
void client_attach(struct sclient *s, uint64_t node);
void set_arg(struct sclient *s, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Hands s's command to its node's dispatcher. */
void dispatch(struct sclient *s);
/* An error reply that proves a write was not proposed. */
bool not_proposed(const char *text);
/* The leader of the highest term now (a deposed one may not know yet), 0
 * if none. */
uint64_t leader_now(void);
/* Whether a command of s is in flight. */
bool busy(const struct sclient *s);
/* Runs s's command (argv set) on the leader once healed, stepping until
 * its reply is taken; false when no leader or no reply came. */
bool run_on_leader(struct sclient *s);

/* ---- queue.c: the job queue (LPUSH, BLMOVE, LREM) and its checks ---- */

void queue_init(void);
void queue_free(void);
/* The next command of a queue client (the producer or a consumer). */
void queue_start_op(struct sclient *s);
/* A reply to a queue client's command: false if s had none in flight. */
bool queue_reply(struct sclient *s, char kind, const char *text);
/* s's connection is gone with its command in flight: outcome unknown. */
void queue_reset(struct sclient *s);
/* After healing: q and the processing lists read through the leader, then
 * every job's fate checked. */
void queue_final(struct sclient *s);

/* ---- members.c: the operator, who adds, removes and moves leadership ---- */

/* Now and then (opts member_ppm), one membership or leadership command to
 * the leader; stops removed nodes once their removal is applied. */
void members_act(bool faulty);
/* The reply to the operator's command. */
void members_reply(struct sclient *s, char kind, const char *text);
/* Whether id is in the leader's configuration (latest appended). */
bool members_has(uint64_t leader, uint64_t id);

/* ---- checks.c ---- */

/* The Raft invariants, after every step: at most one leader per term; an
 * index committed anywhere holds the same entry wherever it is committed
 * (state machine safety), and a node's commit index never goes back within
 * one life; a new leader's log holds every entry committed so far (leader
 * completeness); no node applies what no node committed. */
void check_step(void);
/* The world's on_save hook: no expired key proposed twice in one term. */
void check_saved_entries(struct world *w, uint64_t node, const struct raft_entry *ents, uint32_t n);
/* After healing: the replicas hold the same keyspace at the same applied index. */
void check_converged(void);
/* The committed prefix of every store is one history. */
void check_logs(void);

#endif
