/*
 * resp/writer.h - RESP2/RESP3 reply writer.
 *
 * Owns: a growable output byte buffer (struct resp_out) and the functions that
 * append one RESP value to it. Pure: libc only, no I/O, no globals.
 *
 * Protocol version: o->proto is 2 or 3 and is read by the writers whose
 * encoding differs between the two (null, map, set, double, bool, verbatim).
 * The server switches it when a client sends HELLO 3.
 *
 * Memory: the buffer grows with realloc. Allocation failure aborts the process
 * (as Redis's allocator does): a reply cannot be half-written. The caller
 * enforces size limits by reading o->len after each command.
 *
 * Reading side: bytes [o->pos, o->len) are pending; resp_out_consume() marks
 * bytes as sent (pos and len both return to 0 once everything is sent). Sent
 * bytes are reclaimed (memmove to the front) only when a write needs room and
 * pos is past half of cap; otherwise the buffer doubles. So o->data may move
 * on any write: do not keep pointers into it across writes.
 *
 * Deferred lengths: resp_add_deferred() records where an aggregate header will
 * go when its element count is not known yet; resp_set_deferred_*() inserts
 * the header there (moving the bytes written since). Handles are offsets from
 * o->pos (so compaction does not invalidate them), hence:
 *  - set nested deferred lengths innermost first (reverse order of creation);
 *  - do not consume from the buffer between creating and setting a handle.
 */
#ifndef RESP_WRITER_H
#define RESP_WRITER_H

#include <stddef.h>

struct resp_out {
    char *data; /* owned */
    size_t pos; /* first unsent byte */
    size_t len; /* end of written bytes */
    size_t cap; /* allocated size of data */
    int proto;  /* 2 or 3 */
    /* Called once for each error reply resp_add_error*() writes, with its
     * message (no '-', no CRLF), so the owner can count errors; NULL: none. */
    void (*on_error)(void *ud, const char *msg, size_t len);
    void *on_error_ud;
};

void resp_out_init(struct resp_out *o, int proto);
void resp_out_free(struct resp_out *o);
/* Drops every pending byte (pos = len = 0); keeps the allocation. */
void resp_out_clear(struct resp_out *o);
/* Marks n pending bytes as sent (n <= len - pos). */
void resp_out_consume(struct resp_out *o, size_t n);
/* Bytes written but not yet consumed. */
static inline size_t resp_out_pending(const struct resp_out *o)
{
    return o->len - o->pos;
}
/* Releases the allocation if it is empty and larger than keep_max bytes. */
void resp_out_shrink(struct resp_out *o, size_t keep_max);

void resp_add_raw(struct resp_out *o, const void *p, size_t n);
/* "+s\r\n"; s must not contain CR or LF (asserted). */
void resp_add_simple(struct resp_out *o, const char *s);
/* "-msg\r\n"; msg carries its code ("ERR ...", "WRONGTYPE ..."). CR/LF in msg
 * are replaced by spaces so an error can never break the framing. */
void resp_add_error(struct resp_out *o, const char *msg);

void resp_add_errorf(struct resp_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void resp_add_int(struct resp_out *o, long long v);
void resp_add_bulk(struct resp_out *o, const void *p, size_t n);
/* NULL writes a null bulk (as Redis's addReplyBulkCString does). */
void resp_add_bulk_cstr(struct resp_out *o, const char *s);
void resp_add_bulk_ll(struct resp_out *o, long long v);
/* RESP3: ",<double>"; RESP2: bulk string. Formats like Redis (%.17g, "inf",
 * "-inf"); any NaN is written "nan" (printf could write "-nan"). */
void resp_add_double(struct resp_out *o, double d);
/* Null bulk: RESP2 "$-1", RESP3 "_". */
void resp_add_null(struct resp_out *o);
/* Null array: RESP2 "*-1", RESP3 "_". */
void resp_add_null_array(struct resp_out *o);
/* Aggregate lengths must be >= 0 (asserted); a null array has its own writer. */
void resp_add_array_len(struct resp_out *o, long n);
/* n key/value pairs: RESP3 "%n", RESP2 "*<2n>". */
void resp_add_map_len(struct resp_out *o, long n);
/* RESP3 "~n", RESP2 "*n". */
void resp_add_set_len(struct resp_out *o, long n);
/* A push message (pub/sub): RESP3 ">n", RESP2 "*n". */
void resp_add_push_len(struct resp_out *o, long n);
/* RESP3 "#t"/"#f", RESP2 ":1"/":0". */
void resp_add_bool(struct resp_out *o, int v);
/* RESP3 "=<n+4>\r\n<ext>:<bytes>", RESP2 bulk of the bytes; ext is 3 chars ("txt"). */
void resp_add_verbatim(struct resp_out *o, const void *p, size_t n, const char *ext);

typedef size_t resp_deferred;
resp_deferred resp_add_deferred(struct resp_out *o);
void resp_set_deferred_array_len(struct resp_out *o, resp_deferred d, long n);
void resp_set_deferred_map_len(struct resp_out *o, resp_deferred d, long n);
void resp_set_deferred_set_len(struct resp_out *o, resp_deferred d, long n);

#endif
