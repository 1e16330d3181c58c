/*
 * raft/codec.c - message encoding to bytes and validating decoding. Pure.
 *
 * Version 2 layout, little-endian, fixed-width:
 *   u8 version | u8 type | u8 flags (1 reject, 2 transfer, 4 done, 8 recovering)
 *   u64 from, to, term, index, log_term, commit, hint, hint_term, ctx, offset
 *   APPEND:   u32 n | n x (u64 term | u8 type | u32 len | len bytes)
 *             (entry i has index = index + 1 + i, so it cannot be forged out of order)
 *   SNAPSHOT: u32 conf_len | conf_len bytes of raft_conf_encode() (the configuration,
 *             addresses included, exactly as a configuration entry holds it) |
 *             u32 chunk_len | chunk bytes
 *   others:   nothing more
 * Version 1 differed only in SNAPSHOT (u32 conf_n | conf_n x (u64 id | u8 voter), no
 * addresses); it is refused like any unknown version (see raft.h).
 * The decoder checks every length against what remains before reading, rejects
 * unknown versions, types, flags and entry types, more entries than allowed, oversize
 * entries or messages, and trailing bytes; it never reads outside the buffer.
 */
#include <string.h>
#include "raft_int.h"

#define HDR_LEN (3 + 10 * 8)
#define ENT_HDR_LEN (8 + 1 + 4)

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    raft_le_put(p, v, 8);
    return p + 8;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    raft_le_put(p, v, 4);
    return p + 4;
}

size_t raft_encoded_size(const struct raft_msg *m)
{
    size_t n = HDR_LEN;
    if (m->type == RAFT_MSG_APPEND) {
        n += 4;
        for (uint32_t i = 0; i < m->n_entries; i++)
            n += ENT_HDR_LEN + m->entries[i].len;
    } else if (m->type == RAFT_MSG_SNAPSHOT) {
        n += 4 + (size_t)raft_conf_size(&m->conf) + 4 + m->chunk_len;
    }
    return n;
}

static bool encodable(const struct raft_msg *m)
{
    if (m->type == 0 || m->type >= RAFT_MSG_TYPE_END || m->n_entries > RAFT_MAX_MSG_ENTRIES ||
        !raft_conf_valid(&m->conf) || m->chunk_len > RAFT_CODEC_MAX_ENTRY)
        return false;
    if (m->type != RAFT_MSG_APPEND && m->n_entries) return false;
    for (uint32_t i = 0; i < m->n_entries; i++)
        if (m->entries[i].len > RAFT_CODEC_MAX_ENTRY || m->entries[i].type > RAFT_ENTRY_CONF)
            return false;
    return true;
}

size_t raft_encode(const struct raft_msg *m, uint8_t *buf, size_t cap)
{
    size_t need = raft_encoded_size(m);
    if (!encodable(m) || need > cap || need > RAFT_CODEC_MAX_MSG) return 0;
    uint8_t *p = buf;
    *p++ = RAFT_CODEC_VERSION;
    *p++ = m->type;
    *p++ = (uint8_t)((m->reject ? 1 : 0) | (m->transfer ? 2 : 0) | (m->done ? 4 : 0) |
                     (m->recovering ? 8 : 0));
    const uint64_t f[10] = {m->from,   m->to,   m->term,      m->index, m->log_term,
                            m->commit, m->hint, m->hint_term, m->ctx,   m->offset};
    for (int i = 0; i < 10; i++)
        p = put64(p, f[i]);
    if (m->type == RAFT_MSG_APPEND) {
        p = put32(p, m->n_entries);
        for (uint32_t i = 0; i < m->n_entries; i++) {
            const struct raft_entry *e = &m->entries[i];
            p = put64(p, e->term);
            *p++ = (uint8_t)e->type;
            p = put32(p, e->len);
            if (e->len) memcpy(p, e->data, e->len);
            p += e->len;
        }
    } else if (m->type == RAFT_MSG_SNAPSHOT) {
        uint32_t conf_len = raft_conf_encode(&m->conf, p + 4);
        p = put32(p, conf_len) + conf_len;
        p = put32(p, m->chunk_len);
        if (m->chunk_len) memcpy(p, m->chunk, m->chunk_len);
        p += m->chunk_len;
    }
    return (size_t)(p - buf);
}

/* A bounds-checked reader: every get fails once the input is exhausted. */
struct rd {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint64_t get64(struct rd *r)
{
    const uint8_t *p = take(r, 8);
    return p ? raft_le_get(p, 8) : 0;
}

static uint32_t get32(struct rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)raft_le_get(p, 4) : 0;
}

static uint8_t get8(struct rd *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p : 0;
}

static int decode_entries(struct rd *r, struct raft_msg *m, struct raft_entry *ents, uint32_t cap)
{
    uint32_t n = get32(r);
    if (r->bad || n > RAFT_MAX_MSG_ENTRIES || n > cap || m->index > UINT64_MAX - n - 1 ||
        (uint64_t)n * ENT_HDR_LEN > r->left)
        return RAFT_EMALFORMED;
    for (uint32_t i = 0; i < n; i++) {
        struct raft_entry *e = &ents[i];
        e->term = get64(r);
        e->type = get8(r);
        e->len = get32(r);
        e->index = m->index + 1 + i;
        if (r->bad || e->type > RAFT_ENTRY_CONF || e->len > RAFT_CODEC_MAX_ENTRY)
            return RAFT_EMALFORMED;
        e->data = e->len ? take(r, e->len) : NULL;
        if (r->bad) return RAFT_EMALFORMED;
    }
    m->n_entries = n;
    m->entries = n ? ents : NULL;
    return 0;
}

static int decode_snapshot(struct rd *r, struct raft_msg *m)
{
    uint32_t conf_len = get32(r);
    if (r->bad || conf_len > RAFT_CONF_MAX_BYTES) return RAFT_EMALFORMED;
    const uint8_t *conf = take(r, conf_len);
    if (r->bad || raft_conf_decode(conf, conf_len, &m->conf) != 0)
        return RAFT_EMALFORMED; /* ids set and unique, addresses well-formed */
    /* raft_conf_decode() also reads the address-less format of old log entries; a
     * version 2 message carries the current format only (that is version 1's layout). */
    if (raft_conf_size(&m->conf) != conf_len) return RAFT_EMALFORMED;
    m->chunk_len = get32(r);
    if (r->bad || m->chunk_len > RAFT_CODEC_MAX_ENTRY) return RAFT_EMALFORMED;
    m->chunk = m->chunk_len ? take(r, m->chunk_len) : NULL;
    return r->bad ? RAFT_EMALFORMED : 0;
}

int raft_decode(const uint8_t *buf, size_t len, struct raft_msg *m, struct raft_entry *ents,
                uint32_t ents_cap)
{
    memset(m, 0, sizeof(*m));
    if (!buf || len > RAFT_CODEC_MAX_MSG) return RAFT_EMALFORMED;
    struct rd r = {buf, len, false};
    uint8_t version = get8(&r), type = get8(&r), flags = get8(&r);
    if (r.bad || version != RAFT_CODEC_VERSION || type == 0 || type >= RAFT_MSG_TYPE_END ||
        (flags & ~15u))
        return RAFT_EMALFORMED;
    m->type = type;
    m->reject = flags & 1;
    m->transfer = flags & 2;
    m->done = flags & 4;
    m->recovering = flags & 8;
    uint64_t *f[10] = {&m->from,   &m->to,   &m->term,      &m->index, &m->log_term,
                       &m->commit, &m->hint, &m->hint_term, &m->ctx,   &m->offset};
    for (int i = 0; i < 10; i++)
        *f[i] = get64(&r);
    if (r.bad || m->from == 0 || m->to == 0) return RAFT_EMALFORMED;
    int rc = 0;
    if (type == RAFT_MSG_APPEND)
        rc = decode_entries(&r, m, ents, ents_cap);
    else if (type == RAFT_MSG_SNAPSHOT)
        rc = decode_snapshot(&r, m);
    if (rc != 0 || r.left != 0) {
        memset(m, 0, sizeof(*m));
        return RAFT_EMALFORMED;
    }
    return 0;
}
