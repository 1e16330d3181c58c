/*
 * src/acl/acl.c - the set of users and the rules that shape a user
 * (src/acl/acl.h), as Redis 7.0's ACLSetUser and ACLStringSetUser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl/acl_int.h"
#include "base/util.h"
#include "raft/raft_assert.h"

const char *acl_rule_error(enum acl_rule_err e)
{
    switch (e) {
    case RULE_UNKNOWN:
        return "Unknown command or category name in ACL";
    case RULE_SYNTAX:
        return "Syntax error";
    case RULE_KEYS_ALL:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
               "does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case RULE_CHANNELS_ALL:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
               "and does not have any effect. Try 'resetchannels' to start with an empty list of "
               "channels";
    case RULE_NO_PASSWORD:
        return "The password you are trying to remove from the user does not exist";
    case RULE_BAD_HASH:
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    case RULE_SUB_FIRSTARG:
        return "Allowing first-arg of a subcommand is not supported";
    case RULE_LIMIT:
        return "Too many passwords, selectors, patterns or first-args, or a pattern too long "
               "(src/acl/acl.h's limits)";
    default:
        return "Wrong format";
    }
}

/* ---------------------------------------------------------------- users */

struct acl_user *acl_user_new(const char *name, size_t len, int pubsub_all)
{
    struct acl_user *u = util_xcalloc(1, sizeof *u);
    u->name = util_xmemdup(name, len);
    u->len = len;
    u->flags = USER_DISABLED;
    u->sel = util_xmalloc(sizeof *u->sel);
    u->n_sel = 1;
    acl_selector_init(&u->sel[0], SEL_ROOT, pubsub_all);
    return u;
}

/* Frees what u holds, leaving the object (and its name). */
static void user_clear(struct acl_user *u)
{
    free(u->passwords);
    u->passwords = NULL;
    u->n_passwords = 0;
    for (size_t i = 0; i < u->n_sel; i++)
        acl_selector_free(&u->sel[i]);
    free(u->sel);
    u->sel = NULL;
    u->n_sel = 0;
}

void acl_user_free(struct acl_user *u)
{
    if (!u) return;
    user_clear(u);
    free(u->name);
    free(u);
}

void acl_user_copy(struct acl_user *dst, const struct acl_user *src)
{
    user_clear(dst);
    dst->flags = src->flags;
    dst->n_passwords = src->n_passwords;
    if (src->n_passwords) {
        dst->passwords = util_xmalloc(src->n_passwords * sizeof *dst->passwords);
        memcpy(dst->passwords, src->passwords, src->n_passwords * sizeof *dst->passwords);
    }
    dst->sel = util_xmalloc(src->n_sel * sizeof *dst->sel);
    dst->n_sel = src->n_sel;
    for (size_t i = 0; i < src->n_sel; i++)
        acl_selector_copy(&dst->sel[i], &src->sel[i]);
}

int acl_word_is(const char *op, size_t len, const char *word)
{
    return strlen(word) == len && !strncasecmp(op, word, len);
}

int acl_has_space(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r') || p[i] == '\0') return 1;
    return 0;
}

static int valid_hash(const char *p, size_t len)
{
    if (len != SHA256_HEX_LEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

/* >pw, #hash (add) and <pw, !hash (remove). */
static enum acl_rule_err password_rule(struct acl_user *u, const char *op, size_t len)
{
    char hash[SHA256_HEX_LEN + 1];
    if (op[0] == '>' || op[0] == '<') {
        sha256_hex(op + 1, len - 1, hash);
    } else {
        if (!valid_hash(op + 1, len - 1)) return RULE_BAD_HASH;
        memcpy(hash, op + 1, SHA256_HEX_LEN);
        hash[SHA256_HEX_LEN] = '\0';
    }
    size_t at = u->n_passwords;
    for (size_t i = 0; i < u->n_passwords && at == u->n_passwords; i++)
        if (!memcmp(u->passwords[i], hash, SHA256_HEX_LEN)) at = i;
    if (op[0] == '<' || op[0] == '!') {
        if (at == u->n_passwords) return RULE_NO_PASSWORD;
        memmove(&u->passwords[at], &u->passwords[at + 1],
                (u->n_passwords - at - 1) * sizeof *u->passwords);
        u->n_passwords--;
        return RULE_OK;
    }
    u->flags &= ~(unsigned)USER_NOPASS;
    if (at < u->n_passwords) return RULE_OK;
    if (u->n_passwords >= ACL_PASSWORDS_MAX) return RULE_LIMIT;
    u->passwords = util_xrealloc(u->passwords, (u->n_passwords + 1) * sizeof *u->passwords);
    memcpy(u->passwords[u->n_passwords++], hash, SHA256_HEX_LEN + 1);
    return RULE_OK;
}

/* "(rule rule ...)": a new selector. */
static enum acl_rule_err selector_rule(struct acl_user *u, const char *op, size_t len,
                                       int pubsub_all)
{
    if (u->n_sel >= ACL_SELECTORS_MAX) return RULE_LIMIT;
    struct acl_selector s;
    acl_selector_init(&s, 0, pubsub_all);
    const char *p = op + 1, *end = op + len - 1;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (p == w) break;
        enum acl_rule_err e = acl_selector_apply(&s, w, (size_t)(p - w));
        if (e != RULE_OK) {
            acl_selector_free(&s);
            return e;
        }
    }
    u->sel = util_xrealloc(u->sel, (u->n_sel + 1) * sizeof *u->sel);
    u->sel[u->n_sel++] = s;
    return RULE_OK;
}

static void flags_set(struct acl_user *u, unsigned on, unsigned off)
{
    u->flags = (u->flags & ~off) | on;
}

enum acl_rule_err acl_user_apply(struct acl_user *u, const char *op, size_t len, int pubsub_all)
{
    if (len == 0) return RULE_OK;
    if (acl_word_is(op, len, "on")) {
        flags_set(u, USER_ENABLED, USER_DISABLED);
    } else if (acl_word_is(op, len, "off")) {
        flags_set(u, USER_DISABLED, USER_ENABLED);
    } else if (acl_word_is(op, len, "skip-sanitize-payload")) {
        flags_set(u, USER_SANITIZE_SKIP, USER_SANITIZE);
    } else if (acl_word_is(op, len, "sanitize-payload")) {
        flags_set(u, USER_SANITIZE, USER_SANITIZE_SKIP);
    } else if (acl_word_is(op, len, "nopass") || acl_word_is(op, len, "resetpass")) {
        flags_set(u, acl_word_is(op, len, "nopass") ? USER_NOPASS : 0, USER_NOPASS);
        free(u->passwords);
        u->passwords = NULL;
        u->n_passwords = 0;
    } else if (op[0] == '>' || op[0] == '#' || op[0] == '<' || op[0] == '!') {
        return password_rule(u, op, len);
    } else if (op[0] == '(' && op[len - 1] == ')' && len >= 2) {
        return selector_rule(u, op, len, pubsub_all);
    } else if (acl_word_is(op, len, "clearselectors")) {
        for (size_t i = 1; i < u->n_sel; i++)
            acl_selector_free(&u->sel[i]);
        u->n_sel = 1;
    } else if (acl_word_is(op, len, "reset")) {
        static const char *const steps[] = {"resetpass", "resetkeys",        "resetchannels",
                                            "off",       "sanitize-payload", "clearselectors",
                                            "-@all"};
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
            if (i == 3 && pubsub_all) acl_selector_apply(&u->sel[0], "allchannels", 11);
            enum acl_rule_err e = acl_user_apply(u, steps[i], strlen(steps[i]), pubsub_all);
            ASSERT(e == RULE_OK);
        }
    } else {
        return acl_selector_apply(&u->sel[0], op, len);
    }
    return RULE_OK;
}

/* ------------------------------------------------------------- the set */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The user's position, or where it would go (*found 0). */
static size_t find(const struct acl *a, const char *name, size_t len, int *found)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(a->users[mid]->name, a->users[mid]->len, name, len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static void insert_at(struct acl *a, size_t at, struct acl_user *u)
{
    ASSERT(a->n < ACL_USERS_MAX);
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->users = util_xrealloc(a->users, a->cap * sizeof *a->users);
    }
    memmove(&a->users[at + 1], &a->users[at], (a->n - at) * sizeof *a->users);
    a->users[at] = u;
    a->n++;
}

static struct acl_user *default_user(void)
{
    struct acl_user *u = acl_user_new("default", 7, 0);
    static const char *const rules[] = {"+@all", "~*", "&*", "on", "nopass"};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        ASSERT(acl_user_apply(u, rules[i], strlen(rules[i]), 0) == RULE_OK);
    return u;
}

struct acl *acl_new(void)
{
    struct acl *a = util_xcalloc(1, sizeof *a);
    insert_at(a, 0, default_user());
    return a;
}

void acl_free(struct acl *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->n; i++)
        acl_user_free(a->users[i]);
    free(a->users);
    free(a);
}

struct acl_user *acl_user(const struct acl *a, const char *name, size_t len)
{
    int found;
    size_t at = find(a, name, len, &found);
    return found ? a->users[at] : NULL;
}

size_t acl_count(const struct acl *a)
{
    return a->n;
}

struct acl_user *acl_user_at(const struct acl *a, size_t i)
{
    ASSERT(i < a->n);
    return a->users[i];
}

const char *acl_user_name(const struct acl_user *u, size_t *len)
{
    if (len) *len = u->len;
    return u->name;
}

int acl_user_enabled(const struct acl_user *u)
{
    return (u->flags & USER_ENABLED) != 0;
}

int acl_user_nopass(const struct acl_user *u)
{
    return (u->flags & USER_NOPASS) != 0;
}

/* Redis's merge of a selector written across arguments: "(~a" "+get)"
 * is one rule. Returns the merged count, or -1 with *bad the first
 * argument of an unclosed one. */
static int merge_selectors(int argc, const struct resp_arg *ops, struct resp_arg *out, char **bufs,
                           int *bad)
{
    int n = 0, open = -1;
    for (int i = 0; i < argc; i++) {
        const char *p = ops[i].ptr;
        size_t len = ops[i].len;
        if (open < 0 && len && p[0] == '(' && p[len - 1] != ')') {
            open = i;
            continue;
        }
        if (open < 0) {
            out[n++] = ops[i];
            continue;
        }
        if (!len || p[len - 1] != ')') continue;
        size_t total = 0;
        for (int j = open; j <= i; j++)
            total += ops[j].len + 1;
        char *b = util_xmalloc(total), *w = b;
        for (int j = open; j <= i; j++) {
            if (j > open) *w++ = ' ';
            memcpy(w, ops[j].ptr, ops[j].len);
            w += ops[j].len;
        }
        bufs[n] = b;
        out[n++] = (struct resp_arg){b, (size_t)(w - b)};
        open = -1;
    }
    *bad = open;
    return open >= 0 ? -1 : n;
}

/* Applies the merged rules to a copy of u (or a new user) and, when every
 * one holds, puts the result in place. */
static int apply_all(struct acl *a, const char *name, size_t len, int n, const struct resp_arg *ops,
                     int pubsub_all, int fresh, char *err, size_t errlen)
{
    int found;
    size_t at = find(a, name, len, &found);
    if (!found && a->n >= ACL_USERS_MAX)
        return util_fail(err, errlen, -1, "too many users (at most %d)", ACL_USERS_MAX);
    struct acl_user *tmp = acl_user_new(name, len, pubsub_all);
    if (found && !fresh) acl_user_copy(tmp, a->users[at]);
    for (int i = 0; i < n; i++) {
        enum acl_rule_err e = acl_user_apply(tmp, ops[i].ptr, ops[i].len, pubsub_all);
        if (e != RULE_OK) {
            int shown = ops[i].len > 256 ? 256 : (int)ops[i].len;
            util_fail(err, errlen, -1, "Error in ACL SETUSER modifier '%.*s': %s", shown,
                      ops[i].ptr, acl_rule_error(e));
            acl_user_free(tmp);
            return -1;
        }
    }
    if (found) {
        acl_user_copy(a->users[at], tmp);
        acl_user_free(tmp);
    } else {
        insert_at(a, at, tmp);
    }
    return 0;
}

static int setuser(struct acl *a, const char *name, size_t len, int argc,
                   const struct resp_arg *ops, int pubsub_all, int fresh, char *err, size_t errlen)
{
    if (acl_has_space(name, len))
        return util_fail(err, errlen, -1, "Usernames can't contain spaces or null characters");
    if (len > ACL_NAME_MAX)
        return util_fail(err, errlen, -1, "user name longer than %d bytes", ACL_NAME_MAX);
    struct resp_arg *merged = util_xmalloc(((size_t)argc + 1) * sizeof *merged);
    char **bufs = util_xcalloc((size_t)argc + 1, sizeof *bufs);
    int bad, n = merge_selectors(argc, ops, merged, bufs, &bad);
    int rc;
    if (n < 0) {
        int shown = ops[bad].len > 256 ? 256 : (int)ops[bad].len;
        rc = util_fail(err, errlen, -1, "Unmatched parenthesis in acl selector starting at '%.*s'.",
                       shown, ops[bad].ptr);
    } else {
        rc = apply_all(a, name, len, n, merged, pubsub_all, fresh, err, errlen);
    }
    for (int i = 0; i <= argc; i++)
        free(bufs[i]);
    free(bufs);
    free(merged);
    return rc;
}

int acl_setuser(struct acl *a, const char *name, size_t len, int argc, const struct resp_arg *ops,
                int pubsub_all, char *err, size_t errlen)
{
    return setuser(a, name, len, argc, ops, pubsub_all, 0, err, errlen);
}

int acl_defuser(struct acl *a, const char *name, size_t len, int argc, const struct resp_arg *ops,
                int pubsub_all, char *err, size_t errlen)
{
    return setuser(a, name, len, argc, ops, pubsub_all, 1, err, errlen);
}

int acl_deluser(struct acl *a, const char *name, size_t len)
{
    if (len == 7 && !memcmp(name, "default", 7)) return -1;
    int found;
    size_t at = find(a, name, len, &found);
    if (!found) return 1;
    acl_user_free(a->users[at]);
    memmove(&a->users[at], &a->users[at + 1], (a->n - at - 1) * sizeof *a->users);
    a->n--;
    return 0;
}

int acl_replace_drops(const struct acl *src, const struct acl_user *u)
{
    return !(u->len == 7 && !memcmp(u->name, "default", 7)) && !acl_user(src, u->name, u->len);
}

void acl_replace(struct acl *dst, const struct acl *src)
{
    for (size_t i = dst->n; i-- > 0;) {
        struct acl_user *u = dst->users[i];
        if (acl_replace_drops(src, u)) {
            acl_deluser(dst, u->name, u->len);
        } else if (!acl_user(src, u->name, u->len)) { /* default, absent from src */
            struct acl_user *d = default_user();
            acl_user_copy(u, d);
            acl_user_free(d);
        }
    }
    for (size_t i = 0; i < src->n; i++) {
        const struct acl_user *s = src->users[i];
        int found;
        size_t at = find(dst, s->name, s->len, &found);
        if (!found) insert_at(dst, at, acl_user_new(s->name, s->len, 0));
        acl_user_copy(dst->users[at], s);
    }
}

size_t acl_password_count(const struct acl_user *u)
{
    return u->n_passwords;
}

const char *acl_password_at(const struct acl_user *u, size_t i)
{
    ASSERT(i < u->n_passwords);
    return u->passwords[i];
}

int acl_password_ok(const struct acl_user *u, const char *pass, size_t len)
{
    if (u->flags & USER_NOPASS) return 1;
    char hash[SHA256_HEX_LEN + 1];
    sha256_hex(pass, len, hash);
    int ok = 0;
    for (size_t i = 0; i < u->n_passwords; i++) {
        unsigned diff = 0;
        for (int j = 0; j < SHA256_HEX_LEN; j++)
            diff |= (unsigned)(hash[j] ^ u->passwords[i][j]);
        ok |= diff == 0;
    }
    return ok;
}

int acl_split_line(const char *line, size_t len, struct resp_arg *words, int max, char *err,
                   size_t errlen)
{
    int n = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        size_t w = i;
        while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            i++;
        if (i == w) break;
        if (n == max) return util_fail(err, errlen, -1, "more than %d rules on a line", max - 2);
        words[n++] = (struct resp_arg){line + w, i - w};
    }
    if (n == 0) return 0;
    if (!(words[0].len == 4 && !strncasecmp(words[0].ptr, "user", 4)))
        return util_fail(err, errlen, -1, "line should start with user keyword");
    if (n < 2) return util_fail(err, errlen, -1, "user name missing");
    return n;
}
