/*
 * src/base/checksum.c - the streaming checksum of checksum.h.
 */
#include <endian.h>
#include <string.h>

#include "base/checksum.h"
#include "raft/raft_assert.h"

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return le64toh(v);
}

static inline uint64_t round64(uint64_t lane, uint64_t word)
{
    return rotl(lane + word * P2, 31) * P1;
}

/* Consumes n / CHECKSUM_STRIPE whole stripes of p; returns the bytes used. */
static size_t stripes(struct checksum *c, const unsigned char *p, size_t n)
{
    uint64_t a = c->lane[0], b = c->lane[1], x = c->lane[2], y = c->lane[3];
    size_t used = 0;
    for (; n - used >= CHECKSUM_STRIPE; used += CHECKSUM_STRIPE) {
        a = round64(a, load64(p + used));
        b = round64(b, load64(p + used + 8));
        x = round64(x, load64(p + used + 16));
        y = round64(y, load64(p + used + 24));
    }
    c->lane[0] = a;
    c->lane[1] = b;
    c->lane[2] = x;
    c->lane[3] = y;
    return used;
}

void checksum_init(struct checksum *c)
{
    memset(c, 0, sizeof *c);
    c->lane[0] = P1 + P2;
    c->lane[1] = P2;
    c->lane[2] = 0;
    c->lane[3] = 0 - P1;
}

void checksum_update(struct checksum *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    ASSERT(c->stashed < CHECKSUM_STRIPE);
    c->total += n;
    if (c->stashed) {
        size_t take = CHECKSUM_STRIPE - c->stashed;
        if (take > n) take = n;
        memcpy(c->stash + c->stashed, p, take);
        c->stashed += take;
        p += take;
        n -= take;
        if (c->stashed < CHECKSUM_STRIPE) return;
        stripes(c, c->stash, CHECKSUM_STRIPE);
        c->stashed = 0;
    }
    size_t used = stripes(c, p, n);
    p += used;
    n -= used;
    ASSERT(n < CHECKSUM_STRIPE);
    memcpy(c->stash, p, n);
    c->stashed = n;
}

/* Spreads every input bit over the whole result. */
static uint64_t avalanche(uint64_t h)
{
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t checksum_final(const struct checksum *c)
{
    uint64_t h =
        rotl(c->lane[0], 1) + rotl(c->lane[1], 7) + rotl(c->lane[2], 12) + rotl(c->lane[3], 18);
    for (int i = 0; i < 4; i++)
        h = (h ^ round64(0, c->lane[i])) * P1 + P3;
    h += c->total;
    size_t i = 0;
    for (; i + 8 <= c->stashed; i += 8)
        h = rotl(h ^ round64(0, load64(c->stash + i)), 27) * P1 + P3;
    for (; i < c->stashed; i++)
        h = rotl(h ^ (c->stash[i] * P3), 11) * P1;
    return avalanche(h);
}
