/*
 * src/server/shutdown.h - stopping a node without failing its clients:
 * SHUTDOWN, SIGTERM, SIGINT.
 *
 * With hand_over, a leader with another voter first transfers its
 * leadership to the most up-to-date one, so that clients of a rolling
 * restart find a new leader at once instead of after an election timeout;
 * the shutdown follows when the leadership has moved, or after
 * SERVER_HANDOVER_TIMEOUTS election timeouts at most (src/server/server.h).
 * Then, or at once on a follower, the clients that asked for maintenance
 * notifications are moved to the leader (src/server/maint.h), and the node
 * serves on until they have left, within the same bound. A request while
 * one is handing over stops at once. The state is struct server's
 * shutdown_requested (enum server_shutdown) and handover_until_ms.
 */
#ifndef SHUTDOWN_H
#define SHUTDOWN_H

struct server;

void server_request_shutdown(struct server *srv, int hand_over);
/* 1 when the loop must stop now (checked at every iteration). */
int server_shutdown_due(struct server *srv);
/* SHUTDOWN ABORT: 0 if a handover was cancelled (the node keeps serving;
 * a transfer already on may still move the leadership), -1 if no shutdown
 * is in progress that can be aborted. */
int server_shutdown_abort(struct server *srv);

#endif
