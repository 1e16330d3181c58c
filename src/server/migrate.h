/*
 * src/server/migrate.h - MIGRATE's trip, after its command
 * (src/servercmd/cmd_migrate.c) has read and serialized the keys on the
 * leader (a linearizable read: what it sends is the committed state).
 *
 * SENDING. The keys go to the target as Redis's MIGRATE sends them: [AUTH
 * [user] password], SELECT db, then RESTORE key ttl payload [REPLACE] for
 * each, pipelined on a connection of their own (transport_call_pipeline(),
 * src/transport/transport.h: plain TCP, so the target may be a
 * redis-server or a raftcache node). The connection is not kept for the
 * next MIGRATE (Redis caches it for 10 seconds: INFO's
 * migrate_cached_sockets stays 0 here). The timeout bounds the wait for
 * each reply, as Redis's bounds each read.
 *
 * DELETING. Unless COPY, the keys the target acknowledged are deleted
 * through the log by RAFTCACHE.MIGRATED, which every node applies alike:
 * a key is deleted only if its value and TTL are still those that were
 * sent (their digest, src/keyspace/kv.h kv_digest_value, and the expiry),
 * so a write that reached the key while it travelled is never lost: the
 * key then stays, changed, and the target holds the value it had. The
 * entry carries the client's reply; with COPY, or when nothing was
 * acknowledged, the reply is written at once.
 *
 * ORDER. While a MIGRATE travels, its client's next commands wait
 * (client.migrating, src/server/dispatch.c), so replies keep their order.
 * A client that goes away cancels its MIGRATE (the target may or may not
 * have received the keys; none is deleted). A node that lost leadership
 * meanwhile deletes nothing and says so.
 *
 * Errors are Redis's: "IOERR error or timeout connecting to the client",
 * "IOERR error or timeout reading to target instance", "ERR Target
 * instance replied with error: <its error>" (the first one; AUTH's or
 * SELECT's fails every key).
 */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "keyspace/digest.h"
#include "resp/parser.h"

struct client;
struct server;

#define MIGRATE_KEYS_MAX 1024 /* keys of one MIGRATE ... KEYS (and the pipeline's room) */
#define MIGRATE_HOST_MAX 256

/* One key to send: its name and payload (owned, malloc'd), the TTL to
 * restore it with (ms, 0: none) and what it was when read. */
struct migrate_key {
    char *key;
    size_t klen;
    char *payload;
    size_t plen;
    int64_t ttl_ms;
    int64_t expire_ms; /* the value's expiry when read (KV_NO_EXPIRE: none) */
    unsigned char digest[DIGEST_LEN];
};

struct migrate_req {
    char host[MIGRATE_HOST_MAX];
    int port;
    long long db;
    uint32_t timeout_ms;
    int copy, replace;
    const struct resp_arg *user, *password; /* borrowed for migrate_start(); NULL: none */
    struct migrate_key *keys;               /* owned: migrate_start() takes them */
    size_t n;
};

/* Sends req's keys for client c (in its selected database), taking the
 * keys over (freed whatever happens). 0: under way, the reply comes later;
 * -1: not started, an error replied to c. */
int migrate_start(struct server *srv, struct client *c, struct migrate_req *req);

/* c is going away: its MIGRATE, if any, is cancelled and forgotten. */
void migrate_client_gone(struct server *srv, struct client *c);

/* Frees n keys' names and payloads, and the array. */
void migrate_keys_free(struct migrate_key *keys, size_t n);

/* RAFTCACHE.MIGRATED's arguments after the reply: per key, its name, the
 * digest (DIGEST_LEN raw bytes) and the expiry (decimal ms, -1: none). */
#define MIGRATED_ARGS_PER_KEY 3

#endif
