/*
 * tests/unit/test_transport.c - the outbound peer transport against a fake
 * peer (tests/unit/transport_fixture.h): delivery, reconnection, limits,
 * RAFT.AUTH, timeouts and the peers API. The
 * proxy link and one-shot requests are in test_transport_calls.c.
 */
#include <sys/ioctl.h>

#include "transport_fixture.h"

/* ---- tests ---- */

/* (1) RAFT.AUTH first, then every message in order, payload bytes intact. */
static void test_delivery_in_order(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
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

/* (1b) transport_flush() puts queued messages on the wire without the loop
 * running: nothing is written at transport_send(), all of it at the flush. */
static void test_flush_writes_now(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && srv.n_cmds == 1,
               2000); /* RAFT.AUTH read */
    int fd = srv.conns[0]->fd;
    int avail = -1;
    assert_int_equal(transport_send(t, 2, "now", 3), TRANSPORT_OK);
    assert_int_equal(ioctl(fd, FIONREAD, &avail), 0);
    assert_int_equal(avail, 0);
    transport_flush(t);
    assert_int_equal(ioctl(fd, FIONREAD, &avail), 0);
    assert_int_equal(avail, (int)strlen("*3\r\n$8\r\nRAFT.MSG\r\n$1\r\n1\r\n$3\r\nnow\r\n"));
    transport_flush(t); /* nothing left: a no-op */
    WAIT_UNTIL(e.loop, srv.n_cmds == 2 && info(t, 2).pending_cmds == 0, 2000);
    assert_cmd(&srv.cmds[1], 0, "RAFT.MSG", "1", "now", 3);

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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), NULL);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
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
        int64_t t0 = clock_mono_us();
        ev_run(e.loop, EVRUN_NOWAIT);
        int64_t took = clock_mono_us() - t0;
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &lim);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &lim);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &lim);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &lim);
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
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
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

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a precondition of transport.h */
    log_set_level(LOG_LEVEL_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery_in_order),
        cmocka_unit_test(test_flush_writes_now),
        cmocka_unit_test(test_connects_when_peer_appears),
        cmocka_unit_test(test_reconnects_after_close),
        cmocka_unit_test(test_stuck_peer_is_bounded),
        cmocka_unit_test(test_pending_cmds_limit),
        cmocka_unit_test(test_auth_refused),
        cmocka_unit_test(test_reply_timeout),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_peers_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
