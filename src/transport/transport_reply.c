/*
 * src/transport/transport_reply.c - part of the transport module (src/transport/transport.h):
 * re-encodes a hiredis reply tree as RESP2 (transport_reply_encode), for the
 * proxy link and one-shot requests. With the other src/transport*.c files,
 * the only files that include hiredis.
 */
#include <hiredis/hiredis.h>

#include "resp/writer.h"
#include "transport/transport.h"

static void add_line(struct resp_out *out, char type, const char *s, size_t n)
{
    resp_add_raw(out, &type, 1);
    resp_add_raw(out, s, n);
    resp_add_raw(out, "\r\n", 2);
}

/* One value; an array only writes its header. */
static int encode_one(const redisReply *r, struct resp_out *out)
{
    switch (r->type) {
    case REDIS_REPLY_STATUS:
        add_line(out, '+', r->str, r->len);
        return 0;
    case REDIS_REPLY_ERROR:
        add_line(out, '-', r->str, r->len);
        return 0;
    case REDIS_REPLY_INTEGER:
        resp_add_int(out, r->integer);
        return 0;
    case REDIS_REPLY_STRING:
        resp_add_bulk(out, r->str, r->len);
        return 0;
    case REDIS_REPLY_NIL:
        resp_add_raw(out, "$-1\r\n", 5);
        return 0;
    case REDIS_REPLY_ARRAY:
        resp_add_array_len(out, (long)r->elements);
        return 0;
    }
    return -1;
}

int transport_reply_encode(const struct redisReply *r, struct resp_out *out)
{
    struct {
        const redisReply *arr;
        size_t next;
    } stack[TRANSPORT_REPLY_DEPTH_MAX];
    int depth = 0;
    for (;;) {
        if (encode_one(r, out) != 0) return -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
            if (depth == TRANSPORT_REPLY_DEPTH_MAX) return -1;
            stack[depth].arr = r;
            stack[depth++].next = 0;
        }
        while (depth > 0 && stack[depth - 1].next == stack[depth - 1].arr->elements)
            depth--;
        if (depth == 0) return 0;
        r = stack[depth - 1].arr->element[stack[depth - 1].next++];
    }
}
