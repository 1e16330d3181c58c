/*
 * src/servercmd/cmd_client.c - MONITOR and the CLIENT subcommands that change how
 * this node treats its clients: REPLY, PAUSE, UNPAUSE, NO-EVICT.
 *
 * MONITOR's feeding is src/server/monitors.h's, CLIENT PAUSE's holding back
 * src/server/pause.h's, and CLIENT REPLY's dropping src/server/dispatch.c's (the
 * decision per command) with the modules that answer later (src/node/waiters.h,
 * src/server/proxy.c, src/server/blocked.c). Replies and errors are Redis 7.0's.
 */
#include <stdint.h>

#include "cmd/client.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "server/maint.h"
#include "server/monitors.h"
#include "server/pause.h"
#include "server/server.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define ERR_SYNTAX "ERR syntax error"

void cmd_monitor(struct cmd_ctx *c)
{
    struct client *cl = c->client;
    ASSERT(cl); /* CMD_NOSCRIPT: only a client's own connection runs it */
    if (cl->flags & CLIENT_MONITOR) return; /* already one: no reply, as Redis */
    if (monitors_add(&c->srv->monitors, cl) != 0) {
        resp_add_error(c->out, "ERR max number of monitors reached");
        return;
    }
    resp_add_simple(c->out, "OK");
}

/* CLIENT REPLY ON|OFF|SKIP. OFF and SKIP reply nothing; ON's +OK goes out
 * even though the command was taken up with replies off (Redis clears the
 * flag before it replies). */
void cmd_client_reply(struct cmd_ctx *c)
{
    struct client *cl = c->client;
    ASSERT(cl); /* CMD_NOSCRIPT: only a client's own connection runs it */
    const struct resp_arg *mode = &c->argv[2];
    if (cmd_arg_is(mode, "on")) {
        cl->flags &= ~(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT);
        resp_add_simple(client_push_out(cl), "OK");
    } else if (cmd_arg_is(mode, "off")) {
        cl->flags |= CLIENT_REPLY_OFF;
    } else if (cmd_arg_is(mode, "skip")) {
        if (!(cl->flags & CLIENT_REPLY_OFF)) cl->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        resp_add_error(c->out, ERR_SYNTAX);
    }
}

void cmd_client_no_evict(struct cmd_ctx *c)
{
    struct client *cl = c->client;
    ASSERT(cl); /* CMD_NOSCRIPT: only a client's own connection runs it */
    if (cmd_arg_is(&c->argv[2], "on"))
        cl->flags |= CLIENT_NO_EVICT;
    else if (cmd_arg_is(&c->argv[2], "off"))
        cl->flags &= ~CLIENT_NO_EVICT;
    else
        return resp_add_error(c->out, ERR_SYNTAX);
    resp_add_simple(c->out, "OK");
}

/* CLIENT MAINT_NOTIFICATIONS ON|OFF [moving-endpoint-type <type>]
 * (Redis 8): the client is told where to go (src/server/maint.h). The
 * notifications are RESP3 pushes: over RESP2 the command is refused. */
void cmd_client_maint_notifications(struct cmd_ctx *c)
{
    static const char *const types[] = {"internal-ip", "internal-fqdn", "external-ip",
                                        "external-fqdn", "none"};
    struct client *cl = c->client;
    ASSERT(cl); /* CMD_NOSCRIPT: only a client's own connection runs it */
    int on = cmd_arg_is(&c->argv[2], "on");
    if (!on && !cmd_arg_is(&c->argv[2], "off")) return resp_add_error(c->out, ERR_SYNTAX);
    int none = 0;
    for (int j = 3; j < c->argc; j += 2) {
        if (j + 1 >= c->argc || !cmd_arg_is(&c->argv[j], "moving-endpoint-type"))
            return resp_add_error(c->out, ERR_SYNTAX);
        size_t t = 0;
        while (t < sizeof types / sizeof types[0] && !cmd_arg_is(&c->argv[j + 1], types[t]))
            t++;
        if (t == sizeof types / sizeof types[0])
            return resp_add_error(c->out, "ERR unknown moving-endpoint-type: internal-ip, "
                                          "internal-fqdn, external-ip, external-fqdn or none");
        none = cmd_arg_is(&c->argv[j + 1], "none");
    }
    if (on && c->out->proto < 3)
        return resp_add_error(c->out, "ERR maintenance notifications are RESP3 push messages: "
                                      "switch to RESP3 with HELLO 3 first");
    if (!on) {
        cl->maint = 0;
        return resp_add_simple(c->out, "OK");
    }
    cl->maint = (uint8_t)(MAINT_ON | (none ? MAINT_NO_ENDPOINT : 0));
    resp_add_simple(c->out, "OK");
    maint_client_on(c->srv, cl); /* told at once, after its +OK, when it must go */
}

/* CLIENT PAUSE timeout [WRITE|ALL] (milliseconds; ALL by default). */
void cmd_client_pause(struct cmd_ctx *c)
{
    int all = 1;
    if (c->argc == 4) {
        if (cmd_arg_is(&c->argv[3], "write"))
            all = 0;
        else if (!cmd_arg_is(&c->argv[3], "all"))
            return resp_add_error(c->out, "ERR CLIENT PAUSE mode must be WRITE or ALL");
    }
    long long ms;
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &ms))
        return resp_add_error(c->out, "ERR timeout is not an integer or out of range");
    if (ms < 0) return resp_add_error(c->out, "ERR timeout is negative");
    int64_t now = server_now_ms();
    pause_start(&c->srv->pause, ms > INT64_MAX - now ? INT64_MAX : now + ms, all);
    resp_add_simple(c->out, "OK");
}

void cmd_client_unpause(struct cmd_ctx *c)
{
    pause_stop(&c->srv->pause, &c->srv->waiters);
    resp_add_simple(c->out, "OK");
}
