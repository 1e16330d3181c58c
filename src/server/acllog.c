/*
 * src/server/acllog.c - ACL LOG (src/server/acllog.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "raft/raft_assert.h"
#include "server/acllog.h"

void acllog_init(struct acllog *l)
{
    fifo_init(&l->entries, sizeof(struct acllog_entry));
}

static void entry_free(struct acllog_entry *e)
{
    free(e->object);
    free(e->username);
    free(e->cinfo);
}

void acllog_reset(struct acllog *l)
{
    for (size_t i = 0; i < fifo_len(&l->entries); i++)
        entry_free(fifo_at(&l->entries, i));
    fifo_truncate(&l->entries, 0);
}

void acllog_free(struct acllog *l)
{
    acllog_reset(l);
    fifo_free(&l->entries);
}

size_t acllog_count(const struct acllog *l)
{
    return fifo_len(&l->entries);
}

const struct acllog_entry *acllog_at(const struct acllog *l, size_t i)
{
    ASSERT(i < fifo_len(&l->entries));
    return fifo_at(&l->entries, fifo_len(&l->entries) - 1 - i);
}

void acllog_trim(struct acllog *l, long long max_len)
{
    while (fifo_len(&l->entries) > 0 && (long long)fifo_len(&l->entries) > max_len) {
        entry_free(fifo_at(&l->entries, 0));
        fifo_pop(&l->entries);
    }
}

/* The newest entries' index (from the oldest) an event counts into, or -1. */
static long find_like(struct acllog *l, int reason, int context, const char *object,
                      size_t object_len, const char *username, size_t username_len, int64_t now)
{
    size_t n = fifo_len(&l->entries);
    for (size_t k = 0; k < ACLLOG_SCAN && k < n; k++) {
        const struct acllog_entry *e = fifo_at(&l->entries, n - 1 - k);
        int64_t delta = e->ctime_ms > now ? e->ctime_ms - now : now - e->ctime_ms;
        if (e->reason == reason && e->context == context && delta <= ACLLOG_GROUP_MS &&
            e->object_len == object_len && !memcmp(e->object, object, object_len) &&
            e->username_len == username_len && !memcmp(e->username, username, username_len))
            return (long)(n - 1 - k);
    }
    return -1;
}

void acllog_add(struct acllog *l, int reason, int context, const char *object, size_t object_len,
                const char *username, size_t username_len, const char *cinfo, int64_t now_ms,
                long long max_len)
{
    long at = find_like(l, reason, context, object, object_len, username, username_len, now_ms);
    if (at >= 0) { /* it becomes the newest */
        size_t n = fifo_len(&l->entries);
        struct acllog_entry e = *(struct acllog_entry *)fifo_at(&l->entries, (size_t)at);
        for (size_t i = (size_t)at; i + 1 < n; i++)
            *(struct acllog_entry *)fifo_at(&l->entries, i) =
                *(struct acllog_entry *)fifo_at(&l->entries, i + 1);
        e.count++;
        e.ctime_ms = now_ms;
        free(e.cinfo);
        e.cinfo = util_xmemdup(cinfo, strlen(cinfo));
        *(struct acllog_entry *)fifo_at(&l->entries, n - 1) = e;
        return;
    }
    struct acllog_entry *e = fifo_push(&l->entries);
    *e = (struct acllog_entry){
        .count = 1,
        .reason = reason,
        .context = context,
        .object = util_xmemdup(object, object_len),
        .object_len = object_len,
        .username = util_xmemdup(username, username_len),
        .username_len = username_len,
        .cinfo = util_xmemdup(cinfo, strlen(cinfo)),
        .ctime_ms = now_ms,
    };
    acllog_trim(l, max_len);
}
