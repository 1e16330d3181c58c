/*
 * tests/unit/test_transport_calls.c - the transport's request/reply paths
 * against a fake peer (tests/unit/transport_fixture.h): the proxy link
 * (transport_forward) and one-shot requests (transport_call).
 */
#include "transport_fixture.h"

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

static int fwd_ctx(struct transport *t, uint64_t id, const struct transport_fwd_ctx *ctx,
                   const char *a0, const char *a1, struct fwd_log *log)
{
    struct resp_arg argv[2] = {{a0, strlen(a0)}, {a1, a1 ? strlen(a1) : 0}};
    struct transport_cmd one = {a1 ? 2 : 1, argv};
    return transport_forward(t, id, ctx, &one, 1, fwd_cb, log);
}

static int fwd_db(struct transport *t, uint64_t id, int db, const char *a0, const char *a1,
                  struct fwd_log *log)
{
    struct transport_fwd_ctx ctx = {.db = db, .proto = 2};
    return fwd_ctx(t, id, &ctx, a0, a1, log);
}

static int fwd(struct transport *t, uint64_t id, const char *a0, const char *a1,
               struct fwd_log *log)
{
    return fwd_db(t, id, 0, a0, a1, log);
}

/* cmocka's setup and teardown of the proxy tests: a rig whose transport
 * forwards with no password and a 2 s forward timeout. */
static int proxy_rig_setup(void **state)
{
    struct rig *r = malloc(sizeof *r);
    assert_non_null(r);
    rig_start(r, &fast_limits);
    transport_set_forward(r->t, NULL, 0, 2000);
    *state = r;
    return 0;
}

static int proxy_rig_teardown(void **state)
{
    rig_stop(*state);
    free(*state);
    return 0;
}

/* (11) The proxy link: RAFT.AUTH first (a peer: no AUTH with the password
 * behind it, src/server/aclstate.h), on its own connection, replies in order;
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    transport_set_forward(t, "pw", 2, 2000);
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
    /* Peer link and proxy link are two connections; RAFT.AUTH opened the
     * latter, and no AUTH followed. */
    WAIT_UNTIL(e.loop, srv.n_conns == 2, 2000);
    int proxy_conn = -1, first_seen = 0;
    for (size_t i = 0; i < srv.n_cmds; i++) {
        assert_string_not_equal(srv.cmds[i].argv[0], "AUTH");
        if (strcmp(srv.cmds[i].argv[0], "ECHO") == 0 && proxy_conn < 0)
            proxy_conn = srv.cmds[i].conn;
    }
    assert_true(proxy_conn >= 0);
    for (size_t i = 0; i < srv.n_cmds; i++) {
        if (srv.cmds[i].conn != proxy_conn) continue;
        if (!first_seen) assert_string_equal(srv.cmds[i].argv[0], "RAFT.AUTH");
        first_seen = 1;
        assert_true(strcmp(srv.cmds[i].argv[0], "ECHO") == 0 ||
                    strcmp(srv.cmds[i].argv[0], "RAFT.AUTH") == 0);
    }

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

/* The proxy link's database: a command of another database than the
 * link's last goes behind RAFTCACHE.SELECT (no reply of its own), the
 * replies keep their order, and a new link starts over from database 0. */
static void test_forward_databases(void **state)
{
    struct rig *r = *state;
    struct ev_loop *loop = r->e.loop;
    struct transport *t = r->t;
    struct fake_server *srv = &r->srv;
    struct fwd_log log = {0};
    assert_int_equal(fwd_db(t, 2, 0, "ECHO", "a", &log), TRANSPORT_OK);
    assert_int_equal(fwd_db(t, 2, 3, "ECHO", "b", &log), TRANSPORT_OK);
    assert_int_equal(fwd_db(t, 2, 3, "ECHO", "c", &log), TRANSPORT_OK);
    assert_int_equal(fwd_db(t, 2, 0, "ECHO", "d", &log), TRANSPORT_OK);
    WAIT_UNTIL(loop, log.n == 4, 2000);
    const char *want[] = {"$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n", "$1\r\nd\r\n"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(log.replies[i], want[i]);
    const char *sent[] = {"ECHO a", "RAFTCACHE.SELECT 3", "ECHO b",
                          "ECHO c", "RAFTCACHE.SELECT 0", "ECHO d"};
    size_t k = 0;
    for (size_t i = 0; i < srv->n_cmds && k < 6; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s %s", srv->cmds[i].argv[0], srv->cmds[i].argv[1]);
        if (strncmp(line, "ECHO", 4) == 0 || strncmp(line, "RAFTCACHE", 9) == 0)
            assert_string_equal(line, sent[k++]);
    }
    assert_int_equal(k, 6);

    /* a new link after a hang-up: the leader's side is in database 0 again */
    size_t before = srv->n_cmds;
    assert_int_equal(fwd_db(t, 2, 5, "HANGUP", NULL, &log), TRANSPORT_OK);
    WAIT_UNTIL(loop, log.n == 5, 2000);
    assert_int_equal(fwd_db(t, 2, 5, "ECHO", "e", &log), TRANSPORT_OK);
    WAIT_UNTIL(loop, log.n == 6, 2000);
    assert_string_equal(log.replies[5], "$1\r\ne\r\n");
    int selects = 0;
    for (size_t i = before; i < srv->n_cmds; i++)
        selects += strcmp(srv->cmds[i].argv[0], "RAFTCACHE.SELECT") == 0 &&
                   strcmp(srv->cmds[i].argv[1], "5") == 0;
    assert_int_equal(selects, 2); /* once on each link */
}

/* Replies come back as the leader's bytes, whatever RESP3 type: a push
 * between them is dropped, an attribute stays with its value. A unit
 * (several commands forwarded as one) gets only its last reply. The RESP3
 * link is a connection of its own that starts with HELLO 3. */
static void test_forward_raw_replies(void **state)
{
    struct rig *r = *state;
    struct ev_loop *loop = r->e.loop;
    struct transport *t = r->t;
    struct fake_server *srv = &r->srv;
    struct fwd_log log = {0};
    struct transport_fwd_ctx resp3 = {.proto = 3};
    const char *map = "%1\r\n$1\r\na\r\n,1.5\r\n";
    const char *pushed = ">2\r\n+p\r\n+q\r\n|1\r\n+k\r\n+v\r\n:5\r\n";
    assert_int_equal(fwd_ctx(t, 2, &resp3, "RAW", map, &log), TRANSPORT_OK);
    assert_int_equal(fwd_ctx(t, 2, &resp3, "RAW", pushed, &log), TRANSPORT_OK);
    struct resp_arg ping = {"PING", 4}, echo[2] = {{"ECHO", 4}, {"u", 1}};
    struct transport_cmd unit[3] = {{1, &ping}, {1, &ping}, {2, echo}};
    assert_int_equal(transport_forward(t, 2, &resp3, unit, 3, fwd_cb, &log), TRANSPORT_OK);
    assert_int_equal(transport_forward(t, 2, &resp3, unit, 0, fwd_cb, &log), TRANSPORT_EINVAL);
    WAIT_UNTIL(loop, log.n == 3, 2000);
    assert_string_equal(log.replies[0], map);
    assert_string_equal(log.replies[1], pushed + 12); /* the push dropped */
    assert_string_equal(log.replies[2], "$1\r\nu\r\n");
    int hello_conn = -1;
    for (size_t i = 0; i < srv->n_cmds; i++)
        if (strcmp(srv->cmds[i].argv[0], "HELLO") == 0) {
            assert_string_equal(srv->cmds[i].argv[1], "3");
            hello_conn = srv->cmds[i].conn;
        }
    assert_true(hello_conn >= 0);
    for (size_t i = 0; i < srv->n_cmds; i++)
        if (strcmp(srv->cmds[i].argv[0], "RAW") == 0)
            assert_int_equal(srv->cmds[i].conn, hello_conn);
    /* a RESP2 forward takes the other link, which never says HELLO */
    assert_int_equal(fwd_db(t, 2, 0, "ECHO", "two", &log), TRANSPORT_OK);
    WAIT_UNTIL(loop, log.n == 4, 2000);
    for (size_t i = 0; i < srv->n_cmds; i++)
        if (strcmp(srv->cmds[i].argv[0], "ECHO") == 0 && strcmp(srv->cmds[i].argv[1], "two") == 0)
            assert_int_not_equal(srv->cmds[i].conn, hello_conn);
}

/* Sessions: a connection each; a new connection has a new number; a
 * blocking command outlives the forward timeout that fails one that is
 * not; a new leader known closes the session's connection. */
static void test_forward_sessions(void **state)
{
    struct rig *r = *state;
    struct ev_loop *loop = r->e.loop;
    struct transport *t = r->t;
    struct fake_server *srv = &r->srv;
    transport_set_forward(t, NULL, 0, 300);
    assert_int_equal(transport_set_peer(t, 3, "127.0.0.1", srv->port), TRANSPORT_OK);
    struct transport_session *a = transport_session_new(t), *b = transport_session_new(t);
    assert_int_equal(transport_session_link(a), 0);
    struct fwd_log la = {0}, lb = {0};
    struct transport_fwd_ctx ca = {.session = a, .proto = 2, .blocking = 1};
    struct transport_fwd_ctx cb = {.session = b, .proto = 2};
    assert_int_equal(fwd_ctx(t, 2, &ca, "SILENT", "blocked", &la), TRANSPORT_OK);
    assert_int_equal(fwd_ctx(t, 2, &cb, "SILENT", "slow", &lb), TRANSPORT_OK);
    uint64_t link_a = transport_session_link(a);
    assert_true(link_a > 0 && transport_session_link(b) > link_a);
    WAIT_UNTIL(loop, lb.n == 1, 3000); /* b's forward timeout */
    assert_string_equal(lb.replies[0], "FAILED");
    assert_int_equal(la.n, 0); /* a's command blocks on */
    assert_int_equal(transport_session_link(b), 0);
    int conn_a = -1, conn_b = -1;
    for (size_t i = 0; i < srv->n_cmds; i++)
        if (strcmp(srv->cmds[i].argv[0], "SILENT") == 0) {
            if (strcmp(srv->cmds[i].argv[1], "blocked") == 0) conn_a = srv->cmds[i].conn;
            if (strcmp(srv->cmds[i].argv[1], "slow") == 0) conn_b = srv->cmds[i].conn;
        }
    assert_true(conn_a >= 0 && conn_b >= 0 && conn_a != conn_b);
    /* b again: a new connection */
    assert_int_equal(fwd_ctx(t, 2, &cb, "ECHO", "b2", &lb), TRANSPORT_OK);
    WAIT_UNTIL(loop, lb.n == 2, 2000);
    assert_true(transport_session_link(b) > link_a);
    /* node 3 leads now: a's blocked command fails, b is closed */
    transport_forward_retarget(t, 3);
    WAIT_UNTIL(loop, la.n == 1, 2000);
    assert_string_equal(la.replies[0], "FAILED");
    assert_int_equal(transport_session_link(a), 0);
    assert_int_equal(transport_session_link(b), 0);
    assert_int_equal(transport_forward_pending(t), 0);
    transport_session_free(a);
    transport_session_free(b);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
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

    /* RAFT.AUTH refused: its error, not the PING's reply behind it. */
    struct fwd_log log = {0};
    srv.reject_auth = 1;
    assert_int_equal(call(t, srv.port, "PING", NULL, 2000, &log), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, log.n == 1, 2000);
    assert_string_equal(log.replies[0], "-RAFT.AUTH refused: ERR invalid raft-secret\r\n");
    WAIT_UNTIL(e.loop, srv.n_conns == 2 && srv.n_cmds == 4, 2000);
    assert_call_conn(&srv, 1, 1, "PING");
    transport_free(t);

    /* No raft-secret: the request goes alone. */
    srv.reject_auth = 0;
    t = transport_create(e.loop, SELF_ID, "", 0, &fast_limits);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
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
        cmocka_unit_test(test_forward),
        cmocka_unit_test_setup_teardown(test_forward_databases, proxy_rig_setup,
                                        proxy_rig_teardown),
        cmocka_unit_test_setup_teardown(test_forward_raw_replies, proxy_rig_setup,
                                        proxy_rig_teardown),
        cmocka_unit_test_setup_teardown(test_forward_sessions, proxy_rig_setup, proxy_rig_teardown),
        cmocka_unit_test(test_call_replies),
        cmocka_unit_test(test_call_failures),
        cmocka_unit_test(test_call_cancel_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
