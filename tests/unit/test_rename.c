/*
 * tests/unit/test_rename.c - rename-command's table (src/cmd/rename.h) over
 * the server's whole command table: new names, commands taken away, the
 * directives applied in file order as Redis applies them, Redis's errors
 * (a failed directive may leave its name taken away, as Redis's does: the
 * node refuses to start then), and what COMMAND counts and lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cmd/cmd.h"
#include "cmd/rename.h"
#include "servercmd/cmdtable.h"

static const struct command *find(const struct cmd_renames *r, const char *name)
{
    return cmd_renames_find(r, name, strlen(name));
}

static const struct command *own(const char *name)
{
    return cmd_lookup_name(name, strlen(name));
}

static void add_ok(struct cmd_renames *r, const char *from, const char *to)
{
    char err[256] = "";
    if (cmd_renames_add(r, from, to, err, sizeof err) != 0)
        fail_msg("rename-command %s %s: %s", from, to, err);
}

static void add_fails(struct cmd_renames *r, const char *from, const char *to, const char *want)
{
    char err[256] = "";
    assert_int_equal(cmd_renames_add(r, from, to, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void test_no_directive_changes_nothing(void **state)
{
    (void)state;
    struct cmd_renames r;
    cmd_renames_init(&r);
    assert_ptr_equal(find(&r, "GET"), own("get"));
    assert_null(find(&r, "nosuch"));
    assert_null(find(&r, "config|get")); /* top-level names only */
    assert_false(cmd_renames_hides(&r, "get", 3));
    assert_int_equal(cmd_renames_count(&r), cmd_count());
    cmd_renames_free(&r);
}

static void test_renamed_and_taken_away(void **state)
{
    (void)state;
    struct cmd_renames r;
    cmd_renames_init(&r);
    add_ok(&r, "CONFIG", "MyConfig");
    add_ok(&r, "flushall", "");
    assert_null(find(&r, "config"));
    assert_true(cmd_renames_hides(&r, "CONFIG", 6));
    assert_ptr_equal(find(&r, "myconfig"), own("config"));
    assert_ptr_equal(find(&r, "MYCONFIG"), own("config"));
    assert_false(cmd_renames_hides(&r, "myconfig", 8));
    assert_null(find(&r, "flushall"));
    assert_true(cmd_renames_callable(&r, own("config")));
    assert_false(cmd_renames_callable(&r, own("flushall")));
    assert_true(cmd_renames_callable(&r, own("get")));
    assert_int_equal(cmd_renames_count(&r), cmd_count() - 1);
    cmd_renames_free(&r);
}

static void test_file_order(void **state)
{
    (void)state;
    struct cmd_renames r;
    cmd_renames_init(&r);
    add_fails(&r, "GET", "SET", "Target command name already exists");
    cmd_renames_free(&r);
    cmd_renames_init(&r);
    add_ok(&r, "SET", "");
    add_ok(&r, "GET", "SET"); /* SET's name is free now */
    assert_ptr_equal(find(&r, "set"), own("get"));
    assert_null(find(&r, "get"));
    add_ok(&r, "SET", "fetch"); /* SET means GET: GET is renamed again */
    assert_ptr_equal(find(&r, "fetch"), own("get"));
    assert_null(find(&r, "set"));
    assert_true(cmd_renames_hides(&r, "set", 3));
    add_ok(&r, "fetch", "get"); /* back to its own name */
    assert_ptr_equal(find(&r, "get"), own("get"));
    add_ok(&r, "ECHO", "ECHO"); /* renamed to itself: as before */
    assert_ptr_equal(find(&r, "echo"), own("echo"));
    cmd_renames_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    struct cmd_renames r;
    cmd_renames_init(&r);
    add_fails(&r, "nosuch", "x", "No such command in rename-command");
    add_ok(&r, "DEL", "");
    add_fails(&r, "DEL", "remove", "No such command in rename-command");
    add_fails(&r, "config|get", "x",
              "rename-command renames commands, not subcommands "
              "('config|get')");
    add_fails(&r, "PING", "a|b", "Target command name already exists");
    cmd_renames_free(&r);
}

int main(void)
{
    cmdtable_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_directive_changes_nothing),
        cmocka_unit_test(test_renamed_and_taken_away),
        cmocka_unit_test(test_file_order),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
