/*
 * tests/sim/main.c - runs the simulator over many seeds.
 *
 *   build/sim --seeds N [--first S] [--nodes K] [--steps T] [--jobs J]
 *   build/sim --seed S [--verbose] [--trace]   replay one seed exactly (trace: messages)
 *   build/sim --selftest                only the checker's self-test
 * The checker self-test always runs first. With --jobs 2 (default) the seed range is
 * split between two forked workers; each seed's run is independent and deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include "check.h"
#include "sim.h"

static volatile uint64_t current_seed;

/* A crash inside a run still names its seed. */
static void on_fatal(int sig)
{
    char msg[160];
    int n = snprintf(msg, sizeof(msg),
                     "sim: CRASHED (signal %d) on seed %llu; replay: build/sim --seed %llu\n", sig,
                     (unsigned long long)current_seed, (unsigned long long)current_seed);
    if (n > 0 && write(1, msg, (size_t)n) < 0) _exit(3);
    _exit(1);
}

static int run_range(struct sim_opts o, uint64_t first, uint64_t count, uint64_t stride)
{
    struct sim_stats st;
    memset(&st, 0, sizeof(st));
    char err[1024];
    for (uint64_t k = 0; k < count; k += stride) {
        o.seed = first + k;
        current_seed = o.seed;
        if (sim_run(&o, &st, err, sizeof(err)) != 0) {
            printf("sim: FAILED seed %llu: %s\n", (unsigned long long)o.seed, err);
            printf("sim: replay with: build/sim --seed %llu --verbose\n",
                   (unsigned long long)o.seed);
            fflush(stdout);
            return 1;
        }
    }
    printf("sim: %s", count == 1 ? "" : "worker totals: ");
    printf("proposals %llu, applied %llu, reads %llu (%llu failed), crashes %llu, elections %llu, "
           "snapshots installed %llu, conf changes %llu, transfers %llu, msgs %llu, "
           "longest heal-to-commit %llu ticks, released %llu, read back %llu\n",
           (unsigned long long)st.proposals, (unsigned long long)st.commits,
           (unsigned long long)st.reads, (unsigned long long)st.reads_failed,
           (unsigned long long)st.crashes, (unsigned long long)st.elections,
           (unsigned long long)st.snapshots_installed, (unsigned long long)st.conf_changes,
           (unsigned long long)st.transfers, (unsigned long long)st.msgs,
           (unsigned long long)st.heal_ticks_max, (unsigned long long)st.released,
           (unsigned long long)st.loaded);
    fflush(stdout); /* workers leave with _exit() */
    return 0;
}

int main(int argc, char **argv)
{
    struct sim_opts o = {.fault_steps = 600, .live_steps = 1000};
    uint64_t seeds = 100, first = 1;
    int jobs = 2;
    bool one = false, selftest_only = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seeds") && v)
            seeds = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--first") && v)
            first = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--seed") && v) {
            first = strtoull(argv[++i], NULL, 10);
            one = true;
        } else if (!strcmp(a, "--nodes") && v)
            o.nodes = atoi(argv[++i]);
        else if (!strcmp(a, "--steps") && v)
            o.fault_steps = atoi(argv[++i]);
        else if (!strcmp(a, "--jobs") && v)
            jobs = atoi(argv[++i]);
        else if (!strcmp(a, "--verbose"))
            o.verbose = true;
        else if (!strcmp(a, "--trace"))
            o.trace = o.verbose = true;
        else if (!strcmp(a, "--selftest"))
            selftest_only = true;
        else {
            fprintf(stderr, "usage: sim [--seeds N] [--first S] [--seed S] [--nodes 3..7] "
                            "[--steps T] [--jobs J] [--verbose] [--trace] [--selftest]\n");
            return 2;
        }
    }
    if (o.nodes && (o.nodes < 3 || o.nodes > 7)) {
        fprintf(stderr, "sim: --nodes must be 3..7\n");
        return 2;
    }
    signal(SIGSEGV, on_fatal);
    signal(SIGABRT, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGFPE, on_fatal);
    int missed = chk_selftest();
    if (missed) {
        printf("sim: checker self-test FAILED (%d properties not flagged)\n", missed);
        return 1;
    }
    printf("sim: checker self-test passed (every property flagged on a broken history)\n");
    if (selftest_only) return 0;
    if (one) return run_range(o, first, 1, 1);
    if (jobs < 1 || seeds < 2) jobs = 1;
    fflush(stdout);
    int fail = 0;
    if (jobs == 1) {
        fail = run_range(o, first, seeds, 1);
    } else {
        pid_t kids[2];
        for (int j = 0; j < 2; j++) {
            kids[j] = fork();
            if (kids[j] == 0) _exit(run_range(o, first + (uint64_t)j, seeds - (uint64_t)j, 2));
        }
        for (int j = 0; j < 2; j++) {
            int status = 0;
            if (kids[j] < 0 || waitpid(kids[j], &status, 0) < 0 || !WIFEXITED(status) ||
                WEXITSTATUS(status) != 0)
                fail = 1;
        }
    }
    if (fail) return 1;
    printf("sim: %llu seeds passed\n", (unsigned long long)seeds);
    return 0;
}
