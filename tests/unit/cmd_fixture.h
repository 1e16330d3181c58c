/*
 * tests/unit/cmd_fixture.h - a keyspace and a way to run commands on it by
 * their handlers, comparing raw RESP replies: the fixture of the command
 * and type module tests (test_kv.c, test_t_*.c). Include it after cmocka.h,
 * src/cmd/cmd.h and src/keyspace/kv.h; call cmd_table_init() in main().
 *
 * EXPECT(f, "HSET h a 1", ":1\r\n"): the line is split at single spaces, a
 * token in double quotes is taken literally; the command runs at f->now with
 * no client, as an apply does (as a read with f->reading set); the hooks
 * count modifications and flushes.
 */
#ifndef CMD_FIXTURE_H
#define CMD_FIXTURE_H

#include "keyspace/dbs.h"
#include "keyspace/digest.h"
#include "types/typetable.h"

#define T0 1700000000000LL /* a plausible "now" in ms */
#define ARGS_MAX 32

struct fx {
    struct kv_common kvc; /* the settings, stats and hooks of kv */
    struct kv kv;
    /* kv as the commands see every database (cmd_ctx.dbs: FLUSHALL, SELECT,
     * scripts): one, whose settings are kvc (dbs.common stays unused) */
    struct kv *one[1];
    struct kv_dbs dbs;
    struct resp_out out;
    int64_t now;
    int mods, flushes;
    char last_mod[64];
    char line[4096]; /* split copy of the current command line */
    uint64_t rng;    /* cmd_ctx.rng of the next command */
    int reading;     /* run as a read (cmd_ctx.applying 0), not as an apply */
};

static void on_modify(void *ud, int db, const char *key, size_t len)
{
    struct fx *f = ud;
    assert_int_equal(db, 0); /* the fixture's one database */
    f->mods++;
    snprintf(f->last_mod, sizeof f->last_mod, "%.*s", (int)len, key);
}

static void on_flush(void *ud, int db)
{
    assert_int_equal(db, 0);
    ((struct fx *)ud)->flushes++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    kv_common_init(&f->kvc, type_table, 42);
    kv_init(&f->kv, &f->kvc, 0, 42);
    f->one[0] = &f->kv;
    f->dbs.db = f->one;
    f->dbs.n = 1;
    f->kvc.on_modify = on_modify;
    f->kvc.on_flush = on_flush;
    f->kvc.hook_ud = f;
    resp_out_init(&f->out, 2);
    f->now = T0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    kv_free(&f->kv);
    resp_out_free(&f->out);
    free(f);
    return 0;
}

/* Splits line at single spaces into argv; returns argc. A token in double
 * quotes is taken literally without them ("" is an empty argument). */
static int split(struct fx *f, const char *line, struct resp_arg *argv)
{
    int argc = 0;
    size_t n = strlen(line);
    assert_true(n < sizeof f->line);
    memcpy(f->line, line, n + 1);
    for (char *p = f->line, *end = f->line + n; p < end && argc < ARGS_MAX;) {
        const char *stop = " ";
        if (*p == '"') {
            p++;
            stop = "\"";
        }
        char *sp = memchr(p, *stop, (size_t)(end - p));
        size_t len = sp ? (size_t)(sp - p) : (size_t)(end - p);
        argv[argc++] = (struct resp_arg){p, len};
        p += len + (*stop == '"' ? 2 : 1);
    }
    return argc;
}

/* Runs one command; returns the reply bytes (valid until the next run). */
static const char *runv(struct fx *f, int argc, const struct resp_arg *argv, size_t *len)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    assert_non_null(cmd);
    assert_true(cmd_arity_ok(cmd, argc));
    resp_out_clear(&f->out);
    struct cmd_ctx c = {.argc = argc,
                        .argv = argv,
                        .out = &f->out,
                        .kv = &f->kv,
                        .dbs = &f->dbs,
                        .now_ms = f->now,
                        .rng = f->rng,
                        .applying = !f->reading};
    cmd->proc(&c);
    *len = f->out.len;
    resp_add_raw(&f->out, "", 1); /* NUL for printing; not part of *len */
    return f->out.data;
}

static const char *run(struct fx *f, const char *line)
{
    struct resp_arg argv[ARGS_MAX];
    size_t len;
    int argc = split(f, line, argv);
    return runv(f, argc, argv, &len);
}

#define EXPECT(f, line, reply) assert_string_equal(run(f, line), reply)

/* OBJECT ENCODING of key, which must exist. */
static inline const char *fx_encoding(struct fx *f, const char *key)
{
    struct kv_val *v = kv_lookup_peek(&f->kv, key, strlen(key), f->now);
    assert_non_null(v);
    return kv_encoding_name(&f->kv, v);
}

/* DEBUG DIGEST-VALUE of key, in hex (zeros when not stored). */
static inline const char *fx_digest(struct fx *f, const char *key, char hex[DIGEST_HEX_LEN + 1])
{
    unsigned char d[DIGEST_LEN] = {0};
    const struct kv_val *v = kv_lookup_stored(&f->kv, key, strlen(key));
    if (v) kv_digest_value(&f->kv, v, d);
    digest_hex(d, hex);
    return hex;
}

/* A growing byte buffer as a type_put_fn target (snapshot payloads). */
struct fx_buf {
    char *data;
    size_t len;
};

static inline void fx_buf_put(void *ud, const void *p, size_t n)
{
    struct fx_buf *b = ud;
    b->data = realloc(b->data, b->len + n);
    assert_non_null(b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

#endif
