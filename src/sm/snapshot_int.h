/*
 * src/sm/snapshot_int.h - what the snapshot file's reading side (snapshot.c)
 * and writing side (snapshot_write.c) share: the format's magic numbers and
 * record head (src/sm/snapshot.h, FORMAT), and the positioned full write.
 * Private to those two files.
 */
#ifndef SNAPSHOT_INT_H
#define SNAPSHOT_INT_H

#include <stddef.h>
#include <stdint.h>

static const char HEADER_MAGIC[8] = {'R', 'C', 'S', 'N', 'A', 'P', '\r', '\n'};
static const char TRAILER_MAGIC[8] = {'R', 'C', 'S', 'N', 'E', 'N', 'D', '\n'};
#define RECORD_HEAD_LEN_V3 21 /* u8 type | u32 key_len | u64 value_len | i64 expire_ms */

/* Writes data[0..n) at offset off of fd (retrying short writes and EINTR).
 * Returns 0, or -1 with errno set. */
int snapshot_pwrite_full(int fd, const void *data, size_t n, uint64_t off);

#endif
