/*
 * tests/unit/test_zipf.c - the cache workload's zipfian sampler (tests/bench/zipf.h)
 * draws ranks with the zipfian probabilities.
 *
 * Each distribution test draws a fixed number of ranks from a fixed seed and runs
 * Pearson's chi-square goodness-of-fit test against the exact probabilities
 * k^-s / sum i^-s: the first ranks each in a bin of their own, the tail in bins of
 * growing width (each expecting at least 20 draws and 0.1% of them). The statistic must stay under
 * the 0.1% critical value; with fixed seeds the outcome is the same on every run, and the power
 * check below shows the test tells apart exponents 0.99 and 0.95.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/zipf.h"

#define BINS_MAX 4096
#define SINGLE_RANKS 200 /* ranks with a bin of their own */

struct fit {
    int bins;
    double chi2;
    double critical; /* chi-square 0.1% critical value for bins - 1 degrees */
};

/* The chi-square 0.1% critical value for DF degrees of freedom (Wilson-Hilferty:
 * (chi2/df)^(1/3) is close to normal; z = 3.0902 is the normal 0.1% quantile). */
static double chi2_critical(int df)
{
    double k = 2.0 / (9.0 * df);
    double c = 1.0 - k + 3.0902 * sqrt(k);
    return df * c * c * c;
}

/* Draws DRAWS ranks from zipf(N, S_DRAWN) seeded with SEED and tests them against
 * the exact zipf(N, S_EXPECTED) probabilities. */
static struct fit fit_zipf(uint64_t n, double s_drawn, double s_expected, long draws, uint64_t seed)
{
    static double p[BINS_MAX];
    static long seen[BINS_MAX];
    static uint64_t upper[BINS_MAX]; /* bin b holds ranks (upper[b-1], upper[b]] */
    struct zipf z;
    struct zipf_rng rng;
    double total = 0, acc = 0, min_expected = fmax(20.0 / (double)draws, 1.0 / 1000);
    int bins = 0;

    assert_int_equal(zipf_init(&z, n, s_drawn), 0);
    for (uint64_t k = 1; k <= n; k++)
        total += pow((double)k, -s_expected);
    /* Bins: single ranks first, then each bin closes once its probability reaches
     * min_expected (the last bin takes what is left). */
    for (uint64_t k = 1; k <= n; k++) {
        acc += pow((double)k, -s_expected) / total;
        if (k <= SINGLE_RANKS || acc >= min_expected || k == n) {
            assert_true(bins < BINS_MAX);
            p[bins] = acc;
            upper[bins] = k;
            bins++;
            acc = 0;
        }
    }
    memset(seen, 0, sizeof seen);
    zipf_rng_seed(&rng, seed);
    for (long i = 0; i < draws; i++) {
        uint64_t k = zipf_next(&z, &rng);
        assert_true(k >= 1 && k <= n);
        int lo = 0, hi = bins - 1; /* the first bin whose upper bound is >= k */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (upper[mid] >= k)
                hi = mid;
            else
                lo = mid + 1;
        }
        seen[lo]++;
    }
    struct fit f = {.bins = bins, .chi2 = 0, .critical = chi2_critical(bins - 1)};
    for (int b = 0; b < bins; b++) {
        double expected = p[b] * (double)draws;
        f.chi2 += ((double)seen[b] - expected) * ((double)seen[b] - expected) / expected;
    }
    print_message("zipf n=%llu s=%g vs s=%g: chi2 %.1f over %d bins (0.1%% critical %.1f)\n",
                  (unsigned long long)n, s_drawn, s_expected, f.chi2, f.bins, f.critical);
    return f;
}

/* The workload's default: 10M keys, s = 0.99. */
static void test_fits_default(void **state)
{
    (void)state;
    struct fit f = fit_zipf(10000000, 0.99, 0.99, 2000000, 1);
    assert_true(f.bins > SINGLE_RANKS + 10);
    assert_true(f.chi2 < f.critical);
}

/* Other exponents: s = 1 (where H is a logarithm), steeper and flatter ones, and a
 * small key space where every rank has a bin of its own. */
static void test_fits_other_exponents(void **state)
{
    (void)state;
    const double exps[] = {1.0, 1.5, 0.5, 0.0};
    for (size_t i = 0; i < sizeof exps / sizeof exps[0]; i++) {
        struct fit f = fit_zipf(100000, exps[i], exps[i], 500000, 7 + i);
        assert_true(f.chi2 < f.critical);
    }
    struct fit small = fit_zipf(50, 0.99, 0.99, 200000, 3);
    assert_int_equal(small.bins, 50);
    assert_true(small.chi2 < small.critical);
}

/* The test has power: draws with s = 0.95 (or 0.99 over a different n) fail the fit
 * to s = 0.99 by far. */
static void test_detects_wrong_exponent(void **state)
{
    (void)state;
    struct fit f = fit_zipf(10000000, 0.95, 0.99, 2000000, 1);
    assert_true(f.chi2 > 10 * f.critical);
    f = fit_zipf(1000, 1.0, 0.99, 500000, 1);
    assert_true(f.chi2 > f.critical);
}

/* The most popular rank's share is the exact 1 / sum i^-s within 1% relative (the
 * chi-square above aggregates; this pins the head on its own). */
static void test_head_probability(void **state)
{
    (void)state;
    const uint64_t n = 10000000;
    const long draws = 2000000;
    struct zipf z;
    struct zipf_rng rng;
    double total = 0;
    long ones = 0, twos = 0;
    assert_int_equal(zipf_init(&z, n, 0.99), 0);
    for (uint64_t k = 1; k <= n; k++)
        total += pow((double)k, -0.99);
    zipf_rng_seed(&rng, 42);
    for (long i = 0; i < draws; i++) {
        uint64_t k = zipf_next(&z, &rng);
        ones += k == 1;
        twos += k == 2;
    }
    double p1 = 1.0 / total, p2 = pow(2.0, -0.99) / total;
    assert_true(fabs((double)ones / (double)draws - p1) < 0.01 * p1);
    assert_true(fabs((double)twos / (double)draws - p2) < 0.02 * p2);
}

static void test_seeds_and_limits(void **state)
{
    (void)state;
    struct zipf z;
    struct zipf_rng a, b, c;
    assert_int_equal(zipf_init(&z, 10000000, 0.99), 0);
    zipf_rng_seed(&a, 5);
    zipf_rng_seed(&b, 5);
    zipf_rng_seed(&c, 6);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t ka = zipf_next(&z, &a), kb = zipf_next(&z, &b), kc = zipf_next(&z, &c);
        assert_true(ka == kb);
        differ += ka != kc;
    }
    assert_true(differ > 500);

    /* One rank: always 1. */
    assert_int_equal(zipf_init(&z, 1, 0.99), 0);
    for (int i = 0; i < 1000; i++)
        assert_true(zipf_next(&z, &a) == 1);

    struct zipf untouched = {.n = 77};
    assert_int_equal(zipf_init(&untouched, 0, 0.99), -1);
    assert_int_equal(zipf_init(&untouched, ZIPF_N_MAX + 1, 0.99), -1);
    assert_int_equal(zipf_init(&untouched, 10, -0.1), -1);
    assert_int_equal(zipf_init(&untouched, 10, ZIPF_S_MAX + 0.5), -1);
    assert_int_equal(zipf_init(&untouched, 10, NAN), -1);
    assert_true(untouched.n == 77);
    assert_int_equal(zipf_init(&z, ZIPF_N_MAX, ZIPF_S_MAX), 0);
    for (int i = 0; i < 1000; i++) {
        uint64_t k = zipf_next(&z, &a);
        assert_true(k >= 1 && k <= ZIPF_N_MAX);
    }

    /* Doubles stay in [0, 1). */
    for (int i = 0; i < 100000; i++) {
        double u = zipf_rng_double(&a);
        assert_true(u >= 0.0 && u < 1.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits_default),           cmocka_unit_test(test_fits_other_exponents),
        cmocka_unit_test(test_detects_wrong_exponent), cmocka_unit_test(test_head_probability),
        cmocka_unit_test(test_seeds_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
