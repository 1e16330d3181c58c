/*
 * tests/unit/test_storage_safety.c - the Raft log store (src/storage/storage.c)
 * when things go wrong underneath it: a kill -9 at any point loses nothing
 * acknowledged, a damaged WAL is detected before SQLite silently drops its
 * tail (src/storage/storage_wal.h), and a store keeps its incarnation, the peers'
 * incarnations and the recovering mark across reopenings.
 * Fixture and helpers: storage_fixture.h.
 */
#include "storage_fixture.h"

/* ------------------------------------------------------------ crashes */

#define CRASH_BATCH 64
#define CRASH_BATCHES 40

/* Child: saves batches, reporting each one's last index once storage_save
 * returned, then waits for the parent's SIGKILL (which may come earlier): no
 * close, no exit handlers. Never returns; a failure shows as an exit code. */
static void crash_child(struct fx *f, int wfd)
{
    struct storage *s;
    if (storage_open(&s, f->dir, NODE, 1, f->err, sizeof f->err)) _exit(2);
    for (int b = 0; b < CRASH_BATCHES; b++) {
        raft_index from = (raft_index)b * CRASH_BATCH + 1;
        /* The commit index moves a whole step a batch, so that each
         * batch stores it (storage.h): it tells which batch was last. */
        struct raft_hard_state hs = {
            .term = 1, .vote = NODE, .commit = (raft_index)(b + 1) * STORAGE_COMMIT_STEP};
        struct storage_batch batch = {
            .entries = make_entries(f, from, CRASH_BATCH, 1), .n_entries = CRASH_BATCH, .hs = &hs};
        if (storage_save(s, &batch, f->err, sizeof f->err)) _exit(3);
        uint64_t acked = from + CRASH_BATCH - 1;
        if (write(wfd, &acked, sizeof acked) != sizeof acked) _exit(4);
    }
    for (;;)
        pause();
}

/* Runs the child and kill -9s it after kill_after acknowledgements. Then every acknowledged entry
 * must be there, and batches must be whole: the hard state's commit (saved with the batch) is the
 * last batch's. */
static void crash_run(struct fx *f, int kill_after)
{
    int p[2], status;
    uint64_t acked = 0, v;
    int acks = 0;
    struct storage_state st;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        crash_child(f, p[1]);
    }
    close(p[1]);
    while (read(p[0], &v, sizeof v) == sizeof v) {
        acked = v;
        if (++acks == kill_after) kill(pid, SIGKILL);
    }
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("child did not die of SIGKILL (status %#x)", status);

    open_store(f);
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    raft_index last = st.n_entries;
    assert_true(last >= acked);
    assert_int_equal(last % CRASH_BATCH, 0);
    assert_int_equal(st.hs.commit, last / CRASH_BATCH * STORAGE_COMMIT_STEP);
    storage_state_free(&st);
    for (raft_index i = 1; i <= last; i++)
        f->m.term[i] = 1;
    f->m.last = last;
    check_log_free(f);
    printf("  crash after %d acknowledged batches: %llu entries acknowledged, %llu found\n", acks,
           (unsigned long long)acked, (unsigned long long)last);
}

static void test_crash_after_last_ack(void **state)
{
    crash_run(*state, CRASH_BATCHES);
}

static void test_crash_kill_9(void **state)
{
    crash_run(*state, 10);
}

/* ------------------------------------------------------------ WAL check */

/* kill -9 after every batch was acknowledged: the WAL holds them all. */
static uint64_t crash_leaving_wal(struct fx *f)
{
    int p[2], status;
    uint64_t acked = 0, v;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        crash_child(f, p[1]);
    }
    close(p[1]);
    int acks = 0;
    while (read(p[0], &v, sizeof v) == sizeof v) {
        acked = v;
        if (++acks == CRASH_BATCHES) kill(pid, SIGKILL);
    }
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return acked;
}

/* One flipped byte in a WAL frame in the middle: SQLite silently drops every
 * transaction after it (the acknowledged entries are gone); the check sees
 * frames of the current generation after the damaged one. */
static void test_wal_damage_detected(void **state)
{
    struct fx *f = *state;
    uint64_t acked = crash_leaving_wal(f);
    char db[128];
    snprintf(db, sizeof db, "%s/%s", f->dir, STORAGE_FILE_NAME);
    struct storage_wal_report r;
    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    assert_true(r.present);
    assert_false(storage_wal_damaged(&r)); /* an intact WAL after kill -9 */
    assert_int_equal(r.first_bad, 0);
    assert_true(r.frames > 10);
    assert_int_equal(r.kept, r.frames);

    uint64_t frame = r.frames / 2; /* 0-based; flip a byte of its page */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", db);
    int fd = open(wal, O_RDWR);
    assert_true(fd >= 0);
    off_t at = 32 + (off_t)frame * (24 + 4096) + 24 + 100;
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);

    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    assert_true(storage_wal_damaged(&r));
    assert_int_equal(r.first_bad, frame + 1);
    assert_true(r.torn);
    assert_true(r.lost > 0 && r.lost_commits > 0);
    assert_true(r.kept <= frame);
    assert_int_equal(storage_wal_keep_copy(db, f->err, sizeof f->err), 0);
    char copy[180];
    snprintf(copy, sizeof copy, "%s-wal.damaged", db);
    assert_int_equal(access(copy, R_OK), 0);

    /* What SQLite makes of it: a shorter log, without a word. */
    struct storage_state st;
    open_store(f);
    assert_int_equal(storage_load(f->s, &st, f->err, sizeof f->err), 0);
    assert_true(st.n_entries < acked);
    printf("  acknowledged %llu entries, SQLite kept %u; the check saw %llu lost frames "
           "(%llu commits)\n",
           (unsigned long long)acked, st.n_entries, (unsigned long long)r.lost,
           (unsigned long long)r.lost_commits);
    storage_state_free(&st);
}

/* Child: opens the store as a restarted node does, saves one more batch
 * after what it holds, and dies without closing (kill -9). */
static void save_one_and_die(struct fx *f)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct storage *s;
        struct storage_state st;
        if (storage_open(&s, f->dir, NODE, 1, f->err, sizeof f->err) ||
            storage_load(s, &st, f->err, sizeof f->err))
            _exit(2);
        raft_index from = st.snap.index + st.n_entries + 1;
        struct raft_hard_state hs = {.term = 1, .vote = NODE, .commit = from};
        struct storage_batch b = {
            .entries = make_entries(f, from, 1, 1), .n_entries = 1, .hs = &hs};
        if (storage_save(s, &b, f->err, sizeof f->err)) _exit(3);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Damage is reported at the start after it, not again at the next one: the
 * node that opened the store after the report writes and dies before any
 * checkpoint. Before the open emptied the WAL, SQLite wrote the new frames
 * over the damaged one and left the frames it had discarded behind them, with
 * the current salts: the check found them again (and the copy kept of the
 * damaged WAL was overwritten by one that no longer shows the damage). */
static void test_wal_damage_reported_once(void **state)
{
    struct fx *f = *state;
    crash_leaving_wal(f);
    char db[128], wal[160];
    snprintf(db, sizeof db, "%s/%s", f->dir, STORAGE_FILE_NAME);
    snprintf(wal, sizeof wal, "%s-wal", db);
    struct storage_wal_report r;
    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    uint64_t frame = r.frames / 2;
    int fd = open(wal, O_RDWR);
    assert_true(fd >= 0);
    off_t at = 32 + (off_t)frame * (24 + 4096) + 24 + 100;
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    assert_true(storage_wal_damaged(&r));

    save_one_and_die(f); /* the start that reported it */
    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    assert_false(storage_wal_damaged(&r));
    assert_int_equal(r.first_bad, 0);
    save_one_and_die(f); /* and the one after */
    assert_int_equal(storage_wal_check(db, &r, f->err, sizeof f->err), 0);
    assert_false(storage_wal_damaged(&r));
    assert_int_equal(r.first_bad, 0);
}

/* ------------------------------------------------------------ identity */

/* The incarnation is drawn once and kept; another store gets another one.
 * Peers' incarnations and the recovering mark survive a reopen. */
static void test_incarnation_and_peers(void **state)
{
    struct fx *f = *state;
    open_store(f);
    uint64_t inc = storage_incarnation(f->s);
    assert_true(inc > 0);
    assert_false(storage_recovering(f->s));
    uint64_t got = 1;
    assert_int_equal(storage_peer_incarnation(f->s, 3, &got, f->err, sizeof f->err), 0);
    assert_int_equal(got, 0);
    assert_int_equal(storage_set_peer_incarnation(f->s, 3, 12345, f->err, sizeof f->err), 0);
    assert_int_equal(storage_set_peer_incarnation(f->s, 4, 777, f->err, sizeof f->err), 0);
    assert_int_equal(storage_set_peer_incarnation(f->s, 4, 0, f->err, sizeof f->err), 0);
    assert_int_equal(storage_set_recovering(f->s, true, f->err, sizeof f->err), 0);
    reopen(f);
    assert_int_equal(storage_incarnation(f->s), inc);
    assert_true(storage_recovering(f->s));
    assert_int_equal(storage_peer_incarnation(f->s, 3, &got, f->err, sizeof f->err), 0);
    assert_int_equal(got, 12345);
    assert_int_equal(storage_peer_incarnation(f->s, 4, &got, f->err, sizeof f->err), 0);
    assert_int_equal(got, 0);
    assert_int_equal(storage_set_recovering(f->s, false, f->err, sizeof f->err), 0);
    reopen(f);
    assert_false(storage_recovering(f->s));
    /* A wiped dir: a new store, a new incarnation. */
    storage_close(f->s);
    f->s = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", f->dir, STORAGE_FILE_NAME);
    assert_int_equal(unlink(path), 0);
    open_store(f);
    assert_true(storage_incarnation(f->s) > 0);
    assert_int_not_equal(storage_incarnation(f->s), inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_after_last_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_kill_9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_damage_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_damage_reported_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incarnation_and_peers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
