/*
 * tests/bench/zipf.h - a seeded PRNG and an exact zipfian sampler, for the cache
 * workload generator (tests/bench/cachegen.c) and its unit test
 * (tests/unit/test_zipf.c).
 *
 * The distribution: ranks 1..n, P(rank = k) = k^-s / sum_{i=1..n} i^-s, with the
 * exponent s >= 0 (s = 0 is uniform; YCSB's default is 0.99). Rank 1 is the most
 * popular.
 *
 * The sampler is Hörmann and Derflinger's rejection-inversion ("Rejection-inversion to
 * generate variates from monotone discrete distributions", ACM TOMACS 6(3), 1996): it
 * inverts the integral of the continuous density x^-s over [1.5 - 1, n + 0.5] and
 * accepts the rounded point against the exact probability, so the result follows the
 * distribution above exactly (up to double rounding), for any n and s, in O(1) expected
 * time and O(1) memory. YCSB's and Gray et al.'s formula is cheaper to set up but only
 * approximates the tail, and a table of the cumulative distribution would take 80 MB for
 * 10M keys.
 *
 * The PRNG is xoshiro256** (Blackman and Vigna), its state filled from the seed by
 * splitmix64: two generators seeded alike produce the same sequence, so a run is
 * reproducible from its seed.
 *
 * Nothing here allocates, does I/O or keeps global state.
 */
#ifndef ZIPF_H
#define ZIPF_H

#include <stdint.h>

/* Limits of zipf_init()'s arguments. */
#define ZIPF_N_MAX 1000000000ULL /* ranks */
#define ZIPF_S_MAX 10.0          /* exponent */

struct zipf_rng {
    uint64_t s[4];
};

struct zipf {
    uint64_t n;      /* ranks 1..n */
    double s;        /* exponent */
    double h_x1;     /* H(1.5) - 1: the lower end of the inverted interval */
    double h_n;      /* H(n + 0.5): its upper end */
    double accept_k; /* k - x at most this is accepted without the exact check */
};

/* Seeds RNG; any seed (0 included) gives a usable, distinct sequence. */
void zipf_rng_seed(struct zipf_rng *rng, uint64_t seed);

/* The next 64 random bits. */
uint64_t zipf_rng_next(struct zipf_rng *rng);

/* A double uniform in [0, 1), 53 random bits. */
double zipf_rng_double(struct zipf_rng *rng);

/* Sets Z up for ranks 1..N with exponent S. Returns 0, or -1 (Z untouched) when
 * N is 0 or over ZIPF_N_MAX, or S is not a number in [0, ZIPF_S_MAX]. */
int zipf_init(struct zipf *z, uint64_t n, double s);

/* A rank in [1, z->n] drawn with the zipfian probability, using RNG. */
uint64_t zipf_next(const struct zipf *z, struct zipf_rng *rng);

#endif
