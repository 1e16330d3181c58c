/*
 * tests/unit/test_info.c - the INFO text builder (src/base/info.h).
 *
 * Every INFO, RAFT.INFO and CLUSTER reply starts from an empty info_text
 * ({NULL, 0, 0}); the first append must work from there, and growth must
 * keep every byte. Under `make asan` (UBSan) this also checks that no
 * arithmetic is done on the NULL pointer of an empty text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/info.h"

static void test_first_append_to_empty_text(void **state)
{
    (void)state;
    struct info_text t = {0};
    info_addf(&t, "# Raft\r\nnode_id:%d\r\n", 3);
    assert_int_equal(t.len, strlen("# Raft\r\nnode_id:3\r\n"));
    assert_memory_equal(t.p, "# Raft\r\nnode_id:3\r\n", t.len);
    free(t.p);
}

static void test_empty_format_on_empty_text(void **state)
{
    (void)state;
    struct info_text t = {0};
    info_addf(&t, "%s", "");
    assert_int_equal(t.len, 0);
    free(t.p);
}

static void test_growth_keeps_every_line(void **state)
{
    (void)state;
    struct info_text t = {0};
    char want[64];
    for (int i = 0; i < 5000; i++)
        info_addf(&t, "node%d:id=%d,voting=yes\r\n", i, i + 1);
    size_t off = 0;
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(want, sizeof want, "node%d:id=%d,voting=yes\r\n", i, i + 1);
        assert_true(off + (size_t)n <= t.len);
        assert_memory_equal(t.p + off, want, (size_t)n);
        off += (size_t)n;
    }
    assert_int_equal(off, t.len);
    free(t.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_append_to_empty_text),
        cmocka_unit_test(test_empty_format_on_empty_text),
        cmocka_unit_test(test_growth_keeps_every_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
