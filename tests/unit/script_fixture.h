/*
 * tests/unit/script_fixture.h - a script engine over cmd_fixture.h's
 * keyspace: the fixture of the scripting tests (test_script.c,
 * test_script_match.c). Include it after cmd_fixture.h and src/script/script.h.
 *
 * s_setup/s_teardown are cmocka's setup and teardown (state: struct sfx);
 * eval_on() runs a body as EVAL does, as an apply (applying) or a read.
 */
#ifndef SCRIPT_FIXTURE_H
#define SCRIPT_FIXTURE_H

struct sfx {
    struct fx *f;
    struct script_engine *e;
    struct monitor stats;
};

static int s_setup(void **state)
{
    struct sfx *s = calloc(1, sizeof *s);
    assert_non_null(s);
    void *fs;
    setup(&fs);
    s->f = fs;
    monitor_init(&s->stats, cmd_id_count());
    s->e = script_engine_new(&s->stats);
    *state = s;
    return 0;
}

static int s_teardown(void **state)
{
    struct sfx *s = *state;
    script_engine_free(s->e);
    monitor_free(&s->stats);
    void *fs = s->f;
    teardown(&fs);
    free(s);
    return 0;
}

/* Runs body as EVAL with the given keys/args (NULL-terminated lists, at
 * most 8 each); applying: as the apply path runs it. Returns the reply
 * (NUL-terminated, in f->out). */
static const char *eval_on(struct script_engine *e, struct fx *f, const char *body, int applying,
                           uint64_t rng, const char *const *keys, const char *const *args)
{
    struct resp_arg k[8], a[8];
    int nk = 0, na = 0;
    for (; keys && keys[nk]; nk++)
        k[nk] = (struct resp_arg){keys[nk], strlen(keys[nk])};
    for (; args && args[na]; na++)
        a[na] = (struct resp_arg){args[na], strlen(args[na])};
    resp_out_clear(&f->out);
    struct cmd_ctx c = {.out = &f->out,
                        .kv = &f->kv,
                        .dbs = &f->dbs,
                        .now_ms = f->now,
                        .rng = rng,
                        .applying = applying};
    struct script_args sa = {k, a, nk, na, 0};
    script_run_body(e, &c, body, strlen(body), &sa);
    resp_add_raw(&f->out, "", 1);
    return f->out.data;
}

#endif
