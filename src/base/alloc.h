/*
 * src/base/alloc.h - what the memory allocator says: the bytes the process holds,
 * the pages they occupy, the allocator's name, and a request to give unused
 * pages back to the system. The only module that knows which allocator the
 * server is linked with.
 *
 * Two builds (the Makefile's MALLOC variable):
 *   jemalloc  the normal build (RAFTCACHE_JEMALLOC defined, -ljemalloc).
 *             Debian's jemalloc has no symbol prefix: it replaces malloc,
 *             free, realloc and malloc_usable_size for the whole process,
 *             libraries included. Its size classes (8, 16, 24, 32, 48, ...)
 *             without a per-block header fit the keyspace's many small
 *             blocks (dict entries, value headers) better than glibc's
 *             8-byte header and 16-byte rounding: a 29-byte entry takes 32
 *             bytes instead of 48.
 *   libc      the sanitizer builds (make asan, make fuzz): AddressSanitizer
 *             replaces malloc with its own allocator, which reports only
 *             the bytes in use. A non-sanitizer build without jemalloc is
 *             refused at compile time: its figures would be guesses.
 */
#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>

/* A reading of the allocator's counters, all in bytes. */
struct alloc_stats {
    size_t allocated; /* handed out to the program and not freed: used_memory */
    /* The next two are known only with jemalloc (has_pages 1); else 0. */
    size_t active;   /* in pages that hold allocations: allocated plus the
                      * unused room inside those pages (fragmentation) */
    size_t resident; /* the allocator's pages in RAM: active, dirty pages
                      * not yet returned, and the allocator's own metadata */
    int has_pages;
};

/* Reads the counters as of now (with jemalloc, after advancing its stats
 * epoch, which costs a merge of every arena's statistics: callers cache).
 * A jemalloc built without statistics is a build error: it aborts. */
void alloc_read_stats(struct alloc_stats *st);

/*
 * The bytes the program holds now, as the program sees them: what it
 * allocated (usable sizes) minus what it freed, summed over the threads
 * that allocate (the main thread and those that called alloc_track_thread).
 * This is Redis's used_memory (its zmalloc counter); it is exact and costs
 * a few loads, where alloc_read_stats() merges arena statistics: the
 * maxmemory check reads it before every write. It leaves out blocks in the
 * allocator's thread caches (allocated for the allocator, free for the
 * program) and its metadata, which alloc_read_stats() sees.
 * With AddressSanitizer: its allocated-bytes figure.
 */
size_t alloc_used(void);
/* Counts the calling thread's allocations in alloc_used() from now on.
 * Every thread that allocates or frees must call it once, first thing, and
 * live as long as the process (its counters are read by other threads); the
 * main thread is tracked before main() runs. At most ALLOC_THREADS_MAX
 * threads; more abort. */
#define ALLOC_THREADS_MAX 8
void alloc_track_thread(void);

/* The bytes the block at p really holds (malloc_usable_size). */
size_t alloc_block_size(void *p);

/* The allocator's name as INFO's mem_allocator shows it: "jemalloc-X.Y.Z"
 * (the version of the library actually loaded) or "libc". Writes a
 * NUL-terminated string of at most cap - 1 bytes into buf. */
void alloc_name(char *buf, size_t cap);

/* The usable size a malloc(n) would get: the allocator's size class of n
 * (jemalloc's nallocx), n itself without jemalloc. Lets a caller keep an
 * allocation it could reuse only when a fresh one would be no smaller. */
size_t alloc_size_class(size_t n);

/* MEMORY MALLOC-STATS: jemalloc's statistics report (malloc_stats_print),
 * handed to write piece by piece. Returns 0, or -1 without jemalloc (no
 * report: write is not called). */
int alloc_stats_print(void (*write)(void *ud, const char *text), void *ud);

/* Asks the allocator to return the unused (dirty) pages of every arena to
 * the system at once rather than after its decay time (MEMORY PURGE).
 * Returns 0, or -1 if the allocator refused; without jemalloc there is
 * nothing to do and it returns 0. */
int alloc_purge(void);

#endif
