/*
 * src/types/cmd_debug.c - DEBUG, with the subcommands raftcache offers: DIGEST
 * and DIGEST-VALUE (Redis 7.0's digests of the dataset and of values,
 * src/keyspace/digest.h), SLEEP (the node stops answering anyone, peers
 * included, for that long: a test's hung server; longer than the election
 * timeout, the cluster elects another leader) and HELP.
 *
 * DEBUG reads this node's own keyspace: its row is neither a read nor a
 * write, so the dispatcher runs it on any node, leader or follower, with
 * no ReadIndex round and no -MOVED, and two replicas that applied the same
 * log prefix reply the same digest. Like Redis, it sees what is stored:
 * a key kept past its expiry (not yet deleted by an expire entry) counts.
 * The dispatcher refuses it unless enable-debug-command allows the client
 * (CMD_PROTECTED).
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "keyspace/dbs.h"
#include "raft/raft_assert.h"
#include "keyspace/digest.h"
#include "keyspace/kv.h"
#include "cmd/rows.h"

static void reply_digest(struct cmd_ctx *c, const unsigned char d[DIGEST_LEN])
{
    char hex[DIGEST_HEX_LEN + 1];
    digest_hex(d, hex);
    resp_add_simple(c->out, hex);
}

static void debug_digest(struct cmd_ctx *c)
{
    unsigned char sum[DIGEST_LEN];
    ASSERT(c->dbs);
    kv_dbs_digest(c->dbs, sum);
    reply_digest(c, sum);
}

/* DEBUG DIGEST-VALUE key...: one digest per key, of its value alone
 * (zeros when not stored). */
static void debug_digest_value(struct cmd_ctx *c)
{
    resp_add_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        unsigned char d[DIGEST_LEN] = {0};
        const struct kv_val *v = kv_lookup_stored(c->kv, c->argv[j].ptr, c->argv[j].len);
        if (v) kv_digest_value(c->kv, v, d);
        reply_digest(c, d);
    }
}

/* DEBUG SLEEP seconds: the whole node sleeps (Redis's: a number as strtod
 * reads it, fractions allowed; one it cannot read sleeps 0). */
static void debug_sleep(struct cmd_ctx *c)
{
    char buf[64];
    size_t n = c->argv[2].len < sizeof buf - 1 ? c->argv[2].len : sizeof buf - 1;
    memcpy(buf, c->argv[2].ptr, n);
    buf[n] = 0;
    double s = strtod(buf, NULL);
    if (isfinite(s) && s > 0) {
        if (s > 1e9) s = 1e9; /* some 31 years: time_t holds it */
        struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
    resp_add_simple(c->out, "OK");
}

static void debug_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "HELP",
        "    Prints this help.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

static void cmd_debug(struct cmd_ctx *c)
{
    const struct resp_arg *sub = &c->argv[1];
    if (c->argc == 2 && cmd_arg_is(sub, "help")) {
        debug_help(c);
    } else if (c->argc == 2 && cmd_arg_is(sub, "digest")) {
        debug_digest(c);
    } else if (cmd_arg_is(sub, "digest-value")) {
        debug_digest_value(c);
    } else if (c->argc == 3 && cmd_arg_is(sub, "sleep")) {
        debug_sleep(c);
    } else {
        resp_add_errorf(c->out,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                        "DEBUG HELP.",
                        (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
    }
}

/* DEBUG's row (src/cmd/cmd.h has the columns; arity, flags, keys and ACL
 * categories are Redis 7.0's). */
const struct command cmd_table_debug[] = {
    {"debug", -2, ADM | NS | LD | ST | CMD_PROTECTED, 0, 0, 0, cmd_debug, "server", "1.0.0",
     "A container for debugging commands", NULL, "admin slow dangerous", NULL},
    CMD_ROWS_END,
};
