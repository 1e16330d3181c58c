/*
 * src/server/import.h - RAFT.IMPORT: a dump.rdb written by redis-server
 * 7.0 (RDB 10) or 6.x (RDB 9) loaded into the running cluster through the
 * log, on the leader, in the background (docs/operations.md, "Importing
 * a dump.rdb").
 *
 * TWO PASSES over the file, which the leader opens once (a file renamed
 * or replaced meanwhile is not seen; its size must not change):
 *   1. VALIDATING: the whole file is read (src/rdb/rdb_reader.h: the magic,
 *      the version, every opcode, the CRC-64) and every key's value
 *      decoded under this node's limits (src/rdb/rdb_load.h), its database
 *      checked against `databases`, and without REPLACE its absence from
 *      the keyspace. Any refusal ends the import with nothing applied.
 *   2. LOADING: the file is read again and its keys proposed in chunks
 *      (IMPORT_CHUNK_BYTES or IMPORT_CHUNK_KEYS, one database each) as
 *      RAFTCACHE.IMPORT entries (src/rdb/cmd_dump.h), which every node
 *      applies as RESTORE ... ABSTTL [REPLACE]; a function library as
 *      FUNCTION LOAD [REPLACE] (before the keys, where Redis writes them).
 *      At most IMPORT_INFLIGHT_MAX chunks are proposed and not yet applied
 *      here: the import goes at the pace of the log, and clients' writes
 *      and reads are served between its entries.
 * Each loop iteration does one step, bounded by IMPORT_STEP_BYTES of the
 * file, so the event loop never stops for the whole file; a record is
 * bounded by proto-max-bulk-len (one entry argument, as a RESTORE payload).
 *
 * RAFT.IMPORT replies at once (+OK: started) or with an error (not the
 * leader: -MOVED; an import running; the file cannot be opened). The rest
 * is polled in INFO persistence's import_* fields (import_info()) and
 * told in the log: a progress line every IMPORT_LOG_MS, the outcome.
 * So a client's timeout never matters, and the import does not depend on
 * its connection.
 *
 * A LEADERSHIP CHANGE (this node stops leading, or leads in another term)
 * ends the import as failed: the entries already proposed may still be
 * applied, and what was applied stays. Running it again with REPLACE on
 * the new leader finishes it (the keys are rewritten with the file's
 * values). Resuming where it stopped is not offered.
 *
 * Without REPLACE a key that a client writes during the import keeps the
 * client's value (the entry skips it); with REPLACE the file's value wins
 * if its entry comes later. Keys whose expiry has passed are not created.
 * Idle time and frequency (IDLE, FREQ) and AUX fields are read and not
 * used; module data is refused (src/rdb/rdb_reader.h).
 */
#ifndef IMPORT_H
#define IMPORT_H

#include <stdbool.h>
#include <stddef.h>

struct server;
struct info_text;

#define IMPORT_CHUNK_BYTES (512u << 10)
#define IMPORT_CHUNK_KEYS 4096
#define IMPORT_INFLIGHT_MAX 4
#define IMPORT_STEP_BYTES (4u << 20)
#define IMPORT_WINDOW_BYTES (1u << 20) /* the file's window, grown for a larger record */
#define IMPORT_LOG_MS 5000
#define IMPORT_PATH_MAX 1024

/* Starts importing the file at path (read on this node) on the leader:
 * 0, or -1 with err filled (an import runs, the file cannot be opened or
 * its size read). The caller checked that this node leads. */
int import_start(struct server *srv, const char *path, bool replace, char *err, size_t errlen);
/* The same for REPLICAOF's full sync (src/server/replof.h), with REPLACE:
 * hooks->loading(srv, ud) runs once the file validated, before the first
 * key is proposed (what it proposes goes first); hooks->ended(srv, ud,
 * done, why) once the import ended, done true when every key is applied
 * here, else why says what stopped it. Neither runs for an import
 * import_cancel() ends. */
struct import_hooks {
    void (*loading)(struct server *srv, void *ud);
    void (*ended)(struct server *srv, void *ud, bool done, const char *why);
    void *ud;
};
int import_start_hooked(struct server *srv, const char *path, const struct import_hooks *hooks,
                        char *err, size_t errlen);
/* Ends the import under way, if any, as failed with why (the entries
 * already proposed may still be applied). */
void import_cancel(struct server *srv, const char *why);
/* One step of the import under way, if any (the loop calls it once per
 * iteration): true if it did work and wants the loop to come back at
 * once, false if it waits (for the log) or there is none. */
bool import_step(struct server *srv);
/* INFO persistence's import_* fields. */
void import_info(const struct server *srv, struct info_text *t);
void import_free(struct server *srv);

#endif
