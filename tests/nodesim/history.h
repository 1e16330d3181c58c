/*
 * tests/nodesim/history.h - what the simulated clients did, and the check
 * that it is linearizable.
 *
 * Every key is a register written with unique values (value 0 = absent).
 * An operation has an invocation and a response time (virtual) and an
 * outcome: a write answered +OK happened; one answered with an error that
 * proves it was not proposed (-MOVED, -CLUSTERDOWN, -NOCLUSTER, -TRYAGAIN)
 * did not; one answered -TIMEOUT, or whose node died first, may or may not
 * have happened (its response time is then "never"). A read answered with
 * a value is checked; a failed read tells nothing.
 *
 * The check, per key, for unique-valued registers (the same rules as the
 * checker of tests/chaos):
 *   - a read returns a value some write wrote, and not before that write
 *     began;
 *   - no read returns a value that an acknowledged write had overwritten
 *     before the read began (the overwriting write began after the first
 *     ended and ended before the read began): a stale read, or a lost
 *     acknowledged write;
 *   - no two reads go back in time: if r1 ends before r2 begins, r2 does
 *     not return a value whose write ended before r1's value's write began.
 */
#ifndef NODESIM_HISTORY_H
#define NODESIM_HISTORY_H

#include <stdint.h>

#define H_NEVER INT64_MAX

enum h_kind { H_WRITE, H_READ };
enum h_outcome { H_OK, H_FAILED, H_UNKNOWN };

struct h_op {
    enum h_kind kind;
    int key;
    uint64_t value; /* written, or read (0: absent) */
    int64_t inv, resp;
    enum h_outcome outcome;
    int client;
};

struct history {
    struct h_op *ops;
    int n, cap;
};

/* Appends an invoked operation; returns its index. */
int h_invoke(struct history *h, enum h_kind kind, int key, uint64_t value, int64_t at, int client);
/* Its response. */
void h_respond(struct history *h, int op, enum h_outcome outcome, uint64_t value, int64_t at);
/* 0, or -1 with the first violation described in err. */
int h_check(const struct history *h, int n_keys, char *err, size_t errlen);
void h_free(struct history *h);
/* Hand-made histories, valid and each broken in one of the ways above,
 * through h_check: the number it judged wrongly (0: the check works). */
int h_selftest(void);

#endif
