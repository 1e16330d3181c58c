/*
 * tests/unit/test_raft_codec.c - the wire codec: every message type round-trips;
 * every truncation, random mutation and random byte string is either decoded into
 * something well-formed or rejected with RAFT_EMALFORMED, never a crash or an
 * out-of-bounds read (run under -fsanitize=address,undefined or valgrind to see it).
 */
#include "test_raft_fixture.h"

static uint64_t rng_state = 12345;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static struct raft_entry g_in[4], g_out[RAFT_MAX_MSG_ENTRIES];
static const uint8_t data1[] = "hello", data2[] = "a somewhat longer entry payload";
static const uint8_t chunk[] = "snapshot-chunk-bytes";

static struct raft_msg sample(uint8_t type)
{
    struct raft_msg m = fx_msg(type, 3, 5, 42);
    m.index = 100;
    m.log_term = 41;
    m.commit = 99;
    m.reject = type == RAFT_MSG_APPEND_RESP;
    m.hint = 77;
    m.hint_term = 40;
    m.ctx = 0xdeadbeefcafef00dull;
    m.offset = 4096;
    m.transfer = type == RAFT_MSG_VOTE;
    if (type == RAFT_MSG_APPEND) {
        g_in[0] = (struct raft_entry){41, 101, RAFT_ENTRY_NORMAL, 5, data1};
        g_in[1] = (struct raft_entry){42, 102, RAFT_ENTRY_NOOP, 0, NULL};
        g_in[2] = (struct raft_entry){42, 103, RAFT_ENTRY_NORMAL, sizeof(data2), data2};
        m.entries = g_in;
        m.n_entries = 3;
    }
    if (type == RAFT_MSG_SNAPSHOT) {
        m.conf.n = 2;
        m.conf.s[0] = (struct raft_server){1, true};
        m.conf.s[1] = (struct raft_server){9, false};
        m.chunk = chunk;
        m.chunk_len = sizeof(chunk);
        m.done = true;
    }
    return m;
}

static void test_roundtrip_all_types(void **state)
{
    (void)state;
    for (uint8_t t = 1; t < RAFT_MSG_TYPE_END; t++) {
        struct raft_msg m = sample(t), d;
        uint8_t buf[512];
        size_t n = raft_encode(&m, buf, sizeof(buf));
        assert_int_equal(n, raft_encoded_size(&m));
        assert_int_equal(buf[0], RAFT_CODEC_VERSION);
        assert_int_equal(raft_decode(buf, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), 0);
        assert_int_equal(d.type, t);
        assert_int_equal(d.from, 3);
        assert_int_equal(d.to, 5);
        assert_int_equal(d.term, 42);
        assert_int_equal(d.index, 100);
        assert_int_equal(d.log_term, 41);
        assert_int_equal(d.commit, 99);
        assert_int_equal(d.hint, 77);
        assert_int_equal(d.hint_term, 40);
        assert_int_equal(d.ctx, m.ctx);
        assert_int_equal(d.offset, 4096);
        assert_int_equal(d.reject, m.reject);
        assert_int_equal(d.transfer, m.transfer);
        assert_int_equal(d.done, m.done);
        assert_int_equal(d.n_entries, m.n_entries);
        for (uint32_t i = 0; i < m.n_entries; i++) {
            assert_int_equal(d.entries[i].index, m.entries[i].index);
            assert_int_equal(d.entries[i].term, m.entries[i].term);
            assert_int_equal(d.entries[i].type, m.entries[i].type);
            assert_int_equal(d.entries[i].len, m.entries[i].len);
            if (m.entries[i].len)
                assert_memory_equal(d.entries[i].data, m.entries[i].data, m.entries[i].len);
        }
        assert_int_equal(d.conf.n, m.conf.n);
        assert_int_equal(d.chunk_len, m.chunk_len);
        if (m.chunk_len)
            assert_memory_equal(d.chunk, m.chunk, m.chunk_len);
        assert_int_equal(raft_encode(&m, buf, n - 1), 0); /* too small a buffer */
    }
}

/* Every strict prefix, and the message plus a trailing byte, is refused. */
static void test_truncated_and_trailing(void **state)
{
    (void)state;
    for (uint8_t t = 1; t < RAFT_MSG_TYPE_END; t++) {
        struct raft_msg m = sample(t), d;
        uint8_t buf[512];
        size_t n = raft_encode(&m, buf, sizeof(buf));
        for (size_t k = 0; k < n; k++) {
            uint8_t *copy = malloc(k ? k : 1); /* exact size: ASan sees any overread */
            memcpy(copy, buf, k);
            assert_int_equal(raft_decode(copy, k, &d, g_out, RAFT_MAX_MSG_ENTRIES),
                             RAFT_EMALFORMED);
            free(copy);
        }
        buf[n] = 0;
        assert_int_equal(raft_decode(buf, n + 1, &d, g_out, RAFT_MAX_MSG_ENTRIES),
                         RAFT_EMALFORMED);
    }
}

static void test_rejects_bad_fields(void **state)
{
    (void)state;
    struct raft_msg m = sample(RAFT_MSG_APPEND), d;
    uint8_t buf[512];
    size_t n = raft_encode(&m, buf, sizeof(buf));
    uint8_t b2[512];
    memcpy(b2, buf, n);
    b2[0] = 2; /* unknown version */
    assert_int_equal(raft_decode(b2, n, &d, g_out, 16), RAFT_EMALFORMED);
    memcpy(b2, buf, n);
    b2[1] = RAFT_MSG_TYPE_END; /* unknown type */
    assert_int_equal(raft_decode(b2, n, &d, g_out, 16), RAFT_EMALFORMED);
    memcpy(b2, buf, n);
    b2[2] = 0x80; /* unknown flag */
    assert_int_equal(raft_decode(b2, n, &d, g_out, 16), RAFT_EMALFORMED);
    /* more entries than the caller's array holds */
    assert_int_equal(raft_decode(buf, n, &d, g_out, 2), RAFT_EMALFORMED);
    /* an entry count far beyond the limit */
    memcpy(b2, buf, n);
    b2[83] = 0xff;
    b2[84] = 0xff;
    assert_int_equal(raft_decode(b2, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* an entry length claiming 4 GiB */
    memcpy(b2, buf, n);
    memset(b2 + 87 + 9, 0xff, 4);
    assert_int_equal(raft_decode(b2, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* from = 0 */
    memcpy(b2, buf, n);
    memset(b2 + 3, 0, 8);
    assert_int_equal(raft_decode(b2, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* a snapshot with too many servers */
    struct raft_msg s = sample(RAFT_MSG_SNAPSHOT);
    n = raft_encode(&s, buf, sizeof(buf));
    buf[83] = RAFT_MAX_NODES + 1;
    assert_int_equal(raft_decode(buf, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* the same server twice */
    s = sample(RAFT_MSG_SNAPSHOT);
    s.conf.s[1].id = s.conf.s[0].id;
    n = raft_encode(&s, buf, sizeof(buf));
    assert_int_equal(raft_decode(buf, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* encoder refuses what the decoder would refuse */
    struct raft_msg bad = sample(RAFT_MSG_HEARTBEAT);
    bad.n_entries = 1;
    bad.entries = g_in;
    assert_int_equal(raft_encode(&bad, buf, sizeof(buf)), 0);
    assert_int_equal(raft_decode(NULL, 0, &d, g_out, 1), RAFT_EMALFORMED);
}

/* Mutated valid messages and random bytes: decode or refuse, never crash. Whatever
 * decodes is also fed to a core, which must not crash either. */
static void test_fuzz(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 3, 3, NULL);
    fx_campaign(&f, 0);
    int decoded = 0;
    for (int iter = 0; iter < 200000; iter++) {
        uint8_t buf[600];
        size_t n;
        if (iter % 4 == 0) {
            n = rnd() % sizeof(buf);
            for (size_t k = 0; k < n; k++)
                buf[k] = (uint8_t)rnd();
            buf[0] = 1;
        } else {
            struct raft_msg m = sample((uint8_t)(1 + rnd() % (RAFT_MSG_TYPE_END - 1)));
            n = raft_encode(&m, buf, sizeof(buf));
            int flips = 1 + (int)(rnd() % 4);
            for (int k = 0; k < flips; k++)
                buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
            if (rnd() % 3 == 0)
                n = rnd() % (n + 1);
        }
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        struct raft_msg d;
        if (raft_decode(exact, n, &d, g_out, RAFT_MAX_MSG_ENTRIES) == 0) {
            decoded++;
            d.to = 1 + rnd() % 3;
            raft_step(f.nd[d.to - 1].r, &d); /* may be rejected; must not crash */
            fx_readies(&f);
            for (int i = 0; i < f.nq; i++)
                free(f.q[i].buf);
            f.nq = 0;
        }
        free(exact);
    }
    for (int i = 0; i < f.nq; i++)
        free(f.q[i].buf);
    f.nq = 0;
    assert_true(decoded > 0);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_types),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_rejects_bad_fields),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
