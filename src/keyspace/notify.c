/*
 * src/keyspace/notify.c - keyspace notifications' flags and messages (see notify.h).
 */
#include "keyspace/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Classes by their character, in the order of Redis's canonical text:
 * the classes of A and n, then K, E, m. */
static const struct {
    char ch;
    unsigned flag;
} classes[] = {
    {'g', NOTIFY_GENERIC},  {'$', NOTIFY_STRING},   {'l', NOTIFY_LIST},    {'s', NOTIFY_SET},
    {'h', NOTIFY_HASH},     {'z', NOTIFY_ZSET},     {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED},
    {'t', NOTIFY_STREAM},   {'d', NOTIFY_MODULE},   {'n', NOTIFY_NEW},     {'K', NOTIFY_KEYSPACE},
    {'E', NOTIFY_KEYEVENT}, {'m', NOTIFY_KEY_MISS},
};
#define N_CLASSES (sizeof classes / sizeof classes[0])
/* Where the text resumes after "A": K, E, m. As Redis's text, "A" drops
 * 'n' ("An" reads back "A", though n stays set). */
#define AFTER_A 11

int notify_flags_parse(const char *s, size_t len)
{
    unsigned flags = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == 'A') {
            flags |= NOTIFY_ALL;
            continue;
        }
        size_t k = 0;
        while (k < N_CLASSES && classes[k].ch != s[i])
            k++;
        if (k == N_CLASSES) return -1;
        flags |= classes[k].flag;
    }
    return (int)flags;
}

size_t notify_flags_format(unsigned flags, char *buf)
{
    size_t n = 0, k = 0;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        buf[n++] = 'A';
        k = AFTER_A;
    }
    for (; k < N_CLASSES; k++)
        if (flags & classes[k].flag) buf[n++] = classes[k].ch;
    buf[n] = '\0';
    return n;
}

void notify_set(struct notify *n, unsigned flags)
{
    n->flags = flags;
    n->mask = (flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) ? flags : 0;
}

/* Channels up to this long are built on the stack; a longer key's
 * channel is allocated for the call. */
#define CHANNEL_STACK_BYTES 256

static void publish(const struct notify *n, const char *prefix, size_t plen, const char *name,
                    size_t nlen, const char *msg, size_t mlen)
{
    char stack[CHANNEL_STACK_BYTES];
    size_t clen = plen + nlen;
    char *ch = clen <= sizeof stack ? stack : util_xmalloc(clen);
    memcpy(ch, prefix, plen);
    memcpy(ch + plen, name, nlen);
    n->publish(n->ud, ch, clen, msg, mlen);
    if (ch != stack) free(ch);
}

void notify_fire(const struct notify *n, int db, unsigned type, const char *event, const char *key,
                 size_t klen)
{
    if (!(n->mask & type)) return;
    char prefix[40];
    size_t elen = strlen(event);
    if (n->mask & NOTIFY_KEYSPACE) {
        int plen = snprintf(prefix, sizeof prefix, "__keyspace@%d__:", db);
        publish(n, prefix, (size_t)plen, key, klen, event, elen);
    }
    if (n->mask & NOTIFY_KEYEVENT) {
        int plen = snprintf(prefix, sizeof prefix, "__keyevent@%d__:", db);
        publish(n, prefix, (size_t)plen, event, elen, key, klen);
    }
}
