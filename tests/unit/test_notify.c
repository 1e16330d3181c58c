/*
 * tests/unit/test_notify.c - keyspace notifications' flags and messages
 * (src/keyspace/notify.h): Redis 7.0's parsing and canonical text of
 * notify-keyspace-events, the two messages of an event, and that a class
 * that is off, or a configuration without K and E, publishes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace/notify.h"

/* What the text of s reads back as (CONFIG SET s, then CONFIG GET). */
static const char *roundtrip(const char *s)
{
    static char buf[NOTIFY_FLAGS_TEXT_MAX];
    int flags = notify_flags_parse(s, strlen(s));
    assert_true(flags >= 0);
    notify_flags_format((unsigned)flags, buf);
    return buf;
}

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(notify_flags_parse("", 0), 0);
    assert_int_equal(notify_flags_parse("K", 1), NOTIFY_KEYSPACE);
    assert_int_equal(notify_flags_parse("Ex", 2), NOTIFY_KEYEVENT | NOTIFY_EXPIRED);
    assert_int_equal(notify_flags_parse("A", 1), NOTIFY_ALL);
    assert_int_equal(notify_flags_parse("AAgg", 4), NOTIFY_ALL);
    assert_int_equal(notify_flags_parse("Ag$lshzxeKEtmdn", 15),
                     NOTIFY_ALL | NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_KEY_MISS | NOTIFY_NEW);
    assert_int_equal(notify_flags_parse("KEq", 3), -1);
    assert_int_equal(notify_flags_parse("a", 1), -1); /* classes are case-sensitive */
    assert_int_equal(notify_flags_parse("K E", 3), -1);
    assert_int_equal(notify_flags_parse("K\0E", 3), -1);
}

/* The cases of Redis's "test CONFIG GET/SET of event flags", and its
 * quirks: A swallows n, m never joins A. */
static void test_canonical_text(void **state)
{
    (void)state;
    assert_string_equal(roundtrip(""), "");
    assert_string_equal(roundtrip("gKE"), "gKE");
    assert_string_equal(roundtrip("$lshzxeKE"), "$lshzxeKE");
    assert_string_equal(roundtrip("KA"), "AK");
    assert_string_equal(roundtrip("EA"), "AE");
    assert_string_equal(roundtrip("EKmnzlg"), "glznKEm");
    assert_string_equal(roundtrip("nA"), "A");
    assert_string_equal(roundtrip("mA"), "Am");
    assert_string_equal(roundtrip("g$lshzxetd"), "A");
    assert_string_equal(roundtrip("Ag$lshzxeKEtmdn"), "AKEm");
    char buf[NOTIFY_FLAGS_TEXT_MAX];
    assert_int_equal(notify_flags_format(~0u, buf), 4);
}

struct sink {
    int n;
    char ch[2][64], msg[2][64];
    size_t clen[2], mlen[2];
};

static void capture(void *ud, const char *channel, size_t clen, const char *msg, size_t mlen)
{
    struct sink *s = ud;
    assert_true(s->n < 2);
    assert_true(clen < sizeof s->ch[0] && mlen < sizeof s->msg[0]);
    memcpy(s->ch[s->n], channel, clen);
    memcpy(s->msg[s->n], msg, mlen);
    s->clen[s->n] = clen;
    s->mlen[s->n] = mlen;
    s->n++;
}

static struct notify with(const char *flags, struct sink *s)
{
    struct notify n = {.publish = capture, .ud = s};
    memset(s, 0, sizeof *s);
    notify_set(&n, (unsigned)notify_flags_parse(flags, strlen(flags)));
    return n;
}

static void test_messages(void **state)
{
    (void)state;
    struct sink s;
    struct notify n = with("KEA", &s);
    notify_fire(&n, 0, NOTIFY_STRING, "set", "foo", 3);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ch[0], "__keyspace@0__:foo");
    assert_string_equal(s.msg[0], "set");
    assert_string_equal(s.ch[1], "__keyevent@0__:set");
    assert_string_equal(s.msg[1], "foo");

    n = with("Kl", &s);
    notify_fire(&n, 0, NOTIFY_LIST, "lpush", "l", 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ch[0], "__keyspace@0__:l");

    n = with("KEl", &s); /* another database's number in both channels */
    notify_fire(&n, 12, NOTIFY_LIST, "lpush", "l", 1);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ch[0], "__keyspace@12__:l");
    assert_string_equal(s.ch[1], "__keyevent@12__:lpush");

    n = with("Ex", &s);
    notify_fire(&n, 0, NOTIFY_EXPIRED, "expired", "k\0z", 3); /* binary keys stay whole */
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ch[0], "__keyevent@0__:expired");
    assert_int_equal(s.mlen[0], 3);
    assert_memory_equal(s.msg[0], "k\0z", 3);
}

static void test_masked(void **state)
{
    (void)state;
    struct sink s;
    struct notify n = with("KEl", &s);
    notify_fire(&n, 0, NOTIFY_STRING, "set", "foo", 3); /* class off */
    assert_int_equal(s.n, 0);
    n = with("A", &s); /* classes but neither K nor E: nothing, and mask 0 */
    assert_int_equal(n.mask, 0);
    notify_fire(&n, 0, NOTIFY_GENERIC, "del", "foo", 3);
    assert_int_equal(s.n, 0);
    n = with("En", &s);
    assert_true(n.mask & NOTIFY_NEW);
    assert_false(n.mask & NOTIFY_GENERIC);
}

/* A key longer than the stack buffer gets its channel allocated whole. */
static size_t long_clen, long_mlen;
static int long_ok;

static void capture_long(void *ud, const char *channel, size_t clen, const char *msg, size_t mlen)
{
    const char *key = ud;
    long_clen = clen;
    long_mlen = mlen;
    long_ok = memcmp(channel, "__keyspace@0__:", 15) == 0 &&
              memcmp(channel + 15, key, clen - 15) == 0 && mlen == 3 && !memcmp(msg, "del", 3);
}

static void test_long_key(void **state)
{
    (void)state;
    size_t klen = 100000;
    char *key = malloc(klen);
    assert_non_null(key);
    for (size_t i = 0; i < klen; i++)
        key[i] = (char)('a' + i % 26);
    struct notify n = {.publish = capture_long, .ud = key};
    notify_set(&n, (unsigned)notify_flags_parse("Kg", 2));
    notify_fire(&n, 0, NOTIFY_GENERIC, "del", key, klen);
    assert_int_equal(long_clen, 15 + klen);
    assert_int_equal(long_mlen, 3);
    assert_true(long_ok);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),    cmocka_unit_test(test_canonical_text),
        cmocka_unit_test(test_messages), cmocka_unit_test(test_masked),
        cmocka_unit_test(test_long_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
