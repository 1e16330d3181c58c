/*
 * tests/unit/transport_fixture.h - shared by the transport's tests
 * (test_transport.c: peer links and reply re-encoding; test_transport_calls.c:
 * the proxy link and one-shot requests): a fake peer -- a small RESP server on
 * the same libev loop, built on resp/parser.h, whose behaviour each test
 * controls (answer, refuse RAFT.AUTH, hang up, accept and never read, never
 * accept, read and never answer) -- and the loop helpers.
 *
 * Every wait is a loop over ev_run(EVRUN_ONCE) with a deadline; a 5 ms tick
 * timer makes each iteration return even when nothing else happens.
 * Durations are measured, never slept. Helpers are static and marked unused:
 * each test file uses its own subset.
 */
#ifndef TRANSPORT_FIXTURE_H
#define TRANSPORT_FIXTURE_H

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

#include "../../resp/writer.h"

#include "../../resp/parser.h"
#include "base/clock.h"
#include "base/log.h"
#include "transport/transport.h"
#include "base/util.h"

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
    char *argv[6];
    size_t argvlen[6];
};

struct fake_server {
    struct ev_loop *loop;
    int lfd, port;
    ev_io aio;
    int reading;     /* 0: accept connections and never read them */
    int reject_auth; /* answer RAFT.AUTH with an error */
    /* if set, the reply to an accepted RAFT.AUTH */
    const char *auth_reply;
    struct fake_conn *conns[MAX_CONNS];
    int n_conns;
    struct fake_cmd *cmds;
    size_t n_cmds, cap_cmds;
};

__attribute__((unused)) static void conn_close(struct fake_conn *c)
{
    if (c->closed) return;
    ev_io_stop(c->srv->loop, &c->rio);
    close(c->fd);
    c->closed = 1;
}

__attribute__((unused)) static void reply(struct fake_conn *c, const char *s)
{
    assert_int_equal(write(c->fd, s, strlen(s)), (ssize_t)strlen(s));
}

__attribute__((unused)) static void record(struct fake_conn *c, const struct resp_parser *p)
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
    for (size_t i = 0; i < p->argc && i < 6; i++) {
        cmd->argv[i] = malloc(p->argv[i].len + 1);
        assert_non_null(cmd->argv[i]);
        memcpy(cmd->argv[i], p->argv[i].ptr, p->argv[i].len);
        cmd->argv[i][p->argv[i].len] = 0;
        cmd->argvlen[i] = p->argv[i].len;
    }
}

/* What the real inbound side will do, reduced to what the tests need. A
 * RAFT.MSG whose payload is "close" makes the peer hang up; "bad" gets an
 * error reply. For one-shot requests and proxy links: PING, RAW <bytes>
 * (written back verbatim), HELLO n (a RESP3 map), SILENT [tag] and
 * RAFTCACHE.SELECT n (never answered). Returns 0 when the connection
 * was closed. */
__attribute__((unused)) static int execute(struct fake_conn *c)
{
    const struct resp_parser *p = &c->parser;
    record(c, p);
    const char *name = p->argv[0].ptr;
    if (p->argc >= 3 && strncmp(name, "RAFT.AUTH", 9) == 0) {
        c->authed = !c->srv->reject_auth && p->argv[1].len == strlen(SECRET) &&
                    memcmp(p->argv[1].ptr, SECRET, p->argv[1].len) == 0;
        const char *ok = c->srv->auth_reply ? c->srv->auth_reply : "+OK\r\n";
        reply(c, c->authed ? ok : "-ERR invalid raft-secret\r\n");
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
    } else if (p->argc == 2 && strncmp(name, "HELLO", 5) == 0) {
        reply(c, "%1\r\n$6\r\nserver\r\n$4\r\nfake\r\n");
    } else if (p->argc == 2 && strncmp(name, "RAW", 3) == 0) {
        assert_int_equal(write(c->fd, p->argv[1].ptr, p->argv[1].len), (ssize_t)p->argv[1].len);
    } else if (strncmp(name, "SILENT", 6) == 0 || strncmp(name, "RAFTCACHE.SELECT", 16) == 0) {
        /* never answered (RAFTCACHE.SELECT: the proxy link's database, as the leader) */
    } else if (p->argc == 1 && strncmp(name, "HANGUP", 6) == 0) {
        conn_close(c);
        return 0;
    } else {
        reply(c, "-ERR not a peer connection\r\n");
    }
    return 1;
}

__attribute__((unused)) static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
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

__attribute__((unused)) static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
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
        c->accepted_us = clock_mono_us();
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
__attribute__((unused)) static void fake_listen(struct fake_server *srv, struct ev_loop *loop,
                                                int port, int backlog)
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

__attribute__((unused)) static void fake_start(struct fake_server *srv, struct ev_loop *loop,
                                               int port)
{
    fake_listen(srv, loop, port, 128);
    ev_io_start(loop, &srv->aio);
}

__attribute__((unused)) static void fake_stop(struct fake_server *srv)
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
        for (int j = 0; j < 6; j++)
            free(srv->cmds[i].argv[j]);
    free(srv->cmds);
}

/* A port nobody listens on (just released; good enough on loopback). */
__attribute__((unused)) static int free_port(void)
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

__attribute__((unused)) static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

__attribute__((unused)) static void env_init(struct env *e)
{
    e->loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(e->loop);
    ev_timer_init(&e->tick, tick_cb, 0.005, 0.005);
    ev_timer_start(e->loop, &e->tick);
}

__attribute__((unused)) static void env_free(struct env *e)
{
    ev_timer_stop(e->loop, &e->tick);
    ev_loop_destroy(e->loop);
}

/* Most tests' setting: a loop, a fake peer 2, and a transport that knows
 * it (limits lim). */
struct rig {
    struct env e;
    struct fake_server srv;
    struct transport *t;
};

__attribute__((unused)) static void rig_start(struct rig *r, const struct transport_limits *lim)
{
    env_init(&r->e);
    fake_start(&r->srv, r->e.loop, 0);
    r->t = transport_create(r->e.loop, SELF_ID, SECRET, strlen(SECRET), lim);
    assert_int_equal(transport_set_peer(r->t, 2, "127.0.0.1", r->srv.port), TRANSPORT_OK);
}

__attribute__((unused)) static void rig_stop(struct rig *r)
{
    transport_free(r->t);
    fake_stop(&r->srv);
    env_free(&r->e);
}

__attribute__((unused)) static int64_t now_ms(void)
{
    return clock_mono_us() / 1000;
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
__attribute__((unused)) static void run_for(struct ev_loop *loop, int64_t ms)
{
    int64_t deadline = now_ms() + ms;
    while (now_ms() < deadline)
        ev_run(loop, EVRUN_ONCE);
}

__attribute__((unused)) static struct transport_peer_info info(struct transport *t, uint64_t id)
{
    struct transport_peer_info pi;
    assert_int_equal(transport_peer_info(t, id, &pi), TRANSPORT_OK);
    return pi;
}

__attribute__((unused)) static enum transport_state state(struct transport *t, uint64_t id)
{
    return info(t, id).state;
}

__attribute__((unused)) static const struct transport_limits fast_limits = {
    .pending_cmds_max = 1024,
    .pending_bytes_max = 1u << 20,
    .connect_timeout_ms = 500,
    .reply_timeout_ms = 0,
    .backoff_min_ms = 10,
    .backoff_max_ms = 80,
};

__attribute__((unused)) static void assert_cmd(const struct fake_cmd *cmd, int conn,
                                               const char *name, const char *a1, const void *a2,
                                               size_t a2_len)
{
    assert_int_equal(cmd->conn, conn);
    assert_int_equal(cmd->argc, 3);
    assert_string_equal(cmd->argv[0], name);
    assert_string_equal(cmd->argv[1], a1);
    assert_int_equal(cmd->argvlen[2], a2_len);
    assert_memory_equal(cmd->argv[2], a2, a2_len);
}

__attribute__((unused)) static void assert_auth(const struct fake_cmd *cmd, int conn)
{
    assert_cmd(cmd, conn, "RAFT.AUTH", SECRET, "1", 1);
}

/* Payload i: every byte value, CR LF and NUL included, of varying length. */
__attribute__((unused)) static size_t make_payload(char *buf, int i)
{
    size_t len = (size_t)(i * 37) % 3000;
    for (size_t k = 0; k < len; k++)
        buf[k] = (char)((size_t)i * 31 + k * 7);
    if (len >= 4) memcpy(buf, "\r\n\0$", 4);
    return len;
}

#endif
