/*
 * tests/unit/test_tracking.c - client-side caching (src/server/tracking.h):
 * a read's keys remembered and invalidated once, the message forms (RESP3
 * push, the RESP2 redirect's pub/sub message, a broken redirect, a flush's
 * null), NOLOOP, OPTIN and OPTOUT, BCAST prefixes, the order rules (after
 * the reply of the client's own command, after the forwarded replies out
 * before the change, at most TRACKING_HELD_MAX held), and
 * tracking-table-max-keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmd/client.h"
#include "cmd/cmd.h"
#include "server/server.h"
#include "server/tracking.h"

#define NCLIENTS 3

struct fx {
    struct server srv;
    struct client c[NCLIENTS];
};

/* A read of one key (GET) and a read of every argument's key (MGET). */
static const struct command get_row = {"get", 2, CMD_READONLY, 1, 1, 1};
static const struct command mget_row = {"mget", -2, CMD_READONLY, 1, -1, 1};
static const struct command set_row = {"set", -3, CMD_WRITE, 1, 1, 1};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    dict_init(&f->srv.client_ids, 1);
    f->srv.tracking = tracking_new(2);
    for (int i = 0; i < NCLIENTS; i++) {
        struct client *c = &f->c[i];
        c->id = (uint64_t)i + 1;
        c->srv = &f->srv;
        c->pending_head = &f->srv.pending;
        resp_out_init(&c->out, 3);
        server_client_add(&f->srv, c);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < NCLIENTS; i++) {
        tracking_client_gone(&f->srv, &f->c[i]);
        server_client_remove(&f->srv, &f->c[i]);
        resp_out_free(&f->c[i].out);
    }
    tracking_free(f->srv.tracking);
    dict_free(&f->srv.client_ids, NULL);
    free(f);
    return 0;
}

static void on(struct fx *f, int i, unsigned flags, uint64_t redirect)
{
    tracking_enable(&f->srv, &f->c[i], redirect, flags, NULL, 0);
}

static void reads(struct fx *f, int i, const char *key)
{
    struct resp_arg argv[2] = {{"GET", 3}, {key, strlen(key)}};
    tracking_will_read(&f->srv, &f->c[i], &get_row, 2, argv);
}

static void changed(struct fx *f, const char *key)
{
    tracking_key_changed(&f->srv, key, strlen(key));
}

/* What client i was sent since the last look (then forgotten). */
static char out_buf[65536];
static const char *sent(struct fx *f, int i)
{
    struct resp_out *o = &f->c[i].out;
    size_t n = o->len - o->pos;
    assert_true(n < sizeof out_buf);
    if (n) memcpy(out_buf, o->data + o->pos, n);
    out_buf[n] = 0;
    resp_out_clear(o);
    return out_buf;
}

#define PUSH(keys) ">2\r\n$10\r\ninvalidate\r\n" keys

static void test_a_read_key_is_invalidated_once(void **state)
{
    struct fx *f = *state;
    on(f, 0, 0, 0);
    reads(f, 0, "k");
    reads(f, 0, "k"); /* once in the table */
    assert_int_equal(tracking_keys(f->srv.tracking), 1);
    assert_int_equal(tracking_items(f->srv.tracking), 1);
    changed(f, "other");
    assert_string_equal(sent(f, 0), "");
    changed(f, "k");
    assert_string_equal(sent(f, 0), PUSH("*1\r\n$1\r\nk\r\n"));
    changed(f, "k"); /* forgotten until read again */
    assert_string_equal(sent(f, 0), "");
    assert_int_equal(tracking_keys(f->srv.tracking), 0);
    /* a write remembers nothing; MGET remembers each key */
    struct resp_arg set[3] = {{"SET", 3}, {"a", 1}, {"1", 1}};
    tracking_will_read(&f->srv, &f->c[0], &set_row, 3, set);
    struct resp_arg mget[3] = {{"MGET", 4}, {"a", 1}, {"b", 1}};
    tracking_will_read(&f->srv, &f->c[0], &mget_row, 3, mget);
    assert_int_equal(tracking_keys(f->srv.tracking), 2);
    /* off: nothing more is remembered, and a key read before is skipped */
    tracking_disable(&f->srv, &f->c[0]);
    changed(f, "a");
    assert_string_equal(sent(f, 0), "");
    assert_int_equal(tracking_clients(f->srv.tracking), 0);
}

static void test_message_forms(void **state)
{
    struct fx *f = *state;
    /* RESP2 without a redirect: nothing can be sent */
    f->c[0].out.proto = 2;
    on(f, 0, 0, 0);
    reads(f, 0, "k");
    changed(f, "k");
    assert_string_equal(sent(f, 0), "");
    /* redirected to a RESP2 subscriber: a message of __redis__:invalidate */
    f->c[1].out.proto = 2;
    f->c[1].flags |= CLIENT_PUBSUB;
    on(f, 0, 0, f->c[1].id);
    reads(f, 0, "k");
    changed(f, "k");
    assert_string_equal(sent(f, 1), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
                                    "*1\r\n$1\r\nk\r\n");
    /* a flush: a null (of the tracking client's protocol), once for every
     * database flushed at once */
    tracking_flushed(&f->srv);
    tracking_flushed(&f->srv);
    assert_string_equal(sent(f, 1),
                        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
    tracking_before_sleep(&f->srv); /* a later flush is told again */
    tracking_flushed(&f->srv);
    assert_string_not_equal(sent(f, 1), "");
    /* the redirect gone: broken, and a RESP3 client hears of it */
    f->c[0].out.proto = 3;
    struct client *r = &f->c[1];
    server_client_remove(&f->srv, r);
    reads(f, 0, "k");
    changed(f, "k");
    assert_true(f->c[0].tracking & TRACKING_BROKEN_REDIR);
    assert_string_equal(sent(f, 0), ">2\r\n$21\r\ntracking-redir-broken\r\n:2\r\n");
    server_client_add(&f->srv, r);
}

static void test_own_changes_follow_the_reply_or_noloop(void **state)
{
    struct fx *f = *state;
    on(f, 0, 0, 0);
    on(f, 1, TRACKING_NOLOOP, 0);
    reads(f, 0, "k");
    reads(f, 1, "k");
    tracking_reply_begin(&f->srv, &f->c[0]);
    changed(f, "k");
    assert_string_equal(sent(f, 0), "");                        /* its reply is being written */
    assert_string_equal(sent(f, 1), PUSH("*1\r\n$1\r\nk\r\n")); /* not its change */
    tracking_reply_end(&f->srv, &f->c[0]);
    assert_string_equal(sent(f, 0), PUSH("*1\r\n$1\r\nk\r\n"));
    /* NOLOOP: its own change is not told */
    reads(f, 1, "k");
    tracking_reply_begin(&f->srv, &f->c[1]);
    changed(f, "k");
    tracking_reply_end(&f->srv, &f->c[1]);
    assert_string_equal(sent(f, 1), "");
}

static void test_optin_and_optout(void **state)
{
    struct fx *f = *state;
    on(f, 0, TRACKING_OPTIN, 0);
    reads(f, 0, "a");
    assert_int_equal(tracking_keys(f->srv.tracking), 0);
    f->c[0].tracking |= TRACKING_CACHING; /* CLIENT CACHING yes */
    static const struct command client_row = {"client|caching", 3, 0};
    tracking_command_done(&f->c[0], &client_row); /* CLIENT's own: kept */
    reads(f, 0, "a");
    tracking_command_done(&f->c[0], &get_row); /* spent */
    reads(f, 0, "b");
    assert_int_equal(tracking_keys(f->srv.tracking), 1);
    on(f, 1, TRACKING_OPTOUT, 0);
    f->c[1].tracking |= TRACKING_CACHING; /* CLIENT CACHING no */
    reads(f, 1, "c");
    tracking_command_done(&f->c[1], &get_row);
    reads(f, 1, "d");
    assert_int_equal(tracking_keys(f->srv.tracking), 2); /* a and d */
}

static void test_bcast_prefixes(void **state)
{
    struct fx *f = *state;
    struct resp_arg p[2] = {{"user:", 5}, {"job:", 4}};
    char err[256];
    assert_int_equal(tracking_prefix_overlap(&f->c[0], p, 2, err, sizeof err), 0);
    struct resp_arg clash[2] = {{"user:", 5}, {"us", 2}};
    assert_int_equal(tracking_prefix_overlap(&f->c[0], clash, 2, err, sizeof err), 1);
    assert_string_equal(err, "ERR Prefix 'user:' overlaps with another provided prefix 'us'. "
                             "Prefixes for a single client must not overlap.");
    tracking_enable(&f->srv, &f->c[0], 0, TRACKING_BCAST, p, 2);
    tracking_enable(&f->srv, &f->c[1], 0, TRACKING_BCAST | TRACKING_NOLOOP, p, 1);
    assert_int_equal(tracking_prefixes(f->srv.tracking), 2);
    changed(f, "user:1");
    changed(f, "other");
    tracking_reply_begin(&f->srv, &f->c[1]);
    changed(f, "user:2"); /* c1's own */
    tracking_reply_end(&f->srv, &f->c[1]);
    assert_string_equal(sent(f, 0), ""); /* collected until the loop sleeps */
    tracking_before_sleep(&f->srv);
    const char *m = sent(f, 0);
    assert_true(strstr(m, "*2\r\n") && strstr(m, "user:1") && strstr(m, "user:2"));
    assert_string_equal(sent(f, 1), PUSH("*1\r\n$6\r\nuser:1\r\n"));
    tracking_before_sleep(&f->srv); /* nothing new */
    assert_string_equal(sent(f, 0), "");
    tracking_disable(&f->srv, &f->c[0]);
    assert_int_equal(tracking_prefixes(f->srv.tracking), 1);
}

static void test_held_until_the_replies_forwarded_before(void **state)
{
    struct fx *f = *state;
    struct client *c = &f->c[0];
    on(f, 0, 0, 0);
    reads(f, 0, "a");
    reads(f, 0, "b");
    c->pending_proxied = 2; /* two commands out at the leader */
    changed(f, "a");
    assert_string_equal(sent(f, 0), "");
    c->pending_proxied = 3; /* a third goes; b changes after it went */
    changed(f, "b");
    c->pending_proxied--, c->proxied_relayed++;
    tracking_release(&f->srv, c);
    c->pending_proxied--, c->proxied_relayed++;
    tracking_release(&f->srv, c);
    assert_string_equal(sent(f, 0), PUSH("*1\r\n$1\r\na\r\n")); /* b waits for the third */
    c->pending_proxied--, c->proxied_relayed++;
    tracking_release(&f->srv, c);
    assert_string_equal(sent(f, 0), PUSH("*1\r\n$1\r\nb\r\n"));
    /* past TRACKING_HELD_MAX, what is held is one null */
    c->pending_proxied = 1;
    char key[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        reads(f, 0, key);
        changed(f, key);
    }
    c->pending_proxied--, c->proxied_relayed++;
    tracking_release(&f->srv, c);
    assert_string_equal(sent(f, 0), PUSH("_\r\n"));
}

static void test_the_key_limit(void **state)
{
    struct fx *f = *state;
    f->srv.cfg.tracking_table_max_keys = 2;
    on(f, 0, 0, 0);
    char key[16];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "k%d", i);
        reads(f, 0, key);
    }
    tracking_before_sleep(&f->srv); /* 100 at most per pass, more each pass */
    assert_int_equal(tracking_keys(f->srv.tracking), 200);
    tracking_before_sleep(&f->srv);
    assert_int_equal(tracking_keys(f->srv.tracking), 2);
    size_t pushes = 0;
    for (const char *m = sent(f, 0); (m = strstr(m, "invalidate")); m++)
        pushes++;
    assert_int_equal(pushes, 298);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_read_key_is_invalidated_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_changes_follow_the_reply_or_noloop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_optin_and_optout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bcast_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_until_the_replies_forwarded_before, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_key_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
