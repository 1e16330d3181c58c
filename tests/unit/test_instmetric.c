/*
 * tests/unit/test_instmetric.c - the sampled rates behind INFO's
 * instantaneous_* fields (src/base/instmetric.h): the period is kept
 * however often the cron calls, the rate is the mean of the last 16
 * intervals, and a counter reset counts as no traffic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/instmetric.h"

static void test_first_sample_only_records(void **state)
{
    (void)state;
    struct instmetric m = {0};
    instmetric_sample(&m, 5000, 1000);
    assert_true(instmetric_rate(&m) == 0.0);
}

/* 10 units every 100 ms, sampled 16 times: 100 a second. */
static void test_steady_rate(void **state)
{
    (void)state;
    struct instmetric m = {0};
    for (int i = 0; i <= INSTMETRIC_SAMPLES; i++)
        instmetric_sample(&m, 1000 + i * INSTMETRIC_PERIOD_MS, (uint64_t)(10 * i));
    assert_true(instmetric_rate(&m) == 100.0);
}

/* Calls closer than the period take no sample: the cron may run at any hz. */
static void test_calls_within_the_period_are_ignored(void **state)
{
    (void)state;
    struct instmetric m = {0};
    instmetric_sample(&m, 1000, 0);
    instmetric_sample(&m, 1050, 500);
    assert_true(instmetric_rate(&m) == 0.0);
    instmetric_sample(&m, 1100, 1600); /* 1600 in 100 ms, one slot of 16 */
    assert_true(instmetric_rate(&m) == 16000.0 / INSTMETRIC_SAMPLES);
}

/* CONFIG RESETSTAT lowers the counter: that interval counts as 0, and the
 * old samples age out of the ring. */
static void test_counter_reset_counts_as_zero(void **state)
{
    (void)state;
    struct instmetric m = {0};
    instmetric_sample(&m, 1000, 1000);
    instmetric_sample(&m, 1100, 10);
    assert_true(instmetric_rate(&m) == 0.0);
    for (int i = 2; i <= INSTMETRIC_SAMPLES + 1; i++)
        instmetric_sample(&m, 1000 + i * INSTMETRIC_PERIOD_MS, 10);
    assert_true(instmetric_rate(&m) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_sample_only_records),
        cmocka_unit_test(test_steady_rate),
        cmocka_unit_test(test_calls_within_the_period_are_ignored),
        cmocka_unit_test(test_counter_reset_counts_as_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
