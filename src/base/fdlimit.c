/*
 * src/base/fdlimit.c - RLIMIT_NOFILE fitted to maxclients (see fdlimit.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "base/fdlimit.h"

/* Sets the soft limit to n, and the hard limit too when it is below n (only
 * a privileged process may raise it). Returns 0 or an errno. */
static int set_soft(struct rlimit rl, uint64_t n)
{
    rl.rlim_cur = (rlim_t)n;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)n) rl.rlim_max = (rlim_t)n;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : errno;
}

int fdlimit_fit(long long maxclients, long long reserved, struct fdlimit_fit *out)
{
    memset(out, 0, sizeof *out);
    out->wanted = (uint64_t)maxclients + (uint64_t)reserved;
    out->maxclients = maxclients;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        out->getrlimit_failed = 1;
        out->raise_errno = errno;
        out->old_limit = out->limit = FDLIMIT_ASSUMED;
        if (out->limit >= out->wanted) return 0;
    } else {
        out->old_limit = out->limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
        if (out->limit >= out->wanted) return 0;
        out->raise_errno = set_soft(rl, out->wanted);
        if (out->raise_errno == 0) {
            out->limit = out->wanted;
            return 0;
        }
        /* Not privileged: as far as the hard limit goes. */
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max > rl.rlim_cur &&
            set_soft(rl, rl.rlim_max) == 0)
            out->limit = rl.rlim_max;
    }
    out->maxclients = (long long)out->limit - reserved;
    return 1;
}
