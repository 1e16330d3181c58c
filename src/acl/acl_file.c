/*
 * src/acl/acl_file.c - a set of users to and from an aclfile's text
 * (src/acl/acl.h), as Redis 7.0's ACLLoadFromFile and ACLSaveToFile: lines
 * "user <name> rules...", words apart by spaces; a file that does not name
 * "default" leaves Redis's default user. Every error of the file is
 * reported, and none applies anything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/acl_int.h"
#include "base/text.h"
#include "base/util.h"

#define LINE_WORDS_MAX 4096 /* rules on one line */

static void errorf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorf(struct text *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    text_puts(t, buf);
}

/* Applies one line's rules to a new user of that name; errors as Redis
 * words them. */
static void load_line(struct acl *a, struct resp_arg *w, int n, const char *file, int lineno,
                      int pubsub_all, int *default_seen, struct text *errors)
{
    if (n < 2 || !acl_word_is(w[0].ptr, w[0].len, "user")) {
        errorf(errors, "%s:%d should start with user keyword followed by the username. ", file,
               lineno);
        return;
    }
    if (acl_has_space(w[1].ptr, w[1].len)) {
        errorf(errors, "'%s:%d: username '%.*s' contains invalid characters. ", file, lineno,
               (int)(w[1].len > 128 ? 128 : w[1].len), w[1].ptr);
        return;
    }
    int is_default = w[1].len == 7 && !memcmp(w[1].ptr, "default", 7);
    if (is_default ? *default_seen : acl_user(a, w[1].ptr, w[1].len) != NULL) {
        errorf(errors, "WARNING: Duplicate user '%.*s' found on line %d. ",
               (int)(w[1].len > 128 ? 128 : w[1].len), w[1].ptr, lineno);
        return;
    }
    *default_seen |= is_default;
    char err[512];
    if (acl_defuser(a, w[1].ptr, w[1].len, n - 2, w + 2, pubsub_all, err, sizeof err) != 0) {
        /* "Error in ACL SETUSER modifier 'op': why" reads, in a file as in
         * Redis's, "Error in applying operation 'op': why" for an unknown
         * command (no secret in it), else only why */
        const char *op = strstr(err, "modifier ");
        const char *why = op ? strstr(op, "': ") : NULL;
        if (why && strstr(why, acl_rule_error(RULE_UNKNOWN)))
            errorf(errors, "%s:%d: Error in applying operation %s. ", file, lineno, op + 9);
        else
            errorf(errors, "%s:%d: %s. ", file, lineno, why ? why + 3 : err);
    }
}

struct acl *acl_parse_file(const char *text, size_t len, const char *file, int pubsub_all,
                           char **errors)
{
    struct acl *a = acl_new();
    struct text err = {0};
    struct resp_arg *w = util_xmalloc(LINE_WORDS_MAX * sizeof *w);
    int default_seen = 0, lineno = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        lineno++;
        char why[128];
        int n = acl_split_line(text + i, end - i, w, LINE_WORDS_MAX, why, sizeof why);
        if (n < 0 && strstr(why, "more than"))
            errorf(&err, "%s:%d: %s. ", file, lineno, why);
        else if (n != 0)
            load_line(a, w, n < 0 ? 0 : n, file, lineno, pubsub_all, &default_seen, &err);
        i = end + 1;
    }
    free(w);
    if (!err.len) {
        *errors = NULL;
        return a;
    }
    acl_free(a);
    text_puts(&err, "WARNING: ACL errors detected, no change to the previously active ACL rules "
                    "was performed");
    *errors = text_take(&err);
    return NULL;
}

char *acl_file_text(const struct acl *a, size_t *len)
{
    struct text t = {0};
    for (size_t i = 0; i < a->n; i++) {
        size_t dlen;
        char *d = acl_describe(a->users[i], &dlen);
        text_puts(&t, "user ");
        text_put(&t, a->users[i]->name, a->users[i]->len);
        text_puts(&t, " ");
        text_put(&t, d, dlen);
        text_puts(&t, "\n");
        free(d);
    }
    if (len) *len = t.len;
    return text_take(&t);
}
