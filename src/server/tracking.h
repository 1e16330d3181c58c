/*
 * src/server/tracking.h - client-side caching (Redis 7.0's CLIENT TRACKING):
 * which keys the tracking clients of this node read, and the invalidation
 * messages they get when those keys change.
 *
 * Two modes, as in Redis:
 *   - default: a read-only command run for a tracking client remembers its
 *     keys (key -> the ids of the clients that read it); the first change
 *     to such a key sends each of them "invalidate [key]" and forgets the
 *     key. OPTIN remembers only a command after CLIENT CACHING yes, OPTOUT
 *     all but one after CLIENT CACHING no; NOLOOP sends nothing for a
 *     change the client's own command made (as this node knows it: below).
 *   - BCAST: nothing is remembered; the keys changed under each of the
 *     client's prefixes are collected and sent in one message per prefix
 *     before the loop sleeps.
 * A message goes to the tracking client as a RESP3 push (">2 invalidate
 * [keys]"), or to its REDIRECT connection: a push there when that one
 * speaks RESP3, else a message of the channel __redis__:invalidate when it
 * is subscribed to something (nothing otherwise, as Redis). A redirect
 * whose connection is gone marks the client broken_redirect and, over
 * RESP3, tells it "tracking-redir-broken". A flush (FLUSHALL, FLUSHDB,
 * SWAPDB, a snapshot installed on a follower) sends a null instead of keys
 * to every tracking client and empties the table.
 *
 * Where changes come from: the keyspace's on_modify and on_flush hooks
 * (src/server/replica.c), that is the apply path of every node. A tracking
 * client on a follower (its reads local with READONLY, or forwarded by the
 * follower proxy) is told when the change is applied on the node it is
 * connected to, never later. Expired and evicted keys are deleted by log
 * entries and invalidate the same way.
 *
 * Order, as Redis promises it: a message that a client's own command
 * caused comes after that command's reply (the apply path says whose reply
 * it builds: tracking_reply_begin/end); a message for a client with
 * commands out at the leader (the follower proxy, src/server/proxy.h)
 * waits until the replies of the commands forwarded before it are relayed,
 * so that a value read through the leader never arrives after the
 * invalidation of the value it replaced (a client that keeps forwarding
 * does not hold its messages back for longer than that). A client holds
 * TRACKING_HELD_MAX messages at most: past it they become one null, which
 * tells it no less. Keys of a read are remembered before its
 * value is read or forwarded (a transaction's when its EXEC goes, a script's when it ran a read): a
 * change applied after that always invalidates. The price of being safe is an extra message at
 * times: through the proxy a client is also told of its own writes, NOLOOP or not, since the
 * follower applies them as anyone's.
 *
 * Keys are tracked by name whatever the database, as in Redis 7.0.
 * tracking-table-max-keys bounds the keys remembered: past it, random keys
 * are invalidated (as if changed) before the loop sleeps and in the cron,
 * 100 more per pass while it stays over, as Redis.
 *
 * Owns: the key table, the prefix table and each tracking client's state
 * (struct client.tracking_state). Clients are borrowed: the connection
 * layer calls tracking_client_gone() before it frees one; a key's ids may
 * name clients gone since (looked up when a message goes, as Redis does).
 * Single-threaded.
 */
#ifndef TRACKING_H
#define TRACKING_H

#include <stddef.h>
#include <stdint.h>

#include "ds/dict.h"
#include "resp/parser.h"

struct server;
struct client;
struct command;
struct cmd_ctx;

/* Messages held back for one client at most (see Order above). */
#define TRACKING_HELD_MAX 1024

struct tracking {
    struct dict keys;       /* key -> struct tracking_ids * (never empty) */
    struct dict prefixes;   /* BCAST prefix -> struct tracking_bcast * */
    uint64_t items;         /* ids over every key (INFO tracking_total_items) */
    uint64_t clients;       /* clients with tracking on (INFO tracking_clients) */
    unsigned over_passes;   /* limit passes in a row that ended over the limit */
    struct client *current; /* whose reply the apply path builds, or NULL */
    int flush_sent;         /* the null of a flush went out (FLUSHALL flushes each
                             * database: one null for them all) */
    uint64_t rng;
};

struct tracking *tracking_new(uint64_t seed);
void tracking_free(struct tracking *t);

/* CLIENT TRACKING ON/OFF, CLIENT CACHING (src/servercmd/cmd_tracking.c
 * checks the options and replies). On: redirect is a client id or 0,
 * flags the client's TRACKING_* options (BCAST, OPTIN, OPTOUT, NOLOOP),
 * prefixes the BCAST prefixes (none: ""), which must not overlap the
 * client's own (checked by the caller). */
void tracking_enable(struct server *srv, struct client *c, uint64_t redirect, unsigned flags,
                     const struct resp_arg *prefixes, size_t n);
void tracking_disable(struct server *srv, struct client *c);
/* c's BCAST prefixes, in no order, as fn(ud, prefix) each. */
typedef void tracking_prefix_fn(void *ud, const struct resp_arg *prefix);
void tracking_client_prefixes(const struct client *c, tracking_prefix_fn *fn, void *ud);
/* The error of a prefix among p[0..n) that overlaps one of c's or another
 * of p (Redis's text), written into err; 0 when none does. */
int tracking_prefix_overlap(const struct client *c, const struct resp_arg *p, size_t n, char *err,
                            size_t errlen);

/* ---- reads: what a tracking client read ---- */

/* cmd ran for c locally (src/server/call.c) or in the apply path (a
 * script: ctx->reads_keys): its keys are remembered when c tracks them. */
void tracking_ran(struct server *srv, struct client *c, const struct command *cmd,
                  const struct cmd_ctx *ctx);
/* cmd with argv goes to the leader for c (the follower proxy), or is
 * queued in c's transaction, whose EXEC goes to the log: its keys are
 * remembered now when it is a read c tracks. */
void tracking_will_read(struct server *srv, struct client *c, const struct command *cmd, int argc,
                        const struct resp_arg *argv);
/* c's command cmd was taken up: a CLIENT CACHING decision is spent, unless
 * cmd is CLIENT's or c is in a transaction (it covers the EXEC then). */
void tracking_command_done(struct client *c, const struct command *cmd);

/* ---- changes: the keyspace's hooks and the apply path ---- */

void tracking_key_changed(struct server *srv, const char *key, size_t len);
void tracking_flushed(struct server *srv);
/* The apply path builds c's reply (c NULL: nobody here waits); then it is
 * complete: the messages c's command caused follow it. */
void tracking_reply_begin(struct server *srv, struct client *c);
void tracking_reply_end(struct server *srv, struct client *c);
/* A forwarded command of c was answered: the messages that waited for it
 * go. */
void tracking_release(struct server *srv, struct client *c);
/* Before the loop sleeps: BCAST messages, and the key limit. */
void tracking_before_sleep(struct server *srv);
/* The cron's share: the key limit. */
void tracking_cron(struct server *srv);
/* c is about to be freed. */
void tracking_client_gone(struct server *srv, struct client *c);

/* INFO: clients tracking, keys remembered, the ids over them, BCAST prefixes. */
static inline uint64_t tracking_clients(const struct tracking *t)
{
    return t->clients;
}
static inline uint64_t tracking_items(const struct tracking *t)
{
    return t->items;
}
static inline uint64_t tracking_keys(const struct tracking *t)
{
    return dict_size(&t->keys);
}
static inline uint64_t tracking_prefixes(const struct tracking *t)
{
    return dict_size(&t->prefixes);
}

#endif
