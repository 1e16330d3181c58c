/*
 * tests/unit/test_config_lines.c - config files are read a bounded line at a
 * time (src/config/config_load.c): a line longer than CONFIG_LINE_MAX is refused
 * without being read whole, so a file with no line end -- "include
 * /dev/zero" is the extreme, found by tests/fuzz/fuzz_config.c -- costs one
 * line's memory and ends in the usual FATAL CONFIG FILE ERROR block. Long
 * comment lines are still skipped, as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "under_asan.h"

static char dir[64];

static void write_file(const char *path, const char *head, size_t fill, const char *tail)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(head, f);
    for (size_t i = 0; i < fill; i++)
        fputc('x', f);
    fputs(tail, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/rc-conflines-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* In a child whose address space is capped at 256 MB (not under ASan, whose
 * shadow memory needs more): reading /dev/zero as a config file must stop at
 * the line limit with an error, not exhaust memory or stop silently. */
static void test_include_dev_zero_refused_in_bounded_memory(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/zero.conf", dir);
    write_file(path, "port 7000\ninclude /dev/zero\n", 0, "");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
#ifndef UNDER_ASAN
        struct rlimit rl = {256u << 20, 256u << 20};
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(2);
#endif
        struct config c;
        config_init_defaults(&c);
        char err[4096] = "";
        int rc = config_load_file(&c, path, err, sizeof err);
        int ok = rc == CONFIG_ERR_VALUE && strstr(err, "FATAL CONFIG FILE ERROR") &&
                 strstr(err, "/dev/zero:1") && strstr(err, "line longer than 65536 bytes");
        if (!ok) fprintf(stderr, "rc %d: %s\n", rc, err);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_long_directive_line_refused_with_its_place(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/long.conf", dir);
    write_file(path, "port 7000\nrequirepass ", CONFIG_LINE_MAX, "\nport 7001\n");
    struct config c;
    config_init_defaults(&c);
    char err[4096] = "";
    assert_int_equal(config_load_file(&c, path, err, sizeof err), CONFIG_ERR_VALUE);
    assert_non_null(strstr(err, "long.conf:2"));
    assert_non_null(strstr(err, "line longer than 65536 bytes"));
    assert_int_equal(c.port, 7000);
    config_free(&c);
}

static void test_long_comment_line_skipped(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/comment.conf", dir);
    write_file(path, "port 7000\n# ", 3 * CONFIG_LINE_MAX, "\nport 7001\n");
    struct config c;
    config_init_defaults(&c);
    char err[4096] = "";
    assert_int_equal(config_load_file(&c, path, err, sizeof err), CONFIG_OK);
    assert_int_equal(c.port, 7001);
    config_free(&c);
}

static void test_line_at_the_limit_accepted(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/limit.conf", dir);
    /* "dir " + value + "\n" is exactly CONFIG_LINE_MAX bytes */
    write_file(path, "dir ", CONFIG_LINE_MAX - 5, "\n");
    struct config c;
    config_init_defaults(&c);
    char err[4096] = "";
    assert_int_equal(config_load_file(&c, path, err, sizeof err), CONFIG_OK);
    assert_int_equal(strlen(c.dir), CONFIG_LINE_MAX - 5);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_include_dev_zero_refused_in_bounded_memory),
        cmocka_unit_test(test_long_directive_line_refused_with_its_place),
        cmocka_unit_test(test_long_comment_line_skipped),
        cmocka_unit_test(test_line_at_the_limit_accepted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
