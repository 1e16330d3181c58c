/*
 * src/servercmd/cmd_monitor.h - SLOWLOG and LATENCY (src/servercmd/cmd_monitor.c), the reading
 * side of src/cmd/monitor.h, and their rows of the command table
 * (src/servercmd/cmdtable_monitor.c).
 */
#ifndef CMD_MONITOR_H
#define CMD_MONITOR_H

#include "cmd/cmd.h"

extern const struct command cmd_table_monitor[];

cmd_proc cmd_slowlog_get, cmd_slowlog_len, cmd_slowlog_reset, cmd_slowlog_help, cmd_latency_latest,
    cmd_latency_history, cmd_latency_reset, cmd_latency_graph, cmd_latency_doctor,
    cmd_latency_histogram, cmd_latency_help;

#endif
