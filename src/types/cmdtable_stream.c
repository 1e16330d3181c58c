/*
 * src/types/cmdtable_stream.c - the stream commands' rows of the command table
 * (see cmd.h for the columns; arity, flags, keys and ACL categories are
 * Redis 7.0's). Handlers: src/types/t_stream_cmd.c (entries), src/types/t_stream_read.c
 * (XREAD, XREADGROUP), src/types/t_stream_group.c (consumer groups),
 * src/types/t_stream_info.c (XINFO).
 */
#include "cmd/cmd.h"
#include "types/t_stream.h"
#include "cmd/rows.h"

#define TRIM "[MAXLEN|MINID:strategy [=|~]:operator threshold [LIMIT count]]:trim "

static const struct command xinfo_subcommands[] = {
    {"xinfo|stream", -3, R, 2, 2, 1, cmd_xinfo_stream, "stream", "5.0.0",
     "Get information about a stream", "key [FULL [COUNT count]]:full_block", "read stream slow",
     NULL, .key_flags = "RO access"},
    {"xinfo|groups", 3, R, 2, 2, 1, cmd_xinfo_groups, "stream", "5.0.0",
     "List the consumer groups of a stream", "key", "read stream slow", NULL,
     .key_flags = "RO access"},
    {"xinfo|consumers", 4, R, 2, 2, 1, cmd_xinfo_consumers, "stream", "5.0.0",
     "List the consumers in a consumer group", "key groupname", "read stream slow", NULL,
     .key_flags = "RO access"},
    {"xinfo|help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, cmd_xinfo_help, "stream", "5.0.0",
     "Show helpful text about the different subcommands", NULL, "stream slow", NULL},
    CMD_ROWS_END,
};

static const struct command xgroup_subcommands[] = {
    {"xgroup|create", -5, W | OOM, 2, 2, 1, cmd_xgroup_create, "stream", "5.0.0",
     "Create a consumer group.", "key groupname <id|$>:id [MKSTREAM] [ENTRIESREAD entries_read]",
     "write stream slow", NULL, .key_flags = "RW insert"},
    {"xgroup|setid", -5, W, 2, 2, 1, cmd_xgroup_setid, "stream", "5.0.0",
     "Set a consumer group to an arbitrary last delivered ID value.",
     "key groupname <id|$>:id [ENTRIESREAD entries_read]", "write stream slow", NULL,
     .key_flags = "RW update"},
    {"xgroup|destroy", 4, W, 2, 2, 1, cmd_xgroup_destroy, "stream", "5.0.0",
     "Destroy a consumer group.", "key groupname", "write stream slow", NULL,
     .key_flags = "RW delete"},
    {"xgroup|createconsumer", 5, W | OOM, 2, 2, 1, cmd_xgroup_createconsumer, "stream", "6.2.0",
     "Create a consumer in a consumer group.", "key groupname consumername", "write stream slow",
     NULL, .key_flags = "RW insert"},
    {"xgroup|delconsumer", 5, W, 2, 2, 1, cmd_xgroup_delconsumer, "stream", "5.0.0",
     "Delete a consumer from a consumer group.", "key groupname consumername", "write stream slow",
     NULL, .key_flags = "RW delete"},
    {"xgroup|help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, cmd_xgroup_help, "stream", "5.0.0",
     "Show helpful text about the different subcommands", NULL, "stream slow", NULL},
    CMD_ROWS_END,
};

const struct command cmd_table_stream[] = {
    {"xadd", -5, W | OOM | F, 1, 1, 1, cmd_xadd, "stream", "5.0.0",
     "Appends a new entry to a stream",
     "key [NOMKSTREAM] " TRIM "<*|id>:id_or_auto field value [field value ...]",
     "write stream fast", NULL, .key_flags = "RW update"},
    {"xlen", 2, R | F, 1, 1, 1, cmd_xlen, "stream", "5.0.0",
     "Return the number of entries in a stream", "key", "read stream fast", NULL,
     .key_flags = "RO"},
    {"xrange", -4, R, 1, 1, 1, cmd_xrange, "stream", "5.0.0",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval",
     "key start end [COUNT count]", "read stream slow", NULL, .key_flags = "RO access"},
    {"xrevrange", -4, R, 1, 1, 1, cmd_xrevrange, "stream", "5.0.0",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval, in "
     "reverse order (from greater to smaller IDs) compared to XRANGE",
     "key end start [COUNT count]", "read stream slow", NULL, .key_flags = "RO access"},
    {"xdel", -3, W | F, 1, 1, 1, cmd_xdel, "stream", "5.0.0",
     "Removes the specified entries from the stream. Returns the number of items actually "
     "deleted, that may be different from the number of IDs passed in case certain IDs do not "
     "exist.",
     "key id [id ...]", "write stream fast", NULL, .key_flags = "RW delete"},
    {"xtrim", -4, W, 1, 1, 1, cmd_xtrim, "stream", "5.0.0",
     "Trims the stream to (approximately if '~' is passed) a certain size",
     "key <MAXLEN|MINID>:strategy [=|~]:operator threshold [LIMIT count]", "write stream slow",
     NULL, .key_flags = "RW delete"},
    {"xsetid", -3, W | OOM | F, 1, 1, 1, cmd_xsetid, "stream", "5.0.0",
     "An internal command for replicating stream values",
     "key last-id [ENTRIESADDED entries_added] [MAXDELETEDID max_deleted_entry_id]",
     "write stream fast", NULL, .key_flags = "RW update"},
    /* Blocking only with BLOCK (t_stream_xread_call_flags): otherwise a read. */
    {"xread", -4, R | CMD_BLOCKING, 0, 0, 0, cmd_xread, "stream", "5.0.0",
     "Return never seen elements in multiple streams, with IDs greater than the ones reported by "
     "the caller for each stream. Can block.",
     "[COUNT count] [BLOCK milliseconds:integer] STREAMS key [key ...] id [id ...]",
     "read stream slow blocking", NULL, .getkeys = t_stream_xread_keys,
     .call_flags = t_stream_xread_call_flags, .key_flags = "RO access"},
    /* A write (the group changes); blocking only with BLOCK. */
    {"xreadgroup", -7, W | CMD_BLOCKING, 0, 0, 0, cmd_xreadgroup, "stream", "5.0.0",
     "Return new entries from a stream using a consumer group, or access the history of the "
     "pending entries for a given consumer. Can block.",
     "GROUP group consumer [COUNT count] [BLOCK milliseconds:integer] [NOACK] STREAMS key "
     "[key ...] id [id ...]",
     "write stream slow blocking", NULL, .getkeys = t_stream_xread_keys,
     .call_flags = t_stream_xread_call_flags, .key_flags = "RO access"},
    {"xack", -4, W | F, 1, 1, 1, cmd_xack, "stream", "5.0.0",
     "Marks a pending message as correctly processed, effectively removing it from the pending "
     "entries list of the consumer group. Return value of the command is the number of messages "
     "successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
     "key group id [id ...]", "write stream fast", NULL, .key_flags = "RW update"},
    {"xpending", -3, R, 1, 1, 1, cmd_xpending, "stream", "5.0.0",
     "Return information and entries from a stream consumer group pending entries list, that "
     "are messages fetched but never acknowledged.",
     "key group [[IDLE min-idle-time] start end count [consumer]]:filters", "read stream slow",
     NULL, .key_flags = "RO access"},
    {"xclaim", -6, W | F, 1, 1, 1, cmd_xclaim, "stream", "5.0.0",
     "Changes (or acquires) ownership of a message in a consumer group, as if the message was "
     "delivered to the specified consumer.",
     "key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] "
     "[RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]",
     "write stream fast", NULL, .key_flags = "RW update"},
    {"xautoclaim", -6, W | F, 1, 1, 1, cmd_xautoclaim, "stream", "6.2.0",
     "Changes (or acquires) ownership of messages in a consumer group, as if the messages were "
     "delivered to the specified consumer.",
     "key group consumer min-idle-time start [COUNT count] [JUSTID]", "write stream fast", NULL,
     .key_flags = "RW delete"},
    {"xgroup", -2, CMD_CONTAINER, 0, 0, 0, NULL, "stream", "5.0.0",
     "A container for consumer groups commands", NULL, "slow", xgroup_subcommands},
    {"xinfo", -2, CMD_CONTAINER, 0, 0, 0, NULL, "stream", "5.0.0",
     "A container for stream introspection commands", NULL, "slow", xinfo_subcommands},
    CMD_ROWS_END,
};
