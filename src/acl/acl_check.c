/*
 * src/acl/acl_check.c - a command checked against a user's selectors
 * (src/acl/acl.h, CHECKING), as Redis 7.0's ACLCheckAllUserCommandPerm:
 * allowed when one selector allows the command with all its keys and
 * channels; otherwise the error reported is "command" unless some selector
 * allowed the command, then the key or channel of the furthest argument
 * refused.
 */
#include <string.h>
#include <strings.h>

#include "acl/acl_int.h"
#include "base/glob.h"
#include "cmd/cmd.h"
#include "raft/raft_assert.h"

#define CHECK_KEYS_MAX 4096 /* keys of one call checked (cmd_get_keys' bound) */

/* The channels a command names (Redis 7.0's getChannelsFromCommand, less
 * the unsubscribes, which ACL does not check). */
enum { CH_PUBLISH = 1, CH_SUBSCRIBE = 2, CH_PATTERN = 4 };
static const struct {
    const char *name;
    unsigned kind;
    int all; /* every argument from 1, or only argv[1] */
} channel_cmds[] = {
    {"publish", CH_PUBLISH, 0},
    {"spublish", CH_PUBLISH, 0},
    {"subscribe", CH_SUBSCRIBE, 1},
    {"ssubscribe", CH_SUBSCRIBE, 1},
    {"psubscribe", CH_SUBSCRIBE | CH_PATTERN, 1},
};

static int channel_kind(const struct command *cmd, int *all)
{
    for (size_t i = 0; i < sizeof channel_cmds / sizeof channel_cmds[0]; i++)
        if (!strcmp(cmd->name, channel_cmds[i].name)) {
            *all = channel_cmds[i].all;
            return (int)channel_cmds[i].kind;
        }
    return 0;
}

/* The access the n-th key of the call asks: the words of its key spec. */
static unsigned key_access(const struct command *cmd, int n, int argc, const struct resp_arg *argv,
                           int *not_key)
{
    const char *s = cmd->key_flags_call ? cmd->key_flags_call(argc, argv) : cmd->key_flags;
    *not_key = 0;
    if (!s) return (cmd->flags & CMD_WRITE) ? ACL_PERM_ALL : ACL_PERM_READ;
    for (const char *bar; n > 0 && (bar = strchr(s, '|')) != NULL; n--)
        s = bar + 1;
    unsigned perm = 0;
    size_t end = strcspn(s, "|");
    for (size_t i = 0; i < end;) {
        size_t w = strcspn(s + i, " |");
        if (w == 6 && !strncasecmp(s + i, "access", 6)) perm |= ACL_PERM_READ;
        if ((w == 6 && (!strncasecmp(s + i, "insert", 6) || !strncasecmp(s + i, "delete", 6) ||
                        !strncasecmp(s + i, "update", 6))))
            perm |= ACL_PERM_WRITE;
        if (w == 7 && !strncasecmp(s + i, "not_key", 7)) *not_key = 1;
        i += w;
        while (i < end && s[i] == ' ')
            i++;
    }
    return perm;
}

static int key_ok(const struct acl_selector *s, const struct resp_arg *key, unsigned perm)
{
    if (s->flags & SEL_ALLKEYS) return 1;
    for (size_t i = 0; i < s->n_keys; i++)
        if ((s->keys[i].perm & perm) == perm &&
            glob_match(s->keys[i].p, s->keys[i].len, key->ptr, key->len, 0))
            return 1;
    return 0;
}

static int channel_ok(const struct acl_selector *s, const char *ch, size_t len, int pattern)
{
    if (s->flags & SEL_ALLCHANNELS) return 1;
    for (size_t i = 0; i < s->n_channels; i++) {
        const struct acl_pattern *p = &s->channels[i];
        if (pattern ? (p->len == len && !memcmp(p->p, ch, len))
                    : glob_match(p->p, p->len, ch, len, 0))
            return 1;
    }
    return 0;
}

static int command_ok(const struct acl_selector *s, const struct command *cmd, int argc,
                      const struct resp_arg *argv)
{
    if ((s->flags & SEL_ALLCOMMANDS) || (cmd->flags & CMD_NOAUTH)) return 1;
    int id = cmd_id(cmd);
    if (acl_bit(s, id)) return 1;
    int idx = strchr(cmd->name, '|') ? 2 : 1;
    if (argc <= idx) return 0;
    for (size_t i = 0; i < s->n_first; i++) {
        if (s->first[i].id != id) continue;
        for (size_t j = 0; j < s->first[i].n; j++)
            if (strlen(s->first[i].args[j]) == argv[idx].len &&
                !strncasecmp(s->first[i].args[j], argv[idx].ptr, argv[idx].len))
                return 1;
    }
    return 0;
}

/* The keys of the call, found once for every selector. */
struct call_keys {
    int n; /* -1: not looked up yet */
    int idx[CHECK_KEYS_MAX];
};

static enum acl_result selector_check(const struct acl_selector *s, const struct command *cmd,
                                      int argc, const struct resp_arg *argv, struct call_keys *k,
                                      int *pos)
{
    if (!command_ok(s, cmd, argc, argv)) return ACL_DENIED_CMD;
    if (!(s->flags & SEL_ALLKEYS) && !cmd_is_keyless(cmd)) {
        if (k->n < 0) k->n = cmd_get_keys(cmd, argc, argv, k->idx, CHECK_KEYS_MAX);
        for (int i = 0; i < k->n; i++) {
            int not_key;
            unsigned perm = key_access(cmd, i, argc, argv, &not_key);
            if (!not_key && !key_ok(s, &argv[k->idx[i]], perm)) {
                *pos = k->idx[i];
                return ACL_DENIED_KEY;
            }
        }
    }
    int all, kind = (s->flags & SEL_ALLCHANNELS) ? 0 : channel_kind(cmd, &all);
    for (int i = 1; kind && i < (all ? argc : 2) && i < argc; i++)
        if (!channel_ok(s, argv[i].ptr, argv[i].len, kind & CH_PATTERN)) {
            *pos = i;
            return ACL_DENIED_CHANNEL;
        }
    return ACL_OK;
}

enum acl_result acl_check(const struct acl_user *u, const struct command *cmd, int argc,
                          const struct resp_arg *argv, int *errpos)
{
    struct call_keys keys;
    keys.n = -1;
    enum acl_result worst = ACL_DENIED_CMD;
    int last = 0;
    for (size_t i = 0; i < u->n_sel; i++) {
        int pos = 0;
        enum acl_result r = selector_check(&u->sel[i], cmd, argc, argv, &keys, &pos);
        if (r == ACL_OK) return ACL_OK;
        if (r > worst || (r == worst && pos > last)) {
            worst = r;
            last = pos;
        }
    }
    *errpos = last;
    return worst;
}

int acl_user_may_subscribe(const struct acl_user *u, const char *channel, size_t len, int pattern)
{
    for (size_t i = 0; i < u->n_sel; i++)
        if (channel_ok(&u->sel[i], channel, len, pattern)) return 1;
    return 0;
}

int acl_user_unrestricted(const struct acl_user *u)
{
    unsigned all = SEL_ALLKEYS | SEL_ALLCHANNELS | SEL_ALLCOMMANDS;
    for (size_t i = 0; i < u->n_sel; i++)
        if ((u->sel[i].flags & all) == all) return 1;
    return 0;
}
