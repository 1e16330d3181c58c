/*
 * tests/bench/zipf.c - xoshiro256** and the rejection-inversion zipfian sampler
 * (see zipf.h for the distribution and the references).
 *
 * Notation of the paper: h(x) = x^-s is the (unnormalised) density, H(x) its integral
 * from 1 (H(x) = (x^(1-s) - 1) / (1 - s), or log x when s = 1), and H^-1 its inverse.
 * A uniform u in (H(1.5) - 1, H(n + 0.5)] is mapped to x = H^-1(u) and rounded to the
 * rank k; k is accepted when u falls in the part of k's interval whose area is h(k),
 * which makes P(k) proportional to h(k). The two helpers below compute
 * log1p(t)/t and expm1(t)/t, so that H and H^-1 stay accurate as s approaches 1
 * (where (x^(1-s) - 1) / (1 - s) would divide two tiny numbers).
 */
#include "zipf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void zipf_rng_seed(struct zipf_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t zipf_rng_next(struct zipf_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double zipf_rng_double(struct zipf_rng *rng)
{
    return (double)(zipf_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* log1p(t) / t, continuous at 0. */
static double log1p_over(double t)
{
    if (fabs(t) > 1e-8) return log1p(t) / t;
    return 1.0 - t * (0.5 - t * (1.0 / 3.0 - 0.25 * t));
}

/* expm1(t) / t, continuous at 0. */
static double expm1_over(double t)
{
    if (fabs(t) > 1e-8) return expm1(t) / t;
    return 1.0 + t * 0.5 * (1.0 + t * (1.0 / 3.0) * (1.0 + 0.25 * t));
}

static double h(const struct zipf *z, double x)
{
    return exp(-z->s * log(x));
}

static double h_integral(const struct zipf *z, double x)
{
    double log_x = log(x);
    return expm1_over((1.0 - z->s) * log_x) * log_x;
}

static double h_integral_inverse(const struct zipf *z, double x)
{
    double t = x * (1.0 - z->s);
    if (t < -1.0) /* rounding near the upper end of the domain */
        t = -1.0;
    return exp(log1p_over(t) * x);
}

int zipf_init(struct zipf *z, uint64_t n, double s)
{
    if (n == 0 || n > ZIPF_N_MAX || !(s >= 0.0 && s <= ZIPF_S_MAX)) return -1;
    z->n = n;
    z->s = s;
    z->h_x1 = h_integral(z, 1.5) - 1.0;
    z->h_n = h_integral(z, (double)n + 0.5);
    /* The paper's shortcut: for k >= 2, k - x <= accept_k always lies under h(k). */
    z->accept_k = 2.0 - h_integral_inverse(z, h_integral(z, 2.5) - h(z, 2.0));
    return 0;
}

/* The acceptance probability is bounded below by a constant for every n and s (the
 * paper, section 3), so a draw that has not ended after this many rounds means the
 * setup is broken, not bad luck. */
#define ZIPF_ROUNDS_MAX 1000000

uint64_t zipf_next(const struct zipf *z, struct zipf_rng *rng)
{
    for (int round = 0; round < ZIPF_ROUNDS_MAX; round++) {
        double u = z->h_n + zipf_rng_double(rng) * (z->h_x1 - z->h_n);
        double x = h_integral_inverse(z, u);
        double kd = floor(x + 0.5);
        uint64_t k = kd < 1.0 ? 1 : kd > (double)z->n ? z->n : (uint64_t)kd;
        if ((double)k - x <= z->accept_k || u >= h_integral(z, (double)k + 0.5) - h(z, (double)k))
            return k;
    }
    fprintf(stderr, "zipf: no rank accepted in %d rounds (n %llu, s %g)\n", ZIPF_ROUNDS_MAX,
            (unsigned long long)z->n, z->s);
    abort();
}
