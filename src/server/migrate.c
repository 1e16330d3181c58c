/*
 * src/server/migrate.c - MIGRATE's trip to its target and back (see
 * migrate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "keyspace/kv.h"
#include "node/node.h"
#include "node/waiters.h"
#include "raft/raft_assert.h"
#include "server/migrate.h"
#include "server/server.h"
#include "transport/transport.h"

/* A MIGRATE under way: its client (NULL once gone) and its keys. */
struct migrate {
    struct server *srv;
    struct client *c;
    int db;
    int copy;
    size_t n_pre; /* AUTH and SELECT before the RESTOREs */
    struct migrate_key *keys;
    size_t n;
};

void migrate_keys_free(struct migrate_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(keys[i].key);
        free(keys[i].payload);
    }
    free(keys);
}

static void migrate_free(struct migrate *m)
{
    migrate_keys_free(m->keys, m->n);
    free(m);
}

/* The commands to send (AUTH, SELECT, one RESTORE per key) into cmds, with
 * their arguments in args (room for 6 per command) and numbers in nums
 * (room for 24 bytes per command). Returns their count. */
static int build_pipeline(const struct migrate_req *req, struct transport_cmd *cmds,
                          struct resp_arg *args, char *nums)
{
    int n = 0;
    struct resp_arg *a = args;
    if (req->password) {
        cmds[n++] = (struct transport_cmd){req->user ? 3 : 2, a};
        *a++ = (struct resp_arg){"AUTH", 4};
        if (req->user) *a++ = *req->user;
        *a++ = *req->password;
    }
    cmds[n++] = (struct transport_cmd){2, a};
    *a++ = (struct resp_arg){"SELECT", 6};
    *a++ = (struct resp_arg){nums, util_ll2str(nums, 24, req->db)};
    nums += 24;
    for (size_t i = 0; i < req->n; i++) {
        const struct migrate_key *k = &req->keys[i];
        cmds[n++] = (struct transport_cmd){req->replace ? 5 : 4, a};
        *a++ = (struct resp_arg){"RESTORE", 7};
        *a++ = (struct resp_arg){k->key, k->klen};
        *a++ = (struct resp_arg){nums, util_ll2str(nums, 24, k->ttl_ms)};
        nums += 24;
        *a++ = (struct resp_arg){k->payload, k->plen};
        if (req->replace) *a++ = (struct resp_arg){"REPLACE", 7};
    }
    return n;
}

static void migrate_replies(void *ud, size_t n, const struct resp_arg *replies, const char *why);

int migrate_start(struct server *srv, struct client *c, struct migrate_req *req)
{
    ASSERT(req->n > 0 && req->n <= MIGRATE_KEYS_MAX && !c->migrating);
    size_t ncmds = req->n + 2;
    struct transport_cmd *cmds = util_xcalloc(ncmds, sizeof *cmds);
    struct resp_arg *args = util_xcalloc(ncmds * 6, sizeof *args);
    char *nums = util_xmalloc(ncmds * 24);
    int built = build_pipeline(req, cmds, args, nums);
    struct migrate *m = util_xcalloc(1, sizeof *m);
    *m = (struct migrate){srv, c, c->db, req->copy, (size_t)built - req->n, req->keys, req->n};
    int rc = transport_call_pipeline(node_links(srv->node), req->host, req->port, cmds, built,
                                     req->timeout_ms, migrate_replies, m);
    free(cmds);
    free(args);
    free(nums);
    /* the payloads were copied into the connection's queue */
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i].payload);
        m->keys[i].payload = NULL;
    }
    if (rc != 0) {
        resp_add_errorf(&c->out, "ERR MIGRATE could not start: %s", transport_strerror(rc));
        migrate_free(m);
        return -1;
    }
    c->migrating = m;
    return 0;
}

/* The reply line of an error reply (without its '-' and CRLF) into buf. */
static void error_line(const struct resp_arg *r, char *buf, size_t len)
{
    size_t n = r->len >= 3 ? r->len - 3 : 0;
    if (n >= len) n = len - 1;
    memcpy(buf, r->ptr + 1, n);
    buf[n] = 0;
}

/* What the client is told, in err ("" for OK), from the replies; marks the
 * keys the target acknowledged in acked. */
static void judge(const struct migrate *m, size_t n, const struct resp_arg *replies,
                  const char *why, unsigned char *acked, char *err, size_t errlen)
{
    char line[512];
    err[0] = 0;
    for (size_t i = 0; i < m->n_pre && i < n; i++)
        if (replies[i].len && replies[i].ptr[0] == '-') {
            error_line(&replies[i], line, sizeof line);
            snprintf(err, errlen, "ERR Target instance replied with error: %s", line);
            return;
        }
    for (size_t j = 0; j < m->n && m->n_pre + j < n; j++) {
        const struct resp_arg *r = &replies[m->n_pre + j];
        if (r->len && r->ptr[0] != '-') {
            acked[j] = 1;
        } else if (!err[0]) {
            error_line(r, line, sizeof line);
            snprintf(err, errlen, "ERR Target instance replied with error: %s", line);
        }
    }
    if (!err[0] && why)
        snprintf(err, errlen, "%s",
                 strcmp(why, TRANSPORT_PIPE_CONNECT) == 0
                     ? "IOERR error or timeout connecting to the client"
                     : "IOERR error or timeout reading to target instance");
}

/* RAFTCACHE.MIGRATED <reply> (<key> <digest> <expire>)... for the acked
 * keys, proposed for c: its reply is the client's. */
static void propose_deletes(struct migrate *m, const unsigned char *acked, size_t n_acked,
                            const char *err)
{
    size_t argc = 2 + n_acked * MIGRATED_ARGS_PER_KEY;
    struct resp_arg *argv = util_xcalloc(argc, sizeof *argv);
    char *nums = util_xmalloc(n_acked * 24 + 1);
    size_t a = 0;
    argv[a++] = (struct resp_arg){"raftcache.migrated", 18};
    argv[a++] = (struct resp_arg){err, strlen(err)};
    for (size_t j = 0; j < m->n; j++) {
        if (!acked[j]) continue;
        const struct migrate_key *k = &m->keys[j];
        char *num = nums + (a / MIGRATED_ARGS_PER_KEY) * 24;
        argv[a++] = (struct resp_arg){k->key, k->klen};
        argv[a++] = (struct resp_arg){(const char *)k->digest, DIGEST_LEN};
        argv[a++] = (struct resp_arg){num, util_ll2str(num, 24, k->expire_ms)};
    }
    ASSERT(a == argc);
    struct node *node = m->srv->node;
    node_write(node, m->c, m->db, cmd_lookup_name(argv[0].ptr, argv[0].len), (int)argc, argv);
    free(argv);
    free(nums);
}

static void migrate_replies(void *ud, size_t n, const struct resp_arg *replies, const char *why)
{
    struct migrate *m = ud;
    struct client *c = m->c;
    ASSERT(c && c->migrating == m); /* a client gone cancels it */
    c->migrating = NULL;
    unsigned char *acked = util_xcalloc(m->n, 1);
    char err[640];
    judge(m, n, replies, why, acked, err, sizeof err);
    size_t n_acked = 0;
    for (size_t j = 0; j < m->n; j++)
        n_acked += acked[j];
    if (m->copy || n_acked == 0) {
        if (err[0])
            resp_add_error(&c->out, err);
        else
            resp_add_simple(&c->out, "OK");
    } else if (!node_is_leader(m->srv->node)) {
        resp_add_error(&c->out, "ERR MIGRATE: the target has the keys, but this node is no "
                                "longer the leader, so they were not deleted here");
    } else {
        propose_deletes(m, acked, n_acked, err);
    }
    free(acked);
    struct server *srv = m->srv;
    migrate_free(m);
    waiters_wake(&srv->waiters, c);
}

void migrate_client_gone(struct server *srv, struct client *c)
{
    struct migrate *m = c->migrating;
    if (!m) return;
    transport_call_cancel_ud(node_links(srv->node), m);
    c->migrating = NULL;
    migrate_free(m);
}
