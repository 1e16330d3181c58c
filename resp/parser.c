/*
 * resp/parser.c - incremental RESP request parser.
 *
 * Owns the request state machine of one connection. It reproduces Redis 7.0's
 * processInlineBuffer/processMultibulkBuffer (framing, limits, error texts and
 * their quirks) on a buffer the caller owns, keeping progress as offsets from
 * the start of the command so each byte is examined a bounded number of times
 * however the input is fragmented. See parser.h for the contract.
 */
#include "parser.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../raft/raft_assert.h"

/* A claimed argument count only buys this many argv slots up front; the rest
 * is allocated as arguments actually arrive (Redis does the same). It is also
 * the size argv shrinks back to once a bigger command is done. */
#define ARGV_PREALLOC_MAX 1024

/* Redis's string2ll rejects strings this long or longer before parsing. */
#define LL_STR_MAX 21

enum phase {
    PH_START,     /* between commands */
    PH_INLINE,    /* looking for the '\n' of an inline line */
    PH_MB_COUNT,  /* looking for the '\r' of "*<count>" */
    PH_BULK_HDR,  /* looking for the '\r' of "$<len>" */
    PH_BULK_BODY, /* waiting for <len> bytes + 2 */
};

/* What one step of the state machine concluded. */
enum step {
    STEP_MORE,  /* needs more input */
    STEP_DONE,  /* a command with argc > 0 ends at st->off */
    STEP_EMPTY, /* an empty command ends at st->off: skip it */
    STEP_ERROR, /* errmsg is set */
};

struct resp_parser_state {
    enum phase phase;
    int is_inline; /* of the command being parsed or last parsed */
    int failed;    /* an error was returned: reset before reuse */
    /* Offsets below are relative to the first byte of the current command,
     * which is where the caller's next buffer starts. */
    size_t off;  /* next unparsed byte */
    size_t scan; /* line phases: bytes after off already searched */
    size_t args_left;
    size_t bulk_len;
    size_t want; /* resp_parser_want() */
    /* Arguments of the current command. Bulk arguments are recorded as
     * offsets because the caller may move its buffer between calls; pointers
     * are materialised into p->argv when the command completes. */
    size_t nargs;
    size_t argv_cap; /* entries in p->argv and arg_off */
    size_t *arg_off; /* from the command start (multibulk) or scratch (inline) */
    char *scratch;   /* unescaped inline arguments */
    size_t scratch_cap;
};

static void *xrealloc(void *ptr, size_t n)
{
    void *r = realloc(ptr, n ? n : 1);
    if (!r) abort();
    return r;
}

static void set_argv_cap(struct resp_parser *p, size_t cap)
{
    struct resp_parser_state *st = p->st;
    ASSERT(cap >= st->nargs);
    if (cap == st->argv_cap) return;
    ASSERT(cap <= SIZE_MAX / sizeof *p->argv);
    p->argv = xrealloc(p->argv, cap * sizeof *p->argv);
    st->arg_off = xrealloc(st->arg_off, cap * sizeof *st->arg_off);
    st->argv_cap = cap;
}

/* Appends an argument; grows argv by doubling, but never past what the
 * multibulk count still announces (inline commands have no count). */
static void push_arg(struct resp_parser *p, size_t off, size_t len)
{
    struct resp_parser_state *st = p->st;
    if (st->nargs == st->argv_cap) {
        size_t cap = st->argv_cap ? st->argv_cap * 2 : 8;
        if (!st->is_inline && cap > st->nargs + st->args_left) cap = st->nargs + st->args_left;
        set_argv_cap(p, cap);
    }
    st->arg_off[st->nargs] = off;
    p->argv[st->nargs].ptr = NULL;
    p->argv[st->nargs].len = len;
    st->nargs++;
}

/* Forgets the command in progress; allocations are kept. */
static void clear_command(struct resp_parser_state *st)
{
    st->phase = PH_START;
    st->off = 0;
    st->scan = 0;
    st->args_left = 0;
    st->bulk_len = 0;
    st->nargs = 0;
}

void resp_parser_init(struct resp_parser *p, const struct resp_limits *lim)
{
    ASSERT(p && lim);
    memset(p, 0, sizeof *p);
    p->limits = *lim;
    p->st = calloc(1, sizeof *p->st);
    if (!p->st) abort();
    clear_command(p->st);
}

void resp_parser_free(struct resp_parser *p)
{
    if (p->st) {
        free(p->st->arg_off);
        free(p->st->scratch);
        free(p->st);
    }
    free(p->argv);
    p->st = NULL;
    p->argv = NULL;
    p->argc = 0;
}

void resp_parser_reset(struct resp_parser *p)
{
    clear_command(p->st);
    p->st->is_inline = 0;
    p->st->failed = 0;
    p->st->want = 0;
    p->argc = 0;
    p->errmsg[0] = '\0';
}

size_t resp_parser_want(const struct resp_parser *p)
{
    return p->st->want;
}

int resp_parser_is_inline(const struct resp_parser *p)
{
    return p->st->is_inline;
}

size_t resp_parser_mem_bytes(const struct resp_parser *p)
{
    const struct resp_parser_state *st = p->st;
    return sizeof *st + st->argv_cap * (sizeof *p->argv + sizeof *st->arg_off) + st->scratch_cap;
}

static enum step fail(struct resp_parser *p, const char *what)
{
    snprintf(p->errmsg, sizeof p->errmsg, "Protocol error: %s", what);
    return STEP_ERROR;
}

/* Up to this many decimal digits always fit a long long: read without a
 * check per digit. */
#define SHORT_DIGITS 18

/* Reads the decimal digits at s, at most max (<= SHORT_DIGITS) of them,
 * into *out; returns how many it read (0: s holds no digit). The parser's
 * usual case and the look-ahead's only one (resp_peek_arg1). */
static size_t read_digits(const char *s, size_t max, long long *out)
{
    size_t i = 0;
    long long v = 0;
    unsigned d;
    while (i < max && (d = (unsigned char)s[i] - (unsigned)'0') <= 9) {
        v = v * 10 + d;
        i++;
    }
    *out = v;
    return i;
}

/*
 * Strict decimal parse, accepting exactly what Redis's string2ll accepts: no
 * sign other than a leading '-', no blanks, no leading zeros (so "-0" is
 * invalid), nothing that overflows a long long, nothing 21 bytes or longer.
 */
static int parse_ll(const char *s, size_t n, long long *out)
{
    if (n == 0 || n >= LL_STR_MAX) return 0;
    /* The usual case, a count or length of 1 to 18 digits without a
     * leading zero: it cannot overflow, so no check per digit. */
    if (n <= SHORT_DIGITS && s[0] >= '1' && s[0] <= '9') return read_digits(s, n, out) == n;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int neg = s[0] == '-';
    if (neg && ++i == n) return 0;
    if (s[i] < '1' || s[i] > '9') return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

enum line { LINE_FOUND, LINE_MORE, LINE_TOO_BIG };
#define SHORT_LINE 16

/*
 * Finds the terminator of the line starting at st->off, resuming where the
 * previous call stopped. need_next: the terminator must be followed by one
 * more byte before the line counts as complete ('\r' then, unchecked, '\n').
 *
 * Redis refuses a line once more than inline_len_max bytes have arrived
 * without its terminator, so whether a long line passes depends on how its
 * bytes were split into reads. Here a line is refused iff more than
 * inline_len_max bytes precede its terminator, which is the outcome Redis
 * gives for byte-by-byte delivery, for every fragmentation.
 */
static enum line find_line(struct resp_parser *p, const char *cmd, size_t avail, char term,
                           int need_next, size_t *at)
{
    struct resp_parser_state *st = p->st;
    size_t from = st->off + st->scan;
    /* A header line ("$100\r") ends within a few bytes: a byte loop finds
     * its end sooner than a call to memchr, which takes the rest. */
    const char *q = cmd + from, *end = cmd + avail, *hit = NULL;
    const char *near = end - q > SHORT_LINE ? q + SHORT_LINE : end;
    for (; q < near; q++)
        if (*q == term) {
            hit = q;
            break;
        }
    if (!hit && q < end) hit = memchr(q, term, (size_t)(end - q));
    if (!hit) {
        if (avail - st->off > p->limits.inline_len_max) return LINE_TOO_BIG;
        st->scan = avail - st->off;
        return LINE_MORE;
    }
    *at = (size_t)(hit - cmd);
    if (*at - st->off > p->limits.inline_len_max) return LINE_TOO_BIG;
    if (need_next && *at + 1 >= avail) {
        st->scan = *at - st->off;
        return LINE_MORE;
    }
    st->scan = 0;
    return LINE_FOUND;
}

/* isspace() in the C locale, which is what sdssplitargs skips between tokens. */
static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_val(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The line as sdssplitargs sees it: a C string, so reads past the end are '\0'. */
struct line_text {
    const unsigned char *s;
    size_t n;
};

static int ch(const struct line_text *t, size_t i)
{
    return i < t->n ? t->s[i] : 0;
}

static int dq_escape(int c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return c;
    }
}

/*
 * Reads one token starting at t[*ip] (not blank, not end) into out, following
 * sdssplitargs: "double quotes" with \xHH and C escapes, 'single quotes' with
 * only \', quotes may start mid-token, and a closing quote must be followed
 * by a blank or the end. Returns the token length, or -1 for unbalanced quotes.
 */
static long split_token(const struct line_text *t, size_t *ip, char *out)
{
    size_t i = *ip, o = 0;
    int dq = 0, sq = 0, done = 0;
    while (!done) {
        int c = ch(t, i);
        if (dq) {
            if (c == '\\' && ch(t, i + 1) == 'x' && hex_val(ch(t, i + 2)) >= 0 &&
                hex_val(ch(t, i + 3)) >= 0) {
                out[o++] = (char)(hex_val(ch(t, i + 2)) * 16 + hex_val(ch(t, i + 3)));
                i += 3;
            } else if (c == '\\' && ch(t, i + 1)) {
                out[o++] = (char)dq_escape(ch(t, ++i));
            } else if (c == '"') {
                if (ch(t, i + 1) && !is_blank(ch(t, i + 1))) return -1;
                done = 1;
            } else if (!c) {
                return -1;
            } else {
                out[o++] = (char)c;
            }
        } else if (sq) {
            if (c == '\\' && ch(t, i + 1) == '\'') {
                out[o++] = '\'';
                i++;
            } else if (c == '\'') {
                if (ch(t, i + 1) && !is_blank(ch(t, i + 1))) return -1;
                done = 1;
            } else if (!c) {
                return -1;
            } else {
                out[o++] = (char)c;
            }
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') {
            done = 1;
        } else if (c == '"' || c == '\'') {
            dq = c == '"';
            sq = c == '\'';
        } else {
            out[o++] = (char)c;
        }
        if (ch(t, i)) i++;
    }
    *ip = i;
    return (long)o;
}

/*
 * Splits an inline line into arguments in scratch. Like Redis, which hands
 * the line to sdssplitargs as a C string, the line ends at its first NUL.
 */
static int split_inline(struct resp_parser *p, const char *line, size_t n)
{
    struct resp_parser_state *st = p->st;
    const char *nul = memchr(line, '\0', n);
    struct line_text t = {(const unsigned char *)line, nul ? (size_t)(nul - line) : n};
    /* Every output byte consumes at least one input byte, so scratch never
     * moves while argument offsets into it are taken. */
    if (st->scratch_cap < t.n) {
        st->scratch = xrealloc(st->scratch, t.n);
        st->scratch_cap = t.n;
    }
    size_t i = 0, o = 0;
    for (;;) {
        while (i < t.n && is_blank(t.s[i]))
            i++;
        if (i >= t.n) return 0;
        long len = split_token(&t, &i, st->scratch + o);
        if (len < 0) return -1;
        push_arg(p, o, (size_t)len);
        o += (size_t)len;
    }
}

static enum step parse_inline(struct resp_parser *p, const char *cmd, size_t avail)
{
    struct resp_parser_state *st = p->st;
    size_t nl;
    enum line r = find_line(p, cmd, avail, '\n', 0, &nl);
    if (r == LINE_TOO_BIG) return fail(p, "too big inline request");
    if (r == LINE_MORE) return STEP_MORE;
    size_t n = nl;
    if (n > 0 && cmd[n - 1] == '\r') n--;
    if (split_inline(p, cmd, n) < 0) return fail(p, "unbalanced quotes in request");
    st->off = nl + 1;
    return st->nargs ? STEP_DONE : STEP_EMPTY;
}

/* "*<count>\r\n": a count <= 0 is an empty command, as in Redis. */
static enum step parse_mb_count(struct resp_parser *p, const char *cmd, size_t avail)
{
    struct resp_parser_state *st = p->st;
    size_t cr;
    long long ll;
    enum line r = find_line(p, cmd, avail, '\r', 1, &cr);
    if (r == LINE_TOO_BIG) return fail(p, "too big mbulk count string");
    if (r == LINE_MORE) return STEP_MORE;
    ASSERT(cmd[0] == '*' && st->off == 0);
    if (!parse_ll(cmd + 1, cr - 1, &ll) || (ll > 0 && (unsigned long long)ll > p->limits.args_max))
        return fail(p, "invalid multibulk length");
    if (p->limits.unauthenticated && ll > RESP_UNAUTH_ARGS_MAX)
        return fail(p, "unauthenticated multibulk length");
    st->off = cr + 2; /* like Redis, the byte after '\r' is not checked */
    if (ll <= 0) return STEP_EMPTY;
    st->args_left = (size_t)ll;
    size_t prealloc = st->args_left < ARGV_PREALLOC_MAX ? st->args_left : ARGV_PREALLOC_MAX;
    if (st->argv_cap < prealloc) set_argv_cap(p, prealloc);
    st->phase = PH_BULK_HDR;
    return STEP_MORE;
}

/* "$<len>\r\n" */
static enum step parse_bulk_hdr(struct resp_parser *p, const char *cmd, size_t avail)
{
    struct resp_parser_state *st = p->st;
    size_t cr;
    long long ll;
    enum line r = find_line(p, cmd, avail, '\r', 1, &cr);
    if (r == LINE_TOO_BIG) return fail(p, "too big bulk count string");
    if (r == LINE_MORE) return STEP_MORE;
    if (cmd[st->off] != '$') {
        snprintf(p->errmsg, sizeof p->errmsg, "Protocol error: expected '$', got '%c'",
                 cmd[st->off]);
        return STEP_ERROR;
    }
    if (!parse_ll(cmd + st->off + 1, cr - st->off - 1, &ll) || ll < 0 ||
        (unsigned long long)ll > p->limits.bulk_len_max)
        return fail(p, "invalid bulk length");
    if (p->limits.unauthenticated && ll > RESP_UNAUTH_BULK_MAX)
        return fail(p, "unauthenticated bulk length");
    st->off = cr + 2;
    st->bulk_len = (size_t)ll;
    st->phase = PH_BULK_BODY;
    return STEP_MORE;
}

static enum step parse_multibulk(struct resp_parser *p, const char *cmd, size_t avail)
{
    struct resp_parser_state *st = p->st;
    enum step r;
    if (st->phase == PH_MB_COUNT) {
        r = parse_mb_count(p, cmd, avail);
        if (st->phase == PH_MB_COUNT) return r;
    }
    while (st->args_left) {
        if (st->phase == PH_BULK_HDR) {
            r = parse_bulk_hdr(p, cmd, avail);
            if (st->phase == PH_BULK_HDR) return r;
        }
        /* Like Redis, the two bytes after the body are skipped, not checked. */
        size_t need = st->bulk_len + 2;
        if (avail - st->off < need) {
            st->want = need - (avail - st->off);
            return STEP_MORE;
        }
        push_arg(p, st->off, st->bulk_len);
        st->off += need;
        st->args_left--;
        st->phase = PH_BULK_HDR;
    }
    return STEP_DONE;
}

/* Publishes the finished command: argv pointers from the recorded offsets. */
static void publish(struct resp_parser *p, const char *cmd)
{
    struct resp_parser_state *st = p->st;
    const char *base = st->is_inline ? st->scratch : cmd;
    for (size_t i = 0; i < st->nargs; i++)
        p->argv[i].ptr = base + st->arg_off[i];
    p->argc = st->nargs;
}

/* Starts a command at its first byte; gives back argv memory a previous
 * huge command left behind. */
static void start_command(struct resp_parser *p, char first)
{
    struct resp_parser_state *st = p->st;
    st->is_inline = first != '*';
    st->phase = st->is_inline ? PH_INLINE : PH_MB_COUNT;
    if (st->argv_cap > ARGV_PREALLOC_MAX) set_argv_cap(p, ARGV_PREALLOC_MAX);
}

enum resp_parse_status resp_parser_feed(struct resp_parser *p, const char *buf, size_t len,
                                        size_t *consumed)
{
    struct resp_parser_state *st = p->st;
    ASSERT(!st->failed && "resp_parser_reset() must follow RESP_PARSE_ERROR");
    ASSERT(st->off + st->scan <= len && "bytes the parser saw are missing from buf");
    size_t base = 0; /* start of the current command in buf */
    p->argc = 0;
    st->want = 0;
    for (;;) {
        const char *cmd = buf + base;
        size_t avail = len - base;
        enum step r;
        if (st->phase == PH_START) {
            if (avail == 0) {
                r = STEP_MORE;
            } else {
                start_command(p, cmd[0]);
                continue;
            }
        } else if (st->phase == PH_INLINE) {
            r = parse_inline(p, cmd, avail);
        } else {
            r = parse_multibulk(p, cmd, avail);
        }
        switch (r) {
        case STEP_EMPTY:
            base += st->off;
            clear_command(st);
            continue;
        case STEP_DONE:
            publish(p, cmd);
            *consumed = base + st->off;
            clear_command(st);
            return RESP_PARSE_COMMAND;
        case STEP_MORE:
            *consumed = base;
            return RESP_PARSE_NEED_MORE;
        case STEP_ERROR:
            *consumed = base;
            st->failed = 1;
            return RESP_PARSE_ERROR;
        }
    }
}

/* "<prefix><number>\r\n" at buf[*at], the number written as the parser
 * accepts it and of at most SHORT_DIGITS digits (no leading zero, no
 * sign); advances *at past it. 0 if not complete and of that form. */
static int peek_number(const char *buf, size_t len, size_t *at, char prefix, long long *out)
{
    size_t i = *at;
    long long v;
    if (i >= len || buf[i] != prefix) return 0;
    size_t max = len - i - 1 < SHORT_DIGITS ? len - i - 1 : SHORT_DIGITS;
    size_t digits = read_digits(buf + i + 1, max, &v), j = i + 1 + digits;
    if (digits == 0 || j + 1 >= len || buf[j] != '\r' || (buf[i + 1] == '0' && digits > 1))
        return 0;
    *out = v;
    *at = j + 2;
    return 1;
}

size_t resp_peek_arg1(const char *buf, size_t len, struct resp_arg *arg1)
{
    size_t at = 0;
    long long n, blen;
    if (!peek_number(buf, len, &at, '*', &n) || n < 1 || n > RESP_PEEK_ARGS_MAX) return 0;
    arg1->ptr = NULL;
    arg1->len = 0;
    for (long long i = 0; i < n; i++) {
        if (!peek_number(buf, len, &at, '$', &blen) || (size_t)blen + 2 > len - at) return 0;
        if (i == 1) {
            arg1->ptr = buf + at;
            arg1->len = (size_t)blen;
        }
        at += (size_t)blen + 2;
    }
    return at;
}
