/*
 * src/node_int.h - private to the Raft driver's files (src/node.c, the log
 * and client side; src/node_snap.c, snapshots): the driver's state. Nothing
 * else includes it; the rest of the server uses node.h.
 */
#ifndef NODE_INT_H
#define NODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../raft/raft.h"
#include "config.h"

struct server;
struct storage;
struct transport;
struct client;

/* A FIFO ring of fixed-size items. */
struct fifo {
    char *items;
    size_t item_size, head, len, cap;
};

/* Snapshot state (src/node_snap.c). */
struct node_snap {
    pid_t child;            /* the forked writer, 0 if none */
    raft_index child_index; /* what it writes */
    raft_term child_term;
    int64_t child_start_us;
    int64_t retry_after_ms; /* after a failure, no automatic retry before */
    bool force;             /* take one regardless of the threshold (see node_snap_restore) */
    uint64_t created, received;
    uint64_t size_bytes; /* of dir/snapshot.rcs */
    uint64_t last_duration_ms;
    uint64_t base_bytes;  /* node.applied_bytes at the last snapshot's index */
    uint64_t child_bytes; /* node.applied_bytes at child_index */
    uint8_t *chunk_buf; /* leader: the one chunk being sent */
    uint32_t chunk_cap;
    struct raft_snap_req *reqs; /* leader: copied from the ready, answered after advance */
    uint32_t n_reqs, reqs_cap;
};

/* A peer's address learned from its RAFT.AUTH, for a node that is not (yet)
 * in our configuration: how a joining node answers the leader that adds it
 * before the entry naming the leader's address reaches it. */
#define NODE_LEARNED_MAX RAFT_MAX_NODES
struct node_learned {
    uint64_t id;
    char host[CONFIG_HOST_MAX];
    int port;
};

struct join;

struct node {
    struct raft *raft;
    struct storage *st;
    struct transport *tr;
    struct fifo writes, reads;
    uint64_t next_ctx;
    raft_index applied; /* the keyspace holds every committed entry up to here */
    uint64_t applied_bytes; /* entry bytes applied since start (snapshot size rule) */
    enum raft_role role;
    raft_id leader;
    struct raft_hard_state hs; /* last made durable */
    uint8_t *enc;
    size_t enc_cap;
    struct raft_entry *dec_ents;
    struct client **resume; /* clients to resume after raft_advance() */
    size_t n_resume, resume_cap;
    struct client **staged; /* one per command of the open batch (NULL: gone) */
    size_t n_staged, staged_cap;
    struct client **appliers; /* apply scratch: the clients of one entry's replies */
    size_t appliers_cap;
    struct node_snap snap;
    uint64_t normal_applied;  /* state-machine entries applied since start */
    struct raft_conf conf_seen;    /* the latest configuration the links follow */
    struct raft_conf conf_applied; /* the configuration of the last applied change */
    bool conf_dirty;               /* resync the links after this ready round */
    uint64_t linked[2 * RAFT_MAX_NODES]; /* members a link is kept for */
    size_t n_linked;
    struct node_learned learned[NODE_LEARNED_MAX];
    size_t n_learned;
    struct join *join;        /* RAFT.CLUSTER JOIN in progress, or NULL */
};

/* Storage or the state machine failed in a way the node cannot survive:
 * logs and exits (a node that cannot persist must not acknowledge). */
void node_fatal(const char *what, const char *err) __attribute__((noreturn));

/* ---- src/node.c, for the other driver files ---- */

/* c waits for the entry at index (proposed in the current term). */
void node_add_waiter(struct server *srv, struct client *c, raft_index index);
/* c is resumed after this ready round (its reply was written). */
void node_want_resume(struct node *n, struct client *c);
/* -MOVED to the leader, or -CLUSTERDOWN when none is known. */
void node_reply_not_leader(struct server *srv, struct client *c, unsigned slot);
/* The core's settings from the server's config. */
void node_make_raft_config(const struct server *srv, struct raft_config *rc);

/* ---- src/node_member.c ---- */

/* Peer links follow the configuration (called when it changed). */
void node_sync_peers(struct server *srv);
bool node_learned(const struct node *n, raft_id id);
void node_join_client_gone(struct server *srv, struct client *c);
void node_join_free(struct server *srv);

/* ---- src/node_snap.c ---- */

/* Start-up, before raft_restore(): removes temp files and loads
 * dir/snapshot.rcs into the keyspace, checked against the snapshot storage
 * recorded (`stored`); sets applied. Returns 0 or -1 with err filled. */
int node_snap_restore(struct server *srv, const struct raft_snapshot_meta *stored, char *err,
                      size_t errlen);
/* Follower, inside the ready round, before the batch is stored: writes the
 * chunk; on the last one installs the snapshot (file made durable and
 * published, keyspace replaced). Returns true if the batch must record
 * ch->meta as the log's base. Exits on an I/O error (node_fatal). */
bool node_snap_install(struct server *srv, const struct raft_snap_chunk *ch);
/* After the batch stored an installed snapshot. */
void node_snap_installed(struct server *srv, const struct raft_snap_chunk *ch);
/* Leader: copies rd's snapshot requests, answered by node_snap_answer()
 * after raft_advance(). */
void node_snap_queue(struct node *n, const struct raft_ready *rd);
void node_snap_answer(struct server *srv);
/* After the ready loop: reaps a finished child (publish, compact), or starts
 * one when the threshold is reached. */
void node_snap_after_ready(struct server *srv);
/* Shutdown: stops a running child. */
void node_snap_free(struct server *srv);

#endif
