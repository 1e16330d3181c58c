/*
 * src/cmd/monitor.h - what a node measures about the commands it runs, for
 * operators: per-command counters and latency histograms (INFO
 * commandstats and latencystats, LATENCY HISTOGRAM), error replies by code
 * (INFO errorstats, total_error_replies), the slow log (SLOWLOG) and the
 * latency monitor's events (LATENCY LATEST / HISTORY / GRAPH / DOCTOR), all
 * as Redis 7.0 keeps them.
 *
 * What a command's duration is: the time its handler runs where it
 * executes. A read runs at once on the node that serves it; a write runs
 * when the state machine applies its log entry (on the leader, the time
 * measured from the end of the command before it in the same entry, so one
 * clock read per command), never the time it waited for the quorum or the
 * fsync (the latency monitor's raft-fsync event measures those).
 *
 * Latency monitor events (LATENCY LATEST), each sampled when it took at
 * least latency-monitor-threshold ms (0: the monitor is off):
 *   command       a command without Redis's "fast" flag
 *   fast-command  a command with it (GET, SET, ...)
 *   raft-fsync    one commit of the Raft log to disk (its fsyncs)
 *   expire-cycle  one active expiry cycle (finding expired keys to delete)
 *
 * One struct monitor per server, embedded in it; single-threaded. Every
 * buffer is bounded: MONITOR_ERROR_CODES_MAX error codes (as Redis: new
 * codes past it are not listed, the total still counts), slowlog-max-len
 * entries of at most SLOWLOG_ARGS_MAX arguments of SLOWLOG_ARG_BYTES_MAX
 * bytes, MONITOR_EVENTS_MAX events of MONITOR_SAMPLES samples each, one
 * histogram (a few KB) per command ever timed.
 */
#ifndef MONITOR_H
#define MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "resp/parser.h"

/* --------------------------------------------------------- histograms */

/* A latency histogram over nanoseconds, log-linear: values below 16 exact,
 * then each power of two split into 16 buckets (within 6.25%), up to
 * 2^MONITOR_HIST_EXP_MAX ns (larger values count in the last bucket). */
#define MONITOR_HIST_EXP_MAX 40
#define MONITOR_HIST_BUCKETS (16 + (MONITOR_HIST_EXP_MAX - 4) * 16)
struct monitor_hist {
    uint64_t total;
    uint32_t counts[MONITOR_HIST_BUCKETS];
};
void monitor_hist_record(struct monitor_hist *h, uint64_t ns);
/* The value (ns) at percentile p (0..100): the highest value of the bucket
 * holding the ceil(p% of total)-th value (at least the first); 0 when
 * empty. */
uint64_t monitor_hist_percentile(const struct monitor_hist *h, double p);
/* How many values are below 2^exp ns (a bucket boundary); at
 * MONITOR_HIST_EXP_MAX, every value (those past the top included). */
uint64_t monitor_hist_below_pow2(const struct monitor_hist *h, int exp);

/* ------------------------------------------------------------ commands */

struct cmd_stats {
    uint64_t calls, usec, rejected_calls, failed_calls;
    struct monitor_hist *hist; /* owned; NULL until the first timed call */
};

/* ------------------------------------------------------------ slow log */

#define SLOWLOG_ARGS_MAX 32       /* argv entries kept, the last says how many more */
#define SLOWLOG_ARG_BYTES_MAX 128 /* bytes kept of one argument */
#define SLOWLOG_NAME_MAX 64       /* client name and address bytes kept */
struct slowlog_entry {
    uint64_t id;
    int64_t time_s;
    int64_t duration_us;
    int argc;
    struct resp_arg *argv; /* owned, with the bytes each points to */
    char addr[SLOWLOG_NAME_MAX];
    char name[SLOWLOG_NAME_MAX];
};

/* -------------------------------------------------- latency monitor */

#define MONITOR_EVENTS_MAX 16
#define MONITOR_SAMPLES 160 /* as Redis: one per second at most, the last 160 */
#define MONITOR_EVENT_NAME_MAX 32
struct monitor_sample {
    int64_t time_s;
    uint32_t ms;
};
struct monitor_event {
    char name[MONITOR_EVENT_NAME_MAX]; /* "" when the slot is free */
    struct monitor_sample samples[MONITOR_SAMPLES];
    int next; /* where the next sample goes */
    uint32_t max_ms;
};

/* ------------------------------------------------------------- errors */

#define MONITOR_ERROR_CODES_MAX 128 /* Redis's limit on errorstats' codes */
#define MONITOR_ERROR_CODE_MAX 32   /* a code is the error's first word, up to this */
struct monitor_error {
    char code[MONITOR_ERROR_CODE_MAX + 1];
    uint64_t count;
};

/* --------------------------------------------------------------- all */

#define MONITOR_PERCENTILES_MAX 16
struct monitor {
    struct cmd_stats *cmds; /* indexed by cmd_id(); owned */
    int ncmds;
    /* settings (src/config/config.h's directives, copied by the server on change) */
    long long slower_than_us; /* slowlog-log-slower-than; < 0: off */
    long long slowlog_max_len;
    long long threshold_ms; /* latency-monitor-threshold; 0: off */
    int tracking;           /* latency-tracking */
    /* the slow log: a ring of slowlog_max_len entries, newest at head - 1 */
    struct slowlog_entry *slowlog;
    size_t slowlog_cap, slowlog_len, slowlog_head;
    uint64_t slowlog_next_id;
    struct monitor_event events[MONITOR_EVENTS_MAX];
    struct monitor_error errors[MONITOR_ERROR_CODES_MAX];
    int nerrors;
    uint64_t total_error_replies;
};

/* Allocates the per-command table (ncmds entries) and an empty log; the
 * slow log, the latency monitor and tracking are off. */
void monitor_init(struct monitor *m, int ncmds);
/* Takes the settings of c (slowlog-*, latency-*): at start and whenever
 * CONFIG SET changes one. */
struct config;
void monitor_configure(struct monitor *m, const struct config *c);
void monitor_free(struct monitor *m);

/* Who ran a timed call: its client's address and name ("" for none). */
struct monitor_caller {
    const char *addr, *name;
};

/* What monitor_call() is told about a call. */
enum monitor_call_flags {
    MONITOR_FAST = 1u << 0,       /* Redis's "fast" flag: the fast-command event */
    MONITOR_NO_SLOWLOG = 1u << 1, /* never in the slow log (EXEC: its commands are) */
    MONITOR_BLOCKED = 1u << 2,    /* it blocked: counted when it is served */
    MONITOR_FAILED = 1u << 3,     /* its reply was an error */
};

/*
 * Records one call of command id (argv as the client sent it, argv[0] its
 * name) that took duration_us where it ran: calls and time, the histogram,
 * the slow log and the command events. caller may be NULL (nobody waits
 * for the reply). Secrets in the arguments (AUTH's, HELLO's AUTH, CONFIG
 * SET of requirepass) are logged as "(redacted)".
 */
void monitor_call(struct monitor *m, int id, unsigned flags, int argc, const struct resp_arg *argv,
                  int64_t duration_us, const struct monitor_caller *caller);
/* A call refused before it ran (arity, authentication, OOM...). */
void monitor_rejected(struct monitor *m, int id);

/* Counts one error reply, msg its text without '-' (its code is the first
 * word when it has a space in its first 32 bytes, else "ERR"). */
void monitor_error(struct monitor *m, const char *msg, size_t len);
/* A resp_out error hook (resp/writer.h) counting into the monitor ud. */
void monitor_error_hook(void *ud, const char *msg, size_t len);

/* Adds a sample to event name when ms reaches latency-monitor-threshold. */
void monitor_event(struct monitor *m, const char *name, int64_t ms);
/* The event named (len bytes), or NULL. */
const struct monitor_event *monitor_event_find(const struct monitor *m, const char *name,
                                               size_t len);
/* The event's latest sample (the one before next). */
const struct monitor_sample *monitor_event_latest(const struct monitor_event *e);
/* Forgets events: every one (names NULL) or those named; returns how many. */
int monitor_events_reset(struct monitor *m, int n, const struct resp_arg *names);

/* CONFIG RESETSTAT: command counters, histograms and error counts. */
void monitor_reset_stats(struct monitor *m);

/* 1 if argv[i] (i >= 1: a command's name is never one) is a secret that
 * the slow log and MONITOR show as "(redacted)", as Redis 7.0 does: every
 * argument of AUTH and of RAFT.AUTH (the peers' secret, and a wrong guess
 * at it), HELLO's AUTH username and password, and the value CONFIG SET
 * gives requirepass, raft-secret or masterauth. */
int monitor_arg_secret(int argc, const struct resp_arg *argv, int i);

/* Adds a call to the slow log (monitor_call() decides when). */
void monitor_slowlog_push(struct monitor *m, int argc, const struct resp_arg *argv,
                          int64_t duration_us, const struct monitor_caller *caller);
/* The slow log: entries newest first (i = 0 the newest). */
const struct slowlog_entry *monitor_slowlog_at(const struct monitor *m, size_t i);
void monitor_slowlog_reset(struct monitor *m);
/* Applies a new slowlog-max-len, dropping the oldest entries past it. */
void monitor_slowlog_resize(struct monitor *m, long long max_len);

#endif
