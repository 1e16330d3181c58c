/*
 * tests/unit/test_sm_entry.c - the state machine's entries and databases
 * (src/sm/sm.h): a command of database 0 is encoded as it always was, a
 * command of another database carries its number and runs there, and an
 * entry naming a database the node lacks, or encoding database 0 the
 * other way, is refused whole before anything is applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/multi.h"
#include "server/server.h"
#include "servercmd/cmdtable.h"
#include "types/typetable.h"

#define NDBS 4
#define TS 1700000000000LL

static struct server srv;

static int setup(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    config_init_defaults(&srv.cfg);
    srv.rng = 1;
    kv_dbs_init(&srv.dbs, type_table, NDBS, 42);
    multi_init(&srv);
    monitor_init(&srv.monitor, cmd_id_count());
    struct sm_env env = {.dbs = &srv.dbs, .monitor = &srv.monitor, .srv = &srv};
    sm_init(&srv.sm, &env, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    monitor_free(&srv.monitor);
    sm_free(&srv.sm);
    multi_free(&srv);
    kv_dbs_free(&srv.dbs);
    config_free(&srv.cfg);
    return 0;
}

#define ARG(s) ((struct resp_arg){(s), sizeof(s) - 1})

static void add(struct sm_buf *b, int db, int argc, const struct resp_arg *argv)
{
    sm_entry_add(b, db, argc, argv);
}

static int apply(const struct sm_buf *b, char *err, size_t errlen)
{
    return sm_apply(&srv.sm, 1, NULL, NULL, 0, b->data, b->len, err, errlen);
}

static const char *type_in(int db, const char *key)
{
    struct kv *kv = kv_db(&srv.dbs, db);
    const struct kv_val *v = kv_lookup_stored(kv, key, strlen(key));
    return v ? kv_type_name(kv, v) : "none";
}

static void test_database_0_keeps_its_encoding(void **state)
{
    (void)state;
    struct sm_buf b = {0};
    const struct resp_arg argv[] = {ARG("GET"), ARG("k")};
    sm_entry_begin(&b, SM_ENTRY_COMMAND, TS);
    add(&b, 0, 2, argv);
    static const unsigned char want[] = {1,    SM_ENTRY_COMMAND,
                                         0x00, 0x68,
                                         0xe5, 0xcf,
                                         0x8b, 0x01,
                                         0,    0, /* version, type, ts */
                                         1,    0,
                                         0,    0, /* one command */
                                         2,    0,
                                         0,    0, /* argc, no database */
                                         3,    0,
                                         0,    0,
                                         'G',  'E',
                                         'T',  1,
                                         0,    0,
                                         0,    'k'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);

    /* database 3: the argc word's top bit, then the number */
    b.len = 0;
    sm_entry_begin(&b, SM_ENTRY_COMMAND, TS);
    add(&b, 3, 2, argv);
    assert_int_equal(b.len, sizeof want + 4);
    static const unsigned char head[] = {2, 0, 0, 0x80, 3, 0, 0, 0, 3, 0, 0, 0, 'G'};
    assert_memory_equal(b.data + SM_ENTRY_HEADER_LEN, head, sizeof head);
    free(b.data);
}

static void test_each_command_runs_in_its_database(void **state)
{
    (void)state;
    struct sm_buf b = {0};
    const struct resp_arg set[] = {ARG("SET"), ARG("k"), ARG("v")};
    const struct resp_arg push[] = {ARG("RPUSH"), ARG("k"), ARG("x")};
    const struct resp_arg sadd[] = {ARG("SADD"), ARG("k"), ARG("m")};
    sm_entry_begin(&b, SM_ENTRY_BATCH, TS);
    add(&b, 0, 3, set);
    add(&b, 2, 3, push);
    add(&b, NDBS - 1, 3, sadd);
    char err[256] = "";
    assert_int_equal(apply(&b, err, sizeof err), 0);
    assert_string_equal(type_in(0, "k"), "string");
    assert_string_equal(type_in(1, "k"), "none");
    assert_string_equal(type_in(2, "k"), "list");
    assert_string_equal(type_in(NDBS - 1, "k"), "set");

    /* an expiry entry deletes the key in its own database only */
    assert_int_equal(kv_set(kv_db(&srv.dbs, 0), "e", 1, "v", 1, 5, TS - 10), 1); /* expired */
    assert_int_equal(kv_set(kv_db(&srv.dbs, 2), "e", 1, "v", 1, 5, TS - 10), 1); /* at TS */
    const struct resp_arg key[] = {ARG("e")};
    b.len = 0;
    sm_entry_begin(&b, SM_ENTRY_EXPIRE, TS);
    add(&b, 2, 1, key);
    assert_int_equal(apply(&b, err, sizeof err), 0);
    assert_string_equal(type_in(2, "e"), "none");
    assert_string_equal(type_in(0, "e"), "string"); /* stored until its own expiry entry */
    free(b.data);
}

static void test_a_database_beyond_the_nodes_is_refused_whole(void **state)
{
    (void)state;
    struct sm_buf b = {0};
    const struct resp_arg set[] = {ARG("SET"), ARG("a"), ARG("1")};
    sm_entry_begin(&b, SM_ENTRY_BATCH, TS);
    add(&b, 0, 3, set);
    add(&b, NDBS, 3, set);
    char err[256] = "";
    uint64_t applied = srv.sm.applied_entries;
    assert_int_equal(apply(&b, err, sizeof err), -1);
    assert_non_null(strstr(err, "entry for database 4, but this node has 4 (databases)"));
    assert_int_equal(srv.sm.applied_entries, applied);
    assert_string_equal(type_in(0, "a"), "none"); /* the command before it did not run */

    /* database 0 written with the flag: not the one encoding, refused */
    b.len = 0;
    sm_entry_begin(&b, SM_ENTRY_COMMAND, TS);
    add(&b, 1, 3, set);
    unsigned char *db = (unsigned char *)b.data + SM_ENTRY_HEADER_LEN + 4;
    db[0] = 0;
    assert_int_equal(apply(&b, err, sizeof err), -1);
    assert_non_null(strstr(err, "malformed"));
    assert_string_equal(type_in(1, "a"), "none");
    free(b.data);
}

/* A write's size in a batch (sm_write.bytes, the batch's budget) is what
 * it takes in the entry, its database included. */
static void test_a_writes_size_counts_its_database(void **state)
{
    (void)state;
    const struct resp_arg set[] = {ARG("SET"), ARG("k"), ARG("v")};
    const struct command *parent;
    const struct command *cmd = cmd_lookup(set, 3, &parent);
    for (int db = 0; db < 2; db++) {
        struct sm_write w;
        sm_write_prepare(&srv.sm, db, cmd, 3, set, &w);
        assert_int_equal(w.db, db);
        assert_int_equal(sm_write_add(&srv.sm, &w), 0);
        struct raft_part whole;
        assert_int_equal(sm_batch_take(&srv.sm, &whole), 1);
        assert_int_equal(whole.len, SM_ENTRY_HEADER_LEN + w.bytes);
        char err[256] = "";
        assert_int_equal(
            sm_apply(&srv.sm, 2, NULL, NULL, 0, whole.data, whole.len, err, sizeof err), 0);
        sm_batch_proposed(&srv.sm, 2);
        assert_string_equal(type_in(db, "k"), "string");
    }
}

int main(void)
{
    cmdtable_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_database_0_keeps_its_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_command_runs_in_its_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_database_beyond_the_nodes_is_refused_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_writes_size_counts_its_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
