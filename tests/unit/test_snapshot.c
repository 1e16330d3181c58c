/*
 * tests/unit/test_snapshot.c - the snapshot file (src/sm/snapshot.c): a write
 * and load round trip keeps binary keys, binary values and absolute
 * expiries; a truncated, bit-flipped or foreign file is refused with a
 * message saying what is wrong; version 1 and 2 files (older builds,
 * strings only) still load; chunked copying (leader -> follower)
 * reproduces the file; publishing replaces snapshot.rcs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/checksum.h"
#include "types/typetable.h"
#include "keyspace/dbs.h"
#include "keyspace/kv.h"
#include "ds/quicklist.h"
#include "ql_check.h"
#include "sm/snapshot.h"

/* One database, as the snapshot functions take them: an array and its length. */
#define ONE(db) (struct kv *[]){db}, 1

#define NKEYS 2000
#define T_EXPIRE 1700000000000LL

struct fx {
    char dir[64];
    char path[128];
    struct kv_common kvc; /* the settings, stats and hooks of kv */
    struct kv kv;
    char err[512];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_snapshot.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/snap.tmp", f->dir);
    kv_common_init(&f->kvc, type_table, 7);
    kv_init(&f->kv, &f->kvc, 0, 7);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    kv_free(&f->kv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Key i: binary (NUL and 0xff inside), varying lengths; value i likewise,
 * some empty; every third key has an expiry, one already in the past. */
static size_t make_key(int i, char *buf)
{
    int n = snprintf(buf, 64, "k%c%d\xff", 0, i);
    return (size_t)n;
}

static size_t make_val(int i, char *buf)
{
    size_t n = (size_t)(i % 7) * 37;
    for (size_t k = 0; k < n; k++)
        buf[k] = (char)(((size_t)i + k) & 0xff);
    return n;
}

static int64_t make_expire(int i)
{
    return i % 3 == 0 ? T_EXPIRE + i : (i == 1 ? 5 : KV_NO_EXPIRE);
}

static void fill(struct kv *kv)
{
    char key[64], val[512];
    for (int i = 0; i < NKEYS; i++)
        kv_set(kv, key, make_key(i, key), val, make_val(i, val), make_expire(i), 0);
}

static void write_file(struct fx *f)
{
    fill(&f->kv);
    assert_int_equal(snapshot_write(f->path, ONE(&f->kv), NULL, 1234, 7, f->err, sizeof f->err), 0);
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    write_file(f);
    struct kv_common back_common;
    struct kv back;
    kv_common_init(&back_common, type_table, 9);
    kv_init(&back, &back_common, 0, 9);
    struct snapshot_header h;
    assert_int_equal(snapshot_load(f->path, ONE(&back), NULL, &h, f->err, sizeof f->err), 0);
    assert_int_equal(h.index, 1234);
    assert_int_equal(h.term, 7);
    assert_int_equal(h.key_count, NKEYS);
    assert_int_equal(kv_size(&back), NKEYS);
    char key[64], val[512];
    for (int i = 0; i < NKEYS; i++) {
        size_t kl = make_key(i, key), vl = make_val(i, val);
        /* Physically present even when expired (kv_physically_exists). */
        assert_true(kv_physically_exists(&back, key, kl));
        struct kv_val *v = kv_lookup_read(&back, key, kl, 0);
        assert_non_null(v);
        assert_int_equal(v->len, vl);
        assert_memory_equal(v->data, val, vl);
        assert_int_equal(v->expire_ms, make_expire(i));
    }
    assert_int_equal(kv_volatile_count(&back), kv_volatile_count(&f->kv));
    kv_free(&back);
}

static void test_empty_keyspace(void **state)
{
    struct fx *f = *state;
    assert_int_equal(snapshot_write(f->path, ONE(&f->kv), NULL, 0, 0, f->err, sizeof f->err), 0);
    /* Header, the end of the (empty) state records, trailer. */
    assert_int_equal(file_size(f->path), SNAPSHOT_HEADER_LEN + 9 + SNAPSHOT_TRAILER_LEN);
    struct snapshot_header h;
    assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err), 0);
    assert_int_equal(h.key_count, 0);
}

static void expect_refused(struct fx *f, const char *needle)
{
    struct kv_common back_common;
    struct kv back;
    kv_common_init(&back_common, type_table, 1);
    kv_init(&back, &back_common, 0, 1);
    struct snapshot_header h;
    f->err[0] = 0;
    int rc = snapshot_load(f->path, ONE(&back), NULL, &h, f->err, sizeof f->err);
    kv_free(&back);
    assert_int_equal(rc, SNAPSHOT_EBADFILE);
    if (!strstr(f->err, needle)) fail_msg("error '%s' does not mention '%s'", f->err, needle);
    assert_non_null(strstr(f->err, f->path));
    assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err),
                     SNAPSHOT_EBADFILE);
}

static void test_truncated(void **state)
{
    struct fx *f = *state;
    write_file(f);
    uint64_t size = file_size(f->path);
    const uint64_t cuts[] = {0,
                             7,
                             SNAPSHOT_HEADER_LEN,
                             SNAPSHOT_HEADER_LEN + 5,
                             size / 2,
                             size - SNAPSHOT_TRAILER_LEN,
                             size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        assert_int_equal(truncate(f->path, (off_t)cuts[i]), 0);
        /* Wherever the cut, it is named: truncated, runs past the end, or
         * bytes missing before the trailer. */
        struct snapshot_header h;
        assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err),
                         SNAPSHOT_EBADFILE);
        if (!strstr(f->err, "truncated") && !strstr(f->err, "corrupt"))
            fail_msg("cut at %llu: '%s'", (unsigned long long)cuts[i], f->err);
        assert_int_equal(snapshot_write(f->path, ONE(&f->kv), NULL, 1234, 7, f->err, sizeof f->err),
                         0);
    }
    assert_int_equal(truncate(f->path, (off_t)(size - 1)), 0);
    expect_refused(f, "truncated");
}

static void flip(const char *path, uint64_t at)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
    fputc(c ^ 0x10, fp);
    fclose(fp);
}

static void test_flipped_byte(void **state)
{
    struct fx *f = *state;
    write_file(f);
    uint64_t size = file_size(f->path);
    /* A value byte, a key byte deep inside, the stored checksum: all caught
     * by the checksum (or, for lengths, by the bounds checks). */
    const uint64_t at[] = {size / 2, size / 3, size - 1, SNAPSHOT_HEADER_LEN + 20};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        flip(f->path, at[i]);
        struct snapshot_header h;
        assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err),
                         SNAPSHOT_EBADFILE);
        flip(f->path, at[i]);
        assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err), 0);
    }
    /* Any byte after the header, refused as corrupt whatever it held (a
     * type, a length, data or the checksum): every byte of the first
     * records, then bytes spread over the rest. */
    for (uint64_t at_byte = SNAPSHOT_HEADER_LEN; at_byte < size;
         at_byte += at_byte < SNAPSHOT_HEADER_LEN + 4096 ? 1 : size / 256 + 1) {
        flip(f->path, at_byte);
        struct snapshot_header h;
        assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err),
                         SNAPSHOT_EBADFILE);
        if (!strstr(f->err, "corrupt"))
            fail_msg("byte %llu flipped: '%s'", (unsigned long long)at_byte, f->err);
        flip(f->path, at_byte);
    }
    /* Inside the last value (before the 9-byte end of the state records):
     * only the checksum sees it. */
    flip(f->path, size - SNAPSHOT_TRAILER_LEN - 9 - 4);
    expect_refused(f, "checksum mismatch");
}

static void test_wrong_magic_and_version(void **state)
{
    struct fx *f = *state;
    write_file(f);
    flip(f->path, 0);
    expect_refused(f, "not a raftcache snapshot");
    flip(f->path, 0);
    flip(f->path, 8); /* version 5 -> 21 */
    expect_refused(f, "version 21");
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    static const char foreign[] = "SQLite format 3\0 and then enough bytes to pass the size check";
    assert_int_equal(fwrite(foreign, 1, sizeof foreign, fp), sizeof foreign);
    fclose(fp);
    expect_refused(f, "not a raftcache snapshot");
    struct snapshot_header h;
    unlink(f->path);
    assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err),
                     SNAPSHOT_ENOENT);
}

/* Files of versions 1 (FNV-1a 64 checksum) and 2 (src/base/checksum.h), with
 * their string-only records, written by older builds, still verify and
 * load; a damaged one is still refused. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The file an older build wrote for fill()'s keyspace. */
static void write_old_file(struct fx *f, uint32_t version)
{
    size_t cap = 1 << 22, len = 0;
    unsigned char *b = malloc(cap);
    assert_non_null(b);
    memcpy(b, "RCSNAP\r\n", 8);
    put_le(b + 8, version, 4);
    put_le(b + 12, 0, 4);
    put_le(b + 16, 1234, 8);
    put_le(b + 24, 7, 8);
    put_le(b + 32, NKEYS, 8);
    len = SNAPSHOT_HEADER_LEN;
    char key[64], val[512];
    for (int i = 0; i < NKEYS; i++) {
        size_t kl = make_key(i, key), vl = make_val(i, val);
        put_le(b + len, kl, 4);
        put_le(b + len + 4, vl, 4);
        put_le(b + len + 8, (uint64_t)make_expire(i), 8);
        memcpy(b + len + 16, key, kl);
        memcpy(b + len + 16 + kl, val, vl);
        len += 16 + kl + vl;
        assert_true(len + 1024 < cap);
    }
    uint64_t h;
    if (version == 1) {
        h = fnv1a(0xcbf29ce484222325ULL, b, len);
    } else {
        struct checksum c;
        checksum_init(&c);
        checksum_update(&c, b, len);
        h = checksum_final(&c);
    }
    memcpy(b + len, "RCSNEND\n", 8);
    put_le(b + len + 8, h, 8);
    len += SNAPSHOT_TRAILER_LEN;
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    fclose(fp);
    free(b);
}

static void test_old_versions_load(void **state)
{
    struct fx *f = *state;
    for (uint32_t version = 1; version <= 2; version++) {
        write_old_file(f, version);
        struct kv_common loaded_common;
        struct kv loaded;
        kv_common_init(&loaded_common, type_table, 9);
        kv_init(&loaded, &loaded_common, 0, 9);
        struct snapshot_header hd;
        assert_int_equal(snapshot_load(f->path, ONE(&loaded), NULL, &hd, f->err, sizeof f->err), 0);
        assert_int_equal(hd.index, 1234);
        assert_int_equal(kv_size(&loaded), NKEYS);
        char key[64], val[512];
        for (int i = 0; i < NKEYS; i++) {
            size_t kl = make_key(i, key), vl = make_val(i, val);
            struct kv_val *v = kv_lookup_read(&loaded, key, kl, 0);
            assert_non_null(v);
            assert_int_equal(v->type, KV_STRING);
            assert_int_equal(v->len, vl);
            assert_memory_equal(v->data, val, vl);
            assert_int_equal(v->expire_ms, make_expire(i));
        }
        kv_free(&loaded);
        flip(f->path, file_size(f->path) - 20);
        expect_refused(f, "checksum mismatch");
    }
}

/* A version 4 file holding a list (its payload element by element, as
 * builds before version 5 wrote it) loads, and is read by version 5's rules
 * nowhere: the same bytes in a version 5 file are refused as corrupt. */
static void write_list_file(struct fx *f, uint32_t version)
{
    const unsigned char payload[] = {3, 0, 0,   0,   1,   0, 0, 0, 'a', 3,   0,
                                     0, 0, '0', '0', '7', 2, 0, 0, 0,   '-', '5'};
    unsigned char b[256];
    memcpy(b, "RCSNAP\r\n", 8);
    put_le(b + 8, version, 4);
    put_le(b + 12, 0, 4);
    put_le(b + 16, 99, 8);
    put_le(b + 24, 2, 8);
    put_le(b + 32, 1, 8);
    size_t len = SNAPSHOT_HEADER_LEN;
    b[len] = KV_LIST;
    put_le(b + len + 1, 1, 4);
    put_le(b + len + 5, sizeof payload, 8);
    put_le(b + len + 13, (uint64_t)-1, 8);
    b[len + 21] = 'l';
    memcpy(b + len + 22, payload, sizeof payload);
    len += 22 + sizeof payload;
    memset(b + len, 0, 9); /* no extras */
    len += 9;
    struct checksum c;
    checksum_init(&c);
    checksum_update(&c, b, len);
    memcpy(b + len, "RCSNEND\n", 8);
    put_le(b + len + 8, checksum_final(&c), 8);
    len += SNAPSHOT_TRAILER_LEN;
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, len, fp), len);
    fclose(fp);
}

static void test_version4_list_loads(void **state)
{
    struct fx *f = *state;
    write_list_file(f, 4);
    struct kv_common back_common;
    struct kv back;
    kv_common_init(&back_common, type_table, 1);
    kv_init(&back, &back_common, 0, 1);
    struct snapshot_header h;
    assert_int_equal(snapshot_load(f->path, ONE(&back), NULL, &h, f->err, sizeof f->err), 0);
    struct kv_val *v = kv_lookup_read(&back, "l", 1, 0);
    assert_non_null(v);
    assert_int_equal(v->type, KV_LIST);
    const struct quicklist *ql = kv_val_obj(v);
    assert_int_equal(ql->count, 3);
    const char *const want[] = {"a", "007", "-5"};
    ql_check_elements(ql, want, 3);
    kv_free(&back);
    write_list_file(f, 5);
    expect_refused(f, "does not decode");
}

/* A file of several write chunks (src/sm/snapshot.c: whole chunks bypass the
 * page cache where the file system allows it, the last one does not)
 * reads back byte for byte. */
static void big_round_trip(struct fx *f, const char *path)
{
    enum { BIG = 300000, NBIG = 4 };
    char *val = malloc(BIG);
    assert_non_null(val);
    for (int k = 0; k < NBIG; k++) {
        for (size_t i = 0; i < BIG; i++)
            val[i] = (char)(i * 31 + (size_t)k * 7);
        char key[8] = {'b', 'i', 'g', (char)('0' + k)};
        kv_set(&f->kv, key, 4, val, BIG - (size_t)k, -1, 0);
    }
    assert_int_equal(snapshot_write(path, ONE(&f->kv), NULL, 5, 1, f->err, sizeof f->err), 0);
    struct kv_common back_common;
    struct kv back;
    kv_common_init(&back_common, type_table, 3);
    kv_init(&back, &back_common, 0, 3);
    struct snapshot_header h;
    assert_int_equal(snapshot_load(path, ONE(&back), NULL, &h, f->err, sizeof f->err), 0);
    assert_int_equal(kv_size(&back), NBIG);
    for (int k = 0; k < NBIG; k++) {
        for (size_t i = 0; i < BIG; i++)
            val[i] = (char)(i * 31 + (size_t)k * 7);
        char key[8] = {'b', 'i', 'g', (char)('0' + k)};
        struct kv_val *v = kv_lookup_read(&back, key, 4, 0);
        assert_non_null(v);
        assert_int_equal(v->len, BIG - (size_t)k);
        assert_memory_equal(v->data, val, v->len);
    }
    kv_free(&back);
    free(val);
}

static void test_big_file_round_trip(void **state)
{
    struct fx *f = *state;
    big_round_trip(f, f->path);
}

/* A record of a type this build does not know is a corrupt file, never a
 * crash: the type byte of the first record is set to an unused type. */
static void test_unknown_type_refused(void **state)
{
    struct fx *f = *state;
    write_file(f);
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, SNAPSHOT_HEADER_LEN, SEEK_SET), 0);
    fputc(KV_TYPE_COUNT, fp); /* one past the last type */
    fclose(fp);
    expect_refused(f, "unknown type");
}

/* Leader reads chunks, follower writes them: the copy is the same file. */
static void test_chunk_copy_and_publish(void **state)
{
    struct fx *f = *state;
    write_file(f);
    char in[128];
    snprintf(in, sizeof in, "%s/%s", f->dir, SNAPSHOT_INCOMING_NAME);
    uint8_t buf[1000];
    uint64_t off = 0;
    bool done = false;
    while (!done) {
        uint32_t len;
        assert_int_equal(snapshot_read_chunk(f->path, 1234, off, buf, sizeof buf, &len, &done,
                                             f->err, sizeof f->err),
                         0);
        assert_int_equal(snapshot_write_chunk(in, off, buf, len, done, f->err, sizeof f->err), 0);
        off += len;
    }
    assert_int_equal(off, file_size(f->path));
    uint32_t len;
    assert_int_equal(
        snapshot_read_chunk(f->path, 99, 0, buf, sizeof buf, &len, &done, f->err, sizeof f->err),
        SNAPSHOT_ESTALE);
    /* Out of order: a gap is refused, offset 0 starts over. */
    assert_int_equal(snapshot_write_chunk(in, off + 5, buf, 10, false, f->err, sizeof f->err),
                     SNAPSHOT_EBADFILE);
    assert_int_equal(snapshot_publish(f->dir, SNAPSHOT_INCOMING_NAME, f->err, sizeof f->err), 0);
    char rcs[128];
    snprintf(rcs, sizeof rcs, "%s/%s", f->dir, SNAPSHOT_FILE_NAME);
    struct snapshot_header h;
    assert_int_equal(snapshot_verify(rcs, type_table, 1, &h, f->err, sizeof f->err), 0);
    assert_int_equal(h.index, 1234);
    assert_int_equal(snapshot_file_size(f->dir), file_size(f->path));
    assert_int_equal(access(in, F_OK), -1);
    /* Leftover temporaries go; the published file stays. */
    assert_int_equal(snapshot_write_chunk(in, 0, buf, 10, false, f->err, sizeof f->err), 0);
    snapshot_remove_temps(f->dir);
    assert_int_equal(access(in, F_OK), -1);
    assert_int_equal(access(rcs, F_OK), 0);
}

/* The state kept beside the keys (struct snapshot_extra): saved records
 * come back in order, kind and bytes; a record its owner refuses makes the
 * file corrupt; verify checks them without an owner. */
struct extra_log {
    char got[256];
    size_t used;
    int refuse;
};

static void save_two(void *ud, snapshot_extra_put_fn *put, void *w)
{
    (void)ud;
    put(w, 1, "return 1", 8);
    put(w, 2, "", 0);
}

static int load_logged(void *ud, uint8_t kind, const void *data, size_t len, char *err,
                       size_t errlen)
{
    struct extra_log *l = ud;
    if (l->refuse) {
        snprintf(err, errlen, "does not compile");
        return -1;
    }
    l->used += (size_t)snprintf(l->got + l->used, sizeof l->got - l->used, "%u:%.*s;", kind,
                                (int)len, (const char *)data);
    return 0;
}

static void test_extra_records(void **state)
{
    struct fx *f = *state;
    fill(&f->kv);
    struct extra_log log = {0};
    struct snapshot_extra extra = {save_two, load_logged, &log};
    assert_int_equal(snapshot_write(f->path, ONE(&f->kv), &extra, 9, 2, f->err, sizeof f->err), 0);
    struct snapshot_header h;
    assert_int_equal(snapshot_verify(f->path, type_table, 1, &h, f->err, sizeof f->err), 0);
    assert_int_equal(h.key_count, kv_size(&f->kv));
    struct kv_common back_common;
    struct kv back;
    kv_common_init(&back_common, type_table, 1);
    kv_init(&back, &back_common, 0, 1);
    assert_int_equal(snapshot_load(f->path, ONE(&back), &extra, &h, f->err, sizeof f->err), 0);
    assert_string_equal(log.got, "1:return 1;2:;");
    assert_int_equal(kv_size(&back), kv_size(&f->kv));
    log.refuse = 1;
    assert_int_equal(snapshot_load(f->path, ONE(&back), &extra, &h, f->err, sizeof f->err),
                     SNAPSHOT_EBADFILE);
    assert_non_null(strstr(f->err, "does not compile"));
    kv_free(&back);
}

/* The version in a file's header (FORMAT). */
static uint32_t file_version(const char *path)
{
    unsigned char head[12];
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(head, 1, sizeof head, fp), sizeof head);
    fclose(fp);
    return (uint32_t)head[8] | (uint32_t)head[9] << 8 | (uint32_t)head[10] << 16 |
           (uint32_t)head[11] << 24;
}

/* Keys of several databases go back each into its own, the same name in
 * two of them included; a file whose keys are all database 0's is written
 * as version 5, readable by builds that predate databases. */
static void test_databases_round_trip(void **state)
{
    struct fx *f = *state;
    struct kv_dbs dbs, back;
    kv_dbs_init(&dbs, type_table, 3, 5);
    kv_dbs_init(&back, type_table, 3, 6);
    kv_set(dbs.db[0], "a", 1, "zero", 4, KV_NO_EXPIRE, 0);
    assert_int_equal(snapshot_write(f->path, dbs.db, 3, NULL, 4, 1, f->err, sizeof f->err), 0);
    assert_int_equal(file_version(f->path), 5);

    kv_set(dbs.db[2], "a", 1, "two", 3, 1800000000000LL, 0);
    kv_set(dbs.db[2], "b", 1, "bee", 3, KV_NO_EXPIRE, 0);
    assert_int_equal(snapshot_write(f->path, dbs.db, 3, NULL, 5, 1, f->err, sizeof f->err), 0);
    assert_int_equal(file_version(f->path), 6);
    struct snapshot_header h;
    assert_int_equal(snapshot_load(f->path, back.db, 3, NULL, &h, f->err, sizeof f->err), 0);
    assert_int_equal(h.key_count, 3);
    for (int i = 0; i < 3; i++) {
        unsigned char want[DIGEST_LEN], got[DIGEST_LEN];
        kv_digest(dbs.db[i], want);
        kv_digest(back.db[i], got);
        assert_int_equal(kv_size(back.db[i]), kv_size(dbs.db[i]));
        assert_memory_equal(got, want, DIGEST_LEN);
    }
    assert_int_equal(kv_lookup_stored(back.db[2], "a", 1)->expire_ms, 1800000000000LL);
    /* one database fewer than the file names: refused, nothing half-read */
    assert_int_equal(snapshot_verify(f->path, type_table, 2, &h, f->err, sizeof f->err),
                     SNAPSHOT_EBADFILE);
    assert_non_null(strstr(f->err, "but this node has 2 (databases)"));
    kv_dbs_free(&dbs);
    kv_dbs_free(&back);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_round_trip),           T(test_empty_keyspace),          T(test_truncated),
        T(test_flipped_byte),         T(test_wrong_magic_and_version), T(test_old_versions_load),
        T(test_unknown_type_refused), T(test_chunk_copy_and_publish),  T(test_extra_records),
        T(test_version4_list_loads),  T(test_big_file_round_trip),     T(test_databases_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
