/*
 * tests/unit/test_raft_replication.c - Fig. 3.1 AppendEntries receiver rules, the
 * commitment rule (§3.6.2, Fig. 3.7), batching, pipelining with bounded inflight,
 * fast back-off, probing, and the persistence contract (§10.2.1).
 */
#include "test_raft_fixture.h"

/* Fig. 3.1 AppendEntries 2: reject if the log has no entry at prev with prev's term;
 * the rejection carries a conflict hint. */
static void test_append_consistency_check(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_entry ents[8];
    const raft_term t1[] = {1, 1, 1};
    struct raft_msg m = fx_append(2, 1, 1, 0, 0, 0, ents, t1, 3), out;
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, &out);
    assert_false(out.reject);
    assert_int_equal(out.index, 3);
    const raft_term t2[] = {2};
    m = fx_append(2, 1, 2, 5, 2, 0, ents, t2, 1); /* prev beyond our log */
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, &out);
    assert_true(out.reject);
    assert_int_equal(out.index, 5);
    assert_int_equal(out.hint, 3); /* our last index with term <= 2 */
    assert_int_equal(out.hint_term, 1);
    m = fx_append(2, 1, 2, 3, 2, 0, ents, t2, 1); /* prev term mismatch */
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, &out);
    assert_true(out.reject);
    assert_int_equal(raft_last_index(f.nd[0].r), 3);
    fx_free(&f);
}

/* Fig. 3.1 AppendEntries 3-4: a conflicting suffix is deleted, new entries appended,
 * matching ones kept; the truncation shows in the ready batch as entries from the
 * conflict index. */
static void test_append_truncates_conflict(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_entry ents[8];
    const raft_term t1[] = {1, 1, 1, 1};
    struct raft_msg m = fx_append(2, 1, 1, 0, 0, 0, ents, t1, 4);
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, NULL);
    const raft_term t2[] = {1, 3, 3};
    m = fx_append(3, 1, 3, 1, 1, 0, ents, t2, 3); /* (2,t1) matches, (3,t3) conflicts */
    raft_step(f.nd[0].r, &m);
    struct raft_ready rd;
    raft_ready(f.nd[0].r, &rd);
    assert_int_equal(rd.n_entries, 2);
    assert_int_equal(rd.entries[0].index, 3); /* driver deletes >= 3, then appends */
    assert_int_equal(rd.entries[0].term, 3);
    raft_advance(f.nd[0].r);
    assert_int_equal(raft_last_index(f.nd[0].r), 4);
    assert_int_equal(raft_log_term(f.nd[0].r, 2), 1);
    assert_int_equal(raft_log_term(f.nd[0].r, 4), 3);
    fx_free(&f);
}

/* Fig. 3.1 AppendEntries 5: commit = min(leaderCommit, index of last new entry) - not
 * the last index of the log, whose tail beyond the message may be stale. */
static void test_append_commit_min(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_entry ents[8];
    const raft_term t1[] = {1, 1, 1, 1};
    struct raft_msg m = fx_append(2, 1, 1, 0, 0, 0, ents, t1, 4); /* (1..4, t1), uncommitted */
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, NULL);
    assert_int_equal(raft_commit_index(f.nd[0].r), 0);
    m = fx_append(3, 1, 2, 0, 0, 9, ents, t1, 2); /* new leader: (1..2, t1) match, commit 9 */
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, NULL);
    assert_int_equal(raft_commit_index(f.nd[0].r), 2); /* (3,t1),(4,t1) may be stale */
    m = fx_append(3, 1, 2, 2, 1, 1, ents, t1, 0);      /* a lower leader commit never lowers ours */
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, NULL);
    assert_int_equal(raft_commit_index(f.nd[0].r), 2);
    fx_free(&f);
}

/* §3.6.2 / Fig. 3.7: a leader never commits an entry of an earlier term by counting
 * replicas; it commits it only together with an entry of its own term. */
static void test_commit_only_current_term(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_entry ents[8];
    /* node 1 holds (1,t1) (2,t2) from an old leader; node 2 holds (1,t1) only */
    const raft_term a[] = {1, 2};
    struct raft_msg m = fx_append(3, 1, 2, 0, 0, 0, ents, a, 2);
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, NULL);
    m = fx_append(3, 2, 2, 0, 0, 0, ents, a, 1);
    fx_step_reply(&f, 1, &m, RAFT_MSG_APPEND_RESP, NULL);
    f.cut[0][2] = f.cut[2][0] = true;
    fx_campaign(&f, 0); /* node 1 leads term 3 with node 2's vote */
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_term_of(f.nd[0].r), 3);
    /* the no-op (3,t3) replicates to node 2 along with (2,t2): both commit together */
    assert_int_equal(raft_commit_index(f.nd[0].r), 3);
    assert_int_equal(raft_log_term(f.nd[1].r, 2), 2);
    fx_free(&f);
}

/* The same, step by step: (2,t2) on a majority is not committed until (3,t3) is. */
static void test_old_term_entry_not_committed_alone(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_entry ents[8];
    const raft_term a[] = {1, 2};
    for (int i = 0; i < 2; i++) {
        struct raft_msg m = fx_append(3, (raft_id)i + 1, 2, 0, 0, 0, ents, a, 2);
        fx_step_reply(&f, i, &m, RAFT_MSG_APPEND_RESP, NULL);
    }
    /* node 1 becomes leader of term 3; node 2 acknowledges index 2 but not the no-op */
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 3, 1, 2);
    raft_step(f.nd[0].r, &now);
    fx_readies(&f);
    struct raft_msg v = fx_msg(RAFT_MSG_VOTE_RESP, 2, 1, 3);
    raft_step(f.nd[0].r, &v);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    fx_readies(&f);
    struct raft_msg ack = fx_msg(RAFT_MSG_APPEND_RESP, 2, 1, 3);
    ack.index = 2;
    raft_step(f.nd[0].r, &ack);
    assert_int_equal(raft_commit_index(f.nd[0].r), 0);
    ack.index = 3;
    raft_step(f.nd[0].r, &ack);
    assert_int_equal(raft_commit_index(f.nd[0].r), 3);
    fx_free(&f);
}

/* §10.2.1: the leader's AppendEntries may leave before its own disk write, but it
 * counts itself towards a majority only after raft_advance(). */
static void test_leader_counts_itself_after_persist(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 1, 1, NULL);
    fx_tick(&f, 0, 25);
    fx_flush(&f);
    raft_index idx = fx_propose(&f, 0, 5);
    assert_true(raft_commit_index(f.nd[0].r) < idx);
    struct raft_ready rd;
    raft_ready(f.nd[0].r, &rd);
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.n_committed, 0);
    assert_true(raft_commit_index(f.nd[0].r) < idx);
    raft_advance(f.nd[0].r);
    assert_int_equal(raft_commit_index(f.nd[0].r), idx);
    fx_free(&f);
}

/* Leader-originated messages may be sent before persisting; responses may not. */
static void test_must_persist_first_flags(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 1);
    struct raft_ready rd;
    raft_ready(f.nd[0].r, &rd);
    assert_true(rd.n_msgs > 0);
    for (uint32_t i = 0; i < rd.n_msgs; i++) {
        assert_false(rd.msgs[i].must_persist_first);
        fx_send(&f, 0, &rd.msgs[i]);
    }
    raft_advance(f.nd[0].r);
    fx_deliver(&f);
    raft_ready(f.nd[1].r, &rd);
    assert_int_equal(rd.n_entries, 1);
    int resps = 0;
    for (uint32_t i = 0; i < rd.n_msgs; i++) {
        if (rd.msgs[i].type == RAFT_MSG_APPEND_RESP) {
            assert_true(rd.msgs[i].must_persist_first);
            resps++;
        }
    }
    assert_int_equal(resps, 1);
    raft_advance(f.nd[1].r);
    fx_free(&f);
}

/* Runs leader 1's next batch and counts its AppendEntries messages per follower (2 and
 * 3), checking that each carries commit index `commit` and `entries` entries. */
static void count_appends(struct fx *f, int per[4], raft_index commit, uint32_t entries)
{
    int from = f->nq;
    fx_ready(f, 0);
    static struct raft_entry ents[RAFT_MAX_MSG_ENTRIES];
    for (int k = from; k < f->nq; k++) {
        struct raft_msg m;
        assert_int_equal(raft_decode(f->q[k].buf, f->q[k].len, &m, ents, RAFT_MAX_MSG_ENTRIES), 0);
        if (m.type != RAFT_MSG_APPEND) continue;
        assert_true(m.to >= 2 && m.to <= 3);
        per[m.to]++;
        assert_int_equal(m.commit, commit);
        assert_int_equal(m.n_entries, entries);
    }
}

/* A commit advance reaches each follower once, riding on the entries a batch sends it:
 * acknowledgements that commit an entry, then a proposal in the same round, make one
 * AppendEntries per follower (the new entry and the new commit index), not an empty one
 * for the commit followed by one for the entry. With nothing new to send, an empty one
 * carries the commit index, but not to a follower whose acknowledgement is still to
 * come: that one gets it once its acknowledgement arrives. */
static void test_commit_told_once_per_round(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_flush(&f);
    for (int with_proposal = 1; with_proposal >= 0; with_proposal--) {
        raft_index idx = fx_propose(&f, 0, 7);
        fx_ready(&f, 0); /* persisted, sent */
        fx_deliver(&f);
        fx_ready(&f, 1);
        fx_ready(&f, 2);
        fx_deliver(&f); /* both acknowledgements: idx commits */
        assert_int_equal(raft_commit_index(f.nd[0].r), idx);
        if (with_proposal) fx_propose(&f, 0, 8);
        int per[4] = {0};
        count_appends(&f, per, idx, with_proposal ? 1 : 0);
        assert_int_equal(per[2], 1);
        assert_int_equal(per[3], 1);
        fx_flush(&f);
    }
    /* Follower 3 answers late: the commit goes to follower 2 alone, then to 3 after. */
    raft_index idx = fx_propose(&f, 0, 9);
    fx_ready(&f, 0);
    fx_deliver(&f);
    fx_ready(&f, 1);
    fx_ready(&f, 2);
    assert_int_equal(f.nq, 2);
    int k = f.q[0].from == 2 ? 0 : 1; /* follower 3's (node index 2) acknowledgement */
    struct fx_pkt late = f.q[k];
    f.q[0] = f.q[1 - k];
    f.nq = 1;
    fx_deliver(&f); /* follower 2's acknowledgement: idx commits */
    assert_int_equal(raft_commit_index(f.nd[0].r), idx);
    int per[4] = {0};
    count_appends(&f, per, idx, 0);
    assert_int_equal(per[2], 1);
    assert_int_equal(per[3], 0);
    fx_deliver(&f);
    fx_readies(&f);
    f.q[f.nq++] = late;
    fx_deliver(&f); /* follower 3's acknowledgement */
    count_appends(&f, per, idx, 0);
    assert_int_equal(per[2], 1);
    assert_int_equal(per[3], 1);
    fx_flush(&f);
    assert_int_equal(f.nd[2].applied, idx);
    fx_free(&f);
}

static void small_pipeline(struct raft_config *c)
{
    c->max_inflight_msgs = 2;
    c->max_entries_per_msg = 3;
}

/* Batching and pipelining: up to max_entries_per_msg per message, at most
 * max_inflight_msgs unacknowledged messages per follower. */
static void test_pipeline_bounded(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 2, 2, small_pipeline);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 1);
    fx_flush(&f); /* follower now in REPLICATE */
    for (int i = 0; i < 20; i++)
        fx_propose(&f, 0, 100 + (uint64_t)i);
    fx_readies(&f);
    int appends = 0, entries = 0;
    static struct raft_entry ents[RAFT_MAX_MSG_ENTRIES];
    for (int k = 0; k < f.nq; k++) {
        struct raft_msg m;
        assert_int_equal(raft_decode(f.q[k].buf, f.q[k].len, &m, ents, RAFT_MAX_MSG_ENTRIES), 0);
        if (m.type == RAFT_MSG_APPEND) {
            appends++;
            entries += (int)m.n_entries;
            assert_true(m.n_entries <= 3);
        }
    }
    assert_int_equal(appends, 2);
    assert_int_equal(entries, 6);
    fx_flush(&f); /* acknowledgements open the window until everything is through */
    assert_int_equal(f.nd[1].last_value, 119);
    fx_free(&f);
}

/* A follower with a long divergent log is repaired in few round trips thanks to the
 * conflict hint, not one entry per round trip. */
static void test_fast_backoff(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_entry ents[64];
    raft_term t[50];
    for (int i = 0; i < 50; i++)
        t[i] = 2;
    t[0] = 1;
    struct raft_msg m = fx_append(3, 2, 2, 0, 0, 0, ents, t, 50); /* node 2: (1,t1), 49 x t2 */
    fx_step_reply(&f, 1, &m, RAFT_MSG_APPEND_RESP, NULL);
    m = fx_append(3, 1, 2, 0, 0, 0, ents, t, 1); /* node 1: (1,t1) */
    fx_step_reply(&f, 0, &m, RAFT_MSG_APPEND_RESP, NULL);
    f.cut[0][2] = f.cut[2][0] = true;
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 3, 1, 2);
    raft_step(f.nd[0].r, &now);
    fx_readies(&f);
    struct raft_msg v = fx_msg(RAFT_MSG_VOTE_RESP, 2, 1, 3); /* forced vote */
    raft_step(f.nd[0].r, &v);
    for (int i = 0; i < 30; i++)
        fx_propose(&f, 0, (uint64_t)i);
    int before = f.sent_by_type[RAFT_MSG_APPEND_RESP];
    fx_flush(&f);
    int rounds = f.sent_by_type[RAFT_MSG_APPEND_RESP] - before;
    assert_true(rounds <= 6);
    assert_int_equal(raft_last_index(f.nd[1].r), raft_last_index(f.nd[0].r));
    assert_int_equal(raft_log_term(f.nd[1].r, 2), 3);
    fx_free(&f);
}

/* A follower that missed a stretch of pipelined entries (its messages were lost) is
 * found by a rejected append or a heartbeat, probed, and caught up. */
static void test_probe_lagging_follower(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, small_pipeline);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 1);
    fx_flush(&f);
    f.cut[0][2] = true; /* one-way: node 3 still answers, hears nothing */
    for (int i = 0; i < 40; i++) {
        fx_propose(&f, 0, 10 + (uint64_t)i);
        fx_flush(&f);
    }
    assert_true(raft_last_index(f.nd[2].r) < raft_last_index(f.nd[0].r));
    f.cut[0][2] = false;
    fx_run(&f, 5);
    assert_int_equal(raft_last_index(f.nd[2].r), raft_last_index(f.nd[0].r));
    assert_int_equal(f.nd[2].last_value, 49);
    raft_report_unreachable(f.nd[0].r, 3); /* back to probing: must still converge */
    fx_propose(&f, 0, 50);
    fx_run(&f, 3);
    assert_int_equal(f.nd[2].last_value, 50);
    fx_free(&f);
}

/* Proposals are refused on followers with a leader hint. */
static void test_propose_not_leader(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    uint64_t v = 1;
    assert_int_equal(raft_propose(f.nd[1].r, &v, 8, NULL), RAFT_ENOTLEADER);
    assert_int_equal(raft_leader(f.nd[1].r), 1);
    fx_free(&f);
}

static void small_entries(struct raft_config *c)
{
    c->max_entry_bytes = 200000;
}

/* An entry proposed in parts is their concatenation, on the leader and on the
 * followers; a large part gets no slab of its own to share; the limit applies to the
 * total. */
static void test_propose_parts(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, small_entries);
    fx_campaign(&f, 0);
    enum { BIG = 150000 };
    uint8_t *big = malloc(BIG);
    for (uint32_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 7);
    const struct raft_part parts[] = {{"head", 4}, {NULL, 0}, {big, BIG}, {"tail", 4}};
    raft_index idx = 0;
    assert_int_equal(raft_propose_parts(f.nd[0].r, parts, 4, &idx), 0);
    assert_int_equal(raft_propose_parts(f.nd[0].r, parts + 2, 2, NULL), 0); /* after it */
    fx_flush(&f);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f.nd[i].applied, idx + 1);
        const struct raft_entry *e = raft_log_entry(f.nd[i].r, idx);
        assert_non_null(e);
        assert_int_equal(e->len, 8 + BIG);
        assert_memory_equal(e->data, "head", 4);
        assert_memory_equal(e->data + 4, big, BIG);
        assert_memory_equal(e->data + 4 + BIG, "tail", 4);
        e = raft_log_entry(f.nd[i].r, idx + 1);
        assert_int_equal(e->len, BIG + 4);
        assert_memory_equal(e->data + BIG, "tail", 4);
    }
    const struct raft_part too_big[] = {{big, BIG}, {big, 50001}};
    assert_int_equal(raft_propose_parts(f.nd[0].r, too_big, 2, NULL), RAFT_ETOOBIG);
    free(big);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_consistency_check),
        cmocka_unit_test(test_append_truncates_conflict),
        cmocka_unit_test(test_append_commit_min),
        cmocka_unit_test(test_commit_only_current_term),
        cmocka_unit_test(test_old_term_entry_not_committed_alone),
        cmocka_unit_test(test_leader_counts_itself_after_persist),
        cmocka_unit_test(test_must_persist_first_flags),
        cmocka_unit_test(test_commit_told_once_per_round),
        cmocka_unit_test(test_pipeline_bounded),
        cmocka_unit_test(test_fast_backoff),
        cmocka_unit_test(test_probe_lagging_follower),
        cmocka_unit_test(test_propose_not_leader),
        cmocka_unit_test(test_propose_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
