/*
 * src/acl/acl_describe.c - a user written back as the rules that make it
 * (src/acl/acl.h, DESCRIBING), as Redis 7.0's ACLDescribeUser: flags,
 * password hashes, then each selector's keys, channels and commands. The
 * commands part starts from +@all (when the bitmap holds the commands to
 * come) or -@all, adds the categories that cover more of the difference
 * than they spoil, best first, then names single commands for what is
 * left, applying every rule to a model as it goes; the model must end
 * equal to the bitmap.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "acl/acl_int.h"
#include "base/text.h"
#include "cmd/cmd.h"
#include "raft/raft_assert.h"

/* Commands of category cat whose bit s has (on) and lacks (off). */
static void count_category(const struct acl_selector *s, int cat, unsigned *on, unsigned *off)
{
    *on = *off = 0;
    for (int id = 0; id < cmd_id_count(); id++)
        if (acl_categories_of(id) >> cat & 1) {
            if (acl_bit(s, id))
                (*on)++;
            else
                (*off)++;
        }
}

/* The category that brings model closest to the bitmap in temp, or -1. */
static int best_category(const struct acl_selector *temp, const char *applied, int additive)
{
    int best = -1;
    unsigned mindiff = UINT_MAX, maxsame = 0;
    for (int j = 0; j < acl_category_count(); j++) {
        if (applied[j]) continue;
        unsigned on, off;
        count_category(temp, j, &on, &off);
        unsigned diff = additive ? off : on, same = additive ? on : off;
        if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
            best = j;
            mindiff = diff;
            maxsame = same;
        }
    }
    return best;
}

static void rule(struct text *b, struct acl_selector *model, const char *sign, const char *name)
{
    struct text op = {0};
    text_puts(&op, sign);
    text_puts(&op, name);
    ASSERT(acl_selector_apply(model, op.p, op.len) == RULE_OK);
    text_put(b, op.p, op.len);
    text_put(b, " ", 1);
    free(op.p);
}

/* Single commands where model and s differ, then s's first arguments. */
static void single(struct text *b, const struct acl_selector *s, struct acl_selector *model,
                   const struct command *c)
{
    int id = cmd_id(c);
    int want = acl_bit(s, id);
    if (want != acl_bit(model, id)) rule(b, model, want ? "+" : "-", c->name);
    for (const struct command *sub = c->subcommands; sub && sub->name; sub++)
        single(b, s, model, sub);
    if (want) return;
    for (size_t i = 0; i < s->n_first; i++) {
        if (s->first[i].id != id) continue;
        for (size_t j = 0; j < s->first[i].n; j++) {
            text_puts(b, "+");
            text_puts(b, c->name);
            text_puts(b, "|");
            text_puts(b, s->first[i].args[j]);
            text_puts(b, " ");
        }
    }
}

static char *command_rules(const struct acl_selector *s)
{
    struct text b = {0};
    struct acl_selector model, temp;
    int additive = !acl_bit(s, ACL_FUTURE_BIT);
    acl_selector_init(&model, 0, 0);
    acl_selector_init(&temp, 0, 0);
    memcpy(temp.allowed, s->allowed, sizeof temp.allowed);
    ASSERT(acl_selector_apply(&model, additive ? "-@all" : "+@all", 5) == RULE_OK);
    text_puts(&b, additive ? "-@all " : "+@all ");
    char applied[ACL_CATEGORIES_MAX] = {0};
    for (int best; (best = best_category(&temp, applied, additive)) >= 0;) {
        rule(&b, &model, additive ? "+@" : "-@", acl_category_name(best));
        struct text inv = {0};
        text_puts(&inv, additive ? "-@" : "+@");
        text_puts(&inv, acl_category_name(best));
        ASSERT(acl_selector_apply(&temp, inv.p, inv.len) == RULE_OK);
        free(inv.p);
        applied[best] = 1;
    }
    for (int id = 0; id < cmd_top_count(); id++)
        single(&b, s, &model, cmd_by_id(id));
    b.p[--b.len] = '\0'; /* the last space */
    ASSERT(!memcmp(model.allowed, s->allowed, sizeof s->allowed) &&
           "the rules described do not make the user's commands");
    acl_selector_free(&model);
    acl_selector_free(&temp);
    return text_take(&b);
}

static void key_pattern(struct text *b, const struct acl_pattern *p)
{
    text_puts(b, p->perm == ACL_PERM_ALL ? "~" : p->perm == ACL_PERM_READ ? "%R~" : "%W~");
    text_put(b, p->p, p->len);
}

static void describe_selector(struct text *b, const struct acl_selector *s)
{
    if (s->flags & SEL_ALLKEYS) {
        text_puts(b, "~* ");
    } else {
        for (size_t i = 0; i < s->n_keys; i++) {
            key_pattern(b, &s->keys[i]);
            text_puts(b, " ");
        }
    }
    if (s->flags & SEL_ALLCHANNELS) {
        text_puts(b, "&* ");
    } else {
        text_puts(b, "resetchannels ");
        for (size_t i = 0; i < s->n_channels; i++) {
            text_puts(b, "&");
            text_put(b, s->channels[i].p, s->channels[i].len);
            text_puts(b, " ");
        }
    }
    char *rules = command_rules(s);
    text_puts(b, rules);
    free(rules);
}

static const struct {
    const char *name;
    unsigned flag;
} user_flags[] = {
    {"on", USER_ENABLED},
    {"off", USER_DISABLED},
    {"nopass", USER_NOPASS},
    {"skip-sanitize-payload", USER_SANITIZE_SKIP},
    {"sanitize-payload", USER_SANITIZE},
};

void acl_each_flag(const struct acl_user *u, void (*fn)(void *ud, const char *flag), void *ud)
{
    for (size_t i = 0; i < sizeof user_flags / sizeof user_flags[0]; i++)
        if (u->flags & user_flags[i].flag) fn(ud, user_flags[i].name);
}

char *acl_describe(const struct acl_user *u, size_t *len)
{
    struct text b = {0};
    for (size_t i = 0; i < sizeof user_flags / sizeof user_flags[0]; i++)
        if (u->flags & user_flags[i].flag) {
            text_puts(&b, user_flags[i].name);
            text_puts(&b, " ");
        }
    for (size_t i = 0; i < u->n_passwords; i++) {
        text_puts(&b, "#");
        text_puts(&b, u->passwords[i]);
        text_puts(&b, " ");
    }
    for (size_t i = 0; i < u->n_sel; i++) {
        if (i) text_puts(&b, " (");
        describe_selector(&b, &u->sel[i]);
        if (i) text_puts(&b, ")");
    }
    if (len) *len = b.len;
    return text_take(&b);
}

int acl_selector_count(const struct acl_user *u)
{
    return (int)u->n_sel;
}

int acl_describe_selector(const struct acl_user *u, int i, char **commands, char **keys,
                          char **channels)
{
    if (i < 0 || (size_t)i >= u->n_sel) return -1;
    const struct acl_selector *s = &u->sel[i];
    *commands = command_rules(s);
    struct text k = {0}, c = {0};
    if (s->flags & SEL_ALLKEYS) text_puts(&k, "~*");
    for (size_t j = 0; !(s->flags & SEL_ALLKEYS) && j < s->n_keys; j++) {
        if (j) text_puts(&k, " ");
        key_pattern(&k, &s->keys[j]);
    }
    if (s->flags & SEL_ALLCHANNELS) text_puts(&c, "&*");
    for (size_t j = 0; !(s->flags & SEL_ALLCHANNELS) && j < s->n_channels; j++) {
        if (j) text_puts(&c, " ");
        text_puts(&c, "&");
        text_put(&c, s->channels[j].p, s->channels[j].len);
    }
    *keys = text_take(&k);
    *channels = text_take(&c);
    return 0;
}
