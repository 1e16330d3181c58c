/*
 * src/sm.h - the state machine: the one path that changes the keyspace.
 *
 * Every change to the keyspace is an *entry*: a self-contained, encoded byte
 * string carrying the proposer's timestamp and one or more commands. Entries
 * are what the Raft log replicates; applying the same entries in the same order
 * on any node yields the same keyspace, because:
 *   - the apply reads no clock: the entry's timestamp (taken once, when the
 *     entry is created) is the "now" of every command in it, both for lazy
 *     expiry and for any relative time left in the arguments;
 *   - relative TTLs are rewritten to absolute ones (PXAT/PEXPIREAT) when the
 *     entry is built (cmd_ttl_absolute in kv.h);
 *   - expired keys are removed by SM_ENTRY_EXPIRE entries built by the active
 *     expiry cycle, which delete a key only if it is still expired at the
 *     entry's timestamp.
 *
 * Entry encoding (version 1, little-endian):
 *   u8 version | u8 type | i64 ts_ms | u32 ncmds | ncmds x (u32 argc | argc x (u32 len | bytes))
 * Types: SM_ENTRY_COMMAND (ncmds = 1, reply is the command's reply),
 *        SM_ENTRY_MULTI   (reply is an array of the commands' replies),
 *        SM_ENTRY_EXPIRE  (ncmds = 1, argv = keys; no reply),
 *        SM_ENTRY_NOOP    (ncmds = 0; written by a new Raft leader).
 * Decoding validates lengths and rejects a malformed entry with an error
 * (a corrupt log must be reported, not half-applied).
 */
#ifndef SM_H
#define SM_H

#include <stddef.h>
#include <stdint.h>
#include "../resp/parser.h"
#include "../resp/writer.h"

struct server;
struct client;
struct command;

enum sm_entry_type {
    SM_ENTRY_NOOP = 0,
    SM_ENTRY_COMMAND = 1,
    SM_ENTRY_MULTI = 2,
    SM_ENTRY_EXPIRE = 3,
};

#define SM_ENTRY_VERSION 1
#define SM_ENTRY_HEADER_LEN 14

/* A growable byte buffer an entry is encoded into. */
struct sm_buf {
    char *data;
    size_t len, cap;
};

struct sm {
    struct sm_buf scratch;   /* reused entry encoding buffer */
    struct resp_out sink;    /* replies nobody waits for */
    struct resp_arg *argv;   /* decode scratch */
    size_t argv_cap;
    uint64_t applied_entries;
};

void sm_init(struct sm *sm);
void sm_free(struct sm *sm);

/* Entry building: begin, add commands, then take e->data/e->len. */
void sm_entry_begin(struct sm_buf *b, enum sm_entry_type type, int64_t ts_ms);
void sm_entry_add(struct sm_buf *b, int argc, const struct resp_arg *argv);

/*
 * Applies one encoded (committed) entry to srv's keyspace. c is the local
 * client waiting for it, or NULL. The reply (if the entry type has one) is
 * written to out, or discarded when out is NULL. Returns 0, or -1 if the
 * entry is malformed (nothing applied; err filled).
 */
int sm_apply_for(struct server *srv, struct client *c, const char *data, size_t len,
                 struct resp_out *out, char *err, size_t errlen);

/*
 * The write path of a client command: builds the entry for argv (TTLs made
 * absolute) and proposes it to the log (src/node.h); the reply reaches c->out
 * when the entry is applied.
 */
void sm_submit_command(struct server *srv, struct client *c, const struct command *cmd,
                       int argc, const struct resp_arg *argv);
/* EXEC of a transaction that contains writes: one entry, atomic. */
void sm_submit_multi(struct server *srv, struct client *c);
/* Active expiry (leader only): proposes deletion of keys found expired. */
void sm_submit_expire(struct server *srv, int nkeys, const struct resp_arg *keys);

#endif
