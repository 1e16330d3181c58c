/*
 * src/server/acllog.h - ACL LOG: the node's record of failed AUTHs and of
 * commands, keys and channels its ACL users were denied (Redis 7.0's),
 * newest first. An event like one of the ten newest (same reason,
 * context, object and user, within ACLLOG_GROUP_MS of it) counts into
 * that entry instead of adding one. acllog-max-len bounds the entries;
 * each node keeps its own (denials happen where the client is).
 */
#ifndef ACLLOG_H
#define ACLLOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/fifo.h"

#define ACLLOG_GROUP_MS 60000 /* Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA */
#define ACLLOG_SCAN 10        /* newest entries an event may count into */

enum acllog_context {
    ACLLOG_TOPLEVEL = 0,
    ACLLOG_LUA = 1,
    ACLLOG_MULTI = 2,
};

struct acllog_entry {
    uint64_t count;
    int reason;  /* enum acl_result (src/acl/acl.h) */
    int context; /* enum acllog_context */
    char *object, *username, *cinfo;
    size_t object_len, username_len;
    int64_t ctime_ms; /* the latest event's */
};

struct acllog {
    struct fifo entries; /* struct acllog_entry, oldest first */
};

void acllog_init(struct acllog *l);
void acllog_free(struct acllog *l);
/* Records an event at now_ms (wall clock); max_len: acllog-max-len. */
void acllog_add(struct acllog *l, int reason, int context, const char *object, size_t object_len,
                const char *username, size_t username_len, const char *cinfo, int64_t now_ms,
                long long max_len);
size_t acllog_count(const struct acllog *l);
/* The i-th newest entry (i < acllog_count()). */
const struct acllog_entry *acllog_at(const struct acllog *l, size_t i);
void acllog_reset(struct acllog *l);
/* Drops the oldest entries past max_len (CONFIG SET acllog-max-len). */
void acllog_trim(struct acllog *l, long long max_len);

#endif
