/*
 * src/types/cmd_expire.c - TTL commands (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with
 * NX|XX|GT|LT; TTL, PTTL, EXPIRETIME, PEXPIRETIME; PERSIST) as Redis 7.0,
 * and the rewrite hooks (cmd.h) that make relative TTLs absolute before a
 * command enters the replicated log (see sm.h).
 */
#include <limits.h>

#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "keyspace/kv.h"
#include "base/util.h"
#include "cmd/rows.h"

enum expire_flags {
    EXPIRE_NX = 1u << 0,
    EXPIRE_XX = 1u << 1,
    EXPIRE_GT = 1u << 2,
    EXPIRE_LT = 1u << 3,
};

enum expire_parse_err {
    EXPIRE_OK = 0,
    EXPIRE_ERR_OPTION,   /* unknown option at *bad */
    EXPIRE_ERR_NX_COMBO, /* NX with XX, GT or LT */
    EXPIRE_ERR_GT_LT,
    EXPIRE_ERR_NOT_INT, /* the time is not an integer */
    EXPIRE_ERR_TIME,    /* unit conversion or base addition overflows */
};

/* Parses argv[3..] (every option is checked before any conflict, as Redis). */
static int parse_flags(int argc, const struct resp_arg *argv, unsigned *flags, int *bad)
{
    static const struct {
        const char *name;
        unsigned flag;
    } opts[] = {{"nx", EXPIRE_NX}, {"xx", EXPIRE_XX}, {"gt", EXPIRE_GT}, {"lt", EXPIRE_LT}};
    *flags = 0;
    for (int j = 3; j < argc; j++) {
        unsigned f = 0;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (cmd_arg_is(&argv[j], opts[k].name)) f = opts[k].flag;
        if (!f) {
            *bad = j;
            return EXPIRE_ERR_OPTION;
        }
        *flags |= f;
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)))
        return EXPIRE_ERR_NX_COMBO;
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) return EXPIRE_ERR_GT_LT;
    return EXPIRE_OK;
}

/* The absolute time in ms of argv[2] given in seconds or ms from basetime.
 * Negative results are allowed (they delete the key). */
static int parse_when(const struct resp_arg *a, int64_t basetime, int seconds, int64_t *when)
{
    long long v;
    if (!util_str2ll(a->ptr, a->len, &v)) return EXPIRE_ERR_NOT_INT;
    if (seconds) {
        if (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000) return EXPIRE_ERR_TIME;
        v *= 1000;
    }
    if (v > LLONG_MAX - basetime) return EXPIRE_ERR_TIME;
    *when = v + basetime;
    return EXPIRE_OK;
}

/* Parses a whole EXPIRE-family command. */
static int parse_expire(int argc, const struct resp_arg *argv, int64_t basetime, int seconds,
                        unsigned *flags, int64_t *when, int *bad)
{
    int err = parse_flags(argc, argv, flags, bad);
    return err ? err : parse_when(&argv[2], basetime, seconds, when);
}

static void reply_parse_error(struct cmd_ctx *c, int err, int bad, const char *name)
{
    switch (err) {
    case EXPIRE_ERR_OPTION:
        resp_add_errorf(c->out, "ERR Unsupported option %.*s", (int)c->argv[bad].len,
                        c->argv[bad].ptr);
        break;
    case EXPIRE_ERR_NX_COMBO:
        resp_add_error(c->out, "ERR NX and XX, GT or LT options at the same time are not "
                               "compatible");
        break;
    case EXPIRE_ERR_GT_LT:
        resp_add_error(c->out, "ERR GT and LT options at the same time are not compatible");
        break;
    case EXPIRE_ERR_NOT_INT:
        resp_add_error(c->out, ERR_NOT_INT);
        break;
    default:
        resp_add_errorf(c->out, ERR_EXPIRE_FMT, name);
        break;
    }
}

/* 1 if the NX/XX/GT/LT conditions allow replacing cur (KV_NO_EXPIRE counts
 * as an infinite TTL) with when. */
static int flags_allow(unsigned flags, int64_t cur, int64_t when)
{
    if ((flags & EXPIRE_NX) && cur != KV_NO_EXPIRE) return 0;
    if ((flags & EXPIRE_XX) && cur == KV_NO_EXPIRE) return 0;
    if ((flags & EXPIRE_GT) && (cur == KV_NO_EXPIRE || when <= cur)) return 0;
    if ((flags & EXPIRE_LT) && cur != KV_NO_EXPIRE && when >= cur) return 0;
    return 1;
}

/* The worker of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT. A time already
 * past deletes the key (and still replies 1). */
static void expire_generic(struct cmd_ctx *c, int64_t basetime, int seconds, const char *name)
{
    const struct resp_arg *key = &c->argv[1];
    unsigned flags;
    int64_t when;
    int bad = 0;
    int err = parse_expire(c->argc, c->argv, basetime, seconds, &flags, &when, &bad);
    if (err) {
        reply_parse_error(c, err, bad, name);
        return;
    }
    const struct kv_val *v = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0);
    if (!v || !flags_allow(flags, v->expire_ms, when)) {
        resp_add_int(c->out, 0);
        return;
    }
    if (when <= c->now_ms) {
        kv_delete(c->kv, key->ptr, key->len, c->now_ms);
        cmd_notify(c, NOTIFY_GENERIC, "del", key);
    } else {
        kv_set_expire(c->kv, key->ptr, key->len, when);
        cmd_notify(c, NOTIFY_GENERIC, "expire", key);
    }
    resp_add_int(c->out, 1);
}

void cmd_expire(struct cmd_ctx *c)
{
    expire_generic(c, c->now_ms, 1, "expire");
}

static void cmd_pexpire(struct cmd_ctx *c)
{
    expire_generic(c, c->now_ms, 0, "pexpire");
}

static void cmd_expireat(struct cmd_ctx *c)
{
    expire_generic(c, 0, 1, "expireat");
}

static void cmd_pexpireat(struct cmd_ctx *c)
{
    expire_generic(c, 0, 0, "pexpireat");
}

/* The worker of TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 no key, -1 no
 * TTL; seconds are rounded to the nearest. The key's LRU clock is left as
 * it is (Redis's LOOKUP_NOTOUCH). */
static void ttl_generic(struct cmd_ctx *c, int output_ms, int output_abs)
{
    const struct kv_val *v = kv_lookup_notouch(c->kv, c->argv[1].ptr, c->argv[1].len, c->now_ms);
    if (!v) {
        resp_add_int(c->out, -2);
        return;
    }
    if (v->expire_ms == KV_NO_EXPIRE) {
        resp_add_int(c->out, -1);
        return;
    }
    long long ttl = output_abs ? v->expire_ms : v->expire_ms - c->now_ms;
    if (ttl < 0) ttl = 0;
    resp_add_int(c->out, output_ms ? ttl : (ttl + 500) / 1000);
}

static void cmd_ttl(struct cmd_ctx *c)
{
    ttl_generic(c, 0, 0);
}

static void cmd_pttl(struct cmd_ctx *c)
{
    ttl_generic(c, 1, 0);
}

static void cmd_expiretime(struct cmd_ctx *c)
{
    ttl_generic(c, 0, 1);
}

static void cmd_pexpiretime(struct cmd_ctx *c)
{
    ttl_generic(c, 1, 1);
}

static void cmd_persist(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    int done = kv_lookup_write(c->kv, key->ptr, key->len, c->now_ms, 0) &&
               kv_persist(c->kv, key->ptr, key->len);
    if (done) cmd_notify(c, NOTIFY_GENERIC, "persist", key);
    resp_add_int(c->out, done);
}

/* --- relative TTLs made absolute for the log --- */

static struct resp_arg lit(const char *s)
{
    return (struct resp_arg){s, strlen(s)};
}

static struct resp_arg number(char *scratch, size_t scratch_len, int64_t v)
{
    return (struct resp_arg){scratch, util_ll2str(scratch, scratch_len, v)};
}

/* SET k v [opts] EX|PX n -> SET k v [opts] PXAT ms; GETEX likewise. Every
 * EX/PX pair is dropped (a repeated one: the last won when computing ms). */
static int rewrite_set(int argc, const struct resp_arg *argv, int is_getex, int64_t now_ms,
                       struct resp_arg *out, char *scratch, size_t scratch_len)
{
    struct cmd_set_opts o;
    int64_t ms;
    int not_int;
    if (cmd_set_parse_opts(argc, argv, is_getex, &o) < 0 ||
        !(o.flags & (CMD_SET_EX | CMD_SET_PX)) ||
        cmd_set_expire_ms(argv, &o, now_ms, &ms, &not_int) < 0)
        return 0;
    int first_opt = is_getex ? 2 : 3, n = 0;
    for (int j = 0; j < argc; j++) {
        if (j >= first_opt && (cmd_arg_is(&argv[j], "ex") || cmd_arg_is(&argv[j], "px"))) {
            j++; /* and its value */
            continue;
        }
        out[n++] = argv[j];
    }
    out[n++] = lit("PXAT");
    out[n++] = number(scratch, scratch_len, ms);
    return n;
}

/* SETEX k n v / PSETEX k n v -> SET k v PXAT ms. */
static int rewrite_setex(const struct resp_arg *argv, unsigned unit_flag, int64_t now_ms,
                         struct resp_arg *out, char *scratch, size_t scratch_len)
{
    struct cmd_set_opts o = {unit_flag, 2};
    int64_t ms;
    int not_int;
    if (cmd_set_expire_ms(argv, &o, now_ms, &ms, &not_int) < 0) return 0;
    out[0] = lit("SET");
    out[1] = argv[1];
    out[2] = argv[3];
    out[3] = lit("PXAT");
    out[4] = number(scratch, scratch_len, ms);
    return 5;
}

/* EXPIRE/PEXPIRE k n [flags] -> PEXPIREAT k ms [flags]. */
static int rewrite_expire(int argc, const struct resp_arg *argv, int seconds, int64_t now_ms,
                          struct resp_arg *out, char *scratch, size_t scratch_len)
{
    unsigned flags;
    int64_t when;
    int bad;
    if (parse_expire(argc, argv, now_ms, seconds, &flags, &when, &bad) != EXPIRE_OK) return 0;
    out[0] = lit("PEXPIREAT");
    out[1] = argv[1];
    out[2] = number(scratch, scratch_len, when);
    for (int j = 3; j < argc; j++)
        out[j] = argv[j];
    return argc;
}

/* The rewrite hooks of the table rows (cmd.h cmd_rewrite_fn). */
int cmd_rewrite_set(int argc, const struct resp_arg *argv, int64_t now_ms, struct resp_arg *out,
                    char *scratch, size_t scratch_len)
{
    return rewrite_set(argc, argv, 0, now_ms, out, scratch, scratch_len);
}

int cmd_rewrite_getex(int argc, const struct resp_arg *argv, int64_t now_ms, struct resp_arg *out,
                      char *scratch, size_t scratch_len)
{
    return rewrite_set(argc, argv, 1, now_ms, out, scratch, scratch_len);
}

int cmd_rewrite_setex(int argc, const struct resp_arg *argv, int64_t now_ms, struct resp_arg *out,
                      char *scratch, size_t scratch_len)
{
    (void)argc;
    return rewrite_setex(argv, CMD_SET_EX, now_ms, out, scratch, scratch_len);
}

int cmd_rewrite_psetex(int argc, const struct resp_arg *argv, int64_t now_ms, struct resp_arg *out,
                       char *scratch, size_t scratch_len)
{
    (void)argc;
    return rewrite_setex(argv, CMD_SET_PX, now_ms, out, scratch, scratch_len);
}

static int cmd_rewrite_expire(int argc, const struct resp_arg *argv, int64_t now_ms,
                              struct resp_arg *out, char *scratch, size_t scratch_len)
{
    return rewrite_expire(argc, argv, 1, now_ms, out, scratch, scratch_len);
}

static int cmd_rewrite_pexpire(int argc, const struct resp_arg *argv, int64_t now_ms,
                               struct resp_arg *out, char *scratch, size_t scratch_len)
{
    return rewrite_expire(argc, argv, 0, now_ms, out, scratch, scratch_len);
}

/* The expiry commands' rows (src/cmd/cmd.h has the columns; arity, flags, keys and ACL
 * categories are Redis 7.0's). */
const struct command cmd_table_expire[] = {
    {"expire", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_expire, "generic", "1.0.0",
     "Sets the expiration time of a key in seconds.", "key seconds [NX|XX|GT|LT]:condition",
     "keyspace write fast", NULL, cmd_rewrite_expire, .key_flags = "RW update"},
    {"pexpire", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_pexpire, "generic", "2.6.0",
     "Sets the expiration time of a key in milliseconds.",
     "key milliseconds [NX|XX|GT|LT]:condition", "keyspace write fast", NULL, cmd_rewrite_pexpire,
     .key_flags = "RW update"},
    {"expireat", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_expireat, "generic", "1.2.0",
     "Sets the expiration time of a key to a Unix timestamp.",
     "key unix-time-seconds [NX|XX|GT|LT]:condition", "keyspace write fast", NULL,
     .key_flags = "RW update"},
    {"pexpireat", -3, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_pexpireat, "generic", "2.6.0",
     "Sets the expiration time of a key to a Unix milliseconds timestamp.",
     "key unix-time-milliseconds [NX|XX|GT|LT]:condition", "keyspace write fast", NULL,
     .key_flags = "RW update"},
    {"ttl", 2, R | F, 1, 1, 1, cmd_ttl, "generic", "1.0.0",
     "Returns the expiration time in seconds of a key.", "key", "keyspace read fast", NULL,
     .key_flags = "RO access"},
    {"pttl", 2, R | F, 1, 1, 1, cmd_pttl, "generic", "2.6.0",
     "Returns the expiration time in milliseconds of a key.", "key", "keyspace read fast", NULL,
     .key_flags = "RO access"},
    {"expiretime", 2, R | F, 1, 1, 1, cmd_expiretime, "generic", "7.0.0",
     "Returns the expiration time of a key as a Unix timestamp.", "key", "keyspace read fast", NULL,
     .key_flags = "RO access"},
    {"pexpiretime", 2, R | F, 1, 1, 1, cmd_pexpiretime, "generic", "7.0.0",
     "Returns the expiration time of a key as a Unix milliseconds timestamp.", "key",
     "keyspace read fast", NULL, .key_flags = "RO access"},
    {"persist", 2, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_persist, "generic", "2.2.0",
     "Removes the expiration time of a key.", "key", "keyspace write fast", NULL,
     .key_flags = "RW update"},
    CMD_ROWS_END,
};
