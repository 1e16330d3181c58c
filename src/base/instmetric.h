/*
 * src/base/instmetric.h - a rate over the last samples of a growing counter,
 * as Redis's instantaneous_ops_per_sec and instantaneous_*_kbps are made:
 * the cron samples the counter every INSTMETRIC_PERIOD_MS and the rate is
 * the mean, per second, of the last INSTMETRIC_SAMPLES intervals' rates.
 *
 * Pure: the caller passes the time (ms of a monotonic clock) and the
 * counter's value; nothing is read or allocated here.
 */
#ifndef INSTMETRIC_H
#define INSTMETRIC_H

#include <stdint.h>

#define INSTMETRIC_SAMPLES 16
#define INSTMETRIC_PERIOD_MS 100

struct instmetric {
    int primed;                       /* a first sample was taken */
    int64_t last_ms;                  /* the previous sample's time */
    uint64_t last_value;              /* the counter then */
    double rates[INSTMETRIC_SAMPLES]; /* per second, a ring */
    unsigned next;                    /* the ring's slot written next */
};

/* Takes a sample of the counter `value` at now_ms, if INSTMETRIC_PERIOD_MS
 * or more passed since the last one (the first call only records). A
 * counter that went backwards (CONFIG RESETSTAT) counts as 0 for that
 * interval. */
void instmetric_sample(struct instmetric *m, int64_t now_ms, uint64_t value);

/* The mean per-second rate over the ring (0 until samples were taken). */
double instmetric_rate(const struct instmetric *m);

#endif
