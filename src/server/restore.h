/*
 * src/server/restore.h - point-in-time restore, offline: the keyspace of a
 * raftcache node as it was at a past moment, written as a Redis 7.0
 * dump.rdb (docs/operations.md, "Point-in-time restore").
 *
 *   raftcache [raftcache.conf] --restore-rdb DIR (--until MS | --until-index N)
 *             [--out FILE] [--uncommitted] [--directive value ...]
 *
 * DIR is a node's data dir, of a stopped node or a copy of one. It is only
 * read: the Raft log through storage_open_readonly() (src/storage/storage.h:
 * nothing in DIR is created, written or locked; a log whose WAL holds frames
 * is read from a private copy under TMPDIR), the snapshot with
 * sm_snapshot_load(). A dir a running process holds is refused, and FILE may
 * not be in DIR.
 *
 * WHAT IS APPLIED. The keyspace of the snapshot (snapshot.rcs, as of its
 * index), then the log's entries after it, in order, through sm_apply() as
 * the node applies them (an entry's timestamp is the "now" of its
 * commands), stopping before the first state-machine entry whose ts_ms
 * (src/sm/sm.h, "Entry encoding") is later than MS, or before the first
 * entry above index N. Configuration entries and Raft no-ops are skipped.
 * Only committed entries count: those up to the stored commit index or
 * the snapshot's, whichever is higher; every stored entry when the node is
 * the only voter of its latest configuration (its own log decides what is
 * committed). The stored commit index lags the node's by up to
 * STORAGE_COMMIT_STEP entries (src/storage/storage.h, DURABILITY): in a
 * cluster, --uncommitted applies the rest of the log too, which may hold
 * entries no client was ever acknowledged.
 *
 * THE WINDOW. A target before the snapshot's index (for --until: before
 * the earliest moment the dir can show, the first retained entry's time or
 * the snapshot file's mtime, whichever is earlier) is an error naming that
 * earliest point; raft-snapshot-threshold (conf/raftcache.conf) decides how
 * much log a node keeps. A target past the last committed entry restores
 * up to it, not an error: the summary says so.
 *
 * THE CONFIGURATION. The directives that change what an entry does are
 * the node's: give its raftcache.conf (databases, lua-replicated-budget,
 * proto-max-bulk-len, aclfile and the renamed commands). Everything about
 * sockets, the log and the cluster is ignored.
 *
 * OUTPUT. FILE (default ./dump.rdb) written as SAVE writes it
 * (src/sm/rdbsave.h: every database, TTLs, function libraries; a temporary
 * file renamed over FILE), and one summary line on stdout: the snapshot
 * index started from, the last index applied and its timestamp, the keys
 * written, FILE. Exit status 0; 1 with the reason on stderr.
 */
#ifndef RESTORE_H
#define RESTORE_H

#include <stdbool.h>

/* Whether the command line asks for a restore (names --restore-rdb). */
bool restore_requested(int argc, char **argv);

/* The whole tool, from main() once the command table is built
 * (cmdtable_init): returns the process's exit status. */
int restore_main(int argc, char **argv);

#endif
