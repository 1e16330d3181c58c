/*
 * src/server/replof.h - REPLICAOF: the cluster as a replica of a running
 * Redis master, for a migration without a write pause (docs/migration.md).
 *
 * REPLICATED STATE (struct replof_state, on every node, in snapshots): the
 * master's address (port 0: not a replica), the replication id and the
 * offset of the master's stream applied last, the database the stream
 * selected, whether a full sync is loading, and an epoch that every
 * REPLICAOF changes. It changes only through the log:
 *   REPLICAOF host port | NO ONE    (a client's write, applied on every node)
 *   RAFTCACHE.REPLSYNC <epoch> BEGIN | DONE <replid> <offset>
 *   RAFTCACHE.REPLAPPLY <epoch> <start> <end> (<argc> <arg>...)...
 * BEGIN empties every database and the function libraries and marks the
 * state loading; the RDB's keys follow as RAFT.IMPORT's entries
 * (src/server/import.h); DONE records the master's id and offset. A
 * REPLAPPLY entry carries the master's commands between two offsets of its
 * stream and is applied only when its epoch is the state's, nothing is
 * loading, and <start> is the state's offset: so an entry proposed twice
 * (by a leader that lost its leadership and the next one) or late (after
 * another REPLICAOF) changes nothing, and the offset moves with the keys
 * in one step. A transaction (MULTI ... EXEC, which is also how Redis
 * propagates a script's effects) is never split between entries.
 *
 * While the state names a master, every node answers a client's write
 * with Redis's -READONLY error (replicas are read-only), a read during a
 * full sync's load with -LOADING, and neither expires keys actively nor
 * evicts (the master's DELs do; reads still hide expired keys, as a Redis
 * replica's do). The master's commands run with the apply's clock, so the
 * TTLs they set are the master's (a Redis 7.0 master sends absolute ones).
 *
 * THE LINK (the leader only: replof_step(), once per loop iteration). Once
 * this node leads and its term's first entry is applied (the state is then
 * final) and none of its REPLAPPLY entries is in flight, it connects to
 * the master (plain TCP; masteruser/masterauth) and sends REPLCONF
 * listening-port, REPLCONF capa eof capa psync2, then PSYNC <replid>
 * <offset + 1> (PSYNC ? -1 before the first full sync):
 *   +CONTINUE: the stream goes on from the state's offset.
 *   +FULLRESYNC <replid> <offset>: the RDB that follows ($<len> or the
 *     diskless $EOF:<mark> form) is written to REPLOF_TEMP_FILE in dir,
 *     reading stops, the file is validated and loaded as above (BEGIN only
 *     once it validated), then reading goes on with the stream.
 * The stream's commands are cut into REPLAPPLY entries of at most
 * REPLOF_ENTRY_BYTES (a transaction may make one larger) as they arrive;
 * at most REPLOF_INFLIGHT_MAX are proposed and not applied, and beyond
 * that reading stops (the master buffers, as for a slow replica).
 * REPLCONF GETACK is answered, and REPLCONF ACK <offset> sent every second
 * and whenever the applied offset moves: an acknowledged offset is on a
 * majority's disks, so the master's WAIT counts the cluster as one replica
 * that has the write durably. A link silent for repl-timeout seconds, a
 * refused handshake or a failed load closes it; it opens again a second
 * later (the log says why, once per reason). A leadership change closes
 * it; the next leader opens its own from the replicated state.
 *
 * REPLICAOF NO ONE ends it: the data stays, writes are accepted again.
 * Not offered: TLS to the master (tls-replication), replica-serve-stale-data
 * no, replica-read-only no, and a raftcache as the master (its SYNC refuses).
 */
#ifndef REPLOF_H
#define REPLOF_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct server;
struct info_text;
struct resp_out;

#define REPLOF_ID_LEN 40
#define REPLOF_ENTRY_BYTES (1u << 20)
#define REPLOF_ENTRY_CMDS 65536
#define REPLOF_INFLIGHT_MAX 8
#define REPLOF_RETRY_MS 1000
#define REPLOF_ACK_MS 1000
#define REPLOF_LINE_MAX 1024 /* a handshake reply's line at most */
#define REPLOF_TEMP_FILE "temp-replicaof.rdb"

struct replof_state {
    char host[CONFIG_HOST_MAX];
    int port;                       /* 0: not a replica */
    char replid[REPLOF_ID_LEN + 1]; /* "" until a full sync is done */
    long long offset;               /* the master's offset applied last */
    int db;                         /* the stream's selected database */
    int loading;                    /* BEGIN applied, DONE not yet */
    uint64_t epoch;                 /* changes with every REPLICAOF */
};

struct replof_link;
struct replof {
    struct replof_state state;
    struct replof_link *link; /* the leader's link to the master; NULL: none yet */
};

/* srv->replof, empty (src/server/replica.c), and its end: the link
 * closed, the state freed. */
void replof_init(struct server *srv);
void replof_free(struct server *srv);

/* The state names a master: clients' writes get -READONLY. */
bool replof_active(const struct server *srv);
/* A full sync is loading: clients' reads get -LOADING. */
bool replof_loading(const struct server *srv);

/* The apply side of the log's commands (src/servercmd/cmd_replof.c). */
void replof_apply_replicaof(struct server *srv, const char *host, int port);
void replof_apply_none(struct server *srv);
/* BEGIN: 1 if it applies (epoch current), the databases flushed by the caller. */
int replof_apply_begin(struct server *srv, uint64_t epoch);
void replof_apply_done(struct server *srv, uint64_t epoch, const char *replid, long long offset);
/* 1 if a REPLAPPLY entry with these applies now. */
int replof_apply_gate(const struct server *srv, uint64_t epoch, long long start);
void replof_apply_advanced(struct server *srv, long long end, int db);
const struct replof_state *replof_state(const struct server *srv);

/* Snapshot extra (src/server/replica.c): the state as text, and back. */
char *replof_state_text(const struct server *srv, size_t *len);
int replof_state_load(struct server *srv, const char *p, size_t len, char *err, size_t errlen);
void replof_state_reset(struct server *srv);

/* The leader's link, one step: true if it wants the loop back at once. */
bool replof_step(struct server *srv);
/* INFO replication's fields of a replica of the master (role:slave...). */
void replof_info(const struct server *srv, struct info_text *t);
/* ROLE's reply of a replica: ["slave", host, port, state, offset]. */
void replof_role(const struct server *srv, struct resp_out *out);
/* The link's end (replof_free()). */
void replof_link_free(struct server *srv);

#endif
