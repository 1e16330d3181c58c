/*
 * tests/nodesim/world.h - the simulated world real nodes run in: a virtual
 * clock, one seeded PRNG, a network of queued messages (delays, loss,
 * partitions) and each node's durable store, which outlives the node.
 *
 * The node simulator links the server's own code (src/: driver, state
 * machine, keyspace, dispatcher) with fakes of the three files that touch
 * the outside world, each implementing the same header the server uses:
 * src/base/clock.h (world.c: virtual time), src/storage/storage.h (fake_storage.c:
 * memory, one transaction per call as src/storage/storage.c commits them, synced or
 * not as it syncs them), src/storage/logsync.h (fake_logsync.c: the log's sync
 * thread, whose syncs take virtual time), src/transport/transport.h (fake_transport.c:
 * messages through this world). Those headers are the I/O seam; nothing
 * else is replaced.
 * src/storage/storage_wal.c is the server's own: it reads the WAL file that
 * fake_storage.c writes into a node's dir when that node's WAL is damaged.
 * Single-threaded; everything is deterministic given the seed.
 *
 * Each store keeps a journal of its transactions since it was opened (the
 * last W_JOURNAL_MAX), each with what it replaced, so that the store can go
 * back to an earlier transaction boundary, as SQLite's WAL can: a power loss drops the trailing
 * transactions committed without an fsync (w_disk_power_loss), a damaged
 * WAL frame drops the last few, synced ones included (w_disk_damage).
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

#define W_JOURNAL_MAX 256

/* One transaction of a store (fake_storage.c), with what it replaced: the
 * state before it, the entries it deleted, how many it appended. */
struct w_tx {
    bool synced; /* committed with an fsync: it and every earlier one survive power loss */
    uint64_t no; /* its number: w_disk.tx_no when it began (storage_written's mark) */
    bool saved, recovering;
    struct raft_hard_state hs;
    struct raft_snapshot_meta snap;
    uint64_t peer_inc[W_NODES_MAX + 1];
    uint64_t appended;    /* entries appended at the log's end */
    struct w_entry *tail; /* the log's end it deleted (owned), in index order */
    uint64_t n_tail;
    struct w_entry *head; /* the log's start it compacted (owned), in index order */
    uint64_t n_head;
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
    /* The transactions since the store was last opened (the open empties
     * the WAL into the database) and since its first save, oldest first: a
     * ring of W_JOURNAL_MAX from journal[j_first]. */
    struct w_tx *journal;
    uint32_t j_first, j_n;
    uint64_t tx_no; /* transactions journaled since the store was created */
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
    bool slow_disks; /* faults are on: a log sync may stall (fake_logsync.c) */
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
/* Power loss (the node must be down): the store loses its trailing
 * transactions committed without an fsync, back to the last synced one (WAL
 * order: a synced commit makes the earlier frames durable too). Returns how
 * many it lost. */
uint32_t w_disk_power_loss(struct w_disk *d);
/* A damaged WAL frame (the node must be down): the store loses its last k
 * transactions, synced ones included (fewer if its journal holds fewer; never
 * its first save), and dir/raftcache.db-wal gets a frame that fails its
 * checksum followed by one commit frame per lost transaction, as SQLite
 * would leave it: what src/storage/storage_wal.c reports at the next start. The
 * next storage_open() empties the WAL into the database, as
 * src/storage/storage_open.c does (the file goes, with the journal). Returns how
 * many transactions it dropped (0: nothing to drop, no file). */
uint32_t w_disk_damage(struct w_disk *d, uint32_t k, const char *dir);
/* How many of the store's last transactions reach back to the newest one
 * that recorded a snapshot (a compaction or an installed snapshot), that
 * one included; 0 if the journal holds none. */
uint32_t w_disk_since_snapshot(const struct w_disk *d);

#endif
