/*
 * src/base/instmetric.c - sampled rates of counters (see instmetric.h).
 */
#include "base/instmetric.h"

#include "raft/raft_assert.h"

void instmetric_sample(struct instmetric *m, int64_t now_ms, uint64_t value)
{
    if (m->primed && now_ms - m->last_ms < INSTMETRIC_PERIOD_MS) return;
    if (m->primed) {
        int64_t dt_ms = now_ms - m->last_ms;
        ASSERT(dt_ms > 0);
        uint64_t delta = value >= m->last_value ? value - m->last_value : 0;
        m->rates[m->next] = (double)delta * 1000.0 / (double)dt_ms;
        m->next = (m->next + 1) % INSTMETRIC_SAMPLES;
    }
    m->primed = 1;
    m->last_ms = now_ms;
    m->last_value = value;
}

double instmetric_rate(const struct instmetric *m)
{
    double sum = 0;
    for (unsigned i = 0; i < INSTMETRIC_SAMPLES; i++)
        sum += m->rates[i];
    return sum / INSTMETRIC_SAMPLES;
}
