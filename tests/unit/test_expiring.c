/*
 * tests/unit/test_expiring.c - keys proposed for expiry and not applied yet
 * (src/keyspace/expiring.h): a key is held from its proposal until its entry is
 * applied, released at once when the log refuses the entry, all released
 * on a leadership change; the set is bounded; keys are binary-safe copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keyspace/expiring.h"

#define K(s) s, strlen(s)

static void test_held_until_applied(void **unused)
{
    (void)unused;
    struct expiring x;
    expiring_init(&x, 1, 100);
    assert_false(expiring_has(&x, 0, K("a")));
    expiring_add(&x, 0, K("a"), 0);
    expiring_add(&x, 0, K("b"), 0);
    assert_true(expiring_has(&x, 0, K("a"))); /* held while the entry is built */
    expiring_proposed(&x, 10);
    expiring_add(&x, 0, K("c"), 0);
    expiring_proposed(&x, 12);
    assert_int_equal(expiring_count(&x), 3);
    expiring_applied(&x, 9);
    assert_true(expiring_has(&x, 0, K("a")));
    expiring_applied(&x, 11);
    assert_false(expiring_has(&x, 0, K("a")));
    assert_false(expiring_has(&x, 0, K("b")));
    assert_true(expiring_has(&x, 0, K("c")));
    expiring_applied(&x, 12);
    assert_int_equal(expiring_count(&x), 0);
    /* Released: the key may be proposed again (it was still there). */
    expiring_add(&x, 0, K("a"), 0);
    expiring_proposed(&x, 13);
    assert_true(expiring_has(&x, 0, K("a")));
    expiring_free(&x);
}

/* The bytes eviction expects to free are counted while held, and come back
 * as the entries apply, are refused, or leadership ends. */
static void test_bytes_follow_the_held_keys(void **unused)
{
    (void)unused;
    struct expiring x;
    expiring_init(&x, 3, 100);
    expiring_add(&x, 0, K("e1"), 100);
    expiring_add(&x, 0, K("e2"), 50);
    expiring_proposed(&x, 7);
    expiring_add(&x, 0, K("e3"), 20);
    assert_int_equal(expiring_bytes(&x), 170);
    expiring_proposed(&x, 0); /* refused: e3's 20 bytes will not be freed */
    assert_int_equal(expiring_bytes(&x), 150);
    expiring_add(&x, 0, K("e4"), 5);
    expiring_proposed(&x, 9);
    expiring_applied(&x, 7);
    assert_int_equal(expiring_bytes(&x), 5);
    expiring_reset(&x);
    assert_int_equal(expiring_bytes(&x), 0);
    expiring_free(&x);
}

static void test_refused_entry_releases_its_keys(void **unused)
{
    (void)unused;
    struct expiring x;
    expiring_init(&x, 2, 100);
    expiring_add(&x, 0, K("kept"), 0);
    expiring_proposed(&x, 5);
    expiring_add(&x, 0, K("r1"), 0);
    expiring_add(&x, 0, K("r2"), 0);
    expiring_proposed(&x, 0);
    assert_false(expiring_has(&x, 0, K("r1")));
    assert_false(expiring_has(&x, 0, K("r2")));
    assert_true(expiring_has(&x, 0, K("kept")));
    assert_int_equal(expiring_count(&x), 1);
    /* A key being staged is not released by an apply of earlier entries. */
    expiring_add(&x, 0, K("s"), 0);
    expiring_applied(&x, 100);
    assert_false(expiring_has(&x, 0, K("kept")));
    assert_true(expiring_has(&x, 0, K("s")));
    expiring_proposed(&x, 101);
    expiring_applied(&x, 101);
    assert_int_equal(expiring_count(&x), 0);
    expiring_free(&x);
}

static void test_reset_releases_everything(void **unused)
{
    (void)unused;
    struct expiring x;
    expiring_init(&x, 3, 100);
    expiring_add(&x, 0, K("a"), 0);
    expiring_proposed(&x, 7);
    expiring_add(&x, 0, K("b"), 0);
    expiring_reset(&x);
    assert_int_equal(expiring_count(&x), 0);
    assert_false(expiring_has(&x, 0, K("a")));
    assert_false(expiring_has(&x, 0, K("b")));
    /* Usable again, and an apply of the old indexes changes nothing. */
    expiring_add(&x, 0, K("a"), 0);
    expiring_proposed(&x, 3);
    expiring_applied(&x, 2);
    assert_true(expiring_has(&x, 0, K("a")));
    expiring_free(&x);
}

static void test_bounded_and_room_comes_back(void **unused)
{
    (void)unused;
    enum { MAX = 300 };
    struct expiring x;
    expiring_init(&x, 4, MAX);
    char key[32];
    uint64_t index = 1;
    /* Entries of 7 keys, applied as they go, wrap the release queue many
     * times without ever holding more than MAX keys. */
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "key:%d", i);
        if (expiring_full(&x)) {
            assert_int_equal(expiring_count(&x), MAX);
            expiring_proposed(&x, index++);
            expiring_applied(&x, index - 40); /* some entries applied, not all */
            assert_false(expiring_full(&x));
        }
        expiring_add(&x, 0, key, (size_t)n, 0);
        if (i % 7 == 6) expiring_proposed(&x, index++);
    }
    expiring_proposed(&x, index);
    assert_true(expiring_has(&x, 0, K("key:4999")));
    assert_false(expiring_has(&x, 0, K("key:0")));
    expiring_applied(&x, index);
    assert_int_equal(expiring_count(&x), 0);
    expiring_free(&x);
}

static void test_keys_are_binary_safe_copies(void **unused)
{
    (void)unused;
    struct expiring x;
    expiring_init(&x, 5, 10);
    char buf[] = {'k', 0, 'x'};
    const char *held = expiring_add(&x, 0, buf, sizeof buf, 0);
    buf[2] = 'y'; /* the caller's bytes change: the held copy does not */
    assert_memory_equal(held, "k\0x", 3);
    assert_true(expiring_has(&x, 0, "k\0x", 3));
    assert_false(expiring_has(&x, 0, "k\0y", 3));
    assert_false(expiring_has(&x, 0, "k", 1));
    expiring_proposed(&x, 1);
    expiring_free(&x);
}

/* Key "a" of database 3 is not database 0's: each is held on its own, a
 * long key too (past the stack buffer of src/keyspace/dbkey.h). */
static void test_databases_hold_their_own_keys(void **unused)
{
    (void)unused;
    struct expiring x;
    expiring_init(&x, 5, 10);
    expiring_add(&x, 3, K("a"), 0);
    assert_true(expiring_has(&x, 3, K("a")));
    assert_false(expiring_has(&x, 0, K("a")));
    const char *held = expiring_add(&x, 0, K("a"), 0);
    assert_memory_equal(held, "a", 1);
    char big[1000];
    memset(big, 'b', sizeof big);
    expiring_add(&x, 7, big, sizeof big, 0);
    assert_true(expiring_has(&x, 7, big, sizeof big));
    assert_false(expiring_has(&x, 6, big, sizeof big));
    assert_int_equal(expiring_count(&x), 3);
    expiring_proposed(&x, 1);
    expiring_applied(&x, 1);
    assert_false(expiring_has(&x, 3, K("a")));
    assert_false(expiring_has(&x, 7, big, sizeof big));
    expiring_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_until_applied),
        cmocka_unit_test(test_refused_entry_releases_its_keys),
        cmocka_unit_test(test_bytes_follow_the_held_keys),
        cmocka_unit_test(test_reset_releases_everything),
        cmocka_unit_test(test_bounded_and_room_comes_back),
        cmocka_unit_test(test_keys_are_binary_safe_copies),
        cmocka_unit_test(test_databases_hold_their_own_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
