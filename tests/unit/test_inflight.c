/*
 * tests/unit/test_inflight.c - writes on their way through the log
 * (src/sm/inflight.h): a staged write makes its key busy, a proposed one until
 * its index is applied; a refused proposal is forgotten; keys of one bucket
 * (hash tags) share it; keyless writes and a new leader's inherited entries
 * make every key busy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sm/inflight.h"

#define K(s) s, strlen(s)

static void test_staged_then_proposed_until_applied(void **unused)
{
    (void)unused;
    struct inflight f;
    inflight_init(&f);
    assert_false(inflight_busy(&f, K("a"), 0));
    inflight_stage_key(&f, K("a"));
    inflight_stage_key(&f, K("a"));              /* twice in one entry: one bucket */
    assert_true(inflight_busy(&f, K("a"), 100)); /* staged: ahead of anything proposed next */
    assert_false(inflight_busy(&f, K("b"), 0));
    inflight_proposed(&f, 7);
    assert_true(inflight_busy(&f, K("a"), 6));
    assert_false(inflight_busy(&f, K("a"), 7));
    assert_false(inflight_busy(&f, K("b"), 6));
    /* A later write to the same key moves its bucket to the later index. */
    inflight_stage_key(&f, K("a"));
    inflight_proposed(&f, 9);
    assert_true(inflight_busy(&f, K("a"), 8));
    assert_false(inflight_busy(&f, K("a"), 9));
    inflight_free(&f);
}

static void test_refused_proposal_is_forgotten(void **unused)
{
    (void)unused;
    struct inflight f;
    inflight_init(&f);
    inflight_stage_key(&f, K("x"));
    inflight_stage_all(&f);
    inflight_proposed(&f, 0);
    assert_false(inflight_busy(&f, K("x"), 0));
    assert_false(inflight_busy(&f, K("y"), 0));
    inflight_free(&f);
}

static void test_buckets_and_hash_tags(void **unused)
{
    (void)unused;
    struct inflight f;
    inflight_init(&f);
    inflight_stage_key(&f, K("{user1}.name"));
    inflight_proposed(&f, 3);
    assert_true(inflight_busy(&f, K("{user1}.mail"), 2)); /* same slot: conservative */
    assert_false(inflight_busy(&f, K("{user2}.mail"), 2));
    inflight_free(&f);
}

static void test_keyless_and_inherited_entries_touch_everything(void **unused)
{
    (void)unused;
    struct inflight f;
    inflight_init(&f);
    inflight_stage_all(&f); /* FLUSHALL */
    assert_true(inflight_busy(&f, K("anything"), 0));
    inflight_proposed(&f, 4);
    assert_true(inflight_busy(&f, K("anything"), 3));
    assert_false(inflight_busy(&f, K("anything"), 4));
    inflight_all(&f, 10); /* became leader with entries up to 10 unapplied */
    assert_true(inflight_busy(&f, K("other"), 9));
    assert_false(inflight_busy(&f, K("other"), 10));
    inflight_all(&f, 5); /* never moves back */
    assert_true(inflight_busy(&f, K("other"), 9));
    inflight_free(&f);
}

static void test_many_entries_reuse_generations(void **unused)
{
    (void)unused;
    struct inflight f;
    inflight_init(&f);
    for (uint64_t i = 1; i <= 100000; i++) {
        inflight_stage_key(&f, K("hot"));
        inflight_proposed(&f, i);
        assert_true(inflight_busy(&f, K("hot"), i - 1));
        assert_false(inflight_busy(&f, K("hot"), i));
        assert_false(inflight_busy(&f, K("cold"), 0));
    }
    f.gen = UINT32_MAX; /* wrap-around clears the staged marks */
    inflight_stage_key(&f, K("w"));
    inflight_proposed(&f, 100001);
    assert_int_equal(f.gen, 1);
    assert_false(inflight_busy(&f, K("w"), 100001));
    inflight_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staged_then_proposed_until_applied),
        cmocka_unit_test(test_refused_proposal_is_forgotten),
        cmocka_unit_test(test_buckets_and_hash_tags),
        cmocka_unit_test(test_keyless_and_inherited_entries_touch_everything),
        cmocka_unit_test(test_many_entries_reuse_generations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
