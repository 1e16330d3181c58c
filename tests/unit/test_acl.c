/*
 * tests/unit/test_acl.c - the ACL module (src/acl/acl.h) over the server's
 * whole command table: Redis 7.0's rules and error texts, the users as
 * ACL LIST describes them (the default user, a new one, categories,
 * passwords, selectors), the check of commands with keys and channels,
 * and, for random rule sets, that a user described and built again from
 * its description is the same user.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/acl.h"
#include "cmd/cmd.h"
#include "servercmd/cmdtable.h"

#define WORDS_MAX 64

/* Splits a line at spaces into args over a copy kept in buf. */
static int split(const char *line, char *buf, size_t cap, struct resp_arg *args)
{
    snprintf(buf, cap, "%s", line);
    int n = 0;
    for (char *p = strtok(buf, " "); p && n < WORDS_MAX; p = strtok(NULL, " "))
        args[n++] = (struct resp_arg){p, strlen(p)};
    return n;
}

/* ACL SETUSER name <rules>: 0, or -1 with err. */
static int setuser(struct acl *a, const char *name, const char *rules, char *err, size_t errlen)
{
    char buf[4096];
    struct resp_arg args[WORDS_MAX];
    int n = split(rules, buf, sizeof buf, args);
    return acl_setuser(a, name, strlen(name), n, args, 0, err, errlen);
}

static void set_ok(struct acl *a, const char *name, const char *rules)
{
    char err[512] = "";
    int rc = setuser(a, name, rules, err, sizeof err);
    if (rc != 0) fail_msg("ACL SETUSER %s %s: %s", name, rules, err);
}

static void expect_describe(struct acl *a, const char *name, const char *want)
{
    struct acl_user *u = acl_user(a, name, strlen(name));
    assert_non_null(u);
    char *d = acl_describe(u, NULL);
    assert_string_equal(d, want);
    free(d);
}

/* acl_check() of a command line as user name. */
static enum acl_result check(struct acl *a, const char *name, const char *line, int *pos)
{
    char buf[4096];
    struct resp_arg args[WORDS_MAX];
    int n = split(line, buf, sizeof buf, args);
    const struct command *parent;
    const struct command *cmd = cmd_lookup(args, n, &parent);
    assert_non_null(cmd);
    int p = 0;
    enum acl_result r = acl_check(acl_user(a, name, strlen(name)), cmd, n, args, &p);
    if (pos) *pos = p;
    return r;
}

static void test_default_and_new_users(void **state)
{
    (void)state;
    struct acl *a = acl_new();
    assert_int_equal(acl_count(a), 1);
    expect_describe(a, "default", "on nopass ~* &* +@all");
    set_ok(a, "newuser", "");
    expect_describe(a, "newuser", "off resetchannels -@all");
    set_ok(a, "newuser", "on >foobar ~obj:* %R~ro:* &chan:* +get +@hash");
    expect_describe(a, "newuser",
                    "on #c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2 "
                    "~obj:* %R~ro:* resetchannels &chan:* -@all +@hash +get");
    assert_true(acl_password_ok(acl_user(a, "newuser", 7), "foobar", 6));
    assert_false(acl_password_ok(acl_user(a, "newuser", 7), "foobaz", 6));
    set_ok(a, "newuser", "reset");
    expect_describe(a, "newuser", "off sanitize-payload resetchannels -@all");
    /* users come in name order */
    set_ok(a, "abc", "");
    set_ok(a, "ab", "");
    const char *order[] = {"ab", "abc", "default", "newuser"};
    assert_int_equal(acl_count(a), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(acl_user_name(acl_user_at(a, i), NULL), order[i]);
    assert_int_equal(acl_deluser(a, "abc", 3), 0);
    assert_int_equal(acl_deluser(a, "abc", 3), 1);
    assert_int_equal(acl_deluser(a, "default", 7), -1);
    acl_free(a);
}

static void expect_error(struct acl *a, const char *rules, const char *want)
{
    char err[512] = "";
    assert_int_equal(setuser(a, "u", rules, err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void test_errors_change_nothing(void **state)
{
    (void)state;
    struct acl *a = acl_new();
    set_ok(a, "u", "on ~k* +get");
    expect_error(a, "+set +nosuchcmd",
                 "Error in ACL SETUSER modifier '+nosuchcmd': Unknown command or category name "
                 "in ACL");
    expect_error(a, "-@nosuchcat",
                 "Error in ACL SETUSER modifier '-@nosuchcat': Unknown command or category name "
                 "in ACL");
    expect_error(a, "bogus", "Error in ACL SETUSER modifier 'bogus': Syntax error");
    expect_error(a, "%X~k", "Error in ACL SETUSER modifier '%X~k': Syntax error");
    expect_error(a, "#abc",
                 "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 "
                 "characters and contain only lowercase hexadecimal characters");
    expect_error(a, "<nopw",
                 "Error in ACL SETUSER modifier '<nopw': The password you are trying to remove "
                 "from the user does not exist");
    expect_error(a, "+config|get|x",
                 "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a "
                 "subcommand is not supported");
    expect_error(a, "(~a +get", "Unmatched parenthesis in acl selector starting at '(~a'.");
    expect_error(a, "allkeys ~x",
                 "Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern (or "
                 "the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' "
                 "to start with an empty list of patterns");
    expect_describe(a, "u", "on ~k* resetchannels -@all +get");
    char err[256];
    assert_int_equal(acl_setuser(a, "a b", 3, 0, NULL, 0, err, sizeof err), -1);
    assert_string_equal(err, "Usernames can't contain spaces or null characters");
    acl_free(a);
}

static void test_check_keys_channels_commands(void **state)
{
    (void)state;
    struct acl *a = acl_new();
    set_ok(a, "ro", "on nopass %R~app:* +@read");
    set_ok(a, "app", "on nopass ~* &news.* +@all -flushall -config");
    int pos;
    assert_int_equal(check(a, "ro", "GET app:1", NULL), ACL_OK);
    assert_int_equal(check(a, "ro", "GET other", &pos), ACL_DENIED_KEY);
    assert_int_equal(pos, 1);
    assert_int_equal(check(a, "ro", "SET app:1 x", NULL), ACL_DENIED_CMD);
    assert_int_equal(check(a, "ro", "MGET app:1 app:2 zzz", &pos), ACL_DENIED_KEY);
    assert_int_equal(pos, 3);
    /* EXISTS reads no value: a write-only pattern covers it, GET's read not */
    set_ok(a, "wo", "on nopass %W~w:* +@all");
    assert_int_equal(check(a, "wo", "EXISTS w:1", NULL), ACL_OK);
    assert_int_equal(check(a, "wo", "GET w:1", NULL), ACL_DENIED_KEY);
    assert_int_equal(check(a, "wo", "EXISTS x", NULL), ACL_DENIED_KEY);
    assert_int_equal(check(a, "app", "FLUSHALL", NULL), ACL_DENIED_CMD);
    assert_int_equal(check(a, "app", "CONFIG GET maxmemory", NULL), ACL_DENIED_CMD);
    assert_int_equal(check(a, "app", "SET k v", NULL), ACL_OK);
    assert_int_equal(check(a, "app", "PUBLISH news.eu hi", NULL), ACL_OK);
    assert_int_equal(check(a, "app", "PUBLISH sport hi", &pos), ACL_DENIED_CHANNEL);
    assert_int_equal(pos, 1);
    assert_int_equal(check(a, "app", "SUBSCRIBE news.a sport", &pos), ACL_DENIED_CHANNEL);
    assert_int_equal(pos, 2);
    /* a pattern subscribed must equal an allowed one */
    assert_int_equal(check(a, "app", "PSUBSCRIBE news.*", NULL), ACL_OK);
    assert_int_equal(check(a, "app", "PSUBSCRIBE news.e*", NULL), ACL_DENIED_CHANNEL);
    /* commands allowed before AUTH pass the command step */
    assert_int_equal(check(a, "ro", "AUTH x", NULL), ACL_OK);
    /* a subcommand alone, and a first argument */
    set_ok(a, "sub", "on nopass +config|get +select|0");
    assert_int_equal(check(a, "sub", "CONFIG GET x", NULL), ACL_OK);
    assert_int_equal(check(a, "sub", "CONFIG SET x y", NULL), ACL_DENIED_CMD);
    assert_int_equal(check(a, "sub", "SELECT 0", NULL), ACL_OK);
    assert_int_equal(check(a, "sub", "SELECT 1", NULL), ACL_DENIED_CMD);
    expect_describe(a, "sub", "on nopass resetchannels -@all +select|0 +config|get");
    acl_free(a);
}

static void test_selectors(void **state)
{
    (void)state;
    struct acl *a = acl_new();
    set_ok(a, "s", "on nopass ~r:* +get (~w:* +set) (%W~log:* +lpush)");
    expect_describe(a, "s",
                    "on nopass ~r:* resetchannels -@all +get (~w:* resetchannels -@all +set) "
                    "(%W~log:* resetchannels -@all +lpush)");
    assert_int_equal(check(a, "s", "GET r:1", NULL), ACL_OK);
    assert_int_equal(check(a, "s", "SET w:1 x", NULL), ACL_OK);
    assert_int_equal(check(a, "s", "SET r:1 x", NULL), ACL_DENIED_KEY);
    assert_int_equal(check(a, "s", "GET w:1", NULL), ACL_DENIED_KEY);
    assert_int_equal(check(a, "s", "DEL r:1", NULL), ACL_DENIED_CMD);
    assert_int_equal(check(a, "s", "LPUSH log:1 x", NULL), ACL_OK);
    assert_int_equal(acl_selector_count(acl_user(a, "s", 1)), 3);
    set_ok(a, "s", "clearselectors");
    expect_describe(a, "s", "on nopass ~r:* resetchannels -@all +get");
    acl_free(a);
}

/* For random rule sets: described, built again, described the same. */
static void test_describe_round_trip(void **state)
{
    (void)state;
    static const char *const rules[] = {
        "+@all",      "-@all",         "+@read",      "-@write",        "+@hash",  "-@dangerous",
        "+get",       "-get",          "+config|get", "-config|set",    "+client", "-client|kill",
        "+select|0",  "+debug|object", "~a*",         "%R~b*",          "%W~c*",   "allkeys",
        "resetkeys",  "&ch*",          "allchannels", "resetchannels",  "on",      "off",
        ">pw",        "nopass",        "resetpass",   "+@admin",        "-@slow",  "+@fast",
        "-@keyspace", "+@pubsub",      "(~x* +set)",  "clearselectors", "-hset",   "+@scripting",
    };
    size_t nrules = sizeof rules / sizeof rules[0];
    srand(42);
    for (int round = 0; round < 300; round++) {
        struct acl *a = acl_new();
        struct resp_arg args[12];
        int n = 1 + rand() % 12;
        for (int i = 0; i < n; i++) {
            const char *r = rules[(size_t)rand() % nrules];
            args[i] = (struct resp_arg){r, strlen(r)};
        }
        char err[512];
        if (acl_setuser(a, "u", 1, n, args, round % 2, err, sizeof err) != 0) {
            acl_free(a);
            continue; /* e.g. a pattern after allkeys */
        }
        size_t len;
        char *d = acl_describe(acl_user(a, "u", 1), &len);
        char line[8192];
        snprintf(line, sizeof line, "user v %s", d);
        struct resp_arg words[WORDS_MAX * 4];
        int nw = acl_split_line(line, strlen(line), words, WORDS_MAX * 4, err, sizeof err);
        assert_true(nw >= 2);
        int rc = acl_setuser(a, "v", 1, nw - 2, words + 2, 0, err, sizeof err);
        if (rc != 0) fail_msg("%s: %s", line, err);
        char *d2 = acl_describe(acl_user(a, "v", 1), NULL);
        assert_string_equal(d, d2);
        free(d);
        free(d2);
        acl_free(a);
    }
}

static void test_replace_keeps_objects(void **state)
{
    (void)state;
    struct acl *dst = acl_new(), *src = acl_new();
    set_ok(dst, "keep", "on nopass +get");
    set_ok(dst, "gone", "on nopass");
    set_ok(dst, "default", "off");
    set_ok(src, "keep", "on nopass +set");
    set_ok(src, "new", "on");
    acl_deluser(src, "default", 7); /* refused: default stays in src */
    struct acl_user *keep = acl_user(dst, "keep", 4);
    assert_true(acl_replace_drops(src, acl_user(dst, "gone", 4)));
    assert_false(acl_replace_drops(src, keep));
    acl_replace(dst, src);
    assert_ptr_equal(acl_user(dst, "keep", 4), keep);
    assert_null(acl_user(dst, "gone", 4));
    assert_non_null(acl_user(dst, "new", 3));
    expect_describe(dst, "keep", "on nopass resetchannels -@all +set");
    expect_describe(dst, "default", "on nopass ~* &* +@all");
    acl_free(dst);
    acl_free(src);
}

int main(void)
{
    cmdtable_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_and_new_users),
        cmocka_unit_test(test_errors_change_nothing),
        cmocka_unit_test(test_check_keys_channels_commands),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_describe_round_trip),
        cmocka_unit_test(test_replace_keeps_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
