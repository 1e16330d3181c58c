/*
 * src/net/conn_int.h - private to the connection module's files
 * (src/net/conn.c: accepting, reading, parsing, writing; src/net/conn_tls.c:
 * the TLS contexts and a TLS connection's handshake, reads and writes): the
 * connection behind a struct client and the calls between them. Nothing
 * else includes it; the rest of the server uses conn.h, which documents the
 * module.
 */
#ifndef CONN_INT_H
#define CONN_INT_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cmd/client.h"

struct tls_conn;

/* The arguments of a command that was told to wait (DISPATCH_WAIT), kept
 * as parsed for when the client is woken, so that it is not parsed again:
 * the command stays at the head of the query buffer, and a multibulk's
 * arguments are kept as offsets from its first byte (the buffer may move
 * while it waits); an inline command's arguments are in the parser's
 * scratch, which nothing touches until the command has run. */
struct held_args {
    int argc; /* 0: nothing held */
    int is_inline;
    size_t len;            /* the command's bytes in the query buffer */
    size_t *offs;          /* argc offsets of a multibulk's arguments */
    struct resp_arg *argv; /* rebuilt from offs when the command is taken up */
    size_t cap;
};

struct conn {
    struct client c; /* first member: a struct client* is a struct conn* */
    ev_io rio, wio;
    struct tls_conn *tls;        /* accepted on tls-port; NULL otherwise */
    int tls_handshaking;         /* its handshake is not done: reads and writes drive it */
    int tls_read_blocked;        /* a read waits for the socket to take output */
    int tls_write_blocked;       /* a write waits for input */
    int64_t soft_limit_since_ms; /* 0 when under the soft output limit */
    struct held_args held;
};

static inline struct conn *conn_of(struct client *c)
{
    return (struct conn *)c;
}

/* A TLS client's handshake, one step as readiness allows; returns 1 once it
 * is done (the client is then CLIENT_TLS), 0 while it goes on or after it
 * failed (the client is then closing). */
int conn_tls_handshake_step(struct client *c);
/* Reads what OpenSSL decrypts into buf: the count, 0 when the client
 * closed, or -1 with errno (EAGAIN when nothing is there yet). */
ssize_t conn_tls_read(struct client *c, char *buf, size_t room);
/* Writes through TLS: the count taken, or -1 with errno (EAGAIN: later). */
ssize_t conn_tls_write(struct client *c, const char *buf, size_t len);
/* Closes a client whose handshake is not done within TLS_HANDSHAKE_MS of
 * its connecting; returns 1 if it did. */
int conn_tls_handshake_expired(struct client *c, int64_t now_ms);

#endif
