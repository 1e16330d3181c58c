/*
 * src/base/le.h - little-endian integers in byte buffers: the one codec every
 * on-disk and in-log format of src/ uses (snapshot files, log entries, type
 * payloads, listpacks, HyperLogLog headers). Any alignment and any host
 * order.
 */
#ifndef LE_H
#define LE_H

#include <stdint.h>
#include <string.h>

/* Writes the n (1..8) low bytes of v at p, least significant first. */
static inline void le_put(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Reads n (1..8) bytes at p, least significant first. */
static inline uint64_t le_get(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The fixed widths: one load or store on a little-endian host (the byte
 * loops above are not merged into one by the compiler, and entries and
 * snapshots are decoded a word at a time). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE_NATIVE 1
#else
#define LE_NATIVE 0
#endif

static inline void le_put32(unsigned char *p, uint32_t v)
{
    if (LE_NATIVE)
        memcpy(p, &v, 4);
    else
        le_put(p, v, 4);
}
static inline void le_put64(unsigned char *p, uint64_t v)
{
    if (LE_NATIVE)
        memcpy(p, &v, 8);
    else
        le_put(p, v, 8);
}
static inline uint32_t le_get32(const unsigned char *p)
{
    uint32_t v;
    if (!LE_NATIVE) return (uint32_t)le_get(p, 4);
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t le_get64(const unsigned char *p)
{
    uint64_t v;
    if (!LE_NATIVE) return le_get(p, 8);
    memcpy(&v, p, 8);
    return v;
}

#endif
