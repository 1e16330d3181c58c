/*
 * resp/frame.h - where one reply ends in a stream of RESP2 and RESP3 replies.
 *
 * Pure and I/O-free (libc only). A relay that passes replies on byte for byte
 * (the follower proxy, src/transport/transport.h) needs only each reply's
 * length, not its tree: resp_frame_feed() walks the type bytes, lengths and
 * counts of one reply and says how many bytes it takes, without copying or
 * decoding anything.
 *
 * Every type of RESP3 is known: simple string (+), error (-), integer (:),
 * null (_), double (,), boolean (#), big number ((), bulk string ($, and
 * the null bulk $-1), verbatim string (=), blob error (!), array (*, and the
 * null array *-1), set (~), push (>), map (%, two elements per entry) and
 * attribute (|, a map that comes before the value it describes and belongs
 * to its frame). A push at the top is one frame like any other: the caller
 * tells it from a reply by its first byte.
 *
 * Contract, as resp/parser.h's: the caller keeps the unconsumed input of one
 * connection in a buffer and passes the whole region from the frame's first
 * byte each time more bytes arrive. Progress is kept as an offset from that
 * first byte, so the buffer may move or grow between calls, and each byte is
 * examined once however the stream is split (a long line is searched from
 * where the last call stopped). After RESP_FRAME_DONE the state is ready for
 * the next frame, which starts at buf + *frame_len.
 *
 * Limits: nesting deeper than RESP_FRAME_DEPTH_MAX, a count or length that
 * is not a number of Redis's form (optional '-', digits, no leading zeros) or
 * above RESP_FRAME_COUNT_MAX, a line longer than RESP_FRAME_LINE_MAX, a bulk
 * body not followed by CRLF, and an unknown type byte are errors
 * (RESP_FRAME_ERROR, with a text in errmsg); the stream cannot be read past
 * one, and the caller drops the connection. Scalars' contents (the digits of
 * an integer, the text of a double) are not checked: the frame's end does not
 * depend on them.
 */
#ifndef RESP_FRAME_H
#define RESP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define RESP_FRAME_DEPTH_MAX 512
#define RESP_FRAME_COUNT_MAX ((int64_t)1 << 40)
#define RESP_FRAME_LINE_MAX (1024 * 1024)

enum resp_frame_status {
    RESP_FRAME_MORE = 0,   /* incomplete: call again with the same bytes and more */
    RESP_FRAME_DONE = 1,   /* one whole frame: *frame_len bytes */
    RESP_FRAME_ERROR = -1, /* malformed: errmsg says why */
};

struct resp_frame {
    size_t off;      /* bytes of the frame read so far */
    size_t searched; /* the line being read has no '\n' before off + searched */
    uint64_t body;   /* bytes of a bulk body and its CRLF still to come */
    int depth;       /* aggregates open: left[0..depth] */
    int64_t left[RESP_FRAME_DEPTH_MAX + 1]; /* values each open level still expects */
    char errmsg[80];
};

/* Ready for a frame's first byte. */
void resp_frame_reset(struct resp_frame *f);

/* Reads the frame that starts at buf[0], of which buf[0..len) has arrived.
 * On RESP_FRAME_DONE, *frame_len is its length and f is reset. */
enum resp_frame_status resp_frame_feed(struct resp_frame *f, const char *buf, size_t len,
                                       size_t *frame_len);

#endif
