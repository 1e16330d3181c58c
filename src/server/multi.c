/*
 * src/server/multi.c - MULTI/EXEC/DISCARD/WATCH/UNWATCH (see multi.h).
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_assert.h"
#include "server/call.h"
#include "server/aclstate.h"
#include "server/multi.h"
#include "server/proxy.h"
#include "server/memory.h"
#include "node/node.h"
#include "server/server.h"
#include "base/util.h"

#define MULTI_QUEUE_MAX (1 << 20) /* commands in one transaction */

struct watched_key {
    struct watched_key *client_next; /* the client's watches */
    struct watched_key *prev, *next; /* the key's watchers */
    struct client *client;
    struct dict_entry *key; /* entry in srv->watched; val = first watcher */
    int db;                 /* the key's database: the client's when it watched */
    int expired_at_watch;   /* key was logically absent when watched */
};

void multi_key_changed(struct server *srv, int db, const char *key, size_t len)
{
    if (dict_size(&srv->watched) == 0) return;
    struct dict_entry *e = dict_find(&srv->watched, key, len);
    if (!e) return;
    int present = kv_physically_exists(kv_db(&srv->dbs, db), key, len);
    for (struct watched_key *w = e->val; w; w = w->next) {
        if (w->db != db || (w->expired_at_watch && !present)) continue;
        w->client->flags |= CLIENT_DIRTY_CAS;
    }
}

/* Called before database db is flushed: every watcher of a key of it that
 * is present (and was not an already-expired key when watched) is
 * dirtied. */
void multi_flushed(struct server *srv, int db)
{
    struct kv *kv = kv_db(&srv->dbs, db);
    for (struct client *c = srv->clients; c; c = c->next) {
        for (struct watched_key *w = c->watched; w; w = w->client_next) {
            if (w->db != db || w->expired_at_watch) continue;
            if (kv_physically_exists(kv, w->key->key, w->key->key_len))
                c->flags |= CLIENT_DIRTY_CAS;
        }
    }
}

/* w's key as database `emptied` loses its keys for those of `replaced`. */
static void touch_swapped(struct watched_key *w, struct kv *emptied, struct kv *replaced,
                          int64_t now_ms)
{
    const char *key = w->key->key;
    size_t len = w->key->key_len;
    int in_emptied = kv_physically_exists(emptied, key, len);
    int in_replaced = kv_physically_exists(replaced, key, len);
    if (!in_emptied && !in_replaced) return;
    int replaced_expired = in_replaced && !kv_exists(replaced, key, len, now_ms);
    if (w->expired_at_watch) {
        if (!in_replaced) { /* an expired key now deleted: no logical change */
            w->expired_at_watch = 0;
            return;
        }
        if (replaced_expired) return; /* expired before and after */
    } else if (!in_emptied && replaced_expired) {
        w->expired_at_watch = 1; /* absent, now an expired key */
        return;
    }
    w->client->flags |= CLIENT_DIRTY_CAS;
}

void multi_swapped(struct server *srv, int a, int b)
{
    int64_t now = server_now_ms();
    for (struct client *c = srv->clients; c; c = c->next)
        for (struct watched_key *w = c->watched; w; w = w->client_next) {
            if (w->db != a && w->db != b) continue;
            int other = w->db == a ? b : a;
            touch_swapped(w, kv_db(&srv->dbs, w->db), kv_db(&srv->dbs, other), now);
        }
}

void multi_init(struct server *srv)
{
    dict_init(&srv->watched, util_rand64(&srv->rng));
}

void multi_free(struct server *srv)
{
    dict_free(&srv->watched, NULL);
}

/* One block: the argv array followed by the argument bytes. */
static struct resp_arg *argv_copy(int argc, const struct resp_arg *argv)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += argv[i].len;
    struct resp_arg *copy = util_xmalloc((size_t)argc * sizeof *copy + bytes + 1);
    char *p = (char *)(copy + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].ptr, argv[i].len);
        copy[i].ptr = p;
        copy[i].len = argv[i].len;
        p += argv[i].len;
    }
    return copy;
}

void multi_queue(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv)
{
    struct multi_state *m = &c->mstate;
    ASSERT((c->flags & CLIENT_MULTI) && cmd && m->count <= m->cap);
    if (m->count == MULTI_QUEUE_MAX) {
        c->flags |= CLIENT_DIRTY_EXEC;
        return;
    }
    if (m->count == m->cap) {
        int ncap = m->cap ? m->cap * 2 : 8;
        struct multi_cmd *n = util_xrealloc(m->cmds, (size_t)ncap * sizeof *n);
        m->cmds = n;
        m->cap = ncap;
    }
    m->cmds[m->count].argc = argc;
    m->cmds[m->count].argv = argv_copy(argc, argv);
    m->count++;
    m->cmd_flags |= cmd->flags;
    if (cmd->acl_write && cmd->acl_write(argc, argv)) m->cmd_flags |= CMD_WRITE; /* the log's */
}

/* q's arguments become argc words of argv, copied. */
static void requeue(struct multi_cmd *q, int argc, const struct resp_arg *argv)
{
    struct resp_arg *copy = argv_copy(argc, argv);
    free(q->argv);
    q->argv = copy;
    q->argc = argc;
}

void multi_exec_prepare(struct client *c)
{
    struct multi_state *m = &c->mstate;
    if (m->prepared || (c->flags & (CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS))) return;
    m->prepared = 1;
    for (int i = 0; i < m->count; i++) {
        struct multi_cmd *q = &m->cmds[i];
        const struct command *parent;
        const struct command *cmd = cmd_lookup(q->argv, q->argc, &parent);
        char err[512];
        if (cmd && aclstate_exec_check(c->srv, c, cmd, q->argc, q->argv, err, sizeof err) != 0) {
            struct resp_arg denied[2] = {{"raftcache.denied", 16}, {err, strlen(err)}};
            requeue(q, 2, denied);
            continue;
        }
        int argc = q->argc;
        struct resp_arg *as = aclstate_as_script(c, cmd, &argc, q->argv);
        if (as) requeue(q, argc, as);
        free(as);
    }
}

/* The queue's ACL writes wrapped as src/server/aclstate.h says, as the
 * dispatcher wraps them outside a transaction (on the leader, which
 * proposes them): 0, or -1 with the error. */
static int wrap_acl_writes(struct client *c, char *err, size_t errlen)
{
    struct multi_state *m = &c->mstate;
    for (int i = 0; i < m->count; i++) {
        struct multi_cmd *q = &m->cmds[i];
        const struct command *parent;
        const struct command *cmd = cmd_lookup(q->argv, q->argc, &parent);
        if (!cmd || !cmd->acl_write || !cmd->acl_write(q->argc, q->argv)) continue;
        struct aclstate_wrapped w;
        if (aclstate_wrap(c->srv, q->argc, q->argv, &w, err, errlen) != 0) return -1;
        requeue(q, w.argc, w.argv);
        aclstate_wrapped_free(&w);
    }
    return 0;
}

void multi_discard(struct client *c)
{
    struct multi_state *m = &c->mstate;
    for (int i = 0; i < m->count; i++)
        free(m->cmds[i].argv);
    free(m->cmds);
    memset(m, 0, sizeof *m);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS);
}

void multi_unwatch_all(struct client *c)
{
    struct server *srv = c->srv;
    struct watched_key *w = c->watched;
    while (w) {
        struct watched_key *next = w->client_next;
        if (w->prev)
            w->prev->next = w->next;
        else
            w->key->val = w->next;
        if (w->next) w->next->prev = w->prev;
        if (!w->key->val) dict_delete(&srv->watched, w->key->key, w->key->key_len, NULL);
        free(w);
        w = next;
    }
    c->watched = NULL;
    c->watched_count = 0;
    c->flags &= ~CLIENT_DIRTY_CAS;
    proxy_unwatch(c); /* the leader's watches for a follower's client */
}

void multi_client_reset(struct client *c)
{
    multi_discard(c);
    multi_unwatch_all(c);
}

static void watch_key(struct client *c, const struct resp_arg *key, int64_t now_ms)
{
    struct server *srv = c->srv;
    struct dict_entry *e = dict_find(&srv->watched, key->ptr, key->len);
    if (e) {
        for (struct watched_key *w = e->val; w; w = w->next)
            if (w->client == c && w->db == c->db) return; /* already watched */
    } else {
        e = dict_add(&srv->watched, key->ptr, key->len, NULL, NULL);
    }
    struct watched_key *w = util_xcalloc(1, sizeof *w);
    w->client = c;
    w->key = e;
    w->db = c->db;
    struct kv *kv = server_db(srv, c);
    w->expired_at_watch =
        kv_physically_exists(kv, key->ptr, key->len) && !kv_exists(kv, key->ptr, key->len, now_ms);
    w->next = e->val;
    if (w->next) w->next->prev = w;
    e->val = w;
    w->client_next = c->watched;
    c->watched = w;
    c->watched_count++;
}

/* A watched key with a write ahead of this EXEC in the log but not applied
 * yet (src/sm/inflight.h): checked against the applied keyspace only, the EXEC
 * would overwrite that write. A read-only queue runs locally after its
 * ReadIndex and needs no such check. */
static int watched_key_in_flight(struct client *c)
{
    for (struct watched_key *w = c->watched; w; w = w->client_next)
        if (sm_write_in_flight(&c->srv->sm, w->key->key, w->key->key_len)) return 1;
    return 0;
}

/* A watched key that was present when watched and has expired since. */
static int watched_key_expired(struct client *c, int64_t now_ms)
{
    for (struct watched_key *w = c->watched; w; w = w->client_next) {
        struct kv *kv = kv_db(&c->srv->dbs, w->db);
        if (w->expired_at_watch) continue;
        if (kv_physically_exists(kv, w->key->key, w->key->key_len) &&
            !kv_exists(kv, w->key->key, w->key->key_len, now_ms))
            return 1;
    }
    return 0;
}

void cmd_multi(struct cmd_ctx *c)
{
    if (c->client->flags & CLIENT_MULTI) {
        resp_add_error(c->out, "ERR MULTI calls can not be nested");
        return;
    }
    c->client->flags |= CLIENT_MULTI;
    resp_add_simple(c->out, "OK");
}

void cmd_discard(struct cmd_ctx *c)
{
    if (!(c->client->flags & CLIENT_MULTI)) {
        resp_add_error(c->out, "ERR DISCARD without MULTI");
        return;
    }
    multi_discard(c->client);
    multi_unwatch_all(c->client);
    resp_add_simple(c->out, "OK");
}

/* Runs a read-only queue locally: reply array of each command's reply. */
static void exec_local(struct cmd_ctx *c)
{
    struct multi_state *m = &c->client->mstate;
    resp_add_array_len(c->out, m->count);
    for (int i = 0; i < m->count; i++) {
        const struct multi_cmd *q = &m->cmds[i];
        const struct command *cmd = cmd_resolve(q->argc, q->argv, c->out);
        if (cmd) call_command(c->srv, c->client, cmd, q->argc, q->argv, c->now_ms, c->out, NULL);
    }
}

void cmd_exec(struct cmd_ctx *c)
{
    struct client *cl = c->client;
    if (!(cl->flags & CLIENT_MULTI)) {
        resp_add_error(c->out, "ERR EXEC without MULTI");
        return;
    }
    if ((cl->mstate.cmd_flags & CMD_DENYOOM) && memory_refuses(c->srv)) {
        resp_add_error(c->out, "EXECABORT Transaction discarded because of: OOM command not "
                               "allowed when used memory > 'maxmemory'.");
        multi_discard(cl);
        multi_unwatch_all(cl);
        return;
    }
    if (cl->flags & CLIENT_DIRTY_EXEC) {
        resp_add_error(c->out, "EXECABORT Transaction discarded because of previous errors.");
        multi_discard(cl);
        multi_unwatch_all(cl);
        return;
    }
    if (watched_key_expired(cl, c->now_ms)) cl->flags |= CLIENT_DIRTY_CAS;
    if ((cl->mstate.cmd_flags & CMD_WRITE) && watched_key_in_flight(cl))
        cl->flags |= CLIENT_DIRTY_CAS;
    if (cl->flags & CLIENT_DIRTY_CAS) {
        resp_add_null_array(c->out);
        multi_discard(cl);
        multi_unwatch_all(cl);
        return;
    }
    multi_unwatch_all(cl);
    char err[1024];
    if ((cl->mstate.cmd_flags & CMD_WRITE) && wrap_acl_writes(cl, err, sizeof err) != 0)
        resp_add_errorf(c->out, "EXECABORT Transaction discarded because of: %s", err);
    else if (cl->mstate.cmd_flags & CMD_WRITE)
        node_write_multi(c->srv->node, cl);
    else
        exec_local(c);
    multi_discard(cl);
}

void cmd_watch(struct cmd_ctx *c)
{
    if (c->client->flags & CLIENT_MULTI) {
        resp_add_error(c->out, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++)
        watch_key(c->client, &c->argv[i], c->now_ms);
    resp_add_simple(c->out, "OK");
}

void cmd_unwatch(struct cmd_ctx *c)
{
    multi_unwatch_all(c->client);
    resp_add_simple(c->out, "OK");
}
