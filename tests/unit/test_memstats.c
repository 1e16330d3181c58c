/*
 * tests/unit/test_memstats.c - MEMORY DOCTOR's report (src/server/memstats.c) on
 * chosen figures: each of Redis 7.0's conditions alone, none, several, and
 * the empty instance that hides them all; and the derived percentages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/memstats.h"

#define MB ((size_t)1024 * 1024)

static const char *const FINE = "Hi Sam, I can't find any memory issue in your instance. I can "
                                "only account for what occurs on this base.\n";
static const char *const HEAD =
    "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
static const char *const TAIL = "I'm here to keep you safe, Sam. I want to help you.\n";

/* 100 MB used, every overhead well under its threshold, one client. */
static struct memstats healthy(void)
{
    struct memstats m = {0};
    m.mem.alloc = (struct alloc_stats){
        .allocated = 100 * MB, .active = 102 * MB, .resident = 104 * MB, .has_pages = 1};
    m.used = 100 * MB;
    m.mem.rss_bytes = 110 * MB;
    m.mem.peak_bytes = 120 * MB;
    m.mem.startup_bytes = 1 * MB;
    m.clients = 1;
    m.clients_normal = 20 * 1024;
    return m;
}

/* The report on m; the caller frees it. */
static char *doctor(const struct memstats *m, size_t scripts)
{
    struct info_text t = {0};
    memstats_doctor(m, scripts, &t);
    assert_non_null(t.p);
    return t.p;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void test_empty_instance(void **state)
{
    (void)state;
    struct memstats m = healthy();
    m.used = m.mem.alloc.allocated = 5 * MB - 1;
    m.mem.rss_bytes = 200 * MB; /* would be an issue, but an empty instance hides them */
    char *r = doctor(&m, 5000);
    static const char empty[] = "Hi Sam, this instance is empty or is using very little memory";
    assert_memory_equal(r, empty, sizeof empty - 1);
    assert_int_equal(count(r, " * "), 0);
    free(r);
}

static void test_fine(void **state)
{
    (void)state;
    struct memstats m = healthy();
    char *r = doctor(&m, 1000);
    assert_string_equal(r, FINE);
    free(r);
}

/* One condition at a time: the report has the head, that paragraph alone,
 * and the tail. */
static void expect_one(const struct memstats *m, size_t scripts, const char *title)
{
    char *r = doctor(m, scripts);
    size_t hl = strlen(HEAD), tl = strlen(TAIL), n = strlen(r);
    assert_true(n > hl + tl);
    assert_memory_equal(r, HEAD, hl);
    assert_string_equal(r + n - tl, TAIL);
    assert_int_equal(count(r, "\n * "), 1);
    assert_non_null(strstr(r, title));
    free(r);
}

static void test_each_condition(void **state)
{
    (void)state;
    struct memstats m = healthy();
    m.mem.peak_bytes = 151 * MB;
    expect_one(&m, 0, " * Peak memory: In the past this instance used more than 150%");

    m = healthy();
    m.mem.rss_bytes = 150 * MB; /* 1.5 times used, 1.07 times the allocator's resident */
    m.mem.alloc.resident = 140 * MB;
    m.mem.alloc.active = 130 * MB;
    m.used = m.mem.alloc.allocated = 100 * MB; /* makes the allocator's fragmentation high too */
    char *r = doctor(&m, 0);
    assert_non_null(strstr(r, " * High total RSS: "));
    assert_non_null(strstr(r, "Note: The currently used allocator is \""));
    assert_non_null(strstr(r, " * High allocator fragmentation: "));
    assert_int_equal(count(r, "\n * "), 2);
    free(r);

    m = healthy();
    m.mem.alloc.active = 115 * MB;
    m.mem.alloc.resident = 116 * MB;
    m.mem.rss_bytes = 120 * MB;
    expect_one(&m, 0, " * High allocator fragmentation: ");

    m = healthy();
    m.mem.alloc.resident = 125 * MB;
    m.mem.rss_bytes = 130 * MB;
    expect_one(&m, 0, " * High allocator RSS overhead: ");

    m = healthy();
    m.mem.rss_bytes = 130 * MB;
    expect_one(&m, 0, " * High process RSS overhead: ");

    m = healthy();
    m.clients = 2;
    m.clients_normal = 2 * 201 * 1024;
    expect_one(&m, 0, " * Big client buffers: ");

    m = healthy();
    expect_one(&m, 1001, " * Many scripts: ");
}

/* A ratio over its threshold but by less than 10 MB is not an issue. */
static void test_small_overheads_are_fine(void **state)
{
    (void)state;
    struct memstats m = healthy();
    m.used = m.mem.alloc.allocated = 6 * MB;
    m.mem.alloc.active = 8 * MB;
    m.mem.alloc.resident = 10 * MB;
    m.mem.rss_bytes = 15 * MB;
    m.mem.peak_bytes = 8 * MB;
    char *r = doctor(&m, 0);
    assert_string_equal(r, FINE);
    free(r);
}

/* Without the allocator's pages (sanitizer builds) only the tests that do
 * not need them run. */
static void test_without_pages(void **state)
{
    (void)state;
    struct memstats m = healthy();
    m.mem.alloc.has_pages = 0;
    m.mem.alloc.active = m.mem.alloc.resident = 0;
    char *r = doctor(&m, 0);
    assert_string_equal(r, FINE);
    free(r);
}

static void test_derived_figures(void **state)
{
    (void)state;
    struct memstats m = healthy();
    m.keys = 1000;
    m.net = m.used - m.mem.startup_bytes;
    m.dataset = 60 * MB;
    assert_int_equal(memstats_bytes_per_key(&m), m.net / 1000);
    assert_true(memstats_dataset_perc(&m) > 60.6 && memstats_dataset_perc(&m) < 60.61);
    assert_true(memstats_peak_perc(&m) > 83.33 && memstats_peak_perc(&m) < 83.34);
    m.keys = 0;
    assert_int_equal(memstats_bytes_per_key(&m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_instance), cmocka_unit_test(test_fine),
        cmocka_unit_test(test_each_condition), cmocka_unit_test(test_small_overheads_are_fine),
        cmocka_unit_test(test_without_pages),  cmocka_unit_test(test_derived_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
