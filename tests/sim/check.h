/*
 * tests/sim/check.h - the simulator's invariant checker (Raft's safety properties,
 * Fig. 3.2 of the dissertation, plus read linearizability and commit monotonicity).
 *
 * The checker is event-driven and knows nothing of the raft core: the simulator reports
 * what happened (a leader seen, entries persisted, a commit index, an entry applied, a
 * snapshot installed, a read served) and every call returns 0 or -1 with the violated
 * property named in chk_error(). That makes the checker testable on hand-built event
 * sequences (chk_selftest) without a cluster.
 *
 * Entries are identified by a value (a hash of term, type and data); H(i), the prefix
 * hash of a log up to index i, folds the values of entries 1..i. Two logs with the same
 * (index, term) must have the same H there (Log Matching); a state machine that applied
 * up to i must have hash H(i) of the committed log (State Machine Safety).
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#define CHK_MAX_NODES 8

struct chk;

struct chk *chk_new(void);
void chk_free(struct chk *c);
const char *chk_error(const struct chk *c);

uint64_t chk_mix(uint64_t h, uint64_t v); /* the prefix-hash step */
uint64_t chk_max_commit(const struct chk *c);

/* Election Safety: at most one leader per term. */
int chk_leader(struct chk *c, int node, uint64_t term);
/* A node's durable log now starts after (index, hash) (snapshot installed). */
void chk_log_reset(struct chk *c, int node, uint64_t index, uint64_t hash);
/* A fault (not the algorithm) destroyed node's durable entries after `last`. */
void chk_log_lost(struct chk *c, int node, uint64_t last);
/* Entries persisted by node from index first (overwriting from there). Log Matching;
 * Leader Append-Only when as_leader (a leader never overwrites or deletes). */
int chk_log_append(struct chk *c, int node, bool as_leader, uint64_t first, uint32_t n,
                   const uint64_t *terms, const uint64_t *values);
/* Node's commit index (after persisting). Monotonic per life; the committed prefix is
 * one history: two nodes never commit different entries at one index. new_life: the
 * node restarted, commit restarts at what it persisted. term: the node's current term,
 * an upper bound of the term in which newly reported indexes were committed. */
int chk_commit(struct chk *c, int node, uint64_t commit, uint64_t term, bool new_life);
/* Node is about to apply up to commit before its durable commit index says so (its
 * hard state is still being written): the same checks as chk_commit() but for the
 * monotonicity of the durable index. */
int chk_commit_known(struct chk *c, int node, uint64_t commit, uint64_t term);
/* Leader Completeness: a leader of term T holds every entry committed in a term < T.
 * chk_must_hold(T) is the highest such index (0: none); the simulator then passes the
 * leader's log term at that index (0 if absent), or covered if its snapshot covers it. */
uint64_t chk_must_hold(const struct chk *c, uint64_t leader_term);
int chk_leader_complete(struct chk *c, int node, uint64_t index, uint64_t term_at, bool covered);
/* State Machine Safety. */
int chk_sm_reset(struct chk *c, int node, uint64_t index, uint64_t hash);
int chk_apply(struct chk *c, int node, uint64_t index, uint64_t value);
/* A read that began when chk_max_commit() was start_commit returned the state after
 * applying up to served_index: linearizable iff served_index >= start_commit. */
int chk_read(struct chk *c, int node, uint64_t start_commit, uint64_t served_index);

/* Hand-built broken histories, one per property; returns the number not flagged. */
int chk_selftest(void);

#endif
