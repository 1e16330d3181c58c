/*
 * src/server/pubsub.h - publish/subscribe on one node: who listens to which
 * channel, shard channel or pattern, and the delivery of a message to them.
 *
 * Owns: for each kind of subscription (enum pubsub_kind), the index name ->
 * subscribers (in subscription order) and each subscribed client's own set
 * of names (struct pubsub_client, hung on client.pubsub, freed when its last
 * subscription goes). Clients are borrowed: the connection layer calls
 * pubsub_client_gone() before it frees one.
 *
 * Messages are Redis 7.0's: RESP2 arrays, RESP3 push messages ("message",
 * "pmessage", "smessage", and the (un)subscribe confirmations). Delivery
 * appends to the subscriber's reply buffer and marks it for flushing
 * (src/net/conn.c writes it before the loop sleeps, and closes a subscriber
 * whose unsent output passes the pubsub class of
 * client-output-buffer-limit). Nothing here
 * goes through the log: pub/sub is fire-and-forget, as in Redis; the other
 * members get a message published here from src/node/node.h's node_publish.
 *
 * Single-threaded. A subscriber list is an array: subscribing appends,
 * unsubscribing one client costs the list's length, as Redis's lists do.
 */
#ifndef PUBSUB_H
#define PUBSUB_H

#include <stddef.h>
#include <stdint.h>

#include "ds/dict.h"

struct client;

enum pubsub_kind { PUBSUB_CHANNEL, PUBSUB_PATTERN, PUBSUB_SHARD, PUBSUB_KINDS };

struct pubsub {
    struct dict index[PUBSUB_KINDS]; /* name -> struct pubsub_subs * (never empty) */
    uint64_t seed;
};

/* One client's subscriptions: name -> NULL, per kind. */
struct pubsub_client {
    struct dict names[PUBSUB_KINDS];
};

void pubsub_init(struct pubsub *ps, uint64_t seed);
void pubsub_free(struct pubsub *ps);

/* Adds c to name's subscribers; 0 if it was subscribed already. */
int pubsub_subscribe(struct pubsub *ps, struct client *c, enum pubsub_kind k, const char *name,
                     size_t len);
/* Removes c from name's subscribers; 0 if it was not subscribed. */
int pubsub_unsubscribe(struct pubsub *ps, struct client *c, enum pubsub_kind k, const char *name,
                       size_t len);
/* Calls fn for each name c subscribes to with kind k (fn may unsubscribe
 * it: the names are copied first). */
typedef void pubsub_name_fn(void *ud, const char *name, size_t len);
void pubsub_client_names(const struct client *c, enum pubsub_kind k, pubsub_name_fn *fn, void *ud);
/* c's subscriptions of kind k. */
size_t pubsub_client_count(const struct client *c, enum pubsub_kind k);
/* Drops every subscription of c, silently (the connection is going). */
void pubsub_client_gone(struct pubsub *ps, struct client *c);

/* Delivers message to the subscribers of channel (shard: its shard
 * channel's; else its channel's, then every matching pattern's); returns
 * the number of deliveries, PUBLISH's reply. */
long long pubsub_publish(struct pubsub *ps, int shard, const char *channel, size_t clen,
                         const char *msg, size_t mlen);

/* Names of kind k with subscribers, matching pattern (NULL: all), for
 * PUBSUB CHANNELS and SHARDCHANNELS: fn for each. */
void pubsub_names(struct pubsub *ps, enum pubsub_kind k, const char *pat, size_t plen,
                  pubsub_name_fn *fn, void *ud);
/* Subscribers of name (kind k). */
size_t pubsub_subscribers(struct pubsub *ps, enum pubsub_kind k, const char *name, size_t len);
/* Names of kind k with subscribers (INFO pubsub_channels, PUBSUB NUMPAT). */
size_t pubsub_count(const struct pubsub *ps, enum pubsub_kind k);

#endif
