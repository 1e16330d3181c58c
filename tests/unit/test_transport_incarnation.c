/*
 * tests/unit/test_transport_incarnation.c - incarnations on RAFT.AUTH
 * (src/transport/transport.h, INCARNATIONS) against the fake peer of
 * tests/unit/transport_fixture.h: what RAFT.AUTH carries, a peer that answers
 * with another incarnation than expected (refused, unless it says it is
 * recovering), what it presented forgotten when its link is lost, and a
 * peer that refuses us with -LOSTSTATE (we then say "recovering" to it until
 * it accepts us).
 */
#include "transport_fixture.h"

/* The last RAFT.AUTH the fake peer read. */
static const struct fake_cmd *last_auth(const struct fake_server *srv)
{
    for (size_t i = srv->n_cmds; i-- > 0;)
        if (strcmp(srv->cmds[i].argv[0], "RAFT.AUTH") == 0) return &srv->cmds[i];
    return NULL;
}

static void test_incarnation_sent_and_checked(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    srv.auth_reply = "+OK 555\r\n";
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
    transport_set_incarnation(t, 77);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    const struct fake_cmd *a = last_auth(&srv);
    assert_int_equal(a->argc, 5); /* secret, id, address ("" here), incarnation */
    assert_string_equal(a->argv[3], "");
    assert_string_equal(a->argv[4], "77");
    assert_int_equal(info(t, 2).incarnation, 555);

    /* Expecting what it presented changes nothing; expecting another one
     * drops the live link, and every new one, counted. */
    assert_int_equal(transport_expect_incarnation(t, 2, 555), TRANSPORT_OK);
    run_for(e.loop, 50);
    assert_int_equal(srv.n_conns, 1);
    assert_int_equal(transport_expect_incarnation(t, 2, 444), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, srv.n_conns >= 3, 2000);
    assert_true(info(t, 2).inc_mismatches >= 2);
    assert_int_equal(transport_expect_incarnation(t, 3, 1), TRANSPORT_ENOPEER);

    /* A peer that says it recovers may come back with a new incarnation. */
    srv.auth_reply = "+OK 555 recovering\r\n";
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    int conns = srv.n_conns;
    run_for(e.loop, 100);
    assert_int_equal(srv.n_conns, conns);
    assert_true(info(t, 2).peer_recovering);

    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

/* What a peer presented describes the link it presented it on: once that
 * link is lost, the peer may be another process (a wiped node restarted
 * under a new incarnation) and the old answer must not pass for its current
 * one (src/node/node_safety.c took a stale "recovering" answer for a new
 * incarnation and went back to expecting the old one). */
static void test_incarnation_forgotten_with_the_link(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    srv.auth_reply = "+OK 555 recovering\r\n";
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
    transport_set_incarnation(t, 77);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    assert_int_equal(info(t, 2).incarnation, 555);
    assert_true(info(t, 2).peer_recovering);
    fake_stop(&srv); /* the peer's process is gone */
    WAIT_UNTIL(e.loop, state(t, 2) != TRANSPORT_CONNECTED, 2000);
    assert_int_equal(info(t, 2).incarnation, 0);
    assert_false(info(t, 2).peer_recovering);
    transport_free(t);
    env_free(&e);
}

static void test_lost_state_refusal(void **unused)
{
    (void)unused;
    struct env e;
    struct fake_server srv;
    env_init(&e);
    fake_start(&srv, e.loop, 0);
    srv.auth_reply = "-LOSTSTATE node 1 presents incarnation 77 but was 66\r\n";
    struct transport *t = transport_create(e.loop, SELF_ID, SECRET, strlen(SECRET), &fast_limits);
    transport_set_incarnation(t, 77);
    assert_int_equal(transport_set_peer(t, 2, "127.0.0.1", srv.port), TRANSPORT_OK);
    WAIT_UNTIL(e.loop, info(t, 2).lost_state_refusals >= 1, 2000);
    assert_true(info(t, 2).refusing_lost_state);
    /* The retries say "recovering" to it. */
    WAIT_UNTIL(e.loop, srv.n_conns >= 2, 2000);
    WAIT_UNTIL(e.loop, last_auth(&srv)->conn >= 1, 2000);
    assert_int_equal(last_auth(&srv)->argc, 6);
    assert_string_equal(last_auth(&srv)->argv[5], "recovering");
    /* Once it accepts us (and we do not recover), RAFT.AUTH again without it. */
    srv.auth_reply = "+OK 66\r\n";
    WAIT_UNTIL(e.loop, state(t, 2) == TRANSPORT_CONNECTED && info(t, 2).pending_cmds == 0, 2000);
    WAIT_UNTIL(e.loop, last_auth(&srv)->argc == 5, 2000);
    assert_false(info(t, 2).refusing_lost_state);
    /* the refusals stay counted for the node to see, the peer removed too */
    uint64_t refusals = transport_lost_state_refusals(t);
    assert_true(refusals >= 1);
    assert_int_equal(refusals, info(t, 2).lost_state_refusals);

    /* While recovering, every link says so, the live ones at once. */
    size_t before = srv.n_cmds;
    transport_set_recovering(t, 1);
    WAIT_UNTIL(e.loop, srv.n_cmds > before, 2000);
    assert_int_equal(last_auth(&srv)->argc, 6);
    transport_set_recovering(t, 0);
    WAIT_UNTIL(e.loop, last_auth(&srv)->argc == 5, 2000);
    assert_int_equal(state(t, 2), TRANSPORT_CONNECTED);
    transport_remove_peer(t, 2);
    assert_int_equal(transport_lost_state_refusals(t), refusals);

    transport_free(t);
    fake_stop(&srv);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incarnation_sent_and_checked),
        cmocka_unit_test(test_incarnation_forgotten_with_the_link),
        cmocka_unit_test(test_lost_state_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
