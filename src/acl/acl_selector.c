/*
 * src/acl/acl_selector.c - one selector's rules (keys, channels, commands)
 * and the command categories (src/acl/acl.h), as Redis 7.0's
 * ACLSetSelector.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl/acl_int.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "raft/raft_assert.h"

static const char *const category_names[] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting",
};
#define N_CATEGORIES ((int)(sizeof category_names / sizeof category_names[0]))
_Static_assert(N_CATEGORIES <= ACL_CATEGORIES_MAX, "a category bit each");

int acl_category_count(void)
{
    return N_CATEGORIES;
}

const char *acl_category_name(int i)
{
    return i >= 0 && i < N_CATEGORIES ? category_names[i] : NULL;
}

int acl_category_find(const char *name, size_t len)
{
    for (int i = 0; i < N_CATEGORIES; i++)
        if (strlen(category_names[i]) == len && !strncasecmp(category_names[i], name, len))
            return i;
    return -1;
}

/* The category bits of every command id, read once from the rows' acl
 * words (the registry is read-only once built). */
static uint32_t cats[ACL_CMD_BITS];
static int cats_ready;

static uint32_t parse_categories(const char *words)
{
    uint32_t bits = 0;
    for (const char *p = words ? words : ""; *p;) {
        size_t n = strcspn(p, " ");
        int i = acl_category_find(p, n);
        if (i >= 0) bits |= 1u << i;
        p += n;
        while (*p == ' ')
            p++;
    }
    return bits;
}

uint32_t acl_categories_of(int id)
{
    if (!cats_ready) {
        ASSERT(cmd_id_count() < ACL_FUTURE_BIT);
        /* The peer protocol's commands are in no category: they are not a
         * client's to run, and +@write naming RAFTCACHE.EVICT would only
         * puzzle (ACL LIST, ACL CAT). */
        for (int i = 0; i < cmd_id_count(); i++)
            cats[i] =
                (cmd_by_id(i)->flags & CMD_INTERNAL) ? 0 : parse_categories(cmd_by_id(i)->acl);
        cats_ready = 1;
    }
    return id >= 0 && id < ACL_CMD_BITS ? cats[id] : 0;
}

int acl_command_in_category(const struct command *cmd, int i)
{
    return i >= 0 && i < N_CATEGORIES && (acl_categories_of(cmd_id(cmd)) >> i & 1);
}

int acl_command_id(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    const struct command *c = cmd_lookup_name(name, bar ? (size_t)(bar - name) : len);
    if (!c || !bar) return c ? cmd_id(c) : -1;
    size_t plen = (size_t)(bar - name), slen = len - plen - 1;
    for (const struct command *s = c->subcommands; s && s->name; s++)
        if (strlen(s->name + plen + 1) == slen && !strncasecmp(s->name + plen + 1, bar + 1, slen))
            return cmd_id(s);
    return -1;
}

/* ------------------------------------------------------------ selectors */

void acl_selector_init(struct acl_selector *s, unsigned flags, int pubsub_all)
{
    memset(s, 0, sizeof *s);
    s->flags = flags | (pubsub_all ? SEL_ALLCHANNELS : 0);
}

static void patterns_free(struct acl_pattern *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].p);
    free(p);
}

/* allkeys/resetkeys, allchannels/resetchannels: the list emptied and
 * the flag that means "all" set or cleared. */
static void patterns_all(struct acl_selector *s, struct acl_pattern **list, size_t *n,
                         unsigned flag, int all)
{
    patterns_free(*list, *n);
    *list = NULL;
    *n = 0;
    if (all)
        s->flags |= flag;
    else
        s->flags &= ~flag;
}

static void first_reset(struct acl_selector *s, int id)
{
    for (size_t i = 0; i < s->n_first; i++) {
        if (id >= 0 && s->first[i].id != id) continue;
        for (size_t j = 0; j < s->first[i].n; j++)
            free(s->first[i].args[j]);
        free(s->first[i].args);
        s->first[i] = s->first[--s->n_first];
        i--;
    }
    if (!s->n_first) {
        free(s->first);
        s->first = NULL;
    }
}

void acl_selector_free(struct acl_selector *s)
{
    patterns_free(s->keys, s->n_keys);
    patterns_free(s->channels, s->n_channels);
    first_reset(s, -1);
    memset(s, 0, sizeof *s);
}

static struct acl_pattern *patterns_dup(const struct acl_pattern *src, size_t n)
{
    if (!n) return NULL;
    struct acl_pattern *d = util_xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) {
        d[i] = src[i];
        d[i].p = util_xmemdup(src[i].p, src[i].len);
    }
    return d;
}

void acl_selector_copy(struct acl_selector *dst, const struct acl_selector *src)
{
    *dst = *src;
    dst->keys = patterns_dup(src->keys, src->n_keys);
    dst->channels = patterns_dup(src->channels, src->n_channels);
    dst->first = src->n_first ? util_xmalloc(src->n_first * sizeof *dst->first) : NULL;
    for (size_t i = 0; i < src->n_first; i++) {
        const struct acl_firstargs *f = &src->first[i];
        dst->first[i] = (struct acl_firstargs){f->id, util_xmalloc(f->n * sizeof(char *)), f->n};
        for (size_t j = 0; j < f->n; j++)
            dst->first[i].args[j] = util_xmemdup(f->args[j], strlen(f->args[j]));
    }
}

int acl_bit(const struct acl_selector *s, int id)
{
    return id >= 0 && id < ACL_CMD_BITS && (s->allowed[id / 64] >> (id % 64) & 1);
}

static void set_bit(struct acl_selector *s, int id, int on)
{
    ASSERT(id >= 0 && id < ACL_CMD_BITS);
    if (on) {
        s->allowed[id / 64] |= 1ULL << (id % 64);
    } else {
        s->allowed[id / 64] &= ~(1ULL << (id % 64));
        s->flags &= ~(unsigned)SEL_ALLCOMMANDS;
    }
}

/* +cmd / -cmd: a container's subcommands go with it. */
static void change_perm(struct acl_selector *s, int id, int allow)
{
    set_bit(s, id, allow);
    first_reset(s, id);
    const struct command *c = cmd_by_id(id);
    for (const struct command *sub = c->subcommands; sub && sub->name; sub++)
        set_bit(s, cmd_id(sub), allow);
}

static void set_category(struct acl_selector *s, int cat, int allow)
{
    for (int id = 0; id < cmd_id_count(); id++)
        if (acl_categories_of(id) >> cat & 1) change_perm(s, id, allow);
}

static enum acl_rule_err add_first_arg(struct acl_selector *s, int id, const char *arg, size_t len)
{
    struct acl_firstargs *f = NULL;
    for (size_t i = 0; i < s->n_first && !f; i++)
        if (s->first[i].id == id) f = &s->first[i];
    if (!f) {
        s->first = util_xrealloc(s->first, (s->n_first + 1) * sizeof *s->first);
        f = &s->first[s->n_first++];
        *f = (struct acl_firstargs){id, NULL, 0};
    }
    for (size_t j = 0; j < f->n; j++)
        if (strlen(f->args[j]) == len && !strncasecmp(f->args[j], arg, len)) return RULE_OK;
    if (f->n >= ACL_FIRSTARGS_MAX) return RULE_LIMIT;
    f->args = util_xrealloc(f->args, (f->n + 1) * sizeof *f->args);
    f->args[f->n++] = util_xmemdup(arg, len);
    return RULE_OK;
}

/* Adds a pattern to a list (once; a key pattern named again gains the
 * access asked). */
static enum acl_rule_err add_pattern(struct acl_pattern **list, size_t *n, const char *p,
                                     size_t len, unsigned perm)
{
    if (acl_has_space(p, len)) return RULE_SYNTAX;
    if (len > ACL_PATTERN_MAX) return RULE_LIMIT;
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i].len == len && !memcmp((*list)[i].p, p, len)) {
            (*list)[i].perm |= perm;
            return RULE_OK;
        }
    if (*n >= ACL_PATTERNS_MAX) return RULE_LIMIT;
    *list = util_xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = (struct acl_pattern){util_xmemdup(p, len), len, perm};
    return RULE_OK;
}

/* ~p, %R~p, %W~p, %RW~p. */
static enum acl_rule_err key_rule(struct acl_selector *s, const char *op, size_t len)
{
    if (s->flags & SEL_ALLKEYS) return RULE_KEYS_ALL;
    unsigned perm = 0;
    size_t off = 1;
    if (op[0] == '%') {
        int ok = 0;
        for (; off < len; off++) {
            char ch = op[off];
            if ((ch == 'R' || ch == 'r') && !(perm & ACL_PERM_READ)) {
                perm |= ACL_PERM_READ;
            } else if ((ch == 'W' || ch == 'w') && !(perm & ACL_PERM_WRITE)) {
                perm |= ACL_PERM_WRITE;
            } else {
                ok = ch == '~';
                off++;
                break;
            }
        }
        if (!perm || !ok) return RULE_SYNTAX;
    } else {
        perm = ACL_PERM_ALL;
    }
    enum acl_rule_err e = add_pattern(&s->keys, &s->n_keys, op + off, len - off, perm);
    if (e == RULE_OK) s->flags &= ~(unsigned)SEL_ALLKEYS;
    return e;
}

static enum acl_rule_err channel_rule(struct acl_selector *s, const char *op, size_t len)
{
    if (s->flags & SEL_ALLCHANNELS) return RULE_CHANNELS_ALL;
    enum acl_rule_err e = add_pattern(&s->channels, &s->n_channels, op + 1, len - 1, 0);
    if (e == RULE_OK) s->flags &= ~(unsigned)SEL_ALLCHANNELS;
    return e;
}

/* +cmd, +cmd|sub, +cmd|firstarg. */
static enum acl_rule_err allow_rule(struct acl_selector *s, const char *name, size_t len)
{
    const char *bar = NULL;
    for (size_t i = len; i > 0 && !bar; i--)
        if (name[i - 1] == '|') bar = name + i - 1;
    if (!bar) {
        int id = acl_command_id(name, len);
        if (id < 0) return RULE_UNKNOWN;
        change_perm(s, id, 1);
        return RULE_OK;
    }
    int id = acl_command_id(name, (size_t)(bar - name));
    if (id < 0) return RULE_UNKNOWN;
    const struct command *c = cmd_by_id(id);
    if (strchr(c->name, '|')) return RULE_SUB_FIRSTARG;
    size_t sublen = len - (size_t)(bar - name) - 1;
    if (!sublen) return RULE_SYNTAX;
    if (c->subcommands) {
        int sub = acl_command_id(name, len);
        if (sub < 0) return RULE_UNKNOWN;
        change_perm(s, sub, 1);
        return RULE_OK;
    }
    return add_first_arg(s, id, bar + 1, sublen);
}

enum acl_rule_err acl_selector_apply(struct acl_selector *s, const char *op, size_t len)
{
    if (acl_word_is(op, len, "allkeys") || acl_word_is(op, len, "~*")) {
        patterns_all(s, &s->keys, &s->n_keys, SEL_ALLKEYS, 1);
    } else if (acl_word_is(op, len, "resetkeys")) {
        patterns_all(s, &s->keys, &s->n_keys, SEL_ALLKEYS, 0);
    } else if (acl_word_is(op, len, "allchannels") || acl_word_is(op, len, "&*")) {
        patterns_all(s, &s->channels, &s->n_channels, SEL_ALLCHANNELS, 1);
    } else if (acl_word_is(op, len, "resetchannels")) {
        patterns_all(s, &s->channels, &s->n_channels, SEL_ALLCHANNELS, 0);
    } else if (acl_word_is(op, len, "allcommands") || acl_word_is(op, len, "+@all")) {
        memset(s->allowed, 0xff, sizeof s->allowed);
        s->flags |= SEL_ALLCOMMANDS;
        first_reset(s, -1);
    } else if (acl_word_is(op, len, "nocommands") || acl_word_is(op, len, "-@all")) {
        memset(s->allowed, 0, sizeof s->allowed);
        s->flags &= ~(unsigned)SEL_ALLCOMMANDS;
        first_reset(s, -1);
    } else if (len && (op[0] == '~' || op[0] == '%')) {
        return key_rule(s, op, len);
    } else if (len && op[0] == '&') {
        return channel_rule(s, op, len);
    } else if (len >= 2 && (op[0] == '+' || op[0] == '-') && op[1] == '@') {
        int cat = acl_category_find(op + 2, len - 2);
        if (cat < 0) return RULE_UNKNOWN;
        set_category(s, cat, op[0] == '+');
    } else if (len && op[0] == '+') {
        return allow_rule(s, op + 1, len - 1);
    } else if (len && op[0] == '-') {
        int id = acl_command_id(op + 1, len - 1);
        if (id < 0) return RULE_UNKNOWN;
        change_perm(s, id, 0);
    } else {
        return RULE_SYNTAX;
    }
    return RULE_OK;
}
