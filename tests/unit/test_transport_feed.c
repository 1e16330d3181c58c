/*
 * tests/unit/test_transport_feed.c - large messages on a peer link
 * (src/transport/transport_link.c writes them as the socket takes them) against
 * the fake peer of tests/unit/transport_fixture.h: messages queued behind a large one,
 * PINGs and messages handed over with transport_send_framed_owned() all
 * arrive in the order they were accepted, their bytes intact.
 */
#include "transport_fixture.h"

static char *pattern(size_t len, unsigned seed)
{
    char *p = malloc(len);
    assert_non_null(p);
    for (size_t k = 0; k < len; k++)
        p[k] = (char)(k * seed + (k >> 12));
    return p;
}

/* The framed RAFT.MSG of payload[0..len), allocated with malloc. */
static char *framed(struct transport *t, const char *payload, size_t len, size_t *cmd_len)
{
    char head[TRANSPORT_FRAME_HEAD_MAX];
    size_t hl = transport_frame_head(t, len, head);
    char *cmd = malloc(hl + len + 2);
    assert_non_null(cmd);
    memcpy(cmd, head, hl);
    memcpy(cmd + hl, payload, len);
    memcpy(cmd + hl + len, "\r\n", 2);
    *cmd_len = hl + len + 2;
    return cmd;
}

static void test_order_behind_large_messages(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport_limits lim = fast_limits;
    lim.pending_bytes_max = 64u << 20;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);

    size_t len1 = 3u << 20, len2 = (5u << 20) + 7, cmd_len;
    char *big1 = pattern(len1, 13), *big2 = pattern(len2, 29);
    assert_int_equal(transport_send(t, 2, "a", 1), TRANSPORT_OK);
    assert_int_equal(transport_send(t, 2, big1, len1), TRANSPORT_OK);
    assert_int_equal(transport_send(t, 2, "b", 1), TRANSPORT_OK);
    assert_int_equal(transport_ping(t, 2), TRANSPORT_OK);
    char *cmd = framed(t, big2, len2, &cmd_len);
    assert_int_equal(transport_send_framed_owned(t, 2, cmd, cmd_len, len2), TRANSPORT_OK);
    assert_int_equal(transport_send(t, 2, "c", 1), TRANSPORT_OK);
    transport_flush(t); /* writes part of it now; the loop does the rest */
    WAIT_UNTIL(e.loop, srv.n_cmds == 7 && info(t, 2).pending_cmds == 0, 10000);

    assert_auth(&srv.cmds[0], 0);
    assert_cmd(&srv.cmds[1], 0, "RAFT.MSG", "1", "a", 1);
    assert_cmd(&srv.cmds[2], 0, "RAFT.MSG", "1", big1, len1);
    assert_cmd(&srv.cmds[3], 0, "RAFT.MSG", "1", "b", 1);
    assert_int_equal(srv.cmds[4].argc, 1);
    assert_string_equal(srv.cmds[4].argv[0], "PING");
    assert_cmd(&srv.cmds[5], 0, "RAFT.MSG", "1", big2, len2);
    assert_cmd(&srv.cmds[6], 0, "RAFT.MSG", "1", "c", 1);
    struct transport_peer_info pi = info(t, 2);
    assert_int_equal(pi.sent, 5); /* PING is not a message */
    assert_int_equal(pi.dropped, 0);
    assert_int_equal(pi.pending_bytes, 0);
    assert_int_equal(srv.n_conns, 1);

    free(big1);
    free(big2);
    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* A link lost while a large message is being fed forgets it and what waits
 * behind it (nothing leaks: the ASan build checks), and the next connection
 * starts clean. */
static void test_link_lost_while_feeding(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    struct transport_limits lim = fast_limits;
    lim.pending_bytes_max = 64u << 20;
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &lim);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    size_t len = 16u << 20;
    char *big = pattern(len, 7);
    assert_int_equal(transport_send(t, 2, big, len), TRANSPORT_OK);
    assert_int_equal(transport_send(t, 2, "behind", 6), TRANSPORT_OK);
    /* Removed: its link is closed with both messages (mostly) unsent. */
    transport_remove_peer(t, 2);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    assert_int_equal(transport_send(t, 2, "fresh", 5), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, info(t, 2).pending_cmds == 0 && srv.n_conns == 2, 5000);
    const struct fake_cmd *last = &srv.cmds[srv.n_cmds - 1];
    assert_cmd(last, 1, "RAFT.MSG", "1", "fresh", 5);
    free(big);
    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_behind_large_messages),
        cmocka_unit_test(test_link_lost_while_feeding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
