/*
 * tests/unit/test_raft_recovery.c - servers that lost state they had acknowledged
 * (raft_set_recovering()) and logs that went backwards (a follower's heartbeat
 * rejection resets the leader's progress) or sideways (a recovering follower's
 * AppendEntries rejection at or below its match index does), see raft.h.
 */
#include "test_raft_fixture.h"

/* No snapshot; the configuration of nodes 1, 2 and 3, all voters. */
static void three_voters(struct raft_snapshot_meta *meta)
{
    memset(meta, 0, sizeof(*meta));
    meta->conf.n = 3;
    for (int k = 0; k < 3; k++) {
        meta->conf.s[k] = (struct raft_server){.id = (raft_id)k + 1, .voter = true};
        strcpy(meta->conf.s[k].addr, fx_addr((raft_id)k + 1));
    }
}

/* Rebuilds node i from the first `keep` entries of its log, its term kept and its vote
 * forgotten: what a node finds after a damaged log lost its tail. */
static void restart_with_prefix(struct fx *f, int i, raft_index keep, bool recovering)
{
    struct raft *old = f->nd[i].r;
    struct raft_hard_state hs = {raft_term_of(old), 0, 0};
    struct raft_snapshot_meta meta;
    three_voters(&meta);
    struct raft_entry ents[64];
    uint8_t data[64][8];
    assert_true(keep <= 64);
    for (raft_index x = 1; x <= keep; x++) {
        const struct raft_entry *e = raft_log_entry(old, x);
        assert_non_null(e);
        ents[x - 1] = *e;
        assert_true(e->len <= 8);
        memcpy(data[x - 1], e->data ? e->data : (const uint8_t *)"", e->len);
        ents[x - 1].data = data[x - 1];
    }
    struct raft_config c;
    fx_config(&c, (raft_id)i + 1);
    assert_int_equal(raft_create(&c, &f->nd[i].r), 0);
    assert_int_equal(raft_restore(f->nd[i].r, &hs, &meta, ents, (uint32_t)keep), 0);
    raft_free(old);
    if (recovering) raft_set_recovering(f->nd[i].r);
    f->nd[i].applied = 0;
}

/* A recovering server grants no vote or pre-vote, never campaigns on its own and
 * ignores TimeoutNow. */
static void test_recovering_never_votes_nor_campaigns(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    raft_set_recovering(f.nd[0].r);
    assert_true(raft_recovering(f.nd[0].r));
    struct raft_msg out;
    struct raft_msg m = fx_msg(RAFT_MSG_PREVOTE, 2, 1, 1);
    fx_step_reply(&f, 0, &m, RAFT_MSG_PREVOTE_RESP, &out);
    assert_true(out.reject);
    m = fx_msg(RAFT_MSG_VOTE, 2, 1, 1);
    fx_step_reply(&f, 0, &m, RAFT_MSG_VOTE_RESP, &out);
    assert_true(out.reject);
    assert_int_equal(f.nd[0].r ? raft_term_of(f.nd[0].r) : 0, 1);
    fx_isolate(&f, 0, true);
    fx_tick(&f, 0, 100);
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    assert_int_equal(raft_term_of(f.nd[0].r), 1);
    fx_isolate(&f, 0, false);
    fx_campaign(&f, 0);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    assert_int_equal(raft_term_of(f.nd[0].r), 1);
    fx_free(&f);
}

/* Once it has caught up with a leader (its log matches up to a commit index of the
 * leader's term) it is a voter again, and its vote in that term goes to that leader. */
static void test_recovering_catches_up(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    for (uint64_t v = 1; v <= 5; v++)
        fx_propose(&f, 0, v);
    fx_flush(&f);
    restart_with_prefix(&f, 2, 2, true);
    fx_run(&f, 3);
    assert_false(raft_recovering(f.nd[2].r));
    assert_int_equal(raft_last_index(f.nd[2].r), raft_last_index(f.nd[0].r));
    struct raft_msg out;
    struct raft_msg m = fx_msg(RAFT_MSG_VOTE, 2, 3, raft_term_of(f.nd[2].r));
    m.transfer = true;
    m.index = 100;
    m.log_term = m.term; /* a longer log of the same last term: up to date */
    fx_step_reply(&f, 2, &m, RAFT_MSG_VOTE_RESP, &out);
    assert_true(out.reject); /* it voted for the leader of this term */
    m.term++;
    fx_step_reply(&f, 2, &m, RAFT_MSG_VOTE_RESP, &out);
    assert_false(out.reject); /* a voter again in later terms */
    fx_free(&f);
}

/* In an idle cluster too: a recovering follower whose log is complete (it lost only its
 * vote) catches up from the next heartbeat. */
static void test_recovering_catches_up_when_idle(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 9);
    fx_flush(&f);
    restart_with_prefix(&f, 2, raft_last_index(f.nd[0].r), true);
    assert_true(raft_recovering(f.nd[2].r));
    fx_run(&f, 3);
    assert_false(raft_recovering(f.nd[2].r));
    fx_free(&f);
}

/* A follower whose log lost its tail says so to the next heartbeat, and the leader
 * stops counting the match index it can no longer honour: it probes and resends. */
static void test_log_went_backwards_resets_progress(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    for (uint64_t v = 1; v <= 5; v++)
        fx_propose(&f, 0, v);
    fx_flush(&f); /* everyone holds 1..6 */
    raft_index match = 0;
    assert_int_equal(raft_progress(f.nd[0].r, 3, &match), 0);
    assert_int_equal(match, 6);
    restart_with_prefix(&f, 2, 2, false);
    f.sent_by_type[RAFT_MSG_APPEND] = 0;
    fx_tick(&f, 0, 1); /* one heartbeat, commit 6 */
    fx_readies(&f);
    fx_deliver(&f); /* node 3 answers: my log ends at 2 */
    fx_readies(&f);
    fx_deliver(&f); /* the leader takes it in */
    assert_int_equal(raft_progress(f.nd[0].r, 3, &match), 0);
    assert_true(match <= 2);
    assert_true(raft_recovering(f.nd[2].r)); /* it learnt it lost acknowledged entries */
    fx_flush(&f);
    assert_false(raft_recovering(f.nd[2].r));
    assert_true(f.sent_by_type[RAFT_MSG_APPEND] > 0);
    /* It caught up once the leader committed beyond what it first sent (6): the
     * leader appended a no-op for it, the cluster being idle. */
    assert_true(raft_last_index(f.nd[0].r) > 6);
    assert_int_equal(raft_last_index(f.nd[2].r), raft_last_index(f.nd[0].r));
    assert_int_equal(raft_progress(f.nd[0].r, 3, &match), 0);
    assert_int_equal(match, raft_last_index(f.nd[0].r));
    fx_free(&f);
}

/* A follower whose damaged log came back with other entries where it had acknowledged
 * the leader's, as long as before or longer (its WAL lost the transactions that had
 * replaced a deposed leader's entries): its rejection at or below its match index is
 * taken, not dropped as stale, and it catches up (nodesim seed 3117 stayed stuck). */
static void test_log_went_sideways_resets_progress(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 1);
    fx_campaign(&f, 0);
    for (uint64_t v = 1; v <= 5; v++)
        fx_propose(&f, 0, v);
    fx_flush(&f); /* everyone holds 1..7: entry 1 of term 1, the others of term 2 */
    raft_index match = 0;
    assert_int_equal(raft_progress(f.nd[0].r, 3, &match), 0);
    assert_int_equal(match, 7);
    assert_int_equal(raft_log_entry(f.nd[0].r, 1)->term, 1);
    assert_true(raft_log_entry(f.nd[0].r, 2)->term > 1);
    /* Node 3 restarts holding entry 1 and then 7 entries of term 1 instead. */
    struct raft *old = f.nd[2].r;
    struct raft_hard_state hs = {raft_term_of(old), 0, 0};
    struct raft_snapshot_meta meta;
    three_voters(&meta);
    struct raft_entry ents[8];
    static const uint8_t byte = 'x';
    ents[0] = *raft_log_entry(old, 1);
    for (int x = 1; x < 8; x++)
        ents[x] = (struct raft_entry){.index = (raft_index)x + 1,
                                      .term = 1,
                                      .type = RAFT_ENTRY_NORMAL,
                                      .data = &byte,
                                      .len = 1};
    struct raft_config c;
    fx_config(&c, 3);
    assert_int_equal(raft_create(&c, &f.nd[2].r), 0);
    assert_int_equal(raft_restore(f.nd[2].r, &hs, &meta, ents, 8), 0);
    raft_free(old);
    raft_set_recovering(f.nd[2].r);
    f.nd[2].applied = 0;
    fx_run(&f, 5);
    assert_false(raft_recovering(f.nd[2].r));
    assert_int_equal(raft_last_index(f.nd[2].r), raft_last_index(f.nd[0].r));
    for (raft_index x = 1; x <= raft_last_index(f.nd[0].r); x++)
        assert_int_equal(raft_log_entry(f.nd[2].r, x)->term, raft_log_entry(f.nd[0].r, x)->term);
    assert_int_equal(raft_progress(f.nd[0].r, 3, &match), 0);
    assert_int_equal(match, raft_last_index(f.nd[0].r));
    fx_free(&f);
}

/* A transfer to a server whose last message said it is recovering is refused: it would
 * ignore TimeoutNow while the leader held proposals back (nodesim seed 35942). Once it
 * has caught up, the transfer goes. */
static void test_no_transfer_to_recovering(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 1);
    fx_flush(&f);
    restart_with_prefix(&f, 2, raft_last_index(f.nd[0].r), true);
    fx_isolate(&f, 1, true); /* node 2 away: node 3's acknowledgements cannot commit */
    fx_tick(&f, 0, 1);       /* a heartbeat: node 3 answers that it recovers */
    fx_flush(&f);
    assert_true(raft_recovering(f.nd[2].r));
    assert_int_equal(raft_transfer_leader(f.nd[0].r, 3), RAFT_EUNSAFE);
    fx_isolate(&f, 1, false);
    fx_run(&f, 3);
    assert_false(raft_recovering(f.nd[2].r));
    assert_int_equal(raft_transfer_leader(f.nd[0].r, 3), 0);
    fx_free(&f);
}

/* The failure the rule prevents: index 2 is committed on nodes 1 and 2 only; node 2
 * loses it, node 1 goes away. Node 3 (without index 2) must not win node 2's vote. */
static void test_lost_tail_cannot_elect_stale_leader(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0); /* index 1: the no-op, on everyone */
    fx_isolate(&f, 2, true);
    fx_propose(&f, 0, 42);
    fx_flush(&f); /* index 2 committed on nodes 1 and 2 */
    assert_int_equal(raft_commit_index(f.nd[0].r), 2);
    fx_isolate(&f, 2, false);
    fx_isolate(&f, 0, true);
    restart_with_prefix(&f, 1, 1, true);
    fx_run(&f, 100);
    for (int i = 1; i < 3; i++)
        assert_int_not_equal(raft_role_of(f.nd[i].r), RAFT_LEADER);
    /* The old leader comes back: it leads again (node 2 may vote for it only after it
     * caught up) and index 2 survives. */
    fx_isolate(&f, 0, false);
    fx_run(&f, 100);
    assert_false(raft_recovering(f.nd[1].r));
    for (int i = 0; i < 3; i++) {
        const struct raft_entry *e = raft_log_entry(f.nd[i].r, 2);
        assert_non_null(e);
        uint64_t v = 0;
        memcpy(&v, e->data, 8);
        assert_int_equal(v, 42);
    }
    fx_free(&f);
}

/* Node i's store was erased: it restarts empty, at term 0, recovering. */
static void restart_wiped(struct fx *f, int i)
{
    struct raft *old = f->nd[i].r;
    struct raft_hard_state hs = {0, 0, 0};
    struct raft_snapshot_meta meta;
    three_voters(&meta);
    struct raft_config c;
    fx_config(&c, (raft_id)i + 1);
    assert_int_equal(raft_create(&c, &f->nd[i].r), 0);
    assert_int_equal(raft_restore(f->nd[i].r, &hs, &meta, NULL, 0), 0);
    raft_free(old);
    raft_set_recovering(f->nd[i].r);
    f->nd[i].applied = 0;
}

/* Found by the node simulator: node 1 leads term 1 and is cut off; nodes 2 and 3
 * commit an entry in term 2; node 3 loses its store; node 2 is cut off and node 1,
 * still leading term 1, comes back. Node 3's acknowledgements must not let node 1
 * commit (its entries conflict with term 2's), and node 3 must not count itself caught
 * up with node 1 (whose commit index, old, it reaches). Once node 2 is back, term 2's
 * entry survives everywhere. */
static void test_recovering_acks_do_not_let_a_deposed_leader_commit(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 7);
    fx_flush(&f); /* 1: no-op, 2: 7, committed everywhere */
    fx_isolate(&f, 0, true);
    fx_campaign(&f, 1); /* term 2, with node 3's vote */
    uint64_t idx = fx_propose(&f, 1, 9);
    fx_flush(&f);
    assert_int_equal(raft_commit_index(f.nd[1].r), idx); /* on nodes 2 and 3 */
    restart_wiped(&f, 2);
    fx_isolate(&f, 1, true);
    fx_isolate(&f, 0, false);
    fx_isolate(&f, 1, true);                                /* node 2 stays cut off from both */
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER); /* never ticked: unaware */
    fx_propose(&f, 0, 13);
    for (int k = 0; k < 5; k++) {
        fx_tick(&f, 0, 1); /* heartbeats; fewer ticks than CheckQuorum needs */
        fx_flush(&f);
    }
    assert_int_equal(raft_commit_index(f.nd[0].r), 2);
    assert_true(raft_recovering(f.nd[2].r));
    fx_isolate(&f, 1, false);
    fx_run(&f, 100);
    assert_false(raft_recovering(f.nd[2].r));
    for (int i = 0; i < 3; i++) {
        const struct raft_entry *e = raft_log_entry(f.nd[i].r, idx);
        assert_non_null(e);
        uint64_t v = 0;
        memcpy(&v, e->data, 8);
        assert_int_equal(v, 9);
    }
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovering_never_votes_nor_campaigns),
        cmocka_unit_test(test_recovering_catches_up),
        cmocka_unit_test(test_recovering_catches_up_when_idle),
        cmocka_unit_test(test_log_went_backwards_resets_progress),
        cmocka_unit_test(test_log_went_sideways_resets_progress),
        cmocka_unit_test(test_no_transfer_to_recovering),
        cmocka_unit_test(test_lost_tail_cannot_elect_stale_leader),
        cmocka_unit_test(test_recovering_acks_do_not_let_a_deposed_leader_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
