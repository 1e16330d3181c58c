/*
 * src/server/replof.c - REPLICAOF's replicated state: its changes as the
 * log applies them, and its form in snapshots (see replof.h; the
 * leader's link to the master is replof_link.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "raft/raft_assert.h"
#include "server/replof.h"
#include "server/server.h"

/* ------------------------------------------------------ replicated state */

void replof_init(struct server *srv)
{
    srv->replof = util_xcalloc(1, sizeof *srv->replof);
}

void replof_free(struct server *srv)
{
    if (!srv->replof) return;
    replof_link_free(srv);
    free(srv->replof);
    srv->replof = NULL;
}

const struct replof_state *replof_state(const struct server *srv)
{
    return &srv->replof->state;
}

bool replof_active(const struct server *srv)
{
    return srv->replof->state.port != 0;
}

bool replof_loading(const struct server *srv)
{
    return srv->replof->state.port != 0 && srv->replof->state.loading;
}

void replof_apply_replicaof(struct server *srv, const char *host, int port)
{
    struct replof_state *s = &srv->replof->state;
    uint64_t epoch = s->epoch + 1;
    memset(s, 0, sizeof *s);
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    s->epoch = epoch;
    LOG_NOTICE("REPLICAOF %s:%d: the cluster replicates that master (clients' writes are refused)",
               host, port);
}

void replof_apply_none(struct server *srv)
{
    struct replof_state *s = &srv->replof->state;
    if (s->port)
        LOG_NOTICE("REPLICAOF NO ONE: the cluster no longer replicates %s:%d (offset %lld); "
                   "writes are accepted",
                   s->host, s->port, s->offset);
    uint64_t epoch = s->epoch + 1;
    memset(s, 0, sizeof *s);
    s->epoch = epoch;
}

int replof_apply_begin(struct server *srv, uint64_t epoch)
{
    struct replof_state *s = &srv->replof->state;
    if (!s->port || epoch != s->epoch) return 0;
    s->loading = 1;
    s->replid[0] = '\0';
    s->offset = 0;
    s->db = 0;
    return 1;
}

void replof_apply_done(struct server *srv, uint64_t epoch, const char *replid, long long offset)
{
    struct replof_state *s = &srv->replof->state;
    if (!s->port || epoch != s->epoch || !s->loading) return;
    s->loading = 0;
    snprintf(s->replid, sizeof s->replid, "%s", replid);
    s->offset = offset;
    s->db = 0;
}

int replof_apply_gate(const struct server *srv, uint64_t epoch, long long start)
{
    const struct replof_state *s = &srv->replof->state;
    return s->port && epoch == s->epoch && !s->loading && s->replid[0] && start == s->offset;
}

void replof_apply_advanced(struct server *srv, long long end, int db)
{
    srv->replof->state.offset = end;
    srv->replof->state.db = db;
}

/* The state as one line: epoch port loading offset db replid host. */
char *replof_state_text(const struct server *srv, size_t *len)
{
    const struct replof_state *s = &srv->replof->state;
    if (!s->port && !s->epoch) return NULL;
    char buf[CONFIG_HOST_MAX + 160];
    int n = snprintf(buf, sizeof buf, "%llu %d %d %lld %d %s %s", (unsigned long long)s->epoch,
                     s->port, s->loading, s->offset, s->db, s->replid[0] ? s->replid : "-",
                     s->port ? s->host : "-");
    ASSERT(n > 0 && (size_t)n < sizeof buf);
    *len = (size_t)n;
    char *out = util_xmalloc((size_t)n + 1);
    memcpy(out, buf, (size_t)n + 1);
    return out;
}

int replof_state_load(struct server *srv, const char *p, size_t len, char *err, size_t errlen)
{
    char buf[CONFIG_HOST_MAX + 160], id[REPLOF_ID_LEN + 2], host[CONFIG_HOST_MAX];
    if (len >= sizeof buf) return util_fail(err, errlen, -1, "REPLICAOF state over %zu bytes", len);
    memcpy(buf, p, len);
    buf[len] = '\0';
    struct replof_state s = {0};
    unsigned long long epoch;
    if (sscanf(buf, "%llu %d %d %lld %d %41s %255s", &epoch, &s.port, &s.loading, &s.offset, &s.db,
               id, host) != 7 ||
        s.port < 0 || s.port > 65535 || s.db < 0 || s.db >= srv->dbs.n ||
        strlen(id) > REPLOF_ID_LEN)
        return util_fail(err, errlen, -1, "REPLICAOF state does not parse: %s", buf);
    s.epoch = epoch;
    if (strcmp(id, "-") != 0) memcpy(s.replid, id, strlen(id) + 1);
    if (s.port) snprintf(s.host, sizeof s.host, "%s", host);
    srv->replof->state = s;
    return 0;
}

void replof_state_reset(struct server *srv)
{
    memset(&srv->replof->state, 0, sizeof srv->replof->state);
}
