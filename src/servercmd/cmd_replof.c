/*
 * src/servercmd/cmd_replof.c - REPLICAOF, SLAVEOF and the log's
 * RAFTCACHE.REPLSYNC and RAFTCACHE.REPLAPPLY (see cmd_replof.h).
 */
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/cmdarg.h"
#include "cmd/rows.h"
#include "keyspace/kv.h"
#include "script/function.h"
#include "server/replof.h"
#include "server/server.h"
#include "servercmd/cmd_replof.h"

static void cmd_replicaof(struct cmd_ctx *c)
{
    struct server *srv = c->srv;
    if (cmd_arg_is(&c->argv[1], "no") && cmd_arg_is(&c->argv[2], "one")) {
        replof_apply_none(srv);
        resp_add_simple(c->out, "OK");
        return;
    }
    long long port;
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &port) || port < 1 || port > 65535) {
        resp_add_error(c->out, "ERR Invalid master port");
        return;
    }
    const struct resp_arg *host = &c->argv[1];
    if (host->len == 0 || host->len >= CONFIG_HOST_MAX || memchr(host->ptr, '\0', host->len)) {
        resp_add_error(c->out, "ERR Invalid master host");
        return;
    }
    char h[CONFIG_HOST_MAX];
    memcpy(h, host->ptr, host->len);
    h[host->len] = '\0';
    const struct replof_state *s = replof_state(srv);
    if (s->port == port && strcasecmp(s->host, h) == 0) {
        resp_add_simple(c->out, "OK Already connected to specified master");
        return;
    }
    replof_apply_replicaof(srv, h, (int)port);
    resp_add_simple(c->out, "OK");
}

static int arg_u64(const struct resp_arg *a, uint64_t *out)
{
    long long v;
    if (!util_str2ll(a->ptr, a->len, &v) || v < 0) return 0;
    *out = (uint64_t)v;
    return 1;
}

/* RAFTCACHE.REPLSYNC epoch BEGIN | DONE replid offset */
static void cmd_replsync(struct cmd_ctx *c)
{
    uint64_t epoch, offset;
    if (!c->applying || !arg_u64(&c->argv[1], &epoch)) {
        resp_add_error(c->out, "ERR RAFTCACHE.REPLSYNC is internal");
        return;
    }
    if (c->argc == 3 && cmd_arg_is(&c->argv[2], "begin")) {
        if (replof_apply_begin(c->srv, epoch)) {
            kv_dbs_flush(c->dbs);
            function_flush(c->srv->functions);
        }
        resp_add_simple(c->out, "OK");
        return;
    }
    if (c->argc != 5 || !cmd_arg_is(&c->argv[2], "done") || c->argv[3].len != REPLOF_ID_LEN ||
        !arg_u64(&c->argv[4], &offset)) {
        resp_add_error(c->out, "ERR RAFTCACHE.REPLSYNC is internal");
        return;
    }
    char id[REPLOF_ID_LEN + 1];
    memcpy(id, c->argv[3].ptr, REPLOF_ID_LEN);
    id[REPLOF_ID_LEN] = '\0';
    replof_apply_done(c->srv, epoch, id, (long long)offset);
    resp_add_simple(c->out, "OK");
}

/* One command of the master's stream, in database *db. */
static void run_master_command(struct cmd_ctx *c, int argc, const struct resp_arg *argv, int *db,
                               struct resp_out *sink)
{
    long long n;
    if (cmd_arg_is(&argv[0], "select")) {
        if (argc == 2 && util_str2ll(argv[1].ptr, argv[1].len, &n) && n >= 0 && n < c->dbs->n)
            *db = (int)n;
        return;
    }
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    if (!cmd || !(cmd->flags & CMD_WRITE) || !cmd_arity_ok(cmd, argc)) return;
    struct cmd_ctx inner = *c;
    inner.argc = argc;
    inner.argv = argv;
    inner.kv = c->dbs->db[*db];
    inner.selected = db;
    inner.out = sink;
    inner.client = NULL;
    inner.may_block = 0;
    cmd_call(cmd, &inner, c->monitor, NULL);
    resp_out_consume(sink, sink->len);
}

/* RAFTCACHE.REPLAPPLY epoch start end [argc arg ...] ... */
static void cmd_replapply(struct cmd_ctx *c)
{
    uint64_t epoch, start, end;
    if (!c->applying || !arg_u64(&c->argv[1], &epoch) || !arg_u64(&c->argv[2], &start) ||
        !arg_u64(&c->argv[3], &end) || end < start) {
        resp_add_error(c->out, "ERR RAFTCACHE.REPLAPPLY is internal");
        return;
    }
    if (!replof_apply_gate(c->srv, epoch, (long long)start)) {
        resp_add_simple(c->out, "OK"); /* proposed twice, or late: applied already or moot */
        return;
    }
    int db = replof_state(c->srv)->db;
    struct resp_out sink;
    resp_out_init(&sink, 2);
    for (int i = 4; i < c->argc;) {
        long long n;
        if (!util_str2ll(c->argv[i].ptr, c->argv[i].len, &n) || n < 1 || n > c->argc - i - 1) {
            LOG_WARNING("RAFTCACHE.REPLAPPLY: a malformed entry (argument %d); the rest of it "
                        "is skipped",
                        i);
            break;
        }
        run_master_command(c, (int)n, c->argv + i + 1, &db, &sink);
        i += 1 + (int)n;
    }
    resp_out_free(&sink);
    replof_apply_advanced(c->srv, (long long)end, db);
    resp_add_simple(c->out, "OK");
}

#define RCI W | NS | CMD_INTERNAL | CMD_HOUSEKEEPING
/* Redis's admin command, a write here: through the log, so that every node
 * holds the state (a replica's READONLY lets admin commands by:
 * src/server/dispatch.c) */
#define RPL ADM | NS | ST | W | CMD_KEYLESS_WRITE

const struct command cmd_table_replof[] = {
    {"replicaof", 3, RPL, 0, 0, 0, cmd_replicaof, "server", "5.0.0",
     "Configures a server as replica of another, or promotes it to a master.", "host port",
     "admin slow dangerous", NULL},
    {"slaveof", 3, RPL, 0, 0, 0, cmd_replicaof, "server", "1.0.0",
     "Sets a Redis server as a replica of another, or promotes it to being a master.", "host port",
     "admin slow dangerous", NULL},
    {"raftcache.replsync", -3, RCI | CMD_KEYLESS_WRITE, 0, 0, 0, cmd_replsync, "raft", "0.1.0",
     "A full sync from REPLICAOF's master begins or ends (internal).",
     "epoch BEGIN | epoch DONE replid offset", "write", NULL},
    {"raftcache.replapply", -4, RCI | CMD_KEYLESS_WRITE, 0, 0, 0, cmd_replapply, "raft", "0.1.0",
     "Applies the commands of REPLICAOF's master between two offsets of its stream (internal).",
     "epoch start end [argc arg ...] ...", "write", NULL},
    CMD_ROWS_END,
};
