/*
 * src/tls/tls.c - the TLS contexts and connections of tls.h, on OpenSSL 3.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/util.h"
#include "config/config.h"
#include "raft/raft_assert.h"
#include "tls/tls.h"

#define PROTO_TLS1 1
#define PROTO_TLS1_1 2
#define PROTO_TLS1_2 4
#define PROTO_TLS1_3 8
#define FILE_HASH_MAX (16u << 20) /* bytes of one file the fingerprint reads at most */
#define TLS_RECORD_HANDSHAKE 0x16 /* the first byte of a ClientHello's record */

struct tls_ctx {
    int refs;
    SSL_CTX *server, *client;
    unsigned char fingerprint[32];
    struct tls_info info;
};

struct tls_conn {
    SSL *ssl;
    int fd;
    int looked; /* the first byte was seen to start a TLS record */
    int done;   /* the handshake completed */
};

/* ------------------------------------------------------------ errors */

/* OpenSSL's oldest queued error, or what = errno's text; the queue is
 * emptied. Returns -1 for util_fail's callers. */
static int fail_ssl(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "%s", errno ? strerror(errno) : "unknown error");
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, buf);
    return -1;
}

/* ----------------------------------------------------------- contexts */

static int parse_protocols(const char *s)
{
    if (!*s) return PROTO_TLS1_2 | PROTO_TLS1_3;
    int p = 0;
    while (*s) {
        size_t n = strcspn(s, " \t");
        if (n == 5 && !strncasecmp(s, "tlsv1", 5)) p |= PROTO_TLS1;
        if (n == 7 && !strncasecmp(s, "tlsv1.1", 7)) p |= PROTO_TLS1_1;
        if (n == 7 && !strncasecmp(s, "tlsv1.2", 7)) p |= PROTO_TLS1_2;
        if (n == 7 && !strncasecmp(s, "tlsv1.3", 7)) p |= PROTO_TLS1_3;
        s += n;
        s += strspn(s, " \t");
    }
    return p; /* config_check_tls_protocols() refused any other word */
}

static int passphrase_cb(char *buf, int size, int rwflag, void *ud)
{
    (void)rwflag;
    const struct config_secret *pass = ud;
    if (!pass || !pass->len || size <= 0) return 0;
    size_t n = pass->len < (size_t)size ? pass->len : (size_t)size;
    memcpy(buf, pass->ptr, n);
    return (int)n;
}

/* One context: the server's (client = 0) or the dialling one. */
static SSL_CTX *make_ctx(const struct config *cfg, int protocols, int client, char *err,
                         size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
    if (!ctx) {
        fail_ssl(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    uint64_t opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION |
                    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION;
    if (!(protocols & PROTO_TLS1)) opts |= SSL_OP_NO_TLSv1;
    if (!(protocols & PROTO_TLS1_1)) opts |= SSL_OP_NO_TLSv1_1;
    if (!(protocols & PROTO_TLS1_2)) opts |= SSL_OP_NO_TLSv1_2;
    if (!(protocols & PROTO_TLS1_3)) opts |= SSL_OP_NO_TLSv1_3;
    SSL_CTX_set_options(ctx, opts);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (client) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); /* the server's, by the CA */
    const char *cert = cfg->tls_cert_file, *key = cfg->tls_key_file;
    const struct config_secret *pass = &cfg->tls_key_file_pass;
    if (client && cfg->tls_client_cert_file[0]) {
        cert = cfg->tls_client_cert_file;
        key = cfg->tls_client_key_file;
        pass = &cfg->tls_client_key_file_pass;
    }
    SSL_CTX_set_default_passwd_cb(ctx, passphrase_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)pass);
    char what[4200];
    int ok = 1;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) <= 0) {
        snprintf(what, sizeof what, "Failed to load certificate %s", cert);
        ok = fail_ssl(err, errlen, what) == 0;
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) <= 0) {
        snprintf(what, sizeof what, "Failed to load private key %s", key);
        ok = fail_ssl(err, errlen, what) == 0;
    } else if (SSL_CTX_check_private_key(ctx) <= 0) {
        snprintf(what, sizeof what, "Private key %s does not match certificate %s", key, cert);
        ok = fail_ssl(err, errlen, what) == 0;
    } else if ((cfg->tls_ca_cert_file[0] || cfg->tls_ca_cert_dir[0]) &&
               SSL_CTX_load_verify_locations(
                   ctx, cfg->tls_ca_cert_file[0] ? cfg->tls_ca_cert_file : NULL,
                   cfg->tls_ca_cert_dir[0] ? cfg->tls_ca_cert_dir : NULL) <= 0) {
        ok = fail_ssl(err, errlen, "Failed to configure CA certificate(s) file/directory") == 0;
    } else if (cfg->tls_ciphers[0] && !SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers)) {
        snprintf(what, sizeof what, "Failed to configure tls-ciphers '%.200s'", cfg->tls_ciphers);
        ok = fail_ssl(err, errlen, what) == 0;
    } else if (cfg->tls_ciphersuites[0] && !SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites)) {
        snprintf(what, sizeof what, "Failed to configure tls-ciphersuites '%.200s'",
                 cfg->tls_ciphersuites);
        ok = fail_ssl(err, errlen, what) == 0;
    }
    /* The passphrase is the config's: not kept past the loading. */
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The server context's own settings: client certificates, sessions,
 * cipher preference, DH parameters. */
static int server_settings(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
    int verify = SSL_VERIFY_NONE;
    if (cfg->tls_auth_clients == CONFIG_TLS_AUTH_YES)
        verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (cfg->tls_auth_clients == CONFIG_TLS_AUTH_OPTIONAL)
        verify = SSL_VERIFY_PEER;
    SSL_CTX_set_verify(ctx, verify, NULL);
    if (cfg->tls_session_caching) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, cfg->tls_session_cache_size);
        SSL_CTX_set_timeout(ctx, (long)cfg->tls_session_cache_timeout);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"raftcache", 9);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    if (cfg->tls_prefer_server_ciphers) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (!cfg->tls_dh_params_file[0]) {
        SSL_CTX_set_dh_auto(ctx, 1);
        return 0;
    }
    BIO *f = BIO_new_file(cfg->tls_dh_params_file, "r");
    if (!f)
        return util_fail(err, errlen, -1, "Failed to load %s: %s", cfg->tls_dh_params_file,
                         strerror(errno));
    EVP_PKEY *dh = PEM_read_bio_Parameters(f, NULL);
    BIO_free(f);
    char what[4200];
    snprintf(what, sizeof what, "Failed to load DH params file %s", cfg->tls_dh_params_file);
    if (!dh) return fail_ssl(err, errlen, what);
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) <= 0) {
        EVP_PKEY_free(dh);
        return fail_ssl(err, errlen, what);
    }
    return 0;
}

static void cert_info(X509 *x, struct tls_cert_info *out)
{
    memset(out, 0, sizeof *out);
    if (!x) return;
    out->present = 1;
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) out->expire_time = (int64_t)timegm(&tm);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out->serial, sizeof out->serial, "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
}

/* The CA certificate loaded from tls-ca-cert-file that expires first
 * (those of tls-ca-cert-dir are read by OpenSSL only when needed). */
static void ca_info(SSL_CTX *ctx, struct tls_cert_info *out)
{
    memset(out, 0, sizeof *out);
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    for (int i = 0; objs && i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (!x) continue;
        struct tls_cert_info ci;
        cert_info(x, &ci);
        if (!out->present || ci.expire_time < out->expire_time) *out = ci;
    }
}

int tls_ctx_new(const struct config *cfg, struct tls_ctx **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg->tls_cert_file[0]) return util_fail(err, errlen, -1, "No tls-cert-file configured");
    if (!cfg->tls_key_file[0]) return util_fail(err, errlen, -1, "No tls-key-file configured");
    if (cfg->tls_client_cert_file[0] && !cfg->tls_client_key_file[0])
        return util_fail(err, errlen, -1,
                         "tls-client-cert-file is set but tls-client-key-file is not");
    if (cfg->tls_auth_clients != CONFIG_TLS_AUTH_NO && !cfg->tls_ca_cert_file[0] &&
        !cfg->tls_ca_cert_dir[0])
        return util_fail(err, errlen, -1,
                         "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                         "tls-auth-clients is enabled (yes or optional)");
    ERR_clear_error();
    int protocols = parse_protocols(cfg->tls_protocols);
    struct tls_ctx *t = util_xcalloc(1, sizeof *t);
    t->refs = 1;
    tls_ctx_fingerprint(cfg, t->fingerprint);
    t->server = make_ctx(cfg, protocols, 0, err, errlen);
    if (t->server && server_settings(t->server, cfg, err, errlen) == 0)
        t->client = make_ctx(cfg, protocols, 1, err, errlen);
    if (!t->client) {
        tls_ctx_free(t);
        return -1;
    }
    cert_info(SSL_CTX_get0_certificate(t->server), &t->info.server);
    cert_info(SSL_CTX_get0_certificate(t->client), &t->info.client);
    ca_info(t->server, &t->info.ca);
    *out = t;
    return 0;
}

void tls_ctx_ref(struct tls_ctx *ctx)
{
    ctx->refs++;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
    if (!ctx || --ctx->refs > 0) return;
    SSL_CTX_free(ctx->server); /* connections made with it hold references of their own */
    SSL_CTX_free(ctx->client);
    free(ctx);
}

void tls_ctx_info(const struct tls_ctx *ctx, struct tls_info *out)
{
    *out = ctx->info;
}

const unsigned char *tls_ctx_built_from(const struct tls_ctx *ctx)
{
    return ctx->fingerprint;
}

/* ------------------------------------------------------- fingerprints */

static void hash_file(EVP_MD_CTX *md, const char *path)
{
    EVP_DigestUpdate(md, path, strlen(path) + 1);
    FILE *f = *path ? fopen(path, "rb") : NULL;
    if (!f) {
        int e = *path ? errno : 0;
        EVP_DigestUpdate(md, &e, sizeof e);
        return;
    }
    char buf[8192];
    size_t n, total = 0;
    while (total < FILE_HASH_MAX && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
        total += n;
    }
    fclose(f);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A CA directory: its files, in name order, at most 1024 of them. */
static void hash_dir(EVP_MD_CTX *md, const char *path)
{
    EVP_DigestUpdate(md, path, strlen(path) + 1);
    DIR *d = *path ? opendir(path) : NULL;
    if (!d) return;
    char *names[1024];
    size_t n = 0;
    struct dirent *e;
    while (n < sizeof names / sizeof names[0] && (e = readdir(d)))
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    char full[8192];
    for (size_t i = 0; i < n; i++) {
        if (names[i]) {
            snprintf(full, sizeof full, "%s/%s", path, names[i]);
            hash_file(md, full);
        }
        free(names[i]);
    }
}

void tls_ctx_fingerprint(const struct config *cfg, unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ASSERT(md != NULL);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    const char *files[] = {cfg->tls_cert_file,        cfg->tls_key_file,
                           cfg->tls_client_cert_file, cfg->tls_client_key_file,
                           cfg->tls_ca_cert_file,     cfg->tls_dh_params_file};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        hash_file(md, files[i]);
    hash_dir(md, cfg->tls_ca_cert_dir);
    unsigned int len = 32;
    EVP_DigestFinal_ex(md, out, &len);
    EVP_MD_CTX_free(md);
}

/* -------------------------------------------------------- connections */

/* A connection on fd with a context's SSL_CTX, as its server or client. */
static struct tls_conn *conn_new(SSL_CTX *sctx, int fd, int server)
{
    SSL *ssl = SSL_new(sctx);
    if (!ssl) return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    struct tls_conn *tc = util_xcalloc(1, sizeof *tc);
    tc->ssl = ssl;
    tc->fd = fd;
    tc->looked = !server; /* the plain-text check is the server's */
    return tc;
}

struct tls_conn *tls_conn_accept(struct tls_ctx *ctx, int fd)
{
    return conn_new(ctx->server, fd, 1);
}

struct tls_conn *tls_conn_connect(struct tls_ctx *ctx, int fd)
{
    return conn_new(ctx->client, fd, 0);
}

int tls_conn_peer_verified(const struct tls_conn *tc)
{
    if (!tc->done) return 0;
    X509 *x = SSL_get1_peer_certificate(tc->ssl);
    int ok = x && SSL_get_verify_result(tc->ssl) == X509_V_OK;
    X509_free(x);
    return ok;
}

void tls_conn_free(struct tls_conn *tc)
{
    if (!tc) return;
    if (tc->done) {
        ERR_clear_error();
        SSL_shutdown(tc->ssl); /* close_notify if the socket takes it now; no wait */
    }
    ERR_clear_error();
    SSL_free(tc->ssl);
    free(tc);
}

/* The status of a call that returned rc <= 0. */
static int status_of(struct tls_conn *tc, int rc, char *err, size_t errlen)
{
    int e = SSL_get_error(tc->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (!ERR_peek_error() && (rc == 0 || errno == 0 || errno == ECONNRESET)) {
            ERR_clear_error();
            return TLS_CLOSED;
        }
        fail_ssl(err, errlen, "TLS I/O error");
        return TLS_FAILED;
    default:
        fail_ssl(err, errlen, "TLS error");
        return TLS_FAILED;
    }
}

int tls_conn_handshake(struct tls_conn *tc, char *err, size_t errlen)
{
    if (tc->done) return TLS_OK;
    if (!tc->looked) {
        unsigned char b;
        ssize_t n = recv(tc->fd, &b, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return TLS_WANT_READ;
        if (n == 0) return TLS_CLOSED;
        if (n < 0) {
            snprintf(err, errlen, "TLS handshake: %s", strerror(errno));
            return TLS_FAILED;
        }
        if (b != TLS_RECORD_HANDSHAKE) {
            snprintf(err, errlen, "a client spoke plain text (first byte 0x%02x) to the TLS port",
                     b);
            return TLS_PLAINTEXT;
        }
        tc->looked = 1;
    }
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(tc->ssl);
    if (rc == 1) {
        tc->done = 1;
        return TLS_OK;
    }
    int st = status_of(tc, rc, err, errlen);
    if (st == TLS_CLOSED)
        snprintf(err, errlen, "the client closed the connection in the handshake");
    return st == TLS_CLOSED ? TLS_FAILED : st;
}

size_t tls_conn_read(struct tls_conn *tc, void *buf, size_t len, int *status, char *err,
                     size_t errlen)
{
    ASSERT(tc->done); /* reads follow the handshake */
    ERR_clear_error();
    errno = 0;
    int rc = SSL_read(tc->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (rc > 0) {
        *status = TLS_OK;
        return (size_t)rc;
    }
    *status = status_of(tc, rc, err, errlen);
    return 0;
}

size_t tls_conn_write(struct tls_conn *tc, const void *buf, size_t len, int *status, char *err,
                      size_t errlen)
{
    ASSERT(tc->done && len > 0); /* a write of 0 bytes means nothing to OpenSSL */
    ERR_clear_error();
    errno = 0;
    int rc = SSL_write(tc->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (rc > 0) {
        *status = TLS_OK;
        return (size_t)rc;
    }
    *status = status_of(tc, rc, err, errlen);
    return 0;
}

size_t tls_conn_pending(const struct tls_conn *tc)
{
    int n = SSL_pending(tc->ssl);
    return n > 0 ? (size_t)n : 0;
}

void tls_conn_describe(const struct tls_conn *tc, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %s", SSL_get_version(tc->ssl), SSL_get_cipher_name(tc->ssl));
}
