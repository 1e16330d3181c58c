/*
 * tests/unit/test_fifo.c - the growing ring (src/base/fifo.h) against a
 * plain array used as a queue: random pushes, pops and truncations, with
 * the head wrapping at every capacity it grows through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/fifo.h"

struct item {
    uint64_t v;
    char pad[13]; /* an item size that is no power of two */
};

static void test_order_and_zeroed_slots(void **state)
{
    (void)state;
    struct fifo f;
    fifo_init(&f, sizeof(struct item));
    assert_int_equal(fifo_len(&f), 0);
    for (uint64_t i = 0; i < 100; i++) {
        struct item *it = fifo_push(&f);
        assert_int_equal(it->v, 0);
        it->v = i;
    }
    for (uint64_t i = 0; i < 100; i++) {
        assert_int_equal(((struct item *)fifo_at(&f, 0))->v, i);
        fifo_pop(&f);
    }
    assert_int_equal(fifo_len(&f), 0);
    fifo_free(&f);
    fifo_free(&f); /* freeing twice leaves it empty, not broken */
    *(struct item *)fifo_push(&f) = (struct item){.v = 7};
    assert_int_equal(((struct item *)fifo_at(&f, 0))->v, 7);
    fifo_free(&f);
}

/* Growth while the items wrap past the end of the slots keeps their order. */
static void test_random_against_model(void **state)
{
    (void)state;
    srand(12345);
    uint64_t *model = malloc(100000 * sizeof *model);
    size_t m_head = 0, m_len = 0;
    uint64_t next = 1;
    struct fifo f;
    fifo_init(&f, sizeof(struct item));
    for (int step = 0; step < 50000; step++) {
        int r = rand() % 100;
        if (r < 55) {
            ((struct item *)fifo_push(&f))->v = next;
            model[m_head + m_len++] = next++;
        } else if (r < 98 && m_len) {
            assert_int_equal(((struct item *)fifo_at(&f, 0))->v, model[m_head]);
            fifo_pop(&f);
            m_head++;
            m_len--;
        } else if (m_len) {
            size_t keep = (size_t)rand() % (m_len + 1);
            fifo_truncate(&f, keep);
            m_len = keep;
        }
        assert_int_equal(fifo_len(&f), m_len);
        if (m_len) {
            size_t i = (size_t)rand() % m_len;
            assert_int_equal(((struct item *)fifo_at(&f, i))->v, model[m_head + i]);
        }
        if (m_head > 50000) { /* the model's array slides back */
            memmove(model, model + m_head, m_len * sizeof *model);
            m_head = 0;
        }
    }
    assert_true(f.cap >= fifo_len(&f) && (f.cap & (f.cap - 1)) == 0);
    fifo_free(&f);
    free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_zeroed_slots),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
