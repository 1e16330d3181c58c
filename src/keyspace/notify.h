/*
 * src/keyspace/notify.h - keyspace notifications (Redis 7.0's notify-keyspace-events):
 * the event classes, their text form, and the formatting of one event into
 * its two pub/sub messages.
 *
 * An event is (class, name, key): a write command that changed key says
 * which. It becomes up to two messages, as in Redis:
 *   channel "__keyspace@<db>__:<key>", message "<name>"   (class K enabled)
 *   channel "__keyevent@<db>__:<name>", message "<key>"   (class E enabled)
 * This module knows no pub/sub: it hands each message to the publish
 * callback its owner set (src/server/replica.c delivers it to this node's
 * subscribers only). Every node applies every log entry and fires the
 * events of each write itself, so no event is ever sent to a peer.
 *
 * Who fires: the handlers of write commands, in the state machine's apply
 * path only (src/cmd/cmd.h's cmd_notify, gated by cmd_ctx.notify_mask, which
 * is 0 outside the apply path), and the keyspace's event hook ("new",
 * "expired"). Never a read: the classes 'm' (keymiss) and 'e' (evicted),
 * and 'd' and 't' (modules, streams), are accepted and shown like Redis's
 * but nothing here fires them.
 *
 * Cost: struct notify.mask is the classes that can produce a message at
 * all (0 unless K or E is on), so a disabled event costs one test of it.
 * Single-threaded; no state beyond struct notify.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>

/* Redis's bit values, so the text forms round-trip exactly as its. */
enum notify_class {
    NOTIFY_KEYSPACE = 1u << 0,  /* K */
    NOTIFY_KEYEVENT = 1u << 1,  /* E */
    NOTIFY_GENERIC = 1u << 2,   /* g */
    NOTIFY_STRING = 1u << 3,    /* $ */
    NOTIFY_LIST = 1u << 4,      /* l */
    NOTIFY_SET = 1u << 5,       /* s */
    NOTIFY_HASH = 1u << 6,      /* h */
    NOTIFY_ZSET = 1u << 7,      /* z */
    NOTIFY_EXPIRED = 1u << 8,   /* x */
    NOTIFY_EVICTED = 1u << 9,   /* e */
    NOTIFY_STREAM = 1u << 10,   /* t */
    NOTIFY_KEY_MISS = 1u << 11, /* m (not part of A) */
    NOTIFY_MODULE = 1u << 13,   /* d */
    NOTIFY_NEW = 1u << 14,      /* n (not part of A) */
};

/* 'A': every class but m and n. */
#define NOTIFY_ALL                                                                                 \
    (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET |       \
     NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

/* Room for notify_flags_format()'s text, NUL included. */
#define NOTIFY_FLAGS_TEXT_MAX 24

/* The refusal of a bad flags string, Redis 7.0's text. */
#define NOTIFY_FLAGS_ERROR "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."

/* The flags of s[0..len) (any order, repeats allowed, "" is 0), or -1 if a
 * character is not one of "Ag$lshzxeKEtmdn". */
int notify_flags_parse(const char *s, size_t len);
/* Redis's canonical text of flags ("A" for every class of A, then K, E,
 * m) into buf (NOTIFY_FLAGS_TEXT_MAX bytes, NUL-terminated); returns its
 * length. */
size_t notify_flags_format(unsigned flags, char *buf);

/* Delivers one message; channel and msg live only during the call. */
typedef void notify_publish_fn(void *ud, const char *channel, size_t clen, const char *msg,
                               size_t mlen);

struct notify {
    unsigned mask;  /* classes that produce messages: 0 unless K or E (see notify_set) */
    unsigned flags; /* as configured (K, E and the classes) */
    notify_publish_fn *publish;
    void *ud;
};

/* Sets n's flags (its owner's configuration); publish and ud are left. */
void notify_set(struct notify *n, unsigned flags);

/* Publishes event (class type, one of the enabled ones: the caller tested
 * n->mask & type) for key[0..klen) of database db as the one or two
 * messages above (their "@0" is db's number). */
void notify_fire(const struct notify *n, int db, unsigned type, const char *event, const char *key,
                 size_t klen);

#endif
