/*
 * tests/unit/test_raft_codec_strict.c - one encoding per message: what
 * raft_decode() accepts re-encodes to the same bytes (the property the
 * tests/fuzz/fuzz_raft_codec.c target checks on random input). Cases here are
 * the inputs the fuzzer found breaking it.
 */
#include "test_raft_fixture.h"

static size_t put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 8;
}

static size_t put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 4;
}

/* A version 2 SNAPSHOT header from 1 to 2, term 3, snapshot index 4, term 5. */
static size_t snapshot_header(uint8_t *p)
{
    size_t n = 0;
    p[n++] = RAFT_CODEC_VERSION;
    p[n++] = RAFT_MSG_SNAPSHOT;
    p[n++] = 0;
    const uint64_t f[10] = {1, 2, 3, 4, 5, 0, 0, 0, 0, 0};
    for (int i = 0; i < 10; i++)
        n += put64(p + n, f[i]);
    return n;
}

/* A SNAPSHOT whose configuration has the address-less layout of old log
 * entries (u32 n | n x (u64 id | u8 voter)): version 1's SNAPSHOT body, which
 * a version 2 peer must refuse rather than read as servers without addresses. */
static void test_snapshot_with_old_conf_format_refused(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = snapshot_header(buf);
    n += put32(buf + n, 4 + 9);
    n += put32(buf + n, 1);
    n += put64(buf + n, 1);
    buf[n++] = 1;
    n += put32(buf + n, 0); /* empty chunk */
    struct raft_msg m;
    assert_int_equal(raft_decode(buf, n, &m, NULL, 0), RAFT_EMALFORMED);
}

/* The same message with the configuration in the current layout decodes and
 * re-encodes to the same bytes. */
static void test_snapshot_with_current_conf_round_trips(void **state)
{
    (void)state;
    uint8_t buf[256], out[256];
    size_t n = snapshot_header(buf);
    n += put32(buf + n, 4 + 10 + 9);
    n += put32(buf + n, 1);
    n += put64(buf + n, 1);
    buf[n++] = 1;
    buf[n++] = 9;
    memcpy(buf + n, "host:6379", 9);
    n += 9;
    n += put32(buf + n, 0);
    struct raft_msg m;
    assert_int_equal(raft_decode(buf, n, &m, NULL, 0), 0);
    assert_string_equal(m.conf.s[0].addr, "host:6379");
    assert_int_equal(raft_encode(&m, out, sizeof out), n);
    assert_memory_equal(out, buf, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_with_old_conf_format_refused),
        cmocka_unit_test(test_snapshot_with_current_conf_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
