/*
 * tests/unit/test_transport.c - the outbound peer transport against a fake
 * peer: a small RESP server on the same libev loop, built on resp/parser.h,
 * whose behaviour each test controls (answer, refuse RAFT.AUTH, hang up,
 * accept and never read, never accept, read and never answer).
 *
 * Every wait is a loop over ev_run(EVRUN_ONCE) with a deadline; a 5 ms tick
 * timer makes each iteration return even when nothing else happens.
 * Durations are measured, never slept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <hiredis/hiredis.h>

#include "../../resp/writer.h"

#include "../../resp/parser.h"
#include "../../src/log.h"
#include "../../src/transport.h"
#include "../../src/util.h"

#define SELF_ID 1
#define SECRET "s3cret"
#define MAX_CONNS 64

/* ---- fake peer ---- */

struct fake_conn {
    struct fake_server *srv;
    int fd;
    ev_io rio;
    char *buf;
    size_t len, cap;
    struct resp_parser parser;
    int authed;
    int closed; /* by either side */
    int64_t accepted_us;
};

struct fake_cmd {
    int conn; /* index in srv->conns */
    size_t argc;
    char *argv[3];
    size_t argvlen[3];
};

struct fake_server {
    struct ev_loop *loop;
    int lfd, port;
    ev_io aio;
    int reading;     /* 0: accept connections and never read them */
    int reject_auth; /* answer RAFT.AUTH with an error */
    struct fake_conn *conns[MAX_CONNS];
    int n_conns;
    struct fake_cmd *cmds;
    size_t n_cmds, cap_cmds;
};

static void conn_close(struct fake_conn *c)
{
    if (c->closed) return;
    ev_io_stop(c->srv->loop, &c->rio);
    close(c->fd);
    c->closed = 1;
}

static void reply(struct fake_conn *c, const char *s)
{
    assert_int_equal(write(c->fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void record(struct fake_conn *c, const struct resp_parser *p)
{
    struct fake_server *srv = c->srv;
    if (srv->n_cmds == srv->cap_cmds) {
        srv->cap_cmds = srv->cap_cmds ? srv->cap_cmds * 2 : 64;
        srv->cmds = realloc(srv->cmds, srv->cap_cmds * sizeof *srv->cmds);
        assert_non_null(srv->cmds);
    }
    struct fake_cmd *cmd = &srv->cmds[srv->n_cmds++];
    memset(cmd, 0, sizeof *cmd);
    for (int i = 0; i < srv->n_conns; i++)
        if (srv->conns[i] == c) cmd->conn = i;
    cmd->argc = p->argc;
    for (size_t i = 0; i < p->argc && i < 3; i++) {
        cmd->argv[i] = malloc(p->argv[i].len + 1);
        assert_non_null(cmd->argv[i]);
        memcpy(cmd->argv[i], p->argv[i].ptr, p->argv[i].len);
        cmd->argv[i][p->argv[i].len] = 0;
        cmd->argvlen[i] = p->argv[i].len;
    }
}

/* What the real inbound side will do, reduced to what the tests need. A
 * RAFT.MSG whose payload is "close" makes the peer hang up; "bad" gets an
 * error reply. For one-shot requests: PING, RAW <bytes> (written back
 * verbatim) and SILENT [tag] (never answered). Returns 0 when the connection
 * was closed. */
static int execute(struct fake_conn *c)
{
    const struct resp_parser *p = &c->parser;
    record(c, p);
    const char *name = p->argv[0].ptr;
    if (p->argc == 3 && strncmp(name, "RAFT.AUTH", 9) == 0) {
        c->authed = !c->srv->reject_auth && p->argv[1].len == strlen(SECRET) &&
                    memcmp(p->argv[1].ptr, SECRET, p->argv[1].len) == 0;
        reply(c, c->authed ? "+OK\r\n" : "-ERR invalid raft-secret\r\n");
    } else if (p->argc == 3 && strncmp(name, "RAFT.MSG", 8) == 0 && c->authed) {
        if (p->argv[2].len == 5 && memcmp(p->argv[2].ptr, "close", 5) == 0) {
            conn_close(c);
            return 0;
        }
        int bad = p->argv[2].len == 3 && memcmp(p->argv[2].ptr, "bad", 3) == 0;
        reply(c, bad ? "-ERR malformed raft message\r\n" : "+OK\r\n");
    } else if (p->argc == 2 && strncmp(name, "AUTH", 4) == 0) {
        reply(c, "+OK\r\n");
    } else if (p->argc == 2 && strncmp(name, "ECHO", 4) == 0) {
        char hdr[32];
        snprintf(hdr, sizeof hdr, "$%zu\r\n", p->argv[1].len);
        reply(c, hdr);
        assert_int_equal(write(c->fd, p->argv[1].ptr, p->argv[1].len), (ssize_t)p->argv[1].len);
        reply(c, "\r\n");
    } else if (p->argc == 1 && strncmp(name, "PING", 4) == 0) {
        reply(c, "+PONG\r\n");
    } else if (p->argc == 2 && strncmp(name, "RAW", 3) == 0) {
        assert_int_equal(write(c->fd, p->argv[1].ptr, p->argv[1].len), (ssize_t)p->argv[1].len);
    } else if (strncmp(name, "SILENT", 6) == 0) {
        /* never answered */
    } else if (p->argc == 1 && strncmp(name, "HANGUP", 6) == 0) {
        conn_close(c);
        return 0;
    } else {
        reply(c, "-ERR not a peer connection\r\n");
    }
    return 1;
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fake_conn *c = w->data;
    if (c->cap - c->len < 65536) {
        c->cap = c->cap * 2 + 65536;
        c->buf = realloc(c->buf, c->cap);
        assert_non_null(c->buf);
    }
    ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    size_t off = 0;
    for (;;) {
        size_t used = 0;
        enum resp_parse_status st = resp_parser_feed(&c->parser, c->buf + off, c->len - off, &used);
        assert_int_not_equal(st, RESP_PARSE_ERROR);
        if (st == RESP_PARSE_NEED_MORE) {
            off += used;
            break;
        }
        if (!execute(c)) return;
        off += used;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct fake_server *srv = w->data;
    int fd;
    while ((fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        assert_true(srv->n_conns < MAX_CONNS);
        struct fake_conn *c = calloc(1, sizeof *c);
        assert_non_null(c);
        c->srv = srv;
        c->fd = fd;
        c->accepted_us = util_monotonic_us();
        struct resp_limits lim = {
            .bulk_len_max = 512u << 20, .args_max = 16, .inline_len_max = 65536};
        resp_parser_init(&c->parser, &lim);
        ev_io_init(&c->rio, read_cb, fd, EV_READ);
        c->rio.data = c;
        if (srv->reading) ev_io_start(loop, &c->rio);
        srv->conns[srv->n_conns++] = c;
    }
}

/* Listens on 127.0.0.1:port (0 = any free port) without accepting yet. */
static void fake_listen(struct fake_server *srv, struct ev_loop *loop, int port, int backlog)
{
    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->reading = 1;
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(srv->lfd >= 0);
    int one = 1;
    setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(srv->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(srv->lfd, backlog), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(srv->lfd, (struct sockaddr *)&sa, &sl), 0);
    srv->port = ntohs(sa.sin_port);
    ev_io_init(&srv->aio, accept_cb, srv->lfd, EV_READ);
    srv->aio.data = srv;
}

static void fake_start(struct fake_server *srv, struct ev_loop *loop, int port)
{
    fake_listen(srv, loop, port, 128);
    ev_io_start(loop, &srv->aio);
}

static void fake_stop(struct fake_server *srv)
{
    ev_io_stop(srv->loop, &srv->aio);
    close(srv->lfd);
    for (int i = 0; i < srv->n_conns; i++) {
        conn_close(srv->conns[i]);
        resp_parser_free(&srv->conns[i]->parser);
        free(srv->conns[i]->buf);
        free(srv->conns[i]);
    }
    for (size_t i = 0; i < srv->n_cmds; i++)
        for (int j = 0; j < 3; j++)
            free(srv->cmds[i].argv[j]);
    free(srv->cmds);
}

/* A port nobody listens on (just released; good enough on loopback). */
static int free_port(void)
{
    struct fake_server tmp;
    fake_listen(&tmp, NULL, 0, 1);
    int port = tmp.port;
    close(tmp.lfd);
    return port;
}

/* ---- loop and helpers ---- */

struct env {
    struct ev_loop *loop;
    ev_timer tick;
};

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

static void env_init(struct env *e)
{
    e->loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(e->loop);
    ev_timer_init(&e->tick, tick_cb, 0.005, 0.005);
    ev_timer_start(e->loop, &e->tick);
}

static void env_free(struct env *e)
{
    ev_timer_stop(e->loop, &e->tick);
    ev_loop_destroy(e->loop);
}

static int64_t now_ms(void)
{
    return util_monotonic_us() / 1000;
}

/* Runs the loop until cond holds or ms pass, then asserts cond. */
#define WAIT_UNTIL(loop, cond, ms)                                                                 \
    do {                                                                                           \
        int64_t deadline_ = now_ms() + (ms);                                                       \
        while (!(cond) && now_ms() < deadline_)                                                    \
            ev_run((loop), EVRUN_ONCE);                                                            \
        assert_true(cond);                                                                         \
    } while (0)

/* Runs the loop for ms, whatever happens. */
static void run_for(struct ev_loop *loop, int64_t ms)
{
    int64_t deadline = now_ms() + ms;
    while (now_ms() < deadline)
        ev_run(loop, EVRUN_ONCE);
}

static struct transport_peer_info info(struct transport *t, uint64_t id)
{
    struct transport_peer_info pi;
    assert_int_equal(transport_peer_info(t, id, &pi), TRANSPORT_OK);
    return pi;
}

static enum transport_state state(struct transport *t, uint64_t id)
{
    return info(t, id).state;
}

static const struct transport_limits fast_limits = {
    .pending_cmds_max = 1024,
    .pending_bytes_max = 1u << 20,
    .connect_timeout_ms = 500,
    .reply_timeout_ms = 0,
    .backoff_min_ms = 10,
    .backoff_max_ms = 80,
};

static void assert_cmd(const struct fake_cmd *cmd, int conn, const char *name, const char *a1,
                       const void *a2, size_t a2_len)
{
    assert_int_equal(cmd->conn, conn);
    assert_int_equal(cmd->argc, 3);
    assert_string_equal(cmd->argv[0], name);
    assert_string_equal(cmd->argv[1], a1);
    assert_int_equal(cmd->argvlen[2], a2_len);
    assert_memory_equal(cmd->argv[2], a2, a2_len);
}

static void assert_auth(const struct fake_cmd *cmd, int conn)
{
    assert_cmd(cmd, conn, "RAFT.AUTH", SECRET, "1", 1);
}

/* Payload i: every byte value, CR LF and NUL included, of varying length. */
static size_t make_payload(char *buf, int i)
{
    size_t len = (size_t)(i * 37) % 3000;
    for (size_t k = 0; k < len; k++)
        buf[k] = (char)((size_t)i * 31 + k * 7);
    if (len >= 4) memcpy(buf, "\r\n\0$", 4);
    return len;
}

/* ---- tests ---- */

/* (1) RAFT.AUTH first, then every message in order, payload bytes intact. */
static void test_delivery_in_order(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &fast_limits);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    /* Nothing is queued while connecting. */
    assert_int_equal(state(t, 2), TRANSPORT_CONNECTING);
    assert_int_equal(transport_send(t, 2, "early", 5), TRANSPORT_ENOTCONN);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 2000);

    enum { N = 300 };
    char buf[3000];
    for (int i = 0; i < N; i++) {
        size_t len = make_payload(buf, i);
        assert_int_equal(transport_send(t, 2, len ? buf : NULL, len), TRANSPORT_OK);
    }
    WAIT_UNTIL(e.loop, info(t, 2).pending_cmds == 0, 5000);
    /* A message above pending_bytes_max goes when nothing else is pending,
     * and holds back the next ones until it is answered. */
    size_t big_len = 3u << 20;
    char *big = malloc(big_len);
    assert_non_null(big);
    for (size_t k = 0; k < big_len; k++)
        big[k] = (char)(k * 13 + (k >> 12));
    assert_int_equal(transport_send(t, 2, big, big_len), TRANSPORT_OK);
    assert_int_equal(transport_send(t, 2, "x", 1), TRANSPORT_EFULL);
    WAIT_UNTIL(e.loop, srv.n_cmds == N + 2 && info(t, 2).pending_cmds == 0, 5000);

    assert_auth(&srv.cmds[0], 0);
    for (int i = 0; i < N; i++) {
        size_t len = make_payload(buf, i);
        assert_cmd(&srv.cmds[1 + i], 0, "RAFT.MSG", "1", buf, len);
    }
    assert_cmd(&srv.cmds[N + 1], 0, "RAFT.MSG", "1", big, big_len);
    struct transport_peer_info pi = info(t, 2);
    assert_int_equal(pi.sent, N + 1);
    assert_int_equal(pi.dropped, 2);
    assert_int_equal(pi.errors, 0);
    assert_int_equal(pi.connects, 1);
    assert_int_equal(pi.pending_bytes, 0);

    /* An error reply is counted; the connection stays and keeps its order. */
    assert_int_equal(transport_send(t, 2, "bad", 3), TRANSPORT_OK);
    assert_int_equal(transport_send(t, 2, "after", 5), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, info(t, 2).pending_cmds == 0, 2000);
    assert_int_equal(info(t, 2).errors, 1);
    assert_int_equal(state(t, 2), TRANSPORT_CONNECTED);
    assert_int_equal(srv.n_conns, 1);
    assert_cmd(&srv.cmds[N + 3], 0, "RAFT.MSG", "1", "after", 5);

    free(big);
    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* (2) Nobody listening: sends are dropped and counted, never queued; once the
 * peer listens, the transport connects by itself within the default back-off. */
static void test_connects_when_peer_appears(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    int port = free_port();
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, NULL);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", port), TRANSPORT_OK);
    run_for(e.loop, 700);
    struct transport_peer_info pi = info(t, 2);
    assert_int_not_equal(pi.state, TRANSPORT_CONNECTED);
    assert_int_equal(pi.connects, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(transport_send(t, 2, "lost", 4), TRANSPORT_ENOTCONN);
    pi = info(t, 2);
    assert_int_equal(pi.dropped, 10);
    assert_int_equal(pi.sent, 0);
    assert_true(pi.pending_cmds <= 1); /* at most RAFT.AUTH of an attempt */

    fake_start(&srv, e.loop, port);
    int64_t start = now_ms();
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 3000);
    assert_true(now_ms() - start <= 2000 + 500); /* back-off cap plus slack */
    assert_int_equal(transport_send(t, 2, "hello", 5), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, srv.n_cmds == 2, 2000);
    assert_auth(&srv.cmds[0], 0);
    assert_cmd(&srv.cmds[1], 0, "RAFT.MSG", "1", "hello", 5);
    assert_true(info(t, 2).last_conn_secs <= 1);

    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* (3) The peer hangs up: reconnect, AUTH again first. The peer dies: sends
 * are dropped until it is back. */
static void test_reconnects_after_close(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &fast_limits);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 2000);
    assert_int_equal(transport_send(t, 2, "close", 5), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, srv.n_conns == 2 && state(t, 2) == TRANSPORT_CONNECTED, 2000);
    assert_true(srv.conns[0]->closed);
    assert_int_equal(transport_send(t, 2, "again", 5), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, srv.n_cmds == 4, 2000);
    assert_auth(&srv.cmds[0], 0);
    assert_cmd(&srv.cmds[1], 0, "RAFT.MSG", "1", "close", 5);
    assert_auth(&srv.cmds[2], 1);
    assert_cmd(&srv.cmds[3], 1, "RAFT.MSG", "1", "again", 5);
    assert_int_equal(info(t, 2).connects, 2);
    assert_int_equal(info(t, 2).errors, 0); /* a lost reply is not an error reply */

    /* The whole peer goes away, then comes back on the same port. */
    int port = srv.port;
    fake_stop(&srv);
    WAIT_UNTIL(e.loop, state(t, 2) != TRANSPORT_CONNECTED, 2000);
    assert_int_equal(transport_send(t, 2, "lost", 4), TRANSPORT_ENOTCONN);
    fake_start(&srv, e.loop, port);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 2000);
    assert_int_equal(transport_send(t, 2, "back", 4), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, srv.n_cmds == 2, 2000);
    assert_auth(&srv.cmds[0], 0);
    assert_cmd(&srv.cmds[1], 0, "RAFT.MSG", "1", "back", 4);

    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* (4) A peer that accepts and never reads: its queue stops at the byte limit
 * and further sends drop; the loop stays responsive and another peer gets
 * every message meanwhile. */
static void test_stuck_peer_is_bounded(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server stuck, good;
    env_init(&e);
    fake_start(&stuck, e.loop, 0);
    stuck.reading = 0;
    fake_start(&good, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &fast_limits);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", stuck.port), TRANSPORT_OK);
    assert_int_equal(transport_set_peer(t, 3, "127.0.0.1", good.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && state(t, 3) == TRANSPORT_CONNECTED,
               2000);

    enum { N = 1000, SIZE = 64 << 10 };
    char *payload = calloc(1, SIZE);
    assert_non_null(payload);
    int accepted = 0, full = 0;
    int64_t worst_us = 0;
    for (int i = 0; i < N; i++) {
        int rc = transport_send(t, 2, payload, SIZE);
        assert_true(rc == TRANSPORT_OK || rc == TRANSPORT_EFULL);
        accepted += rc == TRANSPORT_OK;
        full += rc == TRANSPORT_EFULL;
        assert_int_equal(transport_send(t, 3, "m", 1), TRANSPORT_OK);
        int64_t t0 = util_monotonic_us();
        ev_run(e.loop, EVRUN_NOWAIT);
        int64_t took = util_monotonic_us() - t0;
        if (took > worst_us) worst_us = took;
    }
    uint64_t per_msg = SIZE + TRANSPORT_CMD_OVERHEAD_BYTES;
    assert_true(accepted >= 1 && (uint64_t)accepted <= fast_limits.pending_bytes_max / per_msg);
    assert_int_equal(full, N - accepted);
    WAIT_UNTIL(e.loop, good.n_cmds == 1 + N, 5000);
    struct transport_peer_info pi = info(t, 2);
    assert_int_equal(pi.state, TRANSPORT_CONNECTED);
    assert_true(pi.pending_bytes <= fast_limits.pending_bytes_max);
    assert_int_equal(pi.sent, accepted);
    assert_int_equal(pi.dropped, full);
    assert_int_equal(info(t, 3).dropped, 0);
    assert_true(worst_us < 1000000); /* nothing waited on the stuck peer */

    free(payload);
    transport_free(t);
    fake_stop(&stuck);
    fake_stop(&good);
    env_free(&e);
}

/* The command-count limit, RAFT.AUTH included. */
static void test_pending_cmds_limit(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server stuck;
    env_init(&e);
    fake_start(&stuck, e.loop, 0);
    stuck.reading = 0;
    struct transport_limits lim = fast_limits;
    lim.pending_cmds_max = 8;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", stuck.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 2000);
    for (int i = 0; i < 7; i++)
        assert_int_equal(transport_send(t, 2, "m", 1), TRANSPORT_OK);
    assert_int_equal(transport_send(t, 2, "m", 1), TRANSPORT_EFULL);
    run_for(e.loop, 50);
    assert_int_equal(transport_send(t, 2, "m", 1), TRANSPORT_EFULL);
    struct transport_peer_info pi = info(t, 2);
    assert_int_equal(pi.pending_cmds, 8);
    assert_int_equal(pi.sent, 7);
    assert_int_equal(pi.dropped, 2);

    transport_free(t);
    fake_stop(&stuck);
    env_free(&e);
}

/* (5) RAFT.AUTH refused: counted, the connection dropped, retried with a
 * doubling back-off; once accepted the link stays. */
static void test_auth_refused(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    srv.reject_auth = 1;
    struct transport_limits lim = fast_limits;
    lim.backoff_min_ms = 20;
    lim.backoff_max_ms = 160;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, srv.n_conns >= 6, 5000);
    assert_true(info(t, 2).errors >= 5);
    for (size_t i = 0; i < srv.n_cmds; i++)
        assert_string_equal(srv.cmds[i].argv[0], "RAFT.AUTH");
    for (int k = 1; k < 6; k++) {
        int64_t want_ms = 20 << (k - 1) > 160 ? 160 : 20 << (k - 1);
        int64_t gap_us = srv.conns[k]->accepted_us - srv.conns[k - 1]->accepted_us;
        assert_true(gap_us >= want_ms * 800); /* 80%: timers run on the loop's clock */
    }

    srv.reject_auth = 0;
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    int conns = srv.n_conns;
    uint64_t errors = info(t, 2).errors;
    run_for(e.loop, 300);
    assert_int_equal(srv.n_conns, conns);
    assert_int_equal(state(t, 2), TRANSPORT_CONNECTED);
    assert_int_equal(info(t, 2).errors, errors);

    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* A peer that never answers is given up after reply_timeout_ms. */
static void test_reply_timeout(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server stuck;
    env_init(&e);
    fake_start(&stuck, e.loop, 0);
    stuck.reading = 0;
    struct transport_limits lim = fast_limits;
    lim.reply_timeout_ms = 150;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", stuck.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 2000);
    int64_t start = now_ms();
    WAIT_UNTIL(e.loop, info(t, 2).connects >= 2, 3000);
    assert_true(now_ms() - start >= 100);
    assert_true(stuck.n_conns >= 2);

    transport_free(t);
    fake_stop(&stuck);
    env_free(&e);
}

/* A connect that hangs (the peer's accept queue is full, SYNs are dropped)
 * is abandoned after connect_timeout_ms and retried. */
static void test_connect_timeout(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_listen(&srv, e.loop, 0, 0);
    int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)srv.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof sa), 0);
    struct transport_limits lim = fast_limits;
    lim.connect_timeout_ms = 100;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    assert_int_equal(state(t, 2), TRANSPORT_CONNECTING);
    int64_t start = now_ms();
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_DISCONNECTED, 2000);
    assert_true(now_ms() - start >= 80);
    assert_int_equal(info(t, 2).connects, 0);

    ev_io_start(e.loop, &srv.aio); /* drain the queue: the next attempt gets in */
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 3000);
    WAIT_UNTIL(e.loop, info(t, 2).pending_cmds == 0, 2000);

    close(filler);
    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* Arguments, address changes, removal, and freeing with peers in every state. */
static void test_peers_api(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server a, b;
    env_init(&e);
    fake_start(&a, e.loop, 0);
    fake_start(&b, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &fast_limits);
    char long_host[TRANSPORT_HOST_MAX + 1];
    memset(long_host, 'h', TRANSPORT_HOST_MAX);
    long_host[TRANSPORT_HOST_MAX] = 0;
    assert_int_equal(transport_set_peer(t, 0, "127.0.0.1", a.port), TRANSPORT_EINVAL);
    assert_int_equal(transport_set_peer(t, SELF_ID, "127.0.0.1", a.port), TRANSPORT_EINVAL);
    assert_int_equal(transport_set_peer(t, 2, NULL, a.port), TRANSPORT_EINVAL);
    assert_int_equal(transport_set_peer(t, 2, "", a.port), TRANSPORT_EINVAL);
    assert_int_equal(transport_set_peer(t, 2, long_host, a.port), TRANSPORT_EINVAL);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", 0), TRANSPORT_EINVAL);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", 65536), TRANSPORT_EINVAL);
    struct transport_peer_info pi;
    assert_int_equal(transport_peer_info(t, 2, &pi), TRANSPORT_ENOPEER);
    assert_int_equal(transport_send(t, 2, "x", 1), TRANSPORT_ENOPEER);
    transport_remove_peer(t, 2);
    assert_string_equal(transport_strerror(TRANSPORT_EFULL), "peer queue full");

    assert_int_equal(transport_set_peer(t, 2, "localhost", a.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    assert_int_equal(transport_set_peer(t, 2, "localhost", a.port), TRANSPORT_OK);
    run_for(e.loop, 50);
    assert_int_equal(a.n_conns, 1);
    assert_int_equal(info(t, 2).connects, 1);

    /* A new address moves the link at once. */
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", b.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED, 2000);
    WAIT_UNTIL(e.loop, a.conns[0]->closed, 2000);
    pi = info(t, 2);
    assert_string_equal(pi.host, "127.0.0.1");
    assert_int_equal(pi.port, b.port);
    assert_int_equal(transport_send(t, 2, "moved", 5), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, b.n_cmds == 2, 2000);
    assert_cmd(&b.cmds[1], 0, "RAFT.MSG", "1", "moved", 5);

    /* Removal closes the connection, pending messages and all. */
    assert_int_equal(transport_send(t, 2, "pending", 7), TRANSPORT_OK);
    transport_remove_peer(t, 2);
    assert_int_equal(transport_peer_info(t, 2, &pi), TRANSPORT_ENOPEER);
    WAIT_UNTIL(e.loop, b.conns[0]->closed, 2000);

    /* Freed with a peer in each state: retrying, connected with a message
     * pending, connecting (RAFT.AUTH queued). */
    assert_int_equal(transport_set_peer(t, 3, "127.0.0.1", free_port()), TRANSPORT_OK);
    assert_int_equal(transport_set_peer(t, 4, "127.0.0.1", a.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 4) == TRANSPORT_CONNECTED, 2000);
    assert_int_equal(transport_send(t, 4, "pending", 7), TRANSPORT_OK);
    assert_int_equal(transport_set_peer(t, 5, "127.0.0.1", b.port), TRANSPORT_OK);
    assert_int_equal(state(t, 5), TRANSPORT_CONNECTING);
    assert_int_not_equal(state(t, 3), TRANSPORT_CONNECTED);
    transport_free(t);
    fake_stop(&a);
    fake_stop(&b);
    env_free(&e);
}

/* (10) The reply re-encoder: every RESP2 type, nesting, binary bulk. */
static void assert_reencodes(const char *in, size_t in_len, const char *want, size_t want_len)
{
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, in, in_len), REDIS_OK);
    void *r = NULL;
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    assert_non_null(r);
    struct resp_out out;
    resp_out_init(&out, 2);
    assert_int_equal(transport_reply_encode(r, &out), 0);
    assert_int_equal(out.len, want_len);
    assert_memory_equal(out.data, want, want_len);
    resp_out_free(&out);
    freeReplyObject(r);
    redisReaderFree(rd);
}

#define SAME(lit) assert_reencodes(lit, sizeof lit - 1, lit, sizeof lit - 1)

static void test_reply_encode(void **unused)
{
    (void)unused;
    SAME("+OK\r\n");
    SAME("+\r\n");
    SAME("-ERR value is not an integer or out of range\r\n");
    SAME(":0\r\n");
    SAME(":-9223372036854775808\r\n");
    SAME("$0\r\n\r\n");
    SAME("$6\r\na\r\n\0$b\r\n");
    SAME("$-1\r\n");
    SAME("*0\r\n");
    SAME("*5\r\n$1\r\na\r\n$-1\r\n:7\r\n*2\r\n*0\r\n*1\r\n+x\r\n-ERR e\r\n");
    SAME("*2\r\n*2\r\n*2\r\n*2\r\n*1\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n");
    /* hiredis 0.14 reads a null array as nil: relayed as a null bulk. */
    assert_reencodes("*-1\r\n", 5, "$-1\r\n", 5);
    assert_reencodes("*2\r\n*-1\r\n:1\r\n", 13, "*2\r\n$-1\r\n:1\r\n", 13);
    /* Built by hand: deeper than hiredis reads, and deeper than the limit. */
    enum { DEEP = TRANSPORT_REPLY_DEPTH_MAX + 1 };
    redisReply nodes[DEEP + 1], *elems[DEEP];
    memset(nodes, 0, sizeof nodes);
    for (int i = 0; i < DEEP; i++) {
        nodes[i].type = REDIS_REPLY_ARRAY;
        nodes[i].elements = 1;
        elems[i] = &nodes[i + 1];
        nodes[i].element = &elems[i];
    }
    nodes[DEEP].type = REDIS_REPLY_INTEGER;
    struct resp_out out;
    resp_out_init(&out, 2);
    assert_int_equal(transport_reply_encode(&nodes[1], &out), 0);
    assert_int_equal(out.len, (size_t)(DEEP - 1) * 4 + 4);
    resp_out_clear(&out);
    assert_int_equal(transport_reply_encode(&nodes[0], &out), -1);
    resp_out_free(&out);
}

struct fwd_log {
    int n;
    char replies[64][64];
    size_t lens[64];
};

static void fwd_cb(void *ud, const char *resp, size_t len)
{
    struct fwd_log *log = ud;
    assert_true(log->n < 64 && len < 64);
    if (resp)
        memcpy(log->replies[log->n], resp, len);
    else
        strcpy(log->replies[log->n], "FAILED");
    log->lens[log->n] = len;
    log->n++;
}

static int fwd(struct transport *t, uint64_t id, const char *a0, const char *a1,
               struct fwd_log *log)
{
    const char *argv[2] = {a0, a1};
    size_t lens[2] = {strlen(a0), a1 ? strlen(a1) : 0};
    return transport_forward(t, id, a1 ? 2 : 1, argv, lens, fwd_cb, log);
}

/* (11) The proxy link: AUTH first, on its own connection, replies in order;
 * a hang-up fails what is pending, in order, before later replies; a
 * cancelled ud gets nothing; the queue is bounded. */
static void test_forward(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport_limits lim = fast_limits;
    lim.pending_cmds_max = 4;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    transport_set_forward(t, "pw", 2000);
    struct fwd_log log = {0}, other = {0};
    assert_int_equal(fwd(t, 9, "ECHO", "x", &log), TRANSPORT_ENOPEER);
    assert_int_equal(fwd(t, 2, "ECHO", "a", &log), TRANSPORT_OK);
    assert_int_equal(fwd(t, 2, "ECHO", "b", &other), TRANSPORT_OK);
    assert_int_equal(fwd(t, 2, "ECHO", "c", &log), TRANSPORT_OK);
    assert_int_equal(fwd(t, 2, "ECHO", "d", &log), TRANSPORT_OK);
    assert_int_equal(fwd(t, 2, "ECHO", "e", &log), TRANSPORT_EFULL);
    transport_forward_cancel_ud(t, &other);
    assert_int_equal(log.n, 0); /* never from inside a transport call */
    WAIT_UNTIL(e.loop, log.n == 3 && transport_forward_pending(t) == 0, 2000);
    assert_string_equal(log.replies[0], "$1\r\na\r\n");
    assert_string_equal(log.replies[1], "$1\r\nc\r\n");
    assert_string_equal(log.replies[2], "$1\r\nd\r\n");
    assert_int_equal(other.n, 0);
    /* Peer link and proxy link are two connections; AUTH opened the latter. */
    WAIT_UNTIL(e.loop, srv.n_conns == 2, 2000);
    int proxy_conn = -1;
    for (size_t i = 0; i < srv.n_cmds; i++)
        if (strcmp(srv.cmds[i].argv[0], "AUTH") == 0) {
            proxy_conn = srv.cmds[i].conn;
            assert_string_equal(srv.cmds[i].argv[1], "pw");
            break;
        }
    assert_true(proxy_conn >= 0);
    for (size_t i = 0; i < srv.n_cmds; i++)
        if (strcmp(srv.cmds[i].argv[0], "ECHO") == 0)
            assert_int_equal(srv.cmds[i].conn, proxy_conn);

    /* The leader hangs up with commands pending: they fail, in order, and
     * the next forward opens a new link. */
    log.n = 0;
    assert_int_equal(fwd(t, 2, "HANGUP", NULL, &log), TRANSPORT_OK);
    assert_int_equal(fwd(t, 2, "ECHO", "lost", &log), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, log.n == 2, 2000);
    assert_string_equal(log.replies[0], "FAILED");
    assert_string_equal(log.replies[1], "FAILED");
    assert_int_equal(fwd(t, 2, "ECHO", "again", &log), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, log.n == 3, 2000);
    assert_string_equal(log.replies[2], "$5\r\nagain\r\n");
    assert_int_equal(srv.n_conns, 3);
    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* ---- one-shot requests ---- */

static int call(struct transport *t, int port, const char *a0, const char *a1, uint32_t ms,
                struct fwd_log *log)
{
    const char *argv[2] = {a0, a1};
    size_t lens[2] = {strlen(a0), a1 ? strlen(a1) : 0};
    return transport_call(t, "127.0.0.1", port, a1 ? 2 : 1, argv, lens, ms, fwd_cb, log);
}

/* Follows a -MOVED reply with a PING to `port`, from inside the callback. */
struct follow {
    struct transport *t;
    int port;
    struct fwd_log log;
};

static void follow_cb(void *ud, const char *resp, size_t len)
{
    struct follow *f = ud;
    fwd_cb(&f->log, resp, len);
    if (resp && strncmp(resp, "-MOVED ", 7) == 0)
        assert_int_equal(call(f->t, f->port, "PING", NULL, 2000, &f->log), TRANSPORT_OK);
}

/* The request on connection conn: RAFT.AUTH first when want_auth, then
 * command `name`, and nothing else. */
static void assert_call_conn(const struct fake_server *srv, int conn, int want_auth,
                             const char *name)
{
    int k = 0;
    for (size_t i = 0; i < srv->n_cmds; i++) {
        if (srv->cmds[i].conn != conn) continue;
        if (k == 0 && want_auth)
            assert_auth(&srv->cmds[i], conn);
        else
            assert_string_equal(srv->cmds[i].argv[0], name);
        k++;
    }
    assert_int_equal(k, want_auth ? 2 : 1);
}

/* (12) Replies are delivered whole, error replies included; RAFT.AUTH goes
 * first on a connection of each request's own, closed after the reply; the
 * peer link is untouched; a callback may send the next request. */
static void test_call_replies(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &fast_limits);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    struct fwd_log log = {0};
    assert_int_equal(call(t, srv.port, "PING", NULL, 2000, &log), TRANSPORT_OK);
    assert_int_equal(log.n, 0); /* never from inside a transport call */
    WAIT_UNTIL(e.loop, log.n == 1, 2000);
    assert_string_equal(log.replies[0], "+PONG\r\n");
    assert_call_conn(&srv, 1, 1, "PING");

    const char moved[] = "-MOVED 1 127.0.0.1:7001\r\n";
    assert_int_equal(call(t, srv.port, "RAW", moved, 2000, &log), TRANSPORT_OK);
    const char bin[] = "a\r\n\0$b";
    const char *argv[2] = {"ECHO", bin};
    size_t lens[2] = {4, sizeof bin - 1};
    assert_int_equal(transport_call(t, "localhost", srv.port, 2, argv, lens, 2000, fwd_cb, &log),
                     TRANSPORT_OK);
    WAIT_UNTIL(e.loop, log.n == 3, 2000);
    for (int i = 1; i < 3; i++) {
        if (log.replies[i][0] == '-') {
            assert_int_equal(log.lens[i], sizeof moved - 1);
            assert_memory_equal(log.replies[i], moved, sizeof moved - 1);
        } else {
            const char want[] = "$6\r\na\r\n\0$b\r\n";
            assert_int_equal(log.lens[i], sizeof want - 1);
            assert_memory_equal(log.replies[i], want, sizeof want - 1);
        }
    }
    WAIT_UNTIL(e.loop, srv.n_conns == 4, 2000);
    for (int i = 1; i < 4; i++)
        WAIT_UNTIL(e.loop, srv.conns[i]->closed, 2000);

    /* A -MOVED followed from the callback. */
    struct follow f = {.t = t, .port = srv.port};
    const char *rargv[2] = {"RAW", moved};
    size_t rlens[2] = {3, sizeof moved - 1};
    assert_int_equal(transport_call(t, "127.0.0.1", srv.port, 2, rargv, rlens, 2000, follow_cb, &f),
                     TRANSPORT_OK);
    WAIT_UNTIL(e.loop, f.log.n == 2, 2000);
    assert_string_equal(f.log.replies[0], moved);
    assert_string_equal(f.log.replies[1], "+PONG\r\n");

    /* The peer link saw none of it. */
    struct transport_peer_info pi = info(t, 2);
    assert_int_equal(pi.state, TRANSPORT_CONNECTED);
    assert_int_equal(pi.connects, 1);
    assert_int_equal(pi.sent + pi.dropped + pi.errors + pi.pending_cmds, 0);
    assert_false(srv.conns[0]->closed);
    assert_auth(&srv.cmds[0], 0);
    for (size_t i = 1; i < srv.n_cmds; i++)
        assert_int_not_equal(srv.cmds[i].conn, 0);
    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* (13) Failures give NULL, once: refused connect, no answer within the
 * timeout, a hang-up, a refused RAFT.AUTH (whatever follows it). Without a
 * raft-secret no RAFT.AUTH is sent. */
static void test_call_failures(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv, stuck;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    fake_start(&stuck, e.loop, 0);
    stuck.reading = 0;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &fast_limits);
    struct fwd_log refused = {0}, slow = {0}, hung = {0};
    assert_int_equal(call(t, free_port(), "PING", NULL, 2000, &refused), TRANSPORT_OK);
    int64_t start = now_ms();
    assert_int_equal(call(t, stuck.port, "PING", NULL, 150, &slow), TRANSPORT_OK);
    assert_int_equal(call(t, srv.port, "HANGUP", NULL, 2000, &hung), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, refused.n == 1 && hung.n == 1, 2000);
    assert_string_equal(refused.replies[0], "FAILED");
    assert_string_equal(hung.replies[0], "FAILED");
    WAIT_UNTIL(e.loop, slow.n == 1, 2000);
    assert_true(now_ms() - start >= 120);
    assert_string_equal(slow.replies[0], "FAILED");
    run_for(e.loop, 50);
    assert_int_equal(refused.n + slow.n + hung.n, 3);

    /* RAFT.AUTH refused: NULL, though the server answers the PING behind it. */
    struct fwd_log log = {0};
    srv.reject_auth = 1;
    assert_int_equal(call(t, srv.port, "PING", NULL, 2000, &log), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, log.n == 1, 2000);
    assert_string_equal(log.replies[0], "FAILED");
    WAIT_UNTIL(e.loop, srv.n_conns == 2 && srv.n_cmds == 4, 2000);
    assert_call_conn(&srv, 1, 1, "PING");
    transport_free(t);

    /* No raft-secret: the request goes alone. */
    srv.reject_auth = 0;
    t = transport_create(e.loop, SELF_ID, "", &fast_limits);
    assert_int_equal(call(t, srv.port, "PING", NULL, 2000, &log), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, log.n == 2, 2000);
    assert_string_equal(log.replies[1], "+PONG\r\n");
    assert_call_conn(&srv, 2, 0, "PING");
    transport_free(t);
    fake_stop(&srv);
    fake_stop(&stuck);
    env_free(&e);
}

/* 1 when every connection that sent SILENT <tag> was closed. */
static int tag_closed(const struct fake_server *srv, const char *tag)
{
    for (size_t i = 0; i < srv->n_cmds; i++)
        if (strcmp(srv->cmds[i].argv[0], "SILENT") == 0 && strcmp(srv->cmds[i].argv[1], tag) == 0 &&
            !srv->conns[srv->cmds[i].conn]->closed)
            return 0;
    return 1;
}

/* (14) Arguments, the in-flight limit, cancellation (no callback, the
 * connection closed at once, the slot free again), and freeing with
 * requests in flight. */
static void test_call_cancel_and_limits(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, &fast_limits);
    struct fwd_log a = {0}, b = {0};
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    char long_host[TRANSPORT_HOST_MAX + 1];
    memset(long_host, 'h', TRANSPORT_HOST_MAX);
    long_host[TRANSPORT_HOST_MAX] = 0;
    const char *h = "127.0.0.1";
    int p = srv.port;
    assert_int_equal(transport_call(t, h, p, 0, argv, lens, 100, fwd_cb, &a), TRANSPORT_EINVAL);
    assert_int_equal(transport_call(t, h, p, 1, argv, lens, 100, NULL, &a), TRANSPORT_EINVAL);
    assert_int_equal(transport_call(t, h, p, 1, argv, lens, 0, fwd_cb, &a), TRANSPORT_EINVAL);
    assert_int_equal(transport_call(t, NULL, p, 1, argv, lens, 100, fwd_cb, &a), TRANSPORT_EINVAL);
    assert_int_equal(transport_call(t, "", p, 1, argv, lens, 100, fwd_cb, &a), TRANSPORT_EINVAL);
    assert_int_equal(transport_call(t, long_host, p, 1, argv, lens, 100, fwd_cb, &a),
                     TRANSPORT_EINVAL);
    assert_int_equal(transport_call(t, h, 0, 1, argv, lens, 100, fwd_cb, &a), TRANSPORT_EINVAL);
    assert_int_equal(transport_call(t, h, 65536, 1, argv, lens, 100, fwd_cb, &a), TRANSPORT_EINVAL);

    for (int i = 0; i < TRANSPORT_CALLS_MAX; i++)
        assert_int_equal(call(t, p, "SILENT", i % 2 ? "b" : "a", 5000, i % 2 ? &b : &a),
                         TRANSPORT_OK);
    assert_int_equal(call(t, p, "PING", NULL, 5000, &a), TRANSPORT_EFULL);
    WAIT_UNTIL(e.loop, srv.n_cmds == 2 * TRANSPORT_CALLS_MAX, 2000);
    transport_call_cancel_ud(t, &a);
    WAIT_UNTIL(e.loop, tag_closed(&srv, "a"), 2000);
    assert_false(tag_closed(&srv, "b"));
    assert_int_equal(call(t, p, "PING", NULL, 5000, &b), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, b.n == 1, 2000);
    assert_string_equal(b.replies[0], "+PONG\r\n");
    for (int i = 0; i < TRANSPORT_CALLS_MAX / 2; i++) /* slots of the cancelled */
        assert_int_equal(call(t, p, "PING", NULL, 5000, &b), TRANSPORT_OK);
    assert_int_equal(call(t, p, "PING", NULL, 5000, &b), TRANSPORT_EFULL);
    /* Cancelled before the connect completed, too. */
    transport_call_cancel_ud(t, &b);
    for (int i = 0; i < TRANSPORT_CALLS_MAX; i++)
        assert_int_equal(call(t, p, "SILENT", "c", 5000, &a), TRANSPORT_OK);
    run_for(e.loop, 100);
    assert_int_equal(a.n + b.n, 1);
    transport_free(t); /* requests in flight: no callbacks */
    run_for(e.loop, 50);
    assert_int_equal(a.n + b.n, 1);
    WAIT_UNTIL(e.loop, tag_closed(&srv, "b"), 2000);
    WAIT_UNTIL(e.loop, tag_closed(&srv, "c"), 2000);
    fake_stop(&srv);
    env_free(&e);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a precondition of transport.h */
    log_set_level(LOG_LEVEL_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery_in_order),
        cmocka_unit_test(test_connects_when_peer_appears),
        cmocka_unit_test(test_reconnects_after_close),
        cmocka_unit_test(test_stuck_peer_is_bounded),
        cmocka_unit_test(test_pending_cmds_limit),
        cmocka_unit_test(test_auth_refused),
        cmocka_unit_test(test_reply_timeout),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_peers_api),
        cmocka_unit_test(test_reply_encode),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_call_replies),
        cmocka_unit_test(test_call_failures),
        cmocka_unit_test(test_call_cancel_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
