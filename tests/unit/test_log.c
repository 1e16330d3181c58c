/*
 * tests/unit/test_log.c - the process log's file handling (src/base/log.h):
 * a log file moved or removed, as logrotate does, is replaced by a new one
 * at the same path at the next line, and lines are never lost meanwhile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

struct dir {
    char path[64];
    char log[96], moved[96];
};

static void dir_make(struct dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/test_log.XXXXXX");
    assert_non_null(mkdtemp(d->path));
    snprintf(d->log, sizeof d->log, "%s/node.log", d->path);
    snprintf(d->moved, sizeof d->moved, "%s/node.log.1", d->path);
}

static void dir_remove(struct dir *d)
{
    unlink(d->log);
    unlink(d->moved);
    rmdir(d->path);
}

/* 1 if the file at path holds text; 0 if not or missing. */
static int file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, text) != NULL;
}

static void test_moved_file_is_replaced(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    assert_int_equal(log_init(LOG_LEVEL_NOTICE, d.log), 0);
    LOG_NOTICE("before the rotation");
    assert_int_equal(rename(d.log, d.moved), 0);
    LOG_NOTICE("after the rotation");
    log_close();
    assert_true(file_has(d.moved, "before the rotation"));
    assert_false(file_has(d.moved, "after the rotation"));
    assert_true(file_has(d.log, "after the rotation"));
    dir_remove(&d);
}

static void test_removed_file_is_created_again(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    assert_int_equal(log_init(LOG_LEVEL_NOTICE, d.log), 0);
    LOG_NOTICE("first");
    assert_int_equal(unlink(d.log), 0);
    LOG_WARNING("second");
    LOG_NOTICE("third");
    log_close();
    assert_true(file_has(d.log, "second"));
    assert_true(file_has(d.log, "third"));
    assert_false(file_has(d.log, "first"));
    dir_remove(&d);
}

/* The directory cannot take a new file: lines go on into the moved one. */
static void test_lines_kept_when_reopen_fails(void **state)
{
    (void)state;
    struct dir d;
    dir_make(&d);
    assert_int_equal(log_init(LOG_LEVEL_NOTICE, d.log), 0);
    assert_int_equal(rename(d.log, d.moved), 0);
    assert_int_equal(mkdir(d.log, 0700), 0); /* the path is now a directory */
    LOG_NOTICE("still written");
    assert_int_equal(rmdir(d.log), 0);
    LOG_NOTICE("in the new file");
    log_close();
    assert_true(file_has(d.moved, "still written"));
    assert_true(file_has(d.log, "in the new file"));
    dir_remove(&d);
}

static void test_unopenable_path_is_refused(void **state)
{
    (void)state;
    assert_int_equal(log_init(LOG_LEVEL_NOTICE, "/nonexistent-dir/node.log"), -1);
    char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = 0;
    assert_int_equal(log_init(LOG_LEVEL_NOTICE, longpath), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moved_file_is_replaced),
        cmocka_unit_test(test_removed_file_is_created_again),
        cmocka_unit_test(test_lines_kept_when_reopen_fails),
        cmocka_unit_test(test_unopenable_path_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
