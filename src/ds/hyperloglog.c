/*
 * src/ds/hyperloglog.c - the HyperLogLog representation and estimator (the
 * format is described in src/ds/hyperloglog.h): hashing, dense registers, the
 * sparse opcodes and their in-place updates, conversion, merging, the
 * estimate, and PFSELFTEST's checks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/hyperloglog.h"
#include "base/le.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define HLL_Q (64 - HLL_P)                    /* hash bits left after the register index */
#define HLL_ALPHA_INF 0.721347520444481703680 /* 1 / (2 ln 2) */
#define CACHE_STALE 0x80                      /* in the cache's last byte */

/* --- the sparse opcodes --- */
#define OP_IS_ZERO(b) (((b)&0xc0) == 0x00)
#define OP_IS_XZERO(b) (((b)&0xc0) == 0x40)
#define OP_IS_VAL(b) (((b)&0x80) != 0)
#define ZERO_MAX 64
#define XZERO_MAX 16384
#define VAL_LEN_MAX 4
#define VAL_VALUE(b) ((((b) >> 2) & 0x1f) + 1)
#define VAL_LEN(b) (((unsigned)(b)&0x3u) + 1u)
#define VAL_BYTE(v, n) ((unsigned char)(0x80u | ((unsigned)(v)-1u) << 2 | ((unsigned)(n)-1u)))

/* One opcode at p (p < end): its length in bytes and the registers it
 * covers; 0 when it is cut short by end. */
static size_t op_decode(const unsigned char *p, const unsigned char *end, uint32_t *span)
{
    if (OP_IS_VAL(*p)) {
        *span = VAL_LEN(*p);
        return 1;
    }
    if (OP_IS_ZERO(*p)) {
        *span = (uint32_t)(*p & 0x3f) + 1;
        return 1;
    }
    if (p + 1 >= end) return 0;
    *span = ((uint32_t)(*p & 0x3f) << 8 | p[1]) + 1;
    return 2;
}

/* Writes a run of n (1..16384) zero registers at p: ZERO or XZERO. */
static unsigned char *put_zeros(unsigned char *p, uint32_t n)
{
    ASSERT(n >= 1 && n <= HLL_REGISTERS);
    if (n <= ZERO_MAX) {
        *p++ = (unsigned char)(n - 1);
        return p;
    }
    *p++ = (unsigned char)(0x40 | (n - 1) >> 8);
    *p++ = (unsigned char)((n - 1) & 0xff);
    return p;
}

/* Calls fn(ud, first, span, value) for every run of the sparse body; 0, or
 * HLL_CORRUPT when the runs do not cover exactly the 16384 registers. */
typedef void run_fn(void *ud, uint32_t first, uint32_t span, uint8_t value);
static int sparse_walk(const unsigned char *hll, size_t len, run_fn *fn, void *ud)
{
    const unsigned char *p = hll + HLL_HDR_SIZE, *end = hll + len;
    uint32_t idx = 0;
    while (p < end) {
        uint32_t span;
        size_t n = op_decode(p, end, &span);
        if (n == 0 || span > HLL_REGISTERS - idx) return HLL_CORRUPT;
        fn(ud, idx, span, OP_IS_VAL(*p) ? (uint8_t)VAL_VALUE(*p) : 0);
        idx += span;
        p += n;
    }
    return idx == HLL_REGISTERS ? 0 : HLL_CORRUPT;
}

/* --- header and cache --- */

int hll_header_ok(const unsigned char *p, size_t len)
{
    if (len < HLL_HDR_SIZE || memcmp(p, "HYLL", 4) != 0) return 0;
    if (p[4] == HLL_DENSE) return len == HLL_DENSE_SIZE;
    return p[4] == HLL_SPARSE;
}

void hll_init_sparse(unsigned char *hll)
{
    memset(hll, 0, HLL_HDR_SIZE);
    memcpy(hll, "HYLL", 4);
    hll[4] = HLL_SPARSE;
    hll_cache_invalidate(hll);
    put_zeros(hll + HLL_HDR_SIZE, HLL_REGISTERS);
}

int hll_cache_get(const unsigned char *hll, uint64_t *card)
{
    const unsigned char *c = hll + 8;
    if (c[7] & CACHE_STALE) return 0;
    *card = le_get64(c);
    return 1;
}

void hll_cache_set(unsigned char *hll, uint64_t card)
{
    le_put64(hll + 8, card);
}

void hll_cache_invalidate(unsigned char *hll)
{
    hll[15] |= CACHE_STALE;
}

/* --- hashing --- */

/* MurmurHash64A over little-endian 8-byte blocks (the same value on every
 * platform, as Redis's). */
static uint64_t murmur64a(const unsigned char *p, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ ((uint64_t)len * m);
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--)
            k = k << 8 | p[8 * i + (size_t)b];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    const unsigned char *tail = p + blocks * 8;
    size_t rest = len & 7;
    if (rest) {
        for (size_t b = rest; b-- > 0;)
            h ^= (uint64_t)tail[b] << (8 * b);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

void hll_hash(const void *ele, size_t len, uint32_t *index, uint8_t *count)
{
    uint64_t h = murmur64a(ele, len, 0xadc83b19ULL);
    *index = (uint32_t)(h & (HLL_REGISTERS - 1));
    h >>= HLL_P;
    h |= 1ULL << HLL_Q; /* at most Q + 1 */
    *count = (uint8_t)(__builtin_ctzll(h) + 1);
    ASSERT(*index < HLL_REGISTERS && *count >= 1 && *count <= HLL_Q + 1);
}

/* --- dense registers --- */

uint8_t hll_dense_get(const unsigned char *regs, uint32_t i)
{
    uint32_t bit = i * HLL_BITS, byte = bit / 8, fb = bit & 7;
    unsigned v = regs[byte] >> fb;
    if (fb > 8 - HLL_BITS) v |= (unsigned)regs[byte + 1] << (8 - fb);
    return (uint8_t)(v & HLL_REGISTER_MAX);
}

void hll_dense_put(unsigned char *regs, uint32_t i, uint8_t v)
{
    uint32_t bit = i * HLL_BITS, byte = bit / 8, fb = bit & 7;
    regs[byte] = (unsigned char)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) | v << fb);
    if (fb > 8 - HLL_BITS) {
        unsigned hi = 8 - fb;
        regs[byte + 1] = (unsigned char)((regs[byte + 1] & ~(HLL_REGISTER_MAX >> hi)) | v >> hi);
    }
}

int hll_dense_raise(unsigned char *regs, uint32_t i, uint8_t count)
{
    ASSERT(i < HLL_REGISTERS && count <= HLL_REGISTER_MAX);
    if (hll_dense_get(regs, i) >= count) return HLL_UNCHANGED;
    hll_dense_put(regs, i, count);
    return HLL_CHANGED;
}

/* --- sparse updates --- */

/* Merges adjacent VAL opcodes of equal value, looking at up to five
 * opcodes from p (Redis's bounded pass after an update). Returns the new
 * end. */
static unsigned char *merge_vals(unsigned char *p, unsigned char *end)
{
    for (int scan = 5; p < end && scan-- > 0;) {
        if (!OP_IS_VAL(*p)) {
            p += OP_IS_XZERO(*p) ? 2 : 1;
            continue;
        }
        if (p + 1 < end && OP_IS_VAL(p[1]) && VAL_VALUE(*p) == VAL_VALUE(p[1])) {
            unsigned n = VAL_LEN(*p) + VAL_LEN(p[1]);
            if (n <= VAL_LEN_MAX) {
                p[1] = VAL_BYTE(VAL_VALUE(*p), n);
                memmove(p, p + 1, (size_t)(end - p - 1));
                end--;
                continue; /* the merged run may merge with the next one too */
            }
        }
        p++;
    }
    return end;
}

/* The opcodes replacing the run [first, first + span) at op once register
 * index in it becomes count: the part before, the register, the part after
 * (at most 5 bytes). Returns their length. */
static size_t split_run(const unsigned char *op, uint32_t first, uint32_t span, uint32_t index,
                        uint8_t count, unsigned char *seq)
{
    ASSERT(index >= first && index - first < span);
    unsigned char *n = seq;
    uint32_t before = index - first, after = first + span - 1 - index;
    if (OP_IS_VAL(*op)) {
        unsigned v = VAL_VALUE(*op);
        if (before) *n++ = VAL_BYTE(v, before);
        *n++ = VAL_BYTE(count, 1);
        if (after) *n++ = VAL_BYTE(v, after);
    } else {
        if (before) n = put_zeros(n, before);
        *n++ = VAL_BYTE(count, 1);
        if (after) n = put_zeros(n, after);
    }
    return (size_t)(n - seq);
}

int hll_sparse_raise(unsigned char *hll, size_t *len, size_t max_bytes, uint32_t index,
                     uint8_t count)
{
    ASSERT(index < HLL_REGISTERS && *len >= HLL_HDR_SIZE);
    if (count > HLL_SPARSE_VAL_MAX) return HLL_PROMOTE;
    unsigned char *body = hll + HLL_HDR_SIZE, *end = hll + *len, *p = body, *prev = NULL;
    uint32_t first = 0, span = 0;
    size_t oplen = 0;
    while (p < end) {
        oplen = op_decode(p, end, &span);
        if (oplen == 0) return HLL_CORRUPT;
        if (index - first < span) break;
        first += span;
        if (first >= HLL_REGISTERS) return HLL_CORRUPT;
        prev = p;
        p += oplen;
    }
    if (p >= end) return HLL_CORRUPT;
    if (OP_IS_VAL(*p) && VAL_VALUE(*p) >= count) return HLL_UNCHANGED;
    if (span == 1 && !OP_IS_XZERO(*p)) {
        *p = VAL_BYTE(count, 1); /* a run of one: replaced in place */
    } else {
        unsigned char seq[5];
        size_t seqlen = split_run(p, first, span, index, count, seq);
        ASSERT(seqlen <= sizeof seq);
        if (seqlen > oplen && *len + seqlen - oplen > max_bytes) return HLL_PROMOTE;
        memmove(p + seqlen, p + oplen, (size_t)(end - p) - oplen);
        memcpy(p, seq, seqlen);
        end += seqlen;
        end -= oplen;
    }
    end = merge_vals(prev ? prev : body, end);
    *len = (size_t)(end - hll);
    return HLL_CHANGED;
}

static void dense_fill(void *ud, uint32_t first, uint32_t span, uint8_t value)
{
    if (value == 0) return;
    ASSERT(first + span <= HLL_REGISTERS);
    for (uint32_t i = first; i < first + span; i++)
        hll_dense_put(ud, i, value);
}

int hll_sparse_to_dense(const unsigned char *sp, size_t len, unsigned char *dense)
{
    memset(dense, 0, HLL_DENSE_SIZE);
    memcpy(dense, sp, HLL_HDR_SIZE);
    dense[4] = HLL_DENSE;
    return sparse_walk(sp, len, dense_fill, dense + HLL_HDR_SIZE);
}

/* --- merging and estimating --- */

/* A run of zeros raises nothing: skipped without a look at its registers,
 * which are most of a sparse HLL's 16384 (a PFCOUNT or PFMERGE of 20000
 * small HLLs visited 330M registers, 0.6 s, for a few opcodes each). */
static void raw_max(void *ud, uint32_t first, uint32_t span, uint8_t value)
{
    uint8_t *raw = ud;
    if (value == 0) return;
    ASSERT(first + span <= HLL_REGISTERS);
    for (uint32_t i = first; i < first + span; i++)
        if (raw[i] < value) raw[i] = value;
}

int hll_merge_raw(const unsigned char *hll, size_t len, uint8_t *raw)
{
    if (hll_encoding_of(hll) == HLL_SPARSE) return sparse_walk(hll, len, raw_max, raw);
    for (uint32_t i = 0; i < HLL_REGISTERS; i++) {
        uint8_t v = hll_dense_get(hll + HLL_HDR_SIZE, i);
        if (raw[i] < v) raw[i] = v;
    }
    return 0;
}

/* Ertl's sigma and tau ("New cardinality estimation algorithms for
 * HyperLogLog sketches", arXiv:1702.01284). */
static double hll_sigma(double x)
{
    if (x == 1.) return INFINITY;
    double y = 1, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (prev != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0. || x == 1.) return 0.;
    double y = 1.0, z = 1 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (prev != z);
    return z / 3;
}

/* The estimate from the histogram of register values. */
static uint64_t estimate_histogram(const uint32_t *histo)
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; j--) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

static void histo_add(void *ud, uint32_t first, uint32_t span, uint8_t value)
{
    (void)first;
    ((uint32_t *)ud)[value] += span;
}

int hll_estimate(const unsigned char *hll, size_t len, uint64_t *card)
{
    uint32_t histo[HLL_REGISTER_MAX + 1] = {0};
    if (hll_encoding_of(hll) == HLL_SPARSE) {
        if (sparse_walk(hll, len, histo_add, histo) < 0) return HLL_CORRUPT;
    } else {
        for (uint32_t i = 0; i < HLL_REGISTERS; i++)
            histo[hll_dense_get(hll + HLL_HDR_SIZE, i)]++;
    }
    *card = estimate_histogram(histo);
    return 0;
}

uint64_t hll_estimate_raw(const uint8_t *raw)
{
    uint32_t histo[256] = {0};
    for (uint32_t i = 0; i < HLL_REGISTERS; i++)
        histo[raw[i]]++;
    return estimate_histogram(histo);
}

size_t hll_sparse_describe(const unsigned char *hll, size_t len, char *out, size_t cap)
{
    const unsigned char *p = hll + HLL_HDR_SIZE, *end = hll + len;
    size_t n = 0;
    while (p < end) {
        uint32_t span;
        size_t oplen = op_decode(p, end, &span);
        if (oplen == 0) break;
        char item[32];
        int w;
        if (OP_IS_VAL(*p))
            w = snprintf(item, sizeof item, "v:%u,%u ", (unsigned)VAL_VALUE(*p), span);
        else
            w = snprintf(item, sizeof item, "%c:%u ", OP_IS_ZERO(*p) ? 'z' : 'Z', span);
        if (n < cap) memcpy(out + n, item, (size_t)w < cap - n ? (size_t)w : cap - n);
        n += (size_t)w;
        p += oplen;
    }
    return n ? n - 1 : 0; /* without the last space */
}

/* --- PFSELFTEST --- */

static int selftest_registers(char *err, size_t errlen)
{
    static unsigned char regs[HLL_DENSE_SIZE - HLL_HDR_SIZE];
    static uint8_t want[HLL_REGISTERS];
    uint64_t rng = 0x5eed;
    memset(regs, 0, sizeof regs);
    for (int round = 0; round < 8; round++) {
        for (uint32_t i = 0; i < HLL_REGISTERS; i++) {
            want[i] = (uint8_t)(util_rand64(&rng) & HLL_REGISTER_MAX);
            hll_dense_put(regs, i, want[i]);
        }
        for (uint32_t i = 0; i < HLL_REGISTERS; i++) {
            if (hll_dense_get(regs, i) != want[i]) {
                snprintf(err, errlen, "TESTFAILED Register error at %u", i);
                return -1;
            }
        }
    }
    return 0;
}

/* Adds n elements named selftest:0.. to a sparse and a dense HLL and checks
 * that they hold the same registers and estimate, within 5 standard
 * errors of n. The sparse side stops where a value would turn dense (a
 * register over 32, or the dense size): past that, each update would move
 * kilobytes, and PFSELFTEST must stay far below an election timeout. */
static int selftest_encodings(uint32_t n, char *err, size_t errlen)
{
    size_t cap = HLL_DENSE_SIZE + HLL_SPARSE_SET_ROOM;
    unsigned char *sp = util_xmalloc(cap), *dense = util_xcalloc(1, HLL_DENSE_SIZE);
    size_t splen = HLL_SPARSE_EMPTY_SIZE;
    hll_init_sparse(sp);
    memcpy(dense, sp, HLL_HDR_SIZE);
    dense[4] = HLL_DENSE;
    int sparse = 1, rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        char ele[32];
        int len = snprintf(ele, sizeof ele, "selftest:%u", i);
        uint32_t idx;
        uint8_t cnt;
        hll_hash(ele, (size_t)len, &idx, &cnt);
        hll_dense_raise(dense + HLL_HDR_SIZE, idx, cnt);
        if (sparse &&
            hll_sparse_raise(sp, &splen, cap - HLL_SPARSE_SET_ROOM, idx, cnt) == HLL_PROMOTE)
            sparse = 0; /* it would turn dense: the sparse side stops here */
    }
    uint8_t *a = util_xcalloc(HLL_REGISTERS, 1), *b = util_xcalloc(HLL_REGISTERS, 1);
    uint64_t ca = 0, cb = 0;
    if (sparse && (hll_merge_raw(sp, splen, a) < 0 || hll_estimate(sp, splen, &ca) < 0)) {
        snprintf(err, errlen, "TESTFAILED sparse encoding corrupt after %u elements", n);
        rc = -1;
    }
    hll_merge_raw(dense, HLL_DENSE_SIZE, b);
    hll_estimate(dense, HLL_DENSE_SIZE, &cb);
    if (rc == 0 && sparse && (memcmp(a, b, HLL_REGISTERS) != 0 || ca != cb)) {
        snprintf(err, errlen, "TESTFAILED sparse and dense disagree after %u elements", n);
        rc = -1;
    }
    double tolerance = 5 * 1.04 / sqrt(HLL_REGISTERS) * n + 1;
    if (rc == 0 && fabs((double)cb - n) > tolerance) {
        snprintf(err, errlen, "TESTFAILED estimate %llu for %u elements", (unsigned long long)cb,
                 n);
        rc = -1;
    }
    free(a);
    free(b);
    free(sp);
    free(dense);
    return rc;
}

int hll_selftest(char *err, size_t errlen)
{
    if (selftest_registers(err, errlen) < 0) return -1;
    static const uint32_t sizes[] = {0, 1, 10, 100, 1000, 5000, 20000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (selftest_encodings(sizes[i], err, errlen) < 0) return -1;
    return 0;
}
