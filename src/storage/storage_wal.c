/*
 * src/storage/storage_wal.c - checks SQLite's WAL file by hand, before SQLite opens
 * it. Contract and the format it follows: storage_wal.h.
 */
#include "storage/storage_wal.h"
#include "raft/raft_assert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define WAL_HDR_BYTES 32
#define WAL_FRAME_HDR_BYTES 24
#define WAL_MAGIC_LE 0x377f0682u /* checksums over little-endian words */
#define WAL_MAGIC_BE 0x377f0683u /* checksums over big-endian words */
#define WAL_PAGE_MAX 65536

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* SQLite's WAL checksum: over pairs of 32-bit words, continuing from s[0..1].
 * n is a multiple of 8. */
static void wal_sum(bool big, const uint8_t *p, size_t n, uint32_t s[2])
{
    ASSERT(n % 8 == 0);
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint32_t x0 = big ? be32(p + i) : le32(p + i);
        uint32_t x1 = big ? be32(p + i + 4) : le32(p + i + 4);
        s[0] += x0 + s[1];
        s[1] += x1 + s[0];
    }
}

bool storage_wal_damaged(const struct storage_wal_report *r)
{
    return r->present && ((r->header_bad && r->frames > 0) || r->lost > 0);
}

/* Checks the header; on success *page and salt[8] are set, s the running checksum. */
static bool header_ok(const uint8_t *h, bool *big, uint32_t *page, uint8_t salt[8], uint32_t s[2])
{
    uint32_t magic = be32(h);
    if (magic != WAL_MAGIC_LE && magic != WAL_MAGIC_BE) return false;
    *big = magic == WAL_MAGIC_BE;
    uint32_t ps = be32(h + 8);
    if (ps == 1) ps = WAL_PAGE_MAX;
    if (ps < 512 || ps > WAL_PAGE_MAX || (ps & (ps - 1)) != 0) return false;
    *page = ps;
    s[0] = s[1] = 0;
    wal_sum(*big, h, 24, s);
    if (s[0] != be32(h + 24) || s[1] != be32(h + 28)) return false;
    memcpy(salt, h + 16, 8);
    return true;
}

/* Walks the frames of an open WAL whose header is good. */
static int scan_frames(FILE *f, bool big, uint32_t page, const uint8_t salt[8], uint32_t s[2],
                       struct storage_wal_report *r)
{
    ASSERT(page >= 512 && page <= WAL_PAGE_MAX && (page & (page - 1)) == 0); /* header_ok() */
    uint8_t *buf = malloc(WAL_FRAME_HDR_BYTES + (size_t)page);
    if (!buf) return -1;
    uint64_t last_commit = 0;
    while (fread(buf, 1, WAL_FRAME_HDR_BYTES + (size_t)page, f) ==
           WAL_FRAME_HDR_BYTES + (size_t)page) {
        r->frames++;
        bool salts = memcmp(buf + 8, salt, 8) == 0;
        bool commit = be32(buf + 4) != 0;
        if (r->first_bad) { /* past the end SQLite sees: only count */
            r->lost += salts;
            r->lost_commits += salts && commit;
            continue;
        }
        wal_sum(big, buf, 8, s);
        wal_sum(big, buf + WAL_FRAME_HDR_BYTES, page, s);
        if (!salts || be32(buf + 16) != s[0] || be32(buf + 20) != s[1]) {
            r->first_bad = r->frames;
            r->torn = salts;
            continue;
        }
        if (commit) last_commit = r->frames;
    }
    r->kept = last_commit;
    ASSERT(r->kept <= r->frames && (r->first_bad == 0 || r->kept < r->first_bad));
    free(buf);
    return 0;
}

int storage_wal_check(const char *db_path, struct storage_wal_report *r, char *err, size_t errlen)
{
    char path[4200];
    memset(r, 0, sizeof *r);
    if (util_path_suffixed(path, sizeof path, db_path, "-wal") != 0) {
        snprintf(err, errlen, "%s-wal: path too long", db_path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t h[WAL_HDR_BYTES], salt[8];
    uint32_t page = 0, s[2];
    bool big = false;
    int rc = 0;
    if (fread(h, 1, sizeof h, f) == sizeof h) {
        r->present = true;
        if (header_ok(h, &big, &page, salt, s)) {
            rc = scan_frames(f, big, page, salt, s, r);
        } else {
            r->header_bad = true;
            if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > WAL_HDR_BYTES + WAL_FRAME_HDR_BYTES)
                r->frames = 1; /* at least part of a frame: something was written */
        }
    }
    if (rc == 0 && ferror(f)) rc = -1;
    if (rc) snprintf(err, errlen, "%s: read error or out of memory", path);
    fclose(f);
    return rc;
}

int storage_wal_keep_copy(const char *db_path, char *err, size_t errlen)
{
    char from[4200], to[4200];
    if (util_path_suffixed(from, sizeof from, db_path, "-wal") != 0 ||
        util_path_suffixed(to, sizeof to, db_path, "-wal.damaged") != 0) {
        snprintf(err, errlen, "%s-wal.damaged: path too long", db_path);
        return -1;
    }
    FILE *in = fopen(from, "rb");
    FILE *out = in ? fopen(to, "wb") : NULL;
    int rc = in && out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    if (rc == 0 && (ferror(in) || fflush(out) != 0)) rc = -1;
    if (rc) snprintf(err, errlen, "copying %s to %s: %s", from, to, strerror(errno));
    if (in) fclose(in);
    if (out && fclose(out) != 0) rc = -1;
    return rc;
}
