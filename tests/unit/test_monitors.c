/*
 * tests/unit/test_monitors.c - MONITOR's lines (src/server/monitors.h): Redis's
 * format and quoting, AUTH and HELLO AUTH secrets redacted, a script's
 * commands as `[0 lua]`, every monitor fed, a removed one no more, and the
 * limit on monitors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cmd/client.h"
#include "server/monitors.h"

static struct client mon[2], src;
static struct client *pending; /* the list client_mark_pending() puts them on */

static void reset(void)
{
    pending = NULL;
    for (int i = 0; i < 2; i++) {
        resp_out_free(&mon[i].out);
        memset(&mon[i], 0, sizeof mon[i]);
        resp_out_init(&mon[i].out, 2);
        mon[i].pending_head = &pending;
    }
    memset(&src, 0, sizeof src);
    strcpy(src.addr, "127.0.0.1:5555");
}

/* What follows the "+<sec>.<usec> " timestamp of the one line in c's
 * output (checked for its shape), NUL-terminated. */
static const char *line_of(struct client *c)
{
    static char buf[512];
    size_t n = resp_out_pending(&c->out);
    assert_true(n > 0 && n < sizeof buf);
    memcpy(buf, c->out.data + c->out.pos, n);
    buf[n] = 0;
    assert_int_equal(buf[0], '+');
    char *dot = strchr(buf, '.');
    assert_non_null(dot);
    for (char *p = buf + 1; p < dot; p++)
        assert_true(*p >= '0' && *p <= '9');
    for (int i = 1; i <= 6; i++)
        assert_true(dot[i] >= '0' && dot[i] <= '9');
    assert_int_equal(dot[7], ' ');
    resp_out_clear(&c->out);
    return dot + 8;
}

#define ARGS(...) ((const struct resp_arg[]){__VA_ARGS__})
#define A(s)                                                                                       \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static void test_format_and_quoting(void **unused)
{
    (void)unused;
    reset();
    struct monitors m;
    monitors_init(&m);
    assert_false(monitors_active(&m));
    assert_int_equal(monitors_add(&m, &mon[0]), 0);
    assert_true(mon[0].flags & CLIENT_MONITOR);
    monitors_feed(&m, &src, 3, ARGS(A("set"), A("k\"\\ey"), A("a\r\n\t\x01\xff b")));
    assert_string_equal(
        line_of(&mon[0]),
        "[0 127.0.0.1:5555] \"set\" \"k\\\"\\\\ey\" \"a\\r\\n\\t\\x01\\xff b\"\r\n");
    monitors_feed(&m, NULL, 2, ARGS(A("get"), A("")));
    assert_string_equal(line_of(&mon[0]), "[0 lua] \"get\" \"\"\r\n");
    assert_ptr_equal(pending, &mon[0]); /* its output is flushed before the loop sleeps */
    monitors_free(&m);
}

static void test_secrets_redacted(void **unused)
{
    (void)unused;
    reset();
    struct monitors m;
    monitors_init(&m);
    monitors_add(&m, &mon[0]);
    monitors_feed(&m, &src, 3, ARGS(A("AUTH"), A("user"), A("pass")));
    assert_string_equal(line_of(&mon[0]),
                        "[0 127.0.0.1:5555] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n");
    monitors_feed(&m, &src, 7,
                  ARGS(A("hello"), A("3"), A("auth"), A("u"), A("p"), A("SETNAME"), A("n")));
    assert_string_equal(line_of(&mon[0]), "[0 127.0.0.1:5555] \"hello\" \"3\" \"auth\" "
                                          "\"(redacted)\" \"(redacted)\" \"SETNAME\" \"n\"\r\n");
    monitors_feed(&m, &src, 2, ARGS(A("hello"), A("auth")));
    assert_string_equal(line_of(&mon[0]), "[0 127.0.0.1:5555] \"hello\" \"auth\"\r\n");
    monitors_free(&m);
}

static void test_add_remove_and_limit(void **unused)
{
    (void)unused;
    reset();
    struct monitors m;
    monitors_init(&m);
    monitors_add(&m, &mon[0]);
    monitors_add(&m, &mon[1]);
    monitors_add(&m, &mon[1]); /* already one: stays once */
    assert_int_equal(m.n, 2);
    monitors_feed(&m, &src, 1, ARGS(A("ping")));
    assert_string_equal(line_of(&mon[0]), "[0 127.0.0.1:5555] \"ping\"\r\n");
    assert_string_equal(line_of(&mon[1]), "[0 127.0.0.1:5555] \"ping\"\r\n");
    monitors_remove(&m, &mon[0]);
    assert_false(mon[0].flags & CLIENT_MONITOR);
    monitors_feed(&m, &src, 1, ARGS(A("ping")));
    assert_int_equal(resp_out_pending(&mon[0].out), 0);
    assert_string_equal(line_of(&mon[1]), "[0 127.0.0.1:5555] \"ping\"\r\n");
    monitors_remove(&m, &mon[1]);
    assert_false(monitors_active(&m));
    static struct client many[MONITORS_MAX + 1];
    for (int i = 0; i < MONITORS_MAX; i++)
        assert_int_equal(monitors_add(&m, &many[i]), 0);
    assert_int_equal(monitors_add(&m, &many[MONITORS_MAX]), -1);
    assert_false(many[MONITORS_MAX].flags & CLIENT_MONITOR);
    monitors_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_quoting),
        cmocka_unit_test(test_secrets_redacted),
        cmocka_unit_test(test_add_remove_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
