/*
 * tests/unit/test_raft_release.c - a log whose memory is bounded (raft/release.c):
 * raft_log_release() drops applied, persisted entries and keeps their terms and
 * configurations; a leader reads released entries back from its store (rd.log_reqs,
 * raft_log_entries()) for a follower that lags.
 */
#include "test_raft_fixture.h"

/* Node 0 leads a 3-node cluster holding values 1..n after its no-op. */
static void lead_with(struct fx *f, int n)
{
    fx_init(f, 3, 3, NULL);
    fx_campaign(f, 0);
    for (int i = 1; i <= n; i++)
        fx_propose(f, 0, (uint64_t)i);
    fx_flush(f);
}

/* Releasing keeps every term and the log's shape; only the data leaves memory. */
static void test_release_keeps_terms(void **state)
{
    (void)state;
    struct fx f;
    lead_with(&f, 20);
    struct raft *l = f.nd[0].r;
    raft_index last = raft_last_index(l);
    raft_term terms[32];
    for (raft_index i = 1; i <= last; i++)
        terms[i] = raft_log_term(l, i);
    uint64_t entries, bytes;
    raft_log_mem(l, NULL, &entries, &bytes);
    assert_int_equal(entries, last);
    assert_int_equal(bytes, 20 * 8);
    assert_int_equal(raft_log_release(l, 5 * 8), 16); /* the no-op (no data) and 15 */
    raft_index first;
    raft_log_mem(l, &first, &entries, &bytes);
    assert_int_equal(first, last - 4);
    assert_int_equal(entries, 5);
    assert_int_equal(bytes, 5 * 8);
    assert_null(raft_log_entry(l, first - 1));
    assert_non_null(raft_log_entry(l, first));
    for (raft_index i = 1; i <= last; i++)
        assert_int_equal(raft_log_term(l, i), terms[i]);
    assert_int_equal(raft_first_index(l), 1); /* no snapshot: the log still starts at 1 */
    assert_int_equal(raft_log_release(l, 0), 5);
    assert_int_equal(raft_log_release(l, 0), 0);
    fx_free(&f);
}

/* Only applied and persisted entries go: an uncommitted tail stays in memory, and a
 * call between ready and advance does nothing. */
static void test_release_keeps_unapplied(void **state)
{
    (void)state;
    struct fx f;
    lead_with(&f, 3);
    struct raft *l = f.nd[0].r;
    fx_isolate(&f, 0, true);
    raft_index a = fx_propose(&f, 0, 100), b = fx_propose(&f, 0, 101);
    fx_flush(&f);
    assert_true(raft_commit_index(l) < a);
    raft_log_release(l, 0);
    raft_index first;
    raft_log_mem(l, &first, NULL, NULL);
    assert_int_equal(first, a);
    assert_non_null(raft_log_entry(l, b));
    fx_propose(&f, 0, 102);
    struct raft_ready rd;
    raft_ready(l, &rd);
    assert_int_equal(raft_log_release(l, 0), 0); /* inside ready/advance */
    raft_advance(l);
    fx_free(&f);
}

/* A follower cut off while the leader released its log catches up from the leader's
 * store, entry for entry. */
static void test_lagging_follower_reads_back(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 2, true);
    fx_propose_n(&f, 0, 300);
    fx_flush(&f);
    struct raft *l = f.nd[0].r;
    assert_int_equal(raft_log_release(l, 0), 301); /* the no-op and the values */
    fx_isolate(&f, 2, false);
    fx_run(&f, 10);
    assert_true(f.log_reqs >= 1);
    assert_int_equal(f.nd[2].applied, raft_commit_index(l));
    assert_int_equal(f.nd[2].n_applied, 300);
    assert_int_equal(f.nd[2].last_value, 300);
    for (raft_index i = 1; i <= raft_last_index(l); i++)
        assert_int_equal(raft_log_term(f.nd[2].r, i), raft_log_term(l, i));
    fx_free(&f);
}

/* Entries that are not the log's are refused: the driver's store is damaged. Answers
 * nobody asked for are dropped. */
static void test_log_entries_checked(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 2, true);
    fx_propose_n(&f, 0, 10);
    fx_flush(&f);
    struct raft *l = f.nd[0].r;
    raft_log_release(l, 0);
    uint64_t v = 7;
    struct raft_entry e = {raft_term_of(l), 2, RAFT_ENTRY_NORMAL, 8, (const uint8_t *)&v};
    assert_int_equal(raft_log_entries(l, 3, 1, &e, 1), 0); /* not asked for: dropped */
    f.log_reqs_off = true;
    fx_isolate(&f, 2, false);
    fx_run(&f, 2); /* node 3 answers a heartbeat: the leader asks for its entries */
    e.term = raft_term_of(l) + 1;
    assert_int_equal(raft_log_entries(l, 3, 1, &e, 1), RAFT_EINVAL);
    fx_run(&f, 2 * 10 + 2); /* the unanswered request times out, a new one is made */
    e.term = raft_term_of(l);
    e.index = 3; /* out of sequence */
    assert_int_equal(raft_log_entries(l, 3, 1, &e, 1), RAFT_EINVAL);
    f.log_reqs_off = false;
    fx_run(&f, 2 * 10 + 5);
    assert_int_equal(f.nd[2].last_value, 10);
    fx_free(&f);
}

/* A snapshot taken below the released part gets its term and configuration right,
 * including a configuration entry that was released. */
static void test_snapshot_below_release(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 4, 3, NULL);
    fx_campaign(&f, 0);
    fx_propose(&f, 0, 1);
    fx_flush(&f);
    struct raft *l = f.nd[0].r;
    raft_index before = raft_last_index(l);
    raft_index cc;
    assert_int_equal(raft_propose_conf_change(l, RAFT_CC_ADD_LEARNER, 4, "fx-4:4000", &cc), 0);
    for (int i = 2; i <= 6; i++)
        fx_propose(&f, 0, (uint64_t)i);
    fx_run(&f, 3);
    raft_index last = raft_last_index(l);
    assert_true(raft_log_release(l, 0) > 0);
    struct raft_snapshot_meta meta;
    assert_int_equal(raft_snapshot_taken(l, before, &meta), 0);
    assert_int_equal(meta.conf.n, 3); /* before the change */
    assert_int_equal(meta.term, raft_log_term(l, before));
    assert_int_equal(raft_snapshot_taken(l, cc + 1, &meta), 0);
    assert_int_equal(meta.conf.n, 4); /* the released change */
    assert_string_equal(meta.conf.s[3].addr, "fx-4:4000");
    assert_int_equal(raft_first_index(l), cc + 2);
    assert_int_equal(raft_log_term(l, last), raft_term_of(l));
    fx_free(&f);
}

/* A follower that released its log becomes leader and serves a lagging server from its
 * own store. */
static void test_new_leader_reads_back(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    fx_isolate(&f, 2, true);
    fx_propose_n(&f, 0, 50);
    fx_run(&f, 2); /* node 2 learns the commit index and applies */
    assert_int_equal(f.nd[1].n_applied, 50);
    raft_log_release(f.nd[1].r, 0);
    raft_log_release(f.nd[0].r, 0);
    fx_isolate(&f, 2, false);
    fx_campaign(&f, 1);
    assert_int_equal(raft_role_of(f.nd[1].r), RAFT_LEADER);
    fx_run(&f, 10);
    assert_int_equal(f.nd[2].n_applied, 50);
    assert_int_equal(f.nd[2].last_value, 50);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_keeps_terms),
        cmocka_unit_test(test_release_keeps_unapplied),
        cmocka_unit_test(test_lagging_follower_reads_back),
        cmocka_unit_test(test_log_entries_checked),
        cmocka_unit_test(test_snapshot_below_release),
        cmocka_unit_test(test_new_leader_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
