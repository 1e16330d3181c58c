/*
 * tests/unit/test_alloc.c - the allocator's figures (src/base/alloc.h), as INFO
 * memory and maxmemory read them: in the normal build (jemalloc) and under
 * `make asan` (AddressSanitizer's allocator), the same assertions hold, but
 * for the page figures, which only jemalloc gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define BLOCK_BYTES (8u << 20)

static int is_jemalloc(void)
{
    char name[64];
    alloc_name(name, sizeof name);
    return strncmp(name, "jemalloc-", 9) == 0;
}

static void test_name(void **state)
{
    (void)state;
    char name[64];
    alloc_name(name, sizeof name);
    if (is_jemalloc()) {
        /* "jemalloc-X.Y.Z": the release without the commit suffix */
        assert_non_null(strchr(name + 9, '.'));
        assert_null(strchr(name + 9, '-'));
    } else {
        assert_string_equal(name, "libc");
    }
    char tiny[4];
    alloc_name(tiny, sizeof tiny); /* truncated, still terminated */
    assert_int_equal(strlen(tiny), 3);
}

/* An allocation shows in allocated at once, and leaves it when freed:
 * maxmemory and the "memory back after DEL" guarantees rest on that. */
static void test_allocated_follows_malloc_and_free(void **state)
{
    (void)state;
    struct alloc_stats before, during, after;
    alloc_read_stats(&before);
    char *p = malloc(BLOCK_BYTES);
    assert_non_null(p);
    memset(p, 1, BLOCK_BYTES);
    alloc_read_stats(&during);
    assert_true(during.allocated >= before.allocated + BLOCK_BYTES);
    free(p);
    alloc_read_stats(&after);
    assert_true(after.allocated + BLOCK_BYTES <= during.allocated);
}

static void test_page_figures(void **state)
{
    (void)state;
    struct alloc_stats st;
    alloc_read_stats(&st);
    assert_true(st.allocated > 0);
    if (!is_jemalloc()) {
        assert_int_equal(st.has_pages, 0);
        assert_int_equal(st.active, 0);
        assert_int_equal(st.resident, 0);
        return;
    }
    assert_int_equal(st.has_pages, 1);
    assert_true(st.allocated <= st.active);
    assert_true(st.active <= st.resident);
}

/* Freed small blocks leave dirty pages behind, still resident: purge gives
 * them back to the system (MEMORY PURGE). */
static void test_purge_returns_dirty_pages(void **state)
{
    (void)state;
    enum { N = 8192, SIZE = 1000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++) {
        assert_non_null(blocks[i] = malloc(SIZE));
        memset(blocks[i], 1, SIZE);
    }
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    struct alloc_stats dirty, purged;
    alloc_read_stats(&dirty);
    assert_int_equal(alloc_purge(), 0);
    alloc_read_stats(&purged);
    if (is_jemalloc()) assert_true(purged.resident + (N * SIZE) / 2 <= dirty.resident);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_allocated_follows_malloc_and_free),
        cmocka_unit_test(test_page_figures),
        cmocka_unit_test(test_purge_returns_dirty_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
