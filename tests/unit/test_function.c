/*
 * tests/unit/test_function.c - the library registry (src/script/function.h) on a
 * real scripting engine: loading libraries (Redis 7.0's shebang errors,
 * registration errors, the load environment, the budget), the all-or-
 * nothing rules of REPLACE, DELETE and FLUSH, FUNCTION DUMP / RESTORE and
 * their policies, and the snapshot pair function_each_library /
 * function_load_code. Error texts are Redis's, so a failure here is a
 * difference a client would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "script/function.h"
#include "script/script.h"
#include "types/typetable.h"

struct fx {
    struct monitor stats;
    struct script_engine *e;
    struct function_registry *r;
    struct resp_out err;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    monitor_init(&f->stats, cmd_id_count());
    f->e = script_engine_new(&f->stats);
    f->r = function_registry_new(f->e);
    resp_out_init(&f->err, 2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    function_registry_free(f->r);
    script_engine_free(f->e);
    resp_out_free(&f->err);
    monitor_free(&f->stats);
    free(f);
    return 0;
}

/* Loads code into f->r: returns 0 or -1, the error (if any) in f->err. */
static int load(struct fx *f, const char *code, int replace)
{
    resp_out_clear(&f->err);
    return function_load_code(f->r, code, strlen(code), replace, &f->err);
}

/* 1 if f->err holds an error reply containing want. */
static int err_has(const struct fx *f, const char *want)
{
    char text[1024];
    size_t n = f->err.len < sizeof text - 1 ? f->err.len : sizeof text - 1;
    memcpy(text, f->err.data, n);
    text[n] = '\0';
    if (text[0] == '-' && strstr(text, want)) return 1;
    print_error("got %s, want %s\n", text, want);
    return 0;
}

/* The load fails with an error reply containing want; nothing changes. */
static void expect_load_error(struct fx *f, const char *code, int replace, const char *want)
{
    size_t libs = function_lib_count(f->r), fns = function_fn_count(f->r);
    assert_int_equal(load(f, code, replace), -1);
    assert_true(err_has(f, want));
    assert_int_equal(function_lib_count(f->r), libs);
    assert_int_equal(function_fn_count(f->r), fns);
}

#define LIB_AB                                                                                     \
    "#!lua name=ab\nredis.register_function('a', function() return 1 end)\n"                       \
    "redis.register_function{function_name='B', callback=function() return 2 end, "                \
    "flags={'no-writes', 'allow-stale'}, description='bee'}"

static void test_load_and_find(void **state)
{
    struct fx *f = *state;
    const char *name = NULL;
    assert_int_equal(function_load(f->r, LIB_AB, strlen(LIB_AB), 0, &f->err, &name), 0);
    assert_string_equal(name, "ab");
    assert_int_equal(function_lib_count(f->r), 1);
    assert_int_equal(function_fn_count(f->r), 2);
    const struct script_lib_fn *b = function_find(f->r, "b", 1);
    assert_non_null(b);
    assert_string_equal(b->name, "B");
    assert_string_equal(b->desc, "bee");
    assert_int_equal(b->flags, SCRIPT_FLAG_NO_WRITES | SCRIPT_FLAG_ALLOW_STALE);
    const struct script_lib_fn *a = function_find(f->r, "A", 1);
    assert_non_null(a);
    assert_null(a->desc);
    assert_int_equal(a->flags, 0);
    assert_null(function_find(f->r, "c", 1));
    /* A quoted name is unquoted, as Redis reads the line. */
    assert_int_equal(load(f, "#!lua name=\"q\"\nredis.register_function('q1', function() end)", 0),
                     0);
    assert_int_equal(function_delete(f->r, "q", 1), 0);
}

static void test_shebang_errors(void **state)
{
    struct fx *f = *state;
    const char *body = "\nredis.register_function('x', function() end)";
    char code[256];
    static const struct {
        const char *line, *err;
    } cases[] = {
        {"lua name=x", "ERR Missing library metadata"},
        {"#! name=x", "ERR Engine '' not found"},
        {"#!js name=x", "ERR Engine 'js' not found"},
        {"#!lua", "ERR Library name was not given"},
        {"#!lua name=x foo=bar", "ERR Invalid metadata value given: foo=bar"},
        {"#!lua name=x name=y", "ERR Invalid metadata value, name argument was given multiple"},
        {"#!lua name=a-b", "ERR Library names can only contain letters, numbers, or underscores"},
        {"#!lua name=", "ERR Library names can only contain"},
        {"#!lua name=\"x", "ERR Invalid library metadata"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(code, sizeof code, "%s%s", cases[i].line, body);
        expect_load_error(f, code, 0, cases[i].err);
    }
    expect_load_error(f, "#!lua name=x", 0, "ERR Invalid library metadata");
}

static void test_registration_errors(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *code, *err;
    } cases[] = {
        {"return 1", "ERR No functions registered"},
        {"bad code", "Error compiling function"},
        {"redis.register_function()", "wrong number of arguments to redis.register_function"},
        {"redis.register_function('f')", "only applicable to Lua table"},
        {"redis.register_function(nil, function() end)", "first argument to redis.register"},
        {"redis.register_function('f', 'x')", "second argument to redis.register_function"},
        {"redis.register_function('', function() end)", "Library names can only contain"},
        {"redis.register_function('f', function() end)\nredis.register_function('F', function() "
         "end)",
         "Function already exists in the library"},
        {"redis.register_function{function_name='f', callback=function() end, flags='x'}",
         "flags argument to redis.register_function must be a table"},
        {"redis.register_function{function_name='f', callback=function() end, flags={'x'}}",
         "unknown flag given"},
        {"redis.register_function{function_name='f', callback=function() end, other=1}",
         "unknown argument given to redis.register_function"},
        {"redis.register_function{callback=function() end}", "must get a function name argument"},
        {"redis.register_function{function_name='f'}", "must get a callback argument"},
        {"return math.random()", "nonexistent global variable 'math'"},
        {"return redis.call('ping')", "nonexistent global variable 'call'"},
        {"return redis.setresp(3)", "nonexistent global variable 'setresp'"},
        {"x = 1", "Attempt to modify a readonly table"},
        {"redis.x = 1", "Attempt to modify a readonly table"},
    };
    char code[512];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(code, sizeof code, "#!lua name=lib\n%s", cases[i].code);
        expect_load_error(f, code, 0, cases[i].err);
    }
}

static void test_load_budget(void **state)
{
    struct fx *f = *state;
    script_set_budget(f->e, 1000000);
    expect_load_error(f, "#!lua name=spin\nlocal a = 1 while true do a = a + 1 end", 0,
                      "FUNCTION LOAD timeout");
    /* The engine is usable after: the next load succeeds. */
    assert_int_equal(load(f, LIB_AB, 0), 0);
}

static void test_replace_and_collisions(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, LIB_AB, 0), 0);
    expect_load_error(f, LIB_AB, 0, "ERR Library 'ab' already exists");
    /* A failing REPLACE keeps the old library. */
    expect_load_error(f, "#!lua name=ab\nerror('no')", 1, "Error registering functions");
    assert_non_null(function_find(f->r, "a", 1));
    /* Another library may not take a function name. */
    expect_load_error(f, "#!lua name=cd\nredis.register_function('A', function() end)", 0,
                      "ERR Function A already exists");
    /* REPLACE swaps the whole library: B goes, c comes. */
    assert_int_equal(load(f, "#!lua name=ab\nredis.register_function('c', function() end)", 1), 0);
    assert_null(function_find(f->r, "b", 1));
    assert_non_null(function_find(f->r, "c", 1));
    assert_int_equal(function_fn_count(f->r), 1);
    assert_int_equal(function_delete(f->r, "AB", 2), -1); /* library names keep their case */
    assert_int_equal(function_delete(f->r, "ab", 2), 0);
    assert_int_equal(function_lib_count(f->r), 0);
    assert_int_equal(function_fn_count(f->r), 0);
}

static int count_code(void *ud, const char *code, size_t len)
{
    (void)code;
    (void)len;
    ++*(int *)ud;
    return 0;
}

static int copy_code(void *ud, const char *code, size_t len)
{
    struct resp_out err;
    resp_out_init(&err, 2);
    int rc = function_load_code(ud, code, len, 0, &err);
    resp_out_free(&err);
    return rc;
}

static void test_each_library_round_trip(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, LIB_AB, 0), 0);
    assert_int_equal(load(f, "#!lua name=x\nredis.register_function('x', function() end)", 0), 0);
    int n = 0;
    assert_int_equal(function_each_library(f->r, count_code, &n), 0);
    assert_int_equal(n, 2);
    struct function_registry *copy = function_registry_new(f->e);
    assert_int_equal(function_each_library(f->r, copy_code, copy), 0);
    assert_int_equal(function_lib_count(copy), 2);
    assert_int_equal(function_fn_count(copy), 3);
    assert_non_null(function_find(copy, "B", 1));
    function_registry_free(copy);
}

static int restore(struct fx *f, const char *p, size_t len, enum function_restore_policy policy)
{
    resp_out_clear(&f->err);
    return function_restore(f->r, p, len, policy, &f->err);
}

static void test_dump_restore(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, LIB_AB, 0), 0);
    size_t len;
    char *dump = function_dump(f->r, &len);
    /* APPEND onto the same library fails and changes nothing. */
    assert_int_equal(restore(f, dump, len, FUNCTION_RESTORE_APPEND), -1);
    assert_true(err_has(f, "ERR Library ab already exists"));
    assert_int_equal(restore(f, dump, len, FUNCTION_RESTORE_REPLACE), 0);
    assert_int_equal(function_fn_count(f->r), 2);
    function_flush(f->r);
    assert_int_equal(restore(f, dump, len, FUNCTION_RESTORE_APPEND), 0);
    assert_non_null(function_find(f->r, "a", 1));
    /* A library of another name holding one of the dump's functions. */
    function_flush(f->r);
    assert_int_equal(load(f, "#!lua name=other\nredis.register_function('a', function() end)", 0),
                     0);
    assert_int_equal(restore(f, dump, len, FUNCTION_RESTORE_REPLACE), -1);
    assert_true(err_has(f, "ERR Function a already exists"));
    assert_non_null(function_find(f->r, "a", 1));
    assert_int_equal(function_lib_count(f->r), 1);
    /* FLUSH drops "other" first. */
    assert_int_equal(restore(f, dump, len, FUNCTION_RESTORE_FLUSH), 0);
    assert_int_equal(function_lib_count(f->r), 1);
    assert_int_equal(function_fn_count(f->r), 2);
    /* A flipped byte, a truncated payload, garbage: refused, nothing changes. */
    for (size_t i = 0; i < len; i += 7) {
        dump[i] ^= 0x20;
        assert_int_equal(restore(f, dump, len, FUNCTION_RESTORE_FLUSH), -1);
        assert_true(err_has(f, "payload version or checksum are wrong"));
        dump[i] ^= 0x20;
    }
    assert_int_equal(restore(f, dump, len - 1, FUNCTION_RESTORE_FLUSH), -1);
    assert_int_equal(restore(f, "bad", 3, FUNCTION_RESTORE_FLUSH), -1);
    assert_int_equal(function_fn_count(f->r), 2);
    free(dump);
    /* An empty registry dumps and restores to an empty one. */
    function_flush(f->r);
    dump = function_dump(f->r, &len);
    assert_int_equal(restore(f, dump, len, FUNCTION_RESTORE_APPEND), 0);
    assert_int_equal(function_lib_count(f->r), 0);
    free(dump);
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shebang_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_and_collisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_library_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_restore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
