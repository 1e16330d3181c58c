/*
 * src/base/clock.h - the clocks the server reads, and nothing else: one file
 * (src/base/clock.c) the node simulator (tests/sim) replaces with its virtual
 * clock, so that every timeout, deadline and timestamp of the code under
 * test follows simulated time.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* Wall-clock time (CLOCK_REALTIME) since the Unix epoch: for expiry
 * timestamps and INFO. It can jump; measure intervals with clock_mono_us(). */
int64_t clock_ms(void);
int64_t clock_us(void);
/* Microseconds of CLOCK_MONOTONIC from an arbitrary origin: for budgets and
 * timeouts inside one process. */
int64_t clock_mono_us(void);

#endif
