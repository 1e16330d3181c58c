/*
 * tests/fuzz/fuzz_snapshot.c - libFuzzer target for the snapshot file reader
 * (src/sm/snapshot.c: snapshot_verify(), snapshot_load()).
 *
 * The input becomes the whole snapshot file. Properties: no crash, memory
 * bounded by the file (libFuzzer's -malloc_limit_mb catches an allocation
 * sized by a corrupt length), verify and load give the same verdict and the
 * same header, a refusal names the problem, and an accepted file loads at
 * most key_count keys. Byte 0 of the input selects a mode: when its low bit
 * is set the trailer's checksum is recomputed over the rest first (with the
 * algorithm the header's version names), so that the fuzzer reaches the
 * record checks instead of stopping at the checksum; the file is the input
 * from byte 1 on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/checksum.h"
#include "types/typetable.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "sm/snapshot.h"

#define FUZZ_DBS 3 /* the databases a file's records may name: 0, 1 and 2 */

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Puts the right checksum for the header's version into the trailer. */
static void fix_checksum(uint8_t *f, size_t n)
{
    if (n < SNAPSHOT_HEADER_LEN + SNAPSHOT_TRAILER_LEN) return;
    size_t body = n - SNAPSHOT_TRAILER_LEN;
    uint64_t sum;
    if (f[8] == 1) { /* version 1: FNV-1a 64 */
        sum = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < body; i++)
            sum = (sum ^ f[i]) * 0x100000001b3ull;
    } else {
        struct checksum c;
        checksum_init(&c);
        checksum_update(&c, f, body);
        sum = checksum_final(&c);
    }
    wr64(f + body + 8, sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-snapshot", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (size < 1) return 0;
    size_t n = size - 1;
    uint8_t *file = malloc(n ? n : 1);
    if (!file) abort();
    memcpy(file, data + 1, n);
    if (data[0] & 1) fix_checksum(file, n);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, file, n, 0) != (ssize_t)n) abort();
    free(file);

    struct snapshot_header hv = {0}, hl = {0};
    char ev[512] = "", el[512] = "";
    int rv = snapshot_verify(path, type_table, FUZZ_DBS, &hv, ev, sizeof ev);
    struct kv_dbs dbs;
    kv_dbs_init(&dbs, type_table, FUZZ_DBS, 1);
    int rl = snapshot_load(path, dbs.db, dbs.n, NULL, &hl, el, sizeof el);
    if (rv != rl || (rv == 0 && memcmp(&hv, &hl, sizeof hv) != 0)) {
        fprintf(stderr, "fuzz_snapshot: verify said %d (%s), load said %d (%s)\n", rv, ev, rl, el);
        abort();
    }
    if (rv != 0 && (!ev[0] || !el[0])) abort();
    if (rv == 0 && kv_dbs_size(&dbs) > hl.key_count) abort();
    kv_dbs_free(&dbs);
    return 0;
}
