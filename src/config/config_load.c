/*
 * src/config/config_load.c - reading a start-up configuration into a struct config:
 * redis.conf-style files with their include stack, and the command line
 * (config_load_file(), config_load_args(); contracts in config.h).
 *
 * Every directive read here goes through config_set_words() (config.c), so
 * a file line, a --directive and CONFIG SET accept and refuse exactly the
 * same text. What this file adds is locating the problem for the operator:
 * a Redis-like FATAL CONFIG FILE ERROR block naming the file and line (or
 * command-line argument), with secrets never echoed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "base/util.h"
#include "config/config_int.h"

#define FATAL_BANNER "*** FATAL CONFIG FILE ERROR ***"

/* ------------------------------------------------------- loading: common */

/* Sets the directive named by w's first word from the others. */
static int apply_words(struct config *c, const struct config_words *w, char *err, size_t errlen)
{
    const struct config_def *d = config_lookup(w->argv[0]);
    if (!d)
        return util_fail(err, errlen, CONFIG_ERR_UNKNOWN,
                         "Bad directive or wrong number of arguments");
    return config_set_words(c, d, w->argc - 1, (const char *const *)w->argv + 1, w->lens + 1, err,
                            errlen);
}

/* The offending line as the error block shows it: a secret's value is not
 * echoed to a terminal or a log. */
static void shown_line(const char *line, char *buf, size_t len)
{
    char name[64];
    size_t n = 0;
    while (line[n] && !isspace((unsigned char)line[n]) && n < sizeof name - 1) {
        name[n] = line[n];
        n++;
    }
    name[n] = '\0';
    const struct config_def *d = config_lookup(name);
    if (d && (d->flags & CONFIG_SENSITIVE))
        snprintf(buf, len, "%s (value hidden)", d->name);
    else
        snprintf(buf, len, "%.300s", line);
}

static int load_error(char *err, size_t errlen, int code, const char *where, const char *line,
                      const char *reason)
{
    char shown[320];
    shown_line(line, shown, sizeof shown);
    return util_fail(err, errlen, code, FATAL_BANNER "\n%s\n>>> '%s'\n%s", where, shown, reason);
}

/* ------------------------------------------------ loading: files, include */

/* Open files, innermost last: include is a push, end of file a pop, so
 * nesting costs no recursion and is bounded by the array. */
struct loader {
    struct {
        FILE *f;
        char *path; /* owned; as opened, for messages and relative includes */
        long line;
    } frames[CONFIG_INCLUDE_DEPTH];
    int depth;
};

/* Takes ownership of path. */
static int push_file(struct loader *l, char *path, char *err, size_t errlen)
{
    if (l->depth == CONFIG_INCLUDE_DEPTH) {
        free(path);
        return util_fail(err, errlen, CONFIG_ERR_VALUE,
                         "include nested more than %d deep (an include cycle?)",
                         CONFIG_INCLUDE_DEPTH);
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        util_fail(err, errlen, CONFIG_ERR_IO, "can't open config file '%.300s': %s", path,
                  strerror(e));
        free(path);
        return CONFIG_ERR_IO;
    }
    l->frames[l->depth].f = f;
    l->frames[l->depth].path = path;
    l->frames[l->depth].line = 0;
    l->depth++;
    return 0;
}

static void pop_file(struct loader *l)
{
    l->depth--;
    fclose(l->frames[l->depth].f);
    free(l->frames[l->depth].path);
}

/* A relative include is taken from the including file's directory, so a
 * config tree works from any cwd. */
static char *include_path(const char *including, const char *target)
{
    const char *slash = strrchr(including, '/');
    if (target[0] == '/' || !slash) return config_xstrdup(target);
    size_t dlen = (size_t)(slash - including) + 1;
    char *p = util_xmalloc(dlen + strlen(target) + 1);
    memcpy(p, including, dlen);
    strcpy(p + dlen, target);
    return p;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Reads one line, its '\n' included, into buf (CONFIG_LINE_MAX + 1 bytes),
 * NUL-terminated (the line itself may hold NUL bytes). Returns its length,
 * -1 at the end of the file, or -2 once it is longer than CONFIG_LINE_MAX: a
 * file without line ends (or "include /dev/zero") costs no more memory than
 * one line, where getline() would read it whole first. On -2, buf holds the
 * first CONFIG_LINE_MAX bytes and the rest of the line is still unread. */
static ssize_t read_line(FILE *f, char *buf)
{
    size_t n = 0;
    int ch = EOF;
    while ((ch = getc(f)) != EOF) {
        if (n == CONFIG_LINE_MAX) {
            buf[n] = '\0';
            return -2;
        }
        buf[n++] = (char)ch;
        if (ch == '\n') break;
    }
    buf[n] = '\0';
    return n == 0 ? -1 : (ssize_t)n;
}

/* Discards the rest of an over-long comment line. */
static void skip_line(FILE *f)
{
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n')
        ;
}

static int directive_is(const char *text, const char *name)
{
    size_t n = strlen(name);
    return !strncasecmp(text, name, n) && (text[n] == ' ' || text[n] == '\t');
}

/* Remembers where port and each rename-command were set (config.h,
 * port_origin, config_rename.origin): text is the directive's line, where
 * its place. */
static void note_origin(struct config *c, const char *where, const char *text)
{
    char buf[1024];
    if (directive_is(text, "port")) {
        snprintf(buf, sizeof buf, "%.400s\n>>> '%.200s'", where, text);
        free(c->port_origin);
        c->port_origin = config_xstrdup(buf);
    } else if (directive_is(text, "rename-command") && c->renames_count &&
               !c->renames[c->renames_count - 1].origin) {
        char shown[320];
        shown_line(text, shown, sizeof shown);
        snprintf(buf, sizeof buf, FATAL_BANNER "\n%.400s\n>>> '%s'", where, shown);
        c->renames[c->renames_count - 1].origin = config_xstrdup(buf);
    }
}

/* One non-blank, non-comment line: a directive, or an include to push. */
static int load_line(struct config *c, struct loader *l, const char *text, char *err, size_t errlen)
{
    struct config_words w;
    int rc = config_split_words(text, &w, err, errlen);
    if (rc == 0 && w.argc > 0) {
        if (strcasecmp(w.argv[0], "include"))
            rc = apply_words(c, &w, err, errlen);
        else if (w.argc != 2)
            rc = util_fail(err, errlen, CONFIG_ERR_UNKNOWN,
                           "Bad directive or wrong number of arguments");
        else
            rc = push_file(l, include_path(l->frames[l->depth - 1].path, w.argv[1]), err, errlen);
    }
    config_words_free(&w);
    return rc;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    struct loader l = {.depth = 0};
    char why[CONFIG_REASON_MAX], where[400];
    int rc = push_file(&l, config_xstrdup(path), why, sizeof why);
    if (rc) return util_fail(err, errlen, rc, FATAL_BANNER "\n%s", why);
    char *line = util_xmalloc(CONFIG_LINE_MAX + 1);
    while (rc == 0 && l.depth > 0) {
        int top = l.depth - 1;
        ssize_t n = read_line(l.frames[top].f, line);
        if (n == -1) {
            if (ferror(l.frames[top].f))
                rc = util_fail(err, errlen, CONFIG_ERR_IO, FATAL_BANNER "\ncan't read '%.300s': %s",
                               l.frames[top].path, strerror(errno));
            pop_file(&l);
            continue;
        }
        l.frames[top].line++;
        char *text = trim(line);
        if (n == -2 && *text == '#') {
            skip_line(l.frames[top].f);
            continue;
        }
        if (n != -2 && (!*text || *text == '#')) continue;
        if (n == -2)
            rc = util_fail(why, sizeof why, CONFIG_ERR_VALUE, "line longer than %d bytes",
                           CONFIG_LINE_MAX);
        else
            rc = load_line(c, &l, text, why, sizeof why);
        snprintf(where, sizeof where, "%.300s:%ld", l.frames[top].path, l.frames[top].line);
        if (rc)
            load_error(err, errlen, rc, where, text, why);
        else
            note_origin(c, where, text);
    }
    while (l.depth > 0)
        pop_file(&l);
    free(line);
    return rc;
}

/* ------------------------------------------------- loading: command line */

static int is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] == '-';
}

/* argv[0] is "--name", argv[1..n) its values; index is its place in main's
 * argv, for the message. */
static int load_option(struct config *c, int index, char **argv, int n, char *err, size_t errlen)
{
    char why[CONFIG_REASON_MAX], where[64], text[CONFIG_LINE_MAX / 16];
    snprintf(where, sizeof where, "command line argument %d", index);
    if (!is_option(argv[0]))
        return load_error(err, errlen, CONFIG_ERR_UNKNOWN, where, argv[0],
                          "expected a --directive (only the first argument may be a file)");
    const char *empty = "";
    const char *vals[CONFIG_ARGS_MAX + 1];
    int nv = n - 1;
    if (nv == 0)
        vals[nv++] = empty; /* "--save --port 1": save gets "" as in Redis */
    else if (nv > CONFIG_ARGS_MAX)
        nv = CONFIG_ARGS_MAX + 1; /* refused below */
    else
        memcpy(vals, argv + 1, (size_t)nv * sizeof *vals);
    const char *name = argv[0] + 2;
    struct config_out o = config_out_start(text, sizeof text);
    config_out_printf(&o, "%s", name);
    for (int i = 0; i < nv && i < CONFIG_ARGS_MAX; i++)
        config_out_printf(&o, " %s", vals[i]);
    if (nv > CONFIG_ARGS_MAX)
        return load_error(err, errlen, CONFIG_ERR_VALUE, where, text, "too many arguments");
    if (!strcasecmp(name, "include")) {
        if (nv == 1) return config_load_file(c, vals[0], err, errlen);
        return load_error(err, errlen, CONFIG_ERR_UNKNOWN, where, text,
                          "Bad directive or wrong number of arguments");
    }
    const struct config_def *d = config_lookup(name);
    int rc = d ? config_set_words(c, d, nv, vals, NULL, why, sizeof why)
               : util_fail(why, sizeof why, CONFIG_ERR_UNKNOWN,
                           "Bad directive or wrong number of arguments");
    if (rc) return load_error(err, errlen, rc, where, text, why);
    note_origin(c, where, text);
    return 0;
}

int config_load_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    int i = 1, rc;
    if (argc > 1 && !is_option(argv[1])) {
        rc = config_load_file(c, argv[1], err, errlen);
        if (rc) return rc;
        i = 2;
    }
    while (i < argc) {
        int j = i + 1;
        while (j < argc && !is_option(argv[j]))
            j++;
        rc = load_option(c, i, argv + i, j - i, err, errlen);
        if (rc) return rc;
        i = j;
    }
    char why[CONFIG_REASON_MAX];
    rc = config_check(c, why, sizeof why);
    return rc ? util_fail(err, errlen, rc, FATAL_BANNER "\n%s", why) : 0;
}
