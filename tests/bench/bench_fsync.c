/*
 * tests/bench/bench_fsync.c - the Raft log store (src/storage/storage.c) writing
 * batches of 100-byte entries with fsync on and off: 512 entries a batch with
 * fsync on, the same with fsync off, then batches of a single entry with fsync on
 * (one fsync per write, what a lone client costs). For each: entries and batches
 * per second, the fsyncs the store counted and their average commit time.
 *
 * It used to be the last test of tests/unit/test_storage.c; the unit test kept its
 * check (every entry written is stored: test_batches_with_fsync_on_and_off).
 * A benchmark measures and prints; it fails only if the store does.
 *   build/bench_fsync [DIR] [BATCHES] [SINGLES]
 * DIR: where the store's temp directory is made (default $TMPDIR, else /tmp; the
 * figures are those of its file system); BATCHES: batches of 512 for each fsync
 * setting (default 40); SINGLES: single-entry batches (default 100).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/storage.h"

#define NODE 7
#define PER_BATCH 512

static struct storage *store;
static char err[512];
static raft_index last;
static struct raft_entry ents[PER_BATCH];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_fsync: %s: %s\n", what, err);
    exit(1);
}

static void bench(const char *name, int fsync, uint32_t per_batch, int batches)
{
    struct storage_stats ss;
    static uint8_t payload[100];
    raft_index from = last + 1;
    if (storage_set_fsync(store, fsync, err, sizeof err)) die("storage_set_fsync");
    storage_stats(store, &ss);
    uint64_t fs0 = ss.fsync_count, us0 = ss.fsync_total_us;

    double t0 = now_s();
    for (int b = 0; b < batches; b++) {
        for (uint32_t i = 0; i < per_batch; i++)
            ents[i] = (struct raft_entry){
                .index = from + i, .term = 1, .len = sizeof payload, .data = payload};
        struct raft_hard_state hs = {.term = 1, .vote = NODE, .commit = from + per_batch - 1};
        struct storage_batch batch = {.n_entries = per_batch, .entries = ents, .hs = &hs};
        if (storage_save(store, &batch, err, sizeof err)) die("storage_save");
        from += per_batch;
    }
    double dt = now_s() - t0;
    storage_stats(store, &ss);
    uint64_t nfs = ss.fsync_count - fs0;
    printf("bench %-26s %6d batches x %3u: %9.0f entries/s, %5.0f batches/s, %llu fsyncs, "
           "avg commit %llu us\n",
           name, batches, per_batch, (double)batches * per_batch / dt, batches / dt,
           (unsigned long long)nfs,
           (unsigned long long)(nfs ? (ss.fsync_total_us - us0) / nfs : 0));
    last = from - 1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    const char *parent = argc > 1 ? argv[1] : tmp && *tmp ? tmp : "/tmp";
    int batches = argc > 2 ? atoi(argv[2]) : 40;
    int singles = argc > 3 ? atoi(argv[3]) : 100;
    char dir[4096];
    if (batches < 1 || singles < 1) {
        fprintf(stderr, "usage: bench_fsync [DIR] [BATCHES] [SINGLES] (counts >= 1)\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/rc-bench-fsync-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    if (storage_open(&store, dir, NODE, 1, err, sizeof err)) die("storage_open");
    printf("bench_fsync: the Raft log store in %s, 100-byte entries\n", dir);

    bench("512 x 100 B, fsync on", 1, PER_BATCH, batches);
    bench("512 x 100 B, fsync off", 0, PER_BATCH, batches);
    bench("1 x 100 B, fsync on", 1, 1, singles);

    struct storage_stats ss;
    storage_stats(store, &ss);
    uint64_t want = (uint64_t)batches * PER_BATCH * 2 + (uint64_t)singles;
    int rc = 0;
    if (ss.log_entries != want) {
        fprintf(stderr, "bench_fsync: the store holds %llu entries, %llu written\n",
                (unsigned long long)ss.log_entries, (unsigned long long)want);
        rc = 1;
    }
    storage_close(store);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
