/*
 * src/server/shutdown.c - stopping a node without failing its clients (see
 * shutdown.h).
 */
#include "server/shutdown.h"

#include "base/log.h"
#include "node/node.h"
#include "raft/raft.h"
#include "server/maint.h"
#include "server/server.h"

void server_request_shutdown(struct server *srv, int hand_over)
{
    if (srv->shutdown_requested != SERVER_SHUTDOWN_NONE || !hand_over ||
        raft_conf_of(node_core(srv->node))->n < 2) {
        srv->shutdown_requested = SERVER_SHUTDOWN_NOW;
        return;
    }
    int leading = node_is_leader(srv->node);
    char err[256];
    if (leading && node_transfer_leader(srv->node, 0, err, sizeof err) != 0) {
        LOG_NOTICE("Shutting down without handing the leadership over: %s", err);
        srv->shutdown_requested = SERVER_SHUTDOWN_NOW;
        return;
    }
    srv->shutdown_requested = SERVER_SHUTDOWN_HANDOVER;
    if (leading) {
        maint_handover_begins(srv);
    } else {
        maint_shutdown_begins(srv); /* its clients go to the leader first */
        if (!maint_clients_remain(srv)) {
            srv->shutdown_requested = SERVER_SHUTDOWN_NOW;
            return;
        }
    }
    int64_t bound = SERVER_HANDOVER_TIMEOUTS * srv->cfg.raft_election_timeout_ms;
    srv->handover_until_ms = server_now_ms() + bound;
    LOG_NOTICE("%s before shutting down (at most %lld ms)",
               leading ? "Handing the leadership over" : "Moving clients to the leader",
               (long long)bound);
}

int server_shutdown_due(struct server *srv)
{
    if (srv->shutdown_requested != SERVER_SHUTDOWN_HANDOVER)
        return srv->shutdown_requested == SERVER_SHUTDOWN_NOW;
    int late = server_now_ms() >= srv->handover_until_ms;
    int leading = node_is_leader(srv->node);
    if (!leading) maint_shutdown_begins(srv); /* to the new leader, once it is known */
    int waiting = leading || maint_clients_remain(srv);
    if (waiting && !late) return 0;
    if (leading)
        LOG_WARNING("The leadership was not handed over in time: shutting down anyway");
    else if (waiting)
        LOG_WARNING("Clients told to move to the leader did not leave in time: shutting down "
                    "anyway");
    else
        LOG_NOTICE("Leadership handed over: shutting down");
    srv->shutdown_requested = SERVER_SHUTDOWN_NOW;
    return 1;
}

int server_shutdown_abort(struct server *srv)
{
    if (srv->shutdown_requested != SERVER_SHUTDOWN_HANDOVER) return -1;
    srv->shutdown_requested = SERVER_SHUTDOWN_NONE;
    LOG_WARNING("Shutdown aborted: serving on (a leadership transfer already on may complete)");
    return 0;
}
