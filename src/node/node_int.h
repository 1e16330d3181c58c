/*
 * src/node/node_int.h - private to the Raft driver's files (src/node/node.c, the log
 * and client side; src/node/node_snap.c, snapshots): the driver's state. Nothing
 * else includes it; the rest of the server uses node.h.
 */
#ifndef NODE_INT_H
#define NODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/fifo.h"
#include "raft/raft.h"
#include "config/config.h"
#include "node/node.h"
#include "storage/storage.h"

struct storage;
struct storage_state;
struct transport;
struct client;

/* Snapshot state (src/node/node_snap.c). */
struct snaplive;
struct node_snap {
    struct snaplive *live; /* the snapshot being taken (src/sm/snaplive.h), NULL if none */
    raft_index live_index; /* what it writes */
    raft_term live_term;
    int64_t live_start_us;
    int64_t retry_after_ms; /* after a failure, no automatic retry before */
    bool force;             /* take one regardless of the threshold (see node_snap_restore) */
    uint64_t created, received;
    uint64_t size_bytes; /* of dir/snapshot.rcs */
    uint64_t last_duration_ms;
    int64_t last_done_ms;  /* wall clock of the last one taken or installed (start: boot) */
    bool last_failed;      /* the last one taken failed (INFO rdb_last_bgsave_status:err) */
    uint64_t base_changes; /* the keyspace's changes when the last one was taken or installed */
    uint64_t live_changes; /* the keyspace's changes (kv_common.changes) at live_index */
    uint64_t base_bytes;   /* node.applied_bytes at the last snapshot's index */
    uint64_t live_bytes;   /* node.applied_bytes at live_index */
    uint8_t *chunk_buf;    /* leader: the one chunk being sent */
    uint32_t chunk_cap;
    struct raft_snap_req *reqs; /* leader: copied from the ready, answered after advance */
    uint32_t n_reqs, reqs_cap;
};

/* The bounded log's driver state (src/node/node_logmem.c). */
struct node_logmem {
    struct raft_log_req *reqs; /* leader: copied from the ready, answered after advance */
    uint32_t n_reqs, reqs_cap;
    struct storage_range range; /* entries read back, reused */
    uint64_t reads, entries_read;
};

/* A peer's address announced in its RAFT.AUTH: how a node answers a peer
 * its configuration does not name (yet, or any more): a joining node the
 * leader that adds it, before the entry naming the leader reaches it; a
 * node whose log lags the leader that was removed and added back. */
#define NODE_LEARNED_MAX RAFT_MAX_NODES
struct node_learned {
    uint64_t id;
    char host[CONFIG_HOST_MAX];
    int port;
};

struct join;

/* When a Raft message last came from a peer (src/node/node_view.c). */
#define NODE_HEARD_MAX (2 * RAFT_MAX_NODES)
struct node_heard {
    uint64_t id;
    int64_t at_ms; /* monotonic */
};

/* A member's incarnation as this node knows it (src/node/node_safety.c). */
#define NODE_INCS_MAX (2 * RAFT_MAX_NODES)
struct node_inc {
    uint64_t id;
    uint64_t inc;    /* recorded; 0 = none yet */
    bool lost_in;    /* its last RAFT.AUTH presented another one: refused */
    bool lost_out;   /* its answer to our RAFT.AUTH did: link dropped */
    bool recovering; /* its last RAFT.AUTH said "recovering" */
};

/* Asynchronous log writes (src/node/node_write.c): batches written, waiting for
 * their sync, oldest first, each with the messages it held back. */
struct node_held {
    uint64_t mark;    /* storage_written() after it: synced once the sync thread passed it */
    raft_index index; /* its last entry, 0 if it wrote none */
    raft_term term;
    size_t msgs_end; /* its messages end here in node_writes.buf */
};
struct node_writes {
    struct logsync *ls; /* NULL: every batch is synced on the loop */
    uint64_t requested; /* the latest mark asked of ls */
    uint64_t synced;    /* the latest mark known durable */
    struct fifo q;      /* struct node_held, oldest first */
    uint8_t *buf;       /* framed RAFT.MSG commands, each after its struct held_msg */
    size_t buf_head, buf_len, buf_cap;
};

/* A warning logged at most once per interval: the first one at once, those
 * that follow within the interval counted and summed up in the next line. */
#define NODE_REFUSAL_LOG_MS 10000   /* refused peer messages (node_receive) */
#define NODE_EXHAUSTED_LOG_MS 60000 /* elections not started at RAFT_TERM_MAX */
struct node_ratelog {
    int64_t next_ms;   /* monotonic time before which lines are only counted */
    uint64_t left_out; /* lines counted since the last one logged */
};

struct node {
    struct node_env env;      /* given by the owner (node.h) */
    const struct config *cfg; /* env.cfg */
    struct sm *sm;            /* env.sm */
    struct waiters *waiters;  /* env.waiters */
    struct raft *raft;
    struct storage *st;
    struct transport *tr;
    struct transport *tr_pubsub;    /* the pub/sub links to the members (node_publish) */
    uint64_t next_ctx;              /* the last ReadIndex context */
    uint64_t follower_reads;        /* rounds the leader confirmed for this follower */
    uint64_t follower_reads_failed; /* and those it did not (node_read_stats) */
    int64_t park_until_ms;          /* a handover's end at the latest (node_route parks) */
    raft_index applied;             /* the keyspace holds every committed entry up to here */
    /* Inside node_process_ready(): an entry being applied may run a slow
     * script, which serves clients from a nested pass of the loop; nothing
     * there may tick, step or process the core again (src/script/script.h). */
    bool processing;
    uint64_t applied_bytes; /* entry bytes applied since start (snapshot size rule) */
    enum raft_role role;
    raft_id leader;
    struct raft_hard_state hs; /* last made durable */
    uint8_t *enc;
    size_t enc_cap;
    int sent_big;                   /* a large message was handed to the transport: drain it */
    int64_t ping_us, ping_every_us; /* keepalives to peers during long writes (flush_peers) */
    int64_t big_bytes;              /* large writes proposed up to big_index, not applied */
    raft_index big_index;
    struct raft_entry *dec_ents;
    struct node_snap snap;
    struct node_logmem logmem;
    struct node_writes writes;
    uint64_t normal_applied;             /* state-machine entries applied since start */
    struct raft_conf conf_seen;          /* the latest configuration the links follow */
    struct raft_conf conf_applied;       /* the configuration of the last applied change */
    bool conf_dirty;                     /* resync the links after this ready round */
    bool was_member;                     /* a configuration it held named it: see node_removed() */
    uint64_t linked[2 * RAFT_MAX_NODES]; /* members a link is kept for */
    size_t n_linked;
    struct node_learned learned[NODE_LEARNED_MAX];
    size_t n_learned;
    size_t learned_next;               /* when full, the entry that gives way next */
    uint64_t lost_state_refusals_seen; /* transport_lost_state_refusals() at the last look */
    struct join *join;                 /* RAFT.CLUSTER JOIN in progress, or NULL */
    /* Addresses that disagree with this node's configuration (a peer's
     * RAFT.AUTH, this node's own port): how often, and the last one, for
     * RAFT.INFO (src/node/node_member.c, check_addr). */
    uint64_t addr_mismatches;
    char addr_mismatch[2 * CONFIG_HOST_MAX + 256];
    /* The cluster view (src/node/node_view.c). */
    struct node_heard heard[NODE_HEARD_MAX];
    size_t n_heard;
    raft_id last_leader;   /* the leader, or the last one known; 0 if none ever */
    int64_t role_since_ms; /* monotonic time of the last role or leader change */
    /* Peer messages refused (malformed, or by the core) and elections the core
     * did not start at RAFT_TERM_MAX (src/node/node.c, rate-limited warnings). */
    uint64_t msgs_refused;
    struct node_ratelog refused_log;
    uint64_t campaigns_refused_seen; /* raft_campaigns_refused() at the last look */
    struct node_ratelog exhausted_log;

    /* src/node/node_safety.c */
    struct node_inc incs[NODE_INCS_MAX]; /* cache of the peers table, members only */
    size_t n_incs;
    bool lost_state;           /* peers refuse our incarnation: we lost our state */
    bool refused_seen;         /* ... and this process reacted to it once */
    bool conf_seen_valid;      /* conf_seen was set once (node_safety_conf_seen) */
    raft_index startup_commit; /* commit index at start: applied in an earlier life */
    bool boot_waiting;         /* a first boot whose cluster-members does not name it */
};

/* Storage or the state machine failed in a way the node cannot survive:
 * logs and exits (a node that cannot persist must not acknowledge). */
void node_fatal(const char *what, const char *err) __attribute__((noreturn));

/* ---- src/node/node.c, for the other driver files ---- */

/* c waits for the entry at index (proposed in the current term), behind
 * `bytes` bytes of large writes (itself included): its deadline grows with
 * them (node.c, WRITE_ALLOWANCE_BYTES_PER_MS). */
void node_add_waiter(struct node *n, struct client *c, raft_index index, int64_t bytes);
/* The core's settings from the server's config. */
void node_make_raft_config(const struct node *n, struct raft_config *rc);

/* Sends one message to its peer, framed (node.c). */
void node_send_msg(struct node *n, const struct raft_msg *m);

/* ---- src/node/node_write.c: asynchronous log writes (raft.h) ---- */

/* After the log is open: syncs move to the sync thread (src/storage/logsync.h).
 * If it cannot start, every batch keeps syncing on the loop (logged). */
void node_writes_start(struct node *n);
void node_writes_free(struct node *n);
/* Whether the batch rd may be written asynchronously. */
bool node_write_async(const struct node *n, const struct raft_ready *rd);
/* After an asynchronous batch's storage_save(): asks for its sync and keeps
 * its must_persist_first messages back (sent at once if nothing written
 * waits for a sync). */
void node_write_hold(struct node *n, const struct raft_ready *rd);
/* After a synchronous batch's storage_save(): syncs what is not synced
 * yet and sends every message held back (raft_advance() then acknowledges
 * every entry written). */
void node_write_settle(struct node *n);
/* Outside any batch: the writes whose sync completed send their messages
 * and are acknowledged to the core (raft_persisted). */
void node_write_poll(struct node *n);

/* ---- src/node/node_member.c ---- */

/* Peer links follow the configuration (called when it changed). */
void node_sync_peers(struct node *n);
/* Notes that configuration c (held in the log or a snapshot) names this node. */
void node_note_conf(struct node *n, const struct raft_conf *c);
void node_join_client_gone(struct node *n, struct client *c);
void node_join_free(struct node *n);

/* ---- src/node/node_view.c ---- */

/* A Raft message from peer `from` was taken. */
void node_view_heard(struct node *n, raft_id from);
/* The role or the leader changed (rd's soft state). */
void node_view_role_changed(struct node *n, raft_id leader);

/* ---- src/node/node_safety.c (docs/storage-safety.md) ---- */

/* Before the store is opened: checks its WAL; true (logged loudly, a copy of
 * the WAL kept) when SQLite will discard transactions it holds. */
bool node_safety_check_wal(struct node *n);
/* First boot (st->fresh) with dir/snapshot.rcs present: -1 with err (refused)
 * unless raft-start-from-snapshot; then the snapshot becomes the base in *st
 * (snap index and term, hard state) and 1 is returned (the node must recover).
 * 0: no snapshot, nothing to do. */
int node_safety_fresh_snapshot(struct node *n, struct storage_state *st, char *err, size_t errlen);
/* After raft_restore() and transport_create(): presents our incarnation, and
 * marks the node recovering when `lost` or the stored mark says so. */
void node_safety_start(struct node *n, bool lost);
/* After the ready rounds: clears the mark once the core caught up. */
void node_safety_after_ready(struct node *n);
/* Every tick, and before a vote request is answered: the peers'
 * incarnations on our outbound links, and whether any peer (a member or
 * not) refuses ours. */
void node_safety_tick(struct node *n);
/* The appended configuration changed from old to now (before conf_seen moves). */
void node_safety_conf_seen(struct node *n, const struct raft_conf *old,
                           const struct raft_conf *now);
/* A configuration entry at index was applied: old, then now. */
void node_safety_conf_applied(struct node *n, const struct raft_conf *old,
                              const struct raft_conf *now, raft_index index);

/* ---- src/node/node_snap.c ---- */

/* Start-up, before raft_restore(): removes temp files and loads
 * dir/snapshot.rcs into the keyspace, checked against the snapshot storage
 * recorded (`stored`); sets applied. Returns 0 or -1 with err filled. */
int node_snap_restore(struct node *n, const struct raft_snapshot_meta *stored, char *err,
                      size_t errlen);
/* Follower, inside the ready round, before the batch is stored: writes the
 * chunk; on the last one installs the snapshot (file made durable and
 * published, keyspace replaced). Returns true if the batch must record
 * ch->meta as the log's base. Exits on an I/O error (node_fatal). */
bool node_snap_install(struct node *n, const struct raft_snap_chunk *ch);
/* After the batch stored an installed snapshot. */
void node_snap_installed(struct node *n, const struct raft_snap_chunk *ch);
/* Leader: copies rd's snapshot requests, answered by node_snap_answer()
 * after raft_advance(). */
void node_snap_queue(struct node *n, const struct raft_ready *rd);
void node_snap_answer(struct node *n);
/* After the ready loop: walks the snapshot being taken a slice further and
 * publishes it once written (then compacts), or starts one when the
 * threshold is reached. */
void node_snap_after_ready(struct node *n);
/* Shutdown: abandons a snapshot being taken (its temp file deleted). */
void node_snap_free(struct node *n);

/* ---- src/node/node_logmem.c: the bounded log ---- */

/* Leader: copies rd's requests for released entries, answered by
 * node_log_answer() (from SQLite) after raft_advance(). Exits if the log
 * cannot be read or holds other entries than the core's (node_fatal). */
void node_log_queue(struct node *n, const struct raft_ready *rd);
void node_log_answer(struct node *n);
/* After the ready loop: lets the core drop applied entries beyond
 * raft-log-max-memory bytes. */
void node_log_release(struct node *n);
void node_log_free(struct node *n);

#endif
