/*
 * src/server.c - the process-wide figures of src/server.h: the clock of
 * local decisions, memory readings, the shutdown request.
 */
#include <stdio.h>
#include <unistd.h>

#include "clock.h"
#include "alloc.h"
#include "script.h"
#include "server.h"
#include "util.h"

/* The allocator's page figures and RSS are read when asked for (INFO) and
 * kept for MEMORY_REFRESH_US: a reading merges every arena's statistics
 * (jemalloc's epoch) and opens /proc. used_memory is exact at every call
 * (alloc_used), for the maxmemory check before each write. */
#define MEMORY_REFRESH_US 100000
static struct server_memory memory;
static int64_t memory_read_us = -MEMORY_REFRESH_US;

int64_t server_now_ms(void)
{
    return clock_ms();
}

static void refresh_memory(void)
{
    int64_t now = clock_mono_us();
    if (now - memory_read_us < MEMORY_REFRESH_US) return;
    memory_read_us = now;
    alloc_read_stats(&memory.alloc);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long size, resident;
        if (fscanf(f, "%lu %lu", &size, &resident) == 2)
            memory.rss_bytes = resident * (size_t)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
}

void server_memory(struct server_memory *m)
{
    refresh_memory();
    *m = memory;
}

void server_request_shutdown(struct server *srv)
{
    srv->shutdown_requested = 1;
}

int server_script_busy(const struct server *srv, const struct client **client)
{
    return script_busy(srv->scripts, client) || script_busy(srv->fn_scripts, client);
}

void server_script_kill(struct server *srv)
{
    script_kill(srv->scripts);
    script_kill(srv->fn_scripts);
}
