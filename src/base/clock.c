/*
 * src/base/clock.c - the system's clocks (see clock.h).
 */
#include <time.h>

#include "base/clock.h"

static int64_t read_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_us(void)
{
    return read_us(CLOCK_REALTIME);
}

int64_t clock_ms(void)
{
    return clock_us() / 1000;
}

int64_t clock_mono_us(void)
{
    return read_us(CLOCK_MONOTONIC);
}
