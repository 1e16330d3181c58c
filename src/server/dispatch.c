/*
 * src/server/dispatch.c - command lookup, the checks every command shares, and
 * routing (see dispatch.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "raft/raft_assert.h"
#include "server/blocked.h"
#include "cmd/monitor.h"
#include "server/memory.h"
#include "server/migrate.h"
#include "server/replof.h"
#include "server/call.h"
#include "server/aclstate.h"
#include "server/dispatch.h"
#include "base/log.h"
#include "server/monitors.h"
#include "server/multi.h"
#include "node/node.h"
#include "server/pause.h"
#include "server/proxy.h"
#include "server/server.h"
#include "server/tracking.h"
#include "base/util.h"
#include "node/waiters.h"

static void reject(struct client *c, const struct command *cmd, const char *err)
{
    resp_add_error(&c->out, err);
    monitor_rejected(&c->srv->monitor, cmd_id(cmd));
    if (c->flags & CLIENT_MULTI) c->flags |= CLIENT_DIRTY_EXEC;
}

/* While a client waits for the log, only a further write may go ahead (it is
 * proposed behind the others); while it waits for forwarded replies, only a
 * further command to forward (src/server/proxy.h). Anything else, and anything that
 * would be refused at once (OOM, -BUSY while a script is busy), would answer
 * out of order. */
static int must_wait(const struct client *c, const struct command *cmd)
{
    ASSERT(c->hold == HOLD_NONE);
    if (!c->waiting_read && c->pending_writes == 0 && c->pending_proxied == 0 && !c->waiting_acks &&
        !c->migrating)
        return 0;
    /* its WAIT or MIGRATE answers first (src/server/replwait.h, migrate.h) */
    if (c->waiting_acks || c->migrating) return 1;
    if (cmd && cmd->proc == proxy_select) return c->waiting_read; /* no reply to order */
    if (c->waiting_read || (c->flags & CLIENT_MULTI) || !(c->flags & CLIENT_AUTHED)) return 1;
    if (server_script_busy(c->srv, NULL)) return 1;
    if (!cmd) return 1; /* its error reply must not overtake the pending ones */
    if ((cmd->flags & CMD_DENYOOM) && memory_refuses(c->srv)) return 1;
    if (c->pending_proxied) return !proxy_may_follow(c, cmd);
    return !(cmd->flags & CMD_WRITE);
}

/* A write flagged CMD_ABSENT_NOOP (SPOP, ZPOPMIN, DEL, HDEL, ...) changes
 * nothing when every key it names is absent, and redis-server propagates
 * nothing for it. On the leader, such a call whose keys are physically
 * absent (a key kept past its expiry would be deleted: a write) and have no
 * write on its way through the log (staged or proposed, the caller's own
 * included, src/sm/inflight.h) is served as a linearizable read: a ReadIndex
 * round, then the handler on the still absent keys. Every acknowledged
 * write to those keys is applied (none is in flight), so their absence is
 * the committed state; a write arriving meanwhile is checked again when the
 * read is released (dispatch runs again), and goes through the log if the
 * keys appeared. A queue's worth of pops on an emptied key then costs no
 * fsync, as on redis-server. */
#define NOOP_KEYS_MAX 64
static int absent_noop(struct server *srv, struct kv *kv, const struct command *cmd, int argc,
                       const struct resp_arg *argv)
{
    if (!(cmd->flags & CMD_ABSENT_NOOP) || !node_is_leader(srv->node)) return 0;
    int idx[NOOP_KEYS_MAX];
    int n = cmd_get_keys(cmd, argc, argv, idx, NOOP_KEYS_MAX);
    if (n == 0 || n == NOOP_KEYS_MAX) return 0;
    for (int i = 0; i < n; i++) {
        const struct resp_arg *k = &argv[idx[i]];
        if (kv_physically_exists(kv, k->ptr, k->len) ||
            sm_write_in_flight(&srv->sm, k->ptr, k->len))
            return 0;
    }
    return 1;
}

/* The flags this call is routed by: the row's, or what its call_flags
 * hook makes of them (a no-writes script is a read). */
static uint32_t call_flags(struct server *srv, const struct command *cmd, int argc,
                           const struct resp_arg *argv)
{
    return cmd->call_flags ? cmd->call_flags(srv, argc, argv, cmd->flags) : cmd->flags;
}

/* 1 if this call goes through the log: a write (but an absent-key no-op,
 * above), or a read whose writes hook says it would change the keyspace
 * (decided by the leader only: a follower runs such a read without
 * changing anything). */
static int call_writes(struct server *srv, struct kv *kv, const struct command *cmd, uint32_t flags,
                       int argc, const struct resp_arg *argv)
{
    if (flags & CMD_WRITE) return !absent_noop(srv, kv, cmd, argc, argv);
    return cmd->writes && node_is_leader(srv->node) && cmd->writes(kv, argc, argv, server_now_ms());
}

/* MONITOR (src/server/monitors.h): the command is run here, proposed or forwarded
 * for one of this node's clients. One test when no monitor is attached. */
static void feed_one(struct client *c, const struct command *cmd, int argc,
                     const struct resp_arg *argv)
{
    if (!monitors_skips(cmd)) monitors_feed(&c->srv->monitors, c, argc, argv);
}

/* Once per command (client.monitor_fed): a command taken up again where
 * it stopped (a blocking command woken, or run again when another client's
 * pop took its elements) is not shown again. EXEC as Redis shows it: the
 * queued commands it runs (none when it is refused: a queued command
 * failed, or a watched key changed), then EXEC. */
static void feed(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv)
{
    if (!monitors_active(&c->srv->monitors) || (c->flags & CLIENT_PEER) || c->monitor_fed) return;
    c->monitor_fed = 1;
    int exec = (cmd->flags & CMD_EXEC) && (c->flags & CLIENT_MULTI);
    if (exec && !(c->flags & (CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS))) {
        for (int i = 0; i < c->mstate.count; i++) {
            const struct multi_cmd *q = &c->mstate.cmds[i];
            const struct command *parent;
            const struct command *qc = cmd_lookup(q->argv, q->argc, &parent);
            if (qc) feed_one(c, qc, q->argc, q->argv);
        }
    }
    feed_one(c, cmd, argc, argv);
}

/* The hash slot of the command's first key (0 if it names none), for MOVED. */
static unsigned cmd_slot(const struct command *cmd, int argc, const struct resp_arg *argv)
{
    int first;
    if (!cmd || cmd_get_keys(cmd, argc, argv, &first, 1) == 0) return 0;
    return util_key_slot(argv[first].ptr, argv[first].len);
}

/* A follower cannot serve the command: forwarded to the leader (its reply
 * follows, src/server/proxy.h), or answered -MOVED / -CLUSTERDOWN. */
static enum node_route to_leader(struct client *c, const struct command *cmd, int argc,
                                 const struct resp_arg *argv)
{
    struct node *n = c->srv->node;
    uint32_t before = c->pending_proxied;
    int pr = proxy_route(c->srv, node_links(n), node_leader(n), c, cmd, argc, argv);
    if (c->pending_proxied > before) feed(c, cmd, argc, argv); /* forwarded: it runs */
    if (pr != PROXY_DECLINED) return (enum node_route)pr;      /* forwarded, refused, or wait */
    /* Blocked clients get -MOVED (src/server/blocked.h). Checked here, not only by
     * the leader watch, which marks clients after the loop iteration in
     * which the node stepped down. */
    if (!(cmd->flags & CMD_BLOCKING) && node_close_instead_of_redirect(n, c)) return NODE_REPLIED;
    node_reply_not_leader(n, c, cmd_slot(cmd, argc, argv));
    monitor_rejected(&c->srv->monitor, cmd_id(cmd)); /* as Redis counts a redirection */
    return NODE_REPLIED;
}

/* Routes a command through the node: run here, wait, or already answered
 * (an EXEC answered elsewhere ends its transaction). */
static enum node_route route(struct client *c, const struct command *cmd, uint32_t cmd_flags,
                             int argc, const struct resp_arg *argv, int writes)
{
    int exec = (cmd->flags & CMD_EXEC) != 0;
    uint32_t flags = exec ? c->mstate.cmd_flags : cmd_flags;
    /* EXEC without MULTI, or refused (a queued command failed, a watched key
     * changed): answered here, on any node. */
    if (exec && (!(c->flags & CLIENT_MULTI) || (c->flags & (CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS))))
        flags = 0;
    if (writes)
        flags |= CMD_WRITE;
    else if (!exec && (flags & CMD_WRITE)) /* an absent-key no-op: a read */
        flags = (flags & ~(uint32_t)CMD_WRITE) | CMD_READONLY;
    /* Forwarded replies are pending and this node now leads: what it would
     * run itself must not overtake them (proxy.h). */
    if (c->pending_proxied && node_is_leader(c->srv->node)) return NODE_WAIT;
    if (node_is_leader(c->srv->node)) c->talked_to_leader = 1;
    enum node_route r = NODE_NOT_LEADER;
    if (node_is_leader(c->srv->node) || !proxy_takes(c->srv, c, cmd))
        r = node_route(c->srv->node, c, (flags & CMD_WRITE) != 0, (flags & CMD_READONLY) != 0);
    if (r == NODE_NOT_LEADER) r = to_leader(c, cmd, argc, argv);
    if (r == NODE_REPLIED && exec) multi_client_reset(c);
    /* an UNWATCH the leader got ends the watches kept here too (this node
     * led when they were set) */
    if (r == NODE_REPLIED && cmd->proxy == CMD_PROXY_UNWATCH) multi_unwatch_all(c);
    return r;
}

/* Protected mode (src/net/conn.c): a non-loopback client that has not proved to
 * be a peer may run RAFT.AUTH and nothing else, unknown commands included. */
static int protected_refuses(const struct client *c, const struct command *cmd)
{
    if (!(c->flags & CLIENT_PROTECTED) || (c->flags & CLIENT_PEER)) return 0;
    return !cmd || !(cmd->flags & CMD_PEER_AUTH);
}

/* enable-debug-command (CMD_PROTECTED: DEBUG, raftcache's only protected
 * command) refuses c: Redis's check, after lookup and arity and before
 * authentication. */
static int protected_cmd_refused(const struct client *c, const struct command *cmd)
{
    if (!(cmd->flags & CMD_PROTECTED)) return 0;
    int allow = c->srv->cfg.enable_debug_command;
    if (allow == CONFIG_PROTECTED_YES) return 0;
    return !(allow == CONFIG_PROTECTED_LOCAL && (c->flags & CLIENT_LOCAL));
}

/* The command argv names with a valid arity, or NULL (its error is written
 * by cmd_resolve() when it is its turn): a container (CLIENT, COMMAND...)
 * comes back from cmd_lookup() when argv[1] names none of its
 * subcommands, and must not run. Looked up once per command: a command
 * that waits keeps it (client.held_cmd). */
static const struct command *look_up(int argc, const struct resp_arg *argv)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    if (!cmd || !cmd->proc || ((cmd->flags & CMD_CONTAINER) && argc >= 2)) return NULL;
    return cmd_arity_ok(cmd, argc) ? cmd : NULL;
}

/* A known command refused for its number of arguments is a rejected call
 * of it (INFO commandstats), as in Redis; an unknown one is nobody's. */
static void count_arity_error(struct server *srv, int argc, const struct resp_arg *argv)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    if (cmd && cmd->proc && !((cmd->flags & CMD_CONTAINER) && argc >= 2))
        monitor_rejected(&srv->monitor, cmd_id(cmd));
}

/* The command waits, resolved and checked: taken up here again when the
 * client is woken. A blocking call proposed meanwhile stays in the log
 * (IN_LOG), or was answered at once (the log refused it: ANSWERED). */
static enum dispatch_result hold(struct client *c, const struct command *cmd)
{
    ASSERT(cmd);
    c->held_cmd = cmd;
    if (c->hold == HOLD_NONE) client_hold_to(c, HOLD_CHECKED);
    ASSERT(c->hold == HOLD_CHECKED || c->hold == HOLD_IN_LOG || c->hold == HOLD_ANSWERED);
    return DISPATCH_WAIT;
}

/* How many clients waiting on one key a write takes along into its entry
 * (src/server/blocked.h): as many as it has element arguments (at least one, at
 * most this); the after-apply wake-up serves any more. */
#define SERVE_PER_KEY_MAX 64
#define SERVE_KEYS_MAX 64

/* argv goes into the open batch behind the internal command `name`, which
 * runs it at apply with what the leader knew (RAFTCACHE.SERVE: a woken
 * client's call; RAFTCACHE.OOM: a script proposed over maxmemory). */
static void submit_wrapped(struct client *c, const char *name, int argc,
                           const struct resp_arg *argv)
{
    size_t len = strlen(name);
    struct resp_arg *w = util_xmalloc(((size_t)argc + 1) * sizeof *w);
    w[0] = (struct resp_arg){name, len};
    memcpy(w + 1, argv, (size_t)argc * sizeof *w);
    node_write(c->srv->node, c, c->db, cmd_lookup_name(name, len), argc + 1, w);
    free(w);
}

/* A script (EVAL, FCALL) goes into the open batch as sent, or behind
 * RAFTCACHE.OOM (EVAL's) when
 * the leader is over maxmemory (its deny-oom commands fail, src/script/
 * script.h), behind RAFTCACHE.AS when the client's ACL user is restricted
 * (its commands are checked against that user where it is applied,
 * src/server/aclstate.h), or both. */
static void submit_script(struct client *c, const struct command *cmd, int argc,
                          const struct resp_arg *argv)
{
    struct resp_arg pre[3];
    int n = aclstate_as(c, pre), skip = 0;
    const struct command *script = cmd;
    if (cmd->wraps_script) { /* RAFTCACHE.AS a follower forwarded */
        ASSERT(argc >= 3);
        memcpy(pre, argv, 2 * sizeof *argv);
        n = skip = 2;
        const struct command *parent;
        script = cmd_lookup(argv + 2, argc - 2, &parent);
    }
    if (script && (script->flags & CMD_SCRIPT) && memory_refuses(c->srv)) /* EVAL's, not FCALL's */
        pre[n++] = (struct resp_arg){"raftcache.oom", 13};
    if (n == skip) {
        node_write(c->srv->node, c, c->db, cmd, argc, argv);
        return;
    }
    int rest = argc - skip;
    struct resp_arg *w = util_xmalloc(((size_t)rest + 3) * sizeof *w);
    memcpy(w, pre, (size_t)n * sizeof *w);
    memcpy(w + n, argv + skip, (size_t)rest * sizeof *w);
    node_write(c->srv->node, c, c->db, cmd_lookup_name(w[0].ptr, w[0].len), rest + n, w);
    free(w);
}

/* An ACL write goes into the open batch wrapped as src/server/aclstate.h
 * says; one refused there (ACL LOAD's file) is answered at once. */
static void submit_acl_write(struct client *c, int argc, const struct resp_arg *argv)
{
    struct aclstate_wrapped w;
    char err[4096];
    if (aclstate_wrap(c->srv, argc, argv, &w, err, sizeof err) != 0) {
        resp_add_errorf(&c->out, "ERR %s", err);
        return;
    }
    node_write(c->srv->node, c, c->db, cmd_lookup_name("raftcache.acl", 13), w.argc, w.argv);
    aclstate_wrapped_free(&w);
}

/* c's blocking call goes into the open batch; a woken client's as the
 * leader serves it (RAFTCACHE.SERVE: a key of another type counts as
 * empty), a fresh call as sent. */
static void propose_blocking(struct client *c, const struct command *cmd, int argc,
                             const struct resp_arg *argv)
{
    ASSERT(cmd && (cmd->flags & CMD_BLOCKING));
    client_hold_to(c, HOLD_IN_LOG); /* before: the log may refuse it at once */
    if (!c->blocked) {
        node_write(c->srv->node, c, c->db, cmd, argc, argv);
        return;
    }
    submit_wrapped(c, "raftcache.serve", argc, argv);
}

/* The first clients waiting on n_keys keys of argv in database db (but
 * those a blocking call pops from, blk's), at most per_key a key, appended
 * to *list. */
static void take_waiters(struct blocked *b, int db, const struct command *cmd, int argc,
                         const struct resp_arg *argv, const struct cmd_block *blk,
                         struct client ***list, size_t *n, size_t *cap)
{
    int idx[SERVE_KEYS_MAX];
    int nk = cmd_get_keys(cmd, argc, argv, idx, SERVE_KEYS_MAX);
    size_t per_key = argc > 2 ? (size_t)argc - 2 : 1;
    if (per_key > SERVE_PER_KEY_MAX) per_key = SERVE_PER_KEY_MAX;
    for (int i = 0; i < nk; i++) {
        if (blk && idx[i] >= blk->first_key && idx[i] < blk->first_key + blk->nkeys) continue;
        if (*cap - *n < per_key) {
            *cap = 2 * *cap + per_key;
            *list = util_xrealloc(*list, *cap * sizeof **list);
        }
        *n += blocked_take(b, db, argv[idx[i]].ptr, argv[idx[i]].len, per_key, *list + *n);
    }
}

/* A write just proposed on the leader takes along, into the same entry,
 * the calls of the first clients waiting on the keys it writes, and theirs
 * the clients waiting on what they push to (BLMOVE chains): applied
 * together, as Redis serves blocked clients before the next command runs. */
static void serve_waiters(struct server *srv, int db, const struct command *cmd, int argc,
                          const struct resp_arg *argv, const struct cmd_block *blk)
{
    if (srv->blocked.n_clients == 0) return;
    struct client **list = NULL;
    size_t n = 0, cap = 0;
    take_waiters(&srv->blocked, db, cmd, argc, argv, blk, &list, &n, &cap);
    for (size_t i = 0; i < n; i++) { /* breadth first: each client once */
        struct client *w = list[i];
        ASSERT(w->blocked && w->hold == HOLD_CHECKED); /* waiting on keys, its call held */
        int wargc;
        const struct cmd_block *wblk;
        const struct resp_arg *wargv = blocked_call(w, &wargc, &wblk);
        propose_blocking(w, w->held_cmd, wargc, wargv);
        take_waiters(&srv->blocked, w->db, w->held_cmd, wargc, wargv, wblk, &list, &n, &cap);
    }
    free(list);
}

/* A blocking command outside MULTI (src/server/blocked.h), routed as a write (a
 * follower answers -MOVED) and held until it is answered. On the leader it
 * is probed first (its arguments checked, what it waits for told); then,
 * judged on the applied keyspace, it blocks when no key it waits on holds a
 * value, or when other clients wait on such a key (they come first), and
 * goes through the log otherwise: applied, it is served, or replies nothing
 * when another client's pop took the elements first and runs again. No
 * ReadIndex round: blocking answers nothing, and the writes still in the
 * log (the client's own too) wake it when they are applied. */
static enum dispatch_result run_blocking(struct client *c, const struct command *cmd, int argc,
                                         const struct resp_arg *argv)
{
    struct server *srv = c->srv;
    enum node_route r = route(c, cmd, cmd->flags, argc, argv, 1);
    if (r == NODE_WAIT) return hold(c, cmd);
    if (r != NODE_REPLIED) feed(c, cmd, argc, argv);
    struct cmd_block blk;
    int64_t now = server_now_ms();
    if (r == NODE_REPLIED || !call_command(srv, c, cmd, argc, argv, now, &c->out, &blk)) {
        blocked_remove(&srv->blocked, c); /* answered: -MOVED, an argument error */
        return DISPATCH_DONE;
    }
    if (c->blocked) { /* woken: its call as it blocked (IDs fixed then, src/server/blocked.h) */
        const struct cmd_block *held;
        argv = blocked_call(c, &argc, &held);
    }
    if (blocked_must_wait(&srv->blocked, c, &blk, argv, server_db(srv, c), now)) {
        blocked_add(&srv->blocked, c, &blk, argc, argv, server_db(srv, c), now);
        return hold(c, cmd);
    }
    propose_blocking(c, cmd, argc, argv);
    serve_waiters(srv, c->db, cmd, argc, argv, &blk);
    return hold(c, cmd);
}

/* Runs, waits for or answers a command that passed its checks (counted,
 * authenticated, not refused for memory, not queued in a transaction). */
static enum dispatch_result run_checked(struct client *c, const struct command *cmd, int argc,
                                        const struct resp_arg *argv)
{
    ASSERT(c->hold == HOLD_NONE); /* taken up: nothing held */
    struct server *srv = c->srv;
    if ((cmd->flags & CMD_EXEC) && (c->flags & CLIENT_MULTI)) multi_exec_prepare(c);
    uint32_t flags = call_flags(srv, cmd, argc, argv);
    if (flags & CMD_BLOCKING) return run_blocking(c, cmd, argc, argv);
    int writes = call_writes(srv, server_db(srv, c), cmd, flags, argc, argv);
    enum node_route r = route(c, cmd, flags, argc, argv, writes);
    if (r == NODE_WAIT) return hold(c, cmd);
    if (r == NODE_REPLIED) return DISPATCH_DONE;
    feed(c, cmd, argc, argv);
    if (writes) {
        /* Over maxmemory, a script's deny-oom commands fail (src/script/script.h):
         * the leader's memory decides, and the entry says so. */
        if ((cmd->flags & CMD_SCRIPT) || cmd->runs_script || cmd->wraps_script)
            submit_script(c, cmd, argc, argv);
        else if (cmd->acl_write && cmd->acl_write(argc, argv))
            submit_acl_write(c, argc, argv);
        else
            node_write(srv->node, c, c->db, cmd, argc, argv);
        serve_waiters(srv, c->db, cmd, argc, argv, NULL);
    } else if ((c->tracking & TRACKING_ON) && memory_evicts_first(srv)) {
        /* A tracking client's read on a leader over maxmemory: the keys
         * evicted first are invalidated before its reply, as in Redis, so
         * the read goes through the log behind their deletions (applied
         * here only: a follower skips a read nobody waits for there). */
        node_write(srv->node, c, c->db, cmd, argc, argv);
    } else {
        call_command(srv, c, cmd, argc, argv, server_now_ms(), &c->out, NULL);
    }
    return DISPATCH_DONE;
}

/* 1 if this call may write, for CLIENT PAUSE WRITE (Redis's
 * is_may_replicate_command): a write (a script declaring no-writes is
 * not), a may-replicate command, EXEC of a queue holding one. */
static int call_may_write(struct server *srv, const struct command *cmd, int argc,
                          const struct resp_arg *argv)
{
    return (call_flags(srv, cmd, argc, argv) & (CMD_WRITE | CMD_MAY_REPLICATE)) != 0;
}

static int may_write(struct client *c, const struct command *cmd, int argc,
                     const struct resp_arg *argv)
{
    if (!(cmd->flags & CMD_EXEC) || !(c->flags & CLIENT_MULTI))
        return call_may_write(c->srv, cmd, argc, argv);
    for (int i = 0; i < c->mstate.count; i++) {
        const struct multi_cmd *q = &c->mstate.cmds[i];
        const struct command *parent;
        const struct command *qc = cmd_lookup(q->argv, q->argc, &parent);
        if (qc && call_may_write(c->srv, qc, q->argc, q->argv)) return 1;
    }
    return 0;
}

/* 1 if CLIENT PAUSE holds the command back (src/server/pause.h). Peer links are
 * not paused (Raft and pub/sub links: their messages are no client's), but
 * the keyspace commands the follower proxy forwards for its clients are,
 * as if those clients were connected here. One test when not paused. */
static int paused(struct client *c, const struct command *cmd, int argc,
                  const struct resp_arg *argv)
{
    const struct pause *p = &c->srv->pause;
    if (!p->end_ms) return 0;
    int w = may_write(c, cmd, argc, argv);
    if (!(c->flags & CLIENT_PEER)) return pause_holds(p, w);
    if (cmd->flags & CMD_INTERNAL) return 0;
    return w || (p->all && (cmd->flags & CMD_READONLY));
}

/* While the cluster replicates a Redis master (src/server/replof.h), as a
 * Redis replica: a write gets -READONLY (an admin command routed through
 * the log, REPLICAOF, ACL SETUSER, does not count; a script that does not
 * declare no-writes does), and while a full sync loads, a command not
 * flagged ok-loading gets -LOADING. 1 if refused (answered). */
static int replof_refuses(struct client *c, const struct command *cmd, int argc,
                          const struct resp_arg *argv)
{
    if (!replof_active(c->srv) || (c->flags & CLIENT_PEER)) return 0;
    if (replof_loading(c->srv) && !(cmd->flags & CMD_LOADING)) {
        reject(c, cmd, "LOADING Redis is loading the dataset in memory");
        return 1;
    }
    if (cmd->flags & CMD_ADMIN) return 0;
    if (!(cmd->flags & CMD_WRITE) && !(call_flags(c->srv, cmd, argc, argv) & CMD_WRITE)) return 0;
    reject(c, cmd, "READONLY You can't write against a read only replica.");
    return 1;
}

/* The error of a command not looked up: unknown, renamed or taken away
 * (rename-command), an unknown subcommand or a wrong arity. */
static void reply_not_found(struct client *c, int argc, const struct resp_arg *argv)
{
    if (c->name_hidden) {
        cmd_reply_unknown(&c->out, argc, argv);
        return;
    }
    cmd_resolve(argc, argv, &c->out); /* writes Redis's error for it */
    count_arity_error(c->srv, argc, argv);
}

/* Checks, queues in a transaction, or runs a command looked up (cmd) or
 * not (NULL: its error is replied). */
static enum dispatch_result check_and_run(struct client *c, const struct command *cmd, int argc,
                                          const struct resp_arg *argv)
{
    struct server *srv = c->srv;
    if (protected_refuses(c, cmd)) return DISPATCH_DENIED;
    int in_multi = (c->flags & CLIENT_MULTI) != 0;
    if (!cmd) {
        reply_not_found(c, argc, argv);
        if (in_multi) c->flags |= CLIENT_DIRTY_EXEC;
        return DISPATCH_DONE;
    }
    if ((cmd->flags & (CMD_INTERNAL | CMD_WRITE)) == (CMD_INTERNAL | CMD_WRITE) &&
        !(c->flags & CLIENT_PEER)) {
        /* Log-only (RAFTCACHE.SERVE, .EVICT): only the leader writes them,
         * into the log; to a client they do not exist. A follower forwards
         * some (RAFTCACHE.AS, .DENIED: src/server/aclstate.h). */
        cmd_reply_unknown(&c->out, argc, argv);
        if (in_multi) c->flags |= CLIENT_DIRTY_EXEC;
        return DISPATCH_DONE;
    }
    c->last_cmd = cmd->name;
    c->cmd_count++;
    if (protected_cmd_refused(c, cmd)) {
        reject(c, cmd,
               "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
               "\"local\", you can run it from a local connection, otherwise you need to set this "
               "option in the configuration file, and then restart the server.");
        return DISPATCH_DONE;
    }
    if (!(c->flags & CLIENT_AUTHED) && !(cmd->flags & CMD_NOAUTH)) {
        reject(c, cmd, "NOAUTH Authentication required.");
        return DISPATCH_DONE;
    }
    char why[256];
    if (aclstate_check(srv, c, cmd, argc, argv, in_multi ? ACLLOG_MULTI : ACLLOG_TOPLEVEL, why,
                       sizeof why) != 0) {
        reject(c, cmd, why);
        return DISPATCH_DONE;
    }
    if (!(cmd->flags & CMD_ALLOW_BUSY) && server_script_busy(srv, NULL)) {
        reject(c, cmd, server_script_busy_error(srv));
        return DISPATCH_DONE;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->out.proto == 2 && !(cmd->flags & CMD_SUBSCRIBED)) {
        char err[160];
        snprintf(err, sizeof err,
                 "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                 "RESET are allowed in this context",
                 cmd->name);
        reject(c, cmd, err);
        return DISPATCH_DONE;
    }
    if ((call_flags(srv, cmd, argc, argv) & CMD_DENYOOM) && memory_refuses(srv)) {
        reject(c, cmd, "OOM command not allowed when used memory > 'maxmemory'.");
        return DISPATCH_DONE;
    }
    if (replof_refuses(c, cmd, argc, argv)) return DISPATCH_DONE;
    if (paused(c, cmd, argc, argv)) {
        c->cmd_count--; /* counted when it runs */
        pause_postpone(&srv->pause, c);
        c->held_cmd = cmd;
        return DISPATCH_WAIT;
    }
    if (in_multi && (cmd->flags & CMD_NO_MULTI)) {
        reject(c, cmd, "ERR Command not allowed inside a transaction");
        return DISPATCH_DONE;
    }
    if (in_multi && !(cmd->flags & CMD_NOQUEUE)) {
        multi_queue(c, cmd, argc, argv);
        resp_add_simple(&c->out, "QUEUED");
        return DISPATCH_DONE;
    }
    return run_checked(c, cmd, argc, argv);
}

/* A command is taken up: CLIENT REPLY decides whether its reply is
 * dropped (replies off, or skipped for this one command), and MONITOR has
 * not shown it yet. */
static void take_up(struct client *c)
{
    c->reply_muted = (c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP)) != 0;
    c->monitor_fed = 0; /* a new command: MONITOR shows it once */
}

/* After a command was taken up (run, answered, or held to be taken up
 * again where it stopped): SKIP drops one reply only, and CLIENT REPLY
 * SKIP's own command arms it for the next one (Redis's resetClient). */
static void reply_mode_done(struct client *c)
{
    c->flags &= ~CLIENT_REPLY_SKIP;
    if (c->flags & CLIENT_REPLY_SKIP_NEXT) {
        c->flags &= ~CLIENT_REPLY_SKIP_NEXT;
        c->flags |= CLIENT_REPLY_SKIP;
    }
}

/* Runs the dispatch step of a muted command (client.reply_muted) with
 * c->out swapped for a scratch buffer, dropped afterwards: whatever the
 * command replies now goes nowhere. Pushes go to the real buffer
 * (client_push_out). The real buffer is c->out again on return. */
static enum dispatch_result run_muted(struct client *c, const struct command *cmd, int checked,
                                      int argc, const struct resp_arg *argv)
{
    struct resp_out real = c->out;
    resp_out_init(&c->out, real.proto);
    c->unmuted = &real;
    enum dispatch_result r =
        checked ? run_checked(c, cmd, argc, argv) : check_and_run(c, cmd, argc, argv);
    real.proto = c->out.proto; /* HELLO 3 */
    resp_out_free(&c->out);
    c->out = real;
    c->unmuted = NULL;
    return r;
}

/* An HTTP request's lines sent to the client port (a browser tricked into
 * posting to it: cross-protocol scripting) would otherwise run as commands
 * once the line parser skipped the ones it cannot read. As Redis 7.0: a
 * first word "POST" or "Host:" closes the connection at once, with nothing
 * run and nothing replied, whoever the client is, and is logged at most
 * once a minute. */
static int cross_protocol(struct client *c, int argc, const struct resp_arg *argv)
{
    if (argc < 1) return 0;
    const struct resp_arg *a = &argv[0];
    if (!(a->len == 4 && strncasecmp(a->ptr, "post", 4) == 0) &&
        !(a->len == 5 && strncasecmp(a->ptr, "host:", 5) == 0))
        return 0;
    struct server *srv = c->srv;
    int64_t now = server_now_ms();
    if (srv->cross_protocol_logged_ms == 0 || now - srv->cross_protocol_logged_ms > 60000) {
        LOG_WARNING("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or "
                    "Host: commands to raftcache. This is likely due to an attacker attempting to "
                    "use Cross Protocol Scripting to compromise this server. Connection from "
                    "%s aborted.",
                    c->addr);
        srv->cross_protocol_logged_ms = now;
    }
    client_close_asap(c);
    return 1;
}

int dispatch_renames_init(struct server *srv, char *err, size_t errlen)
{
    const struct config *cfg = &srv->cfg;
    cmd_renames_free(&srv->renames);
    for (int i = 0; i < cfg->renames_count; i++) {
        const struct config_rename *r = &cfg->renames[i];
        char why[256];
        if (cmd_renames_add(&srv->renames, r->from, r->to, why, sizeof why) != 0) {
            cmd_renames_free(&srv->renames);
            return util_fail(err, errlen, -1, "%s%s%s", r->origin ? r->origin : "",
                             r->origin ? "\n" : "", why);
        }
    }
    return 0;
}

/* rename-command (src/cmd/rename.h): c's arguments as the registry names
 * the command, argv itself when its name is the registry's; NULL when it
 * names a command renamed or taken away (unknown to c). Peer links (and
 * what the proxy forwards over them) use the registry's names. */
static const struct resp_arg *registry_names(struct client *c, int argc,
                                             const struct resp_arg *argv)
{
    const struct cmd_renames *r = &c->srv->renames;
    if (!r->active || argc < 1 || (c->flags & CLIENT_PEER)) return argv;
    if (cmd_renames_hides(r, argv[0].ptr, argv[0].len)) return NULL;
    const struct command *cmd = cmd_renames_find(r, argv[0].ptr, argv[0].len);
    if (!cmd ||
        (argv[0].len == strlen(cmd->name) && !strncasecmp(argv[0].ptr, cmd->name, argv[0].len)))
        return argv;
    if (argc > c->renamed_cap) {
        c->renamed_cap = argc;
        c->renamed_argv = util_xrealloc(c->renamed_argv, (size_t)argc * sizeof *c->renamed_argv);
    }
    c->renamed_argv[0] = (struct resp_arg){cmd->name, strlen(cmd->name)};
    memcpy(c->renamed_argv + 1, argv + 1, (size_t)(argc - 1) * sizeof *argv);
    return c->renamed_argv;
}

enum dispatch_result dispatch_command(struct client *c, int argc, const struct resp_arg *argv)
{
    struct server *srv = c->srv;
    if (cross_protocol(c, argc, argv)) return DISPATCH_DONE;
    const struct resp_arg *named = registry_names(c, argc, argv);
    c->name_hidden = named == NULL; /* looked up as nothing: an unknown command */
    if (named) argv = named;
    /* A blocking command not answered yet: nothing else runs meanwhile. */
    if (client_in_log(c) || blocked_waiting(c)) return DISPATCH_WAIT;
    /* Held back by CLIENT PAUSE (its input parsed again as more arrived):
     * it stays held until the pause ends (pause_stop: BEHIND). */
    if (c->hold == HOLD_PAUSED) return DISPATCH_WAIT;
    const struct command *cmd = c->held_cmd;
    enum client_hold was = c->hold;
    if (was != HOLD_NONE) client_hold_to(c, HOLD_NONE); /* taken */
    int checked = was == HOLD_CHECKED;
    if (was ==
        HOLD_ANSWERED) { /* answered below: a read round failed, a blocking command was served */
        blocked_remove(&srv->blocked, c);
        return DISPATCH_DONE;
    }
    if (checked) /* taken up before: its reply mode was decided then */
        return c->reply_muted ? run_muted(c, cmd, 1, argc, argv) : run_checked(c, cmd, argc, argv);
    if (!cmd && !c->name_hidden) cmd = look_up(argc, argv);
    if (must_wait(c, cmd)) {
        client_hold_to(c, HOLD_BEHIND);
        c->held_cmd = cmd;
        return DISPATCH_WAIT;
    }
    take_up(c);
    /* A tracking client's read: its keys are remembered before it reads
     * them, here or on the leader, now or at its EXEC (src/server/tracking.h). */
    if (c->tracking) tracking_will_read(srv, c, cmd, argc, argv);
    enum dispatch_result r =
        c->reply_muted ? run_muted(c, cmd, 0, argc, argv) : check_and_run(c, cmd, argc, argv);
    if (r != DISPATCH_WAIT || c->hold != HOLD_PAUSED) { /* not postponed: taken up */
        reply_mode_done(c);
        tracking_command_done(c, cmd);
    }
    return r;
}

void dispatch_client_gone(struct client *c)
{
    struct server *srv = c->srv;
    multi_client_reset(c);
    proxy_client_gone(srv, c);
    replwait_client_gone(&srv->replwait, c);
    migrate_client_gone(srv, c);
    blocked_client_gone(&srv->blocked, c);
    pubsub_client_gone(&srv->pubsub, c);
    tracking_client_gone(srv, c);
    monitors_remove(&srv->monitors, c);
    pause_client_gone(&srv->pause, c);
    node_client_gone(srv->node, c);
    waiters_client_gone(&srv->waiters, c);
}

/* ---------------------------------------------------------- look-ahead */

#define AHEAD_RING (DISPATCH_AHEAD + 1)

static void ahead_fetch(const struct dispatch_ahead *a, unsigned k, enum dict_prefetch_stage stage)
{
    unsigned slot = (a->head + k) % AHEAD_RING;
    if (a->fetch[slot]) kv_prefetch_hashed(a->kv, a->hash[slot], stage);
}

/* Adds the command peeked at a->at (n bytes, 0 = the peek failed: the rest
 * of the input is the parser's alone) to the ring, and fetches its bucket. */
static void ahead_push(struct dispatch_ahead *a, size_t n, const struct resp_arg *k)
{
    unsigned slot = (a->head + a->n++) % AHEAD_RING;
    a->fetch[slot] = false;
    if (n == 0) {
        a->at = a->len;
        return;
    }
    a->at += n;
    struct resp_arg prev = a->last;
    a->last = *k;
    if (k->ptr && prev.ptr && prev.len == k->len && memcmp(prev.ptr, k->ptr, k->len) == 0) {
        /* The same key as the command before: fetched already. A run of
         * them (LPUSHes to one list) ends the look-ahead for this input:
         * its keys are in cache, peeking would be all the work. */
        if (++a->repeats >= DISPATCH_AHEAD_REPEATS) a->at = a->len;
        return;
    }
    a->repeats = 0;
    if (!k->ptr) return; /* a command alone */
    a->hash[slot] = kv_key_hash(a->kv, k->ptr, k->len);
    a->fetch[slot] = true;
    kv_prefetch_hashed(a->kv, a->hash[slot], DICT_PREFETCH_BUCKET);
}

static void ahead_peek(struct dispatch_ahead *a)
{
    struct resp_arg k = {NULL, 0};
    size_t n = a->at < a->len ? resp_peek_arg1(a->buf + a->at, a->len - a->at, &k) : 0;
    ahead_push(a, n, &k);
}

void dispatch_ahead_start(struct dispatch_ahead *a, const struct client *c, const char *buf,
                          size_t len)
{
    struct resp_arg first;
    a->kv = NULL;
    a->head = a->n = a->repeats = 0;
    a->last = (struct resp_arg){NULL, 0};
    a->buf = buf;
    a->len = len;
    a->at = 0;
    size_t n = resp_peek_arg1(buf, len, &first);
    if (n == 0 || n == len || (c->flags & CLIENT_PEER)) return;
    a->kv = server_db(c->srv, c);
    ahead_push(a, n, &first);
    for (unsigned i = 1; i < DISPATCH_AHEAD; i++)
        ahead_peek(a);
    ahead_fetch(a, 0, DICT_PREFETCH_ENTRY);
    ahead_fetch(a, 1, DICT_PREFETCH_ENTRY);
    ahead_fetch(a, 0, DICT_PREFETCH_VALUE);
}

/* Before command j runs, the ring holds j, j+1, j+2: j+1's value and j+2's
 * entry are fetched, j+3 is peeked (its bucket), and j leaves the ring. */
void dispatch_ahead_step(struct dispatch_ahead *a)
{
    if (!a->kv || a->n == 0) return;
    ahead_fetch(a, 1, DICT_PREFETCH_VALUE);
    ahead_fetch(a, 2, DICT_PREFETCH_ENTRY);
    ahead_peek(a);
    a->head = (a->head + 1) % AHEAD_RING;
    a->n--;
}
