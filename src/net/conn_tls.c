/*
 * src/net/conn_tls.c - the node's TLS contexts (src/tls/tls.h) as the
 * directives say, and their replacement without a restart: by CONFIG SET of
 * a tls-* directive, and, every tls-auto-reload-interval seconds, when a
 * certificate, key, CA or DH file changed on disk (Valkey 9's directive).
 * A replaced context stays with the connections made with it; new ones get
 * the new one. Contexts that cannot be built are refused: at start the node
 * does not start, by CONFIG SET the value is refused, and a changed file
 * keeps the contexts loaded before (logged once per change).
 *
 * A connection accepted on tls-port carries a struct tls_conn
 * (src/tls/tls.h), driven from here: its handshake runs first, driven by
 * readiness like any read (a stalled one costs a descriptor, never the
 * loop, and is closed after TLS_HANDSHAKE_MS); then reads and writes go
 * through it. Bytes OpenSSL decrypted ahead are read at the next iteration
 * (the read watcher is fed an event), and a write that waits for the
 * peer's input, or a read for the socket's room, waits on the other
 * watcher (src/net/conn.c's read and write callbacks look at the flags set
 * here). A failed handshake is logged at verbose, as Redis does; a client
 * that speaks plain text to the TLS port is told so in plain text before
 * the close.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "net/conn.h"
#include "net/conn_int.h"
#include "net/server_io.h"
#include "node/node.h"
#include "server/server.h"
#include "tls/tls.h"
#include "raft/raft_assert.h"

/* Redis's reply to a CONFIG SET whose TLS files cannot be loaded. */
#define TLS_SET_FAILED "Unable to update TLS configuration. Check server logs."
/* A TLS client's time to complete its handshake. */
#define TLS_HANDSHAKE_MS 10000

static void swap_in(struct server *srv, struct tls_ctx *ctx)
{
    tls_ctx_free(srv->tls);
    srv->tls = ctx;
    tls_ctx_info(ctx, &srv->tls_info);
    if (srv->cfg.tls_cluster && srv->node) node_set_tls(srv->node, ctx);
}

int conn_tls_configure(struct server *srv, int starting, char *err, size_t errlen)
{
    if (!srv->cfg.tls_port) return 0; /* no TLS port: nothing uses the files */
    char why[512];
    struct tls_ctx *ctx;
    if (tls_ctx_new(&srv->cfg, &ctx, why, sizeof why) != 0) {
        LOG_WARNING("TLS: %s", why);
        if (starting)
            snprintf(err, errlen, "Failed to configure TLS: %s", why);
        else
            snprintf(err, errlen, "%s", TLS_SET_FAILED);
        return -1;
    }
    swap_in(srv, ctx);
    if (!starting) {
        srv->tls_reloads++;
        LOG_NOTICE("TLS materials reloaded successfully");
    }
    return 0;
}

void conn_tls_cron(struct server *srv, int64_t now_ms)
{
    long long every = srv->cfg.tls_auto_reload_interval;
    if (!srv->tls || every <= 0 || now_ms - srv->tls_reload_check_ms < every * 1000) return;
    srv->tls_reload_check_ms = now_ms;
    unsigned char now[32];
    tls_ctx_fingerprint(&srv->cfg, now);
    if (!memcmp(now, tls_ctx_built_from(srv->tls), sizeof now)) {
        LOG_DEBUG("TLS: materials unchanged");
        return;
    }
    if (!memcmp(now, srv->io->tls_refused, sizeof now)) return;
    char why[512];
    struct tls_ctx *ctx;
    if (tls_ctx_new(&srv->cfg, &ctx, why, sizeof why) != 0) {
        LOG_WARNING("TLS: the files changed but cannot be loaded (%s): the certificates loaded "
                    "before stay in use",
                    why);
        memcpy(srv->io->tls_refused, now, sizeof now);
        return;
    }
    swap_in(srv, ctx);
    srv->tls_reloads++;
    LOG_NOTICE("TLS materials reloaded successfully (a file changed)");
}

/* The plain-text client of a TLS port is told, in its own protocol. */
static void refuse_plaintext(struct client *c, const char *why)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg,
                     "-ERR this is a TLS port (tls-port): connect with TLS, or to port %lld\r\n",
                     c->srv->cfg.port);
    /* What it sent is read first: closing a socket with unread input
     * resets the connection, which may destroy the error on its way. */
    char junk[4096];
    for (int i = 0; i < 16 && read(c->fd, junk, sizeof junk) > 0; i++)
        ;
    ssize_t ignored = write(c->fd, msg, (size_t)n);
    (void)ignored;
    shutdown(c->fd, SHUT_WR);
    LOG_VERBOSE("Error accepting a client connection: %s (addr=%s)", why, c->addr);
    client_close_asap(c);
}

int conn_tls_handshake_step(struct client *c)
{
    struct conn *cn = conn_of(c);
    char err[256];
    int st = tls_conn_handshake(cn->tls, err, sizeof err);
    struct ev_loop *loop = c->srv->io->loop;
    switch (st) {
    case TLS_OK: {
        cn->tls_handshaking = 0;
        c->flags |= CLIENT_TLS | (tls_conn_peer_verified(cn->tls) ? CLIENT_TLS_CERT_OK : 0);
        if (resp_out_pending(&c->out) == 0) ev_io_stop(loop, &cn->wio);
        char desc[96];
        tls_conn_describe(cn->tls, desc, sizeof desc);
        LOG_DEBUG("TLS handshake done with %s: %s", c->addr, desc);
        if ((c->flags & CLIENT_PROTECTED) && !c->srv->cfg.raft_secret.len) {
            client_deny_protected(c); /* no peer could prove itself: refused at once */
            return 0;
        }
        return 1;
    }
    case TLS_WANT_READ:
        ev_io_stop(loop, &cn->wio);
        return 0;
    case TLS_WANT_WRITE:
        ev_io_start(loop, &cn->wio);
        return 0;
    case TLS_PLAINTEXT:
        refuse_plaintext(c, err);
        return 0;
    default:
        LOG_VERBOSE("Error accepting a client connection: %s (addr=%s)", err, c->addr);
        client_close_asap(c);
        return 0;
    }
}

ssize_t conn_tls_read(struct client *c, char *buf, size_t room)
{
    struct conn *cn = conn_of(c);
    int st = TLS_OK;
    char err[256];
    /* One call reads one TLS record (16 KB at most): records are read
     * until the room is full or the socket is empty, as one read() would. */
    size_t n = 0, got;
    while (n < room && (got = tls_conn_read(cn->tls, buf + n, room - n, &st, err, sizeof err)) > 0)
        n += got;
    if (n > 0) {
        /* Decrypted bytes left inside OpenSSL: no readiness would tell. */
        if (tls_conn_pending(cn->tls) > 0) ev_feed_event(c->srv->io->loop, &cn->rio, EV_READ);
        return (ssize_t)n;
    }
    if (st == TLS_WANT_WRITE) { /* the read needs the socket's room first */
        cn->tls_read_blocked = 1;
        ev_io_start(c->srv->io->loop, &cn->wio);
    }
    if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (st == TLS_CLOSED) return 0;
    LOG_VERBOSE("Reading from TLS client %s: %s", c->addr, err);
    errno = EPROTO;
    return -1;
}

ssize_t conn_tls_write(struct client *c, const char *buf, size_t len)
{
    struct conn *cn = conn_of(c);
    if (cn->tls_handshaking) {
        /* Only a connection being refused (protected mode, maxclients) has
         * a reply before its handshake is done: it is closed without it. */
        ASSERT(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP));
        errno = EPIPE;
        return -1;
    }
    int st;
    char err[256];
    size_t n = tls_conn_write(cn->tls, buf, len, &st, err, sizeof err);
    if (n > 0) return (ssize_t)n;
    if (st == TLS_WANT_READ) cn->tls_write_blocked = 1;
    if (st == TLS_WANT_READ || st == TLS_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (st == TLS_FAILED) LOG_VERBOSE("Writing to TLS client %s: %s", c->addr, err);
    errno = st == TLS_CLOSED ? EPIPE : EPROTO;
    return -1;
}

int conn_tls_handshake_expired(struct client *c, int64_t now_ms)
{
    if (!conn_of(c)->tls_handshaking || now_ms - c->ctime_ms < TLS_HANDSHAKE_MS) return 0;
    LOG_VERBOSE("Error accepting a client connection: TLS handshake not done within %d ms "
                "(addr=%s)",
                TLS_HANDSHAKE_MS, c->addr);
    client_close_asap(c);
    return 1;
}
