/*
 * tests/unit/test_sentinel.c - Redis Sentinel's replies (src/server/sentinel.h):
 * each kind of instance carries Redis Sentinel 7.0's field names in its
 * order (taken from a real redis-sentinel watching a master and a replica),
 * the optional down-time fields appear only while down, the flags text is
 * Sentinel's, RESP3 gets a map and RESP2 a flat array, CKQUORUM's texts,
 * and the +switch-master message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/sentinel.h"

#define FIELDS_MAX 32

/* A RESP2 flat array of bulk strings, decoded: names and values. */
struct decoded {
    int n; /* pairs */
    char key[FIELDS_MAX][48];
    char val[FIELDS_MAX][300];
};

static long read_len(const char **p, char type)
{
    assert_int_equal(**p, type);
    char *end;
    long n = strtol(*p + 1, &end, 10);
    assert_true(end[0] == '\r' && end[1] == '\n');
    *p = end + 2;
    return n;
}

static void read_bulk(const char **p, char *out, size_t cap)
{
    long n = read_len(p, '$');
    assert_true(n >= 0 && (size_t)n < cap);
    memcpy(out, *p, (size_t)n);
    out[n] = 0;
    *p += n + 2;
}

static void decode(const struct resp_out *o, struct decoded *d)
{
    const char *p = o->data;
    long n = read_len(&p, '*');
    assert_true(n % 2 == 0 && n / 2 <= FIELDS_MAX);
    d->n = (int)(n / 2);
    for (int i = 0; i < d->n; i++) {
        read_bulk(&p, d->key[i], sizeof d->key[i]);
        read_bulk(&p, d->val[i], sizeof d->val[i]);
    }
    assert_ptr_equal(p, o->data + o->len);
}

static const char *get(const struct decoded *d, const char *k)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->key[i], k) == 0) return d->val[i];
    return NULL;
}

static void assert_keys(const struct decoded *d, const char *const *want)
{
    int i = 0;
    for (; want[i]; i++) {
        assert_true(i < d->n);
        assert_string_equal(d->key[i], want[i]);
    }
    assert_int_equal(i, d->n);
}

static struct sentinel_instance base(enum sentinel_kind kind)
{
    return (struct sentinel_instance){
        .kind = kind,
        .name = "mymaster",
        .ip = "127.0.0.1",
        .port = 7001,
        .runid = "0000000000000000000000000000000000000002",
        .heard_ms_ago = 40,
        .down_after_ms = 1000,
        .role_ms = 12000,
        .config_epoch = 7,
        .num_slaves = 2,
        .num_other_sentinels = 2,
        .quorum = 2,
        .failover_timeout_ms = 1000,
        .master_host = "127.0.0.1",
        .master_port = 7002,
        .master_link_ok = 1,
        .priority = 100,
        .repl_offset = 42,
    };
}

static void build(const struct sentinel_instance *in, struct decoded *d)
{
    struct resp_out o;
    resp_out_init(&o, 2);
    sentinel_add_instance(&o, in);
    decode(&o, d);
    resp_out_free(&o);
}

static void test_master_fields(void **state)
{
    (void)state;
    static const char *const want[] = {"name",
                                       "ip",
                                       "port",
                                       "runid",
                                       "flags",
                                       "link-pending-commands",
                                       "link-refcount",
                                       "last-ping-sent",
                                       "last-ok-ping-reply",
                                       "last-ping-reply",
                                       "down-after-milliseconds",
                                       "info-refresh",
                                       "role-reported",
                                       "role-reported-time",
                                       "config-epoch",
                                       "num-slaves",
                                       "num-other-sentinels",
                                       "quorum",
                                       "failover-timeout",
                                       "parallel-syncs",
                                       NULL};
    struct sentinel_instance in = base(SENTINEL_MASTER);
    struct decoded d;
    build(&in, &d);
    assert_keys(&d, want);
    assert_string_equal(get(&d, "name"), "mymaster");
    assert_string_equal(get(&d, "port"), "7001");
    assert_string_equal(get(&d, "flags"), "master");
    assert_string_equal(get(&d, "last-ping-sent"), "0");
    assert_string_equal(get(&d, "last-ok-ping-reply"), "40");
    assert_string_equal(get(&d, "config-epoch"), "7");
    assert_string_equal(get(&d, "role-reported"), "master");
}

static void test_master_down(void **state)
{
    (void)state;
    struct sentinel_instance in = base(SENTINEL_MASTER);
    in.down = SENTINEL_S_DOWN | SENTINEL_O_DOWN | SENTINEL_DISCONNECTED;
    in.down_ms = 3000;
    in.heard_ms_ago = -1;
    struct decoded d;
    build(&in, &d);
    assert_string_equal(get(&d, "flags"), "s_down,o_down,master,disconnected");
    assert_string_equal(get(&d, "s-down-time"), "3000");
    assert_string_equal(get(&d, "o-down-time"), "3000");
    /* never heard: the probe counts as pending for a whole down-after */
    assert_string_equal(get(&d, "last-ping-sent"), "1000");
    assert_string_equal(get(&d, "link-pending-commands"), "1");
    assert_string_equal(d.key[10], "s-down-time");
    assert_string_equal(d.key[11], "o-down-time");
    assert_string_equal(d.key[12], "down-after-milliseconds");
}

static void test_replica_fields(void **state)
{
    (void)state;
    static const char *const want[] = {"name",
                                       "ip",
                                       "port",
                                       "runid",
                                       "flags",
                                       "link-pending-commands",
                                       "link-refcount",
                                       "last-ping-sent",
                                       "last-ok-ping-reply",
                                       "last-ping-reply",
                                       "down-after-milliseconds",
                                       "info-refresh",
                                       "role-reported",
                                       "role-reported-time",
                                       "master-link-down-time",
                                       "master-link-status",
                                       "master-host",
                                       "master-port",
                                       "slave-priority",
                                       "slave-repl-offset",
                                       "replica-announced",
                                       NULL};
    struct sentinel_instance in = base(SENTINEL_REPLICA);
    struct decoded d;
    build(&in, &d);
    assert_keys(&d, want);
    assert_string_equal(get(&d, "name"), "127.0.0.1:7001");
    assert_string_equal(get(&d, "flags"), "slave");
    assert_string_equal(get(&d, "master-link-status"), "ok");
    assert_string_equal(get(&d, "master-port"), "7002");
    assert_string_equal(get(&d, "slave-repl-offset"), "42");
    in.down = SENTINEL_S_DOWN | SENTINEL_DISCONNECTED;
    in.master_link_ok = 0;
    in.master_link_down_ms = 500;
    in.priority = 0;
    build(&in, &d);
    assert_string_equal(get(&d, "flags"), "s_down,slave,disconnected");
    assert_string_equal(get(&d, "master-link-status"), "err");
    assert_string_equal(get(&d, "master-link-down-time"), "500");
    assert_string_equal(get(&d, "slave-priority"), "0");
    assert_non_null(get(&d, "s-down-time"));
    assert_null(get(&d, "o-down-time"));
}

static void test_sentinel_fields(void **state)
{
    (void)state;
    static const char *const want[] = {"name",
                                       "ip",
                                       "port",
                                       "runid",
                                       "flags",
                                       "link-pending-commands",
                                       "link-refcount",
                                       "last-ping-sent",
                                       "last-ok-ping-reply",
                                       "last-ping-reply",
                                       "down-after-milliseconds",
                                       "last-hello-message",
                                       "voted-leader",
                                       "voted-leader-epoch",
                                       NULL};
    struct sentinel_instance in = base(SENTINEL_PEER);
    struct decoded d;
    build(&in, &d);
    assert_keys(&d, want);
    assert_string_equal(get(&d, "name"), in.runid);
    assert_string_equal(get(&d, "flags"), "sentinel");
    assert_string_equal(get(&d, "voted-leader"), "?");
}

static void test_resp3_map(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 3);
    struct sentinel_instance in = base(SENTINEL_PEER);
    sentinel_add_instance(&o, &in);
    assert_memory_equal(o.data, "%14\r\n$4\r\nname\r\n", 15);
    resp_out_free(&o);
}

static void test_ckquorum(void **state)
{
    (void)state;
    struct resp_out o;
    resp_out_init(&o, 2);
    sentinel_add_ckquorum(&o, 3, 3, 2);
    const char ok[] =
        "+OK 3 usable Sentinels. Quorum and failover authorization can be reached\r\n";
    assert_int_equal(o.len, strlen(ok));
    assert_memory_equal(o.data, ok, o.len);
    resp_out_clear(&o);
    sentinel_add_ckquorum(&o, 1, 3, 2);
    const char no[] = "-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the "
                      "specified quorum for this master. Not enough available Sentinels to "
                      "reach the majority and authorize a failover\r\n";
    assert_int_equal(o.len, strlen(no));
    assert_memory_equal(o.data, no, o.len);
    resp_out_free(&o);
}

static void test_switch_message(void **state)
{
    (void)state;
    char buf[64];
    int n =
        sentinel_switch_message(buf, sizeof buf, "mymaster", "10.0.0.1", 7001, "10.0.0.2", 7002);
    assert_int_equal(n, (int)strlen("mymaster 10.0.0.1 7001 10.0.0.2 7002"));
    assert_string_equal(buf, "mymaster 10.0.0.1 7001 10.0.0.2 7002");
    assert_int_equal(sentinel_switch_message(buf, 10, "mymaster", "a", 1, "b", 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_fields),  cmocka_unit_test(test_master_down),
        cmocka_unit_test(test_replica_fields), cmocka_unit_test(test_sentinel_fields),
        cmocka_unit_test(test_resp3_map),      cmocka_unit_test(test_ckquorum),
        cmocka_unit_test(test_switch_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
