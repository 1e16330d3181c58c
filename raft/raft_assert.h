/*
 * raft/raft_assert.h - ASSERT, the project's one assertion macro (raft/,
 * resp/ and src/ all use it; it is libc only and header-only, so the pure
 * libraries stay free of anything else).
 *
 * ASSERT(cond) states what must hold: a core precondition (a role, the order
 * of log indexes), a driver invariant, a buffer bound. Unlike <assert.h> it
 * stays compiled in every build, NDEBUG or not: a node that finds its own
 * state impossible prints where and stops (abort(), so a core dump or the
 * sanitizer's report follows) rather than serving wrong data or replicating
 * a corrupt log. It is for programmer errors only: bad input, a failing disk
 * or a dead peer are errors handled by policy, never assertions.
 *
 * ASSERT_UNREACHABLE(what) marks a branch no valid state reaches (an
 * unknown enum value, the end of a switch over all of them).
 */
#ifndef RAFT_ASSERT_H
#define RAFT_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, cold)) static inline void assert_failed(const char *what, const char *file,
                                                                 int line, const char *func)
{
    fprintf(stderr, "ASSERTION FAILED: %s (%s:%d, %s)\n", what, file, line, func);
    fflush(stderr);
    abort();
}

#define ASSERT(cond) ((cond) ? (void)0 : assert_failed(#cond, __FILE__, __LINE__, __func__))
#define ASSERT_UNREACHABLE(what) assert_failed(what, __FILE__, __LINE__, __func__)

#endif
