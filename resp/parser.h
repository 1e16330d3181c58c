/*
 * resp/parser.h - incremental RESP request parser (multibulk and inline).
 *
 * Pure and I/O-free (libc only). The caller owns a byte buffer holding the
 * not-yet-consumed input of one connection; it calls resp_parser_feed() with
 * the whole unconsumed region each time more bytes arrive. The parser keeps
 * its progress as offsets relative to the start of that region, so the caller
 * may move or grow the buffer between calls (never drop unconsumed bytes), and
 * work is never repeated: feeding N bytes one at a time costs O(N).
 *
 * Limits (struct resp_limits) are enforced with Redis's exact error texts:
 *   "Protocol error: too big inline request"        inline line > inline_len_max
 *   "Protocol error: unbalanced quotes in request"  inline quoting
 *   "Protocol error: too big mbulk count string"    '*' line > inline_len_max
 *   "Protocol error: invalid multibulk length"      not a number / > args_max
 *   "Protocol error: too big bulk count string"     '$' line > inline_len_max
 *   "Protocol error: expected '$', got 'x'"
 *   "Protocol error: invalid bulk length"           not a number / < 0 / > bulk_len_max
 * After RESP_PARSE_ERROR the connection must be closed (after the error reply
 * is flushed); the parser must be reset before any further use.
 *
 * Redis 7.0 behaviour mirrored on purpose:
 *  - "*<n>" with n <= 0 and inline lines with no arguments are skipped.
 *  - The byte after the '\r' of a '*' or '$' line, and the two bytes after a
 *    bulk body, are skipped without being checked to be "\n" / "\r\n".
 *  - Numbers are parsed like string2ll: optional '-', no '+', no blanks, no
 *    leading zeros ("-0" too), no overflow, fewer than 21 bytes.
 *  - Inline lines end at '\n' (one preceding '\r' is stripped) and are split
 *    like sdssplitargs; the line ends at its first NUL byte, as it does for
 *    sdssplitargs, which reads the line as a C string.
 * Deliberate difference: Redis applies inline_len_max only while a line's
 * terminator has not arrived yet, so its verdict on a long line depends on how
 * the bytes were split into reads. Here a line (inline, '*' or '$') is refused
 * iff more than inline_len_max bytes precede its terminator ('\n' for inline,
 * '\r' otherwise) -- Redis's verdict for byte-by-byte delivery -- so the
 * outcome never depends on fragmentation. Redis also stops searching for a
 * line terminator at a NUL byte (strchr); here NUL is an ordinary byte there.
 *
 * Memory: argv grows with the arguments that actually arrive, at most doubling,
 * and starts at no more than 1024 entries whatever count a client claims; it
 * shrinks back to 1024 entries when the next command starts. Inline arguments
 * are unescaped into a scratch buffer of at most one line. Allocation failure
 * aborts the process (as Redis's allocator does).
 */
#ifndef RESP_PARSER_H
#define RESP_PARSER_H

#include <stddef.h>

/* One argument of a command: borrowed bytes, NOT NUL-terminated. */
struct resp_arg {
    const char *ptr;
    size_t len;
};

struct resp_limits {
    size_t bulk_len_max;   /* proto-max-bulk-len, Redis default 512 MB */
    size_t args_max;       /* Redis: 1024*1024 */
    size_t inline_len_max; /* Redis: 64 KB */
    /* Redis's tighter limits for a client that has not authenticated yet:
     * at most RESP_UNAUTH_ARGS_MAX arguments ("Protocol error: unauthenticated
     * multibulk length") and RESP_UNAUTH_BULK_MAX bytes per bulk
     * ("Protocol error: unauthenticated bulk length"). The caller may flip it
     * between commands. */
    int unauthenticated;
};

#define RESP_UNAUTH_ARGS_MAX 10
#define RESP_UNAUTH_BULK_MAX 16384

enum resp_parse_status {
    RESP_PARSE_NEED_MORE = 0, /* incomplete: call again with the same bytes + more */
    RESP_PARSE_COMMAND = 1,   /* a full command: see argc/argv, *consumed */
    RESP_PARSE_ERROR = -1,    /* protocol error: see errmsg */
};

struct resp_parser_state; /* private */

struct resp_parser {
    struct resp_limits limits;
    /* Valid after RESP_PARSE_COMMAND until the next feed/reset: argv[i].ptr
     * points into the caller's buffer (multibulk) or into parser scratch
     * space (inline). argc may be 0 never: empty commands are skipped. */
    size_t argc;
    struct resp_arg *argv;
    char errmsg[128];
    struct resp_parser_state *st; /* owned */
};

void resp_parser_init(struct resp_parser *p, const struct resp_limits *lim);
void resp_parser_free(struct resp_parser *p);
/* Forgets any partial command (keeps allocations). */
void resp_parser_reset(struct resp_parser *p);

/*
 * Parses at most one command from buf[0..len). On RESP_PARSE_COMMAND sets
 * *consumed to the bytes of that command (including any empty lines/empty
 * multibulks skipped before it); the caller drops them after using argv. On
 * RESP_PARSE_NEED_MORE, *consumed is the number of leading bytes that may be
 * dropped already (skipped empty commands); progress inside the incomplete
 * command is kept relative to buf + *consumed. Bulk-length hint: after
 * NEED_MORE, resp_parser_want() tells how many bytes the pending bulk still
 * needs, so the caller can size its buffer once for a large value.
 *
 * The next call must pass buf + *consumed (possibly moved, possibly followed
 * by more bytes): every byte from there that was passed before must be passed
 * again. On RESP_PARSE_ERROR, *consumed covers only skipped empty commands.
 */
enum resp_parse_status resp_parser_feed(struct resp_parser *p, const char *buf, size_t len,
                                        size_t *consumed);
/*
 * A look ahead for hints, no parsing state: if buf starts with a complete
 * multibulk command of 1 to RESP_PEEK_ARGS_MAX arguments, each announced by
 * a well-formed "$<len>\r\n" line, returns the command's length and sets
 * *arg1 to its second argument (the first key of most commands; {NULL, 0}
 * for a command alone); otherwise returns 0 (incomplete, inline, empty,
 * longer or malformed: resp_parser_feed() judges those). Reads nothing at or
 * past buf[len]. Costs one pass over the command's header lines.
 */
#define RESP_PEEK_ARGS_MAX 16
size_t resp_peek_arg1(const char *buf, size_t len, struct resp_arg *arg1);

/* Bytes still needed by the bulk being read after NEED_MORE (its body and
 * CRLF, minus what was already passed); 0 when not inside a bulk body. */
size_t resp_parser_want(const struct resp_parser *p);
/* 1 if the command being parsed (or last parsed) is an inline command. */
int resp_parser_is_inline(const struct resp_parser *p);
/* Heap bytes the parser holds now (argv, scratch, state): for client memory
 * accounting. Does not include the caller's buffer. */
size_t resp_parser_mem_bytes(const struct resp_parser *p);

#endif
