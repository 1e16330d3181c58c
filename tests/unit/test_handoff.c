/*
 * tests/unit/test_handoff.c - a batch of entries shared by the loop and a
 * reader thread (src/base/handoff.h): each slot is read by exactly one of them.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ds/dict.h"
#include "base/handoff.h"
#include "base/util.h"

#define ROUNDS 300

/* Entries that are never dereferenced by the batch: addresses will do. */
static struct dict_entry *fake(unsigned char *base, uint32_t i)
{
    return (struct dict_entry *)(void *)(base + (size_t)i * 48);
}

static void test_find_and_states(void **state)
{
    (void)state;
    static unsigned char mem[HANDOFF_ENTRIES * 48 + 48];
    struct handoff_batch *b = handoff_new();
    for (uint32_t i = 0; i < HANDOFF_ENTRIES; i++)
        assert_true(handoff_add(b, fake(mem, i)));
    assert_false(handoff_add(b, fake(mem, HANDOFF_ENTRIES)));
    assert_int_equal(handoff_len(b), HANDOFF_ENTRIES);
    for (uint32_t i = 0; i < HANDOFF_ENTRIES; i++)
        assert_int_equal(handoff_find(b, fake(mem, i)), i);
    assert_int_equal(handoff_find(b, fake(mem, HANDOFF_ENTRIES)), -1);

    /* the thread takes 0 and reads it; takes 1 and leaves it; the loop
     * claims 2 before the thread gets to it */
    assert_ptr_equal(handoff_take(b, 0), fake(mem, 0));
    handoff_done(b, 0, false);
    assert_ptr_equal(handoff_take(b, 1), fake(mem, 1));
    handoff_done(b, 1, true);
    assert_true(handoff_claim(b, 2));
    assert_null(handoff_take(b, 2));
    assert_false(handoff_claim(b, 0)); /* read: nothing to do */
    assert_true(handoff_claim(b, 1));  /* left to the loop */
    assert_false(handoff_claim(b, 1)); /* claimed already */
    assert_false(handoff_claim(b, 2));
    assert_ptr_equal(handoff_entry(b, 1), fake(mem, 1));

    handoff_reset(b);
    assert_int_equal(handoff_len(b), 0);
    assert_int_equal(handoff_find(b, fake(mem, 0)), -1);
    handoff_free(b);
}

struct race {
    struct handoff_batch *b;
    atomic_int go;
    _Atomic uint32_t read_by_thread[HANDOFF_ENTRIES];
};

static void *reader(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->go)) {
    }
    uint32_t n = handoff_len(r->b);
    for (uint32_t i = 0; i < n; i++) {
        if (!handoff_take(r->b, i)) continue;
        atomic_fetch_add(&r->read_by_thread[i], 1);
        handoff_done(r->b, i, i % 7 == 0); /* some left to the loop */
    }
    return NULL;
}

/* The loop claims slots (in another order) while the thread takes them:
 * every slot is read once, by exactly one of them (a DEFERRED slot: by
 * both, the thread only looking). */
static void test_claims_race_the_thread(void **state)
{
    (void)state;
    static unsigned char mem[HANDOFF_ENTRIES * 48];
    static struct race r;
    uint64_t rng = 7;
    r.b = handoff_new();
    for (int round = 0; round < ROUNDS; round++) {
        handoff_reset(r.b);
        for (uint32_t i = 0; i < HANDOFF_ENTRIES; i++) {
            handoff_add(r.b, fake(mem, i));
            atomic_store(&r.read_by_thread[i], 0);
        }
        atomic_store(&r.go, 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, reader, &r), 0);
        atomic_store(&r.go, 1);
        uint32_t by_loop[HANDOFF_ENTRIES] = {0};
        uint32_t start = (uint32_t)util_rand_below(&rng, HANDOFF_ENTRIES);
        for (uint32_t k = 0; k < HANDOFF_ENTRIES; k++) {
            uint32_t i = (start + HANDOFF_ENTRIES - k) % HANDOFF_ENTRIES;
            if (handoff_claim(r.b, i)) by_loop[i]++;
        }
        pthread_join(t, NULL);
        for (uint32_t i = 0; i < HANDOFF_ENTRIES; i++) {
            uint32_t thread = atomic_load(&r.read_by_thread[i]);
            bool deferred = thread && i % 7 == 0;
            assert_int_equal(by_loop[i], deferred || !thread ? 1 : 0);
            assert_true(thread <= 1);
        }
    }
    handoff_free(r.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_and_states),
        cmocka_unit_test(test_claims_race_the_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
