/*
 * tests/unit/test_raft_codec.c - the wire codec: every message type round-trips;
 * every truncation, random mutation and random byte string is either decoded into
 * something well-formed or rejected with RAFT_EMALFORMED, never a crash or an
 * out-of-bounds read (run under -fsanitize=address,undefined or valgrind to see it).
 * Also the configuration encoding (raft_conf_encode/raft_conf_decode) that both
 * configuration entries and SNAPSHOT messages use: addresses round-trip, the format of
 * logs written before addresses still decodes, malformed ones are refused.
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
/* RAFT_ADDR_MAX - 1 characters: the longest address there is */
static const char addr_max[] = "a-very-long-hostname-of-the-cluster.example.internal.test:65535";

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
        m.conf.n = 3;
        m.conf.s[0] = (struct raft_server){.id = 1, .voter = true};
        strcpy(m.conf.s[0].addr, "10.0.0.1:6379");
        m.conf.s[1] = (struct raft_server){.id = 9, .voter = false};
        strcpy(m.conf.s[1].addr, addr_max);
        m.conf.s[2] = (struct raft_server){.id = 4, .voter = true}; /* address unknown: "" */
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
        fx_assert_conf_equal(&d.conf, &m.conf);
        assert_int_equal(d.chunk_len, m.chunk_len);
        if (m.chunk_len) assert_memory_equal(d.chunk, m.chunk, m.chunk_len);
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
        assert_int_equal(raft_decode(buf, n + 1, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
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
    b2[0] = RAFT_CODEC_VERSION + 1; /* unknown version */
    assert_int_equal(raft_decode(b2, n, &d, g_out, 16), RAFT_EMALFORMED);
    b2[0] = 1; /* the previous version, whose SNAPSHOT carried no addresses */
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
    /* a snapshot with too many servers (u32 conf_len at 83, then the conf's u32 n) */
    struct raft_msg s = sample(RAFT_MSG_SNAPSHOT);
    n = raft_encode(&s, buf, sizeof(buf));
    memcpy(b2, buf, n);
    b2[87] = RAFT_MAX_NODES + 1;
    assert_int_equal(raft_decode(b2, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* a conf_len above RAFT_CONF_MAX_BYTES, or not the conf's real length */
    memcpy(b2, buf, n);
    memset(b2 + 83, 0xff, 4);
    assert_int_equal(raft_decode(b2, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    memcpy(b2, buf, n);
    b2[83]--;
    assert_int_equal(raft_decode(b2, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* a NUL inside an address: server 0's address starts at 87 + 4 + 8 + 1 + 1 */
    memcpy(b2, buf, n);
    assert_int_equal(b2[87 + 4 + 9], strlen("10.0.0.1:6379"));
    b2[87 + 4 + 10 + 2] = 0;
    assert_int_equal(raft_decode(b2, n, &d, g_out, RAFT_MAX_MSG_ENTRIES), RAFT_EMALFORMED);
    /* the encoder refuses an address without its NUL */
    s = sample(RAFT_MSG_SNAPSHOT);
    memset(s.conf.s[2].addr, 'x', RAFT_ADDR_MAX);
    assert_int_equal(raft_encode(&s, buf, sizeof(buf)), 0);
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
            buf[0] = RAFT_CODEC_VERSION;
        } else {
            struct raft_msg m = sample((uint8_t)(1 + rnd() % (RAFT_MSG_TYPE_END - 1)));
            n = raft_encode(&m, buf, sizeof(buf));
            int flips = 1 + (int)(rnd() % 4);
            for (int k = 0; k < flips; k++)
                buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
            if (rnd() % 3 == 0) n = rnd() % (n + 1);
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

/* ---- configuration encoding ---- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A configuration of n servers: ids 1..n (n > 2: the last id is 1000), every third a
 * learner, addresses cycling through "", a short one and the longest. */
static struct raft_conf make_conf(uint32_t n)
{
    struct raft_conf c;
    memset(&c, 0, sizeof(c));
    c.n = n;
    for (uint32_t k = 0; k < n; k++) {
        c.s[k].id = k + 1 == n && n > 2 ? 1000 : k + 1;
        c.s[k].voter = k % 3 != 2;
        if (k % 3 == 1)
            snprintf(c.s[k].addr, RAFT_ADDR_MAX, "node%u:%u", k, 7000 + k);
        else if (k % 3 == 2)
            strcpy(c.s[k].addr, addr_max);
    }
    return c;
}

static void test_conf_roundtrip(void **state)
{
    (void)state;
    assert_int_equal(strlen(addr_max), RAFT_ADDR_MAX - 1);
    for (uint32_t n = 0; n <= RAFT_MAX_NODES; n++) {
        struct raft_conf c = make_conf(n), d;
        uint8_t buf[RAFT_CONF_MAX_BYTES + 1];
        uint32_t want = 4;
        for (uint32_t k = 0; k < n; k++)
            want += 8 + 1 + 1 + (uint32_t)strlen(c.s[k].addr);
        uint32_t len = raft_conf_encode(&c, buf);
        assert_int_equal(len, want);
        assert_true(len <= RAFT_CONF_MAX_BYTES);
        memset(&d, 0xa5, sizeof(d));
        assert_int_equal(raft_conf_decode(buf, len, &d), 0);
        fx_assert_conf_equal(&d, &c);
        for (uint32_t k = 0; k < n; k++) /* the tail after the NUL is zero */
            for (size_t i = strlen(d.s[k].addr); i < RAFT_ADDR_MAX; i++)
                assert_int_equal(d.s[k].addr[i], 0);
        /* every truncation and a trailing byte are refused, except a cut at exactly
         * 4 + 9n bytes, which is the old format's length: a blob is always stored and
         * sent with its exact length (see raft_conf_decode()) */
        for (uint32_t k = 0; k < len; k++) {
            uint8_t *copy = malloc(k ? k : 1); /* exact size: ASan sees any overread */
            memcpy(copy, buf, k);
            if (k != 4 + 9 * n) assert_int_equal(raft_conf_decode(copy, k, &d), RAFT_EMALFORMED);
            free(copy);
        }
        buf[len] = 0;
        assert_int_equal(raft_conf_decode(buf, len + 1, &d), RAFT_EMALFORMED);
    }
    /* the largest configuration fills RAFT_CONF_MAX_BYTES exactly */
    struct raft_conf big = make_conf(RAFT_MAX_NODES), d;
    for (uint32_t k = 0; k < RAFT_MAX_NODES; k++)
        strcpy(big.s[k].addr, addr_max);
    uint8_t buf[RAFT_CONF_MAX_BYTES];
    assert_int_equal(raft_conf_encode(&big, buf), RAFT_CONF_MAX_BYTES);
    assert_int_equal(raft_conf_decode(buf, RAFT_CONF_MAX_BYTES, &d), 0);
    fx_assert_conf_equal(&d, &big);
}

/* Logs written before addresses existed hold u32 n | n x (u64 id | u8 voter). */
static void test_conf_old_format(void **state)
{
    (void)state;
    const raft_id ids[3] = {1, 2, 9};
    uint8_t buf[4 + 3 * 9];
    put_le(buf, 3, 4);
    for (int k = 0; k < 3; k++) {
        put_le(buf + 4 + 9 * k, ids[k], 8);
        buf[4 + 9 * k + 8] = k < 2;
    }
    struct raft_conf d;
    memset(&d, 0xa5, sizeof(d));
    assert_int_equal(raft_conf_decode(buf, sizeof(buf), &d), 0);
    assert_int_equal(d.n, 3);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(d.s[k].id, ids[k]);
        assert_int_equal(d.s[k].voter, k < 2);
        assert_string_equal(d.s[k].addr, "");
    }
    /* n = 0 is the same 4 bytes in both formats: an empty configuration */
    uint8_t empty[4] = {0, 0, 0, 0};
    assert_int_equal(raft_conf_decode(empty, 4, &d), 0);
    assert_int_equal(d.n, 0);
    /* the old format's own checks still hold */
    buf[4 + 9 + 8] = 2; /* a voter byte that is not 0 or 1 */
    assert_int_equal(raft_conf_decode(buf, sizeof(buf), &d), RAFT_EMALFORMED);
    buf[4 + 9 + 8] = 1;
    put_le(buf + 4 + 9, 1, 8); /* server 1 twice */
    assert_int_equal(raft_conf_decode(buf, sizeof(buf), &d), RAFT_EMALFORMED);
    put_le(buf + 4 + 9, 0, 8); /* id 0 */
    assert_int_equal(raft_conf_decode(buf, sizeof(buf), &d), RAFT_EMALFORMED);
}

/* One server {id 5, voter, addr} in the new format, addr_len given separately so that
 * it can lie; returns the length. */
static uint32_t one_server(uint8_t *buf, uint8_t addr_len, const char *addr, uint32_t addr_bytes)
{
    put_le(buf, 1, 4);
    put_le(buf + 4, 5, 8);
    buf[12] = 1;
    buf[13] = addr_len;
    memcpy(buf + 14, addr, addr_bytes);
    return 14 + addr_bytes;
}

static void test_conf_rejects_malformed(void **state)
{
    (void)state;
    uint8_t buf[RAFT_CONF_MAX_BYTES];
    char a[300];
    struct raft_conf d;
    memset(a, 'h', sizeof(a));
    assert_int_equal(raft_conf_decode(buf, one_server(buf, 5, "h:123", 5), &d), 0);
    assert_string_equal(d.s[0].addr, "h:123");
    /* addr_len too long: RAFT_ADDR_MAX (no room for the NUL) or more, bytes present */
    uint32_t len = one_server(buf, RAFT_ADDR_MAX, a, RAFT_ADDR_MAX);
    assert_int_equal(raft_conf_decode(buf, len, &d), RAFT_EMALFORMED);
    len = one_server(buf, 255, a, 255);
    assert_int_equal(raft_conf_decode(buf, len, &d), RAFT_EMALFORMED);
    len = one_server(buf, RAFT_ADDR_MAX - 1, a, RAFT_ADDR_MAX - 1); /* the longest is fine */
    assert_int_equal(raft_conf_decode(buf, len, &d), 0);
    assert_int_equal(strlen(d.s[0].addr), RAFT_ADDR_MAX - 1);
    /* addr_len beyond the bytes there are (truncated), or short of them (trailing) */
    assert_int_equal(raft_conf_decode(buf, one_server(buf, 9, "h:123", 5), &d), RAFT_EMALFORMED);
    assert_int_equal(raft_conf_decode(buf, one_server(buf, 3, "h:123", 5), &d), RAFT_EMALFORMED);
    /* a NUL inside the address, or at its end */
    assert_int_equal(raft_conf_decode(buf, one_server(buf, 5, "h\0:23", 5), &d), RAFT_EMALFORMED);
    assert_int_equal(raft_conf_decode(buf, one_server(buf, 6, "h:123", 6), &d), RAFT_EMALFORMED);
    /* a second server cut in its header, in its address */
    struct raft_conf c = make_conf(2);
    len = raft_conf_encode(&c, buf);
    assert_int_equal(raft_conf_decode(buf, len - 1, &d), RAFT_EMALFORMED);
    assert_int_equal(raft_conf_decode(buf, 4 + 10 + 12, &d), RAFT_EMALFORMED);
    /* voter byte, id 0, a repeated id, too many servers, too short for n */
    len = one_server(buf, 5, "h:123", 5);
    buf[12] = 2;
    assert_int_equal(raft_conf_decode(buf, len, &d), RAFT_EMALFORMED);
    buf[12] = 1;
    put_le(buf + 4, 0, 8);
    assert_int_equal(raft_conf_decode(buf, len, &d), RAFT_EMALFORMED);
    c = make_conf(3);
    c.s[2].id = c.s[0].id;
    len = raft_conf_encode(&c, buf);
    assert_int_equal(raft_conf_decode(buf, len, &d), RAFT_EMALFORMED);
    c = make_conf(RAFT_MAX_NODES);
    len = raft_conf_encode(&c, buf);
    put_le(buf, RAFT_MAX_NODES + 1, 4);
    assert_int_equal(raft_conf_decode(buf, len, &d), RAFT_EMALFORMED);
    assert_int_equal(raft_conf_decode(buf, 3, &d), RAFT_EMALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_types),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_rejects_bad_fields),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_conf_roundtrip),
        cmocka_unit_test(test_conf_old_format),
        cmocka_unit_test(test_conf_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
