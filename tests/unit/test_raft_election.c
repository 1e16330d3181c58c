/*
 * tests/unit/test_raft_election.c - Fig. 3.1 "RequestVote" and "Rules for Servers",
 * randomized timeouts (§3.4), PreVote (§9.6), CheckQuorum (§6.2), the persistence
 * contract for votes.
 */
#include "test_raft_fixture.h"

/* Fig. 3.1 RequestVote 2: at most one vote per term, first come first served. */
static void test_vote_once_per_term(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_msg m = fx_msg(RAFT_MSG_VOTE, 2, 1, 5), out;
    assert_int_equal(fx_step_reply(&f, 0, &m, RAFT_MSG_VOTE_RESP, &out), 1);
    assert_false(out.reject);
    assert_true(out.must_persist_first); /* a vote is durable before it is sent */
    m.from = 3;
    assert_int_equal(fx_step_reply(&f, 0, &m, RAFT_MSG_VOTE_RESP, &out), 1);
    assert_true(out.reject);
    m.from = 2; /* the same candidate asking again gets the same answer */
    assert_int_equal(fx_step_reply(&f, 0, &m, RAFT_MSG_VOTE_RESP, &out), 1);
    assert_false(out.reject);
    fx_free(&f);
}

/* §3.6.1: grant only to a candidate whose log is at least as up to date. (The requests
 * are flagged as transfers so the §4.2.3 rule - ignore votes while a leader is heard -
 * does not hide the log comparison.) */
static void test_vote_log_up_to_date(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0); /* node 1 leads term 1, everyone has the no-op (1, t1) */
    fx_propose(&f, 0, 7);
    fx_flush(&f); /* logs: (1,t1) (2,t1) */
    struct raft_msg out;
    struct raft_msg m = fx_msg(RAFT_MSG_VOTE, 3, 2, 9);
    m.transfer = true;
    m.index = 1; /* same last term, shorter */
    m.log_term = 1;
    fx_step_reply(&f, 1, &m, RAFT_MSG_VOTE_RESP, &out);
    assert_true(out.reject);
    m.term = 10;
    m.index = 1; /* later last term wins even if shorter */
    m.log_term = 2;
    fx_step_reply(&f, 1, &m, RAFT_MSG_VOTE_RESP, &out);
    assert_false(out.reject);
    m.term = 11;
    m.index = 2; /* same last term, same length */
    m.log_term = 1;
    fx_step_reply(&f, 1, &m, RAFT_MSG_VOTE_RESP, &out);
    assert_false(out.reject);
    fx_free(&f);
}

/* Fig. 3.1 All Servers: a higher term makes anyone a follower of that term. */
static void test_higher_term_steps_down(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    struct raft_msg m = fx_msg(RAFT_MSG_HEARTBEAT_RESP, 2, 1, 7);
    raft_step(f.nd[0].r, &m);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    assert_int_equal(raft_term_of(f.nd[0].r), 7);
    fx_free(&f);
}

/* Fig. 3.1 AppendEntries 1 / RequestVote 1: reply false to a lower term, with ours. */
static void test_lower_term_refused(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_msg v = fx_msg(RAFT_MSG_VOTE, 2, 1, 4), out;
    fx_step_reply(&f, 0, &v, RAFT_MSG_VOTE_RESP, &out);
    struct raft_msg a = fx_msg(RAFT_MSG_APPEND, 3, 1, 2);
    assert_int_equal(fx_step_reply(&f, 0, &a, RAFT_MSG_APPEND_RESP, &out), 1);
    assert_true(out.reject);
    assert_int_equal(out.term, 4);
    assert_int_equal(raft_leader(f.nd[0].r), 0);
    v.term = 3;
    assert_int_equal(fx_step_reply(&f, 0, &v, RAFT_MSG_VOTE_RESP, &out), 1);
    assert_true(out.reject);
    assert_int_equal(raft_term_of(f.nd[0].r), 4);
    fx_free(&f);
}

/* §3.4: a follower that hears nothing campaigns within [e, 2e) ticks; one leader wins
 * and it appends a no-op of its term (§6.4). */
static void test_election_timeout_and_noop(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_tick(&f, 0, 9);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    int leaders = 0;
    for (int t = 0; t < 40 && !leaders; t++) {
        fx_run(&f, 1);
        for (int i = 0; i < 3; i++)
            leaders += raft_role_of(f.nd[i].r) == RAFT_LEADER;
    }
    assert_int_equal(leaders, 1);
    for (int i = 0; i < 3; i++) {
        if (raft_role_of(f.nd[i].r) != RAFT_LEADER) continue;
        const struct raft_entry *e = raft_log_entry(f.nd[i].r, raft_last_index(f.nd[i].r));
        assert_int_equal(e->type, RAFT_ENTRY_NOOP);
        assert_int_equal(e->term, raft_term_of(f.nd[i].r));
    }
    fx_free(&f);
}

/* §9.6: a partitioned node running PreVote does not inflate its term, and on rejoining
 * does not depose the healthy leader. */
static void test_prevote_rejoin_does_not_disrupt(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    raft_term t = raft_term_of(f.nd[0].r);
    fx_isolate(&f, 2, true);
    for (int k = 0; k < 100; k++) {
        fx_tick(&f, 2, 1);
        fx_run(&f, 1); /* leader and node 2 keep heartbeating */
    }
    assert_int_equal(raft_term_of(f.nd[2].r), t);
    assert_int_equal(raft_role_of(f.nd[2].r), RAFT_PRECANDIDATE);
    fx_isolate(&f, 2, false);
    fx_run(&f, 30);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_term_of(f.nd[0].r), t);
    assert_int_equal(raft_leader(f.nd[2].r), 1);
    fx_free(&f);
}

static void no_prevote(struct raft_config *c)
{
    c->pre_vote = false;
}

/* Without PreVote the same scenario bumps terms: the test above is meaningful. */
static void test_without_prevote_term_grows(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, no_prevote);
    fx_campaign(&f, 0);
    raft_term t = raft_term_of(f.nd[0].r);
    fx_isolate(&f, 2, true);
    fx_tick(&f, 2, 100);
    assert_true(raft_term_of(f.nd[2].r) > t);
    fx_free(&f);
}

/* CheckQuorum: a leader cut off from the majority steps down within ~2 timeouts. */
static void test_check_quorum_steps_down(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 0, true);
    for (int k = 0; k < 20; k++) {
        fx_tick(&f, 0, 1);
        fx_flush(&f);
    }
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    fx_free(&f);
}

/* §4.2.3: a follower that hears from its leader ignores vote requests. */
static void test_leader_lease_ignores_votes(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    struct raft_msg m = fx_msg(RAFT_MSG_VOTE, 3, 2, 50);
    m.index = 100;
    m.log_term = 50;
    assert_int_equal(fx_step_reply(&f, 1, &m, RAFT_MSG_VOTE_RESP, NULL), 0);
    assert_int_equal(raft_term_of(f.nd[1].r), 1);
    m.transfer = true; /* a leadership transfer is exempt */
    assert_int_equal(fx_step_reply(&f, 1, &m, RAFT_MSG_VOTE_RESP, NULL), 1);
    assert_int_equal(raft_term_of(f.nd[1].r), 50);
    fx_free(&f);
}

/* A learner, or a server outside the configuration, never campaigns. */
static void test_non_voter_never_campaigns(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 3, NULL); /* node 4 starts with an empty configuration */
    fx_tick(&f, 3, 200);
    assert_int_equal(raft_role_of(f.nd[3].r), RAFT_FOLLOWER);
    assert_int_equal(raft_term_of(f.nd[3].r), 0);
    fx_free(&f);
}

/* A single-voter cluster elects itself and commits alone. */
static void test_single_node(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 1, 1, NULL);
    fx_tick(&f, 0, 25);
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    fx_propose(&f, 0, 42);
    fx_flush(&f);
    assert_int_equal(f.nd[0].last_value, 42);
    fx_free(&f);
}

/* Fig. 3.1 Candidates: on conversion, increment the term, vote for self, ask every
 * voter (the request must be durable first); an AppendEntries from a leader of the
 * same term makes the candidate a follower. */
static void test_candidate_rules(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, no_prevote);
    for (int t = 0; t < 20 && raft_role_of(f.nd[0].r) == RAFT_FOLLOWER; t++)
        fx_tick(&f, 0, 1); /* times out within [10, 20) ticks */
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_CANDIDATE);
    assert_int_equal(raft_term_of(f.nd[0].r), 1);
    struct raft_ready rd;
    raft_ready(f.nd[0].r, &rd);
    assert_true(rd.hard_state_changed);
    assert_int_equal(rd.hard_state.vote, 1);
    int votes = 0;
    for (uint32_t i = 0; i < rd.n_msgs; i++) {
        assert_int_equal(rd.msgs[i].type, RAFT_MSG_VOTE);
        assert_true(rd.msgs[i].must_persist_first);
        votes++;
    }
    assert_int_equal(votes, 2);
    raft_advance(f.nd[0].r);
    struct raft_msg hb = fx_msg(RAFT_MSG_HEARTBEAT, 2, 1, 1);
    raft_step(f.nd[0].r, &hb);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    assert_int_equal(raft_leader(f.nd[0].r), 2);
    assert_int_equal(raft_term_of(f.nd[0].r), 1);
    fx_free(&f);
}

/* Fig. 3.1 Leaders: idle heartbeats every heartbeat_ticks keep followers from
 * campaigning. */
static void test_leader_heartbeats_keep_followers(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    raft_term t = raft_term_of(f.nd[0].r);
    int hb = f.sent_by_type[RAFT_MSG_HEARTBEAT];
    fx_run(&f, 100);
    assert_true(f.sent_by_type[RAFT_MSG_HEARTBEAT] - hb >= 2 * 100);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_term_of(f.nd[1].r), t);
    assert_int_equal(raft_term_of(f.nd[2].r), t);
    fx_free(&f);
}

/* raft_receiving(): part of a message from the leader arriving keeps a follower from
 * campaigning, however long the whole message takes; from anyone else it does not. */
static void test_receiving_from_leader_keeps_follower(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    raft_term t = raft_term_of(f.nd[0].r);
    fx_isolate(&f, 0, true); /* no whole message of the leader arrives any more */
    for (int k = 0; k < 100; k++) {
        raft_receiving(f.nd[1].r, 1);
        fx_tick(&f, 1, 1);
        fx_tick(&f, 2, 1);
        fx_flush(&f);
    }
    assert_int_equal(raft_role_of(f.nd[1].r), RAFT_FOLLOWER);
    assert_int_equal(raft_leader(f.nd[1].r), 1);
    assert_int_equal(raft_term_of(f.nd[1].r), t);
    /* Node 3 heard nothing: it campaigned (PreVote, refused by node 2). */
    assert_int_equal(raft_role_of(f.nd[2].r), RAFT_PRECANDIDATE);
    /* Bytes from another server do not stand for the leader's. */
    for (int k = 0; k < 40 && raft_role_of(f.nd[1].r) == RAFT_FOLLOWER; k++) {
        raft_receiving(f.nd[1].r, 3);
        fx_tick(&f, 1, 1);
        fx_flush(&f);
    }
    assert_int_not_equal(raft_role_of(f.nd[1].r), RAFT_FOLLOWER);
    /* Nor do they for a server that is not a follower. */
    raft_term before = raft_term_of(f.nd[1].r);
    for (int k = 0; k < 40; k++) {
        raft_receiving(f.nd[1].r, 1);
        fx_tick(&f, 1, 1);
        fx_tick(&f, 2, 1);
        fx_flush(&f);
    }
    assert_true(raft_term_of(f.nd[1].r) > before || raft_role_of(f.nd[1].r) == RAFT_LEADER);
    fx_free(&f);
}

/* A leader that stepped down (CheckQuorum: its followers were busy writing a large
 * entry, say) and campaigns again while its bytes keep arriving: the followers must
 * not take those bytes for a leader's liveness for ever. Its campaign shows it gave up
 * the term: they forget it as their leader, grant its PreVote, and the cluster elects
 * a leader again (before, they ignored it and never timed out themselves). */
static void test_leader_that_campaigns_is_no_longer_leader(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    raft_term t = raft_term_of(f.nd[0].r);
    struct raft_msg pv = fx_msg(RAFT_MSG_PREVOTE, 1, 2, t + 1);
    pv.index = raft_last_index(f.nd[0].r);
    pv.log_term = t;
    raft_receiving(f.nd[1].r, 1);
    struct raft_msg out;
    assert_int_equal(fx_step_reply(&f, 1, &pv, RAFT_MSG_PREVOTE_RESP, &out), 1);
    assert_false(out.reject);
    assert_int_equal(raft_leader(f.nd[1].r), 0);
    assert_int_equal(raft_term_of(f.nd[1].r), t); /* PreVote changes no term */
    /* Its bytes no longer keep node 2's election timer quiet. */
    for (int k = 0; k < 40 && raft_role_of(f.nd[1].r) == RAFT_FOLLOWER; k++) {
        raft_receiving(f.nd[1].r, 1);
        fx_tick(&f, 1, 1);
    }
    assert_int_not_equal(raft_role_of(f.nd[1].r), RAFT_FOLLOWER);
    /* Another server's request, while node 3 still hears from its leader, is ignored. */
    struct raft_msg other = fx_msg(RAFT_MSG_PREVOTE, 2, 3, t + 1);
    other.index = raft_last_index(f.nd[0].r);
    other.log_term = t;
    raft_receiving(f.nd[2].r, 1);
    assert_int_equal(fx_step_reply(&f, 2, &other, RAFT_MSG_PREVOTE_RESP, NULL), 0);
    fx_free(&f);
}

/* raft_receiving() on a leader: bytes from a follower (busy writing a large entry,
 * say) count for CheckQuorum; without them an isolated leader steps down. */
static void test_receiving_keeps_check_quorum(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    raft_term t = raft_term_of(f.nd[0].r);
    fx_isolate(&f, 0, true); /* no whole message of the followers arrives */
    for (int k = 0; k < 50; k++) {
        raft_receiving(f.nd[0].r, 2);
        fx_tick(&f, 0, 1);
        fx_flush(&f);
    }
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_term_of(f.nd[0].r), t);
    /* From itself or an unknown server: nothing. */
    for (int k = 0; k < 50 && raft_role_of(f.nd[0].r) == RAFT_LEADER; k++) {
        raft_receiving(f.nd[0].r, 1);
        raft_receiving(f.nd[0].r, 9);
        fx_tick(&f, 0, 1);
        fx_flush(&f);
    }
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_once_per_term),
        cmocka_unit_test(test_vote_log_up_to_date),
        cmocka_unit_test(test_higher_term_steps_down),
        cmocka_unit_test(test_lower_term_refused),
        cmocka_unit_test(test_election_timeout_and_noop),
        cmocka_unit_test(test_prevote_rejoin_does_not_disrupt),
        cmocka_unit_test(test_without_prevote_term_grows),
        cmocka_unit_test(test_check_quorum_steps_down),
        cmocka_unit_test(test_leader_lease_ignores_votes),
        cmocka_unit_test(test_non_voter_never_campaigns),
        cmocka_unit_test(test_single_node),
        cmocka_unit_test(test_candidate_rules),
        cmocka_unit_test(test_leader_heartbeats_keep_followers),
        cmocka_unit_test(test_receiving_from_leader_keeps_follower),
        cmocka_unit_test(test_receiving_keeps_check_quorum),
        cmocka_unit_test(test_leader_that_campaigns_is_no_longer_leader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
