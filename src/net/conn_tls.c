/*
 * src/net/conn_tls.c - the node's TLS contexts (src/tls/tls.h) as the
 * directives say, and their replacement without a restart: by CONFIG SET of
 * a tls-* directive, and, every tls-auto-reload-interval seconds, when a
 * certificate, key, CA or DH file changed on disk (Valkey 9's directive).
 * A replaced context stays with the connections made with it; new ones get
 * the new one. Contexts that cannot be built are refused: at start the node
 * does not start, by CONFIG SET the value is refused, and a changed file
 * keeps the contexts loaded before (logged once per change). The
 * connections themselves are src/net/conn.c's.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "net/conn.h"
#include "net/server_io.h"
#include "node/node.h"
#include "server/server.h"
#include "tls/tls.h"

/* Redis's reply to a CONFIG SET whose TLS files cannot be loaded. */
#define TLS_SET_FAILED "Unable to update TLS configuration. Check server logs."

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
