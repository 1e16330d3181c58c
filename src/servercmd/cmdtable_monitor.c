/*
 * src/servercmd/cmdtable_monitor.c - SLOWLOG's and LATENCY's rows of the command table
 * (see cmd.h for the columns; Redis 7.0's arity, flags and ACL categories).
 * Handlers: src/servercmd/cmd_monitor.c.
 */
#include "cmd/cmd.h"
#include "servercmd/cmd_monitor.h"
#include "cmd/rows.h"

#define ADM_LS (CMD_ADMIN | CMD_LOADING | CMD_STALE)
#define ADM_NLS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define END                                                                                        \
    {                                                                                              \
        NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL                              \
    }

static const struct command slowlog_subcommands[] = {
    {"slowlog|get", -2, ADM_LS | CMD_RANDOM, 0, 0, 0, cmd_slowlog_get, "server", "2.2.12",
     "Returns the slow log's entries.", "[count:integer]", "admin slow dangerous", NULL},
    {"slowlog|len", 2, ADM_LS | CMD_RANDOM, 0, 0, 0, cmd_slowlog_len, "server", "2.2.12",
     "Returns the number of entries in the slow log.", NULL, "admin slow dangerous", NULL},
    {"slowlog|reset", 2, ADM_LS, 0, 0, 0, cmd_slowlog_reset, "server", "2.2.12",
     "Clears all entries from the slow log.", NULL, "admin slow dangerous", NULL},
    {"slowlog|help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, cmd_slowlog_help, "server", "6.2.0",
     "Show helpful text about the different subcommands", NULL, "slow", NULL},
    END,
};

static const struct command latency_subcommands[] = {
    {"latency|doctor", 2, ADM_NLS, 0, 0, 0, cmd_latency_doctor, "server", "2.8.13",
     "Returns a human-readable latency analysis report.", NULL, "admin slow dangerous", NULL},
    {"latency|graph", 3, ADM_NLS, 0, 0, 0, cmd_latency_graph, "server", "2.8.13",
     "Returns a latency graph for an event.", "event:string", "admin slow dangerous", NULL},
    {"latency|history", 3, ADM_NLS, 0, 0, 0, cmd_latency_history, "server", "2.8.13",
     "Returns timestamp-latency samples for an event.", "event:string", "admin slow dangerous",
     NULL},
    {"latency|latest", 2, ADM_NLS, 0, 0, 0, cmd_latency_latest, "server", "2.8.13",
     "Returns the latest latency samples for all events.", NULL, "admin slow dangerous", NULL},
    {"latency|reset", -2, ADM_NLS, 0, 0, 0, cmd_latency_reset, "server", "2.8.13",
     "Resets the latency data for one or more events.", "[event:string [event:string ...]]",
     "admin slow dangerous", NULL},
    {"latency|histogram", -2, ADM_NLS, 0, 0, 0, cmd_latency_histogram, "server", "7.0.0",
     "Returns the cumulative distribution of latencies of a subset or all commands.",
     "[command:string [command:string ...]]", "admin slow dangerous", NULL},
    {"latency|help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, cmd_latency_help, "server", "2.8.13",
     "Returns helpful text about the different subcommands.", NULL, "slow", NULL},
    END,
};

const struct command cmd_table_monitor[] = {
    {"slowlog", -2, CMD_CONTAINER, 0, 0, 0, NULL, "server", "2.2.12",
     "A container for slow log commands.", NULL, "slow", slowlog_subcommands},
    {"latency", -2, CMD_CONTAINER, 0, 0, 0, NULL, "server", "2.8.13",
     "A container for latency diagnostics commands.", NULL, "slow", latency_subcommands},
    END,
};
