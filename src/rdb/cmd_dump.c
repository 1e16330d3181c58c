/*
 * src/rdb/cmd_dump.c - DUMP (see cmd_dump.h).
 */
#include <stdlib.h>

#include "base/crc64.h"
#include "base/le.h"
#include "cmd/rows.h"
#include "rdb/cmd_dump.h"
#include "rdb/rdb_io.h"
#include "rdb/rdb_value.h"

int rdb_dump_payload(struct text *out, const struct kv_val *v)
{
    size_t start = out->len;
    if (rdb_put_value(out, v, 1) != 0) return -1;
    unsigned char footer[10];
    footer[0] = RDB_VERSION & 0xff;
    footer[1] = (RDB_VERSION >> 8) & 0xff;
    text_put(out, (const char *)footer, 2);
    le_put64(footer, crc64(0, out->p + start, out->len - start));
    text_put(out, (const char *)footer, 8);
    return 0;
}

static void cmd_dump(struct cmd_ctx *c)
{
    const struct kv_val *v = kv_lookup_peek(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (!v) {
        resp_add_null(c->out);
        return;
    }
    struct text payload = {0};
    if (rdb_dump_payload(&payload, v) != 0) {
        resp_add_error(c->out, "ERR DUMP of a stream is not offered yet");
        return;
    }
    resp_add_bulk(c->out, payload.p, payload.len);
    free(text_take(&payload));
}

const struct command cmd_table_dump[] = {
    {"dump", 2, R | CMD_RANDOM, 1, 1, 1, cmd_dump, "generic", "2.6.0",
     "Returns a serialized representation of the value stored at a key.", "key",
     "keyspace read slow", NULL, .key_flags = "RO access"},
    CMD_ROWS_END,
};
