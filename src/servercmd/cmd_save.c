/*
 * src/servercmd/cmd_save.c - SAVE, BGSAVE, LASTSAVE, SYNC, PSYNC and
 * REPLCONF (see cmd_save.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "cmd/cmdarg.h"
#include "cmd/rows.h"
#include "node/node.h"
#include "server/persist.h"
#include "server/server.h"
#include "servercmd/cmd_save.h"

static void cmd_save(struct cmd_ctx *c)
{
    struct persist_env env = server_persist_env(c->srv);
    char err[256];
    if (persist_save(&env, err, sizeof err) != 0)
        resp_add_error(c->out, err);
    else
        resp_add_simple(c->out, "OK");
}

static void cmd_bgsave(struct cmd_ctx *c)
{
    struct persist_env env = server_persist_env(c->srv);
    bool schedule = false;
    if (c->argc == 2 && cmd_arg_is(&c->argv[1], "schedule")) {
        schedule = true;
    } else if (c->argc > 1) {
        resp_add_error(c->out, "ERR syntax error");
        return;
    }
    bool in_exec = c->client && (c->client->flags & CLIENT_MULTI);
    char err[512] = "";
    switch (persist_bgsave(&env, schedule, in_exec, err, sizeof err)) {
    case PERSIST_STARTED:
        resp_add_simple(c->out, "Background saving started");
        return;
    case PERSIST_SCHEDULED:
        resp_add_simple(c->out, "Background saving scheduled");
        return;
    case PERSIST_IN_PROGRESS:
        resp_add_error(c->out, "ERR Background save already in progress");
        return;
    case PERSIST_BUSY:
        resp_add_error(c->out, "ERR A Raft snapshot is being taken: can't BGSAVE right now. Use "
                               "BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        return;
    case PERSIST_FAILED:
        resp_add_error(c->out, "ERR");
        return;
    }
}

static void cmd_lastsave(struct cmd_ctx *c)
{
    struct persist_env env = server_persist_env(c->srv);
    struct node_snapshot_info si;
    node_snapshot_info(c->srv->node, &si);
    persist_merge_info(&env, &si);
    resp_add_int(c->out, si.last_done_ms / 1000);
}

/* SYNC and PSYNC: the file, then the connection closes (cmd_save.h). */
static void sync_generic(struct cmd_ctx *c, bool psync)
{
    struct persist_env env = server_persist_env(c->srv);
    if (c->client && (c->client->flags & CLIENT_REPL_LISTENING)) {
        resp_add_error(c->out, "ERR raftcache is not a Redis replication master: its replicas are "
                               "the members of its Raft group (RAFT.NODE ADD). SYNC without "
                               "REPLCONF listening-port (redis-cli --rdb) fetches a dump.rdb");
        return;
    }
    struct text rdb = {0};
    persist_rdb(&env, &rdb, psync ? c->srv->run_id : NULL);
    char head[128];
    int n = psync ? snprintf(head, sizeof head, "+FULLRESYNC %s 0\r\n", c->srv->run_id) : 0;
    n += snprintf(head + n, sizeof head - (size_t)n, "$%zu\r\n", rdb.len);
    resp_add_raw(c->out, head, (size_t)n);
    resp_add_raw(c->out, rdb.p, rdb.len);
    free(text_take(&rdb));
    if (c->client) c->client->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void cmd_sync(struct cmd_ctx *c)
{
    sync_generic(c, false);
}

static void cmd_psync(struct cmd_ctx *c)
{
    sync_generic(c, true);
}

/* One REPLCONF option and its value: 0, or -1 after an error reply. */
static int replconf_option(struct cmd_ctx *c, const struct resp_arg *opt, const struct resp_arg *v)
{
    static const char *const accepted[] = {"ip-address", "capa", "rdb-only"};
    if (cmd_arg_is(opt, "listening-port")) {
        if (c->client) c->client->flags |= CLIENT_REPL_LISTENING;
        return 0;
    }
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        if (cmd_arg_is(opt, accepted[i])) return 0;
    if (cmd_arg_is(opt, "rdb-filter-only") && v->len == 0) return 0;
    if (cmd_arg_is(opt, "rdb-filter-only")) {
        resp_add_error(c->out, "ERR rdb-filter-only: raftcache sends whole files only");
        return -1;
    }
    resp_add_errorf(c->out, "ERR Unrecognized REPLCONF option: %.*s", (int)opt->len, opt->ptr);
    return -1;
}

static void cmd_replconf(struct cmd_ctx *c)
{
    if (c->argc % 2 == 0) {
        resp_add_error(c->out, "ERR syntax error");
        return;
    }
    /* REPLCONF alone: nothing to set, OK (Redis's) */
    if (c->argc > 1 && (cmd_arg_is(&c->argv[1], "ack") || cmd_arg_is(&c->argv[1], "getack")))
        return;
    for (int i = 1; i < c->argc; i += 2)
        if (replconf_option(c, &c->argv[i], &c->argv[i + 1]) != 0) return;
    resp_add_simple(c->out, "OK");
}

#define NAL CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI

const struct command cmd_table_save[] = {
    {"save", 1, NAL, 0, 0, 0, cmd_save, "server", "1.0.0",
     "Synchronously saves the database(s) to disk.", NULL, "admin slow dangerous", NULL},
    {"bgsave", -1, CMD_ADMIN | CMD_NOSCRIPT, 0, 0, 0, cmd_bgsave, "server", "1.0.0",
     "Asynchronously saves the database(s) to disk.", "[SCHEDULE]:schedule", "admin slow dangerous",
     NULL},
    {"lastsave", 1, CMD_LOADING | CMD_STALE | CMD_FAST | CMD_RANDOM, 0, 0, 0, cmd_lastsave,
     "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", NULL,
     "admin fast dangerous", NULL},
    {"sync", 1, NAL, 0, 0, 0, cmd_sync, "server", "1.0.0",
     "An internal command used in replication.", NULL, "admin slow dangerous", NULL},
    {"psync", -3, NAL, 0, 0, 0, cmd_psync, "server", "2.8.0",
     "An internal command used in replication.", "replicationid:string offset:integer",
     "admin slow dangerous", NULL},
    {"replconf", -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_ALLOW_BUSY, 0, 0, 0,
     cmd_replconf, "server", "3.0.0", "An internal command for configuring the replication stream.",
     NULL, "admin slow dangerous", NULL},
    CMD_ROWS_END,
};
