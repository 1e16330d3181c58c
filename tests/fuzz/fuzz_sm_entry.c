/*
 * tests/fuzz/fuzz_sm_entry.c - libFuzzer target for the state machine's
 * entry decoder and apply path (src/sm/sm.c, sm_apply()).
 *
 * The input is one log entry as the Raft log would hand it to the state
 * machine, applied to FUZZ_DBS databases holding one key each. Property: no
 * crash and no undefined behaviour whatever the bytes; an entry refused as
 * malformed, or naming a database beyond them, comes with a message and
 * changes nothing (each key is still there, alone, and no entry is counted
 * as applied). Each run builds and frees its own
 * keyspace, so nothing carries over between inputs and LeakSanitizer sees
 * every allocation of the apply path.
 *
 * The largest value is 1 MiB here (a server's is proto-max-bulk-len), so
 * that SETRANGE or APPEND in an entry cannot make an input cost 512 MiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/multi.h"
#include "types/typetable.h"
#include "server/server.h"
#include "servercmd/cmdtable.h"

#define FUZZ_DBS 4

/* 1 if every database still holds its canary, alone. */
static int canaries_alone(const struct kv_dbs *dbs)
{
    for (int i = 0; i < dbs->n; i++)
        if (kv_size(kv_db(dbs, i)) != 1 || !kv_physically_exists(kv_db(dbs, i), "canary", 6))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int table_ready;
    if (!table_ready) {
        cmdtable_init();
        table_ready = 1;
    }
    struct server srv;
    memset(&srv, 0, sizeof srv);
    config_init_defaults(&srv.cfg);
    srv.rng = 1;
    kv_dbs_init(&srv.dbs, type_table, FUZZ_DBS, 42);
    srv.dbs.common.max_value_len = 1u << 20;
    multi_init(&srv);
    monitor_init(&srv.monitor, cmd_id_count());
    /* Applying proposes nothing. */
    struct sm_env env = {.dbs = &srv.dbs, .monitor = &srv.monitor, .srv = &srv};
    sm_init(&srv.sm, &env, 1);
    for (int i = 0; i < FUZZ_DBS; i++)
        if (kv_set(kv_db(&srv.dbs, i), "canary", 6, "v", 1, KV_NO_EXPIRE, 0) != 1) abort();

    char err[256] = "";
    if (sm_apply(&srv.sm, 1, NULL, NULL, 0, (const char *)data, size, err, sizeof err) != 0) {
        if (!err[0] || srv.sm.applied_entries != 0 || !canaries_alone(&srv.dbs)) {
            fprintf(stderr, "fuzz_sm_entry: a refused entry changed the keyspace (%s)\n", err);
            abort();
        }
    } else if (srv.sm.applied_entries != 1) {
        abort();
    }

    monitor_free(&srv.monitor);
    sm_free(&srv.sm);
    multi_free(&srv);
    kv_dbs_free(&srv.dbs);
    config_free(&srv.cfg);
    return 0;
}
