/*
 * src/server/persist.h - this node's dump.rdb: SAVE (at once, on the
 * loop), BGSAVE (live, a slice per loop iteration: src/sm/rdbsave.h),
 * BGSAVE SCHEDULE, LASTSAVE and the INFO persistence fields they share
 * with the Raft snapshots.
 *
 * NODE-LOCAL: each node writes its own file, dir/dbfilename, from its own
 * applied keyspace (a follower's lags its leader's by what it has not
 * applied yet); nothing goes through the log. The file holds every
 * database, the keys' TTLs and the function libraries.
 *
 * ONE AT A TIME: a live save and a Raft snapshot share the keyspace's saver
 * slot (src/sm/rdbsave.h). BGSAVE while a Raft snapshot is taken is refused
 * as Redis refuses it during an AOF rewrite, unless SCHEDULE'd: it then
 * starts once the snapshot is done. SAVE needs no slot (the keyspace cannot
 * change while it runs) and is refused only while a BGSAVE runs, as in
 * Redis.
 *
 * "SAVES" in INFO (rdb_saves, rdb_last_save_time, rdb_changes_since_last_save,
 * rdb_bgsave_in_progress, rdb_last_bgsave_status, rdb_last_bgsave_time_sec)
 * and LASTSAVE count both: a dump.rdb written and a Raft snapshot taken
 * (each persists the keyspace).
 */
#ifndef PERSIST_H
#define PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/text.h"

struct kv_dbs;
struct function_registry;
struct rdbsave;
struct node_snapshot_info;

struct persist {
    struct rdbsave *bg;          /* the BGSAVE in progress, or NULL */
    bool scheduled;              /* BGSAVE SCHEDULE waits for the saver slot */
    int64_t bg_start_ms;         /* wall clock: the running BGSAVE's start */
    uint64_t bg_changes;         /* kv_common.changes at its start */
    int64_t last_ms;             /* wall clock: the last dump.rdb written, or 0 */
    uint64_t last_changes;       /* kv_common.changes when it began */
    int64_t last_bg_duration_ms; /* of the last BGSAVE ended */
    bool last_bg_failed;
    int64_t last_bg_end_ms; /* wall clock: the last BGSAVE's end (ok or not), or 0 */
    uint64_t saves;         /* dump.rdb files written since start */
};

/* What the functions below work on: borrowed from the server for the
 * call (server_persist_env, src/server/server.h). */
struct persist_env {
    struct persist *persist;
    struct kv_dbs *dbs;
    const struct function_registry *fns;
    const char *dir, *dbfilename;
};

enum persist_bgsave {
    PERSIST_STARTED,     /* "+Background saving started" */
    PERSIST_SCHEDULED,   /* "+Background saving scheduled" */
    PERSIST_IN_PROGRESS, /* a BGSAVE runs already */
    PERSIST_BUSY,        /* a Raft snapshot runs and SCHEDULE was not given */
    PERSIST_FAILED,      /* the file could not be created (err) */
};

/* SAVE: writes dir/dbfilename now. 0, or -1 with Redis's error text in err. */
int persist_save(const struct persist_env *env, char *err, size_t errlen);
/* BGSAVE [SCHEDULE]: starts one now; or, with schedule, once the saver
 * slot is free (always later with defer: a BGSAVE inside EXEC, as Redis,
 * so that the file never begins amid a transaction). */
enum persist_bgsave persist_bgsave(const struct persist_env *env, bool schedule, bool defer,
                                   char *err, size_t errlen);
/* Each loop iteration: starts a scheduled BGSAVE when it can, walks the
 * running one for a slice and sees it end. Returns whether the walk has
 * work left (the loop then polls without sleeping). */
bool persist_progress(const struct persist_env *env);
/* A whole dump.rdb of the node now into out (a full resync's payload). */
void persist_rdb(const struct persist_env *env, struct text *out, const char *repl_id);
/* The Raft snapshots' INFO fields (node_snapshot_info) with the dump.rdb
 * saves merged in ("SAVES" above). */
void persist_merge_info(const struct persist_env *env, struct node_snapshot_info *si);
/* Drops a running BGSAVE (shutdown). */
void persist_free(const struct persist_env *env);

#endif
