/*
 * src/config/config_set.c - CONFIG SET (several directives at once, all or
 * nothing: a failure restores every value it changed and runs no apply
 * hook twice) and CONFIG GET (glob patterns over names and aliases);
 * contracts in config.h. Part of the config module: the directive table
 * and the setters are config.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config/config.h"
#include "config/config_int.h"
#include "base/glob.h"
#include "base/util.h"
#include "raft/raft_assert.h"

char *config_format_alloc(const struct config *c, const struct config_def *d, size_t *lenp)
{
    int n = config_format_value(c, d, NULL, 0);
    char *buf = util_xmalloc((size_t)n + 1);
    config_format_value(c, d, buf, (size_t)n + 1);
    *lenp = (size_t)n;
    return buf;
}

/* ------------------------------------------------------------ CONFIG SET */

#define SET_FAILED "ERR CONFIG SET failed (possibly related to argument '%.128s') - %s"

/* Looks every name up before anything changes; Redis reports the first
 * problem in argument order. */
static int resolve_names(int n, const char *const *names, const struct config_def **defs, char *err,
                         size_t errlen)
{
    for (int i = 0; i < n; i++) {
        defs[i] = config_lookup(names[i]);
        if (!defs[i])
            return util_fail(err, errlen, CONFIG_ERR_UNKNOWN,
                             "ERR Unknown option or number of arguments for CONFIG SET - '%.128s'",
                             names[i]);
        if (defs[i]->flags & CONFIG_IMMUTABLE)
            return util_fail(err, errlen, CONFIG_ERR_IMMUTABLE, SET_FAILED, names[i],
                             "can't set immutable config");
        for (int j = 0; j < i; j++)
            if (defs[j] == defs[i])
                return util_fail(err, errlen, CONFIG_ERR_DUPLICATE, SET_FAILED, names[i],
                                 "duplicate parameter");
    }
    return 0;
}

/* A value as it was before CONFIG SET, to put back if the set fails. */
struct saved_value {
    char *text; /* malloc'd */
    size_t len; /* a secret may hold NUL bytes */
};

/* Puts back the first n saved values; they were valid, so this cannot fail. */
static void restore(struct config *c, int n, const struct config_def **defs,
                    const struct saved_value *saved)
{
    for (int i = 0; i < n; i++) {
        char why[CONFIG_REASON_MAX];
        const char *v = saved[i].text;
        int rc = config_set_words(c, defs[i], 1, &v, &saved[i].len, why, sizeof why);
        ASSERT(rc == 0 && "a formatted value must parse back");
        (void)rc;
    }
}

/* The hook registered for d's tag, or NULL when it has none. */
static const struct config_hook *hook_of(const struct config *c, const struct config_def *d)
{
    const struct config_hook *h = &c->hooks[d->apply];
    return d->apply != CONFIG_APPLY_NONE && h->fn ? h : NULL;
}

/* Directive i's hook, unless one set before it in the same CONFIG SET has
 * the same tag: a hook sees the whole new config, once. */
static const struct config_hook *first_hook(const struct config *c, const struct config_def **defs,
                                            int i)
{
    for (int j = 0; j < i; j++)
        if (defs[j]->apply == defs[i]->apply) return NULL;
    return hook_of(c, defs[i]);
}

/* Runs the apply hook of each directive set that has one; if the server
 * refuses one, puts every old value back and runs the hooks of the ones
 * already applied again. */
static int apply_all(struct config *c, int n, const struct config_def **defs,
                     const struct saved_value *saved, char *err, size_t errlen)
{
    char why[CONFIG_REASON_MAX], ignored[CONFIG_REASON_MAX];
    for (int i = 0; i < n; i++) {
        const struct config_hook *h = first_hook(c, defs, i);
        if (!h || h->fn(h->ud, c, why, sizeof why) == 0) continue;
        restore(c, n, defs, saved);
        for (int j = 0; j <= i; j++)
            if ((h = first_hook(c, defs, j)) != NULL) h->fn(h->ud, c, ignored, sizeof ignored);
        return util_fail(err, errlen, CONFIG_ERR_VALUE, SET_FAILED, defs[i]->name, why);
    }
    return 0;
}

int config_set_multi(struct config *c, int n, const char *const *names, const char *const *values,
                     const size_t *value_lens, char *err, size_t errlen)
{
    const struct config_def **defs = util_xmalloc((size_t)n * sizeof *defs);
    struct saved_value *saved = util_xmalloc((size_t)n * sizeof *saved);
    memset(saved, 0, (size_t)n * sizeof *saved);
    int done = 0;
    int rc = resolve_names(n, names, defs, err, errlen);
    for (int i = 0; rc == 0 && i < n; i++)
        saved[i].text = config_format_alloc(c, defs[i], &saved[i].len);
    if (rc == 0) done = n;
    char why[CONFIG_REASON_MAX];
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = config_set_words(c, defs[i], 1, &values[i], value_lens ? &value_lens[i] : NULL, why,
                              sizeof why);
        if (rc) {
            restore(c, i, defs, saved);
            util_fail(err, errlen, rc, SET_FAILED, defs[i]->name, why);
        }
    }
    if (rc == 0 && (rc = config_check(c, why, sizeof why)) != 0) {
        restore(c, n, defs, saved);
        util_fail(err, errlen, rc, SET_FAILED, n ? names[0] : "", why);
    }
    if (rc == 0) rc = apply_all(c, n, defs, saved, err, errlen);
    for (int i = 0; i < done; i++) {
        explicit_bzero(saved[i].text, saved[i].len); /* it may be a secret */
        free(saved[i].text);
    }
    free(saved);
    free(defs);
    return rc;
}

int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
    return config_set_multi(c, 1, &name, &value, NULL, err, errlen);
}

/* ------------------------------------------------------------ CONFIG GET */

void config_get(const struct config *c, int npat, const char *const *patterns,
                const size_t *pattern_lens, config_get_fn *fn, void *ud)
{
    for (int i = 0; i < config_defs_count + config_redis_defs_count; i++) {
        const struct config_def *d =
            i < config_defs_count ? &config_defs[i] : &config_redis_defs[i - config_defs_count];
        int hit = 0;
        if (d->flags & CONFIG_UNREADABLE) continue;
        for (int k = 0; k < npat && !hit; k++)
            hit = glob_match(patterns[k], pattern_lens[k], d->name, strlen(d->name), 1);
        if (!hit) continue;
        size_t n;
        char *v = config_format_alloc(c, d, &n);
        fn(ud, d->name, v, n);
        explicit_bzero(v, n);
        free(v);
    }
}
