/*
 * tests/unit/test_raft_hostile.c - messages no correct server sends, terms at the
 * ceiling and term jumps (raft.h, MESSAGES FROM THE NETWORK and TERMS; raft/check.c).
 *
 * Each refusal rule has a test: the message is refused (RAFT_EREFUSED, a reason in
 * raft_refusal()) and leaves the server exactly as it was (term, vote, role, leader,
 * log, nothing to send). Then the ceiling: a server at RAFT_TERM_MAX starts no election
 * and never wraps around; and the jump bound: a term far above ours moves ours by
 * RAFT_TERM_JUMP_MAX only, yet a lagging server still reaches its leader's term.
 */
#include "test_raft_fixture.h"

/* What a refusal must leave untouched. */
struct snap_state {
    raft_term term;
    enum raft_role role;
    raft_id leader;
    raft_index last, commit;
};

/* Compared with memcmp: zeroed first, so that the padding after role
 * compares equal too. */
static struct snap_state state_of(const struct raft *r)
{
    struct snap_state s;
    memset(&s, 0, sizeof s);
    s.term = raft_term_of(r);
    s.role = raft_role_of(r);
    s.leader = raft_leader(r);
    s.last = raft_last_index(r);
    s.commit = raft_commit_index(r);
    return s;
}

/* A 3-node cluster led by node 1 in term 1, its no-op committed everywhere. */
static void led(struct fx *f)
{
    fx_init(f, 3, 3, NULL);
    fx_campaign(f, 0);
    fx_run(f, 2);
    assert_int_equal(raft_role_of(f->nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_commit_index(f->nd[1].r), 1);
}

/* m, stepped into node i, is refused and changes nothing there. */
static void assert_refused(struct fx *f, int i, const struct raft_msg *m)
{
    struct raft *r = f->nd[i].r;
    struct snap_state before = state_of(r);
    assert_int_equal(raft_step(r, m), RAFT_EREFUSED);
    assert_true(strlen(raft_refusal(r)) > 0);
    struct snap_state after = state_of(r);
    assert_memory_equal(&before, &after, sizeof before);
    assert_false(raft_has_ready(r)); /* nothing to persist, nothing to send */
}

/* The finding: one heartbeat of term 2^64-1, or a TimeoutNow of term 2^63, from a peer
 * holding the secret put the cluster out of terms (or aborted a server on an ASSERT). */
static void test_term_above_ceiling_refused(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    raft_term terms[] = {UINT64_MAX, UINT64_C(1) << 63, RAFT_TERM_MAX + 1};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 3; i++) {
            struct raft_msg hb =
                fx_msg(RAFT_MSG_HEARTBEAT, i == 2 ? 2 : 3, (raft_id)i + 1, terms[k]);
            assert_refused(&f, i, &hb);
            struct raft_msg now =
                fx_msg(RAFT_MSG_TIMEOUT_NOW, i == 2 ? 2 : 3, (raft_id)i + 1, terms[k]);
            assert_refused(&f, i, &now);
        }
    /* The cluster goes on as before: same leader, same term, it commits. */
    uint64_t idx = fx_propose(&f, 0, 42);
    fx_run(&f, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(raft_term_of(f.nd[i].r), 1);
        assert_int_equal(raft_commit_index(f.nd[i].r), idx);
    }
    fx_free(&f);
}

static void test_other_term_fields_above_ceiling_refused(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    struct raft_msg m = fx_msg(RAFT_MSG_VOTE, 3, 2, 5);
    m.index = 9;
    m.log_term = RAFT_TERM_MAX + 1;
    assert_refused(&f, 1, &m);
    struct raft_msg resp = fx_msg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    resp.reject = true;
    resp.hint_term = UINT64_MAX;
    assert_refused(&f, 0, &resp);
    fx_free(&f);
}

static void test_index_above_ceiling_refused(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    struct raft_msg hb = fx_msg(RAFT_MSG_HEARTBEAT, 1, 2, 1);
    hb.commit = RAFT_INDEX_MAX + 1;
    assert_refused(&f, 1, &hb);
    struct raft_msg resp = fx_msg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    resp.index = UINT64_MAX;
    assert_refused(&f, 0, &resp);
    struct raft_msg hr = fx_msg(RAFT_MSG_HEARTBEAT_RESP, 2, 1, 1);
    hr.reject = true;
    hr.hint = RAFT_INDEX_MAX + 1;
    assert_refused(&f, 0, &hr);
    fx_free(&f);
}

/* Term 0 is "before any election": only a server still there refuses a PreVote with
 * it. Everything else of term 0 is refused (a TimeoutNow of term 0 made a fresh
 * server stand, as if a leader existed). */
static void test_term_zero_refused_but_prevote_refusal(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    uint8_t types[] = {RAFT_MSG_HEARTBEAT, RAFT_MSG_TIMEOUT_NOW, RAFT_MSG_VOTE_RESP,
                       RAFT_MSG_APPEND_RESP, RAFT_MSG_PREVOTE};
    for (int k = 0; k < 5; k++) {
        struct raft_msg m = fx_msg(types[k], 2, 1, 0);
        assert_refused(&f, 0, &m);
    }
    struct raft_msg granted = fx_msg(RAFT_MSG_PREVOTE_RESP, 2, 1, 0);
    assert_refused(&f, 0, &granted);
    struct raft_msg refusal = fx_msg(RAFT_MSG_PREVOTE_RESP, 2, 1, 0);
    refusal.reject = true;
    assert_int_equal(raft_step(f.nd[0].r, &refusal), 0);
    fx_free(&f);
}

/* A log position's term is at most the sender's term, and index 0 (the empty log)
 * goes with term 0 and only with it. */
static void test_log_position_must_be_possible(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    uint8_t types[] = {RAFT_MSG_APPEND, RAFT_MSG_VOTE, RAFT_MSG_PREVOTE};
    for (int k = 0; k < 3; k++) {
        struct raft_msg m = fx_msg(types[k], 3, 2, 4);
        m.index = 7;
        m.log_term = 5; /* above the message's term */
        assert_refused(&f, 1, &m);
        m.index = 0; /* the empty log has no term */
        m.log_term = 1;
        assert_refused(&f, 1, &m);
        m.index = 3; /* no entry has term 0 */
        m.log_term = 0;
        assert_refused(&f, 1, &m);
    }
    fx_free(&f);
}

static void test_append_entries_must_be_a_log(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    struct raft_entry ents[4];
    const raft_term down[] = {2, 1}, above[] = {1, 3}, zero[] = {0};
    struct raft_msg m = fx_append(1, 2, 2, 1, 1, 1, ents, down, 2);
    assert_refused(&f, 1, &m); /* terms go down */
    m = fx_append(1, 2, 2, 1, 1, 1, ents, above, 2);
    assert_refused(&f, 1, &m); /* an entry newer than its leader */
    m = fx_append(1, 2, 2, 0, 0, 1, ents, zero, 1);
    assert_refused(&f, 1, &m); /* an entry of term 0 */
    const raft_term ok[] = {1, 2};
    m = fx_append(1, 2, 2, 1, 1, 1, ents, ok, 2);
    ents[1].index = 5; /* out of sequence */
    assert_refused(&f, 1, &m);
    ents[1].index = 3;
    ents[1].type = 9; /* no such entry type */
    assert_refused(&f, 1, &m);
    ents[1].type = RAFT_ENTRY_NORMAL;
    m.n_entries = RAFT_MAX_MSG_ENTRIES + 1; /* over the limit (never read: refused first) */
    assert_refused(&f, 1, &m);
    m = fx_append(1, 2, 2, RAFT_INDEX_MAX - 1, 1, 1, ents, ok, 2);
    assert_refused(&f, 1, &m); /* the last entry's index above RAFT_INDEX_MAX */
    struct raft_msg hb = fx_msg(RAFT_MSG_HEARTBEAT, 1, 2, 1);
    hb.entries = ents; /* entries belong to APPEND only */
    hb.n_entries = 1;
    assert_refused(&f, 1, &hb);
    /* The well-formed one is taken. */
    m = fx_append(1, 2, 2, 1, 1, 1, ents, ok, 2);
    assert_int_equal(raft_step(f.nd[1].r, &m), 0);
    assert_int_equal(raft_last_index(f.nd[1].r), 3);
    fx_free(&f);
}

static void test_snapshot_must_be_possible(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    struct raft_msg m = fx_msg(RAFT_MSG_SNAPSHOT, 1, 2, 1);
    m.conf = *raft_conf_of(f.nd[0].r);
    m.index = 0; /* a snapshot of nothing */
    m.log_term = 1;
    assert_refused(&f, 1, &m);
    m.index = 5;
    m.log_term = 0;
    assert_refused(&f, 1, &m);
    m.log_term = 2; /* newer than the leader sending it */
    assert_refused(&f, 1, &m);
    m.log_term = 1;
    uint8_t chunk[4] = {1, 2, 3, 4};
    m.chunk = chunk;
    m.chunk_len = 4;
    m.offset = UINT64_MAX - 1; /* offset + len wraps */
    assert_refused(&f, 1, &m);
    m.offset = 0;
    memset(m.conf.s[0].addr, 'x', RAFT_ADDR_MAX); /* an address without its NUL */
    assert_refused(&f, 1, &m);
    m.conf = *raft_conf_of(f.nd[0].r);
    m.conf.n = RAFT_MAX_NODES + 1;
    assert_refused(&f, 1, &m);
    fx_free(&f);
}

static void test_hint_term_above_message_term_refused(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    struct raft_msg resp = fx_msg(RAFT_MSG_APPEND_RESP, 2, 1, 1);
    resp.reject = true;
    resp.index = 1;
    resp.hint = 1;
    resp.hint_term = 2;
    assert_refused(&f, 0, &resp);
    fx_free(&f);
}

/* ---- the ceiling ---- */

/* Node i restarted from a store holding term `term` (and no vote), nothing else. */
static void restore_at(struct fx *f, int i, raft_term term)
{
    struct raft_config c;
    fx_config(&c, (raft_id)i + 1);
    raft_free(f->nd[i].r);
    assert_int_equal(raft_create(&c, &f->nd[i].r), 0);
    struct raft_hard_state hs = {term, 0, 0};
    struct raft_snapshot_meta meta;
    memset(&meta, 0, sizeof(meta));
    meta.conf.n = 3;
    for (int k = 0; k < 3; k++) {
        meta.conf.s[k] = (struct raft_server){.id = (raft_id)k + 1, .voter = true};
        strcpy(meta.conf.s[k].addr, fx_addr((raft_id)k + 1));
    }
    assert_int_equal(raft_restore(f->nd[i].r, &hs, &meta, NULL, 0), 0);
}

/* A server at RAFT_TERM_MAX starts no election, by timeout or TimeoutNow, sends
 * nothing, stays a follower and counts what it did not start. */
static void test_no_election_past_ceiling(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    for (int i = 0; i < 3; i++)
        restore_at(&f, i, RAFT_TERM_MAX);
    for (int t = 0; t < 100; t++)
        for (int i = 0; i < 3; i++) {
            raft_tick(f.nd[i].r);
            assert_int_equal(raft_role_of(f.nd[i].r), RAFT_FOLLOWER);
            assert_false(raft_has_ready(f.nd[i].r));
        }
    struct raft_msg now = fx_msg(RAFT_MSG_TIMEOUT_NOW, 2, 1, RAFT_TERM_MAX);
    assert_int_equal(raft_step(f.nd[0].r, &now), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(raft_term_of(f.nd[i].r), RAFT_TERM_MAX);
        assert_true(raft_campaigns_refused(f.nd[i].r) > 0);
    }
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    assert_false(raft_has_ready(f.nd[0].r));
    fx_free(&f);
}

/* A store written before the ceiling existed may hold a term above it (2^64 - 1):
 * the server loads it and never wraps around to a term below its log's. */
static void test_term_above_ceiling_from_store_never_wraps(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    restore_at(&f, 0, UINT64_MAX);
    for (int t = 0; t < 100; t++)
        raft_tick(f.nd[0].r);
    assert_int_equal(raft_term_of(f.nd[0].r), UINT64_MAX);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_FOLLOWER);
    assert_true(raft_campaigns_refused(f.nd[0].r) > 0);
    fx_free(&f);
}

/* The ceiling itself is a usable term: a server just below it is elected at it, with
 * PreVote (whose request carries RAFT_TERM_MAX), and its cluster commits. */
static void test_leader_elected_at_ceiling(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    for (int i = 0; i < 3; i++)
        restore_at(&f, i, RAFT_TERM_MAX - 1);
    fx_tick(&f, 0, 40);
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_term_of(f.nd[0].r), RAFT_TERM_MAX);
    uint64_t idx = fx_propose(&f, 0, 7);
    fx_run(&f, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(raft_commit_index(f.nd[i].r), idx);
    fx_free(&f);
}

/* ---- term jumps ---- */

/* A heartbeat more than RAFT_TERM_JUMP_MAX above our term moves it up by that much,
 * as a follower with no leader and no vote, and is dropped (not answered). */
static void test_term_jump_bounded(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    struct raft_msg hb = fx_msg(RAFT_MSG_HEARTBEAT, 3, 2, 1 + RAFT_TERM_JUMP_MAX + 5);
    assert_int_equal(raft_step(f.nd[1].r, &hb), RAFT_EREFUSED);
    assert_true(strstr(raft_refusal(f.nd[1].r), "RAFT_TERM_JUMP_MAX") != NULL);
    assert_int_equal(raft_term_of(f.nd[1].r), 1 + RAFT_TERM_JUMP_MAX);
    assert_int_equal(raft_role_of(f.nd[1].r), RAFT_FOLLOWER);
    assert_int_equal(raft_leader(f.nd[1].r), 0);
    struct raft_ready rd;
    raft_ready(f.nd[1].r, &rd);
    assert_true(rd.hard_state_changed); /* the new term is persisted */
    assert_int_equal(rd.hard_state.term, 1 + RAFT_TERM_JUMP_MAX);
    assert_int_equal(rd.hard_state.vote, 0);
    assert_int_equal(rd.n_msgs, 0); /* the heartbeat itself was dropped */
    raft_advance(f.nd[1].r);
    /* A jump of exactly RAFT_TERM_JUMP_MAX is taken whole, message included. */
    struct raft_msg next = fx_msg(RAFT_MSG_HEARTBEAT, 3, 2, 1 + 2 * RAFT_TERM_JUMP_MAX);
    assert_int_equal(raft_step(f.nd[1].r, &next), 0);
    assert_int_equal(raft_term_of(f.nd[1].r), 1 + 2 * RAFT_TERM_JUMP_MAX);
    assert_int_equal(raft_leader(f.nd[1].r), 3);
    fx_free(&f);
}

/* Safety: one vote per term across a jump. The jump leaves no vote in the term it
 * lands on; one candidate of that term gets it, another does not. */
static void test_term_jump_keeps_one_vote_per_term(void **state)
{
    (void)state;
    struct fx f;
    led(&f);
    raft_term t = 1 + RAFT_TERM_JUMP_MAX;
    struct raft_msg v = fx_msg(RAFT_MSG_VOTE, 3, 2, t + 100);
    v.index = 1;
    v.log_term = 1;
    v.transfer = true; /* past the leader lease */
    assert_int_equal(raft_step(f.nd[1].r, &v), RAFT_EREFUSED);
    assert_int_equal(raft_term_of(f.nd[1].r), t);
    fx_readies(&f);
    struct raft_msg out;
    v.term = t;
    assert_int_equal(fx_step_reply(&f, 1, &v, RAFT_MSG_VOTE_RESP, &out), 1);
    assert_false(out.reject);
    struct raft_msg other = v;
    other.from = 1;
    assert_int_equal(fx_step_reply(&f, 1, &other, RAFT_MSG_VOTE_RESP, &out), 1);
    assert_true(out.reject);
    fx_free(&f);
}

/* Liveness: a follower far behind its leader's term (3.5 jumps) still reaches it, one
 * heartbeat per jump, then follows that leader and takes its entries. */
static void test_lagging_follower_reaches_leader_term(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    raft_term far = 2 + 3 * RAFT_TERM_JUMP_MAX + RAFT_TERM_JUMP_MAX / 2;
    restore_at(&f, 0, far - 1);
    restore_at(&f, 1, far - 1);
    restore_at(&f, 2, 1);
    fx_isolate(&f, 2, true);
    fx_tick(&f, 0, 40);
    fx_flush(&f);
    assert_int_equal(raft_role_of(f.nd[0].r), RAFT_LEADER);
    assert_int_equal(raft_term_of(f.nd[0].r), far);
    fx_isolate(&f, 2, false);
    uint64_t idx = fx_propose(&f, 0, 9);
    for (int round = 0; round < 10 && raft_commit_index(f.nd[2].r) < idx; round++) {
        fx_tick(&f, 0, 1);
        fx_flush(&f);
    }
    assert_int_equal(raft_term_of(f.nd[2].r), far);
    assert_int_equal(raft_leader(f.nd[2].r), 1);
    assert_int_equal(raft_commit_index(f.nd[2].r), idx);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_term_above_ceiling_refused),
        cmocka_unit_test(test_other_term_fields_above_ceiling_refused),
        cmocka_unit_test(test_index_above_ceiling_refused),
        cmocka_unit_test(test_term_zero_refused_but_prevote_refusal),
        cmocka_unit_test(test_log_position_must_be_possible),
        cmocka_unit_test(test_append_entries_must_be_a_log),
        cmocka_unit_test(test_snapshot_must_be_possible),
        cmocka_unit_test(test_hint_term_above_message_term_refused),
        cmocka_unit_test(test_no_election_past_ceiling),
        cmocka_unit_test(test_term_above_ceiling_from_store_never_wraps),
        cmocka_unit_test(test_leader_elected_at_ceiling),
        cmocka_unit_test(test_term_jump_bounded),
        cmocka_unit_test(test_term_jump_keeps_one_vote_per_term),
        cmocka_unit_test(test_lagging_follower_reaches_leader_term),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
