/*
 * tests/fuzz/fuzz_raft_codec.c - libFuzzer target for raft/codec.c.
 *
 * Property: raft_decode() never reads outside its input and never crashes;
 * whatever it accepts re-encodes (raft_encode()) to exactly the input bytes,
 * so there is one encoding per message and nothing in an accepted message is
 * silently dropped or normalised. The same holds for a configuration read by
 * raft_conf_decode() when it comes in the current format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../raft/raft.h"

static void must_equal(const char *what, const uint8_t *a, size_t alen, const uint8_t *b,
                       size_t blen)
{
    if (alen == blen && (alen == 0 || !memcmp(a, b, alen))) return;
    fprintf(stderr, "fuzz_raft_codec: %s: decoded %zu bytes re-encode to %zu other bytes\n", what,
            alen, blen);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct raft_entry ents[RAFT_MAX_MSG_ENTRIES];
    struct raft_msg m;
    if (raft_decode(data, size, &m, ents, RAFT_MAX_MSG_ENTRIES) == 0) {
        size_t need = raft_encoded_size(&m);
        uint8_t *out = malloc(need ? need : 1);
        if (!out) abort();
        size_t n = raft_encode(&m, out, need);
        if (n == 0) {
            fprintf(stderr, "fuzz_raft_codec: an accepted message does not encode\n");
            abort();
        }
        must_equal("message", data, size, out, n);
        free(out);
    }
    /* The configuration decoder on its own (it also reads entry payloads). */
    struct raft_conf c;
    if (size <= UINT32_MAX && raft_conf_decode(data, (uint32_t)size, &c) == 0) {
        uint8_t out[RAFT_CONF_MAX_BYTES];
        uint32_t n = raft_conf_encode(&c, out);
        struct raft_conf back;
        if (raft_conf_decode(out, n, &back) != 0 || memcmp(&back, &c, sizeof c) != 0) {
            fprintf(stderr, "fuzz_raft_codec: a decoded configuration does not round-trip\n");
            abort();
        }
    }
    return 0;
}
