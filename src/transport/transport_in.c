/*
 * src/transport/transport_in.c - the inbound side of the wire protocol
 * (transport.h, WIRE PROTOCOL): what RAFT.AUTH, RAFT.MSG and RAFT.PUBLISH
 * carry, checked and converted; the replies they give. The commands'
 * handlers (src/servercmd/cmd_raft.c, cmd_pubsub.c) act on the result.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "raft/raft_assert.h"
#include "resp/parser.h"
#include "resp/writer.h"
#include "base/util.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "transport/transport.h"

const char *transport_in_auth(const char *secret, size_t secret_len, uint64_t self_id, int argc,
                              const struct resp_arg *argv, struct transport_auth *a)
{
    if (!secret_len) return "ERR raft-secret is not configured: peer commands are refused";
    if (!util_secret_eq(secret, secret_len, argv[1].ptr, argv[1].len))
        return "ERR invalid raft-secret";
    memset(a, 0, sizeof *a);
    long long id;
    if (!util_str2ll(argv[2].ptr, argv[2].len, &id) || id <= 0 || (uint64_t)id == self_id)
        return "ERR invalid node id";
    a->id = (uint64_t)id;
    char why[128];
    a->has_addr = argc >= 4 && (argc == 4 || argv[3].len > 0);
    if (argc > 6 || (a->has_addr && config_parse_hostport(argv[3].ptr, argv[3].len, a->host,
                                                          &a->port, why, sizeof why)))
        return "ERR invalid peer address";
    /* The sender's incarnation (INCARNATIONS). */
    long long inc = 0;
    a->recovering =
        argc == 6 && argv[5].len == 10 && strncasecmp(argv[5].ptr, "recovering", 10) == 0;
    if (argc >= 5 &&
        (!util_str2ll(argv[4].ptr, argv[4].len, &inc) || inc <= 0 || (argc == 6 && !a->recovering)))
        return "ERR invalid incarnation";
    a->inc = (uint64_t)inc;
    return NULL;
}

void transport_in_auth_ok(const struct transport_auth *a, uint64_t own_inc, int own_recovering,
                          char *buf, size_t len)
{
    if (a->inc)
        snprintf(buf, len, "OK %llu%s", (unsigned long long)own_inc,
                 own_recovering ? " recovering" : "");
    else
        snprintf(buf, len, "OK");
}

int transport_in_sender(struct cmd_ctx *c, const char *name)
{
    const struct client *cl = c->client;
    ASSERT(cl && c->argc >= 2); /* CMD_NOSCRIPT, and the table's arity */
    long long id;
    if (!(cl->flags & CLIENT_PEER)) {
        resp_add_errorf(c->out, "NOPERM %s is for cluster peers that sent RAFT.AUTH", name);
        return 0;
    }
    if (!util_str2ll(c->argv[1].ptr, c->argv[1].len, &id) || (uint64_t)id != cl->peer_id) {
        resp_add_errorf(c->out, "NOPERM %s sender differs from the node id of RAFT.AUTH", name);
        return 0;
    }
    return 1;
}
