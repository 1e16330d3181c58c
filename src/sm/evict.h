/*
 * src/sm/evict.h - eviction: the keys the leader deletes when memory passes
 * maxmemory, chosen as Redis 7.0 chooses them and replicated as deletions.
 *
 * Who evicts: only the leader. It compares its memory with maxmemory before
 * each write that may grow memory (a deny-oom command, a MULTI with one, a
 * script) and from the cron; when over, it picks keys by the policy and
 * stages their deletion as one RAFTCACHE.EVICT command in the open batch,
 * ahead of the write that asked. Every replica applies that entry at the
 * same log position and deletes the same keys; a follower never evicts on
 * its own, whatever its own memory says (it reports being over instead:
 * src/server/replica.h). The replicas' keyspaces therefore never diverge, and a
 * read on a follower sees an evicted key gone exactly when the log says so.
 *
 * How keys are chosen (Redis's evictionPoolPopulate): each choice samples
 * maxmemory-samples random keys (all keys, or those with a TTL for the
 * volatile-* policies) into a pool of the EVICT_POOL_SIZE best candidates
 * kept across choices, ranked by idle time (lru: kv_common.lru_clock), by
 * 255 - the decayed LFU counter (lfu), or by nearness of the expiry time
 * (volatile-ttl), and takes the best one still stored. The random policies
 * take a random key. The access data the ranking reads is the leader's own
 * (src/keyspace/kv.h: its reads and the writes it applied).
 *
 * Memory counted (evict_counted): used_memory (src/base/alloc.h) less what
 * Redis would not count either - the Raft log's in-memory part beyond
 * raft-log-max-memory (entries not yet applied in a burst) and the bytes
 * waiting in the links to the peers (a slow follower's backlog): evicting
 * for them would evict for the eviction entries themselves - and less the
 * bytes the keys already proposed and not yet applied will free
 * (src/keyspace/expiring.h: a key's estimate is its MEMORY USAGE). So one shortfall
 * is evicted for once, and memory tracks maxmemory within the writes of
 * one commit round (they are applied after the deletions staged before
 * them).
 *
 * Time: one round of choices stops after maxmemory-eviction-tenacity's time
 * (Redis's table: 50 us per step up to 10 = 500 us, then 15% more per
 * step, 100 = no limit); the writes then go on, and the cron and the next
 * write continue (EVICT_RUNNING). A round that finds
 * nothing left to evict (every candidate gone or on its way out) fails
 * (EVICT_FAIL): deny-oom commands get -OOM, as from Redis.
 */
#ifndef EVICT_H
#define EVICT_H

#include <stddef.h>
#include <stdint.h>

#include "resp/parser.h"

struct sm;

#define EVICT_POOL_SIZE 16
#define EVICT_ENTRY_KEYS 128 /* keys per RAFTCACHE.EVICT command at most */

enum evict_result {
    EVICT_OK,      /* under maxmemory (counting what is on its way out) */
    EVICT_RUNNING, /* keys were proposed, more are needed: writes may go on */
    EVICT_FAIL,    /* over maxmemory and nothing left to evict (or noeviction) */
};

/* Keys up to this long are kept in the candidate itself (no allocation per
 * candidate, as Redis's pool keeps a buffer per slot). */
#define EVICT_KEY_INLINE 48

struct evict_candidate {
    uint64_t score; /* higher: evicted first */
    int db;         /* its database */
    size_t len;
    char *heap;                        /* owned copy of a longer key, else NULL */
    char inline_key[EVICT_KEY_INLINE]; /* the key when len <= EVICT_KEY_INLINE */
};

struct evict {
    struct evict_candidate pool[EVICT_POOL_SIZE]; /* [0, n_pool), ascending score */
    size_t n_pool;
    int next_db; /* the random policies' next database to draw from */
};

/* What a round works with; filled by the caller from the config and the
 * memory figures. */
struct evict_params {
    int policy;         /* enum config_maxmemory_policy */
    unsigned samples;   /* maxmemory-samples, >= 1 */
    unsigned tenacity;  /* maxmemory-eviction-tenacity, 0..100 */
    uint64_t counted;   /* evict_counted(): memory that counts now */
    uint64_t maxmemory; /* > 0 */
    int64_t now_ms;     /* local clock: expiry of candidates */
};

void evict_init(struct evict *ev);
void evict_free(struct evict *ev);
/* Forgets the candidates (leadership lost or gained, keyspace replaced). */
void evict_reset(struct evict *ev);

/* used less not_counted less on_the_way (never below 0). */
uint64_t evict_counted(uint64_t used, uint64_t not_counted, uint64_t on_the_way);

/*
 * One round on the leader: while p->counted is above p->maxmemory, chooses
 * keys (skipping those held in sm's expiring set), holds each there with
 * its estimated size, and hands them out as RAFTCACHE.EVICT commands for
 * the caller to propose (with sm_hold_keys(), src/sm/sm.h), a command at a
 * time, each in the database of its keys:
 *     evict_round_begin(&r, ev, sm, &p);
 *     while ((argc = evict_round_next(&r, &argv, &db)) > 0) ... propose it in db ...
 * Like Redis's, a choice weighs the keys of every database together: the
 * pool takes samples of each; the random policies draw from each in turn.
 * then r.result: EVICT_OK when nothing more is needed, EVICT_RUNNING when
 * the time ran out or the expiring set is full, EVICT_FAIL when the policy
 * is noeviction or no key could be chosen. A command's arguments point
 * into the round and sm's expiring set: propose it before the next call.
 */
struct evict_round {
    struct evict *ev;
    struct sm *sm;
    const struct evict_params *p;
    int64_t start;
    uint64_t limit_us, to_free, freed;
    unsigned chosen;
    int vol;
    int over;
    enum evict_result result;
    struct resp_arg argv[2 + EVICT_ENTRY_KEYS];
    int n;
    int db;               /* the database of the command being built */
    struct resp_arg next; /* a key chosen of another database: the next command's first */
    int next_db, has_next;
};
void evict_round_begin(struct evict_round *r, struct evict *ev, struct sm *sm,
                       const struct evict_params *p);
/* The next command (its argc, 0 when the round is over), whose keys are all
 * of database *db. */
int evict_round_next(struct evict_round *r, const struct resp_arg **argv, int *db);

/* Redis's time limit of a round, in microseconds, for a tenacity 0..100
 * (UINT64_MAX: none). */
uint64_t evict_time_limit_us(unsigned tenacity);

#endif
