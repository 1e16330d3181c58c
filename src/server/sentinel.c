/*
 * src/server/sentinel.c - Redis Sentinel's replies (see sentinel.h).
 */
#include <stdio.h>
#include <string.h>

#include "server/sentinel.h"

const char *sentinel_flags(const struct sentinel_instance *in, char buf[SENTINEL_FLAGS_MAX])
{
    static const char *const kinds[] = {"master", "slave", "sentinel"};
    snprintf(buf, SENTINEL_FLAGS_MAX, "%s%s%s%s", (in->down & SENTINEL_S_DOWN) ? "s_down," : "",
             (in->down & SENTINEL_O_DOWN) ? "o_down," : "", kinds[in->kind],
             (in->down & SENTINEL_DISCONNECTED) ? ",disconnected" : "");
    return buf;
}

static void put(struct resp_out *o, long *n, const char *k, const char *v)
{
    resp_add_bulk_cstr(o, k);
    resp_add_bulk_cstr(o, v);
    (*n)++;
}

static void put_ll(struct resp_out *o, long *n, const char *k, long long v)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", v);
    put(o, n, k, num);
}

/* The fields every kind starts with, up to down-after-milliseconds. The
 * link fields describe a probe Sentinel sends and this node does not: a
 * silent instance shows as a ping pending since it was last heard. */
static void common_fields(struct resp_out *o, long *n, const struct sentinel_instance *in)
{
    char addr[300], flags[SENTINEL_FLAGS_MAX];
    const char *name = in->name;
    if (in->kind == SENTINEL_REPLICA) {
        snprintf(addr, sizeof addr, "%s:%d", in->ip, in->port);
        name = addr;
    } else if (in->kind == SENTINEL_PEER) {
        name = in->runid;
    }
    put(o, n, "name", name);
    put(o, n, "ip", in->ip);
    put_ll(o, n, "port", in->port);
    put(o, n, "runid", in->runid);
    put(o, n, "flags", sentinel_flags(in, flags));
    int down = (in->down & SENTINEL_S_DOWN) != 0;
    long long heard = in->heard_ms_ago < 0 ? in->down_after_ms : in->heard_ms_ago;
    put_ll(o, n, "link-pending-commands", down);
    put_ll(o, n, "link-refcount", 1);
    put_ll(o, n, "last-ping-sent", down ? heard : 0);
    put_ll(o, n, "last-ok-ping-reply", heard);
    put_ll(o, n, "last-ping-reply", heard);
    if (down) put_ll(o, n, "s-down-time", in->down_ms);
    if (in->down & SENTINEL_O_DOWN) put_ll(o, n, "o-down-time", in->down_ms);
    put_ll(o, n, "down-after-milliseconds", in->down_after_ms);
}

static void master_fields(struct resp_out *o, long *n, const struct sentinel_instance *in)
{
    put_ll(o, n, "info-refresh", in->heard_ms_ago < 0 ? 0 : in->heard_ms_ago);
    put(o, n, "role-reported", "master");
    put_ll(o, n, "role-reported-time", in->role_ms);
    put_ll(o, n, "config-epoch", in->config_epoch);
    put_ll(o, n, "num-slaves", in->num_slaves);
    put_ll(o, n, "num-other-sentinels", in->num_other_sentinels);
    put_ll(o, n, "quorum", in->quorum);
    put_ll(o, n, "failover-timeout", in->failover_timeout_ms);
    put_ll(o, n, "parallel-syncs", 1);
}

static void replica_fields(struct resp_out *o, long *n, const struct sentinel_instance *in)
{
    put_ll(o, n, "info-refresh", in->heard_ms_ago < 0 ? 0 : in->heard_ms_ago);
    put(o, n, "role-reported", "slave");
    put_ll(o, n, "role-reported-time", in->role_ms);
    put_ll(o, n, "master-link-down-time", in->master_link_ok ? 0 : in->master_link_down_ms);
    put(o, n, "master-link-status", in->master_link_ok ? "ok" : "err");
    put(o, n, "master-host", in->master_host);
    put_ll(o, n, "master-port", in->master_port);
    put_ll(o, n, "slave-priority", in->priority);
    put_ll(o, n, "slave-repl-offset", in->repl_offset);
    put_ll(o, n, "replica-announced", 1);
}

/* A member as another Sentinel: it hellos through Raft's heartbeats; votes
 * are Raft's and not shown, as a Sentinel that voted for nobody. */
static void peer_fields(struct resp_out *o, long *n, const struct sentinel_instance *in)
{
    put_ll(o, n, "last-hello-message", in->heard_ms_ago < 0 ? 0 : in->heard_ms_ago);
    put(o, n, "voted-leader", "?");
    put_ll(o, n, "voted-leader-epoch", 0);
}

void sentinel_add_instance(struct resp_out *o, const struct sentinel_instance *in)
{
    resp_deferred d = resp_add_deferred(o);
    long n = 0;
    common_fields(o, &n, in);
    if (in->kind == SENTINEL_MASTER)
        master_fields(o, &n, in);
    else if (in->kind == SENTINEL_REPLICA)
        replica_fields(o, &n, in);
    else
        peer_fields(o, &n, in);
    resp_set_deferred_map_len(o, d, n);
}

void sentinel_add_ckquorum(struct resp_out *o, int usable, int voters, int quorum)
{
    int no_quorum = usable < quorum, no_majority = usable < voters / 2 + 1;
    if (!no_quorum && !no_majority) {
        char ok[96];
        snprintf(ok, sizeof ok,
                 "OK %d usable Sentinels. Quorum and failover authorization can be reached",
                 usable);
        resp_add_simple(o, ok);
        return;
    }
    resp_add_errorf(o, "NOQUORUM %d usable Sentinels. %s%s%s", usable,
                    no_quorum ? "Not enough available Sentinels to reach the specified quorum "
                                "for this master"
                              : "",
                    no_quorum && no_majority ? ". " : "",
                    no_majority ? "Not enough available Sentinels to reach the majority and "
                                  "authorize a failover"
                                : "");
}

int sentinel_switch_message(char *buf, size_t len, const char *name, const char *old_ip,
                            int old_port, const char *new_ip, int new_port)
{
    int n = snprintf(buf, len, "%s %s %d %s %d", name, old_ip, old_port, new_ip, new_port);
    return n < 0 || (size_t)n >= len ? -1 : n;
}
