/*
 * src/server/server.c - the process-wide figures of src/server/server.h: the clock of
 * local decisions, memory readings, the shutdown request.
 */
#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/alloc.h"
#include "script/script.h"
#include "base/log.h"
#include "node/node.h"
#include "raft/raft.h"
#include "server/server.h"
#include "raft/raft_assert.h"
#include "base/util.h"

/* The allocator's page figures and RSS are read when asked for and kept
 * for MEMORY_REFRESH_US (server_memory): a reading merges every arena's
 * statistics (jemalloc's epoch) and opens /proc. used_memory itself is
 * exact at every call (src/server/memory.h). */
#define MEMORY_REFRESH_US 100000
static struct server_memory memory;
static int64_t memory_read_us = -MEMORY_REFRESH_US;

int64_t server_now_ms(void)
{
    return clock_ms();
}

static void read_memory(void)
{
    memory_read_us = clock_mono_us();
    alloc_read_stats(&memory.alloc);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long size, resident;
        if (fscanf(f, "%lu %lu", &size, &resident) == 2)
            memory.rss_bytes = resident * (size_t)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
}

static void refresh_memory(void)
{
    if (clock_mono_us() - memory_read_us >= MEMORY_REFRESH_US) read_memory();
}

void server_memory_now(struct server_memory *m)
{
    read_memory();
    *m = memory;
}

void server_memory_mark_startup(void)
{
    read_memory();
    memory.startup_bytes = alloc_used(); /* no Raft log yet: all of it is used_memory */
}

void server_memory(struct server_memory *m)
{
    refresh_memory();
    *m = memory;
}

int server_script_busy(const struct server *srv, const struct client **client)
{
    /* One script runs at a time, in either engine. */
    ASSERT(!(script_busy(srv->scripts, NULL) && script_busy(srv->fn_scripts, NULL)));
    return script_busy(srv->scripts, client) || script_busy(srv->fn_scripts, client);
}

const char *server_script_busy_error(const struct server *srv)
{
    return script_busy(srv->fn_scripts, NULL) ? SCRIPT_BUSY_FUNCTION_ERR : SCRIPT_BUSY_ERR;
}

int server_script_kill(struct server *srv)
{
    int rc = script_kill(srv->scripts);
    return rc != -1 ? rc : script_kill(srv->fn_scripts);
}

int server_client_become_peer(struct server *srv, struct client *c, uint64_t peer_id)
{
    ASSERT(peer_id != 0); /* RAFT.AUTH refuses node id 0 (src/transport/transport_in.c) */
    if (!(c->flags & CLIENT_PEER)) {
        if (srv->peer_link_count >= CONN_PEER_LINKS_MAX) return -1;
        uint64_t *was = server_count_of(srv, c);
        ASSERT(*was > 0);
        (*was)--;
        c->flags = (c->flags & ~CLIENT_OVER_LIMIT) | CLIENT_PEER | CLIENT_AUTHED;
        (*server_count_of(srv, c))++;
    }
    /* a peer runs as no ACL user: nothing restricts it (src/server/aclstate.h) */
    c->user = NULL;
    c->user_name = NULL;
    c->peer_id = peer_id;
    return 0;
}

uint64_t server_commands_processed(const struct server *srv)
{
    return srv->stats.commands_processed + srv->sm.commands_run;
}

void server_stats_cron(struct server *srv)
{
    struct server_stats *s = &srv->stats;
    int64_t now_ms = clock_mono_us() / 1000;
    instmetric_sample(&s->inst_ops, now_ms, server_commands_processed(srv));
    instmetric_sample(&s->inst_input, now_ms, s->net_input_bytes);
    instmetric_sample(&s->inst_output, now_ms, s->net_output_bytes);
}

struct persist_env server_persist_env(struct server *srv)
{
    return (struct persist_env){&srv->persist, &srv->dbs, srv->functions, srv->cfg.dir,
                                srv->cfg.dbfilename};
}

void server_client_add(struct server *srv, struct client *c)
{
    c->prev = NULL;
    c->next = srv->clients;
    if (srv->clients) srv->clients->prev = c;
    srv->clients = c;
    dict_add(&srv->client_ids, &c->id, sizeof c->id, c, NULL);
}

void server_client_remove(struct server *srv, struct client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    int found = dict_delete(&srv->client_ids, &c->id, sizeof c->id, NULL);
    ASSERT(found); /* added once, by server_client_add() */
}

struct client *server_client_by_id(struct server *srv, uint64_t id)
{
    struct dict_entry *e = dict_find(&srv->client_ids, &id, sizeof id);
    return e ? e->val : NULL;
}
