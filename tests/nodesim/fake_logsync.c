/*
 * tests/nodesim/fake_logsync.c - src/storage/logsync.h in the simulated world: a
 * sync "thread" whose fdatasync takes 0 to 3 ms of virtual time, drawn from
 * the world's PRNG, and while faults are on one in SLOW_PM thousand up to
 * SLOW_US_MAX (a disk that stalls: longer than an election timeout, so a
 * follower's answers wait that long while its loop runs on). It syncs the latest mark asked when it
 * starts, as the real thread does; the driver sees it complete at its next poll after that time
 * (node_process_ready, every step), and only then is the store's transaction marked synced
 * (fake_storage.c: storage_synced), so a power loss before it drops what the sync had not covered.
 * A node that stops (crash, kill) loses its sync in flight with it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage/logsync.h"
#include "world.h"

#define SYNC_US_MAX 3000
#define SLOW_PM 5
#define SLOW_US_MAX 1500000

struct logsync {
    struct storage *st;
    uint64_t requested, synced;
    uint64_t in_flight; /* the mark being synced, 0 if none */
    int64_t due_us;
};

static void begin(struct logsync *ls)
{
    ls->in_flight = ls->requested;
    uint32_t us_max = W->slow_disks && w_chance(W, SLOW_PM) ? SLOW_US_MAX : SYNC_US_MAX;
    ls->due_us = W->now_us + (int64_t)w_below(W, us_max + 1);
}

struct logsync *logsync_start(struct ev_loop *loop, struct storage *s)
{
    (void)loop;
    if (storage_sync_fd(s) < 0) return NULL;
    struct logsync *ls = calloc(1, sizeof *ls);
    if (!ls) abort();
    ls->st = s;
    return ls;
}

void logsync_request(struct logsync *ls, uint64_t mark)
{
    if (mark <= ls->requested) return;
    ls->requested = mark;
    if (!ls->in_flight) begin(ls);
}

int logsync_poll(struct logsync *ls, uint64_t *mark, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    if (!W->slow_disks && ls->due_us > W->now_us + SYNC_US_MAX) /* healed: the disk too */
        ls->due_us = W->now_us;
    if (ls->in_flight && W->now_us >= ls->due_us) {
        ls->synced = ls->in_flight;
        ls->in_flight = 0;
        struct storage_sync_times t = {1, 0, 0, 0};
        storage_synced(ls->st, ls->synced, &t);
        if (ls->requested > ls->synced) begin(ls);
    }
    *mark = ls->synced;
    return 0;
}

void logsync_stop(struct logsync *ls)
{
    free(ls);
}
