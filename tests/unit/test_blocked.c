/*
 * tests/unit/test_blocked.c - clients blocked on keys (src/server/blocked.h): the
 * queue order a key serves, how many clients an n-element key wakes, a
 * woken client keeping its place, a leaving client making the next look,
 * timeouts, CLIENT UNBLOCK, leadership lost, and when a call must block.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/blocked.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "types/t_list.h"
#include "types/typetable.h"
#include "node/waiters.h"

/* As the dispatcher holds a command it blocked (src/server/dispatch.c). */
static void hold_checked(struct client *c)
{
    if (c->hold == HOLD_NONE) client_hold_to(c, HOLD_CHECKED);
}

#define T0 1700000000000LL
#define NCLIENTS 4

struct fx {
    struct kv_common kvc; /* the settings, stats and hooks of kv */
    struct kv kv;
    struct kv kv1; /* database 1 */
    struct waiters w;
    struct blocked b;
    struct client c[NCLIENTS];
};

static void changed(void *ud, int db, const char *key, size_t len)
{
    blocked_key_changed(&((struct fx *)ud)->b, db, key, len);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    kv_common_init(&f->kvc, type_table, 7);
    kv_init(&f->kv, &f->kvc, 0, 7);
    kv_init(&f->kv1, &f->kvc, 1, 8);
    waiters_init(&f->w);
    blocked_init(&f->b, &f->w, 9);
    f->kvc.on_modify = changed;
    f->kvc.hook_ud = f;
    for (int i = 0; i < NCLIENTS; i++) {
        f->c[i].id = (uint64_t)i + 1;
        resp_out_init(&f->c[i].out, 2);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    blocked_free(&f->b);
    waiters_free(&f->w);
    kv_free(&f->kv);
    kv_free(&f->kv1);
    for (int i = 0; i < NCLIENTS; i++)
        resp_out_free(&f->c[i].out);
    free(f);
    return 0;
}

/* "BLPOP <keys...> 0": keys at argv[1 .. n] */
static struct resp_arg argv_of[8];
static const struct resp_arg *blpop_args(int n, const char *const *keys)
{
    argv_of[0] = (struct resp_arg){"BLPOP", 5};
    for (int i = 0; i < n; i++)
        argv_of[i + 1] = (struct resp_arg){keys[i], strlen(keys[i])};
    argv_of[n + 1] = (struct resp_arg){"0", 1};
    return argv_of;
}

static void block_in(struct fx *f, struct kv *kv, int i, const char *key, int64_t timeout_ms)
{
    const char *keys[] = {key};
    const struct resp_arg *argv = blpop_args(1, keys);
    struct cmd_block blk = {1, 1, KV_LIST, 1, timeout_ms};
    blocked_add(&f->b, &f->c[i], &blk, 3, argv, kv, T0);
    hold_checked(&f->c[i]);
}

static void block(struct fx *f, int i, const char *key, int64_t timeout_ms)
{
    block_in(f, &f->kv, i, key, timeout_ms);
}

static void push_in(struct fx *f, struct kv *kv, const char *key, int n)
{
    struct kv_val *v = kv_lookup_write(kv, key, strlen(key), T0, 0);
    void *list = v ? kv_val_obj(v) : t_list_new(&f->kvc.limits);
    for (int i = 0; i < n; i++)
        t_list_append(list, "x", 1);
    if (v)
        kv_modified(kv, key, strlen(key));
    else
        kv_set_obj(kv, key, strlen(key), KV_LIST, list, KV_NO_EXPIRE, T0);
}

static void push(struct fx *f, const char *key, int n)
{
    push_in(f, &f->kv, key, n);
}

/* The clients woken since the last call, by index, as a string "0 1". */
static const char *woken(struct fx *f)
{
    static char buf[64];
    size_t n = 0;
    buf[0] = 0;
    struct client *c;
    while ((c = waiters_next_woken(&f->w)))
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", n ? " " : "", (int)(c - f->c));
    return buf;
}

static void test_a_key_wakes_as_many_as_it_has_elements_in_order(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 3; i++)
        block(f, i, "k", 0);
    assert_int_equal(f->b.n_clients, 3);
    assert_true(blocked_waiting(&f->c[0]));
    push(f, "k", 2);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "0 1");
    assert_false(blocked_waiting(&f->c[0]));
    assert_true(blocked_waiting(&f->c[2]));
    /* the woken ones count as served: the same key changing again wakes nobody */
    kv_modified(&f->kv, "k", 1);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "");
    /* client 0 found the key emptied by another: it waits again, first in line */
    blocked_add(&f->b, &f->c[0], NULL, 0, NULL, &f->kv, T0);
    hold_checked(&f->c[0]);
    assert_true(blocked_waiting(&f->c[0]));
    push(f, "k", 0);
    kv_modified(&f->kv, "k", 1);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "0");
}

static void test_a_leaving_client_makes_the_next_look(void **state)
{
    struct fx *f = *state;
    const char *keys[] = {"a", "b"};
    struct cmd_block blk = {1, 2, KV_LIST, 1, 0};
    blocked_add(&f->b, &f->c[0], &blk, 4, blpop_args(2, keys), &f->kv, T0); /* on a and b */
    hold_checked(&f->c[0]);
    block(f, 1, "b", 0);
    push(f, "a", 1);
    push(f, "b", 1);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    /* b's one element is counted for client 0, woken by a first */
    assert_string_equal(woken(f), "0");
    blocked_remove(&f->b, &f->c[0]); /* served from a */
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "1");
}

static void test_only_a_value_of_the_waited_type_wakes(void **state)
{
    struct fx *f = *state;
    block(f, 0, "k", 0);
    kv_set(&f->kv, "k", 1, "str", 3, KV_NO_EXPIRE, T0);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "");
    assert_true(blocked_waiting(&f->c[0]));
}

static void test_timeouts_answer_the_null_reply(void **state)
{
    struct fx *f = *state;
    block(f, 0, "k", 100);
    block(f, 1, "k", 0);
    blocked_expire(&f->b, T0 + 99);
    assert_string_equal(woken(f), "");
    blocked_expire(&f->b, T0 + 100);
    assert_string_equal(woken(f), "0");
    assert_int_equal(f->c[0].hold, HOLD_ANSWERED);
    assert_memory_equal(f->c[0].out.data, "*-1\r\n", 5);
    assert_null(f->c[0].blocked);
    assert_int_equal(f->b.n_clients, 1);
}

static void test_unblock_waiting_now_woken_when_its_pop_finds_nothing(void **state)
{
    struct fx *f = *state;
    block(f, 0, "k", 0);
    assert_int_equal(blocked_unblock(&f->b, &f->c[0], "UNBLOCKED x"), 1);
    assert_string_equal(woken(f), "0");
    assert_memory_equal(f->c[0].out.data, "-UNBLOCKED x\r\n", 14);
    assert_int_equal(blocked_unblock(&f->b, &f->c[0], NULL), 0);
    block(f, 1, "k", 0);
    push(f, "k", 1);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "1");
    assert_int_equal(blocked_unblock(&f->b, &f->c[1], NULL), 1); /* its pop is in the log */
    assert_string_equal(woken(f), "");
    blocked_add(&f->b, &f->c[1], NULL, 0, NULL, &f->kv, T0); /* it found nothing */
    hold_checked(&f->c[1]);
    assert_string_equal(woken(f), "1");
    assert_memory_equal(f->c[1].out.data, "*-1\r\n", 5);
}

static void test_leadership_lost_wakes_the_waiting_only(void **state)
{
    struct fx *f = *state;
    block(f, 0, "k", 0);
    block(f, 1, "k", 0);
    push(f, "k", 1);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "0");
    blocked_release_all(&f->b);
    assert_string_equal(woken(f), "1"); /* 0's pop is in the log, answered there */
    assert_int_equal(f->b.n_clients, 0);
    assert_int_equal(f->c[1].hold, HOLD_CHECKED); /* it runs its command again */
}

static void test_must_wait_and_take(void **state)
{
    struct fx *f = *state;
    const char *keys[] = {"k"};
    const struct resp_arg *argv = blpop_args(1, keys);
    struct cmd_block blk = {1, 1, KV_LIST, 1, 0};
    assert_true(blocked_must_wait(&f->b, &f->c[0], &blk, argv, &f->kv, T0)); /* absent */
    kv_set(&f->kv, "k", 1, "str", 3, KV_NO_EXPIRE, T0);
    assert_false(blocked_must_wait(&f->b, &f->c[0], &blk, argv, &f->kv, T0)); /* WRONGTYPE */
    kv_delete(&f->kv, "k", 1, T0);
    push(f, "k", 1);
    assert_false(blocked_must_wait(&f->b, &f->c[0], &blk, argv, &f->kv, T0)); /* served */
    block(f, 1, "k", 0);
    assert_true(blocked_must_wait(&f->b, &f->c[0], &blk, argv, &f->kv, T0));  /* queued first */
    assert_false(blocked_must_wait(&f->b, &f->c[1], &blk, argv, &f->kv, T0)); /* its turn */
    block(f, 2, "k", 0);
    struct client *out[4];
    assert_int_equal(blocked_take(&f->b, 0, "k", 1, 4, out), 2);
    assert_ptr_equal(out[0], &f->c[1]);
    assert_ptr_equal(out[1], &f->c[2]);
    assert_int_equal(blocked_take(&f->b, 0, "k", 1, 4, out), 0); /* woken already */
    int argc;
    const struct cmd_block *b;
    const struct resp_arg *copy = blocked_call(&f->c[2], &argc, &b);
    assert_int_equal(argc, 3);
    assert_memory_equal(copy[1].ptr, "k", 1);
    assert_int_equal(b->type, KV_LIST);
}

static void test_a_key_named_twice_counts_once(void **state)
{
    struct fx *f = *state;
    const char *keys[] = {"k", "k"};
    struct cmd_block blk = {1, 2, KV_LIST, 1, 0};
    blocked_add(&f->b, &f->c[0], &blk, 4, blpop_args(2, keys), &f->kv, T0);
    hold_checked(&f->c[0]);
    block(f, 1, "k", 0);
    push(f, "k", 2);
    blocked_serve_ready(&f->b, (struct kv *[]){&f->kv}, T0);
    assert_string_equal(woken(f), "0 1");
    blocked_client_gone(&f->b, &f->c[0]);
    blocked_client_gone(&f->b, &f->c[1]);
    assert_int_equal(f->b.n_clients, 0);
}

/* A client waits on a key of its own database: the same name in another
 * database neither wakes it nor is taken for it. */
static void test_a_wait_is_on_its_databases_key(void **state)
{
    struct fx *f = *state;
    struct kv *both[] = {&f->kv, &f->kv1};
    block_in(f, &f->kv1, 0, "k", 0);
    block(f, 1, "k", 0);
    push(f, "k", 1); /* database 0's: c[1]'s */
    blocked_serve_ready(&f->b, both, T0);
    assert_string_equal(woken(f), "1");
    struct client *out[4];
    assert_int_equal(blocked_take(&f->b, 1, "k", 1, 4, out), 1); /* c[0], in database 1 */
    assert_ptr_equal(out[0], &f->c[0]);
    blocked_remove(&f->b, &f->c[0]);
    blocked_remove(&f->b, &f->c[1]);

    block_in(f, &f->kv1, 2, "k", 0);
    push_in(f, &f->kv1, "k", 1);
    blocked_all_keys_changed(&f->b, 0); /* FLUSHDB of database 0: not c[2]'s */
    blocked_serve_ready(&f->b, both, T0);
    assert_string_equal(woken(f), "2"); /* by the push to its own key */
    blocked_remove(&f->b, &f->c[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_key_wakes_as_many_as_it_has_elements_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_leaving_client_makes_the_next_look, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_a_value_of_the_waited_type_wakes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_answer_the_null_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unblock_waiting_now_woken_when_its_pop_finds_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_leadership_lost_wakes_the_waiting_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_must_wait_and_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_key_named_twice_counts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_wait_is_on_its_databases_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
