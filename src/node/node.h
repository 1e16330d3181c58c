/*
 * src/node/node.h - the Raft driver: joins the pure core (raft/), the log storage
 * (src/storage/storage.c), the peer transport (src/transport/transport.c) and the state machine
 * (src/sm/sm.h) into one replicated node.
 *
 * Every node is a Raft member, even alone: a node started without
 * cluster-members is a one-voter cluster that elects itself at start, so the
 * single-node server runs through the same log as a cluster.
 *
 * The driver loop (raft.h's contract) runs in node_process_ready(), called by
 * the server's before-sleep hook before client output is flushed: messages
 * that need nothing durable are sent, the batch's entries and hard state are
 * written in ONE storage transaction (group commit: every write proposed in
 * this loop iteration shares one fsync), the other messages are sent, the
 * committed entries are applied (replying to the clients waiting for them),
 * released reads are served, and the core is advanced.
 *
 * Client ordering (what a pipeline sees): consecutive writes of a client are
 * proposed at once and answered in log order; a read waits until the client's
 * writes are applied and then for a ReadIndex round (§6.4) covering every
 * read already received from that client; any other command waits until the
 * client has nothing pending. So a GET between two SETs of one connection
 * sees the first and not the second, and a pipeline of writes costs one
 * commit round, not one per command.
 */
#ifndef NODE_H
#define NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resp/parser.h"

struct node;
struct client;
struct command;
struct resp_arg;
struct config;
struct sm;
struct waiters;
struct ev_loop;

enum node_route {
    NODE_EXEC = 0,       /* run the command now, locally */
    NODE_WAIT = 1,       /* leave it unconsumed; the client is resumed later */
    NODE_REPLIED = 2,    /* an error (-NOCLUSTER, -CLUSTERDOWN, -TIMEOUT) was replied */
    NODE_NOT_LEADER = 3, /* a follower cannot serve it: the caller forwards it to the leader
                          * (src/server/proxy.h) or replies node_reply_not_leader() */
};

/* What the driver works with, given by its owner (src/net/loop.c) and kept
 * for the node's life. The up-calls are how the driver reaches what lies
 * above it without depending on it. */
struct node_env {
    const struct config *cfg; /* read live: CONFIG SET changes take effect */
    struct sm *sm;            /* committed entries are applied to it (src/sm/sm.h) */
    struct waiters *waiters;  /* clients waiting for entries and reads (src/node/waiters.h) */
    struct ev_loop *loop;     /* the peer links' loop (src/transport/transport.h) */
    uint64_t seed;            /* the core's randomized election timeouts */
    /* Writes the replies already made (the woken clients') to their sockets
     * now, without running any command: the leader calls it before a long
     * fsync so that clients hear back one fsync earlier. */
    void (*flush_replies)(void *ud);
    void *ud;
    /* Walks a snapshot a fixed number of buckets a round instead of for a
     * time, and waits for the writer thread once the walk is over: for the
     * node simulator (tests/nodesim), where real running time must not
     * decide what happens in simulated time. The server leaves it false. */
    bool snapshot_wait;
    /* tls-cluster: the TLS contexts the links to the other nodes dial with
     * (src/tls/tls.h); NULL: plain TCP. */
    struct tls_ctx *tls;
};

/* New TLS contexts for the links to the other nodes (a reload); links up
 * keep their session. */
void node_set_tls(struct node *n, struct tls_ctx *tls);

/* Opens storage under cfg->dir, restores the core and the state machine,
 * connects peers; *np is set first (node_free() cleans up after a failure).
 * Returns 0, or -1 with a message in err (damaged or foreign data file, ...). */
int node_init(struct node **np, const struct node_env *env, char *err, size_t errlen);
void node_free(struct node *n);

/* Where the command `cmd` from client c goes. is_write says whether it
 * changes the keyspace (a write, or EXEC of a queue holding one); is_read
 * whether it reads it. Commands doing neither are local. A read on the leader
 * starts a ReadIndex round covering c's input received so far
 * (c->in_received) unless c->cur_cmd_end is already covered. During a
 * leadership transfer this node started (node_transfer_leader), and after
 * it until the new leader is heard of (two election timeouts at most), a
 * write or linearizable read waits (NODE_WAIT: parked in the waiters, woken
 * when the transfer is over) rather than being refused. */
enum node_route node_route(struct node *n, struct client *c, int is_write, int is_read);

/* The write path, one way: the dispatcher hands the driver a write, the
 * driver has the state machine build it (src/sm/sm.h, which never proposes),
 * stages the waiting client (src/node/waiters.h: it counts as pending from
 * now on, so its later commands keep their order behind it) and proposes
 * what was built: a full batch, or an entry of its own, at once; the open
 * batch when the loop is about to sleep (node_process_ready) or before an
 * entry that must follow it. Errors are replied to the waiting clients.
 *
 * node_write: c's write in database db (c's selected one; cmd may be
 * NULL: unknown, its error comes when applied) joins the open batch; its
 * reply reaches c when it is applied. */
void node_write(struct node *n, struct client *c, int db, const struct command *cmd, int argc,
                const struct resp_arg *argv);
/* EXEC of c's transaction with writes: one entry, after the open batch. */
void node_write_multi(struct node *n, struct client *c);
/* The leader's deletion of keys of database db found expired (the caller
 * holds them in sm.expiring, src/sm/sm.h): one entry, after the open batch;
 * nobody waits. */
void node_write_expire(struct node *n, int db, int nkeys, const struct resp_arg *keys);
/* A write of the leader's own in database db (eviction's RAFTCACHE.EVICT):
 * its keys are held in sm.expiring until the batch that takes it is
 * applied. */
void node_write_held(struct node *n, int db, int argc, const struct resp_arg *argv);
/* Proposes the open batch now, if there is one. */
void node_write_flush(struct node *n);

/* Feeds a message received from peer `from` (RAFT.MSG on a connection that
 * authenticated as `from`). Returns 0, or -1 if it is malformed, claims
 * another sender, is not for this node (err filled; nothing changed) or is
 * refused by the core (raft.h, MESSAGES FROM THE NETWORK: err says why;
 * nothing changed, except our term for a term jump). A malformed or refused
 * message is also logged, at most one line per NODE_REFUSAL_LOG_MS with the
 * count of those left out, so that a flood of them does not flood the log. */
int node_receive(struct node *n, uint64_t from, const uint8_t *msg, size_t len, char *err,
                 size_t errlen);

/* Bytes arrived on the peer link from node `from` (a message of it, perhaps a
 * large one, is on its way): tells the core, whose follower then counts its
 * leader alive (raft_receiving()). */
void node_receiving(struct node *n, uint64_t from);

/* Called from a busy script's nested loop pass while an entry applies (its
 * script runs long, src/script/script.h): says this node is alive, at most once per
 * heartbeat interval, with the PING keepalive of long log writes -- a
 * follower to its leader (CheckQuorum), a leader to its followers (their
 * election timers) -- and lets queued peer messages flow. Touches neither
 * the core nor the state machine: the receivers' raft_receiving() counts
 * the bytes as a sign of life, nothing more, as for a large message. */
void node_busy_keepalive(struct node *n);

/* The before-sleep work: runs the driver loop until the core has no ready. */
void node_process_ready(struct node *n);
/* One Raft tick (the server's tick timer) and request timeouts. */
void node_tick(struct node *n);
/* A client goes away: forget what it waits for. */
void node_client_gone(struct node *n, struct client *c);

/* Read-only views for RAFT.INFO and CLUSTER (src/servercmd/cmd_cluster.c). */
struct raft;
struct transport;
struct storage_stats;
struct raft_hard_state;
const struct raft *node_core(const struct node *n);
const struct transport *node_transport(const struct node *n);
/* The peer links, for the follower proxy to forward commands over
 * (src/server/proxy.h), and the leader they go to (0: none known). */
struct transport *node_links(struct node *n);
uint64_t node_leader(const struct node *n);
void node_storage_stats(const struct node *n, struct storage_stats *st);
/* The hard state last made durable. */
const struct raft_hard_state *node_hard_state(const struct node *n);
/* Index of the last entry applied to the keyspace. */
uint64_t node_applied(const struct node *n);
/* Linearizable follower reads (RAFT.READONLY): the rounds the leader
 * confirmed for this node, and those it did not (their reads went to the
 * leader). */
void node_read_stats(const struct node *n, uint64_t *confirmed, uint64_t *failed);
/* host and port of member id: from the configuration in the log, else this
 * node's own advertised address, else cluster-members, else an address the
 * peer announced (RAFT.AUTH); 0, or -1 if unknown. */
int node_member_addr(const struct node *n, uint64_t id, char *host, size_t hostlen, int *port);
/* Replies -MOVED 0 <leader> (or -CLUSTERDOWN) to c. */
void node_reply_moved(struct node *n, struct client *c);
/* Instead of -MOVED/-CLUSTERDOWN for a command that is not run: a client
 * this node served while it led, or marked when it stepped down, is closed
 * after the replies before that command (stepdown-close-clients, unless
 * raft-follower-proxy forwards; src/servercmd/cmd_sentinel.h), as Sentinel's CLIENT
 * KILL cuts a demoted master's clients, so that a client that cannot follow
 * -MOVED reconnects to the leader it asks for. Returns 1 if c is closing;
 * 0 (nothing done) for a READONLY client, a blocking pop in the log, or a
 * client that asked for maintenance notifications (it is moved instead:
 * src/server/maint.h). */
int node_close_instead_of_redirect(struct node *n, struct client *c);
/* The same naming the slot of the command's key (-MOVED <slot> <leader>). */
void node_reply_not_leader(struct node *n, struct client *c, unsigned slot);
/* "host:port", the host in brackets when it is an IPv6 address. Returns 0,
 * or -1 if it did not fit in outlen bytes (out truncated). */
int node_format_addr(const char *host, int port, char *out, size_t outlen);

/*
 * Membership (src/node/node_member.c). Errors: NODE_ENOTLEADER (reply -MOVED),
 * NODE_EBUSY (another change or a transfer is in flight: retry later),
 * NODE_EINVAL (the request makes no sense here); err says why.
 */
enum { NODE_ENOTLEADER = -1, NODE_EBUSY = -2, NODE_EINVAL = -3 };
enum node_member_op { NODE_MEMBER_ADD, NODE_MEMBER_REMOVE };
/* RAFT.NODE ADD (a learner at addr, promoted by the leader once caught up)
 * or REMOVE (the leader included: it steps down once the change commits).
 * On 0 the change is proposed and c gets +OK when it is applied (committed),
 * or -TIMEOUT like a write. */
int node_change_member(struct node *n, struct client *c, enum node_member_op op, uint64_t id,
                       const char *addr, char *err, size_t errlen);
/* RAFT.TRANSFER_LEADER: target 0 = the most up-to-date other voter among
 * those this node is connected to (none: refused). 0 once the transfer
 * started (it ends within an election timeout either way). */
int node_transfer_leader(struct node *n, uint64_t target, char *err, size_t errlen);
/* RAFT.CLUSTER JOIN on a fresh node: leaves its one-member cluster (only if
 * it never applied a client write), then asks the given addresses, in order
 * and following -MOVED, to RAFT.NODE ADD it. c gets +OK once a leader added
 * it, or an error; meanwhile the node answers -NOCLUSTER. */
int node_join(struct node *n, struct client *c, int n_addrs, const char *const *addrs,
              const size_t *lens, char *err, size_t errlen);
/* False while the node waits to be added to a cluster (empty configuration). */
bool node_has_cluster(const struct node *n);
/* True once the node's latest configuration no longer names it although an
 * earlier one did: it was removed, and serves no reads or writes (-NOCLUSTER).
 * A node cut off before the entry removing it reached it cannot know. */
bool node_removed(const struct node *n);
/* RAFT.INFO's state: "uninitialized" (empty configuration: a JOIN failed or
 * has not started; or node_removed(): a member no more, RAFT.INFO adds
 * removed:yes), "joining" (a JOIN runs, or its configuration names other
 * members and not yet itself: it waits to be added, or receives the log of
 * the cluster that added it) or "up". */
const char *node_member_state(const struct node *n);
/* A peer authenticated as id announced its address (RAFT.AUTH). A peer
 * that is not a member of this node's configuration gets a link, so that
 * it can be answered (a leader whose addition this node's log has not
 * reached yet); the address the configuration or cluster-members records
 * for id, if any, takes precedence over the announced one. */
void node_learn_peer(struct node *n, uint64_t id, const char *host, int port);

/* Sends a message published here to every other member (voters and
 * learners), as RAFT.PUBLISH <self-id> <0|1 (shard)> <channel> <message> on
 * the pub/sub links: connections of their own beside the Raft links, so
 * that a flood of messages never delays a Raft message. Fire-and-forget, as
 * Redis Cluster's bus: per member, messages arrive in the order they were
 * published here, each at most once; dropped while the member's link is
 * down or its queue is full (PUBSUB_LINK_BYTES_MAX bytes unanswered, each
 * message counting its channel and payload plus 64). */
#define PUBSUB_LINK_BYTES_MAX (32ull << 20)
void node_publish(struct node *n, int shard, const char *channel, size_t clen, const char *msg,
                  size_t mlen);
/* A Raft message came from id: if no link leads back to it (a leader that
 * an entry or a snapshot dropped from this node's configuration), one is
 * made, so that it gets its answers. node_receive() calls it. */
void node_answer_peer(struct node *n, uint64_t id);

/* ---- incarnations and lost state (src/node/node_safety.c, docs/storage-safety.md) ---- */

/* This node's store incarnation, presented on RAFT.AUTH. */
uint64_t node_incarnation(const struct node *n);
/* RAFT.AUTH from member id presenting incarnation inc: 0 (recorded if it is
 * the first, or if it is another one and the peer says it is recovering: it
 * knows it lost its state and will not vote until caught up), or -1 with err
 * filled when it once presented another one and does not say so (it lost its
 * Raft state without knowing: refused). Non-members are not checked. */
int node_peer_auth(struct node *n, uint64_t id, uint64_t inc, bool recovering, char *err,
                   size_t errlen);
/* RAFT.INFO's recovery= of peer id's node<i> line: "lost-state" (refused:
 * its incarnation changed), "recovering" (it says it catches up before
 * voting), or "no" (neither). */
const char *node_peer_recovery_state(const struct node *n, uint64_t id);
/* RAFT.INFO's recovery: field: "no", "recovering" (no vote until caught up
 * with a leader) or "lost-state" (the same, and peers still refuse this
 * node's incarnation).
 * The state: field keeps its documented values (docs/cluster-replies.md). */
const char *node_recovery_state(const struct node *n);
/* RAFT.INFO's messages_refused: peer messages refused since start
 * (node_receive: malformed, or refused by the core). */
uint64_t node_messages_refused(const struct node *n);
/* RAFT.INFO's address_mismatches: how many times an address this node was
 * told (a peer announcing itself, this node's own port) differed from the
 * one its configuration holds; *last the latest, "" when none. Each new
 * one is logged at warning level. */
uint64_t node_addr_mismatches(const struct node *n, const char **last);

/* Snapshots (src/node/node_snap.c, format and crash analysis in src/sm/snapshot.h).
 * A node snapshots its keyspace while it runs (src/sm/snaplive.h) when the
 * rules of conf/raftcache.conf say so; the log is compacted once the file is
 * durable. */
struct node_snapshot_info {
    uint64_t last_index, last_term; /* the log's base: 0 0 without a snapshot */
    uint64_t size_bytes;            /* of dir/snapshot.rcs */
    uint64_t created, received;     /* since start: taken locally, installed from a leader */
    int in_progress;                /* one is being taken */
    uint64_t last_duration_ms;      /* start to compaction, of the last one taken */
    int64_t last_done_ms;           /* wall clock: the last one taken or installed, else boot */
    int64_t current_ms;             /* how long the one in progress has run, 0 if none */
    int last_failed;                /* the last attempt to take one failed */
    uint64_t changes_since;         /* keys changed since the last one (kv_common.changes) */
};
void node_snapshot_info(const struct node *n, struct node_snapshot_info *out);

/* The Raft log's part in memory (RAFT.INFO; see raft-log-max-memory). */
struct node_log_info {
    uint64_t mem_first_index; /* entries before it are only on disk */
    uint64_t mem_entries, mem_bytes;
    uint64_t reads, entries_read; /* read back from disk for lagging followers */
};
void node_log_info(const struct node *n, struct node_log_info *out);
/* The Raft log's memory: the entries the core holds (RAFT.INFO
 * log_memory_bytes, bounded by raft-log-max-memory once applied) and
 * SQLite's own (page cache, statements). used_memory leaves it out
 * (src/server/memory.h). */
uint64_t node_mem_log(const struct node *n);
/* The bytes queued to the peers: in used_memory, not counted for
 * eviction (src/server/memory.h). */
uint64_t node_mem_peers(const struct node *n);
/* The buffers of a snapshot being taken (src/sm/snaplive.h): in used_memory,
 * not counted for eviction either. */
uint64_t node_mem_snapshot(const struct node *n);
/* RAFT.DEBUG COMPACT: starts a background snapshot of the applied state now.
 * Returns 0 once it began (completion shows in node_snapshot_info), or -1
 * with a reason (one already in progress, nothing applied since the last,
 * its file could not be created). */
int node_snapshot_start(struct node *n, char *err, size_t errlen);
/* A snapshot is being taken and has work the loop can do now: the loop
 * then polls without sleeping, each pass walking it a slice further. */
bool node_snapshot_walking(const struct node *n);
/* A snapshot is being taken and its walk waits for its thread, which does
 * not wake the loop: the loop comes back to it soon even with nothing
 * else to do. */
bool node_snapshot_waiting(const struct node *n);

/* CONFIG SET raft-log-fsync: from the next batch on. */
void node_set_fsync(struct node *n, int on);

/*
 * Cluster view (src/node/node_view.c): what this node can tell of the other
 * members, for CLUSTER NODES/SHARDS/SLOTS, INFO replication and ROLE.
 *
 * HEALTH RULE, with T = raft-election-timeout-ms. A member is unreachable
 * when this node's peer link to it has been down (not connected) for T or
 * more, or when this node expects to hear from it and has not for T or more:
 * the leader expects every member (each answers its heartbeats), a follower
 * expects its leader (or the last one it knew). Like Redis Cluster, a
 * suspicion is NODE_PFAIL ("fail?") and a verdict NODE_FAIL ("fail"): only
 * the leader gives verdicts, since only it hears from every member (and it
 * holds a quorum); a follower sees only its own links and its leader, so its
 * unreachable members are suspicions. This node itself is never unreachable.
 */
enum node_health { NODE_OK = 0, NODE_PFAIL = 1, NODE_FAIL = 2 };
struct node_peer_view {
    enum node_health health;
    bool link_up;         /* the peer link is connected (this node: true) */
    int64_t heard_ms_ago; /* since its last Raft message; -1 never (this node: 0) */
};
void node_peer_view(const struct node *n, uint64_t id, struct node_peer_view *out);
/* The leader, or when none is known the last leader this node knew (it may
 * be dead: node_peer_view says so); 0 if it never knew one. */
uint64_t node_last_leader(const struct node *n);

/* The name clients see for member id (CLUSTER MYID and NODES, SENTINEL
 * MYID and runids): 40 hexadecimal digits, as a Redis node id, derived
 * from the Raft id. */
#define NODE_NAME_LEN 40
void node_name(uint64_t id, char out[NODE_NAME_LEN + 1]);

/* 1 if this node leads (writes and linearizable reads are served here). */
int node_is_leader(const struct node *n);
/* Leader only: how many other members (voters and learners) this node is
 * connected to have acknowledged the log up to index (WAIT); -1 when not
 * leading. O(members). */
int node_replicas_at(const struct node *n, uint64_t index);
/* Leader only: 1 if this node's log is written up to index (fsynced when
 * raft-log-fsync is on), else 0; -1 when not leading. */
int node_persisted_at(const struct node *n, uint64_t index);
/* Milliseconds between ticks (the timer's period). */
double node_tick_seconds(const struct node *n);

#endif
