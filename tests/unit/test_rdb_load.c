/*
 * tests/unit/test_rdb_load.c - RDB values read back (src/rdb/rdb_load.h):
 * every encoding rdb_put_value() writes (a value made by its commands,
 * written, read, and its content and encoding compared; a stream's groups,
 * consumers and PEL too), redis-server's DUMP bodies read (the bytes
 * below), and damaged bodies refused with nothing left allocated: every
 * truncation, bits flipped, a stream's parts made to disagree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_fixture.h"
#include "keyspace/digest.h"
#include "rdb/rdb_load.h"
#include "rdb/rdb_value.h"
#include "types/t_set.h"
#include "types/typetable.h"
#include "zl_build.h"

#define MAX_STRING (64u << 20)

/* key's value written in RDB's encoding, read back under the fixture's
 * limits and stored as key2: the two must be the same value. */
static void round_trip(struct fx *f, const char *key, const char *key2)
{
    struct kv_val *v = kv_lookup_peek(&f->kv, key, strlen(key), T0);
    assert_non_null(v);
    struct text t = {0};
    rdb_put_value(&t, v, 1);
    struct rdb_in in;
    rdb_in_init(&in, t.p, t.len, MAX_STRING);
    struct rdb_value got;
    char err[256] = "";
    if (rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err) != 0)
        fail_msg("%s: %s", key, err);
    assert_ptr_equal(in.p, in.end);
    assert_int_equal(got.type, v->type);
    if (got.type == KV_STRING) {
        kv_set(&f->kv, key2, strlen(key2), got.str, got.len, KV_NO_EXPIRE, T0);
        free(got.str);
    } else {
        kv_set_obj(&f->kv, key2, strlen(key2), got.type, got.obj, KV_NO_EXPIRE, T0);
    }
    char digest_a[DIGEST_HEX_LEN + 1], digest_b[DIGEST_HEX_LEN + 1], line[128];
    assert_string_equal(fx_digest(f, key, digest_a), fx_digest(f, key2, digest_b));
    assert_string_equal(fx_encoding(f, key), fx_encoding(f, key2));
    if (got.type == KV_STREAM) { /* the digest holds the groups; this shows them */
        snprintf(line, sizeof line, "XINFO STREAM %s FULL COUNT 0", key);
        char *info = strdup(run(f, line));
        snprintf(line, sizeof line, "XINFO STREAM %s FULL COUNT 0", key2);
        assert_string_equal(info, run(f, line));
        free(info);
    }
    free(text_take(&t));
}

/* A stream of three nodes, deleted entries, and one with consumer groups:
 * pending entries of several consumers (one claimed from another), a
 * consumer with none, a group that never read, and a node of tombstones
 * only (an exact MINID trim leaves it). */
static void fill_streams(struct fx *f)
{
    char line[256];
    for (int i = 1; i <= 250; i++) {
        snprintf(line, sizeof line,
                 i % 7 ? "XADD x:nodes %d-%d name n%d n %d" : "XADD x:nodes %d-%d other x%d n -%d",
                 1000 + i / 3, i % 3, i, i);
        run(f, line);
    }
    run(f, "XDEL x:nodes 1001-0 1010-1 1083-2");
    for (int i = 1; i < 30; i++) {
        snprintf(line, sizeof line, "XADD x:cg %d-0 k %d v w%d", i, i, i % 5);
        run(f, line);
    }
    run(f, "XGROUP CREATE x:cg grp 0");
    run(f, "XGROUP CREATE x:cg other 0");
    run(f, "XGROUP CREATE x:cg never $");
    run(f, "XREADGROUP GROUP grp alice COUNT 5 STREAMS x:cg >");
    f->now += 1000;
    run(f, "XREADGROUP GROUP grp bob COUNT 3 STREAMS x:cg >");
    run(f, "XREADGROUP GROUP other carol COUNT 20 STREAMS x:cg >");
    run(f, "XACK x:cg grp 2-0");
    run(f, "XCLAIM x:cg grp bob 0 3-0");
    run(f, "XGROUP CREATECONSUMER x:cg grp idle");
    run(f, "XDEL x:cg 7-0 8-0 20-0");
    run(f, "XADD x:tomb 1-1 f 1");
    run(f, "XADD x:tomb 1-2 f 2");
    run(f, "XDEL x:tomb 1-2");
    run(f, "XTRIM x:tomb MINID 1-2");
    run(f, "XADD x:empty 1-1 f 1");
    run(f, "XDEL x:empty 1-1");
    /* its only group has no pending entry (the reader's PEL array is then
     * never allocated: found by fuzz_rdb under UBSan) */
    run(f, "XADD x:idle 1-1 f 1");
    run(f, "XGROUP CREATE x:idle g $");
}

static void fill(struct fx *f)
{
    char line[256];
    run(f, "SET s:short bar");
    run(f, "SET s:int -123");
    run(f, "SET s:long abcabcabcabcabcabcabcabcabcabcabcabcabc");
    run(f, "RPUSH l:small a b 1 -70000 9000000000");
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, "RPUSH l:big element-%d", i);
        run(f, line);
    }
    run(f, "SADD set:int 1 2 3 -40000 1099511627776");
    run(f, "SADD set:str a b c");
    run(f, "ZADD z:lp 1 a 2.5 b inf c -3 d 1e17 e 0.1 f");
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "ZADD z:big %d.5 m%d", i, i);
        run(f, line);
        snprintf(line, sizeof line, "HSET h:big f%d v%d", i, i);
        run(f, line);
    }
    run(f, "HSET h:lp f1 -5 f2 300 f3 hello");
    fill_streams(f);
}

static const char *const KEYS[] = {"s:short", "s:int",   "s:long", "l:small", "l:big",
                                   "set:int", "set:str", "z:lp",   "z:big",   "h:lp",
                                   "h:big",   "x:nodes", "x:cg",   "x:tomb",  "x:empty"};

static void test_round_trips(void **state)
{
    struct fx *f = *state;
    f->kvc.limits.hash_max_listpack_entries = 128; /* h:big leaves listpack */
    fill(f);
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        char key2[64];
        snprintf(key2, sizeof key2, "%s:2", KEYS[i]);
        round_trip(f, KEYS[i], key2);
    }
    assert_string_equal(fx_encoding(f, "h:big:2"), "hashtable");
    assert_string_equal(fx_encoding(f, "z:big:2"), "skiplist");
    assert_string_equal(fx_encoding(f, "set:int:2"), "intset");
}

/* redis-server 7.0.15: SADD st 1 2 3 -40000; DUMP st (without the footer). */
static const unsigned char REDIS_INTSET[] = "\x0b\x18\x04\x00\x00\x00\x04\x00\x00\x00\xc0\x63"
                                            "\xff\xff\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00"
                                            "\x00\x00";

/* redis-server 5's DUMP (RDB 9, STREAM_LISTPACKS) in Redis's own
 * tests/unit/type/stream-cgroups.tcl, without the footer: XADD x 1-0 .. 6-0
 * data a .. f, XDEL x 3-0, groups g1 and g2 at 0, XREADGROUP GROUP g1 c11
 * COUNT 4, XTRIM x MAXLEN = 2. */
static const unsigned char REDIS_STREAM_V9[] = "\x0f\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00"
                                               "\x00\x00\x00\x00\x00\x00\x00\xc3\x40\x4a\x40\x57"
                                               "\x16\x57\x00\x00\x00\x23\x00\x02\x01\x04\x01\x01"
                                               "\x01\x84\x64\x61\x74\x61\x05\x00\x01\x03\x01\x00"
                                               "\x20\x01\x03\x81\x61\x02\x04\x20\x0a\x00\x01\x40"
                                               "\x0a\x00\x62\x60\x0a\x00\x02\x40\x0a\x00\x63\x60"
                                               "\x0a\x40\x22\x01\x81\x64\x20\x0a\x40\x39\x20\x0a"
                                               "\x00\x65\x60\x0a\x00\x05\x40\x0a\x00\x66\x20\x0a"
                                               "\x00\xff\x02\x06\x00\x02\x02\x67\x31\x05\x00\x04"
                                               "\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00"
                                               "\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a\x01\x00\x00"
                                               "\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00"
                                               "\x00\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a\x01\x00"
                                               "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00"
                                               "\x00\x00\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a\x01"
                                               "\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00"
                                               "\x00\x00\x00\x00\x00\x00\x00\x3e\xf7\x83\x43\x7a"
                                               "\x01\x00\x00\x01\x01\x03\x63\x31\x31\x3e\xf7\x83"
                                               "\x43\x7a\x01\x00\x00\x04\x00\x00\x00\x00\x00\x00"
                                               "\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                               "\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00"
                                               "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00"
                                               "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                               "\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x02\x67"
                                               "\x32\x00\x00\x00\x00";

static void test_redis_bodies(void **state)
{
    struct fx *f = *state;
    struct rdb_in in;
    rdb_in_init(&in, REDIS_INTSET, sizeof REDIS_INTSET - 1, MAX_STRING);
    struct rdb_value v;
    char err[256] = "";
    assert_int_equal(rdb_get_value(&in, &f->kvc.limits, &v, err, sizeof err), 0);
    assert_int_equal(v.type, KV_SET);
    assert_int_equal(t_set_size(v.obj), 4);
    rdb_value_free(&v);

    /* the counters RDB 9 lacks found as Redis 7.0 finds them */
    rdb_in_init(&in, REDIS_STREAM_V9, sizeof REDIS_STREAM_V9 - 1, MAX_STRING);
    assert_int_equal(rdb_get_value(&in, &f->kvc.limits, &v, err, sizeof err), 0);
    assert_ptr_equal(in.p, in.end);
    assert_int_equal(v.type, KV_STREAM);
    kv_set_obj(&f->kv, "x", 1, v.type, v.obj, KV_NO_EXPIRE, T0);
    EXPECT(f, "XRANGE x - +",
           "*2\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$4\r\ndata\r\n$1\r\ne\r\n"
           "*2\r\n$3\r\n6-0\r\n*2\r\n$4\r\ndata\r\n$1\r\nf\r\n");
    const char *info = run(f, "XINFO STREAM x");
    assert_non_null(strstr(info, "$13\r\nentries-added\r\n:2\r\n"));
    info = run(f, "XINFO GROUPS x");
    assert_non_null(strstr(info, "$2\r\ng1\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:4\r\n"));
    assert_non_null(strstr(info, "$12\r\nentries-read\r\n:1\r\n$3\r\nlag\r\n:1\r\n"));
    assert_non_null(strstr(info, "$12\r\nentries-read\r\n:0\r\n$3\r\nlag\r\n:2\r\n"));
}

/* body's value read back: 0, or -1 (refused, nothing left allocated). */
static int read_body(struct fx *f, const unsigned char *body, size_t len)
{
    struct rdb_in in;
    rdb_in_init(&in, body, len, MAX_STRING);
    struct rdb_value v;
    char err[256];
    if (rdb_get_value(&in, &f->kvc.limits, &v, err, sizeof err) != 0) return -1;
    rdb_value_free(&v);
    return 0;
}

/* key's body with the byte back from its end set to b, then cut bytes
 * cut from its end: must be refused. */
static void refused_with(struct fx *f, const char *key, size_t back, char b, size_t cut)
{
    struct kv_val *v = kv_lookup_peek(&f->kv, key, strlen(key), T0);
    struct text t = {0};
    rdb_put_value(&t, v, 1);
    assert_int_equal(read_body(f, (unsigned char *)t.p, t.len), 0);
    t.p[t.len - back] = b;
    assert_int_equal(read_body(f, (unsigned char *)t.p, t.len - cut), -1);
    free(text_take(&t));
}

/* A stream's parts made to disagree, each refused. */
static void test_stream_disagreements(void **state)
{
    struct fx *f = *state;
    /* ends: length 1 | last 5-1 | first 5-1 | max deleted 0-0 | added 1 | groups 0 */
    run(f, "XADD x 5-1 f v");
    refused_with(f, "x", 9, 2, 0); /* a length not the entries' */
    refused_with(f, "x", 7, 0, 0); /* the last ID below the last entry */
    refused_with(f, "x", 5, 2, 0); /* a first ID not the first entry's */
    refused_with(f, "x", 2, 0, 0); /* entries added below the length */
    refused_with(f, "x", 1, 1, 0); /* a group count past the payload */
    /* ends: ... consumer "c" | seen time | its PEL: 1 | the ID 5-1 */
    run(f, "XGROUP CREATE x g 0");
    run(f, "XREADGROUP GROUP g c STREAMS x >");
    refused_with(f, "x", 1, 2, 0);   /* the consumer's entry not in the group's PEL */
    refused_with(f, "x", 17, 2, 0);  /* ... and past the payload */
    refused_with(f, "x", 17, 0, 16); /* a group's PEL entry no consumer owns */
    /* ends: ... consumer "d" (1, 'd') | seen time | its PEL: 0 */
    run(f, "XGROUP CREATECONSUMER x g d");
    refused_with(f, "x", 10, 'c', 0); /* consumer "d" renamed "c": twice */
}

/* Every prefix and single-bit flips of body: refused, or read as some
 * value; never a crash, a leak (ASan) or a read past the end. */
static void damage(struct fx *f, const unsigned char *body, size_t len)
{
    unsigned char *b = malloc(len);
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(b + len - cut, body, cut); /* at the block's end: ASan sees a read past it */
        struct rdb_in in;
        rdb_in_init(&in, b + len - cut, cut, MAX_STRING);
        struct rdb_value got;
        char err[256];
        if (rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err) == 0)
            rdb_value_free(&got); /* a shorter value can still be whole */
    }
    /* every byte of the first 200 (headers, lengths, the first elements),
     * then every 37th */
    for (size_t i = 0; i < len; i += i < 200 ? 1 : 37) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(b, body, len);
            b[i] ^= (unsigned char)(1u << bit);
            struct rdb_in in;
            rdb_in_init(&in, b, len, MAX_STRING);
            struct rdb_value got;
            char err[256];
            if (rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err) == 0)
                rdb_value_free(&got);
        }
    }
    free(b);
}

static void test_damage(void **state)
{
    struct fx *f = *state;
    fill(f);
    for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
        if (!strcmp(KEYS[k], "l:big")) continue; /* large: the others cover its code */
        struct kv_val *v = kv_lookup_peek(&f->kv, KEYS[k], strlen(KEYS[k]), T0);
        struct text t = {0};
        rdb_put_value(&t, v, 1);
        damage(f, (const unsigned char *)t.p, t.len);
        free(text_take(&t));
    }
}

/* ------------------------------------------- the encodings before RDB 10 */

/* A body: the type byte, then p (len bytes) as one string. */
static void body_of_string(struct text *t, enum rdb_type type, const void *p, size_t len)
{
    *t = (struct text){0};
    rdb_put_byte(t, (uint8_t)type);
    rdb_put_string(t, p, len, 0);
}

/* A body of type holding a ziplist of the elements (NULL-terminated). */
static void body_of_ziplist(struct text *t, enum rdb_type type, const char *const *el)
{
    struct zlb b;
    zlb_begin(&b);
    for (size_t i = 0; el[i]; i++) {
        long long v;
        char *end;
        v = strtoll(el[i], &end, 10);
        if (*el[i] && !*end && v >= -128 && v <= 127) /* as Redis: the smallest integer */
            zlb_int(&b, v >= 0 && v <= 12 ? ZB_IMM : ZB_INT8, v);
        else if (*el[i] && !*end)
            zlb_int(&b, v >= -32768 && v < 32768 ? ZB_INT16 : ZB_INT64, v);
        else
            zlb_str(&b, el[i]);
    }
    size_t len;
    unsigned char *zl = zlb_end(&b, &len);
    body_of_string(t, type, zl, len);
    free(zl);
}

/* A body of HASH_ZIPMAP holding the pairs of el (NULL-terminated), each
 * value followed by free_bytes unused bytes. */
static void body_of_zipmap(struct text *t, const char *const *el, unsigned char free_bytes)
{
    struct text zm;
    size_t n = 0, len;
    while (el[n])
        n++;
    zmb_begin(&zm, (unsigned char)(n / 2));
    for (size_t i = 0; i + 1 < n; i += 2)
        zmb_pair(&zm, el[i], el[i + 1], free_bytes);
    unsigned char *p = zmb_end(&zm, &len);
    body_of_string(t, RDB_TYPE_HASH_ZIPMAP, p, len);
    free(p);
}

/* body read and stored as "got": the same value as "want" (DEBUG
 * DIGEST-VALUE), in the same encoding. */
static void expect_same_value(struct fx *f, const struct text *body)
{
    struct rdb_in in;
    rdb_in_init(&in, body->p, body->len, MAX_STRING);
    struct rdb_value got;
    char err[256] = "";
    if (rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err) != 0) fail_msg("%s", err);
    assert_ptr_equal(in.p, in.end);
    kv_set_obj(&f->kv, "got", 3, got.type, got.obj, KV_NO_EXPIRE, T0);
    char want[DIGEST_HEX_LEN + 1], got_hex[DIGEST_HEX_LEN + 1];
    assert_string_equal(fx_digest(f, "got", got_hex), fx_digest(f, "want", want));
    assert_string_equal(fx_encoding(f, "got"), fx_encoding(f, "want"));
    damage(f, (const unsigned char *)body->p, body->len);
    run(f, "DEL want got");
}

static void expect_body_refused(struct fx *f, const struct text *body)
{
    struct rdb_in in;
    rdb_in_init(&in, body->p, body->len, MAX_STRING);
    struct rdb_value got;
    char err[256] = "";
    assert_int_equal(rdb_get_value(&in, &f->kvc.limits, &got, err, sizeof err), -1);
    assert_true(err[0] != '\0');
}

/* LIST (1), LIST_ZIPLIST (10), LIST_QUICKLIST (14). */
static void test_legacy_lists(void **state)
{
    struct fx *f = *state;
    struct text t = {0};
    run(f, "RPUSH want a 12 hello");
    rdb_put_byte(&t, RDB_TYPE_LIST);
    rdb_put_len(&t, 3);
    rdb_put_string(&t, "a", 1, 0);
    rdb_put_ll(&t, 12); /* int-encoded */
    rdb_put_string(&t, "hello", 5, 0);
    expect_same_value(f, &t);
    free(text_take(&t));

    static const char *const el[] = {"a", "-100", "7", "30000", "-9000000000", "", NULL};
    run(f, "RPUSH want a -100 7 30000 -9000000000 \"\"");
    body_of_ziplist(&t, RDB_TYPE_LIST_ZIPLIST, el);
    expect_same_value(f, &t);
    free(text_take(&t));

    /* two nodes and an empty one between (Redis skips it) */
    static const char *const n1[] = {"a", "b", NULL}, *const n2[] = {"1", "2", NULL},
                             *const none[] = {NULL};
    run(f, "RPUSH want a b 1 2");
    struct text node = {0};
    rdb_put_byte(&t, RDB_TYPE_LIST_QUICKLIST);
    rdb_put_len(&t, 3);
    const char *const *nodes[] = {n1, none, n2};
    for (int i = 0; i < 3; i++) {
        body_of_ziplist(&node, RDB_TYPE_STRING, nodes[i]);
        text_put(&t, node.p + 1, node.len - 1); /* the string, without its type byte */
        free(text_take(&node));
    }
    expect_same_value(f, &t);
    free(text_take(&t));
}

static void test_legacy_lists_refused(void **state)
{
    struct fx *f = *state;
    static const char *const none[] = {NULL};
    struct text t = {0};
    body_of_ziplist(&t, RDB_TYPE_LIST_ZIPLIST, none); /* no element */
    expect_body_refused(f, &t);
    free(text_take(&t));
    static const unsigned char no_elements[] = {RDB_TYPE_LIST, 0},
                               empty_node[] = {RDB_TYPE_LIST_QUICKLIST, 1, 0},
                               empty_node2[] = {RDB_TYPE_LIST_QUICKLIST_2, 1, 1, 0};
    const unsigned char *bodies[] = {no_elements, empty_node, empty_node2};
    size_t lens[] = {sizeof no_elements, sizeof empty_node, sizeof empty_node2};
    for (int i = 0; i < 3; i++) {
        struct text b = {.p = (char *)bodies[i], .len = lens[i]};
        expect_body_refused(f, &b);
    }
}

/* ZSET (3): scores as text, as Redis 7.0 reads them (sscanf's %lg). */
static void test_legacy_zset_text_scores(void **state)
{
    struct fx *f = *state;
    run(f, "ZADD want 1.5 a inf b -inf c 2000 d 0.1 e");
    static const char *const pairs[][2] = {
        {"a", "\x03"
              "1.5"},
        {"b", "\xfe"},
        {"c", "\xff"},
        {"d", "\x07 2e3xyz"}, /* spaces skipped, what follows the number ignored */
        {"e", "\x13"
              "0.10000000000000001"},
    };
    struct text t = {0};
    rdb_put_byte(&t, RDB_TYPE_ZSET);
    rdb_put_len(&t, 5);
    for (int i = 0; i < 5; i++) {
        rdb_put_string(&t, pairs[i][0], 1, 0);
        size_t n = (unsigned char)pairs[i][1][0] < 253 ? 1 + (unsigned char)pairs[i][1][0] : 1;
        text_put(&t, pairs[i][1], n);
    }
    expect_same_value(f, &t);
    free(text_take(&t));
    /* NaN; no number; a member twice */
    static const char *const bad_scores[] = {"\xfd",
                                             "\x03"
                                             "abc",
                                             "\x00",
                                             "\x01"
                                             "1"};
    for (int i = 0; i < 4; i++) {
        t = (struct text){0};
        rdb_put_byte(&t, RDB_TYPE_ZSET);
        rdb_put_len(&t, i == 3 ? 2 : 1);
        for (int j = 0; j < (i == 3 ? 2 : 1); j++) {
            rdb_put_string(&t, "m", 1, 0);
            size_t n =
                (unsigned char)bad_scores[i][0] < 253 ? 1 + (unsigned char)bad_scores[i][0] : 1;
            text_put(&t, bad_scores[i], n);
        }
        expect_body_refused(f, &t);
        free(text_take(&t));
    }
}

/* ZSET_ZIPLIST (12), HASH_ZIPLIST (13), HASH_ZIPMAP (9). */
static void test_legacy_pairs(void **state)
{
    struct fx *f = *state;
    static const char *const zs[] = {"a", "1.5", "b", "3", "c", "-inf", NULL};
    run(f, "ZADD want 1.5 a 3 b -inf c");
    struct text t;
    body_of_ziplist(&t, RDB_TYPE_ZSET_ZIPLIST, zs);
    expect_same_value(f, &t);
    free(text_take(&t));

    static const char *const hs[] = {"f1", "v1", "f2", "300", "7", "-5", NULL};
    run(f, "HSET want f1 v1 f2 300 7 -5");
    body_of_ziplist(&t, RDB_TYPE_HASH_ZIPLIST, hs);
    expect_same_value(f, &t);
    free(text_take(&t));

    static const char *const zm[] = {"name", "raft", "n", "7", NULL};
    run(f, "HSET want name raft n 7");
    body_of_zipmap(&t, zm, 3);
    expect_same_value(f, &t);
    free(text_take(&t));
}

/* Past the node's listpack limits: the encodings convert, as Redis's. */
static void test_legacy_pairs_convert(void **state)
{
    struct fx *f = *state;
    static char names[400][16];
    static const char *el[801];
    char line[64];
    for (int i = 0; i < 200; i++) {
        snprintf(names[2 * i], sizeof names[0], "m%d", i);
        snprintf(names[2 * i + 1], sizeof names[0], "%d", i);
        el[2 * i] = names[2 * i];
        el[2 * i + 1] = names[2 * i + 1];
        snprintf(line, sizeof line, "ZADD want %d m%d", i, i);
        run(f, line);
    }
    el[400] = NULL;
    struct text t;
    body_of_ziplist(&t, RDB_TYPE_ZSET_ZIPLIST, el);
    assert_string_equal(fx_encoding(f, "want"), "skiplist");
    expect_same_value(f, &t);
    free(text_take(&t));
    /* a value past hash-max-listpack-value */
    char *big = malloc(301);
    memset(big, 'v', 300);
    big[300] = '\0';
    const char *const zm[] = {"f", big, NULL};
    char hset[400];
    snprintf(hset, sizeof hset, "HSET want f %s", big);
    run(f, hset);
    assert_string_equal(fx_encoding(f, "want"), "hashtable");
    body_of_zipmap(&t, zm, 0);
    expect_same_value(f, &t);
    free(text_take(&t));
    free(big);
}

/* Duplicates and odd pairs refused. */
static void test_legacy_pairs_refused(void **state)
{
    struct fx *f = *state;
    static const char *const dup[] = {"f", "1", "f", "2", NULL},
                             *const odd[] = {"f", "1", "g", NULL}, *const none[] = {NULL};
    const char *const *lists[] = {dup, odd, none};
    struct text t;
    for (int i = 0; i < 3; i++) {
        body_of_ziplist(&t, RDB_TYPE_HASH_ZIPLIST, lists[i]);
        expect_body_refused(f, &t);
        free(text_take(&t));
        body_of_ziplist(&t, RDB_TYPE_ZSET_ZIPLIST, lists[i]);
        expect_body_refused(f, &t);
        free(text_take(&t));
    }
    body_of_zipmap(&t, dup, 0);
    expect_body_refused(f, &t);
    free(text_take(&t));
}

int main(void)
{
    cmd_table_init(type_command_groups, type_command_group_count);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_disagreements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_lists_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_zset_text_scores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_pairs_convert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_pairs_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
