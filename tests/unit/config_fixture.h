/*
 * tests/unit/config_fixture.h - what test_config.c and test_config_set.c
 * share: a config with its defaults and a scratch directory (struct fx,
 * setup/teardown), writing and loading config text, and the value CONFIG GET
 * would report. Helpers are static and marked unused: each file uses a part.
 */
#ifndef CONFIG_FIXTURE_H
#define CONFIG_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "base/log.h"

/* ------------------------------------------------------------ fixtures */

struct fx {
    struct config cfg;
    char dir[64];
    char err[2048];
};

__attribute__((unused)) static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/raftcache-test-config-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    config_init_defaults(&f->cfg);
    *state = f;
    return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
    struct fx *f = *state;
    config_free(&f->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

/* Writes text to dir/name; returns the path in a static buffer. */
__attribute__((unused)) static const char *write_file(struct fx *f, const char *name,
                                                      const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

__attribute__((unused)) static int load_text(struct fx *f, const char *text)
{
    return config_load_file(&f->cfg, write_file(f, "test.conf", text), f->err, sizeof f->err);
}

/* The value CONFIG GET would report. */
__attribute__((unused)) static const char *get(struct fx *f, const char *name)
{
    static char buf[4096];
    const struct config_def *d = config_lookup(name);
    assert_non_null(d);
    config_format_value(&f->cfg, d, buf, sizeof buf);
    return buf;
}

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle))) fail_msg("'%s' not in '%s'", (needle), (hay));               \
    } while (0)

/* CONFIG SET of one directive, which must succeed / fail with code and text. */
__attribute__((unused)) static void set_ok(struct fx *f, const char *name, const char *value)
{
    int rc = config_set(&f->cfg, name, value, f->err, sizeof f->err);
    if (rc) fail_msg("CONFIG SET %s %s: %s", name, value, f->err);
}

__attribute__((unused)) static void set_fails(struct fx *f, const char *name, const char *value,
                                              int code, const char *text)
{
    assert_int_equal(config_set(&f->cfg, name, value, f->err, sizeof f->err), code);
    assert_string_equal(f->err, text);
}

#define FAILED(arg) "ERR CONFIG SET failed (possibly related to argument '" arg "') - "

#endif
