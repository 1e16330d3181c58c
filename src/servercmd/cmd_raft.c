/*
 * src/servercmd/cmd_raft.c - the operator's membership commands (SPEC "Membership and
 * leadership commands"): RAFT.NODE ADD/REMOVE, RAFT.CLUSTER JOIN,
 * RAFT.TRANSFER_LEADER; and RAFT.IMPORT, the loading of a dump.rdb (named
 * as they are: an operator's RAFT.* command, run on the leader). Argument
 * checks and replies live here; the work is the driver's
 * (src/node/node_member.c) and the importer's (src/server/import.h).
 */
#include <stdio.h>
#include <string.h>

#include "raft/raft.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "node/node.h"
#include "transport/transport.h"
#include "server/import.h"
#include "server/replof.h"
#include "server/maint.h"
#include "server/server.h"
#include "base/util.h"
#include "cmd/cmdarg.h"
#include "raft/raft_assert.h"

#define JOIN_ADDRS_MAX 16

/* A node id argument: a positive integer. */
static int parse_id(struct cmd_ctx *c, const struct resp_arg *a, uint64_t *id)
{
    long long v;
    if (!util_str2ll(a->ptr, a->len, &v) || v <= 0) {
        resp_add_error(c->out, "ERR node id must be a positive integer");
        return -1;
    }
    *id = (uint64_t)v;
    return 0;
}

/* The reply to a node_* error code. */
static void reply_node_error(struct cmd_ctx *c, int rc, const char *err)
{
    if (rc == NODE_ENOTLEADER)
        node_reply_moved(c->srv->node, c->client);
    else if (rc == NODE_EBUSY)
        resp_add_errorf(c->out, "TRYAGAIN %s", err);
    else
        resp_add_errorf(c->out, "ERR %s", err);
}

void cmd_raft_node_add(struct cmd_ctx *c)
{
    uint64_t id;
    if (parse_id(c, &c->argv[2], &id) != 0) return;
    char host[CONFIG_HOST_MAX], why[128], addr[RAFT_ADDR_MAX];
    int port;
    if (config_parse_hostport(c->argv[3].ptr, c->argv[3].len, host, &port, why, sizeof why) != 0) {
        resp_add_errorf(c->out, "ERR invalid address: %s", why);
        return;
    }
    if (node_format_addr(host, port, addr, RAFT_ADDR_MAX) != 0) {
        resp_add_errorf(c->out, "ERR address longer than %d bytes", RAFT_ADDR_MAX - 1);
        return;
    }
    char err[256];
    int rc =
        node_change_member(c->srv->node, c->client, NODE_MEMBER_ADD, id, addr, err, sizeof err);
    if (rc != 0) reply_node_error(c, rc, err);
    /* else: +OK when the entry is applied */
}

void cmd_raft_node_remove(struct cmd_ctx *c)
{
    uint64_t id;
    if (parse_id(c, &c->argv[2], &id) != 0) return;
    char err[256];
    int rc =
        node_change_member(c->srv->node, c->client, NODE_MEMBER_REMOVE, id, NULL, err, sizeof err);
    if (rc != 0) reply_node_error(c, rc, err);
}

void cmd_raft_node_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "RAFT.NODE <subcommand> [<arg> ...]. Subcommands are:",
        "ADD <id> <host:port>",
        "    Add a node (leader only). It joins as a non-voting learner and is promoted",
        "    to voter once it answers and its log has caught up. Replies once the change",
        "    is committed. Membership commands need raft-secret to be set.",
        "REMOVE <id>",
        "    Remove a node, the leader included (it steps down once the change commits).",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

void cmd_raft_cluster_join(struct cmd_ctx *c)
{
    int n = c->argc - 2;
    if (n > JOIN_ADDRS_MAX) {
        resp_add_errorf(c->out, "ERR at most %d addresses", JOIN_ADDRS_MAX);
        return;
    }
    const char *addrs[JOIN_ADDRS_MAX];
    size_t lens[JOIN_ADDRS_MAX];
    for (int i = 0; i < n; i++) {
        char host[CONFIG_HOST_MAX], why[128];
        int port;
        const struct resp_arg *a = &c->argv[2 + i];
        if (config_parse_hostport(a->ptr, a->len, host, &port, why, sizeof why) != 0) {
            resp_add_errorf(c->out, "ERR invalid address: %s", why);
            return;
        }
        addrs[i] = a->ptr;
        lens[i] = a->len;
    }
    char err[256];
    int rc = node_join(c->srv->node, c->client, n, addrs, lens, err, sizeof err);
    if (rc != 0) reply_node_error(c, rc, err);
    /* else: +OK once a leader added this node */
}

void cmd_raft_cluster_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "RAFT.CLUSTER <subcommand> [<arg> ...]. Subcommands are:",
        "JOIN <host:port> [<host:port> ...]",
        "    On a fresh node (no client write applied): ask the cluster at these",
        "    addresses (following MOVED) to add this node, which then receives the",
        "    cluster's data as a learner. Replies once a leader added it.",
        "HELP",
        "    Print this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

void cmd_raft_transfer_leader(struct cmd_ctx *c)
{
    uint64_t target = 0;
    if (c->argc > 2) {
        resp_add_error(c->out, "ERR wrong number of arguments for 'raft.transfer_leader' command");
        return;
    }
    if (c->argc == 2 && parse_id(c, &c->argv[1], &target) != 0) return;
    char err[256];
    int rc = node_transfer_leader(c->srv->node, target, err, sizeof err);
    if (rc != 0) {
        reply_node_error(c, rc, err);
        return;
    }
    maint_handover_begins(c->srv);
    resp_add_simple(c->out, "OK");
}

/* RAFT.IMPORT path [REPLACE]: starts loading the dump.rdb at path (on
 * this node's disk) through the log, and replies at once; the import runs
 * on in the background (src/server/import.h). Leader only. */
void cmd_raft_import(struct cmd_ctx *c)
{
    const struct resp_arg *path = &c->argv[1];
    if (c->argc > 3 || (c->argc == 3 && !cmd_arg_is(&c->argv[2], "replace"))) {
        resp_add_error(c->out, ERR_SYNTAX);
        return;
    }
    if (replof_active(c->srv)) { /* its keys would go beside the master's */
        resp_add_error(c->out, "READONLY You can't write against a read only replica. "
                               "(REPLICAOF NO ONE first)");
        return;
    }
    if (!node_is_leader(c->srv->node)) {
        node_reply_moved(c->srv->node, c->client);
        return;
    }
    char file[IMPORT_PATH_MAX], err[IMPORT_PATH_MAX + 128];
    if (path->len == 0 || path->len >= sizeof file || memchr(path->ptr, 0, path->len)) {
        resp_add_errorf(c->out, "ERR the path must be 1 to %d bytes, without NUL",
                        IMPORT_PATH_MAX - 1);
        return;
    }
    memcpy(file, path->ptr, path->len);
    file[path->len] = 0;
    if (import_start(c->srv, file, c->argc == 3, err, sizeof err) != 0)
        resp_add_errorf(c->out, "ERR %s", err);
    else
        resp_add_simple(c->out, "OK");
}

/* --------------------------------------------------------------- peers
 * RAFT.AUTH and RAFT.MSG, the inbound side of the wire protocol: the
 * transport checks what they carry (src/transport/transport.h), the
 * driver takes the peer's identity and messages, the server makes the
 * connection a peer link. */

void cmd_raft_auth(struct cmd_ctx *c)
{
    struct server *srv = c->srv;
    ASSERT(c->client); /* CMD_NOSCRIPT: only a client's own connection runs it */
    struct transport_auth a;
    const char *refused = transport_in_auth(srv->cfg.raft_secret.ptr, srv->cfg.raft_secret.len,
                                            (uint64_t)srv->cfg.node_id, c->argc, c->argv, &a);
    if (refused) {
        resp_add_error(c->out, refused);
        return;
    }
    if (srv->cfg.tls_cluster && !(c->client->flags & CLIENT_TLS_CERT_OK)) {
        resp_add_error(c->out, "ERR tls-cluster is on: a peer connects to tls-port and presents a "
                               "certificate the CA signed");
        return;
    }
    char err[320];
    if (a.inc && node_peer_auth(srv->node, a.id, a.inc, a.recovering, err, sizeof err) != 0) {
        resp_add_errorf(c->out, "LOSTSTATE %s", err);
        return;
    }
    if (server_client_become_peer(srv, c->client, a.id) != 0) {
        resp_add_error(c->out, "ERR too many peer links");
        return;
    }
    ASSERT(c->client->flags & CLIENT_PEER); /* server_client_become_peer() made it one */
    c->client->parser.limits.bulk_len_max = TRANSPORT_IN_MSG_MAX;
    /* A peer we may not know yet (we are joining and it leads): where to
     * answer it. Addresses in the configuration take precedence. */
    if (a.has_addr) node_learn_peer(srv->node, a.id, a.host, a.port);
    char ok[48];
    transport_in_auth_ok(&a, node_incarnation(srv->node), raft_recovering(node_core(srv->node)), ok,
                         sizeof ok);
    resp_add_simple(c->out, ok);
}

void cmd_raft_msg(struct cmd_ctx *c)
{
    char err[128];
    if (!transport_in_sender(c, "RAFT.MSG")) return;
    if (node_receive(c->srv->node, c->client->peer_id, (const uint8_t *)c->argv[2].ptr,
                     c->argv[2].len, err, sizeof err) != 0) {
        resp_add_errorf(c->out, "ERR %s", err);
        return;
    }
    resp_add_simple(c->out, "OK");
}
