/*
 * resp/frame.c - the length of one RESP2/RESP3 reply in a byte stream (see
 * frame.h). A stack of counts, one per open aggregate, says how many values
 * each still expects; a frame ends when the top level has its one value.
 */
#include "frame.h"

#include <stdio.h>
#include <string.h>

#include "../raft/raft_assert.h"

void resp_frame_reset(struct resp_frame *f)
{
    f->off = 0;
    f->searched = 0;
    f->body = 0;
    f->depth = 0;
    f->left[0] = 1;
    f->errmsg[0] = '\0';
}

static enum resp_frame_status fail(struct resp_frame *f, const char *what, char type)
{
    if (type)
        snprintf(f->errmsg, sizeof f->errmsg, "Protocol error: %s '%c'", what, type);
    else
        snprintf(f->errmsg, sizeof f->errmsg, "Protocol error: %s", what);
    return RESP_FRAME_ERROR;
}

/* p[0..n) as Redis writes a count: "-1", "0", or digits without a leading
 * zero, at most RESP_FRAME_COUNT_MAX. -2 when it is none of those. */
static int64_t read_count(const char *p, size_t n)
{
    if (n == 2 && p[0] == '-' && p[1] == '1') return -1;
    if (n == 0 || n > 14 || (p[0] == '0' && n > 1)) return -2;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -2;
        v = v * 10 + (p[i] - '0');
    }
    return v <= RESP_FRAME_COUNT_MAX ? v : -2;
}

/* One value of the open level is complete. 1 when that ends the frame. */
static int value_done(struct resp_frame *f)
{
    for (;;) {
        ASSERT(f->left[f->depth] > 0);
        if (--f->left[f->depth] > 0) return 0;
        if (f->depth == 0) return 1;
        f->depth--;
    }
}

/* The header line at f->off ("<type><text>\r\n", whole in buf[0..len)) was
 * read: opens an aggregate, starts a bulk body, or completes a value.
 * Returns 1 when that ends the frame, 0 to go on, -1 on an error. */
static int header(struct resp_frame *f, const char *line, size_t n)
{
    char type = line[0];
    int64_t count = 0;
    switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
        return value_done(f);
    case '$':
    case '=':
    case '!':
    case '*':
    case '~':
    case '>':
    case '%':
    case '|':
        count = read_count(line + 1, n - 1);
        break;
    default:
        fail(f, "unknown reply type", type);
        return -1;
    }
    if (count < -1 || (count == -1 && type != '$' && type != '*')) {
        fail(f, "invalid length or count after", type);
        return -1;
    }
    if (count == -1) return value_done(f); /* null bulk or null array */
    if (type == '$' || type == '=' || type == '!') {
        f->body = (uint64_t)count + 2;
        return 0;
    }
    if (type == '%' || type == '|') count *= 2;
    if (type == '|') f->left[f->depth]++; /* the value it describes still comes */
    if (count == 0) return value_done(f);
    if (f->depth == RESP_FRAME_DEPTH_MAX) {
        fail(f, "reply nested too deep at", type);
        return -1;
    }
    f->left[++f->depth] = count;
    return 0;
}

/* Bytes of a bulk body and its CRLF, once all arrived. */
static int body(struct resp_frame *f, const char *buf)
{
    const char *end = buf + f->off + f->body - 2;
    if (end[0] != '\r' || end[1] != '\n') {
        fail(f, "bulk reply not followed by CRLF", 0);
        return -1;
    }
    f->off += f->body;
    f->body = 0;
    return value_done(f);
}

enum resp_frame_status resp_frame_feed(struct resp_frame *f, const char *buf, size_t len,
                                       size_t *frame_len)
{
    ASSERT(len >= f->off);
    for (;;) {
        int end;
        if (f->body) {
            if (len - f->off < f->body) return RESP_FRAME_MORE;
            end = body(f, buf);
        } else {
            size_t from = f->off + f->searched;
            const char *nl = len > from ? memchr(buf + from, '\n', len - from) : NULL;
            if (!nl) {
                f->searched = len - f->off;
                if (f->searched > RESP_FRAME_LINE_MAX) return fail(f, "reply line too long", 0);
                return RESP_FRAME_MORE;
            }
            size_t n = (size_t)(nl - (buf + f->off)); /* the line and its '\r' */
            if (n < 2 || nl[-1] != '\r') return fail(f, "reply line not ended by CRLF", 0);
            end = header(f, buf + f->off, n - 1);
            f->off += n + 1;
            f->searched = 0;
        }
        if (end < 0) return RESP_FRAME_ERROR;
        if (end) {
            *frame_len = f->off;
            resp_frame_reset(f);
            return RESP_FRAME_DONE;
        }
    }
}
