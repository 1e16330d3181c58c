/*
 * src/cmd/cmdarg.h - argument and reply helpers shared by the command handlers
 * (src/cmd_*.c, src/t_*.c): option names, integers and floats with Redis's
 * error texts, the type check every typed command starts with, SET's options
 * and the SCAN family's cursor and options.
 *
 * Every parser that can fail replies Redis's error to c->out itself and
 * returns -1, so a handler's first lines read as its argument contract:
 *     long long n;
 *     if (cmd_arg_ll(c, 2, &n) < 0) return;
 */
#ifndef CMDARG_H
#define CMDARG_H

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cmd/cmd.h"
#include "keyspace/kv.h"

/* Replies shared by several command files (Redis's exact texts). */
#define ERR_EXPIRE_FMT "ERR invalid expire time in '%s' command"
#define ERR_ARITY_FMT "ERR wrong number of arguments for '%s' command"

/* Replies a HELP text: an array of status lines (lines is NULL-terminated). */
void cmd_reply_help(struct cmd_ctx *c, const char *const *lines);

/* 1 if argument a equals the option name s, ignoring ASCII case. */
static inline int cmd_arg_is(const struct resp_arg *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

/* SELECT's index in a: 0 <= index < ndbs, or -1 (not an integer, or out of
 * range). The one reading of it: SELECT's handler, and the state machine
 * following a transaction's SELECTs (src/sm/sm.c). */
int cmd_db_index(const struct resp_arg *a, int ndbs);
/* The database a transaction's commands after cmd (argv[0..argc)) run in:
 * its index when cmd is a SELECT that will succeed, else db. Where the
 * state machine logs them (src/sm/sm.c) and where a follower's client is
 * after a transaction it forwarded (src/server/proxy.c). */
int cmd_select_target(const struct command *cmd, int argc, const struct resp_arg *argv, int db,
                      int ndbs);
/* argv[i] as a database of c->dbs; else replies ERR_NOT_INT or "ERR DB
 * index is out of range" (SELECT's, MOVE's and COPY's errors) and returns -1. */
int cmd_arg_db(struct cmd_ctx *c, int i);

/* argv[i] as a long long (Redis's string2ll); else replies ERR_NOT_INT. */
int cmd_arg_ll(struct cmd_ctx *c, int i, long long *out);
/* argv[i] as a long long in [min, max]; else replies ERR_NOT_INT, or
 * "ERR <what> is out of range" (what e.g. "value") when outside. */
int cmd_arg_ll_range(struct cmd_ctx *c, int i, long long min, long long max, const char *what,
                     long long *out);
/* argv[i] as a double (Redis's string2d: no NaN, no spaces); else replies
 * ERR_NOT_FLOAT. */
int cmd_arg_double(struct cmd_ctx *c, int i, double *out);
/* argv[i] as a blocking command's timeout in seconds (fractions allowed),
 * rounded up to ms (0: forever); else replies Redis 7.0's error (not a
 * float; negative, which it also says of a timeout past 2^63 ms). */
int cmd_arg_timeout(struct cmd_ctx *c, int i, int64_t *ms);

/* 1 after replying WRONGTYPE if v (a lookup's result, possibly NULL) holds
 * another type than t; 0 otherwise. */
int cmd_wrongtype(struct cmd_ctx *c, const struct kv_val *v, enum kv_type t);

/* --- SET / GETEX options (src/types/cmd_string.c), shared with their rewrite hooks --- */

enum cmd_set_flags {
    CMD_SET_NX = 1u << 0,
    CMD_SET_XX = 1u << 1,
    CMD_SET_GET = 1u << 2,
    CMD_SET_KEEPTTL = 1u << 3,
    CMD_SET_PERSIST = 1u << 4, /* GETEX only */
    CMD_SET_EX = 1u << 5,
    CMD_SET_PX = 1u << 6,
    CMD_SET_EXAT = 1u << 7,
    CMD_SET_PXAT = 1u << 8,
};
#define CMD_SET_EXPIRE_ANY (CMD_SET_EX | CMD_SET_PX | CMD_SET_EXAT | CMD_SET_PXAT)

struct cmd_set_opts {
    unsigned flags;
    int expire_idx; /* argv index of the (last) expire value, or 0 */
};

/* Parses SET (is_getex = 0, from argv[3]) or GETEX (is_getex = 1, from
 * argv[2]) options with Redis's exact acceptance rules. Returns 0, or -1 on
 * a syntax error (nothing replied). */
int cmd_set_parse_opts(int argc, const struct resp_arg *argv, int is_getex, struct cmd_set_opts *o);
/* The absolute expiry in ms of the expire option in o at now_ms. Returns 0,
 * or -1 if the value is invalid: *not_int tells which error Redis replies
 * (ERR_NOT_INT, else "invalid expire time in '<cmd>' command"). */
int cmd_set_expire_ms(const struct resp_arg *argv, const struct cmd_set_opts *o, int64_t now_ms,
                      int64_t *ms, int *not_int);

/* --- SCAN, HSCAN, SSCAN, ZSCAN --- */

#define CMD_SCAN_COUNT_DEFAULT 10

struct cmd_scan_opts {
    long long count;
    const struct resp_arg *pat;  /* NULL: no pattern (or "*") */
    const struct resp_arg *type; /* NULL: any type (SCAN only) */
};

/* The cursor as Redis reads it (strtoul rules); 0 when invalid after
 * replying "ERR invalid cursor", else 1. */
int cmd_scan_cursor(struct cmd_ctx *c, int i, uint64_t *out);
/* Options from argv[first]: COUNT n, MATCH pattern and (allow_type) TYPE t.
 * Returns 0, or -1 after replying the error. */
int cmd_scan_opts(struct cmd_ctx *c, int first, int allow_type, struct cmd_scan_opts *o);
/* 1 if an element passes o's MATCH. */
int cmd_scan_match(const struct cmd_scan_opts *o, const char *p, size_t len);
/* Replies [cursor, [elements...]] with n elements written by the caller
 * after this call: returns the deferred length to set. */
resp_deferred cmd_scan_reply_begin(struct cmd_ctx *c, uint64_t cursor);

/* One page of HSCAN, SSCAN or ZSCAN: the visitor offers each element to
 * cmd_scan_page_take() and, if taken, writes it (and its value) to body,
 * adding the items to n. The elements come before the cursor is known, so
 * they go to body first and cmd_scan_page_reply() puts them after it. */
struct dict;
struct cmd_scan_page {
    struct resp_out body;
    const struct cmd_scan_opts *o;
    long long seen; /* elements met, taken or not: what COUNT bounds */
    long n;         /* reply items in body */
};
void cmd_scan_page_init(struct cmd_scan_page *pg, const struct cmd_scan_opts *o);
/* Counts the element; 1 if it passes MATCH. */
int cmd_scan_page_take(struct cmd_scan_page *pg, const char *p, size_t len);
/* Walks d from cursor, visiting with fn(pg, entry), until about COUNT
 * elements (or 10 x COUNT buckets) were met, as SCAN; returns the next
 * cursor. */
uint64_t cmd_scan_page_dict(struct cmd_scan_page *pg, struct dict *d, uint64_t cursor,
                            void (*fn)(void *pg, struct dict_entry *e));
/* Replies [cursor, body] and frees the page. */
void cmd_scan_page_reply(struct cmd_ctx *c, struct cmd_scan_page *pg, uint64_t cursor);

#endif
