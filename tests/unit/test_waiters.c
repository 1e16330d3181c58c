/*
 * tests/unit/test_waiters.c - completions (src/node/waiters.h): staged writes
 * take the batch's index, each entry's waiters are answered when it
 * applies (a replaced entry's with -TIMEOUT), skipped indexes time out,
 * reads are served in order once released and applied, leadership lost
 * fails everything, deadlines expire, a gone client is forgotten
 * everywhere, and every answer wakes its client exactly where the
 * connection layer looks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/client.h"
#include "node/waiters.h"

static struct client clients[4];

static void reset_clients(void)
{
    for (int i = 0; i < 4; i++) {
        resp_out_free(&clients[i].out);
        memset(&clients[i], 0, sizeof clients[i]);
        resp_out_init(&clients[i].out, 2);
    }
}

/* The reply bytes written to c (NUL-terminated copy). */
static const char *out_of(struct client *c)
{
    static char buf[256];
    size_t n = resp_out_pending(&c->out);
    if (n >= sizeof buf) n = sizeof buf - 1;
    if (n) memcpy(buf, c->out.data + c->out.pos, n);
    buf[n] = 0;
    return buf;
}

static size_t woken_count(struct waiters *w)
{
    size_t n = 0;
    while (waiters_next_woken(w))
        n++;
    return n;
}

static void test_staged_batch_applies(void **unused)
{
    (void)unused;
    reset_clients();
    struct waiters w;
    waiters_init(&w);
    waiters_stage(&w, &clients[0], 0);
    waiters_stage(&w, &clients[1], 0);
    assert_int_equal(clients[0].pending_writes, 1);
    waiters_staged_proposed(&w, 5, 2, 1000);
    struct client *const *cl;
    assert_int_equal(waiters_entry(&w, 5, 2, &cl), 2);
    assert_ptr_equal(cl[0], &clients[0]);
    assert_ptr_equal(cl[1], &clients[1]);
    waiters_entry_applied(&w, 2);
    assert_int_equal(clients[0].pending_writes, 0);
    assert_int_equal(clients[1].pending_writes, 0);
    assert_string_equal(out_of(&clients[0]), ""); /* the state machine wrote the reply */
    assert_int_equal(woken_count(&w), 2);
    waiters_free(&w);
}

/* Fresh clients; clients[0] waits for index 3, clients[1] for 4, both of term 1. */
static void two_writes(struct waiters *w, int64_t deadline3, int64_t deadline4)
{
    reset_clients();
    waiters_init(w);
    clients[0].pending_writes = clients[1].pending_writes = 1;
    waiters_add_write(w, &clients[0], 3, 1, deadline3);
    waiters_add_write(w, &clients[1], 4, 1, deadline4);
}

static void test_replaced_and_skipped_entries_time_out(void **unused)
{
    (void)unused;
    struct waiters w;
    two_writes(&w, 1000, 1000);
    struct client *const *cl;
    /* index 3 was skipped (a snapshot held it); index 4 holds another term's
     * entry: nobody waits for that one (its commands are not theirs) */
    assert_int_equal(waiters_entry(&w, 4, 2, &cl), 0);
    assert_string_equal(out_of(&clients[0]), "-TIMEOUT not committed yet\r\n");
    assert_string_equal(out_of(&clients[1]), "-TIMEOUT not committed yet\r\n");
    waiters_entry_applied(&w, 0);
    assert_int_equal(clients[0].pending_writes + clients[1].pending_writes, 0);
    waiters_free(&w);
}

/* A node leading again after a handover: the writes it kept for entries
 * its log no longer holds time out, and their indexes can be proposed again. */
static void test_writes_lost_after_an_index(void **unused)
{
    (void)unused;
    struct waiters w;
    two_writes(&w, 1000, 1000);
    waiters_writes_lost_after(&w, 3);
    assert_string_equal(out_of(&clients[0]), "");
    assert_string_equal(out_of(&clients[1]), "-TIMEOUT not committed yet\r\n");
    clients[1].pending_writes = 1;
    waiters_add_write(&w, &clients[1], 4, 2, 1000); /* index 4 again, a new term's */
    struct client *const *cl;
    assert_int_equal(waiters_entry(&w, 3, 1, &cl), 1);
    waiters_entry_applied(&w, 1);
    assert_int_equal(waiters_entry(&w, 4, 2, &cl), 1);
    assert_ptr_equal(cl[0], &clients[1]);
    waiters_entry_applied(&w, 1);
    waiters_free(&w);
}

/* CLIENT REPLY: each waiter keeps the decision its client had when the
 * write was staged or added, whatever the client decides afterwards. */
static void test_muted_writes_keep_their_decision(void **unused)
{
    (void)unused;
    reset_clients();
    struct waiters w;
    waiters_init(&w);
    clients[0].reply_muted = 1; /* CLIENT REPLY SKIP: this write's reply is dropped */
    waiters_stage(&w, &clients[0], 0);
    clients[0].reply_muted = 0; /* the next command of the pipeline is heard */
    waiters_stage(&w, &clients[0], REPLY_TAG_AS(42)); /* applied in another form */
    waiters_staged_proposed(&w, 7, 1, 1000);
    clients[0].reply_muted = 1;
    clients[0].pending_writes++; /* as waiters_stage counts it */
    waiters_add_write(&w, &clients[0], 8, 1, 1000);
    clients[0].reply_muted = 0;
    struct client *const *cl;
    assert_int_equal(waiters_entry(&w, 7, 1, &cl), 2);
    const uint32_t *tags = waiters_entry_tags(&w);
    assert_int_equal(tags[0], REPLY_TAG_MUTED);
    assert_int_equal(reply_tag_as(tags[0]), -1);
    assert_false(tags[1] & REPLY_TAG_MUTED);
    assert_int_equal(reply_tag_as(tags[1]), 42);
    waiters_entry_applied(&w, 2);
    /* Leadership lost: the entry at 8 times out, its error dropped too. */
    waiters_leadership_lost(&w, 0);
    assert_string_equal(out_of(&clients[0]), "");
    assert_int_equal(clients[0].pending_writes, 0);
    waiters_free(&w);
}

static void test_refused_batch_wakes_its_clients(void **unused)
{
    (void)unused;
    reset_clients();
    struct waiters w;
    waiters_init(&w);
    waiters_stage(&w, &clients[0], 0);
    waiters_stage(&w, &clients[1], 0);
    waiters_client_gone(&w, &clients[1]);
    size_t n;
    struct client *const *st = waiters_staged(&w, &n);
    assert_int_equal(n, 2);
    assert_null(st[1]); /* position kept: reply i goes to command i */
    waiters_staged_refused(&w);
    assert_int_equal(clients[0].pending_writes, 0);
    assert_ptr_equal(waiters_next_woken(&w), &clients[0]);
    assert_null(waiters_next_woken(&w));
    waiters_free(&w);
}

static void test_reads_served_in_order_once_applied(void **unused)
{
    (void)unused;
    reset_clients();
    struct waiters w;
    waiters_init(&w);
    waiters_add_read(&w, &clients[0], 1, 100, 1000);
    client_hold_to(&clients[0], HOLD_CHECKED); /* as the dispatcher holds it */
    waiters_add_read(&w, &clients[1], 2, 200, 1000);
    client_hold_to(&clients[1], HOLD_CHECKED); /* as the dispatcher holds it */
    assert_int_equal(clients[0].waiting_read, 1);
    waiters_read_released(&w, 2, 7); /* the second round came back first */
    waiters_serve_reads(&w, 10);
    assert_int_equal(clients[1].waiting_read, 1); /* behind the first */
    waiters_read_released(&w, 1, 9);
    waiters_serve_reads(&w, 8);
    assert_int_equal(clients[0].waiting_read, 1); /* released, not applied yet */
    waiters_serve_reads(&w, 9);
    assert_int_equal(clients[0].waiting_read, 0);
    assert_int_equal(clients[1].waiting_read, 0);
    assert_int_equal(clients[0].read_cleared_end, 100);
    assert_int_equal(clients[1].read_cleared_end, 200);
    assert_int_equal(woken_count(&w), 2);
    waiters_free(&w);
}

static void test_leadership_lost_fails_everything(void **unused)
{
    (void)unused;
    reset_clients();
    struct waiters w;
    waiters_init(&w);
    clients[0].pending_writes = 1;
    waiters_add_write(&w, &clients[0], 3, 1, 1000);
    waiters_add_read(&w, &clients[1], 1, 10, 1000);
    client_hold_to(&clients[1], HOLD_CHECKED); /* as the dispatcher holds it */
    waiters_leadership_lost(&w, 0);
    assert_string_equal(out_of(&clients[0]), "-TIMEOUT not committed yet\r\n");
    assert_string_equal(out_of(&clients[1]), "-TIMEOUT no quorum for read\r\n");
    assert_int_equal(clients[1].waiting_read, 0);
    assert_int_equal(clients[1].read_cleared_end, 0); /* nothing was confirmed */
    assert_int_equal(clients[1].hold, HOLD_ANSWERED); /* the read is answered: not run again */
    waiters_free(&w);
}

/* A leader that removed itself commits the change before its own copy is on
 * disk, steps down, and applies it only then: that write keeps its waiter. */
static void test_leadership_lost_keeps_committed_writes(void **unused)
{
    (void)unused;
    struct waiters w;
    two_writes(&w, 1000, 1000);
    waiters_leadership_lost(&w, 3);
    assert_string_equal(out_of(&clients[0]), "");
    assert_int_equal(clients[0].pending_writes, 1);
    assert_string_equal(out_of(&clients[1]), "-TIMEOUT not committed yet\r\n");
    assert_int_equal(clients[1].pending_writes, 0);
    struct client *const *cl;
    assert_int_equal(waiters_entry(&w, 3, 1, &cl), 1);
    assert_ptr_equal(cl[0], &clients[0]);
    waiters_entry_applied(&w, 1);
    assert_int_equal(clients[0].pending_writes, 0);
    assert_int_equal(waiters_entry(&w, 4, 1, &cl), 0); /* answered already */
    waiters_free(&w);
}

static void test_deadlines_and_delays(void **unused)
{
    (void)unused;
    struct waiters w;
    two_writes(&w, 100, 200);
    waiters_delay_writes(&w, 50); /* a large entry ahead of both */
    waiters_expire(&w, 149);
    assert_int_equal(clients[0].pending_writes, 1);
    waiters_expire(&w, 150);
    assert_int_equal(clients[0].pending_writes, 0);
    assert_int_equal(clients[1].pending_writes, 1);
    struct client *const *cl;
    assert_int_equal(waiters_entry(&w, 3, 1, &cl), 1);
    assert_null(cl[0]); /* answered already: its reply is not written twice */
    waiters_entry_applied(&w, 1);
    assert_string_equal(out_of(&clients[0]), "-TIMEOUT not committed yet\r\n");
    waiters_free(&w);
}

static void test_gone_client_forgotten(void **unused)
{
    (void)unused;
    reset_clients();
    struct waiters w;
    waiters_init(&w);
    clients[0].pending_writes = 1;
    waiters_add_write(&w, &clients[0], 3, 1, 1000);
    waiters_add_read(&w, &clients[0], 1, 10, 1000);
    client_hold_to(&clients[0], HOLD_CHECKED); /* as the dispatcher holds it */
    waiters_wake(&w, &clients[0]);
    waiters_client_gone(&w, &clients[0]);
    assert_null(waiters_next_woken(&w));
    struct client *const *cl;
    assert_int_equal(waiters_entry(&w, 3, 1, &cl), 1);
    assert_null(cl[0]);
    waiters_entry_applied(&w, 1);
    waiters_read_released(&w, 1, 3);
    waiters_serve_reads(&w, 3);
    waiters_leadership_lost(&w, 0);
    assert_null(waiters_next_woken(&w));
    waiters_free(&w);
}

/* Parked clients (a leadership transfer) are woken together, each once,
 * without a reply; one gone meanwhile is not. */
static void test_parked_until_unparked(void **unused)
{
    (void)unused;
    reset_clients();
    struct waiters w;
    waiters_init(&w);
    waiters_park(&w, &clients[0]);
    waiters_park(&w, &clients[1]);
    waiters_park(&w, &clients[0]); /* again: parked once */
    waiters_park(&w, &clients[2]);
    assert_int_equal(waiters_parked(&w), 3);
    assert_null(waiters_next_woken(&w)); /* nothing until the transfer is over */
    waiters_client_gone(&w, &clients[1]);
    waiters_unpark(&w);
    assert_int_equal(waiters_parked(&w), 0);
    assert_ptr_equal(waiters_next_woken(&w), &clients[0]);
    assert_ptr_equal(waiters_next_woken(&w), &clients[2]);
    assert_null(waiters_next_woken(&w));
    assert_string_equal(out_of(&clients[0]), ""); /* no reply: the command runs again */
    waiters_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staged_batch_applies),
        cmocka_unit_test(test_replaced_and_skipped_entries_time_out),
        cmocka_unit_test(test_writes_lost_after_an_index),
        cmocka_unit_test(test_refused_batch_wakes_its_clients),
        cmocka_unit_test(test_reads_served_in_order_once_applied),
        cmocka_unit_test(test_leadership_lost_fails_everything),
        cmocka_unit_test(test_leadership_lost_keeps_committed_writes),
        cmocka_unit_test(test_deadlines_and_delays),
        cmocka_unit_test(test_muted_writes_keep_their_decision),
        cmocka_unit_test(test_gone_client_forgotten),
        cmocka_unit_test(test_parked_until_unparked),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < 4; i++)
        resp_out_free(&clients[i].out);
    return rc;
}
