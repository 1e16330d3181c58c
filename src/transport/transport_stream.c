/*
 * src/transport/transport_stream.c - part of the transport module
 * (src/transport/transport.h): a long-lived byte stream from any RESP
 * server, on a raw link of its own (src/transport/transport_link.c).
 */
#include <stdlib.h>

#include "base/util.h"
#include "transport/transport.h"
#include "transport/transport_int.h"

struct transport_stream {
    struct rlink *link;
    const struct transport_stream_ops *ops;
    void *ud;
};

static void stream_connected(void *ud)
{
    struct transport_stream *s = ud;
    s->ops->connected(s->ud);
}

static size_t stream_bytes(void *ud, const char *p, size_t len)
{
    struct transport_stream *s = ud;
    return s->ops->bytes(s->ud, p, len);
}

static void stream_lost(void *ud, const char *why)
{
    struct transport_stream *s = ud;
    s->link = NULL; /* the link frees itself */
    s->ops->lost(s->ud, why);
    free(s);
}

static void stream_frame(void *ud, const char *frame, size_t len)
{
    (void)ud;
    (void)frame;
    (void)len; /* a raw link delivers bytes only */
}

static const struct rlink_ops stream_ops = {stream_connected, stream_frame, stream_lost,
                                            stream_bytes};

struct transport_stream *transport_stream_open(struct transport *t, const char *host, int port,
                                               const struct transport_stream_ops *ops, void *ud)
{
    ASSERT(ops && ops->connected && ops->bytes && ops->lost);
    struct transport_stream *s = util_xcalloc(1, sizeof *s);
    s->ops = ops;
    s->ud = ud;
    s->link = rlink_open(t->loop, host, port, NULL, &stream_ops, s);
    if (!s->link) {
        free(s);
        return NULL;
    }
    return s;
}

void transport_stream_send(struct transport_stream *s, int argc, const struct resp_arg *argv)
{
    rlink_send_argv(s->link, argc, argv); /* written from the loop */
}

void transport_stream_pause(struct transport_stream *s, int paused)
{
    rlink_pause(s->link, paused);
}

void transport_stream_close(struct transport_stream *s)
{
    if (!s) return;
    rlink_close(s->link);
    free(s);
}
