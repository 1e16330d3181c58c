/*
 * src/tls/tls.h - TLS on the node's sockets (OpenSSL from Debian): the
 * contexts built from the tls-* directives, and one connection's
 * non-blocking handshake, reads and writes. The only user of OpenSSL.
 * Nothing here owns a socket or a timer: the layers that own sockets
 * (src/net/conn.c for clients) call in when their descriptor is ready.
 *
 * CONTEXTS. tls_ctx_new() builds, from a whole struct config, the context
 * that accepts (tls-cert-file, tls-key-file[-pass], tls-ca-cert-file/-dir,
 * tls-dh-params-file, tls-protocols, tls-ciphers, tls-ciphersuites,
 * tls-prefer-server-ciphers, tls-session-caching/-cache-size/-cache-timeout,
 * tls-auth-clients) and the one that dials (tls-client-cert-file and
 * tls-client-key-file[-pass], else the server's certificate and key; the
 * same CA and protocols), as Redis 7.0 builds them. Every file is read and
 * checked there: a missing or unreadable file, a key that does not match its
 * certificate, a wrong passphrase, an unknown protocol or cipher is refused
 * with the reason in err and nothing is built. A context in use is never
 * changed: a reload builds a new one and the caller swaps it in. A
 * connection holds its own reference to the context it was made with (an
 * OpenSSL reference count), so tls_ctx_free() of a replaced context leaves
 * the connections made with it running on their session.
 *
 * RELOAD WITHOUT A RESTART. tls_ctx_fingerprint() hashes (SHA-256) every file
 * the context was built from, and the names in tls-ca-cert-dir: a caller
 * that compares fingerprints learns that a certificate, key or CA changed on
 * disk (tls-auto-reload-interval, as Valkey 9's; src/net/conn.c).
 *
 * CONNECTIONS. tls_conn_accept() wraps an accepted, non-blocking descriptor
 * (not owned: the caller closes it after tls_conn_free()). Every call
 * returns at once: TLS_WANT_READ or TLS_WANT_WRITE say which readiness of
 * the descriptor to wait for before calling the same function again.
 * Handshake first (tls_conn_handshake() until TLS_OK); then reads and
 * writes. A read may leave decrypted bytes inside OpenSSL that no readiness
 * of the descriptor will announce: tls_conn_pending() says how many, and the
 * caller reads them before it waits. Writes may be partial and the retried
 * buffer may have moved (SSL_MODE_ENABLE_PARTIAL_WRITE and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), but must start with the bytes the
 * last TLS_WANT_* write was given. Renegotiation by clients is refused.
 *
 * A client that speaks plain RESP to a TLS port is told so: the first bytes
 * are looked at (MSG_PEEK) before the handshake, and anything that cannot
 * start a TLS record fails the handshake with TLS_PLAINTEXT, for which the
 * caller may write a RESP error in clear before it closes.
 */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;
struct tls_ctx;
struct tls_conn;

enum tls_status {
    TLS_OK = 0,
    TLS_WANT_READ = 1,  /* call again once the descriptor is readable */
    TLS_WANT_WRITE = 2, /* call again once the descriptor is writable */
    TLS_CLOSED = 3,     /* the peer closed the connection (close_notify or EOF) */
    TLS_FAILED = -1,    /* a protocol or certificate error: err says which; close */
    TLS_PLAINTEXT = -2, /* handshake: the client speaks no TLS (see the top) */
};

/* What INFO shows of one certificate (Valkey 9's tls_*_cert_* fields). */
struct tls_cert_info {
    int present;
    int64_t expire_time; /* notAfter, Unix seconds */
    char serial[80];     /* hex, as OpenSSL prints it */
};
struct tls_info {
    struct tls_cert_info server, client, ca; /* ca: the one that expires first */
};

/* Builds the contexts from cfg (see the top). Returns 0, or -1 with err. */
int tls_ctx_new(const struct config *cfg, struct tls_ctx **out, char *err, size_t errlen);
/* Contexts are reference counted: tls_ctx_new() returns one reference,
 * tls_ctx_ref() takes another, tls_ctx_free() drops one (NULL: nothing). */
void tls_ctx_ref(struct tls_ctx *ctx);
void tls_ctx_free(struct tls_ctx *ctx);
void tls_ctx_info(const struct tls_ctx *ctx, struct tls_info *out);
/* The SHA-256 of cfg's TLS files as they are on disk now (32 bytes in out);
 * a file that cannot be read hashes as its name and errno. */
void tls_ctx_fingerprint(const struct config *cfg, unsigned char out[32]);
/* The fingerprint taken when ctx was built. */
const unsigned char *tls_ctx_built_from(const struct tls_ctx *ctx);

/* A server-side connection on fd under ctx's tls-auth-clients; NULL when
 * OpenSSL cannot allocate one. */
struct tls_conn *tls_conn_accept(struct tls_ctx *ctx, int fd);
/* A client-side connection on fd (connected, non-blocking; not owned) with
 * ctx's dialling context: it presents tls-client-cert-file (or
 * tls-cert-file) and requires the server's certificate to be signed by the
 * CA; no host name is checked (peers are named by address, and the CA is
 * the cluster's own). NULL when OpenSSL cannot allocate one. */
struct tls_conn *tls_conn_connect(struct tls_ctx *ctx, int fd);
/* The other side presented a certificate the CA verified (the handshake is
 * done): what a server asks of a peer link (src/servercmd/cmd_raft.c). */
int tls_conn_peer_verified(const struct tls_conn *tc);
/* Sends close_notify if it can without waiting, and frees the connection. */
void tls_conn_free(struct tls_conn *tc);
int tls_conn_handshake(struct tls_conn *tc, char *err, size_t errlen);
/* Reads up to len decrypted bytes: the count (> 0), or 0 with *status set
 * (TLS_WANT_*, TLS_CLOSED, TLS_FAILED with err). */
size_t tls_conn_read(struct tls_conn *tc, void *buf, size_t len, int *status, char *err,
                     size_t errlen);
/* Writes up to len bytes: the count taken (> 0), or 0 with *status set. */
size_t tls_conn_write(struct tls_conn *tc, const void *buf, size_t len, int *status, char *err,
                      size_t errlen);
size_t tls_conn_pending(const struct tls_conn *tc);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done. */
void tls_conn_describe(const struct tls_conn *tc, char *buf, size_t cap);

#endif
