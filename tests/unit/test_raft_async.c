/*
 * tests/unit/test_raft_async.c - asynchronous writes (raft.h: ASYNCHRONOUS WRITES):
 * a leader counts only what raft_persisted() acknowledged (§10.2.1), batches hand out
 * for applying only acknowledged entries, stale acknowledgements of truncated entries
 * are ignored, and a synchronous batch acknowledges every earlier one.
 */
#include "test_raft_fixture.h"

static void async_on(struct raft_config *c)
{
    c->async_persist = true;
}

/* Takes the next batch of node i and advances it asynchronously; returns its last
 * entry (index 0 if none), through *last and *term. */
static void ready_async(struct fx *f, int i, struct raft_ready *rd, raft_index *last,
                        raft_term *term)
{
    raft_ready(f->nd[i].r, rd);
    *last = rd->n_entries ? rd->entries[rd->n_entries - 1].index : 0;
    *term = rd->n_entries ? rd->entries[rd->n_entries - 1].term : 0;
    raft_advance_async(f->nd[i].r);
}

/* Takes the next batch of node i, which writes nothing, and returns how many committed
 * entries it hands out to apply, and the last one's index and term. */
static uint32_t ready_committed(struct fx *f, int i, raft_index *last, raft_term *term)
{
    struct raft_ready rd;
    raft_ready(f->nd[i].r, &rd);
    assert_int_equal(rd.n_entries, 0);
    uint32_t n = rd.n_committed;
    *last = n ? rd.committed[n - 1].index : 0;
    *term = n ? rd.committed[n - 1].term : 0;
    raft_advance_async(f->nd[i].r);
    return n;
}

/* §10.2.1: a single-node leader commits its entry only once the write is acknowledged,
 * and then hands it out to apply; an unacknowledged entry leaves nothing ready (no busy
 * loop waiting for the disk). */
static void test_leader_commits_on_persisted(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 1, 1, async_on);
    fx_tick(&f, 0, 25);
    struct raft_ready rd;
    raft_index last;
    raft_term term;
    while (raft_has_ready(f.nd[0].r)) { /* elected; its no-op handed out */
        ready_async(&f, 0, &rd, &last, &term);
        if (last) raft_persisted(f.nd[0].r, last, term);
    }
    raft_index idx = fx_propose(&f, 0, 7);
    ready_async(&f, 0, &rd, &last, &term);
    assert_int_equal(last, idx);
    assert_int_equal(rd.n_committed, 0);
    assert_true(raft_commit_index(f.nd[0].r) < idx);
    assert_false(raft_has_ready(f.nd[0].r));
    raft_index second = fx_propose(&f, 0, 8); /* a second write while the first is out */
    raft_index last2;
    raft_term term2;
    ready_async(&f, 0, &rd, &last2, &term2);
    assert_int_equal(last2, second);
    assert_true(raft_commit_index(f.nd[0].r) < idx);
    raft_persisted(f.nd[0].r, last, term);
    assert_int_equal(raft_commit_index(f.nd[0].r), idx);
    raft_index applied;
    raft_term applied_term;
    assert_int_equal(ready_committed(&f, 0, &applied, &applied_term), 1);
    assert_int_equal(applied, idx);
    raft_index match = 0;
    assert_int_equal(raft_progress(f.nd[0].r, 1, &match), 0);
    assert_int_equal(match, idx);
    raft_persisted(f.nd[0].r, last2, term2);
    assert_int_equal(raft_commit_index(f.nd[0].r), second);
    assert_int_equal(raft_progress(f.nd[0].r, 1, &match), 0);
    assert_int_equal(match, second);
    raft_persisted(f.nd[0].r, last, term); /* a repeated acknowledgement changes nothing */
    assert_int_equal(raft_commit_index(f.nd[0].r), second);
    fx_free(&f);
}

/* A follower hands out committed entries only up to what it acknowledged as written,
 * even when the leader's commit index covers more. */
static void test_follower_applies_only_written(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, async_on);
    struct raft_entry ents[8];
    const raft_term t1[] = {1, 1, 1};
    struct raft_msg m = fx_append(2, 1, 1, 0, 0, 3, ents, t1, 3);
    raft_step(f.nd[0].r, &m);
    struct raft_ready rd;
    raft_index last;
    raft_term term;
    ready_async(&f, 0, &rd, &last, &term);
    assert_int_equal(last, 3);
    assert_int_equal(rd.n_committed, 0);
    assert_int_equal(raft_commit_index(f.nd[0].r), 3);
    assert_false(raft_has_ready(f.nd[0].r));
    raft_persisted(f.nd[0].r, 2, 1); /* a partial acknowledgement, as a driver may give */
    raft_index applied;
    raft_term applied_term;
    assert_int_equal(ready_committed(&f, 0, &applied, &applied_term), 2);
    raft_persisted(f.nd[0].r, last, term);
    assert_int_equal(ready_committed(&f, 0, &applied, &applied_term), 1);
    assert_int_equal(applied, 3);
    fx_free(&f);
}

/* Fig. 3.1 AppendEntries 3 while a write is in flight: the write of the overwritten
 * suffix completes after the truncation, and its acknowledgement must not count for
 * the new entries at the same indexes. */
static void test_stale_ack_after_truncation(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, async_on);
    struct raft_entry ents[8];
    const raft_term t1[] = {1, 1, 1};
    struct raft_msg m = fx_append(2, 1, 1, 0, 0, 1, ents, t1, 3);
    raft_step(f.nd[0].r, &m);
    struct raft_ready rd;
    raft_index old_last, new_last;
    raft_term old_term, new_term;
    ready_async(&f, 0, &rd, &old_last, &old_term);
    assert_int_equal(old_last, 3);
    /* A leader of term 2 overwrites indexes 2..3 and has committed them. */
    const raft_term t2[] = {2, 2};
    m = fx_append(3, 1, 2, 1, 1, 3, ents, t2, 2);
    raft_step(f.nd[0].r, &m);
    assert_int_equal(raft_log_term(f.nd[0].r, 3), 2);
    ready_async(&f, 0, &rd, &new_last, &new_term);
    assert_int_equal(rd.n_entries, 2);
    assert_int_equal(rd.entries[0].index, 2);
    raft_persisted(f.nd[0].r, old_last, old_term); /* the first write completes: stale */
    raft_index applied;
    raft_term applied_term;
    /* index 1 is covered by no acknowledgement yet */
    assert_int_equal(ready_committed(&f, 0, &applied, &applied_term), 0);
    raft_persisted(f.nd[0].r, new_last, new_term);
    assert_int_equal(ready_committed(&f, 0, &applied, &applied_term), 3);
    assert_int_equal(applied_term, 2);
    fx_free(&f);
}

/* A synchronous batch (raft_advance()) acknowledges every entry handed out so far: the
 * driver waited for the writes in flight before it. */
static void test_sync_batch_covers_earlier_writes(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 1, 1, async_on);
    fx_tick(&f, 0, 25);
    struct raft_ready rd;
    raft_index last;
    raft_term term;
    while (raft_has_ready(f.nd[0].r))
        ready_async(&f, 0, &rd, &last, &term);
    raft_index idx = fx_propose(&f, 0, 9);
    ready_async(&f, 0, &rd, &last, &term);
    assert_true(raft_commit_index(f.nd[0].r) < idx);
    raft_ready(f.nd[0].r, &rd); /* nothing new: a synchronous batch anyway */
    raft_advance(f.nd[0].r);
    assert_int_equal(raft_commit_index(f.nd[0].r), idx);
    raft_persisted(f.nd[0].r, last, term); /* late, unnecessary: ignored */
    assert_int_equal(raft_commit_index(f.nd[0].r), idx);
    fx_free(&f);
}

/* Without async_persist the core keeps the synchronous contract: a follower applies the
 * entries of the very batch that writes them. */
static void test_sync_mode_unchanged(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    struct raft_entry ents[8];
    const raft_term t1[] = {1, 1};
    struct raft_msg m = fx_append(2, 1, 1, 0, 0, 2, ents, t1, 2);
    raft_step(f.nd[0].r, &m);
    struct raft_ready rd;
    raft_ready(f.nd[0].r, &rd);
    assert_int_equal(rd.n_entries, 2);
    assert_int_equal(rd.n_committed, 2);
    raft_advance(f.nd[0].r);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_commits_on_persisted),
        cmocka_unit_test(test_follower_applies_only_written),
        cmocka_unit_test(test_stale_ack_after_truncation),
        cmocka_unit_test(test_sync_batch_covers_earlier_writes),
        cmocka_unit_test(test_sync_mode_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
