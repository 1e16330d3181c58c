/*
 * src/servercmd/cmdtable_pubsub.c - the pub/sub commands' rows of the command table
 * (see cmd.h for the columns; arity, flags, keys, ACL categories, summaries
 * and arguments are Redis 7.0's). Handlers: src/servercmd/cmd_pubsub.c.
 *
 * None is a read or a write: they run on whichever node the client talks
 * to. SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH name their shard channels as
 * keys, as Redis does for cluster clients' routing (one shard holds every
 * slot here).
 */
#include "servercmd/cmd_pubsub.h"
#include "cmd/rows.h"

#define PS CMD_PUBSUB

static const struct command pubsub_subcommands[] = {
    {"pubsub|channels", -2, PS | LD | ST | CMD_RANDOM, 0, 0, 0, cmd_pubsub_channels, "pubsub",
     "2.8.0", "List active channels", "[pattern]", "pubsub slow", NULL},
    {"pubsub|numpat", 2, PS | LD | ST | CMD_RANDOM, 0, 0, 0, cmd_pubsub_numpat, "pubsub", "2.8.0",
     "Get the count of unique patterns pattern subscriptions", NULL, "pubsub slow", NULL},
    {"pubsub|numsub", -2, PS | LD | ST | CMD_RANDOM, 0, 0, 0, cmd_pubsub_numsub, "pubsub", "2.8.0",
     "Get the count of subscribers for channels", "[channel [channel ...]]", "pubsub slow", NULL},
    {"pubsub|shardchannels", -2, PS | LD | ST | CMD_RANDOM, 0, 0, 0, cmd_pubsub_shardchannels,
     "pubsub", "7.0.0", "List active shard channels", "[pattern]", "pubsub slow", NULL},
    {"pubsub|shardnumsub", -2, PS | LD | ST | CMD_RANDOM, 0, 0, 0, cmd_pubsub_shardnumsub, "pubsub",
     "7.0.0", "Get the count of subscribers for shard channels",
     "[shardchannel [shardchannel ...]]", "pubsub slow", NULL},
    {"pubsub|help", 2, LD | ST, 0, 0, 0, cmd_pubsub_help, "pubsub", "6.2.0",
     "Show helpful text about the different subcommands", NULL, "slow", NULL},
    CMD_ROWS_END,
};

const struct command cmd_table_pubsub[] = {
    {"subscribe", -2, PS | NS | LD | ST | SUB, 0, 0, 0, cmd_subscribe, "pubsub", "2.0.0",
     "Listen for messages published to the given channels", "channel [channel ...]", "pubsub slow",
     NULL},
    {"unsubscribe", -1, PS | NS | LD | ST | SUB, 0, 0, 0, cmd_unsubscribe, "pubsub", "2.0.0",
     "Stop listening for messages posted to the given channels", "[channel [channel ...]]",
     "pubsub slow", NULL},
    {"psubscribe", -2, PS | NS | LD | ST | SUB, 0, 0, 0, cmd_psubscribe, "pubsub", "2.0.0",
     "Listen for messages published to channels matching the given patterns",
     "pattern [pattern ...]", "pubsub slow", NULL},
    {"punsubscribe", -1, PS | NS | LD | ST | SUB, 0, 0, 0, cmd_punsubscribe, "pubsub", "2.0.0",
     "Stop listening for messages posted to channels matching the given patterns",
     "[pattern [pattern ...]]", "pubsub slow", NULL},
    {"ssubscribe", -2, PS | NS | LD | ST | SUB, 1, -1, 1, cmd_ssubscribe, "pubsub", "7.0.0",
     "Listen for messages published to the given shard channels", "shardchannel [shardchannel ...]",
     "pubsub slow", NULL, .key_flags = "not_key"},
    {"sunsubscribe", -1, PS | NS | LD | ST | SUB, 1, -1, 1, cmd_sunsubscribe, "pubsub", "7.0.0",
     "Stop listening for messages posted to the given shard channels",
     "[shardchannel [shardchannel ...]]", "pubsub slow", NULL, .key_flags = "not_key"},
    {"publish", 3, PS | LD | ST | F | CMD_MAY_REPLICATE, 0, 0, 0, cmd_publish, "pubsub", "2.0.0",
     "Post a message to a channel", "channel message", "pubsub fast", NULL},
    {"spublish", 3, PS | LD | ST | F | CMD_MAY_REPLICATE, 1, 1, 1, cmd_spublish, "pubsub", "7.0.0",
     "Post a message to a shard channel", "shardchannel message", "pubsub fast", NULL,
     .key_flags = "not_key"},
    {"pubsub", -2, CMD_CONTAINER, 0, 0, 0, NULL, "pubsub", "2.8.0",
     "A container for Pub/Sub commands", NULL, "slow", pubsub_subcommands},
    {"raft.publish", 5, CMD_NOAUTH | F | LD | ST | NS | CMD_INTERNAL, 0, 0, 0, cmd_raft_publish,
     "raft", "0.1.0", "Delivers a message published on another member (after RAFT.AUTH).",
     "node-id kind channel message", "fast", NULL},
    CMD_ROWS_END,
};
