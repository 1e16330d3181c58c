/*
 * src/server/sentinel.h - the replies of Redis Sentinel, built from a description
 * of each instance: what SENTINEL MASTERS / MASTER / REPLICAS / SENTINELS /
 * CKQUORUM answer and the +switch-master message, with Redis Sentinel
 * 7.0's field names, field order, flags and texts, so that the Sentinel
 * support of client libraries (redis-py, redis-rb, ioredis, Jedis...) reads
 * them unchanged.
 *
 * Pure: it knows nothing of Raft, clients or sockets (src/servercmd/cmd_sentinel.c
 * maps the cluster onto struct sentinel_instance). Every value goes out as
 * a bulk string, as Sentinel sends them; an instance is a map in RESP3 and
 * a flat array of name/value pairs in RESP2.
 */
#ifndef SENTINEL_H
#define SENTINEL_H

#include <stdint.h>

#include "resp/writer.h"

enum sentinel_kind { SENTINEL_MASTER, SENTINEL_REPLICA, SENTINEL_PEER };

/* What struct sentinel_instance.down holds: Sentinel's "s_down" (this node
 * finds the instance unreachable), "o_down" (no leader is known at all: the
 * master is down for the cluster, not only for this node) and
 * "disconnected" (no link to it from here). */
#define SENTINEL_S_DOWN 1u
#define SENTINEL_O_DOWN 2u
#define SENTINEL_DISCONNECTED 4u

/* Room for sentinel_flags()'s text, NUL included. */
#define SENTINEL_FLAGS_MAX 48

struct sentinel_instance {
    enum sentinel_kind kind;
    const char *name; /* SENTINEL_MASTER: the master name; others use "ip:port" / runid */
    const char *ip;
    int port;
    const char *runid;       /* 40 characters */
    unsigned down;           /* SENTINEL_S_DOWN | SENTINEL_O_DOWN | SENTINEL_DISCONNECTED */
    long long heard_ms_ago;  /* since the last sign of life; -1: never */
    long long down_ms;       /* s-down-time and o-down-time while down */
    long long down_after_ms; /* after this much silence an instance is down */
    long long role_ms;       /* since it took the role it has */
    /* SENTINEL_MASTER */
    long long config_epoch;
    int num_slaves, num_other_sentinels, quorum;
    long long failover_timeout_ms;
    /* SENTINEL_REPLICA: its master as this node knows it */
    const char *master_host;
    int master_port;
    int master_link_ok;
    long long master_link_down_ms; /* 0 while the link is up */
    int priority;                  /* 0: never promoted (a learner) */
    long long repl_offset;
};

/* The flags text of in ("s_down,o_down,master,disconnected" order, as
 * Sentinel writes it) into buf (SENTINEL_FLAGS_MAX bytes); returns buf. */
const char *sentinel_flags(const struct sentinel_instance *in, char buf[SENTINEL_FLAGS_MAX]);

/* One instance: a map (RESP3) or a flat array (RESP2) of its fields. */
void sentinel_add_instance(struct resp_out *o, const struct sentinel_instance *in);

/* SENTINEL CKQUORUM's reply for `usable` reachable voters of `voters`
 * (this node included) with the given quorum: +OK ... or -NOQUORUM ...,
 * Sentinel's texts. */
void sentinel_add_ckquorum(struct resp_out *o, int usable, int voters, int quorum);

/* The +switch-master message, "<name> <old-ip> <old-port> <new-ip>
 * <new-port>", into buf (len bytes); returns its length, or -1 if it did
 * not fit. */
int sentinel_switch_message(char *buf, size_t len, const char *name, const char *old_ip,
                            int old_port, const char *new_ip, int new_port);

/* What the leader watch (src/servercmd/cmd_sentinel.h) remembers between two looks;
 * zeroed at start. */
#define SENTINEL_HOST_MAX 256 /* bytes of a host, NUL included (CONFIG_HOST_MAX) */
struct sentinel_watch {
    uint64_t leader;                   /* the leader at the last look; 0: none known */
    int64_t changed_ms;                /* when leader took its value */
    int leading;                       /* this node led at the last look */
    int closing;                       /* clients marked CLIENT_CLOSE_WHEN_IDLE may remain */
    uint64_t last_leader;              /* the last leader known, 0 if none ever */
    char last_host[SENTINEL_HOST_MAX]; /* and its address, for +switch-master */
    int last_port;
};

#endif
