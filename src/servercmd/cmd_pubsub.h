/*
 * src/servercmd/cmd_pubsub.h - the pub/sub commands (Redis 7.0's): SUBSCRIBE,
 * UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH,
 * SPUBLISH and PUBSUB's subcommands, on src/server/pubsub.h's index. Their rows:
 * src/servercmd/cmdtable_pubsub.c.
 *
 * They run on the node the client talks to, leader or follower, and never
 * go through the log: PUBLISH and SPUBLISH deliver to the node's own
 * subscribers and send the message to the other members, which deliver it
 * to theirs (RAFT.PUBLISH). A client subscribed to anything over RESP2 may run
 * only the commands flagged CMD_SUBSCRIBED (src/server/dispatch.c refuses the
 * others with Redis's error).
 */
#ifndef CMD_PUBSUB_H
#define CMD_PUBSUB_H

#include "cmd/cmd.h"

extern const struct command cmd_table_pubsub[];

void cmd_subscribe(struct cmd_ctx *c);
void cmd_unsubscribe(struct cmd_ctx *c);
void cmd_psubscribe(struct cmd_ctx *c);
void cmd_punsubscribe(struct cmd_ctx *c);
void cmd_ssubscribe(struct cmd_ctx *c);
void cmd_sunsubscribe(struct cmd_ctx *c);
void cmd_publish(struct cmd_ctx *c);
void cmd_spublish(struct cmd_ctx *c);
void cmd_pubsub_channels(struct cmd_ctx *c);
void cmd_pubsub_shardchannels(struct cmd_ctx *c);
void cmd_pubsub_numsub(struct cmd_ctx *c);
void cmd_pubsub_shardnumsub(struct cmd_ctx *c);
void cmd_pubsub_numpat(struct cmd_ctx *c);
void cmd_pubsub_help(struct cmd_ctx *c);
/* RAFT.PUBLISH <from-id> <0|1> <channel> <message>: a message published on
 * another member (src/node/node.h's node_publish), delivered to this node's
 * subscribers; only on a peer link authenticated as from-id. */
void cmd_raft_publish(struct cmd_ctx *c);

#endif
