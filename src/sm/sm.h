/*
 * src/sm/sm.h - the state machine: the one path that changes the keyspace.
 *
 * Every change to the keyspace is an *entry*: a self-contained, encoded byte
 * string carrying the proposer's timestamp and one or more commands. Entries
 * are what the Raft log replicates; applying the same entries in the same order
 * on any node yields the same keyspace, because:
 *   - the apply reads no clock: the entry's timestamp (taken once, when the
 *     entry is created) is the "now" of every command in it, both for lazy
 *     expiry and for any relative time left in the arguments;
 *   - relative TTLs are rewritten to absolute ones (PXAT/PEXPIREAT) when the
 *     entry is built (the command row's rewrite hook, src/cmd/cmd.h);
 *   - randomness comes from a PRNG seeded by the entry's index and the
 *     command's position in it (cmd_ctx.rng);
 *   - expired keys are removed by SM_ENTRY_EXPIRE entries built by the active
 *     expiry cycle, which delete a key only if it is still expired at the
 *     entry's timestamp.
 *
 * Entry encoding (version 1, little-endian):
 *   u8 version | u8 type | i64 ts_ms | u32 ncmds |
 *   ncmds x (u32 argc [| u32 db] | argc x (u32 len | bytes))
 * A command runs in database 0 unless its argc word has SM_CMD_HAS_DB set:
 * then the database's number (1 or more) follows it. So an entry of
 * database 0 is the same bytes it always was, and a binary that predates
 * databases stops on an entry that names one (an argc beyond any it
 * accepts) instead of applying it to database 0. A database beyond the
 * node's `databases` stops the node with an error naming the directive.
 * Types: SM_ENTRY_COMMAND (ncmds = 1, reply is the command's reply),
 *        SM_ENTRY_MULTI   (reply is an array of the commands' replies),
 *        SM_ENTRY_EXPIRE  (ncmds = 1, argv = keys; no reply),
 *        SM_ENTRY_NOOP    (ncmds = 0; written by a new Raft leader),
 *        SM_ENTRY_BATCH   (independent commands, each with its own reply,
 *                          possibly for different clients).
 *
 * Batching: the writes clients send during one event-loop iteration are
 * gathered into one SM_ENTRY_BATCH entry (bounded by SM_BATCH_MAX_BYTES),
 * proposed when the loop is about to sleep (by the Raft driver, which
 * takes the batch: src/node/node.h, node_write_flush). One log entry, one SQLite row and one
 * replication slot then carry a whole iteration's writes instead of one each. Each command keeps
 * its own reply, so batching changes no client-visible behaviour: a client's commands stay in order
 * (a MULTI or expiry entry flushes the batch first), and the batch's timestamp is taken when it is
 * proposed, never before any command in it arrived. Decoding validates lengths and rejects a
 * malformed entry with an error (a corrupt log must be reported, not half-applied).
 */
#ifndef SM_H
#define SM_H

#include <stddef.h>
#include <stdint.h>
#include "resp/parser.h"
#include "resp/writer.h"
#include "keyspace/expiring.h"
#include "sm/inflight.h"
#include "sm/snapshot.h"
#include "cmd/cmd.h"

struct server;
struct client;
struct command;
struct monitor;
struct kv_dbs;
struct raft_part;

/* Told about the replies the apply path builds for this node's clients
 * (src/server/tracking.h orders its messages after them): reply_begin(c)
 * before a reply to c is built (c NULL: nobody here waits for it), ran(c,
 * cmd, ctx) after each command run for c (a script it ran), reply_end(c)
 * once the reply is complete (a batch's command's, a transaction's whole
 * array). Any may be NULL. */
struct sm_observer {
    void (*reply_begin)(void *ud, struct client *c);
    void (*ran)(void *ud, struct client *c, const struct command *cmd, const struct cmd_ctx *ctx);
    void (*reply_end)(void *ud, struct client *c);
    void *ud;
};

/* What the state machine works on, given by its owner (src/net/loop.c). */
struct sm_env {
    struct kv_dbs *dbs;          /* the databases entries change */
    struct monitor *monitor;     /* per-command counters (src/cmd/monitor.h) */
    struct server *srv;          /* handed to commands (cmd_ctx.srv), opaque here */
    const struct notify *notify; /* keyspace notifications the commands fire (cmd_ctx);
                                  * NULL: none */
    /* The replicated state besides the keyspace (the script cache, function
     * libraries): saved in snapshots with the keys and restored with them;
     * reset() empties it before a snapshot is loaded. */
    struct snapshot_extra extra;
    void (*extra_reset)(void *ud);
    struct sm_observer observer;
};

enum sm_entry_type {
    SM_ENTRY_NOOP = 0,
    SM_ENTRY_COMMAND = 1,
    SM_ENTRY_MULTI = 2,
    SM_ENTRY_EXPIRE = 3,
    SM_ENTRY_BATCH = 4,
};

/* A batch is proposed as soon as it holds this many bytes (a single larger
 * command goes alone, up to the log's entry limit). An encoding buffer grown
 * past twice this by one large entry is freed once the entry is proposed. */
#define SM_BATCH_MAX_BYTES (1024 * 1024)

#define SM_ENTRY_VERSION 1
#define SM_ENTRY_HEADER_LEN 14
#define SM_CMD_HAS_DB (1u << 31) /* in a command's argc word: a u32 database follows */

/* A growable byte buffer an entry is encoded into. */
struct sm_buf {
    char *data;
    size_t len, cap;
};

/* A piece of an entry built in scratch: scratch bytes [off, off + len) when
 * ptr is NULL, else len bytes at ptr (a large argument, not copied). */
struct sm_part {
    const char *ptr;
    size_t off, len;
};

/* What one command of a batch will look up when applied: its key
 * (argv[1]), and the member of the key's value the command table names
 * (CMD_MEMBER_ARG, CMD_MEMBER_LAST); ptr NULL when none. And the command,
 * looked up once (NULL: unknown, cmd_resolve() says so when applied). */
struct sm_hint {
    struct resp_arg key, member;
    const struct command *cmd;
    int db; /* the database it runs in */
};

struct sm {
    struct sm_env env;
    uint64_t applied;                    /* the log's index applied last (src/node/node.c says) */
    uint64_t commands_run;               /* commands applied (INFO total_commands_processed) */
    struct sm_buf scratch;               /* reused entry encoding buffer */
    struct sm_part *parts;               /* the entry in scratch, as pieces */
    size_t n_parts, parts_cap, part_seg; /* part_seg: scratch bytes not in a part yet */
    struct sm_buf batch;                 /* the open SM_ENTRY_BATCH, empty if batch_n == 0 */
    uint32_t batch_n;                    /* commands in it */
    int batch_held;                      /* it deletes keys held in `expiring` (eviction) */
    int scratch_holds;                   /* so does the entry in scratch (expiry, eviction) */
    int64_t batch_ts_ms;                 /* its timestamp (the apply clock) */
    struct resp_out sink;                /* replies nobody waits for */
    struct resp_arg *argv;               /* decode scratch: a command's arguments */
    size_t argv_cap;
    int argv_db;           /* and its database */
    struct sm_hint *hints; /* a batch's commands' likely lookups, for prefetching */
    size_t hints_cap;
    uint64_t applied_entries;
    struct inflight inflight; /* keys of the writes staged or in the log, unapplied */
    struct expiring expiring; /* keys proposed for expiry, unapplied (leader only) */
};

/* Keys held in sm.expiring at most: a bound on what one node proposes for
 * expiry ahead of the applied keyspace. */
#define SM_EXPIRING_MAX 16384

void sm_init(struct sm *sm, const struct sm_env *env, uint64_t seed);
void sm_free(struct sm *sm);

/* Entry building: begin, add commands, then take e->data/e->len. */
void sm_entry_begin(struct sm_buf *b, enum sm_entry_type type, int64_t ts_ms);
/* The command argv[0..argc) run in database db (0 <= db < KV_DBS_MAX). */
void sm_entry_add(struct sm_buf *b, int db, int argc, const struct resp_arg *argv);

/* The timestamp of an encoded entry (its ts_ms, the "now" of its
 * commands), read from its header alone: 0, or -1 if the header is
 * malformed (sm_apply would refuse the entry). */
int sm_entry_ts(const char *data, size_t len, int64_t *ts_ms);

/*
 * Applies one encoded (committed) entry, the log's entry `index`, to srv's
 * keyspace; the index seeds each command's PRNG (cmd_ctx.rng), so a write
 * that draws random numbers (SPOP) draws the same ones on every replica.
 * clients[i] is the
 * local client waiting for the entry's i-th reply (a batch has one reply per
 * command, the other types at most one), or NULL; i >= nclients means nobody
 * waits; tags[i] (tags NULL: none) is that reply's tag (src/cmd/client.h):
 * REPLY_TAG_MUTED drops it (CLIENT REPLY: the client still waits, and runs
 * what it held back, but hears nothing), REPLY_TAG_AS counts the call as
 * the command the client sent. Replies go to each client's output; unwanted ones are discarded.
 * Returns 0, or -1 if the entry is malformed (nothing applied; err filled).
 */
int sm_apply(struct sm *sm, uint64_t index, struct client *const *clients, const uint32_t *tags,
             size_t nclients, const char *data, size_t len, char *err, size_t errlen);

/*
 * The write path. The state machine builds entries and never proposes: the
 * Raft driver (src/node/node.h, node_write*) drives each write through
 * these steps, stages its client, and proposes what was built, then tells
 * the state machine the entry's index (0: the log refused it), which the
 * keys staged for it (src/sm/inflight.h) and the keys held for expiry or
 * eviction (sm.expiring) are given.
 *
 * A write of a client: prepared (its arguments in their deterministic form:
 * relative TTLs made absolute at the open batch's clock), the open batch
 * proposed first when it has no room for it (flush_first), then added: to
 * the open batch, or built alone in scratch when too large to share one
 * (sm_write_add() returns 1: the driver proposes it at once). A full batch
 * is proposed at once too (sm_batch_full).
 */
struct sm_write {
    int db; /* the database it runs in: the client's (SELECT) */
    const struct command *cmd;
    int argc;
    const struct resp_arg *argv; /* as sent */
    int eargc;
    const struct resp_arg *eargv; /* as logged: argv, or abs */
    struct resp_arg abs[CMD_REWRITE_ARGC_MAX + CMD_REWRITE_EXTRA];
    char scratch[64];
    int64_t now;
    size_t bytes;    /* its size in a batch */
    uint32_t tag_as; /* REPLY_TAG_AS(the command sent) when logged in another form, else 0 */
    int flush_first; /* the open batch must be proposed before it joins */
};
void sm_write_prepare(struct sm *sm, int db, const struct command *cmd, int argc,
                      const struct resp_arg *argv, struct sm_write *w);
int sm_write_add(struct sm *sm, const struct sm_write *w);
/* 1 if the open batch is full: propose it now. */
int sm_batch_full(const struct sm *sm);
/* The open batch as one part, its clock set to now: 1, or 0 when there is
 * none. The part stays valid until sm_batch_proposed(). */
int sm_batch_take(struct sm *sm, struct raft_part *whole);
void sm_batch_proposed(struct sm *sm, uint64_t index);
/* The entry built in scratch, as parts (large arguments are not copied: they
 * point where the caller's arguments are, so it is proposed before the
 * caller returns); *parts is freed by sm_scratch_proposed(). */
uint32_t sm_scratch_take(struct sm *sm, struct raft_part **parts);
void sm_scratch_proposed(struct sm *sm, struct raft_part *parts, uint64_t index);
/* EXEC of a transaction that contains writes, built in scratch as one
 * entry (the open batch proposed first): fills tags[] (room for
 * max(1, c->mstate.count)) with the tag of each waiter the entry has -- the
 * client for the first command, a stand-in for each other one, so that each
 * command counts as c sent it -- and returns their count. */
uint32_t sm_build_multi(struct sm *sm, const struct client *c, uint32_t *tags);
/* Active expiry (leader only), built in scratch (the open batch proposed
 * first): the deletion of keys of database db found expired. The caller has added each key
 * to sm.expiring (keys may point at its copies); they stay held there until
 * the entry is applied, or are released at once if the log refuses it.
 * Nobody waits for it. */
void sm_build_expire(struct sm *sm, int db, int nkeys, const struct resp_arg *keys);
/* A write of the leader's own, with no client (eviction's RAFTCACHE.EVICT,
 * src/sm/evict.h): called before it is prepared, so that the keys the caller
 * added to sm.expiring since the last entry was proposed stay held until the
 * batch that takes them is applied (released at once if the log refuses
 * it; a batch too full for the write, proposed first, takes them: released
 * a little early, at worst a key is proposed twice, and deleting a key that
 * is gone does nothing). */
void sm_hold_keys(struct sm *sm);
/* 1 if a write to key (or to a key of its bucket, src/sm/inflight.h) is staged
 * or in the log and not applied yet: an EXEC watching key must fail. */
int sm_write_in_flight(const struct sm *sm, const char *key, size_t len);
/* This node just became leader: the entries up to last_index, inherited
 * from earlier terms, may write any key until applied; no key is held as
 * proposed for expiry (an earlier term's proposal may have been lost). */
void sm_leader_started(struct sm *sm, uint64_t last_index);

/* The driver applied (or skipped, as part of a snapshot) the log up to index. */
void sm_set_applied(struct sm *sm, uint64_t index);

/*
 * Snapshots of the keyspace (format in src/sm/snapshot.h). The driver decides
 * when, writes and moves the files; the state machine owns what is in them.
 */
/* Begins a live snapshot of the keyspace as of the log's index/term into
 * path (src/sm/snaplive.h: the caller steps, polls and frees it). NULL with
 * err filled if it cannot start. */
struct snaplive;
struct snaplive *sm_snapshot_start(struct sm *sm, const char *path, uint64_t index, uint64_t term,
                                   char *err, size_t errlen);
/* Checks the file at path whole (checksums, every value decodable); fills
 * *h. 0, or -1 with err filled. */
int sm_snapshot_verify(const struct sm *sm, const char *path, struct snapshot_header *h, char *err,
                       size_t errlen);
/* Replaces the keyspace with the snapshot at path and sets applied to its
 * index; fills *h. 0, or snapshot_load()'s error (SNAPSHOT_ENOENT: no
 * file) with err filled; the keyspace is then empty. */
int sm_snapshot_load(struct sm *sm, const char *path, struct snapshot_header *h, char *err,
                     size_t errlen);
/* Keys in the keyspace. */
uint64_t sm_keys(const struct sm *sm);

#endif
