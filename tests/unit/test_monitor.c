/*
 * tests/unit/test_monitor.c - src/cmd/monitor.h: histogram percentiles and
 * power-of-two counts, error codes, the slow log's trimming, redaction and
 * ring, the latency monitor's events, CONFIG RESETSTAT's reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmd/monitor.h"

#define NCMDS 4

static struct resp_arg arg(const char *s)
{
    return (struct resp_arg){s, strlen(s)};
}

static void setup(struct monitor *m)
{
    monitor_init(m, NCMDS);
    m->slower_than_us = 0;
    monitor_slowlog_resize(m, 128);
    m->tracking = 1;
}

static void test_histogram(void **state)
{
    (void)state;
    struct monitor_hist *h = calloc(1, sizeof *h);
    assert_int_equal(monitor_hist_percentile(h, 50), 0);
    for (uint64_t v = 1; v <= 1000; v++)
        monitor_hist_record(h, v * 1000); /* 1 us .. 1 ms */
    uint64_t p50 = monitor_hist_percentile(h, 50), p99 = monitor_hist_percentile(h, 99);
    /* Within a bucket's width (1/16) of the exact value, never below it. */
    assert_true(p50 >= 500000 && p50 <= 500000 + 500000 / 16);
    assert_true(p99 >= 990000 && p99 <= 990000 + 990000 / 16);
    assert_true(monitor_hist_percentile(h, 0) >= 1000 && monitor_hist_percentile(h, 0) < 1100);
    assert_true(monitor_hist_percentile(h, 100) >= 1000000);
    /* Values below 2^10 ns = 1024: the 1 us one only. */
    assert_int_equal(monitor_hist_below_pow2(h, 10), 1);
    assert_int_equal(monitor_hist_below_pow2(h, 40), 1000);
    monitor_hist_record(h, 1ULL << 50); /* past the top: the last bucket */
    assert_int_equal(h->total, 1001);
    assert_int_equal(monitor_hist_below_pow2(h, 39), 1000);
    assert_int_equal(monitor_hist_below_pow2(h, 40), 1001);
    free(h);
}

static void test_error_codes(void **state)
{
    (void)state;
    struct monitor m;
    setup(&m);
    monitor_error(&m, "WRONGTYPE Operation", 19);
    monitor_error(&m, "ERR x", 5);
    monitor_error(&m, "ERR", 3); /* no space: ERR */
    monitor_error(&m, "MOVED 1 h:1", 11);
    monitor_error(&m, "ERRX y", 6);
    assert_int_equal(m.total_error_replies, 5);
    assert_int_equal(m.nerrors, 4);
    const char *order[] = {"ERR", "ERRX", "MOVED", "WRONGTYPE"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(m.errors[i].code, order[i]);
    assert_int_equal(m.errors[0].count, 2);
    char code[16];
    for (int i = 0; i < MONITOR_ERROR_CODES_MAX + 10; i++) {
        int n = snprintf(code, sizeof code, "C%d x", i);
        monitor_error(&m, code, (size_t)n);
    }
    assert_int_equal(m.nerrors, MONITOR_ERROR_CODES_MAX);
    assert_int_equal(m.total_error_replies, 5 + MONITOR_ERROR_CODES_MAX + 10);
    monitor_reset_stats(&m);
    assert_int_equal(m.nerrors, 0);
    assert_int_equal(m.total_error_replies, 0);
    monitor_free(&m);
}

static void test_slowlog_trims_and_redacts(void **state)
{
    (void)state;
    struct monitor m;
    setup(&m);
    struct resp_arg argv[40];
    char nums[40][8];
    argv[0] = arg("sadd");
    for (int i = 1; i < 40; i++) {
        snprintf(nums[i], sizeof nums[i], "%d", i);
        argv[i] = arg(nums[i]);
    }
    struct monitor_caller who = {"127.0.0.1:5", "me"};
    monitor_call(&m, 0, 0, 40, argv, 7, &who);
    const struct slowlog_entry *e = monitor_slowlog_at(&m, 0);
    assert_int_equal(e->argc, SLOWLOG_ARGS_MAX);
    assert_string_equal(e->argv[31].ptr, "... (9 more arguments)");
    assert_string_equal(e->addr, "127.0.0.1:5");
    assert_string_equal(e->name, "me");
    assert_int_equal(e->duration_us, 7);

    char big[300];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct resp_arg v2[] = {arg("set"), arg("k"), arg(big)};
    monitor_call(&m, 1, 0, 3, v2, 1, NULL);
    e = monitor_slowlog_at(&m, 0);
    assert_int_equal(e->argv[2].len, 128 + strlen("... (171 more bytes)"));
    assert_memory_equal(e->argv[2].ptr + 128, "... (171 more bytes)", 20);
    assert_string_equal(e->addr, "");

    struct resp_arg auth[] = {arg("AUTH"), arg("user"), arg("pw")};
    monitor_call(&m, 2, 0, 3, auth, 1, NULL);
    e = monitor_slowlog_at(&m, 0);
    assert_string_equal(e->argv[1].ptr, "(redacted)");
    assert_string_equal(e->argv[2].ptr, "(redacted)");
    struct resp_arg cs[] = {arg("config"), arg("set"), arg("requirepass"),
                            arg("x"),      arg("hz"),  arg("10")};
    monitor_call(&m, 2, 0, 6, cs, 1, NULL);
    e = monitor_slowlog_at(&m, 0);
    assert_string_equal(e->argv[3].ptr, "(redacted)");
    assert_string_equal(e->argv[5].ptr, "10");
    struct resp_arg hello[] = {arg("hello"), arg("3"), arg("AUTH"), arg("u"), arg("p")};
    monitor_call(&m, 2, 0, 5, hello, 1, NULL);
    e = monitor_slowlog_at(&m, 0);
    assert_string_equal(e->argv[2].ptr, "AUTH");
    assert_string_equal(e->argv[3].ptr, "(redacted)");
    assert_string_equal(e->argv[4].ptr, "(redacted)");

    /* Not logged: below the threshold, flagged, blocked. */
    size_t len = m.slowlog_len;
    m.slower_than_us = 100;
    monitor_call(&m, 1, 0, 3, v2, 99, NULL);
    m.slower_than_us = 0;
    monitor_call(&m, 1, MONITOR_NO_SLOWLOG, 3, v2, 1, NULL);
    monitor_call(&m, 1, MONITOR_BLOCKED, 3, v2, 1, NULL);
    assert_int_equal(m.slowlog_len, len);
    monitor_free(&m);
}

static void test_slowlog_ring(void **state)
{
    (void)state;
    struct monitor m;
    setup(&m);
    monitor_slowlog_resize(&m, 10);
    struct resp_arg v[] = {arg("ping")};
    for (int i = 0; i < 100; i++)
        monitor_call(&m, 0, 0, 1, v, i, NULL);
    assert_int_equal(m.slowlog_len, 10);
    for (size_t i = 0; i < 10; i++) /* newest first */
        assert_int_equal(monitor_slowlog_at(&m, i)->id, 99 - i);
    monitor_slowlog_resize(&m, 3);
    assert_int_equal(m.slowlog_len, 3);
    assert_int_equal(monitor_slowlog_at(&m, 0)->id, 99);
    assert_int_equal(monitor_slowlog_at(&m, 2)->id, 97);
    monitor_call(&m, 0, 0, 1, v, 1, NULL);
    assert_int_equal(monitor_slowlog_at(&m, 0)->id, 100);
    assert_int_equal(monitor_slowlog_at(&m, 2)->id, 98);
    monitor_slowlog_resize(&m, 0);
    monitor_call(&m, 0, 0, 1, v, 1, NULL);
    assert_int_equal(m.slowlog_len, 0);
    monitor_slowlog_resize(&m, 5);
    monitor_call(&m, 0, 0, 1, v, 1, NULL);
    assert_int_equal(m.slowlog_len, 1);
    monitor_slowlog_reset(&m);
    assert_int_equal(m.slowlog_len, 0);
    monitor_free(&m);
}

static void test_calls_and_events(void **state)
{
    (void)state;
    struct monitor m;
    setup(&m);
    struct resp_arg v[] = {arg("get"), arg("k")};
    monitor_call(&m, 1, MONITOR_FAST, 2, v, 3000, NULL);
    monitor_call(&m, 1, MONITOR_FAST | MONITOR_FAILED, 2, v, 1000, NULL);
    monitor_call(&m, 1, MONITOR_BLOCKED, 2, v, 5, NULL);
    monitor_rejected(&m, 1);
    const struct cmd_stats *st = &m.cmds[1];
    assert_int_equal(st->calls, 2);
    assert_int_equal(st->usec, 4005);
    assert_int_equal(st->failed_calls, 1);
    assert_int_equal(st->rejected_calls, 1);
    assert_int_equal(st->hist->total, 2);
    assert_null(monitor_event_find(&m, "fast-command", 12)); /* monitor off */

    m.threshold_ms = 2;
    monitor_call(&m, 1, MONITOR_FAST, 2, v, 1000, NULL); /* under 2 ms */
    assert_null(monitor_event_find(&m, "fast-command", 12));
    monitor_call(&m, 1, MONITOR_FAST, 2, v, 5000, NULL);
    monitor_call(&m, 1, MONITOR_FAST, 2, v, 3000, NULL); /* same second: keeps the worst */
    monitor_call(&m, 2, 0, 2, v, 9000, NULL);
    const struct monitor_event *e = monitor_event_find(&m, "fast-command", 12);
    assert_non_null(e);
    assert_int_equal(monitor_event_latest(e)->ms, 5);
    assert_int_equal(e->max_ms, 5);
    e = monitor_event_find(&m, "command", 7);
    assert_non_null(e);
    assert_int_equal(e->max_ms, 9);
    monitor_event(&m, "raft-fsync", 1); /* under the threshold */
    assert_null(monitor_event_find(&m, "raft-fsync", 10));
    struct resp_arg names[] = {arg("COMMAND"), arg("nosuch")};
    assert_int_equal(monitor_events_reset(&m, 2, names), 1);
    assert_null(monitor_event_find(&m, "command", 7));
    assert_int_equal(monitor_events_reset(&m, 0, NULL), 1);

    m.tracking = 0;
    monitor_reset_stats(&m);
    monitor_call(&m, 1, 0, 2, v, 1, NULL);
    assert_null(m.cmds[1].hist);
    assert_int_equal(m.cmds[1].calls, 1);
    monitor_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_slowlog_trims_and_redacts),
        cmocka_unit_test(test_slowlog_ring),
        cmocka_unit_test(test_calls_and_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
