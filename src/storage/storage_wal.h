/*
 * src/storage/storage_wal.h - an independent look at dir/raftcache.db-wal before
 * SQLite opens the database.
 *
 * WHY. SQLite replays its write-ahead log up to the first frame whose salts or
 * checksum do not match and treats that frame as the end of the log: a frame
 * damaged on disk (one flipped byte) silently drops every transaction written
 * after it, including acknowledged ones. SQLite then resets the WAL, so the
 * evidence is gone once the database is open. This module reads the WAL file
 * itself, following SQLite's documented WAL format (a 32-byte header: magic,
 * version, page size, checkpoint sequence, two salts, a checksum; then frames
 * of a 24-byte header - page number, database size after commit (0 if not a
 * commit frame), the salts, a cumulative checksum - and one page), and reports
 * what SQLite will keep and what it will discard.
 *
 * WHAT IT CAN TELL. A frame that fails its checksum or salts and is followed by
 * frames that carry the current salts means transactions of this WAL
 * generation that SQLite will discard: damage (a torn write at power loss can
 * look the same, for a transaction that was never acknowledged). A damaged
 * last frame, or damage inside the main database file, is not distinguishable
 * from a crash in the middle of a write by this check (see
 * docs/storage-safety.md).
 *
 * No SQLite here: the file format only. Pure file reading, bounded memory (one
 * page). Single-threaded.
 */
#ifndef STORAGE_WAL_H
#define STORAGE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct storage_wal_report {
    bool present;          /* the WAL file exists and holds at least a header */
    bool header_bad;       /* its header fails the magic, page size or checksum:
                              SQLite ignores every frame */
    uint64_t frames;       /* whole frames in the file */
    uint64_t kept;         /* frames SQLite replays (up to the last valid commit) */
    uint64_t first_bad;    /* 1-based number of the first frame that fails, 0 = none */
    bool torn;             /* that frame carries the current salts (not a leftover of an
                              earlier generation): written by this one, then cut or damaged */
    uint64_t lost;         /* frames after it carrying the current salts */
    uint64_t lost_commits; /* commit frames among them: transactions SQLite drops */
};

/* True when the report shows transactions that SQLite will discard. */
bool storage_wal_damaged(const struct storage_wal_report *r);

/* Reads db_path + "-wal" into *r. A missing file is a report with present
 * false. Returns 0, or -1 (the file exists but cannot be read) with err
 * filled. */
int storage_wal_check(const char *db_path, struct storage_wal_report *r, char *err, size_t errlen);

/* Copies db_path + "-wal" to db_path + "-wal.damaged" (replacing it), for a
 * post-mortem. Returns 0 or -1 with err filled. */
int storage_wal_keep_copy(const char *db_path, char *err, size_t errlen);

#endif
