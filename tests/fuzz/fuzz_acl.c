/*
 * tests/fuzz/fuzz_acl.c - libFuzzer target for the ACL rule parser
 * (src/acl/acl.h: acl_setuser, acl_split_line, acl_describe, acl_check).
 *
 * The input is lines of an aclfile ("user <name> rules..."); a line
 * "deluser <name>" removes one. Each is applied to one set of users, as
 * ACL SETUSER and ACL DELUSER would. Properties: no crash, no leak; a
 * refused line has an error text and changes nothing (the user's
 * description is the same before and after); every user, described and
 * built again from the description in another set (acl_defuser, as an
 * aclfile is loaded), describes the same
 * (acl_describe ASSERTs the command bitmap itself); a few commands are
 * checked against every user without failing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/acl.h"
#include "cmd/cmd.h"
#include "servercmd/cmdtable.h"

#define WORDS_MAX 512

static char *describe(struct acl *a, const char *name, size_t len)
{
    struct acl_user *u = acl_user(a, name, len);
    return u ? acl_describe(u, NULL) : NULL;
}

static void same_or_abort(const char *what, const char *x, const char *y)
{
    if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0)) {
        fprintf(stderr, "fuzz_acl: %s\n  %s\n  %s\n", what, x ? x : "(none)", y ? y : "(none)");
        abort();
    }
}

static void apply_line(struct acl *a, const char *line, size_t len)
{
    struct resp_arg w[WORDS_MAX];
    char err[512] = "";
    if (len > 8 && !memcmp(line, "deluser ", 8)) {
        acl_deluser(a, line + 8, len - 8);
        return;
    }
    int n = acl_split_line(line, len, w, WORDS_MAX, err, sizeof err);
    if (n < 2) return;
    char *before = describe(a, w[1].ptr, w[1].len);
    if (acl_setuser(a, w[1].ptr, w[1].len, n - 2, w + 2, (int)(len & 1), err, sizeof err) != 0) {
        if (!err[0]) abort();
        char *after = describe(a, w[1].ptr, w[1].len);
        same_or_abort("a refused SETUSER changed the user", before, after);
        free(after);
    }
    free(before);
}

static void check_user(struct acl_user *u)
{
    static const char *const lines[][4] = {
        {"get", "k"},           {"set", "k", "v"},    {"publish", "ch", "m"},
        {"config", "get", "x"}, {"psubscribe", "c*"},
    };
    static const int argc[] = {2, 3, 3, 3, 2};
    for (size_t i = 0; i < sizeof argc / sizeof argc[0]; i++) {
        struct resp_arg args[4];
        for (int j = 0; j < argc[i]; j++)
            args[j] = (struct resp_arg){lines[i][j], strlen(lines[i][j])};
        const struct command *parent;
        const struct command *cmd = cmd_lookup(args, argc[i], &parent);
        int pos;
        if (cmd) acl_check(u, cmd, argc[i], args, &pos);
    }
}

static void round_trip(struct acl *a)
{
    for (size_t i = 0; i < acl_count(a); i++) {
        struct acl_user *u = acl_user_at(a, i);
        size_t nlen, dlen;
        const char *name = acl_user_name(u, &nlen);
        char *d = acl_describe(u, &dlen);
        struct acl *b = acl_new();
        struct resp_arg w[WORDS_MAX * 8];
        char err[512];
        int nw = 0; /* the description's words (single spaces) */
        for (char *p = d, *end = d + dlen; p < end && nw < WORDS_MAX * 8;) {
            char *sp = memchr(p, ' ', (size_t)(end - p));
            size_t wl = sp ? (size_t)(sp - p) : (size_t)(end - p);
            w[nw++] = (struct resp_arg){p, wl};
            p += wl + 1;
        }
        if (acl_defuser(b, name, nlen, nw, w, 0, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_acl: a description does not apply: %s: %s\n", d, err);
            abort();
        }
        char *d2 = describe(b, name, nlen);
        same_or_abort("described twice differently", d, d2);
        check_user(u);
        free(d);
        free(d2);
        acl_free(b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        cmdtable_init();
        ready = 1;
    }
    struct acl *a = acl_new();
    const char *p = (const char *)data, *end = p + size;
    for (int lines = 0; p < end && lines < 64; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        apply_line(a, p, len);
        p += len + 1;
    }
    round_trip(a);
    acl_free(a);
    return 0;
}
