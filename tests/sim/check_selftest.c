/*
 * tests/sim/check_selftest.c - proves the checker flags each property: for every
 * property a hand-built history that breaks it, plus one valid history that must pass.
 */
#include <stdio.h>
#include "check.h"

static const uint64_t T1[] = {1, 1, 1}, T2[] = {2, 2, 2};
static const uint64_t VA[] = {11, 12, 13}, VB[] = {21, 22, 23};

/* Node 0 persists and commits entries 1..2 of term 1 (values VA). */
static void base(struct chk *c)
{
    chk_log_append(c, 0, true, 1, 2, T1, VA);
    chk_commit(c, 0, 2, 1, false);
}

static int valid(struct chk *c)
{
    base(c);
    uint64_t h1 = chk_mix(0, VA[0]);
    int rc = chk_leader(c, 0, 1) | chk_leader(c, 1, 2);
    rc |= chk_log_append(c, 1, false, 1, 3, T1, VA) | chk_commit(c, 1, 3, 1, false);
    rc |= chk_leader_complete(c, 1, chk_must_hold(c, 2), 1, false);
    rc |= chk_apply(c, 1, 1, VA[0]) | chk_apply(c, 1, 2, VA[1]) | chk_sm_reset(c, 2, 1, h1);
    return rc | chk_read(c, 1, 3, 3) | chk_commit(c, 1, 3, 1, true);
}

static int election_safety(struct chk *c)
{
    return chk_leader(c, 0, 5) | chk_leader(c, 1, 5);
}

static int log_matching(struct chk *c)
{
    chk_log_append(c, 0, false, 1, 2, T1, VA);
    uint64_t vb[] = {VA[0], VB[1]};
    return chk_log_append(c, 1, false, 1, 2, T1, vb); /* same (2, term 1), other prefix */
}

static int leader_append_only(struct chk *c)
{
    chk_log_append(c, 0, true, 1, 2, T1, VA);
    return chk_log_append(c, 0, true, 2, 1, T2, VB);
}

static int monotonic_commit(struct chk *c)
{
    base(c);
    return chk_commit(c, 0, 1, 1, false);
}

static int leader_completeness(struct chk *c)
{
    base(c);
    chk_log_append(c, 1, false, 1, 1, T2, VB);
    return chk_leader_complete(c, 1, chk_must_hold(c, 2), 0, false);
}

static int sm_safety_apply(struct chk *c)
{
    base(c);
    return chk_apply(c, 1, 1, VB[0]);
}

static int sm_safety_commit(struct chk *c)
{
    base(c);
    chk_log_append(c, 1, false, 1, 2, T2, VB);
    return chk_commit(c, 1, 2, 2, false);
}

static int sm_safety_snapshot(struct chk *c)
{
    base(c);
    return chk_sm_reset(c, 1, 2, 12345);
}

static int sm_safety_overwrite(struct chk *c)
{
    base(c);
    chk_log_append(c, 1, false, 1, 2, T1, VA);
    return chk_log_append(c, 1, false, 2, 1, T2, VB); /* drops committed (2, term 1) */
}

static int linearizability(struct chk *c)
{
    base(c);
    return chk_read(c, 1, 2, 1);
}

int chk_selftest(void)
{
    static const struct {
        const char *name;
        int (*fn)(struct chk *);
    } cases[] = {
        {"Election Safety", election_safety},
        {"Log Matching", log_matching},
        {"Leader Append-Only", leader_append_only},
        {"monotonic commit", monotonic_commit},
        {"Leader Completeness", leader_completeness},
        {"State Machine Safety (apply)", sm_safety_apply},
        {"State Machine Safety (commit)", sm_safety_commit},
        {"State Machine Safety (snapshot)", sm_safety_snapshot},
        {"State Machine Safety (overwrite)", sm_safety_overwrite},
        {"Linearizability", linearizability},
    };
    int missed = 0;
    struct chk *c = chk_new();
    if (valid(c) != 0) {
        fprintf(stderr, "selftest: a valid history was flagged: %s\n", chk_error(c));
        missed++;
    }
    chk_free(c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = chk_new();
        if (cases[i].fn(c) == 0) {
            fprintf(stderr, "selftest: broken %s not flagged\n", cases[i].name);
            missed++;
        }
        chk_free(c);
    }
    return missed;
}
