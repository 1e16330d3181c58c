/*
 * tests/nodesim/world.h - the simulated world real nodes run in: a virtual
 * clock, one seeded PRNG, a network of queued messages (delays, loss,
 * partitions) and each node's durable store, which outlives the node.
 *
 * The node simulator links the server's own code (src/: driver, state
 * machine, keyspace, dispatcher) with fakes of the three files that touch
 * the outside world, each implementing the same header the server uses:
 * src/clock.h (world.c: virtual time), src/storage.h and
 * src/storage_wal.h (fake_storage.c: memory, durable at return like
 * synchronous=FULL), src/transport.h (fake_transport.c: messages through
 * this world). Those headers are the I/O seam; nothing else is replaced.
 * Single-threaded; everything is deterministic given the seed.
 */
#ifndef NODESIM_WORLD_H
#define NODESIM_WORLD_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../raft/raft.h"

#define W_NODES_MAX 7 /* ids 1..7: the first members, then ids the operator adds */

/* A stored log entry (its data owned). */
struct w_entry {
    uint64_t term, index;
    uint32_t type, len;
    uint8_t *data;
};

/* A node's durable store: what survives its crashes; a wipe erases it. */
struct w_disk {
    bool exists; /* created (a wipe resets it) */
    bool saved;  /* something was ever saved: not a first boot */
    uint64_t incarnation;
    bool recovering;
    struct raft_hard_state hs;
    struct raft_snapshot_meta snap;
    struct w_entry *ents; /* snap.index + 1 .. */
    uint64_t n, cap;
    uint64_t peer_inc[W_NODES_MAX + 1];
};

/* A message in flight. */
enum w_msg_kind { W_MSG_RAFT, W_MSG_PING };
struct w_msg {
    int64_t at_us; /* delivery time */
    uint64_t seq;  /* ties broken by send order */
    uint64_t from, to;
    uint64_t to_life; /* the receiver's life when sent: a restarted node gets none */
    enum w_msg_kind kind;
    uint8_t *data;
    size_t len;
};

struct server;

struct world {
    int64_t now_us;
    uint64_t rng;
    int n_nodes;
    struct w_disk disks[W_NODES_MAX + 1];
    struct server *srv[W_NODES_MAX + 1]; /* running nodes, NULL when down */
    uint64_t life[W_NODES_MAX + 1];      /* restarts so far */
    struct transport *tr[W_NODES_MAX + 1];
    bool cut[W_NODES_MAX + 1][W_NODES_MAX + 1]; /* messages from i to j are lost */
    struct w_msg *q;
    size_t nq, capq;
    uint64_t seq;
    uint32_t loss_pm; /* per-mille of messages lost */
    uint32_t delay_min_us, delay_max_us;
    /* A crash point inside the driver: when crash_in_save names a node, its
     * next storage_save stores nothing and jumps here (the process died). */
    uint64_t crash_in_save;
    jmp_buf *crash_jmp;
    uint64_t msgs_sent, msgs_lost;
    /* Checks hooked into the store (nodesim.c). */
    void (*on_save)(struct world *w, uint64_t node, const struct raft_entry *ents, uint32_t n);
};

extern struct world *W;

uint64_t w_rand(struct world *w);
uint32_t w_below(struct world *w, uint32_t n);
bool w_chance(struct world *w, uint32_t per_mille);

/* Queues a message from -> to (dropped now if lost or cut). */
void w_send(struct world *w, uint64_t from, uint64_t to, enum w_msg_kind kind, const void *data,
            size_t len);
/* Whether `from` can open a link to `to` now (to is up, not cut off). */
bool w_reachable(const struct world *w, uint64_t from, uint64_t to);
/* Node t's links to its members: each one down tries to come up (after its
 * back-off), as the real transport reconnects (fake_transport.c). */
struct transport;
void w_transport_connect(struct transport *t);
/* Erases node id's store (the node must be down). */
void w_disk_wipe(struct w_disk *d);

#endif
