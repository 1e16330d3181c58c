/*
 * tests/unit/ql_check.h - a check shared by the unit tests that load lists
 * (test_t_list.c, test_snapshot.c): a quicklist holds exactly the given
 * elements, head to tail. Include after cmocka.h and src/ds/quicklist.h.
 */
#ifndef QL_CHECK_H
#define QL_CHECK_H

#include <string.h>

static inline void ql_check_elements(const struct quicklist *ql, const char *const *want, size_t n)
{
    assert_int_equal(ql->count, n);
    struct ql_iter it;
    ql_iter_init(&it, ql, 0, 0);
    const char *p;
    size_t len;
    for (size_t i = 0; i < n; i++) {
        assert_true(ql_iter_next(&it, &p, &len));
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(p, want[i], len);
    }
    assert_false(ql_iter_next(&it, &p, &len));
    ql_iter_done(&it);
}

#endif
