/*
 * raft/raft.h - the Raft consensus core: a pure library with no I/O.
 *
 * Shape (etcd's raft): the core never reads a clock,
 * never touches a disk or a socket and never calls back into the driver. The driver
 * (src/, the simulator, the benchmark) feeds it
 *     raft_tick()              logical time, one call per tick;
 *     raft_step()              one decoded message from a peer;
 *     raft_propose(), raft_propose_conf_change(), raft_read_index(),
 *     raft_transfer_leader(), raft_snapshot_taken(), raft_snapshot_chunk(), ...
 * and takes back, with raft_ready(), a batch of work. References are to Diego Ongaro's
 * dissertation "Consensus: Bridging Theory and Practice" (2014): Fig. 3.1 etc.
 *
 * THE DRIVER LOOP AND THE PERSISTENCE CONTRACT (§3.8, §10.2.1)
 *   while (raft_has_ready(r)) {
 *       raft_ready(r, &rd);
 *       1. send every rd.msgs[i] with must_persist_first == 0 (optional: may also wait);
 *       2. persist, durably (fsync), in this order:
 *            rd.snap_chunk   (write the chunk; if done: install it - see below)
 *            rd.entries      (first delete every stored entry with index >= entries[0].index,
 *                             then append; these overwrite a conflicting suffix)
 *            rd.hard_state   (if rd.hard_state_changed)
 *       3. send every rd.msgs[i] with must_persist_first == 1;
 *       4. apply rd.committed in order; then serve rd.reads[i] once the applied index is
 *          >= reads[i].index; answer rd.snap_reqs with raft_snapshot_chunk() and
 *          rd.log_reqs with raft_log_entries() later;
 *          (committed entries below rd.entries[0].index are durable here already: a
 *          driver may apply them before step 2, to answer clients one fsync sooner)
 *       5. raft_advance(r).
 *   }
 * No other raft_* call may be made on this core between raft_ready() and raft_advance()
 * (calls on other cores are fine: a message may be stepped into its target at once).
 * Everything raft_ready() points to is owned by the core and stays valid until
 * raft_advance().
 * Messages with must_persist_first == 0 are only the leader's AppendEntries, heartbeats,
 * InstallSnapshot chunks and TimeoutNow, and the READ_INDEX requests and answers of
 * follower reads (an answer's index is the leader's commit index, which counts only
 * entries the driver made durable): they depend on nothing of this batch being
 * durable, because the leader counts its own log towards commitment only for entries
 * the driver has acknowledged with raft_advance() (§10.2.1: the leader writes its log in
 * parallel with replication; if it crashes before its write, followers may hold entries
 * it lost, which is the same as a leader crashing after sending them: they were not
 * committed). Every other message (votes, responses) must wait: a vote or an
 * acknowledgement must never be sent for state that a crash could still erase.
 *
 * ASYNCHRONOUS WRITES (config.async_persist; the idea of etcd's asynchronous storage
 * writes): the driver may write a batch's entries and hard state on another thread, so
 * that the next batches are built, sent and applied while the disk works. For such a
 * batch it does step 1, hands a copy of rd.entries and rd.hard_state to its writer,
 * keeps the batch's must_persist_first messages back, does step 4 and calls
 * raft_advance_async() instead of raft_advance(). Writes complete in the order they were
 * handed out; after each, outside any batch, the driver sends the messages it kept back
 * with it and calls raft_persisted() with the last entry it wrote (if any). In this mode
 * rd.committed holds only entries the driver has acknowledged as written, and the
 * leader counts its own log from raft_persisted() on. A batch with rd.snap_chunk is
 * always synchronous: the driver first waits for every write in flight (sending what
 * it kept back; acknowledging them is then unnecessary), then follows steps 1-5; its
 * raft_advance() acknowledges every entry handed out so far.
 *
 * Restart: the driver rebuilds the core from what it persisted with raft_restore(). After
 * a restart rd.committed starts again right after the snapshot index: a driver whose
 * state machine is durable beyond it skips what it already applied.
 *
 * LOG MEMORY: the core holds in memory the entries after the snapshot, until the driver
 * lets it release the oldest applied and persisted ones with raft_log_release() (a
 * byte budget); of those it keeps only their terms (as runs: one per term, not per
 * entry) and the configurations among them, so every consistency check, conflict hint
 * and snapshot meta still works without the driver. The driver must keep released
 * entries stored until a snapshot compacts them: a leader whose follower needs one asks
 * for it in rd.log_reqs ("read entries prev+1..last of your log for peer `to`", at most
 * max_bytes of data), and sends what raft_log_entries() hands back. Without
 * raft_log_release() the core keeps every entry after the snapshot (bounded by the
 * driver's snapshot threshold, and by max_uncommitted on a leader) and never asks.
 *
 * MEMBERSHIP (§4): single-server changes, effective as soon as the configuration entry
 * is appended to a log (§4.1), not when committed. Chosen over joint consensus because
 * every change the product needs (RAFT.NODE ADD/REMOVE, learner promotion) changes one
 * server at a time, and any two majorities of configurations differing by one voter
 * overlap, so no two-phase entry, no C_old,new quorum rules and no extra states are
 * needed. One change at a time: a leader refuses a new change (RAFT_EBUSY) while a
 * configuration entry is uncommitted, and also until an entry of its own term has
 * committed (the known fix to §4.1's single-server algorithm: otherwise two changes
 * made by leaders of different terms could both be "in flight" and overlap badly).
 * A new server joins as a learner (non-voting: it receives the log, does not vote and
 * does not count towards commitment, §4.2.1); when config.auto_promote is set the
 * leader proposes its promotion once it has caught up: it answered within the last
 * election timeout and acknowledged entries of the leader's term up to within
 * promote_lag_entries of the leader's last index and up to the latest configuration entry
 * at least, and does not say it is recovering (a server that never answered is not caught
 * up, however short the log; an answer about entries before the one adding it may come
 * from a server removed under the same id). A change of the voters is
 * refused (RAFT_EUNSAFE) unless the new configuration has a majority of voters that answered the
 * leader within the last election timeout: otherwise the change could neither commit nor be
 * replaced, and the cluster would have lost its quorum for good. A leader may remove itself
 * (§4.2.2): from the moment the entry is appended it stops counting itself in majorities, keeps
 * leading until the entry commits, then steps down. A server not a voter in its configuration does
 * not start an election, with two exceptions: while the entry that removed it is not
 * committed, a server that was a voter before it still does (the entry may have
 * reached it alone before its leader was lost, and the others would then never elect
 * one another: it votes for no shorter log); and a learner that refused a candidate its
 * vote for its log stands at its next timeout (the candidate counts it as a voter, from
 * a promotion the learner does not hold, and the learner's log may be the only one
 * holding a newer leader's entries). Elected, either counts the votes of the
 * configuration it holds, not its own, commits its removal (or its no-op) and steps down
 * as above. A server added back after its removal is followed afresh, like any server
 * added: the removed one's acknowledgements do not count for it. A removed server learns
 * of its removal from the entry removing it, which the leader keeps sending it until the
 * change commits and it holds the entry (or stops answering): its latest configuration
 * then lacks it. A server cut off before the entry reaches it cannot know.
 *
 * READS (§6.4): ReadIndex by default: a read is bound to the leader's commit index and
 * released once one heartbeat round proves the leader still leads; all reads issued
 * before the round share it. A leader serves no read until an entry of its own term has
 * committed (§6.4 step 1; until then RAFT_ENOTREADY). RAFT_READ_LEASE (off by default,
 * requires check_quorum) answers at once while the leader holds a lease: a majority
 * acknowledged a heartbeat sent at tick t, and those servers refuse votes until their
 * own tick t + election_ticks (§4.2.3; in lease mode a restarted server also refuses
 * votes for its first election_ticks), so the lease runs to t + election_ticks - 2.
 * CLOCK ASSUMPTION: every server's ticks advance at the same rate, within a drift much
 * smaller than two ticks per election timeout. A paused or slow leader process breaks
 * it (its ticks lag real time while the others elect a new leader), which is why it is
 * off by default. Without a lease the read falls back to a ReadIndex round, and no lease
 * is used for the rest of a term in which a leadership transfer began.
 * FOLLOWER READS: raft_read_index() on a follower (or learner) that knows its leader
 * queues the read, and the reads queued since the last one go in one READ_INDEX (ctx:
 * their batch number) at the next raft_ready(). The leader binds the batch to its commit
 * index as it binds its own reads (a heartbeat round, or at once under a lease or alone)
 * and answers READ_INDEX_RESP (ctx, index); the follower releases the batch and every
 * earlier one in rd.reads with that index, to be served once its applied index reaches
 * it (so the read sees every write committed before it began, as etcd's follower reads).
 * A refusal (the asked server does not lead, or no entry of its term has committed yet)
 * releases them failed (raft_read_state.failed), and so does any change of the
 * follower's term or leader before the answer; a lost request or answer leaves them to
 * the driver's timeout. A follower that knows no leader: RAFT_ENOTLEADER.
 *
 * SNAPSHOTS (§5): the driver snapshots its state machine and calls raft_snapshot_taken(),
 * the core drops the log up to there. A follower that needs compacted entries gets an
 * InstallSnapshot transfer, one bounded chunk in flight per follower:
 *   leader: rd.snap_reqs asks "read `max_len` bytes at `offset` of snapshot `index` for
 *           peer `to`"; the driver calls raft_snapshot_chunk() with them, the core sends
 *           them; the follower's reply asks for the next offset; and so on until done.
 *   follower: rd.snap_chunk hands over each chunk to store; the last one (done = 1)
 *           means: make this snapshot the state machine and the log's base, dropping the
 *           whole stored log. By then the core has already reset its log to the
 *           snapshot (commit and applied are the snapshot index).
 *
 * MESSAGES FROM THE NETWORK: every field of a message fed to raft_step() is taken as
 * hostile until checked. A peer that holds the cluster's secret is trusted with Raft
 * (no protocol survives a peer that lies about its log), but a broken or hostile one
 * must not crash a server, nor wrap a term around, nor take the cluster's terms out of
 * use in one message. So raft_step() refuses (RAFT_EREFUSED, reason in raft_refusal())
 * a message that breaks an invariant no correct server breaks (raft/check.c: term 0,
 * a term above RAFT_TERM_MAX, an index above RAFT_INDEX_MAX, a log term above the
 * message's term, entries out of sequence or of terms going down, ...) before any of
 * it is used, and no ASSERT in the core depends on a field of a message.
 *
 * TERMS (§3.3) only grow, by one per election. RAFT_TERM_MAX keeps them far from
 * overflow, and RAFT_TERM_JUMP_MAX bounds how far one message moves a term:
 *  - a message of a term above RAFT_TERM_MAX is refused before it touches state;
 *  - a server at RAFT_TERM_MAX starts no election (a PreVote or vote would need
 *    RAFT_TERM_MAX + 1): it stays a follower and counts the elections it did not start
 *    (raft_campaigns_refused()), for the driver to report. A leader may still be
 *    elected at RAFT_TERM_MAX itself; the cluster then runs until it loses it. Reaching
 *    it legitimately takes 2^62 elections: only a hostile or broken peer gets there,
 *    and docs/operations.md says how an operator brings such a cluster back;
 *  - a message whose term is more than RAFT_TERM_JUMP_MAX above ours moves our term up
 *    by RAFT_TERM_JUMP_MAX only (as a follower with no vote and no leader, exactly as
 *    a higher term does, Fig. 3.1) and is then dropped (RAFT_EREFUSED). A legitimately
 *    higher term is still adopted: the sender's next message (a heartbeat, a refusal
 *    carrying its term) moves us further, until we reach it. Safety is that of any
 *    higher term: terms only grow, a vote is cast at most once per term (the vote is
 *    cleared only when the term grows), and a dropped message is a lost one. What it
 *    buys: one forged message moves a server's term by at most 2^16, so exhausting the
 *    2^62 terms takes 2^46 messages (years at a million a second), where without it
 *    one message did. What it costs: a server 2^16 terms or more behind (absent while
 *    the others held that many elections, which PreVote makes rare: a term grows only
 *    when a majority agreed to an election) catches up one message per 2^16 terms.
 *
 * Return codes: 0 on success or a negative RAFT_E* code; raft_strerror() names them.
 * Limits are hard: a proposal above max_entry_bytes is refused (RAFT_ETOOBIG).
 */
#ifndef RAFT_RAFT_H
#define RAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t raft_id;    /* a server id; 0 means "none" */
typedef uint64_t raft_index; /* a log index; the first entry has index 1 */
typedef uint64_t raft_term;  /* a term; 0 means "before any election" */

enum {
    RAFT_OK = 0,
    RAFT_ENOTLEADER = -1, /* only the leader can do this; raft_leader() hints who is */
    RAFT_EBUSY = -2,      /* config change or transfer in flight, or a queue is full */
    RAFT_ETOOBIG = -3,    /* entry above max_entry_bytes */
    RAFT_EINVAL = -4,     /* bad argument (unknown node, bad config, ...) */
    RAFT_ENOMEM = -5,     /* allocation failed; the request was not carried out */
    RAFT_ENOTREADY = -6,  /* leader has not committed an entry of its term yet */
    RAFT_EMALFORMED = -7, /* codec: truncated, oversize or malformed input */
    RAFT_EUNSAFE = -8,    /* conf change refused: the new voters could not commit */
    RAFT_EREFUSED = -9,   /* raft_step(): message refused, see raft_refusal() */
};

#define RAFT_MAX_NODES 16         /* servers in one configuration */
#define RAFT_MAX_INFLIGHT 256     /* upper bound of config.max_inflight_msgs */
#define RAFT_MAX_MSG_ENTRIES 4096 /* upper bound of entries in one message */
/* Ceilings far below overflow (see MESSAGES FROM THE NETWORK and TERMS above): 2^62
 * elections, or 2^62 entries, take longer than any cluster lives (146 years at a
 * billion a second), and term + 1, index + entries, etc. never wrap below them. */
#define RAFT_TERM_MAX (UINT64_C(1) << 62)
#define RAFT_INDEX_MAX (UINT64_C(1) << 62)
/* How far up one message may move a server's term (see TERMS above). */
#define RAFT_TERM_JUMP_MAX (UINT64_C(1) << 16)

enum raft_role { RAFT_FOLLOWER = 0, RAFT_PRECANDIDATE, RAFT_CANDIDATE, RAFT_LEADER };
enum raft_read_mode { RAFT_READ_SAFE = 0, RAFT_READ_LEASE = 1 };
enum raft_entry_type {
    RAFT_ENTRY_NORMAL = 0, /* driver data */
    RAFT_ENTRY_NOOP = 1,   /* appended by every new leader (§3.6.2, §6.4); no data */
    RAFT_ENTRY_CONF = 2,   /* a whole configuration, see raft_conf_decode() */
};

#define RAFT_ADDR_MAX 64 /* bytes of a server address, the terminating NUL included */

/* One member of a configuration. addr is opaque to the core: a NUL-terminated string
 * (strlen < RAFT_ADDR_MAX) that the driver chose when it proposed the server's addition
 * (src/ puts "host:port" there) and that the core only carries, unchanged, in
 * configuration entries, snapshot metas and InstallSnapshot messages, so that every
 * server learns every member's address from the log alone. "" = unknown (e.g. a
 * configuration written before addresses were recorded). The core never parses it,
 * never compares it and never uses it to identify a server: the id does that. */
struct raft_server {
    raft_id id;
    bool voter; /* false: a learner */
    char addr[RAFT_ADDR_MAX];
};

/* A configuration: the set of servers, voters and learners. Fixed-size on purpose. */
struct raft_conf {
    uint32_t n;
    struct raft_server s[RAFT_MAX_NODES];
};

struct raft_entry {
    raft_term term;
    raft_index index;
    uint32_t type; /* enum raft_entry_type */
    uint32_t len;
    const uint8_t *data; /* owned by whoever produced the array; see each function */
};

enum raft_msg_type {
    RAFT_MSG_APPEND = 1,  /* AppendEntries (Fig. 3.1) */
    RAFT_MSG_APPEND_RESP, /* its result */
    RAFT_MSG_VOTE,        /* RequestVote */
    RAFT_MSG_VOTE_RESP,
    RAFT_MSG_PREVOTE, /* §9.6: "would you vote for me?", changes no state */
    RAFT_MSG_PREVOTE_RESP,
    RAFT_MSG_HEARTBEAT, /* empty AppendEntries carrying commit and a read round */
    RAFT_MSG_HEARTBEAT_RESP,
    RAFT_MSG_SNAPSHOT, /* InstallSnapshot chunk (Fig. 5.3) */
    RAFT_MSG_SNAPSHOT_RESP,
    RAFT_MSG_TIMEOUT_NOW,     /* §3.10: start an election now */
    RAFT_MSG_READ_INDEX,      /* a follower's reads: "bind them to your commit index" */
    RAFT_MSG_READ_INDEX_RESP, /* the leader's answer: index, or reject */
    RAFT_MSG_TYPE_END
};

/* One message. Which fields matter depends on type; unused ones are zero. */
struct raft_msg {
    uint8_t type;            /* enum raft_msg_type */
    bool reject;             /* *_RESP: refused */
    bool transfer;           /* VOTE: part of a leadership transfer, bypasses the leader lease */
    bool done;               /* SNAPSHOT: last chunk; SNAPSHOT_RESP: snapshot installed */
    bool must_persist_first; /* output only: see the contract above */
    bool recovering;         /* APPEND_RESP, HEARTBEAT_RESP: the sender is recovering
                                (raft_set_recovering()): its match index and its read
                                acknowledgements do not count toward a quorum */
    raft_id from, to;
    raft_term term;
    raft_index index;    /* APPEND: prev log index; VOTE: last log index;
                            APPEND_RESP: last matching index (or rejected prev index);
                            SNAPSHOT(_RESP): snapshot last index */
    raft_term log_term;  /* APPEND: prev log term; VOTE: last log term;
                            SNAPSHOT: snapshot last term */
    raft_index commit;   /* APPEND, HEARTBEAT: leader commit */
    raft_index hint;     /* APPEND_RESP reject: conflict hint index */
    raft_term hint_term; /* APPEND_RESP reject: term at hint (fast back-off) */
    uint64_t ctx;        /* HEARTBEAT(_RESP): read round; READ_INDEX(_RESP): the
                            follower's batch of reads */
    uint64_t offset;     /* SNAPSHOT: chunk offset; SNAPSHOT_RESP: next offset wanted */
    uint32_t n_entries;
    const struct raft_entry *entries; /* APPEND */
    uint32_t chunk_len;
    const uint8_t *chunk;  /* SNAPSHOT */
    struct raft_conf conf; /* SNAPSHOT: configuration at the snapshot index */
};

struct raft_hard_state {
    raft_term term;
    raft_id vote;
    raft_index commit;
};

struct raft_snapshot_meta {
    raft_index index;      /* last index the snapshot covers; 0 = no snapshot */
    raft_term term;        /* term of that entry */
    struct raft_conf conf; /* configuration as of that index */
};

/* Follower side: a chunk of an incoming snapshot for the driver to store. */
struct raft_snap_chunk {
    struct raft_snapshot_meta meta;
    uint64_t offset;
    uint32_t len;
    const uint8_t *data;
    bool done; /* last chunk: install the snapshot (see the header comment) */
};

/* Leader side: "read this part of your snapshot for peer `to`". */
struct raft_snap_req {
    raft_id to;
    raft_index index; /* the snapshot the core is sending (its current one) */
    uint64_t offset;
    uint32_t max_len;
};

/* Leader side: "read entries prev+1 .. last of your stored log for peer `to`" (they
 * were released; see LOG MEMORY). At least one entry; stop before max_bytes of data. */
struct raft_log_req {
    raft_id to;
    raft_index prev;
    raft_index last;
    uint32_t max_bytes;
};

struct raft_read_state {
    uint64_t ctx;     /* the caller's raft_read_index() ctx */
    raft_index index; /* serve the read once applied index >= index */
    bool failed;      /* a follower's read the leader did not confirm: not to be served */
};

struct raft_ready {
    bool hard_state_changed;
    struct raft_hard_state hard_state;
    bool soft_state_changed; /* role or known leader changed */
    enum raft_role role;
    raft_id leader;
    const struct raft_snap_chunk *snap_chunk; /* NULL if none */
    uint32_t n_entries;
    const struct raft_entry *entries; /* to persist, consecutive indexes */
    uint32_t n_msgs;
    const struct raft_msg *msgs;
    uint32_t n_committed;
    const struct raft_entry *committed; /* to apply, consecutive indexes */
    uint32_t n_reads;
    const struct raft_read_state *reads;
    uint32_t n_snap_reqs;
    const struct raft_snap_req *snap_reqs;
    uint32_t n_log_reqs;
    const struct raft_log_req *log_reqs;
};

struct raft_config {
    raft_id id;                    /* this server, != 0 */
    uint32_t election_ticks;       /* base election timeout; randomized in [e, 2e) */
    uint32_t heartbeat_ticks;      /* < election_ticks */
    bool pre_vote;                 /* §9.6 */
    bool check_quorum;             /* leader steps down without a majority for e ticks */
    uint32_t max_inflight_msgs;    /* pipelined AppendEntries per follower, 1..256 */
    uint32_t max_entries_per_msg;  /* 1..RAFT_MAX_MSG_ENTRIES */
    uint32_t max_bytes_per_msg;    /* soft cap on entry bytes per AppendEntries */
    uint32_t max_entry_bytes;      /* hard cap on one proposal */
    uint32_t snapshot_chunk_bytes; /* InstallSnapshot chunk size */
    uint32_t max_pending_reads;    /* ReadIndex queue bound */
    uint32_t max_uncommitted;      /* proposals refused beyond this many uncommitted */
    enum raft_read_mode read_mode; /* RAFT_READ_SAFE by default */
    bool auto_promote;             /* leader promotes caught-up learners */
    uint32_t promote_lag_entries;  /* "caught up" = match >= last - this, match > 0,
                                      answered within an election timeout */
    bool async_persist;            /* the driver may write batches asynchronously */
    uint64_t seed;                 /* PRNG seed for election timeouts */
};

struct raft;

/* Fills *c with defaults (10/1 ticks, pre_vote and check_quorum on, 64 inflight, 1024
 * entries and 1 MiB per message, 64 MiB entries, 64 KiB chunks, 4096 pending reads,
 * 65536 uncommitted entries, safe reads, auto_promote with lag 64). The caller still
 * sets id and seed. */
void raft_config_default(struct raft_config *c);

/* Allocates a core. Config is copied. Returns 0, RAFT_EINVAL (bad config) or
 * RAFT_ENOMEM. The core starts as a follower with an empty log and an empty
 * configuration: call raft_restore() before anything else. */
int raft_create(const struct raft_config *c, struct raft **out);
void raft_free(struct raft *r); /* NULL is fine */

/* Loads persisted state: hard state, the last snapshot (meta->index 0 and meta->conf =
 * the initial members, with their addresses, on first boot; an empty conf for a server
 * waiting to be added), and the stored entries, which must start at meta->index + 1 and
 * be consecutive. Entry data is copied. Commit is clamped to the last index. Only once,
 * right after raft_create(). Returns 0, RAFT_EINVAL (also for a conf of more than
 * RAFT_MAX_NODES servers or an address without its NUL) or RAFT_ENOMEM. */
int raft_restore(struct raft *r, const struct raft_hard_state *hs,
                 const struct raft_snapshot_meta *meta, const struct raft_entry *entries,
                 uint32_t n);

/* Marks a server that may have lost state it had acknowledged: entries it told a leader
 * it stored (a damaged or deleted log, a log rebuilt from a snapshot alone), the vote it
 * cast in its current term. Counting such a server as the voter it was breaks Raft: it
 * could elect a leader that lacks a committed entry, or vote twice in one term. Until it
 * has caught up with a leader it grants no vote or pre-vote, starts no election and
 * ignores TimeoutNow, and its answers say it is recovering: a leader counts neither
 * its match index toward commitment nor its read acknowledgements toward a quorum (it
 * may have acknowledged entries of a newer term and forgotten the term: its
 * acknowledgements would let a leader that term deposed commit or serve reads). It
 * has caught up when it accepts an AppendEntries whose log matches the leader's up to
 * the leader's commit index, the entry there is of the leader's term, and that commit
 * index lies beyond the one the same leader sent first: the leader then committed an
 * entry of its term with a majority that did not count this server, so it led the
 * newest term at that moment and holds every entry ever committed (§3.6.3). A leader
 * that hears a recovering follower holding its whole log appends a no-op, so that this
 * happens in an idle cluster too. The server then records a vote for that leader in
 * its term (so it cannot vote for another one in a term whose vote it may have
 * forgotten) and is a voter again. Call after raft_restore(). A lone voter never
 * catches up: do not mark a cluster of one. */
void raft_set_recovering(struct raft *r);
/* True while the server is marked as above. */
bool raft_recovering(const struct raft *r);

/* One logical clock tick: drives elections, heartbeats, CheckQuorum, timeouts. */
void raft_tick(struct raft *r);

/* Bytes arrived from peer `from` on its link, short of a whole message (the driver's
 * transport is still receiving one: a large AppendEntries takes a while; or the peer
 * is busy writing its log and says it is alive). Liveness only, never state:
 *  - a follower whose leader in the current term is `from` treats it as hearing from
 *    its leader: its election timer restarts, as a heartbeat would restart it (§3.4:
 *    the timer measures the leader's liveness, and bytes still arriving from it prove
 *    it alive however long the whole message takes);
 *  - a leader counts `from` active for CheckQuorum (§6.2: it is not partitioned from
 *    a peer whose bytes reach it), nothing more (not an answer: a learner's promotion
 *    and the RAFT_EUNSAFE check still need real ones).
 * From anyone else, or in any other role, nothing at all: a message of a new leader or
 * term must arrive whole to count. A follower forgets its leader once a vote or PreVote
 * request of a higher term arrives from it (it stepped down and campaigns): from then
 * on its bytes count for nothing, or they would keep the follower from ever timing
 * out while it ignores the very requests they carry. */
void raft_receiving(struct raft *r, raft_id from);

/* Feeds one message from a peer. The message is borrowed for the call only (entry and
 * chunk data are copied). Returns 0 (including for messages Raft ignores: stale terms,
 * duplicates, responses to a past role), RAFT_EINVAL if m->to is not this server,
 * m->from is 0 or this server, or the type is unknown, or RAFT_EREFUSED if the message
 * breaks an invariant (nothing changed) or jumps terms (our term moved up by
 * RAFT_TERM_JUMP_MAX, nothing else): see MESSAGES FROM THE NETWORK above. Out of memory
 * is handled by dropping the message, which Raft tolerates like a network loss. */
int raft_step(struct raft *r, const struct raft_msg *m);
/* Why the last raft_step() that returned RAFT_EREFUSED refused its message: a static
 * string ("" if none was ever refused). */
const char *raft_refusal(const struct raft *r);
/* Elections this server did not start because its term is at RAFT_TERM_MAX (or above:
 * restored from a store written before the ceiling existed), since creation. */
uint64_t raft_campaigns_refused(const struct raft *r);

/* Appends a RAFT_ENTRY_NORMAL entry (data copied) on the leader; *index (may be NULL)
 * gets its log index; it is committed when it shows up in rd.committed. Proposals made
 * between two raft_ready() calls go out together, batched, at the next raft_ready().
 * RAFT_ENOTLEADER (see raft_leader()), RAFT_EBUSY during a leadership transfer or when
 * max_uncommitted entries already wait for commitment (a leader cut off from its
 * majority must not grow its log without bound), RAFT_ETOOBIG (len > max_entry_bytes),
 * RAFT_ENOMEM. An accepted entry may still be
 * lost if leadership changes before it commits: the driver learns its fate only from
 * rd.committed (the entry at that index, with this term, or another one). */
int raft_propose(struct raft *r, const void *data, uint32_t len, raft_index *index);

/* One piece of an entry proposed in parts. */
struct raft_part {
    const void *data;
    uint32_t len;
};
/* raft_propose() of the concatenation of parts[0..n_parts) (each borrowed for the call
 * only), copied once into the log: a driver framing a large value it already holds
 * need not assemble the entry in a buffer of its own first. Same results; the total
 * length is what max_entry_bytes limits. */
int raft_propose_parts(struct raft *r, const struct raft_part *parts, uint32_t n_parts,
                       raft_index *index);

enum raft_conf_change { RAFT_CC_ADD_LEARNER = 1, RAFT_CC_PROMOTE, RAFT_CC_REMOVE };
/* Proposes one membership change (§4.1) as a RAFT_ENTRY_CONF entry holding the whole new
 * configuration; *index (may be NULL) gets its log index. For RAFT_CC_ADD_LEARNER, addr
 * (borrowed for the call; NULL means "") is copied into the new server's entry; for
 * RAFT_CC_PROMOTE and RAFT_CC_REMOVE it is ignored (a promoted server keeps the address
 * it was added with). RAFT_ENOTLEADER; RAFT_EBUSY if a change is uncommitted or no entry
 * of this term committed yet or a transfer is on; RAFT_EINVAL if the change makes no
 * sense (adding a present id, removing an absent one, promoting a voter, removing the
 * last voter, exceeding RAFT_MAX_NODES) or strlen(addr) >= RAFT_ADDR_MAX; RAFT_EUNSAFE
 * if it would promote a learner that has not caught up (see MEMBERSHIP) or leave the
 * voters without a majority that answered within the last election timeout;
 * RAFT_ENOMEM. */
int raft_propose_conf_change(struct raft *r, enum raft_conf_change type, raft_id id,
                             const char *addr, raft_index *index);

/* Requests a linearizable read (§6.4); ctx is the caller's tag. On success the read
 * comes back later in rd.reads with the same ctx (in lease mode or in a one-voter
 * cluster, in the very next batch). Pending reads are dropped if leadership is lost:
 * the driver sees the role change in the soft state and fails them. RAFT_ENOTLEADER,
 * RAFT_ENOTREADY (no entry of this term committed yet), RAFT_EBUSY (max_pending_reads
 * reads already wait). */
int raft_read_index(struct raft *r, uint64_t ctx);

/* Starts a leadership transfer to `target` (§3.10): the leader stops accepting
 * proposals, brings the target up to date, then sends it TimeoutNow. Gives up after
 * an election timeout. RAFT_ENOTLEADER, RAFT_EINVAL (target not a voter or is us),
 * RAFT_EBUSY (a transfer is already on), RAFT_EUNSAFE (the target's last message
 * said it is recovering: it would not campaign). */
int raft_transfer_leader(struct raft *r, raft_id target);

/* The driver has durably snapshotted its state machine up to `index` (<= applied).
 * The core drops its log up to `index` and fills *meta (term, configuration) for the
 * driver to store with the snapshot. Call outside ready/advance. RAFT_EINVAL if index
 * is above the applied index or not above the current snapshot. */
int raft_snapshot_taken(struct raft *r, raft_index index, struct raft_snapshot_meta *meta);

/* Answers an rd.snap_reqs entry, after raft_advance(): `len` bytes at `offset` of
 * snapshot `index` (data copied); done = these are the last bytes. Returns 0 (also when
 * the transfer moved on and the chunk is dropped, or when the core's snapshot changed
 * and the transfer restarts with a new request), RAFT_EINVAL if len > max_len,
 * RAFT_ENOMEM. */
int raft_snapshot_chunk(struct raft *r, raft_id to, raft_index index, uint64_t offset,
                        const void *data, uint32_t len, bool done);

/* The driver could not produce the requested snapshot data for `to` (e.g. the snapshot
 * was replaced): restart the transfer from the core's current snapshot. No-op if no
 * transfer to `to` is on. (A successful transfer needs no report: the follower's
 * answer ends it.) */
void raft_snapshot_failed(struct raft *r, raft_id to);

/* Lets the core drop from memory its oldest entries that are applied (handed out in
 * rd.committed and acknowledged with raft_advance()) and persisted, until the entries
 * it holds take at most keep_bytes of data (see LOG MEMORY). Stops early, keeping more,
 * at a configuration entry once RAFT_MAX_RELEASED_CONFS (32) are held released, or at
 * a term once 65536 released terms are held. Call outside ready/advance (a call in
 * between does nothing). Returns how many entries it released. */
uint64_t raft_log_release(struct raft *r, uint64_t keep_bytes);

/* Answers an rd.log_reqs entry, after raft_advance(): ents[0..n) are the stored entries
 * prev+1, prev+2, ... (borrowed for the call: data copied), n >= 1, or n == 0 if the
 * driver cannot read them (the follower is tried again at its next answer, from a
 * snapshot if they were compacted meanwhile). Returns 0 (also when the request is no
 * longer current and the entries are dropped), RAFT_EINVAL if called between ready and
 * advance or if the entries are not this log's (an index out of sequence, or a term
 * that differs from the one the core kept: the driver's storage is damaged), or
 * RAFT_ENOMEM. */
int raft_log_entries(struct raft *r, raft_id to, raft_index prev, const struct raft_entry *ents,
                     uint32_t n);

/* The in-memory part of the log: its first index (entries before it are released or
 * compacted), how many entries and how many bytes of data it holds. Any pointer may be
 * NULL. */
void raft_log_mem(const struct raft *r, raft_index *first, uint64_t *entries, uint64_t *bytes);
/* The bytes the in-memory log has allocated: its data blocks (shared by small
 * entries, and those awaiting release at the next advance) and its entry arrays at
 * their capacity. What the process spends on the log, where raft_log_mem's bytes
 * is the data alone. */
uint64_t raft_log_footprint(const struct raft *r);

/* A LOG THAT WENT BACKWARDS. A follower answers a heartbeat whose commit index (the
 * leader's commit, capped at the follower's match index) lies beyond its last index with
 * a rejection carrying that last index: it lost entries it had acknowledged, and it marks
 * itself recovering (raft_recovering() turns true: the driver persists that). The leader
 * then forgets the follower's match index (it is a promise the follower can no longer
 * keep: counting it would commit, or have committed, entries on a majority that does
 * not hold them) and probes again from the follower's last index. A recovering server
 * (raft_set_recovering()) rejects every heartbeat the same way, and the leader answers
 * with an AppendEntries (empty if it has nothing new), which lets it catch up in an
 * idle cluster too. A log can also go sideways: as long as before, it holds other
 * entries at or below the match index (the lost transactions had replaced a deposed
 * leader's entries). The follower then rejects the AppendEntries at its match index, and
 * the leader, which drops a rejection at or below a match index as stale, takes it from a
 * recovering follower (replies arrive in order: such a rejection cannot predate the
 * acknowledgement) and forgets that match index the same way. */

/* The transport could not deliver to `to` (connection lost): a pipelining follower
 * goes back to probing, so lost in-flight AppendEntries are resent from its match. */
void raft_report_unreachable(struct raft *r, raft_id to);

/* True if raft_ready() has anything to hand out. */
bool raft_has_ready(const struct raft *r);
/* Fills *rd with the next batch (see the contract at the top). Always succeeds; the
 * batch may be empty. Everything it points to stays valid until raft_advance(). */
void raft_ready(struct raft *r, struct raft_ready *rd);
/* The batch from the last raft_ready() is persisted, sent and applied (reads may still
 * wait for the applied index). Only now does a leader count its own new entries
 * towards commitment. A call without a preceding raft_ready() does nothing. */
void raft_advance(struct raft *r);
/* The batch from the last raft_ready() is sent and applied, and its rd.entries and
 * rd.hard_state are being written (config.async_persist, no rd.snap_chunk): see
 * ASYNCHRONOUS WRITES above. */
void raft_advance_async(struct raft *r);
/* The driver's writes are durable up to the entry (index, term), the last entry of a
 * completed write. Ignored if that entry was truncated or compacted away since it was
 * handed out, or is already acknowledged. Never between raft_ready() and
 * raft_advance(). */
void raft_persisted(struct raft *r, raft_index index, raft_term term);

/* Introspection, O(1) except raft_progress (O(servers)); valid at any time. */
raft_id raft_id_of(const struct raft *r);
enum raft_role raft_role_of(const struct raft *r);
raft_id raft_leader(const struct raft *r); /* 0 if unknown */
/* Leader only: the target of the leadership transfer under way (proposals
 * are refused meanwhile, RAFT_EBUSY), or 0. */
raft_id raft_transfer_target(const struct raft *r);
raft_term raft_term_of(const struct raft *r);
raft_index raft_commit_index(const struct raft *r);
raft_index raft_applied_index(const struct raft *r); /* handed out for applying */
raft_index raft_last_index(const struct raft *r);
raft_index raft_first_index(const struct raft *r); /* snapshot index + 1 */
/* Term of the entry at index (the snapshot's for its index; released entries' too); 0
 * if not in the log. */
raft_term raft_log_term(const struct raft *r, raft_index index);
/* The entry at index, borrowed until the next call that changes the core; NULL if
 * not in memory (compacted, released or beyond the last). */
const struct raft_entry *raft_log_entry(const struct raft *r, raft_index index);
const struct raft_conf *raft_conf_of(const struct raft *r); /* latest appended */
/* Leader only: replication progress of a peer; RAFT_ENOTLEADER or RAFT_EINVAL. */
int raft_progress(const struct raft *r, raft_id id, raft_index *match);

/* Configuration entry data, little-endian:
 *     u32 n | n x (u64 id | u8 voter | u8 addr_len | addr_len bytes of addr)
 * addr_len < RAFT_ADDR_MAX, no NUL on the wire. raft_conf_encode writes this format and
 * returns the bytes written (<= RAFT_CONF_MAX_BYTES); c must hold at most RAFT_MAX_NODES
 * servers with NUL-terminated addresses (asserted).
 * raft_conf_decode also reads the format of logs written before addresses existed,
 *     u32 n | n x (u64 id | u8 voter)          (exactly 4 + 9n bytes)
 * giving empty addresses. The length alone tells the formats apart, so len must be the
 * exact length written (log entries and messages frame it; a blob cut to 4 + 9n bytes
 * would read as the old format). Returns 0 or RAFT_EMALFORMED (truncated, trailing bytes,
 * n > RAFT_MAX_NODES, an id 0 or repeated, a voter byte > 1, an address too long or
 * holding a NUL). On success every byte of *c past each address's NUL is zero. */
#define RAFT_CONF_MAX_BYTES (4 + RAFT_MAX_NODES * (8 + 1 + 1 + (RAFT_ADDR_MAX - 1)))
uint32_t raft_conf_encode(const struct raft_conf *c, uint8_t *buf);
int raft_conf_decode(const uint8_t *buf, uint32_t len, struct raft_conf *c);
/* Index in c->s of id, or -1. */
int raft_conf_find(const struct raft_conf *c, raft_id id);

/* ---- wire codec (raft/codec.c): pure, versioned, little-endian ----
 * Layout: u8 version (2) | u8 type | fixed header | type-specific body (codec.c).
 * Limits: at most RAFT_MAX_MSG_ENTRIES entries, each <= RAFT_CODEC_MAX_ENTRY bytes, and
 * a whole message <= RAFT_CODEC_MAX_MSG bytes; a SNAPSHOT's configuration is encoded as
 * by raft_conf_encode(), so it holds at most RAFT_CONF_MAX_BYTES.
 * Only servers speaking the same version talk: version 2 added addresses to SNAPSHOT's
 * configuration, and a version 1 server must not join a version 2 cluster anyway, since
 * its raft_conf_decode() cannot read the configuration entries version 2 writes. */
#define RAFT_CODEC_VERSION 2
/* An entry carries one client write, whose value may be as large as the server's
 * proto-max-bulk-len (512 MiB by default, like Redis): 640 MiB leaves room for the
 * command around it. A message holds at least one such entry. */
#define RAFT_CODEC_MAX_ENTRY (640u << 20)
#define RAFT_CODEC_MAX_MSG (1024u << 20)

/* Bytes raft_encode() will write for m. */
size_t raft_encoded_size(const struct raft_msg *m);
/* Encodes m into buf (cap bytes); returns bytes written, or 0 if cap is too small or
 * m breaks a limit. must_persist_first is not encoded. */
size_t raft_encode(const struct raft_msg *m, uint8_t *buf, size_t cap);
/* Decodes buf into *m. Entries go into ents (capacity ents_cap); every data pointer
 * in *m and ents borrows from buf. Returns 0 or RAFT_EMALFORMED for anything truncated,
 * oversize, trailing, of an unknown version/type or with an impossible field; never
 * reads outside buf. */
int raft_decode(const uint8_t *buf, size_t len, struct raft_msg *m, struct raft_entry *ents,
                uint32_t ents_cap);

const char *raft_strerror(int err);

#endif
