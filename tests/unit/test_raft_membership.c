/*
 * tests/unit/test_raft_membership.c - membership changes that must not cost the cluster
 * its quorum (§4.2.1 learner promotion, etcd's strict reconfiguration check), and a
 * removed server learning of its removal.
 */
#include "test_raft_fixture.h"

static bool is_voter(const struct raft *r, raft_id id)
{
    const struct raft_conf *c = raft_conf_of(r);
    int at = raft_conf_find(c, id);
    assert_true(at >= 0);
    return c->s[at].voter;
}

/* Node 1 alone leads, with a short log (well under promote_lag_entries). */
static void lone_leader(struct fx *f, int n, void (*tweak)(struct raft_config *))
{
    fx_init(f, n, 1, tweak);
    fx_tick(f, 0, 25);
    fx_flush(f);
    assert_int_equal(raft_role_of(f->nd[0].r), RAFT_LEADER);
    for (int i = 0; i < 3; i++)
        fx_propose(f, 0, (uint64_t)i);
    fx_flush(f);
}

/* A learner that never answered (an unreachable address) is never promoted, however
 * short the log: the lone voter keeps committing, and can still remove the learner. */
static void test_silent_learner_not_promoted(void **state)
{
    (void)state;
    struct fx f;
    lone_leader(&f, 2, NULL);
    struct raft *l = f.nd[0].r;
    fx_isolate(&f, 1, true);
    raft_index add = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 2, fx_addr(2), &add), 0);
    fx_flush(&f);
    assert_true(raft_commit_index(l) >= add);
    fx_run(&f, 50); /* many heartbeats, each one a chance to promote */
    assert_false(is_voter(l, 2));
    raft_index idx = fx_propose(&f, 0, 42);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), idx);
    assert_int_equal(f.nd[0].last_value, 42);
    raft_index rm = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 2, NULL, &rm), 0);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), rm);
    assert_int_equal(raft_conf_of(l)->n, 1);
    fx_free(&f);
}

/* The same learner, promoted by hand, is refused: its promotion could never commit. */
static void test_promote_silent_learner_refused(void **state)
{
    (void)state;
    struct fx f;
    lone_leader(&f, 2, NULL);
    fx_isolate(&f, 1, true);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 2, NULL, NULL), 0);
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_PROMOTE, 2, NULL, NULL),
                     RAFT_EUNSAFE);
    assert_false(is_voter(f.nd[0].r, 2));
    fx_free(&f);
}

static void no_auto_promote(struct raft_config *c)
{
    c->auto_promote = false;
}

/* A learner that caught up and then stopped answering for an election timeout is no
 * longer caught up; once it answers again it is. */
static void test_learner_must_answer_recently(void **state)
{
    (void)state;
    struct fx f;
    lone_leader(&f, 2, no_auto_promote);
    struct raft *l = f.nd[0].r;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 2, NULL, NULL), 0);
    fx_flush(&f);
    assert_int_equal(raft_last_index(f.nd[1].r), raft_last_index(l));
    fx_isolate(&f, 1, true);
    fx_run(&f, 12); /* more than election_ticks (10) without an answer */
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_PROMOTE, 2, NULL, NULL), RAFT_EUNSAFE);
    fx_isolate(&f, 1, false);
    fx_run(&f, 2);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_PROMOTE, 2, NULL, NULL), 0);
    fx_flush(&f);
    assert_true(is_voter(l, 2));
    assert_true(is_voter(f.nd[1].r, 2));
    fx_free(&f);
}

/* With auto-promotion, a learner that answers is promoted at a heartbeat. */
static void test_answering_learner_promoted(void **state)
{
    (void)state;
    struct fx f;
    lone_leader(&f, 2, NULL);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 2, NULL, NULL), 0);
    fx_flush(&f);
    fx_run(&f, 3);
    assert_true(is_voter(f.nd[0].r, 2));
    raft_index idx = fx_propose(&f, 0, 7);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(f.nd[1].r), idx);
    fx_free(&f);
}

/* Voters {1,2,3}, 3 silent: removing 2 would leave {1,3}, which cannot commit; removing
 * 3 leaves {1,2}, which can. */
static void test_remove_keeps_responsive_quorum(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r;
    fx_isolate(&f, 2, true);
    fx_run(&f, 12);
    assert_int_equal(raft_role_of(l), RAFT_LEADER);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 2, NULL, NULL), RAFT_EUNSAFE);
    assert_int_equal(raft_conf_of(l)->n, 3);
    raft_index rm = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 3, NULL, &rm), 0);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), rm);
    fx_free(&f);
}

/* A leader cannot remove itself when the voters left would not answer. */
static void test_leader_self_removal_needs_quorum(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 2, true);
    fx_run(&f, 12);
    /* {2,3}: only 2 answers, one of two */
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_REMOVE, 1, NULL, NULL),
                     RAFT_EUNSAFE);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    fx_free(&f);
}

/* The removed server receives the entry removing it: its own configuration then lacks
 * it (so its driver can say so), it never campaigns, and the leader stops sending to it
 * once it holds the entry and the removal committed. */
static void test_removed_server_learns(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r, *gone = f.nd[2].r;
    raft_index rm = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 3, NULL, &rm), 0);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), rm);
    assert_true(raft_last_index(gone) >= rm);
    assert_int_equal(raft_conf_find(raft_conf_of(gone), 3), -1);
    assert_int_equal(raft_conf_of(gone)->n, 2);
    fx_run(&f, 2);
    raft_index match;
    assert_int_equal(raft_progress(l, 3, &match), RAFT_EINVAL); /* forgotten */
    raft_term t = raft_term_of(gone);
    fx_run(&f, 60);
    assert_int_equal(raft_term_of(gone), t);
    assert_int_not_equal(raft_role_of(gone), RAFT_LEADER);
    fx_free(&f);
}

/* A server cut off while being removed cannot learn of it; the leader gives up on it
 * an election timeout after the removal committed, and the rest carry on. */
static void test_removed_server_cut_off(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r;
    fx_isolate(&f, 2, true);
    raft_index rm = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 3, NULL, &rm), 0);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), rm);
    assert_int_equal(raft_conf_of(f.nd[2].r)->n, 3);
    raft_index match;
    fx_run(&f, 12);
    assert_int_equal(raft_progress(l, 3, &match), RAFT_EINVAL);
    raft_index idx = fx_propose(&f, 0, 9);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(f.nd[1].r), idx);
    fx_free(&f);
}

/* A server removed and added back is a member again, followed like any learner. */
static void test_removed_then_added_back(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 3, NULL, NULL), 0);
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 3, fx_addr(3), NULL), 0);
    fx_flush(&f);
    fx_run(&f, 3);
    assert_true(is_voter(l, 3));
    assert_true(is_voter(f.nd[2].r, 3));
    fx_free(&f);
}

/* A learner that says it is recovering (it may have lost what it acknowledged) is not
 * caught up, however long its log: promoted, it would count for nothing in the quorums
 * of a larger configuration until it recovers, and one more lost server would then
 * stall the cluster. */
static void test_recovering_learner_not_promoted(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 3, no_auto_promote);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, fx_addr(4), NULL), 0);
    fx_flush(&f);
    fx_run(&f, 2);
    raft_index match = 0;
    assert_int_equal(raft_progress(l, 4, &match), 0);
    assert_int_equal(match, raft_last_index(l));
    /* 2 and 3 stop hearing the leader (nothing commits any more); 4 recovers */
    f.cut[0][1] = f.cut[0][2] = true;
    raft_set_recovering(f.nd[3].r);
    fx_run(&f, 2);
    assert_true(raft_recovering(f.nd[3].r));
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_PROMOTE, 4, NULL, NULL), RAFT_EUNSAFE);
    /* once caught up again (its leader commits), it is promoted like any learner */
    f.cut[0][1] = f.cut[0][2] = false;
    fx_run(&f, 3);
    assert_false(raft_recovering(f.nd[3].r));
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_PROMOTE, 4, NULL, NULL), 0);
    fx_flush(&f);
    assert_true(is_voter(l, 4));
    fx_free(&f);
}

/* The entry removing server 1 reached only 1 before its leader was lost for good (a
 * store that must catch up before it votes again, here cut off). 1's log is then the
 * most up-to-date: 3 and 4 can never elect one another without its vote, and it grants
 * none to a shorter log. So while the entry that removed it is not committed, 1 still
 * stands for election, counting the votes of the configuration it holds ({2,3,4});
 * elected, it commits its removal and steps down, and the others carry on. */
static void test_server_removed_by_an_uncommitted_entry_may_lead(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 4, NULL);
    fx_campaign(&f, 1);
    struct raft *l = f.nd[1].r, *gone = f.nd[0].r;
    assert_int_equal(raft_role_of(l), RAFT_LEADER);
    fx_propose_n(&f, 1, 3);
    fx_flush(&f);
    for (int k = 0; k < 4; k++)
        f.cut[1][k] = k == 2 || k == 3; /* only 1 hears the leader now */
    raft_index rm = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 1, NULL, &rm), 0);
    fx_flush(&f);
    assert_true(raft_last_index(gone) >= rm);
    assert_int_equal(raft_conf_find(raft_conf_of(gone), 1), -1);
    assert_true(raft_commit_index(l) < rm);
    fx_isolate(&f, 1, true); /* the leader is lost */
    fx_run(&f, 200);
    assert_true(raft_commit_index(f.nd[2].r) >= rm);
    assert_int_equal(raft_conf_find(raft_conf_of(f.nd[2].r), 1), -1);
    assert_int_not_equal(raft_role_of(gone), RAFT_LEADER);
    assert_true(raft_role_of(f.nd[2].r) == RAFT_LEADER || raft_role_of(f.nd[3].r) == RAFT_LEADER);
    fx_free(&f);
}

/* A server removed and added back under its id may be another server (the operator
 * replaced it with an empty one): the leader must not take the removed one's
 * acknowledgements for the new one's. Here it is removed, then added back while cut
 * off: it never answered as the server added, so it is not caught up and is not
 * promoted (it was, at the next heartbeat, when the leader kept the departed server's
 * progress: node simulator seed 353 of the blocking branch, where the new, empty server
 * then counted as a voter that may not vote, and the cluster could elect no one). */
static void test_server_added_back_starts_afresh(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 3, NULL);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, fx_addr(4), NULL), 0);
    fx_flush(&f);
    fx_run(&f, 3);
    assert_true(is_voter(l, 4));
    raft_index rm = 0, add = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 4, NULL, &rm), 0);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), rm);
    /* added back at once (before a heartbeat forgets the departed server), cut off */
    fx_isolate(&f, 3, true);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, fx_addr(4), &add), 0);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), add);
    raft_index match = 1;
    assert_int_equal(raft_progress(l, 4, &match), 0);
    assert_int_equal(match, 0);
    fx_run(&f, 3);
    assert_false(is_voter(l, 4));
    /* once it answers and has caught up, it is promoted like any learner */
    fx_isolate(&f, 3, false);
    fx_run(&f, 5);
    assert_true(is_voter(l, 4));
    fx_free(&f);
}

/* The same, with an answer of the server removed (sent before it stopped, read after its
 * id was added back) coming in before the server added ever answers: it acknowledges
 * entries from before the one adding the id, so it says nothing of the server added,
 * which is not caught up (it was: match, a recent answer, not recovering, and the
 * leader promoted it at the next heartbeat; node simulator seed 2439 of the blocking
 * branch, where the server added was an empty one, recovering: promoted, it took the
 * cluster's quorum away). */
static void test_stale_answer_does_not_promote_server_added_back(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 3, NULL);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, fx_addr(4), NULL), 0);
    fx_flush(&f);
    fx_run(&f, 3);
    assert_true(is_voter(l, 4));
    raft_index rm = 0, add = 0;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 4, NULL, &rm), 0);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), rm);
    /* an entry reaches the removed server (still followed until forgotten); its answer
     * is on its way when the id is added back */
    raft_index x = fx_propose(&f, 0, 5);
    fx_readies(&f);
    fx_deliver(&f);
    fx_readies(&f);
    assert_int_equal(raft_last_index(f.nd[3].r), x);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, fx_addr(4), &add), 0);
    assert_true(add > x);
    fx_deliver(&f);          /* the removed server's answer comes in */
    fx_isolate(&f, 3, true); /* and the server added never answers */
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), add);
    fx_run(&f, 3);
    assert_false(is_voter(l, 4));
    fx_isolate(&f, 3, false);
    fx_run(&f, 5);
    assert_true(is_voter(l, 4));
    fx_free(&f);
}

/* Voters {1,2,3} and learner 4. Leader 1 proposes 4's promotion, which reaches no one
 * (1 is cut off). 2 is elected in term 2 with 3's vote; its entries reach learner 4
 * alone; then 2 is lost for good. 1, back, holds the promotion, so it counts 4 as a
 * voter and needs three votes of {1,2,3,4}: 3 grants, 2 is gone, and 4 refuses, its log
 * (term 2) being more up to date. 3 needs 1's vote, which it cannot have (1's log is
 * longer). 4 is a learner in its own configuration: before, it never stood, and the
 * cluster (two voters of three alive) elected no one for ever (node simulator seed 428
 * of the blocking branch). A server a candidate asks for its vote is counted as a voter
 * by that candidate; refusing for its log, it may hold the only log those voters can
 * elect, so it stands itself, counting the votes of its own configuration ({1,2,3}):
 * elected, it commits its no-op and steps down as a non-voting leader does (§4.2.2), and
 * the voters, now holding its log, elect one of their own. */
static void test_learner_asked_for_its_vote_may_lead(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 3, no_auto_promote);
    fx_campaign(&f, 0);
    struct raft *one = f.nd[0].r, *two = f.nd[1].r, *three = f.nd[2].r, *four = f.nd[3].r;
    fx_propose_n(&f, 0, 3);
    assert_int_equal(raft_propose_conf_change(one, RAFT_CC_ADD_LEARNER, 4, fx_addr(4), NULL), 0);
    fx_flush(&f);
    fx_run(&f, 2);
    fx_isolate(&f, 0, true);
    raft_index promote = 0;
    assert_int_equal(raft_propose_conf_change(one, RAFT_CC_PROMOTE, 4, NULL, &promote), 0);
    fx_flush(&f);
    assert_true(is_voter(one, 4));
    assert_true(raft_last_index(four) < promote);
    /* 2 campaigns; once 3 has its vote request, 2 no longer reaches 3 */
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 1, 2, raft_term_of(two));
    raft_step(two, &now);
    fx_readies(&f);
    fx_deliver(&f);
    f.cut[1][2] = true;
    fx_flush(&f);
    assert_int_equal(raft_role_of(two), RAFT_LEADER);
    fx_propose_n(&f, 1, 2);
    fx_flush(&f);
    raft_index last2 = raft_last_index(two);
    assert_int_equal(raft_last_index(four), last2);
    assert_true(raft_commit_index(two) < last2);
    assert_int_equal(raft_log_term(four, last2), 2);
    /* 2 is lost for good; 1 comes back */
    fx_isolate(&f, 0, false);
    fx_isolate(&f, 1, true);
    fx_run(&f, 300);
    struct raft *l = raft_role_of(one) == RAFT_LEADER     ? one
                     : raft_role_of(three) == RAFT_LEADER ? three
                                                          : NULL;
    assert_non_null(l);
    /* 2's entries, which only 4 held, prevailed over the promotion 4 never had */
    assert_true(raft_commit_index(l) > last2);
    assert_int_equal(raft_log_term(l, last2), 2);
    assert_false(is_voter(l, 4));
    raft_index idx = fx_propose(&f, l == one ? 0 : 2, 11);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(l), idx);
    assert_int_equal(raft_commit_index(four), idx);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent_learner_not_promoted),
        cmocka_unit_test(test_promote_silent_learner_refused),
        cmocka_unit_test(test_learner_must_answer_recently),
        cmocka_unit_test(test_answering_learner_promoted),
        cmocka_unit_test(test_remove_keeps_responsive_quorum),
        cmocka_unit_test(test_leader_self_removal_needs_quorum),
        cmocka_unit_test(test_removed_server_learns),
        cmocka_unit_test(test_removed_server_cut_off),
        cmocka_unit_test(test_removed_then_added_back),
        cmocka_unit_test(test_server_removed_by_an_uncommitted_entry_may_lead),
        cmocka_unit_test(test_recovering_learner_not_promoted),
        cmocka_unit_test(test_server_added_back_starts_afresh),
        cmocka_unit_test(test_stale_answer_does_not_promote_server_added_back),
        cmocka_unit_test(test_learner_asked_for_its_vote_may_lead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
