/*
 * src/server/call.c - running a resolved command locally (see call.h).
 */
#include "server/call.h"
#include "raft/raft_assert.h"
#include "cmd/cmd.h"
#include "server/server.h"
#include "server/tracking.h"
#include "base/util.h"

int call_command(struct server *srv, struct client *c, const struct command *cmd, int argc,
                 const struct resp_arg *argv, int64_t now_ms, struct resp_out *out,
                 struct cmd_block *blk)
{
    /* A read, or a write's local probe: only the apply path writes. */
    ASSERT(cmd && cmd->proc && argc >= 1);
    struct cmd_ctx ctx = {
        .argc = argc,
        .argv = argv,
        .out = out,
        .kv = server_db(srv, c),
        .dbs = &srv->dbs,
        .selected = c ? &c->db : NULL,
        .now_ms = now_ms,
        .client = c,
        .srv = srv,
        .rng = util_rand64(&srv->rng), /* a read: local randomness is fine */
        .probe = blk != NULL,
        .user = c ? c->user : NULL,
    };
    cmd_call(cmd, &ctx, &srv->monitor, NULL);
    srv->stats.commands_processed++;
    if (!blk) tracking_ran(srv, c, cmd, &ctx); /* what a tracking client read */
    if (!ctx.blocked) return 0;
    ASSERT(blk && ctx.block.nkeys > 0); /* only a probe blocks here: on some key */
    *blk = ctx.block;
    return 1;
}
