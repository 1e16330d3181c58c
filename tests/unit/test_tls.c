/*
 * tests/unit/test_tls.c - src/tls/tls.h: contexts built from the directives or
 * refused with the reason, fingerprints that follow the files, and a
 * server-side connection driven over a socketpair against an OpenSSL client:
 * the handshake, data both ways (more than one record, partial writes), a
 * client without a certificate, a plain-text client, and a connection that
 * outlives the context it was made with. Certificates: scripts/gen-test-certs.sh
 * (run from the repository root, as make unit does).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config/config.h"
#include "tls/tls.h"

static char certs[] = "/tmp/raftcache-test-tls.XXXXXX";

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(certs)) return -1;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "scripts/gen-test-certs.sh %s >/dev/null", certs);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", certs);
    return system(cmd) == 0 ? 0 : -1;
}

static void set(struct config *c, const char *name, const char *file)
{
    char v[512], err[256];
    if (file[0] && file[0] != '/' && strchr(file, '.'))
        snprintf(v, sizeof v, "%s/%s", certs, file);
    else
        snprintf(v, sizeof v, "%s", file);
    assert_int_equal(config_set(c, name, v, err, sizeof err), 0);
}

/* A config with the server's certificate, key and CA. */
static void base_config(struct config *c)
{
    config_init_defaults(c);
    set(c, "tls-cert-file", "server.crt");
    set(c, "tls-key-file", "server.key");
    set(c, "tls-ca-cert-file", "ca.crt");
}

static void test_ctx_built_and_refused(void **state)
{
    (void)state;
    struct config c;
    base_config(&c);
    struct tls_ctx *ctx;
    char err[512];
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), 0);
    struct tls_info info;
    tls_ctx_info(ctx, &info);
    assert_true(info.server.present && info.client.present && info.ca.present);
    assert_true(info.server.expire_time > 0 && info.server.serial[0]);
    tls_ctx_free(ctx);
    /* each refusal names what is wrong, and builds nothing */
    set(&c, "tls-ca-cert-file", "");
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), -1);
    assert_non_null(strstr(err, "tls-ca-cert-file or tls-ca-cert-dir"));
    assert_null(ctx);
    set(&c, "tls-auth-clients", "no"); /* no CA needed then */
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), 0);
    tls_ctx_free(ctx);
    set(&c, "tls-key-file", "client.key");
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), -1);
    assert_non_null(strstr(err, "key values mismatch"));
    set(&c, "tls-key-file", "server-encrypted.key");
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), -1);
    assert_non_null(strstr(err, "Failed to load private key"));
    set(&c, "tls-key-file-pass", "secret");
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), 0);
    tls_ctx_free(ctx);
    set(&c, "tls-ciphers", "NO-SUCH-CIPHER");
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), -1);
    assert_non_null(strstr(err, "tls-ciphers"));
    set(&c, "tls-ciphers", "");
    set(&c, "tls-dh-params-file", "dh.pem");
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), 0);
    tls_ctx_free(ctx);
    set(&c, "tls-cert-file", "missing.crt");
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.crt"));
    config_free(&c);
}

static void test_fingerprint_follows_the_files(void **state)
{
    (void)state;
    char copy[600], cmd[1400];
    snprintf(copy, sizeof copy, "%s/copy.crt", certs);
    snprintf(cmd, sizeof cmd, "cp %s/server.crt %s", certs, copy);
    assert_int_equal(system(cmd), 0);
    struct config c;
    base_config(&c);
    set(&c, "tls-cert-file", copy);
    struct tls_ctx *ctx;
    char err[512];
    assert_int_equal(tls_ctx_new(&c, &ctx, err, sizeof err), 0);
    unsigned char now[32];
    tls_ctx_fingerprint(&c, now);
    assert_memory_equal(now, tls_ctx_built_from(ctx), 32);
    snprintf(cmd, sizeof cmd, "cp %s/server2.crt %s", certs, copy);
    assert_int_equal(system(cmd), 0);
    tls_ctx_fingerprint(&c, now);
    assert_memory_not_equal(now, tls_ctx_built_from(ctx), 32);
    tls_ctx_free(ctx);
    config_free(&c);
}

/* ------------------------------------------------------- connections */

struct pair {
    int fd[2]; /* [0] the server's, [1] the client's */
    struct tls_ctx *ctx;
    struct tls_conn *srv;
    SSL_CTX *cctx;
    SSL *cli;
};

static void pair_open(struct pair *p, const char *client_cert)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd), 0);
    struct config c;
    base_config(&c);
    char err[512];
    assert_int_equal(tls_ctx_new(&c, &p->ctx, err, sizeof err), 0);
    config_free(&c);
    p->srv = tls_conn_accept(p->ctx, p->fd[0]);
    assert_non_null(p->srv);
    p->cctx = SSL_CTX_new(TLS_client_method());
    char path[600];
    snprintf(path, sizeof path, "%s/ca.crt", certs);
    assert_int_equal(SSL_CTX_load_verify_locations(p->cctx, path, NULL), 1);
    SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
    if (client_cert) {
        snprintf(path, sizeof path, "%s/%s.crt", certs, client_cert);
        assert_int_equal(SSL_CTX_use_certificate_file(p->cctx, path, SSL_FILETYPE_PEM), 1);
        snprintf(path, sizeof path, "%s/%s.key", certs, client_cert);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(p->cctx, path, SSL_FILETYPE_PEM), 1);
    }
    p->cli = SSL_new(p->cctx);
    SSL_set_fd(p->cli, p->fd[1]);
    SSL_set_connect_state(p->cli);
}

static void pair_close(struct pair *p)
{
    tls_conn_free(p->srv);
    tls_ctx_free(p->ctx);
    SSL_free(p->cli);
    SSL_CTX_free(p->cctx);
    close(p->fd[0]);
    close(p->fd[1]);
    ERR_clear_error();
}

/* Both sides step in turn; the server's last status. */
static int handshake(struct pair *p)
{
    char err[256];
    int st = TLS_WANT_READ;
    for (int i = 0; i < 100; i++) {
        SSL_do_handshake(p->cli);
        st = tls_conn_handshake(p->srv, err, sizeof err);
        if (st != TLS_WANT_READ && st != TLS_WANT_WRITE) break;
    }
    if (st != TLS_OK) SSL_do_handshake(p->cli); /* let the client read the alert */
    return st;
}

static void test_handshake_and_data(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, "client");
    assert_int_equal(handshake(&p), TLS_OK);
    char desc[96];
    tls_conn_describe(p.srv, desc, sizeof desc);
    assert_non_null(strstr(desc, "TLSv1.3"));
    /* client to server, several records */
    static char big[100000], got[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    size_t sent = 0, recvd = 0;
    int st;
    char err[256];
    while (recvd < sizeof big) {
        if (sent < sizeof big) {
            int n = SSL_write(p.cli, big + sent, (int)(sizeof big - sent));
            if (n > 0) sent += (size_t)n;
        }
        size_t n = tls_conn_read(p.srv, got + recvd, sizeof got - recvd, &st, err, sizeof err);
        if (n == 0) assert_int_equal(st, TLS_WANT_READ);
        recvd += n;
    }
    assert_memory_equal(big, got, sizeof big);
    /* server to client: partial writes taken as they come */
    sent = recvd = 0;
    while (recvd < sizeof big) {
        if (sent < sizeof big) {
            size_t n = tls_conn_write(p.srv, big + sent, sizeof big - sent, &st, err, sizeof err);
            if (n == 0) assert_int_equal(st, TLS_WANT_WRITE);
            sent += n;
        }
        int n = SSL_read(p.cli, got + recvd, (int)(sizeof got - recvd));
        if (n > 0) recvd += (size_t)n;
    }
    assert_memory_equal(big, got, sizeof big);
    /* bytes decrypted ahead wait in OpenSSL: tls_conn_pending() says so */
    assert_int_equal(SSL_write(p.cli, "0123456789", 10), 10);
    char four[4];
    assert_int_equal(tls_conn_read(p.srv, four, 4, &st, err, sizeof err), 4);
    assert_int_equal(tls_conn_pending(p.srv), 6);
    /* the peer's close_notify reads as TLS_CLOSED */
    char rest[16];
    assert_int_equal(tls_conn_read(p.srv, rest, sizeof rest, &st, err, sizeof err), 6);
    SSL_shutdown(p.cli);
    assert_int_equal(tls_conn_read(p.srv, rest, sizeof rest, &st, err, sizeof err), 0);
    assert_int_equal(st, TLS_CLOSED);
    pair_close(&p);
}

static void test_client_refused(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, NULL); /* tls-auth-clients yes: a certificate is required */
    assert_int_equal(handshake(&p), TLS_FAILED);
    pair_close(&p);
    pair_open(&p, "rogue"); /* another CA's */
    assert_int_equal(handshake(&p), TLS_FAILED);
    pair_close(&p);
}

static void test_plaintext_client(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, "client");
    char err[256];
    assert_int_equal(tls_conn_handshake(p.srv, err, sizeof err), TLS_WANT_READ); /* nothing yet */
    assert_int_equal(write(p.fd[1], "*1\r\n$4\r\nPING\r\n", 14), 14);
    assert_int_equal(tls_conn_handshake(p.srv, err, sizeof err), TLS_PLAINTEXT);
    assert_non_null(strstr(err, "0x2a"));
    char buf[32]; /* looked at, not consumed: the caller may read and answer it */
    assert_int_equal(read(p.fd[0], buf, sizeof buf), 14);
    pair_close(&p);
}

/* A connection keeps its session after its context is replaced and freed. */
static void test_connection_outlives_its_context(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, "client");
    assert_int_equal(handshake(&p), TLS_OK);
    tls_ctx_free(p.ctx);
    p.ctx = NULL;
    assert_int_equal(SSL_write(p.cli, "PING\r\n", 6), 6);
    char buf[16], err[256];
    int st;
    assert_int_equal(tls_conn_read(p.srv, buf, sizeof buf, &st, err, sizeof err), 6);
    assert_int_equal(tls_conn_write(p.srv, "+PONG\r\n", 7, &st, err, sizeof err), 7);
    assert_int_equal(SSL_read(p.cli, buf, sizeof buf), 7);
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_built_and_refused),
        cmocka_unit_test(test_fingerprint_follows_the_files),
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_client_refused),
        cmocka_unit_test(test_plaintext_client),
        cmocka_unit_test(test_connection_outlives_its_context),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
