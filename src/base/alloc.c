/*
 * src/base/alloc.c - the allocator's counters, name and purge (see alloc.h):
 * jemalloc's mallctl interface in the normal build, AddressSanitizer's
 * statistics in the sanitizer builds.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOC_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(ALLOC_ASAN)
#define ALLOC_ASAN 1
#endif

#if defined(RAFTCACHE_JEMALLOC) && defined(ALLOC_ASAN)
#error "AddressSanitizer brings its own allocator: build it with MALLOC=libc (make asan)"
#elif defined(RAFTCACHE_JEMALLOC)
#include <jemalloc/jemalloc.h>
#elif defined(ALLOC_ASAN)
#if __has_include(<sanitizer/allocator_interface.h>)
#include <sanitizer/allocator_interface.h>
#else /* gcc ships the runtime but not always its headers */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif
#else
#error "raftcache is linked with jemalloc (MALLOC=jemalloc), or MALLOC=libc with AddressSanitizer"
#endif

#ifdef RAFTCACHE_JEMALLOC

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* One size_t statistic; jemalloc without --enable-stats has none, and a
 * used_memory of 0 would silently turn maxmemory off: stop instead. */
static size_t stat_read(const char *name)
{
    size_t v = 0, sz = sizeof v;
    if (mallctl(name, &v, &sz, NULL, 0) != 0) {
        fprintf(stderr, "jemalloc gives no '%s': it must be built with statistics\n", name);
        abort();
    }
    return v;
}

void alloc_read_stats(struct alloc_stats *st)
{
    /* The stats.* values are a copy taken when the epoch advances. */
    uint64_t epoch = 1;
    size_t sz = sizeof epoch;
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    st->allocated = stat_read("stats.allocated");
    st->active = stat_read("stats.active");
    st->resident = stat_read("stats.resident");
    st->has_pages = 1;
}

/* Each tracked thread's jemalloc counters (thread.allocatedp and
 * thread.deallocatedp): 64-bit words its own allocations update, which
 * other threads read without a lock (aligned 64-bit loads are whole on the
 * platforms jemalloc builds for; a reading a few bytes old is fine).
 * Registration takes the lock and publishes the count last. */
static struct {
    const uint64_t *allocated, *deallocated;
} tracked[ALLOC_THREADS_MAX];
static unsigned n_tracked;
static pthread_mutex_t track_mu = PTHREAD_MUTEX_INITIALIZER;

static void *thread_counter(const char *name)
{
    uint64_t *p = NULL;
    size_t sz = sizeof p;
    if (mallctl(name, &p, &sz, NULL, 0) != 0 || !p) {
        fprintf(stderr, "jemalloc gives no '%s': it must be built with statistics\n", name);
        abort();
    }
    return p;
}

void alloc_track_thread(void)
{
    pthread_mutex_lock(&track_mu);
    unsigned i = __atomic_load_n(&n_tracked, __ATOMIC_RELAXED);
    if (i == ALLOC_THREADS_MAX) {
        fprintf(stderr, "more than %d threads allocate\n", ALLOC_THREADS_MAX);
        abort();
    }
    tracked[i].allocated = thread_counter("thread.allocatedp");
    tracked[i].deallocated = thread_counter("thread.deallocatedp");
    __atomic_store_n(&n_tracked, i + 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&track_mu);
}

/* The main thread (which runs constructors) is tracked before main(). */
__attribute__((constructor)) static void track_main_thread(void)
{
    alloc_track_thread();
}

size_t alloc_used(void)
{
    unsigned n = __atomic_load_n(&n_tracked, __ATOMIC_ACQUIRE);
    /* One thread may free what another allocated: only the sum means
     * anything, and it is never negative while every allocating thread is
     * tracked. */
    uint64_t in = 0, out = 0;
    for (unsigned i = 0; i < n; i++) {
        in += __atomic_load_n(tracked[i].allocated, __ATOMIC_RELAXED);
        out += __atomic_load_n(tracked[i].deallocated, __ATOMIC_RELAXED);
    }
    return in > out ? (size_t)(in - out) : 0;
}

void alloc_name(char *buf, size_t cap)
{
    /* "5.3.0-0-g<commit>": the release is what precedes the first '-'. */
    const char *version = NULL;
    size_t sz = sizeof version;
    if (mallctl("version", &version, &sz, NULL, 0) != 0 || !version) version = "unknown";
    snprintf(buf, cap, "jemalloc-%.*s", (int)strcspn(version, "-"), version);
}

size_t alloc_size_class(size_t n)
{
    return n ? nallocx(n, 0) : 0;
}

int alloc_stats_print(void (*write)(void *ud, const char *text), void *ud)
{
    malloc_stats_print(write, ud, NULL);
    return 0;
}

int alloc_purge(void)
{
    return mallctl("arena." STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0) == 0 ? 0
                                                                                              : -1;
}

#else /* AddressSanitizer */

void alloc_read_stats(struct alloc_stats *st)
{
    *st = (struct alloc_stats){.allocated = __sanitizer_get_current_allocated_bytes()};
}

size_t alloc_used(void)
{
    return __sanitizer_get_current_allocated_bytes();
}

void alloc_track_thread(void) {}

void alloc_name(char *buf, size_t cap)
{
    snprintf(buf, cap, "libc");
}

size_t alloc_size_class(size_t n)
{
    return n;
}

int alloc_stats_print(void (*write)(void *ud, const char *text), void *ud)
{
    (void)write, (void)ud;
    return -1;
}

int alloc_purge(void)
{
    return 0;
}

#endif

size_t alloc_block_size(void *p)
{
    return p ? malloc_usable_size(p) : 0;
}
