/*
 * src/sm/snapshot.h - the state machine's snapshot file: the whole keyspace as
 * of one applied Raft index, in dir/snapshot.rcs.
 *
 * This module owns the file format and every byte of file I/O on snapshots
 * (write, verify, load, read a chunk for a peer, write a peer's chunk,
 * publish by rename). It uses libc only: no SQLite, no libev. When and where
 * a snapshot is taken, sent or installed is the driver's business
 * (src/node/node_snap.c).
 *
 * FORMAT (version 6, little-endian):
 *   header  "RCSNAP\r\n" | u32 version | u32 flags (0) | u64 index | u64 term
 *           | u64 key_count (of every database)                        40 bytes
 *   records key_count x (u8 type [| u32 db] | u32 key_len | u64 value_len
 *           | i64 expire_ms | key | value), in any order of databases
 *           type is the value's enum kv_type (src/keyspace/kv.h), with
 *           SNAPSHOT_TYPE_HAS_DB set when the key is not database 0's: its
 *           database's number (1 or more) follows; value is a string's
 *           bytes, or another type's payload as its module's save() wrote it
 *           (src/keyspace/types.h), rebuilt by its load(); expire_ms is the absolute
 *           Unix ms of the key's expiry, or -1
 *   extras  (version 4) the replicated state besides the keyspace (the
 *           script cache, function libraries): records (u8 kind | u64 len |
 *           bytes), kind 1..SNAPSHOT_EXTRA_KIND_MAX, ended by a kind 0
 *           record of length 0; what a kind means is the state machine's
 *           (struct snapshot_extra)
 *   trailer "RCSNEND\n" | u64 checksum of every byte before the trailer
 *           (src/base/checksum.h)
 * Version 5 is version 6 without databases (every key is database 0's).
 * Version 4 is version 5 with a list's payload as its elements one by one
 * (src/types/t_list.c, l_load_v4) instead of its nodes' listpacks. Version 3 is
 * version 4 without extras. Version 2 holds strings only, with records (u32 key_len |
 * u32 value_len | i64 expire_ms | key | value); version 1 is version 2 with FNV-1a 64 byte by byte
 * as its checksum. All are still read (verify, load, install), so files written by older builds
 * keep loading. Version 6 is written when a database besides 0 holds keys, else version 5
 * (the same bytes, so a cluster that uses database 0 only can still send its snapshots to a
 * node of an older build): an older build refuses this build's other snapshots with a
 * clear error (upgrade the cluster's nodes before any of them sends a snapshot to an old one). A
 * record of a type this build does not know, or a payload its module's
 * load() refuses, makes the whole file corrupt; a record of a database
 * beyond the reader's `databases` is refused with an error naming it.
 * A file is accepted only whole: magic, version, every length inside the file,
 * exactly key_count records, the trailer magic at the right place and the
 * checksum must all hold. A torn write (crash), a truncated copy or a flipped
 * byte is refused with a message naming the file and what is wrong, never
 * half-loaded into a running keyspace unnoticed.
 *
 * Keys logically expired are written and loaded too: a snapshot is the exact
 * keyspace of the replicas at its index, and expired keys leave it only
 * through replicated expire entries (src/sm/sm.h), so replicas stay identical.
 *
 * TAKING ONE WITHOUT STALLING THE LOOP: a live snapshot (src/sm/snaplive.h).
 * The event loop encodes the keyspace a slice at a time, and first any key
 * about to change (src/keyspace/kv.h, struct kv_saver), so the file holds the
 * keyspace exactly as it was at the applied index it names; a thread writes
 * it. This replaced fork(), Redis's BGSAVE way, which this machine kind made
 * expensive: the child's CPU (350-380 ms for a 206 MB list, against 116 ms
 * in-process) and, in the parent, one copy-on-write fault per page written
 * after the fork, even once the child had exited (LPOP after a snapshot:
 * 52k faults, a quarter more CPU).
 *
 * ATOMIC REPLACE: a snapshot is written under a temporary name, fsynced,
 * renamed to snapshot.rcs and the directory fsynced (snapshot_publish). So
 * snapshot.rcs is always a whole, durable snapshot (or absent), never a mix.
 * Temporary names (snapshot.tmp: local, snapshot.incoming: from the leader)
 * are deleted at start (snapshot_remove_temps).
 *
 * CRASH POINTS (the driver keeps this order; each point is safe because):
 *   local snapshot (storage = the SQLite log of src/storage/storage.h):
 *   1. crash while snapshot.tmp is being written: the temp file is deleted at
 *      start; snapshot.rcs and storage are the previous, consistent pair.
 *   2. crash after rename, before storage_compact: snapshot.rcs holds index
 *      N > storage's snapshot index S. The log still holds every entry
 *      S+1..last (nothing was deleted), and N was applied, so committed.
 *      Start loads the file (the only one left), sets applied = N and skips
 *      committed entries <= N when the core hands them out again: committed
 *      entries are the same on every server (Log Matching), so the skipped
 *      ones are exactly those the file contains. Nothing lost.
 *   3. crash after storage_compact: storage says N, the file says N: normal.
 *   installed snapshot (follower):
 *   4. crash while chunks arrive: snapshot.incoming is deleted at start; the
 *      old snapshot.rcs and storage are intact; the leader starts over.
 *   5. crash after rename, before the storage batch that records the
 *      snapshot: as 2. The file at M holds committed state only; the stored
 *      log may be shorter than M or hold uncommitted entries that conflict
 *      with the leader's, but entries <= M are skipped only once committed,
 *      and committed entries <= M are exactly what the file holds.
 *   A file OLDER than storage's snapshot index, or none while storage has a
 *   snapshot, cannot happen with this order (the file is durable before its
 *   meta is recorded): it means the directory was tampered with, and start
 *   is refused rather than silently losing the entries compacted away.
 *
 * ERRORS: 0 or a negative SNAPSHOT_E* code, with a one-line reason naming
 * the file in err[0..errlen).
 */
#ifndef SNAPSHOT_H
#define SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/checksum.h"

struct kv;
struct kv_type_ops;

#define SNAPSHOT_FILE_NAME "snapshot.rcs"
#define SNAPSHOT_TEMP_NAME "snapshot.tmp"          /* written by a live snapshot */
#define SNAPSHOT_INCOMING_NAME "snapshot.incoming" /* received from the leader */
#define SNAPSHOT_VERSION 6                         /* written when databases besides 0 hold keys */
#define SNAPSHOT_VERSION_ONE_DB 5                  /* written when only database 0 does */
#define SNAPSHOT_VERSION_MIN 1                     /* oldest read */
#define SNAPSHOT_HEADER_LEN 40
#define SNAPSHOT_TYPE_HAS_DB 0x80 /* in a record's type byte: a u32 database follows */
#define SNAPSHOT_TRAILER_LEN 16

enum {
    SNAPSHOT_OK = 0,
    SNAPSHOT_EIO = -1,      /* the OS failed (disk full, permissions, ...) */
    SNAPSHOT_EBADFILE = -2, /* not a snapshot, other version, truncated, corrupt */
    SNAPSHOT_ENOENT = -3,   /* no such file */
    SNAPSHOT_ESTALE = -4,   /* snapshot_read_chunk: the file holds another index */
};

struct snapshot_header {
    uint64_t index, term, key_count;
};

/* The state kept beside the keyspace (extras in FORMAT), given by its owner:
 * save() calls put() for each record to write; load() gets each record read
 * back (0, or -1 with a reason in err: the file is then refused as corrupt).
 * NULL (or a NULL function) writes none / checks their framing only. */
#define SNAPSHOT_EXTRA_KIND_MAX 15
#define SNAPSHOT_EXTRA_BYTES_MAX (512ULL * 1024 * 1024)
typedef void snapshot_extra_put_fn(void *w, uint8_t kind, const void *data, size_t len);
struct snapshot_extra {
    void (*save)(void *ud, snapshot_extra_put_fn *put, void *w);
    int (*load)(void *ud, uint8_t kind, const void *data, size_t len, char *err, size_t errlen);
    void *ud;
};

/* Writes every key of the databases db[0..ndbs) (kv_foreach) to path with the given index/term,
 * then fsyncs it (snapshot_write.c: chunks of SNAPSHOT_CHUNK_BYTES, direct
 * or paced writes). Does not rename. Used where the keyspace cannot change
 * meanwhile (tests, tools); a running node takes a live snapshot
 * (src/sm/snaplive.h). Returns 0, SNAPSHOT_EIO. */
int snapshot_write(const char *path, struct kv *const *db, int ndbs,
                   const struct snapshot_extra *extra, uint64_t index, uint64_t term, char *err,
                   size_t errlen);

/*
 * WRITING PIECE BY PIECE (src/sm/snaplive.h). An encoder turns a header,
 * records and extras into the format's bytes, in chunks of
 * SNAPSHOT_CHUNK_BYTES aligned to SNAPSHOT_CHUNK_ALIGN
 * (snapshot_chunk_new): each full chunk goes to emit(), which returns the
 * buffer to fill next (the same one once it is written, or a new one while
 * another thread writes it). snapshot_enc_end emits the last, partial chunk
 * and returns the buffer emit gave back; snapshot_enc_flush emits a partial
 * chunk and goes on. Two encoders can make one stream: one emits its bytes
 * at a record boundary, and the other takes them in (snapshot_enc_bytes)
 * between its own records: a live snapshot's loop and writer thread do.
 * The checksum is the file's: a
 * struct snapshot_file takes the chunks in order (any thread, one at a
 * time), writes them, and its close writes the trailer and fsyncs.
 */
#define SNAPSHOT_CHUNK_BYTES (256u << 10)
#define SNAPSHOT_CHUNK_ALIGN 4096 /* O_DIRECT's alignment of buffer, offset and length */

typedef unsigned char *snapshot_emit_fn(void *ud, unsigned char *chunk, size_t len);
struct kv_val;
struct snapshot_enc {
    const struct kv_type_ops *const *types;
    unsigned char *chunk; /* being filled */
    size_t used;          /* bytes of chunk filled */
    uint64_t records;     /* records encoded */
    snapshot_emit_fn *emit;
    void *ud;
};
unsigned char *snapshot_chunk_new(void); /* NULL when out of memory; free() it */
void snapshot_enc_init(struct snapshot_enc *e, const struct kv_type_ops *const *types,
                       unsigned char *chunk, snapshot_emit_fn *emit, void *ud);
/* other_dbs: some key is not database 0's (the version written, FORMAT). */
void snapshot_enc_header(struct snapshot_enc *e, uint64_t index, uint64_t term, uint64_t count,
                         bool other_dbs);
/* A record of database db (its number when the snapshot began). */
void snapshot_enc_record(struct snapshot_enc *e, int db, const char *key, size_t klen,
                         const struct kv_val *v);
void snapshot_enc_extras(struct snapshot_enc *e, const struct snapshot_extra *extra);
/* Bytes another encoder made (whole records of the same stream), as they are. */
void snapshot_enc_bytes(struct snapshot_enc *e, const void *p, size_t n);
/* Emits the bytes filled so far, a partial chunk (none: nothing). */
void snapshot_enc_flush(struct snapshot_enc *e);
unsigned char *snapshot_enc_end(struct snapshot_enc *e);

struct snapshot_file {
    int fd;
    int direct;       /* fd is open with O_DIRECT (whole chunks go straight to disk) */
    int failed;       /* errno of the first failure; later puts do nothing */
    uint64_t flushed; /* bytes written */
    struct checksum sum;
};
int snapshot_file_open(struct snapshot_file *f, const char *path, char *err, size_t errlen);
void snapshot_file_put(struct snapshot_file *f, const unsigned char *chunk, size_t len);
/* Trailer, fsync, close: 0, or SNAPSHOT_EIO naming the first failure. */
int snapshot_file_close(struct snapshot_file *f, const char *path, char *err, size_t errlen);
/* Closes without a trailer or an fsync: the file is to be deleted. */
void snapshot_file_abandon(struct snapshot_file *f);

/* Renames dir/tmp_name to dir/snapshot.rcs and fsyncs dir: after a 0 return
 * the new snapshot survives power loss. The file it replaces is closed, and
 * its blocks freed, on a short-lived thread, not the caller's. Returns 0 or
 * SNAPSHOT_EIO. */
int snapshot_publish(const char *dir, const char *tmp_name, char *err, size_t errlen);
/* The same to dir/name (any file published whole: a dump.rdb,
 * src/sm/rdbsave.h); safe on any thread. */
int snapshot_publish_as(const char *dir, const char *tmp_name, const char *name, char *err,
                        size_t errlen);

/* Reads the whole file at path and checks it (see FORMAT) without loading
 * anything; *h gets its header. Values are decoded by the type modules of
 * `types` (src/types/typetable.h); extra records are checked for framing only. Returns 0,
 * SNAPSHOT_ENOENT, SNAPSHOT_EIO, SNAPSHOT_EBADFILE. */
int snapshot_verify(const char *path, const struct kv_type_ops *const *types, int ndbs,
                    struct snapshot_header *h, char *err, size_t errlen);

/* Streams the file into the databases db[0..ndbs), each record into its
 * own, with kv_set / kv_set_obj (absolute expiries
 * kept, expired keys included). Memory besides the keyspace: one record buffer. Checks
 * everything snapshot_verify checks; on an error kv may hold part of the
 * file (the caller flushes it or exits). Returns as snapshot_verify. */
int snapshot_load(const char *path, struct kv *const *db, int ndbs,
                  const struct snapshot_extra *extra, struct snapshot_header *h, char *err,
                  size_t errlen);

/* For a peer: reads up to max_len bytes at offset of path into buf, if its
 * header says `index`. *len gets the bytes read, *done whether they end the
 * file, *size the file's size. Returns 0, SNAPSHOT_ESTALE (another index),
 * SNAPSHOT_ENOENT, SNAPSHOT_EIO, SNAPSHOT_EBADFILE (offset past the end). */
int snapshot_read_chunk(const char *path, uint64_t index, uint64_t offset, void *buf,
                        uint32_t max_len, uint32_t *len, bool *done, char *err, size_t errlen);

/* From a leader: writes len bytes at offset of path; offset 0 creates or
 * truncates the file, a later offset must equal the bytes already there
 * (chunks come in order). With done, fsyncs the file. Returns 0,
 * SNAPSHOT_EIO, SNAPSHOT_EBADFILE (out-of-order offset). */
int snapshot_write_chunk(const char *path, uint64_t offset, const void *data, uint32_t len,
                         bool done, char *err, size_t errlen);

/* Deletes leftover temporary files in dir (crash points 1 and 4). */
void snapshot_remove_temps(const char *dir);

/* Size in bytes of dir/snapshot.rcs, 0 if absent. */
uint64_t snapshot_file_size(const char *dir);

/* dir/name into out; returns 0, or -1 if it does not fit. */
int snapshot_path(char *out, size_t outlen, const char *dir, const char *name);

#endif
