/*
 * tests/unit/test_config_set.c - CONFIG SET and CONFIG GET as a client sees
 * them: several directives set at once or none, the apply hooks the rows'
 * tags name (a server's hook may refuse a value: everything rolls back), glob patterns, binary
 * secrets, and raft-secret never shown. Fixture: config_fixture.h.
 */
#include "config_fixture.h"

/* ------------------------------------------------------------ CONFIG SET */

/* Which hook ran, in order: each registered hook logs its own label. */
struct hook_log {
    int calls;
    char labels[8][64];
};

struct hook_ref {
    struct hook_log *log;
    const char *label;
};

static int hook(void *ud, const struct config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    struct hook_ref *r = ud;
    snprintf(r->log->labels[r->log->calls++ % 8], 64, "%s", r->label);
    return 0;
}

static void test_set_atomic(void **state)
{
    struct fx *f = *state;
    struct hook_log h = {0};
    struct hook_ref hz = {&h, "hz"}, maxclients = {&h, "maxclients"};
    config_set_apply_hook(&f->cfg, CONFIG_APPLY_HZ, hook, &hz);
    config_set_apply_hook(&f->cfg, CONFIG_APPLY_MAXCLIENTS, hook, &maxclients);
    const char *names[] = {"hz", "maxclients", "timeout"};
    const char *bad[] = {"20", "many", "5"};
    assert_int_equal(config_set_multi(&f->cfg, 3, names, bad, NULL, f->err, sizeof f->err),
                     CONFIG_ERR_VALUE);
    assert_string_equal(f->err, FAILED("maxclients") "argument couldn't be parsed into an "
                                                     "integer");
    assert_int_equal(f->cfg.hz, 10); /* the first value was rolled back */
    assert_int_equal(f->cfg.maxclients, 10000);
    assert_int_equal(f->cfg.timeout, 0);
    assert_int_equal(h.calls, 0);

    const char *good[] = {"20", "50", "5"};
    assert_int_equal(config_set_multi(&f->cfg, 3, names, good, NULL, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.hz, 20);
    assert_int_equal(f->cfg.maxclients, 50);
    assert_int_equal(f->cfg.timeout, 5);
    assert_int_equal(h.calls, 2); /* timeout has no hook: it is read where it is used */
    assert_string_equal(h.labels[0], "hz");
    assert_string_equal(h.labels[1], "maxclients");
}

/* Rows of one setting share its hook: an alias and the encoding thresholds
 * run the same one, once per CONFIG SET, after every value is in (a hook
 * sees the whole new config: the TLS files of a certificate and its key set
 * together). */
static void test_set_shared_hook(void **state)
{
    struct fx *f = *state;
    struct hook_log h = {0};
    struct hook_ref limits = {&h, "limits"};
    config_set_apply_hook(&f->cfg, CONFIG_APPLY_ENCODING_LIMITS, hook, &limits);
    const char *names[] = {"hash-max-ziplist-entries", "zset-max-listpack-value",
                           "hll-sparse-max-bytes"};
    const char *values[] = {"10", "20", "30"};
    assert_int_equal(config_set_multi(&f->cfg, 3, names, values, NULL, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.hash_max_listpack_entries, 10);
    assert_int_equal(h.calls, 1);
    assert_int_equal(config_lookup("set-max-intset-entries")->apply, CONFIG_APPLY_ENCODING_LIMITS);
    assert_int_equal(config_lookup("hash-max-ziplist-value")->apply, CONFIG_APPLY_ENCODING_LIMITS);
    assert_int_equal(config_lookup("proto-max-bulk-len")->apply, CONFIG_APPLY_PROTO_MAX_BULK_LEN);
    assert_int_equal(config_lookup("timeout")->apply, CONFIG_APPLY_NONE);
    /* unregistered, a tag runs nothing */
    config_set_apply_hook(&f->cfg, CONFIG_APPLY_ENCODING_LIMITS, NULL, NULL);
    set_ok(f, "hash-max-listpack-entries", "11");
    assert_int_equal(h.calls, 1);
}

static void test_set_refusals(void **state)
{
    struct fx *f = *state;
    set_fails(f, "no-such-thing", "1", CONFIG_ERR_UNKNOWN,
              "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-thing'");
    set_fails(f, "PORT", "7000", CONFIG_ERR_IMMUTABLE, FAILED("PORT") "can't set immutable config");
    set_fails(f, "daemonize", "no", CONFIG_ERR_IMMUTABLE,
              FAILED("daemonize") "can't set immutable config");
    const char *names[] = {"hz", "HZ"};
    const char *values[] = {"20", "30"};
    assert_int_equal(config_set_multi(&f->cfg, 2, names, values, NULL, f->err, sizeof f->err),
                     CONFIG_ERR_DUPLICATE);
    assert_string_equal(f->err, FAILED("HZ") "duplicate parameter");
    /* nothing is set when a later name is refused */
    const char *n2[] = {"hz", "bind"};
    const char *v2[] = {"20", "0.0.0.0"};
    assert_int_equal(config_set_multi(&f->cfg, 2, n2, v2, NULL, f->err, sizeof f->err),
                     CONFIG_ERR_IMMUTABLE);
    assert_int_equal(f->cfg.hz, 10);
    /* CONFIG SET of a list splits its one argument */
    set_ok(f, "client-output-buffer-limit", "pubsub 0 0 0");
    assert_int_equal(f->cfg.obuf_pubsub.hard_bytes, 0);
    /* include is a file directive, not a config value */
    set_fails(f, "include", "/etc/passwd", CONFIG_ERR_UNKNOWN,
              "ERR Unknown option or number of arguments for CONFIG SET - 'include'");
}

/* ------------------------------------------------------------ CONFIG GET */

#define GOT_MAX 256
struct got {
    int n;
    char names[GOT_MAX][64];
    char values[GOT_MAX][128];
    size_t lens[GOT_MAX];
};

static void collect(void *ud, const char *name, const char *value, size_t value_len)
{
    struct got *g = ud;
    assert_true(g->n < GOT_MAX && value_len < 128);
    snprintf(g->names[g->n], 64, "%s", name);
    memcpy(g->values[g->n], value, value_len + 1); /* NUL-terminated after value_len */
    g->lens[g->n] = value_len;
    g->n++;
}

static void get_patterns(struct fx *f, struct got *g, int n, const char *const *pats)
{
    size_t lens[8];
    for (int i = 0; i < n; i++)
        lens[i] = strlen(pats[i]);
    memset(g, 0, sizeof *g);
    config_get(&f->cfg, n, pats, lens, collect, g);
}

static void test_get_glob(void **state)
{
    struct fx *f = *state;
    struct got g;
    const char *p1[] = {"raft-*"};
    get_patterns(f, &g, 1, p1);
    assert_int_equal(g.n, 13); /* raft-secret is never shown */
    for (int i = 0; i < g.n; i++)
        assert_memory_equal(g.names[i], "raft-", 5);

    const char *p2[] = {"MAXMEMORY*"};
    get_patterns(f, &g, 1, p2);
    assert_int_equal(g.n, 5); /* as redis-server 7.0's: maxmemory-clients last */
    assert_string_equal(g.names[0], "maxmemory");
    assert_string_equal(g.values[0], "0");
    assert_string_equal(g.names[1], "maxmemory-policy");
    assert_string_equal(g.values[1], "noeviction");
    assert_string_equal(g.names[2], "maxmemory-samples");
    assert_string_equal(g.values[2], "5");
    assert_string_equal(g.names[3], "maxmemory-eviction-tenacity");
    assert_string_equal(g.values[3], "10");
    assert_string_equal(g.names[4], "maxmemory-clients");
    assert_string_equal(g.values[4], "0");

    /* several patterns: each directive once */
    const char *p3[] = {"port", "po?t", "p*rt", "Port"};
    get_patterns(f, &g, 4, p3);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.values[0], "6379");

    const char *p4[] = {"*"};
    get_patterns(f, &g, 1, p4);
    assert_int_equal(g.n, config_defs_count + config_redis_defs_count -
                              3); /* but raft-secret, user, rename-command */

    const char *p5[] = {"nothing-matches-*", "[xy]*"};
    get_patterns(f, &g, 2, p5);
    assert_int_equal(g.n, 0);
}

/* raft-secret lets its holder act as a Raft peer: no CONFIG GET pattern
 * returns it, while requirepass stays readable as in Redis. */
static void test_get_never_returns_raft_secret(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load_text(f, "raft-secret peer-only\nrequirepass client-pw\n"), 0);
    const char *pats[][2] = {{"raft-secret", NULL}, {"*", NULL},           {"raft-*", NULL},
                             {"*secret*", NULL},    {"RAFT-SECRET", NULL}, {"*", "raft-secret"}};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        struct got g;
        get_patterns(f, &g, pats[i][1] ? 2 : 1, pats[i]);
        for (int k = 0; k < g.n; k++) {
            assert_string_not_equal(g.names[k], "raft-secret");
            assert_null(strstr(g.values[k], "peer-only"));
        }
    }
    const char *p[] = {"requirepass"};
    struct got g;
    get_patterns(f, &g, 1, p);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.values[0], "client-pw");
}

/* Secrets are binary strings, as in Redis: "\x00" in a config file, or a
 * NUL byte in CONFIG SET, is part of the password, never its end. */
static void test_secret_binary(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load_text(f, "requirepass \"\\x00Secret\"\n"), 0);
    assert_int_equal(f->cfg.requirepass.len, 7);
    assert_memory_equal(f->cfg.requirepass.ptr, "\0Secret", 7);
    assert_int_equal(load_text(f, "raft-secret \"sec\\x00ret\"\n"), 0);
    assert_int_equal(f->cfg.raft_secret.len, 7);
    assert_memory_equal(f->cfg.raft_secret.ptr, "sec\0ret", 7);

    const char *name = "requirepass", *value = "ab\0cdef";
    size_t len = 7;
    assert_int_equal(config_set_multi(&f->cfg, 1, &name, &value, &len, f->err, sizeof f->err), 0);
    assert_int_equal(f->cfg.requirepass.len, 7);
    assert_memory_equal(f->cfg.requirepass.ptr, "ab\0cdef", 7);
    struct got g;
    get_patterns(f, &g, 1, &name);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.lens[0], 7);
    assert_memory_equal(g.values[0], "ab\0cdef", 7);
    char buf[4];
    assert_int_equal(config_format_value(&f->cfg, config_lookup("requirepass"), buf, sizeof buf),
                     7);
    assert_memory_equal(buf, "ab\0", 4); /* truncated, NUL-terminated */

    /* a rolled-back CONFIG SET puts the binary value back intact */
    const char *names[] = {"requirepass", "hz"}, *values[] = {"x", "0"};
    size_t lens[] = {1, 1};
    assert_int_equal(config_set_multi(&f->cfg, 2, names, values, lens, f->err, sizeof f->err),
                     CONFIG_ERR_VALUE);
    assert_int_equal(f->cfg.requirepass.len, 7);
    assert_memory_equal(f->cfg.requirepass.ptr, "ab\0cdef", 7);

    /* other values are text: a NUL byte is refused, not a silent cut */
    assert_int_equal(load_text(f, "dir \"/tmp/a\\x00b\"\n"), CONFIG_ERR_VALUE);
    assert_contains(f->err, "argument must not contain a NUL byte");
    assert_string_equal(f->cfg.dir, "./data");
    const char *hz = "hz", *hzv = "20\0"
                                  "5";
    size_t hzlen = 4;
    assert_int_equal(config_set_multi(&f->cfg, 1, &hz, &hzv, &hzlen, f->err, sizeof f->err),
                     CONFIG_ERR_VALUE);
    assert_contains(f->err, "argument must not contain a NUL byte");
    assert_int_equal(f->cfg.hz, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_shared_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_glob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_never_returns_raft_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_binary, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
