/*
 * tests/unit/test_raft_features.c - ReadIndex (§6.4), snapshots (§5), membership
 * changes and learners (§4), leader removal (§4.2.2), leadership transfer (§3.10).
 */
#include "test_raft_fixture.h"

/* §6.4: no read before the leader's no-op commits; then reads wait for one heartbeat
 * round, which confirms any number of them at once. */
static void test_read_index_batched(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 2, 1, 1); /* as from a leader of term 1 */
    raft_step(f.nd[0].r, &now);
    fx_readies(&f);
    fx_deliver(&f);
    fx_readies(&f);
    fx_deliver(&f); /* votes in: leader, no-op not yet committed */
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_read_index(f.nd[0].r, 1), RAFT_ENOTREADY);
    fx_flush(&f);
    int hb = f.sent_by_type[RAFT_MSG_HEARTBEAT];
    for (uint64_t ctx = 10; ctx < 15; ctx++)
        assert_int_equal(raft_read_index(f.nd[0].r, ctx), 0);
    fx_flush(&f);
    assert_int_equal(f.sent_by_type[RAFT_MSG_HEARTBEAT] - hb, 2); /* one round, 2 peers */
    assert_int_equal(f.nd[0].n_reads, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(f.nd[0].read_ctx[i], 10 + (uint64_t)i);
        assert_int_equal(f.nd[0].read_idx[i], raft_commit_index(f.nd[0].r));
    }
    fx_free(&f);
}

/* A deposed leader that cannot reach a majority never releases a read. */
static void test_read_index_needs_quorum(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 0, true);
    assert_int_equal(raft_read_index(f.nd[0].r, 7), 0);
    fx_flush(&f);
    fx_run(&f, 3);
    assert_int_equal(f.nd[0].n_reads, 0);
    fx_free(&f);
}

/* Follower reads (raft.h, READS): a follower's reads go to the leader as one
 * READ_INDEX per batch; the leader binds them to its commit index after a heartbeat
 * round and answers; the follower releases them all at that index. A follower that
 * knows no leader refuses at once. */
static void test_follower_read(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    assert_int_equal(raft_read_index(f.nd[1].r, 1), RAFT_ENOTLEADER); /* no leader known */
    fx_campaign(&f, 0);
    fx_propose_n(&f, 0, 3);
    fx_flush(&f);
    raft_index commit = raft_commit_index(f.nd[0].r);
    assert_true(commit >= 4);
    int hb = f.sent_by_type[RAFT_MSG_HEARTBEAT];
    for (uint64_t ctx = 20; ctx < 23; ctx++)
        assert_int_equal(raft_read_index(f.nd[1].r, ctx), 0);
    fx_flush(&f);
    assert_int_equal(f.sent_by_type[RAFT_MSG_READ_INDEX], 1);     /* one batch */
    assert_int_equal(f.sent_by_type[RAFT_MSG_HEARTBEAT] - hb, 2); /* one round, 2 peers */
    assert_int_equal(f.sent_by_type[RAFT_MSG_READ_INDEX_RESP], 1);
    assert_int_equal(f.nd[1].n_reads, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f.nd[1].read_ctx[i], 20 + (uint64_t)i);
        assert_int_equal(f.nd[1].read_idx[i], commit);
        assert_false(f.nd[1].read_failed[i]);
    }
    assert_int_equal(f.nd[0].n_reads, 0); /* the leader released nothing of its own */
    /* An answer the follower never asked for in this life (its rounds start again at
     * a restart: a stale answer carries an earlier life's ctx) releases nothing. */
    assert_int_equal(raft_read_index(f.nd[1].r, 40), 0);
    for (uint64_t ctx = 0; ctx < 8; ctx++) {
        struct raft_msg stale = fx_msg(RAFT_MSG_READ_INDEX_RESP, 1, 2, raft_term_of(f.nd[0].r));
        stale.ctx = ctx;
        stale.index = 1;
        raft_step(f.nd[1].r, &stale);
    }
    fx_flush(&f);
    assert_int_equal(f.nd[1].n_reads, 4);
    assert_int_equal(f.nd[1].read_ctx[3], 40);
    assert_int_equal(f.nd[1].read_idx[3], commit);
    fx_free(&f);
}

/* A READ_INDEX reaching a server that does not lead is refused; so is one reaching a
 * leader before an entry of its term committed. A follower's reads still waiting fail
 * when its leader changes. */
static void test_follower_read_refused_and_failed(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_flush(&f);
    struct raft_msg req = fx_msg(RAFT_MSG_READ_INDEX, 2, 3, raft_term_of(f.nd[2].r));
    req.ctx = 7;
    struct raft_msg out;
    assert_int_equal(fx_step_reply(&f, 2, &req, RAFT_MSG_READ_INDEX_RESP, &out), 1);
    assert_true(out.reject);
    assert_int_equal(out.ctx, 7);
    /* the follower's read waits; the leader is cut off and another is elected */
    fx_isolate(&f, 0, true);
    assert_int_equal(raft_read_index(f.nd[1].r, 30), 0);
    fx_flush(&f);
    assert_int_equal(f.nd[1].n_reads, 0);
    fx_campaign(&f, 2);
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[2].r), RAFT_LEADER);
    assert_int_equal(f.nd[1].n_reads, 1);
    assert_int_equal(f.nd[1].read_ctx[0], 30);
    assert_true(f.nd[1].read_failed[0]);
    /* a new leader whose no-op has not committed refuses (its own reads: ENOTREADY) */
    struct fx g;
    fx_init(&g, 3, 3, NULL);
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 2, 1, 1);
    raft_step(g.nd[0].r, &now);
    fx_readies(&g);
    fx_deliver(&g);
    fx_readies(&g);
    fx_deliver(&g); /* votes in: leader, no-op not yet committed */
    assert_int_equal(raft_role_of(g.nd[0].r), RAFT_LEADER);
    req = fx_msg(RAFT_MSG_READ_INDEX, 2, 1, raft_term_of(g.nd[0].r));
    req.ctx = 8;
    assert_int_equal(fx_step_reply(&g, 0, &req, RAFT_MSG_READ_INDEX_RESP, &out), 1);
    assert_true(out.reject);
    fx_free(&g);
    fx_free(&f);
}

static void lease(struct raft_config *c)
{
    c->read_mode = RAFT_READ_LEASE;
}

/* Lease mode: once a heartbeat round is acknowledged the leader answers at once; a
 * leader whose lease ran out (cut off) falls back to a round, which cannot complete.
 * Lease mode requires CheckQuorum. */
static void test_read_lease(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, lease);
    /* Fresh servers in lease mode ignore vote requests for an election timeout (raft.h,
     * READS), and fx_campaign() elects by timeout at term 0: a transfer's TimeoutNow,
     * as from a leader of term 1, is exempt. */
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 2, 1, 1);
    raft_step(f.nd[0].r, &now);
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    fx_run(&f, 2); /* a heartbeat round acknowledged: lease held */
    int hb = f.sent_by_type[RAFT_MSG_HEARTBEAT];
    assert_int_equal(raft_read_index(f.nd[0].r, 3), 0);
    fx_readies(&f);
    assert_int_equal(f.nd[0].n_reads, 1);
    assert_int_equal(f.sent_by_type[RAFT_MSG_HEARTBEAT], hb);
    fx_isolate(&f, 0, true);
    fx_tick(&f, 0, 9); /* lease (election_ticks - 2 after the last round) has expired */
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_read_index(f.nd[0].r, 4), 0);
    fx_flush(&f);
    assert_int_equal(f.nd[0].n_reads, 1);
    struct raft_config c;
    fx_config(&c, 9);
    c.read_mode = RAFT_READ_LEASE;
    c.check_quorum = false;
    struct raft *r;
    assert_int_equal(raft_create(&c, &r), RAFT_EINVAL);
    fx_free(&f);
}

/* Lease mode: the leader answers a follower's batch at once, without a round. */
static void test_follower_read_lease(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, lease);
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 2, 1, 1);
    raft_step(f.nd[0].r, &now);
    fx_flush(&f);
    fx_run(&f, 2); /* a heartbeat round acknowledged: lease held */
    int hb = f.sent_by_type[RAFT_MSG_HEARTBEAT];
    assert_int_equal(raft_read_index(f.nd[2].r, 5), 0);
    fx_flush(&f);
    assert_int_equal(f.sent_by_type[RAFT_MSG_HEARTBEAT], hb);
    assert_int_equal(f.nd[2].n_reads, 1);
    assert_false(f.nd[2].read_failed[0]);
    assert_int_equal(f.nd[2].read_idx[0], raft_commit_index(f.nd[0].r));
    fx_free(&f);
}

/* §5: the leader compacts its log; a follower that needs compacted entries receives
 * the snapshot in chunks, installs it and resumes normal replication. */
static void test_snapshot_install(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 2, true);
    fx_propose_n(&f, 0, 10);
    fx_flush(&f);
    struct fx_node *l = &f.nd[0];
    struct raft_snapshot_meta meta;
    assert_int_equal(raft_snapshot_taken(l->r, l->applied + 1, &meta), RAFT_EINVAL);
    assert_int_equal(raft_snapshot_taken(l->r, l->applied, &meta), 0);
    assert_int_equal(meta.index, 11);
    assert_int_equal(meta.conf.n, 3);
    for (uint32_t k = 0; k < 3; k++)
        assert_string_equal(meta.conf.s[k].addr, fx_addr(meta.conf.s[k].id));
    assert_null(raft_log_entry(l->r, 5));
    memcpy(l->snap, "SNAPSHOT-AT-11-WITH-SOME-BYTES", 30);
    l->snap_len = 30;
    l->snap_index = 11;
    fx_isolate(&f, 2, false);
    fx_propose(&f, 0, 12);
    fx_run(&f, 5);
    assert_int_equal(f.nd[2].installed, 1);
    assert_int_equal(f.nd[2].snap_len, 30); /* arrived in 8-byte chunks, in order */
    assert_memory_equal(f.nd[2].snap, l->snap, 30);
    assert_int_equal(raft_first_index(f.nd[2].r), 12);
    assert_int_equal(raft_last_index(f.nd[2].r), raft_last_index(l->r));
    assert_int_equal(f.nd[2].last_value, 12); /* resumed after the snapshot */
    /* the configuration, addresses included, came with the snapshot */
    fx_assert_conf_equal(&f.nd[2].snap_conf, &meta.conf);
    fx_assert_conf_equal(raft_conf_of(f.nd[2].r), raft_conf_of(l->r));
    fx_free(&f);
}

/* Fig. 5.3 step 6: a follower that already holds the snapshot's last entry keeps its
 * log and just answers done. */
static void test_snapshot_already_have(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 1);
    fx_flush(&f);
    struct raft_msg m = fx_msg(RAFT_MSG_SNAPSHOT, 1, 2, 1), out;
    m.index = 2;
    m.log_term = 1;
    m.conf = *raft_conf_of(f.nd[1].r);
    m.done = true;
    fx_step_reply(&f, 1, &m, RAFT_MSG_SNAPSHOT_RESP, &out);
    assert_true(out.done);
    assert_int_equal(raft_first_index(f.nd[1].r), 1);
    fx_free(&f);
}

/* Every node's configuration holds the members `ids` (n of them) with their fx_addr()
 * addresses, except id `addrless`, whose address is "". */
static void assert_members(struct fx *f, const raft_id *ids, uint32_t n, raft_id addrless)
{
    for (int i = 0; i < f->n; i++) {
        const struct raft_conf *c = raft_conf_of(f->nd[i].r);
        assert_int_equal(c->n, n);
        for (uint32_t k = 0; k < n; k++) {
            int at = raft_conf_find(c, ids[k]);
            assert_true(at >= 0);
            assert_string_equal(c->s[at].addr, ids[k] == addrless ? "" : fx_addr(ids[k]));
        }
    }
}

/* §4.2.1: a new server joins as a learner: it gets the log, does not vote or count,
 * and is promoted once caught up. The address given when it is added reaches every
 * member through the log, the new one included, and survives its promotion. */
static void test_learner_promotion(void **state)
{
    (void)state;
    struct fx f;
    const raft_id ids[] = {1, 2, 3, 4};
    fx_init(&f, 4, 3, NULL);
    fx_campaign(&f, 0);
    for (int i = 0; i < 5; i++)
        fx_propose(&f, 0, (uint64_t)i);
    fx_flush(&f);
    raft_index idx = 0;
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 4, fx_addr(4), &idx),
                     0);
    assert_int_equal(idx, raft_last_index(f.nd[0].r));
    const struct raft_conf *c = raft_conf_of(f.nd[0].r); /* in force once appended (§4.1) */
    assert_int_equal(c->n, 4);
    assert_string_equal(c->s[raft_conf_find(c, 4)].addr, fx_addr(4));
    fx_flush(&f);
    c = raft_conf_of(f.nd[0].r);
    assert_false(c->s[raft_conf_find(c, 4)].voter);
    assert_members(&f, ids, 4, 0);
    assert_int_equal(raft_last_index(f.nd[3].r), raft_last_index(f.nd[0].r));
    fx_run(&f, 3); /* the heartbeat tick promotes it */
    c = raft_conf_of(f.nd[0].r);
    assert_true(c->s[raft_conf_find(c, 4)].voter);
    assert_true(raft_conf_of(f.nd[3].r)->s[raft_conf_find(c, 4)].voter);
    assert_members(&f, ids, 4, 0);
    fx_free(&f);
}

/* An address is copied only when a server is added; NULL means "", an address of
 * RAFT_ADDR_MAX - 1 bytes fits and one more does not; promotion and removal ignore
 * the address argument. */
static void test_conf_change_addresses(void **state)
{
    (void)state;
    struct fx f;
    char longest[RAFT_ADDR_MAX + 1];
    fx_init(&f, 5, 3, NULL);
    fx_campaign(&f, 0);
    struct raft *l = f.nd[0].r;
    memset(longest, 'a', RAFT_ADDR_MAX);
    longest[RAFT_ADDR_MAX] = '\0'; /* strlen == RAFT_ADDR_MAX: too long */
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, longest, NULL),
                     RAFT_EINVAL);
    longest[RAFT_ADDR_MAX - 1] = '\0'; /* strlen == RAFT_ADDR_MAX - 1: fits */
    assert_int_equal(raft_conf_of(l)->n, 3);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, longest, NULL), 0);
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 5, NULL, NULL), 0);
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_PROMOTE, 5, "ignored:1", NULL), 0);
    fx_flush(&f);
    for (int i = 0; i < 5; i++) {
        const struct raft_conf *c = raft_conf_of(f.nd[i].r);
        assert_int_equal(c->n, 5);
        assert_string_equal(c->s[raft_conf_find(c, 4)].addr, longest);
        assert_string_equal(c->s[raft_conf_find(c, 5)].addr, "");
        assert_true(c->s[raft_conf_find(c, 5)].voter);
    }
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_REMOVE, 2, "ignored:2", NULL), 0);
    fx_flush(&f);
    const struct raft_conf *c = raft_conf_of(l);
    assert_int_equal(raft_conf_find(c, 2), -1);
    assert_string_equal(c->s[raft_conf_find(c, 1)].addr, fx_addr(1));
    assert_string_equal(c->s[raft_conf_find(c, 3)].addr, fx_addr(3));
    fx_free(&f);
}

/* A learner's acknowledgement does not count towards commitment. */
static void test_learner_does_not_count(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 1, NULL); /* voter 1 alone, then learners 2 and 3 */
    fx_tick(&f, 0, 25);
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 2, NULL, NULL), 0);
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_PROMOTE, 2, NULL, NULL), 0);
    fx_flush(&f); /* voters {1,2} */
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 3, NULL, NULL), 0);
    fx_flush(&f);
    fx_isolate(&f, 1, true); /* only the learner answers now */
    raft_index idx = fx_propose(&f, 0, 77);
    fx_flush(&f);
    assert_int_equal(raft_last_index(f.nd[2].r), idx);
    assert_true(raft_commit_index(f.nd[0].r) < idx);
    fx_free(&f);
}

/* One change at a time, and only after an entry of the leader's term committed. */
static void test_conf_change_one_at_a_time(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 3, NULL);
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 2, 1, 1); /* as from a leader of term 1 */
    raft_step(f.nd[0].r, &now);
    fx_readies(&f);
    fx_deliver(&f);
    fx_readies(&f);
    fx_deliver(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 4, NULL, NULL),
                     RAFT_EBUSY); /* no-op not committed yet */
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 4, NULL, NULL), 0);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_REMOVE, 3, NULL, NULL),
                     RAFT_EBUSY);
    fx_flush(&f);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_ADD_LEARNER, 4, NULL, NULL),
                     RAFT_EINVAL);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_REMOVE, 9, NULL, NULL),
                     RAFT_EINVAL);
    assert_int_equal(raft_propose_conf_change(f.nd[1].r, RAFT_CC_REMOVE, 3, NULL, NULL),
                     RAFT_ENOTLEADER);
    fx_free(&f);
}

/* §4.2.2: the leader removes itself: it stops counting itself at once, commits the
 * change, steps down (and sends nothing more as a leader: raft_repl_send_append()
 * asserts its role), and the others elect a leader among themselves. */
static void test_leader_removes_itself(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    assert_int_equal(raft_propose_conf_change(f.nd[0].r, RAFT_CC_REMOVE, 1, NULL, NULL), 0);
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    assert_int_equal(raft_conf_find(raft_conf_of(f.nd[1].r), 1), -1);
    fx_run(&f, 60);
    int leaders = 0;
    for (int i = 1; i < 3; i++)
        leaders += raft_role_of(f.nd[i].r) == RAFT_LEADER;
    assert_int_equal(leaders, 1);
    assert_int_not_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    fx_free(&f);
}

/* §3.10: transfer to a lagging target: the leader stops taking proposals, catches the
 * target up, sends TimeoutNow; the target wins the next term. */
static void test_transfer_leadership(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    f.cut[0][2] = true;
    fx_propose(&f, 0, 1);
    fx_flush(&f);
    f.cut[0][2] = false;
    raft_term t = raft_term_of(f.nd[0].r);
    assert_int_equal(raft_transfer_target(f.nd[0].r), 0);
    assert_int_equal(raft_transfer_leader(f.nd[0].r, 3), 0);
    assert_int_equal(raft_transfer_target(f.nd[0].r), 3);
    uint64_t v = 5;
    assert_int_equal(raft_propose(f.nd[0].r, &v, 8, NULL), RAFT_EBUSY);
    fx_run(&f, 3);
    assert_int_equal(raft_role_of(f.nd[2].r), RAFT_LEADER);
    assert_int_equal(raft_transfer_target(f.nd[0].r), 0); /* a follower now */
    assert_int_equal(raft_term_of(f.nd[2].r), t + 1);
    assert_int_equal(raft_leader(f.nd[0].r), 3);
    assert_int_equal(raft_transfer_leader(f.nd[2].r, 3), RAFT_EINVAL);
    fx_free(&f);
}

/* A transfer to an unreachable target is abandoned after an election timeout. */
static void test_transfer_times_out(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 2, true);
    assert_int_equal(raft_transfer_leader(f.nd[0].r, 3), 0);
    fx_run(&f, 12);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_transfer_target(f.nd[0].r), 0); /* given up */
    uint64_t v = 5;
    assert_int_equal(raft_propose(f.nd[0].r, &v, 8, NULL), 0);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_index_batched),
        cmocka_unit_test(test_read_index_needs_quorum),
        cmocka_unit_test(test_read_lease),
        cmocka_unit_test(test_follower_read),
        cmocka_unit_test(test_follower_read_refused_and_failed),
        cmocka_unit_test(test_follower_read_lease),
        cmocka_unit_test(test_snapshot_install),
        cmocka_unit_test(test_snapshot_already_have),
        cmocka_unit_test(test_learner_promotion),
        cmocka_unit_test(test_conf_change_addresses),
        cmocka_unit_test(test_learner_does_not_count),
        cmocka_unit_test(test_conf_change_one_at_a_time),
        cmocka_unit_test(test_leader_removes_itself),
        cmocka_unit_test(test_transfer_leadership),
        cmocka_unit_test(test_transfer_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
