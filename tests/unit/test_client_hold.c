/*
 * tests/unit/test_client_hold.c - the waiting client's state machine
 * (src/cmd/client.h, enum client_hold): every path the dispatcher, the
 * waiters, the state machine, the blocked clients and CLIENT PAUSE take is a
 * legal sequence of moves, and a move the table forbids stops the process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/client.h"

static const struct command *const some_cmd = (const struct command *)&some_cmd;

static void walk(const enum client_hold *path, size_t n)
{
    struct client c = {0};
    for (size_t i = 0; i < n; i++) {
        if (path[i] != HOLD_NONE) c.held_cmd = some_cmd;
        client_hold_to(&c, path[i]);
        assert_int_equal(c.hold, path[i]);
    }
    assert_int_equal(c.hold, HOLD_NONE);
    assert_null(c.held_cmd); /* cleared when taken */
}

#define WALK(...)                                                                                  \
    do {                                                                                           \
        const enum client_hold p[] = {__VA_ARGS__};                                                \
        walk(p, sizeof p / sizeof p[0]);                                                           \
    } while (0)

static void test_the_paths_the_server_takes(void **state)
{
    (void)state;
    WALK(HOLD_BEHIND, HOLD_NONE);                             /* behind its writes, then run */
    WALK(HOLD_PAUSED, HOLD_BEHIND, HOLD_NONE);                /* CLIENT PAUSE, then UNPAUSE */
    WALK(HOLD_CHECKED, HOLD_NONE);                            /* a read round released */
    WALK(HOLD_CHECKED, HOLD_ANSWERED, HOLD_NONE);             /* a read round failed; a timeout */
    WALK(HOLD_IN_LOG, HOLD_SERVED, HOLD_ANSWERED, HOLD_NONE); /* a pop served when applied */
    WALK(HOLD_IN_LOG, HOLD_ANSWERED, HOLD_NONE);              /* its write failed */
    WALK(HOLD_IN_LOG, HOLD_CHECKED, HOLD_NONE); /* applied, found nothing: runs again */
    WALK(HOLD_CHECKED, HOLD_IN_LOG, HOLD_SERVED, HOLD_ANSWERED, HOLD_NONE); /* woken */
}

/* 1 if moving from the path's end to `to` stops the process. */
static int forbidden(const enum client_hold *path, size_t n, enum client_hold to)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct client c = {0};
        for (size_t i = 0; i < n; i++)
            client_hold_to(&c, path[i]);
        (void)freopen("/dev/null", "w", stderr); /* the ASSERT's message */
        client_hold_to(&c, to);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_forbidden_moves_stop_the_process(void **state)
{
    (void)state;
    const enum client_hold none[] = {HOLD_NONE};
    const enum client_hold in_log[] = {HOLD_IN_LOG};
    const enum client_hold paused[] = {HOLD_PAUSED};
    const enum client_hold served[] = {HOLD_IN_LOG, HOLD_SERVED};
    assert_true(forbidden(none, 0, HOLD_ANSWERED)); /* nothing held has no answer */
    assert_true(forbidden(none, 0, HOLD_SERVED));
    assert_true(forbidden(in_log, 1, HOLD_NONE));    /* in the log: answered by the log only */
    assert_true(forbidden(in_log, 1, HOLD_IN_LOG));  /* proposed twice */
    assert_true(forbidden(paused, 1, HOLD_NONE));    /* paused: runs once the pause ends */
    assert_true(forbidden(served, 2, HOLD_CHECKED)); /* served: never runs again */
    assert_false(forbidden(none, 0, HOLD_CHECKED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_paths_the_server_takes),
        cmocka_unit_test(test_forbidden_moves_stop_the_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
