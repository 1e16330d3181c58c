/*
 * src/servercmd/cmd_sentinel.h - Sentinel-compatible leader discovery: what
 * src/servercmd/cmd_sentinel.c gives besides its SENTINEL commands (src/cmd/cmd.h).
 *
 * Every node answers the Sentinel commands that client libraries use, with
 * the Raft leader as the one master (named by sentinel-master-name), the
 * other members as its replicas and as the other Sentinels. The leader
 * watch below does the rest of what a Sentinel does at a failover, so that
 * a client in Sentinel mode (redis-py Sentinel, redis-rb's sentinels:,
 * ioredis's sentinels) follows the leader as it follows a promoted replica.
 */
#ifndef CMD_SENTINEL_H
#define CMD_SENTINEL_H

struct server;

/* Looks at the Raft leader once per loop iteration (after the driver ran,
 * before client output is flushed):
 * - when this node learns of a leader other than the last one it knew, it
 *   publishes "+switch-master <name> <old-ip> <old-port> <new-ip>
 *   <new-port>" to its own subscribers of the channel +switch-master, as a
 *   Sentinel does after a failover (each node publishes it when it learns,
 *   so a client subscribed on any node hears it);
 * - when this node stops leading (and stepdown-close-clients is yes, the
 *   default), it closes the connections of clients
 *   that cannot follow -MOVED, as Sentinel has a demoted master run CLIENT
 *   KILL TYPE normal: they reconnect and ask where the master is. Each is
 *   closed from the next loop iteration on, once no command of it is under
 *   way, after its pending replies; a command of it that this node would
 *   answer -MOVED or -CLUSTERDOWN meanwhile is not run, and the connection
 *   closes at once after the replies before it (src/server/dispatch.c), so such a
 *   client sees its connection drop, never a redirect. Kept: peer links, subscribers (they wait for
 * +switch-master), READONLY connections (cluster-mode clients reading from replicas) and clients
 * blocked on keys (released with -MOVED to the new leader, src/server/replica.h); all of them if it
 * leads again first. Nothing is closed while raft-follower-proxy is on (followers forward those
 * clients' commands), nor when the node leaves its one-member cluster to join another (RAFT.CLUSTER
 * JOIN's client waits for its reply). */
void sentinel_leader_watch(struct server *srv);

#endif
