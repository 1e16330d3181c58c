/*
 * tests/bench/bench_raft.c - throughput of the raft core alone: a 3-node cluster in
 * one thread, no I/O, messages handed from core to core in memory (a ready batch's
 * messages are stepped into their target before the sender's raft_advance(), which the
 * contract allows: it only forbids calls on the sender itself).
 *
 * Prints entries committed per second (counted when the leader hands them out to
 * apply) and heap allocations per entry (malloc/calloc/realloc calls, counted by
 * interposing glibc's allocator). A benchmark measures; it does not pass or fail.
 *   build/bench_raft [entries] [entry_bytes] [batch]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../raft/raft.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static unsigned long long n_allocs;

void *malloc(size_t n)
{
    n_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    n_allocs++;
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    n_allocs++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

#define N 3

static struct raft *nodes[N];
static unsigned long long applied[N];

static void process(int i)
{
    struct raft_ready rd;
    raft_ready(nodes[i], &rd);
    /* the entries would be written here; then messages go out */
    for (uint32_t k = 0; k < rd.n_msgs; k++) {
        const struct raft_msg *m = &rd.msgs[k];
        if (m->to >= 1 && m->to <= N) raft_step(nodes[m->to - 1], m);
    }
    for (uint32_t k = 0; k < rd.n_committed; k++)
        applied[i] += rd.committed[k].type == RAFT_ENTRY_NORMAL;
    raft_advance(nodes[i]);
}

static void pump(void)
{
    for (int round = 0; round < 8; round++) {
        int busy = 0;
        for (int i = 0; i < N; i++) {
            if (raft_has_ready(nodes[i])) {
                process(i);
                busy = 1;
            }
        }
        if (!busy) return;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    unsigned long long total = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000000;
    uint32_t size = argc > 2 ? (uint32_t)atoi(argv[2]) : 16;
    uint32_t batch = argc > 3 ? (uint32_t)atoi(argv[3]) : 1024;
    if (size > 4096 || batch == 0) {
        fprintf(stderr, "usage: bench_raft [entries] [entry_bytes<=4096] [batch>0]\n");
        return 2;
    }
    for (int i = 0; i < N; i++) {
        struct raft_config c;
        raft_config_default(&c);
        c.id = (raft_id)i + 1;
        c.seed = (uint64_t)i + 1;
        c.max_entries_per_msg = 4096;
        c.max_inflight_msgs = 256;
        if (raft_create(&c, &nodes[i]) != 0) return 1;
        struct raft_hard_state hs = {0, 0, 0};
        struct raft_snapshot_meta meta;
        memset(&meta, 0, sizeof(meta));
        meta.conf.n = N;
        for (int k = 0; k < N; k++)
            meta.conf.s[k] = (struct raft_server){.id = (raft_id)k + 1, .voter = true};
        raft_restore(nodes[i], &hs, &meta, NULL, 0);
    }
    struct raft_msg now;
    memset(&now, 0, sizeof(now));
    now.type = RAFT_MSG_TIMEOUT_NOW;
    now.from = 2;
    now.to = 1;
    raft_step(nodes[0], &now);
    pump();
    if (raft_role_of(nodes[0]) != RAFT_LEADER) {
        fprintf(stderr, "bench: no leader\n");
        return 1;
    }
    uint8_t data[4096];
    memset(data, 'x', sizeof(data));
    unsigned long long proposed = 0, allocs0 = n_allocs, snaps = 0;
    double t0 = now_s();
    while (applied[0] < total) {
        for (uint32_t k = 0; k < batch && proposed < total; k++, proposed++) {
            memcpy(data, &proposed, sizeof(proposed) < size ? sizeof(proposed) : size);
            if (raft_propose(nodes[0], data, size, NULL) != 0) return 1;
        }
        pump();
        /* keep memory bounded as a real driver would: snapshot every ~256k entries */
        for (int i = 0; i < N; i++) {
            raft_index a = raft_applied_index(nodes[i]);
            if (a >= raft_first_index(nodes[i]) + 262144) {
                raft_snapshot_taken(nodes[i], a, NULL);
                snaps++;
            }
        }
    }
    double dt = now_s() - t0;
    unsigned long long allocs = n_allocs - allocs0;
    printf("bench_raft: 3 nodes, %llu entries of %u bytes, proposal batch %u\n", total, size,
           batch);
    printf("bench_raft: %.0f entries committed/s (%.3f s), %.4f allocations per entry "
           "(cluster-wide), %llu compactions\n",
           (double)total / dt, dt, (double)allocs / (double)total, snaps);
    for (int i = 0; i < N; i++)
        raft_free(nodes[i]);
    return 0;
}
