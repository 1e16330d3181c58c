/*
 * src/ds/hyperloglog.h - HyperLogLog cardinality estimation in Redis's exact
 * representation (src/ds/hyperloglog.c), so that a value's bytes, GET of it and
 * every estimate agree with redis-server's on the same input; the PF*
 * commands that use it are in src/types/hll_cmd.c (rows: src/types/cmdtable_hll.c).
 *
 * An HLL is a string value:
 *   header (16 bytes)  "HYLL", encoding (0 dense, 1 sparse), 3 zero bytes,
 *                      the cached cardinality (8 bytes, little endian; the top
 *                      bit of the last byte set means "stale")
 *   16384 registers of 6 bits, each the longest run of zero bits (+1) seen
 *   among the hashes (MurmurHash64A, seed 0xadc83b19) whose low 14 bits
 *   address it, either
 *     dense   12288 bytes, register i at bits 6i..6i+5, least significant first
 *     sparse  run-length opcodes covering exactly 16384 registers:
 *             ZERO  00xxxxxx            xxxxxx + 1 (1..64) zero registers
 *             XZERO 01xxxxxx yyyyyyyy   (x << 8 | y) + 1 (1..16384) zero registers
 *             VAL   1vvvvvxx            xx + 1 (1..4) registers of value vvvvv + 1
 * A sparse value becomes dense when a register needs more than 32 or the
 * value would grow past hll-sparse-max-bytes, never back. The estimate is
 * Ertl's improved estimator over the registers' histogram, as Redis's.
 *
 * Everything here works on caller-owned bytes and knows nothing of the
 * keyspace. Functions reading a value trust only its header
 * (hll_header_ok); a damaged body is reported (HLL_CORRUPT), never read
 * past its end.
 */
#ifndef HYPERLOGLOG_H
#define HYPERLOGLOG_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_REGISTERS (1u << HLL_P)
#define HLL_BITS 6
#define HLL_REGISTER_MAX 63
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_SPARSE_EMPTY_SIZE (HLL_HDR_SIZE + 2) /* one XZERO of 16384 */
#define HLL_SPARSE_VAL_MAX 32                    /* larger registers need dense */
#define HLL_SPARSE_SET_ROOM 3                    /* bytes one hll_sparse_set may add */

enum hll_encoding { HLL_DENSE = 0, HLL_SPARSE = 1 };

enum hll_result {
    HLL_CORRUPT = -1,  /* the sparse opcodes do not cover exactly 16384 registers */
    HLL_UNCHANGED = 0, /* the register already held as much */
    HLL_CHANGED = 1,
    HLL_PROMOTE = 2, /* sparse cannot hold it: convert to dense, then set */
};

/* 1 if p[0..len) has an HLL header and, if dense, the dense length (Redis's
 * test: anything else is "not a valid HyperLogLog string value"). */
int hll_header_ok(const unsigned char *p, size_t len);
static inline enum hll_encoding hll_encoding_of(const unsigned char *hll)
{
    return (enum hll_encoding)hll[4];
}
/* Writes an empty sparse HLL (HLL_SPARSE_EMPTY_SIZE bytes) with a stale
 * cache, as PFADD creates one. */
void hll_init_sparse(unsigned char *hll);

/* The register an element addresses and the value it offers it. */
void hll_hash(const void *ele, size_t len, uint32_t *index, uint8_t *count);

/* The cached cardinality: 1 and *card if it is current, 0 if stale. */
int hll_cache_get(const unsigned char *hll, uint64_t *card);
void hll_cache_set(unsigned char *hll, uint64_t card);
void hll_cache_invalidate(unsigned char *hll);

/* Dense registers (hll + HLL_HDR_SIZE). hll_dense_raise sets register i to
 * count if that is larger; returns HLL_CHANGED or HLL_UNCHANGED. */
uint8_t hll_dense_get(const unsigned char *regs, uint32_t i);
void hll_dense_put(unsigned char *regs, uint32_t i, uint8_t v);
int hll_dense_raise(unsigned char *regs, uint32_t i, uint8_t count);

/* Raises register index of the sparse value hll[0..*len) to count, in place,
 * as Redis does (split the run, merge equal neighbours), so the bytes match
 * redis-server's. hll has room for *len + HLL_SPARSE_SET_ROOM bytes; *len
 * gets the new length. HLL_PROMOTE when count > HLL_SPARSE_VAL_MAX or the
 * value would grow past max_bytes (nothing changed). Does not touch the
 * cache. */
int hll_sparse_raise(unsigned char *hll, size_t *len, size_t max_bytes, uint32_t index,
                     uint8_t count);
/* Writes the dense form of the sparse value sp[0..len) into dense
 * (HLL_DENSE_SIZE bytes; the header is copied, the encoding changed).
 * Returns 0 or HLL_CORRUPT. */
int hll_sparse_to_dense(const unsigned char *sp, size_t len, unsigned char *dense);

/* raw[i] = max(raw[i], register i of hll[0..len)) for the 16384 registers.
 * Returns 0 or HLL_CORRUPT. */
int hll_merge_raw(const unsigned char *hll, size_t len, uint8_t *raw);
/* The estimate from the registers of hll[0..len) (the cache ignored).
 * Returns 0 or HLL_CORRUPT. */
int hll_estimate(const unsigned char *hll, size_t len, uint64_t *card);
/* The estimate from 16384 one-byte registers. */
uint64_t hll_estimate_raw(const uint8_t *raw);

/* PFDEBUG DECODE's text of a sparse value ("Z:8436 v:1,1 ..."): writes at
 * most cap bytes to out, returns the full length. */
size_t hll_sparse_describe(const unsigned char *hll, size_t len, char *out, size_t cap);

/* PFSELFTEST: register packing, sparse/dense agreement and the estimate's
 * error on known inputs. Returns 0, or -1 with a message in err. */
int hll_selftest(char *err, size_t errlen);

#endif
