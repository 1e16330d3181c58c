/*
 * raft/raft_int.h - private layout of the core, shared by the raft/ sources only.
 *
 * Ownership inside the core:
 *  - entry data lives in reference-counted slabs (one malloc per ~64 KiB of entries,
 *    not one per entry); an entry holds one reference on its slab;
 *  - references dropped by truncation or compaction are only released at raft_advance(),
 *    so every pointer handed out by raft_ready() or queued in an outgoing message stays
 *    valid until then;
 *  - outgoing messages copy their entry headers into a block pool reset at advance.
 */
#ifndef RAFT_RAFT_INT_H
#define RAFT_RAFT_INT_H

#include "raft.h"

#define SLAB_BYTES (64u * 1024u)

struct slab {
    uint32_t refs; /* entries pointing here, plus one while it is log.cur */
    uint32_t used, cap;
    uint8_t bytes[];
};
/* Data room of a shared slab: with its header the block is exactly SLAB_BYTES, a
 * size the allocator gives without rounding up (64 KiB + 16 would take 80 KiB). */
#define SLAB_DATA (SLAB_BYTES - (uint32_t)sizeof(struct slab))

/* Terms of released entries: every index from `first` up to the next run's first (or
 * the log's base) has `term`. */
struct term_run {
    raft_index first;
    raft_term term;
};

#define RLOG_MAX_RUNS 65536 /* released terms at most; release stops at the next one */

/* The log after the snapshot (snap_index, snap_term). Entries up to `base` are released:
 * stored by the driver, no longer in memory, their terms kept as runs; entries after
 * `base` are in memory. snap_index <= base <= applied (released entries are applied and
 * persisted), and base == snap_index until the driver releases anything. */
struct rlog {
    struct raft_entry *ents; /* ents[start .. start+n) = indexes base+1 .. */
    struct slab **slabs;     /* parallel to ents: the slab holding the data, or NULL */
    uint64_t start, n, cap;
    raft_index snap_index;
    raft_term snap_term;
    raft_index base;
    raft_term base_term;
    struct term_run *runs; /* terms of (snap_index, base], in index order */
    uint32_t n_runs, cap_runs;
    uint64_t bytes;        /* data bytes of the entries in memory */
    uint64_t slab_bytes;   /* allocated for data: live slabs, shared or awaiting release */
    raft_index unstable;   /* first index not yet handed to the driver to persist (<= last + 1) */
    raft_index persisted;  /* last index the driver has durably written: unstable - 1
                              after every raft_advance(), behind it while asynchronous
                              writes are in flight (raft_persisted() moves it) */
    struct slab *cur;      /* slab new data is copied into */
    struct slab **garbage; /* references to drop at advance */
    uint32_t n_garbage, cap_garbage;
};

enum { PR_PROBE = 0, PR_REPLICATE, PR_SNAPSHOT };

/* Leader's view of one peer (§3.5, plus etcd-style flow control). */
struct progress {
    raft_id id;
    bool voter;
    uint8_t state;
    bool probe_sent;        /* PROBE: one unacknowledged AppendEntries is out */
    bool recent_active;     /* heard from since the last CheckQuorum */
    uint64_t heard_tick;    /* r->ticks + 1 when it last answered this leader; 0: never */
    raft_index departed_at; /* >0: no longer a member, removed by the configuration
                               entry at this index; kept (after the members, never a
                               voter) so that it still receives the entry removing it */
    int8_t vote;            /* candidate: 0 unknown, 1 granted, -1 refused */
    raft_index match, next;
    raft_index commit_sent;      /* commit index of the last AppendEntries sent to it */
    uint32_t in_start, in_count; /* ring of the last index of each in-flight msg */
    raft_index inflight[RAFT_MAX_INFLIGHT];
    uint64_t read_ack; /* highest read round acknowledged */
    bool recovering;   /* its last answer said it is recovering: its match and read
                          acknowledgements do not count toward a quorum */
    /* PR_SNAPSHOT */
    raft_index snap_index;
    raft_term snap_term;
    uint64_t snap_offset;     /* next offset to send */
    bool snap_outstanding;    /* a request or chunk is out, waiting */
    uint32_t snap_idle_ticks; /* ticks since we last heard about the transfer */
    /* released entries asked of the driver (rd.log_reqs) */
    bool load_outstanding;
    uint32_t load_idle_ticks;
};

/* A configuration entry among the released ones (raft_log_release keeps them decoded:
 * the configuration at a released index must stay known). */
struct released_conf {
    raft_index index;
    struct raft_conf conf;
};
#define RAFT_MAX_RELEASED_CONFS 32 /* release stops at the next configuration entry */

struct pending_read {
    uint64_t ctx;
    raft_index index;
    uint64_t round; /* a leader's heartbeat round; a follower's batch */
    raft_id from;   /* 0: the leader's own read; its own id: a follower's own read, waiting
                       for the leader; another id: that follower's batch ctx, at the leader */
};

struct ent_block {
    struct ent_block *next;
    uint32_t used, cap;
    struct raft_entry e[];
};

struct raft {
    struct raft_config cfg;
    raft_id id;
    raft_term term;
    raft_id vote;
    raft_index commit;
    raft_index applied; /* handed out for applying (acknowledged by advance) */
    enum raft_role role;
    raft_id leader;
    bool recovering; /* may have lost acknowledged state: no votes until caught up */
    /* Not a voter in its own configuration, it refused a candidate its vote for its log,
     * the candidate counting it as a voter: it stands at its next timeout (election.c). */
    bool asked_as_voter;
    /* Recovering: the commit index of the first AppendEntries accepted from the
     * leader of recover_term. Caught up only once that leader commits beyond it. */
    raft_index recover_floor;
    raft_term recover_term;
    struct rlog log;
    struct raft_conf conf;           /* latest appended configuration (§4.1) */
    raft_index conf_index;           /* its entry's index (0: from the snapshot) */
    struct raft_conf snap_conf;      /* configuration at log.snap_index */
    struct released_conf *rel_confs; /* configuration entries in (snap_index, base] */
    uint32_t n_rel_confs;
    struct progress *prs; /* parallel to conf.s */
    uint32_t n_prs;
    uint32_t election_elapsed, heartbeat_elapsed, timeout;
    uint64_t rng;
    bool bcast_pending; /* proposals wait for raft_ready() to be sent in batches */
    bool commit_bcast;  /* a commit advance waits for raft_ready() to reach followers */
    raft_id transferee;
    uint32_t transfer_elapsed;
    /* ReadIndex */
    struct pending_read *reads;
    uint32_t reads_head, n_reads, cap_reads; /* ring */
    uint64_t read_round;                     /* round the next broadcast carries */
    uint64_t read_base;       /* a follower's READ_INDEX ctx is read_base + its batch's round:
                                 random per core, so an answer to a request of an earlier life
                                 of this server (it restarted; rounds start again) matches none */
    bool read_bcast;          /* reads wait for a broadcast */
    uint64_t ticks;           /* ticks since creation */
    uint64_t round_tick[64];  /* tick each recent round was sent at */
    uint64_t lease_until;     /* RAFT_READ_LEASE: reads free before this */
    raft_term lease_off_term; /* a transfer began in this term: no lease */
    struct raft_read_state *out_reads;
    uint32_t n_out_reads, cap_out_reads;
    /* outputs of the current batch */
    struct raft_msg *msgs;
    uint32_t n_msgs, cap_msgs;
    struct ent_block *blocks;
    void **bufs; /* chunk copies freed at advance */
    uint32_t n_bufs, cap_bufs;
    struct raft_snap_req *snap_reqs;
    uint32_t n_snap_reqs, cap_snap_reqs;
    struct raft_log_req *log_reqs;
    uint32_t n_log_reqs, cap_log_reqs;
    /* follower snapshot receive */
    struct raft_snap_chunk in_chunk;
    bool in_chunk_pending;
    uint8_t *in_chunk_buf;
    raft_index recv_index;
    raft_term recv_term;
    uint64_t recv_offset;
    /* what the driver last saw */
    struct raft_hard_state prev_hs;
    enum raft_role prev_role;
    raft_id prev_leader;
    /* the batch between raft_ready() and raft_advance() */
    bool in_ready;
    raft_index ready_last;    /* last index handed to persist */
    raft_index ready_applied; /* last index handed to apply */
    bool ready_chunk;         /* the batch holds a snapshot chunk */
    /* refusals (check.c, raft.h MESSAGES FROM THE NETWORK) */
    const char *refusal;        /* why the last refused message was refused */
    uint64_t campaigns_refused; /* elections not started: term at RAFT_TERM_MAX */
};

/* raft.c */
struct raft_msg *raft_msg_new(struct raft *r, uint8_t type, raft_id to);
struct raft_entry *raft_msg_entries(struct raft *r, uint32_t n);
void *raft_buf_keep(struct raft *r, const void *data, uint32_t len);
void *raft_buf_alloc(struct raft *r, uint32_t len); /* freed at advance, like the above */
void raft_become_follower(struct raft *r, raft_term term, raft_id leader);
void raft_become_candidate(struct raft *r, bool pre);
void raft_become_leader(struct raft *r);
uint64_t raft_rand(struct raft *r);
uint64_t raft_mix64(uint64_t z);
bool raft_is_voter(const struct raft *r, raft_id id);
struct progress *raft_pr(struct raft *r, raft_id id);
uint32_t raft_quorum(const struct raft *r);
uint32_t raft_n_voters(const struct raft *r);

/* log.c */
int rlog_init(struct rlog *l);
void rlog_destroy(struct rlog *l);
raft_index rlog_last(const struct rlog *l);
raft_term rlog_last_term(const struct rlog *l);
raft_term rlog_term(const struct rlog *l, raft_index i); /* 0 if not known */
bool rlog_term_known(const struct rlog *l, raft_index i);
struct raft_entry *rlog_at(const struct rlog *l, raft_index i);
int rlog_append(struct rlog *l, raft_term term, uint32_t type, const void *data, uint32_t len);
/* The same, for data given as n_parts consecutive parts of len bytes in all. */
int rlog_append_parts(struct rlog *l, raft_term term, uint32_t type, const struct raft_part *parts,
                      uint32_t n_parts, uint32_t len);
void rlog_truncate(struct rlog *l, raft_index from);                /* drop indexes >= from */
void rlog_compact(struct rlog *l, raft_index upto, raft_term term); /* drop <= upto */
void rlog_reset(struct rlog *l, raft_index index, raft_term term);
/* Releases entries base+1 .. upto (<= last) from memory, keeping their terms; returns
 * the new base, lower than upto when the term runs are full (or cannot grow). */
raft_index rlog_release(struct rlog *l, raft_index upto);
void rlog_release_garbage(struct rlog *l);
raft_index rlog_find_term_le(const struct rlog *l, raft_index hint, raft_term term);

/* progress.c */
int raft_pr_rebuild(struct raft *r);
void raft_pr_heard(struct raft *r, struct progress *p); /* an answer came from p */
bool raft_pr_responsive(const struct raft *r, const struct progress *p);
void raft_pr_prune_departed(struct raft *r);
void raft_pr_reset(struct progress *p, raft_index last);
bool raft_inflight_full(const struct raft *r, const struct progress *p);
void raft_inflight_add(struct progress *p, raft_index last);
void raft_inflight_free_to(struct progress *p, raft_index index);
void raft_inflight_free_first(struct progress *p);
raft_index raft_quorum_match(const struct raft *r);
uint64_t raft_quorum_read_ack(const struct raft *r);

/* check.c: the invariant m breaks (a static string), or NULL (raft.h, MESSAGES FROM
 * THE NETWORK); raft_step() refuses such a message before using any field of it. */
const char *raft_msg_refusal(const struct raft_msg *m);

/* election.c */
void raft_election_tick(struct raft *r);
void raft_campaign(struct raft *r, bool pre, bool transfer);
void raft_handle_vote(struct raft *r, const struct raft_msg *m);
void raft_handle_vote_resp(struct raft *r, const struct raft_msg *m);
void raft_reset_timeout(struct raft *r);

/* Little-endian integers in byte buffers: the one codec of the core's
 * formats (messages, codec.c; configurations, membership.c). */
static inline void raft_le_put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t raft_le_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* replication.c */
void raft_repl_tick_leader(struct raft *r);
/* Flow control lets another AppendEntries go to p (not snapshotting, no probe out, room
 * in the pipeline). */
bool raft_repl_may_send(const struct raft *r, const struct progress *p);
/* Queues an AppendEntries to p of ents[0..n) (borrowed until advance) after prev, and
 * moves p's flow control on (REPLICATE: next and the pipeline; PROBE: probe sent).
 * NULL when out of memory (nothing changed). */
struct raft_msg *raft_repl_append_msg(struct raft *r, struct progress *p, raft_index prev,
                                      struct raft_entry *ents, uint32_t n);
bool raft_repl_send_append(struct raft *r, struct progress *p, bool send_empty);
/* Sends each follower what flow control lets go of its new entries; with tell_commit,
 * a follower that gets no entries, has not been sent the commit index yet and has no
 * entries on their way to it gets an empty AppendEntries carrying it. Under a steady
 * write load a follower thus learns each commit index with the next entries. */
void raft_repl_bcast_append(struct raft *r, bool tell_commit);
void raft_repl_bcast_heartbeat(struct raft *r, uint64_t ctx);
void raft_repl_handle_append(struct raft *r, const struct raft_msg *m);
void raft_repl_handle_append_resp(struct raft *r, const struct raft_msg *m);
void raft_repl_handle_heartbeat(struct raft *r, const struct raft_msg *m);
void raft_repl_handle_heartbeat_resp(struct raft *r, const struct raft_msg *m);
/* Leader: commits what a quorum stores (§3.6.2). True if the commit index moved and this
 * node still leads (a committed change can remove it, §4.2.2). */
bool raft_repl_maybe_commit(struct raft *r);
/* release.c */
bool raft_repl_request_entries(struct raft *r, struct progress *p);
void raft_repl_load_tick(struct raft *r);
void raft_repl_commit_to(struct raft *r, raft_index commit);

/* read.c */
void raft_read_on_ack(struct raft *r);
void raft_read_flush(struct raft *r);
void raft_read_reset(struct raft *r);
void raft_read_handle_request(struct raft *r, const struct raft_msg *m);
void raft_read_handle_response(struct raft *r, const struct raft_msg *m);

/* membership.c */
bool raft_conf_valid(const struct raft_conf *c);    /* n <= max, every addr NUL-terminated */
uint32_t raft_conf_size(const struct raft_conf *c); /* bytes raft_conf_encode() writes */
void raft_member_on_append(struct raft *r, const struct raft_entry *e);
int raft_member_recompute(struct raft *r);
/* The configuration in force at index i (i in [snap_index, last]). */
void raft_member_conf_at(const struct raft *r, raft_index i, struct raft_conf *out);
void raft_member_tick(struct raft *r);
void raft_member_check_transfer(struct raft *r, struct progress *p);
void raft_member_on_commit(struct raft *r);

/* snapshot.c */
void raft_snap_start(struct raft *r, struct progress *p);
void raft_snap_tick(struct raft *r);
void raft_snap_handle(struct raft *r, const struct raft_msg *m);
void raft_snap_handle_resp(struct raft *r, const struct raft_msg *m);

#endif
