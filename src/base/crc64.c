/*
 * src/base/crc64.c - Redis's CRC-64 (see crc64.h), slicing by eight.
 */
#include <pthread.h>

#include "base/crc64.h"
#include "base/le.h"

#define POLY_REFLECTED 0x95ac9329ac4bc9b5ULL /* 0xad93d23594c935a9, bits reversed */

static uint64_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (unsigned n = 0; n < 256; n++) {
        uint64_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY_REFLECTED : c >> 1;
        table[0][n] = c;
    }
    for (unsigned n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            table[t][n] = (table[t - 1][n] >> 8) ^ table[0][table[t - 1][n] & 0xff];
}

uint64_t crc64(uint64_t crc, const void *p, size_t n)
{
    pthread_once(&table_once, build_tables);
    const unsigned char *b = p;
    for (; n >= 8; n -= 8, b += 8) {
        crc ^= le_get64(b);
        crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^ table[5][(crc >> 16) & 0xff] ^
              table[4][(crc >> 24) & 0xff] ^ table[3][(crc >> 32) & 0xff] ^
              table[2][(crc >> 40) & 0xff] ^ table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
    }
    while (n--)
        crc = table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return crc;
}
