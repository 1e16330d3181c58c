/*
 * tests/nodesim/main.c - runs the node simulator over many seeds.
 *
 *   build/nodesim --seeds N [--first S] [--nodes K] [--ms T] [--no-wipes] [--jobs J]
 *                 [--kill-ppm P] [--power-loss-ppm P] [--damage-ppm P] [--wipe-ppm P]
 *                 [--pause-ppm P] [--partition-ppm P] [--member-ppm P]
 *   build/nodesim --seed S [--verbose]     replay one seed exactly
 * With --jobs 2 (default) the seeds are split between two forked workers;
 * each seed's run is independent and deterministic.
 * Replaying a seed, these variables add detail: NODESIM_TRACE_AUTH=1 (every
 * peer link brought up or dropped), NODESIM_TRACE_MSGS=1 (every Raft message
 * delivered), NODESIM_DEBUG=1 (the nodes' log at debug level); without
 * --verbose, NODESIM_LOG=file keeps the nodes' log.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "history.h"
#include "nodesim.h"

static volatile uint64_t current_seed;

static void on_fatal(int sig)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg,
                     "nodesim: CRASHED (signal %d) on seed %llu; replay: build/nodesim --seed "
                     "%llu --verbose\n",
                     sig, (unsigned long long)current_seed, (unsigned long long)current_seed);
    if (n > 0 && write(1, msg, (size_t)n) < 0) _exit(3);
    _exit(1);
}

/* The command that replays o's seed: the options that differ from the
 * defaults, then the seed. */
static void print_replay(const struct nodesim_opts *o)
{
    const struct nodesim_opts d = NODESIM_OPTS_DEFAULT;
    printf("nodesim: replay with: build/nodesim");
    if (o->nodes != d.nodes) printf(" --nodes %d", o->nodes);
    if (o->run_ms != d.run_ms) printf(" --ms %lld", (long long)o->run_ms);
    if (o->kill_ppm != d.kill_ppm) printf(" --kill-ppm %u", o->kill_ppm);
    if (o->power_loss_ppm != d.power_loss_ppm) printf(" --power-loss-ppm %u", o->power_loss_ppm);
    if (o->damage_ppm != d.damage_ppm) printf(" --damage-ppm %u", o->damage_ppm);
    if (o->wipe_ppm != d.wipe_ppm) printf(" --wipe-ppm %u", o->wipe_ppm);
    if (o->pause_ppm != d.pause_ppm) printf(" --pause-ppm %u", o->pause_ppm);
    if (o->partition_ppm != d.partition_ppm) printf(" --partition-ppm %u", o->partition_ppm);
    if (o->member_ppm != d.member_ppm) printf(" --member-ppm %u", o->member_ppm);
    printf(" --seed %llu --verbose\n", (unsigned long long)o->seed);
}

static int run_range(struct nodesim_opts o, uint64_t first, uint64_t count, uint64_t stride)
{
    struct nodesim_stats st;
    memset(&st, 0, sizeof st);
    char err[2048];
    for (uint64_t k = 0; k < count; k += stride) {
        o.seed = first + k;
        current_seed = o.seed;
        if (nodesim_run(&o, &st, err, sizeof err) != 0) {
            printf("nodesim: FAILED seed %llu: %s\n", (unsigned long long)o.seed, err);
            print_replay(&o);
            fflush(stdout);
            return 1;
        }
    }
    printf("nodesim: %sops %llu (writes acknowledged %llu, reads %llu; follower read rounds %llu, "
           "%llu not confirmed), kills %llu (inside a "
           "write %llu, power losses %llu dropping %llu unsynced transactions, damaged WALs %llu "
           "dropping %llu), wipes %llu, pauses %llu, partitions %llu, expired keys proposed %llu, "
           "snapshots taken %llu, installed %llu, increments %llu, members added %llu, "
           "removed %llu, leadership transfers %llu, jobs pushed %llu, handed out %llu, "
           "done %llu, msgs %llu\n",
           count == 1 ? "" : "worker totals: ", (unsigned long long)st.ops,
           (unsigned long long)st.writes_ok, (unsigned long long)st.reads_ok,
           (unsigned long long)st.follower_reads, (unsigned long long)st.follower_reads_failed,
           (unsigned long long)st.crashes, (unsigned long long)st.save_crashes,
           (unsigned long long)st.power_losses, (unsigned long long)st.power_lost_txs,
           (unsigned long long)st.damages, (unsigned long long)st.damaged_txs,
           (unsigned long long)st.wipes, (unsigned long long)st.pauses,
           (unsigned long long)st.partitions, (unsigned long long)st.expiry_keys,
           (unsigned long long)st.snapshots_taken, (unsigned long long)st.snapshots_installed,
           (unsigned long long)st.increments, (unsigned long long)st.members_added,
           (unsigned long long)st.members_removed, (unsigned long long)st.transfers,
           (unsigned long long)st.jobs_pushed, (unsigned long long)st.jobs_handed,
           (unsigned long long)st.jobs_done, (unsigned long long)st.msgs);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct nodesim_opts o = NODESIM_OPTS_DEFAULT;
    uint64_t seeds = 0, first = 1;
    int jobs = 2, one = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seeds") && v) {
            seeds = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--first") && v) {
            first = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--seed") && v) {
            o.seed = strtoull(v, NULL, 10);
            one = 1;
            i++;
        } else if (!strcmp(a, "--nodes") && v) {
            o.nodes = atoi(v);
            i++;
        } else if (!strcmp(a, "--ms") && v) {
            o.run_ms = atoll(v);
            i++;
        } else if (!strcmp(a, "--jobs") && v) {
            jobs = atoi(v);
            i++;
        } else if (!strcmp(a, "--partition-ppm") && v) {
            o.partition_ppm = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--pause-ppm") && v) {
            o.pause_ppm = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--kill-ppm") && v) {
            o.kill_ppm = o.save_kill_ppm = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--power-loss-ppm") && v) {
            o.power_loss_ppm = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--damage-ppm") && v) {
            o.damage_ppm = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--wipe-ppm") && v) {
            o.wipe_ppm = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--member-ppm") && v) {
            o.member_ppm = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--no-wipes")) {
            o.wipe_ppm = 0;
        } else if (!strcmp(a, "--verbose")) {
            o.verbose = 1;
        } else {
            fprintf(stderr, "usage: nodesim --seeds N [--first S] [--nodes K] [--ms T] "
                            "[--no-wipes] [--kill-ppm P] [--power-loss-ppm P] [--damage-ppm P] "
                            "[--wipe-ppm P] [--pause-ppm P] [--partition-ppm P] [--member-ppm P] "
                            "[--jobs J] | --seed S [--verbose]\n");
            return 2;
        }
    }
    if (o.nodes < 1 || o.nodes > 5) {
        fprintf(stderr, "nodesim: --nodes 1..5\n");
        return 2;
    }
    signal(SIGSEGV, on_fatal);
    signal(SIGABRT, on_fatal);
    signal(SIGBUS, on_fatal);
    signal(SIGFPE, on_fatal);
    log_init(o.verbose ? (getenv("NODESIM_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_NOTICE)
                       : LOG_LEVEL_WARNING,
             o.verbose ? NULL : (getenv("NODESIM_LOG") ? getenv("NODESIM_LOG") : "/dev/null"));
    if (o.verbose) setvbuf(stdout, NULL, _IONBF, 0); /* in order with the log lines */
    if (h_selftest() != 0) return 1;
    if (one) return run_range(o, o.seed, 1, 1);
    if (!seeds) seeds = 100;
    if (jobs < 1) jobs = 1;
    pid_t pids[16];
    int n = 0;
    for (int j = 0; j < jobs && j < 16; j++) {
        pid_t p = fork();
        if (p == 0)
            _exit(run_range(o, first + (uint64_t)j, seeds > (uint64_t)j ? seeds - (uint64_t)j : 0,
                            (uint64_t)jobs));
        if (p > 0) pids[n++] = p;
    }
    int rc = 0;
    for (int j = 0; j < n; j++) {
        int status;
        if (waitpid(pids[j], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = 1;
    }
    printf("nodesim: %llu seeds from %llu: %s\n", (unsigned long long)seeds,
           (unsigned long long)first, rc ? "FAILED" : "ok");
    return rc;
}
