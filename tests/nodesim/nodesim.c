/*
 * tests/nodesim/nodesim.c - one seeded run of real nodes in a simulated
 * world (see nodesim.h).
 *
 * Each node is a struct server wired by src/server/replica.c exactly as the
 * server wires it (keyspace, state machine, waiters, Raft driver); clients
 * are struct clients driven through the dispatcher as src/net/conn.c drives
 * them (a command that must wait is dispatched again when its client is
 * woken, src/node/waiters.h). Time moves in 1 ms steps: due messages are
 * delivered, ticks and cron run when due, clients act, faults strike, then
 * every node runs its before-sleep rounds. A fault that takes a store back
 * (power loss, a damaged WAL) stops the node, then has fake_storage.c undo
 * the store's last transactions (world.h); the node's snapshot files, real
 * files in its dir written and synced before the transaction that records
 * them, stay as they are. After the faults stop and the cluster heals,
 * every key is read through the leader and the run checks the history
 * (history.h), that the replicas converged (same applied index, same
 * keyspace) and that the committed logs agree.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../raft/raft.h"
#include "base/clock.h"
#include "cmd/cmd.h"
#include "server/dispatch.h"
#include "base/log.h"
#include "node/node.h"
#include "server/replica.h"
#include "server/server.h"
#include "sm/sm.h"
#include "sm/snaplive.h"
#include "node/waiters.h"
#include "base/util.h"
#include "nodesim_int.h"
#include "servercmd/cmdtable.h"

struct run *R;

void failf(const char *fmt, ...)
{
    if (R->failed) return;
    R->failed = true;
    int k = snprintf(R->err, R->errlen, "t=%lld ms: ", (long long)(W->now_us / 1000));
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < R->errlen) vsnprintf(R->err + k, R->errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

void trace(const char *fmt, ...)
{
    if (!R->o->verbose) return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%6lld] ", (long long)(W->now_us / 1000));
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* ------------------------------------------------------------ nodes */

static void node_dir(uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/n%llu", R->dir, (unsigned long long)id);
}

/* Deletes the files of a node's dir (its snapshots): part of a wipe. */
static void remove_files(uint64_t id)
{
    char dir[96], path[384];
    node_dir(id, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static void flush_replies(void *ud)
{
    (void)ud; /* replies are read from each client's buffer after every step */
}

/* Log lines name the node that writes them. */
static void as_node(uint64_t id)
{
    log_set_source((long)id);
}

void start_node(uint64_t id)
{
    as_node(id);
    struct server *srv = calloc(1, sizeof *srv);
    if (!srv) abort();
    char dir[96], nid[24], members[W_NODES_MAX][40], threshold[24];
    node_dir(id, dir, sizeof dir);
    mkdir(dir, 0700);
    snprintf(nid, sizeof nid, "%llu", (unsigned long long)id);
    snprintf(threshold, sizeof threshold, "%u", R->snapshot_threshold);
    const char *argv[32] = {
        "nodesim", "--node-id", nid, "--dir", dir, "--port", "7000", "--raft-election-timeout-ms",
        "300", "--raft-heartbeat-ms", "50", "--raft-snapshot-threshold", threshold, "--hz", "10",
        "--raft-request-timeout-ms", "1000", "--raft-secret", "simulated-secret",
        /* The simulated clients follow -MOVED as cluster
         * clients do and have no connection to lose; a
         * stepped-down leader's closing of its clients
         * (Sentinel mode) is tested with real clients
         * (tests/integration/test_sentinel.py). */
        "--stepdown-close-clients", "no", "--cluster-members"};
    int argc = 22;
    for (int i = 1; i <= W->n_nodes; i++)
        if (R->boot_members[id] & 1u << i) {
            snprintf(members[i - 1], sizeof members[0], "%d=127.0.0.1:%d", i, 7000 + i);
            argv[argc++] = members[i - 1];
        }
    char err[512];
    config_init_defaults(&srv->cfg);
    if (config_load_args(&srv->cfg, argc, (char **)argv, err, sizeof err) != 0) {
        failf("node %llu config: %s", (unsigned long long)id, err);
        free(srv);
        return;
    }
    monitor_init(&srv->monitor, cmd_id_count());
    replica_init(srv, w_rand(W));
    W->srv[id] = srv; /* reachable while its driver starts: peers may auth to it */
    W->life[id]++;
    R->in_play[id] = true;
    jmp_buf jb;
    W->crash_jmp = &jb;
    if (setjmp(jb) != 0) { /* died while saving its first state */
        W->srv[id] = NULL;
        replica_free(srv);
        config_free(&srv->cfg);
        monitor_free(&srv->monitor);
        free(srv);
        R->restart_at_us[id] = W->now_us + 100000;
        return;
    }
    if (replica_start_simulated(srv, flush_replies, err, sizeof err) != 0) {
        failf("node %llu does not start: %s", (unsigned long long)id, err);
        W->crash_jmp = NULL;
        return;
    }
    W->crash_jmp = NULL;
    R->next_tick_us[id] = W->now_us + 50000;
    R->next_cron_us[id] = W->now_us + 100000;
    R->restart_at_us[id] = 0;
    trace("node %llu up (life %llu)", (unsigned long long)id, (unsigned long long)W->life[id]);
}

static void client_reset(struct sclient *s);

void stop_node(uint64_t id, const char *why)
{
    struct server *srv = W->srv[id];
    if (!srv) return;
    as_node(id);
    trace("node %llu down: %s", (unsigned long long)id, why);
    struct node_snapshot_info si;
    node_snapshot_info(srv->node, &si);
    R->st->snapshots_taken += si.created;
    R->st->snapshots_installed += si.received;
    uint64_t fr, frf;
    node_read_stats(srv->node, &fr, &frf);
    R->st->follower_reads += fr;
    R->st->follower_reads_failed += frf;
    for (int i = 0; i < N_SCLIENTS; i++)
        if (R->cl[i].node == id) client_reset(&R->cl[i]);
    W->srv[id] = NULL;
    replica_free(srv);
    config_free(&srv->cfg);
    monitor_free(&srv->monitor);
    free(srv);
    R->st->crashes++;
}

void wipe_node(uint64_t id)
{
    w_disk_wipe(&W->disks[id]);
    remove_files(id);
}

/* ------------------------------------------------------------ clients */

void client_attach(struct sclient *s, uint64_t node)
{
    struct client *c = &s->c;
    resp_out_free(&c->out);
    memset(c, 0, sizeof *c);
    resp_out_init(&c->out, 2);
    c->flags = CLIENT_AUTHED;
    /* Every third client reads with RAFT.READONLY: on a follower, linearizable
     * follower reads (src/node/node.h), checked by the history like the others. */
    if (s->id % 3 == 0) c->flags |= CLIENT_READONLY | CLIENT_LINEARIZABLE_READS;
    c->id = (uint64_t)s->id + 1;
    s->node = node;
    s->node_life = W->life[node];
    c->srv = W->srv[node];
    c->pending_head = c->srv ? &c->srv->pending : NULL;
    s->stream = 0;
}

/* The client's node went away (or it leaves it): what it had in flight
 * may or may not have happened. */
static void client_reset(struct sclient *s)
{
    if (s->op >= 0) {
        struct h_op *o = &R->h.ops[s->op];
        h_respond(&R->h, s->op, o->kind == H_WRITE ? H_UNKNOWN : H_FAILED, 0, W->now_us);
    }
    s->op = -1;
    queue_reset(s);
    if (s->cas_step == 5) R->cas_unknown++; /* its EXEC may have been applied */
    s->cas_step = 0;
    s->waiting = s->sent = false;
    if (W->srv[s->node] && s->c.srv == W->srv[s->node]) dispatch_client_gone(&s->c);
    s->node = 0;
}

/* A command of s is in flight (its reply has not been taken). */
static bool paused(uint64_t id)
{
    return W->now_us < R->paused_until_us[id];
}

bool busy(const struct sclient *s)
{
    return s->op != -1 || s->waiting || s->sent || s->cas_step;
}

static uint64_t pick_node(void)
{
    uint64_t up[W_NODES_MAX];
    int n = 0;
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++)
        if (W->srv[id]) up[n++] = id;
    return n ? up[w_below(W, (uint32_t)n)] : 0;
}

void set_arg(struct sclient *s, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->bufs[i], sizeof s->bufs[i], fmt, ap);
    va_end(ap);
    s->argv[i].ptr = s->bufs[i];
    s->argv[i].len = (size_t)n;
}

void dispatch(struct sclient *s)
{
    struct client *c = &s->c;
    as_node(s->node);
    size_t bytes = 16;
    for (int i = 0; i < s->argc; i++)
        bytes += s->argv[i].len + 8;
    if (!s->waiting) { /* a new command arrives on the connection */
        s->stream += bytes;
        c->in_received = s->stream;
    }
    c->cur_cmd_end = s->stream;
    enum dispatch_result r = dispatch_command(c, s->argc, s->argv);
    s->waiting = r == DISPATCH_WAIT;
    s->sent = r == DISPATCH_DONE;
}

static void client_start_op(struct sclient *s)
{
    /* now and then a client reconnects to any node, as behind a load
     * balancer: clients do not all end up on the leader */
    if (s->node && W->srv[s->node] && w_chance(W, 20)) {
        dispatch_client_gone(&s->c);
        s->node = 0;
    }
    if (!s->node || !W->srv[s->node] || s->node_life != W->life[s->node]) {
        uint64_t n = pick_node();
        if (!n) return;
        client_attach(s, n);
    }
    if (s->id >= QUEUE_FIRST) {
        queue_start_op(s);
        return;
    }
    uint32_t dice = w_below(W, 100);
    int key = (int)w_below(W, N_KEYS);
    if (dice < 45) {
        uint64_t v = ++R->next_value;
        s->argc = 3;
        set_arg(s, 0, "SET");
        set_arg(s, 1, "k%d", key);
        set_arg(s, 2, "%llu", (unsigned long long)v);
        s->op = h_invoke(&R->h, H_WRITE, key, v, W->now_us, s->id);
    } else if (dice < 90) {
        s->argc = 2;
        set_arg(s, 0, "GET");
        set_arg(s, 1, "k%d", key);
        s->op = h_invoke(&R->h, H_READ, key, 0, W->now_us, s->id);
    } else if (dice < 95) { /* an increment by compare-and-set: WATCH, GET, MULTI, SET, EXEC */
        s->argc = 2;
        set_arg(s, 0, "WATCH");
        set_arg(s, 1, "counter");
        s->cas_step = 1;
        s->op = -2;
    } else if (dice < 97) { /* a script whose result would depend on the node
                               (src/script/script_determ.c) */
        static const char *const scripts[] = {
            "redis.call('SET', KEYS[1], tostring({}) .. tostring(function() end))",
            "local t = {x = 1, [2] = 1, [true] = 1} for i = 1, 20 do t['f' .. i] = i end "
            "local o = {} for k in pairs(t) do o[#o + 1] = tostring(k) end "
            "redis.call('SET', KEYS[1], table.concat(o, ','))",
            "redis.call('SET', KEYS[1], table.concat(redis.call('KEYS', 'k*'), ','))",
            "local ok, r = pcall(collectgarbage, 'count') redis.call('SET', KEYS[1], tostring(r))",
            "cjson.encode_number_precision(3) return 1",
            "redis.call('SET', KEYS[1], cjson.encode({math.pi}))",
            "local ok, r = pcall(gcinfo) redis.call('SET', KEYS[1], tostring(r))",
            ("local t, ks = {}, {} for i = 1, 20 do ks[i] = {} t[ks[i]] = 1 end "
             "for i = 1, 20 do t['k' .. i] = i end for i = 1, 20 do t[ks[i]] = nil end "
             "redis.call('SET', KEYS[1], cjson.encode(t) .. cmsgpack.pack(t))"),
        };
        const char *body = scripts[w_below(W, sizeof scripts / sizeof *scripts)];
        s->argc = 4;
        set_arg(s, 0, "EVAL");
        s->argv[1] = (struct resp_arg){body, strlen(body)}; /* static: outlives the call */
        set_arg(s, 2, "1");
        set_arg(s, 3, "s%d", key);
        s->op = -2; /* not in the history: its effect is checked by the digests */
    } else {        /* a key that expires soon: the expiry cycle's work */
        s->argc = 5;
        set_arg(s, 0, "SET");
        set_arg(s, 1, "t%llu", (unsigned long long)++R->next_ttl_key);
        set_arg(s, 2, "x");
        set_arg(s, 3, "PX");
        set_arg(s, 4, "%u", 20 + w_below(W, 300));
        s->op = -2; /* not in the history: a fire-and-forget write */
    }
    dispatch(s);
}

/* Parses one reply at the head of c.out: 1 if one was there. */
static int take_reply(struct sclient *s, char *kind, uint64_t *value, char *text, size_t cap)
{
    struct resp_out *o = &s->c.out;
    size_t n = resp_out_pending(o);
    if (n == 0) return 0;
    const char *p = o->data + o->pos;
    const char *eol = memchr(p, '\n', n);
    if (!eol) return 0;
    size_t line = (size_t)(eol - p) + 1;
    *kind = p[0];
    *value = 0;
    snprintf(text, cap, "%.*s", (int)(line > 2 ? line - 2 : 0), p + 1);
    if (p[0] == '*') { /* an array of simple replies or bulks; value = its length, 0 for nil */
        long long items = atoll(p + 1);
        size_t at = line;
        for (long long i = 0; i < items; i++) {
            const char *q = at < n ? memchr(p + at, '\n', n - at) : NULL;
            if (!q) return 0;
            long long blen = p[at] == '$' ? atoll(p + at + 1) : -1;
            at = (size_t)(q - p) + 1;
            if (blen >= 0) at += (size_t)blen + 2;
            if (at > n) return 0;
        }
        *value = items > 0 ? (uint64_t)items : 0;
        line = at;
    } else if (p[0] == '$') {
        long long len = atoll(p + 1);
        if (len >= 0) {
            if (n < line + (size_t)len + 2) return 0;
            char buf[64];
            snprintf(buf, sizeof buf, "%.*s", (int)len, eol + 1);
            *value = strtoull(buf, NULL, 10);
            line += (size_t)len + 2;
        }
    }
    if (s->raw_cap < line + 1) {
        s->raw_cap = line + 1 + 256;
        s->raw = util_xrealloc(s->raw, s->raw_cap);
    }
    memcpy(s->raw, p, line);
    s->raw[line] = 0;
    s->raw_len = line;
    resp_out_consume(o, line);
    if (resp_out_pending(o) == 0) resp_out_clear(o);
    return 1;
}

bool not_proposed(const char *text)
{
    return !strncmp(text, "MOVED", 5) || !strncmp(text, "CLUSTERDOWN", 11) ||
           !strncmp(text, "NOCLUSTER", 9) || !strncmp(text, "TRYAGAIN", 8) ||
           !strncmp(text, "ERR", 3);
}

/* The CAS increment's next command, or its end. An error ends it: the
 * connection is dropped (its WATCH and MULTI with it) unless the error was
 * EXEC's -TIMEOUT, whose outcome is unknown. */
static void cas_reply(struct sclient *s, char kind, uint64_t value, const char *text)
{
    int step = s->cas_step;
    s->cas_step = 0;
    if (kind == '-') {
        if (step == 5 && !not_proposed(text)) R->cas_unknown++;
        if (s->node && W->srv[s->node]) dispatch_client_gone(&s->c);
        s->node = 0;
        return;
    }
    if (step == 5) { /* EXEC: an array of one +OK, or nil when the watched key changed */
        if (kind == '*' && value == 1) R->cas_ok++;
        return;
    }
    s->op = -2;
    s->cas_step = step + 1;
    if (step == 1) {
        s->argc = 2;
        set_arg(s, 0, "GET");
        set_arg(s, 1, "counter");
    } else if (step == 2) {
        s->cas_seen = value;
        s->argc = 1;
        set_arg(s, 0, "MULTI");
    } else if (step == 3) {
        s->argc = 3;
        set_arg(s, 0, "SET");
        set_arg(s, 1, "counter");
        set_arg(s, 2, "%llu", (unsigned long long)(s->cas_seen + 1));
    } else {
        s->argc = 1;
        set_arg(s, 0, "EXEC");
    }
    dispatch(s);
}

static void client_collect(struct sclient *s)
{
    char kind, text[256];
    uint64_t value;
    while (take_reply(s, &kind, &value, text, sizeof text)) {
        if (s->waiting)
            trace("client %d: a reply (%c%s) while its command waits", s->id, kind, text);
        s->sent = false;
        int op = s->op;
        s->op = -1;
        s->next_us = W->now_us + 1000 * (int64_t)w_below(W, 5);
        if (kind == '-' && !strncmp(text, "MOVED", 5)) {
            const char *colon = strrchr(text, ':');
            uint64_t to = colon ? (uint64_t)(atoi(colon + 1) - 7000) : 0;
            dispatch_client_gone(&s->c);
            s->node = 0;
            if (to >= 1 && to <= (uint64_t)W->n_nodes && W->srv[to]) client_attach(s, to);
        }
        if (queue_reply(s, kind, text)) continue;
        if (s->cas_step) {
            cas_reply(s, kind, value, text);
            continue;
        }
        if (op == OP_ADMIN) {
            members_reply(s, kind, text);
            continue;
        }
        if (op == OP_FINAL_COUNTER && kind == '$') { /* the final read of the counter */
            R->counter = value;
            R->counter_read = true;
        }
        if (op < 0) continue;
        struct h_op *o = &R->h.ops[op];
        if (kind == '-') {
            bool definite = o->kind == H_READ || not_proposed(text);
            h_respond(&R->h, op, definite ? H_FAILED : H_UNKNOWN, 0, W->now_us);
            trace("client %d: %s k%d -> -%s", s->id, o->kind == H_WRITE ? "SET" : "GET", o->key,
                  text);
        } else {
            trace("client %d (node %llu): %s k%d %llu -> ok %llu", s->id,
                  (unsigned long long)s->node, o->kind == H_WRITE ? "SET" : "GET", o->key,
                  (unsigned long long)o->value, (unsigned long long)value);
            h_respond(&R->h, op, H_OK, value, W->now_us);
            if (o->kind == H_WRITE)
                R->st->writes_ok++;
            else
                R->st->reads_ok++;
        }
    }
}

/* ------------------------------------------------------------ the loop */

static void deliver_due(void)
{
    /* due messages in (time, send order); the queue is small */
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < W->nq; i++) {
            const struct w_msg *m = &W->q[i];
            if (m->at_us > W->now_us || paused(m->to)) continue;
            if (best == SIZE_MAX || m->at_us < W->q[best].at_us ||
                (m->at_us == W->q[best].at_us && m->seq < W->q[best].seq))
                best = i;
        }
        if (best == SIZE_MAX) return;
        struct w_msg m = W->q[best];
        W->q[best] = W->q[--W->nq];
        struct server *to = W->srv[m.to];
        if (to && W->life[m.to] == m.to_life && !W->cut[m.from][m.to]) {
            as_node(m.to);
            node_receiving(to->node, m.from);
            if (m.kind == W_MSG_RAFT) {
                char err[256];
                if (getenv("NODESIM_TRACE_MSGS"))
                    trace("msg %llu -> %llu: %zu bytes type %u flags %u",
                          (unsigned long long)m.from, (unsigned long long)m.to, m.len,
                          m.len > 2 ? m.data[1] : 0, m.len > 2 ? m.data[2] : 0);
                if (node_receive(to->node, m.from, m.data, m.len, err, sizeof err) != 0)
                    trace("node %llu refused a message from %llu: %s", (unsigned long long)m.to,
                          (unsigned long long)m.from, err);
            }
        }
        free(m.data);
    }
}

static struct sclient *client_of(struct client *c)
{
    return (struct sclient *)c;
}

/* The before-sleep rounds of one node (src/net/loop.c's): the driver, then the
 * clients it answered run what they held back. */
static void before_sleep(uint64_t id)
{
    struct server *srv = W->srv[id];
    as_node(id);
    jmp_buf jb;
    W->crash_jmp = &jb;
    if (setjmp(jb) != 0) {
        W->crash_jmp = NULL;
        R->st->save_crashes++;
        stop_node(id, "crashed inside a log write");
        R->restart_at_us[id] = W->now_us + 1000 * (int64_t)(50 + w_below(W, 500));
        return;
    }
    for (int round = 0; round < 16; round++) {
        node_process_ready(srv->node);
        replica_wake_blocked(srv);
        int woke = 0;
        struct client *c;
        while ((c = waiters_next_woken(&srv->waiters))) {
            struct sclient *s = client_of(c);
            woke++;
            if (s->waiting) dispatch(s);
        }
        if (!woke) break;
    }
    W->crash_jmp = NULL;
    /* nothing is flushed here: replies are read from the clients' buffers */
    while (srv->pending) {
        struct client *c = srv->pending;
        srv->pending = c->pending_next;
        c->pending_next = NULL;
        c->flags &= ~CLIENT_PENDING_WRITE;
    }
}

/* One lost store at a time, as any Raft cluster requires: a node loses
 * acknowledged state (a wipe, a damaged WAL) only once every node that lost
 * some earlier has caught up: it does not recover any more and its store's
 * commit index went past every commit index known when it lost it (past,
 * not up to: a damaged store may still hold that one); and while no node
 * recovers (a node added back under its id recovers too when a peer still
 * knew its earlier store). Returns a running node that may lose its state,
 * or 0; *catch_up is what it must pass. */
static uint64_t pick_node_to_lose(uint64_t *catch_up)
{
    uint64_t id = pick_node(), max_commit = 0;
    for (uint64_t j = 1; j <= (uint64_t)W->n_nodes; j++) {
        const struct w_disk *d = &W->disks[j];
        if (R->wiped_until_commit[j] && d->hs.commit >= R->wiped_until_commit[j] && !d->recovering)
            R->wiped_until_commit[j] = 0;
        if (R->wiped_until_commit[j] || (R->in_play[j] && d->recovering)) id = 0;
        if (d->hs.commit > max_commit) max_commit = d->hs.commit;
        uint64_t c = W->srv[j] ? raft_commit_index(node_core(W->srv[j]->node)) : 0;
        if (c > max_commit) max_commit = c;
    }
    *catch_up = max_commit + 1;
    return id;
}

static void faults(bool on)
{
    const struct nodesim_opts *o = R->o;
    W->slow_disks = on; /* fake_logsync.c: stalled syncs are a fault too */
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++)
        if (!W->srv[id] && R->restart_at_us[id] && W->now_us >= R->restart_at_us[id])
            start_node(id);
    members_act(on);
    if (!on) return;
    if (w_below(W, 1000000) < o->kill_ppm) {
        uint64_t id = pick_node();
        if (id) {
            stop_node(id, "killed");
            R->restart_at_us[id] = W->now_us + 1000 * (int64_t)(50 + w_below(W, 800));
        }
    }
    if (w_below(W, 1000000) < o->save_kill_ppm) {
        uint64_t id = pick_node();
        if (id) W->crash_in_save = id;
    }
    if (w_below(W, 1000000) < o->power_loss_ppm) {
        /* the machine goes down: the page cache goes with it */
        uint64_t id = pick_node();
        if (id) {
            stop_node(id, "power loss");
            uint32_t lost = w_disk_power_loss(&W->disks[id]);
            trace("node %llu: %u unsynced transactions lost", (unsigned long long)id, lost);
            R->st->power_losses++;
            R->st->power_lost_txs += lost;
            R->restart_at_us[id] = W->now_us + 1000 * (int64_t)(50 + w_below(W, 800));
        }
    }
    if (w_below(W, 1000000) < o->damage_ppm) {
        /* a WAL frame damaged on disk: SQLite drops what follows it */
        uint64_t catch_up, id = pick_node_to_lose(&catch_up);
        if (id) {
            char dir[96];
            node_dir(id, dir, sizeof dir);
            stop_node(id, "killed, its WAL damaged");
            /* its last 1..4 transactions; now and then back to (and with)
             * its last snapshot's, so the snapshot file is ahead of the log */
            uint32_t k = 1 + w_below(W, 4), snap = w_disk_since_snapshot(&W->disks[id]);
            if (snap && w_chance(W, 400)) k = snap;
            uint32_t lost = w_disk_damage(&W->disks[id], k, dir);
            trace("node %llu: its last %u transactions lost", (unsigned long long)id, lost);
            if (lost) {
                R->wiped_until_commit[id] = catch_up;
                R->st->damages++;
                R->st->damaged_txs += lost;
            }
            R->restart_at_us[id] = W->now_us + 1000 * (int64_t)(50 + w_below(W, 500));
        }
    }
    if (w_below(W, 1000000) < o->wipe_ppm) {
        uint64_t catch_up, id = pick_node_to_lose(&catch_up);
        if (id) {
            R->wiped_until_commit[id] = catch_up;
            stop_node(id, "wiped");
            wipe_node(id);
            R->st->wipes++;
            R->restart_at_us[id] = W->now_us + 1000 * (int64_t)(50 + w_below(W, 500));
        }
    }
    if (w_below(W, 1000000) <
        o->pause_ppm) { /* a stopped process (SIGSTOP, a long GC-like stall) */
        /* the leader half of the time: a leader that resumes after a pause is
         * where stale reads come from */
        uint64_t l = leader_now();
        uint64_t id = l && w_chance(W, 500) ? l : pick_node();
        if (id && !paused(id)) {
            R->paused_until_us[id] = W->now_us + 1000 * (int64_t)(200 + w_below(W, 1500));
            R->resuming[id] = true;
            R->st->pauses++;
            trace("node %llu paused", (unsigned long long)id);
        }
    }
    if (w_below(W, 1000000) < o->partition_ppm) {
        memset(W->cut, 0, sizeof W->cut);
        uint64_t id = 1 + w_below(W, (uint32_t)W->n_nodes);
        bool one_way = w_chance(W, 300);
        for (uint64_t j = 1; j <= (uint64_t)W->n_nodes; j++) {
            if (j == id) continue;
            W->cut[id][j] = true;
            if (!one_way) W->cut[j][id] = true;
        }
        R->heal_at_us = W->now_us + 1000 * (int64_t)(100 + w_below(W, 1500));
        R->st->partitions++;
        trace("node %llu cut off%s", (unsigned long long)id, one_way ? " (its sends only)" : "");
    }
    if (R->heal_at_us && W->now_us >= R->heal_at_us) {
        memset(W->cut, 0, sizeof W->cut);
        R->heal_at_us = 0;
    }
}

static void clients_act(void)
{
    for (int i = 0; i < N_CLIENTS; i++) {
        struct sclient *s = &R->cl[i];
        /* a paused process reads nothing: the command waits in its socket */
        if (!busy(s) && W->now_us >= s->next_us && !(s->node && paused(s->node)))
            client_start_op(s);
    }
}

/* One millisecond. Within it, as in an event loop's iteration, peers'
 * messages and clients' commands are taken in either order, then each
 * node runs its before-sleep rounds. */
/* A process that resumes from a pause finds its clients' commands, sent
 * meanwhile, in its sockets; its peers' messages (from which a deposed
 * leader learns it was deposed) may come in a later event-loop iteration:
 * most of the time it runs one iteration on its clients' commands alone. */
static void clients_of_resumed(void)
{
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        if (!R->resuming[id] || paused(id)) continue;
        R->resuming[id] = false;
        if (!W->srv[id] || !w_chance(W, 700)) continue;
        for (int i = 0; i < N_CLIENTS; i++) {
            struct sclient *s = &R->cl[i];
            if (s->node == id && s->node_life == W->life[id] && !busy(s)) client_start_op(s);
        }
        before_sleep(id);
        for (int i = 0; i < N_CLIENTS; i++) {
            struct sclient *s = &R->cl[i];
            if (s->node == id && W->srv[id]) client_collect(s);
        }
    }
}

static void step(bool faulty, bool clients)
{
    W->now_us += 1000;
    faults(faulty);
    if (clients) clients_of_resumed();
    bool clients_first = clients && w_chance(W, 500);
    if (clients_first) clients_act();
    deliver_due();
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        struct server *srv = W->srv[id];
        if (!srv || paused(id)) continue;
        as_node(id);
        if (W->tr[id]) w_transport_connect(W->tr[id]);
        if (W->now_us >= R->next_tick_us[id]) {
            node_tick(srv->node);
            R->next_tick_us[id] = W->now_us + 50000;
        }
        if (W->now_us >= R->next_cron_us[id]) {
            replica_cron(srv);
            R->next_cron_us[id] = W->now_us + 100000;
        }
    }
    if (clients && !clients_first) clients_act();
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++)
        if (W->srv[id] && !paused(id)) before_sleep(id);
    for (int i = 0; i < N_SCLIENTS; i++) {
        struct sclient *s = &R->cl[i];
        if (s->node && W->srv[s->node] && !paused(s->node)) client_collect(s);
    }
    check_step();
}

uint64_t leader_now(void)
{
    uint64_t best = 0, best_term = 0;
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        if (!W->srv[id] || !node_is_leader(W->srv[id]->node)) continue;
        uint64_t term = raft_term_of(node_core(W->srv[id]->node));
        if (term > best_term) {
            best = id;
            best_term = term;
        }
    }
    return best;
}

static bool settled(void)
{
    uint64_t l = leader_now();
    if (!l) return false;
    uint64_t commit = raft_commit_index(node_core(W->srv[l]->node));
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++)
        if (members_has(l, id) && (!W->srv[id] || node_applied(W->srv[id]->node) != commit))
            return false;
    for (int i = 0; i < N_SCLIENTS; i++)
        if (busy(&R->cl[i])) return false;
    return true;
}

/* Where each node and each busy client stands, for a failure message. */
static void describe(char *out, size_t cap)
{
    size_t k = 0;
    out[0] = 0;
    for (uint64_t id = 1; id <= (uint64_t)W->n_nodes; id++) {
        if (!W->srv[id]) continue;
        const struct raft *r = node_core(W->srv[id]->node);
        raft_index match = 0;
        uint64_t l = leader_now();
        if (l) raft_progress(node_core(W->srv[l]->node), (raft_id)id, &match);
        int n = snprintf(out + k, cap - k,
                         " node %llu: term %llu last %llu commit %llu applied %llu (leader's "
                         "match %llu) recovery %s;",
                         (unsigned long long)id, (unsigned long long)raft_term_of(r),
                         (unsigned long long)raft_last_index(r),
                         (unsigned long long)raft_commit_index(r),
                         (unsigned long long)node_applied(W->srv[id]->node),
                         (unsigned long long)match, node_recovery_state(W->srv[id]->node));
        if (n < 0 || (size_t)n >= cap - k) break;
        k += (size_t)n;
    }
    for (int i = 0; i < N_SCLIENTS; i++) {
        const struct sclient *c = &R->cl[i];
        if (!busy(c)) continue;
        int n = snprintf(out + k, cap - k,
                         " client %d waits on node %llu (%s%s, step %d, pending writes %u, "
                         "read %d);",
                         i, (unsigned long long)c->node, c->argc ? c->bufs[0] : "-",
                         c->waiting ? ", told to wait" : "", c->cas_step, c->c.pending_writes,
                         c->c.waiting_read);
        if (n < 0 || (size_t)n >= cap - k) break;
        k += (size_t)n;
    }
}

bool run_on_leader(struct sclient *s)
{
    uint64_t l = leader_now();
    for (int k = 0; k < HEAL_MS && !l; k++) {
        step(false, false);
        l = leader_now();
    }
    if (!l) {
        client_reset(s); /* its command not sent */
        return false;
    }
    if (s->node != l || s->node_life != W->life[l]) {
        if (s->node && W->srv[s->node]) dispatch_client_gone(&s->c);
        client_attach(s, l);
    }
    dispatch(s);
    for (int k = 0; k < 3000 && busy(s); k++)
        step(false, false);
    if (!busy(s)) return true;
    client_reset(s);
    return false;
}

/* After healing: every key read through the leader, once each. */
/* Reads key (k<i>, or the counter when key is N_KEYS) through the leader
 * until one read succeeds; reads of k<i> go into the history. */
static void final_read(struct sclient *s, int key)
{
    for (int attempt = 0; attempt < 50 && !R->failed; attempt++) {
        s->argc = 2;
        set_arg(s, 0, "GET");
        int op = OP_FINAL_COUNTER;
        if (key < N_KEYS) {
            set_arg(s, 1, "k%d", key);
            op = h_invoke(&R->h, H_READ, key, 0, W->now_us, s->id);
        } else {
            set_arg(s, 1, "counter");
        }
        s->op = op;
        if (!run_on_leader(s)) {
            if (!leader_now()) return;
            continue;
        }
        if (op >= 0 ? R->h.ops[op].outcome == H_OK : R->counter_read) return;
    }
}

/* After healing: every key and the counter read through the leader. */
static void final_reads(void)
{
    struct sclient *s = &R->cl[0];
    for (int k = 0; k < 3000 && busy(s); k++)
        step(false, false);
    if (busy(s)) client_reset(s);
    for (int key = 0; key <= N_KEYS && !R->failed; key++)
        final_read(s, key);
    if (R->failed) return;
    if (!R->counter_read) {
        char state[1024];
        describe(state, sizeof state);
        failf("the counter could not be read after healing (leader %llu):%s",
              (unsigned long long)leader_now(), state);
    } else if (R->counter < R->cas_ok || R->counter > R->cas_ok + R->cas_unknown)
        failf("the counter is %llu after %llu acknowledged increments (and %llu whose outcome "
              "is unknown): an increment was lost or made up",
              (unsigned long long)R->counter, (unsigned long long)R->cas_ok,
              (unsigned long long)R->cas_unknown);
    R->st->increments += R->cas_ok;
}

int nodesim_run(const struct nodesim_opts *o, struct nodesim_stats *st, char *err, size_t errlen)
{
    static bool table_ready;
    if (!table_ready) {
        cmdtable_init();
        table_ready = true;
    }
    struct world w;
    memset(&w, 0, sizeof w);
    W = &w;
    /* the seed mixed once: with the seed as the state itself, seed s + 1's
     * stream would be seed s's shifted by one draw */
    w.rng = o->seed;
    w.rng = w_rand(&w);
    /* ids beyond the first members: the operator adds them (members.c) */
    w.n_nodes = o->nodes + 2 <= W_NODES_MAX ? o->nodes + 2 : W_NODES_MAX;
    w.on_save = check_saved_entries;
    w.loss_pm = w_below(&w, o->loss_max_pm + 1);
    w.delay_min_us = 100 + w_below(&w, 500);
    w.delay_max_us = w.delay_min_us + w_below(&w, 5000);
    struct run run;
    memset(&run, 0, sizeof run);
    R = &run;
    run.o = o;
    run.err = err;
    run.errlen = errlen;
    run.st = st;
    run.snapshot_threshold = 50 + w_below(&w, 300);
    /* odd seeds: every list a live snapshot meets is saved as a twin */
    snaplive_twin_min_bytes(o->seed % 2 ? 0 : SNAPLIVE_TWIN_MIN_BYTES);
    snprintf(run.dir, sizeof run.dir, "/tmp/nodesim.XXXXXX");
    if (!mkdtemp(run.dir)) {
        snprintf(err, errlen, "mkdtemp failed");
        return -1;
    }
    for (int i = 0; i < N_SCLIENTS; i++) {
        run.cl[i].id = i;
        run.cl[i].op = -1;
        resp_out_init(&run.cl[i].c.out, 2);
    }
    queue_init();
    for (uint64_t id = 1; id <= (uint64_t)o->nodes; id++)
        run.boot_members[1] |= 1u << id;
    for (uint64_t id = 1; id <= (uint64_t)o->nodes; id++) {
        run.boot_members[id] = run.boot_members[1];
        start_node(id);
    }
    for (int64_t t = 0; t < o->run_ms && !run.failed; t++)
        step(true, true);
    /* heal: every node up, no cut, no loss; then let it settle */
    w.crash_in_save = 0;
    w.loss_pm = 0;
    memset(run.paused_until_us, 0, sizeof run.paused_until_us);
    memset(w.cut, 0, sizeof w.cut);
    for (uint64_t id = 1; id <= (uint64_t)w.n_nodes; id++)
        if (!w.srv[id] && run.in_play[id]) start_node(id);
    int64_t t = 0;
    while (!run.failed && t++ < HEAL_MS && !settled())
        step(false, false);
    if (!run.failed && !settled()) {
        char state[1024];
        describe(state, sizeof state);
        failf("the cluster did not settle within %d ms of healing (leader %llu):%s", HEAL_MS,
              (unsigned long long)leader_now(), state);
    }
    if (!run.failed) final_reads();
    if (!run.failed) queue_final(&run.cl[QUEUE_FIRST]);
    if (!run.failed) {
        /* what the leader proposed meanwhile (expiry) reaches everyone */
        for (int k = 0; k < HEAL_MS && !settled(); k++)
            step(false, false);
        check_converged();
    }
    if (!run.failed) check_logs();
    if (!run.failed) {
        char herr[512];
        if (h_check(&run.h, N_KEYS, herr, sizeof herr) != 0) failf("%s", herr);
    }
    st->ops += (uint64_t)run.h.n;
    /* tear down */
    for (uint64_t id = 1; id <= (uint64_t)w.n_nodes; id++) {
        if (w.srv[id]) {
            stop_node(id, "end");
            st->crashes--; /* not a fault */
        }
        wipe_node(id);
        char dir[96];
        node_dir(id, dir, sizeof dir);
        rmdir(dir);
    }
    rmdir(run.dir);
    for (size_t i = 0; i < w.nq; i++)
        free(w.q[i].data);
    free(w.q);
    for (int i = 0; i < N_SCLIENTS; i++) {
        resp_out_free(&run.cl[i].c.out);
        free(run.cl[i].raw);
    }
    queue_free();
    free(run.exp);
    free(run.com);
    h_free(&run.h);
    st->msgs += w.msgs_sent;
    W = NULL;
    R = NULL;
    return run.failed ? -1 : 0;
}
