/*
 * tests/unit/test_conn_limits.c - the pieces of maxclients that need no
 * socket: fitting RLIMIT_NOFILE (src/base/fdlimit.h) and CONFIG SET refused by
 * the server after the value parsed (the apply hook of src/config/config.h, as
 * CONFIG SET maxclients beyond the descriptor limit is refused).
 *
 * The limits are the test process's own: each test lowers its soft limit
 * first and puts the original back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "config/config.h"
#include "base/fdlimit.h"

static struct rlimit saved;

static int save_limit(void **state)
{
    (void)state;
    return getrlimit(RLIMIT_NOFILE, &saved);
}

static int restore_limit(void **state)
{
    (void)state;
    return setrlimit(RLIMIT_NOFILE, &saved);
}

static void set_soft(rlim_t soft)
{
    struct rlimit rl = saved;
    rl.rlim_cur = soft;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static rlim_t soft_now(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    return rl.rlim_cur;
}

static void test_fit_within_limit_changes_nothing(void **state)
{
    (void)state;
    set_soft(256);
    struct fdlimit_fit f;
    assert_int_equal(fdlimit_fit(100, 100, &f), 0);
    assert_int_equal(f.wanted, 200);
    assert_int_equal(f.old_limit, 256);
    assert_int_equal(f.limit, 256);
    assert_int_equal(f.maxclients, 100);
    assert_int_equal(soft_now(), 256);
}

static void test_fit_raises_soft_limit_up_to_hard(void **state)
{
    (void)state;
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 512) skip();
    set_soft(128);
    struct fdlimit_fit f;
    assert_int_equal(fdlimit_fit(400, 100, &f), 0);
    assert_int_equal(f.old_limit, 128);
    assert_int_equal(f.limit, 500);
    assert_int_equal(f.maxclients, 400);
    assert_int_equal(soft_now(), 500);
}

/* Beyond the hard limit (unless privileged): as far as it goes, and the
 * clients that fit under it. */
static void test_fit_beyond_hard_limit_reports_what_fits(void **state)
{
    (void)state;
    if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max > (1u << 24)) skip();
    set_soft(64);
    struct fdlimit_fit f;
    long long want = (long long)saved.rlim_max + 1000;
    int rc = fdlimit_fit(want, 100, &f);
    if (rc == 0) { /* privileged: the hard limit went up too */
        assert_int_equal(f.limit, (uint64_t)want + 100);
        return;
    }
    assert_int_equal(rc, 1);
    assert_int_not_equal(f.raise_errno, 0);
    assert_int_equal(f.limit, saved.rlim_max);
    assert_int_equal(soft_now(), saved.rlim_max);
    assert_int_equal(f.maxclients, (long long)saved.rlim_max - 100);
}

static void test_fit_nothing_left_for_clients(void **state)
{
    (void)state;
    struct fdlimit_fit f;
    long long reserved = (long long)saved.rlim_max + 10;
    if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max > (1u << 24)) skip();
    if (fdlimit_fit(1, reserved, &f) == 0) skip(); /* privileged */
    assert_true(f.maxclients <= 0);
}

/* ------------------------------------------- CONFIG SET refused by the server */

struct refuser {
    long long refuse_above; /* maxclients the "server" takes at most */
    int calls;
    char seen[8][32]; /* "directive=value" as each hook call saw it */
};

static struct config cfg;

static void saw(struct refuser *r, const char *name, long long value)
{
    if (r->calls < 8) snprintf(r->seen[r->calls], sizeof r->seen[0], "%s=%lld", name, value);
    r->calls++;
}

static int refuse_maxclients(void *ud, const struct config *c, char *err, size_t errlen)
{
    struct refuser *r = ud;
    saw(r, "maxclients", c->maxclients);
    if (c->maxclients > r->refuse_above) {
        snprintf(err, errlen, "try with %lld", r->refuse_above);
        return -1;
    }
    return 0;
}

static int take_hz(void *ud, const struct config *c, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    saw(ud, "hz", c->hz);
    return 0;
}

static void test_config_set_refused_by_server_rolls_back(void **state)
{
    (void)state;
    char err[512];
    struct refuser r = {.refuse_above = 144};
    config_init_defaults(&cfg);
    config_set_apply_hook(&cfg, CONFIG_APPLY_MAXCLIENTS, refuse_maxclients, &r);
    config_set_apply_hook(&cfg, CONFIG_APPLY_HZ, take_hz, &r);
    assert_int_equal(config_set(&cfg, "maxclients", "100", err, sizeof err), 0);
    assert_int_equal(cfg.maxclients, 100);
    r.calls = 0;

    const char *names[] = {"hz", "maxclients", "timeout"};
    const char *values[] = {"20", "1000", "5"};
    assert_int_equal(config_set_multi(&cfg, 3, names, values, NULL, err, sizeof err),
                     CONFIG_ERR_VALUE);
    assert_string_equal(err, "ERR CONFIG SET failed (possibly related to argument "
                             "'maxclients') - try with 144");
    /* Every value is back, and the server was told so for what it applied. */
    assert_int_equal(cfg.maxclients, 100);
    assert_int_equal(cfg.hz, 10);
    assert_int_equal(cfg.timeout, 0);
    assert_int_equal(r.calls, 4); /* hz, maxclients (refused), then hz, maxclients again */
    assert_string_equal(r.seen[0], "hz=20");
    assert_string_equal(r.seen[1], "maxclients=1000");
    assert_string_equal(r.seen[2], "hz=10");
    assert_string_equal(r.seen[3], "maxclients=100");
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fit_within_limit_changes_nothing, save_limit,
                                        restore_limit),
        cmocka_unit_test_setup_teardown(test_fit_raises_soft_limit_up_to_hard, save_limit,
                                        restore_limit),
        cmocka_unit_test_setup_teardown(test_fit_beyond_hard_limit_reports_what_fits, save_limit,
                                        restore_limit),
        cmocka_unit_test_setup_teardown(test_fit_nothing_left_for_clients, save_limit,
                                        restore_limit),
        cmocka_unit_test(test_config_set_refused_by_server_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
