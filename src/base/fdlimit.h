/*
 * src/base/fdlimit.h - fitting the process's descriptor limit (RLIMIT_NOFILE) to
 * the number of clients the server is asked to hold, as Redis does at start
 * and on CONFIG SET maxclients.
 *
 * The server needs one descriptor per client connection plus `reserved` for
 * itself (listeners, log, SQLite files, snapshot files, peer links: the
 * caller counts them). fdlimit_fit() raises the soft limit toward
 * maxclients + reserved: up to the hard limit, and past it when the process
 * may raise the hard limit too (CAP_SYS_RESOURCE). It never lowers a limit.
 * When the limit cannot reach that far, it reports how many clients fit.
 *
 * No logging here: the caller words the warnings (it knows the directive).
 */
#ifndef FDLIMIT_H
#define FDLIMIT_H

#include <stdint.h>

/* Assumed when getrlimit() fails, as Redis assumes. */
#define FDLIMIT_ASSUMED 1024

struct fdlimit_fit {
    uint64_t wanted;      /* maxclients + reserved */
    uint64_t old_limit;   /* soft limit before the call */
    uint64_t limit;       /* soft limit after the call */
    long long maxclients; /* clients that fit: the asked number, or fewer (may be <= 0) */
    int getrlimit_failed; /* the limit is unknown: FDLIMIT_ASSUMED was used */
    int raise_errno;      /* why the limit could not reach `wanted` (0: it did) */
};

/*
 * Raises RLIMIT_NOFILE's soft limit toward maxclients + reserved (both > 0)
 * and fills *out. Returns 0 when maxclients fit (out->limit >= wanted; the
 * limit changed iff out->limit != out->old_limit), 1 when only
 * out->maxclients < maxclients clients fit (out->maxclients <= 0: not even the
 * reserved descriptors fit, the server cannot run).
 */
int fdlimit_fit(long long maxclients, long long reserved, struct fdlimit_fit *out);

#endif
