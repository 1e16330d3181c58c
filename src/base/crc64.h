/*
 * src/base/crc64.h - Redis's CRC-64, the footer of a DUMP payload and of a
 * dump.rdb file: the Jones polynomial 0xad93d23594c935a9, bits reflected,
 * initial value 0, no final xor ("CRC-64/REDIS"; its check value, the CRC
 * of "123456789", is 0xe9c6d914c4b8d9ca). A payload raftcache writes
 * carries the CRC redis-server computes for the same bytes, and one
 * redis-server wrote is checked as it checks it.
 *
 * Eight bytes a step, through eight tables built on first use (16 KiB,
 * read-only after): a DUMP of a large value is checked at memory speed.
 * The value depends only on the bytes, never on how they were split
 * across calls: crc64(crc64(0, a), b) == crc64(0, ab).
 */
#ifndef CRC64_H
#define CRC64_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of n bytes at p, continuing from crc (0 to start). */
uint64_t crc64(uint64_t crc, const void *p, size_t n);

#endif
